//! The message catalogue: everything the host and the board say to each other.
//!
//! [`Message`] is the wire form: one enum for both directions, which postcard serialises into a
//! frame body. One enum keeps the wire tags unique, so any frame can be decoded and printed
//! without knowing which way it went. The variant's position is its wire tag, so variants are
//! only ever appended.
//!
//! [`HostMessage`] (what the host sends) and [`BoardMessage`] (what the board sends) are the
//! same messages split by direction: each end receives into the other end's type
//! (`HostMessage::try_from(message)` on the board, `BoardMessage::try_from(message)` on the
//! host) and matches on it, so it never has to list, or refuse one by one, the messages it
//! sends itself. All three enums, the conversions between them, [`Message::sender`] and
//! [`Message::name`] come from the one list in `catalogue!` below: adding a message is one
//! entry there, with its direction. Board messages borrow nothing, so a [`BoardMessage`] is
//! owned and outlives the frame it was parsed from; host messages may borrow update chunk data.
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

/// Declares the catalogue from one list of messages in wire-tag order, each written as an enum
/// variant (unit, one-field tuple or struct) preceded by its direction, `Host` or `Board`:
/// [`Message`] with every message, [`HostMessage`] and [`BoardMessage`] with their direction's,
/// the conversions between them, [`Message::sender`] and [`Message::name`].
///
/// Internally: `@norm` rewrites each entry as `Direction Variant [definition] [binding]`,
/// where the binding is the pattern (and expression) that moves the fields from one enum's
/// variant to another's; `@split` sorts the entries by direction; `@emit` writes the items.
macro_rules! catalogue {
    (@norm [$($done:tt)*]
        $(#[$attr:meta])* $dir:ident $variant:ident, $($rest:tt)*
    ) => {
        catalogue!(@norm [$($done)* $(#[$attr])* $dir $variant [] [];] $($rest)*);
    };
    (@norm [$($done:tt)*]
        $(#[$attr:meta])* $dir:ident $variant:ident ($ty:ty), $($rest:tt)*
    ) => {
        catalogue!(@norm [$($done)* $(#[$attr])* $dir $variant [($ty)] [(inner)];] $($rest)*);
    };
    (@norm [$($done:tt)*]
        $(#[$attr:meta])* $dir:ident $variant:ident {
            $( $(#[$field_attr:meta])* $field:ident : $field_ty:ty ),* $(,)?
        }, $($rest:tt)*
    ) => {
        catalogue!(@norm [$($done)*
            $(#[$attr])* $dir $variant
                [{ $( $(#[$field_attr])* $field: $field_ty ),* }]
                [{ $($field),* }];
        ] $($rest)*);
    };
    (@norm [$($done:tt)*]) => {
        catalogue!(@split [$($done)*] [] [] $($done)*);
    };

    (@split [$($all:tt)*] [$($host:tt)*] [$($board:tt)*]
        $(#[$attr:meta])* Host $variant:ident [$($def:tt)*] [$($bind:tt)*]; $($rest:tt)*
    ) => {
        catalogue!(@split [$($all)*]
            [$($host)* $(#[$attr])* $variant [$($def)*] [$($bind)*];]
            [$($board)*]
            $($rest)*);
    };
    (@split [$($all:tt)*] [$($host:tt)*] [$($board:tt)*]
        $(#[$attr:meta])* Board $variant:ident [$($def:tt)*] [$($bind:tt)*]; $($rest:tt)*
    ) => {
        catalogue!(@split [$($all)*]
            [$($host)*]
            [$($board)* $(#[$attr])* $variant [$($def)*] [$($bind)*];]
            $($rest)*);
    };
    (@split [$($all:tt)*] [$($host:tt)*] [$($board:tt)*]) => {
        catalogue!(@emit [$($all)*] [$($host)*] [$($board)*]);
    };

    (@emit
        [$( $(#[$attr:meta])* $dir:ident $variant:ident [$($def:tt)*] [$($bind:tt)*]; )*]
        [$( $(#[$h_attr:meta])* $host:ident [$($h_def:tt)*] [$($h_bind:tt)*]; )*]
        [$( $(#[$b_attr:meta])* $board:ident [$($b_def:tt)*] [$($b_bind:tt)*]; )*]
    ) => {
        /// One link message, borrowing update chunk data from the frame it was parsed from: the
        /// body of every frame, in either direction.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Message<'a> {
            $( $(#[$attr])* $variant $($def)*, )*
        }

        /// A message the host sends (and the board receives), borrowing update chunk data like
        /// [`Message`]. Every one but [`HostMessage::Heartbeat`] is a command the board acks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum HostMessage<'a> {
            $( $(#[$h_attr])* $host $($h_def)*, )*
        }

        /// A message the board sends (and the host receives). None borrows anything, so it is
        /// owned whatever frame it came from.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BoardMessage {
            $( $(#[$b_attr])* $board $($b_def)*, )*
        }

        impl Message<'_> {
            /// Which end sends this message.
            pub const fn sender(&self) -> Sender {
                match self {
                    $( Message::$variant { .. } => Sender::$dir, )*
                }
            }

            /// The variant's name, for logs and per-command counters.
            pub const fn name(&self) -> &'static str {
                match self {
                    $( Message::$variant { .. } => stringify!($variant), )*
                }
            }
        }

        impl<'a> From<HostMessage<'a>> for Message<'a> {
            fn from(message: HostMessage<'a>) -> Self {
                match message {
                    $( HostMessage::$host $($h_bind)* => Message::$host $($h_bind)*, )*
                }
            }
        }

        impl From<BoardMessage> for Message<'_> {
            fn from(message: BoardMessage) -> Self {
                match message {
                    $( BoardMessage::$board $($b_bind)* => Message::$board $($b_bind)*, )*
                }
            }
        }

        /// A host message, or the board message it is not.
        impl<'a> TryFrom<Message<'a>> for HostMessage<'a> {
            type Error = BoardMessage;

            fn try_from(message: Message<'a>) -> Result<Self, BoardMessage> {
                match message {
                    $( Message::$host $($h_bind)* => Ok(HostMessage::$host $($h_bind)*), )*
                    $( Message::$board $($b_bind)* => Err(BoardMessage::$board $($b_bind)*), )*
                }
            }
        }

        /// A board message, or the host message it is not.
        impl<'a> TryFrom<Message<'a>> for BoardMessage {
            type Error = HostMessage<'a>;

            fn try_from(message: Message<'a>) -> Result<Self, HostMessage<'a>> {
                match message {
                    $( Message::$board $($b_bind)* => Ok(BoardMessage::$board $($b_bind)*), )*
                    $( Message::$host $($h_bind)* => Err(HostMessage::$host $($h_bind)*), )*
                }
            }
        }
    };

    ($(#[$attr:meta])* $dir:ident $($rest:tt)*) => {
        catalogue!(@norm [] $(#[$attr])* $dir $($rest)*);
    };
}

catalogue! {
    /// Host: open a session. The board forgets its duplicate-detection history (the host's
    /// sequence numbers start afresh), answers [`Message::BoardInfo`] and acks. Until then it
    /// nacks every other command with [`crate::link::NackReason::NoSession`].
    Host Hello,
    /// Host: still alive, keep the PTTs as they are. Not acknowledged.
    Host Heartbeat,
    /// Host: key or release one port's PTT.
    Host SetPtt {
        /// The port.
        port: Port,
        /// `true` to key, `false` to release.
        keyed: bool,
    },
    /// Host: ask for one port's PTT state; answered by [`Message::PttState`].
    Host GetPtt {
        /// The port.
        port: Port,
    },
    /// Host: switch one radio's power relay.
    Host SetPower {
        /// The port.
        port: Port,
        /// `true` for on.
        on: bool,
    },
    /// Host: switch a radio off, wait, and switch it on again (a hung radio's cure). Rate
    /// limited by the board.
    Host PowerCycle {
        /// The port.
        port: Port,
        /// How long the radio stays off, in milliseconds.
        off_ms: u16,
    },
    /// Host: ask for [`Message::Telemetry`].
    Host GetTelemetry,
    /// Host: start a firmware update of the slot not running. The board erases it before it
    /// acks.
    Host UpdateBegin {
        /// Image size in bytes.
        size: u32,
        /// CRC-32/ISO-HDLC of the whole image.
        crc32: u32,
        /// The image's firmware version.
        version: FirmwareVersion,
    },
    /// Host: image bytes at an offset. Chunks go in order; up to [`crate::link::WINDOW`] may be
    /// unacknowledged.
    Host UpdateChunk {
        /// Offset of the first byte in the image.
        offset: u32,
        /// The bytes, at most [`MAX_CHUNK`].
        data: &'a [u8],
    },
    /// Host: check the received image's CRC-32 and its ed25519 signature.
    Host UpdateVerify {
        /// The signature over [`crate::link::signed_prefix`] followed by the image.
        signature: Signature,
    },
    /// Host: boot the verified image. The board acks, then resets into the new slot.
    Host UpdateCommit,
    /// Host: abandon the update in progress (acked even when none is).
    Host UpdateAbort,
    /// Host: ask for [`Message::UpdateStatus`].
    Host GetUpdateStatus,
    /// Board: the outcome of the host command with sequence number `seq`.
    Board Ack {
        /// The command's sequence number.
        seq: u16,
        /// Done, or why not.
        result: AckResult,
    },
    /// Board: identity and limits, in answer to [`Message::Hello`].
    Board BoardInfo(BoardInfo),
    /// Board: the state of every port; sent every [`crate::link::HEARTBEAT_INTERVAL`] as the
    /// board's heartbeat. Not acknowledged.
    Board Status {
        /// Ports whose PTT is keyed.
        ptt: PortMask,
        /// Ports whose COR (call active) input is active.
        cor: PortMask,
        /// Ports whose radio is powered.
        power: PortMask,
    },
    /// Board: one port's PTT state, in answer to [`Message::GetPtt`].
    Board PttState {
        /// The port.
        port: Port,
        /// Whether its PTT is keyed.
        keyed: bool,
    },
    /// Board: a port's COR input changed (after the board's debounce). Not acknowledged.
    Board CorChanged {
        /// The port.
        port: Port,
        /// Whether the radio now signals a call active.
        active: bool,
    },
    /// Board: health report, in answer to [`Message::GetTelemetry`].
    Board Telemetry(Telemetry),
    /// Board: something it had to act on or noticed by itself. Not acknowledged.
    Board Fault(Fault),
    /// Board: update progress, in answer to [`Message::GetUpdateStatus`] and after every phase
    /// change.
    Board UpdateStatus {
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
    Host UpdateBeginSecure {
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
    Host PeiKeyed {
        /// The port.
        port: Port,
        /// `true` when the radio was keyed over PEI, `false` once it has ceased.
        keyed: bool,
    },
}

impl Message<'_> {
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

    /// Every tag with its message and direction as `docs/wire.md`'s catalogue lists them
    /// (`H→B`, `B→H`), written out here independently of the catalogue's own list.
    const WIRE_CATALOGUE: [(&str, Sender); 23] = [
        ("Hello", Sender::Host),
        ("Heartbeat", Sender::Host),
        ("SetPtt", Sender::Host),
        ("GetPtt", Sender::Host),
        ("SetPower", Sender::Host),
        ("PowerCycle", Sender::Host),
        ("GetTelemetry", Sender::Host),
        ("UpdateBegin", Sender::Host),
        ("UpdateChunk", Sender::Host),
        ("UpdateVerify", Sender::Host),
        ("UpdateCommit", Sender::Host),
        ("UpdateAbort", Sender::Host),
        ("GetUpdateStatus", Sender::Host),
        ("Ack", Sender::Board),
        ("BoardInfo", Sender::Board),
        ("Status", Sender::Board),
        ("PttState", Sender::Board),
        ("CorChanged", Sender::Board),
        ("Telemetry", Sender::Board),
        ("Fault", Sender::Board),
        ("UpdateStatus", Sender::Board),
        ("UpdateBeginSecure", Sender::Host),
        ("PeiKeyed", Sender::Host),
    ];

    /// Every tag goes through exactly one of [`HostMessage`] and [`BoardMessage`], the one of
    /// its direction, and comes back unchanged; no tag beyond the catalogue decodes. A message
    /// put in the wrong direction, or added without its line in `WIRE_CATALOGUE`, fails here.
    #[test]
    fn each_direction_holds_exactly_its_messages() {
        let mut tags = 0;
        // One-byte tags only: from 0x80 on, a tag byte followed by zeros is a longer varint.
        for tag in 0..0x80u8 {
            // Every field takes zeros: 0, false, None, port 0, an enum's first variant, empty
            // chunk data.
            let mut body = [0u8; 128];
            body[0] = tag;
            let Ok((message, _)) = postcard::take_from_bytes::<Message<'_>>(&body) else {
                assert!(
                    tag as usize >= WIRE_CATALOGUE.len(),
                    "tag {tag} does not decode"
                );
                continue;
            };
            let Some(&(name, sender)) = WIRE_CATALOGUE.get(usize::from(tag)) else {
                panic!(
                    "tag {tag} ({}) is not in docs/wire.md's catalogue",
                    message.name()
                );
            };
            tags += 1;
            assert_eq!(message.name(), name, "tag {tag}");
            assert_eq!(message.sender(), sender, "{name}");
            match (
                HostMessage::try_from(message),
                BoardMessage::try_from(message),
            ) {
                (Ok(host), Err(not_board)) => {
                    assert_eq!(sender, Sender::Host, "{name} is a host message");
                    assert_eq!(host, not_board, "{name}");
                    assert_eq!(Message::from(host), message, "{name}");
                }
                (Err(not_host), Ok(board)) => {
                    assert_eq!(sender, Sender::Board, "{name} is a board message");
                    assert_eq!(board, not_host, "{name}");
                    assert_eq!(Message::from(board), message, "{name}");
                }
                (host, board) => panic!("{name}: host {host:?}, board {board:?}"),
            }
        }
        assert_eq!(tags, WIRE_CATALOGUE.len());
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
