//! Whole frames as they cross the UART: COBS-encoded, ended by a 0x00 delimiter.
//!
//! COBS (Cheshire and Baker's consistent overhead byte stuffing) rewrites a frame so that it
//! contains no zero byte, at a cost of one byte per 254 bytes plus one; the zero is then free to
//! mark where each frame ends. A receiver that loses sync (a dropped byte, a board that booted
//! mid-frame) is back in step at the next 0x00, and a sender that opens the port writes a lone
//! 0x00 first to end whatever half-frame the other side may be holding.
//!
//! [`encode`] makes the wire bytes of one frame; [`decode_wire`] takes back one frame given
//! whole (the CLI's `borderlink decode link`); [`FrameDecoder`](crate::link::FrameDecoder)
//! takes a byte stream.

use cobs::{DecodeResult, DecoderState};

use super::error::{EmitError, LinkError};
use super::frame::{FrameRepr, MAX_FRAME_LEN, MAX_WIRE_LEN};

/// Encodes a frame for the wire: the frame's bytes, COBS-encoded, then the 0x00 delimiter.
/// Returns the number of bytes written to `out`; [`MAX_WIRE_LEN`] always suffices.
pub fn encode(repr: &FrameRepr<'_>, out: &mut [u8]) -> Result<usize, EmitError> {
    let mut frame = [0u8; MAX_FRAME_LEN];
    let frame_len = repr.emit(&mut frame)?;
    let frame = frame.get(..frame_len).unwrap_or(&[]);
    // Encoding into a buffer of the worst-case size first gives the exact length to check `out`
    // against; `cobs::try_encode` can report a length past the end of a too-small buffer when
    // the frame ends in a zero byte.
    let mut wire = [0u8; MAX_WIRE_LEN];
    let encoded_len =
        cobs::try_encode(frame, &mut wire).map_err(|_| EmitError::BufferTooSmall {
            needed: MAX_WIRE_LEN,
            available: MAX_WIRE_LEN,
        })?;
    let encoded = wire.get(..encoded_len).ok_or(EmitError::BufferTooSmall {
        needed: encoded_len,
        available: MAX_WIRE_LEN,
    })?;
    let wire_len = encoded_len + 1;
    let too_small = EmitError::BufferTooSmall {
        needed: wire_len,
        available: out.len(),
    };
    let (body, delimiter) = out
        .get_mut(..wire_len)
        .ok_or(too_small)?
        .split_at_mut(encoded_len);
    body.copy_from_slice(encoded);
    delimiter.fill(0);
    Ok(wire_len)
}

/// Decodes one frame given whole, with or without its trailing 0x00, into `scratch` (which
/// [`MAX_FRAME_LEN`] bytes always suffice for) and parses it.
///
/// Zero bytes before the frame and after its delimiter are ignored, as a stream decoder would
/// ignore them; any other byte after the delimiter is [`LinkError::AfterDelimiter`].
pub fn decode_wire<'s>(bytes: &[u8], scratch: &'s mut [u8]) -> Result<FrameRepr<'s>, LinkError> {
    let mut state = DecoderState::Idle;
    let mut len = 0usize;
    let mut delimiter = None;
    for (offset, &byte) in bytes.iter().enumerate() {
        match state.feed(byte) {
            Ok(DecodeResult::NoData | DecodeResult::DataStart) => {}
            Ok(DecodeResult::DataContinue(decoded)) => {
                let limit = scratch.len();
                *scratch.get_mut(len).ok_or(LinkError::Overlong { limit })? = decoded;
                len += 1;
            }
            Ok(DecodeResult::DataComplete) => {
                delimiter = Some(offset);
                break;
            }
            Err(_) => return Err(LinkError::BadCobs { offset }),
        }
    }
    match delimiter {
        Some(at) => {
            let after = at + 1;
            if let Some(extra) = bytes.iter().skip(after).position(|&b| b != 0) {
                return Err(LinkError::AfterDelimiter {
                    offset: after + extra,
                });
            }
        }
        // Nothing but zeros, or nothing at all.
        None if matches!(state, DecoderState::Idle) => return Err(LinkError::Truncated { len: 0 }),
        None => {
            if !matches!(state.feed(0), Ok(DecodeResult::DataComplete)) {
                return Err(LinkError::BadCobs {
                    offset: bytes.len(),
                });
            }
        }
    }
    let scratch: &'s [u8] = scratch;
    FrameRepr::parse_bytes(scratch.get(..len).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::link::strategy::any_message;
    use crate::link::{BodyError, MAX_CHUNK, Message, Port, PortMask, VERSION};

    fn encode_vec(repr: &FrameRepr<'_>) -> Vec<u8> {
        let mut out = [0xa5u8; MAX_WIRE_LEN + 8];
        let n = encode(repr, &mut out).unwrap();
        assert!(
            out[n..].iter().all(|&b| b == 0xa5),
            "encode wrote past its length"
        );
        out[..n].to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<FrameRepr<'static>, LinkError> {
        let scratch = Vec::from([0u8; MAX_FRAME_LEN]).leak();
        decode_wire(bytes, scratch)
    }

    #[test]
    fn heartbeat_wire_bytes() {
        let repr = FrameRepr {
            seq: 0x0102,
            message: Message::Heartbeat,
        };
        assert_eq!(hex::encode(encode_vec(&repr)), "0702020101d82400");
    }

    #[test]
    fn set_ptt_wire_bytes() {
        let repr = FrameRepr {
            seq: 7,
            message: Message::SetPtt {
                port: Port::new(2).unwrap(),
                keyed: true,
            },
        };
        let wire = encode_vec(&repr);
        assert_eq!(hex::encode(&wire), "03020706020201a7fa00");
        assert_eq!(decode(&wire), Ok(repr));
        // Without the delimiter too, as a person pastes it.
        assert_eq!(decode(&wire[..wire.len() - 1]), Ok(repr));
    }

    #[test]
    fn nack_wire_bytes() {
        let wire = hex::decode("02020b010dac02010c8004eb6400").unwrap();
        let repr = decode(&wire).unwrap();
        assert_eq!(repr.seq, 0x0100);
        assert_eq!(encode_vec(&repr), wire);
    }

    #[test]
    fn status_wire_bytes() {
        let repr = FrameRepr {
            seq: 0,
            message: Message::Status {
                ptt: PortMask::EMPTY,
                cor: PortMask::from_bits(0b0101).unwrap(),
                power: PortMask::ALL,
            },
        };
        assert_eq!(hex::encode(encode_vec(&repr)), "020201020f05050fd94b00");
    }

    #[test]
    fn truncated_wire_frames() {
        assert_eq!(decode(&[]), Err(LinkError::Truncated { len: 0 }));
        assert_eq!(decode(&[0, 0]), Err(LinkError::Truncated { len: 0 }));
        assert_eq!(decode(&[0x01, 0x00]), Err(LinkError::Truncated { len: 0 }));
        assert_eq!(
            decode(&[0x05, 1, 2, 3, 4, 0x00]),
            Err(LinkError::Truncated { len: 4 })
        );
    }

    #[test]
    fn overlong_wire_frame() {
        let data = [0x11u8; MAX_CHUNK];
        let repr = FrameRepr {
            seq: 1,
            message: Message::UpdateChunk {
                offset: 0,
                data: &data,
            },
        };
        let wire = encode_vec(&repr);
        let mut scratch = [0u8; 100];
        assert_eq!(
            decode_wire(&wire, &mut scratch),
            Err(LinkError::Overlong { limit: 100 })
        );
    }

    #[test]
    fn bad_cobs_wire_frames() {
        // A block claiming 5 bytes cut short by the delimiter.
        assert_eq!(
            decode(&[0x05, 1, 2, 0x00]),
            Err(LinkError::BadCobs { offset: 3 })
        );
        // The same cut short by the end of the input.
        assert_eq!(decode(&[0x05, 1, 2]), Err(LinkError::BadCobs { offset: 3 }));
    }

    #[test]
    fn bad_crc_wire_frame() {
        let mut wire = hex::decode("0702020101d82400").unwrap();
        wire[4] ^= 0x02; // Heartbeat tag 1 -> 3 (GetPtt)
        assert!(matches!(
            decode(&wire),
            Err(LinkError::BadCrc {
                received: 0x24d8,
                ..
            })
        ));
    }

    #[test]
    fn wrong_version_wire_frame() {
        // Version 1 frame (a peer from before version 2) with a valid CRC: 01 0102 01 + CRC.
        let mut frame = Vec::from([1u8, 0x02, 0x01, 0x01]);
        let crc = crate::link::checksum::frame_crc(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        let mut wire = [0u8; 16];
        let n = cobs::try_encode(&frame, &mut wire).unwrap();
        assert_eq!(
            decode(&wire[..n]),
            Err(LinkError::WrongVersion {
                got: 1,
                seq: 0x0102
            })
        );
        assert_ne!(VERSION, 1);
    }

    #[test]
    fn bogus_length_wire_frame() {
        // UpdateChunk whose data length prefix (0x7F = 127) exceeds what the frame holds.
        let mut frame = Vec::from([VERSION, 0, 0, 8, 0, 0x7F, 1, 2]);
        let crc = crate::link::checksum::frame_crc(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        let mut wire = [0u8; 32];
        let n = cobs::try_encode(&frame, &mut wire).unwrap();
        assert_eq!(
            decode(&wire[..n]),
            Err(LinkError::BadBody {
                seq: 0,
                reason: BodyError::UnexpectedEnd
            })
        );
    }

    #[test]
    fn trailing_garbage_after_the_delimiter() {
        let mut wire = hex::decode("0702020101d82400").unwrap();
        assert!(decode(&wire).is_ok());
        wire.extend_from_slice(&[0x00, 0x00]);
        assert!(decode(&wire).is_ok(), "extra delimiters are harmless");
        wire.push(0x42);
        assert_eq!(decode(&wire), Err(LinkError::AfterDelimiter { offset: 10 }));
        let mut leading = Vec::from([0u8, 0]);
        leading.extend_from_slice(&hex::decode("0702020101d82400").unwrap());
        assert!(decode(&leading).is_ok(), "leading delimiters are harmless");
    }

    #[test]
    fn encode_reports_the_exact_size_needed() {
        // A CRC whose high byte is zero makes the frame end in 0x00, the case where the cobs
        // crate's own length check is loose; find such a frame by its sequence number.
        let repr = (0..=u16::MAX)
            .map(|seq| FrameRepr {
                seq,
                message: Message::Hello,
            })
            .find(|r| {
                let mut f = [0u8; 8];
                let n = r.emit(&mut f).unwrap();
                f[n - 1] == 0
            })
            .unwrap();
        let wire = encode_vec(&repr);
        let mut exact = std::vec![0xa5u8; wire.len()];
        assert_eq!(encode(&repr, &mut exact), Ok(wire.len()));
        assert_eq!(exact, wire);
        let mut short = std::vec![0xa5u8; wire.len() - 1];
        assert_eq!(
            encode(&repr, &mut short),
            Err(EmitError::BufferTooSmall {
                needed: wire.len(),
                available: wire.len() - 1
            })
        );
        assert!(short.iter().all(|&b| b == 0xa5));
    }

    #[test]
    fn full_chunk_of_ff_crosses_a_cobs_block() {
        let data = [0xFFu8; MAX_CHUNK];
        let repr = FrameRepr {
            seq: 0xFFFF,
            message: Message::UpdateChunk {
                offset: 1,
                data: &data,
            },
        };
        let wire = encode_vec(&repr);
        assert!(wire.len() <= MAX_WIRE_LEN);
        assert_eq!(wire.iter().filter(|&&b| b == 0).count(), 1);
        assert_eq!(decode(&wire), Ok(repr));
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(seq: u16, message in any_message()) {
            let repr = FrameRepr { seq, message };
            let wire = encode_vec(&repr);
            prop_assert!(wire.len() <= MAX_WIRE_LEN);
            prop_assert_eq!(wire.iter().position(|&b| b == 0), Some(wire.len() - 1));
            prop_assert_eq!(decode(&wire), Ok(repr));
        }

        #[test]
        fn decode_wire_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(repr) = decode(&bytes) {
                prop_assert_eq!(decode(&encode_vec(&repr)), Ok(repr));
            }
        }
    }
}
