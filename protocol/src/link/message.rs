//! The message catalogue: everything the host and the board say to each other, as one enum that
//! postcard serialises into a frame body.
//!
//! One enum for both directions keeps the wire tags unique, so any frame can be decoded and
//! printed without knowing which way it went; [`Message::sender`] says who may send each one.
//! The variant's position is its wire tag, so variants are only ever appended.
//!
//! Host commands (everything the host sends except [`Message::Heartbeat`]) are answered by
//! exactly one [`Message::Ack`]. A query's report ([`Message::BoardInfo`],
//! [`Message::PttState`], [`Message::Telemetry`], [`Message::UpdateStatus`]) is sent *before*
//! the ack, so by the time the host sees the ack the answer is already in. Board messages are
//! never acknowledged: the board's periodic [`Message::Status`] restates its state, so a lost
//! event costs at most one heartbeat interval.

use serde::{Deserialize, Serialize};

use super::ack::AckResult;
use super::error::BodyError;
use super::fault::Fault;
use super::frame::MAX_CHUNK;
use super::port::{Port, PortMask};
use super::telemetry::{BoardInfo, FirmwareVersion, Telemetry};
use super::timing::{ACK_TIMEOUT, ERASE_ACK_TIMEOUT, VERIFY_ACK_TIMEOUT};
use super::update::{Signature, UpdatePhase};
use crate::time::Duration;

/// Which end of the link sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Sender {
    /// The Linux daemon.
    Host,
    /// The interface board.
    Board,
}

/// One link message, borrowing update chunk data from the frame it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Message<'a> {
    /// Host: open a session. The board forgets its duplicate-detection history (the host's
    /// sequence numbers start afresh), answers [`Message::BoardInfo`] and acks. Until then it
    /// nacks every other command with [`crate::link::NackReason::NoSession`].
    Hello,
    /// Host: still alive, keep the PTTs as they are. Not acknowledged.
    Heartbeat,
    /// Host: key or release one port's PTT.
    SetPtt {
        /// The port.
        port: Port,
        /// `true` to key, `false` to release.
        keyed: bool,
    },
    /// Host: ask for one port's PTT state; answered by [`Message::PttState`].
    GetPtt {
        /// The port.
        port: Port,
    },
    /// Host: switch one radio's power relay.
    SetPower {
        /// The port.
        port: Port,
        /// `true` for on.
        on: bool,
    },
    /// Host: switch a radio off, wait, and switch it on again (a hung radio's cure). Rate
    /// limited by the board.
    PowerCycle {
        /// The port.
        port: Port,
        /// How long the radio stays off, in milliseconds.
        off_ms: u16,
    },
    /// Host: ask for [`Message::Telemetry`].
    GetTelemetry,
    /// Host: start a firmware update of the slot not running. The board erases it before it
    /// acks.
    UpdateBegin {
        /// Image size in bytes.
        size: u32,
        /// CRC-32/ISO-HDLC of the whole image.
        crc32: u32,
        /// The image's firmware version.
        version: FirmwareVersion,
    },
    /// Host: image bytes at an offset. Chunks go in order; up to [`crate::link::WINDOW`] may be
    /// unacknowledged.
    UpdateChunk {
        /// Offset of the first byte in the image.
        offset: u32,
        /// The bytes, at most [`MAX_CHUNK`].
        data: &'a [u8],
    },
    /// Host: check the received image's CRC-32 and its ed25519 signature.
    UpdateVerify {
        /// The signature over [`crate::link::signed_prefix`] followed by the image.
        signature: Signature,
    },
    /// Host: boot the verified image. The board acks, then resets into the new slot.
    UpdateCommit,
    /// Host: abandon the update in progress (acked even when none is).
    UpdateAbort,
    /// Host: ask for [`Message::UpdateStatus`].
    GetUpdateStatus,
    /// Board: the outcome of the host command with sequence number `seq`.
    Ack {
        /// The command's sequence number.
        seq: u16,
        /// Done, or why not.
        result: AckResult,
    },
    /// Board: identity and limits, in answer to [`Message::Hello`].
    BoardInfo(BoardInfo),
    /// Board: the state of every port; sent every [`crate::link::HEARTBEAT_INTERVAL`] as the
    /// board's heartbeat. Not acknowledged.
    Status {
        /// Ports whose PTT is keyed.
        ptt: PortMask,
        /// Ports whose COR (call active) input is active.
        cor: PortMask,
        /// Ports whose radio is powered.
        power: PortMask,
    },
    /// Board: one port's PTT state, in answer to [`Message::GetPtt`].
    PttState {
        /// The port.
        port: Port,
        /// Whether its PTT is keyed.
        keyed: bool,
    },
    /// Board: a port's COR input changed (after the board's debounce). Not acknowledged.
    CorChanged {
        /// The port.
        port: Port,
        /// Whether the radio now signals a call active.
        active: bool,
    },
    /// Board: health report, in answer to [`Message::GetTelemetry`].
    Telemetry(Telemetry),
    /// Board: something it had to act on or noticed by itself. Not acknowledged.
    Fault(Fault),
    /// Board: update progress, in answer to [`Message::GetUpdateStatus`] and after every phase
    /// change.
    UpdateStatus {
        /// Where the update is.
        phase: UpdatePhase,
        /// Bytes written so far.
        received: u32,
        /// Announced image size (0 when idle).
        size: u32,
    },
    /// Host: start a firmware update, naming the image's security version. Like
    /// [`Message::UpdateBegin`] (whose image the board takes as a legacy one, security version
    /// 0), but the board refuses it [`crate::link::NackReason::Rollback`] when the security
    /// version is below its floor, unless `allow_rollback` is set: the engineer's explicit,
    /// audited override.
    UpdateBeginSecure {
        /// Image size in bytes.
        size: u32,
        /// CRC-32/ISO-HDLC of the whole image.
        crc32: u32,
        /// The image's firmware version.
        version: FirmwareVersion,
        /// The image's security version, as signed over [`crate::link::signed_prefix_v2`]
        /// (the signature check proves it), or `None` for an image signed the legacy way
        /// (security version 0), which only this message can send with `allow_rollback`.
        security_version: Option<u32>,
        /// Take an image below the board's floor (the floor itself never falls).
        allow_rollback: bool,
    },
    /// Host: a port's radio is (`keyed`) or is no longer transmitting because the host keyed it
    /// over PEI (`AT+CTXD`, `ATD`), which no PTT line can undo. While a port is so armed, the
    /// board cuts the radio's power if the host falls silent or at the board's TX cap, so a
    /// dead host cannot leave it on the air (protocol version 2).
    PeiKeyed {
        /// The port.
        port: Port,
        /// `true` when the radio was keyed over PEI, `false` once it has ceased.
        keyed: bool,
    },
}

impl Message<'_> {
    /// Which end sends this message.
    pub const fn sender(&self) -> Sender {
        match self {
            Message::Hello
            | Message::Heartbeat
            | Message::SetPtt { .. }
            | Message::GetPtt { .. }
            | Message::SetPower { .. }
            | Message::PowerCycle { .. }
            | Message::GetTelemetry
            | Message::UpdateBegin { .. }
            | Message::UpdateChunk { .. }
            | Message::UpdateVerify { .. }
            | Message::UpdateCommit
            | Message::UpdateAbort
            | Message::GetUpdateStatus
            | Message::UpdateBeginSecure { .. }
            | Message::PeiKeyed { .. } => Sender::Host,
            Message::Ack { .. }
            | Message::BoardInfo(_)
            | Message::Status { .. }
            | Message::PttState { .. }
            | Message::CorChanged { .. }
            | Message::Telemetry(_)
            | Message::Fault(_)
            | Message::UpdateStatus { .. } => Sender::Board,
        }
    }

    /// Whether the receiver answers this message with an [`Message::Ack`].
    pub const fn needs_ack(&self) -> bool {
        matches!(self.sender(), Sender::Host) && !matches!(self, Message::Heartbeat)
    }

    /// How long the host waits for this command's ack before resending it, or `None` for a
    /// message that is not acknowledged.
    pub const fn ack_timeout(&self) -> Option<Duration> {
        match self {
            Message::UpdateBegin { .. } | Message::UpdateBeginSecure { .. } => {
                Some(ERASE_ACK_TIMEOUT)
            }
            Message::UpdateVerify { .. } => Some(VERIFY_ACK_TIMEOUT),
            _ if self.needs_ack() => Some(ACK_TIMEOUT),
            _ => None,
        }
    }

    /// The variant's name, for logs and per-command counters.
    pub const fn name(&self) -> &'static str {
        match self {
            Message::Hello => "Hello",
            Message::Heartbeat => "Heartbeat",
            Message::SetPtt { .. } => "SetPtt",
            Message::GetPtt { .. } => "GetPtt",
            Message::SetPower { .. } => "SetPower",
            Message::PowerCycle { .. } => "PowerCycle",
            Message::GetTelemetry => "GetTelemetry",
            Message::UpdateBegin { .. } => "UpdateBegin",
            Message::UpdateChunk { .. } => "UpdateChunk",
            Message::UpdateVerify { .. } => "UpdateVerify",
            Message::UpdateCommit => "UpdateCommit",
            Message::UpdateAbort => "UpdateAbort",
            Message::GetUpdateStatus => "GetUpdateStatus",
            Message::Ack { .. } => "Ack",
            Message::BoardInfo(_) => "BoardInfo",
            Message::Status { .. } => "Status",
            Message::PttState { .. } => "PttState",
            Message::CorChanged { .. } => "CorChanged",
            Message::Telemetry(_) => "Telemetry",
            Message::Fault(_) => "Fault",
            Message::UpdateStatus { .. } => "UpdateStatus",
            Message::UpdateBeginSecure { .. } => "UpdateBeginSecure",
            Message::PeiKeyed { .. } => "PeiKeyed",
        }
    }

    /// Checks the rules the types alone do not enforce: ports and port masks within
    /// [`crate::link::PORTS`], chunk data within [`MAX_CHUNK`]. Parsing applies it to every
    /// received message and emitting to every sent one.
    pub const fn validate(&self) -> Result<(), BodyError> {
        match self {
            Message::SetPtt { port, .. }
            | Message::GetPtt { port }
            | Message::SetPower { port, .. }
            | Message::PowerCycle { port, .. }
            | Message::PeiKeyed { port, .. }
            | Message::PttState { port, .. }
            | Message::CorChanged { port, .. } => port.check(),
            Message::UpdateChunk { data, .. } => {
                if data.len() <= MAX_CHUNK {
                    Ok(())
                } else {
                    Err(BodyError::ChunkTooLong { len: data.len() })
                }
            }
            Message::Status { ptt, cor, power } => match ptt.check() {
                Err(e) => Err(e),
                Ok(()) => match cor.check() {
                    Err(e) => Err(e),
                    Ok(()) => power.check(),
                },
            },
            Message::Fault(fault) => fault.check(),
            Message::Hello
            | Message::Heartbeat
            | Message::GetTelemetry
            | Message::UpdateBegin { .. }
            | Message::UpdateBeginSecure { .. }
            | Message::UpdateVerify { .. }
            | Message::UpdateCommit
            | Message::UpdateAbort
            | Message::GetUpdateStatus
            | Message::Ack { .. }
            | Message::BoardInfo(_)
            | Message::Telemetry(_)
            | Message::UpdateStatus { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{AckResult, NackReason};

    fn port(n: u8) -> Port {
        Port::new(n).unwrap()
    }

    #[test]
    fn directions_and_acks() {
        let chunk = Message::UpdateChunk {
            offset: 0,
            data: &[1, 2, 3],
        };
        assert_eq!(chunk.sender(), Sender::Host);
        assert!(chunk.needs_ack());
        assert_eq!(chunk.ack_timeout(), Some(ACK_TIMEOUT));
        assert!(!Message::Heartbeat.needs_ack());
        assert_eq!(Message::Heartbeat.ack_timeout(), None);
        let ack = Message::Ack {
            seq: 7,
            result: AckResult::Nack(NackReason::Busy),
        };
        assert_eq!(ack.sender(), Sender::Board);
        assert!(!ack.needs_ack());
        let begin = Message::UpdateBegin {
            size: 1,
            crc32: 2,
            version: FirmwareVersion::new(1, 0, 0),
        };
        assert_eq!(begin.ack_timeout(), Some(ERASE_ACK_TIMEOUT));
        assert_eq!(
            Message::UpdateVerify {
                signature: Signature {
                    r: [0; 32],
                    s: [0; 32]
                }
            }
            .ack_timeout(),
            Some(VERIFY_ACK_TIMEOUT)
        );
        assert_eq!(
            Message::Status {
                ptt: PortMask::EMPTY,
                cor: PortMask::EMPTY,
                power: PortMask::ALL
            }
            .name(),
            "Status"
        );
    }

    #[test]
    fn validate_rejects_what_types_allow() {
        let bad_port: Port = postcard::from_bytes(&[9]).unwrap();
        assert_eq!(
            Message::SetPtt {
                port: bad_port,
                keyed: true
            }
            .validate(),
            Err(BodyError::PortOutOfRange { port: 9 })
        );
        let bad_mask: PortMask = postcard::from_bytes(&[0x30]).unwrap();
        assert_eq!(
            Message::Status {
                ptt: PortMask::EMPTY,
                cor: PortMask::EMPTY,
                power: bad_mask
            }
            .validate(),
            Err(BodyError::PortMaskOutOfRange { mask: 0x30 })
        );
        assert_eq!(
            Message::Fault(Fault::HostSilence { dropped: bad_mask }).validate(),
            Err(BodyError::PortMaskOutOfRange { mask: 0x30 })
        );
        let long = [0u8; MAX_CHUNK + 1];
        assert_eq!(
            Message::UpdateChunk {
                offset: 0,
                data: &long
            }
            .validate(),
            Err(BodyError::ChunkTooLong { len: MAX_CHUNK + 1 })
        );
        assert_eq!(
            Message::UpdateChunk {
                offset: 0,
                data: &long[..MAX_CHUNK]
            }
            .validate(),
            Ok(())
        );
        assert_eq!(
            Message::PttState {
                port: port(3),
                keyed: false
            }
            .validate(),
            Ok(())
        );
    }
}
