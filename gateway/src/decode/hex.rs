//! Hex text as engineers paste it: from Wireshark ("copy as hex stream"), from a serial
//! logger (`0a 1b 2c`), or with colons (`0a:1b:2c`).

use super::DecodeError;

/// Decodes hex digits, ignoring whitespace, `:` and `-` separators and a leading `0x`.
///
/// Errors name the character offset in the text as given, so a user can find the typo.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let (bytes, digits) = parse_nibbles(text)?;
    if digits % 2 == 1 {
        return Err(DecodeError::Hex {
            offset: text.len(),
            what: "an odd number of hex digits",
        });
    }
    Ok(bytes)
}

/// Like [`parse_hex`], but an odd number of digits is allowed: the last digit is the high half
/// of a last byte whose low half is zero, as in the nibble-exact form some radios give a bit
/// length that is not a whole number of bytes. Returns the bytes and the number of digits.
pub fn parse_nibbles(text: &str) -> Result<(Vec<u8>, usize), DecodeError> {
    let body = text.trim_start();
    let skipped = text.len() - body.len();
    let (body, skipped) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(rest) => (rest, skipped + 2),
        None => (body, skipped),
    };
    let mut out = Vec::with_capacity(body.len() / 2);
    let mut high: Option<u8> = None;
    for (i, c) in body.char_indices() {
        if c.is_whitespace() || c == ':' || c == '-' {
            if high.is_some() {
                return Err(DecodeError::Hex {
                    offset: skipped + i,
                    what: "a byte split by a separator",
                });
            }
            continue;
        }
        let Some(nibble) = c.to_digit(16) else {
            return Err(DecodeError::Hex {
                offset: skipped + i,
                what: "a character that is not a hex digit",
            });
        };
        match high.take() {
            None => high = Some(nibble as u8),
            Some(h) => out.push((h << 4) | nibble as u8),
        }
    }
    let mut digits = out.len() * 2;
    if let Some(h) = high {
        out.push(h << 4);
        digits += 1;
    }
    if out.is_empty() {
        return Err(DecodeError::Hex {
            offset: 0,
            what: "no hex digits",
        });
    }
    Ok((out, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_separators() {
        assert_eq!(parse_hex("0a1B2c").unwrap(), [0x0a, 0x1b, 0x2c]);
        assert_eq!(parse_hex(" 0x0a 1b\n2c ").unwrap(), [0x0a, 0x1b, 0x2c]);
        assert_eq!(parse_hex("0a:1b-2c").unwrap(), [0x0a, 0x1b, 0x2c]);
    }

    #[test]
    fn names_the_offset_of_a_bad_character() {
        assert_eq!(
            parse_hex("0a1g").unwrap_err(),
            DecodeError::Hex {
                offset: 3,
                what: "a character that is not a hex digit"
            }
        );
        assert_eq!(
            parse_hex("  0x0a1").unwrap_err(),
            DecodeError::Hex {
                offset: 7,
                what: "an odd number of hex digits"
            }
        );
        assert_eq!(
            parse_hex("0 a").unwrap_err(),
            DecodeError::Hex {
                offset: 1,
                what: "a byte split by a separator"
            }
        );
        assert!(parse_hex("").is_err());
    }

    #[test]
    fn nibbles_allow_an_odd_digit_as_a_high_half() {
        assert_eq!(parse_nibbles("0a1").unwrap(), (vec![0x0a, 0x10], 3));
        assert_eq!(parse_nibbles("0a 1b").unwrap(), (vec![0x0a, 0x1b], 4));
        assert!(parse_nibbles(" ").is_err());
    }
}
