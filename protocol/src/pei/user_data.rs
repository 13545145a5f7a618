//! SDS user data as it crosses the PEI: a length in bits and the bits as hex digits.
//!
//! EN 300 392-5 carries the user data of `+CTSDSR` and `AT+CMGS` as upper-case hex on a line
//! of its own. Radios disagree on how many digits a length that is not a whole number of bytes
//! takes: SvxLink's TetraLogic records a Motorola radio sending 22 digits for 84 bits (padded
//! to whole bytes) and a Sepura radio sending 21 (the exact number of nibbles). Both are
//! accepted; borderlink always writes whole bytes, upper case.

use core::fmt;

use serde::{Serialize, Serializer};

use super::error::SdsDataFault;

/// Longest SDS user data, in bits (SDS type 4, EN 300 392-2 §14.8.52).
pub const MAX_USER_DATA_BITS: u16 = 2047;

/// Longest SDS user data, in bytes.
pub const MAX_USER_DATA_BYTES: usize = (MAX_USER_DATA_BITS as usize).div_ceil(8);

/// Bytes needed for `bits` bits.
pub(crate) const fn bytes_for(bits: u16) -> usize {
    (bits as usize).div_ceil(8)
}

/// SDS user data: whole bytes, the last one padded when the length is not a multiple of 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserData<'a>(pub &'a [u8]);

impl UserData<'_> {
    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8] {
        self.0
    }
}

impl fmt::Display for UserData<'_> {
    /// Upper-case hex, two digits a byte, as the PEI carries it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl Serialize for UserData<'_> {
    /// A hex string, the form an operator compares with a radio trace.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes the hex data line of an SDS of `bits` bits into `out`, returning the byte count.
///
/// `out` must hold [`MAX_USER_DATA_BYTES`]; callers check `bits` against
/// [`MAX_USER_DATA_BITS`] first.
pub(crate) fn decode_hex(line: &[u8], bits: u16, out: &mut [u8]) -> Result<usize, SdsDataFault> {
    if let Some(offset) = line.iter().position(|&c| nibble(c).is_none()) {
        return Err(SdsDataFault::NotHex { offset });
    }
    let digits = line.len();
    let nibbles = (bits as usize).div_ceil(4);
    let whole = bytes_for(bits).saturating_mul(2);
    if digits % 2 == 1 && digits != nibbles {
        return Err(SdsDataFault::OddDigits { digits });
    }
    if digits < nibbles {
        return Err(SdsDataFault::TooShort { digits, bits });
    }
    if digits > whole {
        return Err(SdsDataFault::TooLong { digits, bits });
    }
    let len = bytes_for(bits);
    let dst = out
        .get_mut(..len)
        .ok_or(SdsDataFault::TooLong { digits, bits })?;
    for (i, byte) in dst.iter_mut().enumerate() {
        let hi = line.get(2 * i).copied().and_then(nibble).unwrap_or(0);
        // The nibble-exact form leaves the last low nibble out: it is padding, read as 0.
        let lo = line.get(2 * i + 1).copied().and_then(nibble).unwrap_or(0);
        *byte = (hi << 4) | lo;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn decode(line: &str, bits: u16) -> Result<std::vec::Vec<u8>, SdsDataFault> {
        let mut out = [0xa5u8; MAX_USER_DATA_BYTES];
        let n = decode_hex(line.as_bytes(), bits, &mut out)?;
        Ok(out[..n].to_vec())
    }

    #[test]
    fn whole_bytes_decode_either_case() {
        assert_eq!(
            decode("82040801", 32),
            Ok(std::vec![0x82, 0x04, 0x08, 0x01])
        );
        assert_eq!(decode("0a0b", 16), Ok(std::vec![0x0a, 0x0b]));
    }

    #[test]
    fn both_forms_of_a_part_byte_length_decode_alike() {
        // 84 bits: 22 digits (whole bytes) or 21 (exact nibbles), as two radio makes send it.
        let padded = decode("0A112853A9FF4D4FFFE810", 84).unwrap();
        let exact = decode("0A112853A9FF4D4FFFE81", 84).unwrap();
        assert_eq!(padded, exact);
        assert_eq!(padded.len(), 11);
        assert_eq!(padded[10], 0x10);
    }

    #[test]
    fn faults_are_named() {
        assert_eq!(
            decode("8204G801", 32),
            Err(SdsDataFault::NotHex { offset: 4 })
        );
        assert_eq!(
            decode("8204 801", 32),
            Err(SdsDataFault::NotHex { offset: 4 })
        );
        assert_eq!(
            decode("8204080", 32),
            Err(SdsDataFault::OddDigits { digits: 7 })
        );
        assert_eq!(
            decode("820408010", 32),
            Err(SdsDataFault::OddDigits { digits: 9 })
        );
        assert_eq!(
            decode("820408", 32),
            Err(SdsDataFault::TooShort {
                digits: 6,
                bits: 32
            })
        );
        assert_eq!(
            decode("8204080100", 32),
            Err(SdsDataFault::TooLong {
                digits: 10,
                bits: 32
            })
        );
        assert_eq!(
            decode("0A112853A9FF4D4FFFE8", 84),
            Err(SdsDataFault::TooShort {
                digits: 20,
                bits: 84
            })
        );
    }

    #[test]
    fn serializes_as_a_hex_string() {
        let mut buf = [0xa5u8; 8];
        let out = postcard::to_slice(&UserData(&[0x0a, 0xff]), &mut buf).unwrap();
        assert_eq!(out, &[4, b'0', b'A', b'F', b'F']);
    }

    #[test]
    fn prints_upper_case_hex() {
        assert_eq!(UserData(&[0x0a, 0xff, 0x00]).to_string(), "0AFF00");
        assert_eq!(MAX_USER_DATA_BYTES, 256);
    }
}
