//! Why a board-link frame was rejected, or could not be built.
//!
//! Receiving has one error type, [`LinkError`], with a variant per layer that can fail
//! (framing, length, CRC, version, body); a receiver counts them by variant and, where the
//! frame's sequence number survived, answers with a precise nack. Sending has its own,
//! [`EmitError`].

use core::fmt;

use serde::Serialize;

/// Why a received frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LinkError {
    /// The decoded frame is too short to hold the header and the CRC.
    Truncated {
        /// Decoded length in bytes.
        len: usize,
    },
    /// No 0x00 delimiter arrived within the decoder's buffer (or the caller's scratch buffer).
    /// A stream decoder reports this once and drops everything up to the next 0x00.
    Overlong {
        /// The buffer size, in decoded bytes, that was exceeded.
        limit: usize,
    },
    /// The COBS encoding is broken: a block ended early (a 0x00, or the end of the input, came
    /// before the block's length byte said it would).
    BadCobs {
        /// Offset of that byte, counted from the frame's first encoded byte (for
        /// [`crate::link::decode_wire`], from the start of the input).
        offset: usize,
    },
    /// The CRC in the frame does not match its contents.
    BadCrc {
        /// CRC computed over the received version, sequence number and body.
        computed: u16,
        /// CRC carried in the frame.
        received: u16,
    },
    /// The frame is intact but of a protocol version this side does not speak.
    WrongVersion {
        /// The version byte received.
        got: u8,
        /// The frame's sequence number, so the receiver can nack it.
        seq: u16,
    },
    /// The frame is intact and of our version, but its body is not a valid message.
    BadBody {
        /// The frame's sequence number, so the receiver can nack it.
        seq: u16,
        /// What is wrong with the body.
        reason: BodyError,
    },
    /// [`crate::link::decode_wire`] was given bytes after the frame's 0x00 delimiter.
    AfterDelimiter {
        /// Offset in the input of the first byte after the delimiter.
        offset: usize,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Truncated { len } => {
                write!(
                    f,
                    "frame of {len} bytes is shorter than header and CRC (5 bytes)"
                )
            }
            LinkError::Overlong { limit } => {
                write!(f, "no frame delimiter within {limit} decoded bytes")
            }
            LinkError::BadCobs { offset } => {
                write!(f, "bad COBS encoding: block cut short at offset {offset}")
            }
            LinkError::BadCrc { computed, received } => {
                write!(
                    f,
                    "CRC mismatch: frame carries {received:#06x}, contents give {computed:#06x}"
                )
            }
            LinkError::WrongVersion { got, seq } => write!(
                f,
                "frame {seq} is link protocol version {got}, this side speaks {}",
                super::VERSION
            ),
            LinkError::BadBody { seq, reason } => write!(f, "frame {seq}: bad body: {reason}"),
            LinkError::AfterDelimiter { offset } => {
                write!(f, "bytes after the frame delimiter, at offset {offset}")
            }
        }
    }
}

impl core::error::Error for LinkError {}

/// Why a frame body is not a valid message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BodyError {
    /// The body ended inside a field: cut short, or a length prefix claims more bytes than
    /// are left.
    UnexpectedEnd,
    /// A variable-length integer is longer than its type allows.
    BadVarint,
    /// A boolean byte other than 0 or 1.
    BadBool,
    /// A message or enum tag this version does not define.
    UnknownVariant,
    /// Some other encoding error reported by the deserializer.
    Malformed,
    /// The message ended before the body did.
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A port number beyond [`crate::link::PORTS`].
    PortOutOfRange {
        /// The number received.
        port: u8,
    },
    /// A port mask with bits beyond [`crate::link::PORTS`].
    PortMaskOutOfRange {
        /// The mask received.
        mask: u8,
    },
    /// An update chunk longer than [`crate::link::MAX_CHUNK`].
    ChunkTooLong {
        /// Its length.
        len: usize,
    },
}

impl BodyError {
    pub(crate) fn from_postcard(err: postcard::Error) -> Self {
        match err {
            postcard::Error::DeserializeUnexpectedEnd => BodyError::UnexpectedEnd,
            postcard::Error::DeserializeBadVarint => BodyError::BadVarint,
            postcard::Error::DeserializeBadBool => BodyError::BadBool,
            // Serde's derived enum visitors reject an unknown variant index with a custom
            // error, and nothing else in our message types raises one.
            postcard::Error::DeserializeBadEnum | postcard::Error::SerdeDeCustom => {
                BodyError::UnknownVariant
            }
            _ => BodyError::Malformed,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::UnexpectedEnd => f.write_str("body ends inside a field"),
            BodyError::BadVarint => f.write_str("variable-length integer too long"),
            BodyError::BadBool => f.write_str("boolean byte other than 0 or 1"),
            BodyError::UnknownVariant => f.write_str("unknown message or enum tag"),
            BodyError::Malformed => f.write_str("malformed body"),
            BodyError::TrailingBytes { count } => {
                write!(f, "{count} bytes left after the message")
            }
            BodyError::PortOutOfRange { port } => {
                write!(f, "port {port} out of range (board has {})", super::PORTS)
            }
            BodyError::PortMaskOutOfRange { mask } => {
                write!(
                    f,
                    "port mask {mask:#04x} names ports beyond {}",
                    super::PORTS
                )
            }
            BodyError::ChunkTooLong { len } => {
                write!(
                    f,
                    "update chunk of {len} bytes exceeds {}",
                    super::MAX_CHUNK
                )
            }
        }
    }
}

impl core::error::Error for BodyError {}

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EmitError {
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The message breaks a rule the receiver enforces, so sending it would only earn a nack.
    Invalid {
        /// The rule broken.
        reason: BodyError,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall { needed, available } => {
                write!(f, "frame needs {needed} bytes, buffer has {available}")
            }
            EmitError::Invalid { reason } => write!(f, "invalid message: {reason}"),
        }
    }
}

impl core::error::Error for EmitError {}
