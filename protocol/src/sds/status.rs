//! Pre-coded status messages: the 16-bit values a field unit sends with one key press, which
//! borderlink maps to "patch me across the border" and similar requests.
//!
//! ETSI EN 300 392-2 §14.8.34 (table 14.72) splits the 16-bit space:
//!
//! | value            | meaning                                                        |
//! |------------------|----------------------------------------------------------------|
//! | 0                | emergency                                                      |
//! | 0x0001 – 0x7BFF  | reserved                                                       |
//! | 0x7C00 – 0x7FFF  | SDS-TL short report (§29.4.2.3): `011111`, 2-bit type, 8-bit message reference |
//! | 0x8000 – 0xFFFF  | available for TETRA network and user specific definitions      |
//!
//! The standard draws no line between "network" and "user" values inside 0x8000–0xFFFF; each
//! network assigns its own, so borderlink's status-to-action table is configuration.
//! On the PEI a status arrives as SDS with the status AI service and exactly 16 bits.

use core::fmt;

use serde::Serialize;

use super::SdsError;
use super::bits::{BitWriter, Bits};

/// A 16-bit pre-coded status value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Status(u16);

/// What a status value means by the standard's ranges; see [`Status::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// Value 0: emergency.
    Emergency,
    /// 0x0001–0x7BFF: reserved by the standard.
    Reserved,
    /// 0x7C00–0x7FFF: an SDS-TL short report on a message this terminal sent earlier.
    ShortReport {
        /// Why the report was sent.
        report: ShortReportType,
        /// The SDS-TL message reference it reports on.
        message_reference: u8,
    },
    /// 0x8000–0xFFFF: defined by the network or its users (the range field units use).
    NetworkUserSpecific,
}

/// SDS-TL short report type (EN 300 392-2 §29.4.3.11, table 29.23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortReportType {
    /// 0: protocol or encoding not supported.
    ProtocolOrEncodingNotSupported,
    /// 1: destination memory full.
    DestinationMemoryFull,
    /// 2: message received.
    MessageReceived,
    /// 3: message consumed.
    MessageConsumed,
}

impl ShortReportType {
    const fn from_bits(v: u16) -> Self {
        match v & 0b11 {
            0 => ShortReportType::ProtocolOrEncodingNotSupported,
            1 => ShortReportType::DestinationMemoryFull,
            2 => ShortReportType::MessageReceived,
            _ => ShortReportType::MessageConsumed,
        }
    }

    const fn bits(self) -> u16 {
        match self {
            ShortReportType::ProtocolOrEncodingNotSupported => 0,
            ShortReportType::DestinationMemoryFull => 1,
            ShortReportType::MessageReceived => 2,
            ShortReportType::MessageConsumed => 3,
        }
    }
}

impl Status {
    /// Length of a status message on the air and on the PEI, in bits.
    pub const BIT_LEN: u16 = 16;
    /// The emergency status.
    pub const EMERGENCY: Status = Status(0);
    /// First value of the SDS-TL short report range.
    pub const SHORT_REPORT_FIRST: u16 = 0x7c00;
    /// First value available for network and user definitions.
    pub const USER_FIRST: u16 = 0x8000;

    /// A status of this value.
    pub const fn new(value: u16) -> Self {
        Status(value)
    }

    /// An SDS-TL short report status.
    pub const fn short_report(report: ShortReportType, message_reference: u8) -> Self {
        Status(Self::SHORT_REPORT_FIRST | (report.bits() << 8) | message_reference as u16)
    }

    /// The value.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Which range of the standard the value falls in.
    pub const fn kind(self) -> StatusKind {
        match self.0 {
            0 => StatusKind::Emergency,
            0x0001..=0x7bff => StatusKind::Reserved,
            0x7c00..=0x7fff => StatusKind::ShortReport {
                report: ShortReportType::from_bits(self.0 >> 8),
                message_reference: (self.0 & 0xff) as u8,
            },
            _ => StatusKind::NetworkUserSpecific,
        }
    }

    /// Whether this is the emergency status.
    pub const fn is_emergency(self) -> bool {
        self.0 == 0
    }

    /// Parses a status from PEI user data, which must be exactly 16 bits.
    pub fn parse(bytes: &[u8], bits: u16) -> Result<Self, SdsError> {
        if bits != Self::BIT_LEN {
            return Err(if bits == 0 {
                SdsError::Empty
            } else {
                SdsError::StatusLength { bits }
            });
        }
        let mut r = Bits::new(bytes, bits)?.reader();
        // Sixteen bits are present, so this read cannot fail; `?` keeps it panic-free anyway.
        Ok(Status(r.read(16)? as u16))
    }

    /// Bytes [`Status::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        2
    }

    /// Writes the status big-endian into `buf`; returns the bytes written (2). The bit length to
    /// give the radio is [`Status::BIT_LEN`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        if buf.len() < 2 {
            return Err(SdsError::BufferTooSmall {
                needed: 2,
                available: buf.len(),
            });
        }
        let mut w = BitWriter::new(buf);
        w.write(u32::from(self.0), 16)?;
        Ok(w.finish().0)
    }
}

impl From<u16> for Status {
    fn from(value: u16) -> Self {
        Status(value)
    }
}

impl fmt::Display for Status {
    /// E.g. `status 32770 (0x8002, network/user-specific)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {} (0x{:04x}, ", self.0, self.0)?;
        match self.kind() {
            StatusKind::Emergency => f.write_str("emergency)"),
            StatusKind::Reserved => f.write_str("reserved)"),
            StatusKind::ShortReport {
                report,
                message_reference,
            } => {
                let what = match report {
                    ShortReportType::ProtocolOrEncodingNotSupported => "not supported",
                    ShortReportType::DestinationMemoryFull => "memory full",
                    ShortReportType::MessageReceived => "received",
                    ShortReportType::MessageConsumed => "consumed",
                };
                write!(
                    f,
                    "SDS-TL short report: message {message_reference} {what})"
                )
            }
            StatusKind::NetworkUserSpecific => f.write_str("network/user-specific)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn ranges_follow_table_14_72() {
        assert_eq!(Status::new(0).kind(), StatusKind::Emergency);
        assert_eq!(Status::new(1).kind(), StatusKind::Reserved);
        assert_eq!(Status::new(0x7bff).kind(), StatusKind::Reserved);
        assert_eq!(
            Status::new(0x7c00).kind(),
            StatusKind::ShortReport {
                report: ShortReportType::ProtocolOrEncodingNotSupported,
                message_reference: 0
            }
        );
        assert_eq!(
            Status::new(0x7ea5).kind(),
            StatusKind::ShortReport {
                report: ShortReportType::MessageReceived,
                message_reference: 0xa5
            }
        );
        assert_eq!(
            Status::new(0x7fff).kind(),
            StatusKind::ShortReport {
                report: ShortReportType::MessageConsumed,
                message_reference: 0xff
            }
        );
        assert_eq!(Status::new(0x8000).kind(), StatusKind::NetworkUserSpecific);
        assert_eq!(Status::new(0xffff).kind(), StatusKind::NetworkUserSpecific);
        assert_eq!(
            Status::short_report(ShortReportType::DestinationMemoryFull, 7).get(),
            0x7d07
        );
    }

    #[test]
    fn parses_and_emits_big_endian() {
        let s = Status::parse(&[0x80, 0x02], 16).unwrap();
        assert_eq!(s.get(), 0x8002);
        let mut buf = [0xa5u8; 3];
        assert_eq!(s.emit(&mut buf), Ok(2));
        assert_eq!(buf, [0x80, 0x02, 0xa5]);
    }

    #[test]
    fn display_names_the_range() {
        assert_eq!(
            Status::new(0x8002).to_string(),
            "status 32770 (0x8002, network/user-specific)"
        );
        assert_eq!(
            Status::EMERGENCY.to_string(),
            "status 0 (0x0000, emergency)"
        );
        assert_eq!(
            Status::new(0x7e05).to_string(),
            "status 32261 (0x7e05, SDS-TL short report: message 5 received)"
        );
    }

    #[test]
    fn status_of_wrong_length_is_refused() {
        assert_eq!(
            Status::parse(&[0x80, 0x02, 0x00], 24),
            Err(SdsError::StatusLength { bits: 24 })
        );
        assert_eq!(
            Status::parse(&[0x80], 8),
            Err(SdsError::StatusLength { bits: 8 })
        );
        assert_eq!(Status::parse(&[], 0), Err(SdsError::Empty));
    }

    #[test]
    fn status_claiming_more_bits_than_bytes_is_refused() {
        assert_eq!(
            Status::parse(&[0x80], 16),
            Err(SdsError::BitLengthExceedsData {
                bits: 16,
                available: 8
            })
        );
    }

    #[test]
    fn emit_into_a_short_buffer_fails() {
        assert_eq!(
            Status::new(1).emit(&mut [0u8; 1]),
            Err(SdsError::BufferTooSmall {
                needed: 2,
                available: 1
            })
        );
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(v in any::<u16>()) {
            let mut buf = [0xa5u8; 2];
            let n = Status::new(v).emit(&mut buf).unwrap();
            prop_assert_eq!(Status::parse(&buf[..n], Status::BIT_LEN), Ok(Status::new(v)));
        }
    }
}
