//! What the control API and metrics show about each peer: a plain snapshot.

use borderlink_protocol::voice::SiteId;
use serde::Serialize;

use super::keys::Suite;
use super::stats::PeerCounters;

/// Whether a peer is heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// An authenticated packet arrived within the last `down_after` keepalive intervals.
    Up,
    /// Silent for longer, or never heard since the start.
    Down,
}

/// One peer link, as of the moment the snapshot was taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerStatus {
    /// The peer's name from the configuration.
    pub name: String,
    /// Its site id.
    pub site: SiteId,
    /// `host:port` as configured.
    pub address: String,
    /// Where packets go now, once the address is resolved.
    pub resolved: Option<std::net::SocketAddr>,
    /// Up or down.
    pub state: PeerState,
    /// Milliseconds since the state last changed (since the start, if it never did).
    pub state_for_ms: u64,
    /// Milliseconds since the last authenticated packet, if any arrived.
    pub last_heard_ms: Option<u64>,
    /// The latest round-trip time, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Smoothed round-trip time (RFC 6298's 1/8 gain), milliseconds.
    pub rtt_smoothed_ms: Option<f64>,
    /// RFC 3550 interarrival jitter of the peer's most recent voice stream, milliseconds.
    pub jitter_ms: f64,
    /// The peer's latest keepalive said it hears this site (a one-way fault shows here).
    pub hears_us: bool,
    /// The SRTP suite in use.
    pub suite: Suite,
    /// Packet counters.
    pub counters: PeerCounters,
}
