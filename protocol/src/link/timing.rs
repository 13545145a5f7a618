//! The link's clocks and flow control: how often each side speaks, how long silence is
//! tolerated, how long an acknowledgement may take, and how many commands may be in flight.
//!
//! The figures come from the wire: at 115 200 baud (8N1) a byte takes 86.8 µs, so a full update
//! chunk frame ([`crate::link::MAX_WIRE_LEN`] = 272 bytes) takes 23.6 ms and a heartbeat under
//! 1 ms. A USB serial adapter adds up to 16 ms each way before the host sees a byte.

use crate::time::Duration;

/// How many commands the host may have sent and not yet seen acknowledged.
///
/// Four full chunk frames are 94 ms of wire time, more than a chunk's round trip (its own
/// 23.6 ms, about 1 ms to program 256 bytes of flash, under 1 ms for the ack, and up to twice
/// 16 ms of USB latency), so with this window the host never waits for an ack: a 32 KiB image
/// goes over in about 3.0 s against 2.8 s of raw wire time. The board needs only a receive ring
/// of one wire frame, since it handles each chunk before the next has arrived.
pub const WINDOW: usize = 4;

/// Each side sends a frame at least this often; with nothing else to say, the host sends
/// [`crate::link::Message::Heartbeat`] and the board [`crate::link::Message::Status`].
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);

/// After this long without a valid frame from the host (any frame passing the CRC and version
/// checks), the board drops every PTT on its own and reports
/// [`crate::link::Fault::HostSilence`]. Five heartbeats in a row must be lost first.
pub const HOST_SILENCE_LIMIT: Duration = Duration::from_millis(500);

/// After this long without a valid frame from the board, the host treats it as gone: it marks
/// every radio on the board as unable to transmit and starts a new handshake.
pub const BOARD_SILENCE_LIMIT: Duration = Duration::from_millis(500);

/// How long the host waits for an ordinary command's ack, counted from handing the frame to the
/// serial port. It covers a full window of chunk frames queued ahead of it (94 ms) plus the
/// round trip.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(250);

/// How long the host waits for the ack of [`crate::link::Message::UpdateBegin`], which the board
/// sends only after erasing the update slot (seconds on large flash sectors).
pub const ERASE_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the host waits for the ack of [`crate::link::Message::UpdateVerify`]: a CRC-32 and
/// an ed25519 verification over the whole image.
pub const VERIFY_ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// A radio released for less than this and keyed again is, for the board's TX cap, still on
/// the same transmission: a host that releases and re-keys between overs cannot restart the
/// cap. The same holds for a port armed over PEI ([`crate::link::Message::PeiKeyed`]). The
/// host's own forced gap after its continuous cap must be at least this long.
pub const MIN_TX_BREAK: Duration = Duration::from_secs(1);

/// How many times the host resends an unanswered command (same sequence number, same bytes)
/// before it declares the link down and starts a new handshake.
pub const MAX_RETRIES: u8 = 3;
