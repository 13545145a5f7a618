//! The identity of a transmission and what floor control needs to know about it.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{KeyUpTime, Priority, RadioHeader, SiteId, StreamId};
use serde::{Deserialize, Serialize};

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
        }
    }
}
