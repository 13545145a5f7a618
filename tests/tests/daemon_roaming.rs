//! The real `borderlinkd` with semi-roaming configured, against two emulated radios on
//! pseudo-terminals: a unit's status request creates the cross-border patch (a call on the
//! home group then goes out on the mirror group) and the acknowledgement reaches the unit
//! through the radio that heard it, as `AT+CTSDS` and `AT+CMGS`.

use std::time::{Duration, Instant};

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

    // Before the request, a call on the home group goes nowhere.
    let call = |n: u8| {
        let cc = field_call(&astrid, ASTRID_TALKER, ASTRID_GROUP);
        a_audio.talk(0..n);
        field_call_ends(&astrid, cc);
    };
    call(10);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")),
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

    // The patch is up: a call on the home group now goes out on the mirror group.
    call(10);
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && !c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")),
        "not relayed after the request: {:?}",
        c2000.commands()
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
