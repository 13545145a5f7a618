//! The real `borderlinkd` with semi-roaming configured, against two emulated radios on
//! pseudo-terminals: a unit's status request creates the cross-border patch (a call on the
//! home group then goes out on the mirror group) and the acknowledgement reaches the unit
//! through the radio that heard it, as `AT+CTSDS` and `AT+CMGS`. Before the request a call is
//! dropped as `no_patch`; after it the mirror group is dialled and the call heard whole.

use std::time::Duration;

use borderlink_protocol::ids::PeiIdentity;
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::api::ApiClient;
use borderlink_tests::audio::Audio;
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO, tsi,
};
use borderlink_tests::cli::cli;
use borderlink_tests::config::{Api, Mirror, SiteConfig, Triggers};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::free_tcp;
use borderlink_tests::radio::{field_call, field_call_ends, wait_initialised};
use borderlink_tests::secrets::{Token, token_file};
use borderlink_tests::temp::TempDir;
use borderlink_tests::wait_until;

const GRANT_DELAY: Duration = Duration::from_millis(200);

/// A viewer's token: dispatch reads the roaming events.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_status_request_creates_the_patch_and_the_ack_reaches_the_radio() {
    let astrid = PtyRadio::start(ASTRID_RADIO, GRANT_DELAY);
    let c2000 = PtyRadio::start(C2000_RADIO, GRANT_DELAY);
    let (a_audio, c_audio) = (Audio::new(), Audio::new());
    let dir = TempDir::new("roaming");
    let listen = free_tcp();
    let api = ApiClient::new(listen);
    let tokens = token_file(
        dir.path(),
        &[Token {
            name: "wallboard",
            role: "viewer",
            country: "BE",
            secret: TOKEN,
        }],
    );
    // No static patch: the two groups are a mirror, on demand.
    let config = SiteConfig::new(1, "test site")
        .border_radios((&astrid.path, &a_audio), (&c2000.path, &c_audio))
        .alias(tsi(206, 120_012), "BE-POL Turnhout 12")
        .triggers(Triggers {
            request: 0x8001,
            end: 0x8003,
            reply: "status",
            ack: 0x8101,
            refuse: 0x8102,
        })
        .mirror(Mirror::new(
            "Baarle police",
            (1, ASTRID_GROUP),
            (1, C2000_GROUP),
            "on-demand",
        ))
        .api(Api::new(listen, &tokens))
        .write(&dir.join("site.toml"));
    let mut daemon = Daemon::start(&config);
    wait_initialised(&[&astrid, &c2000]);

    // A field unit talks on the home group, once the daemon has seen its call (its ASTRID
    // radio receiving), so that every frame is captured.
    let call = |n: u8| {
        let cc = field_call(&astrid, ASTRID_TALKER, ASTRID_GROUP);
        wait_until(
            || api.get_json("/api/v1/status", TOKEN)["radios"][0]["receiving"] == true,
            "the ASTRID radio receiving the call",
        );
        a_audio.talk(0..n);
        field_call_ends(&astrid, cc);
    };
    let no_patch = || metric(&api, "borderlink_frames_dropped_total{cause=\"no_patch\"}");

    // Before the request, a call on the home group goes nowhere: its ten frames are dropped
    // for want of a patch, and the C2000 radio is never dialled.
    call(10);
    wait_until(|| no_patch() >= 10, "ten frames dropped as no_patch");
    assert!(
        !c2000
            .commands()
            .iter()
            .any(|c| c.starts_with("ATD") || c.starts_with("AT+CTXD")),
        "relayed without a patch: {:?}",
        c2000.commands()
    );

    // The Belgian unit, roaming on C2000, sends "request" to the C2000 gateway radio.
    let unit = tsi(206, 120_012);
    c2000.inject_status(unit, 0x8001);
    let ack = c2000
        .wait_for_sds(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply: {:?}", c2000.commands()));
    assert_eq!(ack.to, PeiIdentity::Tsi(unit), "to the unit, by full TSI");
    assert_eq!((ack.bits, ack.data.as_slice()), (16, &[0x81, 0x01][..]));
    let commands = c2000.commands();
    let select = commands
        .iter()
        .position(|c| c == "AT+CTSDS=13,1")
        .unwrap_or_else(|| panic!("{commands:?}"));
    assert!(
        commands[select + 1].starts_with("AT+CMGS=02060000100120012,16"),
        "{commands:?}"
    );

    // The patch is up: a call on the home group now goes out on the mirror group, whole and
    // in order, and nothing more is dropped for want of a patch.
    call(10);
    assert_eq!(
        c_audio.heard(10, Duration::from_secs(10)),
        (0..10).collect::<Vec<u8>>(),
        "not relayed whole after the request: {:?}",
        c2000.commands()
    );
    let commands = c2000.commands();
    let group = C2000_GROUP.ssi().get().to_string();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("ATD") && c.contains(&group)),
        "the C2000 radio did not call the mirror group {group}: {commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.starts_with("AT+CTXD")),
        "{commands:?}"
    );
    assert_eq!(
        no_patch(),
        10,
        "frames of the mirrored call dropped as no_patch"
    );

    // Dispatch sees who asked (call sign from the alias table), the mirror up, and the
    // talker's call sign on the patch.
    let out = cli(&["status", "--api", api.base()], api.base(), Some(&tokens));
    assert!(out.status.success(), "{out:?}");
    let body = api.get_json("/api/v1/roaming", TOKEN);
    assert_eq!(body["mirrors"][0]["name"], "Baarle police", "{body}");
    assert!(body["mirrors"][0]["patch"].is_u64(), "mirror up: {body}");
    let events: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        events.iter().any(|e| e.starts_with("BE-POL Turnhout 12")
            && e.contains("Baarle police")
            && e.ends_with("done")),
        "{events:?}"
    );

    let status = daemon.stop();
    assert!(status.success(), "{status:?}");
}

/// The value of one line of `GET /metrics` (`name` with its labels), 0 if absent.
fn metric(api: &ApiClient, name: &str) -> u64 {
    let (status, text) = api
        .try_call("GET", "/metrics", Some(TOKEN), None)
        .expect("metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}
