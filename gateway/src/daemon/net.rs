//! The daemon's side of the peer links: starts the voice socket task ([`crate::net::driver`])
//! with the keys and settings of the configuration, hands authenticated voice to the engine,
//! ends a dead peer's streams, and sends the engine's packets for peers.
//!
//! Kept apart from the main loop's file: the loop hands [`Input::Net`] to the site core and
//! the core's packets for peers to [`NetIo::send`].

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use borderlink_protocol::time::Instant;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::Input;
use crate::config::Config;
use crate::engine::relay::Transmit;
use crate::net::driver::{self, NetSnapshot, SharedSnapshot};
use crate::net::socket::{PeerSocket, SocketOptions};
use crate::net::{KeyEpoch, KeyError, LinkConfig, PeerKeys, PeerLinks, PeerSpec, PeerStatus};

/// Why the peer links could not start.
#[derive(Debug, Error)]
pub enum NetError {
    /// A peer's key file is missing, exposed or malformed.
    #[error("peer {peer}: {source}")]
    Key {
        /// The peer's name.
        peer: String,
        /// What is wrong with the file.
        source: KeyError,
    },
    /// Two peers are configured with the same key file, or files holding the same keys: the
    /// two links would share keystreams.
    #[error(
        "peers {first} and {second} use the same key{how}: every pair of sites needs keys of its \
         own (two links under one key can repeat SSRC and sequence, and so keystreams)"
    )]
    SharedKey {
        /// The peer configured first.
        first: String,
        /// The peer configured later.
        second: String,
        /// " file PATH" when the path is the same, empty when only the content is.
        how: String,
    },
    /// The operating system's random source failed, so no key epoch could be drawn.
    #[error("cannot draw this run's key epoch from the operating system's random source: {0}")]
    Random(getrandom::Error),
    /// The voice socket could not be opened.
    #[error("voice socket {listen}: {source}")]
    Socket {
        /// The configured address.
        listen: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Packets for peers queued between the main loop and the socket task: 2 s of 100 streams.
const OUTGOING_QUEUE: usize = 8192;

/// The main loop's handle on the peer links.
pub(super) struct NetIo {
    out: mpsc::Sender<Transmit>,
    snapshot: SharedSnapshot,
    /// Packets for peers dropped because the socket task fell behind.
    queue_full: u64,
}

/// The first stream id of this run: the wall clock in seconds × 256, so that a restarted
/// daemon starts above every id (and so every SRTP SSRC) its previous run used, unless that
/// run made more than 256 streams per second of its life.
pub(super) fn first_stream_id() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs as u32).wrapping_mul(256)
}

/// Loads every peer's keys, opens the voice socket and starts its task; `None` without peers.
pub(super) fn start(
    config: &Config,
    now: Instant,
    inputs: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) -> Result<Option<(NetIo, JoinHandle<()>)>, NetError> {
    if config.peers.is_empty() {
        return Ok(None);
    }
    let mut specs: Vec<PeerSpec> = Vec::with_capacity(config.peers.len());
    for (n, peer) in config.peers.iter().enumerate() {
        if let Some(first) = config.peers[..n]
            .iter()
            .find(|p| p.key_file == peer.key_file)
        {
            return Err(NetError::SharedKey {
                first: first.name.clone(),
                second: peer.name.clone(),
                how: format!(" file {}", peer.key_file.display()),
            });
        }
        let keys = PeerKeys::load(&peer.key_file, peer.suite).map_err(|source| NetError::Key {
            peer: peer.name.clone(),
            source,
        })?;
        let (send, receive) = keys.for_link(config.site.id, peer.site);
        if let Some(first) = specs.iter().find(|s| {
            [&s.send, &s.receive]
                .iter()
                .any(|k| **k == send || **k == receive)
        }) {
            return Err(NetError::SharedKey {
                first: first.name.clone(),
                second: peer.name.clone(),
                how: String::new(),
            });
        }
        specs.push(PeerSpec {
            site: peer.site,
            name: peer.name.clone(),
            address: peer.address.clone(),
            send,
            receive,
        });
    }
    let net = config.network;
    let (socket, granted) = PeerSocket::bind(SocketOptions {
        listen: net.listen,
        dscp: net.dscp,
        buffer: net.socket_buffer,
        batch: true,
    })
    .map_err(|source| NetError::Socket {
        listen: net.listen,
        source,
    })?;
    info!(
        local = %granted.local,
        dscp = net.dscp,
        recv_buffer = granted.recv_buffer,
        send_buffer = granted.send_buffer,
        peers = specs.len(),
        "voice socket open"
    );
    // Linux reports twice the size it grants; less than asked means net.core.rmem_max caps it.
    if granted.recv_buffer < net.socket_buffer {
        warn!(
            asked = net.socket_buffer,
            granted = granted.recv_buffer,
            "receive buffer smaller than configured: raise net.core.rmem_max"
        );
    }
    // A keepalive SSRC of its own for each run, so the peers' SRTCP replay windows of the
    // previous run never hold this one's keepalives back.
    let keepalive_ssrc = (first_stream_id() ^ std::process::id().rotate_left(16)) | 1;
    let links = PeerLinks::new(
        now,
        LinkConfig {
            site: config.site.id,
            keepalive: net.keepalive,
            down_after: net.down_after,
            keepalive_ssrc,
            epoch: KeyEpoch::random().map_err(NetError::Random)?,
        },
        specs,
    );
    let (out, outgoing) = mpsc::channel(OUTGOING_QUEUE);
    let snapshot: SharedSnapshot = Arc::new(Mutex::new(NetSnapshot::default()));
    let task = tokio::spawn(
        driver::run(
            links,
            socket,
            outgoing,
            inputs,
            Input::Net,
            Arc::clone(&snapshot),
            shutdown,
        )
        .instrument(info_span!("net")),
    );
    Ok(Some((
        NetIo {
            out,
            snapshot,
            queue_full: 0,
        },
        task,
    )))
}

impl NetIo {
    fn snapshot(&self) -> NetSnapshot {
        self.snapshot.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Every peer link's status, as of the socket task's latest snapshot (at most a second
    /// old): for the control API and metrics.
    pub(super) fn peers(&self) -> Vec<PeerStatus> {
        self.snapshot().peers
    }

    /// Hands a packet for a peer to the socket task; one that finds its queue full is dropped
    /// and counted.
    pub(super) fn send(&mut self, packet: Transmit) {
        if self.out.try_send(packet).is_err() {
            self.queue_full += 1;
            if self.queue_full.is_power_of_two() {
                warn!(
                    dropped = self.queue_full,
                    "voice socket task behind: packets for peers dropped"
                );
            }
        }
    }

    /// Logs every peer's counters, the engine's frames and the socket's (at shutdown).
    pub(super) fn log_summary(&self, engine: &crate::engine::counters::Counters) {
        for p in self.peers() {
            let c = &p.counters;
            info!(
                peer = %p.name,
                site = p.site.0,
                state = ?p.state,
                voice_in = c.voice_in,
                voice_out = c.voice_out,
                keepalives_in = c.keepalives_in,
                lost = c.lost,
                late = c.late,
                duplicate = c.duplicate,
                replay = c.replay,
                stale = c.stale,
                stream_limit = c.stream_limit,
                auth_failed = c.auth_failed,
                malformed = c.malformed,
                rtt_ms = ?p.rtt_smoothed_ms,
                "peer link closed"
            );
        }
        let drops: Vec<String> = crate::engine::counters::DropCause::ALL
            .iter()
            .filter(|c| engine.dropped(**c) > 0)
            .map(|c| format!("{}={}", c.label(), engine.dropped(*c)))
            .collect();
        info!(
            received = engine.received,
            delivered = engine.delivered,
            concealed = engine.concealed,
            dropped = %drops.join(" "),
            "engine frames"
        );
        let socket = self.snapshot().socket;
        info!(
            unknown_source = socket.unknown_source,
            unroutable = socket.unroutable,
            queue_full = self.queue_full,
            "voice socket closed"
        );
    }
}
