//! What can be wrong with a PEI line, and with a command or event the caller asks to emit.
//!
//! A [`PeiError`] never ends the stream: the parser reports it and carries on with the next
//! line. It says which line (1-based, counting CR, LF and CRLF once each) and what, down to
//! the parameter of a known result code.

use core::fmt;

use crate::ids::IdError;

/// A result code borderlink parses; names the line an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// `+CME ERROR`: final result with an error number.
    CmeError,
    /// `+CTICN`: incoming call notification.
    Cticn,
    /// `+CTCC`: call connected.
    Ctcc,
    /// `+CTXG`: transmission grant.
    Ctxg,
    /// `+CDTXC`: down transmission ceased.
    Cdtxc,
    /// `+CTCR`: call released.
    Ctcr,
    /// `+CTXI`: transmission interrupted.
    Ctxi,
    /// `+CTXW`: transmission wait.
    Ctxw,
    /// `+CTSDSR`: SDS received.
    Ctsdsr,
    /// `+CMGS`: SDS send result.
    Cmgs,
    /// `+CSQ`: signal quality.
    Csq,
    /// `+CNUMF`: the radio's fixed identities.
    Cnumf,
    /// `+CTOM`: operating mode.
    Ctom,
    /// `+CTGS`: group selection.
    Ctgs,
    /// `+CREG`: registration state on the network (answer and unsolicited).
    Creg,
    /// `+CNUMS`: the radio's static identities (its groups among them).
    Cnums,
    /// `+GMI`: manufacturer.
    Gmi,
    /// `+GMM`: model.
    Gmm,
    /// `+GMR`: revision (firmware).
    Gmr,
}

impl ResultCode {
    /// Every result code, in the order the parser tries them.
    pub const ALL: [ResultCode; 19] = [
        ResultCode::CmeError,
        ResultCode::Cticn,
        ResultCode::Ctcc,
        ResultCode::Ctxg,
        ResultCode::Cdtxc,
        ResultCode::Ctcr,
        ResultCode::Ctxi,
        ResultCode::Ctxw,
        ResultCode::Ctsdsr,
        ResultCode::Cmgs,
        ResultCode::Csq,
        ResultCode::Cnumf,
        ResultCode::Ctom,
        ResultCode::Ctgs,
        ResultCode::Creg,
        ResultCode::Cnums,
        ResultCode::Gmi,
        ResultCode::Gmm,
        ResultCode::Gmr,
    ];

    /// The code as it starts a line, without the colon.
    pub const fn name(self) -> &'static str {
        match self {
            ResultCode::CmeError => "+CME ERROR",
            ResultCode::Cticn => "+CTICN",
            ResultCode::Ctcc => "+CTCC",
            ResultCode::Ctxg => "+CTXG",
            ResultCode::Cdtxc => "+CDTXC",
            ResultCode::Ctcr => "+CTCR",
            ResultCode::Ctxi => "+CTXI",
            ResultCode::Ctxw => "+CTXW",
            ResultCode::Ctsdsr => "+CTSDSR",
            ResultCode::Cmgs => "+CMGS",
            ResultCode::Csq => "+CSQ",
            ResultCode::Cnumf => "+CNUMF",
            ResultCode::Ctom => "+CTOM",
            ResultCode::Ctgs => "+CTGS",
            ResultCode::Creg => "+CREG",
            ResultCode::Cnums => "+CNUMS",
            ResultCode::Gmi => "+GMI",
            ResultCode::Gmm => "+GMM",
            ResultCode::Gmr => "+GMR",
        }
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with one parameter of a known result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldFault {
    /// The parameter is mandatory but absent or empty.
    Missing,
    /// Not a decimal number (a character other than a digit at this offset in the field).
    NotNumber {
        /// Byte offset of the offending character within the trimmed field.
        offset: usize,
    },
    /// A number outside the parameter's table or range.
    OutOfRange,
    /// An identity that is not a valid PEI digit string.
    Identity(IdError),
    /// A list parameter with more entries than the parser keeps.
    TooManyEntries {
        /// How many entries are kept.
        capacity: usize,
    },
}

impl fmt::Display for FieldFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldFault::Missing => f.write_str("missing"),
            FieldFault::NotNumber { offset } => write!(f, "not a number (offset {offset})"),
            FieldFault::OutOfRange => f.write_str("out of range"),
            FieldFault::Identity(e) => write!(f, "bad identity: {e}"),
            FieldFault::TooManyEntries { capacity } => {
                write!(f, "more than {capacity} entries")
            }
        }
    }
}

/// What is wrong with the hex user-data line that follows a `+CTSDSR` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdsDataFault {
    /// A byte that is not a hex digit, at this offset in the line.
    NotHex {
        /// Byte offset of the offending byte.
        offset: usize,
    },
    /// An odd number of hex digits that is not the exact nibble count of the stated length.
    OddDigits {
        /// How many hex digits the line has.
        digits: usize,
    },
    /// Fewer hex digits than the stated length needs.
    TooShort {
        /// How many hex digits the line has.
        digits: usize,
        /// The length in bits the header stated.
        bits: u16,
    },
    /// More hex digits than the stated length, rounded up to whole bytes.
    TooLong {
        /// How many hex digits the line has.
        digits: usize,
        /// The length in bits the header stated.
        bits: u16,
    },
}

impl fmt::Display for SdsDataFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdsDataFault::NotHex { offset } => write!(f, "not a hex digit at offset {offset}"),
            SdsDataFault::OddDigits { digits } => write!(f, "odd number of hex digits ({digits})"),
            SdsDataFault::TooShort { digits, bits } => {
                write!(f, "{digits} hex digits are too few for {bits} bits")
            }
            SdsDataFault::TooLong { digits, bits } => {
                write!(f, "{digits} hex digits are too many for {bits} bits")
            }
        }
    }
}

/// The kind of fault in a PEI line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The line did not fit the parser's buffer; its bytes up to the next line end are
    /// dropped (and a `+CTSDSR` waiting for its data line is dropped with them).
    LineTooLong {
        /// The parser's line capacity in bytes.
        capacity: usize,
    },
    /// The line is not valid UTF-8 from this byte offset on.
    NotUtf8 {
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// A known result code with a bad parameter.
    Field {
        /// The result code the line starts with.
        code: ResultCode,
        /// 0-based index of the parameter.
        index: u8,
        /// The parameter's name in the standard.
        name: &'static str,
        /// What is wrong with it.
        fault: FieldFault,
    },
    /// A `+CTSDSR` header was followed by another result instead of its hex data line; the
    /// message is lost and the other line is parsed as usual.
    SdsDataMissing,
    /// The hex data line of a `+CTSDSR` is broken; the message is lost.
    SdsData(SdsDataFault),
}

/// A fault in the PEI byte stream, with the line it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeiError {
    /// 1-based line number ([`super::parse_line`] calls its input line 1). For SDS faults,
    /// the line of the `+CTSDSR` header.
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::LineTooLong { capacity } => {
                write!(f, "line longer than {capacity} bytes, skipped")
            }
            ErrorKind::NotUtf8 { offset } => write!(f, "not UTF-8 at byte {offset}"),
            ErrorKind::Field {
                code,
                index,
                name,
                fault,
            } => {
                write!(f, "{code} parameter {index} {name}: {fault}")
            }
            ErrorKind::SdsDataMissing => {
                f.write_str("+CTSDSR not followed by its hex data line, message lost")
            }
            ErrorKind::SdsData(fault) => write!(f, "+CTSDSR data line: {fault}, message lost"),
        }
    }
}

impl fmt::Display for PeiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PEI line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for PeiError {}

/// Why a command or event could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmitError {
    /// The output buffer is shorter than the bytes to write.
    BufferTooSmall {
        /// How many bytes the output needs.
        needed: usize,
        /// How many the buffer has.
        available: usize,
    },
    /// A value that would not parse back, e.g. a priority above 15 or a line break in text.
    InvalidValue {
        /// Which value.
        what: &'static str,
    },
    /// SDS user data whose byte count does not match its length in bits.
    UserDataLength {
        /// The stated length in bits.
        bits: u16,
        /// The bytes supplied.
        bytes: usize,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall { needed, available } => {
                write!(f, "output needs {needed} bytes, buffer has {available}")
            }
            EmitError::InvalidValue { what } => write!(f, "invalid {what}"),
            EmitError::UserDataLength { bits, bytes } => {
                write!(
                    f,
                    "{bytes} bytes of user data do not hold exactly {bits} bits"
                )
            }
        }
    }
}

impl core::error::Error for EmitError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn messages_name_line_code_and_parameter() {
        let e = PeiError {
            line: 7,
            kind: ErrorKind::Field {
                code: ResultCode::Ctxg,
                index: 1,
                name: "<TxGrant>",
                fault: FieldFault::NotNumber { offset: 0 },
            },
        };
        assert_eq!(
            e.to_string(),
            "PEI line 7: +CTXG parameter 1 <TxGrant>: not a number (offset 0)"
        );
        let e = PeiError {
            line: 2,
            kind: ErrorKind::SdsData(SdsDataFault::OddDigits { digits: 7 }),
        };
        assert_eq!(
            e.to_string(),
            "PEI line 2: +CTSDSR data line: odd number of hex digits (7), message lost"
        );
    }
}
