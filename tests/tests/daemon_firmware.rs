//! Board firmware updates and board-only radios through the real `borderlinkd`: an engineer
//! signs an image with `borderlink firmware sign` and sends it with `borderlink firmware
//! flash`; the daemon drives the emulated board (the firmware's own update logic on a RAM
//! flash) through erase, transfer, verification, commit and reset, and the CLI returns once the
//! board runs the new image and has confirmed it. An image signed with another key is refused
//! and the board runs on. A file with an image per slot has the one for the slot the board is
//! not running sent; a file holding only the running slot's image is refused before anything
//! reaches the board. A radio without PEI is keyed by the board's PTT line and heard while
//! its COR line is active.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use borderlink_firmware::polarity::Polarity;
use borderlink_protocol::ids::Tsi;
use borderlink_protocol::link::{FirmwareVersion, PORTS, Slot};
use borderlink_sim::board::BoardConfig;
use borderlink_sim::board::pty::PtyBoard;
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::{binary, sigterm};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The board port of the radio without PEI.
const C2000_PORT: usize = 1;

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
}

struct Site {
    dir: PathBuf,
    api: String,
    board: PtyBoard,
    astrid: PtyRadio,
    a_audio: UdpSocket,
    a_daemon: SocketAddr,
    c_audio: UdpSocket,
    c_daemon: SocketAddr,
    daemon: Child,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A site with an ASTRID radio on PEI and a C2000 radio the board alone drives (no `serial`).
fn site(name: &str) -> Site {
    site_with(name, "active-low")
}

/// [`site`] with the C2000 port's PTT polarity as the config states it (the board's is
/// active-low).
fn site_with(name: &str, ptt: &str) -> Site {
    let dir = std::env::temp_dir().join(format!("borderlink-fw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("engineer engineer BE {TOKEN}\n")).expect("tokens");
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let board = PtyBoard::start(
        &dir.join("board"),
        BoardConfig {
            ptt: [Polarity::ActiveLow; PORTS],
            ..BoardConfig::default()
        },
    );
    let astrid = PtyRadio::start(
        Tsi::from_parts(206, 1, 9_000_001).expect("TSI"),
        Duration::from_millis(150),
    );
    let a_audio = UdpSocket::bind("127.0.0.1:0").expect("bind");
    a_audio
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let c_audio = UdpSocket::bind("127.0.0.1:0").expect("bind");
    c_audio
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let (a_daemon, c_daemon) = (free_udp(), free_udp());
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = format!(
        r#"
[site]
id = 1
name = "firmware test"

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
issi = "02040000109000101"
group = "02040000102040551"
udp = {{ listen = "{c_daemon}", peer = "{c_peer}", format = "pcma" }}

[board]
serial = "{b_path}"

[[board.ports]]
port = {C2000_PORT}
radio = "c2000"
ptt = "{ptt}"

[playout]
fixed = "100ms"

[[patches]]
name = "border"
channels = [
    {{ site = 1, network = "ASTRID", group = "02060000102061001" }},
    {{ site = 1, network = "C2000", group = "02040000102040551" }},
]

[api]
listen = "127.0.0.1:{port}"
token_file = "{tokens}"
audit_log = "{audit}"
"#,
        a_path = astrid.path,
        b_path = board.path,
        a_peer = a_audio.local_addr().expect("addr"),
        c_peer = c_audio.local_addr().expect("addr"),
        tokens = tokens.display(),
        audit = dir.join("audit.log").display(),
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, config).expect("config");
    let daemon = Command::new(binary("borderlinkd"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start borderlinkd");
    let site = Site {
        dir,
        api: format!("http://127.0.0.1:{port}"),
        board,
        astrid,
        a_audio,
        a_daemon,
        c_audio,
        c_daemon,
        daemon,
    };
    // Up: the board's firmware is known to the daemon.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let out = site.cli(&["status", "--json"]);
        if out.status.success() {
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            if status["board"]["up"] == true && site.astrid.initialised() {
                break;
            }
        }
        assert!(Instant::now() < end, "site not up");
        std::thread::sleep(Duration::from_millis(50));
    }
    site
}

impl Site {
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(binary("borderlink"))
            .args(args)
            .env("BORDERLINK_API", &self.api)
            .env("BORDERLINK_TOKEN_FILE", self.dir.join("tokens"))
            .output()
            .expect("run borderlink")
    }

    /// `GET /api/v1/board/firmware`.
    fn firmware_view(&self) -> serde_json::Value {
        ureq::get(format!("{}/api/v1/board/firmware", self.api))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .expect("GET firmware")
            .body_mut()
            .read_json()
            .expect("JSON")
    }

    /// A raw image whose first three bytes are its version (the emulated board reads its
    /// version there), signed with `key` (security version 1).
    fn signed_image(&self, version: FirmwareVersion, key: &Path) -> PathBuf {
        self.signed_secure(version, 1, key)
    }

    /// [`signed_image`](Self::signed_image) with this security version.
    fn signed_secure(&self, version: FirmwareVersion, security: u32, key: &Path) -> PathBuf {
        let raw = self.dir.join(format!("image-{version}.bin"));
        std::fs::write(&raw, raw_image(version, 7)).expect("image");
        let out = self.cli(&[
            "firmware",
            "sign",
            "--key",
            key.to_str().expect("utf-8"),
            "--version",
            &version.to_string(),
            "--security-version",
            &security.to_string(),
            raw.to_str().expect("utf-8"),
        ]);
        assert!(out.status.success(), "{out:?}");
        let mut signed = raw.into_os_string();
        signed.push(".blfw");
        PathBuf::from(signed)
    }
}

/// A raw image of `version` (its first three bytes, where the emulated board reads it) whose
/// other bytes depend on `pattern`, so two builds of one version differ.
fn raw_image(version: FirmwareVersion, pattern: u32) -> Vec<u8> {
    let mut image = vec![version.major, version.minor, version.patch];
    image.extend((0..12_000u32).map(|i| (i * pattern + 3) as u8));
    image
}

/// The development signing key, whose public half the firmware is built with by default.
fn dev_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/keys/dev-signing-key.pem")
}

#[test]
fn a_signed_image_is_flashed_through_the_daemon_and_the_board_comes_back_confirmed() {
    let site = site("flash");
    assert_eq!(site.board.firmware_version(), FirmwareVersion::new(1, 0, 0));
    let image = site.signed_image(FirmwareVersion::new(1, 1, 0), &dev_key());
    let out = site.cli(&["firmware", "flash", image.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("now running 1.1.0 (slot B)"), "{stdout}");
    assert!(
        stderr.contains("updating the board to 1.1.0 with the image for any slot (12003 bytes")
            && stderr.contains("now running 1.0.0 (slot A)"),
        "progress shown: {stderr}"
    );
    assert_eq!(site.board.firmware_version(), FirmwareVersion::new(1, 1, 0));
    assert_eq!(site.board.boots(), 2, "one reset into the new image");

    // Another key's image: refused at verification, the board runs on what it ran.
    let other = site.dir.join("other.pem");
    let out = site.cli(&[
        "firmware",
        "keygen",
        "--out",
        other.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{out:?}");
    let image = site.signed_image(FirmwareVersion::new(6, 6, 6), &other);
    let out = site.cli(&["firmware", "flash", image.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("update failed"), "{stderr}");
    assert_eq!(site.board.firmware_version(), FirmwareVersion::new(1, 1, 0));
    assert_eq!(site.board.boots(), 2, "no reset");

    // Without a token nothing is sent.
    let out = Command::new(binary("borderlink"))
        .args(["firmware", "flash", image.to_str().expect("utf-8")])
        .env("BORDERLINK_API", &site.api)
        .env_remove("BORDERLINK_TOKEN_FILE")
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn an_older_signed_release_is_refused_as_a_rollback_unless_an_audited_override_asks() {
    let site = site("rollback");
    let fixed = site.signed_secure(FirmwareVersion::new(1, 2, 0), 4, &dev_key());
    let out = site.cli(&["firmware", "flash", fixed.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    // The old, vulnerable release, genuinely signed with the release key.
    let old = site.signed_secure(FirmwareVersion::new(1, 1, 0), 3, &dev_key());
    let old = old.to_str().expect("utf-8");
    // The daemon knows the board's floor is at least 4 (it saw 1.2.0 confirmed), so it refuses
    // at once, 409, before anything is sent; the board refuses it too (`board_update.rs`).
    let out = site.cli(&["firmware", "flash", old]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("refused as a rollback, nothing sent")
            && stderr.contains("security version 3 is below the board's floor 4")
            && stderr.contains("--allow-rollback"),
        "{stderr}"
    );
    let refused = ureq::post(format!("{}/api/v1/board/firmware", site.api))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send(&std::fs::read(old).expect("file")[..]);
    match refused {
        Err(ureq::Error::StatusCode(409)) => {}
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(site.board.firmware_version(), FirmwareVersion::new(1, 2, 0));
    assert_eq!(site.board.boots(), 2, "never reset by the refused updates");

    // The engineer's override, explicitly asked for, audited with the token holder's name.
    let out = site.cli(&["firmware", "flash", "--allow-rollback", old]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(site.board.firmware_version(), FirmwareVersion::new(1, 1, 0));
    let audit = std::fs::read_to_string(site.dir.join("audit.log")).expect("audit log");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let overrides: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["action"] == "firmware.update.allow_rollback")
        .collect();
    assert_eq!(overrides.len(), 1, "{audit}");
    assert_eq!(overrides[0]["who"], "engineer");
    assert_eq!(overrides[0]["result"], "ok");
    assert_eq!(overrides[0]["request"]["allow_rollback"], true);
    assert_eq!(overrides[0]["request"]["security_version"], 3);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["action"] == "firmware.update")
            .count(),
        3,
        "{audit}"
    );
}

#[test]
fn the_image_for_the_slot_not_running_is_sent_and_a_file_without_one_is_refused_unsent() {
    let site = site("slots");
    let v110 = FirmwareVersion::new(1, 1, 0);
    // Two builds of 1.1.0, told apart by their bytes (the emulated board runs either).
    let (build_a, build_b) = (raw_image(v110, 5), raw_image(v110, 11));
    std::fs::write(site.dir.join("a.bin"), &build_a).expect("image");
    std::fs::write(site.dir.join("b.bin"), &build_b).expect("image");
    let key = dev_key();
    let dir = site.dir.to_str().expect("utf-8");
    let both = format!("{dir}/both.blfw");
    let out = site.cli(&[
        "firmware",
        "sign",
        "--key",
        key.to_str().expect("utf-8"),
        "--version",
        "1.1.0",
        "--security-version",
        "1",
        "--slot-a",
        &format!("{dir}/a.bin"),
        "--slot-b",
        &format!("{dir}/b.bin"),
        "-o",
        &both,
    ]);
    assert!(out.status.success(), "{out:?}");
    let factory_a = site.board.slot_bytes(Slot::A, build_a.len());

    // The board runs slot A: the slot-B build goes to slot B.
    let out = site.cli(&["firmware", "flash", &both]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("now running 1.1.0 (slot B)"), "{stdout}");
    assert!(
        stderr.contains("updating the board to 1.1.0 with the image for slot B (12003 bytes"),
        "{stderr}"
    );
    assert_eq!(site.board.slot_bytes(Slot::B, build_b.len()), build_b);
    assert_eq!(site.board.slot_bytes(Slot::A, build_a.len()), factory_a);
    assert_eq!(site.board.boots(), 2);
    let out = site.cli(&["firmware", "flash", "--json", &both]);
    // (A second flash of the same file now sends the slot-A build; see below for the refusal.)
    assert!(out.status.success(), "{out:?}");
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(view["variant"], "A", "{view}");
    assert_eq!(view["running"], "1.1.0 (slot A)", "{view}");
    assert_eq!(site.board.slot_bytes(Slot::A, build_a.len()), build_a);
    assert_eq!(site.board.boots(), 3);

    // The board runs slot A again; a file holding only slot A's build cannot go anywhere.
    let only_a = format!("{dir}/only-a.blfw");
    std::fs::write(
        site.dir.join("a2.bin"),
        raw_image(FirmwareVersion::new(1, 2, 0), 13),
    )
    .expect("image");
    let out = site.cli(&[
        "firmware",
        "sign",
        "--key",
        key.to_str().expect("utf-8"),
        "--version",
        "1.2.0",
        "--security-version",
        "1",
        "--slot-a",
        &format!("{dir}/a2.bin"),
        "-o",
        &only_a,
    ]);
    assert!(out.status.success(), "{out:?}");
    let slot_b_before = site.board.slot_bytes(Slot::B, build_b.len());
    let out = site.cli(&["firmware", "flash", &only_a]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("409")
            && stderr.contains(
                "the board runs slot A and this file holds only an image linked for slot A: \
                 flash a file with a slot-B image"
            ),
        "{stderr}"
    );
    // Nothing reached the board: no erase of slot B (its first step), no reset, and the
    // daemon still reports the last update.
    assert_eq!(site.board.slot_bytes(Slot::B, build_b.len()), slot_b_before);
    assert_eq!(site.board.boots(), 3);
    assert_eq!(site.board.firmware_version(), v110);
    let view = site.firmware_view();
    assert_eq!(view["state"], "done", "{view}");
    assert_eq!(view["target"], "1.1.0", "{view}");
    assert_eq!(view["variant"], "A", "{view}");
}

/// Frames whose first byte counts, heard on `socket`.
fn heard(socket: &UdpSocket, count: usize, timeout: Duration) -> Vec<u8> {
    let mut heard = Vec::new();
    let end = Instant::now() + timeout;
    let mut buf = [0u8; 400];
    while Instant::now() < end && heard.len() < count {
        if let Ok(n) = socket.recv(&mut buf)
            && n == 160
            && buf[1..160].iter().all(|&b| b == 0xaa)
        {
            heard.push(buf[0]);
        }
    }
    heard
}

#[test]
fn a_radio_without_pei_is_keyed_by_its_ptt_line_and_heard_while_its_cor_is_active() {
    let mut site = site("cor");
    // A call on ASTRID: the board-only C2000 radio is keyed by its PTT line and plays it all.
    let talker = Tsi::from_parts(206, 1, 1_234_567).expect("TSI");
    let cc = {
        let mut radio = site.astrid.emulator.lock().expect("lock");
        let cc = radio.network_incoming_group_call(
            talker,
            Tsi::from_parts(206, 1, 2_061_001).expect("TSI"),
            3,
        );
        radio.network_talker(cc, talker);
        cc
    };
    std::thread::sleep(Duration::from_millis(100));
    for n in 0..30u8 {
        let mut frame = [0xaa; 160];
        frame[0] = n;
        site.a_audio.send_to(&frame, site.a_daemon).expect("audio");
        std::thread::sleep(Duration::from_millis(20));
    }
    site.board
        .wait("PTT keyed", Duration::from_secs(5), |b| b.keyed(C2000_PORT));
    site.astrid
        .emulator
        .lock()
        .expect("lock")
        .network_talker_stopped(cc);
    let played = heard(&site.c_audio, 30, Duration::from_secs(5));
    assert_eq!(played, (0..30).collect::<Vec<u8>>());
    site.board.wait(
        "PTT released after hang time",
        Duration::from_secs(10),
        |b| !b.keyed(C2000_PORT),
    );

    // Audio from the C2000 radio is relayed only while its COR line is active.
    for n in 100..110u8 {
        let mut frame = [0xaa; 160];
        frame[0] = n;
        site.c_audio.send_to(&frame, site.c_daemon).expect("audio");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !site
            .astrid
            .commands()
            .iter()
            .any(|c| c.starts_with("AT+CTXD")),
        "audio without COR keyed ASTRID: {:?}",
        site.astrid.commands()
    );
    site.board.set_cor(C2000_PORT, true);
    std::thread::sleep(Duration::from_millis(100));
    for n in 0..20u8 {
        let mut frame = [0xaa; 160];
        frame[0] = n;
        site.c_audio.send_to(&frame, site.c_daemon).expect("audio");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        site.astrid.wait_for("AT+CTXD=", Duration::from_secs(5)),
        "COR active: the call goes out on ASTRID: {:?}",
        site.astrid.commands()
    );
    let played = heard(&site.a_audio, 20, Duration::from_secs(5));
    assert_eq!(played, (0..20).collect::<Vec<u8>>());
    site.board.set_cor(C2000_PORT, false);
    assert!(
        site.astrid.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "COR released: ASTRID ceases: {:?}",
        site.astrid.commands()
    );
    sigterm(&site.daemon);
    let status = site.daemon.wait().expect("exit");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_port_whose_polarity_differs_from_the_board_is_never_keyed_and_dispatch_is_told() {
    let site = site_with("polarity", "active-high");
    let out = site.cli(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        status["board"]["ports"][0]["polarity_mismatch"], true,
        "{status}"
    );
    let table = String::from_utf8_lossy(&site.cli(&["status"]).stdout).into_owned();
    assert!(table.contains("MISMATCH: not keyed"), "{table}");
    // A call that would key the board-only radio: the engine is refused, the line stays put.
    let talker = Tsi::from_parts(206, 1, 1_234_567).expect("TSI");
    {
        let mut radio = site.astrid.emulator.lock().expect("lock");
        let cc = radio.network_incoming_group_call(
            talker,
            Tsi::from_parts(206, 1, 2_061_001).expect("TSI"),
            3,
        );
        radio.network_talker(cc, talker);
    }
    for n in 0..50u8 {
        let mut frame = [0xaa; 160];
        frame[0] = n;
        site.a_audio.send_to(&frame, site.a_daemon).expect("audio");
        std::thread::sleep(Duration::from_millis(20));
        assert!(!site.board.keyed(C2000_PORT), "keyed despite the mismatch");
    }
    let changes = site.board.ptt_changes();
    assert!(changes.is_empty(), "{changes:?}");
}
