//! Counters of what crossed the board link, for metrics and for diagnosing a bad cable.

use serde::Serialize;

/// What the session saw and did on the link since it was created; counters only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Valid frames from the board.
    pub frames_received: u64,
    /// Frames whose CRC did not match (line noise).
    pub bad_crc: u64,
    /// Frames with bad COBS, too short, or too long.
    pub framing_errors: u64,
    /// Intact frames of another protocol version.
    pub wrong_version: u64,
    /// Intact frames whose body did not parse.
    pub bad_body: u64,
    /// Valid frames carrying a host message (an echo or a loopback), ignored.
    pub not_from_board: u64,
    /// Board frames missing from the board's sequence numbers.
    pub board_frames_lost: u64,
    /// Acks for no command in flight (late answers to superseded or abandoned commands).
    pub unknown_acks: u64,
    /// Frames handed to the serial port, retransmissions included.
    pub frames_sent: u64,
    /// Commands resent after their ack timeout.
    pub retransmissions: u64,
    /// Handshakes begun (each `Hello` with a new sequence number).
    pub handshakes: u64,
    /// Times the link went from up to down.
    pub link_downs: u64,
    /// Events dropped because the driver did not drain them.
    pub events_dropped: u64,
}
