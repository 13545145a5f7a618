//! Two real `borderlinkd` on loopback, site A (ASTRID radio) and site B (C2000 radio), each
//! with an emulated radio on a pseudo-terminal, linked by SRTP through a relay in the test
//! that sees (and can capture and inject) every datagram between them, as an attacker on the
//! path would. A call on either network is transmitted on the other; a forged, a replayed and
//! a malformed packet, and one from a stranger, key nothing and are counted; a key file others
//! can read stops the daemon from starting.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use borderlink_gateway::engine::relay::{END_COPIES, START_COPIES};
use borderlink_gateway::net::epoch::{KeyEpoch, derive};
use borderlink_gateway::net::srtp::SrtpSend;
use borderlink_gateway::net::{MasterKey, Suite};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::Instant as VInstant;
use borderlink_protocol::voice::{
    KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::audio::{Audio, frame};
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO, C2000_TALKER, tsi,
};
use borderlink_tests::cli::cli;
use borderlink_tests::config::{Api, Patch, Peer, Radio, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::{free_tcp, free_udp};
use borderlink_tests::radio::{field_call_ends, field_call_seen, wait_initialised};
use borderlink_tests::secrets::{Token, key_file, token_file};
use borderlink_tests::temp::TempDir;

const FRAMES: u8 = 40;
const GRANT_DELAY: Duration = Duration::from_millis(300);
/// The pair's two keys (one per direction), as the key file holds them.
const KEY_LINES: [&str; 2] = [
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==",
    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==",
];

/// The relay between the sites: forwards every datagram, keeps a copy of those from A to B,
/// and counts the keepalives (RTCP) each way.
struct Relay {
    /// A's view of B: A sends here.
    to_b: Arc<UdpSocket>,
    b_voice: SocketAddr,
    from_a: Arc<Mutex<Vec<Vec<u8>>>>,
    keepalives: Arc<Mutex<[usize; 2]>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Relay {
    /// `a_side` is where A's packets arrive, `b_side` where B's do. One thread per
    /// direction, each blocked in `recv`, so a loaded machine delays packets but never
    /// throttles a direction below its rate.
    fn start(
        a_side: UdpSocket,
        b_side: UdpSocket,
        a_voice: SocketAddr,
        b_voice: SocketAddr,
    ) -> Relay {
        for s in [&a_side, &b_side] {
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
        }
        let a_side = Arc::new(a_side);
        let b_side = Arc::new(b_side);
        let from_a = Arc::new(Mutex::new(Vec::new()));
        let keepalives = Arc::new(Mutex::new([0usize; 2]));
        let stop = Arc::new(AtomicBool::new(false));
        for (from, to, dest, way) in [
            (Arc::clone(&a_side), Arc::clone(&b_side), b_voice, 0),
            (Arc::clone(&b_side), Arc::clone(&a_side), a_voice, 1),
        ] {
            let (log, count, halt) = (
                Arc::clone(&from_a),
                Arc::clone(&keepalives),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !halt.load(Ordering::Relaxed) {
                    let Ok((n, _)) = from.recv_from(&mut buf) else {
                        continue;
                    };
                    if n > 1 && buf[1] == 204 {
                        count.lock().expect("count")[way] += 1;
                    }
                    if way == 0 {
                        log.lock().expect("log").push(buf[..n].to_vec());
                    }
                    let _ = to.send_to(&buf[..n], dest);
                }
            });
        }
        Relay {
            to_b: b_side,
            b_voice,
            from_a,
            keepalives,
            stop,
        }
    }

    /// Sends a datagram to B from the address B knows as site A.
    fn inject_as_a(&self, bytes: &[u8]) {
        self.to_b.send_to(bytes, self.b_voice).expect("inject");
    }

    fn wait_keepalives(&self, each_way: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let k = *self.keepalives.lock().expect("count");
            if k[0] >= each_way && k[1] >= each_way {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

/// A viewer token for monitoring, in `dir/tokens` (the API answers reads to token holders).
fn write_token_file(dir: &Path) -> PathBuf {
    token_file(
        dir,
        &[Token {
            name: "monitor",
            role: "viewer",
            country: "BE",
            secret: "5f4dcc3b5aa765d61d8327deb882cf99",
        }],
    )
}

fn write_key_file(dir: &Path, mode: u32) -> PathBuf {
    key_file(dir, "a-b.key", &KEY_LINES, mode)
}

struct SiteSpec<'a> {
    id: u16,
    radio: &'a PtyRadio,
    issi: Tsi,
    group: Tsi,
    other_gateway: Tsi,
    audio_daemon: SocketAddr,
    audio_test: SocketAddr,
    voice: SocketAddr,
    peer: SocketAddr,
    key_file: &'a Path,
    /// The control API's address.
    api: SocketAddr,
}

/// Site 1 alone, its one peer never answering: for checks made before any packet flows.
fn lone_site_config(dir: &Path, radio: &PtyRadio, key: &Path) -> SiteConfig {
    site_config(
        dir,
        &SiteSpec {
            id: 1,
            radio,
            issi: ASTRID_RADIO,
            group: ASTRID_GROUP,
            other_gateway: C2000_RADIO,
            audio_daemon: free_udp(),
            audio_test: free_udp(),
            voice: free_udp(),
            peer: free_udp(),
            key_file: key,
            api: free_tcp(),
        },
    )
}

fn site_config(dir: &Path, s: &SiteSpec<'_>) -> SiteConfig {
    let peer_id = 3 - s.id;
    SiteConfig::new(s.id, &format!("site {}", s.id))
        .gateway_radio(s.other_gateway)
        .radio(
            Radio::new("radio", s.issi, s.group)
                .serial(&s.radio.path)
                .udp(s.audio_daemon, s.audio_test),
        )
        // A long fixed playout delay absorbs the stalls of a loaded test machine.
        .playout_fixed("1s")
        .network(s.voice, "200ms")
        .peer(Peer::new(
            peer_id,
            &format!("site {peer_id}"),
            s.peer,
            s.key_file,
        ))
        .api(Api::new(s.api, &write_token_file(dir)))
        .patch(Patch::border(1, 2))
}

/// Both sites, their radios and audio, and the relay between them, with the link up.
struct Pair {
    astrid: PtyRadio,
    c2000: PtyRadio,
    a_audio: Audio,
    b_audio: Audio,
    a: Daemon,
    b: Daemon,
    relay: Relay,
    /// Site A's control API.
    a_api: String,
    dir: TempDir,
}

impl Pair {
    fn start(name: &str) -> Pair {
        let dir = TempDir::new(name);
        let key = write_key_file(dir.path(), 0o600);
        let astrid = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
        let c2000 = PtyRadio::start(C2000_RADIO, GRANT_DELAY);
        let (a_audio, b_audio) = (Audio::new(), Audio::new());
        let (a_voice, b_voice) = (free_udp(), free_udp());
        let a_side = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let b_side = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a_api = free_tcp();
        let a_config = site_config(
            dir.path(),
            &SiteSpec {
                id: 1,
                radio: &astrid,
                issi: ASTRID_RADIO,
                group: ASTRID_GROUP,
                other_gateway: C2000_RADIO,
                audio_daemon: a_audio.daemon,
                audio_test: a_audio.addr(),
                voice: a_voice,
                peer: a_side.local_addr().expect("addr"),
                key_file: &key,
                api: a_api,
            },
        )
        .write(&dir.join("site-1.toml"));
        let b_config = site_config(
            dir.path(),
            &SiteSpec {
                id: 2,
                radio: &c2000,
                issi: C2000_RADIO,
                group: C2000_GROUP,
                other_gateway: ASTRID_RADIO,
                audio_daemon: b_audio.daemon,
                audio_test: b_audio.addr(),
                voice: b_voice,
                peer: b_side.local_addr().expect("addr"),
                key_file: &key,
                api: free_tcp(),
            },
        )
        .write(&dir.join("site-2.toml"));
        let relay = Relay::start(a_side, b_side, a_voice, b_voice);
        let a = Daemon::start(&a_config);
        let b = Daemon::start(&b_config);
        wait_initialised(&[&astrid, &c2000]);
        // Keepalives both ways, twice: each side has heard the other.
        assert!(
            relay.wait_keepalives(2, Duration::from_secs(10)),
            "no keepalives through the relay"
        );
        for d in [&a, &b] {
            assert!(
                d.wait_log("peer up", |_| true, Duration::from_secs(5))
                    .is_some(),
                "peer never up"
            );
        }
        Pair {
            astrid,
            c2000,
            a_audio,
            b_audio,
            a,
            b,
            relay,
            a_api: format!("http://{a_api}"),
            dir,
        }
    }

    /// A field unit talks on `from`'s network for `FRAMES` frames; returns the frame numbers
    /// played into the other site's radio.
    fn call(&self, from_astrid: bool) -> Vec<u8> {
        let (daemon, radio, talker, group, audio, listener) = if from_astrid {
            (
                &self.a,
                &self.astrid,
                ASTRID_TALKER,
                ASTRID_GROUP,
                &self.a_audio,
                &self.b_audio,
            )
        } else {
            (
                &self.b,
                &self.c2000,
                C2000_TALKER,
                C2000_GROUP,
                &self.b_audio,
                &self.a_audio,
            )
        };
        let cc = field_call_seen(daemon, radio, "radio", talker, group);
        audio.talk(0..FRAMES);
        field_call_ends(radio, cc);
        listener.heard(usize::from(FRAMES), Duration::from_secs(10))
    }
}

/// The numbers of a peer's summary line at shutdown.
fn summary(d: &Daemon) -> serde_json::Value {
    d.wait_log("peer link closed", |_| true, Duration::from_secs(5))
        .expect("peer summary at shutdown")["fields"]
        .clone()
}

#[test]
fn two_sites_relay_calls_both_ways_over_srtp() {
    let mut pair = Pair::start("peers-relay");
    assert_eq!(pair.call(true), (0..FRAMES).collect::<Vec<u8>>());
    let c2000 = pair.c2000.commands();
    assert!(c2000.iter().any(|c| c.starts_with("AT+CTXD=")), "{c2000:?}");
    assert!(
        pair.c2000.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "C2000 radio not released"
    );
    assert_eq!(pair.call(false), (0..FRAMES).collect::<Vec<u8>>());
    assert!(
        pair.astrid.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "ASTRID radio not released"
    );
    // On the wire the audio is encrypted: no datagram carries the frames' 0xaa run.
    let sent = pair.relay.from_a.lock().expect("log").clone();
    assert!(sent.len() > usize::from(FRAMES));
    assert!(
        !sent
            .iter()
            .any(|d| d.windows(32).any(|w| w.iter().all(|&b| b == 0xaa))),
        "plaintext audio on the wire"
    );
    // Dispatch sees the peer up, its round-trip time and its counters.
    let out = cli(
        &["status", "--json", "--api", &pair.a_api],
        &pair.a_api,
        Some(&pair.dir.join("tokens")),
    );
    assert!(out.status.success(), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let peer = &status["peers"][0];
    assert_eq!(peer["site"], 2, "{status}");
    assert_eq!(peer["state"], "up", "{status}");
    assert!(peer["rtt_ms"].as_f64().is_some(), "{status}");
    assert!(
        peer["counters"]["voice_out"].as_u64() >= Some(u64::from(FRAMES)),
        "{status}"
    );
    assert!(pair.a.stop().success());
    assert!(pair.b.stop().success());
    let (a, b) = (summary(&pair.a), summary(&pair.b));
    assert!(a["voice_out"].as_u64() >= Some(u64::from(FRAMES)), "{a}");
    assert!(b["voice_in"].as_u64() >= Some(u64::from(FRAMES)), "{b}");
    assert!(b["voice_out"].as_u64() >= Some(u64::from(FRAMES)), "{b}");
    // Each side received one over: its first packet's and its end's copies (loop rule 4)
    // are its only duplicates.
    let copies = (START_COPIES - 1) + (END_COPIES - 1);
    for s in [&a, &b] {
        for bad in ["auth_failed", "replay", "malformed", "stale"] {
            assert_eq!(s[bad], 0, "{bad}: {s}");
        }
        assert_eq!(s["duplicate"], copies, "{s}");
        assert!(s["keepalives_in"].as_u64() >= Some(2), "{s}");
    }
}

/// A voice packet from "site 1" that would key B's C2000 radio if B accepted it.
fn forged_voice(key: &MasterKey, ssrc: u32) -> Vec<u8> {
    let frame = frame(7);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let repr = VoiceRepr {
        sequence: 0,
        timestamp: 0,
        ssrc,
        radio: RadioHeader {
            tx: TxState::Start,
            squelch_open: true,
            emergency: true,
            priority: Priority::new(15).expect("priority"),
            talker: Some(tsi(206, 6_666_666)),
            talkgroup: ASTRID_GROUP,
            origin: Origin {
                site: SiteId(1),
                network: Some(Network::Astrid),
            },
            stream: StreamId(ssrc),
            started: KeyUpTime(now_ms),
        },
        payload: &frame,
    };
    let mut plain = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut plain).expect("emit");
    // In the link's own format: keys of a run (epoch) derived from `key`, the epoch trailer.
    let epoch = KeyEpoch([0x0f; 8]);
    let mut wire = Vec::new();
    SrtpSend::new(derive(key, epoch))
        .protect_rtp(VInstant::ZERO, &plain[..len], &mut wire)
        .expect("protect");
    wire.extend_from_slice(&epoch.0);
    wire
}

#[test]
fn forged_replayed_malformed_and_stranger_packets_key_nothing() {
    let mut pair = Pair::start("peers-attack");
    assert_eq!(pair.call(true), (0..FRAMES).collect::<Vec<u8>>());
    assert!(
        pair.c2000.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "C2000 radio not released"
    );
    let keyed = |r: &PtyRadio| {
        r.commands()
            .iter()
            .filter(|c| c.starts_with("ATD") || c.starts_with("AT+CTXD"))
            .count()
    };
    let before = keyed(&pair.c2000);

    // Forged: a well-formed SRTP packet under a key that is not the pair's.
    let wrong = MasterKey::new(Suite::AeadAes128Gcm, &[0x42; 28]).expect("key");
    pair.relay.inject_as_a(&forged_voice(&wrong, 0x0bad_0001));
    // Replayed: every voice packet A sent in the call, captured on the path, sent again.
    let captured: Vec<Vec<u8>> = pair
        .relay
        .from_a
        .lock()
        .expect("log")
        .iter()
        .filter(|d| d.len() > 100 && d[1] & 0x7f == 8)
        .cloned()
        .collect();
    assert!(captured.len() >= usize::from(FRAMES));
    for packet in &captured {
        pair.relay.inject_as_a(packet);
    }
    // Malformed: an RTP header whose extension runs past the datagram, and plain garbage.
    pair.relay.inject_as_a(&[
        0x90, 0x08, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x40,
    ]);
    pair.relay.inject_as_a(b"hello, I am a radio");
    // A stranger: a perfectly good-looking packet from an address that is no peer's.
    let stranger = UdpSocket::bind("127.0.0.1:0").expect("bind");
    stranger
        .send_to(&captured[0], pair.relay.b_voice)
        .expect("send");

    // B reports each kind as it drops it.
    for kind in ["auth_failed", "malformed"] {
        assert!(
            pair.b
                .wait_log(
                    "packet dropped",
                    |v| v["fields"]["kind"] == kind,
                    Duration::from_secs(5)
                )
                .is_some(),
            "no {kind} drop reported"
        );
    }
    let from = stranger.local_addr().expect("addr").to_string();
    assert!(
        pair.b
            .wait_log(
                "packet dropped",
                |v| v["fields"]["kind"] == "unknown_source" && v["fields"]["from"] == from.as_str(),
                Duration::from_secs(5)
            )
            .is_some(),
        "the stranger's packet was not reported"
    );
    assert!(
        pair.b
            .wait_log(
                "packet dropped",
                |v| v["fields"]["kind"] == "replay" || v["fields"]["kind"] == "duplicate",
                Duration::from_secs(5)
            )
            .is_some(),
        "no replay reported"
    );
    // Still alive, and nothing was keyed by any of it.
    assert!(pair.b.child.try_wait().expect("status").is_none());
    assert_eq!(keyed(&pair.c2000), before, "{:?}", pair.c2000.commands());
    assert!(!pair.c2000.emulator.lock().expect("lock").is_transmitting());

    assert!(pair.b.stop().success());
    let b = summary(&pair.b);
    assert_eq!(b["auth_failed"], 1, "{b}");
    assert_eq!(b["malformed"], 2, "{b}");
    // Every replayed packet, and the copies of the first and last packets A sent itself.
    let copies = (START_COPIES - 1) + (END_COPIES - 1);
    assert_eq!(
        b["replay"].as_u64().unwrap_or(0) + b["duplicate"].as_u64().unwrap_or(0),
        (captured.len() + copies) as u64,
        "every replayed packet refused: {b}"
    );
    // The stranger's packet (and possibly a keepalive that beat B's lookup of A's address).
    let socket = pair
        .b
        .wait_log("voice socket closed", |_| true, Duration::from_secs(5))
        .expect("socket summary");
    assert!(
        socket["fields"]["unknown_source"].as_u64() >= Some(1),
        "{socket}"
    );
}

#[test]
fn a_key_file_others_can_read_stops_the_daemon_naming_file_and_mode() {
    let dir = TempDir::new("peers-exposed");
    let key = write_key_file(dir.path(), 0o644);
    let radio = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
    let config = lone_site_config(dir.path(), &radio, &key).write(&dir.join("site-1.toml"));
    let mut daemon = Daemon::start(&config);
    let status = daemon.child.wait().expect("wait");
    assert!(!status.success(), "started with an exposed key");
    let stopped = daemon
        .wait_log("borderlinkd stopped", |_| true, Duration::from_secs(5))
        .expect("reason logged");
    let cause = stopped["fields"]["cause"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        cause.contains(&key.display().to_string()) && cause.contains("0644"),
        "{cause}"
    );
    // It never keyed the radio on its way out.
    assert!(!radio.commands().iter().any(|c| c.starts_with("AT+CTXD")));
}

/// Finding 3 of issue 13: one key file for two peers would protect two links under one key.
/// The daemon refuses to start, naming both peers and the file.
#[test]
fn one_key_file_for_two_peers_stops_the_daemon() {
    let dir = TempDir::new("peers-shared-key");
    let key = write_key_file(dir.path(), 0o600);
    let radio = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
    let config = lone_site_config(dir.path(), &radio, &key)
        .peer(Peer::new(3, "third", free_udp(), &key))
        .write(&dir.join("site-1.toml"));
    let mut daemon = Daemon::start(&config);
    let status = daemon.child.wait().expect("wait");
    assert!(!status.success(), "started with one key file for two peers");
    let stopped = daemon
        .wait_log("borderlinkd stopped", |_| true, Duration::from_secs(5))
        .expect("reason logged");
    let cause = stopped["fields"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("third") && cause.contains(&key.display().to_string()),
        "{cause}"
    );
    assert!(!radio.commands().iter().any(|c| c.starts_with("AT+CTXD")));
}
