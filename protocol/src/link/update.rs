//! Firmware update over the link: the image signature and the board's update phase.
//!
//! The host announces an image (size, CRC-32, version), streams it in chunks, asks the board to
//! verify it (CRC-32, then an ed25519 signature against the public key built into the running
//! firmware) and commits it; the board then boots the other slot. The signed message binds the
//! announced version and size to the image, so a genuine old image cannot be relabelled:
//!
//! ```text
//! "BLFW" | major | minor | patch | size (u32 LE) | image bytes                      (legacy)
//! "BLF2" | major | minor | patch | security version (u32 LE) | size (u32 LE) | image bytes
//! ```
//!
//! The second form carries the image's *security version*, which the board compares with the
//! floor it keeps in its boot state to refuse older, possibly vulnerable, releases (a
//! rollback). Its own domain tag keeps the two forms apart: a legacy signature never passes as
//! one over a security version, so a legacy image counts as security version 0.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::telemetry::FirmwareVersion;

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Domain tag at the start of the signed message, so a firmware signature can never be passed
/// off as a signature over anything else made with the same key.
pub const SIGNATURE_DOMAIN: [u8; 4] = *b"BLFW";

/// Length of [`signed_prefix`].
pub const SIGNED_PREFIX_LEN: usize = 11;

/// Domain tag of the signed message that carries a security version ([`signed_prefix_v2`]).
pub const SIGNATURE_DOMAIN_V2: [u8; 4] = *b"BLF2";

/// Length of [`signed_prefix_v2`].
pub const SIGNED_PREFIX_V2_LEN: usize = 15;

/// An ed25519 signature, carried as its two 32-byte halves: the point `R` and the scalar `S`
/// (RFC 8032 §5.1.6).
///
/// Two halves rather than one `[u8; 64]` because serde's derive stops at 32-element arrays; the
/// wire form is the same 64 bytes either way, with no length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// The encoded point `R`, the first 32 bytes.
    pub r: [u8; 32],
    /// The scalar `S`, the last 32 bytes.
    pub s: [u8; 32],
}

impl Signature {
    /// A signature from its 64-byte form `R || S`.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LEN]) -> Self {
        let mut r = [0; 32];
        let mut s = [0; 32];
        let (head, tail) = bytes.split_at(32);
        r.copy_from_slice(head);
        s.copy_from_slice(tail);
        Signature { r, s }
    }

    /// The 64-byte form `R || S`, as ed25519 libraries take it.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0; SIGNATURE_LEN];
        let (head, tail) = out.split_at_mut(32);
        head.copy_from_slice(&self.r);
        tail.copy_from_slice(&self.s);
        out
    }
}

/// The bytes the signed message starts with; the image follows them.
pub fn signed_prefix(version: FirmwareVersion, size: u32) -> [u8; SIGNED_PREFIX_LEN] {
    let [d0, d1, d2, d3] = SIGNATURE_DOMAIN;
    let [s0, s1, s2, s3] = size.to_le_bytes();
    [
        d0,
        d1,
        d2,
        d3,
        version.major,
        version.minor,
        version.patch,
        s0,
        s1,
        s2,
        s3,
    ]
}

/// The bytes the signed message of an image with a security version starts with; the image
/// follows them. The security version is signed, so it cannot be changed without the key.
pub fn signed_prefix_v2(
    version: FirmwareVersion,
    security_version: u32,
    size: u32,
) -> [u8; SIGNED_PREFIX_V2_LEN] {
    let [d0, d1, d2, d3] = SIGNATURE_DOMAIN_V2;
    let [v0, v1, v2, v3] = security_version.to_le_bytes();
    let [s0, s1, s2, s3] = size.to_le_bytes();
    [
        d0,
        d1,
        d2,
        d3,
        version.major,
        version.minor,
        version.patch,
        v0,
        v1,
        v2,
        v3,
        s0,
        s1,
        s2,
        s3,
    ]
}

/// Where the board is in an update.
///
/// Append-only: the position of a variant is its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpdatePhase {
    /// No update under way.
    Idle,
    /// Begun; chunks are being written.
    Receiving,
    /// Every byte is in and the CRC-32 and signature checked out; waiting for commit.
    Verified,
    /// No update under way, but the running image was committed by the last update and has not
    /// yet confirmed itself (it does so when a `Hello` succeeds): the next reset returns to the
    /// previous image, and a new update is refused until it has confirmed.
    Trial,
}

impl fmt::Display for UpdatePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdatePhase::Idle => "idle",
            UpdatePhase::Receiving => "receiving",
            UpdatePhase::Verified => "verified",
            UpdatePhase::Trial => "trial (unconfirmed)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_halves_round_trip() {
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let sig = Signature::from_bytes(&bytes);
        assert_eq!(sig.r[0], 0);
        assert_eq!(sig.r[31], 31);
        assert_eq!(sig.s[0], 32);
        assert_eq!(sig.s[31], 63);
        assert_eq!(sig.to_bytes(), bytes);
    }

    #[test]
    fn signed_prefix_layout() {
        let prefix = signed_prefix(FirmwareVersion::new(1, 2, 3), 0x0000_8000);
        assert_eq!(
            prefix,
            [b'B', b'L', b'F', b'W', 1, 2, 3, 0x00, 0x80, 0x00, 0x00]
        );
        let prefix = signed_prefix_v2(FirmwareVersion::new(1, 2, 3), 0x0102_0304, 0x0000_8000);
        assert_eq!(
            prefix,
            [
                b'B', b'L', b'F', b'2', 1, 2, 3, 0x04, 0x03, 0x02, 0x01, 0x00, 0x80, 0x00, 0x00
            ]
        );
    }
}
