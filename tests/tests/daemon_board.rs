//! The real `borderlinkd` with two emulated radios on pseudo-terminals and the interface
//! board's real firmware logic (`borderlink_firmware::responder`) on a third, its PTT lines
//! observable as pins: PTT follows the TETRA grant, SIGTERM releases it by command, and after
//! `kill -9` the board's own watchdog drops it.
//!
//! Which of the two released PTT is told apart without timing: when the host falls silent the
//! board reports `Fault::HostSilence` with the mask of the ports its watchdog had to drop.

use std::time::Duration as StdDuration;

use borderlink_firmware::polarity::Polarity;
use borderlink_protocol::link::PORTS;
use borderlink_sim::board::BoardConfig;
use borderlink_sim::board::pty::PtyBoard;
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::audio::Audio;
use borderlink_tests::border::{ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_RADIO};
use borderlink_tests::config::{self, Patch, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::radio::{field_call_seen, wait_initialised};
use borderlink_tests::temp::TempDir;

const GRANT_DELAY: StdDuration = StdDuration::from_millis(300);
/// The C2000 radio's board port.
const C2000_PORT: usize = 1;

/// The emulated interface board; its PTT lines are active-low (keyed = low).
type Board = PtyBoard;

struct Site {
    daemon: Daemon,
    board: Board,
    astrid: PtyRadio,
    c2000: PtyRadio,
    a_audio: Audio,
    _c_audio: Audio,
    _dir: TempDir,
}

/// Starts the site and a field call on ASTRID that keys the C2000 radio; returns once the
/// board's C2000 PTT line is keyed.
fn transmitting_site() -> Site {
    let astrid = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
    let c2000 = PtyRadio::start(C2000_RADIO, GRANT_DELAY);
    let (a_audio, c_audio) = (Audio::new(), Audio::new());
    let dir = TempDir::new("board");
    let board = Board::start(
        &dir.join("board"),
        BoardConfig {
            ptt: [Polarity::ActiveLow; PORTS],
            ..BoardConfig::default()
        },
    );
    // Each radio's supply runs through its board port's power relay.
    board.wire_power(0, std::sync::Arc::clone(&astrid.emulator));
    board.wire_power(C2000_PORT, std::sync::Arc::clone(&c2000.emulator));
    let config = SiteConfig::new(1, "board test")
        .border_radios((&astrid.path, &a_audio), (&c2000.path, &c_audio))
        .board(
            config::Board::new(&board.path)
                .port(0, "astrid", "active-low")
                .port(C2000_PORT, "c2000", "active-low"),
        )
        .playout_fixed("200ms")
        .patch(Patch::border(1, 1))
        .write(&dir.join("site.toml"));
    let daemon = Daemon::start(&config);
    let site = Site {
        daemon,
        board,
        astrid,
        a_audio,
        _c_audio: c_audio,
        c2000,
        _dir: dir,
    };
    wait_initialised(&[&site.astrid, &site.c2000]);
    assert!(!site.board.keyed(C2000_PORT), "nothing keyed before a call");
    field_call_seen(
        &site.daemon,
        &site.astrid,
        "astrid",
        ASTRID_TALKER,
        ASTRID_GROUP,
    );
    site.a_audio.talk(0..25);
    site.board.wait(
        "PTT keyed after the grant",
        StdDuration::from_secs(5),
        |b| b.keyed(C2000_PORT),
    );
    // Keep the talker talking so the transmission is live when the test acts.
    site.a_audio.talk(25..40);
    assert!(
        !site.board.keyed(0),
        "the ASTRID radio is never keyed: no echo"
    );
    site
}

#[test]
fn sigterm_releases_ptt_by_command_before_the_watchdog() {
    let mut site = transmitting_site();
    let exit = site.daemon.stop();
    assert!(exit.success(), "{exit:?}");
    site.board
        .wait("PTT released", StdDuration::from_secs(2), |b| {
            !b.keyed(C2000_PORT)
        });
    // The host is gone now, so the watchdog trips; but PTT was already released by command,
    // so it has nothing left to drop.
    site.board.wait(
        "the board's host-silence report",
        StdDuration::from_secs(3),
        |b| !b.silence_masks().is_empty(),
    );
    assert_eq!(
        site.board.silence_masks(),
        [0],
        "the watchdog had to drop PTT"
    );
    // The radio's cease was confirmed before the daemon left, so the board's PEI guard was
    // disarmed: a clean stop does not cost the radio its power.
    assert!(
        site.board.power_changes().is_empty(),
        "{:?}",
        site.board.power_changes()
    );
}

/// The board's host-silence watchdog (`firmware/src/watchdog.rs`).
const WATCHDOG: StdDuration = StdDuration::from_millis(500);

/// How much later than `WATCHDOG` the drop may be recorded; see `assert_dropped_within_the_watchdog`.
const SLACK: StdDuration = StdDuration::from_millis(20);

/// When the board dropped the port's PTT, by its own clock, after `silent_from` (a board-clock
/// time taken just before the host was cut off). The emulated firmware records a change its
/// timer makes at the timer's deadline, so this measures the watchdog, not the machine; the
/// wall-clock waits around it only tell a hang apart. `SLACK` covers a frame the host wrote
/// just before the cut that the board's pty loop reads a few milliseconds after it (4.5 ms seen).
fn assert_dropped_within_the_watchdog(
    board: &PtyBoard,
    silent_from: borderlink_protocol::time::Instant,
) {
    let dropped = board
        .ptt_changes()
        .into_iter()
        .rev()
        .find(|c| c.port == C2000_PORT && !c.keyed)
        .expect("a recorded PTT drop");
    let after = dropped.at.saturating_since(silent_from);
    assert!(
        after
            <= borderlink_protocol::time::Duration::from_micros(
                (WATCHDOG + SLACK).as_micros() as u64
            ),
        "PTT dropped {after:?} after the host fell silent; the watchdog is {WATCHDOG:?}"
    );
}

#[test]
fn kill_dash_nine_leaves_the_board_to_drop_ptt_by_itself() {
    let mut site = transmitting_site();
    let silent_from = site.board.now();
    site.daemon.kill();
    site.board.wait(
        "PTT dropped by the watchdog",
        StdDuration::from_secs(2),
        |b| !b.keyed(C2000_PORT),
    );
    assert_dropped_within_the_watchdog(&site.board, silent_from);
    site.board.wait(
        "the board's host-silence report",
        StdDuration::from_secs(2),
        |b| !b.silence_masks().is_empty(),
    );
    assert_eq!(
        site.board.silence_masks(),
        [1 << C2000_PORT],
        "the watchdog dropped the C2000 port"
    );
}

#[test]
fn kill_dash_nine_switches_off_a_radio_keyed_over_pei_so_its_transmission_ends_within_1_s() {
    let mut site = transmitting_site();
    assert!(
        site.c2000.emulator.lock().expect("lock").is_transmitting(),
        "keyed over PEI (AT+CTXD)"
    );
    site.daemon.kill();
    // The PTT line drops within 500 ms, but that does not unkey a radio keyed over PEI: the
    // board has to switch it off.
    let radio = std::sync::Arc::clone(&site.c2000.emulator);
    site.board.wait(
        "the PEI-keyed radio off the air",
        StdDuration::from_secs(1),
        move |_| !radio.lock().expect("lock").is_transmitting(),
    );
    assert!(!site.board.powered(C2000_PORT), "switched off by the board");
    assert!(
        site.board.powered(0),
        "the idle ASTRID radio keeps its power"
    );
    // And on again after the board's minimum off time (500 ms).
    site.board.wait(
        "the radio switched on again",
        StdDuration::from_secs(2),
        |b| b.powered(C2000_PORT),
    );
}

#[test]
fn an_unplugged_board_drops_ptt_by_itself_and_keys_again_once_plugged_back() {
    let site = transmitting_site();
    let silent_from = site.board.now();
    site.board.unplug();
    site.board
        .wait("PTT dropped by the board", StdDuration::from_secs(2), |b| {
            !b.keyed(C2000_PORT)
        });
    assert_dropped_within_the_watchdog(&site.board, silent_from);
    site.board.wait(
        "the board's host-silence report",
        StdDuration::from_secs(2),
        |b| !b.silence_masks().is_empty(),
    );
    assert_eq!(
        site.board.silence_masks()[0],
        1 << C2000_PORT,
        "its watchdog dropped the port"
    );
    site.board.plug_in();
    // The talker carries on: once the daemon has the board back (handshake, restated state),
    // PTT follows the radio's grant again.
    let end = std::time::Instant::now() + StdDuration::from_secs(8);
    let mut n = 40u8;
    while !site.board.keyed(C2000_PORT) {
        assert!(
            std::time::Instant::now() < end,
            "PTT never keyed again after the board came back"
        );
        site.a_audio.send(n);
        n = n.wrapping_add(1);
        std::thread::sleep(StdDuration::from_millis(20));
    }
    assert!(
        !site.board.keyed(0),
        "the ASTRID radio is never keyed: no echo"
    );
}
