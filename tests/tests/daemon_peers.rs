//! Two real `borderlinkd` on loopback, site A (ASTRID radio) and site B (C2000 radio), each
//! with an emulated radio on a pseudo-terminal, linked by SRTP through a relay in the test
//! that sees (and can capture and inject) every datagram between them, as an attacker on the
//! path would. A call on either network is transmitted on the other; a forged, a replayed and
//! a malformed packet, and one from a stranger, key nothing and are counted; a key file others
//! can read stops the daemon from starting.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
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
use borderlink_tests::daemon::Daemon;

const FRAMES: u8 = 40;
const GRANT_DELAY: Duration = Duration::from_millis(300);
/// The pair's two keys (one per direction), as the key file holds them.
const KEY_LINES: [&str; 2] = [
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==",
    "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw==",
];

fn tsi(mcc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, 1, ssi).expect("valid TSI")
}

fn free_udp_port() -> SocketAddr {
    let probe = UdpSocket::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr")
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn frame(n: u8) -> [u8; 160] {
    let mut f = [0xaa; 160];
    f[0] = n;
    f
}

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
    let path = dir.join("tokens");
    std::fs::write(
        &path,
        "# name role country token\nmonitor viewer BE 5f4dcc3b5aa765d61d8327deb882cf99\n",
    )
    .expect("token file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

fn write_key_file(dir: &Path, mode: u32) -> PathBuf {
    let path = dir.join("a-b.key");
    std::fs::write(
        &path,
        format!("# test pair\n{}\n{}\n", KEY_LINES[0], KEY_LINES[1]),
    )
    .expect("key file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

struct SiteSpec<'a> {
    id: u16,
    radio: &'a PtyRadio,
    network: &'a str,
    issi: &'a str,
    group: &'a str,
    other_gateway: &'a str,
    audio_daemon: SocketAddr,
    audio_test: SocketAddr,
    voice: SocketAddr,
    peer: SocketAddr,
    key_file: &'a Path,
    /// The control API's port.
    api: u16,
}

/// Site 1 alone, its one peer never answering: for checks made before any packet flows.
fn lone_site_config(dir: &Path, radio: &PtyRadio, key: &Path) -> PathBuf {
    write_config(
        dir,
        &SiteSpec {
            id: 1,
            radio,
            network: "ASTRID",
            issi: "02060000109000001",
            group: "02060000102061001",
            other_gateway: "02040000109000101",
            audio_daemon: free_udp_port(),
            audio_test: free_udp_port(),
            voice: free_udp_port(),
            peer: free_udp_port(),
            key_file: key,
            api: free_tcp_port(),
        },
    )
}

fn write_config(dir: &Path, s: &SiteSpec<'_>) -> PathBuf {
    let config = format!(
        r#"
gateway_radios = ["{other}"]

[site]
id = {id}
name = "site {id}"

[[radios]]
name = "radio"
network = "{network}"
serial = "{serial}"
issi = "{issi}"
group = "{group}"
udp = {{ listen = "{audio_daemon}", peer = "{audio_test}", format = "pcma" }}

# A long fixed playout delay absorbs the stalls of a loaded test machine.
[playout]
fixed = "1s"

[network]
listen = "{voice}"
keepalive = "200ms"

[[peers]]
site = {peer_id}
name = "site {peer_id}"
address = "{peer}"
key_file = "{key}"

[api]
listen = "127.0.0.1:{api}"
token_file = "{tokens}"

[[patches]]
name = "border"
channels = [
    {{ site = 1, network = "ASTRID", group = "02060000102061001" }},
    {{ site = 2, network = "C2000", group = "02040000102040551" }},
]
"#,
        other = s.other_gateway,
        id = s.id,
        network = s.network,
        serial = s.radio.path,
        issi = s.issi,
        group = s.group,
        audio_daemon = s.audio_daemon,
        audio_test = s.audio_test,
        voice = s.voice,
        peer_id = 3 - s.id,
        peer = s.peer,
        key = s.key_file.display(),
        api = s.api,
        tokens = write_token_file(dir).display(),
    );
    let path = dir.join(format!("site-{}.toml", s.id));
    std::fs::write(&path, config).expect("config");
    path
}

/// Both sites, their radios and audio, and the relay between them, with the link up.
struct Pair {
    astrid: PtyRadio,
    c2000: PtyRadio,
    a_audio: UdpSocket,
    a_audio_daemon: SocketAddr,
    b_audio: UdpSocket,
    b_audio_daemon: SocketAddr,
    a: Daemon,
    b: Daemon,
    relay: Relay,
    /// Site A's control API.
    a_api: String,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("borderlink-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

impl Pair {
    fn start(name: &str) -> Pair {
        let dir = temp_dir(name);
        let key = write_key_file(&dir.0, 0o600);
        let astrid = PtyRadio::start(tsi(206, 9_000_001), GRANT_DELAY);
        let c2000 = PtyRadio::start(tsi(204, 9_000_101), GRANT_DELAY);
        let a_audio = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let b_audio = UdpSocket::bind("127.0.0.1:0").expect("bind");
        for s in [&a_audio, &b_audio] {
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
        }
        let (a_audio_daemon, b_audio_daemon) = (free_udp_port(), free_udp_port());
        let (a_voice, b_voice) = (free_udp_port(), free_udp_port());
        let a_side = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let b_side = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a_api = free_tcp_port();
        let a_config = write_config(
            &dir.0,
            &SiteSpec {
                id: 1,
                radio: &astrid,
                network: "ASTRID",
                issi: "02060000109000001",
                group: "02060000102061001",
                other_gateway: "02040000109000101",
                audio_daemon: a_audio_daemon,
                audio_test: a_audio.local_addr().expect("addr"),
                voice: a_voice,
                peer: a_side.local_addr().expect("addr"),
                key_file: &key,
                api: a_api,
            },
        );
        let b_config = write_config(
            &dir.0,
            &SiteSpec {
                id: 2,
                radio: &c2000,
                network: "C2000",
                issi: "02040000109000101",
                group: "02040000102040551",
                other_gateway: "02060000109000001",
                audio_daemon: b_audio_daemon,
                audio_test: b_audio.local_addr().expect("addr"),
                voice: b_voice,
                peer: b_side.local_addr().expect("addr"),
                key_file: &key,
                api: free_tcp_port(),
            },
        );
        let relay = Relay::start(a_side, b_side, a_voice, b_voice);
        let a = Daemon::start(&a_config);
        let b = Daemon::start(&b_config);
        for radio in [&astrid, &c2000] {
            assert!(
                radio.wait_for("AT+CSQ?", Duration::from_secs(20)),
                "radio not initialised: {:?}",
                radio.commands()
            );
        }
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
            a_audio_daemon,
            b_audio,
            b_audio_daemon,
            a,
            b,
            relay,
            a_api: format!("http://127.0.0.1:{a_api}"),
            _dir: dir,
        }
    }

    /// A field unit talks on `from`'s network for `FRAMES` frames; returns the frame numbers
    /// played into the other site's radio.
    fn call(&self, from_astrid: bool) -> Vec<u8> {
        let (radio, talker, group, socket, to, listener) = if from_astrid {
            (
                &self.astrid,
                tsi(206, 1_234_567),
                tsi(206, 2_061_001),
                &self.a_audio,
                self.a_audio_daemon,
                &self.b_audio,
            )
        } else {
            (
                &self.c2000,
                tsi(204, 2_040_123),
                tsi(204, 2_040_551),
                &self.b_audio,
                self.b_audio_daemon,
                &self.a_audio,
            )
        };
        let cc = {
            let mut r = radio.emulator.lock().expect("lock");
            let cc = r.network_incoming_group_call(talker, group, 3);
            r.network_talker(cc, talker);
            cc
        };
        std::thread::sleep(Duration::from_millis(200));
        // At the pace of an audio interface: frame n at start + n × 20 ms, so a late wake-up
        // on a loaded machine does not add up into a stream slower than its timestamps.
        let start = Instant::now();
        for n in 0..FRAMES {
            let due = start + Duration::from_millis(20 * u64::from(n));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            socket.send_to(&frame(n), to).expect("send audio");
        }
        radio
            .emulator
            .lock()
            .expect("lock")
            .network_talker_stopped(cc);
        let mut heard = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 400];
        while Instant::now() < end && heard.len() < usize::from(FRAMES) {
            if let Ok(n) = listener.recv(&mut buf)
                && n == 160
                && buf[1..160].iter().all(|&b| b == 0xaa)
            {
                heard.push(buf[0]);
            }
        }
        heard
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
    let out = std::process::Command::new(borderlink_tests::binary("borderlink"))
        .args(["status", "--json", "--api", &pair.a_api])
        .env("BORDERLINK_TOKEN_FILE", pair._dir.0.join("tokens"))
        .output()
        .expect("borderlink status");
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
            talkgroup: tsi(206, 2_061_001),
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
    let dir = temp_dir("peers-exposed");
    let key = write_key_file(&dir.0, 0o644);
    let radio = PtyRadio::start(tsi(206, 9_000_001), GRANT_DELAY);
    let config = lone_site_config(&dir.0, &radio, &key);
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
    let dir = temp_dir("peers-shared-key");
    let key = write_key_file(&dir.0, 0o600);
    let radio = PtyRadio::start(tsi(206, 9_000_001), GRANT_DELAY);
    let config = lone_site_config(&dir.0, &radio, &key);
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[peers]]\nsite = 3\nname = \"third\"\naddress = \"{}\"\nkey_file = \"{}\"\n",
        free_udp_port(),
        key.display()
    ));
    std::fs::write(&config, text).expect("config");
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
