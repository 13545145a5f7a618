//! The LIP reporting-control PDUs whose layout could be checked against a public decoder: the
//! basic location parameters request and response (ETSI TS 100 392-18-1 §6.2.4–§6.2.5, PDU
//! type 1 with extension 5) and the location reporting enable/disable request and response
//! (§6.2.14–§6.2.15, extension 10). A location server sends the requests to set how often and in
//! which form a terminal reports, or to switch its reporting off; the terminal answers with the
//! responses. Borderlink decodes them so that such traffic on a border radio is shown for what
//! it is rather than as undecodable data; none of them carries a position.
//!
//! Layouts after the protocol identifier (the field widths and their order are those of the
//! LIP decoder in sq5bpf's telive, `osmo-tetra-sq5bpf` `src/tetra_sds.c`):
//!
//! | PDU                                   | after `type(2)=1, extension(4), request/response(1)`            |
//! |---------------------------------------|------------------------------------------------------------------|
//! | basic location parameters request     | ack request 1, minimum reporting interval 7, report type 2     |
//! | basic location parameters response    | result code 8, reporting enable flags 8, minimum reporting interval 7, report type 2 |
//! | location reporting enable/disable request  | ack request 1, reporting enable flags 8                   |
//! | location reporting enable/disable response | reporting enable flags 8                                  |
//!
//! The request/response bit is 0 in a request and 1 in a response; whatever follows the fixed
//! part is kept as type-5 elements ([`Type5Elements`]), bit for bit. The 7-bit minimum
//! reporting interval is kept as its raw code: its table of durations was not checked against
//! a public source.

use core::fmt;

use serde::Serialize;

use super::super::SdsError;
use super::super::bits::{BitReader, Bits};
use super::fields::ResultCode;
use super::request::ReportType;
use super::type5::Type5Elements;

/// Bits of the PDU header, protocol identifier included: identifier 8, PDU type 2, extension 4,
/// request/response 1.
const HEADER_BITS: usize = 8 + 2 + 4 + 1;

/// Bits of the minimum reporting interval code.
const INTERVAL_BITS: u8 = 7;

/// Reads the header of a type-1 PDU and refuses anything but `extension` with the
/// request/response bit `response`; returns the reader positioned after that bit.
fn read_header(
    payload: Bits<'_>,
    extension: u8,
    response: bool,
) -> Result<BitReader<'_>, SdsError> {
    let mut r = BitReader::with_origin(payload, 8);
    let pdu_type = r.read_u8(2)?;
    let found = r.read_u8(4)?;
    if pdu_type != 1 || found != extension {
        return Err(SdsError::UnsupportedLip {
            pdu_type,
            extension: (pdu_type == 1).then_some(found),
        });
    }
    if r.read_bool()? != response {
        // The other direction of the same extension: not the PDU this parser reads.
        return Err(SdsError::UnsupportedLip {
            pdu_type,
            extension: Some(found),
        });
    }
    Ok(r)
}

/// The location reporting enable flags (8 bits): bit 7 (the first sent) switches location
/// reporting, bit 6 the backlog of reports kept while reporting was impossible; the other six
/// bits are reserved and kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReportingFlags(pub u8);

impl ReportingFlags {
    /// Reporting and backlog both off.
    pub const DISABLED: Self = Self(0);
    /// Reporting on, backlog off.
    pub const REPORTING: Self = Self(0x80);
    /// Reporting and backlog both on.
    pub const REPORTING_AND_BACKLOG: Self = Self(0xc0);

    /// Whether location reporting is (to be) enabled.
    pub const fn reporting_enabled(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// Whether the backlog of reports is (to be) enabled.
    pub const fn backlog_enabled(self) -> bool {
        self.0 & 0x40 != 0
    }

    /// The reserved low six bits, as sent.
    pub const fn reserved_bits(self) -> u8 {
        self.0 & 0x3f
    }
}

impl fmt::Display for ReportingFlags {
    /// E.g. `reporting enabled, backlog disabled`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |b: bool| if b { "enabled" } else { "disabled" };
        write!(
            f,
            "reporting {}, backlog {}",
            on(self.reporting_enabled()),
            on(self.backlog_enabled())
        )?;
        match self.reserved_bits() {
            0 => Ok(()),
            r => write!(f, " (reserved bits 0x{r:02x})"),
        }
    }
}

/// Writes the type-5 tail after a fixed part, for every [`fmt::Display`] here.
fn write_elements(f: &mut fmt::Formatter<'_>, elements: &Type5Elements<'_>) -> fmt::Result {
    if elements.is_empty() {
        Ok(())
    } else {
        write!(f, "; {elements}")
    }
}

/// A basic location parameters request (extension 5, request/response bit 0): how often at
/// least, and in which form, the terminal is to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BasicLocationParametersRequest<'a> {
    /// The sender wants the terminal to acknowledge.
    pub acknowledgement_requested: bool,
    /// The minimum reporting interval, raw 7-bit code.
    pub min_reporting_interval: u8,
    /// The report wanted.
    pub report_type: ReportType,
    /// Type-5 elements, as received.
    pub elements: Type5Elements<'a>,
}

impl<'a> BasicLocationParametersRequest<'a> {
    /// The PDU type extension of the basic location parameters PDUs.
    pub const EXTENSION: u8 = 5;
    /// Bits of the fixed part, protocol identifier included.
    const FIXED_BITS: usize = HEADER_BITS + 1 + INTERVAL_BITS as usize + 2;

    /// Parses a request from the LIP payload (the bits after the protocol identifier); a
    /// response, or any other PDU, is [`SdsError::UnsupportedLip`].
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = read_header(payload, Self::EXTENSION, false)?;
        let acknowledgement_requested = r.read_bool()?;
        let min_reporting_interval = r.read_u8(INTERVAL_BITS)?;
        let report_type = ReportType::from_bits(r.read_u8(2)?);
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(BasicLocationParametersRequest {
            acknowledgement_requested,
            min_reporting_interval,
            report_type,
            elements,
        })
    }

    /// Bits of the encoded request, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        Self::FIXED_BITS + self.elements.bit_len()
    }

    /// Bytes [`BasicLocationParametersRequest::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the request, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let mut w = super::start_pdu(buf, self.buffer_len(), 1, Some(Self::EXTENSION))?;
        w.write_bool(false)?;
        w.write_bool(self.acknowledgement_requested)?;
        w.write(u32::from(self.min_reporting_interval & 0x7f), INTERVAL_BITS)?;
        w.write(u32::from(self.report_type.bits()), 2)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for BasicLocationParametersRequest<'_> {
    /// E.g. `minimum reporting interval code 6, long report with time elapsed wanted`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "minimum reporting interval code {}, {} wanted",
            self.min_reporting_interval, self.report_type
        )?;
        if self.acknowledgement_requested {
            f.write_str(", acknowledgement requested")?;
        }
        write_elements(f, &self.elements)
    }
}

/// A basic location parameters response (extension 5, request/response bit 1): the outcome
/// and the parameters the terminal now uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BasicLocationParametersResponse<'a> {
    /// The outcome of the request.
    pub result: ResultCode,
    /// Whether reporting and the backlog are enabled.
    pub flags: ReportingFlags,
    /// The minimum reporting interval, raw 7-bit code.
    pub min_reporting_interval: u8,
    /// The report form the terminal uses.
    pub report_type: ReportType,
    /// Type-5 elements, as received.
    pub elements: Type5Elements<'a>,
}

impl<'a> BasicLocationParametersResponse<'a> {
    /// The PDU type extension of the basic location parameters PDUs.
    pub const EXTENSION: u8 = 5;
    /// Bits of the fixed part, protocol identifier included.
    const FIXED_BITS: usize = HEADER_BITS + 8 + 8 + INTERVAL_BITS as usize + 2;

    /// Parses a response from the LIP payload (the bits after the protocol identifier); a
    /// request, or any other PDU, is [`SdsError::UnsupportedLip`].
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = read_header(payload, Self::EXTENSION, true)?;
        let result = ResultCode(r.read_u8(8)?);
        let flags = ReportingFlags(r.read_u8(8)?);
        let min_reporting_interval = r.read_u8(INTERVAL_BITS)?;
        let report_type = ReportType::from_bits(r.read_u8(2)?);
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(BasicLocationParametersResponse {
            result,
            flags,
            min_reporting_interval,
            report_type,
            elements,
        })
    }

    /// Bits of the encoded response, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        Self::FIXED_BITS + self.elements.bit_len()
    }

    /// Bytes [`BasicLocationParametersResponse::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the response, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let mut w = super::start_pdu(buf, self.buffer_len(), 1, Some(Self::EXTENSION))?;
        w.write_bool(true)?;
        w.write(u32::from(self.result.0), 8)?;
        w.write(u32::from(self.flags.0), 8)?;
        w.write(u32::from(self.min_reporting_interval & 0x7f), INTERVAL_BITS)?;
        w.write(u32::from(self.report_type.bits()), 2)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for BasicLocationParametersResponse<'_> {
    /// E.g. `result: accepted (24), reporting enabled, backlog disabled, minimum reporting
    /// interval code 6, short report`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "result: {}, {}, minimum reporting interval code {}, {}",
            self.result, self.flags, self.min_reporting_interval, self.report_type
        )?;
        write_elements(f, &self.elements)
    }
}

/// A location reporting enable/disable request (extension 10, request/response bit 0): switch
/// the terminal's reporting and backlog on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LocationReportingEnableRequest<'a> {
    /// The sender wants the terminal to acknowledge.
    pub acknowledgement_requested: bool,
    /// What to switch on.
    pub flags: ReportingFlags,
    /// Type-5 elements, as received.
    pub elements: Type5Elements<'a>,
}

impl<'a> LocationReportingEnableRequest<'a> {
    /// The PDU type extension of the location reporting enable/disable PDUs.
    pub const EXTENSION: u8 = 10;
    /// Bits of the fixed part, protocol identifier included.
    const FIXED_BITS: usize = HEADER_BITS + 1 + 8;

    /// Parses a request from the LIP payload (the bits after the protocol identifier); a
    /// response, or any other PDU, is [`SdsError::UnsupportedLip`].
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = read_header(payload, Self::EXTENSION, false)?;
        let acknowledgement_requested = r.read_bool()?;
        let flags = ReportingFlags(r.read_u8(8)?);
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(LocationReportingEnableRequest {
            acknowledgement_requested,
            flags,
            elements,
        })
    }

    /// Bits of the encoded request, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        Self::FIXED_BITS + self.elements.bit_len()
    }

    /// Bytes [`LocationReportingEnableRequest::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the request, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let mut w = super::start_pdu(buf, self.buffer_len(), 1, Some(Self::EXTENSION))?;
        w.write_bool(false)?;
        w.write_bool(self.acknowledgement_requested)?;
        w.write(u32::from(self.flags.0), 8)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for LocationReportingEnableRequest<'_> {
    /// E.g. `reporting enabled, backlog enabled, acknowledgement requested`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.flags)?;
        if self.acknowledgement_requested {
            f.write_str(", acknowledgement requested")?;
        }
        write_elements(f, &self.elements)
    }
}

/// A location reporting enable/disable response (extension 10, request/response bit 1): what
/// the terminal has switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LocationReportingEnableResponse<'a> {
    /// What is now on.
    pub flags: ReportingFlags,
    /// Type-5 elements, as received.
    pub elements: Type5Elements<'a>,
}

impl<'a> LocationReportingEnableResponse<'a> {
    /// The PDU type extension of the location reporting enable/disable PDUs.
    pub const EXTENSION: u8 = 10;
    /// Bits of the fixed part, protocol identifier included.
    const FIXED_BITS: usize = HEADER_BITS + 8;

    /// Parses a response from the LIP payload (the bits after the protocol identifier); a
    /// request, or any other PDU, is [`SdsError::UnsupportedLip`].
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = read_header(payload, Self::EXTENSION, true)?;
        let flags = ReportingFlags(r.read_u8(8)?);
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(LocationReportingEnableResponse { flags, elements })
    }

    /// Bits of the encoded response, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        Self::FIXED_BITS + self.elements.bit_len()
    }

    /// Bytes [`LocationReportingEnableResponse::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the response, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let mut w = super::start_pdu(buf, self.buffer_len(), 1, Some(Self::EXTENSION))?;
        w.write_bool(true)?;
        w.write(u32::from(self.flags.0), 8)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for LocationReportingEnableResponse<'_> {
    /// E.g. `reporting enabled, backlog disabled`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.flags)?;
        write_elements(f, &self.elements)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::type5::Type5Id;
    use super::*;
    use crate::sds::bits::BitWriter;
    use proptest::prelude::*;
    use std::string::ToString;

    // The worked examples, written bit by bit from the field widths of telive's decoder
    // (sq5bpf, osmo-tetra-sq5bpf src/tetra_sds.c, `decode_lip`).

    /// Basic location parameters request: 01 0101 0 | ack 1 | interval 0000110 | report type 01
    /// (long with time elapsed) | location message reference 42: 00110 001000 00101010. 44 bits.
    pub(crate) const PARAMS_REQUEST: [u8; 6] = [0x0a, 0x55, 0x0c, 0x98, 0x82, 0xa0];
    /// Basic location parameters response: 01 0101 1 | result 00011000 (24, accepted) | flags
    /// 10000000 (reporting on, backlog off) | interval 0000110 | report type 11 (short). 40 bits.
    pub(crate) const PARAMS_RESPONSE: [u8; 5] = [0x0a, 0x56, 0x31, 0x00, 0x1b];
    /// Location reporting enable/disable request: 01 1010 0 | ack 1 | flags 11000000 (reporting
    /// and backlog on). 24 bits.
    pub(crate) const ENABLE_REQUEST: [u8; 3] = [0x0a, 0x69, 0xc0];
    /// Location reporting enable/disable response: 01 1010 1 | flags 10000000. 23 bits.
    pub(crate) const ENABLE_RESPONSE: [u8; 3] = [0x0a, 0x6b, 0x00];

    /// The LIP payload of complete user data.
    fn payload(bytes: &[u8], bits: u16) -> Bits<'_> {
        Bits::new(bytes.get(1..).unwrap_or(&[]), bits.saturating_sub(8)).unwrap()
    }

    fn emitted(
        len: usize,
        emit: impl FnOnce(&mut [u8]) -> Result<usize, SdsError>,
    ) -> std::vec::Vec<u8> {
        let mut buf = std::vec![0xa5u8; len + 1];
        let n = emit(&mut buf).unwrap();
        assert_eq!(n, len);
        assert_eq!(buf[len], 0xa5, "nothing written past the PDU");
        buf.truncate(n);
        buf
    }

    #[test]
    fn params_request_decodes_field_by_field() {
        let r =
            BasicLocationParametersRequest::parse_payload(payload(&PARAMS_REQUEST, 44)).unwrap();
        assert!(r.acknowledgement_requested);
        assert_eq!(r.min_reporting_interval, 6);
        assert_eq!(r.report_type, ReportType::LongWithTimeElapsed);
        assert_eq!(r.elements.location_message_reference(), Some(42));
        assert_eq!(r.bit_len(), 44);
        assert_eq!(
            r.to_string(),
            "minimum reporting interval code 6, long report with time elapsed wanted, \
             acknowledgement requested; location message reference (6) = 42"
        );
        assert_eq!(emitted(6, |b| r.emit(b)), PARAMS_REQUEST);
        // Without the element: the 25-bit fixed part alone.
        let bare =
            BasicLocationParametersRequest::parse_payload(payload(&PARAMS_REQUEST, 25)).unwrap();
        assert!(bare.elements.is_empty());
        assert_eq!(emitted(4, |b| bare.emit(b)), [0x0a, 0x55, 0x0c, 0x80]);
    }

    #[test]
    fn params_response_decodes_field_by_field() {
        let r =
            BasicLocationParametersResponse::parse_payload(payload(&PARAMS_RESPONSE, 40)).unwrap();
        assert_eq!(r.result, ResultCode(24));
        assert!(r.flags.reporting_enabled());
        assert!(!r.flags.backlog_enabled());
        assert_eq!(r.min_reporting_interval, 6);
        assert_eq!(r.report_type, ReportType::Short);
        assert!(r.elements.is_empty());
        assert_eq!(
            r.to_string(),
            "result: accepted (24), reporting enabled, backlog disabled, minimum reporting \
             interval code 6, short report"
        );
        assert_eq!(emitted(5, |b| r.emit(b)), PARAMS_RESPONSE);
    }

    #[test]
    fn enable_request_and_response_decode() {
        let q =
            LocationReportingEnableRequest::parse_payload(payload(&ENABLE_REQUEST, 24)).unwrap();
        assert!(q.acknowledgement_requested);
        assert_eq!(q.flags, ReportingFlags::REPORTING_AND_BACKLOG);
        assert_eq!(
            q.to_string(),
            "reporting enabled, backlog enabled, acknowledgement requested"
        );
        assert_eq!(emitted(3, |b| q.emit(b)), ENABLE_REQUEST);
        let a =
            LocationReportingEnableResponse::parse_payload(payload(&ENABLE_RESPONSE, 23)).unwrap();
        assert_eq!(a.flags, ReportingFlags::REPORTING);
        assert_eq!(a.bit_len(), 23);
        assert_eq!(a.to_string(), "reporting enabled, backlog disabled");
        assert_eq!(emitted(3, |b| a.emit(b)), ENABLE_RESPONSE);
        // Given as 24 bits, the trailing zero is one bit of fill, kept and written back.
        let padded =
            LocationReportingEnableResponse::parse_payload(payload(&ENABLE_RESPONSE, 24)).unwrap();
        assert_eq!(padded.flags, a.flags);
        assert_eq!(padded.elements.opaque_bits(), 1);
        assert_eq!(padded.bit_len(), 24);
        assert_eq!(emitted(3, |b| padded.emit(b)), ENABLE_RESPONSE);
    }

    #[test]
    fn reserved_flag_bits_are_kept_and_shown() {
        let f = ReportingFlags(0x45);
        assert!(!f.reporting_enabled());
        assert!(f.backlog_enabled());
        assert_eq!(f.reserved_bits(), 0x05);
        assert_eq!(
            f.to_string(),
            "reporting disabled, backlog enabled (reserved bits 0x05)"
        );
    }

    #[test]
    fn the_other_direction_is_not_taken_for_this_one() {
        let err = SdsError::UnsupportedLip {
            pdu_type: 1,
            extension: Some(5),
        };
        assert_eq!(
            BasicLocationParametersRequest::parse_payload(payload(&PARAMS_RESPONSE, 40)),
            Err(err)
        );
        assert_eq!(
            BasicLocationParametersResponse::parse_payload(payload(&PARAMS_REQUEST, 44)),
            Err(err)
        );
        assert_eq!(
            LocationReportingEnableResponse::parse_payload(payload(&ENABLE_REQUEST, 24)),
            Err(SdsError::UnsupportedLip {
                pdu_type: 1,
                extension: Some(10)
            })
        );
        assert_eq!(
            LocationReportingEnableRequest::parse_payload(payload(&PARAMS_REQUEST, 44)),
            Err(SdsError::UnsupportedLip {
                pdu_type: 1,
                extension: Some(5)
            })
        );
    }

    #[test]
    fn truncated_fixed_parts_name_the_field() {
        // The response cut inside its minimum reporting interval (bits 31–37).
        assert_eq!(
            BasicLocationParametersResponse::parse_payload(payload(&PARAMS_RESPONSE, 35)),
            Err(SdsError::Truncated {
                at_bit: 31,
                needed: 7,
                available: 4
            })
        );
        // The enable request cut inside its flags (bits 16–23).
        assert_eq!(
            LocationReportingEnableRequest::parse_payload(payload(&ENABLE_REQUEST, 20)),
            Err(SdsError::Truncated {
                at_bit: 16,
                needed: 8,
                available: 4
            })
        );
        // The parameters request cut inside the value of its type-5 element.
        assert_eq!(
            BasicLocationParametersRequest::parse_payload(payload(&PARAMS_REQUEST, 40)),
            Err(SdsError::Truncated {
                at_bit: 36,
                needed: 8,
                available: 4
            })
        );
    }

    #[test]
    fn serializes() {
        let mut buf = [0u8; 256];
        let q =
            BasicLocationParametersRequest::parse_payload(payload(&PARAMS_REQUEST, 44)).unwrap();
        assert!(postcard::to_slice(&q, &mut buf).is_ok());
        let a =
            BasicLocationParametersResponse::parse_payload(payload(&PARAMS_RESPONSE, 40)).unwrap();
        assert!(postcard::to_slice(&a, &mut buf).is_ok());
    }

    fn any_report_type() -> impl Strategy<Value = ReportType> {
        (0u8..4).prop_map(ReportType::from_bits)
    }

    /// A tail of zero or one location message reference element, in `storage`.
    fn elements(storage: &mut [u8; 3], reference: Option<u8>) -> Type5Elements<'_> {
        match reference {
            Some(v) => {
                let mut w = BitWriter::new(storage);
                Type5Elements::write(&mut w, Type5Id::LOCATION_MESSAGE_REFERENCE, 8, u32::from(v))
                    .unwrap();
                Type5Elements::from_bits(Bits::new(storage, 19).unwrap()).unwrap()
            }
            None => Type5Elements::EMPTY,
        }
    }

    /// Emits `$pdu`, checks the length and parses it back with `$ty`.
    macro_rules! round_trip {
        ($ty:ident, $pdu:expr) => {{
            let pdu = $pdu;
            let mut buf = [0xa5u8; 16];
            let n = pdu.emit(&mut buf).unwrap();
            prop_assert_eq!(n, pdu.buffer_len());
            let bits = pdu.bit_len() as u16;
            let back = $ty::parse_payload(payload(&buf[..n], bits)).unwrap();
            prop_assert_eq!(back, pdu);
        }};
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(
            ack in any::<bool>(),
            interval in 0u8..128,
            report_type in any_report_type(),
            result in any::<u8>(),
            flags in any::<u8>(),
            reference in proptest::option::of(any::<u8>()),
        ) {
            let mut storage = [0u8; 3];
            let elements = elements(&mut storage, reference);
            let flags = ReportingFlags(flags);
            round_trip!(BasicLocationParametersRequest, BasicLocationParametersRequest {
                acknowledgement_requested: ack,
                min_reporting_interval: interval,
                report_type,
                elements,
            });
            round_trip!(BasicLocationParametersResponse, BasicLocationParametersResponse {
                result: ResultCode(result),
                flags,
                min_reporting_interval: interval,
                report_type,
                elements,
            });
            round_trip!(LocationReportingEnableRequest, LocationReportingEnableRequest {
                acknowledgement_requested: ack,
                flags,
                elements,
            });
            round_trip!(LocationReportingEnableResponse, LocationReportingEnableResponse {
                flags,
                elements,
            });
        }

        #[test]
        fn parse_emit_is_bit_exact(
            extension in prop_oneof![Just(5u8), Just(10u8)],
            response in any::<bool>(),
            tail in proptest::collection::vec(any::<u8>(), 2..24),
            cut in 0usize..8,
        ) {
            let mut bytes = tail;
            bytes[0] = 0x40 | (extension << 2) | (u8::from(response) << 1) | (bytes[0] & 1);
            let bits = (bytes.len() * 8 - cut) as u16;
            let p = Bits::new(&bytes, bits).unwrap();
            let mut out = [0xa5u8; 32];
            let written = match (extension, response) {
                (5, false) => BasicLocationParametersRequest::parse_payload(p)
                    .map(|x| (x.bit_len(), x.emit(&mut out))),
                (5, true) => BasicLocationParametersResponse::parse_payload(p)
                    .map(|x| (x.bit_len(), x.emit(&mut out))),
                (_, false) => LocationReportingEnableRequest::parse_payload(p)
                    .map(|x| (x.bit_len(), x.emit(&mut out))),
                (_, true) => LocationReportingEnableResponse::parse_payload(p)
                    .map(|x| (x.bit_len(), x.emit(&mut out))),
            };
            if let Ok((len, n)) = written {
                let n = n.unwrap();
                prop_assert_eq!(len, usize::from(bits) + 8);
                prop_assert_eq!(payload(&out[..n], len as u16), p);
            }
        }
    }
}
