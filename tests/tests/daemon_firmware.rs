//! Board firmware updates and board-only radios through the real `borderlinkd`: an engineer
//! signs an image with `borderlink firmware sign` and sends it with `borderlink firmware
//! flash`; the daemon drives the emulated board (the firmware's own update logic on a RAM
//! flash) through erase, transfer, verification, commit and reset, and the CLI returns once the
//! board runs the new image and has confirmed it. An image signed with another key is refused
//! and the board runs on. A file with an image per slot has the one for the slot the board is
//! not running sent; a file holding only the running slot's image is refused before anything
//! reaches the board. A radio without PEI is keyed by the board's PTT line and heard while
//! its COR line is active.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use borderlink_firmware::polarity::Polarity;
use borderlink_protocol::link::{FirmwareVersion, PORTS, Slot};
use borderlink_sim::board::BoardConfig;
use borderlink_sim::board::pty::PtyBoard;
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::api::ApiClient;
use borderlink_tests::audio::Audio;
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO,
};
use borderlink_tests::cli::cli;
use borderlink_tests::config::{self, Api, Patch, Radio, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::free_tcp;
use borderlink_tests::radio::{field_call, field_call_ends, field_call_seen};
use borderlink_tests::secrets::{Token, token_file};
use borderlink_tests::temp::TempDir;
use borderlink_tests::wait_until;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The board port of the radio without PEI.
const C2000_PORT: usize = 1;

struct Site {
    daemon: Daemon,
    api: ApiClient,
    tokens: PathBuf,
    board: PtyBoard,
    astrid: PtyRadio,
    a_audio: Audio,
    c_audio: Audio,
    dir: TempDir,
}

/// A site with an ASTRID radio on PEI and a C2000 radio the board alone drives (no `serial`).
fn site(name: &str) -> Site {
    site_with(name, "active-low")
}

/// [`site`] with the C2000 port's PTT polarity as the config states it (the board's is
/// active-low).
fn site_with(name: &str, ptt: &str) -> Site {
    let dir = TempDir::new(&format!("fw-{name}"));
    let tokens = token_file(
        dir.path(),
        &[Token {
            name: "engineer",
            role: "engineer",
            country: "BE",
            secret: TOKEN,
        }],
    );
    let board = PtyBoard::start(
        &dir.join("board"),
        BoardConfig {
            ptt: [Polarity::ActiveLow; PORTS],
            ..BoardConfig::default()
        },
    );
    let astrid = PtyRadio::start(ASTRID_RADIO, Duration::from_millis(150));
    let (a_audio, c_audio) = (Audio::new(), Audio::new());
    let listen = free_tcp();
    let config = SiteConfig::new(1, "firmware test")
        .radio(
            Radio::new("astrid", ASTRID_RADIO, ASTRID_GROUP)
                .serial(&astrid.path)
                .audio(&a_audio),
        )
        .radio(Radio::new("c2000", C2000_RADIO, C2000_GROUP).audio(&c_audio))
        .board(config::Board::new(&board.path).port(C2000_PORT, "c2000", ptt))
        .playout_fixed("100ms")
        .patch(Patch::border(1, 1))
        .api(Api::new(listen, &tokens).audit_log(&dir.join("audit.log")))
        .write(&dir.join("site.toml"));
    let site = Site {
        daemon: Daemon::start(&config),
        api: ApiClient::new(listen),
        tokens,
        board,
        astrid,
        a_audio,
        c_audio,
        dir,
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
        cli(args, self.api.base(), Some(&self.tokens))
    }

    /// `GET /api/v1/board/firmware`.
    fn firmware_view(&self) -> serde_json::Value {
        self.api.get_json("/api/v1/board/firmware", TOKEN)
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
    let out = cli(
        &["firmware", "flash", image.to_str().expect("utf-8")],
        site.api.base(),
        None,
    );
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
    let refused = ureq::post(format!("{}/api/v1/board/firmware", site.api.base()))
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
    let dir = site.dir.path().to_str().expect("utf-8");
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

#[test]
fn a_radio_without_pei_is_keyed_by_its_ptt_line_and_heard_while_its_cor_is_active() {
    let mut site = site("cor");
    // A call on ASTRID: the board-only C2000 radio is keyed by its PTT line and plays it all.
    let cc = field_call_seen(
        &site.daemon,
        &site.astrid,
        "astrid",
        ASTRID_TALKER,
        ASTRID_GROUP,
    );
    site.a_audio.talk(0..30);
    site.board
        .wait("PTT keyed", Duration::from_secs(5), |b| b.keyed(C2000_PORT));
    field_call_ends(&site.astrid, cc);
    let played = site.c_audio.heard(30, Duration::from_secs(5));
    assert_eq!(played, (0..30).collect::<Vec<u8>>());
    site.board.wait(
        "PTT released after hang time",
        Duration::from_secs(10),
        |b| !b.keyed(C2000_PORT),
    );

    // Audio from the C2000 radio is relayed only while its COR line is active: frames 100–109
    // come without COR, and the daemon counts each as `no_call` (had it relayed any, it would
    // be played on ASTRID before the frames sent under COR below).
    let overs = |radio: &PtyRadio| {
        radio
            .commands()
            .iter()
            .filter(|c| c.starts_with("AT+CTXD="))
            .count()
    };
    let overs_before = overs(&site.astrid);
    site.c_audio.talk(100..110);
    let no_call = || {
        let status = site.api.get_json("/api/v1/status", TOKEN);
        status["radios"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == "c2000"))
            .map_or(0, |r| r["frames_dropped"]["no_call"].as_u64().unwrap_or(0))
    };
    wait_until(
        || no_call() >= 10,
        "the ten frames without COR counted as no_call",
    );
    site.board.set_cor(C2000_PORT, true);
    assert!(
        site.daemon
            .wait_log(
                "COR active: receiving a call",
                |_| true,
                Duration::from_secs(5)
            )
            .is_some(),
        "the daemon never saw the COR line"
    );
    site.c_audio.talk(0..20);
    assert!(
        site.astrid.wait_for("AT+CTXD=", Duration::from_secs(5)),
        "COR active: the call goes out on ASTRID: {:?}",
        site.astrid.commands()
    );
    let played = site.a_audio.heard(20, Duration::from_secs(5));
    assert_eq!(
        played,
        (0..20).collect::<Vec<u8>>(),
        "only the audio under COR goes out"
    );
    assert_eq!(
        overs(&site.astrid),
        overs_before + 1,
        "one over on ASTRID, the one under COR: {:?}",
        site.astrid.commands()
    );
    site.board.set_cor(C2000_PORT, false);
    assert!(
        site.astrid.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "COR released: ASTRID ceases: {:?}",
        site.astrid.commands()
    );
    let status = site.daemon.stop();
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
    field_call(&site.astrid, ASTRID_TALKER, ASTRID_GROUP);
    for n in 0..50u8 {
        site.a_audio.send(n);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!site.board.keyed(C2000_PORT), "keyed despite the mismatch");
    }
    let changes = site.board.ptt_changes();
    assert!(changes.is_empty(), "{changes:?}");
}
