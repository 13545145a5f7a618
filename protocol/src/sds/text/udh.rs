//! Text with a user data header (protocol identifier 0x8A, ETSI EN 300 392-2 §29.5.9–29.5.10):
//! how TETRA carries text too long for one SDS. Each part is an SDS-TL SDS-TRANSFER with its
//! own message reference; a concatenation element in the header ties the parts together.
//!
//! | width | field                   | notes                                           |
//! |-------|-------------------------|-------------------------------------------------|
//! | 8     | protocol identifier     | 0x8A                                            |
//! | 16+   | SDS-TRANSFER header     | [`TransferHeader`](crate::sds::TransferHeader)  |
//! | 1     | timestamp used          |                                                 |
//! | 7     | text coding scheme      | [`TextCoding`]                                  |
//! | 24    | timestamp               | if used                                         |
//! | 8     | user data header length | octets of information elements that follow      |
//! | n×8   | information elements    | identifier (8), length (8), data                |
//! | rest  | text                    | in the coding scheme                            |
//!
//! The information elements are those of 3GPP TS 23.040 §9.2.3.24, which the TETRA standard
//! adopts: element 0x00 is concatenation with an 8-bit reference (reference, total parts, part
//! number), 0x08 the same with a 16-bit reference (big-endian). Parts are numbered from 1.
//! A header that is exactly one concatenation element is decoded
//! ([`UserDataHeader::Concatenation`]); any other header is checked to be a well-formed element
//! list and kept as sent ([`UserDataHeader::Elements`]), so it is re-emitted byte for byte.

use core::fmt;

use serde::Serialize;

use super::{SdsTlText, TextCoding, Timestamp, write_text, write_tl};
use crate::sds::SdsError;
use crate::sds::bits::{BitReader, BitWriter, Bits};
use crate::sds::tl::TransferHeader;
use crate::sds::type4::{MAX_TYPE4_BITS, ProtocolId};

/// Element identifier: concatenated message, 8-bit reference.
const IEI_CONCAT_8: u8 = 0x00;
/// Element identifier: concatenated message, 16-bit reference.
const IEI_CONCAT_16: u8 = 0x08;

/// The reference that ties the parts of one concatenated message together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcatReference {
    /// Element 0x00: an 8-bit reference.
    Short(u8),
    /// Element 0x08: a 16-bit reference.
    Long(u16),
}

impl ConcatReference {
    /// The reference as a number.
    pub const fn get(self) -> u16 {
        match self {
            ConcatReference::Short(r) => r as u16,
            ConcatReference::Long(r) => r,
        }
    }
}

/// A concatenation element: which part of which message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Concatenation {
    reference: ConcatReference,
    total: u8,
    part: u8,
}

impl Concatenation {
    /// Part `part` (from 1) of `total`; `None` unless `1 <= part <= total`.
    pub const fn new(reference: ConcatReference, total: u8, part: u8) -> Option<Self> {
        if part >= 1 && part <= total {
            Some(Concatenation {
                reference,
                total,
                part,
            })
        } else {
            None
        }
    }

    /// The message's reference.
    pub const fn reference(&self) -> ConcatReference {
        self.reference
    }

    /// How many parts the message has.
    pub const fn total(&self) -> u8 {
        self.total
    }

    /// This part's number, from 1.
    pub const fn part(&self) -> u8 {
        self.part
    }

    const fn element_len(&self) -> u8 {
        match self.reference {
            ConcatReference::Short(_) => 3,
            ConcatReference::Long(_) => 4,
        }
    }

    /// Decodes a concatenation element's data, if `iei`/`data` are one and valid.
    fn from_element(iei: u8, data: &[u8]) -> Option<Self> {
        let (reference, numbers) = match (iei, data) {
            (IEI_CONCAT_8, [r, rest @ ..]) if rest.len() == 2 => (ConcatReference::Short(*r), rest),
            (IEI_CONCAT_16, [hi, lo, rest @ ..]) if rest.len() == 2 => {
                (ConcatReference::Long(u16::from_be_bytes([*hi, *lo])), rest)
            }
            _ => return None,
        };
        match numbers {
            [total, part] => Concatenation::new(reference, *total, *part),
            _ => None,
        }
    }
}

/// The user data header of a 0x8A message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserDataHeader<'a> {
    /// Exactly one concatenation element.
    Concatenation(Concatenation),
    /// Any other well-formed element list (the octets after the length), kept as sent.
    Elements(Bits<'a>),
}

/// Longest element list the header length field can announce.
const MAX_ELEMENTS: usize = 255;

impl<'a> UserDataHeader<'a> {
    /// Reads the length octet and the elements; the reader must sit on a byte boundary.
    fn read(r: &mut BitReader<'a>, origin: u16) -> Result<Self, SdsError> {
        let len = usize::from(r.read_u8(8)?);
        let truncated = SdsError::Truncated {
            at_bit: origin.saturating_add(r.position() as u16),
            needed: (len * 8) as u16,
            available: u16::try_from(r.remaining()).unwrap_or(u16::MAX),
        };
        if r.remaining() < len * 8 {
            return Err(truncated);
        }
        let list = r
            .rest()
            .and_then(|rest| Bits::new(rest.raw_bytes().get(..len)?, (len * 8) as u16).ok())
            .ok_or(truncated)?;
        let mut left = len;
        let mut count = 0usize;
        let mut only = None;
        let mut data = [0u8; MAX_ELEMENTS];
        while left > 0 {
            let at = origin.saturating_add(r.position() as u16);
            if left < 2 {
                return Err(SdsError::UserDataHeaderOverrun { at_bit: at });
            }
            let iei = r.read_u8(8)?;
            let n = usize::from(r.read_u8(8)?);
            left -= 2;
            if n > left {
                return Err(SdsError::UserDataHeaderOverrun { at_bit: at });
            }
            for slot in data.iter_mut().take(n) {
                *slot = r.read_u8(8)?;
            }
            left -= n;
            count += 1;
            if matches!(iei, IEI_CONCAT_8 | IEI_CONCAT_16) {
                let found = data
                    .get(..n)
                    .and_then(|d| Concatenation::from_element(iei, d));
                if found.is_none() {
                    return Err(SdsError::BadConcatenation { at_bit: at });
                }
                only = found;
            }
        }
        Ok(match (count, only) {
            (1, Some(c)) => UserDataHeader::Concatenation(c),
            _ => UserDataHeader::Elements(list),
        })
    }

    /// The concatenation element, if the header has one.
    pub fn concatenation(&self) -> Option<Concatenation> {
        match self {
            UserDataHeader::Concatenation(c) => Some(*c),
            UserDataHeader::Elements(list) => {
                let mut r = list.reader();
                let mut data = [0u8; MAX_ELEMENTS];
                while let (Ok(iei), Ok(n)) = (r.read_u8(8), r.read_u8(8)) {
                    let n = usize::from(n);
                    for slot in data.iter_mut().take(n) {
                        *slot = r.read_u8(8).ok()?;
                    }
                    if let Some(c) = data
                        .get(..n)
                        .and_then(|d| Concatenation::from_element(iei, d))
                    {
                        return Some(c);
                    }
                }
                None
            }
        }
    }

    /// Bits of the header, its length octet included.
    pub fn bit_len(&self) -> usize {
        8 + match self {
            UserDataHeader::Concatenation(c) => 16 + usize::from(c.element_len()) * 8,
            UserDataHeader::Elements(list) => usize::from(list.bit_len()),
        }
    }

    fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        w.write(((self.bit_len() - 8) / 8) as u32, 8)?;
        match self {
            UserDataHeader::Concatenation(c) => {
                let (iei, reference_bits) = match c.reference {
                    ConcatReference::Short(_) => (IEI_CONCAT_8, 8),
                    ConcatReference::Long(_) => (IEI_CONCAT_16, 16),
                };
                w.write(u32::from(iei), 8)?;
                w.write(u32::from(c.element_len()), 8)?;
                w.write(u32::from(c.reference.get()), reference_bits)?;
                w.write(u32::from(c.total), 8)?;
                w.write(u32::from(c.part), 8)
            }
            UserDataHeader::Elements(list) => w.write_bits(list),
        }
    }
}

/// A text message with a user data header (protocol 0x8A), borrowing its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct UdhText<'a> {
    /// The SDS-TRANSFER header and timestamp.
    pub sds_tl: SdsTlText,
    /// How the text is coded.
    pub coding: TextCoding,
    /// The user data header.
    pub header: UserDataHeader<'a>,
    /// The coded text.
    pub text: Bits<'a>,
}

impl<'a> UdhText<'a> {
    /// Parses the payload (bits after the identifier) of protocol 0x8A; `Ok(None)` if the
    /// SDS-TL PDU is not an SDS-TRANSFER.
    pub fn parse_payload(payload: Bits<'a>) -> Result<Option<Self>, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        let Some(header) = TransferHeader::read(&mut r)? else {
            return Ok(None);
        };
        let stamped = r.read_bool()?;
        let coding = TextCoding::from_field(r.read_u8(7)?);
        let timestamp = if stamped {
            Timestamp::new(r.read(24)?)
        } else {
            None
        };
        let udh = UserDataHeader::read(&mut r, 8)?;
        Ok(Some(UdhText {
            sds_tl: SdsTlText { header, timestamp },
            coding,
            header: udh,
            text: super::rest(&r)?,
        }))
    }

    /// The protocol identifier, 0x8A.
    pub const fn protocol_id(&self) -> ProtocolId {
        ProtocolId::MessageWithUserDataHeader
    }

    /// Bits of the whole user data, identifier included.
    pub fn bit_len(&self) -> usize {
        8 + self.sds_tl.header.bit_len()
            + 8
            + if self.sds_tl.timestamp.is_some() {
                24
            } else {
                0
            }
            + self.header.bit_len()
            + usize::from(self.text.bit_len())
    }

    /// Bytes [`UdhText::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the message, identifier first; returns the bytes written.
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
        self.sds_tl.header.write(&mut w)?;
        w.write_bool(self.sds_tl.timestamp.is_some())?;
        w.write(u32::from(self.coding.get()), 7)?;
        if let Some(ts) = self.sds_tl.timestamp {
            w.write(ts.get(), 24)?;
        }
        self.header.write(&mut w)?;
        w.write_bits(&self.text)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for UdhText<'_> {
    /// E.g. `text "Patch up" (Latin-1), part 1 of 2 of message 201, message reference 201`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_text(f, self.coding, self.text)?;
        match self.header.concatenation() {
            Some(c) => write!(
                f,
                ", part {} of {} of message {}",
                c.part(),
                c.total(),
                c.reference().get()
            )?,
            None => write!(f, ", user data header {}", self.header_bits())?,
        }
        write_tl(f, &self.sds_tl)
    }
}

impl UdhText<'_> {
    fn header_bits(&self) -> Bits<'_> {
        match self.header {
            UserDataHeader::Elements(list) => list,
            UserDataHeader::Concatenation(_) => Bits::EMPTY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sds::tl::DeliveryReportRequest;
    use crate::sds::tl::tests::any_header;
    use proptest::prelude::*;
    use std::string::{String, ToString};

    /// A first part as a terminal sends it (the capture documented in the public tetra-pei
    /// project): 0x8A, SDS-TRANSFER with no report and reference 0xC9, timestamp used with
    /// coding 13 (ISO 8859-15), timestamp 0x045A8F, header length 5, element 0x00 of length 3:
    /// reference 0xC9, 2 parts, part 1. The text "Patch" is ours.
    const FIRST_PART: [u8; 18] = [
        0x8a, 0x00, 0xc9, 0x8d, 0x04, 0x5a, 0x8f, 0x05, 0x00, 0x03, 0xc9, 0x02, 0x01, b'P', b'a',
        b't', b'c', b'h',
    ];

    fn parse(data: &[u8]) -> Result<Option<UdhText<'_>>, SdsError> {
        UdhText::parse_payload(Bits::new(&data[1..], (data.len() * 8 - 8) as u16).unwrap())
    }

    #[test]
    fn first_part_of_a_concatenated_text_decodes() {
        let t = parse(&FIRST_PART).unwrap().unwrap();
        assert_eq!(t.sds_tl.header.message_reference, 0xc9);
        assert_eq!(t.sds_tl.header.delivery_report, DeliveryReportRequest::None);
        assert_eq!(t.sds_tl.timestamp, Timestamp::new(0x04_5a8f));
        assert_eq!(t.coding, TextCoding::LATIN_9);
        let c = Concatenation::new(ConcatReference::Short(0xc9), 2, 1).unwrap();
        assert_eq!(t.header, UserDataHeader::Concatenation(c));
        assert_eq!(
            t.to_string(),
            "text \"Patch\" (ISO 8859-15), part 1 of 2 of message 201, message reference 201"
        );
        let mut buf = [0xa5u8; 20];
        assert_eq!(t.emit(&mut buf), Ok(18));
        assert_eq!(buf[..18], FIRST_PART);
    }

    #[test]
    fn sixteen_bit_reference_is_big_endian() {
        // No timestamp, Latin-1; element 0x08, length 4, reference 0x1234, 3 parts, part 3.
        let data = [
            0x8a, 0x04, 0x07, 0x01, 0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03, b'!',
        ];
        let t = parse(&data).unwrap().unwrap();
        let c = t.header.concatenation().unwrap();
        assert_eq!(c.reference(), ConcatReference::Long(0x1234));
        assert_eq!((c.total(), c.part()), (3, 3));
        let mut buf = [0u8; 12];
        assert_eq!(t.emit(&mut buf), Ok(12));
        assert_eq!(buf, data);
    }

    #[test]
    fn other_elements_are_kept_and_concatenation_still_found() {
        // Two elements: 0x24 (national language single shift, 1 octet) then concatenation.
        let data = [
            0x8a, 0x00, 0x01, 0x01, 0x08, 0x24, 0x01, 0x05, 0x00, 0x03, 0x09, 0x02, 0x02, b'z',
        ];
        let t = parse(&data).unwrap().unwrap();
        assert!(matches!(t.header, UserDataHeader::Elements(_)));
        assert_eq!(
            t.header.concatenation(),
            Concatenation::new(ConcatReference::Short(9), 2, 2)
        );
        let mut buf = [0u8; 14];
        assert_eq!(t.emit(&mut buf), Ok(14));
        assert_eq!(buf, data);
    }

    #[test]
    fn element_longer_than_the_header_is_refused() {
        // Header length 3, element claims 3 octets of data.
        let data = [0x8a, 0x00, 0x01, 0x01, 0x03, 0x24, 0x03, 0x00];
        assert_eq!(
            parse(&data),
            Err(SdsError::UserDataHeaderOverrun { at_bit: 40 })
        );
    }

    #[test]
    fn header_length_past_the_data_is_truncated() {
        let data = [0x8a, 0x00, 0x01, 0x01, 0x09, 0x00, 0x03];
        assert!(matches!(
            parse(&data),
            Err(SdsError::Truncated { at_bit: 40, .. })
        ));
    }

    #[test]
    fn lone_identifier_octet_in_the_header_is_refused() {
        let data = [0x8a, 0x00, 0x01, 0x01, 0x01, 0x00];
        assert_eq!(
            parse(&data),
            Err(SdsError::UserDataHeaderOverrun { at_bit: 40 })
        );
    }

    #[test]
    fn part_zero_or_past_the_total_is_refused() {
        for (total, part) in [(2u8, 0u8), (2, 3), (0, 0)] {
            let data = [0x8a, 0x00, 0x01, 0x01, 0x05, 0x00, 0x03, 0x07, total, part];
            assert_eq!(
                parse(&data),
                Err(SdsError::BadConcatenation { at_bit: 40 }),
                "{total}/{part}"
            );
        }
    }

    #[test]
    fn report_under_0x8a_is_not_a_udh_text() {
        assert_eq!(parse(&[0x8a, 0x10, 0x00, 0xc9]), Ok(None));
    }

    fn any_concat() -> impl Strategy<Value = Concatenation> {
        (
            prop_oneof![
                any::<u8>().prop_map(ConcatReference::Short),
                any::<u16>().prop_map(ConcatReference::Long)
            ],
            1u8..=255,
        )
            .prop_flat_map(|(r, total)| {
                (1..=total).prop_map(move |part| Concatenation::new(r, total, part).unwrap())
            })
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(
            header in any_header(),
            ts in proptest::option::of(0u32..(1 << 24)),
            coding in 0u8..128,
            concat in any_concat(),
            text in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let msg = UdhText {
                sds_tl: SdsTlText { header, timestamp: ts.and_then(Timestamp::new) },
                coding: TextCoding::new(coding).unwrap(),
                header: UserDataHeader::Concatenation(concat),
                text: Bits::from_bytes(&text).unwrap(),
            };
            let mut buf = [0xa5u8; 80];
            let n = msg.emit(&mut buf).unwrap();
            prop_assert_eq!(n, msg.buffer_len());
            let back = UdhText::parse_payload(Bits::new(&buf[1..n], (n * 8 - 8) as u16).unwrap());
            prop_assert_eq!(back, Ok(Some(msg)));
            let _: String = msg.to_string();
        }
    }
}
