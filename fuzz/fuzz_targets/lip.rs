//! SDS user data as the PEI delivers it: the first two input bytes are the bit length
//! (big-endian), the rest the user data bytes. Decoding never panics; whatever decodes re-emits
//! to bytes that decode to the same value; a LIP short report re-emits byte-exactly up to its
//! 84 bits, and every other LIP PDU (long report, immediate request, basic location parameters
//! and reporting enable/disable requests and responses) re-emits every one of the input's bits.
#![no_main]

use borderlink_protocol::sds::{
    Bits, LipPdu, SdsKind, ShortLocationReport, UserData, decode, decode_user_data,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((len, bytes)) = data.split_first_chunk::<2>() else {
        return;
    };
    let bits = u16::from_be_bytes(*len);

    // Both explicit kinds must be as panic-free as the guessing entry point.
    let _ = decode(SdsKind::Status, bytes, bits);
    let _ = decode(SdsKind::Type4, bytes, bits);
    // And the LIP dispatcher on its own, whatever the protocol identifier.
    let lip = LipPdu::parse(bytes, bits);

    let Ok(decoded) = decode_user_data(bytes, bits) else {
        return;
    };
    let mut buf = [0xa5u8; 300];
    let n = decoded.emit(&mut buf).expect("decoded user data re-emits");
    assert_eq!(n, decoded.buffer_len());
    let bit_len = u16::try_from(decoded.bit_len()).expect("bit length fits u16");
    assert_eq!(decode(decoded.kind(), &buf[..n], bit_len), Ok(decoded));

    match decoded {
        UserData::Lip(report) => {
            assert_eq!(n, 11);
            assert_eq!(buf[10] & 0x0f, 0, "bits past 84 are zero");
            // The first 84 input bits come back unchanged.
            let mut input = [0u8; 11];
            input.copy_from_slice(&bytes[..11]);
            input[10] &= 0xf0;
            assert_eq!(buf[..11], input);
            assert_eq!(ShortLocationReport::parse(&buf[..11], 84), Ok(report));
            let (lat, lon) = (report.latitude.degrees(), report.longitude.degrees());
            assert!((-90.0..90.0).contains(&lat), "{lat}");
            assert!((-180.0..180.0).contains(&lon), "{lon}");
            assert_eq!(lip, Ok(LipPdu::Short(report)));
        }
        UserData::LipLong(report) => {
            // Every input bit comes back: the length is the input's, the bits the same.
            assert_eq!(bit_len, bits);
            assert_eq!(Bits::new(&buf[..n], bits), Bits::new(bytes, bits));
            assert_eq!(lip, Ok(LipPdu::Long(report)));
            // The summary never invents a position: none without a location shape.
            if report.location.is_none() {
                assert_eq!(report.position(), None);
            }
            if let Some(p) = report.position() {
                assert!(p.error_m().is_none_or(f64::is_finite));
                assert!((-90.0..90.0).contains(&p.latitude().degrees()));
            }
            let _ = report.to_string();
        }
        UserData::LipRequest(request) => {
            assert_eq!(bit_len, bits);
            assert_eq!(Bits::new(&buf[..n], bits), Bits::new(bytes, bits));
            assert_eq!(lip, Ok(LipPdu::ImmediateRequest(request)));
            let _ = request.to_string();
        }
        UserData::LipControl(pdu) => {
            assert_eq!(bit_len, bits);
            assert_eq!(Bits::new(&buf[..n], bits), Bits::new(bytes, bits));
            assert_eq!(lip, Ok(pdu));
            // Only the parameter and reporting-control PDUs travel here, and none has a position.
            assert!(matches!(
                pdu,
                LipPdu::BasicParametersRequest(_)
                    | LipPdu::BasicParametersResponse(_)
                    | LipPdu::ReportingEnableRequest(_)
                    | LipPdu::ReportingEnableResponse(_)
            ));
            assert_eq!(pdu.report(), None);
            let mut again = [0xa5u8; 300];
            assert_eq!(pdu.emit(&mut again), Ok(n));
            assert_eq!(again[..n], buf[..n]);
            let _ = pdu.to_string();
        }
        _ => {}
    }
});
