//! RTP sequence numbers extended past their 16-bit wrap.
//!
//! A transmission of more than 21 minutes wraps the u16 sequence number, and a random initial
//! value (RFC 3550 §5.1) makes a wrap possible in the first second. The buffer therefore works
//! on an extended index: the first packet of the transmission is 0, later packets count up
//! through the wrap, and a packet reordered before the first one gets a small negative index.

/// Extends u16 sequence numbers to a signed index relative to the first one seen.
///
/// Each new number is placed at the nearest index to the highest index accepted so far
/// (half the sequence space either way), as RFC 3550 appendix A.1 does; a packet's
/// index is final once computed, so reordering never renumbers anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqExtender {
    /// The highest accepted sequence number and its index.
    top_seq: u16,
    top_index: i64,
}

impl SeqExtender {
    /// An extender whose index 0 is `first`.
    pub(crate) fn new(first: u16) -> Self {
        SeqExtender {
            top_seq: first,
            top_index: 0,
        }
    }

    /// The index of `seq`, without remembering it.
    pub(crate) fn index(&self, seq: u16) -> i64 {
        // Reinterpreting the wrapped difference as i16 picks the nearer of the two candidates.
        self.top_index + i64::from(seq.wrapping_sub(self.top_seq) as i16)
    }

    /// Records that the packet `seq` at `index` was accepted, so later numbers are placed
    /// relative to the highest accepted one. Rejected packets (a corrupt jump far ahead, say)
    /// are never recorded, so they cannot drag the reference away.
    pub(crate) fn accept(&mut self, seq: u16, index: i64) {
        if index > self.top_index {
            self.top_index = index;
            self.top_seq = seq;
        }
    }

    /// The sequence number of `index` (the inverse of [`index`](Self::index)).
    pub(crate) fn seq(&self, index: i64) -> u16 {
        // Truncating the difference to u16 is exactly "mod 2^16".
        self.top_seq
            .wrapping_add(index.wrapping_sub(self.top_index) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_through_the_wrap() {
        let mut x = SeqExtender::new(65_534);
        for (seq, want) in [(65_534u16, 0i64), (65_535, 1), (0, 2), (1, 3)] {
            let i = x.index(seq);
            assert_eq!(i, want, "seq {seq}");
            x.accept(seq, i);
        }
        assert_eq!(x.seq(2), 0);
        assert_eq!(x.seq(-1), 65_533);
    }

    #[test]
    fn reordered_packets_before_the_first_get_negative_indices() {
        let x = SeqExtender::new(1);
        assert_eq!(x.index(0), -1);
        assert_eq!(x.index(65_535), -2);
        assert_eq!(x.seq(-2), 65_535);
    }

    #[test]
    fn rejected_jumps_do_not_move_the_reference() {
        let mut x = SeqExtender::new(100);
        let far = x.index(100u16.wrapping_add(30_000));
        assert_eq!(far, 30_000);
        // Not accepted: the next normal packet still lands next to 100.
        assert_eq!(x.index(101), 1);
        x.accept(101, 1);
        // After many accepted packets the index keeps growing past several wraps.
        let mut seq = 101u16;
        let mut index = 1;
        for _ in 0..200_000 {
            seq = seq.wrapping_add(1);
            index = x.index(seq);
            x.accept(seq, index);
        }
        assert_eq!(index, 200_001);
        assert_eq!(x.seq(index), seq);
    }
}
