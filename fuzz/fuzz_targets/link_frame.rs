//! One board-link frame given whole (what `borderlink decode link` takes): decoding never
//! panics; whatever decodes re-encodes to wire bytes that decode to the same frame; and the
//! streaming decoder, fed the same bytes, yields exactly that frame and nothing else.
#![no_main]

use borderlink_protocol::link::{FrameDecoder, MAX_FRAME_LEN, MAX_WIRE_LEN, decode_wire, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut scratch = [0u8; MAX_FRAME_LEN];
    let Ok(repr) = decode_wire(data, &mut scratch) else {
        return;
    };

    let mut wire = [0u8; MAX_WIRE_LEN];
    let n = encode(&repr, &mut wire).expect("a decoded frame always re-encodes");
    let mut again = [0u8; MAX_FRAME_LEN];
    assert_eq!(decode_wire(&wire[..n], &mut again), Ok(repr));

    // decode_wire accepts the frame with or without its delimiter; the stream needs one.
    let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
    let mut yielded = 0;
    for mut rest in [data, &[0u8][..]] {
        while !rest.is_empty() {
            let (used, outcome) = decoder.push(rest);
            assert!(used >= 1 && used <= rest.len());
            rest = &rest[used..];
            if let Some(outcome) = outcome {
                assert_eq!(outcome, Ok(repr), "stream and one-shot decoders disagree");
                yielded += 1;
            }
        }
    }
    assert_eq!(yielded, 1);
});
