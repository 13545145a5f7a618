//! The LIP immediate location report request (ETSI TS 100 392-18-1 §6.2.16, PDU type 1 with
//! extension 1): a dispatcher or location server asking a terminal for one report now. The
//! gateway decodes it so that a request seen on a border radio is shown for what it is rather
//! than as undecodable data.
//!
//! Layout after the protocol identifier: PDU type (2) = 1, PDU type extension (4) = 1,
//! request/response (1, 0 = request), report type (2, §6.3.65), then type-5 elements
//! ([`Type5Elements`]): the location information destination, the accuracies and maximum
//! information age wanted, a location message reference, a request priority.

use core::fmt;

use serde::Serialize;

use super::super::SdsError;
use super::super::bits::{BitReader, Bits};
use super::type5::Type5Elements;

/// Which report the requester prefers (§6.3.65, 2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportType {
    /// 0: a long report without time information.
    LongWithoutTime,
    /// 1: a long report with the time elapsed.
    LongWithTimeElapsed,
    /// 2: a long report with the time of position.
    LongWithTimeOfPosition,
    /// 3: a short report.
    Short,
}

impl ReportType {
    pub(super) const fn from_bits(v: u8) -> Self {
        match v & 0b11 {
            0 => ReportType::LongWithoutTime,
            1 => ReportType::LongWithTimeElapsed,
            2 => ReportType::LongWithTimeOfPosition,
            _ => ReportType::Short,
        }
    }

    /// The 2-bit field value.
    pub const fn bits(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for ReportType {
    /// E.g. `long report with time elapsed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportType::LongWithoutTime => "long report without time",
            ReportType::LongWithTimeElapsed => "long report with time elapsed",
            ReportType::LongWithTimeOfPosition => "long report with time of position",
            ReportType::Short => "short report",
        })
    }
}

/// An immediate location report request with every field at its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ImmediateLocationReportRequest<'a> {
    /// The request/response bit; 0 (request) in every request, kept as sent.
    pub response: bool,
    /// The report wanted.
    pub report_type: ReportType,
    /// Type-5 elements, as received.
    pub elements: Type5Elements<'a>,
}

impl<'a> ImmediateLocationReportRequest<'a> {
    /// The PDU type extension of an immediate location report request.
    pub const EXTENSION: u8 = 1;
    /// Bits of the fixed part, protocol identifier included.
    const FIXED_BITS: usize = 8 + 2 + 4 + 1 + 2;

    /// Parses a request from the LIP payload (the bits after the protocol identifier).
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        let pdu_type = r.read_u8(2)?;
        let extension = r.read_u8(4)?;
        if pdu_type != 1 || extension != Self::EXTENSION {
            return Err(SdsError::UnsupportedLip {
                pdu_type,
                extension: (pdu_type == 1).then_some(extension),
            });
        }
        let response = r.read_bool()?;
        let report_type = ReportType::from_bits(r.read_u8(2)?);
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(ImmediateLocationReportRequest {
            response,
            report_type,
            elements,
        })
    }

    /// Bits of the encoded request, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        Self::FIXED_BITS + self.elements.bit_len()
    }

    /// Bytes [`ImmediateLocationReportRequest::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the request, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let needed = self.buffer_len();
        let mut w = super::start_pdu(buf, needed, 1, Some(Self::EXTENSION))?;
        w.write_bool(self.response)?;
        w.write(u32::from(self.report_type.bits()), 2)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for ImmediateLocationReportRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} wanted", self.report_type)?;
        if self.response {
            f.write_str(" (response bit set)")?;
        }
        if !self.elements.is_empty() {
            write!(f, "; {}", self.elements)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::type5::Type5Id;
    use super::*;
    use std::string::ToString;

    /// An immediate request for a long report with the time elapsed, location message reference
    /// 7, written bit by bit from §6.2.16: 01 0001 0 01 | 00110 001000 00000111. 36 bits.
    pub(crate) const REQUEST: [u8; 5] = [0x0a, 0x44, 0x98, 0x80, 0x70];

    fn parse(bytes: &[u8], bits: u16) -> Result<ImmediateLocationReportRequest<'_>, SdsError> {
        let payload = Bits::new(bytes, bits)?;
        let payload = Bits::new(
            payload.raw_bytes().get(1..).unwrap_or(&[]),
            bits.saturating_sub(8),
        )?;
        ImmediateLocationReportRequest::parse_payload(payload)
    }

    #[test]
    fn request_decodes_field_by_field() {
        let r = parse(&REQUEST, 36).unwrap();
        assert!(!r.response);
        assert_eq!(r.report_type, ReportType::LongWithTimeElapsed);
        assert_eq!(r.elements.location_message_reference(), Some(7));
        let e = r.elements.iter().next().unwrap();
        assert_eq!(e.id, Type5Id::LOCATION_MESSAGE_REFERENCE);
        assert_eq!(e.bit_len(), 8);
        assert_eq!(
            r.to_string(),
            "long report with time elapsed wanted; location message reference (6) = 7"
        );
        let mut buf = [0xa5u8; 6];
        assert_eq!(r.emit(&mut buf), Ok(5));
        assert_eq!(buf[..5], REQUEST);
        assert_eq!(buf[5], 0xa5);
    }

    #[test]
    fn request_without_elements_is_17_bits() {
        let r = parse(&REQUEST, 17).unwrap();
        assert!(r.elements.is_empty());
        assert_eq!(r.bit_len(), 17);
        let mut buf = [0xffu8; 3];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf, [0x0a, 0x44, 0x80]);
    }

    #[test]
    fn truncated_request_is_refused() {
        assert_eq!(
            parse(&REQUEST, 16),
            Err(SdsError::Truncated {
                at_bit: 15,
                needed: 2,
                available: 1
            })
        );
    }
}
