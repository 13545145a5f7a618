//! The IO shell of the peer links: one tokio task that owns the voice socket and the
//! [`PeerLinks`] state machine, and exchanges plain voice packets with the daemon's main loop.
//!
//! SRTP lives here rather than in the main loop: authentication, decryption and encryption are
//! the most expensive per-packet work of the daemon (≈1 µs against the engine's ≈0.7 µs), and
//! in their own task they run on the runtime's other worker thread, in parallel with the
//! engine; the main loop only ever sees packets that have passed every check, and a flood of
//! forged packets costs it nothing. The price is a channel hop each way (a copy of ≈200 bytes).
//!
//! The task reads every datagram that is waiting (one `recvmmsg`), drains the engine's
//! outgoing packets into one `sendmmsg`, runs the links' timers, and publishes a status
//! snapshot for the API at least once a second.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::SiteId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn};

use super::links::{Delivery, PeerEvent, PeerLinks};
use super::socket::{BATCH, PeerSocket};
use super::stats::SocketCounters;
use super::status::PeerStatus;
use crate::clock::Clock;
use crate::engine::endpoint::EndpointId;
use crate::engine::relay::Transmit;

/// What the links tell the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToEngine {
    /// An authenticated voice packet from a peer, for `Engine::handle_packet`.
    Voice(Delivery),
    /// A peer is heard again.
    PeerUp(SiteId),
    /// A peer went silent: its streams must end (`Engine::handle_peer_down`).
    PeerDown(SiteId),
}

/// The links as the API sees them, refreshed by the task at least once a second and at every
/// peer state change.
#[derive(Debug, Clone, Default)]
pub struct NetSnapshot {
    /// Every peer.
    pub peers: Vec<PeerStatus>,
    /// Counters of the socket as a whole.
    pub socket: SocketCounters,
}

/// Shared with the main loop (and through it the API).
pub type SharedSnapshot = Arc<Mutex<NetSnapshot>>;

/// How often the snapshot is refreshed when nothing changes.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

/// Runs the links until `shutdown` or until the main loop goes away: datagrams in, voice to
/// `deliver` (mapped by `wrap`), engine packets from `outgoing` out.
pub async fn run<T: Send + 'static>(
    mut links: PeerLinks,
    mut socket: PeerSocket,
    mut outgoing: mpsc::Receiver<Transmit>,
    deliver: mpsc::Sender<T>,
    wrap: impl Fn(ToEngine) -> T + Send,
    snapshot: SharedSnapshot,
    shutdown: CancellationToken,
) {
    let clock = crate::clock::Clock::new();
    let (resolved_tx, mut resolved) = mpsc::channel::<(SiteId, Vec<SocketAddr>)>(16);
    let mut next_snapshot = clock.now();
    let mut batch: Vec<Transmit> = Vec::with_capacity(BATCH);
    let mut wire: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(256)).collect();
    let mut to_engine: Vec<ToEngine> = Vec::with_capacity(BATCH);
    loop {
        let now = clock.now();
        start_lookups(&mut links, now, &socket, &resolved_tx);
        let deadline = links
            .poll_timeout()
            .map_or(next_snapshot, |t| t.min(next_snapshot));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = socket.recv() => match received {
                Ok(n) => {
                    let now = clock.now();
                    let wall = Clock::wall_ms();
                    for i in 0..n {
                        let (from, bytes) = socket.datagram(i);
                        if let Some(delivery) = links.handle_datagram(now, wall, from, bytes) {
                            to_engine.push(ToEngine::Voice(delivery));
                        }
                    }
                }
                Err(err) => warn!(cause = %err, "voice socket receive error"),
            },
            count = outgoing.recv_many(&mut batch, BATCH) => {
                if count == 0 {
                    break; // the main loop is gone
                }
                send_voice(&mut links, &socket, clock.now(), &mut batch, &mut wire).await;
            }
            Some((site, addrs)) = resolved.recv() => links.set_addresses(clock.now(), site, addrs),
            _ = tokio::time::sleep_until(clock.tokio_instant(deadline)) => {}
        }
        // Whatever the engine has queued goes out now too, whichever branch woke the loop:
        // under load the receive branch is always ready, and outgoing packets must not wait
        // for the select to pick them.
        while batch.len() < BATCH {
            match outgoing.try_recv() {
                Ok(t) => batch.push(t),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            send_voice(&mut links, &socket, clock.now(), &mut batch, &mut wire).await;
        }
        let now = clock.now();
        if links.poll_timeout().is_some_and(|t| t <= now) {
            links.handle_timeout(now, Clock::wall_ms());
        }
        send_keepalives(&mut links, &socket, now).await;
        let changed = report_events(&mut links, &mut to_engine);
        for message in to_engine.drain(..) {
            // The main loop may be slow (its queue full) or gone; shutdown must still win.
            tokio::select! {
                sent = deliver.send(wrap(message)) => if sent.is_err() {
                    return;
                },
                _ = shutdown.cancelled() => {
                    publish(&links, clock.now(), &snapshot);
                    return;
                }
            }
        }
        if changed || now >= next_snapshot {
            next_snapshot = now + SNAPSHOT_EVERY;
            publish(&links, now, &snapshot);
        }
    }
    publish(&links, clock.now(), &snapshot);
}

fn publish(links: &PeerLinks, now: Instant, snapshot: &SharedSnapshot) {
    let fresh = NetSnapshot {
        peers: links.status(now),
        socket: links.socket_counters(),
    };
    if let Ok(mut shared) = snapshot.lock() {
        *shared = fresh;
    }
}

/// Starts a lookup for every peer whose address is due, each in its own task so a slow DNS
/// server never holds up voice.
fn start_lookups(
    links: &mut PeerLinks,
    now: Instant,
    socket: &PeerSocket,
    results: &mpsc::Sender<(SiteId, Vec<SocketAddr>)>,
) {
    while let Some((site, address)) = links.poll_resolve(now) {
        let results = results.clone();
        let reachable = |a: &SocketAddr| socket.reaches(a);
        // Decide reachability now (the socket stays here), filter in the task.
        let v4 = reachable(&SocketAddr::from(([127, 0, 0, 1], 1)));
        let v6 = reachable(&SocketAddr::from(([0u16; 8], 1)));
        tokio::spawn(async move {
            let addrs = match tokio::net::lookup_host(address.as_str()).await {
                Ok(found) => found
                    .filter(|a| if a.is_ipv4() { v4 } else { v6 })
                    .collect::<Vec<_>>(),
                Err(err) => {
                    warn!(peer = site.0, %address, cause = %err, "peer address does not resolve; trying again later");
                    Vec::new()
                }
            };
            if addrs.is_empty() {
                debug!(peer = site.0, %address, "no usable address for the peer");
            }
            let _ = results.send((site, addrs)).await;
        });
    }
}

async fn send_voice(
    links: &mut PeerLinks,
    socket: &PeerSocket,
    now: Instant,
    batch: &mut Vec<Transmit>,
    wire: &mut [Vec<u8>],
) {
    let mut targets: Vec<(SocketAddr, SiteId)> = Vec::with_capacity(batch.len());
    for transmit in batch.drain(..) {
        let EndpointId::Peer(site) = transmit.to else {
            continue;
        };
        let out = &mut wire[targets.len()];
        if let Some(to) = links.protect_voice(now, site, transmit.packet(), out) {
            targets.push((to, site));
        }
    }
    let datagrams: Vec<(SocketAddr, &[u8])> = targets
        .iter()
        .zip(wire.iter())
        .map(|((to, _), bytes)| (*to, &bytes[..]))
        .collect();
    for (index, err) in socket.send(&datagrams).await {
        let site = targets[index].1;
        debug!(peer = site.0, cause = %err, "voice send failed");
        links.send_failed(now, site);
    }
}

async fn send_keepalives(links: &mut PeerLinks, socket: &PeerSocket, now: Instant) {
    let mut keepalives = Vec::new();
    while let Some(datagram) = links.poll_transmit() {
        keepalives.push(datagram);
    }
    if keepalives.is_empty() {
        return;
    }
    let datagrams: Vec<(SocketAddr, &[u8])> =
        keepalives.iter().map(|d| (d.to, &d.bytes[..])).collect();
    for (index, err) in socket.send(&datagrams).await {
        let to = keepalives[index].to;
        if let Some(site) = links.site_of(to) {
            debug!(peer = site.0, cause = %err, "keepalive send failed");
            links.send_failed(now, site);
        }
    }
}

/// Logs the links' events (with a span per peer) and queues what the main loop must know;
/// `true` if a peer changed state.
fn report_events(links: &mut PeerLinks, to_engine: &mut Vec<ToEngine>) -> bool {
    let mut changed = false;
    while let Some(event) = links.poll_event() {
        let site = match &event {
            PeerEvent::Up { site } | PeerEvent::Down { site, .. } => Some(*site),
            PeerEvent::Dropped { site, .. } => *site,
        };
        let name = site
            .and_then(|s| links.name_of(s))
            .unwrap_or("-")
            .to_owned();
        let span = info_span!("peer", site = site.map(|s| s.0), name = %name);
        let _entered = span.enter();
        match event {
            PeerEvent::Up { site } => {
                info!("peer up");
                changed = true;
                to_engine.push(ToEngine::PeerUp(site));
            }
            PeerEvent::Down { site, silent_for } => {
                warn!(
                    silent_ms = silent_for.as_millis(),
                    "peer down: ending its streams"
                );
                changed = true;
                to_engine.push(ToEngine::PeerDown(site));
            }
            PeerEvent::Dropped {
                from,
                kind,
                detail,
                total,
                ..
            } => warn!(%from, kind = kind.label(), detail, total, "packet dropped"),
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    //! Two sites' link tasks on real loopback sockets, as borderlinkd runs them: they bring
    //! their link up with keepalives, carry an engine packet to the other site once, and stop
    //! on shutdown or when the main loop goes away, even while it is not reading.

    use std::time::Duration as StdDuration;

    use borderlink_protocol::ids::{Network, Tsi};
    use borderlink_protocol::voice::{
        KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, StreamId, TxState, VoiceRepr,
    };
    use tokio::task::JoinHandle;

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::net::epoch::KeyEpoch;
    use crate::net::keys::{MasterKey, Suite};
    use crate::net::links::{LinkConfig, PeerSpec};
    use crate::net::socket::SocketOptions;
    use crate::net::status::PeerState;

    const A: SiteId = SiteId(1);
    const B: SiteId = SiteId(2);
    /// Only tells a hang apart: every wait below ends on its event.
    const HANG: StdDuration = StdDuration::from_secs(10);

    fn key(site: SiteId) -> MasterKey {
        MasterKey::new(Suite::AeadAes128Gcm, &[site.0 as u8; 28]).expect("key")
    }

    fn bind() -> (PeerSocket, SocketAddr) {
        let (socket, granted) = PeerSocket::bind(SocketOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            dscp: 46,
            buffer: 1 << 16,
            batch: true,
        })
        .expect("bind on loopback");
        (socket, granted.local)
    }

    /// One site's link task and its ends: what the engine sends, what it is told, the
    /// snapshot and the shutdown.
    struct Site {
        outgoing: mpsc::Sender<Transmit>,
        delivered: mpsc::Receiver<ToEngine>,
        snapshot: SharedSnapshot,
        shutdown: CancellationToken,
        task: JoinHandle<()>,
        /// Messages the task has started to hand to the main loop.
        handed: Arc<AtomicUsize>,
    }

    /// Site `own` linked with `peer` at `peer_at`, on `socket`; the main loop's queue holds
    /// `queue` messages.
    fn start(
        own: SiteId,
        peer: SiteId,
        socket: PeerSocket,
        peer_at: SocketAddr,
        queue: usize,
    ) -> Site {
        let links = PeerLinks::new(
            Instant::ZERO,
            LinkConfig {
                site: own,
                keepalive: Duration::from_millis(50),
                down_after: 3,
                keepalive_ssrc: 0x1000 + u32::from(own.0),
                epoch: KeyEpoch::random().expect("epoch"),
            },
            vec![PeerSpec {
                site: peer,
                name: format!("site {}", peer.0),
                address: peer_at.to_string(),
                send: key(own),
                receive: key(peer),
            }],
        );
        let (outgoing, engine_out) = mpsc::channel(16);
        let (deliver, delivered) = mpsc::channel(queue);
        let snapshot = SharedSnapshot::default();
        let shutdown = CancellationToken::new();
        let handed = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&handed);
        let task = tokio::spawn(run(
            links,
            socket,
            engine_out,
            deliver,
            move |m| {
                count.fetch_add(1, Ordering::SeqCst);
                m
            },
            Arc::clone(&snapshot),
            shutdown.clone(),
        ));
        Site {
            outgoing,
            delivered,
            snapshot,
            shutdown,
            task,
            handed,
        }
    }

    fn pair(queue: usize) -> (Site, Site) {
        let (a_socket, a_at) = bind();
        let (b_socket, b_at) = bind();
        (
            start(A, B, a_socket, b_at, queue),
            start(B, A, b_socket, a_at, queue),
        )
    }

    /// A voice packet site A's engine sends for its own capture, keyed up now.
    fn voice(seq: u16) -> Vec<u8> {
        let frame = [0x5au8; 160];
        let repr = VoiceRepr {
            sequence: seq,
            timestamp: u32::from(seq) * 160,
            ssrc: 0x00a0_0001,
            radio: RadioHeader {
                tx: TxState::Start,
                squelch_open: true,
                emergency: false,
                priority: Priority::new(3).expect("priority"),
                talker: Some(Tsi::from_parts(206, 1, 1_234_567).expect("tsi")),
                talkgroup: Tsi::from_parts(206, 1, 2_061_001).expect("tsi"),
                origin: Origin {
                    site: A,
                    network: Some(Network::Astrid),
                },
                stream: StreamId(77),
                started: KeyUpTime(Clock::wall_ms()),
            },
            payload: &frame,
        };
        let mut buf = [0u8; MAX_PACKET_LEN];
        let len = repr.emit(&mut buf).expect("emit");
        buf[..len].to_vec()
    }

    async fn next(site: &mut Site) -> ToEngine {
        tokio::time::timeout(HANG, site.delivered.recv())
            .await
            .expect("nothing from the link task")
            .expect("the link task ended")
    }

    async fn ends(task: JoinHandle<()>) {
        tokio::time::timeout(HANG, task)
            .await
            .expect("the link task did not end")
            .expect("the link task panicked");
    }

    #[tokio::test]
    async fn two_sites_bring_their_link_up_and_an_engine_packet_reaches_the_other_once() {
        let (a, mut b) = pair(16);
        assert_eq!(next(&mut b).await, ToEngine::PeerUp(A));
        let packet = voice(1);
        let transmit = Transmit::from_packet(EndpointId::Peer(B), &packet).expect("fits");
        a.outgoing.send(transmit).await.expect("A's task runs");
        match next(&mut b).await {
            ToEngine::Voice(delivery) => {
                assert_eq!(delivery.site, A);
                assert_eq!(&delivery.packet[..], &packet[..], "decrypted as sent");
            }
            other => panic!("expected A's voice, got {other:?}"),
        }
        // The same packet again is a replay: B tells its engine nothing more about it.
        let again = Transmit::from_packet(EndpointId::Peer(B), &packet).expect("fits");
        a.outgoing.send(again).await.expect("A's task runs");
        let later = Transmit::from_packet(EndpointId::Peer(B), &voice(2)).expect("fits");
        a.outgoing.send(later).await.expect("A's task runs");
        match next(&mut b).await {
            ToEngine::Voice(delivery) => assert_eq!(&delivery.packet[..], &voice(2)[..]),
            other => panic!("expected the second packet, got {other:?}"),
        }
        // A's snapshot, published at the change, shows B up.
        let a_snapshot = Arc::clone(&a.snapshot);
        a.shutdown.cancel();
        b.shutdown.cancel();
        ends(a.task).await;
        ends(b.task).await;
        let peers = a_snapshot.lock().expect("snapshot").peers.clone();
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].site, B);
        assert_eq!(peers[0].state, PeerState::Up, "{peers:?}");
    }

    #[tokio::test]
    async fn the_task_ends_when_the_main_loop_goes_away() {
        let (a, b) = pair(16);
        drop(a.outgoing);
        ends(a.task).await;
        b.shutdown.cancel();
        ends(b.task).await;
    }

    /// A main loop that stopped reading (its queue full) must not hold the link task past
    /// shutdown.
    #[tokio::test]
    async fn shutdown_wins_over_a_main_loop_that_does_not_read() {
        let (a, b) = pair(1);
        // A sends once it has B's address and hears it (its own queue takes that one event).
        let wait = tokio::time::Instant::now() + HANG;
        while a
            .snapshot
            .lock()
            .expect("snapshot")
            .peers
            .first()
            .is_none_or(|p| p.state != PeerState::Up)
        {
            assert!(tokio::time::Instant::now() < wait, "A never saw B up");
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        for seq in 1..=3 {
            let t = Transmit::from_packet(EndpointId::Peer(B), &voice(seq)).expect("fits");
            a.outgoing.send(t).await.expect("A's task runs");
        }
        // B's queue holds one message and nobody reads it: once B has started to hand over a
        // second, it waits on the full queue.
        let wait = tokio::time::Instant::now() + HANG;
        while b.handed.load(Ordering::SeqCst) < 2 {
            assert!(
                tokio::time::Instant::now() < wait,
                "B handed over {} messages",
                b.handed.load(Ordering::SeqCst)
            );
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        assert_eq!(b.delivered.len(), 1, "the queue is full");
        b.shutdown.cancel();
        ends(b.task).await;
        a.shutdown.cancel();
        ends(a.task).await;
    }
}
