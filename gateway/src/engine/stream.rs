//! The identity of a transmission and what floor control needs to know about it.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{KeyUpTime, Priority, RadioHeader, SiteId, StreamId};
use serde::{Deserialize, Serialize};

/// How far apart, in ms of the sites' synchronised clocks, two gateways' captures of one
/// over may key up ([`Claim::repeats`]): the radios hear the call within a few hundred ms of
/// each other and the clocks agree to tens of ms; the next over on the group starts later
/// than this after the last one's key-up unless it is shorter than a second.
pub const SAME_OVER_WINDOW_MS: u64 = 1_000;

/// A transmission, system-wide: the site that put it on IP and that site's stream id. The
/// same key on two paths is the same transmission (first arrival wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamKey {
    /// Origin site.
    pub site: SiteId,
    /// Stream id, unique per origin site.
    pub stream: StreamId,
}

/// A transmission's claim to the floor of a patch, as every site sees it in the voice header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    /// Which transmission.
    pub key: StreamKey,
    /// Emergency call, as claimed by the source (before policy).
    pub emergency: bool,
    /// Priority, as claimed by the source (before policy).
    pub priority: Priority,
    /// Key-up time at the origin (synchronised clocks).
    pub started: KeyUpTime,
    /// Network the talker is on; `None` for a dispatch console.
    pub origin_network: Option<Network>,
    /// The talker, if known.
    pub talker: Option<Tsi>,
    /// The talkgroup the transmission was heard on (a console's: the group it talks to).
    pub group: Tsi,
}

impl Claim {
    /// The claim carried by a voice packet's radio header.
    pub fn from_header(h: &RadioHeader) -> Self {
        Claim {
            key: StreamKey {
                site: h.origin.site,
                stream: h.stream,
            },
            emergency: h.emergency,
            priority: h.priority,
            started: h.started,
            origin_network: h.origin.network,
            talker: h.talker,
            group: h.talkgroup,
        }
    }

    /// Whether this claim repeats `first`: the same radio transmission, captured again by
    /// another gateway (loop rule 4, [`loops`](super::loops)). A TETRA group carries one
    /// talker at a time, so two live captures of one group of one network, keyed up within
    /// [`SAME_OVER_WINDOW_MS`] of each other at two sites, are one over heard twice; the
    /// capture of the lowest site is the one relayed, at every site alike. Consoles' streams
    /// never repeat each other, and neither do two streams of one site (its next over may
    /// start while the last one's end is still on its way).
    pub fn repeats(&self, first: &Claim) -> bool {
        self.origin_network.is_some()
            && self.origin_network == first.origin_network
            && self.group == first.group
            && self.key.site > first.key.site
            && self.started.0.abs_diff(first.started.0) <= SAME_OVER_WINDOW_MS
    }
}
