//! The Location Information Protocol (ETSI TS 100 392-18-1): the position reports a radio sends
//! as SDS type 4 with protocol identifier 0x0A, from which borderlink decides that a unit has
//! entered or left a border zone, and the requests a location server sends to terminals.
//!
//! The first two bits after the identifier are the LIP PDU type (§6.3.61): 0 is the 84-bit
//! [`ShortLocationReport`] (`short.rs`), 1 a PDU with a 4-bit extension (§6.3.62). Of those,
//! [`LongLocationReport`] (extension 3, `long.rs`), [`ImmediateLocationReportRequest`]
//! (extension 1, `request.rs`), the basic location parameters request and response (extension 5)
//! and the location reporting enable/disable request and response (extension 10, both
//! `control.rs`) are decoded. The other extensions (the location report acknowledgement, trigger
//! management, report basic location parameters, temporary control, backlog) are refused with
//! [`SdsError::UnsupportedLip`] naming the extension, because no public source gives their
//! layout; so are the reserved PDU types 2 and 3. [`LipPdu`] dispatches among them.
//!
//! Every decoded PDU keeps each field at its exact raw value, reserved codes and unknown
//! type-5 elements included, so `emit(parse(x))` reproduces `x` bit for bit; accessors convert
//! to degrees, metres and km/h, and [`LocationReport`] sums either report up for roaming.
//! Only a PDU cut short ([`SdsError::Truncated`]) or one whose layout the standard leaves
//! undefined ([`SdsError::ReservedLipLayout`]) is refused.

mod control;
mod fields;
mod long;
mod position;
mod request;
mod short;
mod type5;

use core::fmt;

use serde::Serialize;

pub use control::{
    BasicLocationParametersRequest, BasicLocationParametersResponse,
    LocationReportingEnableRequest, LocationReportingEnableResponse, ReportingFlags,
};
pub use fields::{
    AdditionalData, Altitude, DirectionExtended, DirectionOfTravel, HorizontalVelocity, Latitude,
    Longitude, PositionError, PositionUncertainty, ReasonForSending, ResultCode, TimeElapsed,
    TimeOfPosition, VerticalVelocity,
};
pub use long::{Arc, Ellipse, Extent, Location, LongLocationReport, TimeData, Velocity};
pub use position::{FixAge, LipPosition, LocationReport, ReportForm};
pub use request::{ImmediateLocationReportRequest, ReportType};
pub use short::ShortLocationReport;
pub use type5::{Type5Element, Type5Elements, Type5Id, Type5Iter};

use super::SdsError;
use super::bits::{BitReader, BitWriter, Bits};
use super::type4::{ProtocolId, SdsType4};

/// The LIP payload (the bits after the protocol identifier) of complete SDS type-4 user data,
/// or why it is not LIP.
fn lip_payload(bytes: &[u8], bits: u16) -> Result<Bits<'_>, SdsError> {
    let view = SdsType4::new_checked(bytes, bits)?;
    match view.protocol_id() {
        ProtocolId::LocationInformationProtocol => Ok(view.into_payload()),
        other => Err(SdsError::WrongProtocol {
            expected: ProtocolId::LocationInformationProtocol.to_u8(),
            found: other.to_u8(),
        }),
    }
}

/// A writer for a PDU of `needed` bytes with its protocol identifier, PDU type and (for type 1)
/// extension written; `BufferTooSmall` when `buf` is shorter.
fn start_pdu(
    buf: &mut [u8],
    needed: usize,
    pdu_type: u8,
    extension: Option<u8>,
) -> Result<BitWriter<'_>, SdsError> {
    if buf.len() < needed {
        return Err(SdsError::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    let mut w = BitWriter::new(buf);
    w.write(
        u32::from(ProtocolId::LocationInformationProtocol.to_u8()),
        8,
    )?;
    w.write(u32::from(pdu_type), 2)?;
    if let Some(extension) = extension {
        w.write(u32::from(extension), 4)?;
    }
    Ok(w)
}

/// A decoded LIP PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "pdu", content = "fields", rename_all = "snake_case")]
pub enum LipPdu<'a> {
    /// PDU type 0.
    Short(ShortLocationReport),
    /// PDU type 1, extension 3.
    Long(LongLocationReport<'a>),
    /// PDU type 1, extension 1.
    ImmediateRequest(ImmediateLocationReportRequest<'a>),
    /// PDU type 1, extension 5, request.
    BasicParametersRequest(BasicLocationParametersRequest<'a>),
    /// PDU type 1, extension 5, response.
    BasicParametersResponse(BasicLocationParametersResponse<'a>),
    /// PDU type 1, extension 10, request.
    ReportingEnableRequest(LocationReportingEnableRequest<'a>),
    /// PDU type 1, extension 10, response.
    ReportingEnableResponse(LocationReportingEnableResponse<'a>),
}

impl<'a> LipPdu<'a> {
    /// Parses a LIP PDU from complete SDS type-4 user data (protocol identifier first).
    pub fn parse(bytes: &'a [u8], bits: u16) -> Result<Self, SdsError> {
        Self::parse_payload(lip_payload(bytes, bits)?)
    }

    /// Parses a LIP PDU from the bits after the protocol identifier.
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        match r.read_u8(2)? {
            0 => ShortLocationReport::parse_payload(payload).map(LipPdu::Short),
            1 => match r.read_u8(4)? {
                LongLocationReport::EXTENSION => {
                    LongLocationReport::parse_payload(payload).map(LipPdu::Long)
                }
                ImmediateLocationReportRequest::EXTENSION => {
                    ImmediateLocationReportRequest::parse_payload(payload)
                        .map(LipPdu::ImmediateRequest)
                }
                BasicLocationParametersRequest::EXTENSION => {
                    if r.read_bool()? {
                        BasicLocationParametersResponse::parse_payload(payload)
                            .map(LipPdu::BasicParametersResponse)
                    } else {
                        BasicLocationParametersRequest::parse_payload(payload)
                            .map(LipPdu::BasicParametersRequest)
                    }
                }
                LocationReportingEnableRequest::EXTENSION => {
                    if r.read_bool()? {
                        LocationReportingEnableResponse::parse_payload(payload)
                            .map(LipPdu::ReportingEnableResponse)
                    } else {
                        LocationReportingEnableRequest::parse_payload(payload)
                            .map(LipPdu::ReportingEnableRequest)
                    }
                }
                ext => Err(SdsError::UnsupportedLip {
                    pdu_type: 1,
                    extension: Some(ext),
                }),
            },
            pdu_type => Err(SdsError::UnsupportedLip {
                pdu_type,
                extension: None,
            }),
        }
    }

    /// Bits of the encoded PDU, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        match self {
            LipPdu::Short(_) => usize::from(ShortLocationReport::BIT_LEN),
            LipPdu::Long(r) => r.bit_len(),
            LipPdu::ImmediateRequest(r) => r.bit_len(),
            LipPdu::BasicParametersRequest(r) => r.bit_len(),
            LipPdu::BasicParametersResponse(r) => r.bit_len(),
            LipPdu::ReportingEnableRequest(r) => r.bit_len(),
            LipPdu::ReportingEnableResponse(r) => r.bit_len(),
        }
    }

    /// Bytes [`LipPdu::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the PDU, protocol identifier first; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        match self {
            LipPdu::Short(r) => r.emit(buf),
            LipPdu::Long(r) => r.emit(buf),
            LipPdu::ImmediateRequest(r) => r.emit(buf),
            LipPdu::BasicParametersRequest(r) => r.emit(buf),
            LipPdu::BasicParametersResponse(r) => r.emit(buf),
            LipPdu::ReportingEnableRequest(r) => r.emit(buf),
            LipPdu::ReportingEnableResponse(r) => r.emit(buf),
        }
    }

    /// The location report in it, summed up; `None` for a request or response, which carries
    /// no position.
    pub fn report(&self) -> Option<LocationReport> {
        match self {
            LipPdu::Short(r) => Some(LocationReport::from(r)),
            LipPdu::Long(r) => Some(LocationReport::from(r)),
            LipPdu::ImmediateRequest(_)
            | LipPdu::BasicParametersRequest(_)
            | LipPdu::BasicParametersResponse(_)
            | LipPdu::ReportingEnableRequest(_)
            | LipPdu::ReportingEnableResponse(_) => None,
        }
    }

    /// What the PDU is, as the standard names it, e.g. `"LIP long location report"`.
    pub const fn name(&self) -> &'static str {
        match self {
            LipPdu::Short(_) => "LIP short location report",
            LipPdu::Long(_) => "LIP long location report",
            LipPdu::ImmediateRequest(_) => "LIP immediate location report request",
            LipPdu::BasicParametersRequest(_) => "LIP basic location parameters request",
            LipPdu::BasicParametersResponse(_) => "LIP basic location parameters response",
            LipPdu::ReportingEnableRequest(_) => "LIP location reporting enable/disable request",
            LipPdu::ReportingEnableResponse(_) => "LIP location reporting enable/disable response",
        }
    }
}

impl fmt::Display for LipPdu<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name())?;
        match self {
            LipPdu::Short(r) => fmt::Display::fmt(r, f),
            LipPdu::Long(r) => fmt::Display::fmt(r, f),
            LipPdu::ImmediateRequest(r) => fmt::Display::fmt(r, f),
            LipPdu::BasicParametersRequest(r) => fmt::Display::fmt(r, f),
            LipPdu::BasicParametersResponse(r) => fmt::Display::fmt(r, f),
            LipPdu::ReportingEnableRequest(r) => fmt::Display::fmt(r, f),
            LipPdu::ReportingEnableResponse(r) => fmt::Display::fmt(r, f),
        }
    }
}

/// Name of a LIP PDU type extension (§6.3.62), for error messages.
pub(super) const fn extension_name(ext: u8) -> &'static str {
    match ext {
        1 => "immediate location report request",
        3 => "long location report",
        4 => "location report acknowledgement",
        5 => "basic location parameters request/response",
        6 => "add/modify trigger request/response",
        7 => "remove trigger request/response",
        8 => "report trigger request/response",
        9 => "report basic location parameters request/response",
        10 => "location reporting enable/disable request/response",
        11 => "location reporting temporary control request/response",
        12 => "backlog request/response",
        _ => "reserved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    const SHORT: [u8; 11] = [
        0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10,
    ];
    const NO_FIX: [u8; 7] = [0x0a, 0x4c, 0x01, 0x0a, 0xb0, 0x85, 0x10];
    const REQUEST: [u8; 5] = [0x0a, 0x44, 0x98, 0x80, 0x70];

    #[test]
    fn dispatches_on_pdu_type_and_extension() {
        use control::tests::{ENABLE_REQUEST, ENABLE_RESPONSE, PARAMS_REQUEST, PARAMS_RESPONSE};
        assert!(matches!(LipPdu::parse(&SHORT, 84), Ok(LipPdu::Short(_))));
        assert!(matches!(LipPdu::parse(&NO_FIX, 52), Ok(LipPdu::Long(_))));
        assert!(matches!(
            LipPdu::parse(&REQUEST, 36),
            Ok(LipPdu::ImmediateRequest(_))
        ));
        // Extension 5 and 10: the request/response bit picks the PDU.
        let cases: [(&[u8], u16, &str); 4] = [
            (
                &PARAMS_REQUEST,
                44,
                "LIP basic location parameters request: minimum reporting interval code 6, long \
                 report with time elapsed wanted, acknowledgement requested; location message \
                 reference (6) = 42",
            ),
            (
                &PARAMS_RESPONSE,
                40,
                "LIP basic location parameters response: result: accepted (24), reporting \
                 enabled, backlog disabled, minimum reporting interval code 6, short report",
            ),
            (
                &ENABLE_REQUEST,
                24,
                "LIP location reporting enable/disable request: reporting enabled, backlog \
                 enabled, acknowledgement requested",
            ),
            (
                &ENABLE_RESPONSE,
                23,
                "LIP location reporting enable/disable response: reporting enabled, backlog \
                 disabled",
            ),
        ];
        for (bytes, bits, text) in cases {
            let pdu = LipPdu::parse(bytes, bits).unwrap();
            assert_eq!(pdu.to_string(), text);
            assert_eq!(pdu.report(), None);
            assert_eq!(pdu.bit_len(), usize::from(bits));
            let mut out = [0xa5u8; 8];
            let n = pdu.emit(&mut out).unwrap();
            assert_eq!(&out[..n], bytes);
        }
        assert!(matches!(
            LipPdu::parse(&PARAMS_RESPONSE, 40),
            Ok(LipPdu::BasicParametersResponse(_))
        ));
        assert!(matches!(
            LipPdu::parse(&ENABLE_REQUEST, 24),
            Ok(LipPdu::ReportingEnableRequest(_))
        ));
        // Cut right after the extension, before the request/response bit.
        assert_eq!(
            LipPdu::parse(&ENABLE_REQUEST, 14),
            Err(SdsError::Truncated {
                at_bit: 14,
                needed: 1,
                available: 0
            })
        );
    }

    #[test]
    fn the_summary_says_which_report_and_whether_it_has_a_fix() {
        let short = LipPdu::parse(&SHORT, 84).unwrap().report().unwrap();
        assert_eq!(short.form, ReportForm::Short);
        let p = short.position.unwrap();
        assert_eq!(p.error_m(), Some(20.0));
        assert!((p.speed_km_h().unwrap() - 50.84).abs() < 0.01);
        assert_eq!(p.heading_deg(), Some(90.0));
        let long = LipPdu::parse(&NO_FIX, 52).unwrap().report().unwrap();
        assert_eq!(long.form, ReportForm::Long);
        assert_eq!(long.position, None);
        assert_eq!(
            long.to_string(),
            "long report: no fix, reason: lost ability to determine location (21), \
             result: position method failure (81)"
        );
        assert_eq!(LipPdu::parse(&REQUEST, 36).unwrap().report(), None);
    }

    #[test]
    fn undecoded_extensions_are_named() {
        for ext in [0u8, 2, 4, 6, 7, 8, 9, 11, 12, 13, 14, 15] {
            let bytes = [0x0a, 0x40 | (ext << 2), 0, 0];
            let err = LipPdu::parse(&bytes, 32).unwrap_err();
            assert_eq!(
                err,
                SdsError::UnsupportedLip {
                    pdu_type: 1,
                    extension: Some(ext)
                }
            );
            assert!(err.to_string().contains(extension_name(ext)));
        }
        assert_eq!(
            LipPdu::parse(&[0x0a, 0x80], 10),
            Err(SdsError::UnsupportedLip {
                pdu_type: 2,
                extension: None
            })
        );
    }

    #[test]
    fn extension_cut_off_is_truncated() {
        assert_eq!(
            LipPdu::parse(&[0x0a, 0x40], 12),
            Err(SdsError::Truncated {
                at_bit: 10,
                needed: 4,
                available: 2
            })
        );
    }

    proptest! {
        #[test]
        fn any_decoded_pdu_re_emits_bit_exact(bytes in proptest::collection::vec(any::<u8>(), 1..48), cut in 0usize..8) {
            let mut bytes = bytes;
            bytes[0] = 0x0a;
            let bits = (bytes.len() * 8).saturating_sub(cut).max(8) as u16;
            if let Ok(pdu) = LipPdu::parse(&bytes, bits) {
                let mut out = [0xa5u8; 48];
                let n = pdu.emit(&mut out).unwrap();
                prop_assert_eq!(n, pdu.buffer_len());
                let len = pdu.bit_len() as u16;
                // A short report ignores bits past its 84; the others keep every bit.
                if !matches!(pdu, LipPdu::Short(_)) {
                    prop_assert_eq!(len, bits);
                }
                prop_assert_eq!(Bits::new(&out[..n], len).unwrap(), Bits::new(&bytes, len).unwrap());
                prop_assert_eq!(LipPdu::parse(&out[..n], len), Ok(pdu));
            }
        }
    }
}
