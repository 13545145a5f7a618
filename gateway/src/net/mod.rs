//! Peer links: voice and keepalives between border sites over UDP, protected with SRTP.
//!
//! Each site has one UDP socket (IPv4 or dual-stack IPv6, DSCP EF, sized buffers, batched
//! receive and send where Linux has them) shared by every peer. A peer is known by its
//! configured address and shares an SRTP master key with this site; everything it sends is
//! SRTP (voice, RFC 3711 with AEAD_AES_128_GCM or AES_CM_128_HMAC_SHA1_80) or SRTCP
//! (keepalives), so nothing unauthenticated ever reaches the relay engine or keys a radio.
//!
//! - [`keys`]: suites and key files (format, permissions).
//! - [`epoch`]: the per-run keys derived from a key file, so no two runs share a keystream.
//! - [`srtp`]: SRTP/SRTCP contexts for one peer, with hostile headers kept away from them.
//! - [`replay`]: the SRTP replay window.
//! - [`keepalive`]: the keepalive packet (RTT, liveness, freshness).
//! - [`stats`]: per-peer counters, RFC 3550 loss and jitter.
//! - [`links`]: the sans-IO state machine of a site's links; start reading there.
//! - [`status`]: the per-peer snapshot for the API and metrics.
//! - [`socket`]: the UDP socket (socket2) and batched datagram IO.
//! - [`driver`]: the tokio task that moves datagrams between the socket, [`links`] and the
//!   daemon's main loop.
//!
//! Wire formats: `docs/wire.md`, "Peer links".

pub mod driver;
pub mod epoch;
pub mod keepalive;
pub mod keys;
pub mod links;
pub mod replay;
pub mod socket;
pub mod srtp;
pub mod stats;
pub mod status;

pub use epoch::KeyEpoch;
pub use keys::{KeyError, MasterKey, PeerKeys, Suite};
pub use links::{Delivery, LinkConfig, PeerEvent, PeerLinks, PeerSpec};
pub use stats::{PeerCounters, SocketCounters};
pub use status::{PeerState, PeerStatus};
