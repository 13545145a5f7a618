extern crate std;

use super::*;
use crate::ids::Tsi;
use proptest::prelude::*;
use std::vec::Vec;

/// The worked example of `docs/wire.md`: the header and extension of a packet in the middle of
/// an ASTRID transmission, before its 160 payload bytes.
const WORKED_HEADER: &str = concat!(
    "90080007",
    "00000460",
    "01020304",           // V=2 X=1, PT 8, seq 7, ts 1120, SSRC
    "bede0009",           // RFC 8285 one-byte form, 9 words
    "10a3",               // id 1 len 1: continue, squelch open, priority 3
    "25338001 12d687",    // id 2 len 6: talker 206-1-1234567
    "35338001 1f72c9",    // id 3 len 6: talkgroup 206-1-2061001
    "42000c01",           // id 4 len 3: site 12, ASTRID
    "530000cafe",         // id 5 len 4: stream 0xcafe
    "770000019af232b200", // id 7 len 8: key-up at 1765000000000 ms (2025-12-06 05:46:40 UTC)
    "0000",               // padding to a 32-bit boundary
);

fn worked_header() -> Vec<u8> {
    hex::decode(WORKED_HEADER.replace(' ', "")).unwrap()
}

const SILENCE: [u8; FRAME_LEN] = [0xd5; FRAME_LEN];

fn worked_repr() -> VoiceRepr<'static> {
    VoiceRepr {
        sequence: 7,
        timestamp: 7 * FRAME_SAMPLES,
        ssrc: 0x0102_0304,
        radio: RadioHeader {
            tx: TxState::Continue,
            squelch_open: true,
            emergency: false,
            priority: Priority::new(3).unwrap(),
            talker: Some(Tsi::from_parts(206, 1, 1_234_567).unwrap()),
            talkgroup: Tsi::from_parts(206, 1, 2_061_001).unwrap(),
            origin: Origin {
                site: SiteId(12),
                network: Some(Network::Astrid),
            },
            stream: StreamId(0xcafe),
            started: KeyUpTime(1_765_000_000_000),
        },
        payload: &SILENCE,
    }
}

fn worked_packet() -> Vec<u8> {
    let mut p = worked_header();
    p.extend_from_slice(&SILENCE);
    p
}

#[test]
fn emits_worked_example_byte_for_byte() {
    let mut buf = [0xa5u8; 300];
    let len = worked_repr().emit(&mut buf).unwrap();
    assert_eq!(len, 52 + FRAME_LEN);
    assert_eq!(hex::encode(&buf[..52]), hex::encode(worked_header()));
    assert_eq!(&buf[52..len], &SILENCE[..]);
    assert!(
        buf[len..].iter().all(|&b| b == 0xa5),
        "wrote past buffer_len"
    );
}

#[test]
fn parses_worked_example() {
    let packet = worked_packet();
    assert_eq!(VoiceRepr::parse(&packet), Ok(worked_repr()));
}

#[test]
fn start_sets_marker_and_end_clears_it() {
    let mut buf = [0u8; MAX_PACKET_LEN];
    let mut repr = worked_repr();
    repr.radio.tx = TxState::Start;
    repr.emit(&mut buf).unwrap();
    assert!(RtpPacket::new_checked(&buf[..]).unwrap().marker());
    repr.radio.tx = TxState::End;
    repr.payload = &[];
    let len = repr.emit(&mut buf).unwrap();
    let p = RtpPacket::new_checked(&buf[..len]).unwrap();
    assert!(!p.marker());
    assert_eq!(
        VoiceRepr::parse(&buf[..len]).unwrap().radio.tx,
        TxState::End
    );
}

#[test]
fn unknown_talker_omits_its_element() {
    let mut repr = worked_repr();
    repr.radio.talker = None;
    let mut buf = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut buf).unwrap();
    assert_eq!(len, 12 + 4 + 28 + FRAME_LEN);
    assert_eq!(VoiceRepr::parse(&buf[..len]), Ok(repr));
}

#[test]
fn emit_refuses_small_buffer_and_odd_payload() {
    let mut buf = [0u8; 100];
    assert_eq!(
        worked_repr().emit(&mut buf),
        Err(VoiceError::BufferTooSmall { needed: 212 })
    );
    let mut repr = worked_repr();
    repr.payload = &SILENCE[..80];
    assert_eq!(
        repr.emit(&mut [0u8; 300]),
        Err(VoiceError::PayloadLength { len: 80 })
    );
}

// ---- one test per hostile input class ----

#[test]
fn hostile_truncated_every_prefix_is_rejected() {
    let packet = worked_packet();
    for len in 0..52 {
        assert!(
            VoiceRepr::parse(&packet[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    // A prefix that cuts into the payload is a payload of the wrong length.
    assert_eq!(
        VoiceRepr::parse(&packet[..100]),
        Err(VoiceError::PayloadLength { len: 48 })
    );
}

#[test]
fn hostile_overlong_payload() {
    let mut packet = worked_packet();
    packet.push(0xd5);
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::PayloadLength { len: 161 })
    );
}

#[test]
fn hostile_wrong_version() {
    let mut packet = worked_packet();
    packet[0] = 0x10; // version 0
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::Version { got: 0 })
    );
}

#[test]
fn hostile_bogus_extension_length() {
    let mut packet = worked_packet();
    packet[14..16].copy_from_slice(&[0xff, 0xff]);
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::Truncated { len: 212 })
    );
}

#[test]
fn hostile_bogus_csrc_count() {
    let mut packet = worked_header();
    packet[0] = 0x9f; // 15 CSRCs: 60 bytes that are not there
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::Truncated { len: 52 })
    );
}

#[test]
fn hostile_wrong_payload_type() {
    let mut packet = worked_packet();
    packet[1] = 0x00; // PCMU
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::PayloadType { pt: 0 })
    );
}

#[test]
fn hostile_no_extension() {
    let mut packet = worked_packet();
    packet[0] = 0x80;
    assert_eq!(VoiceRepr::parse(&packet), Err(VoiceError::NoExtension));
}

#[test]
fn hostile_foreign_extension_profile() {
    let mut packet = worked_packet();
    packet[12..14].copy_from_slice(&[0xab, 0xcd]);
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::ExtensionProfile { profile: 0xabcd })
    );
}

#[test]
fn hostile_element_length_mismatch() {
    let mut packet = worked_packet();
    packet[16] = 0x11; // radio state claims 2 bytes
    assert!(matches!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::ElementLength { id: 1, len: 2 })
    ));
}

#[test]
fn hostile_element_past_extension_end_names_offset() {
    let mut packet = worked_packet();
    packet[50] = 0x1f; // a padding byte turned into a 16-byte element
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::Extension { offset: 50 })
    );
}

#[test]
fn hostile_duplicate_element() {
    let mut packet = worked_packet();
    packet[18] = 0x35; // talker element relabelled as a second talkgroup
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::DuplicateElement { id: 3 })
    );
}

#[test]
fn hostile_missing_required_element() {
    let mut packet = worked_packet();
    packet[36] = 0x83; // stream element relabelled as unknown id 8 (skipped)
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::MissingElement { id: 5 })
    );
}

#[test]
fn hostile_reserved_tx_state() {
    let mut packet = worked_packet();
    packet[17] = 0x23;
    assert_eq!(VoiceRepr::parse(&packet), Err(VoiceError::TxState));
}

#[test]
fn hostile_unknown_origin_network() {
    let mut packet = worked_packet();
    packet[35] = 7;
    assert_eq!(
        VoiceRepr::parse(&packet),
        Err(VoiceError::OriginNetwork { code: 7 })
    );
}

#[test]
fn unknown_elements_are_skipped() {
    // Replace the trailing padding with an unknown 1-byte element (id 9): still valid.
    let mut packet = worked_packet();
    packet[50..52].copy_from_slice(&[0x90, 0xee]);
    assert_eq!(VoiceRepr::parse(&packet), Ok(worked_repr()));
}

#[test]
fn two_byte_form_is_accepted() {
    let r = worked_repr().radio;
    let mut ext = Vec::new();
    ext.extend_from_slice(&[1, 1, 0xa3]);
    ext.extend_from_slice(&[2, 6]);
    ext.extend_from_slice(&r.talker.unwrap().to_bytes());
    ext.extend_from_slice(&[3, 6]);
    ext.extend_from_slice(&r.talkgroup.to_bytes());
    ext.extend_from_slice(&[4, 3, 0, 12, 1, 5, 4, 0, 0, 0xca, 0xfe]);
    ext.extend_from_slice(&[7, 8]);
    ext.extend_from_slice(&r.started.0.to_be_bytes());
    while ext.len() % 4 != 0 {
        ext.push(0);
    }
    let mut packet = worked_header()[..12].to_vec();
    packet.extend_from_slice(&[0x10, 0x00, 0, (ext.len() / 4) as u8]);
    packet.extend_from_slice(&ext);
    packet.extend_from_slice(&SILENCE);
    assert_eq!(VoiceRepr::parse(&packet), Ok(worked_repr()));
}

#[test]
fn rtp_padding_is_honoured() {
    let mut packet = worked_packet();
    packet[0] |= 0x20;
    packet.extend_from_slice(&[0, 0, 0, 4]);
    assert_eq!(VoiceRepr::parse(&packet), Ok(worked_repr()));
}

// ---- properties ----

fn any_tsi() -> impl Strategy<Value = Tsi> {
    any::<[u8; 6]>().prop_map(Tsi::from_bytes)
}

prop_compose! {
    fn any_radio()(
        tx in prop_oneof![Just(TxState::Start), Just(TxState::Continue), Just(TxState::End)],
        squelch_open: bool,
        emergency: bool,
        priority in 0u8..=15,
        talker in proptest::option::of(any_tsi()),
        talkgroup in any_tsi(),
        site: u16,
        network in prop_oneof![Just(None), Just(Some(Network::Astrid)), Just(Some(Network::C2000))],
        stream: u32,
        started: u64,
    ) -> RadioHeader {
        RadioHeader {
            tx, squelch_open, emergency,
            priority: Priority::new(priority).unwrap(),
            talker, talkgroup,
            origin: Origin { site: SiteId(site), network },
            stream: StreamId(stream),
            started: KeyUpTime(started),
        }
    }
}

proptest! {
    #[test]
    fn emit_then_parse_round_trips(
        sequence: u16, timestamp: u32, ssrc: u32, radio in any_radio(),
        payload in prop_oneof![Just(Vec::new()), proptest::collection::vec(any::<u8>(), FRAME_LEN)],
    ) {
        let repr = VoiceRepr { sequence, timestamp, ssrc, radio, payload: &payload };
        let mut buf = [0xa5u8; MAX_PACKET_LEN + 8];
        let len = repr.emit(&mut buf).unwrap();
        prop_assert_eq!(len, repr.buffer_len());
        prop_assert!(len <= MAX_PACKET_LEN);
        prop_assert_eq!(VoiceRepr::parse(&buf[..len]), Ok(repr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = VoiceRepr::parse(&data);
    }

    #[test]
    fn corrupted_packets_never_panic(idx in 0usize..212, byte: u8) {
        let mut packet = worked_packet();
        packet[idx] = byte;
        if let Ok(repr) = VoiceRepr::parse(&packet) {
            // Whatever parses must re-emit to something that parses the same.
            let mut buf = [0u8; MAX_PACKET_LEN];
            let len = repr.emit(&mut buf).unwrap();
            prop_assert_eq!(VoiceRepr::parse(&buf[..len]), Ok(repr));
        }
    }
}

#[test]
fn key_up_times_compare_and_age_for_any_distance() {
    assert!(KeyUpTime(10).is_before(KeyUpTime(11)));
    assert!(!KeyUpTime(11).is_before(KeyUpTime(10)));
    assert!(!KeyUpTime(10).is_before(KeyUpTime(10)));
    // What wrapped in voice version 1 (2^31 ms and more apart) compares and ages plainly.
    let now = 1_765_000_000_000u64;
    let weeks_ago = KeyUpTime(now - (1 << 31) - 1);
    assert!(weeks_ago.is_before(KeyUpTime(now)));
    assert_eq!(weeks_ago.age_ms(now), (1 << 31) + 1);
    assert_eq!(KeyUpTime(now + 5).age_ms(now), -5);
    assert_eq!(KeyUpTime(u64::MAX).age_ms(0), -i128::from(u64::MAX));
}

/// A packet of a voice-version-1 sender (32-bit key-up time, element 6) is refused with an
/// error that tells the operator what to do, not taken with a made-up key-up time.
#[test]
fn a_version_1_key_up_time_is_refused_by_name() {
    let mut header = hex::decode(
        concat!(
            "90080007",
            "00000460",
            "01020304",
            "bede0008",
            "10a3",
            "253380011 2d687",
            "353380011f72c9",
            "42000c01",
            "530000cafe",
            "63075bcd15",
            "0000"
        )
        .replace(' ', ""),
    )
    .unwrap();
    header.extend_from_slice(&SILENCE);
    let err = VoiceRepr::parse(&header).unwrap_err();
    assert_eq!(err, VoiceError::LegacyKeyUp);
    assert!(std::format!("{err}").contains("upgrade"), "{err}");
}
