//! RTP voice packets: parsing never panics; whatever parses re-emits to a packet that parses
//! to the same value; and the radio signalling a packet carries cannot change across a
//! re-emit (the invariant the relay depends on to never relabel a talker or talkgroup).
#![no_main]

use borderlink_protocol::voice::{MAX_PACKET_LEN, VoiceRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(repr) = VoiceRepr::parse(data) else { return };
    let mut buf = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut buf).expect("a parsed packet always re-emits");
    assert_eq!(len, repr.buffer_len());
    let again = VoiceRepr::parse(&buf[..len]).expect("an emitted packet always parses");
    assert_eq!(again, repr);
});
