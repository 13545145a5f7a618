//! What `borderlink decode` prints: each captured item turned into lines a person reads and a
//! JSON value a script reads, or an error that says what is wrong and where.

mod hex;
mod link;
mod lip;
mod pei;
mod rtp;
mod sds;

use serde_json::Value;
use thiserror::Error;

pub use hex::{parse_hex, parse_nibbles};
pub use pei::{PeiLine, decode_transcript};

/// One decoded item, in both renderings.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Human-readable lines, without a trailing newline.
    pub text: String,
    /// The same content for scripts.
    pub json: Value,
}

/// Why an item could not be decoded; the message names the offset or line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The hex text itself is malformed.
    #[error("bad hex at character {offset}: {what}")]
    Hex {
        /// Character offset in the text as given.
        offset: usize,
        /// What was found.
        what: &'static str,
    },
    /// The bytes are not a valid borderlink voice packet.
    #[error("invalid RTP voice packet: {0}")]
    Rtp(String),
    /// The bytes are not a valid board-link frame.
    #[error("invalid board-link frame: {0}")]
    Link(String),
    /// The bytes are not a LIP PDU this decoder reads.
    #[error("invalid LIP report: {0}")]
    Lip(String),
    /// The bytes are not valid SDS user data.
    #[error("invalid short data: {0}")]
    Sds(String),
    /// Serialising the result failed (a bug, reported rather than hidden).
    #[error("internal error rendering JSON: {0}")]
    Json(String),
}

/// Decodes an RTP voice packet given as hex text.
pub fn rtp_hex(text: &str) -> Result<Decoded, DecodeError> {
    rtp::decode(&parse_hex(text)?)
}

/// Decodes a LIP PDU given as hex text, an odd number of digits allowed (the last one a high
/// half); `bits` defaults to the digits × 4.
pub fn lip_hex(text: &str, bits: Option<u16>) -> Result<Decoded, DecodeError> {
    let (bytes, digits) = parse_nibbles(text)?;
    lip::decode(&bytes, digits, bits)
}

/// Decodes SDS user data (status, LIP, text, SDS-TL reports...) given as hex text; `bits`
/// defaults to all of them, `kind` to a guess from the length.
pub fn sds_hex(
    text: &str,
    bits: Option<u16>,
    kind: Option<borderlink_protocol::sds::SdsKind>,
) -> Result<Decoded, DecodeError> {
    sds::decode(&parse_hex(text)?, bits, kind)
}

/// Decodes one board-link frame (COBS bytes, optionally with the 0x00) given as hex text.
pub fn link_hex(text: &str) -> Result<Decoded, DecodeError> {
    link::decode(&parse_hex(text)?)
}
