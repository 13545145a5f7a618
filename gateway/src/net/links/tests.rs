//! Two sites' links in virtual time, joined by a loopback "network" with a fixed one-way
//! delay, and an attacker who can send from the peer's address.

use std::net::SocketAddr;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{
    KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, StreamId, TxState, VoiceRepr,
};

use super::*;
use crate::net::keys::Suite;

/// A sender holding the key file key `master`, in run `epoch`: B itself (or a thief of its
/// key), or a forger with another key.
struct Sender {
    tx: SrtpSend,
    epoch: KeyEpoch,
}

impl Sender {
    fn new(master: MasterKey, epoch: KeyEpoch) -> Sender {
        Sender {
            tx: SrtpSend::new(derive(&master, epoch)),
            epoch,
        }
    }

    fn rtp(&mut self, now: Instant, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.tx.protect_rtp(now, plain, &mut out).unwrap();
        out.extend_from_slice(&self.epoch.0);
        out
    }

    fn rtcp(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.tx.protect_rtcp(plain, &mut out).unwrap();
        out.extend_from_slice(&self.epoch.0);
        out
    }
}

const A: SiteId = SiteId(1);
const B: SiteId = SiteId(2);
const ONE_WAY: Duration = Duration::from_millis(15);
/// Wall clock at virtual time zero.
const WALL0: u64 = 1_750_000_000_000;

fn addr(site: SiteId) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5200 + site.0))
}

fn key(byte: u8) -> MasterKey {
    MasterKey::new(Suite::AeadAes128Gcm, &[byte; 28]).unwrap()
}

fn links(own: SiteId, peer: SiteId, keepalive_ssrc: u32) -> PeerLinks {
    let config = LinkConfig {
        site: own,
        keepalive: Duration::from_secs(1),
        down_after: 3,
        keepalive_ssrc,
        epoch: KeyEpoch::random().unwrap(),
    };
    let spec = PeerSpec {
        site: peer,
        name: format!("site {}", peer.0),
        address: addr(peer).to_string(),
        send: key(own.0 as u8),
        receive: key(peer.0 as u8),
    };
    let mut l = PeerLinks::new(Instant::ZERO, config, vec![spec]);
    let (site, address) = l.poll_resolve(Instant::ZERO).expect("resolve at start");
    assert_eq!((site, address), (peer, addr(peer).to_string()));
    l.set_addresses(Instant::ZERO, peer, vec![addr(peer)]);
    l
}

fn wall(now: Instant) -> u64 {
    WALL0 + now.as_millis()
}

fn voice(seq: u16, origin: SiteId, started: u64) -> Vec<u8> {
    let frame = [0x55u8; 160];
    let repr = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 0x0020_0009,
        radio: RadioHeader {
            tx: if seq == 0 {
                TxState::Start
            } else {
                TxState::Continue
            },
            squelch_open: true,
            emergency: false,
            priority: Priority::new(3).unwrap(),
            talker: Some(Tsi::from_parts(204, 1, 2_040_123).unwrap()),
            talkgroup: Tsi::from_parts(204, 1, 2_040_551).unwrap(),
            origin: Origin {
                site: origin,
                network: Some(Network::C2000),
            },
            stream: StreamId(9),
            started: KeyUpTime(started),
        },
        payload: &frame,
    };
    let mut buf = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut buf).unwrap();
    buf[..len].to_vec()
}

/// Both sites, what is in flight, and the time.
struct World {
    a: PeerLinks,
    b: PeerLinks,
    now: Instant,
    /// (arrival, to A?, datagram)
    flight: Vec<(Instant, bool, Vec<u8>)>,
    /// Voice delivered to A's engine.
    delivered_a: Vec<Vec<u8>>,
    events_a: Vec<PeerEvent>,
    /// When false, nothing B sends arrives (a partition).
    b_reaches_a: bool,
}

impl World {
    fn new() -> World {
        World {
            a: links(A, B, 0xaaaa_0001),
            b: links(B, A, 0xbbbb_0001),
            now: Instant::ZERO,
            flight: Vec::new(),
            delivered_a: Vec::new(),
            events_a: Vec::new(),
            b_reaches_a: true,
        }
    }

    /// Runs both sides until `until`, jumping from one due time to the next.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..100_000 {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .chain(self.flight.iter().map(|f| f.0))
                .min()
                .unwrap_or(until);
            if next > until {
                self.now = until;
                return;
            }
            self.now = next.max(self.now);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = self.flight.drain(..).partition(|f| f.0 <= now);
            self.flight = later;
            for (_, to_a, bytes) in due {
                if to_a {
                    if let Some(d) = self.a.handle_datagram(now, wall(now), addr(B), &bytes) {
                        // What the links parsed once is what the packet says.
                        assert_eq!(
                            d.voice(),
                            borderlink_protocol::voice::VoiceRepr::parse(&d.packet).unwrap()
                        );
                        self.delivered_a.push(d.packet.to_vec());
                    }
                } else {
                    let _ = self.b.handle_datagram(now, wall(now), addr(A), &bytes);
                }
            }
            if self.a.poll_timeout().is_some_and(|t| t <= now) {
                self.a.handle_timeout(now, wall(now));
            }
            if self.b.poll_timeout().is_some_and(|t| t <= now) {
                self.b.handle_timeout(now, wall(now));
            }
            while let Some(d) = self.a.poll_transmit() {
                assert_eq!(d.to, addr(B));
                self.flight.push((now + ONE_WAY, false, d.bytes));
            }
            while let Some(d) = self.b.poll_transmit() {
                if self.b_reaches_a {
                    self.flight.push((now + ONE_WAY, true, d.bytes));
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
            while self.b.poll_event().is_some() {}
            while let Some((site, _)) = self.a.poll_resolve(now) {
                self.a.set_addresses(now, site, vec![addr(site)]);
            }
            while let Some((site, _)) = self.b.poll_resolve(now) {
                self.b.set_addresses(now, site, vec![addr(site)]);
            }
        }
        panic!("livelock");
    }

    /// B sends a voice packet now; it returns the protected datagram (as an attacker would
    /// capture it) and puts it in flight.
    fn b_sends(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let to = self.b.protect_voice(self.now, A, plain, &mut out);
        assert_eq!(to, Some(addr(A)));
        self.flight.push((self.now + ONE_WAY, true, out.clone()));
        out
    }

    fn a_counters(&self) -> PeerCounters {
        self.a.status(self.now)[0].counters
    }

    /// A datagram arrives at A from B's address right now.
    fn inject(&mut self, bytes: &[u8]) -> Option<Delivery> {
        self.a
            .handle_datagram(self.now, wall(self.now), addr(B), bytes)
    }

    fn started_now(&self) -> u64 {
        wall(self.now)
    }
}

#[test]
fn keepalives_bring_both_up_and_measure_the_round_trip() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(3_500));
    let status = w.a.status(w.now);
    assert_eq!(status[0].state, PeerState::Up);
    assert!(status[0].hears_us);
    // Keepalives are sent on the same ticks, so each echo was held 985 ms: RTT = 2 × 15 ms.
    assert_eq!(status[0].rtt_ms, Some(30.0));
    assert_eq!(status[0].counters.keepalives_in, 4);
    assert_eq!(w.b.status(w.now)[0].state, PeerState::Up);
    assert_eq!(w.events_a, vec![PeerEvent::Up { site: B }]);
}

#[test]
fn a_silent_peer_goes_down_after_its_intervals_and_comes_back() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(2_500));
    w.b_reaches_a = false;
    // Last keepalive from B left at 2 s, arrived 2.015 s; 3 intervals later A calls it down.
    w.run_until(Instant::from_millis(5_010));
    assert_eq!(w.a.status(w.now)[0].state, PeerState::Up);
    w.run_until(Instant::from_millis(5_020));
    assert_eq!(w.a.status(w.now)[0].state, PeerState::Down);
    assert_eq!(
        w.events_a.last(),
        Some(&PeerEvent::Down {
            site: B,
            silent_for: Duration::from_secs(3)
        })
    );
    assert_eq!(w.a_counters().down_events, 1);
    // While A does not hear B, its keepalives tell B so.
    w.run_until(Instant::from_millis(6_100));
    assert!(!w.b.status(w.now)[0].hears_us);
    w.b_reaches_a = true;
    w.run_until(Instant::from_millis(7_100));
    assert_eq!(w.a.status(w.now)[0].state, PeerState::Up);
    assert_eq!(w.events_a.last(), Some(&PeerEvent::Up { site: B }));
}

#[test]
fn voice_is_delivered_and_every_bad_packet_is_counted_and_dropped() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let started = w.started_now();
    let mut captured = Vec::new();
    for seq in 0..200u16 {
        captured.push(w.b_sends(&voice(seq, B, started)));
        let t = w.now + Duration::from_millis(20);
        w.run_until(t);
    }
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 200);
    assert_eq!(w.delivered_a[5], voice(5, B, started));
    let before = w.a_counters();
    assert_eq!(before.voice_in, 200);
    assert_eq!(before.lost, 0);
    w.a.events.clear();

    // A recent packet again (a duplicate, or a quick replay), and an old one.
    assert!(w.inject(&captured[199]).is_none());
    assert!(w.inject(&captured[3]).is_none());
    // A forgery: the same packet protected with another key.
    let forged = Sender::new(key(9), w.b.config().epoch).rtp(w.now, &voice(500, B, started));
    assert!(w.inject(&forged).is_none());
    // Damaged in flight (a packet not received yet, so the window lets it through to the
    // authentication check).
    let mut damaged = Vec::new();
    w.b.protect_voice(w.now, A, &voice(200, B, started), &mut damaged);
    damaged[40] ^= 0x01;
    assert!(w.inject(&damaged).is_none());
    // Malformed: too short, a broken header, garbage.
    assert!(w.inject(&[0x80]).is_none());
    assert!(w.inject(&captured[0][..14]).is_none());
    assert!(w.inject(&[0x00; 64]).is_none());
    // From an address that is no peer's.
    let stranger = SocketAddr::from(([127, 0, 0, 9], 5200));
    let now = w.now;
    assert!(
        w.a.handle_datagram(now, wall(now), stranger, &captured[10])
            .is_none()
    );

    let c = w.a_counters();
    assert_eq!(c.voice_in, 200, "nothing bad was delivered");
    assert_eq!(c.duplicate, 1);
    assert_eq!(c.replay, 1);
    assert_eq!(c.auth_failed, 2);
    assert_eq!(c.malformed, 3);
    assert_eq!(w.a.socket_counters().unknown_source, 1);
    let kinds: Vec<DropKind> =
        w.a.events
            .iter()
            .filter_map(|e| match e {
                PeerEvent::Dropped { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect();
    // Each kind reported once (the second auth failure falls within the report interval).
    assert_eq!(
        kinds,
        [
            DropKind::Duplicate,
            DropKind::Replay,
            DropKind::AuthFailed,
            DropKind::Malformed,
            DropKind::UnknownSource
        ]
    );
}

#[test]
fn reordered_packets_are_late_not_lost_and_gaps_are_lost() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let started = w.started_now();
    let packets: Vec<Vec<u8>> = (0..10u16)
        .map(|s| {
            let mut out = Vec::new();
            w.b.protect_voice(w.now, A, &voice(s, B, started), &mut out);
            out
        })
        .collect();
    for i in [0usize, 1, 3, 2, 4, 5, 9] {
        assert!(w.inject(&packets[i]).is_some(), "packet {i}");
    }
    let c = w.a_counters();
    assert_eq!(c.late, 1);
    assert_eq!(c.lost, 3, "6, 7 and 8 never came");
}

#[test]
fn authentic_but_wrong_voice_is_refused() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let started = w.started_now();
    // B's key speaking for site 3: split horizon says B only sends what it originates.
    let mut out = Vec::new();
    w.b.protect_voice(w.now, A, &voice(0, SiteId(3), started), &mut out);
    assert!(w.inject(&out).is_none());
    // Keyed up eleven minutes ago: a replay of old traffic.
    let old = started - 11 * 60 * 1000;
    let mut tx = Sender::new(key(2), w.b.config().epoch);
    let mut other_ssrc = voice(0, B, old);
    other_ssrc[8..12].copy_from_slice(&[9, 9, 9, 9]);
    let out = tx.rtp(w.now, &other_ssrc);
    assert!(w.inject(&out).is_none());
    let c = w.a_counters();
    assert_eq!((c.malformed, c.stale, c.voice_in), (1, 1, 0));
}

#[test]
fn a_replayed_stream_is_refused_after_its_window_is_forgotten() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let started = w.started_now();
    let captured = w.b_sends(&voice(0, B, started));
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 1);
    // Long after the stream: its window is pruned, the key-up time says it is stale.
    w.run_until(w.now + RETAIN + Duration::from_secs(20));
    assert!(w.a.peers[0].streams.is_empty(), "window pruned");
    assert!(w.inject(&captured).is_none());
    assert_eq!(w.a_counters().stale, 1);
}

#[test]
fn a_restarted_peer_is_heard_at_once() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(3_100));
    let started = w.started_now();
    w.b_sends(&voice(0, B, started));
    w.run_until(w.now + Duration::from_millis(100));
    let keepalives = w.a_counters().keepalives_in;
    // B restarts: new keepalive SSRC, new stream SSRCs, fresh SRTP contexts, its keepalive
    // numbering from 1 again.
    w.b = links(B, A, 0xbbbb_0002);
    let mut fresh = voice(0, B, w.started_now());
    fresh[8..12].copy_from_slice(&0x0020_0100u32.to_be_bytes());
    w.b_sends(&fresh);
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 2);
    let c = w.a_counters();
    assert_eq!((c.duplicate, c.replay, c.auth_failed), (0, 0, 0));
    assert_eq!(c.keepalives_in, keepalives + 1);
}

#[test]
fn a_peer_that_does_not_resolve_is_tried_again() {
    let config = LinkConfig {
        site: A,
        keepalive: Duration::from_secs(1),
        down_after: 3,
        keepalive_ssrc: 1,
        epoch: KeyEpoch([1; 8]),
    };
    let spec = PeerSpec {
        site: B,
        name: "b".into(),
        address: "site-b.example:5200".into(),
        send: key(1),
        receive: key(2),
    };
    let mut l = PeerLinks::new(Instant::ZERO, config, vec![spec]);
    assert!(l.poll_resolve(Instant::ZERO).is_some());
    assert!(
        l.poll_resolve(Instant::ZERO).is_none(),
        "one lookup at a time"
    );
    l.set_addresses(Instant::ZERO, B, vec![]);
    // No address: no keepalive, and voice cannot go.
    l.handle_timeout(Instant::ZERO, WALL0);
    assert!(l.poll_transmit().is_none());
    let mut out = Vec::new();
    assert_eq!(
        l.protect_voice(Instant::ZERO, B, &voice(0, A, 0), &mut out),
        None
    );
    assert_eq!(l.socket_counters().unroutable, 1);
    assert!(
        l.poll_resolve(Instant::ZERO + RESOLVE_RETRY - Duration::from_millis(1))
            .is_none()
    );
    assert!(l.poll_resolve(Instant::ZERO + RESOLVE_RETRY).is_some());
    l.set_addresses(Instant::ZERO + RESOLVE_RETRY, B, vec![addr(B)]);
    assert_eq!(l.status(Instant::ZERO)[0].resolved, Some(addr(B)));
    // An IPv4-mapped source is the same peer.
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:5202".parse().unwrap();
    assert_eq!(l.site_of(mapped), Some(B));
}

/// A recorded over replayed 24.9–49.7 days later (or stamped in the future) is refused as
/// stale: the key-up time's age must not wrap.
#[test]
fn voice_replayed_weeks_later_or_stamped_in_the_future_is_refused() {
    const DAY_MS: u64 = 24 * 3_600 * 1_000;
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let wall_now = wall(w.now);
    let mut tx = Sender::new(key(2), w.b.config().epoch);
    let cases = [
        ("25 days old", wall_now - 25 * DAY_MS),
        ("49 days old", wall_now - 49 * DAY_MS),
        ("11 minutes ahead", wall_now + 11 * 60 * 1_000),
        ("30 days ahead", wall_now + 30 * DAY_MS),
    ];
    for (n, (what, started)) in cases.into_iter().enumerate() {
        let mut plain = voice(0, B, started);
        plain[8..12].copy_from_slice(&(0x0900_0000 + n as u32).to_be_bytes());
        let out = tx.rtp(w.now, &plain);
        assert!(w.inject(&out).is_none(), "{what}: delivered");
        assert_eq!(
            w.a_counters().stale,
            n as u64 + 1,
            "{what}: not counted stale"
        );
    }
    assert_eq!(w.a_counters().voice_in, 0);
}

/// Finding 4 of issue 13: an authenticated peer left 20 minutes of replay state per new SSRC,
/// without bound. Its windows are bounded; a new SSRC beyond the bound is refused and counted
/// until old windows may safely go (their key-up times are stale, so a replay of them would
/// be refused anyway).
#[test]
fn a_peer_flooding_new_ssrcs_cannot_grow_the_replay_state_without_bound() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let mut tx = Sender::new(key(2), w.b.config().epoch);
    let flood = MAX_STREAM_WINDOWS + 500;
    for n in 0..flood {
        let mut plain = voice(0, B, w.started_now());
        plain[8..12].copy_from_slice(&(0x0100_0000 + n as u32).to_be_bytes());
        let out = tx.rtp(w.now, &plain);
        let _ = w.inject(&out);
    }
    assert_eq!(w.a.peers[0].streams.len(), MAX_STREAM_WINDOWS);
    assert_eq!(w.a_counters().stream_limit, 500);
    assert_eq!(w.a_counters().voice_in, MAX_STREAM_WINDOWS as u64);
    // Eleven minutes on, the flood's key-up times are stale: its windows make room.
    w.run_until(w.now + Duration::from_secs(11 * 60));
    let mut plain = voice(0, B, w.started_now());
    plain[8..12].copy_from_slice(&0x0200_0000u32.to_be_bytes());
    let out = tx.rtp(w.now, &plain);
    assert!(w.inject(&out).is_some(), "a new stream is taken again");
    assert_eq!(w.a_counters().stream_limit, 500);
}

/// The same for keepalive SSRCs (a peer's keepalive SSRC is new at every start).
#[test]
fn a_peer_flooding_new_keepalive_ssrcs_cannot_grow_the_replay_state_without_bound() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let mut tx = Sender::new(key(2), w.b.config().epoch);
    // B's own keepalive stream already has its window.
    let before = w.a.peers[0].keepalive_windows.len();
    assert_eq!(before, 1);
    for n in 0..(MAX_KEEPALIVE_WINDOWS + 10) {
        let keepalive = Keepalive {
            ssrc: 0x0300_0000 + n as u32,
            site: B,
            hearing: true,
            seq: 1,
            sent_us: w.now.as_micros(),
            wall_ms: wall(w.now),
            echo_us: 0,
            echo_delay_us: 0,
        };
        let mut plain = [0u8; Keepalive::LEN];
        keepalive.emit(&mut plain);
        let out = tx.rtcp(&plain);
        let _ = w.inject(&out);
    }
    assert_eq!(w.a.peers[0].keepalive_windows.len(), MAX_KEEPALIVE_WINDOWS);
    assert_eq!(w.a_counters().stream_limit, 10 + before as u64);
    // The peer's real keepalives still count: its window was there first.
    w.run_until(w.now + Duration::from_secs(3));
    assert_eq!(w.a.status(w.now)[0].state, PeerState::Up);
}

/// Finding 3 of issue 13: with static keys, a restart whose clock was set back (or a box
/// booting before NTP) reused SSRCs and sequence numbers under the same key: AES-GCM with a
/// repeated nonce, keystream and GHASH key exposed. Each run now protects under keys of its
/// own, so the same packet sent by two runs never shares a keystream, and the receiver takes
/// both.
#[test]
fn a_restart_with_the_clock_set_back_never_reuses_a_keystream() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let plain = voice(0, B, w.started_now());
    let first = w.b_sends(&plain);
    w.run_until(w.now + Duration::from_millis(100));
    // B restarts; its clock was set back, so it picks the very same SSRC and sequence.
    w.b = links(B, A, 0xbbbb_0001);
    let second = w.b_sends(&plain);
    // Ciphertext and tag, without the RTP header and the epoch trailer.
    let body = |d: &[u8]| d[..d.len() - EPOCH_LEN].to_vec();
    assert_ne!(
        body(&first)[12..],
        body(&second)[12..],
        "the same plaintext under the same (key, SSRC, index): keystream reused"
    );
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 2, "the second run's packet is taken");
    assert_eq!(w.a_counters().duplicate, 0);
}

/// The freshness limit is exact: a key-up time `STALE_AFTER` away is still fresh, one
/// millisecond more is stale, before or after ours; the log line says which way.
#[test]
fn the_freshness_limit_holds_to_the_millisecond_both_ways() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let wall_now = wall(w.now);
    let limit = STALE_AFTER.as_millis();
    let mut tx = Sender::new(key(2), w.b.config().epoch);
    let cases = [
        (wall_now - limit, true),
        (wall_now + limit, true),
        (wall_now - limit - 1, false),
        (wall_now + limit + 1, false),
    ];
    for (n, (started, fresh)) in cases.into_iter().enumerate() {
        let mut plain = voice(0, B, started);
        plain[8..12].copy_from_slice(&(0x0500_0000 + n as u32).to_be_bytes());
        let delivered = w.inject(&tx.rtp(w.now, &plain)).is_some();
        assert_eq!(delivered, fresh, "key-up {started}");
    }
    let details: Vec<&str> =
        w.a.events
            .iter()
            .filter_map(|e| match e {
                PeerEvent::Dropped {
                    kind: DropKind::Stale,
                    detail,
                    ..
                } => Some(*detail),
                _ => None,
            })
            .collect();
    assert_eq!(details.len(), 1, "reported once per 10 s: {details:?}");
    assert!(details[0].contains("too old"), "{details:?}");
    // After the report interval, a key-up in the future is reported as such.
    w.run_until(w.now + Duration::from_secs(11));
    w.a.events.clear();
    let mut plain = voice(0, B, wall(w.now) + limit + 1);
    plain[8..12].copy_from_slice(&0x0600_0000u32.to_be_bytes());
    assert!(w.inject(&tx.rtp(w.now, &plain)).is_none());
    assert!(
        w.a.events.iter().any(|e| matches!(
            e,
            PeerEvent::Dropped { kind: DropKind::Stale, detail, .. } if detail.contains("future")
        )),
        "{:?}",
        w.a.events
    );
}

/// Windows are kept `RETAIN` after their stream's last packet while there is room: a new
/// stream does not evict older windows unless the peer's table is full.
#[test]
fn a_new_stream_evicts_no_window_while_there_is_room() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let first = voice(0, B, w.started_now());
    w.b_sends(&first);
    w.run_until(w.now + Duration::from_secs(11 * 60));
    // The first stream's key-up is stale now, but its window stays (well before RETAIN).
    let mut second = voice(0, B, w.started_now());
    second[8..12].copy_from_slice(&0x0700_0000u32.to_be_bytes());
    w.b_sends(&second);
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 2);
    assert_eq!(w.a.peers[0].streams.len(), 2);
}

/// Every kind of drop is counted under its own name, the name the peer's counters carry, and
/// bytes are counted as they arrive.
#[test]
fn drop_kinds_are_named_as_their_counters_and_bytes_are_counted() {
    let names: Vec<&str> = PeerCounters::default()
        .fields()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for kind in [
        DropKind::Malformed,
        DropKind::AuthFailed,
        DropKind::Duplicate,
        DropKind::Replay,
        DropKind::Stale,
        DropKind::StreamLimit,
    ] {
        assert!(names.contains(&kind.label()), "{kind:?}");
    }
    assert_eq!(DropKind::UnknownSource.label(), "unknown_source");
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let before = w.a_counters().bytes_in;
    assert!(w.inject(&[0u8; 40]).is_none());
    assert!(w.inject(&[0u8; 2]).is_none());
    assert_eq!(w.a_counters().bytes_in, before + 42);
}

/// A new epoch's context is kept once a packet of it passed every check, and only then:
/// recordings of old runs (which authenticate, but are stale) never push the current run's
/// context out.
#[test]
fn replays_of_old_runs_do_not_push_the_current_runs_context_out() {
    let mut w = World::new();
    w.run_until(Instant::from_millis(1_100));
    let current = w.b.config().epoch;
    assert_eq!(
        w.a.peers[0].recv.len(),
        1,
        "B's keepalives brought its epoch in"
    );
    assert_eq!(w.a.peers[0].recv[0].0, current);
    // Recordings of six earlier runs of B: authentic, but keyed up an hour ago.
    let hour_ago = wall(w.now) - 3_600_000;
    for run in 0..6u8 {
        let mut old = Sender::new(key(2), KeyEpoch([0x40 + run; 8]));
        let packet = old.rtp(w.now, &voice(0, B, hour_ago));
        assert!(w.inject(&packet).is_none());
    }
    assert_eq!(w.a_counters().stale, 6);
    let kept: Vec<KeyEpoch> = w.a.peers[0].recv.iter().map(|(e, _)| *e).collect();
    assert_eq!(kept, [current], "only the current run's context is kept");
    // And B's voice still goes through.
    w.b_sends(&voice(0, B, w.started_now()));
    w.run_until(w.now + Duration::from_millis(100));
    assert_eq!(w.delivered_a.len(), 1);
}
