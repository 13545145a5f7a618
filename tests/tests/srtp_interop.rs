//! libsrtp interoperability, both directions: a peer gateway built on libsrtp (Python's
//! pylibsrtp, `tests/interop/srtp_peer.py`) plays site 1 towards a real `borderlinkd` at site 2.
//! What libsrtp protects, the daemon authenticates, decrypts and transmits on its C2000 radio;
//! what the daemon sends (SRTP voice and SRTCP keepalives), libsrtp authenticates and decrypts
//! to the very packets borderlink meant. Both suites.
//!
//! Needs a Python with pylibsrtp, so it is not among the default tests (`test = false`):
//! `cargo xtask srtp-interop` makes a venv, installs pylibsrtp and runs it with
//! `BORDERLINK_SRTP_PYTHON` pointing at that venv's interpreter.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use borderlink_gateway::engine::relay::{END_COPIES, START_COPIES};
use borderlink_gateway::net::keepalive::Keepalive;
use borderlink_protocol::ids::Network;
use borderlink_protocol::voice::{
    KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::audio::{Audio, frame};
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO, C2000_TALKER,
};
use borderlink_tests::config::{Patch, Peer, Radio, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::free_udp;
use borderlink_tests::radio::{field_call_ends, field_call_seen, wait_initialised};
use borderlink_tests::secrets::key_file;
use borderlink_tests::temp::TempDir;

const FRAMES: u8 = 40;

/// The libsrtp peer process and the lines it reports.
struct LibsrtpPeer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Drop for LibsrtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LibsrtpPeer {
    fn start(suite: &str, send: &str, receive: &str, daemon: SocketAddr) -> LibsrtpPeer {
        let python = std::env::var("BORDERLINK_SRTP_PYTHON").unwrap_or_else(|_| {
            panic!(
                "BORDERLINK_SRTP_PYTHON is not set: run this check with `cargo xtask srtp-interop`, \
                 which installs pylibsrtp in a venv and points it there"
            )
        });
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/srtp_peer.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args([suite, send, receive, &daemon.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the libsrtp peer did not start (is pylibsrtp installed?)");
        let port = ready
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the peer: {ready}"));
        LibsrtpPeer {
            child,
            stdin,
            lines,
            port,
        }
    }

    fn send(&mut self, plain: &[u8]) {
        writeln!(self.stdin, "send {}", hex::encode(plain)).expect("write to the peer");
    }

    fn send_rtcp(&mut self, plain: &[u8]) {
        writeln!(self.stdin, "sendrtcp {}", hex::encode(plain)).expect("write to the peer");
    }
}

fn keys(suite: &str) -> [String; 2] {
    use base64::Engine as _;
    let len = if suite == "AEAD_AES_128_GCM" { 28 } else { 30 };
    let encode = |byte: u8| base64::engine::general_purpose::STANDARD.encode(vec![byte; len]);
    [encode(0x11), encode(0x22)]
}

fn write_files(dir: &Path, suite: &str, keys: &[String; 2], s: &Setup) -> PathBuf {
    let key_file = key_file(dir, "pair.key", &[&keys[0], &keys[1]], 0o600);
    SiteConfig::new(2, "site 2")
        .gateway_radio(ASTRID_RADIO)
        .radio(
            Radio::new("c2000", C2000_RADIO, C2000_GROUP)
                .serial(&s.radio.path)
                .audio(&s.audio),
        )
        .playout_fixed("1s")
        .network(s.voice, "200ms")
        .peer(
            Peer::new(
                1,
                "libsrtp",
                SocketAddr::from(([127, 0, 0, 1], s.peer_port)),
                &key_file,
            )
            .suite(suite),
        )
        .patch(Patch::border(1, 2))
        .write(&dir.join("site.toml"))
}

struct Setup {
    radio: PtyRadio,
    audio: Audio,
    voice: SocketAddr,
    peer_port: u16,
}

/// A transmission from "site 1", as the libsrtp peer sends it.
fn site1_packet(seq: u16, key_up: u64) -> Vec<u8> {
    let f = frame(seq as u8);
    let last = seq == u16::from(FRAMES);
    let repr = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 0x0010_0001,
        radio: RadioHeader {
            tx: match seq {
                0 => TxState::Start,
                _ if last => TxState::End,
                _ => TxState::Continue,
            },
            squelch_open: !last,
            emergency: false,
            priority: Priority::new(3).expect("priority"),
            talker: Some(ASTRID_TALKER),
            talkgroup: ASTRID_GROUP,
            origin: Origin {
                site: SiteId(1),
                network: Some(Network::Astrid),
            },
            stream: StreamId(1),
            started: KeyUpTime(key_up),
        },
        payload: if last { &[] } else { &f },
    };
    let mut buf = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut buf).expect("emit");
    buf[..len].to_vec()
}

fn interop(suite: &str) {
    let dir = TempDir::new(&format!("interop-{suite}"));
    let keys = keys(suite);
    let voice = free_udp();
    // Site 1 (the peer) sends with the first line, the lower site id's key.
    let mut peer = LibsrtpPeer::start(suite, &keys[0], &keys[1], voice);
    let setup = Setup {
        radio: PtyRadio::start(C2000_RADIO, Duration::from_millis(300)),
        audio: Audio::new(),
        voice,
        peer_port: peer.port,
    };
    let config = write_files(dir.path(), suite, &keys, &setup);
    let mut daemon = Daemon::start(&config);
    wait_initialised(&[&setup.radio]);

    // libsrtp -> borderlinkd: keepalives (SRTCP) bring the link up, and the peer's
    // transmission (SRTP) goes out on the C2000 radio.
    let wall_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    for seq in 1..=3 {
        let mut plain = [0u8; Keepalive::LEN];
        Keepalive {
            ssrc: 0x5151_0001,
            site: SiteId(1),
            hearing: false,
            seq,
            sent_us: u64::from(seq) * 1000,
            wall_ms,
            echo_us: 0,
            echo_delay_us: 0,
        }
        .emit(&mut plain);
        peer.send_rtcp(&plain);
    }
    assert!(
        daemon
            .wait_log("peer up", |_| true, Duration::from_secs(5))
            .is_some(),
        "{suite}: libsrtp's keepalives did not bring the link up"
    );
    let key_up = wall_ms;
    let start = Instant::now();
    for seq in 0..=u16::from(FRAMES) {
        let due = start + Duration::from_millis(20 * u64::from(seq));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        peer.send(&site1_packet(seq, key_up));
    }
    let heard = setup
        .audio
        .heard(usize::from(FRAMES), Duration::from_secs(10));
    assert_eq!(
        heard,
        (0..FRAMES).collect::<Vec<u8>>(),
        "{suite}: what libsrtp protected did not play in full on the radio"
    );
    let commands = setup.radio.commands();
    assert!(
        commands.iter().any(|c| c.starts_with("AT+CTXD=")),
        "{commands:?}"
    );
    assert!(
        setup.radio.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "radio not released"
    );

    // borderlinkd -> libsrtp: a call on C2000 reaches the peer, which decrypts it.
    let cc = field_call_seen(&daemon, &setup.radio, "c2000", C2000_TALKER, C2000_GROUP);
    setup.audio.talk(0..FRAMES);
    field_call_ends(&setup.radio, cc);
    let mut frames = Vec::new();
    let mut keepalives = 0;
    let mut replays = 0;
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && (frames.len() < usize::from(FRAMES) || keepalives < 2) {
        let Ok(line) = peer.lines.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let (kind, data) = line.split_once(' ').unwrap_or((&line, ""));
        match kind {
            "rtp" => {
                let bytes = hex::decode(data).expect("hex");
                let repr = VoiceRepr::parse(&bytes).expect("libsrtp's output parses as voice");
                assert_eq!(repr.radio.origin.site, SiteId(2));
                assert_eq!(repr.radio.origin.network, Some(Network::C2000));
                assert_eq!(repr.radio.talkgroup, C2000_GROUP);
                if repr.payload.len() == 160 {
                    frames.push(repr.payload[0]);
                }
            }
            "rtcp" => {
                let bytes = hex::decode(data).expect("hex");
                let k = Keepalive::parse(&bytes).expect("libsrtp's SRTCP output is a keepalive");
                assert_eq!(k.site, SiteId(2));
                keepalives += 1;
            }
            // The copies of a transmission's first and last packets (loop rule 4) carry the
            // same SRTP index as the original: libsrtp refuses them as replays, as it must.
            "error" if data.starts_with("replay check failed") => replays += 1,
            _ => panic!("{suite}: the libsrtp peer reports: {line}"),
        }
    }
    assert_eq!(
        frames,
        (0..FRAMES).collect::<Vec<u8>>(),
        "{suite}: libsrtp did not decrypt the whole transmission"
    );
    assert!(
        (START_COPIES - 1..=START_COPIES + END_COPIES - 2).contains(&replays),
        "{suite}: {replays} replays refused; the sender's copies are the only ones expected"
    );
    assert!(keepalives >= 2, "{suite}: no SRTCP keepalive decrypted");

    assert!(daemon.stop().success());
    let summary = daemon
        .wait_log("peer link closed", |_| true, Duration::from_secs(5))
        .expect("peer summary")["fields"]
        .clone();
    assert_eq!(summary["auth_failed"], 0, "{summary}");
    assert_eq!(summary["keepalives_in"], 3, "{summary}");
    assert_eq!(summary["voice_in"], u64::from(FRAMES) + 1, "{summary}");
}

#[test]
fn libsrtp_and_borderlinkd_understand_each_other_with_aes_gcm() {
    interop("AEAD_AES_128_GCM");
}

#[test]
fn libsrtp_and_borderlinkd_understand_each_other_with_aes_cm_hmac_sha1() {
    interop("AES_CM_128_HMAC_SHA1_80");
}
