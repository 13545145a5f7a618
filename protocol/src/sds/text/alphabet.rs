//! Text coding schemes (ETSI EN 300 392-2 §29.5.4.1, table 29.29) and their rendering to
//! Unicode, one `char` at a time so no allocation is needed.
//!
//! | value | coding                          | unit          |
//! |-------|---------------------------------|---------------|
//! | 0     | GSM 7-bit default alphabet      | 7 bits        |
//! | 1–10  | ISO/IEC 8859-1 … 8859-10        | 8 bits        |
//! | 11    | ISO/IEC 8859-13 (Latin 7)       | 8 bits        |
//! | 12    | ISO/IEC 8859-14 (Latin 8)       | 8 bits        |
//! | 13    | ISO/IEC 8859-15 (Latin 9)       | 8 bits        |
//! | 14–25 | code pages 437, 737, 850, 852, 855, 857, 860, 861, 863, 865, 866, 869 | 8 bits |
//! | 26    | ISO/IEC 10646 UCS-2, big-endian | 16 bits       |
//! | 27    | VISCII (RFC 1456)               | 8 bits        |
//! | 28–127| reserved                        | refused       |
//!
//! GSM septets are read as consecutive 7-bit fields, MSB first, like every other SDS field (not
//! the LSB-first octet packing of GSM SMS). The ISO 8859 parts keep 0x00–0x9F as ASCII and the
//! C1 controls and look the rest up in 96-entry tables; the code pages and VISCII use 128-entry
//! tables for 0x80–0xFF (generated from the published mappings, see `tables.rs`). Positions a
//! coding leaves undefined, and lone UCS-2 surrogates, are shown as U+FFFD.

use core::fmt;

use serde::Serialize;

use super::gsm7;
use super::tables;
use crate::sds::SdsError;
use crate::sds::bits::{BitReader, Bits};

/// A 7-bit text coding scheme, any value; [`TextCoding::alphabet`] says whether it is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TextCoding(u8);

/// A defined text coding, as the renderer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// The GSM 7-bit default alphabet with its extension table.
    Gsm7,
    /// An ISO/IEC 8859 part (1–10, 13–15).
    Iso8859(u8),
    /// An IBM/Microsoft code page.
    CodePage(u16),
    /// UCS-2, big-endian.
    Ucs2,
    /// VISCII, the Vietnamese 8-bit coding.
    Viscii,
}

impl TextCoding {
    /// The GSM 7-bit default alphabet.
    pub const GSM_7BIT: TextCoding = TextCoding(0);
    /// ISO/IEC 8859-1, Latin-1.
    pub const LATIN_1: TextCoding = TextCoding(1);
    /// ISO/IEC 8859-15, Latin-9 (Latin-1 with the euro sign).
    pub const LATIN_9: TextCoding = TextCoding(13);
    /// ISO/IEC 10646 UCS-2, 16 bits per character, big-endian.
    pub const UCS2: TextCoding = TextCoding(0x1a);
    /// VISCII.
    pub const VISCII: TextCoding = TextCoding(27);

    /// A coding scheme, or `None` above 7 bits.
    pub const fn new(value: u8) -> Option<Self> {
        if value < 0x80 {
            Some(TextCoding(value))
        } else {
            None
        }
    }

    /// A coding scheme from a 7-bit field (the top bit ignored).
    pub(crate) const fn from_field(value: u8) -> Self {
        TextCoding(value & 0x7f)
    }

    /// The 7-bit value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The coding's alphabet, or [`SdsError::UndefinedTextCoding`] for a reserved value.
    pub const fn alphabet(self) -> Result<Alphabet, SdsError> {
        const CODE_PAGES: [u16; 12] = [437, 737, 850, 852, 855, 857, 860, 861, 863, 865, 866, 869];
        Ok(match self.0 {
            0 => Alphabet::Gsm7,
            v @ 1..=10 => Alphabet::Iso8859(v),
            v @ 11..=13 => Alphabet::Iso8859(v + 2),
            v @ 14..=25 => Alphabet::CodePage(CODE_PAGES[(v - 14) as usize]),
            26 => Alphabet::Ucs2,
            27 => Alphabet::Viscii,
            coding => return Err(SdsError::UndefinedTextCoding { coding }),
        })
    }

    /// Bits per character unit: 7, 8 or 16; 8 for a reserved coding.
    pub const fn unit_bits(self) -> u8 {
        match self.0 {
            0 => 7,
            26 => 16,
            _ => 8,
        }
    }
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alphabet::Gsm7 => f.write_str("GSM 7-bit"),
            Alphabet::Iso8859(1) => f.write_str("Latin-1"),
            Alphabet::Iso8859(part) => write!(f, "ISO 8859-{part}"),
            Alphabet::CodePage(page) => write!(f, "code page {page}"),
            Alphabet::Ucs2 => f.write_str("UCS-2"),
            Alphabet::Viscii => f.write_str("VISCII"),
        }
    }
}

impl fmt::Display for TextCoding {
    /// The alphabet's name, or `reserved coding 42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.alphabet() {
            Ok(a) => a.fmt(f),
            Err(_) => write!(f, "reserved coding {}", self.0),
        }
    }
}

/// Iterator over the characters of a text in a defined coding; see
/// [`TextMessage::chars`](super::TextMessage::chars). Whole character units only: a trailing
/// partial unit is dropped. Never fails once made.
#[derive(Debug, Clone)]
pub struct TextChars<'a> {
    reader: BitReader<'a>,
    alphabet: Alphabet,
}

impl<'a> TextChars<'a> {
    /// The characters of `text` in `coding`, or [`SdsError::UndefinedTextCoding`].
    pub fn new(coding: TextCoding, text: Bits<'a>) -> Result<Self, SdsError> {
        Ok(TextChars {
            reader: text.reader(),
            alphabet: coding.alphabet()?,
        })
    }
}

impl Iterator for TextChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self.alphabet {
            Alphabet::Gsm7 => {
                let septet = self.reader.read_u8(7).ok()?;
                if septet == gsm7::ESCAPE {
                    // An escape with nothing after it is dropped like any partial unit.
                    return self.reader.read_u8(7).ok().map(gsm7::extension);
                }
                gsm7::DEFAULT.get(usize::from(septet)).copied()
            }
            Alphabet::Ucs2 => {
                let unit = self.reader.read(16).ok()?;
                // Lone surrogates have no char; show the replacement character instead.
                Some(char::from_u32(unit).unwrap_or('\u{fffd}'))
            }
            Alphabet::Iso8859(part) => {
                let b = self.reader.read_u8(8).ok()?;
                Some(iso8859(part, b))
            }
            Alphabet::CodePage(page) => {
                let b = self.reader.read_u8(8).ok()?;
                Some(code_page(page, b))
            }
            Alphabet::Viscii => {
                let b = self.reader.read_u8(8).ok()?;
                Some(viscii(b))
            }
        }
    }
}

fn scalar(v: u16) -> char {
    char::from_u32(u32::from(v)).unwrap_or('\u{fffd}')
}

fn iso8859(part: u8, b: u8) -> char {
    let table: &[u16; 96] = match part {
        // Latin-1 is Unicode's first 256 code points.
        1 => return char::from(b),
        2 => &tables::ISO_8859_2,
        3 => &tables::ISO_8859_3,
        4 => &tables::ISO_8859_4,
        5 => &tables::ISO_8859_5,
        6 => &tables::ISO_8859_6,
        7 => &tables::ISO_8859_7,
        8 => &tables::ISO_8859_8,
        9 => &tables::ISO_8859_9,
        10 => &tables::ISO_8859_10,
        13 => &tables::ISO_8859_13,
        14 => &tables::ISO_8859_14,
        15 => &tables::ISO_8859_15,
        _ => return '\u{fffd}',
    };
    match b.checked_sub(0xa0) {
        Some(i) => table.get(usize::from(i)).map_or('\u{fffd}', |&v| scalar(v)),
        // Every part shares ASCII and the C1 controls below 0xA0.
        None => char::from(b),
    }
}

fn code_page(page: u16, b: u8) -> char {
    let table: &[u16; 128] = match page {
        437 => &tables::CP437,
        737 => &tables::CP737,
        850 => &tables::CP850,
        852 => &tables::CP852,
        855 => &tables::CP855,
        857 => &tables::CP857,
        860 => &tables::CP860,
        861 => &tables::CP861,
        863 => &tables::CP863,
        865 => &tables::CP865,
        866 => &tables::CP866,
        869 => &tables::CP869,
        _ => return '\u{fffd}',
    };
    high(table, b)
}

fn viscii(b: u8) -> char {
    if let Some(&(_, v)) = tables::VISCII_C0.iter().find(|(at, _)| *at == b) {
        return scalar(v);
    }
    high(&tables::VISCII_HIGH, b)
}

/// ASCII below 0x80, the table above.
fn high(table: &[u16; 128], b: u8) -> char {
    match b.checked_sub(0x80) {
        Some(i) => table.get(usize::from(i)).map_or('\u{fffd}', |&v| scalar(v)),
        None => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};

    fn render(coding: u8, bytes: &[u8]) -> String {
        TextChars::new(
            TextCoding::new(coding).unwrap(),
            Bits::from_bytes(bytes).unwrap(),
        )
        .unwrap()
        .collect()
    }

    #[test]
    fn every_defined_coding_has_a_name_and_an_alphabet() {
        for v in 0..=27u8 {
            let c = TextCoding::new(v).unwrap();
            assert!(c.alphabet().is_ok(), "coding {v}");
            assert!(!c.to_string().starts_with("reserved"), "coding {v}");
        }
        assert_eq!(TextCoding::new(11).unwrap().to_string(), "ISO 8859-13");
        assert_eq!(TextCoding::new(14).unwrap().to_string(), "code page 437");
        assert_eq!(TextCoding::new(25).unwrap().to_string(), "code page 869");
        assert_eq!(TextCoding::UCS2.to_string(), "UCS-2");
    }

    #[test]
    fn reserved_codings_are_refused_by_number() {
        for v in [28u8, 64, 127] {
            let c = TextCoding::new(v).unwrap();
            assert_eq!(
                c.alphabet(),
                Err(SdsError::UndefinedTextCoding { coding: v })
            );
            assert_eq!(c.to_string(), std::format!("reserved coding {v}"));
            assert!(TextChars::new(c, Bits::EMPTY).is_err());
        }
        assert_eq!(TextCoding::new(0x80), None);
    }

    // Byte-exact vectors: each character taken from the coding's published table.

    #[test]
    fn latin2_renders_central_european_letters() {
        // 0xA3 Ł, 0xB1 ą, 0xE6 ć, 0xF8 ř; 0xB9 is š (Latin-1 has ¹ there)
        assert_eq!(render(2, &[0xa3, 0xb1, 0xe6, 0xf8, 0xb9]), "Łąćřš");
    }

    #[test]
    fn cyrillic_greek_and_hebrew_parts() {
        // 8859-5: 0xB0 А, 0xEF я; 8859-7: 0xC1 Α, 0xF9 ω; 8859-8: 0xE0 א
        assert_eq!(render(5, &[0xb0, 0xef]), "Ая");
        assert_eq!(render(7, &[0xc1, 0xf9]), "Αω");
        assert_eq!(render(8, &[0xe0]), "א");
    }

    #[test]
    fn latin9_has_the_euro_where_latin1_has_the_currency_sign() {
        assert_eq!(render(13, &[0xa4, b'5']), "€5");
        assert_eq!(render(1, &[0xa4, b'5']), "¤5");
        // 8859-13 (coding 11): 0xD0 Š; 8859-14 (coding 12): 0xA1 Ḃ
        assert_eq!(render(11, &[0xd0]), "Š");
        assert_eq!(render(12, &[0xa1]), "Ḃ");
    }

    #[test]
    fn undefined_positions_show_the_replacement_character() {
        // ISO 8859-3 leaves 0xA5 unassigned; 8859-8 leaves 0xA1.
        assert_eq!(render(3, &[0xa5, b'x']), "\u{fffd}x");
        assert_eq!(render(8, &[0xa1]), "\u{fffd}");
    }

    #[test]
    fn code_pages_render_their_upper_halves() {
        // CP437: 0x81 ü, 0xC9 ╔; CP850: 0x9C £, 0xD5 ı; CP866: 0x80 А; CP737: 0x80 Α
        assert_eq!(render(14, &[0x81, 0xc9]), "ü╔");
        assert_eq!(render(16, &[0x9c, 0xd5]), "£ı");
        assert_eq!(render(24, &[0x80]), "А");
        assert_eq!(render(15, &[0x80]), "Α");
        assert_eq!(render(14, b"OK"), "OK");
    }

    #[test]
    fn viscii_uses_six_c0_positions_for_letters() {
        // RFC 1456: 0x02 Ẳ, 0x80 Ạ, 0xE0 à
        assert_eq!(render(27, &[0x02, 0x80, 0xe0]), "ẲẠà");
    }

    #[test]
    fn gsm7_reads_msb_first_septets_and_the_extension_table() {
        // "Hi" = 0x48 0x69 as septets 1001000 1101001, then ESC (0011011) + 0x65 (1100101) = €.
        // 1001000 1101001 0011011 1100101 -> 10010001 10100100 11011110 0101xxxx
        let bits = Bits::new(&[0x91, 0xa4, 0xde, 0x50], 28).unwrap();
        let s: String = TextChars::new(TextCoding::GSM_7BIT, bits)
            .unwrap()
            .collect();
        assert_eq!(s, "Hi€");
        // '@' is septet 0 and '¤' 0x24: the places GSM differs from ASCII.
        let bits = Bits::new(&[0x00, 0x90], 14).unwrap();
        let s: String = TextChars::new(TextCoding::GSM_7BIT, bits)
            .unwrap()
            .collect();
        assert_eq!(s, "@¤");
    }

    #[test]
    fn gsm7_escape_at_the_end_is_dropped() {
        // One escape septet and one spare bit.
        let bits = Bits::new(&[0x36], 8).unwrap();
        let s: String = TextChars::new(TextCoding::GSM_7BIT, bits)
            .unwrap()
            .collect();
        assert_eq!(s, "");
    }

    #[test]
    fn ucs2_renders_and_replaces_lone_surrogates() {
        let s = render(26, &[0x00, b'H', 0x20, 0xac, 0xd8, 0x00, 0x00]);
        assert_eq!(s, "H€\u{fffd}");
    }

    proptest! {
        #[test]
        fn every_defined_coding_renders_any_bytes_without_panicking(
            coding in 0u8..=27,
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let c = TextCoding::new(coding).unwrap();
            let bits = Bits::from_bytes(&bytes).unwrap();
            let n = TextChars::new(c, bits).unwrap().count();
            // Units are 7, 8 or 16 bits; a GSM escape pair yields one character.
            let unit = usize::from(c.unit_bits());
            prop_assert!(n <= bytes.len() * 8 / unit);
            if unit == 8 {
                prop_assert_eq!(n, bytes.len());
            }
        }

        #[test]
        fn eight_bit_codings_agree_with_ascii_below_0x80(
            coding in 1u8..=25,
            bytes in proptest::collection::vec(0x20u8..0x7f, 0..32),
        ) {
            let s = render(coding, &bytes);
            prop_assert_eq!(s.as_bytes(), &bytes[..]);
        }
    }
}
