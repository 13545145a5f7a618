//! Text messages carried as SDS type 4 (ETSI EN 300 392-2 §29.5.2–29.5.4): the operator-to-unit
//! notices a gateway may relay or send ("patch to C2000 2040551 active").
//!
//! Four protocol identifiers carry text. Without SDS-TL (0x02 simple, 0x09 simple immediate):
//!
//! | width | field              |
//! |-------|--------------------|
//! | 8     | protocol identifier|
//! | 1     | fill bit (0)       |
//! | 7     | text coding scheme |
//! | rest  | text               |
//!
//! With SDS-TL (0x82 text messaging, 0x89 immediate), after the identifier comes the
//! [`TransferHeader`], then a timestamp-used bit, the 7-bit coding scheme, a 24-bit timestamp if
//! the bit is set, and the text. The text always starts on a byte boundary.
//!
//! The text coding scheme says how to read the text ([`alphabet`]): [`TextMessage::chars`]
//! renders every coding the standard defines and refuses reserved ones by number. Text with a
//! user data header (0x8A, concatenated text) is [`UdhText`] in [`udh`]; [`reassembly`] joins
//! its parts.

mod alphabet;
mod gsm7;
mod reassembly;
mod tables;
mod udh;

use core::fmt;

use serde::Serialize;

pub use alphabet::{Alphabet, TextChars, TextCoding};
pub use reassembly::{Progress, Reassembled, ReassembledChars, Reassembler, ReassemblyError};
pub use udh::{ConcatReference, Concatenation, UdhText, UserDataHeader};

use super::SdsError;
use super::bits::{BitReader, BitWriter, Bits};
use super::tl::TransferHeader;
use super::type4::{MAX_TYPE4_BITS, ProtocolId};

/// A 24-bit SDS-TL text timestamp, kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Timestamp(u32);

impl Timestamp {
    /// A timestamp, or `None` above 24 bits.
    pub const fn new(value: u32) -> Option<Self> {
        if value < (1 << 24) {
            Some(Timestamp(value))
        } else {
            None
        }
    }

    /// The 24-bit value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The SDS-TL part of a text message: the transfer header and an optional timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsTlText {
    /// The SDS-TRANSFER header.
    pub header: TransferHeader,
    /// When the sender stamped the message, if it did.
    pub timestamp: Option<Timestamp>,
}

/// A text message, borrowing its text from the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TextMessage<'a> {
    /// Immediate text (shown at once by the receiver) rather than ordinary text.
    pub immediate: bool,
    /// The SDS-TL header and timestamp, for identifiers 0x82 and 0x89.
    pub sds_tl: Option<SdsTlText>,
    /// How the text is coded.
    pub coding: TextCoding,
    /// The coded text.
    pub text: Bits<'a>,
}

impl<'a> TextMessage<'a> {
    /// A simple (no SDS-TL) Latin-1 message of `text`; `None` if it is too long for SDS type 4.
    pub fn latin1(text: &'a [u8]) -> Option<Self> {
        let text = Bits::from_bytes(text)?;
        let msg = TextMessage {
            immediate: false,
            sds_tl: None,
            coding: TextCoding::LATIN_1,
            text,
        };
        (msg.bit_len() <= usize::from(MAX_TYPE4_BITS)).then_some(msg)
    }

    /// The protocol identifier this message is sent with.
    pub const fn protocol_id(&self) -> ProtocolId {
        match (self.immediate, self.sds_tl.is_some()) {
            (false, false) => ProtocolId::SimpleTextMessaging,
            (true, false) => ProtocolId::SimpleImmediateTextMessaging,
            (false, true) => ProtocolId::TextMessaging,
            (true, true) => ProtocolId::ImmediateTextMessaging,
        }
    }

    /// Parses the payload (bits after the identifier) of a text protocol. `Ok(None)` if `pid`
    /// is not a text protocol, or is an SDS-TL one whose PDU is not an SDS-TRANSFER.
    pub fn parse_payload(pid: ProtocolId, payload: Bits<'a>) -> Result<Option<Self>, SdsError> {
        let (immediate, sds_tl) = match pid {
            ProtocolId::SimpleTextMessaging => (false, false),
            ProtocolId::SimpleImmediateTextMessaging => (true, false),
            ProtocolId::TextMessaging => (false, true),
            ProtocolId::ImmediateTextMessaging => (true, true),
            _ => return Ok(None),
        };
        let mut r = BitReader::with_origin(payload, 8);
        let sds_tl = if sds_tl {
            let Some(header) = TransferHeader::read(&mut r)? else {
                return Ok(None);
            };
            let stamped = r.read_bool()?;
            let coding = TextCoding::from_field(r.read_u8(7)?);
            let timestamp = if stamped {
                Some(Timestamp(r.read(24)?))
            } else {
                None
            };
            return Ok(Some(TextMessage {
                immediate,
                sds_tl: Some(SdsTlText { header, timestamp }),
                coding,
                text: rest(&r)?,
            }));
        } else {
            // The fill bit carries nothing; any value is accepted and 0 is written back.
            r.read_bool()?;
            None
        };
        let coding = TextCoding::from_field(r.read_u8(7)?);
        Ok(Some(TextMessage {
            immediate,
            sds_tl,
            coding,
            text: rest(&r)?,
        }))
    }

    /// Bits of the whole user data, identifier included.
    pub fn bit_len(&self) -> usize {
        let header = match &self.sds_tl {
            None => 8,
            Some(tl) => tl.header.bit_len() + 8 + if tl.timestamp.is_some() { 24 } else { 0 },
        };
        8 + header + usize::from(self.text.bit_len())
    }

    /// Bytes [`TextMessage::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the message, identifier first; returns the bytes written. The bit length to give
    /// the radio is [`TextMessage::bit_len`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let bits = self.bit_len();
        if bits > usize::from(MAX_TYPE4_BITS) {
            return Err(SdsError::TooLong { bits });
        }
        let needed = self.buffer_len();
        if buf.len() < needed {
            return Err(SdsError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        let mut w = BitWriter::new(buf);
        w.write(u32::from(self.protocol_id().to_u8()), 8)?;
        match &self.sds_tl {
            Some(tl) => {
                tl.header.write(&mut w)?;
                w.write_bool(tl.timestamp.is_some())?;
                w.write(u32::from(self.coding.get()), 7)?;
                if let Some(ts) = tl.timestamp {
                    w.write(ts.0, 24)?;
                }
            }
            None => {
                w.write_bool(false)?;
                w.write(u32::from(self.coding.get()), 7)?;
            }
        }
        w.write_bits(&self.text)?;
        Ok(w.finish().0)
    }

    /// The characters of the text (whole characters only; a trailing partial character is
    /// dropped), or [`SdsError::UndefinedTextCoding`] naming a reserved coding.
    pub fn chars(&self) -> Result<TextChars<'a>, SdsError> {
        TextChars::new(self.coding, self.text)
    }
}

/// What follows a header that ends on a byte boundary.
fn rest<'a>(r: &BitReader<'a>) -> Result<Bits<'a>, SdsError> {
    super::tl::rest(r)
}

impl fmt::Display for TextMessage<'_> {
    /// E.g. `text "Patch active" (Latin-1)`, or the hex of text in a reserved coding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_text(f, self.coding, self.text)?;
        if let Some(tl) = &self.sds_tl {
            write_tl(f, tl)?;
        }
        Ok(())
    }
}

/// `text "…" (coding)`, or `text (reserved coding 42, 16 bits): 4142`.
fn write_text(f: &mut fmt::Formatter<'_>, coding: TextCoding, text: Bits<'_>) -> fmt::Result {
    match TextChars::new(coding, text) {
        Ok(chars) => {
            f.write_str("text \"")?;
            for c in chars {
                write!(f, "{}", c.escape_debug())?;
            }
            write!(f, "\" ({coding})")
        }
        Err(_) => write!(f, "text ({coding}, {} bits): {text}", text.bit_len()),
    }
}

/// `, message reference 42, report on receipt requested`.
fn write_tl(f: &mut fmt::Formatter<'_>, tl: &SdsTlText) -> fmt::Result {
    write!(f, ", message reference {}", tl.header.message_reference)?;
    match tl.header.delivery_report {
        super::tl::DeliveryReportRequest::None => Ok(()),
        super::tl::DeliveryReportRequest::Received => f.write_str(", report on receipt requested"),
        super::tl::DeliveryReportRequest::Consumed => {
            f.write_str(", report on consumption requested")
        }
        super::tl::DeliveryReportRequest::ReceivedAndConsumed => {
            f.write_str(", reports on receipt and consumption requested")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sds::tl::DeliveryReportRequest;
    use crate::sds::tl::tests::any_header;
    use proptest::prelude::*;
    use std::string::ToString;

    /// Simple text messaging, Latin-1, "Patch on".
    const SIMPLE: [u8; 10] = [0x02, 0x01, b'P', b'a', b't', b'c', b'h', b' ', b'o', b'n'];
    /// SDS-TL text messaging: report on receipt, reference 0x2a, no timestamp, Latin-1, "OK".
    const SDS_TL: [u8; 6] = [0x82, 0x04, 0x2a, 0x01, b'O', b'K'];

    #[test]
    fn simple_text_decodes() {
        let bits = Bits::new(&SIMPLE, 80).unwrap();
        let payload = Bits::new(&SIMPLE[1..], 72).unwrap();
        let t = TextMessage::parse_payload(ProtocolId::SimpleTextMessaging, payload)
            .unwrap()
            .unwrap();
        assert_eq!(t.coding, TextCoding::LATIN_1);
        assert_eq!(t.sds_tl, None);
        assert_eq!(t.text, Bits::new(&SIMPLE[2..], 64).unwrap());
        assert_eq!(t.to_string(), "text \"Patch on\" (Latin-1)");
        assert_eq!(t.bit_len(), usize::from(bits.bit_len()));
        let mut buf = [0xa5u8; 11];
        assert_eq!(t.emit(&mut buf), Ok(10));
        assert_eq!(buf[..10], SIMPLE);
        assert_eq!(TextMessage::latin1(b"Patch on"), Some(t));
    }

    #[test]
    fn sds_tl_text_decodes_header_and_text() {
        let payload = Bits::new(&SDS_TL[1..], 40).unwrap();
        let t = TextMessage::parse_payload(ProtocolId::TextMessaging, payload)
            .unwrap()
            .unwrap();
        let tl = t.sds_tl.unwrap();
        assert_eq!(tl.header.delivery_report, DeliveryReportRequest::Received);
        assert_eq!(tl.header.message_reference, 0x2a);
        assert_eq!(tl.timestamp, None);
        assert_eq!(t.protocol_id(), ProtocolId::TextMessaging);
        assert_eq!(
            t.to_string(),
            "text \"OK\" (Latin-1), message reference 42, report on receipt requested"
        );
        let mut buf = [0xa5u8; 6];
        assert_eq!(t.emit(&mut buf), Ok(6));
        assert_eq!(buf, SDS_TL);
    }

    #[test]
    fn timestamp_is_read_when_flagged() {
        let data = [0x04, 0x2a, 0x81, 0x12, 0x34, 0x56, b'x'];
        let t =
            TextMessage::parse_payload(ProtocolId::TextMessaging, Bits::new(&data, 56).unwrap())
                .unwrap()
                .unwrap();
        assert_eq!(t.sds_tl.unwrap().timestamp, Timestamp::new(0x12_3456));
        assert_eq!(t.chars().unwrap().collect::<std::string::String>(), "x");
    }

    #[test]
    fn ucs2_text_decodes_and_replaces_lone_surrogates() {
        let data = [0x1a, 0x00, b'H', 0x20, 0xac, 0xd8, 0x00, 0x00];
        let t = TextMessage::parse_payload(
            ProtocolId::SimpleTextMessaging,
            Bits::new(&data, 60).unwrap(),
        )
        .unwrap()
        .unwrap();
        // The last character is cut to 4 bits and dropped.
        assert_eq!(
            t.chars().unwrap().collect::<std::string::String>(),
            "H€\u{fffd}"
        );
    }

    #[test]
    fn gsm_text_is_rendered() {
        // Septets 1100100 ('d') and 0001100 ('ø' in the GSM alphabet).
        let data = [0x00, 0xc8, 0x32];
        let t = TextMessage::parse_payload(
            ProtocolId::SimpleTextMessaging,
            Bits::new(&data, 22).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.chars().unwrap().collect::<std::string::String>(), "dø");
        assert_eq!(t.to_string(), "text \"dø\" (GSM 7-bit)");
    }

    #[test]
    fn reserved_coding_is_refused_by_number_and_shown_as_hex() {
        let data = [0x40, b'h', b'i'];
        let t = TextMessage::parse_payload(
            ProtocolId::SimpleTextMessaging,
            Bits::new(&data, 24).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            t.chars().unwrap_err(),
            SdsError::UndefinedTextCoding { coding: 0x40 }
        );
        assert_eq!(t.to_string(), "text (reserved coding 64, 16 bits): 6869");
    }

    #[test]
    fn latin9_text_renders_the_euro_sign() {
        // Simple text, coding 13 (ISO 8859-15), "5 \xa4" = "5 €".
        let data = [0x0d, b'5', b' ', 0xa4];
        let t = TextMessage::parse_payload(
            ProtocolId::SimpleTextMessaging,
            Bits::new(&data, 32).unwrap(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.to_string(), "text \"5 €\" (ISO 8859-15)");
    }

    #[test]
    fn sds_tl_report_is_not_a_text() {
        // Message type 1 (SDS-REPORT).
        let data = [0x10, 0x00, 0x2a];
        assert_eq!(
            TextMessage::parse_payload(ProtocolId::TextMessaging, Bits::new(&data, 24).unwrap()),
            Ok(None)
        );
    }

    #[test]
    fn truncated_text_header_is_an_error() {
        assert_eq!(
            TextMessage::parse_payload(
                ProtocolId::SimpleTextMessaging,
                Bits::new(&[0x01], 5).unwrap()
            ),
            Err(SdsError::Truncated {
                at_bit: 9,
                needed: 7,
                available: 4
            })
        );
        assert_eq!(
            TextMessage::parse_payload(
                ProtocolId::TextMessaging,
                Bits::new(&[0x04, 0x2a, 0x81], 24).unwrap()
            ),
            Err(SdsError::Truncated {
                at_bit: 32,
                needed: 24,
                available: 0
            })
        );
    }

    #[test]
    fn text_longer_than_type4_allows_is_refused() {
        let long = [b'a'; 300];
        assert_eq!(TextMessage::latin1(&long), None);
        let msg = TextMessage {
            immediate: true,
            sds_tl: None,
            coding: TextCoding::LATIN_1,
            text: Bits::new(&long, 2400).unwrap(),
        };
        assert_eq!(
            msg.emit(&mut [0u8; 400]),
            Err(SdsError::TooLong { bits: 2416 })
        );
    }

    fn any_text() -> impl Strategy<Value = (std::vec::Vec<u8>, u16)> {
        proptest::collection::vec(any::<u8>(), 0..40).prop_flat_map(|v| {
            let max = v.len() as u16 * 8;
            (Just(v), 0..=max)
        })
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(
            (text, bits) in any_text(),
            immediate in any::<bool>(),
            tl in proptest::option::of((any_header(), proptest::option::of(0u32..(1 << 24)))),
            coding in 0u8..128,
        ) {
            let msg = TextMessage {
                immediate,
                sds_tl: tl.map(|(header, ts)| SdsTlText { header, timestamp: ts.and_then(Timestamp::new) }),
                coding: TextCoding::new(coding).unwrap(),
                text: Bits::new(&text, bits).unwrap(),
            };
            let mut buf = [0xa5u8; 64];
            let n = msg.emit(&mut buf).unwrap();
            prop_assert_eq!(n, msg.buffer_len());
            let all = Bits::new(&buf[..n], msg.bit_len() as u16).unwrap();
            prop_assert_eq!(all.byte(n - 1), buf.get(n - 1).copied());
            let payload = Bits::new(&buf[1..n], msg.bit_len() as u16 - 8).unwrap();
            prop_assert_eq!(buf[0], msg.protocol_id().to_u8());
            prop_assert_eq!(TextMessage::parse_payload(msg.protocol_id(), payload), Ok(Some(msg)));
        }
    }
}
