//! Every frame the engine does not deliver is counted here, by cause (invariant 4: nothing
//! is lost silently). The daemon exports these as Prometheus counters.

use serde::Serialize;

/// Why a frame was not delivered (or was replaced by concealment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropCause {
    /// Arrived after its playout time.
    Late,
    /// Already received (same stream and sequence, on this or another path).
    Duplicate,
    /// A buffer bound was hit (jitter buffer full, too many streams).
    Overflow,
    /// Dropped to catch up after a grant wait: a silent frame.
    CatchUpSilence,
    /// Dropped to catch up after a grant wait: a speech frame (only when no silence was left).
    CatchUpSpeech,
    /// The stream does not have the floor of its patch.
    FloorDenied,
    /// The transmission exceeded the TX timeout, or its source is in the block time after one.
    TxTimeout,
    /// Loop prevention: the frame would go back to its origin network, or it was heard from
    /// another gateway's radio.
    Loop,
    /// No patch joins the source's group.
    NoPatch,
    /// The radio network refused the transmit grant (or the radio went down) while audio was
    /// held for it.
    RadioRefused,
    /// The peer the stream came from went down: what was held for its radios is dropped.
    PeerDown,
    /// The peer the stream came from already has as many streams as one peer may have.
    PeerStreamLimit,
    /// Another gateway captured the same over and relays it: this capture repeats it.
    SameOver,
}

impl DropCause {
    /// Every cause, in a fixed order (the index of [`Counters::dropped`]).
    pub const ALL: [DropCause; 13] = [
        DropCause::Late,
        DropCause::Duplicate,
        DropCause::Overflow,
        DropCause::CatchUpSilence,
        DropCause::CatchUpSpeech,
        DropCause::FloorDenied,
        DropCause::TxTimeout,
        DropCause::Loop,
        DropCause::NoPatch,
        DropCause::RadioRefused,
        DropCause::PeerDown,
        DropCause::PeerStreamLimit,
        DropCause::SameOver,
    ];

    /// The cause's metric label.
    pub const fn label(self) -> &'static str {
        match self {
            DropCause::Late => "late",
            DropCause::Duplicate => "duplicate",
            DropCause::Overflow => "overflow",
            DropCause::CatchUpSilence => "catch_up_silence",
            DropCause::CatchUpSpeech => "catch_up_speech",
            DropCause::FloorDenied => "floor_denied",
            DropCause::TxTimeout => "tx_timeout",
            DropCause::Loop => "loop",
            DropCause::NoPatch => "no_patch",
            DropCause::RadioRefused => "radio_refused",
            DropCause::PeerDown => "peer_down",
            DropCause::PeerStreamLimit => "peer_stream_limit",
            DropCause::SameOver => "same_over",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Frame counters of one receive path or of the whole engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Frames received.
    pub received: u64,
    /// Frames delivered (played out or forwarded), real audio.
    pub delivered: u64,
    /// Frames synthesised to cover a lost frame.
    pub concealed: u64,
    /// Frames dropped, indexed by [`DropCause::ALL`].
    pub dropped: [u64; DropCause::ALL.len()],
}

impl Counters {
    /// Counts one dropped frame.
    pub fn drop(&mut self, cause: DropCause) {
        self.drop_n(cause, 1);
    }

    /// Counts `n` dropped frames.
    pub fn drop_n(&mut self, cause: DropCause, n: u64) {
        let slot = &mut self.dropped[cause.index()];
        *slot = slot.saturating_add(n);
    }

    /// Frames dropped for this cause.
    pub fn dropped(&self, cause: DropCause) -> u64 {
        self.dropped[cause.index()]
    }

    /// Frames dropped for any cause.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Adds another set of counters to this one.
    pub fn add(&mut self, other: &Counters) {
        self.received = self.received.saturating_add(other.received);
        self.delivered = self.delivered.saturating_add(other.delivered);
        self.concealed = self.concealed.saturating_add(other.concealed);
        for (a, b) in self.dropped.iter_mut().zip(other.dropped) {
            *a = a.saturating_add(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_index_their_own_slot() {
        let mut c = Counters::default();
        for (n, cause) in DropCause::ALL.into_iter().enumerate() {
            c.drop_n(cause, n as u64 + 1);
        }
        for (n, cause) in DropCause::ALL.into_iter().enumerate() {
            assert_eq!(c.dropped(cause), n as u64 + 1, "{}", cause.label());
        }
        assert_eq!(c.dropped_total(), 91);
    }

    #[test]
    fn add_sums_every_field() {
        let mut a = Counters {
            received: 3,
            delivered: 2,
            concealed: 1,
            ..Default::default()
        };
        a.drop(DropCause::Late);
        let mut b = a;
        b.add(&a);
        assert_eq!((b.received, b.delivered, b.concealed), (6, 4, 2));
        assert_eq!(b.dropped(DropCause::Late), 2);
    }
}
