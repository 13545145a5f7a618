//! One group call inside the emulated SwMI: who is in it, who talks, who waits.
//!
//! A TETRA group call has one transmitter at a time. A demand while the channel is free is
//! granted after the network's grant delay; a demand while someone talks (or is about to) is
//! queued, unless it is pre-emptive and of a higher level, in which case the talker is
//! interrupted. When the talker stops, the best queued demand (highest level, then first
//! come) is granted. A call with nobody talking is released when its hang time runs out.

use std::collections::BTreeMap;

use borderlink_protocol::ids::Network;
use borderlink_protocol::time::Instant;

use super::TerminalId;

/// Somebody holding or about to hold the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Holder {
    pub(super) terminal: TerminalId,
    pub(super) level: u8,
    /// Granted at (talker) or to be granted at (pending).
    pub(super) at: Instant,
}

/// A demand waiting for the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Waiting {
    pub(super) terminal: TerminalId,
    pub(super) level: u8,
    pub(super) since: Instant,
}

/// A group call in progress.
#[derive(Debug, Clone)]
pub(super) struct GroupCall {
    pub(super) network: Network,
    /// The call's priority, as `+CTICN` tells joining radios (15: emergency).
    pub(super) level: u8,
    /// Terminals in the call, with the call instance each one knows it by (0 for field
    /// units, which have no PEI).
    pub(super) members: BTreeMap<TerminalId, u16>,
    pub(super) talker: Option<Holder>,
    pub(super) pending: Option<Holder>,
    pub(super) queue: Vec<Waiting>,
    /// Released when this passes with nobody talking or waiting.
    pub(super) release_at: Option<Instant>,
    /// Numbers the overs of the call, for the timeline.
    pub(super) overs: u32,
}

impl GroupCall {
    pub(super) fn new(network: Network, level: u8) -> Self {
        GroupCall {
            network,
            level,
            members: BTreeMap::new(),
            talker: None,
            pending: None,
            queue: Vec::new(),
            release_at: None,
            overs: 0,
        }
    }

    /// The one holding or about to hold the channel.
    pub(super) fn holder(&self) -> Option<Holder> {
        self.talker.or(self.pending)
    }

    /// Takes the best waiting demand: highest level, then the earliest.
    pub(super) fn next_waiting(&mut self) -> Option<Waiting> {
        let best = self
            .queue
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| a.level.cmp(&b.level).then(b.since.cmp(&a.since)))
            .map(|(i, _)| i)?;
        Some(self.queue.remove(best))
    }

    /// Forgets a terminal's waiting demand; whether it had one.
    pub(super) fn unqueue(&mut self, terminal: TerminalId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|w| w.terminal != terminal);
        before != self.queue.len()
    }

    /// Whether the channel is free with nobody waiting.
    pub(super) fn is_idle(&self) -> bool {
        self.talker.is_none() && self.pending.is_none() && self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_waiting_demand_is_the_highest_then_the_oldest() {
        let mut call = GroupCall::new(Network::Astrid, 0);
        let w = |t: u32, level: u8, ms: u64| Waiting {
            terminal: TerminalId(t),
            level,
            since: Instant::from_millis(ms),
        };
        call.queue = vec![w(1, 3, 10), w(2, 5, 20), w(3, 5, 15), w(4, 1, 0)];
        let order: Vec<u32> = std::iter::from_fn(|| call.next_waiting())
            .map(|w| w.terminal.0)
            .collect();
        assert_eq!(order, [3, 2, 1, 4]);
    }
}
