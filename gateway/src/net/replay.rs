//! The SRTP replay window (RFC 3711 §3.3.2): per SSRC, the highest packet index received and
//! a bitmap of the 128 before it. A packet is checked *before* it is authenticated (so a
//! replay costs no crypto) and recorded only *after* (so a forgery cannot move the window).
//!
//! RTP packets carry only 16 bits of their 48-bit index; [`estimate_index`] recovers the
//! rest from the highest index seen, as RFC 3711 Appendix A does with the rollover counter.
//! SRTCP packets carry their 31-bit index in full.

/// Packets behind the highest index that are still told apart (RFC 3711 asks for at least 64).
pub const WINDOW: u64 = 128;

/// What the window says about a packet index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Never received: authenticate it, then [`ReplayWindow::accept`] it.
    New {
        /// It is older than the highest index received (it arrived out of order).
        late: bool,
    },
    /// Already received, within the window: a network duplicate or a quick replay.
    Duplicate,
    /// Older than the window: it cannot be told from a replay, so it is refused.
    TooOld,
}

/// One SSRC's replay window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayWindow {
    top: u64,
    /// Bit n set: index `top - n` received.
    mask: u128,
}

impl ReplayWindow {
    /// A window whose first received packet has `index`.
    pub fn new(index: u64) -> Self {
        ReplayWindow {
            top: index,
            mask: 1,
        }
    }

    /// The highest index received.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// What a packet with `index` would be.
    pub fn check(&self, index: u64) -> Verdict {
        if index > self.top {
            return Verdict::New { late: false };
        }
        let behind = self.top - index;
        if behind >= WINDOW {
            Verdict::TooOld
        } else if self.mask & (1u128 << behind) != 0 {
            Verdict::Duplicate
        } else {
            Verdict::New { late: true }
        }
    }

    /// Records an authenticated packet; call only after [`ReplayWindow::check`] said `New`.
    pub fn accept(&mut self, index: u64) {
        if index > self.top {
            let shift = index - self.top;
            self.mask = if shift >= WINDOW {
                0
            } else {
                self.mask << shift
            };
            self.mask |= 1;
            self.top = index;
        } else {
            let behind = self.top - index;
            if behind < WINDOW {
                self.mask |= 1u128 << behind;
            }
        }
    }
}

/// The 48-bit SRTP index of an RTP packet with sequence number `seq`, given the highest index
/// received so far on its SSRC (RFC 3711 Appendix A: the guess of the rollover counter that
/// puts the packet closest to the highest one).
pub fn estimate_index(top: u64, seq: u16) -> u64 {
    let roc = top >> 16;
    let s_l = (top & 0xffff) as i64;
    let seq_i = i64::from(seq);
    let v = if s_l < 0x8000 {
        if seq_i - s_l > 0x8000 && roc > 0 {
            roc - 1
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq_i {
        roc + 1
    } else {
        roc
    };
    (v << 16) | u64::from(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_duplicate_late_and_too_old() {
        let mut w = ReplayWindow::new(1000);
        assert_eq!(w.check(1000), Verdict::Duplicate);
        assert_eq!(w.check(1001), Verdict::New { late: false });
        w.accept(1001);
        assert_eq!(w.check(999), Verdict::New { late: true });
        w.accept(999);
        assert_eq!(w.check(999), Verdict::Duplicate);
        // Exactly the window's edge: 127 behind is remembered, 128 is too old.
        w.accept(1001 + 200);
        assert_eq!(w.check(1201 - 127), Verdict::New { late: true });
        assert_eq!(w.check(1201 - 128), Verdict::TooOld);
        assert_eq!(w.check(1001), Verdict::TooOld);
    }

    /// A jump of exactly the window's size (issue 20: after packets 1 and 129, a genuine 128
    /// was dropped as a duplicate when the shift compared with `>`).
    #[test]
    fn a_jump_of_exactly_the_window_keeps_the_packets_in_between_new() {
        let mut w = ReplayWindow::new(1);
        assert_eq!(w.check(1 + WINDOW), Verdict::New { late: false });
        w.accept(1 + WINDOW);
        assert_eq!(w.check(WINDOW), Verdict::New { late: true });
        assert_eq!(w.check(2), Verdict::New { late: true });
        assert_eq!(w.check(1), Verdict::TooOld);
        assert_eq!(w.check(1 + WINDOW), Verdict::Duplicate);
        w.accept(WINDOW);
        assert_eq!(w.check(WINDOW), Verdict::Duplicate);
    }

    #[test]
    fn a_jump_beyond_the_window_forgets_everything_before() {
        let mut w = ReplayWindow::new(5);
        w.accept(5 + WINDOW + 10);
        assert_eq!(w.check(5 + WINDOW + 9), Verdict::New { late: true });
        assert_eq!(w.check(5 + WINDOW + 10), Verdict::Duplicate);
    }

    #[test]
    fn every_index_is_accepted_once_in_any_order_within_the_window() {
        let mut w = ReplayWindow::new(0);
        // A shuffled run: 0..100 in a fixed permutation (multiplication by a unit mod 101).
        let order: Vec<u64> = (1..101u64).map(|i| (i * 37) % 101).collect();
        let mut accepted = 0;
        for &i in order.iter().chain(order.iter()) {
            if matches!(w.check(i), Verdict::New { .. }) {
                w.accept(i);
                accepted += 1;
            }
        }
        assert_eq!(
            accepted, 100,
            "index 0 was the first packet; 1..=100 once each"
        );
    }

    #[test]
    fn index_estimate_follows_the_rollover() {
        assert_eq!(estimate_index(10, 11), 11);
        // Just before a wrap, a small sequence number is the next cycle.
        assert_eq!(estimate_index(0xfff0, 0x0002), 0x1_0002);
        // Just after a wrap, a large one is a late packet of the previous cycle.
        assert_eq!(estimate_index(0x1_0002, 0xfff0), 0xfff0);
        // In the first cycle there is no previous one.
        assert_eq!(estimate_index(0x0002, 0xfff0), 0xfff0);
        assert_eq!(estimate_index(0x5_9000, 0x0001), 0x6_0001);
        assert_eq!(estimate_index(0x5_8000, 0x0001), 0x5_0001);
    }
}
