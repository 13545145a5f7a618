//! The engine's timer index: when each stream and floor next needs [`Engine::handle_timeout`],
//! without looking at every one of them after every packet.
//!
//! A min-heap of `(deadline, timer)` with lazy deletion. Each timer has at most one *armed*
//! deadline, the earliest it was given since it last fired; heap entries that are not a
//! timer's armed deadline are stale and skipped when they come to the top. Arming a deadline
//! later than the armed one does nothing: the earlier entry fires first, and whoever handles
//! it looks at the timer's real deadline and arms that. So a deadline that moves later with
//! every packet (a stream's silence timeout, a floor's idle timer) costs nothing per packet,
//! and one that moves earlier (a hang time starting) is one push.
//!
//! The rule the engine keeps: after every public call, each stream without a jitter buffer
//! and each floor with a deadline has an armed deadline no later than its real one. Debug
//! builds check it after every call (`Engine::check_timers`).
//!
//! [`Engine::handle_timeout`]: super::Engine::handle_timeout

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};

use borderlink_protocol::time::Instant;

use super::super::patch::PatchId;
use super::super::stream::StreamKey;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Timer {
    /// A stream without a jitter buffer: its silence timeout.
    Stream(StreamKey),
    /// A patch's floor: its earliest timer.
    Floor(PatchId),
}

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
    armed: HashMap<Timer, Instant>,
}

impl Timers {
    pub(super) fn with_capacity(n: usize) -> Self {
        Timers {
            heap: BinaryHeap::with_capacity(n),
            armed: HashMap::with_capacity(n),
        }
    }

    /// Makes sure `timer` fires no later than `at`; `None` asks nothing.
    pub(super) fn arm(&mut self, timer: Timer, at: Option<Instant>) {
        let Some(at) = at else { return };
        match self.armed.entry(timer) {
            Entry::Occupied(armed) if *armed.get() <= at => {}
            Entry::Occupied(mut armed) => {
                armed.insert(at);
                self.heap.push(Reverse((at, timer)));
            }
            Entry::Vacant(slot) => {
                slot.insert(at);
                self.heap.push(Reverse((at, timer)));
            }
        }
    }

    /// Forgets a timer whose stream or floor is gone; its heap entry becomes stale.
    pub(super) fn forget(&mut self, timer: Timer) {
        self.armed.remove(&timer);
    }

    /// The armed deadline of a timer.
    pub(super) fn armed(&self, timer: Timer) -> Option<Instant> {
        self.armed.get(&timer).copied()
    }

    /// The earliest entry: never later than any armed deadline (a stale entry at the top only
    /// makes the caller look early).
    pub(super) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Moves every timer armed at or before `now` to `due`, disarmed, earliest first.
    pub(super) fn pop_due(&mut self, now: Instant, due: &mut Vec<Timer>) {
        while let Some(&Reverse((at, timer))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.armed.get(&timer) == Some(&at) {
                self.armed.remove(&timer);
                due.push(timer);
            }
        }
    }

    /// Entries in the heap, stale ones included (for tests of its growth).
    #[cfg(test)]
    pub(super) fn entries(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use borderlink_protocol::time::Duration;
    use borderlink_protocol::voice::{SiteId, StreamId};

    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(n)
    }

    fn stream(n: u32) -> Timer {
        Timer::Stream(StreamKey {
            site: SiteId(1),
            stream: StreamId(n),
        })
    }

    fn due(timers: &mut Timers, now: Instant) -> Vec<Timer> {
        let mut out = Vec::new();
        timers.pop_due(now, &mut out);
        out
    }

    #[test]
    fn fires_in_deadline_order_and_only_when_due() {
        let mut t = Timers::default();
        t.arm(stream(1), Some(ms(30)));
        t.arm(stream(2), Some(ms(10)));
        t.arm(Timer::Floor(PatchId(7)), Some(ms(20)));
        t.arm(stream(3), None);
        assert_eq!(t.next(), Some(ms(10)));
        assert_eq!(due(&mut t, ms(9)), vec![]);
        assert_eq!(
            due(&mut t, ms(20)),
            vec![stream(2), Timer::Floor(PatchId(7))]
        );
        assert_eq!(t.armed(stream(2)), None, "a fired timer is disarmed");
        assert_eq!(t.next(), Some(ms(30)));
        assert_eq!(due(&mut t, ms(100)), vec![stream(1)]);
        assert_eq!(t.next(), None);
    }

    #[test]
    fn a_later_deadline_keeps_the_earlier_and_an_earlier_one_replaces_it() {
        let mut t = Timers::default();
        t.arm(stream(1), Some(ms(50)));
        // Later: nothing pushed, the 50 ms entry stays armed.
        t.arm(stream(1), Some(ms(80)));
        assert_eq!(t.entries(), 1);
        assert_eq!(t.armed(stream(1)), Some(ms(50)));
        // Earlier: armed moves, the 50 ms entry goes stale.
        t.arm(stream(1), Some(ms(20)));
        assert_eq!(t.armed(stream(1)), Some(ms(20)));
        assert_eq!(due(&mut t, ms(20)), vec![stream(1)]);
        // The stale entry fires nothing.
        assert_eq!(due(&mut t, ms(60)), vec![]);
        assert_eq!(t.entries(), 0);
    }

    #[test]
    fn a_forgotten_timer_never_fires_even_if_armed_again_later() {
        let mut t = Timers::default();
        t.arm(stream(1), Some(ms(10)));
        t.forget(stream(1));
        assert_eq!(due(&mut t, ms(10)), vec![]);
        t.arm(stream(1), Some(ms(40)));
        t.forget(stream(1));
        t.arm(stream(1), Some(ms(60)));
        assert_eq!(due(&mut t, ms(50)), vec![], "the 40 ms entry is stale");
        assert_eq!(due(&mut t, ms(60)), vec![stream(1)]);
    }
}
