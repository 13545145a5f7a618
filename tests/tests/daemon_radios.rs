//! The real `borderlinkd` against two emulated TETRA radios on pseudo-terminals (the PEI
//! ports) with their audio on loopback UDP: a call heard on ASTRID is transmitted on C2000
//! from its first frame once the grant arrives, and SIGTERM mid-transmission ceases transmit.

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use borderlink_protocol::ids::Tsi;
use borderlink_sim::radio::{RadioAction, RadioEmulator};
use borderlink_tests::binary;
use serialport::{SerialPort, TTYPort};

const FRAMES: u8 = 40;
const GRANT_DELAY: Duration = Duration::from_millis(300);

fn tsi(mcc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, 1, ssi).expect("valid TSI")
}

/// A radio on a pseudo-terminal, answering the daemon like a radio on a trunked network that
/// connects group calls at once and grants transmit after `GRANT_DELAY`.
struct Radio {
    emulator: Arc<Mutex<RadioEmulator>>,
    path: String,
    _pump: std::thread::JoinHandle<()>,
}

impl Radio {
    fn start(identity: Tsi) -> Radio {
        let (mut master, slave) = TTYPort::pair().expect("pseudo-terminal pair");
        let path = slave.name().expect("slave name");
        drop(slave);
        master
            .set_timeout(Duration::from_millis(5))
            .expect("timeout");
        let emulator = Arc::new(Mutex::new(RadioEmulator::new(identity)));
        let shared = Arc::clone(&emulator);
        let pump = std::thread::spawn(move || {
            let mut grants: Vec<(Instant, u16)> = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
                    Err(_) => 0,
                };
                let mut radio = shared.lock().expect("emulator lock");
                radio.handle_bytes(&buf[..n]);
                while let Some(action) = radio.poll_action() {
                    match action {
                        RadioAction::SetupGroupCall { cc, .. } => radio.network_call_connected(cc),
                        RadioAction::DemandTransmit { cc } => {
                            grants.push((Instant::now() + GRANT_DELAY, cc))
                        }
                        _ => {}
                    }
                }
                let now = Instant::now();
                grants.retain(|(at, cc)| {
                    if *at <= now {
                        radio.network_grant(*cc);
                        false
                    } else {
                        true
                    }
                });
                if let Some(out) = radio.poll_transmit() {
                    // The daemon may be gone at the end of a test: a failed write ends the pump.
                    if master.write_all(&out).is_err() {
                        return;
                    }
                }
            }
        });
        Radio {
            emulator,
            path,
            _pump: pump,
        }
    }

    fn commands(&self) -> Vec<String> {
        self.emulator
            .lock()
            .expect("emulator lock")
            .commands()
            .to_vec()
    }

    fn wait_for(&self, what: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.commands().iter().any(|c| c.starts_with(what)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
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
    astrid: &Radio,
    c2000: &Radio,
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
    Radio,
    Radio,
    UdpSocket,
    std::net::SocketAddr,
    UdpSocket,
    Daemon,
    u16,
) {
    let astrid = Radio::start(tsi(206, 9_000_001));
    let c2000 = Radio::start(tsi(204, 9_000_101));
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
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(daemon.child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
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
