//! The streaming PEI parser: bytes from the serial port in, one [`Event`] at a time out.
//!
//! Lines end in CR, LF or CRLF (CRLF counts as one line end); blank lines are skipped. A line
//! is complete only at its line end, so a chunk that stops mid-line yields nothing until the
//! rest arrives. Two things are not plain lines:
//!
//! - The SDS prompt `> ` has no line end: the radio prints it and waits. The parser reports
//!   [`Event::Prompt`] as soon as a line starts with those two bytes.
//! - A `+CTSDSR` header is held back until the hex data line after it arrives, and the two
//!   are reported together as [`Event::SdsReceived`]. If a result line (one starting with `+`
//!   or `>`, or any line [`super::parse_line`] recognises) comes instead, the header is
//!   reported as [`ErrorKind::SdsDataMissing`] and the result line is parsed as usual on the
//!   next call.
//!
//! Resynchronisation: a line longer than the buffer yields one [`ErrorKind::LineTooLong`]
//! when its first excess byte arrives, and everything up to the next line end is dropped.
//! A line that is not UTF-8 yields [`ErrorKind::NotUtf8`]. A bare `<num type>,<identity>`
//! line right after a `+CNUMF` line is read as a further entry of it. Whatever happens, the
//! next line is parsed afresh, and how the input is split into chunks never changes the
//! sequence of events.

use core::mem;
use core::str;

use super::error::{ErrorKind, PeiError};
use super::event::{Event, NumberEntry, SdsHeader, SdsReceived};
use super::line::{self, parse_number_entry};
use super::user_data::{MAX_USER_DATA_BYTES, UserData, decode_hex};

/// A `+CTSDSR` header waiting for its data line.
#[derive(Debug, Clone, Copy)]
struct Pending {
    header: SdsHeader,
    line: u32,
}

/// Which identity list bare `<num type>,<identity>` lines continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberList {
    /// `+CNUMF`: fixed identities.
    Fixed,
    /// `+CNUMS`: static identities.
    Static,
}

/// What completed on a byte, decided while the parser is borrowed mutably; turned into an
/// event borrowing the parser by [`PeiParser::render`].
#[derive(Debug, Clone, Copy)]
enum Ready {
    /// The line in the buffer parses to this line number's event.
    Line(u32),
    /// A received SDS whose data is the first `len` bytes of the data buffer.
    Sds { header: SdsHeader, len: usize },
    /// A bare continuation entry of `+CNUMF` or `+CNUMS`.
    Number(NumberList, NumberEntry),
    /// The `> ` prompt.
    Prompt,
    /// A fault.
    Error(PeiError),
}

/// Turns the radio's byte stream into [`Event`]s; `N` is the longest line it keeps.
///
/// `N` of 512 or more holds the longest SDS data line (2047 bits in 512 hex digits); the
/// longest result line borderlink parses is under 100 bytes. Call [`PeiParser::push`] with
/// the bytes read, and again with the rest, until it returns `None`:
///
/// ```
/// use borderlink_protocol::pei::{Event, PeiParser};
///
/// let mut parser = PeiParser::<512>::new();
/// let mut chunk: &[u8] = b"+CTSDSR: 13,2040123,0,2040551,0,16\r\n8003\r\nOK";
/// let mut seen = 0;
/// loop {
///     let (used, event) = parser.push(chunk);
///     chunk = &chunk[used..];
///     match event {
///         Some(Ok(Event::SdsReceived(sds))) => {
///             assert_eq!(sds.data.as_bytes(), &[0x80, 0x03]);
///             seen += 1;
///         }
///         Some(other) => panic!("{other:?}"),
///         None => break,
///     }
/// }
/// // "OK" has no line end yet: it stays buffered until the next chunk.
/// assert_eq!((seen, parser.buffered()), (1, 2));
/// ```
#[derive(Debug, Clone)]
pub struct PeiParser<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// The buffer holds a finished line an event may still borrow: clear it on the next push.
    stale: bool,
    /// The buffer holds a finished line, with this number, still to be parsed.
    held: Option<u32>,
    /// Dropping the rest of an overlong line.
    discarding: bool,
    /// The last byte was CR, so an LF now completes a CRLF rather than ending a line.
    last_cr: bool,
    /// Number of the line being read, from 1.
    line: u32,
    pending: Option<Pending>,
    /// The last line was (a continuation of) this identity list.
    after_list: Option<NumberList>,
    data: [u8; MAX_USER_DATA_BYTES],
}

impl<const N: usize> Default for PeiParser<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PeiParser<N> {
    /// A parser at the start of a stream.
    pub const fn new() -> Self {
        PeiParser {
            buf: [0; N],
            len: 0,
            stale: false,
            held: None,
            discarding: false,
            last_cr: false,
            line: 1,
            pending: None,
            after_list: None,
            data: [0; MAX_USER_DATA_BYTES],
        }
    }

    /// Forgets everything, as after reopening the serial port.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Number of the line being read (1-based).
    pub const fn line(&self) -> u32 {
        self.line
    }

    /// Bytes of an unfinished line held so far; non-zero at the end of a transcript means it
    /// stopped mid-line.
    pub const fn buffered(&self) -> usize {
        if self.stale || self.held.is_some() {
            0
        } else {
            self.len
        }
    }

    /// Whether a `+CTSDSR` header is waiting for its data line.
    pub const fn awaiting_sds_data(&self) -> bool {
        self.pending.is_some()
    }

    /// Consumes bytes up to the next event and returns how many it used with the event.
    ///
    /// Returns `None` only once every byte is consumed; with `Some`, call again with the
    /// bytes not yet used (possibly all of them: a line held back behind an SDS fault is
    /// reported without consuming input). The event borrows the parser until the next call.
    pub fn push(&mut self, bytes: &[u8]) -> (usize, Option<Result<Event<'_>, PeiError>>) {
        if mem::take(&mut self.stale) {
            self.len = 0;
        }
        if let Some(line) = self.held.take()
            && let Some(ready) = self.finish_line(line)
        {
            return (0, Some(self.render(ready)));
        }
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(ready) = self.byte(b) {
                return (i + 1, Some(self.render(ready)));
            }
        }
        (bytes.len(), None)
    }

    fn byte(&mut self, b: u8) -> Option<Ready> {
        if b == b'\r' || b == b'\n' {
            let second_half_of_crlf = b == b'\n' && self.last_cr;
            self.last_cr = b == b'\r';
            if second_half_of_crlf {
                return None;
            }
            let line = self.line;
            self.line = self.line.saturating_add(1);
            if mem::take(&mut self.discarding) || self.len == 0 {
                self.len = 0;
                return None;
            }
            return self.finish_line(line);
        }
        self.last_cr = false;
        if self.discarding {
            return None;
        }
        let Some(slot) = self.buf.get_mut(self.len) else {
            self.discarding = true;
            self.len = 0;
            // The data line of a waiting SDS is what overflowed, or it will never come.
            self.pending = None;
            self.after_list = None;
            let kind = ErrorKind::LineTooLong { capacity: N };
            return Some(Ready::Error(PeiError {
                line: self.line,
                kind,
            }));
        };
        *slot = b;
        self.len += 1;
        if self.buf.get(..self.len) == Some(b"> ".as_slice()) {
            if let Some(p) = self.pending.take() {
                self.held = Some(self.line);
                let kind = ErrorKind::SdsDataMissing;
                return Some(Ready::Error(PeiError { line: p.line, kind }));
            }
            self.after_list = None;
            self.len = 0;
            return Some(Ready::Prompt);
        }
        None
    }

    /// Decides what the finished line in the buffer is, and leaves the buffer to be cleared:
    /// now if nothing borrows it, on the next push if an event will.
    fn finish_line(&mut self, line: u32) -> Option<Ready> {
        let ready = self.classify(line);
        match ready {
            None => self.len = 0,
            Some(_) if self.held.is_none() => self.stale = true,
            Some(_) => {}
        }
        ready
    }

    fn classify(&mut self, line: u32) -> Option<Ready> {
        let text = self.buf.get(..self.len).unwrap_or(&[]);
        if let Some(p) = self.pending.take() {
            let data_line = trim(text);
            if !is_data_line(data_line) {
                self.held = Some(line);
                return Some(Ready::Error(PeiError {
                    line: p.line,
                    kind: ErrorKind::SdsDataMissing,
                }));
            }
            return Some(match decode_hex(data_line, p.header.bits, &mut self.data) {
                Ok(len) => Ready::Sds {
                    header: p.header,
                    len,
                },
                Err(fault) => Ready::Error(PeiError {
                    line: p.line,
                    kind: ErrorKind::SdsData(fault),
                }),
            });
        }
        let continues = self.after_list.take();
        let s = match str::from_utf8(text) {
            Ok(s) => s,
            Err(e) => {
                let kind = ErrorKind::NotUtf8 {
                    offset: e.valid_up_to(),
                };
                return Some(Ready::Error(PeiError { line, kind }));
            }
        };
        if let Some(list) = continues
            && let Some(entry) = parse_number_entry(s)
        {
            self.after_list = Some(list);
            return Some(Ready::Number(list, entry));
        }
        match line::parse(s) {
            Ok(Event::SdsHeader(header)) if header.bits == 0 => Some(Ready::Sds { header, len: 0 }),
            Ok(Event::SdsHeader(header)) => {
                self.pending = Some(Pending { header, line });
                None
            }
            Ok(Event::OwnNumber(_)) => {
                self.after_list = Some(NumberList::Fixed);
                Some(Ready::Line(line))
            }
            Ok(Event::StaticIdentity(_)) => {
                self.after_list = Some(NumberList::Static);
                Some(Ready::Line(line))
            }
            Ok(_) => Some(Ready::Line(line)),
            Err(kind) => Some(Ready::Error(PeiError { line, kind })),
        }
    }

    fn render(&self, ready: Ready) -> Result<Event<'_>, PeiError> {
        match ready {
            Ready::Line(line) => {
                let text = self.buf.get(..self.len).unwrap_or(&[]);
                match str::from_utf8(text) {
                    Ok(s) => line::parse(s).map_err(|kind| PeiError { line, kind }),
                    // Checked in `classify`; kept total rather than trusted.
                    Err(e) => Err(PeiError {
                        line,
                        kind: ErrorKind::NotUtf8 {
                            offset: e.valid_up_to(),
                        },
                    }),
                }
            }
            Ready::Sds { header, len } => Ok(Event::SdsReceived(SdsReceived {
                header,
                data: UserData(self.data.get(..len).unwrap_or(&[])),
            })),
            Ready::Number(NumberList::Fixed, entry) => Ok(Event::OwnNumber(entry)),
            Ready::Number(NumberList::Static, entry) => Ok(Event::StaticIdentity(entry)),
            Ready::Prompt => Ok(Event::Prompt),
            Ready::Error(e) => Err(e),
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let start = line.iter().position(|c| !blank(c)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|c| !blank(c))
        .map_or(start, |i| i + 1);
    line.get(start..end).unwrap_or(&[])
}

/// Whether a line after a `+CTSDSR` header is its data (possibly broken) rather than the
/// next result: result lines start with `+` or `>`, or are a line `parse_line` recognises.
fn is_data_line(line: &[u8]) -> bool {
    match line.first() {
        None | Some(b'+') | Some(b'>') => false,
        Some(_) => match str::from_utf8(line) {
            Ok(s) => matches!(line::parse(s), Ok(Event::Unrecognised(_))),
            Err(_) => true,
        },
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ids::{PeiIdentity, Ssi, Tsi, TsiForm};
    use crate::pei::cause::DisconnectCause;
    use crate::pei::error::{FieldFault, ResultCode, SdsDataFault};
    use crate::pei::event::{
        CallConnected, CallReleased, CmeError, GroupEntry, GroupList, IncomingCall, Registration,
        SdsSendResult, SignalQuality, TxCeased, TxGranted, TxInterrupted, TxWait,
    };
    use crate::pei::param::*;
    use crate::pei::parse_line;
    use proptest::prelude::*;
    use std::format;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    type Parser = PeiParser<512>;

    /// Feeds `input` in one go and records each event or error by its Debug form.
    fn run<const N: usize>(parser: &mut PeiParser<N>, mut input: &[u8], out: &mut Vec<String>) {
        loop {
            let (used, event) = parser.push(input);
            input = &input[used..];
            match event {
                Some(e) => out.push(format!("{e:?}")),
                None => break,
            }
        }
        assert!(input.is_empty());
    }

    fn all_at_once(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        run(&mut Parser::new(), input, &mut out);
        out
    }

    fn in_chunks(input: &[u8], sizes: &[usize]) -> Vec<String> {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .clamp(1, rest.len());
            run(&mut parser, &rest[..n], &mut out);
            rest = &rest[n..];
            i += 1;
        }
        out
    }

    fn events(input: &[u8]) -> Vec<Result<String, PeiError>> {
        let mut parser = Parser::new();
        let mut rest = input;
        let mut out = Vec::new();
        loop {
            let (used, event) = parser.push(rest);
            rest = &rest[used..];
            match event {
                Some(Ok(e)) => out.push(Ok(format!("{e:?}"))),
                Some(Err(e)) => out.push(Err(e)),
                None => break,
            }
        }
        out
    }

    fn dbg(e: Event<'_>) -> Result<String, PeiError> {
        Ok(format!("{e:?}"))
    }

    fn ssi(v: u32) -> PeiIdentity {
        PeiIdentity::Ssi(Ssi::new(v).unwrap())
    }

    #[test]
    fn every_line_end_and_blank_lines() {
        let got = events(b"OK\r\nERROR\nOK\r\r\n\n\r\nERROR\r");
        assert_eq!(
            got,
            [
                dbg(Event::Ok),
                dbg(Event::Error),
                dbg(Event::Ok),
                dbg(Event::Error)
            ]
        );
    }

    #[test]
    fn line_numbers_count_crlf_once() {
        let got = events(b"OK\r\n\r\n+CTXG: x\r\n");
        assert_eq!(
            got[1],
            Err(PeiError {
                line: 3,
                kind: ErrorKind::Field {
                    code: ResultCode::Ctxg,
                    index: 0,
                    name: "<CC instance>",
                    fault: FieldFault::NotNumber { offset: 0 },
                },
            })
        );
    }

    #[test]
    fn echo_then_answer() {
        let got = events(b"AT+CTOM?\r\r\n+CTOM: 0\r\n\r\nOK\r\n");
        assert_eq!(
            got,
            [
                dbg(Event::Echo("AT+CTOM?")),
                dbg(Event::OperatingMode(AiMode::Trunked)),
                dbg(Event::Ok)
            ]
        );
    }

    #[test]
    fn a_group_call_from_start_to_release() {
        let transcript = b"\r\n+CTICN: 1,0,0,0,2061234,1,1,0,1,1,0,2061001,0\r\n\
            \r\n+CTXG: 1,3,0,0,0,2061234\r\n\r\n+CDTXC: 1,0\r\n\r\n+CTCR: 1,13\r\n";
        let got = events(transcript);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[3],
            dbg(Event::CallReleased(CallReleased {
                cc: 1,
                cause: DisconnectCause::TimerExpiry
            }))
        );
        assert_eq!(
            got[2],
            dbg(Event::TxCeased(TxCeased {
                cc: 1,
                permission: TxRequestPermission::Allowed
            }))
        );
    }

    #[test]
    fn sds_header_and_data_become_one_event() {
        let mut p = Parser::new();
        let (n, e) = p.push(b"+CTSDSR: 12,2040123,0,2040551,0,32\r\n");
        assert_eq!((n, e.is_none()), (36, true));
        assert!(p.awaiting_sds_data());
        let (n, e) = p.push(b"82040801\r\n");
        let Some(Ok(Event::SdsReceived(s))) = e else {
            panic!("{e:?}")
        };
        // The CR completes the line; the LF of the CRLF is left for the next call.
        assert_eq!(n, 9);
        assert_eq!(s.header.calling, Some(ssi(2_040_123)));
        assert_eq!(s.header.called, ssi(2_040_551));
        assert_eq!(s.data.as_bytes(), &[0x82, 0x04, 0x08, 0x01]);
        assert!(!p.awaiting_sds_data());
        assert_eq!(p.push(b"\n"), (1, None));
    }

    #[test]
    fn longest_sds_fits_a_512_byte_line() {
        let mut input = Vec::from(&b"+CTSDSR: 12,1,0,2,0,2047\r\n"[..]);
        input.extend(core::iter::repeat_n(b'F', 512));
        input.extend_from_slice(b"\r\n");
        let got = events(&input);
        assert_eq!(got.len(), 1);
        let mut p = Parser::new();
        let mut rest = &input[..];
        loop {
            let (used, e) = p.push(rest);
            rest = &rest[used..];
            if let Some(Ok(Event::SdsReceived(s))) = e {
                assert_eq!(s.data.as_bytes().len(), 256);
                assert!(s.data.as_bytes().iter().all(|&b| b == 0xff));
                break;
            }
            assert!(e.is_none(), "{e:?}");
        }
    }

    #[test]
    fn missing_sds_data_line() {
        let got = events(b"+CTSDSR: 13,2040123,0,2040551,0,16\r\n+CTCR: 1,14\r\nOK\r\n");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::SdsDataMissing
                }),
                dbg(Event::CallReleased(CallReleased {
                    cc: 1,
                    cause: DisconnectCause::SwmiDisconnect
                })),
                dbg(Event::Ok),
            ]
        );
        // A final result instead of data is not taken for data either.
        let got = events(b"+CTSDSR: 13,1,0,2,0,16\r\nERROR\r\n");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::SdsDataMissing
                }),
                dbg(Event::Error)
            ]
        );
        // Nor is an unknown result code.
        let got = events(b"+CTSDSR: 13,1,0,2,0,16\r\n+CBC: 1\r\n");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::SdsDataMissing
                }),
                dbg(Event::Unrecognised("+CBC: 1"))
            ]
        );
    }

    #[test]
    fn sds_header_after_sds_header() {
        let got = events(b"+CTSDSR: 13,1,0,2,0,16\r\n+CTSDSR: 13,1,0,2,0,16\r\n8003\r\n");
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Err(PeiError {
                line: 1,
                kind: ErrorKind::SdsDataMissing
            })
        );
        assert!(got[1].as_ref().unwrap().starts_with("SdsReceived"));
    }

    #[test]
    fn bad_hex() {
        let got = events(b"+CTSDSR: 13,1,0,2,0,16\r\n80G3\r\nOK\r\n");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::SdsData(SdsDataFault::NotHex { offset: 2 })
                }),
                dbg(Event::Ok)
            ]
        );
        let got = events(b"+CTSDSR: 12,1,0,2,0,32\r\n8204080\r\n");
        assert_eq!(
            got,
            [Err(PeiError {
                line: 1,
                kind: ErrorKind::SdsData(SdsDataFault::OddDigits { digits: 7 })
            })]
        );
        let got = events(b"+CTSDSR: 12,1,0,2,0,32\r\n820408010203\r\n");
        assert_eq!(
            got,
            [Err(PeiError {
                line: 1,
                kind: ErrorKind::SdsData(SdsDataFault::TooLong {
                    digits: 12,
                    bits: 32
                })
            })]
        );
        // A data line that is not UTF-8 is still the data line, and broken.
        let got = events(b"+CTSDSR: 12,1,0,2,0,32\r\n82\xff40801\r\n");
        assert_eq!(
            got,
            [Err(PeiError {
                line: 1,
                kind: ErrorKind::SdsData(SdsDataFault::NotHex { offset: 2 })
            })]
        );
    }

    #[test]
    fn prompt_needs_no_line_end_and_may_arrive_split() {
        let mut p = Parser::new();
        assert_eq!(
            p.push(b"AT+CMGS=2040551,16\r\r\n>").1.map(|r| r.is_ok()),
            Some(true)
        );
        let (n, e) = p.push(b">");
        assert_eq!((n, e.is_none()), (1, true));
        let (n, e) = p.push(b" ");
        assert_eq!((n, e), (1, Some(Ok(Event::Prompt))));
        // The radio then reports the send.
        let got = events(b"> \r\n+CMGS: 0\r\n\r\nOK\r\n");
        assert_eq!(
            got,
            [
                dbg(Event::Prompt),
                dbg(Event::SdsSent(SdsSendResult {
                    instance: 0,
                    status: None,
                    reference: None
                })),
                dbg(Event::Ok),
            ]
        );
    }

    #[test]
    fn prompt_while_sds_waits_reports_the_sds_first() {
        let got = events(b"+CTSDSR: 13,1,0,2,0,16\r\n> ");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::SdsDataMissing
                }),
                dbg(Event::Prompt)
            ]
        );
    }

    #[test]
    fn cnumf_continuation_lines() {
        // As printed by a German BOS radio: further entries follow on bare lines.
        let got = events(b"+CNUMF: 0,2620100108280651\r\n2,16777184\r\n\r\nOK\r\n2,16777184\r\n");
        assert_eq!(got.len(), 4);
        assert!(got[1].as_ref().unwrap().contains("PstnGateway"));
        assert_eq!(got[2], dbg(Event::Ok));
        assert_eq!(got[3], dbg(Event::Unrecognised("2,16777184")));
    }

    #[test]
    fn ten_kilobyte_line() {
        let mut input = Vec::from(&b"+CTXG: 1,0,0,0\r\n"[..]);
        input.extend(core::iter::repeat_n(b'7', 10 * 1024));
        input.extend_from_slice(b"\r\n+CTCR: 1,9\r\n");
        let got = events(&input);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            Err(PeiError {
                line: 2,
                kind: ErrorKind::LineTooLong { capacity: 512 }
            })
        );
        assert_eq!(
            got[2],
            dbg(Event::CallReleased(CallReleased {
                cc: 1,
                cause: DisconnectCause::PreEmption
            }))
        );
        // The same in 1-byte chunks.
        assert_eq!(in_chunks(&input, &[1]), all_at_once(&input));
    }

    #[test]
    fn line_of_exactly_the_capacity_fits() {
        let mut p = PeiParser::<4>::new();
        let mut out = Vec::new();
        run(&mut p, b"+CSQ\r\nERROR\r\nOK\r\n", &mut out);
        assert_eq!(
            out,
            [
                "Ok(Unrecognised(\"+CSQ\"))",
                "Err(PeiError { line: 2, kind: LineTooLong { capacity: 4 } })",
                "Ok(Ok)"
            ]
        );
    }

    #[test]
    fn not_utf8() {
        let got = events(b"+CTXG: 1,\xc3\x28,0,0\r\nOK\r\n");
        assert_eq!(
            got,
            [
                Err(PeiError {
                    line: 1,
                    kind: ErrorKind::NotUtf8 { offset: 9 }
                }),
                dbg(Event::Ok)
            ]
        );
    }

    #[test]
    fn truncated_line_at_end_of_stream() {
        let mut p = Parser::new();
        let (n, e) = p.push(b"OK\r\n+CTCR: 1,1");
        assert_eq!((n, e), (3, Some(Ok(Event::Ok))));
        let (n, e) = p.push(b"\n+CTCR: 1,1");
        assert_eq!((n, e.is_none()), (11, true));
        assert_eq!(p.buffered(), 10);
        let (n, e) = p.push(b"\n");
        assert_eq!(n, 1);
        assert_eq!(
            e,
            Some(Ok(Event::CallReleased(CallReleased {
                cc: 1,
                cause: DisconnectCause::UserRequest
            })))
        );
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn unrecognised_lines_do_not_stop_the_stream() {
        let got = events(b"+CBC: 1,2\r\nNO CARRIER\r\nOK\r\n");
        assert_eq!(
            got,
            [
                dbg(Event::Unrecognised("+CBC: 1,2")),
                dbg(Event::Unrecognised("NO CARRIER")),
                dbg(Event::Ok)
            ]
        );
    }

    // ---- Round trips: events written as a radio would, parsed back in random chunks. ----

    fn leak<T: ?Sized>(b: std::boxed::Box<T>) -> &'static T {
        std::boxed::Box::leak(b)
    }

    fn any_identity() -> impl Strategy<Value = PeiIdentity> {
        prop_oneof![
            (0..=Ssi::MAX).prop_map(|v| PeiIdentity::Ssi(Ssi::new(v).unwrap())),
            (0..=1023u16, 0..=16383u16, 0..=Ssi::MAX)
                .prop_map(|(a, b, c)| PeiIdentity::Tsi(Tsi::from_parts(a, b, c).unwrap())),
        ]
    }

    /// Any code of a coded parameter: the table's own values half of the time, any number up to
    /// 65535 (nearly all `Unknown`) otherwise, so every enumerated field is tried with values
    /// its table does not list.
    fn coded<T: core::fmt::Debug>(from_code: fn(u16) -> T) -> impl Strategy<Value = T> {
        prop_oneof![0..16u16, any::<u16>()].prop_map(from_code)
    }

    fn incoming() -> impl Strategy<Value = IncomingCall> {
        (
            (
                any::<u16>(),
                coded(CallStatus::from_code),
                coded(AiService::from_code),
            ),
            (
                proptest::option::of(coded(IdentityType::from_code)),
                proptest::option::of(any_identity()),
            ),
            (
                proptest::option::of(coded(Hook::from_code)),
                proptest::option::of(coded(Simplex::from_code)),
                proptest::option::of(coded(Encryption::from_code)),
            ),
            (
                proptest::option::of(coded(CommsType::from_code)),
                proptest::option::of(any::<u8>()),
            ),
            (
                proptest::option::of(coded(IdentityType::from_code)),
                proptest::option::of(any_identity()),
                proptest::option::of(any::<u8>()),
            ),
        )
            .prop_map(
                |(
                    (cc, status, ai_service),
                    (calling_type, calling),
                    (hook, simplex, encrypted),
                    (comms_type, slots_codec),
                    (called_type, called, priority),
                )| {
                    IncomingCall {
                        cc,
                        status,
                        ai_service,
                        calling_type,
                        calling,
                        hook,
                        simplex,
                        encrypted,
                        comms_type,
                        slots_codec,
                        called_type,
                        called,
                        priority,
                    }
                },
            )
    }

    fn sds() -> impl Strategy<Value = Event<'static>> {
        (
            coded(AiService::from_code),
            proptest::option::of(any_identity()),
            proptest::option::of(coded(IdentityType::from_code)),
            any_identity(),
            proptest::option::of(coded(IdentityType::from_code)),
            0..=2047u16,
            proptest::option::of(coded(Encryption::from_code)),
        )
            .prop_flat_map(
                |(ai_service, calling, calling_type, called, called_type, bits, encrypted)| {
                    let header = SdsHeader {
                        ai_service,
                        calling,
                        calling_type,
                        called,
                        called_type,
                        bits,
                        encrypted,
                    };
                    proptest::collection::vec(any::<u8>(), usize::from(bits).div_ceil(8)).prop_map(
                        move |data| {
                            Event::SdsReceived(SdsReceived {
                                header,
                                data: UserData(leak(data.into_boxed_slice())),
                            })
                        },
                    )
                },
            )
    }

    fn any_event() -> impl Strategy<Value = Event<'static>> {
        let permission = || coded(TxRequestPermission::from_code);
        prop_oneof![
            Just(Event::Ok),
            Just(Event::Error),
            Just(Event::Prompt),
            any::<u16>().prop_map(|n| Event::CmeError(CmeError(n))),
            "AT[+A-Z0-9=?,]{0,30}".prop_map(|s| Event::Echo(leak(s.into_boxed_str()))),
            "[G-NP-Z][A-Za-z0-9 ,:]{0,30}[A-Za-z0-9]"
                .prop_map(|s| Event::Unrecognised(leak(s.into_boxed_str()))),
            incoming().prop_map(Event::IncomingCall),
            (
                any::<u16>(),
                proptest::option::of(coded(Hook::from_code)),
                proptest::option::of(coded(Simplex::from_code)),
                proptest::option::of(coded(AiService::from_code)),
                proptest::option::of(coded(Encryption::from_code)),
                proptest::option::of(coded(CommsType::from_code)),
                proptest::option::of(any::<u8>()),
            )
                .prop_map(
                    |(cc, hook, simplex, ai_service, encrypted, comms_type, slots_codec)| {
                        Event::CallConnected(CallConnected {
                            cc,
                            hook,
                            simplex,
                            ai_service,
                            encrypted,
                            comms_type,
                            slots_codec,
                        })
                    }
                ),
            (
                any::<u16>(),
                coded(TxGrant::from_code),
                permission(),
                coded(Encryption::from_code),
                proptest::option::of(coded(IdentityType::from_code)),
                proptest::option::of(any_identity()),
            )
                .prop_map(|(cc, grant, permission, encrypted, talker_type, talker)| {
                    Event::TxGranted(TxGranted {
                        cc,
                        grant,
                        permission,
                        encrypted,
                        talker_type,
                        talker,
                    })
                }),
            (any::<u16>(), permission())
                .prop_map(|(cc, permission)| Event::TxCeased(TxCeased { cc, permission })),
            (any::<u16>(), any::<u16>()).prop_map(|(cc, c)| {
                Event::CallReleased(CallReleased {
                    cc,
                    cause: DisconnectCause::from_code(c),
                })
            }),
            (
                any::<u16>(),
                proptest::option::of(permission()),
                proptest::option::of(coded(Encryption::from_code))
            )
                .prop_map(|(cc, permission, encrypted)| Event::TxInterrupted(
                    TxInterrupted {
                        cc,
                        permission,
                        encrypted
                    }
                )),
            (any::<u16>(), proptest::option::of(permission()))
                .prop_map(|(cc, permission)| Event::TxWait(TxWait { cc, permission })),
            sds(),
            (
                any::<u16>(),
                proptest::option::of(any::<u8>()),
                proptest::option::of(any::<u8>())
            )
                .prop_map(|(instance, status, reference)| Event::SdsSent(
                    SdsSendResult {
                        instance,
                        status,
                        reference
                    }
                )),
            (
                prop_oneof![0..=31u8, Just(99)],
                prop_oneof![0..=7u8, Just(99)]
            )
                .prop_map(|(rssi, ber)| Event::SignalQuality(SignalQuality { rssi, ber })),
            (coded(NumType::from_code), any_identity()).prop_map(|(num_type, identity)| {
                Event::OwnNumber(NumberEntry { num_type, identity })
            }),
            coded(AiMode::from_code).prop_map(Event::OperatingMode),
            (
                coded(RegistrationState::from_code),
                proptest::option::of(any::<u32>()),
                any::<u32>(),
                any::<bool>(),
            )
                .prop_map(|(state, location_area, net, with_net)| {
                    Event::Registration(Registration {
                        state,
                        location_area,
                        // The network follows only after a location area.
                        network: (with_net && location_area.is_some()).then_some(net),
                    })
                }),
            (coded(NumType::from_code), any_identity()).prop_map(|(num_type, identity)| {
                Event::StaticIdentity(NumberEntry { num_type, identity })
            }),
            "[A-Za-z0-9][A-Za-z0-9 ,.:()-]{0,30}[A-Za-z0-9.)]"
                .prop_map(|s| Event::Manufacturer(leak(s.into_boxed_str()))),
            "[A-Za-z0-9]{1,20}".prop_map(|s| Event::Model(leak(s.into_boxed_str()))),
            "[A-Za-z0-9][A-Za-z0-9 ._-]{0,20}[A-Za-z0-9]"
                .prop_map(|s| Event::Revision(leak(s.into_boxed_str()))),
            proptest::collection::vec(
                (
                    proptest::option::of(coded(GroupType::from_code)),
                    any_identity()
                ),
                1..=8
            )
            .prop_map(|v| {
                let mut list = GroupList::default();
                for (group_type, identity) in v {
                    list.0
                        .push(GroupEntry {
                            group_type,
                            identity,
                        })
                        .unwrap();
                }
                Event::Groups(list)
            }),
        ]
    }

    fn transcript(events: &[Event<'_>], form: TsiForm) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1100];
        for e in events {
            let n = e.emit_with(form, &mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn emitted_events_parse_back_in_any_chunking(
            evs in proptest::collection::vec(any_event(), 1..12),
            short in any::<bool>(),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let form = if short { TsiForm::Short } else { TsiForm::Long };
            let bytes = transcript(&evs, form);
            let expected: Vec<String> =
                evs.iter().map(|e| format!("{:?}", Ok::<_, PeiError>(e))).collect();
            prop_assert_eq!(&all_at_once(&bytes), &expected);
            prop_assert_eq!(&in_chunks(&bytes, &sizes), &expected);
        }

        #[test]
        fn single_line_events_round_trip_through_parse_line(e in any_event()) {
            let mut buf = [0u8; 1100];
            let n = e.emit(&mut buf).unwrap();
            let text = core::str::from_utf8(&buf[..n]).unwrap();
            match e {
                Event::SdsReceived(s) => {
                    let header = text.split("\r\n").next().unwrap();
                    prop_assert_eq!(parse_line(header), Ok(Event::SdsHeader(s.header)));
                }
                _ => prop_assert_eq!(parse_line(text), Ok(e.clone())),
            }
        }

        #[test]
        fn arbitrary_bytes_parse_alike_in_any_chunking(
            bytes in proptest::collection::vec(
                prop_oneof![
                    any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b'+'), Just(b'>'), Just(b' ')
                ],
                0..600,
            ),
            sizes in proptest::collection::vec(1usize..64, 1..8),
        ) {
            prop_assert_eq!(in_chunks(&bytes, &sizes), all_at_once(&bytes));
        }

        #[test]
        fn realistic_transcripts_parse_alike_in_any_chunking(
            lines in proptest::collection::vec(prop_oneof![
                Just(&b"+CTSDSR: 12,2040123,0,2040551,0,32\r\n"[..]),
                Just(&b"82040801\r\n"[..]),
                Just(&b"8204080\r\n"[..]),
                Just(&b"> "[..]),
                Just(&b"+CNUMF: 0,2620100108280651\r\n"[..]),
                Just(&b"2,16777184\r\n"[..]),
                Just(&b"+CTXG: 1,3,0,0,1,02060000102061234\r\n"[..]),
                Just(&b"+CTXG: x\r\n"[..]),
                Just(&b"\xff\xfe\r\n"[..]),
                Just(&b"OK\r\n"[..]),
                Just(&b"\r\n"[..]),
                Just(&b"\r"[..]),
                Just(&b"\n"[..]),
            ], 0..30),
            sizes in proptest::collection::vec(1usize..16, 1..8),
        ) {
            let bytes: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied()).collect();
            let mut small = Vec::new();
            run(&mut PeiParser::<16>::new(), &bytes, &mut small);
            let mut small_chunked = Vec::new();
            let mut p = PeiParser::<16>::new();
            for chunk in bytes.chunks(sizes[0]) {
                run(&mut p, chunk, &mut small_chunked);
            }
            prop_assert_eq!(small, small_chunked);
            prop_assert_eq!(in_chunks(&bytes, &sizes), all_at_once(&bytes));
        }
    }
}
