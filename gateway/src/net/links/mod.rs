//! The peer links of one site as a sans-IO state machine: every datagram the voice socket
//! receives goes through [`PeerLinks::handle_datagram`], every voice packet the engine sends
//! to a peer through [`PeerLinks::protect_voice`]; keepalives, up/down, address resolution and
//! the pruning of replay state run on [`PeerLinks::handle_timeout`].
//!
//! # Driving it
//! Like the engine: feed inputs with the time (`now`, monotonic, and `wall_ms`, the wall
//! clock, which freshness checks compare with what peers send), then drain
//! [`PeerLinks::poll_transmit`] (keepalives to send), [`PeerLinks::poll_event`] (peers up and
//! down, dropped packets worth a log line) and [`PeerLinks::poll_resolve`] (host names to
//! look up, answered with [`PeerLinks::set_addresses`]); call [`PeerLinks::handle_timeout`]
//! when [`PeerLinks::poll_timeout`] is due.
//!
//! # What a received datagram goes through, in order
//! 1. Its source address must be a configured peer's (else `unknown_source`, not read).
//! 2. Its epoch trailer is split off ([`super::epoch`]: which run of the peer sent it, so
//!    which derived key protects it); RTP or RTCP by the second byte (RFC 5761); too short or
//!    a malformed header: `malformed`.
//! 3. The replay window of its (epoch, SSRC) (`duplicate`, `replay`), before any crypto.
//! 4. SRTP/SRTCP authentication and decryption under the key of that epoch (`auth_failed`);
//!    the contexts of a new epoch are kept only once a packet of it has passed every check.
//! 5. It must parse as borderlink voice (or a keepalive) originated by that very peer
//!    (`malformed`), and be fresh: a voice packet's key-up time, a keepalive's wall-clock time
//!    within [`STALE_AFTER`] of ours, before or after (`stale`).
//! 6. Only then is the replay window moved, the statistics updated, the peer marked heard and
//!    the voice packet handed to the engine. Nothing refused ever reaches the engine.
//!
//! # Replay state across time and restarts
//! A stream's replay window is kept for [`RETAIN`] after its last packet, longer than a stream
//! can be fresh, so an old stream replayed after its window is gone is refused as stale. A
//! daemon that restarts sends under a new epoch, so its packets never meet the windows (nor
//! the keystreams) of its previous run, whatever SSRCs its clock makes it pick.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{SiteId, VoiceRepr};

use super::epoch::{EPOCH_LEN, KeyEpoch, derive};
use super::keepalive::Keepalive;
use super::keys::MasterKey;
use super::replay::{Verdict, estimate_index};
use super::srtp::{SrtpFailure, SrtpReceive, SrtpSend, rtcp_index};
use super::stats::{PeerCounters, SocketCounters, StreamStats};
use super::status::{PeerState, PeerStatus};

/// A voice packet whose key-up time, or a keepalive whose wall-clock time, is further than
/// this from ours is refused as stale. Longer than any transmission (the TX timeout is at most
/// 180 s) plus the clock difference NTP-synchronised sites can have.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// How long a stream's replay window outlives its last packet: the freshness limit plus a
/// margin for clock differences between sites.
pub const RETAIN: Duration = Duration::from_secs(1_200);

/// A peer whose address does not resolve, or that is down, is looked up again this often.
pub const RESOLVE_RETRY: Duration = Duration::from_secs(30);

/// How often idle replay state is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// A dropped packet of a kind already reported is reported again after this.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Sources whose drops are rate-limited separately, at most.
const MAX_REPORTED: usize = 256;

/// A stream counts as live, for the SRTP context rebuild rule, within this of its last packet.
const LIVE: Duration = Duration::from_secs(60);

/// Voice replay windows (one per SSRC) kept per peer at most. A site's streams are one per
/// over; this is far above what a busy peer sends in [`RETAIN`]. A new SSRC beyond it is
/// refused (`stream_limit`) unless a window whose key-up time is stale can make room.
pub const MAX_STREAM_WINDOWS: usize = 4_096;

/// Why an SRTP packet failed authentication, for the log: a peer of a borderlink from before
/// key epochs (no trailer, file keys used as they are) fails every packet this way.
const AUTH_FAILED_RTP: &str =
    "SRTP authentication failed (wrong key, forged, or a peer without key epochs: upgrade it)";
/// The same for SRTCP.
const AUTH_FAILED_RTCP: &str =
    "SRTCP authentication failed (wrong key, forged, or a peer without key epochs: upgrade it)";

/// Epochs (runs) of one peer whose receive contexts are kept: its current run, and a previous
/// one whose last packets may still be in flight after a restart.
const MAX_EPOCHS: usize = 4;

/// Keepalive replay windows (one per keepalive SSRC, new at every start of the peer) kept per
/// peer at most; beyond it, windows not heard from for [`STALE_AFTER`] make room, or the new
/// SSRC is refused.
pub const MAX_KEEPALIVE_WINDOWS: usize = 64;

/// Settings of a site's peer links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// This site.
    pub site: SiteId,
    /// Interval between keepalives to each peer.
    pub keepalive: Duration,
    /// A peer silent for this many intervals is down.
    pub down_after: u32,
    /// SSRC of this run's keepalives; differs at every start (see the module documentation).
    pub keepalive_ssrc: u32,
    /// This run's key epoch, drawn at random at start ([`KeyEpoch::random`]): what this site
    /// sends is protected under keys derived from it.
    pub epoch: KeyEpoch,
}

/// A peer to link with.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// Its site id.
    pub site: SiteId,
    /// Its name, for logs and the API.
    pub name: String,
    /// `host:port` as configured.
    pub address: String,
    /// The key (from the key file) this site's packets to it are derived from.
    pub send: MasterKey,
    /// The key (from the key file) its packets to this site are derived from.
    pub receive: MasterKey,
}

/// A voice packet from a peer, authenticated, decrypted and parsed once: for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The peer it came from.
    pub site: SiteId,
    /// The plain RTP packet, as the SRTP library decrypted it (no copy).
    pub packet: bytes::Bytes,
    /// What the links parsed of it (to check its origin and age): kept, so nobody parses it
    /// again.
    parsed: Parsed,
}

/// A parsed voice packet's fields, the payload as its place in the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    radio: borderlink_protocol::voice::RadioHeader,
    payload: core::ops::Range<usize>,
}

impl Parsed {
    fn of(packet: &[u8], repr: &VoiceRepr<'_>) -> Self {
        // The payload is a slice of the packet: its place is where it starts in it.
        let start = (repr.payload.as_ptr() as usize).saturating_sub(packet.as_ptr() as usize);
        Parsed {
            sequence: repr.sequence,
            timestamp: repr.timestamp,
            ssrc: repr.ssrc,
            radio: repr.radio,
            payload: start..start + repr.payload.len(),
        }
    }
}

impl Delivery {
    /// The voice packet, as the links parsed it.
    pub fn voice(&self) -> VoiceRepr<'_> {
        let p = &self.parsed;
        VoiceRepr {
            sequence: p.sequence,
            timestamp: p.timestamp,
            ssrc: p.ssrc,
            radio: p.radio,
            payload: self.packet.get(p.payload.clone()).unwrap_or_default(),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Destination.
    pub to: SocketAddr,
    /// UDP payload.
    pub bytes: Vec<u8>,
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropKind {
    /// Not from a configured peer's address.
    UnknownSource,
    /// Not a well-formed packet of ours.
    Malformed,
    /// The authentication tag did not verify.
    AuthFailed,
    /// Already received within the replay window.
    Duplicate,
    /// Older than the replay window.
    Replay,
    /// Authenticated but older than the freshness limit.
    Stale,
    /// Authenticated, but a new SSRC beyond what one peer may have windows for.
    StreamLimit,
}

impl DropKind {
    /// The counter's name.
    pub const fn label(self) -> &'static str {
        match self {
            DropKind::UnknownSource => "unknown_source",
            DropKind::Malformed => "malformed",
            DropKind::AuthFailed => "auth_failed",
            DropKind::Duplicate => "duplicate",
            DropKind::Replay => "replay",
            DropKind::Stale => "stale",
            DropKind::StreamLimit => "stream_limit",
        }
    }
}

/// What the links tell the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// The peer is heard again (or for the first time).
    Up {
        /// Which peer.
        site: SiteId,
    },
    /// The peer has been silent for `down_after` intervals: end its streams.
    Down {
        /// Which peer.
        site: SiteId,
        /// Since its last authenticated packet.
        silent_for: Duration,
    },
    /// Packets were dropped (reported at the first of a kind, then at most every 10 s).
    Dropped {
        /// The peer whose address it came from, if any.
        site: Option<SiteId>,
        /// The source address.
        from: SocketAddr,
        /// Why.
        kind: DropKind,
        /// More about why.
        detail: &'static str,
        /// Drops of this kind from this source so far.
        total: u64,
    },
}

#[derive(Debug)]
struct Peer {
    site: SiteId,
    name: String,
    address: String,
    addrs: Vec<SocketAddr>,
    resolve_at: Option<Instant>,
    send: SrtpSend,
    /// The peer's key file key, from which each of its epochs' keys is derived.
    receive: MasterKey,
    /// Receive contexts of the peer's recent epochs, oldest first.
    recv: Vec<(KeyEpoch, SrtpReceive)>,
    streams: HashMap<(KeyEpoch, u32), StreamStats>,
    keepalive_windows: HashMap<(KeyEpoch, u32), StreamStats>,
    state: PeerState,
    since: Instant,
    last_heard: Option<Instant>,
    next_keepalive: Instant,
    keepalive_seq: u32,
    /// The latest keepalive from the peer: its send time and when it arrived.
    last_keepalive: Option<(u64, Instant)>,
    rtt: Option<Duration>,
    srtt: Option<f64>,
    hears_us: bool,
    jitter_ms: f64,
    counters: PeerCounters,
    retired_lost: u64,
}

impl Peer {
    fn counters(&self) -> PeerCounters {
        let live: u64 = self.streams.values().map(StreamStats::lost).sum();
        PeerCounters {
            lost: self.retired_lost + live,
            ..self.counters
        }
    }

    fn send_to(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }
}

/// A site's peer links; see the [module documentation](self).
#[derive(Debug)]
pub struct PeerLinks {
    config: LinkConfig,
    peers: Vec<Peer>,
    by_addr: HashMap<SocketAddr, usize>,
    by_site: HashMap<SiteId, usize>,
    socket: SocketCounters,
    events: VecDeque<PeerEvent>,
    transmits: VecDeque<Datagram>,
    /// When each kind of drop was last reported, per peer (and per address for strangers).
    reported: HashMap<(Option<SiteId>, DropKind, Option<SocketAddr>), Instant>,
    next_prune: Instant,
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

impl PeerLinks {
    /// Links to `peers`, all down and unresolved; the first keepalive goes out as soon as a
    /// peer's address is known.
    pub fn new(now: Instant, config: LinkConfig, peers: Vec<PeerSpec>) -> Self {
        let peers: Vec<Peer> = peers
            .into_iter()
            .map(|p| Peer {
                site: p.site,
                name: p.name,
                address: p.address,
                addrs: Vec::new(),
                resolve_at: Some(now),
                send: SrtpSend::new(derive(&p.send, config.epoch)),
                receive: p.receive,
                recv: Vec::new(),
                streams: HashMap::new(),
                keepalive_windows: HashMap::new(),
                state: PeerState::Down,
                since: now,
                last_heard: None,
                next_keepalive: now,
                keepalive_seq: 0,
                last_keepalive: None,
                rtt: None,
                srtt: None,
                hears_us: false,
                jitter_ms: 0.0,
                counters: PeerCounters::default(),
                retired_lost: 0,
            })
            .collect();
        let by_site = peers.iter().enumerate().map(|(i, p)| (p.site, i)).collect();
        PeerLinks {
            config,
            peers,
            by_addr: HashMap::new(),
            by_site,
            socket: SocketCounters::default(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            reported: HashMap::new(),
            next_prune: now + PRUNE_EVERY,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    // ---- addresses -----------------------------------------------------------------------

    /// The next peer whose `host:port` should be looked up now, if any.
    #[must_use]
    pub fn poll_resolve(&mut self, now: Instant) -> Option<(SiteId, String)> {
        let peer = self
            .peers
            .iter_mut()
            .find(|p| p.resolve_at.is_some_and(|t| t <= now))?;
        peer.resolve_at = None;
        Some((peer.site, peer.address.clone()))
    }

    /// The outcome of a lookup: the peer's addresses (the first is where packets go), or none.
    pub fn set_addresses(&mut self, now: Instant, site: SiteId, addrs: Vec<SocketAddr>) {
        let Some(&index) = self.by_site.get(&site) else {
            return;
        };
        let addrs: Vec<SocketAddr> = addrs.into_iter().map(canonical).collect();
        let peer = &mut self.peers[index];
        if !addrs.is_empty() {
            for old in &peer.addrs {
                self.by_addr.remove(old);
            }
            for addr in &addrs {
                self.by_addr.insert(*addr, index);
            }
            peer.addrs = addrs;
        }
        // A peer that is down is looked up again: it may have moved.
        if peer.addrs.is_empty() || peer.state == PeerState::Down {
            peer.resolve_at = Some(now + RESOLVE_RETRY);
        }
    }

    // ---- receiving -----------------------------------------------------------------------

    /// A datagram from the voice socket; a voice packet that passes every check is returned
    /// for the engine.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        wall_ms: u64,
        from: SocketAddr,
        bytes: &[u8],
    ) -> Option<Delivery> {
        let from = canonical(from);
        let Some(&index) = self.by_addr.get(&from) else {
            self.socket.unknown_source += 1;
            let total = self.socket.unknown_source;
            self.report(
                now,
                None,
                from,
                DropKind::UnknownSource,
                "not a configured peer's address",
                total,
            );
            return None;
        };
        self.peers[index].counters.bytes_in += bytes.len() as u64;
        let result = match KeyEpoch::split(bytes) {
            None => Err((DropKind::Malformed, "shorter than the epoch trailer")),
            Some((body, epoch)) if body.len() >= 2 && (192..=223).contains(&body[1]) => self
                .receive_rtcp(now, wall_ms, index, epoch, body)
                .map(|()| None),
            Some((body, epoch)) => self.receive_rtp(now, wall_ms, index, epoch, body).map(Some),
        };
        match result {
            Ok(delivery) => delivery,
            Err((kind, detail)) => {
                let peer = &mut self.peers[index];
                let counter = match kind {
                    DropKind::Malformed => &mut peer.counters.malformed,
                    DropKind::AuthFailed => &mut peer.counters.auth_failed,
                    DropKind::Duplicate => &mut peer.counters.duplicate,
                    DropKind::Replay => &mut peer.counters.replay,
                    DropKind::Stale => &mut peer.counters.stale,
                    DropKind::StreamLimit => &mut peer.counters.stream_limit,
                    DropKind::UnknownSource => &mut self.socket.unknown_source,
                };
                *counter += 1;
                let (total, site) = (*counter, peer.site);
                self.report(now, Some(site), from, kind, detail, total);
                None
            }
        }
    }

    fn receive_rtp(
        &mut self,
        now: Instant,
        wall_ms: u64,
        index: usize,
        epoch: KeyEpoch,
        bytes: &[u8],
    ) -> Result<Delivery, (DropKind, &'static str)> {
        let Peer {
            site,
            receive,
            recv,
            streams,
            ..
        } = &mut self.peers[index];
        let tag = receive.suite().rtp_tag_len();
        // The SSRC and sequence number at their fixed places, for the replay window; the
        // header as a whole is walked once, by the SRTP layer (`unprotect_rtp`).
        if bytes.len() < 12 + tag {
            return Err((
                DropKind::Malformed,
                "not an SRTP packet with a valid RTP header",
            ));
        }
        let ssrc = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let seq = u16::from_be_bytes([bytes[2], bytes[3]]);
        let (packet_index, verdict) = match streams.get(&(epoch, ssrc)) {
            Some(s) => {
                let i = estimate_index(s.window.top(), seq);
                (i, s.window.check(i))
            }
            None => (u64::from(seq), Verdict::New { late: false }),
        };
        let late = match verdict {
            Verdict::New { late } => late,
            Verdict::Duplicate => {
                return Err((DropKind::Duplicate, "already received (replay window)"));
            }
            Verdict::TooOld => return Err((DropKind::Replay, "older than the replay window")),
        };
        let mut pending = None;
        let plain = context(recv, &mut pending, receive, epoch)
            .unprotect_rtp(bytes, || {
                streams
                    .values()
                    .any(|s| s.wrapped() && now.saturating_since(s.last_seen) < LIVE)
            })
            .map_err(|f| match f {
                SrtpFailure::Auth => (DropKind::AuthFailed, AUTH_FAILED_RTP),
                SrtpFailure::Malformed => (DropKind::Malformed, "malformed SRTP packet"),
            })?;
        let repr = VoiceRepr::parse(&plain).map_err(|_| {
            (
                DropKind::Malformed,
                "authenticated, but not borderlink voice",
            )
        })?;
        if repr.radio.origin.site != *site {
            // Sites only send what they originate (split horizon): a peer's key speaking for
            // another site is misconfiguration or abuse.
            return Err((DropKind::Malformed, "voice of another origin site"));
        }
        // Both directions: a key-up time in the future is as suspect as an old one, and a
        // 64-bit time never wraps back into the window (voice version 1's 32-bit one did).
        let age = repr.radio.started.age_ms(wall_ms);
        if age.unsigned_abs() > u128::from(STALE_AFTER.as_millis()) {
            return Err((
                DropKind::Stale,
                if age > 0 {
                    "key-up time too old (replayed, or clocks apart)"
                } else {
                    "key-up time in the future (clocks apart, or forged)"
                },
            ));
        }
        let key_up_ms = repr.radio.started.0;
        let parsed = Parsed::of(&plain, &repr);
        if !streams.contains_key(&(epoch, ssrc)) && streams.len() >= MAX_STREAM_WINDOWS {
            // Room is made only by windows a replay could not get past anyway: those whose
            // key-up time is beyond the freshness limit.
            let stale = u128::from(STALE_AFTER.as_millis());
            streams.retain(|_, s| s.key_up_ms.abs_diff(wall_ms) as u128 <= stale);
            if streams.len() >= MAX_STREAM_WINDOWS {
                return Err((
                    DropKind::StreamLimit,
                    "a new stream beyond the peer's replay-window limit",
                ));
            }
        }
        let timestamp = repr.timestamp;
        commit(recv, pending);
        let stream = streams.entry((epoch, ssrc)).or_insert_with(|| {
            let mut s = StreamStats::new(packet_index, now);
            s.key_up_ms = key_up_ms;
            s
        });
        stream.accept(packet_index, timestamp, now);
        let jitter = stream.jitter_ms();
        let site = *site;
        let peer = &mut self.peers[index];
        peer.jitter_ms = jitter;
        peer.counters.voice_in += 1;
        if late {
            peer.counters.late += 1;
        }
        self.heard(now, index);
        Ok(Delivery {
            site,
            packet: plain,
            parsed,
        })
    }

    fn receive_rtcp(
        &mut self,
        now: Instant,
        wall_ms: u64,
        index: usize,
        epoch: KeyEpoch,
        bytes: &[u8],
    ) -> Result<(), (DropKind, &'static str)> {
        let Peer {
            site,
            receive,
            recv,
            keepalive_windows,
            ..
        } = &mut self.peers[index];
        let suite = receive.suite();
        let srtcp_index = rtcp_index(suite, bytes)
            .filter(|_| bytes.len() >= 8 + suite.rtcp_trailer_len())
            .ok_or((DropKind::Malformed, "too short for SRTCP"))?;
        let ssrc = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let key = (epoch, ssrc);
        let verdict = keepalive_windows
            .get(&key)
            .map_or(Verdict::New { late: false }, |w| {
                w.window.check(u64::from(srtcp_index))
            });
        match verdict {
            Verdict::New { .. } => {}
            Verdict::Duplicate => {
                return Err((DropKind::Duplicate, "keepalive already received"));
            }
            Verdict::TooOld => return Err((DropKind::Replay, "keepalive older than the window")),
        }
        let mut pending = None;
        let plain = context(recv, &mut pending, receive, epoch)
            .unprotect_rtcp(bytes)
            .map_err(|f| match f {
                SrtpFailure::Auth => (DropKind::AuthFailed, AUTH_FAILED_RTCP),
                SrtpFailure::Malformed => (DropKind::Malformed, "malformed SRTCP packet"),
            })?;
        let keepalive = Keepalive::parse(&plain)
            .map_err(|_| (DropKind::Malformed, "authenticated, but not a keepalive"))?;
        if keepalive.site != *site {
            return Err((DropKind::Malformed, "keepalive from another site id"));
        }
        if wall_ms.abs_diff(keepalive.wall_ms) > STALE_AFTER.as_millis() {
            return Err((
                DropKind::Stale,
                "keepalive wall-clock time too far from ours",
            ));
        }
        let srtcp_index = u64::from(srtcp_index);
        if !keepalive_windows.contains_key(&key) && keepalive_windows.len() >= MAX_KEEPALIVE_WINDOWS
        {
            // A keepalive older than the freshness limit is refused as stale, so the windows
            // of keepalive streams silent that long may go.
            keepalive_windows.retain(|_, w| now.saturating_since(w.last_seen) <= STALE_AFTER);
            if keepalive_windows.len() >= MAX_KEEPALIVE_WINDOWS {
                return Err((
                    DropKind::StreamLimit,
                    "a new keepalive SSRC beyond the peer's replay-window limit",
                ));
            }
        }
        commit(recv, pending);
        match keepalive_windows.get_mut(&key) {
            Some(w) => w.accept(srtcp_index, 0, now),
            None => {
                let mut w = StreamStats::new(srtcp_index, now);
                w.accept(srtcp_index, 0, now);
                keepalive_windows.insert(key, w);
            }
        }
        let peer = &mut self.peers[index];
        peer.counters.keepalives_in += 1;
        peer.hears_us = keepalive.hearing;
        peer.last_keepalive = Some((keepalive.sent_us, now));
        let now_us = now.as_micros();
        if keepalive.echo_us != 0 && keepalive.echo_us <= now_us {
            let rtt = Duration::from_micros(
                (now_us - keepalive.echo_us).saturating_sub(u64::from(keepalive.echo_delay_us)),
            );
            let ms = rtt.as_micros() as f64 / 1000.0;
            peer.srtt = Some(peer.srtt.map_or(ms, |s| s + (ms - s) / 8.0));
            peer.rtt = Some(rtt);
        }
        self.heard(now, index);
        Ok(())
    }

    fn heard(&mut self, now: Instant, index: usize) {
        let peer = &mut self.peers[index];
        peer.last_heard = Some(now);
        if peer.state == PeerState::Down {
            peer.state = PeerState::Up;
            peer.since = now;
            peer.resolve_at = None;
            self.events.push_back(PeerEvent::Up { site: peer.site });
        }
    }

    fn report(
        &mut self,
        now: Instant,
        site: Option<SiteId>,
        from: SocketAddr,
        kind: DropKind,
        detail: &'static str,
        total: u64,
    ) {
        // Strangers are reported per address (up to a bound, so a flood from many addresses
        // cannot grow the table): the first packet of a misconfigured peer is worth a line.
        let stranger = (kind == DropKind::UnknownSource).then_some(from);
        let key = (site, kind, stranger);
        let due = self
            .reported
            .get(&key)
            .is_none_or(|at| now.saturating_since(*at) >= REPORT_EVERY)
            && (self.reported.len() < MAX_REPORTED || self.reported.contains_key(&key));
        if due {
            self.reported.insert(key, now);
            self.events.push_back(PeerEvent::Dropped {
                site,
                from,
                kind,
                detail,
                total,
            });
        }
    }

    // ---- sending -------------------------------------------------------------------------

    /// Protects a voice packet for the peer at `site`, writing the datagram into `out`
    /// (cleared first); returns where to send it, or `None` if it cannot go (no such peer,
    /// address not resolved yet).
    pub fn protect_voice(
        &mut self,
        now: Instant,
        site: SiteId,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<SocketAddr> {
        out.clear();
        let Some(peer) = self.by_site.get(&site).map(|&i| &mut self.peers[i]) else {
            self.socket.unroutable += 1;
            return None;
        };
        let Some(to) = peer.send_to() else {
            self.socket.unroutable += 1;
            return None;
        };
        peer.send.protect_rtp(now, packet, out).ok()?;
        out.extend_from_slice(&self.config.epoch.0);
        peer.counters.voice_out += 1;
        peer.counters.bytes_out += out.len() as u64;
        Some(to)
    }

    /// The operating system refused to send to `site`'s address.
    pub fn send_failed(&mut self, now: Instant, site: SiteId) {
        if let Some(&i) = self.by_site.get(&site) {
            let peer = &mut self.peers[i];
            peer.counters.send_errors += 1;
            // The address may be stale: look it up again soon.
            if peer.resolve_at.is_none() {
                peer.resolve_at = Some(now + Duration::from_secs(1));
            }
        }
    }

    /// The peer a destination address belongs to.
    pub fn site_of(&self, addr: SocketAddr) -> Option<SiteId> {
        self.by_addr
            .get(&canonical(addr))
            .map(|&i| self.peers[i].site)
    }

    // ---- time ----------------------------------------------------------------------------

    /// Sends due keepalives, marks silent peers down and prunes idle replay state.
    pub fn handle_timeout(&mut self, now: Instant, wall_ms: u64) {
        let silence = self
            .config
            .keepalive
            .saturating_mul(u64::from(self.config.down_after));
        for peer in &mut self.peers {
            if peer.state == PeerState::Up
                && let Some(heard) = peer.last_heard
                && now.saturating_since(heard) >= silence
            {
                peer.state = PeerState::Down;
                peer.since = now;
                peer.counters.down_events += 1;
                peer.resolve_at = Some(now);
                self.events.push_back(PeerEvent::Down {
                    site: peer.site,
                    silent_for: now.saturating_since(heard),
                });
            }
            if now >= peer.next_keepalive {
                let next = peer.next_keepalive + self.config.keepalive;
                // After a stall, carry on from now rather than sending a burst to catch up.
                peer.next_keepalive = if next <= now {
                    now + self.config.keepalive
                } else {
                    next
                };
                let Some(to) = peer.send_to() else { continue };
                peer.keepalive_seq = peer.keepalive_seq.wrapping_add(1);
                let (echo_us, echo_delay_us) = match peer.last_keepalive {
                    Some((sent, at)) => (
                        sent,
                        u32::try_from(now.saturating_since(at).as_micros()).unwrap_or(u32::MAX),
                    ),
                    None => (0, 0),
                };
                let keepalive = Keepalive {
                    ssrc: self.config.keepalive_ssrc,
                    site: self.config.site,
                    hearing: peer.state == PeerState::Up,
                    seq: peer.keepalive_seq,
                    sent_us: now.as_micros(),
                    wall_ms,
                    echo_us,
                    echo_delay_us,
                };
                let mut plain = [0u8; Keepalive::LEN];
                keepalive.emit(&mut plain);
                let mut bytes = Vec::with_capacity(Keepalive::LEN + 24 + EPOCH_LEN);
                if peer.send.protect_rtcp(&plain, &mut bytes).is_ok() {
                    bytes.extend_from_slice(&self.config.epoch.0);
                    peer.counters.keepalives_out += 1;
                    peer.counters.bytes_out += bytes.len() as u64;
                    self.transmits.push_back(Datagram { to, bytes });
                }
            }
        }
        if now >= self.next_prune {
            self.next_prune = now + PRUNE_EVERY;
            for peer in &mut self.peers {
                let mut retired = 0;
                peer.streams.retain(|_, s| {
                    let keep = now.saturating_since(s.last_seen) < RETAIN;
                    if !keep {
                        retired += s.lost();
                    }
                    keep
                });
                peer.retired_lost += retired;
                peer.keepalive_windows
                    .retain(|_, s| now.saturating_since(s.last_seen) < RETAIN);
            }
            self.reported
                .retain(|_, at| now.saturating_since(*at) < REPORT_EVERY);
        }
    }

    /// When [`PeerLinks::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let silence = self
            .config
            .keepalive
            .saturating_mul(u64::from(self.config.down_after));
        let peers = self.peers.iter().flat_map(|p| {
            let down = match (p.state, p.last_heard) {
                (PeerState::Up, Some(heard)) => Some(heard + silence),
                _ => None,
            };
            [Some(p.next_keepalive), down, p.resolve_at]
        });
        peers.flatten().chain([self.next_prune]).min()
    }

    // ---- outputs -------------------------------------------------------------------------

    /// The next keepalive to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    /// Every peer's status now.
    pub fn status(&self, now: Instant) -> Vec<PeerStatus> {
        self.peers
            .iter()
            .map(|p| PeerStatus {
                name: p.name.clone(),
                site: p.site,
                address: p.address.clone(),
                resolved: p.send_to(),
                state: p.state,
                state_for_ms: now.saturating_since(p.since).as_millis(),
                last_heard_ms: p.last_heard.map(|t| now.saturating_since(t).as_millis()),
                rtt_ms: p.rtt.map(|r| r.as_micros() as f64 / 1000.0),
                rtt_smoothed_ms: p.srtt,
                jitter_ms: p.jitter_ms,
                hears_us: p.hears_us,
                suite: p.send.suite(),
                counters: p.counters(),
            })
            .collect()
    }

    /// Counters of the socket as a whole.
    pub fn socket_counters(&self) -> SocketCounters {
        self.socket
    }

    /// The name of the peer at `site`.
    pub fn name_of(&self, site: SiteId) -> Option<&str> {
        self.by_site
            .get(&site)
            .map(|&i| self.peers[i].name.as_str())
    }
}

/// The receive context of `epoch`: a kept one, or one derived now into `pending`, to be kept
/// by [`commit`] only if the packet passes every check (so replays of old runs, which
/// authenticate, cannot push the current run's context out).
fn context<'a>(
    recv: &'a mut [(KeyEpoch, SrtpReceive)],
    pending: &'a mut Option<(KeyEpoch, SrtpReceive)>,
    receive: &MasterKey,
    epoch: KeyEpoch,
) -> &'a mut SrtpReceive {
    match recv.iter().position(|(e, _)| *e == epoch) {
        Some(i) => &mut recv[i].1,
        None => {
            &mut pending
                .insert((epoch, SrtpReceive::new(derive(receive, epoch))))
                .1
        }
    }
}

/// Keeps a new epoch's context, dropping the oldest beyond [`MAX_EPOCHS`].
fn commit(recv: &mut Vec<(KeyEpoch, SrtpReceive)>, pending: Option<(KeyEpoch, SrtpReceive)>) {
    if let Some(new) = pending {
        if recv.len() >= MAX_EPOCHS {
            recv.remove(0);
        }
        recv.push(new);
    }
}

#[cfg(test)]
mod tests;
