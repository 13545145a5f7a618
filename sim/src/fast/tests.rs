use super::*;

#[test]
fn a_killed_one_box_gateway_is_released_by_its_board_and_relays_again_after_restart() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join("kill-mid-transmission.toml");
    let s = Scenario::load(path).unwrap();
    let r = run(&s, s.seed, false);
    assert!(r.stuck_ptt.is_empty(), "{}", r.text());
    let kill = &r.kills[0];
    assert_eq!(kill.keyed_ports, [1], "the C2000 radio was relaying");
    assert!(
        kill.released_after_us.is_some_and(|us| us <= 500_000),
        "{kill:?}"
    );
    let after = &r.transmissions[1];
    assert!(after.delivered_in_order(0.0), "{}", r.text());
    assert_eq!(after.paths[0].radios, ["Baarle/astrid"]);
}

fn border_run() -> FastRun {
    let s = Scenario::border();
    FastRun::new(&s, s.seed, false)
}

/// Meer, the border scenario's first site, and its C2000 radio (on board port 1), which
/// relays transmission #1 (BE-pursuit on ASTRID, 4–8 s) into C2000.
const MEER: usize = 0;
const MEER_C2000: usize = 1;

/// Runs in 5 ms steps until `until`, calling `check` after each step.
fn step_until(run: &mut FastRun, until: Instant, mut check: impl FnMut(&FastRun)) {
    while run.now < until {
        let next = run.now + borderlink_protocol::time::Duration::from_millis(5);
        run.run_until(next);
        check(run);
    }
}

/// The board's PTT line follows the TETRA grant: never keyed while the network has not
/// granted the radio (or has taken the grant back), and keyed while it holds one.
#[test]
fn the_board_keys_a_radio_only_while_the_network_grants_it() {
    let mut run = border_run();
    let mut keyed_steps = 0;
    step_until(&mut run, Instant::from_millis(10_000), |run| {
        let keyed = run.world().board_keyed(MEER, MEER_C2000);
        let on_air = run.world().radio_on_air(MEER, MEER_C2000);
        assert!(
            !keyed || on_air,
            "{} µs: PTT line keyed without a grant",
            run.now.as_micros()
        );
        keyed_steps += u32::from(keyed);
    });
    // Transmission #1 lasts 4 s; its relay holds the line most of it.
    assert!(
        keyed_steps > 600,
        "the line was keyed in {keyed_steps} steps"
    );
}

/// Shutdown's first act releases every transmitter: the keyed radio's cease and the board's
/// release go out at once, and nothing is relayed after, though the far side still talks.
#[test]
fn a_stopping_gateway_releases_every_transmitter_first_and_relays_nothing_after() {
    let mut run = border_run();
    run.run_until(Instant::from_millis(5_000));
    assert!(run.world().board_keyed(MEER, MEER_C2000));
    assert!(run.world().radio_on_air(MEER, MEER_C2000));
    let now = run.now;
    let site = run.sites[MEER].as_mut().unwrap();
    let delivered = site.counters().delivered;
    site.stop(now);
    let outputs: Vec<SiteOutput> = std::iter::from_fn(|| site.poll_output()).collect();
    let cease = outputs.iter().any(|o| {
        matches!(o, SiteOutput::Pei { radio: MEER_C2000, bytes } if bytes.starts_with(b"AT+CUTXC="))
    });
    assert!(cease, "no cease for the keyed radio in {outputs:?}");
    assert!(
        outputs.iter().any(|o| matches!(o, SiteOutput::Board(_))),
        "no board release in {outputs:?}"
    );
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, SiteOutput::Audio { .. } | SiteOutput::Packet { .. })),
        "relayed while stopping: {outputs:?}"
    );
    for out in outputs {
        match out {
            SiteOutput::Pei { radio, bytes } => {
                run.world.from_gateway_pei(now, MEER, radio, &bytes);
            }
            SiteOutput::Board(bytes) => run.world.from_gateway_board(now, MEER, &bytes),
            _ => {}
        }
    }
    // BE-pursuit still talks until 8 s: its audio reaches the stopping gateway.
    run.run_until(now + borderlink_protocol::time::Duration::from_millis(500));
    assert!(!run.world().board_keyed(MEER, MEER_C2000));
    assert!(!run.world().radio_on_air(MEER, MEER_C2000));
    let site = run.sites[MEER].as_ref().unwrap();
    assert_eq!(site.counters().delivered, delivered, "relayed after stop");
}

/// Meer alone: its ASTRID and C2000 radios on a board (the C2000 one without PEI unless
/// `c2000_pei`), BE-1 and NL-1 in the field, one patch over both groups; `head` is the
/// scenario's name, seed, length and network settings, `events` what happens.
fn meer_alone(head: &str, c2000_pei: bool, events: &str) -> Scenario {
    let no_pei = if c2000_pei { "" } else { ", pei = false" };
    let text = format!(
        r#"{head}
[[sites]]
id = 1
name = "Meer"
board = true
radios = [
    {{ name = "astrid", network = "ASTRID", issi = "02060000109000001", group = "02060000102061001" }},
    {{ name = "c2000", network = "C2000", issi = "02040000109000101", group = "02040000102040551"{no_pei} }},
]

[[units]]
name = "BE-1"
issi = "02060000101234567"
network = "ASTRID"
group = "02060000102061001"

[[units]]
name = "NL-1"
issi = "02040000102040123"
network = "C2000"
group = "02040000102040551"

[[patches]]
name = "Meer"
channels = [
    {{ site = 1, network = "ASTRID", group = "02060000102061001" }},
    {{ site = 1, network = "C2000", group = "02040000102040551" }},
]
{events}"#
    );
    Scenario::parse(&text, "meer.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A site whose C2000 radio has no PEI: the board keys it by its PTT line (the engine's grant
/// is the board's confirmation) and the site hears it on its COR line.
fn cor_only() -> Scenario {
    meer_alone(
        "name = \"cor-only\"\nseed = 5\nduration = \"14s\"\n",
        false,
        r#"
[[events]]
at = "2s"
talk = "BE-1"
for = "3s"

[[events]]
at = "8s"
talk = "NL-1"
for = "3s"
"#,
    )
}

#[test]
fn a_radio_without_pei_is_keyed_by_the_board_and_heard_on_its_cor_line() {
    let s = cor_only();
    let r = run(&s, s.seed, false);
    assert!(
        r.stuck_ptt.is_empty() && r.echoes.is_empty() && r.loops.is_empty(),
        "{}",
        r.text()
    );
    // BE-1 on ASTRID goes out on C2000 through the PTT line of the radio without PEI, whole:
    // the audio waits for the port's grant delay, so none is spoken before the network grants
    // the radio (its first syllable would be lost).
    let be = &r.transmissions[0];
    assert_eq!(be.talker, "BE-1");
    assert_eq!(be.paths.len(), 1, "{}", r.text());
    assert_eq!(be.paths[0].radios, ["Meer/c2000"]);
    assert_eq!(be.paths[0].lost, 0, "{}", r.text());
    assert!(r.played_off_air.is_empty(), "{}", r.text());
    // NL-1 on C2000 is heard on that radio's COR line and goes out on ASTRID whole.
    let nl = &r.transmissions[1];
    assert_eq!(nl.talker, "NL-1");
    assert_eq!(nl.paths.len(), 1, "{}", r.text());
    assert_eq!(nl.paths[0].radios, ["Meer/astrid"]);
    assert!(nl.delivered_in_order(0.0), "{}", r.text());
    // The line was keyed for BE-1's over and released after it.
    let line = r
        .ptt
        .board_lines
        .iter()
        .find(|l| l.name.contains("c2000"))
        .expect("the C2000 radio's line");
    assert!(line.keyed > 0 && !line.keyed_at_end, "{}", r.text());
}

/// A radio whose PEI cable is pulled mid-relay: its board line drops at once; keyed with
/// `AT+CTXD`, it ignores the line and no cease can reach it, so the board switches it off
/// (before, it held the C2000 group until the board's TX cap); once plugged back it is
/// initialised again and relays the next over (the pty end-to-end test `daemon_radios` checks
/// the replug through real serial ports).
#[test]
fn a_radio_unplugged_mid_relay_is_switched_off_and_relays_again_once_plugged_back() {
    let mut run = border_run();
    run.run_until(Instant::from_millis(5_000));
    assert!(run.world().board_keyed(MEER, MEER_C2000), "relaying #1");
    run.set_radio_cable(MEER, MEER_C2000, false);
    let pulled = run.now;
    let mut line_dropped = None;
    let mut off_air = None;
    step_until(&mut run, Instant::from_millis(7_000), |run| {
        if !run.world().board_keyed(MEER, MEER_C2000) {
            line_dropped.get_or_insert(run.now);
        }
        if !run.world().radio_on_air(MEER, MEER_C2000) {
            off_air.get_or_insert(run.now);
        }
    });
    let after = |t: Option<Instant>| t.map(|t| t.saturating_since(pulled).as_millis());
    assert!(
        after(line_dropped).is_some_and(|ms| ms <= 20),
        "line dropped {:?} ms after the cable was pulled",
        after(line_dropped)
    );
    assert!(
        after(off_air).is_some_and(|ms| ms <= 200),
        "off the air {:?} ms after the cable was pulled",
        after(off_air)
    );
    run.set_radio_cable(MEER, MEER_C2000, true);
    // BE-2 talks on ASTRID at 15–18 s: Meer's C2000 radio relays it again.
    let mut relayed = false;
    step_until(&mut run, Instant::from_millis(18_000), |run| {
        relayed |= run.world().radio_on_air(MEER, MEER_C2000);
    });
    assert!(relayed, "{}", run.finish().text());
}

/// A port strapped on the board to key at the other level than the config says: the site
/// never keys that line (keying it would key the radio at rest and release it to talk), says
/// so in its status, and the radio, keyed over PEI, still relays. The pty end-to-end test in
/// `daemon_firmware` checks the same through the daemon, its CLI and a board on a serial port.
#[test]
fn a_port_whose_polarity_differs_from_the_board_is_never_keyed_and_the_status_says_so() {
    let mut run = border_run();
    run.world.strap_board_ptt(
        MEER,
        MEER_C2000,
        borderlink_firmware::polarity::Polarity::ActiveLow,
    );
    run.reset_board(MEER);
    run.run_until(Instant::from_millis(1_000));
    let now = run.now;
    let status = run.sites[MEER].as_mut().unwrap().status(now).unwrap();
    let ports = status.board.expect("the board").ports;
    let mismatch: Vec<(u8, bool)> = ports
        .iter()
        .map(|p| (p.port, p.polarity_mismatch))
        .collect();
    assert_eq!(
        mismatch,
        [(0, false), (MEER_C2000 as u8, true)],
        "only the restrapped port"
    );
    let mut on_air = false;
    step_until(&mut run, Instant::from_millis(10_000), |run| {
        assert!(
            !run.world().board_keyed(MEER, MEER_C2000),
            "{} µs: the mismatched line was keyed",
            run.now.as_micros()
        );
        on_air |= run.world().radio_on_air(MEER, MEER_C2000);
    });
    assert!(on_air, "the radio, keyed over PEI, relayed transmission #1");
}

/// The same with the radio that has no PEI: the board's line is its only key, so it is not
/// keyed at all; the over is refused there and nothing is played to a radio off the air.
#[test]
fn a_radio_without_pei_on_a_mismatched_port_is_not_keyed_and_its_over_is_refused() {
    let s = cor_only();
    let mut run = FastRun::new(&s, s.seed, false);
    run.world
        .strap_board_ptt(0, 1, borderlink_firmware::polarity::Polarity::ActiveLow);
    run.reset_board(0);
    step_until(&mut run, Instant::from_millis(7_000), |run| {
        assert!(
            !run.world().board_keyed(0, 1),
            "the mismatched line was keyed"
        );
        assert!(!run.world().radio_on_air(0, 1), "the radio went on the air");
    });
    let r = run.finish();
    assert!(r.played_off_air.is_empty(), "{}", r.text());
    let be = &r.transmissions[0];
    assert!(be.paths.is_empty(), "BE-1 came out on C2000: {}", r.text());
}

/// Voice reaches a radio's loudspeaker later than the PEI line that ends the call (codec and
/// air delays; here 150 ms on ASTRID). The capture stays open for its tail after that line, so
/// the last syllable is relayed too: every spoken frame comes out on C2000.
fn late_audio() -> Scenario {
    meer_alone(
        "name = \"late-audio\"\nseed = 3\nduration = \"8s\"\n\n[networks.ASTRID]\nair_delay = \"150ms\"\n",
        true,
        r#"
[[events]]
at = "2s"
talk = "BE-1"
for = "3s"
"#,
    )
}

#[test]
fn the_capture_tail_relays_the_last_syllable_that_arrives_after_the_call_ends() {
    let s = late_audio();
    let r = run(&s, s.seed, false);
    let be = &r.transmissions[0];
    assert_eq!(be.paths.len(), 1, "{}", r.text());
    let path = &be.paths[0];
    assert_eq!(path.radios, ["Meer/c2000"]);
    assert_eq!(
        (path.heard, path.lost),
        (be.spoken_frames, 0),
        "{}",
        r.text()
    );
    assert!(be.delivered_in_order(0.0), "{}", r.text());
}

/// The board's MCU resets (its watchdog) while a radio keyed over PEI relays: the reset board
/// has forgotten which radios it guarded, and a radio keyed with `AT+CTXD` ignores its PTT
/// line, so the site itself has the board switch it off and on, and it relays again after.
/// (Found by the soak: the site took the radio for switched off by the board, sent no cease,
/// and the radio stayed on the air with no over behind it.)
#[test]
fn a_board_reset_mid_relay_switches_the_pei_keyed_radio_off_and_it_relays_again() {
    let mut run = border_run();
    run.run_until(Instant::from_millis(5_000));
    assert!(run.world().radio_on_air(MEER, MEER_C2000), "relaying #1");
    run.reset_board(MEER);
    let reset = run.now;
    let mut off_air = None;
    step_until(&mut run, Instant::from_millis(7_500), |run| {
        if !run.world().radio_on_air(MEER, MEER_C2000) {
            off_air.get_or_insert(run.now);
        }
    });
    let after = off_air.map(|t| t.saturating_since(reset).as_millis());
    assert!(
        after.is_some_and(|ms| ms <= 100),
        "off the air {after:?} ms after the board reset"
    );
    // BE-2 talks on ASTRID at 15–18 s: Meer's C2000 radio relays it again.
    let mut relayed = false;
    step_until(&mut run, Instant::from_millis(18_000), |run| {
        relayed |= run.world().radio_on_air(MEER, MEER_C2000);
    });
    assert!(relayed, "{}", run.finish().text());
}

/// While Meer's C2000 radio relays BE-1, a Dutch unit's emergency pre-empts it on C2000: the
/// radio's PTT line drops with its grant, the emergency takes the patch's floor and goes out on
/// ASTRID whole, pre-empting BE-1 there too (an emergency reaches every radio), and what BE-1
/// said until then came out in order. (The pty test in `daemon_radios` has the network pre-empt
/// the real daemon's radio and checks the over is demanded again.)
fn pre_emption() -> Scenario {
    meer_alone(
        "name = \"pre-emption\"\nseed = 9\nduration = \"14s\"\n",
        true,
        r#"
[[events]]
at = "2s"
talk = "BE-1"
for = "7s"

[[events]]
at = "4s"
talk = "NL-1"
for = "2s"
emergency = true
"#,
    )
}

#[test]
fn a_relay_pre_empted_by_an_emergency_drops_its_line_and_the_emergency_goes_out_whole() {
    let s = pre_emption();
    let mut run = FastRun::new(&s, s.seed, false);
    let mut keyed_before = false;
    let mut dropped_at = None;
    step_until(&mut run, Instant::from_millis(14_000), |run| {
        let keyed = run.world().board_keyed(0, 1);
        assert!(
            !keyed || run.world().radio_on_air(0, 1),
            "{} µs: the C2000 line keyed without a grant",
            run.now.as_micros()
        );
        if run.now == Instant::from_millis(3_995) {
            keyed_before = keyed;
        }
        if run.now >= Instant::from_millis(4_000) && !keyed {
            dropped_at.get_or_insert(run.now);
        }
    });
    assert!(
        keyed_before,
        "Meer's C2000 radio was relaying BE-1 when NL-1 keyed"
    );
    assert_eq!(
        dropped_at,
        Some(Instant::from_millis(4_000)),
        "the C2000 line dropped with the pre-emption"
    );
    let r = run.finish();
    assert!(r.clean(), "{}", r.text());
    let timeline = |text: &str| r.timeline.iter().any(|e| e.text.contains(text));
    assert!(
        timeline("Meer/c2000: transmission interrupted by NL-1"),
        "the network did not pre-empt the relay: {}",
        r.text()
    );
    assert!(timeline("BE-1: pre-empted by Meer/astrid"), "{}", r.text());
    let nl = r.transmissions.iter().find(|t| t.talker == "NL-1").unwrap();
    assert_eq!(nl.paths.len(), 1, "{}", r.text());
    assert_eq!(nl.paths[0].radios, ["Meer/astrid"]);
    assert!(nl.delivered_in_order(0.0), "{}", r.text());
    let be = r.transmissions.iter().find(|t| t.talker == "BE-1").unwrap();
    let path = &be.paths[0];
    assert_eq!(path.radios, ["Meer/c2000"]);
    assert!(path.in_order && path.duplicates == 0, "{}", r.text());
    // What BE-1 said after NL-1 keyed could not go out on C2000: the gateway counted it as
    // denied the floor (the last frames or so were in flight on the air when it was cut).
    let denied: u64 = r.gateways[0]
        .dropped
        .iter()
        .filter_map(|d| d.strip_prefix("floor_denied="))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    assert!(
        u64::from(path.lost) <= denied + 5,
        "{} frames lost, {denied} denied the floor: {}",
        path.lost,
        r.text()
    );
}
