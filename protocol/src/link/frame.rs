//! One link frame before COBS: a zero-copy view ([`Frame`]) and its parsed form
//! ([`FrameRepr`]).
//!
//! ```text
//! offset  size  field
//! 0       1     version   (VERSION)
//! 1       2     seq       u16 little-endian, the sender's frame counter
//! 3       n     body      postcard-encoded Message
//! 3+n     2     crc       CRC-16/IBM-3740 over bytes 0..3+n, little-endian
//! ```
//!
//! The version byte, the sequence number and the trailing CRC keep these places and this CRC in
//! every protocol version; only the body may change. That is what lets a receiver tell a frame
//! of another version ([`LinkError::WrongVersion`]) from line noise ([`LinkError::BadCrc`]),
//! and nack it by sequence number in its own version. The CRC is therefore checked before the
//! version.

use super::checksum::frame_crc;
use super::error::{BodyError, EmitError, LinkError};
use super::message::Message;

/// The link protocol version this code speaks.
pub const VERSION: u8 = 2;

/// Largest data in one [`Message::UpdateChunk`], in bytes: a 32 KiB image goes in 128 chunks.
pub const MAX_CHUNK: usize = 256;

/// Bytes before the body: version and sequence number.
pub const HEADER_LEN: usize = 3;

/// Bytes of the trailing CRC.
pub const CRC_LEN: usize = 2;

/// Largest body of any valid message: an [`Message::UpdateChunk`] with a full chunk, which is
/// its tag (1 byte), the offset (a varint of up to 5 bytes), the data length (a varint of 2
/// bytes for 128..=16383) and the data.
pub const MAX_BODY_LEN: usize = 1 + 5 + 2 + MAX_CHUNK;

/// Largest decoded frame (header, body and CRC); size a
/// [`FrameDecoder`](crate::link::FrameDecoder) with this.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_BODY_LEN + CRC_LEN;

/// Largest frame on the wire: COBS-encoded [`MAX_FRAME_LEN`] plus the 0x00 delimiter; size
/// output buffers for [`crate::link::encode`] with this.
pub const MAX_WIRE_LEN: usize = cobs::max_encoding_length(MAX_FRAME_LEN) + 1;

mod field {
    use core::ops::Range;

    pub(super) const VERSION: usize = 0;
    pub(super) const SEQ: Range<usize> = 1..3;
    pub(super) const BODY: usize = super::HEADER_LEN;
}

/// A zero-copy view of one decoded (un-COBSed) frame.
///
/// Accessors never panic: on a buffer too short for a field they return zero or an empty
/// slice. [`Frame::new_checked`] guarantees they read real fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }

    /// Wraps a buffer after [`Frame::check`].
    pub fn new_checked(buffer: T) -> Result<Self, LinkError> {
        let frame = Frame::new_unchecked(buffer);
        frame.check()?;
        Ok(frame)
    }

    /// Checks, in order, that the frame holds a header and a CRC, that the CRC matches and that
    /// the version is [`VERSION`]. The body is not looked at.
    pub fn check(&self) -> Result<(), LinkError> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < HEADER_LEN + CRC_LEN {
            return Err(LinkError::Truncated { len: bytes.len() });
        }
        let computed = frame_crc(self.covered());
        let received = self.crc();
        if computed != received {
            return Err(LinkError::BadCrc { computed, received });
        }
        if self.version() != VERSION {
            return Err(LinkError::WrongVersion {
                got: self.version(),
                seq: self.seq(),
            });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The protocol version byte.
    pub fn version(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::VERSION)
            .copied()
            .unwrap_or(0)
    }

    /// The sender's sequence number.
    pub fn seq(&self) -> u16 {
        match self.buffer.as_ref().get(field::SEQ) {
            Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
            _ => 0,
        }
    }

    /// The postcard-encoded message.
    pub fn body(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        let end = bytes.len().saturating_sub(CRC_LEN);
        bytes.get(field::BODY..end).unwrap_or(&[])
    }

    /// The CRC carried in the frame.
    pub fn crc(&self) -> u16 {
        let bytes = self.buffer.as_ref();
        match bytes.get(bytes.len().saturating_sub(CRC_LEN)..) {
            Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
            _ => 0,
        }
    }

    /// The bytes the CRC covers: everything before it.
    fn covered(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        bytes
            .get(..bytes.len().saturating_sub(CRC_LEN))
            .unwrap_or(&[])
    }
}

impl<'a> Frame<&'a [u8]> {
    /// The body, borrowed for as long as the underlying buffer.
    fn body_ref(&self) -> &'a [u8] {
        let bytes: &'a [u8] = self.buffer;
        let end = bytes.len().saturating_sub(CRC_LEN);
        bytes.get(field::BODY..end).unwrap_or(&[])
    }
}

/// A parsed frame: the sender's sequence number and the message. The version is implied
/// ([`VERSION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FrameRepr<'a> {
    /// The sender's sequence number.
    pub seq: u16,
    /// The message.
    pub message: Message<'a>,
}

impl<'a> FrameRepr<'a> {
    /// Parses a frame: [`Frame::check`], then the body as exactly one valid message.
    pub fn parse(frame: &Frame<&'a [u8]>) -> Result<Self, LinkError> {
        frame.check()?;
        let seq = frame.seq();
        let bad_body = |reason| LinkError::BadBody { seq, reason };
        let (message, rest) = postcard::take_from_bytes::<Message<'a>>(frame.body_ref())
            .map_err(|e| bad_body(BodyError::from_postcard(e)))?;
        if !rest.is_empty() {
            return Err(bad_body(BodyError::TrailingBytes { count: rest.len() }));
        }
        message.validate().map_err(bad_body)?;
        Ok(FrameRepr { seq, message })
    }

    /// Parses a decoded frame held in a byte slice.
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self, LinkError> {
        FrameRepr::parse(&Frame::new_unchecked(bytes))
    }

    /// How many bytes [`FrameRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + body_len(&self.message) + CRC_LEN
    }

    /// Writes the frame (before COBS) into `buf` and returns its length. The message must pass
    /// [`Message::validate`]; bytes of `buf` past the returned length are left alone.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        self.message
            .validate()
            .map_err(|reason| EmitError::Invalid { reason })?;
        let len = self.buffer_len();
        let too_small = EmitError::BufferTooSmall {
            needed: len,
            available: buf.len(),
        };
        let out = buf.get_mut(..len).ok_or(too_small)?;
        let (covered, crc) = out.split_at_mut(len - CRC_LEN);
        let (header, body) = covered.split_at_mut(HEADER_LEN);
        let [seq_lo, seq_hi] = self.seq.to_le_bytes();
        header.copy_from_slice(&[VERSION, seq_lo, seq_hi]);
        // The body slice is exactly `body_len` bytes, so this fails only if serialisation
        // disagrees with itself about the length.
        let written = postcard::to_slice(&self.message, body)
            .map_err(|_| too_small)?
            .len();
        if written != body.len() {
            return Err(too_small);
        }
        crc.copy_from_slice(&frame_crc(covered).to_le_bytes());
        Ok(len)
    }
}

/// The postcard length of a message.
fn body_len(message: &Message<'_>) -> usize {
    // The size flavour only counts bytes, and none of our types can fail to serialise.
    postcard::serialize_with_flavor(message, postcard::ser_flavors::Size::default()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::link::strategy::any_message;
    use crate::link::{
        AckResult, BoardInfo, FirmwareVersion, NackReason, PORTS, Port, Slot, Telemetry,
    };

    fn emit_vec(repr: &FrameRepr<'_>) -> Vec<u8> {
        let mut buf = [0xa5u8; MAX_FRAME_LEN + 8];
        let len = repr.emit(&mut buf).unwrap();
        assert_eq!(len, repr.buffer_len());
        assert!(
            buf[len..].iter().all(|&b| b == 0xa5),
            "emit wrote past its length"
        );
        buf[..len].to_vec()
    }

    #[test]
    fn heartbeat_is_byte_exact() {
        let repr = FrameRepr {
            seq: 0x0102,
            message: Message::Heartbeat,
        };
        assert_eq!(hex::encode(emit_vec(&repr)), "02020101d824");
    }

    #[test]
    fn set_ptt_is_byte_exact() {
        let repr = FrameRepr {
            seq: 7,
            message: Message::SetPtt {
                port: Port::new(2).unwrap(),
                keyed: true,
            },
        };
        assert_eq!(hex::encode(emit_vec(&repr)), "020700020201a7fa");
    }

    #[test]
    fn nack_is_byte_exact() {
        let repr = FrameRepr {
            seq: 0x0100,
            message: Message::Ack {
                seq: 300,
                result: AckResult::Nack(NackReason::OutOfOrder { expected: 512 }),
            },
        };
        assert_eq!(hex::encode(emit_vec(&repr)), "0200010dac02010c8004eb64");
    }

    #[test]
    fn view_reads_fields() {
        let bytes = emit_vec(&FrameRepr {
            seq: 0xBEEF,
            message: Message::GetTelemetry,
        });
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.version(), VERSION);
        assert_eq!(frame.seq(), 0xBEEF);
        assert_eq!(frame.body(), &[6]);
        assert_eq!(frame.crc(), frame_crc(&bytes[..4]));
        assert_eq!(frame.into_inner(), &bytes[..]);
    }

    #[test]
    fn unchecked_view_of_nothing_reads_zeros() {
        let frame = Frame::new_unchecked(&[][..]);
        assert_eq!((frame.version(), frame.seq(), frame.crc()), (0, 0, 0));
        assert!(frame.body().is_empty());
        let frame = Frame::new_unchecked(&[1u8, 2][..]);
        assert_eq!(frame.seq(), 0);
        assert!(frame.body().is_empty());
    }

    #[test]
    fn truncated_frames_are_named() {
        for len in 0..HEADER_LEN + CRC_LEN {
            let bytes = [VERSION; 8];
            assert_eq!(
                Frame::new_checked(&bytes[..len]),
                Err(LinkError::Truncated { len }),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn empty_body_is_a_bad_body() {
        let mut bytes = [VERSION, 5, 0, 0, 0];
        let crc = frame_crc(&bytes[..3]).to_le_bytes();
        bytes[3..].copy_from_slice(&crc);
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::BadBody {
                seq: 5,
                reason: BodyError::UnexpectedEnd
            })
        );
    }

    #[test]
    fn bad_crc_is_named() {
        let mut bytes = emit_vec(&FrameRepr {
            seq: 1,
            message: Message::Hello,
        });
        let received = frame_crc(&bytes[..bytes.len() - 2]) ^ 0x0001;
        let n = bytes.len();
        bytes[n - 2..].copy_from_slice(&received.to_le_bytes());
        assert_eq!(
            Frame::new_checked(&bytes[..]),
            Err(LinkError::BadCrc {
                computed: received ^ 1,
                received
            })
        );
    }

    #[test]
    fn wrong_version_is_named_and_keeps_the_seq() {
        let mut bytes = emit_vec(&FrameRepr {
            seq: 0x0203,
            message: Message::Hello,
        });
        // A version-1 peer: a board or host from before the PEI power guard.
        bytes[0] = 1;
        let n = bytes.len();
        let crc = frame_crc(&bytes[..n - 2]).to_le_bytes();
        bytes[n - 2..].copy_from_slice(&crc);
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::WrongVersion {
                got: 1,
                seq: 0x0203
            })
        );
    }

    /// Builds a frame of our version around an arbitrary body, with a correct CRC.
    fn frame_around(seq: u16, body: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::from([VERSION]);
        bytes.extend_from_slice(&seq.to_le_bytes());
        bytes.extend_from_slice(body);
        let crc = frame_crc(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn bogus_length_prefix_is_a_bad_body() {
        // UpdateChunk (tag 8), offset 0, length 200 but only 3 data bytes follow.
        let bytes = frame_around(9, &[8, 0, 0xC8, 0x01, 1, 2, 3]);
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::BadBody {
                seq: 9,
                reason: BodyError::UnexpectedEnd
            })
        );
        // An offset varint too long for a u32.
        let bytes = frame_around(9, &[8, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0, 0]);
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::BadBody {
                seq: 9,
                reason: BodyError::BadVarint
            })
        );
    }

    #[test]
    fn chunk_over_the_limit_is_a_bad_body() {
        let mut body = Vec::from([8u8, 0, 0x81, 0x02]); // length 257
        body.extend_from_slice(&[0x55; MAX_CHUNK + 1]);
        let bytes = frame_around(3, &body);
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::BadBody {
                seq: 3,
                reason: BodyError::ChunkTooLong { len: 257 }
            })
        );
    }

    #[test]
    fn trailing_body_bytes_are_a_bad_body() {
        let bytes = frame_around(4, &[1, 0xAA, 0xBB, 0xCC]); // Heartbeat + 3 bytes
        assert_eq!(
            FrameRepr::parse_bytes(&bytes),
            Err(LinkError::BadBody {
                seq: 4,
                reason: BodyError::TrailingBytes { count: 3 }
            })
        );
    }

    #[test]
    fn unknown_tags_and_bad_fields_are_named() {
        let unknown = frame_around(1, &[0x7F]);
        assert_eq!(
            FrameRepr::parse_bytes(&unknown),
            Err(LinkError::BadBody {
                seq: 1,
                reason: BodyError::UnknownVariant
            })
        );
        let bad_bool = frame_around(1, &[2, 0, 2]); // SetPtt port 0, keyed = 2
        assert_eq!(
            FrameRepr::parse_bytes(&bad_bool),
            Err(LinkError::BadBody {
                seq: 1,
                reason: BodyError::BadBool
            })
        );
        let bad_port = frame_around(1, &[2, PORTS as u8, 1]);
        assert_eq!(
            FrameRepr::parse_bytes(&bad_port),
            Err(LinkError::BadBody {
                seq: 1,
                reason: BodyError::PortOutOfRange { port: 4 }
            })
        );
    }

    #[test]
    fn emit_refuses_small_buffers_and_invalid_messages() {
        let repr = FrameRepr {
            seq: 1,
            message: Message::GetUpdateStatus,
        };
        let mut buf = [0xa5u8; 6];
        assert_eq!(
            repr.emit(&mut buf[..5]),
            Err(EmitError::BufferTooSmall {
                needed: 6,
                available: 5
            })
        );
        assert_eq!(buf, [0xa5; 6]);
        assert_eq!(repr.emit(&mut buf), Ok(6));
        let long = [0u8; MAX_CHUNK + 1];
        let repr = FrameRepr {
            seq: 1,
            message: Message::UpdateChunk {
                offset: 0,
                data: &long,
            },
        };
        let mut big = [0u8; 600];
        assert_eq!(
            repr.emit(&mut big),
            Err(EmitError::Invalid {
                reason: BodyError::ChunkTooLong { len: MAX_CHUNK + 1 }
            })
        );
    }

    #[test]
    fn largest_messages_fit_the_limits() {
        let data = [0xFFu8; MAX_CHUNK];
        let chunk = FrameRepr {
            seq: u16::MAX,
            message: Message::UpdateChunk {
                offset: u32::MAX,
                data: &data,
            },
        };
        assert_eq!(chunk.buffer_len(), MAX_FRAME_LEN);
        let telemetry = FrameRepr {
            seq: u16::MAX,
            message: Message::Telemetry(Telemetry {
                uptime_s: u32::MAX,
                reset_cause: crate::link::ResetCause::Unknown,
                firmware: FirmwareVersion::new(255, 255, 255),
                slot: Slot::B,
                ptt_seconds: [u32::MAX; PORTS],
                link_errors: u32::MAX,
            }),
        };
        assert!(telemetry.buffer_len() <= MAX_FRAME_LEN);
        let info = FrameRepr {
            seq: 0,
            message: Message::BoardInfo(BoardInfo {
                firmware: FirmwareVersion::new(255, 255, 255),
                slot: Slot::A,
                ports: u8::MAX,
                max_chunk: u16::MAX,
                window: u8::MAX,
                ptt_active_low: crate::link::PortMask::ALL,
                cor_active_low: crate::link::PortMask::ALL,
            }),
        };
        assert!(info.buffer_len() <= MAX_FRAME_LEN);
        assert_eq!(MAX_WIRE_LEN, 272);
    }

    #[test]
    fn every_single_bit_flip_is_caught_by_the_crc() {
        let data: Vec<u8> = (0..40u8).collect();
        let reprs = [
            FrameRepr {
                seq: 0x0102,
                message: Message::Heartbeat,
            },
            FrameRepr {
                seq: 77,
                message: Message::UpdateChunk {
                    offset: 4096,
                    data: &data,
                },
            },
        ];
        for repr in reprs {
            let good = emit_vec(&repr);
            for bit in 0..good.len() * 8 {
                let mut bytes = good.clone();
                bytes[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    matches!(
                        Frame::new_checked(&bytes[..]),
                        Err(LinkError::BadCrc { .. })
                    ),
                    "flip of bit {bit} not caught"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(seq: u16, message in any_message()) {
            let repr = FrameRepr { seq, message };
            let bytes = emit_vec(&repr);
            prop_assert!(bytes.len() <= MAX_FRAME_LEN);
            prop_assert_eq!(FrameRepr::parse_bytes(&bytes), Ok(repr));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = FrameRepr::parse_bytes(&bytes);
        }

        #[test]
        fn arbitrary_bodies_parse_or_fail_cleanly(
            seq: u16,
            body in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let bytes = frame_around(seq, &body);
            match FrameRepr::parse_bytes(&bytes) {
                Ok(repr) => {
                    // Whatever parses emits to something that parses the same (postcard may
                    // accept over-long varints, so the bytes may differ).
                    let again = emit_vec(&repr);
                    prop_assert_eq!(FrameRepr::parse_bytes(&again), Ok(repr));
                }
                Err(LinkError::BadBody { seq: s, .. }) => prop_assert_eq!(s, seq),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
