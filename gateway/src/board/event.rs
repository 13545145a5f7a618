//! What the board session tells its driver: the link coming up and going down, the outcome of
//! every PTT and power command, the board's inputs, reports and faults.
//!
//! The daemon's board task forwards these to the engine (PTT confirmations and refusals, COR,
//! "this board's radios cannot transmit" on [`BoardEvent::Down`]) and to logs and metrics.

use borderlink_protocol::link::{
    AckResult, BOARD_SILENCE_LIMIT, BoardInfo, Fault, MAX_RETRIES, NackReason, Port, PortMask,
    Telemetry, UpdatePhase, VERSION,
};
use serde::Serialize;

use super::update::UpdateStep;

/// Something the board session reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardEvent {
    /// The handshake succeeded: the board's radios can be keyed. Every requested PTT and power
    /// state is being restated to it.
    Up {
        /// The board's identity and limits.
        info: BoardInfo,
    },
    /// The link is down: every radio on this board must count as unable to transmit until
    /// [`BoardEvent::Up`]. The session is already trying to handshake again.
    Down {
        /// Why.
        reason: DownReason,
    },
    /// The board speaks another link protocol version: nothing is keyed on it. Reported once
    /// per version seen; the session retries the handshake now and then in case the board is
    /// replaced or reflashed.
    WrongVersion {
        /// The board's version, from its frames' header.
        got: u8,
    },
    /// The board acknowledged a PTT command: the line is now keyed (`on`) or released.
    PttConfirmed {
        /// The port.
        port: Port,
        /// Keyed or released.
        on: bool,
    },
    /// The board refused a PTT command. A refused key clears the request: ask again to retry.
    PttRefused {
        /// The port.
        port: Port,
        /// What was asked.
        on: bool,
        /// Why the board refused.
        reason: NackReason,
    },
    /// The board released a keyed PTT on its own (host silence, its TX cap, a reset). The
    /// request is cleared: ask again to key.
    PttDropped {
        /// The port.
        port: Port,
    },
    /// The board carried out a power command.
    PowerConfirmed {
        /// The port.
        port: Port,
        /// What was done.
        action: PowerAction,
    },
    /// The board refused a power command.
    PowerRefused {
        /// The port.
        port: Port,
        /// What was asked.
        action: PowerAction,
        /// Why the board refused.
        reason: NackReason,
    },
    /// A radio's COR (call active) input changed, as the board reported it. When the link
    /// goes down, every active COR is reported inactive.
    Cor {
        /// The port.
        port: Port,
        /// Whether the radio is receiving a call.
        active: bool,
    },
    /// The board's periodic state report (every 100 ms while up).
    Status {
        /// Ports keyed (or whose release the board is still retrying).
        ptt: PortMask,
        /// Ports whose COR is active.
        cor: PortMask,
        /// Ports whose radio is powered.
        power: PortMask,
    },
    /// The board's health report, in answer to
    /// [`BoardSession::request_telemetry`](super::BoardSession::request_telemetry).
    Telemetry {
        /// The report.
        telemetry: Telemetry,
    },
    /// The board reported a fault.
    Fault {
        /// What happened.
        fault: Fault,
    },
    /// The board refused a command that is neither PTT nor power.
    Refused {
        /// The command's name.
        command: &'static str,
        /// Why.
        reason: NackReason,
    },
    /// The board answered a firmware-update command (see
    /// [`BoardSession::send_update`](super::BoardSession::send_update)).
    UpdateAcked {
        /// Which command.
        step: UpdateStep,
        /// Done, or why not.
        result: AckResult,
    },
    /// The board's update progress: after every phase change and in answer to
    /// `GetUpdateStatus`.
    UpdateStatus {
        /// Where the update is.
        phase: UpdatePhase,
        /// Bytes written so far.
        received: u32,
        /// Announced image size (0 when idle).
        size: u32,
    },
}

/// A power command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    /// Switch the radio on.
    On,
    /// Switch the radio off.
    Off,
    /// Switch it off, wait, and on again.
    Cycle {
        /// How long it stays off, in milliseconds (the board may enforce a minimum).
        off_ms: u16,
    },
}

/// Why the link went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum DownReason {
    /// No valid frame from the board for [`BOARD_SILENCE_LIMIT`].
    #[error("board link: no valid frame from the board for {} ms", BOARD_SILENCE_LIMIT.as_millis())]
    BoardSilent,
    /// A command stayed unacknowledged through every retry.
    #[error("board link: {command} (seq {seq}) unacknowledged after {MAX_RETRIES} retries")]
    NoAck {
        /// The command's name.
        command: &'static str,
        /// Its sequence number.
        seq: u16,
    },
    /// The board nacked a command `NoSession`: it has reset since the handshake.
    #[error("board link: {command} (seq {seq}) refused NoSession, the board has reset")]
    BoardReset {
        /// The command's name.
        command: &'static str,
        /// Its sequence number.
        seq: u16,
    },
    /// The board reported that it heard nothing from the host for 500 ms and dropped PTT: the
    /// host's frames are not reaching it (or the host stalled).
    #[error("board link: the board heard nothing from the host for 500 ms and dropped PTT")]
    HostSilence,
    /// The board now speaks another protocol version.
    #[error("board link: the board speaks protocol version {got}, this host speaks {VERSION}")]
    WrongVersion {
        /// The board's version.
        got: u8,
    },
    /// The driver reopened the serial port.
    #[error("board link: serial port reopened")]
    Reconnected,
}
