//! The Location Information Protocol (ETSI TS 100 392-18-1): the position reports a radio sends
//! as SDS type 4 with protocol identifier 0x0A, from which borderlink decides that a unit has
//! entered or left a border zone, and the requests a location server sends to terminals.
//!
//! The first two bits after the identifier are the LIP PDU type (§6.3.61): 0 is the 84-bit
//! [`ShortLocationReport`] (`short.rs`), 1 a PDU with a 4-bit extension (§6.3.62). Of those,
//! [`LongLocationReport`] (extension 3, `long.rs`) and [`ImmediateLocationReportRequest`]
//! (extension 1, `request.rs`) are decoded; the other extensions (acknowledgements, trigger and
//! parameter management, backlog) are refused with [`SdsError::UnsupportedLip`] naming the
//! extension, as are the reserved PDU types 2 and 3. [`LipPdu`] dispatches among them.
//!
//! Every decoded PDU keeps each field at its exact raw value, reserved codes and unknown
//! type-5 elements included, so `emit(parse(x))` reproduces `x` bit for bit; accessors convert
//! to degrees, metres and km/h, and [`LocationReport`] sums either report up for roaming.
//! Only a PDU cut short ([`SdsError::Truncated`]) or one whose layout the standard leaves
//! undefined ([`SdsError::ReservedLipLayout`]) is refused.

mod fields;
mod long;
mod position;
mod request;
mod short;
mod type5;

use core::fmt;

use serde::Serialize;

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
use super::bits::{BitReader, Bits};
use super::type4::{ProtocolId, SdsType4};

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
}

impl<'a> LipPdu<'a> {
    /// Parses a LIP PDU from complete SDS type-4 user data (protocol identifier first).
    pub fn parse(bytes: &'a [u8], bits: u16) -> Result<Self, SdsError> {
        let view = SdsType4::new_checked(bytes, bits)?;
        match view.protocol_id() {
            ProtocolId::LocationInformationProtocol => Self::parse_payload(view.into_payload()),
            other => Err(SdsError::WrongProtocol {
                expected: ProtocolId::LocationInformationProtocol.to_u8(),
                found: other.to_u8(),
            }),
        }
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
        }
    }

    /// The location report in it, summed up; `None` for a request.
    pub fn report(&self) -> Option<LocationReport> {
        match self {
            LipPdu::Short(r) => Some(LocationReport::from(r)),
            LipPdu::Long(r) => Some(LocationReport::from(r)),
            LipPdu::ImmediateRequest(_) => None,
        }
    }
}

impl fmt::Display for LipPdu<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LipPdu::Short(r) => write!(f, "LIP short location report: {r}"),
            LipPdu::Long(r) => write!(f, "LIP long location report: {r}"),
            LipPdu::ImmediateRequest(r) => write!(f, "LIP immediate location report request: {r}"),
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
