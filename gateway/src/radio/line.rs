//! What the session keeps of one parsed PEI event.
//!
//! [`PeiParser`](borderlink_protocol::pei::PeiParser) lends its events out of its own buffer;
//! the session turns each into an owned [`Line`] before acting on it, so that acting may
//! change the session (the parser included) freely.

use borderlink_protocol::pei::{
    CallConnected, CallReleased, Event, IncomingCall, NumberEntry, PeiError, Registration,
    SdsHeader, SignalQuality, TxCeased, TxGranted, TxInterrupted, TxWait,
};

use super::command::Identification;

use super::output::CommandError;

/// One event from the radio, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line {
    /// `OK`, `ERROR` or `+CME ERROR`: the answer to the command in flight.
    Final(Result<(), CommandError>),
    /// A command echoed back.
    Echo,
    /// A configured start-up banner.
    Banner,
    /// `+CTICN`.
    Incoming(IncomingCall),
    /// `+CTCC`.
    Connected(CallConnected),
    /// `+CTXG`.
    Grant(TxGranted),
    /// `+CDTXC`.
    Ceased(TxCeased),
    /// `+CTCR`.
    Released(CallReleased),
    /// `+CTXI`.
    Interrupted(TxInterrupted),
    /// `+CTXW`.
    Wait(TxWait),
    /// `+CTSDSR` and its data.
    Sds {
        /// The header.
        header: SdsHeader,
        /// The user data.
        data: Vec<u8>,
    },
    /// `+CSQ`.
    Signal(SignalQuality),
    /// `+CNUMF` or one of its continuation entries.
    OwnNumber(NumberEntry),
    /// `+CREG`, asked for or unsolicited.
    Registration(Registration),
    /// `+CNUMS` or one of its continuation entries.
    StaticIdentity(NumberEntry),
    /// `+GMI`, `+GMM` or `+GMR`, with its text.
    Identified(Identification, String),
    /// A line that could not be read.
    Fault(PeiError),
    /// Anything the session has no use for (prompt, `+CTOM`, `+CTGS`, vendor lines).
    Ignored,
}

impl Line {
    /// Keeps what the session needs of a parser result; `banners` are the configured
    /// start-up line prefixes.
    pub(super) fn from_parsed(parsed: Result<Event<'_>, PeiError>, banners: &[String]) -> Line {
        let event = match parsed {
            Ok(e) => e,
            Err(e) => return Line::Fault(e),
        };
        match event {
            Event::Ok => Line::Final(Ok(())),
            Event::Error => Line::Final(Err(CommandError::Error)),
            Event::CmeError(e) => Line::Final(Err(CommandError::Cme(e))),
            Event::Echo(_) => Line::Echo,
            Event::IncomingCall(c) => Line::Incoming(c),
            Event::CallConnected(c) => Line::Connected(c),
            Event::TxGranted(g) => Line::Grant(g),
            Event::TxCeased(c) => Line::Ceased(c),
            Event::CallReleased(r) => Line::Released(r),
            Event::TxInterrupted(i) => Line::Interrupted(i),
            Event::TxWait(w) => Line::Wait(w),
            Event::SdsReceived(s) => Line::Sds {
                header: s.header,
                data: s.data.as_bytes().to_vec(),
            },
            Event::SignalQuality(q) => Line::Signal(q),
            Event::OwnNumber(n) => Line::OwnNumber(n),
            Event::Registration(r) => Line::Registration(r),
            Event::StaticIdentity(n) => Line::StaticIdentity(n),
            Event::Manufacturer(s) => Line::Identified(Identification::Manufacturer, s.to_owned()),
            Event::Model(s) => Line::Identified(Identification::Model, s.to_owned()),
            Event::Revision(s) => Line::Identified(Identification::Revision, s.to_owned()),
            Event::Unrecognised(text) if banners.iter().any(|b| text.starts_with(b.as_str())) => {
                Line::Banner
            }
            Event::Prompt
            | Event::SdsHeader(_)
            | Event::SdsSent(_)
            | Event::OperatingMode(_)
            | Event::Groups(_)
            | Event::Unrecognised(_) => Line::Ignored,
        }
    }
}
