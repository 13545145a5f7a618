//! SDS-TL and text as the PEI delivers them: the first two input bytes are the bit length
//! (big-endian), the rest the type-4 user data. Decoding never panics; an SDS-TL report,
//! acknowledgement or transfer, a text in any coding and a text with a user data header all
//! re-emit to bytes that decode to the same value; a report's and an acknowledgement's status
//! and reference survive byte for byte; every text renders in its coding or is refused by
//! number; and concatenated parts fed to a small reassembler never make it exceed its bounds.
#![no_main]

use borderlink_protocol::sds::{
    Bits, MAX_TYPE4_BITS, Progress, Reassembler, SdsError, SdsKind, TextChars, TlPdu, UserData,
    decode,
};
use borderlink_protocol::time::{Duration, Instant};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((len, bytes)) = data.split_first_chunk::<2>() else {
        return;
    };
    let bits = u16::from_be_bytes(*len);

    // The transport layer on its own, whatever the identifier says (within what type 4
    // carries, as the PEI delivers it).
    if bits <= MAX_TYPE4_BITS
        && let Some(payload) = bytes
        .get(1..)
        .and_then(|rest| Bits::new(rest, bits.saturating_sub(8)).ok())
        && let Ok(Some(pdu)) = TlPdu::parse(payload)
    {
        let mut buf = [0xa5u8; 300];
        let mut w = borderlink_protocol::sds::BitWriter::new(&mut buf);
        pdu.write(&mut w).expect("a parsed SDS-TL PDU re-writes");
        let (n, written) = w.finish();
        assert_eq!(written, pdu.bit_len());
        let again = TlPdu::parse(Bits::new(&buf[..n], written as u16).unwrap());
        assert_eq!(again, Ok(Some(pdu)));
        // Status and reference sit at fixed places in a report and an acknowledgement.
        if let TlPdu::Report(_) | TlPdu::Ack(_) = pdu {
            assert_eq!(buf[1], payload.byte(1).unwrap());
            assert_eq!(buf[2], payload.byte(2).unwrap());
        }
    }

    let Ok(decoded) = decode(SdsKind::Type4, bytes, bits) else {
        return;
    };
    let mut buf = [0xa5u8; 300];
    let n = decoded.emit(&mut buf).expect("decoded user data re-emits");
    assert_eq!(n, decoded.buffer_len());
    let bit_len = u16::try_from(decoded.bit_len()).expect("bit length fits u16");
    assert_eq!(decode(SdsKind::Type4, &buf[..n], bit_len), Ok(decoded));

    match decoded {
        UserData::Text(t) => check_render(t.chars(), t.coding.get()),
        UserData::UdhText(t) => {
            check_render(TextChars::new(t.coding, t.text), t.coding.get());
            // Every part goes into a reassembler of two slots; four parts and 64 octets each.
            let mut r: Reassembler<u8, 2, 4, 64> = Reassembler::new(Duration::from_secs(60));
            let now = Instant::from_micros(u64::from(bits));
            for source in 0..3u8 {
                match r.push(now, source, &t) {
                    Ok(Progress::Complete(whole)) => {
                        if let Ok(chars) = whole.chars() {
                            assert!(chars.count() <= 64 * 8 / 7);
                        }
                    }
                    Ok(_) | Err(_) => {}
                }
                assert!(r.in_progress() <= 2);
            }
            // Every message still in progress is dropped once its time is up.
            let before = r.in_progress();
            assert_eq!(r.handle_timeout(now + Duration::from_secs(60)), before);
            assert_eq!(r.in_progress(), 0);
        }
        _ => {}
    }
});

fn check_render(chars: Result<TextChars<'_>, SdsError>, coding: u8) {
    match chars {
        Ok(chars) => {
            for c in chars {
                // Every character is a real scalar value; nothing panics on the way.
                let _ = c.len_utf8();
            }
        }
        Err(e) => assert_eq!(e, SdsError::UndefinedTextCoding { coding }),
    }
}
