//! The real `borderlinkd` against two emulated TETRA radios on pseudo-terminals (the PEI
//! ports) with their audio on loopback UDP: a call heard on ASTRID is transmitted on C2000
//! from its first frame once the grant arrives, and SIGTERM mid-transmission ceases transmit.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use borderlink_protocol::ids::Tsi;
use borderlink_tests::pty_radio::PtyRadio;
use borderlink_tests::{binary, sigterm};

const FRAMES: u8 = 40;
const GRANT_DELAY: Duration = Duration::from_millis(300);

fn tsi(mcc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, 1, ssi).expect("valid TSI")
}

struct Daemon {
    child: Child,
    _dir: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loopback UDP sockets for one radio's audio: the test's end, and the daemon's address.
fn audio_pair() -> (UdpSocket, std::net::SocketAddr) {
    let ours = UdpSocket::bind("127.0.0.1:0").expect("bind");
    ours.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let probe = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let theirs = probe.local_addr().expect("addr");
    drop(probe);
    (ours, theirs)
}

fn start_daemon(
    astrid: &PtyRadio,
    c2000: &PtyRadio,
    a_audio: &UdpSocket,
    a_daemon: std::net::SocketAddr,
    c_audio: &UdpSocket,
    c_daemon: std::net::SocketAddr,
) -> Daemon {
    let dir = std::env::temp_dir().join(format!(
        "borderlinkd-e2e-{}-{}",
        std::process::id(),
        a_daemon.port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = format!(
        r#"
gateway_radios = []

[site]
id = 1
name = "test site"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "{a_path}"
issi = "02060000109000001"
group = "02060000102061001"
udp = {{ listen = "{a_daemon}", peer = "{a_peer}", format = "pcma" }}

[[radios]]
name = "c2000"
network = "C2000"
serial = "{c_path}"
issi = "02040000109000101"
group = "02040000102040551"
udp = {{ listen = "{c_daemon}", peer = "{c_peer}", format = "pcma" }}

[playout]
fixed = "200ms"

[[patches]]
name = "border"
channels = [
    {{ site = 1, network = "ASTRID", group = "02060000102061001" }},
    {{ site = 1, network = "C2000", group = "02040000102040551" }},
]
"#,
        a_path = astrid.path,
        c_path = c2000.path,
        a_peer = a_audio.local_addr().expect("addr"),
        c_peer = c_audio.local_addr().expect("addr"),
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, config).expect("write config");
    let child = Command::new(binary("borderlinkd"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start borderlinkd");
    Daemon { child, _dir: dir }
}

fn frame(n: u8) -> [u8; 160] {
    let mut f = [0xaa; 160];
    f[0] = n;
    f
}

/// Brings up both radios and the daemon and starts a field call on ASTRID; returns everything.
fn call_in_progress() -> (
    PtyRadio,
    PtyRadio,
    UdpSocket,
    std::net::SocketAddr,
    UdpSocket,
    Daemon,
    u16,
) {
    let astrid = PtyRadio::start(tsi(206, 9_000_001), GRANT_DELAY);
    let c2000 = PtyRadio::start(tsi(204, 9_000_101), GRANT_DELAY);
    let (a_audio, a_daemon) = audio_pair();
    let (c_audio, c_daemon) = audio_pair();
    let daemon = start_daemon(&astrid, &c2000, &a_audio, a_daemon, &c_audio, c_daemon);
    // Initialised: the group selected and the first signal query sent, on both radios.
    for radio in [&astrid, &c2000] {
        assert!(
            radio.wait_for("AT+CSQ?", Duration::from_secs(20)),
            "radio not initialised: {:?}",
            radio.commands()
        );
    }
    let talker = tsi(206, 1_234_567);
    let cc = {
        let mut radio = astrid.emulator.lock().expect("lock");
        let cc = radio.network_incoming_group_call(talker, tsi(206, 2_061_001), 3);
        radio.network_talker(cc, talker);
        cc
    };
    (astrid, c2000, a_audio, a_daemon, c_audio, daemon, cc)
}

#[test]
fn a_call_on_astrid_is_transmitted_on_c2000_from_its_first_frame() {
    let (astrid, c2000, a_audio, a_daemon, c_audio, mut daemon, cc) = call_in_progress();
    // The talker's audio, at its own pace: 20 ms a frame.
    std::thread::sleep(Duration::from_millis(200));
    for n in 0..FRAMES {
        a_audio.send_to(&frame(n), a_daemon).expect("send audio");
        std::thread::sleep(Duration::from_millis(20));
    }
    astrid
        .emulator
        .lock()
        .expect("lock")
        .network_talker_stopped(cc);

    // Everything plays on C2000, in order, from the first frame, after the grant.
    let mut heard = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 400];
    while Instant::now() < end && heard.len() < usize::from(FRAMES) {
        if let Ok(n) = c_audio.recv(&mut buf)
            && n == 160
            && buf[1..160].iter().all(|&b| b == 0xaa)
        {
            heard.push(buf[0]);
        }
    }
    assert_eq!(
        heard,
        (0..FRAMES).collect::<Vec<u8>>(),
        "C2000 commands: {:?}",
        c2000.commands()
    );
    let commands = c2000.commands();
    assert!(
        commands
            .iter()
            .any(|c| c == "ATD02040000102040551" || c == "ATD2040551"),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.starts_with("AT+CTXD=")),
        "{commands:?}"
    );
    // Released after the transmission and its hang time.
    assert!(
        c2000.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "{:?}",
        c2000.commands()
    );
    // Nothing went back into ASTRID.
    assert!(
        !astrid.commands().iter().any(|c| c.starts_with("AT+CTXD")),
        "{:?}",
        astrid.commands()
    );
    assert!(
        daemon.child.try_wait().expect("status").is_none(),
        "daemon still running"
    );
}

#[test]
fn sigterm_mid_transmission_ceases_transmit_and_exits_within_two_seconds() {
    let (_astrid, c2000, a_audio, a_daemon, _c_audio, mut daemon, _cc) = call_in_progress();
    std::thread::sleep(Duration::from_millis(200));
    for n in 0..30 {
        a_audio.send_to(&frame(n), a_daemon).expect("send audio");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        c2000.wait_for("AT+CTXD=", Duration::from_secs(5)),
        "{:?}",
        c2000.commands()
    );
    std::thread::sleep(GRANT_DELAY + Duration::from_millis(100));
    assert!(
        c2000.emulator.lock().expect("lock").is_transmitting(),
        "C2000 keyed before the signal"
    );

    let signalled = Instant::now();
    sigterm(&daemon.child);
    let exit = loop {
        if let Some(exit) = daemon.child.try_wait().expect("status") {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(3),
            "still running 3 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        signalled.elapsed() <= Duration::from_millis(2_500),
        "took {:?}",
        signalled.elapsed()
    );
    assert!(exit.success(), "{exit:?}");
    assert!(
        c2000.wait_for("AT+CUTXC=", Duration::from_secs(1)),
        "no cease: {:?}",
        c2000.commands()
    );
    assert!(!c2000.emulator.lock().expect("lock").is_transmitting());
}
