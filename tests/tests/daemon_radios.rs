//! The real `borderlinkd` against two emulated TETRA radios on pseudo-terminals (the PEI
//! ports) with their audio on loopback UDP: a call heard on either network is transmitted on
//! the other from its first frame once the grant arrives, a transmission pre-empted by the
//! network is demanded again and carries on, and SIGTERM mid-transmission ceases transmit.

use std::time::{Duration, Instant};

use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::audio::Audio;
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO, C2000_TALKER,
};
use borderlink_tests::config::{Patch, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::radio::{field_call_ends, field_call_seen, wait_initialised};
use borderlink_tests::sigterm;
use borderlink_tests::temp::TempDir;

const FRAMES: u8 = 40;
const GRANT_DELAY: Duration = Duration::from_millis(300);

/// Both radios, their audio and the daemon, initialised.
struct Site {
    astrid: PtyRadio,
    c2000: PtyRadio,
    a_audio: Audio,
    c_audio: Audio,
    daemon: Daemon,
    _dir: TempDir,
}

/// Which side a field unit talks on.
#[derive(Clone, Copy)]
enum Side {
    Astrid,
    C2000,
}

impl Site {
    fn start() -> Site {
        Site::start_with(PtyRadio::start(C2000_RADIO, GRANT_DELAY))
    }

    /// A site whose C2000 radio is the given one (e.g. one that can be unplugged).
    fn start_with(c2000: PtyRadio) -> Site {
        let astrid = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
        let (a_audio, c_audio) = (Audio::new(), Audio::new());
        let dir = TempDir::new("radios");
        let config = SiteConfig::new(1, "test site")
            .border_radios((&astrid.path, &a_audio), (&c2000.path, &c_audio))
            .playout_fixed("200ms")
            .patch(Patch::border(1, 1))
            .write(&dir.join("site.toml"));
        let daemon = Daemon::start(&config);
        // Initialised: the group selected and the first signal query sent, on both radios.
        wait_initialised(&[&astrid, &c2000]);
        Site {
            astrid,
            c2000,
            a_audio,
            c_audio,
            daemon,
            _dir: dir,
        }
    }

    /// The radio a field unit on `side` is heard by, and the one the call must go out on.
    fn radios(&self, side: Side) -> (&PtyRadio, &PtyRadio) {
        match side {
            Side::Astrid => (&self.astrid, &self.c2000),
            Side::C2000 => (&self.c2000, &self.astrid),
        }
    }

    /// A field unit on `side` keys up: the radio there reports the call and the talker, and
    /// the daemon has seen it once this returns.
    fn field_call(&self, side: Side) -> u16 {
        let (talker, group, name) = match side {
            Side::Astrid => (ASTRID_TALKER, ASTRID_GROUP, "astrid"),
            Side::C2000 => (C2000_TALKER, C2000_GROUP, "c2000"),
        };
        field_call_seen(&self.daemon, self.radios(side).0, name, talker, group)
    }

    /// The talker's audio, at its own pace: 20 ms a frame.
    fn talk(&self, side: Side, frames: std::ops::Range<u8>) {
        match side {
            Side::Astrid => self.a_audio.talk(frames),
            Side::C2000 => self.c_audio.talk(frames),
        }
    }

    /// Frames played into the radio on the other side of `side`, by their numbers.
    fn heard(&self, side: Side, count: usize, timeout: Duration) -> Vec<u8> {
        match side {
            Side::Astrid => self.c_audio.heard(count, timeout),
            Side::C2000 => self.a_audio.heard(count, timeout),
        }
    }
}

/// A call on `side` reaches the other network complete, in order, from its first frame after
/// the grant; the radio is released after the transmission; nothing echoes back.
fn relay_one_call(side: Side) {
    relay_one_call_on(&Site::start(), side);
}

fn relay_one_call_on(site: &Site, side: Side) {
    let (heard_by, sent_on) = site.radios(side);
    let cc = site.field_call(side);
    site.talk(side, 0..FRAMES);
    field_call_ends(heard_by, cc);
    let heard = site.heard(side, usize::from(FRAMES), Duration::from_secs(10));
    assert_eq!(
        heard,
        (0..FRAMES).collect::<Vec<u8>>(),
        "commands: {:?}",
        sent_on.commands()
    );
    let commands = sent_on.commands();
    assert!(
        commands.iter().any(|c| c.starts_with("ATD")),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.starts_with("AT+CTXD=")),
        "{commands:?}"
    );
    assert!(
        sent_on.wait_for("AT+CUTXC=", Duration::from_secs(10)),
        "{:?}",
        sent_on.commands()
    );
    assert!(
        !heard_by.commands().iter().any(|c| c.starts_with("AT+CTXD")),
        "echo: {:?}",
        heard_by.commands()
    );
}

#[test]
fn an_unplugged_radio_is_initialised_again_when_plugged_back_and_relays_the_next_over_whole() {
    let dir = TempDir::new("unplug");
    let c2000 = PtyRadio::start_linked(C2000_RADIO, GRANT_DELAY, dir.join("radio-c2000"));
    let mut site = Site::start_with(c2000);
    assert_eq!(site.c2000.count("AT+CNUMF?"), 1);
    let c2000_down = |v: &serde_json::Value| v["span"]["radio"] == "c2000";
    let downs = site.daemon.count_log("radio down", c2000_down);
    site.c2000.unplug();
    // The cable stays out until the daemon has noticed and marked the radio down; it keeps
    // trying to open the port.
    assert!(
        site.daemon
            .wait_log_count("radio down", c2000_down, downs + 1, Duration::from_secs(10)),
        "the daemon never marked the unplugged radio down"
    );
    assert!(site.daemon.is_running(), "the daemon stopped");
    site.c2000.plug_in();
    let end = Instant::now() + Duration::from_secs(15);
    while site.c2000.count("AT+CSQ?") < 2 {
        assert!(
            Instant::now() < end,
            "not initialised again: {:?}",
            site.c2000.commands()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        site.c2000.count("AT+CNUMF?"),
        2,
        "a full initialisation, identity check included"
    );
    // The radio is used again: a call on ASTRID keys it and its audio plays out whole. (Its
    // tail was once seen cut under load; the field call was then waited on with a sleep, and
    // with the wait on the daemon's own log it plays whole, four runs in four with both cores
    // busy.)
    let cc = site.field_call(Side::Astrid);
    site.talk(Side::Astrid, 0..FRAMES);
    field_call_ends(&site.astrid, cc);
    let heard = site.heard(Side::Astrid, usize::from(FRAMES), Duration::from_secs(10));
    assert_eq!(heard, (0..FRAMES).collect::<Vec<u8>>());
}

#[test]
fn a_call_on_astrid_is_transmitted_on_c2000_from_its_first_frame() {
    relay_one_call(Side::Astrid);
}

#[test]
fn a_call_on_c2000_is_transmitted_on_astrid_from_its_first_frame() {
    relay_one_call(Side::C2000);
}

#[test]
fn a_transmission_pre_empted_by_the_network_is_demanded_again_and_what_follows_plays_in_order() {
    let site = Site::start();
    site.field_call(Side::Astrid);
    site.talk(Side::Astrid, 0..20);
    let transmitting = |site: &Site| site.c2000.emulator.lock().expect("lock").is_transmitting();
    let end = Instant::now() + Duration::from_secs(5);
    while !transmitting(&site) {
        assert!(
            Instant::now() < end,
            "C2000 never granted: {:?}",
            site.c2000.commands()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The SwMI pre-empts the gateway's transmission (disconnect cause 9).
    {
        let mut radio = site.c2000.emulator.lock().expect("lock");
        let cc = radio.call_instance().expect("the gateway's call");
        radio.network_release(cc, 9);
    }
    site.talk(Side::Astrid, 20..40);
    let demands = || {
        site.c2000
            .commands()
            .iter()
            .filter(|c| c.starts_with("AT+CTXD="))
            .count()
    };
    let end = Instant::now() + Duration::from_secs(5);
    while demands() < 2 || !transmitting(&site) {
        assert!(
            Instant::now() < end,
            "not demanded again: {:?}",
            site.c2000.commands()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The over carries on after the new grant: frames spoken after the pre-emption play.
    // (Not necessarily every one: a sender stalled by a loaded machine may let the stream's
    // end timeout close it, which is the engine doing its job.)
    let heard = site.heard(Side::Astrid, 40, Duration::from_secs(8));
    assert!(
        heard.iter().any(|&n| n >= 20),
        "nothing spoken after the pre-emption was heard: {heard:?}"
    );
    assert!(
        heard.windows(2).all(|w| w[0] < w[1]),
        "out of order or duplicated: {heard:?}"
    );
}

#[test]
/// The order is the safety property: transmit is ceased before the process is gone. How long
/// the shutdown may take is the binary's own bound (2 s, `daemon/mod.rs`); a wall-clock
/// assertion of it here would only measure the machine, so the 5 s below tells a hang apart.
fn sigterm_mid_transmission_ceases_transmit_before_the_daemon_exits() {
    let mut site = Site::start();
    site.field_call(Side::Astrid);
    site.talk(Side::Astrid, 0..30);
    assert!(
        site.c2000.wait_for("AT+CTXD=", Duration::from_secs(5)),
        "{:?}",
        site.c2000.commands()
    );
    let end = Instant::now() + Duration::from_secs(5);
    while !site.c2000.emulator.lock().expect("lock").is_transmitting() {
        assert!(
            Instant::now() < end,
            "C2000 never granted: {:?}",
            site.c2000.commands()
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    sigterm(&site.daemon.child);
    let exit = site
        .daemon
        .wait_exit(Duration::from_secs(5))
        .expect("still running 5 s after SIGTERM: hung");
    assert!(exit.success(), "{exit:?}");
    assert!(
        site.c2000.wait_for("AT+CUTXC=", Duration::from_secs(1)),
        "no cease: {:?}",
        site.c2000.commands()
    );
    assert!(!site.c2000.emulator.lock().expect("lock").is_transmitting());
}
