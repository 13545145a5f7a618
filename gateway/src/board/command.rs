//! The commands the host sends, and the record it keeps of each one until the board acks it.
//!
//! A command gets its sequence number when it is first handed to the serial port, and its
//! encoded bytes are kept: a retry resends exactly those bytes, as the board's duplicate
//! detection requires.

use borderlink_protocol::link::{ACK_TIMEOUT, Message, Port};
use borderlink_protocol::time::Instant;

use super::update::UpdateCommand;

/// A host command, before it is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "chunk data inline keeps commands Copy; only a window's worth are ever queued"
)]
pub(super) enum Command {
    Hello,
    SetPtt { port: Port, on: bool },
    SetPower { port: Port, on: bool },
    PowerCycle { port: Port, off_ms: u16 },
    PeiKeyed { port: Port, keyed: bool },
    GetTelemetry,
    Update(UpdateCommand),
}

impl Command {
    pub(super) fn message(&self) -> Message<'_> {
        match *self {
            Command::Hello => Message::Hello,
            Command::SetPtt { port, on } => Message::SetPtt { port, keyed: on },
            Command::SetPower { port, on } => Message::SetPower { port, on },
            Command::PowerCycle { port, off_ms } => Message::PowerCycle { port, off_ms },
            Command::PeiKeyed { port, keyed } => Message::PeiKeyed { port, keyed },
            Command::GetTelemetry => Message::GetTelemetry,
            Command::Update(ref update) => update.message(),
        }
    }

    pub(super) fn name(&self) -> &'static str {
        self.message().name()
    }

    /// The port of a PTT command.
    pub(super) fn ptt_port(&self) -> Option<Port> {
        match *self {
            Command::SetPtt { port, .. } => Some(port),
            _ => None,
        }
    }

    /// Whether sending `newer` makes this command pointless: both set the same port's PTT,
    /// both switch the same port's power, or both tell the same port's PEI keying. On a UART the older frame arrives first, so the
    /// board ends in the newer state whether or not the older one got through; resending the
    /// older one after the newer could only undo it.
    pub(super) fn superseded_by(&self, newer: &Command) -> bool {
        match (*self, *newer) {
            (Command::SetPtt { port: a, .. }, Command::SetPtt { port: b, .. })
            | (Command::SetPower { port: a, .. }, Command::SetPower { port: b, .. })
            | (Command::PeiKeyed { port: a, .. }, Command::PeiKeyed { port: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// A command handed to the serial port and not yet acknowledged.
#[derive(Debug, Clone)]
pub(super) struct InFlight {
    pub(super) seq: u16,
    pub(super) command: Command,
    /// The exact bytes sent, for retries.
    pub(super) bytes: Vec<u8>,
    pub(super) sent_at: Instant,
    pub(super) retries: u8,
    /// The ack timeout passed: resend at the next transmit.
    pub(super) resend: bool,
}

impl InFlight {
    /// When the ack is overdue.
    pub(super) fn deadline(&self) -> Instant {
        self.sent_at + self.command.message().ack_timeout().unwrap_or(ACK_TIMEOUT)
    }
}
