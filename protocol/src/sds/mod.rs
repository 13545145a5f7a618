//! TETRA short data: pre-coded status messages, SDS type-4 user data, text messages and LIP
//! location reports and requests, as the gateway receives them from a radio's PEI and sends
//! them back.
//!
//! The PEI parser hands this module what a `+CTSDSR` line carries: the user data as bytes and its
//! length **in bits**. The bit count is authoritative: the last byte may be partial, and bits past
//! the count are ignored when parsing and written as zero when emitting. Field units use two kinds
//! of short data that matter to borderlink:
//!
//! - a 16-bit pre-coded [`Status`] (ETSI EN 300 392-2 §14.8.34) to ask dispatch for a
//!   cross-border patch, and
//! - SDS type 4 user data ([`SdsType4`], EN 300 392-2 §29.4) whose first byte is a
//!   [`ProtocolId`]; protocol 0x0A carries LIP (ETSI TS 100 392-18-1), whose
//!   [`ShortLocationReport`] and [`LongLocationReport`] put a unit inside or outside a border
//!   zone ([`LipPdu`] also reads the immediate location report request and the basic location
//!   parameters and location reporting enable/disable requests and responses).
//!
//! [`decode_user_data`] is the one entry point the CLI (`borderlink decode lip <hex>`) and the
//! daemon use; [`decode`] does the same when the caller knows from the PEI's AI-service field
//! whether the data is a status or type-4. Like every parser in this crate, none of these panic
//! on any input.
//!
//! ```
//! use borderlink_protocol::sds::{decode_user_data, UserData};
//! // A unit at Baarle-Nassau: 51.4420 N, 4.9290 E, < 20 m, 50.8 km/h heading east.
//! let bytes = [0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10];
//! let UserData::Lip(report) = decode_user_data(&bytes, 84).unwrap() else { panic!() };
//! assert!((report.latitude.degrees() - 51.4420).abs() < 1e-5);
//! assert!((report.longitude.degrees() - 4.9290).abs() < 1e-5);
//! let mut out = [0u8; 11];
//! assert_eq!(report.emit(&mut out), Ok(11));
//! assert_eq!(out, bytes);
//! ```

mod bits;
mod lip;
mod status;
mod text;
mod tl;
mod type4;
mod user_data;

use core::fmt;

pub use bits::{BitReader, BitWriter, Bits};
pub use lip::{
    AdditionalData, Altitude, Arc, BasicLocationParametersRequest, BasicLocationParametersResponse,
    DirectionExtended, DirectionOfTravel, Ellipse, Extent, FixAge, HorizontalVelocity,
    ImmediateLocationReportRequest, Latitude, LipPdu, LipPosition, Location, LocationReport,
    LocationReportingEnableRequest, LocationReportingEnableResponse, LongLocationReport, Longitude,
    PositionError, PositionUncertainty, ReasonForSending, ReportForm, ReportType, ReportingFlags,
    ResultCode, ShortLocationReport, TimeData, TimeElapsed, TimeOfPosition, Type5Element,
    Type5Elements, Type5Id, Type5Iter, Velocity, VerticalVelocity,
};
pub use status::{ShortReportType, Status, StatusKind};
pub use text::{
    Alphabet, ConcatReference, Concatenation, Progress, Reassembled, ReassembledChars, Reassembler,
    ReassemblyError, SdsTlText, TextChars, TextCoding, TextMessage, Timestamp, UdhText,
    UserDataHeader,
};
pub use tl::{
    DeliveryClass, DeliveryReportRequest, DeliveryStatus, ForwardAddress, SdsAck, SdsReport,
    StoreForward, TlPdu, TransferHeader,
};
pub use type4::{MAX_TYPE4_BITS, ProtocolId, SdsType4};
pub use user_data::{SdsKind, UserData, decode, decode_user_data};

/// Why short data could not be decoded or emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdsError {
    /// The bit count is zero: there is no user data at all.
    Empty,
    /// The bit count claims more bits than the bytes hold.
    BitLengthExceedsData {
        /// The bit count given.
        bits: u16,
        /// How many bits the bytes actually hold (8 per byte).
        available: usize,
    },
    /// A field runs past the end of the user data.
    Truncated {
        /// Bit offset from the start of the user data where the field begins.
        at_bit: u16,
        /// Width of the field in bits.
        needed: u16,
        /// Bits left from `at_bit` to the end of the user data.
        available: u16,
    },
    /// A pre-coded status is always exactly 16 bits.
    StatusLength {
        /// The bit count given.
        bits: u16,
    },
    /// The protocol identifier is not the one the decoder was asked for.
    WrongProtocol {
        /// The identifier expected.
        expected: u8,
        /// The identifier found in the first byte.
        found: u8,
    },
    /// A LIP PDU this decoder does not read (acknowledgements, triggers, parameter and backlog
    /// management, reserved PDU types), or another PDU than the parser called was for.
    UnsupportedLip {
        /// The 2-bit LIP PDU type (0 is the short report, 1 a PDU with extension).
        pdu_type: u8,
        /// The 4-bit PDU type extension when `pdu_type` is 1 and it was present (3 is the long
        /// location report).
        extension: Option<u8>,
    },
    /// A LIP selector field holds a reserved value for which the standard defines no layout
    /// (time type 3, location shapes 11–15), so nothing after it can be located.
    ReservedLipLayout {
        /// The field, e.g. `"location shape"`.
        field: &'static str,
        /// Its value.
        value: u8,
        /// Bit offset of the field from the start of the user data.
        at_bit: u16,
    },
    /// An SDS-TL forward address type this decoder does not read (external subscriber numbers
    /// and reserved values).
    UnsupportedForwardAddress {
        /// The 3-bit forward address type.
        address_type: u8,
    },
    /// A text coding scheme the standard leaves reserved (EN 300 392-2 table 29.29).
    UndefinedTextCoding {
        /// The 7-bit coding scheme value.
        coding: u8,
    },
    /// A user data header element runs past the header's length, or the header ends inside
    /// an element's identifier and length.
    UserDataHeaderOverrun {
        /// Bit offset of the element.
        at_bit: u16,
    },
    /// A concatenation element of the wrong length, or whose part number is 0 or past the
    /// total.
    BadConcatenation {
        /// Bit offset of the element.
        at_bit: u16,
    },
    /// Type-4 user data longer than the air interface carries (2047 bits).
    TooLong {
        /// Bits the message would take.
        bits: usize,
    },
    /// A latitude outside −90..=90 degrees, or not a number.
    LatitudeOutOfRange,
    /// A longitude outside −180..=180 degrees, or not a number.
    LongitudeOutOfRange,
    /// The caller's buffer is too small for what is being emitted.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
}

impl fmt::Display for SdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SdsError::Empty => f.write_str("no user data (bit length 0)"),
            SdsError::BitLengthExceedsData { bits, available } => {
                write!(
                    f,
                    "bit length {bits} exceeds the {available} bits of data given"
                )
            }
            SdsError::Truncated {
                at_bit,
                needed,
                available,
            } => write!(
                f,
                "truncated: a {needed}-bit field at bit {at_bit} but only {available} bits remain"
            ),
            SdsError::StatusLength { bits } => {
                write!(f, "a status message is 16 bits, not {bits}")
            }
            SdsError::WrongProtocol { expected, found } => {
                write!(
                    f,
                    "protocol identifier 0x{found:02x}, expected 0x{expected:02x}"
                )
            }
            SdsError::UnsupportedLip {
                pdu_type,
                extension: Some(ext),
            } => write!(
                f,
                "unsupported LIP PDU type {pdu_type} extension {ext} ({})",
                lip::extension_name(ext)
            ),
            SdsError::UnsupportedLip {
                pdu_type,
                extension: None,
            } => {
                write!(f, "unsupported LIP PDU type {pdu_type}")
            }
            SdsError::ReservedLipLayout {
                field,
                value,
                at_bit,
            } => write!(
                f,
                "reserved LIP {field} {value} at bit {at_bit}: the standard gives it no layout"
            ),
            SdsError::UnsupportedForwardAddress { address_type } => {
                write!(f, "unsupported SDS-TL forward address type {address_type}")
            }
            SdsError::UndefinedTextCoding { coding } => {
                write!(f, "text coding scheme {coding} is reserved (not defined)")
            }
            SdsError::UserDataHeaderOverrun { at_bit } => {
                write!(
                    f,
                    "user data header element at bit {at_bit} runs past the header"
                )
            }
            SdsError::BadConcatenation { at_bit } => {
                write!(f, "malformed concatenation element at bit {at_bit}")
            }
            SdsError::TooLong { bits } => {
                write!(f, "{bits} bits is more than SDS type 4 carries (2047)")
            }
            SdsError::LatitudeOutOfRange => f.write_str("latitude outside -90..=90 degrees"),
            SdsError::LongitudeOutOfRange => f.write_str("longitude outside -180..=180 degrees"),
            SdsError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, {needed} needed")
            }
        }
    }
}

impl core::error::Error for SdsError {}
