//! The streaming receiver: bytes from the UART in, frames (or the reason a frame was dropped)
//! out.
//!
//! The decoder holds at most one frame, decoded as it arrives, in a fixed buffer of `N` bytes
//! (use [`MAX_FRAME_LEN`](crate::link::MAX_FRAME_LEN)), so it runs on the board with no
//! allocator. [`FrameDecoder::push`] takes whatever the UART delivered, stops at the first
//! complete frame or error, and says how much it consumed; the caller pushes the rest. The
//! yielded frame borrows the decoder's buffer, so it must be handled (or copied) before the next
//! push, which the borrow checker enforces.
//!
//! Incomplete input is not an error: the decoder keeps the partial frame and waits. Each frame
//! that goes wrong is reported once, with the reason, and the decoder is back in step at the
//! next 0x00.

use cobs::{DecodeResult, DecoderState};

use super::error::LinkError;
use super::frame::FrameRepr;

/// A streaming frame decoder holding up to `N` decoded bytes of one frame.
///
/// ```
/// use borderlink_protocol::link::{FrameDecoder, FrameRepr, Message, MAX_FRAME_LEN, encode};
///
/// let mut wire = [0u8; 64];
/// let mut len = 0;
/// for seq in 0..3 {
///     len += encode(&FrameRepr { seq, message: Message::Heartbeat }, &mut wire[len..]).unwrap();
/// }
///
/// let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
/// let mut seqs = [0u16; 3];
/// let mut n = 0;
/// // The UART delivers bytes in arbitrary pieces; each piece is pushed until consumed.
/// for piece in wire[..len].chunks(5) {
///     let mut rest = piece;
///     while !rest.is_empty() {
///         let (used, outcome) = decoder.push(rest);
///         rest = &rest[used..];
///         match outcome {
///             Some(Ok(frame)) => { seqs[n] = frame.seq; n += 1; }
///             Some(Err(error)) => panic!("{error}"),
///             None => {}
///         }
///     }
/// }
/// assert_eq!(seqs, [0, 1, 2]);
/// ```
#[derive(Debug)]
pub struct FrameDecoder<const N: usize> {
    /// The decoded bytes of the frame under way (or of the last one yielded).
    buf: heapless::Vec<u8, N>,
    cobs: DecoderState,
    /// Dropping bytes up to the next 0x00, after an overlong frame.
    discarding: bool,
    /// Encoded bytes of the frame under way, for error offsets.
    encoded: usize,
}

impl<const N: usize> FrameDecoder<N> {
    /// A decoder waiting for the start of a frame.
    pub const fn new() -> Self {
        FrameDecoder {
            buf: heapless::Vec::new(),
            cobs: DecoderState::Idle,
            discarding: false,
            encoded: 0,
        }
    }

    /// Feeds bytes until one frame is complete or fails, or the bytes run out.
    ///
    /// Returns how many bytes of `bytes` were consumed, and the frame or error if one ended
    /// there; push the unconsumed rest next. At least one byte is consumed whenever `bytes` is
    /// not empty, so a loop that pushes until nothing is left always ends. `None` means every
    /// byte was consumed and the frame under way (if any) needs more.
    ///
    /// Errors: [`LinkError::Overlong`] as soon as a frame outgrows the buffer (then the rest of
    /// it, up to the next 0x00, is dropped silently), [`LinkError::BadCobs`] at a delimiter that
    /// cuts a COBS block short, and at a complete frame any error of
    /// [`FrameRepr::parse`] (truncated, bad CRC, wrong version, bad body).
    #[must_use = "the consumed count says where to resume, and the outcome may hold a frame"]
    pub fn push(&mut self, bytes: &[u8]) -> (usize, Option<Result<FrameRepr<'_>, LinkError>>) {
        for (index, &byte) in bytes.iter().enumerate() {
            let consumed = index + 1;
            if self.discarding {
                if byte == 0 {
                    self.discarding = false;
                }
                continue;
            }
            self.encoded = self.encoded.saturating_add(1);
            match self.cobs.feed(byte) {
                Ok(DecodeResult::NoData) => {}
                Ok(DecodeResult::DataStart) => {
                    self.buf.clear();
                    self.encoded = 1;
                }
                Ok(DecodeResult::DataContinue(decoded)) => {
                    if self.buf.push(decoded).is_err() {
                        self.cobs = DecoderState::Idle;
                        self.discarding = true;
                        return (consumed, Some(Err(LinkError::Overlong { limit: N })));
                    }
                }
                Ok(DecodeResult::DataComplete) => {
                    return (consumed, Some(FrameRepr::parse_bytes(&self.buf)));
                }
                Err(_) => {
                    let offset = self.encoded.saturating_sub(1);
                    return (consumed, Some(Err(LinkError::BadCobs { offset })));
                }
            }
        }
        (bytes.len(), None)
    }

    /// Whether the decoder is between frames (no partial frame held, nothing being dropped).
    pub fn is_idle(&self) -> bool {
        !self.discarding && matches!(self.cobs, DecoderState::Idle)
    }

    /// Forgets any partial frame, as if a 0x00 had arrived (without reporting it).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.cobs = DecoderState::Idle;
        self.discarding = false;
        self.encoded = 0;
    }
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::link::strategy::any_message;
    use crate::link::{
        BodyError, MAX_CHUNK, MAX_FRAME_LEN, MAX_WIRE_LEN, Message, Port, VERSION, encode,
    };

    type Decoder = FrameDecoder<MAX_FRAME_LEN>;

    /// What the decoder yielded, owned, so tests can collect across pushes.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Out {
        Frame(u16, Vec<u8>),
        Error(LinkError),
    }

    /// The message re-encoded: an owned stand-in for a borrowed `FrameRepr`.
    fn owned(repr: &FrameRepr<'_>) -> Out {
        Out::Frame(repr.seq, wire(repr))
    }

    fn wire(repr: &FrameRepr<'_>) -> Vec<u8> {
        let mut out = [0u8; MAX_WIRE_LEN];
        let n = encode(repr, &mut out).unwrap();
        out[..n].to_vec()
    }

    /// Feeds `bytes` in pieces of the given sizes (cycled), collecting everything yielded.
    fn feed<const N: usize>(
        decoder: &mut FrameDecoder<N>,
        bytes: &[u8],
        sizes: &[usize],
    ) -> Vec<Out> {
        let mut outs = Vec::new();
        let mut rest = bytes;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let take = (*sizes.next().unwrap()).clamp(1, rest.len());
            let (mut piece, tail) = rest.split_at(take);
            rest = tail;
            while !piece.is_empty() {
                let (used, outcome) = decoder.push(piece);
                assert!(
                    used >= 1 && used <= piece.len(),
                    "used {used} of {}",
                    piece.len()
                );
                piece = &piece[used..];
                match outcome {
                    Some(Ok(repr)) => outs.push(owned(&repr)),
                    Some(Err(e)) => outs.push(Out::Error(e)),
                    None => assert!(piece.is_empty(), "None before the input ran out"),
                }
            }
        }
        outs
    }

    fn heartbeat(seq: u16) -> FrameRepr<'static> {
        FrameRepr {
            seq,
            message: Message::Heartbeat,
        }
    }

    #[test]
    fn incomplete_input_waits() {
        let bytes = wire(&heartbeat(5));
        let mut decoder = Decoder::new();
        let (used, outcome) = decoder.push(&bytes[..bytes.len() - 1]);
        assert_eq!((used, outcome), (bytes.len() - 1, None));
        assert!(!decoder.is_idle());
        let (used, outcome) = decoder.push(&bytes[bytes.len() - 1..]);
        assert_eq!(used, 1);
        assert_eq!(outcome, Some(Ok(heartbeat(5))));
        assert!(decoder.is_idle());
        assert_eq!(decoder.push(&[]), (0, None));
    }

    #[test]
    fn stops_after_each_frame() {
        let mut bytes = wire(&heartbeat(1));
        let first = bytes.len();
        bytes.extend(wire(&heartbeat(2)));
        let mut decoder = Decoder::new();
        let (used, outcome) = decoder.push(&bytes);
        assert_eq!(used, first);
        assert_eq!(outcome, Some(Ok(heartbeat(1))));
        let (used, outcome) = decoder.push(&bytes[first..]);
        assert_eq!(used, bytes.len() - first);
        assert_eq!(outcome, Some(Ok(heartbeat(2))));
    }

    #[test]
    fn truncated_frame_in_stream() {
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &[0x03, 0x01, 0x02, 0x00], &[1]);
        assert_eq!(outs, [Out::Error(LinkError::Truncated { len: 2 })]);
    }

    #[test]
    fn overlong_frame_is_reported_once_then_skipped() {
        let mut decoder = FrameDecoder::<16>::new();
        let mut bytes = Vec::from([0x42u8; 100]);
        bytes.push(0);
        bytes.extend(wire(&heartbeat(9)));
        let outs = feed(&mut decoder, &bytes, &[7, 1, 30]);
        assert_eq!(
            outs,
            [
                Out::Error(LinkError::Overlong { limit: 16 }),
                owned(&heartbeat(9))
            ]
        );
    }

    #[test]
    fn overlong_reported_at_the_byte_that_overflows() {
        let mut decoder = FrameDecoder::<4>::new();
        // 0xFF opens a 254-byte block; data bytes 1..=4 fit, the 5th overflows.
        let bytes = [0xFF, 1, 2, 3, 4, 5, 6, 7];
        let (used, outcome) = decoder.push(&bytes);
        assert_eq!(
            (used, outcome),
            (6, Some(Err(LinkError::Overlong { limit: 4 })))
        );
        let (used, outcome) = decoder.push(&bytes[6..]);
        assert_eq!((used, outcome), (2, None));
        assert!(!decoder.is_idle(), "still dropping up to the next 0x00");
        assert_eq!(decoder.push(&[0]), (1, None));
        assert!(decoder.is_idle());
    }

    #[test]
    fn bad_crc_in_stream() {
        let mut bytes = wire(&heartbeat(0x0102));
        bytes[5] ^= 0x80;
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes, &[3]);
        assert!(
            matches!(outs.as_slice(), [Out::Error(LinkError::BadCrc { .. })]),
            "{outs:?}"
        );
    }

    #[test]
    fn bad_cobs_in_stream_then_recovery() {
        let mut bytes = Vec::from([0x09u8, 1, 2, 3, 0x00]);
        bytes.extend(wire(&heartbeat(3)));
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes, &[2]);
        assert_eq!(
            outs,
            [
                Out::Error(LinkError::BadCobs { offset: 4 }),
                owned(&heartbeat(3))
            ]
        );
    }

    #[test]
    fn wrong_version_in_stream() {
        let mut frame = Vec::from([VERSION + 1, 0x34, 0x12, 0x01]);
        let crc = crate::link::checksum::frame_crc(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        let mut bytes = [0u8; 16];
        let n = cobs::try_encode(&frame, &mut bytes).unwrap();
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes[..n + 1], &[1]);
        assert_eq!(
            outs,
            [Out::Error(LinkError::WrongVersion {
                got: VERSION + 1,
                seq: 0x1234
            })]
        );
    }

    #[test]
    fn bogus_length_in_stream() {
        // SetPtt with the body cut after the port: the bool is missing.
        let mut frame = Vec::from([VERSION, 8, 0, 2, 1]);
        let crc = crate::link::checksum::frame_crc(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        let mut bytes = [0u8; 16];
        let n = cobs::try_encode(&frame, &mut bytes).unwrap();
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes[..n + 1], &[4]);
        assert_eq!(
            outs,
            [Out::Error(LinkError::BadBody {
                seq: 8,
                reason: BodyError::UnexpectedEnd
            })]
        );
    }

    #[test]
    fn trailing_body_bytes_in_stream() {
        let mut frame = Vec::from([VERSION, 8, 0, 0, 0xEE]); // Hello + 1 byte
        let crc = crate::link::checksum::frame_crc(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        let mut bytes = [0u8; 16];
        let n = cobs::try_encode(&frame, &mut bytes).unwrap();
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes[..n + 1], &[4]);
        assert_eq!(
            outs,
            [Out::Error(LinkError::BadBody {
                seq: 8,
                reason: BodyError::TrailingBytes { count: 1 }
            })]
        );
    }

    #[test]
    fn garbage_before_a_valid_frame_then_resync() {
        let set = FrameRepr {
            seq: 42,
            message: Message::SetPtt {
                port: Port::new(1).unwrap(),
                keyed: true,
            },
        };
        // Line noise with no zero, then a delimiter, as a sender opening the port writes it.
        let mut bytes = Vec::from([0x13u8, 0x37, 0xFF, 0x80, 0x01, 0x22]);
        bytes.push(0);
        bytes.extend(wire(&set));
        let mut decoder = Decoder::new();
        let outs = feed(&mut decoder, &bytes, &[1, 2, 3]);
        assert_eq!(outs.last(), Some(&owned(&set)));
        assert_eq!(
            outs.len(),
            2,
            "one error for the noise, then the frame: {outs:?}"
        );
        // Leading zeros alone are not frames.
        let outs = feed(&mut Decoder::new(), &[0, 0, 0], &[1]);
        assert!(outs.is_empty());
    }

    #[test]
    fn every_single_bit_flip_on_the_wire_is_detected() {
        let data: Vec<u8> = (0..=255u8).collect();
        let reprs = [
            heartbeat(0x0102),
            FrameRepr {
                seq: 7,
                message: Message::SetPtt {
                    port: Port::new(2).unwrap(),
                    keyed: true,
                },
            },
            FrameRepr {
                seq: 300,
                message: Message::UpdateChunk {
                    offset: 1024,
                    data: &data,
                },
            },
        ];
        let probe = heartbeat(0xABCD);
        for repr in reprs {
            let good = wire(&repr);
            for bit in 0..good.len() * 8 {
                let mut bytes = good.clone();
                bytes[bit / 8] ^= 1 << (bit % 8);
                // A flipped delimiter leaves a frame open: the sender's next delimiter ends it.
                bytes.push(0);
                bytes.extend(wire(&probe));
                let outs = feed(&mut Decoder::new(), &bytes, &[MAX_WIRE_LEN]);
                let frames: Vec<&Out> = outs
                    .iter()
                    .filter(|o| matches!(o, Out::Frame(..)))
                    .collect();
                assert_eq!(
                    frames,
                    [&owned(&probe)],
                    "flip of bit {bit} of {}",
                    repr.message.name()
                );
            }
        }
    }

    #[test]
    fn reset_drops_a_partial_frame() {
        let bytes = wire(&heartbeat(1));
        let mut decoder = Decoder::new();
        let _ = decoder.push(&bytes[..3]);
        decoder.reset();
        assert!(decoder.is_idle());
        let outs = feed(&mut decoder, &wire(&heartbeat(2)), &[64]);
        assert_eq!(outs, [owned(&heartbeat(2))]);
    }

    #[test]
    fn full_size_chunk_fits_the_recommended_buffer() {
        let data = [0u8; MAX_CHUNK];
        let repr = FrameRepr {
            seq: u16::MAX,
            message: Message::UpdateChunk {
                offset: u32::MAX,
                data: &data,
            },
        };
        let outs = feed(&mut Decoder::new(), &wire(&repr), &[17]);
        assert_eq!(outs, [owned(&repr)]);
    }

    proptest! {
        #[test]
        fn stream_round_trip_in_random_pieces(
            frames in proptest::collection::vec((any::<u16>(), any_message()), 1..8),
            sizes in proptest::collection::vec(1usize..80, 1..10),
        ) {
            let reprs: Vec<FrameRepr<'static>> =
                frames.into_iter().map(|(seq, message)| FrameRepr { seq, message }).collect();
            let bytes: Vec<u8> = reprs.iter().flat_map(wire).collect();
            let mut decoder = Decoder::new();
            let outs = feed(&mut decoder, &bytes, &sizes);
            let expected: Vec<Out> = reprs.iter().map(owned).collect();
            prop_assert_eq!(outs, expected);
            prop_assert!(decoder.is_idle());
        }

        #[test]
        fn decoder_resyncs_after_any_garbage(
            garbage in proptest::collection::vec(any::<u8>(), 0..700),
            sizes in proptest::collection::vec(1usize..64, 1..6),
            seq: u16,
            message in any_message(),
        ) {
            let repr = FrameRepr { seq, message };
            let mut bytes = garbage;
            bytes.push(0);
            bytes.extend(wire(&repr));
            let mut decoder = Decoder::new();
            let outs = feed(&mut decoder, &bytes, &sizes);
            prop_assert_eq!(outs.last(), Some(&owned(&repr)));
            // Everything yielded from the garbage re-encodes to itself.
            for out in &outs {
                if let Out::Frame(_, w) = out {
                    let mut scratch = [0u8; MAX_FRAME_LEN];
                    let again = crate::link::decode_wire(w, &mut scratch);
                    prop_assert!(again.is_ok());
                }
            }
        }
    }
}
