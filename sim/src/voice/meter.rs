//! The listening end: what every gateway radio put on air, frame by frame, sorted by the
//! transmission each frame belongs to.
//!
//! A frame with a valid [`Marker`] is a spoken frame: it tells its transmission, sequence
//! number and send time, so the meter records its mouth-to-ear latency, whether it came after
//! a later frame (an order violation) and whether it came twice. A frame without one is
//! something the gateway made up (a concealment repeat or comfort silence) and is counted as
//! concealed in the transmission that radio is carrying. Frames never heard are the lost ones.

use std::collections::BTreeMap;

use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::FRAME_LEN;

use super::marker::Marker;

/// What one radio put on air of one transmission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reception {
    /// When the first frame reached the ears.
    pub first_at: Option<Instant>,
    /// When the radio carrying it was granted its current over.
    pub granted_at: Option<Instant>,
    /// Sequence numbers heard.
    pub seqs: std::collections::BTreeSet<u16>,
    /// Mouth-to-ear latency of every spoken frame heard, in arrival order, microseconds,
    /// with its sequence number.
    pub latencies: Vec<(u16, u64)>,
    /// Frames heard again.
    pub duplicates: u32,
    /// Frames heard after a later frame of the same transmission.
    pub order_violations: u32,
    /// Frames the gateway synthesised while carrying this transmission.
    pub concealed: u32,
}

/// A transmission as spoken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spoken {
    /// Frames spoken.
    pub frames: u32,
    /// Send time of the first frame.
    pub first_sent: Option<Instant>,
    /// Send time of the last frame.
    pub last_sent: Option<Instant>,
    /// Where it was heard, by output (gateway radio) number.
    pub receptions: BTreeMap<u32, Reception>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Output {
    /// The transmission the radio is carrying (the last one whose frame it played).
    current: Option<u32>,
    /// When it was granted its current over.
    granted_at: Option<Instant>,
}

/// The meter; see the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct Meter {
    spoken: BTreeMap<u32, Spoken>,
    outputs: BTreeMap<u32, Output>,
    /// Synthesised frames played before any spoken frame of an over.
    unattributed: u64,
    /// Marked frames of transmissions never spoken (corruption that passed the CRC).
    strangers: u64,
}

impl Meter {
    /// A meter with nothing heard.
    pub fn new() -> Self {
        Meter::default()
    }

    /// A unit spoke this frame.
    pub fn spoke(&mut self, marker: &Marker) {
        let s = self.spoken.entry(marker.transmission).or_default();
        s.frames += 1;
        s.first_sent.get_or_insert(marker.sent);
        s.last_sent = Some(marker.sent);
    }

    /// Gateway radio `output` was granted an over at `at`.
    pub fn granted(&mut self, output: u32, at: Instant) {
        let o = self.outputs.entry(output).or_default();
        o.granted_at = Some(at);
        o.current = None;
    }

    /// Gateway radio `output`'s over ended.
    pub fn ended(&mut self, output: u32) {
        let o = self.outputs.entry(output).or_default();
        o.current = None;
        o.granted_at = None;
    }

    /// Gateway radio `output` put `frame` on air; it reaches the ears at `at`.
    pub fn on_air(&mut self, output: u32, at: Instant, frame: &[u8; FRAME_LEN]) {
        let o = self.outputs.entry(output).or_default();
        let Some(marker) = Marker::read(frame) else {
            match o
                .current
                .and_then(|t| self.spoken.get_mut(&t))
                .and_then(|s| s.receptions.get_mut(&output))
            {
                Some(r) => r.concealed += 1,
                None => self.unattributed += 1,
            }
            return;
        };
        o.current = Some(marker.transmission);
        let granted_at = o.granted_at;
        let Some(spoken) = self.spoken.get_mut(&marker.transmission) else {
            self.strangers += 1;
            return;
        };
        let r = spoken.receptions.entry(output).or_default();
        r.first_at.get_or_insert(at);
        if r.granted_at.is_none() {
            r.granted_at = granted_at;
        }
        if !r.seqs.insert(marker.seq) {
            r.duplicates += 1;
            return;
        }
        if r.seqs
            .range(marker.seq.saturating_add(1)..)
            .next()
            .is_some()
        {
            r.order_violations += 1;
        }
        r.latencies
            .push((marker.seq, at.saturating_since(marker.sent).as_micros()));
    }

    /// Every transmission spoken, by number.
    pub fn spoken(&self) -> &BTreeMap<u32, Spoken> {
        &self.spoken
    }

    /// Synthesised frames played before any spoken frame of their over.
    pub fn unattributed(&self) -> u64 {
        self.unattributed
    }

    /// Marked frames that belong to no transmission spoken in this run.
    pub fn strangers(&self) -> u64 {
        self.strangers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tx: u32, seq: u16, sent_ms: u64) -> [u8; FRAME_LEN] {
        Marker {
            talker: 1,
            transmission: tx,
            seq,
            sent: Instant::from_millis(sent_ms),
        }
        .frame()
    }

    #[test]
    fn counts_latency_order_duplicates_concealment_and_loss() {
        let mut m = Meter::new();
        for seq in 0..5u16 {
            m.spoke(&Marker::read(&frame(9, seq, 20 * u64::from(seq))).unwrap());
        }
        m.granted(0, Instant::from_millis(300));
        m.on_air(0, Instant::from_millis(300), &frame(9, 0, 0));
        m.on_air(0, Instant::from_millis(320), &frame(9, 2, 40));
        m.on_air(0, Instant::from_millis(340), &frame(9, 1, 20));
        m.on_air(0, Instant::from_millis(360), &frame(9, 1, 20));
        m.on_air(0, Instant::from_millis(380), &[0xd5; FRAME_LEN]);
        let r = &m.spoken()[&9].receptions[&0];
        assert_eq!(m.spoken()[&9].frames, 5);
        assert_eq!(r.seqs.len(), 3, "seq 3 and 4 lost");
        assert_eq!(r.order_violations, 1);
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.concealed, 1);
        assert_eq!(r.granted_at, Some(Instant::from_millis(300)));
        assert_eq!(r.latencies, [(0, 300_000), (2, 280_000), (1, 320_000)]);
        m.ended(0);
        m.on_air(0, Instant::from_millis(400), &[0xd5; FRAME_LEN]);
        assert_eq!(m.unattributed(), 1);
    }
}
