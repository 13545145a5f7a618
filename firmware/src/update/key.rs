//! The ed25519 public key that update images must be signed with, built into the firmware.
//!
//! The key is a constant of the image: a board only ever accepts an update signed by the
//! holder of the private key whose public half was compiled into the firmware it runs. Which
//! key that is gets decided at build time:
//!
//! - `BORDERLINK_FIRMWARE_PUBLIC_KEY=<64 hex digits>` in the build environment (production
//!   builds: the release engineer sets it to the public key printed by
//!   `borderlink firmware keygen`, whose private half never leaves the signing machine);
//! - otherwise the **development key** in `firmware/keys/dev-public-key.hex`, whose private half
//!   `firmware/keys/dev-signing-key.pem` is checked into the repository so anyone can build and
//!   sign test images. A board running a dev-key image accepts updates from anyone with the
//!   repository: never ship one. [`IS_DEV_KEY`] tells the board support code, which can refuse
//!   to build a production image with it.
//!
//! A malformed variable stops the build with a message (the hex is parsed at compile time).

/// The hex of the development public key (the private half is `firmware/keys/dev-signing-key.pem`).
pub const DEV_PUBLIC_KEY_HEX: &str = include_str!("../../keys/dev-public-key.hex");

/// The public key this firmware checks update images against.
pub const FIRMWARE_KEY: VerifyingKey =
    VerifyingKey::from_hex(match option_env!("BORDERLINK_FIRMWARE_PUBLIC_KEY") {
        Some(hex) => hex,
        None => DEV_PUBLIC_KEY_HEX,
    });

/// Whether [`FIRMWARE_KEY`] is the development key.
pub const IS_DEV_KEY: bool = {
    let dev = VerifyingKey::from_hex(DEV_PUBLIC_KEY_HEX).0;
    let key = FIRMWARE_KEY.0;
    let mut same = true;
    let mut i = 0;
    while i < 32 {
        same &= dev[i] == key[i];
        i += 1;
    }
    same
};

/// An ed25519 public key (RFC 8032, 32 bytes), as update images are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyingKey([u8; 32]);

impl VerifyingKey {
    /// A key from its 32-byte encoding. Whether it is a valid curve point is checked when an
    /// image is verified (an invalid key verifies nothing).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        VerifyingKey(bytes)
    }

    /// A key from 64 hex digits (either case, surrounding whitespace ignored), for constants:
    /// anything else panics, which in a `const` stops the build.
    pub const fn from_hex(hex: &str) -> Self {
        match parse_hex(hex.as_bytes()) {
            Some(bytes) => VerifyingKey(bytes),
            None => panic!("an ed25519 public key is 64 hex digits"),
        }
    }

    /// A key from 64 hex digits, `None` if that is not what `hex` holds.
    pub const fn parse_hex(hex: &str) -> Option<Self> {
        match parse_hex(hex.as_bytes()) {
            Some(bytes) => Some(VerifyingKey(bytes)),
            None => None,
        }
    }

    /// The 32-byte encoding.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
}

const fn parse_hex(text: &[u8]) -> Option<[u8; 32]> {
    let mut start = 0;
    let mut end = text.len();
    while start < end && text[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && text[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if end - start != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        let (Some(hi), Some(lo)) = (nibble(text[start + 2 * i]), nibble(text[start + 2 * i + 1]))
        else {
            return None;
        };
        out[i] = hi << 4 | lo;
        i += 1;
    }
    Some(out)
}

const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parses_in_either_case_and_ignores_surrounding_whitespace() {
        let lower = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let key = VerifyingKey::parse_hex(lower).unwrap();
        assert_eq!(key.to_bytes()[..4], [0x00, 0x11, 0x22, 0x33]);
        assert_eq!(key.to_bytes()[31], 0xff);
        let upper = std::format!("  {}\n", lower.to_uppercase());
        assert_eq!(VerifyingKey::parse_hex(&upper), Some(key));
    }

    #[test]
    fn wrong_lengths_and_digits_are_refused() {
        let good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert_eq!(VerifyingKey::parse_hex(&good[..62]), None);
        assert_eq!(VerifyingKey::parse_hex(&std::format!("{good}00")), None);
        assert_eq!(VerifyingKey::parse_hex(&good.replace('a', "g")), None);
        assert_eq!(VerifyingKey::parse_hex(""), None);
    }

    #[test]
    fn the_built_in_key_is_the_variable_or_else_the_dev_key() {
        let dev = VerifyingKey::parse_hex(DEV_PUBLIC_KEY_HEX).unwrap();
        let expected = option_env!("BORDERLINK_FIRMWARE_PUBLIC_KEY")
            .map_or(dev, |hex| VerifyingKey::parse_hex(hex).unwrap());
        assert_eq!(FIRMWARE_KEY, expected);
        assert_eq!(IS_DEV_KEY, expected == dev);
    }
}
