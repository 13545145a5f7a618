//! Per-peer counters and per-stream receive statistics: loss and interarrival jitter as RFC
//! 3550 (§6.4.1, Appendix A.3, A.8) defines them, so the figures read like any RTP tool's.

use borderlink_protocol::time::Instant;
use serde::Serialize;

use super::replay::ReplayWindow;

/// What happened to one peer's packets; every packet received from the peer's address lands
/// in exactly one of `voice_in`, `keepalives_in`, `malformed`, `auth_failed`, `duplicate`,
/// `replay` or `stale`. Monotonic counters, for Prometheus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeerCounters {
    /// Voice packets authenticated and handed to the engine.
    pub voice_in: u64,
    /// Voice packets sent.
    pub voice_out: u64,
    /// Keepalives authenticated.
    pub keepalives_in: u64,
    /// Keepalives sent.
    pub keepalives_out: u64,
    /// Bytes received (UDP payload, every packet from the peer's address).
    pub bytes_in: u64,
    /// Bytes sent (UDP payload).
    pub bytes_out: u64,
    /// Voice packets never received (sequence gaps, RFC 3550 A.3 "cumulative lost").
    pub lost: u64,
    /// Voice packets that arrived after a later packet of their stream (accepted).
    pub late: u64,
    /// Packets already received, within the replay window (network duplicates, or a replay
    /// of a recent packet): dropped.
    pub duplicate: u64,
    /// Packets older than the replay window: dropped.
    pub replay: u64,
    /// Authenticated packets whose key-up or wall-clock time is older than the freshness
    /// limit (a replay of old traffic, or a peer whose clock is far off): dropped.
    pub stale: u64,
    /// Authenticated packets of a new stream (SSRC) beyond the replay windows one peer may
    /// have (a peer flooding new streams): dropped.
    pub stream_limit: u64,
    /// Packets whose authentication tag did not verify (wrong key, forged, damaged): dropped.
    pub auth_failed: u64,
    /// Packets too short, not RTP/RTCP, with a malformed header, or that authenticate but do
    /// not parse as borderlink voice or keepalive: dropped.
    pub malformed: u64,
    /// Sends the operating system refused.
    pub send_errors: u64,
    /// Times the peer went from up to down.
    pub down_events: u64,
}

impl PeerCounters {
    /// Every counter with its metric name, for exporters.
    pub fn fields(&self) -> [(&'static str, u64); 16] {
        [
            ("voice_in", self.voice_in),
            ("voice_out", self.voice_out),
            ("keepalives_in", self.keepalives_in),
            ("keepalives_out", self.keepalives_out),
            ("bytes_in", self.bytes_in),
            ("bytes_out", self.bytes_out),
            ("lost", self.lost),
            ("late", self.late),
            ("duplicate", self.duplicate),
            ("replay", self.replay),
            ("stale", self.stale),
            ("stream_limit", self.stream_limit),
            ("auth_failed", self.auth_failed),
            ("malformed", self.malformed),
            ("send_errors", self.send_errors),
            ("down_events", self.down_events),
        ]
    }
}

/// Counters of the socket as a whole (packets that belong to no peer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SocketCounters {
    /// Datagrams from an address that is no configured peer's: dropped unread.
    pub unknown_source: u64,
    /// Datagrams sent to a peer whose address is not resolved yet: dropped.
    pub unroutable: u64,
}

/// One received voice stream (SSRC): its replay window and RFC 3550 statistics.
#[derive(Debug, Clone)]
pub(crate) struct StreamStats {
    pub(crate) window: ReplayWindow,
    first: u64,
    received: u64,
    pub(crate) last_seen: Instant,
    /// The stream's key-up time (ms since 1970), for voice windows: once it is beyond the
    /// freshness limit the window may go, since a replay would be refused as stale.
    pub(crate) key_up_ms: u64,
    /// Previous transit time (arrival − RTP timestamp) in 8 kHz units.
    transit: Option<i64>,
    /// Interarrival jitter in 8 kHz units (RFC 3550 §6.4.1).
    jitter: f64,
}

impl StreamStats {
    pub(crate) fn new(index: u64, now: Instant) -> Self {
        StreamStats {
            window: ReplayWindow::new(index),
            first: index,
            received: 0,
            last_seen: now,
            key_up_ms: 0,
            transit: None,
            jitter: 0.0,
        }
    }

    /// Records an authenticated packet that the window said is new.
    pub(crate) fn accept(&mut self, index: u64, timestamp: u32, now: Instant) {
        if self.received == 0 {
            // The window was created with this packet: it is already the top.
            self.first = index;
        } else {
            self.first = self.first.min(index);
            self.window.accept(index);
        }
        self.received += 1;
        self.last_seen = now;
        let arrival = (now.as_micros() / 125) as i64;
        let transit = arrival - i64::from(timestamp);
        if let Some(prev) = self.transit {
            // Timestamps wrap at 2^32: take the difference on the circle.
            let d = (transit - prev) as i32;
            self.jitter += (f64::from(d.unsigned_abs()) - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// Packets expected but not received so far.
    pub(crate) fn lost(&self) -> u64 {
        if self.received == 0 {
            return 0;
        }
        (self.window.top() - self.first + 1).saturating_sub(self.received)
    }

    /// Interarrival jitter in milliseconds.
    pub(crate) fn jitter_ms(&self) -> f64 {
        self.jitter / 8.0
    }

    /// Whether the stream has passed 65,536 packets (its rollover counter is not 0).
    pub(crate) fn wrapped(&self) -> bool {
        self.window.top() > 0xffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_protocol::time::Duration;

    #[test]
    fn loss_counts_gaps_not_reordering() {
        let t = Instant::from_millis(1);
        let mut s = StreamStats::new(10, t);
        for i in [10u64, 11, 13, 12, 16] {
            if i != 10 {
                assert!(matches!(
                    s.window.check(i),
                    super::super::replay::Verdict::New { .. }
                ));
            }
            s.accept(i, (i * 160) as u32, t);
        }
        // 10..=16 expected (7), 5 received: 14 and 15 lost.
        assert_eq!(s.lost(), 2);
    }

    #[test]
    fn jitter_of_a_steady_stream_is_zero_and_grows_with_variation() {
        let mut s = StreamStats::new(0, Instant::ZERO);
        for i in 0..50u64 {
            let now = Instant::ZERO + Duration::from_millis(20 * i);
            s.accept(i, (i * 160) as u32, now);
        }
        assert!(s.jitter_ms() < 0.01, "{}", s.jitter_ms());
        // Every other packet 10 ms late: |D| = 10 ms each time, J converges towards 10 ms.
        for i in 50..400u64 {
            let late = if i % 2 == 0 { 10 } else { 0 };
            let now = Instant::ZERO + Duration::from_millis(20 * i + late);
            s.accept(i, (i * 160) as u32, now);
        }
        assert!((s.jitter_ms() - 10.0).abs() < 0.5, "{}", s.jitter_ms());
    }
}
