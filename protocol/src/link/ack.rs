//! The board's answer to a command: done, or refused with the precise reason.
//!
//! Every host command gets exactly one [`crate::link::Message::Ack`] naming the command's
//! sequence number. A nack is final for that sequence number: the host fixes what the reason
//! says and, if it still wants the effect, sends a *new* command with a new sequence number.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::error::BodyError;

/// The outcome of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AckResult {
    /// The command was carried out.
    Ok,
    /// The command was refused; nothing changed.
    Nack(NackReason),
}

/// Why the board refused a command.
///
/// Append-only: the position of a variant is its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NackReason {
    /// The frame was intact but its body did not parse.
    Malformed,
    /// The frame was of a protocol version the board does not speak. (The nack itself is framed
    /// in the board's version, so the host sees it as a wrong-version frame and learns the
    /// board's version from its header.)
    UnsupportedVersion {
        /// The version the board speaks.
        supported: u8,
    },
    /// The message is one the board sends, not one it obeys.
    NotACommand,
    /// The board has not had a [`crate::link::Message::Hello`] since it reset.
    NoSession,
    /// The board has no such port.
    NoSuchPort {
        /// The port number received.
        port: u8,
    },
    /// The port's radio is powered off, so it cannot be keyed.
    PoweredOff,
    /// The port hit the board's transmit cap and is in its cool-down.
    TxCapLockout,
    /// Too soon after the last power cycle of this port.
    RateLimited {
        /// Seconds until a power cycle will be accepted.
        retry_after_s: u16,
    },
    /// Refused for safety while something else is under way (a PTT keyed when an update is
    /// asked for, or a power cycle already running).
    Busy,
    /// An update is in progress: keying and a second update begin are refused until it is
    /// committed or aborted.
    UpdateInProgress,
    /// An update command came with no update begun.
    NoUpdate,
    /// The announced image does not fit the update slot.
    ImageTooLarge {
        /// The slot size in bytes.
        max: u32,
    },
    /// A chunk did not continue where the image ends so far; resend from `expected`.
    OutOfOrder {
        /// The offset the board expects next.
        expected: u32,
    },
    /// A chunk reaches past the announced image size.
    ChunkOutOfBounds,
    /// An update chunk longer than the board accepts.
    ChunkTooLong,
    /// Verify came before the whole image did.
    Incomplete {
        /// Bytes received so far.
        received: u32,
    },
    /// The image's CRC-32 does not match the one announced.
    CrcMismatch {
        /// The CRC-32 the board computed over what it received.
        computed: u32,
    },
    /// The image's ed25519 signature does not verify against the board's key.
    BadSignature,
    /// Commit came before a successful verify.
    NotVerified,
    /// Erasing or programming flash failed.
    Flash,
    /// The announced image's security version is below the board's floor (the highest one it
    /// has confirmed): an older, possibly vulnerable release, refused as a rollback unless the
    /// begin carried the engineer's explicit override.
    Rollback {
        /// The board's floor: the lowest security version it takes.
        floor: u32,
    },
}

impl From<BodyError> for NackReason {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::PortOutOfRange { port } => NackReason::NoSuchPort { port },
            BodyError::ChunkTooLong { .. } => NackReason::ChunkTooLong,
            _ => NackReason::Malformed,
        }
    }
}

impl fmt::Display for NackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NackReason::Malformed => f.write_str("malformed body"),
            NackReason::UnsupportedVersion { supported } => {
                write!(f, "unsupported protocol version (board speaks {supported})")
            }
            NackReason::NotACommand => f.write_str("not a command"),
            NackReason::NoSession => f.write_str("no session: send Hello first"),
            NackReason::NoSuchPort { port } => write!(f, "no port {port}"),
            NackReason::PoweredOff => f.write_str("radio powered off"),
            NackReason::TxCapLockout => f.write_str("transmit cap reached, port cooling down"),
            NackReason::RateLimited { retry_after_s } => {
                write!(f, "rate limited, retry in {retry_after_s} s")
            }
            NackReason::Busy => f.write_str("busy"),
            NackReason::UpdateInProgress => f.write_str("firmware update in progress"),
            NackReason::NoUpdate => f.write_str("no firmware update begun"),
            NackReason::ImageTooLarge { max } => write!(f, "image larger than slot ({max} bytes)"),
            NackReason::OutOfOrder { expected } => {
                write!(f, "chunk out of order, expected offset {expected}")
            }
            NackReason::ChunkOutOfBounds => f.write_str("chunk reaches past the image size"),
            NackReason::ChunkTooLong => f.write_str("chunk too long"),
            NackReason::Incomplete { received } => {
                write!(f, "image incomplete, {received} bytes received")
            }
            NackReason::CrcMismatch { computed } => {
                write!(f, "image CRC-32 mismatch (computed {computed:#010x})")
            }
            NackReason::BadSignature => f.write_str("bad image signature"),
            NackReason::NotVerified => f.write_str("image not verified"),
            NackReason::Rollback { floor } => write!(
                f,
                "rollback refused: the image's security version is below the board's floor {floor}"
            ),
            NackReason::Flash => f.write_str("flash error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_map_to_precise_nacks() {
        assert_eq!(
            NackReason::from(BodyError::PortOutOfRange { port: 9 }),
            NackReason::NoSuchPort { port: 9 }
        );
        assert_eq!(
            NackReason::from(BodyError::ChunkTooLong { len: 300 }),
            NackReason::ChunkTooLong
        );
        assert_eq!(NackReason::from(BodyError::BadBool), NackReason::Malformed);
    }
}
