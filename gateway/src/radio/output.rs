//! What a [`RadioSession`](super::RadioSession) reports: readiness, transmit outcomes for the
//! engine, receive gating for audio capture, short data, signal quality and faults.

use std::fmt;

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{AiService, CmeError, DisconnectCause, PeiError, RegistrationState};
use borderlink_protocol::sds::{DeliveryStatus, LocationReport, SdsError, Status};
use borderlink_protocol::voice::Priority;
use thiserror::Error;

use crate::engine::radio_tx::RadioEvent;

/// The PDU a delivery report came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportPdu {
    /// SDS-REPORT (type-4 data, SDS-TL message type 1).
    Report,
    /// SDS-ACK (SDS-TL message type 2).
    Ack,
    /// SDS-SHORT REPORT, a pre-coded status in 0x7C00–0x7FFF.
    ShortReport,
}

/// Something the session reports; drain with [`RadioSession::poll_event`](super::RadioSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioOutput {
    /// The radio is initialised, carries the expected identity and has the group selected
    /// (the engine's [`RadioEvent::Up`]).
    Ready {
        /// Its identity, as `AT+CNUMF?` reported it.
        identity: Tsi,
    },
    /// The radio cannot be used (the engine's [`RadioEvent::Down`]); the session
    /// re-initialises it on its own. Reported once per outage.
    Down {
        /// Why.
        reason: DownReason,
    },
    /// Clear to talk: the held audio may play out (`+CTXG` grant 0).
    TxGranted,
    /// The key request failed before any grant; nothing is transmitting.
    TxRefused {
        /// Why.
        reason: TxFailure,
    },
    /// A granted transmission ended without an unkey (pre-emption, interruption, release,
    /// the radio going down).
    TxLost {
        /// Why.
        reason: TxFailure,
    },
    /// Another party is talking on a call the radio plays: capture audio from now on.
    ReceiveStart {
        /// The talking party, from `+CTXG` (or the caller of `+CTICN` for the first over).
        talker: Option<Tsi>,
        /// The call's group, when the radio said (`+CTICN`) or the session dialled it.
        group: Option<Tsi>,
        /// Call priority.
        priority: Priority,
        /// Emergency call (priority 15).
        emergency: bool,
    },
    /// The other party stopped talking or the call ended: stop capturing.
    ReceiveEnd,
    /// Short data that is neither a status, a LIP short report, a text in a defined coding
    /// nor a delivery report, as received.
    Sds {
        /// Sender, when the radio said.
        from: Option<Tsi>,
        /// SDS type.
        ai_service: AiService,
        /// Length in bits.
        bits: u16,
        /// The user data, `bits` rounded up to whole bytes.
        data: Vec<u8>,
    },
    /// A text message, rendered from whatever coding it came in; a concatenated text once
    /// all its parts are in.
    Text {
        /// Sender, when the radio said.
        from: Option<Tsi>,
        /// The text.
        text: String,
        /// How many SDS it came in.
        parts: u8,
    },
    /// A pre-coded status message.
    Status {
        /// Sender, when the radio said.
        from: Option<Tsi>,
        /// The status value.
        value: Status,
    },
    /// A LIP location report, short or long, with or without a fix.
    Location {
        /// Sender, when the radio said.
        from: Option<Tsi>,
        /// The report, summed up.
        report: LocationReport,
    },
    /// An SDS-TL report on a message the gateway sent with a message reference
    /// ([`RadioSession::send_tracked_text`](super::RadioSession::send_tracked_text)): an
    /// SDS-REPORT, an SDS-ACK, or an SDS-SHORT REPORT status (whose four report types are
    /// given as the delivery status codes 0x00 received, 0x02 consumed, 0x50 protocol not
    /// supported and 0x52 memory full).
    DeliveryReport {
        /// Who reported (the unit, or the SwMI on its behalf), when the radio said.
        from: Option<Tsi>,
        /// The message reference reported on.
        reference: u8,
        /// What became of the message.
        status: DeliveryStatus,
        /// Which PDU carried it.
        via: ReportPdu,
    },
    /// The radio accepted (`Ok`) or refused an SDS the gateway asked it to send
    /// ([`RadioSession::send_status`](super::RadioSession::send_status),
    /// [`RadioSession::send_text`](super::RadioSession::send_text)).
    SdsSent {
        /// The addressee.
        to: Tsi,
        /// The radio's answer.
        result: Result<(), CommandError>,
    },
    /// Received signal strength from `+CSQ`; `None` when the radio does not know.
    SignalQuality {
        /// RSSI in dBm.
        dbm: Option<i16>,
    },
    /// `AT+CNUMF?` reported another radio than the configured one: it is not used.
    IdentityMismatch {
        /// The configured identity.
        expected: Tsi,
        /// What the radio reported.
        got: PeiIdentity,
    },
    /// Something went wrong that the session rode out; for the log.
    Fault(RadioFault),
}

impl RadioOutput {
    /// What the engine must be told ([`Engine::handle_radio`](crate::engine::relay::Engine::handle_radio)),
    /// if anything.
    pub fn engine_event(&self) -> Option<RadioEvent> {
        match self {
            RadioOutput::Ready { .. } => Some(RadioEvent::Up),
            RadioOutput::Down { .. } => Some(RadioEvent::Down),
            RadioOutput::TxGranted => Some(RadioEvent::TxGranted),
            RadioOutput::TxRefused { .. } => Some(RadioEvent::TxRefused),
            RadioOutput::TxLost { .. } => Some(RadioEvent::TxLost),
            _ => None,
        }
    }
}

/// How a command failed, as the radio answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError {
    /// `ERROR`.
    Error,
    /// `+CME ERROR: <n>`.
    Cme(CmeError),
    /// The command could not be written (a value out of range); never sent.
    Unsendable,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Error => f.write_str("ERROR"),
            CommandError::Cme(e) => match e.description() {
                Some(d) => write!(f, "+CME ERROR: {} ({d})", e.0),
                None => write!(f, "+CME ERROR: {}", e.0),
            },
            CommandError::Unsendable => f.write_str("a value that cannot be sent"),
        }
    }
}

/// Why a radio is down.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DownReason {
    /// The driver lost the serial port.
    #[error("serial link to the radio lost")]
    LinkLost,
    /// A command went unanswered through every retry.
    #[error("radio did not answer {command} ({attempts} attempts)")]
    NotResponding {
        /// The command.
        command: &'static str,
        /// How many times it was sent.
        attempts: u8,
    },
    /// An initialisation step the gateway cannot do without was refused.
    #[error("radio refused {command} during initialisation: {error}")]
    InitRefused {
        /// The command.
        command: &'static str,
        /// The radio's answer.
        error: CommandError,
    },
    /// The radio restarted: command echo came back on, or it printed a start-up banner.
    #[error("radio restarted ({evidence})")]
    Rebooted {
        /// What showed it.
        evidence: &'static str,
    },
    /// `AT+CNUMF?` reported another identity than the configured one.
    #[error("radio reports identity {got}, configured is {expected}")]
    WrongIdentity {
        /// The configured identity.
        expected: Tsi,
        /// What the radio reported.
        got: PeiIdentity,
    },
    /// `AT+CNUMF?` reported no individual identity.
    #[error("radio reported no individual identity to AT+CNUMF?")]
    NoIdentity,
    /// The radio answers but is not registered on its network (`+CREG`): it can neither
    /// receive nor make calls.
    #[error("radio is not registered on its network (registration state {state})")]
    NotRegistered {
        /// What it said.
        state: RegistrationState,
    },
}

/// Why a key request was refused or a transmission lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TxFailure {
    /// The radio is down or still initialising.
    #[error("radio not ready")]
    NotReady,
    /// `+CTXG` with grant 1: the SwMI did not grant transmission.
    #[error("transmission not granted")]
    NotGranted,
    /// A call-control command was refused.
    #[error("{command} answered {error}")]
    Rejected {
        /// The command.
        command: &'static str,
        /// The radio's answer.
        error: CommandError,
    },
    /// The call was released (`+CTCR`).
    #[error("call released: {0}")]
    Released(DisconnectCause),
    /// The transmission was interrupted (`+CTXI`).
    #[error("transmission interrupted")]
    Interrupted,
    /// The radio was told to wait (`+CTXW`) while transmitting.
    #[error("transmission put on wait")]
    Wait,
    /// Another party was granted the call the radio was transmitting on.
    #[error("another party took the call")]
    TakenByOther,
    /// No grant within the configured grant wait.
    #[error("no grant within the grant wait")]
    GrantTimeout,
    /// The radio went down.
    #[error("radio went down")]
    RadioDown,
    /// The radio reached its continuous air-time cap, or is in the forced gap after it.
    #[error("continuous air-time cap: a forced gap follows")]
    AirTimeCap,
}

/// A fault the session rode out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RadioFault {
    /// A line from the radio that could not be read; it was skipped.
    #[error("radio sent a bad line: {0}")]
    Line(PeiError),
    /// Short data whose user data does not decode; it is also reported raw as
    /// [`RadioOutput::Sds`].
    #[error("SDS from {} does not decode: {error}", OptionalTsi(*from))]
    Sds {
        /// Sender, when the radio said.
        from: Option<Tsi>,
        /// What is wrong.
        error: SdsError,
    },
    /// A command whose failure the session can do without (optional routing, a cease on a
    /// call that is already gone, a signal query) was refused.
    #[error("radio refused {command}: {error}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The radio's answer.
        error: CommandError,
    },
}

/// Prints an optional identity, "unknown sender" when absent.
struct OptionalTsi(Option<Tsi>);

impl fmt::Display for OptionalTsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => t.fmt(f),
            None => f.write_str("an unknown sender"),
        }
    }
}
