//! The board-link byte stream: arbitrary bytes fed to the streaming decoder in arbitrary pieces
//! never make it panic or stall; every frame it yields re-encodes to wire bytes that decode to
//! the same frame; and after any garbage, a delimiter followed by a valid frame yields that
//! frame, so the decoder always resynchronises.
#![no_main]

use borderlink_protocol::link::{
    FrameDecoder, FrameRepr, LinkError, MAX_CHUNK, MAX_FRAME_LEN, MAX_WIRE_LEN, Message,
    decode_wire, encode,
};
use libfuzzer_sys::fuzz_target;

/// Pushes `bytes` in pieces whose sizes come from `seed`, checking every yielded frame;
/// returns the last outcome, re-encoded if it was a frame.
fn feed(
    decoder: &mut FrameDecoder<MAX_FRAME_LEN>,
    bytes: &[u8],
    seed: &mut u32,
) -> Option<Result<([u8; MAX_WIRE_LEN], usize), LinkError>> {
    let mut last = None;
    let mut rest = bytes;
    while !rest.is_empty() {
        // A small LCG keeps the piece sizes varied but reproducible from the input.
        *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let take = (1 + (*seed >> 16) as usize % 97).min(rest.len());
        let (mut piece, tail) = rest.split_at(take);
        rest = tail;
        while !piece.is_empty() {
            let (used, outcome) = decoder.push(piece);
            assert!(used >= 1 && used <= piece.len(), "push must make progress");
            piece = &piece[used..];
            match outcome {
                Some(Ok(repr)) => {
                    let mut wire = [0u8; MAX_WIRE_LEN];
                    let n = encode(&repr, &mut wire).expect("a yielded frame always re-encodes");
                    let mut scratch = [0u8; MAX_FRAME_LEN];
                    assert_eq!(decode_wire(&wire[..n], &mut scratch), Ok(repr));
                    last = Some(Ok((wire, n)));
                }
                Some(Err(e)) => last = Some(Err(e)),
                None => {}
            }
        }
    }
    last
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let mut seed = u32::from(first);
    let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
    let _ = feed(&mut decoder, stream, &mut seed);

    // A valid frame built from the input itself, sent the way a sender resynchronises: a lone
    // delimiter first, to end whatever half-frame the garbage left open.
    let data_len = stream.len().min(MAX_CHUNK);
    let probe = FrameRepr {
        seq: stream.len() as u16,
        message: Message::UpdateChunk {
            offset: u32::from(first),
            data: &stream[..data_len],
        },
    };
    let mut wire = [0u8; MAX_WIRE_LEN + 1];
    let n = encode(&probe, &mut wire[1..]).expect("the probe encodes");
    let last = feed(&mut decoder, &wire[..n + 1], &mut seed);

    let mut expected = [0u8; MAX_WIRE_LEN];
    let m = encode(&probe, &mut expected).expect("the probe encodes");
    match last {
        Some(Ok((got, len))) => assert_eq!(&got[..len], &expected[..m], "wrong frame yielded"),
        other => panic!("decoder did not resynchronise: {other:?}"),
    }
    assert!(decoder.is_idle());
});
