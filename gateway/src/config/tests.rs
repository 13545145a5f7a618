//! One test per class of configuration error, each asserting that the message names the key
//! and the line; defaults; the conversion into the engine's settings; the examples.

use std::path::PathBuf;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::link::Port;
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::{Priority, SiteId};
use proptest::prelude::*;

use super::*;
use crate::engine::endpoint::ConsoleId;
use crate::engine::jitter::PlayoutMode;
use crate::engine::patch::{Channel, PatchKind, SiteConsole};
use crate::engine::policy::{SourceKind, SourceLimits};

/// A valid site with two radios, a board, a peer and a patch; tests break one thing in it.
pub(super) const BASE: &str = r#"[site]
id = 1
name = "Baarle"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "/dev/ttyUSB0"
issi = "02060000109000001"
group = "02060000102061001"
alsa = "hw:1,0"

[[radios]]
name = "c2000"
network = "C2000"
serial = "/dev/ttyUSB1"
issi = "02040000109000101"
group = "02040000102040551"
udp = { listen = "127.0.0.1:5100", peer = "127.0.0.1:5101", format = "rtp" }

[board]
serial = "/dev/ttyACM0"

[[board.ports]]
port = 0
radio = "astrid"

[[board.ports]]
port = 1
radio = "c2000"
ptt = "active-low"

[[peers]]
site = 2
name = "nassau"
address = "site-b.example:5200"
key_file = "/etc/borderlink/keys/nassau.key"

[[patches]]
name = "border"
channels = [
  { site = 1, network = "ASTRID", group = "02060000102061001" },
  { site = 1, network = "C2000", group = "02040000102040551" },
]
"#;

fn tsi(mcc: u16, mnc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, mnc, ssi).unwrap()
}

/// `BASE` with the first occurrence of `from` replaced by `to` (which must be there).
pub(super) fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// The error of a text that must be invalid.
pub(super) fn invalid(text: &str) -> ConfigError {
    match Config::parse(text, "site.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The 1-based line of the first line of `text` containing `needle`, searching from the
/// `nth` (0-based) occurrence.
pub(super) fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap_or_else(|| panic!("no line {nth} with {needle:?}"))
        .0
        + 1
}

/// Asserts that `text` is refused with a problem at `key` on `line` whose message contains
/// `fragment`, printed as `site.toml:LINE:COL: KEY: ...` in the error's Display; returns it.
pub(super) fn assert_problem(text: &str, key: &str, line: usize, fragment: &str) -> Problem {
    let error = invalid(text);
    let shown = error.to_string();
    let problem = error
        .problems()
        .iter()
        .find(|p| p.key.as_str() == key)
        .unwrap_or_else(|| panic!("no problem at `{key}` in:\n{shown}"))
        .clone();
    let printed = problem.to_string();
    assert!(
        printed.starts_with(&format!("site.toml:{line}:")),
        "expected line {line}: {printed}"
    );
    assert!(
        printed.contains(&format!(": {key}: ")),
        "key not named: {printed}"
    );
    assert!(
        printed.contains(fragment),
        "expected {fragment:?} in: {printed}"
    );
    assert!(
        shown.lines().any(|l| l == printed),
        "not in Display:\n{shown}"
    );
    problem
}

// ---- the base and the examples -----------------------------------------------------------

#[test]
fn base_is_valid() {
    let config = Config::parse(BASE, "site.toml").unwrap();
    assert_eq!(config.site.id, SiteId(1));
    assert_eq!(config.radios.len(), 2);
    assert_eq!(config.patches.len(), 1);
}

pub(super) fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn one_box_example_is_valid() {
    let config = Config::load(example("one-box.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.radios.len(), 2);
    assert_eq!(config.radios[0].network, Network::Astrid);
    assert_eq!(config.radios[1].network, Network::C2000);
    assert_eq!(config.board.as_ref().map(|b| b.ports.len()), Some(2));
    assert_eq!(config.patches.len(), 1);
    assert!(config.peers.is_empty());
}

#[test]
fn two_site_examples_are_valid_and_mirror_each_other() {
    let a = Config::load(example("two-site-a.toml")).unwrap_or_else(|e| panic!("{e}"));
    let b = Config::load(example("two-site-b.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.peers[0].site, b.site.id);
    assert_eq!(b.peers[0].site, a.site.id);
    // Same patches and policy at both sites, as the floor rule requires.
    assert_eq!(a.static_patches(), b.static_patches());
    assert_eq!(a.policy, b.policy);
    // Each knows the other's radio as a gateway radio.
    assert!(a.gateway_identities().contains(b.radios[0].identity));
    assert!(b.gateway_identities().contains(a.radios[0].identity));
    assert_eq!(a.gateway_identities(), b.gateway_identities());
}

// ---- syntax and shape (spans from the TOML parser) ---------------------------------------

#[test]
fn syntax_error_names_the_line() {
    let text = with("name = \"Baarle\"", "name = \"Baarle");
    let error = invalid(&text);
    let first = &error.problems()[0];
    assert!(matches!(first.kind, ProblemKind::Syntax(_)), "{error}");
    assert_eq!(first.location.map(|l| l.line), Some(3));
    assert!(error.to_string().starts_with("site.toml:3:"), "{error}");
}

#[test]
fn independent_syntax_errors_are_all_reported_once_per_line() {
    let text = with("id = 1", "id = 1 1").replacen(
        "serial = \"/dev/ttyUSB0\"",
        "serial = /dev/ttyUSB0",
        1,
    );
    let error = invalid(&text);
    let lines: Vec<usize> = error
        .problems()
        .iter()
        .map(|p| p.location.unwrap().line)
        .collect();
    assert_eq!(lines, [2, 8], "{error}");
    assert!(
        error
            .problems()
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::Syntax(_))),
        "{error}"
    );
}

#[test]
fn unknown_key_is_named_with_the_expected_keys() {
    let text = with(
        "serial = \"/dev/ttyUSB1\"",
        "serial = \"/dev/ttyUSB1\"\nbaudrate = 9600",
    );
    let line = line_of(&text, "baudrate", 0);
    let p = assert_problem(&text, "radios[1].baudrate", line, "unknown key `baudrate`");
    assert!(matches!(p.kind, ProblemKind::UnknownKey(_)));
    assert!(p.to_string().contains("`baud`"), "{p}");
}

#[test]
fn unknown_key_in_an_inline_table() {
    let text = with("format = \"rtp\" }", "format = \"rtp\", codec = \"pcma\" }");
    let line = line_of(&text, "codec", 0);
    assert_problem(&text, "radios[1].udp.codec", line, "unknown key `codec`");
}

#[test]
fn top_level_key_under_a_table_gets_a_hint() {
    let text = format!("{BASE}gateway_radios = [\"02040000109000201\"]\n");
    let line = line_of(&text, "gateway_radios", 0);
    assert_problem(
        &text,
        "patches[0].gateway_radios",
        line,
        "`gateway_radios` is a top-level key: move it above the first [table] header",
    );
}

#[test]
fn unknown_top_level_key() {
    let text = format!("{BASE}\n[timer]\nhang_time = \"2s\"\n");
    let line = line_of(&text, "[timer]", 0);
    let p = assert_problem(&text, "timer", line, "unknown key `timer`");
    assert!(p.to_string().contains("`timers`"), "{p}");
}

#[test]
fn missing_key_points_at_its_table() {
    let text = with("issi = \"02040000109000101\"\n", "");
    let line = line_of(&text, "[[radios]]", 1);
    let p = assert_problem(&text, "radios[1]", line, "missing key `issi`");
    assert!(matches!(p.kind, ProblemKind::MissingKey(_)));
}

#[test]
fn wrong_type_says_what_is_expected() {
    let text = with("port = 1", "port = \"one\"");
    let line = line_of(&text, "port = \"one\"", 0);
    let p = assert_problem(&text, "board.ports[1].port", line, "expected i64");
    assert!(matches!(p.kind, ProblemKind::WrongType(_)));
}

#[test]
fn identity_written_as_a_number_is_a_wrong_type() {
    let text = with("issi = \"02040000109000101\"", "issi = 2040000109000101");
    let line = line_of(&text, "issi = 2040000109000101", 0);
    assert_problem(
        &text,
        "radios[1].issi",
        line,
        "a TETRA identity as a string of PEI digits",
    );
}

#[test]
fn bad_keyword_lists_the_words() {
    let text = with("network = \"C2000\"", "network = \"c2000\"");
    let line = line_of(&text, "network = \"c2000\"", 0);
    let p = assert_problem(&text, "radios[1].network", line, "\"ASTRID\", \"C2000\"");
    assert!(matches!(p.kind, ProblemKind::BadValue(_)));
    let text = with("ptt = \"active-low\"", "ptt = true");
    let line = line_of(&text, "ptt = true", 0);
    assert_problem(
        &text,
        "board.ports[1].ptt",
        line,
        "\"active-high\", \"active-low\"",
    );
}

// ---- identities --------------------------------------------------------------------------

#[test]
fn identity_that_is_not_digits() {
    let text = with(
        "issi = \"02040000109000101\"",
        "issi = \"0204000010900010x\"",
    );
    let line = line_of(&text, "0204000010900010x", 0);
    let p = assert_problem(
        &text,
        "radios[1].issi",
        line,
        "non-digit character at offset 16",
    );
    assert!(matches!(p.kind, ProblemKind::BadIdentity { .. }));
}

#[test]
fn identity_of_the_wrong_length() {
    let text = with(
        "group = \"02060000102061001\"",
        "group = \"020600001020610\"",
    );
    let line = line_of(&text, "020600001020610\"", 0);
    assert_problem(&text, "radios[0].group", line, "15 digits");
}

#[test]
fn bare_ssi_needs_the_full_tsi() {
    let text = with("issi = \"02060000109000001\"", "issi = \"9000001\"");
    let line = line_of(&text, "\"9000001\"", 0);
    let p = assert_problem(&text, "radios[0].issi", line, "bare SSI");
    assert!(matches!(p.kind, ProblemKind::BareSsi(_)));
}

#[test]
fn identity_mcc_must_be_the_radios_network() {
    // The C2000 radio's ITSI written with ASTRID's MCC: line 17 of BASE.
    let text = with(
        "issi = \"02040000109000101\"",
        "issi = \"02060000109000101\"",
    );
    assert_eq!(line_of(&text, "02060000109000101", 0), 17);
    let p = assert_problem(
        &text,
        "radios[1].issi",
        17,
        "identity 206-1-9000101 has MCC 206, but C2000 identities have MCC 204",
    );
    assert!(
        p.to_string()
            .starts_with("site.toml:17:8: radios[1].issi: "),
        "{p}"
    );
    assert!(matches!(p.kind, ProblemKind::NetworkMismatch { .. }));
}

#[test]
fn gateway_radio_on_neither_network() {
    let text = format!("gateway_radios = [\"02040000109000201\", \"02620000109000001\"]\n{BASE}");
    let p = assert_problem(
        &text,
        "gateway_radios[1]",
        1,
        "neither ASTRID's (206) nor C2000's",
    );
    assert_eq!(p.location.map(|l| l.column), Some(40));
}

// ---- durations and numbers ---------------------------------------------------------------

#[test]
fn bad_duration_says_the_form() {
    let text = format!("{BASE}\n[timers]\nhang_time = \"1.5\"\n");
    let line = line_of(&text, "hang_time", 0);
    let p = assert_problem(&text, "timers.hang_time", line, "`1.5` has no unit");
    assert!(p.to_string().contains("\"500ms\""), "{p}");
    assert!(matches!(p.kind, ProblemKind::BadDuration { .. }));
}

#[test]
fn duration_out_of_range() {
    let text = format!("{BASE}\n[timers]\ntx_timeout = \"200s\"\n");
    let line = line_of(&text, "tx_timeout", 0);
    let p = assert_problem(
        &text,
        "timers.tx_timeout",
        line,
        "200 s is out of range: expected 1 s to 180 s",
    );
    assert!(matches!(p.kind, ProblemKind::DurationRange { .. }));
}

#[test]
fn tx_timeout_and_hang_time_must_fit_the_board_cap() {
    let text = format!("{BASE}\n[timers]\ntx_timeout = \"180s\"\n");
    let line = line_of(&text, "tx_timeout", 0);
    let p = assert_problem(
        &text,
        "timers.tx_timeout",
        line,
        "tx_timeout (180 s) + hang_time (1500 ms) exceed the board's 180 s PTT cap",
    );
    assert!(matches!(p.kind, ProblemKind::BeyondBoardCap { .. }));
    // 178.5 s + the default 1.5 s is exactly the cap: accepted.
    let text = format!("{BASE}\n[timers]\ntx_timeout = \"178.5s\"\n");
    assert!(Config::parse(&text, "site.toml").is_ok());
}

#[test]
fn continuous_air_time_and_forced_gap_are_read_and_reach_the_engine() {
    let config = Config::parse(BASE, "site.toml").unwrap();
    assert_eq!(config.timers.max_continuous, Duration::from_secs(170));
    assert_eq!(config.timers.forced_gap, Duration::from_secs(2));
    let text = format!("{BASE}\n[timers]\nmax_continuous = \"150s\"\nforced_gap = \"5s\"\n");
    let config = Config::parse(&text, "site.toml").unwrap();
    let engine = config.engine_config();
    assert_eq!(engine.air_time.max_continuous, Duration::from_secs(150));
    assert_eq!(engine.air_time.forced_gap, Duration::from_secs(5));
    // Unset, it is never shorter than one over and its hang time.
    let text = format!("{BASE}\n[timers]\ntx_timeout = \"178.5s\"\n");
    let config = Config::parse(&text, "site.toml").unwrap();
    assert_eq!(config.timers.max_continuous, Duration::from_secs(180));
}

#[test]
fn max_continuous_beyond_the_board_cap_is_refused() {
    let text = format!("{BASE}\n[timers]\nmax_continuous = \"300s\"\n");
    let line = line_of(&text, "max_continuous", 0);
    assert_problem(
        &text,
        "timers.max_continuous",
        line,
        "300 s is out of range: expected 1 s to 180 s",
    );
}

#[test]
fn max_continuous_shorter_than_one_over_is_refused() {
    let text = format!("{BASE}\n[timers]\nmax_continuous = \"60s\"\n");
    let line = line_of(&text, "max_continuous", 0);
    let p = assert_problem(
        &text,
        "timers.max_continuous",
        line,
        "max_continuous (60 s) is shorter than tx_timeout (120 s) + hang_time (1500 ms)",
    );
    assert!(matches!(p.kind, ProblemKind::ContinuousBelowOver { .. }));
}

#[test]
fn a_forced_gap_the_board_would_not_see_as_a_break_is_refused() {
    let text = format!("{BASE}\n[timers]\nforced_gap = \"500ms\"\n");
    let line = line_of(&text, "forced_gap", 0);
    assert_problem(
        &text,
        "timers.forced_gap",
        line,
        "500 ms is out of range: expected 1 s to 60 s",
    );
}

#[test]
fn heartbeat_slower_than_the_link_allows() {
    let text = format!("{BASE}\n[timers]\nheartbeat = \"250ms\"\n");
    let line = line_of(&text, "heartbeat", 0);
    assert_problem(&text, "timers.heartbeat", line, "expected 10 ms to 100 ms");
}

#[test]
fn number_out_of_range() {
    let text = with("id = 1", "id = 70000");
    assert_problem(
        &text,
        "site.id",
        2,
        "70000 is out of range: expected a site id, 0-65535",
    );
    let text = with("port = 1", "port = 4");
    let line = line_of(&text, "port = 4", 0);
    let p = assert_problem(
        &text,
        "board.ports[1].port",
        line,
        "expected a board port, 0-3",
    );
    assert!(matches!(p.kind, ProblemKind::OutOfRange { .. }));
    let text = format!("{BASE}\n[policy.C2000]\nmax_priority = 16\n");
    let line = line_of(&text, "max_priority", 0);
    assert_problem(
        &text,
        "policy.C2000.max_priority",
        line,
        "expected a priority, 0-15",
    );
}

#[test]
fn baud_rate_must_be_standard() {
    let text = with(
        "serial = \"/dev/ttyUSB1\"",
        "serial = \"/dev/ttyUSB1\"\nbaud = 38000",
    );
    let line = line_of(&text, "baud = 38000", 0);
    let p = assert_problem(
        &text,
        "radios[1].baud",
        line,
        "38000 baud is not a standard rate",
    );
    assert!(p.to_string().contains("38400"), "{p}");
}

#[test]
fn baud_list_in_messages_matches_the_accepted_rates() {
    let listed = error::STANDARD_BAUDS.map(|b| b.to_string()).join(", ");
    assert_eq!(listed, error::STANDARD_BAUDS_TEXT);
}

#[test]
fn two_policy_rules_for_one_site_and_source() {
    let text = format!(
        "{BASE}\n[[policy.sites]]\nsite = 2\nsource = \"dispatch\"\nmax_priority = 5\n\
         \n[[policy.sites]]\nsite = 2\nsource = \"dispatch\"\nmax_priority = 7\n"
    );
    let line = line_of(&text, "[[policy.sites]]", 1);
    assert_problem(
        &text,
        "policy.sites[1]",
        line,
        "site rule `site 2 dispatch` is already used by policy.sites[0]",
    );
}

#[test]
fn a_dispatch_home_is_read_and_sets_no_limits_of_its_own() {
    let text = format!(
        "{BASE}\n[policy.dispatch]\nmax_priority = 9\n\
         \n[[policy.sites]]\nsite = 2\nsource = \"dispatch\"\nhome = \"C2000\"\n"
    );
    let config = Config::parse(&text, "site.toml").unwrap();
    assert_eq!(config.policy.dispatch_home(SiteId(2)), Some(Network::C2000));
    assert_eq!(config.policy.dispatch_home(SiteId(1)), None);
    // The home-only entry leaves [policy.dispatch]'s cap in force for the site.
    assert_eq!(
        config
            .policy
            .limits(SiteId(2), SourceKind::Dispatch)
            .max_priority,
        Priority::new(9).unwrap()
    );
}

#[test]
fn a_home_on_a_radio_source_is_refused() {
    let text =
        format!("{BASE}\n[[policy.sites]]\nsite = 2\nsource = \"ASTRID\"\nhome = \"C2000\"\n");
    let line = line_of(&text, "home = ", 0);
    assert_problem(
        &text,
        "policy.sites[0].home",
        line,
        "only valid with source = \"dispatch\"",
    );
}

#[test]
fn playout_bounds_in_order() {
    let text = format!("{BASE}\n[playout]\nmin = \"100ms\"\ninitial = \"60ms\"\n");
    let line = line_of(&text, "min = ", 0);
    assert_problem(&text, "playout.min", line, "min <= initial <= max");
    let text = format!("{BASE}\n[playout]\nquantile = 1.5\n");
    let line = line_of(&text, "quantile", 0);
    assert_problem(&text, "playout.quantile", line, "(0, 1]");
    let text = format!("{BASE}\n[playout]\nmax = \"3s\"\n");
    let line = line_of(&text, "max = ", 0);
    assert_problem(&text, "playout.max", line, "expected 0 s to 2 s");
}

// ---- radios: things that must be unique, audio ---------------------------------------------

#[test]
fn two_radios_with_the_same_name() {
    let text = with("name = \"c2000\"", "name = \"astrid\"");
    let line = line_of(&text, "name = \"astrid\"", 1);
    let p = assert_problem(
        &text,
        "radios[1].name",
        line,
        "radio name `astrid` is already used by radios[0].name (line 6)",
    );
    assert!(matches!(p.kind, ProblemKind::Duplicate { .. }));
}

#[test]
fn two_radios_on_the_same_serial_device() {
    let text = with("serial = \"/dev/ttyUSB1\"", "serial = \"/dev/ttyUSB0\"");
    let line = line_of(&text, "/dev/ttyUSB0", 1);
    assert_problem(
        &text,
        "radios[1].serial",
        line,
        "serial device `/dev/ttyUSB0` is already used by radios[0].serial",
    );
}

#[test]
fn two_radios_with_the_same_identity() {
    let text = format!(
        "{BASE}\n[[radios]]\nname = \"astrid2\"\nnetwork = \"ASTRID\"\nserial = \"/dev/ttyUSB2\"\n\
         issi = \"2060000109000001\"\ngroup = \"02060000102061009\"\nalsa = \"hw:3,0\"\n"
    );
    let line = line_of(&text, "issi = \"2060000109000001\"", 0);
    // The short 16-digit form is the same identity as the long form of radios[0].
    assert_problem(
        &text,
        "radios[2].issi",
        line,
        "radio identity `206-1-9000001` is already used by radios[0].issi",
    );
}

#[test]
fn two_radios_on_the_same_group() {
    let text = format!(
        "{BASE}\n[[radios]]\nname = \"astrid2\"\nnetwork = \"ASTRID\"\nserial = \"/dev/ttyUSB2\"\n\
         issi = \"02060000109000002\"\ngroup = \"02060000102061001\"\nalsa = \"hw:3,0\"\n"
    );
    let line = line_of(&text, "group = \"02060000102061001\"", 2);
    assert_problem(
        &text,
        "radios[2].group",
        line,
        "talkgroup `ASTRID 206-1-2061001` is already used by radios[0].group",
    );
}

#[test]
fn board_serial_device_is_a_radios() {
    let text = with("serial = \"/dev/ttyACM0\"", "serial = \"/dev/ttyUSB1\"");
    let line = line_of(&text, "/dev/ttyUSB1", 1);
    assert_problem(
        &text,
        "board.serial",
        line,
        "already used by radios[1].serial (line 16)",
    );
}

#[test]
fn serial_device_must_be_an_absolute_path() {
    let text = with("serial = \"/dev/ttyUSB0\"", "serial = \"ttyUSB0\"");
    assert_problem(&text, "radios[0].serial", 8, "not an absolute path");
    let text = with("name = \"Baarle\"", "name = \"  \"");
    let p = assert_problem(&text, "site.name", 3, "must not be empty");
    assert_eq!(p.kind, ProblemKind::Blank);
}

#[test]
fn radio_without_audio() {
    let text = with("alsa = \"hw:1,0\"\n", "");
    let p = assert_problem(&text, "radios[0]", 5, "no audio backend");
    assert_eq!(p.kind, ProblemKind::NoAudio);
}

#[test]
fn pei_profiles_are_checked() {
    let text = with(
        "alsa = \"hw:1,0\"\n",
        "alsa = \"hw:1,0\"\npei = { profile = \"motorola\" }\n",
    );
    let line = line_of(&text, "motorola", 0);
    assert_problem(
        &text,
        "radios[0].pei.profile",
        line,
        "unknown PEI profile `motorola`; known: standard, minimal",
    );
    let text = with(
        "alsa = \"hw:1,0\"\n",
        "alsa = \"hw:1,0\"\npei = { extra = [\"AT+OK\", \"CTSP=1\"] }\n",
    );
    let line = line_of(&text, "CTSP=1", 0);
    assert_problem(
        &text,
        "radios[0].pei.extra[1]",
        line,
        "`CTSP=1`: a PEI command starts with AT",
    );
    let text = with(
        "serial = \"/dev/ttyUSB0\"\n",
        "pei = { registration = false }\n",
    );
    let line = line_of(&text, "registration = false", 0);
    assert_problem(
        &text,
        "radios[0].pei",
        line,
        "a radio without `serial` has no PEI to initialise",
    );
}

#[test]
fn radio_with_two_audio_backends() {
    let text = with("udp = {", "alsa = \"hw:2,0\"\nudp = {");
    let line = line_of(&text, "udp = {", 0);
    let p = assert_problem(&text, "radios[1].udp", line, "both `alsa` and `udp`");
    assert_eq!(p.kind, ProblemKind::TwoAudio);
}

#[test]
fn udp_audio_needs_ip_addresses() {
    let text = with("peer = \"127.0.0.1:5101\"", "peer = \"localhost:5101\"");
    let line = line_of(&text, "localhost", 0);
    let p = assert_problem(
        &text,
        "radios[1].udp.peer",
        line,
        "an IP address and a port",
    );
    assert!(matches!(p.kind, ProblemKind::BadAddress { .. }));
}

#[test]
fn no_radio_at_all() {
    let start = BASE.find("[[radios]]").unwrap();
    let end = BASE.find("[board]").unwrap();
    let text = format!("{}{}", &BASE[..start], &BASE[end..]);
    let error = invalid(&text);
    let p = error
        .problems()
        .iter()
        .find(|p| p.kind == ProblemKind::NoRadios)
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(
        p.to_string().lines().next().unwrap(),
        "site.toml: radios: no radio configured: a border site drives at least one (add a `[[radios]]` table)"
    );
}

#[test]
fn missing_site_table() {
    let text = BASE.replacen("[site]\nid = 1\nname = \"Baarle\"\n", "", 1);
    let error = invalid(&text);
    assert!(
        error
            .to_string()
            .contains("site.toml: site: missing table `[site]`"),
        "{error}"
    );
}

// ---- the board -----------------------------------------------------------------------------

#[test]
fn two_ports_drive_the_same_radio() {
    let text = with("radio = \"c2000\"", "radio = \"astrid\"");
    let line = line_of(&text, "radio = \"astrid\"", 1);
    let p = assert_problem(
        &text,
        "board.ports[1].radio",
        line,
        "radio `astrid` is already used by board.ports[0].radio (line 26)",
    );
    assert!(matches!(p.kind, ProblemKind::Duplicate { .. }));
}

#[test]
fn two_entries_for_one_port() {
    let text = with("port = 1", "port = 0");
    let line = line_of(&text, "port = 0", 1);
    assert_problem(
        &text,
        "board.ports[1].port",
        line,
        "board port `0` is already used by board.ports[0].port",
    );
}

#[test]
fn port_names_an_unknown_radio() {
    let text = with("radio = \"c2000\"", "radio = \"c200\"");
    let line = line_of(&text, "radio = \"c200\"", 0);
    let p = assert_problem(
        &text,
        "board.ports[1].radio",
        line,
        "no radio is named `c200`: expected one of `astrid`, `c2000`",
    );
    assert!(matches!(p.kind, ProblemKind::UnknownRadio { .. }));
}

#[test]
fn a_broken_radio_does_not_echo_as_an_unknown_radio() {
    // radios[1] cannot be read; the port naming it must not add a second, misleading error.
    let text = with("network = \"C2000\"", "network = 2000");
    let error = invalid(&text);
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(error.problems()[0].key.as_str(), "radios[1].network");
}

// ---- peers ---------------------------------------------------------------------------------

#[test]
fn peer_with_this_sites_id() {
    let text = with("site = 2", "site = 1");
    let line = line_of(&text, "site = 1", 0);
    let p = assert_problem(
        &text,
        "peers[0].site",
        line,
        "peer site id 1 is this site's own id",
    );
    assert_eq!(p.kind, ProblemKind::OwnSite(1));
}

#[test]
fn two_peers_with_one_site_id() {
    let text = format!(
        "{BASE}\n[[peers]]\nsite = 2\nname = \"other\"\naddress = \"192.0.2.7:5200\"\nkey_file = \"/k\"\n"
    );
    let line = line_of(&text, "site = 2", 1);
    assert_problem(
        &text,
        "peers[1].site",
        line,
        "peer site id `2` is already used by peers[0].site",
    );
}

#[test]
fn peer_address_must_be_host_and_port() {
    for bad in [
        "site-b.example",
        "site-b.example:0",
        "site_b.example:5200",
        "2001:db8::1:5200",
        "10.0.0:5200",
    ] {
        let text = with(
            "address = \"site-b.example:5200\"",
            &format!("address = \"{bad}\""),
        );
        let line = line_of(&text, "address", 0);
        assert_problem(&text, "peers[0].address", line, "host:port");
    }
    for good in ["192.0.2.20:5200", "[2001:db8::20]:5200", "SITE-B.example:1"] {
        let text = with(
            "address = \"site-b.example:5200\"",
            &format!("address = \"{good}\""),
        );
        assert!(Config::parse(&text, "site.toml").is_ok(), "{good}");
    }
}

#[test]
fn peer_key_file_is_required_and_absolute() {
    let text = with("key_file = \"/etc/borderlink/keys/nassau.key\"\n", "");
    let error = invalid(&text);
    assert!(
        error.to_string().contains("key_file"),
        "the missing key is named: {error}"
    );
    let text = with(
        "key_file = \"/etc/borderlink/keys/nassau.key\"",
        "key_file = \"keys/nassau.key\"",
    );
    let line = line_of(&text, "key_file", 0);
    assert_problem(&text, "peers[0].key_file", line, "not an absolute path");
}

#[test]
fn peer_suite_defaults_to_gcm_and_names_the_choices() {
    let config = Config::parse(BASE, "site.toml").unwrap();
    assert_eq!(config.peers[0].suite, crate::net::Suite::AeadAes128Gcm);
    let text = with(
        "key_file = \"/etc/borderlink/keys/nassau.key\"",
        "key_file = \"/etc/borderlink/keys/nassau.key\"\nsuite = \"NULL\"",
    );
    let line = line_of(&text, "suite", 0);
    assert_problem(&text, "peers[0].suite", line, "AES_CM_128_HMAC_SHA1_80");
}

#[test]
fn network_defaults_and_ranges() {
    let config = Config::parse(BASE, "site.toml").unwrap();
    assert_eq!(config.network, NetworkSettings::default());
    assert_eq!(config.network.dscp, 46);
    let text = format!(
        "{BASE}\n[network]\nlisten = \"[::]:5300\"\nkeepalive = \"500ms\"\ndown_after = 4\ndscp = 34\nsocket_buffer = 4194304\nmax_streams_per_peer = 32\n"
    );
    let n = Config::parse(&text, "site.toml").unwrap().network;
    assert_eq!(n.listen, "[::]:5300".parse().unwrap());
    assert_eq!(n.keepalive, Duration::from_millis(500));
    assert_eq!((n.down_after, n.dscp, n.socket_buffer), (4, 34, 4 << 20));
    assert_eq!(n.max_streams_per_peer, 32);
    assert_eq!(
        Config::parse(&text, "site.toml")
            .unwrap()
            .engine_config()
            .max_streams_per_peer,
        32
    );
    for (bad, key, fragment) in [
        ("dscp = 64", "network.dscp", "0-63"),
        ("down_after = 1", "network.down_after", "2-100"),
        ("keepalive = \"10ms\"", "network.keepalive", "out of range"),
        (
            "listen = \"somewhere\"",
            "network.listen",
            "not a valid address",
        ),
        ("socket_buffer = 1", "network.socket_buffer", "65536"),
        (
            "max_streams_per_peer = 0",
            "network.max_streams_per_peer",
            "1-1024",
        ),
    ] {
        let text = format!("{BASE}\n[network]\n{bad}\n");
        let line = line_of(&text, bad, 0);
        assert_problem(&text, key, line, fragment);
    }
}

// ---- patches -------------------------------------------------------------------------------

#[test]
fn patch_channel_no_local_radio_serves() {
    let text = with(
        "{ site = 1, network = \"C2000\", group = \"02040000102040551\" }",
        "{ site = 1, network = \"C2000\", group = \"02040000102040999\" }",
    );
    let line = line_of(&text, "02040000102040999", 0);
    let p = assert_problem(
        &text,
        "patches[0].channels[1]",
        line,
        "no radio of this site selects C2000 group 204-1-2040999",
    );
    assert!(matches!(p.kind, ProblemKind::ChannelNotServed(_)));
}

#[test]
fn patch_rule_from_the_engine_names_the_channel() {
    // The group's MCC is ASTRID's but the channel says C2000: PatchSpec::validate's rule.
    let text = with(
        "{ site = 1, network = \"C2000\", group = \"02040000102040551\" }",
        "{ site = 2, network = \"C2000\", group = \"02060000102040551\" }",
    );
    let line = line_of(&text, "02060000102040551", 0);
    let p = assert_problem(
        &text,
        "patches[0].channels[1].group",
        line,
        "the group's MCC 206 is not C2000's (204)",
    );
    assert!(matches!(p.kind, ProblemKind::Patch(_)));
}

#[test]
fn patch_with_one_endpoint() {
    let text = with(
        "  { site = 1, network = \"C2000\", group = \"02040000102040551\" },\n",
        "",
    );
    let line = line_of(&text, "[[patches]]", 0);
    assert_problem(
        &text,
        "patches[0]",
        line,
        "hold 1 endpoint(s); a patch joins at least two",
    );
}

#[test]
fn patch_with_zero_lifetime() {
    let text = format!("{BASE}lifetime = \"0s\"\n");
    let line = line_of(&text, "lifetime", 0);
    assert_problem(&text, "patches[0].lifetime", line, "`lifetime` is zero");
}

#[test]
fn patch_names_an_unknown_site() {
    let text = format!("{BASE}consoles = [{{ site = 7, console = 1 }}]\n");
    let line = line_of(&text, "consoles", 0);
    let p = assert_problem(
        &text,
        "patches[0].consoles[0].site",
        line,
        "site 7 is neither this site (1) nor a configured peer",
    );
    assert_eq!(p.kind, ProblemKind::UnknownSite { site: 7, own: 1 });
}

#[test]
fn group_in_two_patches() {
    let text = format!(
        "{BASE}\n[[patches]]\nname = \"second\"\nchannels = [\n  \
         {{ site = 2, network = \"ASTRID\", group = \"02060000102061002\" }},\n  \
         {{ site = 1, network = \"C2000\", group = \"02040000102040551\" }},\n]\n"
    );
    let line = line_of(&text, "02040000102040551", 2);
    let p = assert_problem(
        &text,
        "patches[1].channels[1].group",
        line,
        "already in patch `border`",
    );
    assert!(matches!(p.kind, ProblemKind::GroupInTwoPatches { .. }));
}

#[test]
fn two_patches_with_one_name() {
    let text = format!(
        "{BASE}\n[[patches]]\nname = \"border\"\nconsoles = [{{ site = 1, console = 1 }}, {{ site = 2, console = 1 }}]\n"
    );
    let line = line_of(&text, "name = \"border\"", 1);
    assert_problem(
        &text,
        "patches[1].name",
        line,
        "patch name `border` is already used by patches[0].name",
    );
}

// ---- all problems at once -------------------------------------------------------------------

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = BASE
        .replacen("id = 1", "id = -1", 1)
        .replacen(
            "issi = \"02040000109000101\"",
            "issi = \"02060000109000101\"",
            1,
        )
        .replacen("radio = \"c2000\"", "radio = \"astrid\"", 1)
        .replacen(
            "address = \"site-b.example:5200\"",
            "address = \"site-b\"",
            1,
        )
        .replacen(
            "name = \"border\"",
            "name = \"border\"\nlifetime = \"2 hours\"",
            1,
        );
    let error = invalid(&text);
    let keys: Vec<&str> = error.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "site.id",
            "radios[1].issi",
            "board.ports[1].radio",
            "peers[0].address",
            "patches[0].lifetime",
        ],
        "{error}"
    );
    let lines: Vec<usize> = error
        .problems()
        .iter()
        .map(|p| p.location.unwrap().line)
        .collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    assert_eq!(error.to_string().lines().count(), 5, "{error}");
}

#[test]
fn shape_errors_in_several_elements_are_all_reported() {
    let text = BASE
        .replacen(
            "alsa = \"hw:1,0\"",
            "alsa = \"hw:1,0\"\ncolour = \"red\"",
            1,
        )
        .replacen("format = \"rtp\"", "format = \"mp3\"", 1)
        .replacen("name = \"nassau\"", "name = 5", 1);
    let error = invalid(&text);
    let keys: Vec<&str> = error.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["radios[0].colour", "radios[1].udp.format", "peers[0].name"],
        "{error}"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let error = Config::load("/nonexistent/borderlink/site.toml").unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/borderlink/site.toml: cannot read"),
        "{error}"
    );
    assert!(error.problems().is_empty());
}

// ---- defaults and conversion ---------------------------------------------------------------

#[test]
fn defaults_are_applied() {
    let config = Config::parse(BASE, "site.toml").unwrap();
    assert_eq!(config.timers, Timers::default());
    assert_eq!(config.timers.hang_time, Duration::from_millis(1_500));
    assert_eq!(config.timers.tx_timeout, Duration::from_secs(120));
    assert_eq!(config.timers.block_time, Duration::from_secs(10));
    assert_eq!(config.timers.grant_wait_bound, Duration::from_secs(1));
    assert_eq!(config.timers.heartbeat, Duration::from_millis(100));
    assert_eq!(config.playout, DelayConfig::default());
    // No caps; between emergencies the sovereignty default: the first one holds the floor.
    assert_eq!(
        config.policy,
        FloorPolicy::unlimited()
            .with_emergency_rule(crate::engine::policy::EmergencyRule::FirstHolds)
    );
    assert_eq!(config.radios[0].baud, DEFAULT_PEI_BAUD);
    assert_eq!(config.radios[0].groups, [config.radios[0].group]);
    let board = config.board.as_ref().unwrap();
    assert_eq!(board.baud, 115_200);
    assert_eq!(board.ports[0].ptt, Polarity::ActiveHigh);
    assert_eq!(board.ports[0].cor, Polarity::ActiveHigh);
    assert_eq!(board.ports[1].ptt, Polarity::ActiveLow);
    assert!(config.gateway_radios.is_empty());
    let patch = &config.patches[0];
    assert_eq!((patch.lifetime, patch.inactivity_timeout), (None, None));
    assert!(patch.consoles.is_empty());
    assert_eq!(patch.kind, PatchKind::Static);
}

const FULL: &str = r#"
gateway_radios = ["02040000109000104", "02060000109000003"]

[site]
id = 3
name = "Putte"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "/dev/radio-astrid"
baud = 9600
issi = "2060000109000003"
group = "02060000102061001"
groups = ["02060000102061002", "02060000102061001"]
udp = { listen = "[::1]:5100", peer = "[::1]:5101", format = "pcma" }

[[radios]]
name = "c2000"
network = "C2000"
serial = "/dev/radio-c2000"
issi = "02040000109000103"
group = "02040000102040551"
alsa = "plughw:CARD=Codec,DEV=0"
pei = { profile = "minimal", registration = true, extra = ["AT+CTSP=1,3,130"] }

[board]
serial = "/dev/board"
baud = 230400

[[board.ports]]
port = 3
radio = "c2000"
cor = "active-low"

[timers]
hang_time = "2s"
tx_timeout = "90s"
block_time = "0"
grant_wait_bound = "1.01s"
heartbeat = "50ms"

[playout]
quantile = 0.9
initial = "80ms"
min = "40ms"
max = "1.5s"

[policy.ASTRID]
max_priority = 15
[policy.C2000]
max_priority = 11
honour_emergency = false
[policy.dispatch]
max_priority = 9
[[policy.sites]]
site = 4
source = "dispatch"
max_priority = 3

[[peers]]
site = 4
name = "Ossendrecht"
address = "[2001:db8::4]:5200"
key_file = "/etc/borderlink/keys/ossendrecht.key"
suite = "AES_CM_128_HMAC_SHA1_80"

[[patches]]
name = "Putte"
channels = [
  { site = 3, network = "ASTRID", group = "02060000102061001" },
  { site = 3, network = "C2000", group = "02040000102040551" },
  { site = 4, network = "C2000", group = "02040000102040551" },
]
consoles = [{ site = 4, console = 2 }]
lifetime = "2h"
inactivity_timeout = "30min"
"#;

#[test]
fn full_config_reaches_the_engine() {
    let config = Config::parse(FULL, "full.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.radios[0].pei, crate::radio::PeiProfile::STANDARD);
    assert_eq!(
        config.radios[1].pei,
        crate::radio::PeiProfile {
            registration: true,
            extra: vec!["AT+CTSP=1,3,130".to_owned()],
            ..crate::radio::PeiProfile::MINIMAL
        }
    );
    let radio = &config.radios[0];
    assert_eq!(radio.baud, 9600);
    assert_eq!(
        radio.groups,
        [tsi(206, 1, 2_061_001), tsi(206, 1, 2_061_002)]
    );
    assert_eq!(
        radio.audio,
        Audio::Udp(UdpAudio {
            listen: "[::1]:5100".parse().unwrap(),
            peer: "[::1]:5101".parse().unwrap(),
            format: UdpFormat::Pcma,
        })
    );
    assert_eq!(
        config.radios[1].audio,
        Audio::Alsa {
            device: "plughw:CARD=Codec,DEV=0".into()
        }
    );
    let board = config.board.as_ref().unwrap();
    assert_eq!(board.baud, 230_400);
    let port = board.port_of(RadioId(1)).unwrap();
    assert_eq!(
        (port.port, port.cor),
        (Port::new(3).unwrap(), Polarity::ActiveLow)
    );
    assert!(board.port_of(RadioId(0)).is_none());

    let engine = config.engine_config();
    assert_eq!(engine.site, SiteId(3));
    assert_eq!(engine.radios.len(), 2);
    assert_eq!(engine.radios[0].id, RadioId(0));
    assert_eq!(engine.radios[0].network, Network::Astrid);
    assert_eq!(engine.radios[0].identity, tsi(206, 1, 9_000_003));
    assert_eq!(engine.radios[1].group, tsi(204, 1, 2_040_551));
    // Own radios plus the others, deduplicated.
    assert_eq!(engine.gateway_identities.len(), 3);
    for id in [
        tsi(206, 1, 9_000_003),
        tsi(204, 1, 9_000_103),
        tsi(204, 1, 9_000_104),
    ] {
        assert!(engine.gateway_identities.contains(id), "{id}");
    }
    assert_eq!(engine.floor.hang_time, Duration::from_secs(2));
    assert_eq!(engine.floor.tx_timeout, Duration::from_secs(90));
    assert_eq!(engine.floor.block_time, Duration::ZERO);
    assert_eq!(engine.delay.quantile, 0.9);
    assert_eq!(engine.delay.mode, PlayoutMode::Adaptive);
    assert_eq!(
        (engine.delay.min, engine.delay.initial, engine.delay.max),
        (
            Duration::from_millis(40),
            Duration::from_millis(80),
            Duration::from_millis(1_500)
        )
    );
    // Sized for the configured bounds, and acceptable to the engine's own checks.
    assert_eq!(engine.grant.max_backlog, 51);
    engine.grant.validate().unwrap();
    engine.jitter.validate(engine.delay.max_delay()).unwrap();
    engine.delay.validate().unwrap();

    let p = |n| Priority::new(n).unwrap();
    let limits = |site, kind| engine.policy.limits(SiteId(site), kind);
    assert_eq!(
        limits(3, SourceKind::Astrid),
        SourceLimits::new(p(15), true)
    );
    assert_eq!(
        limits(3, SourceKind::C2000),
        SourceLimits::new(p(11), false)
    );
    assert_eq!(
        limits(3, SourceKind::Dispatch),
        SourceLimits::new(p(9), true)
    );
    assert_eq!(
        limits(4, SourceKind::Dispatch),
        SourceLimits::new(p(3), true)
    );

    let patches = config.static_patches();
    assert_eq!(patches.len(), 1);
    let patch = &patches[0];
    assert_eq!(patch.name, "Putte");
    assert_eq!(patch.kind, PatchKind::Static);
    assert_eq!(patch.channels.len(), 3);
    assert_eq!(
        patch.channels[2],
        Channel {
            site: SiteId(4),
            network: Network::C2000,
            group: tsi(204, 1, 2_040_551)
        }
    );
    assert_eq!(
        patch.consoles,
        [SiteConsole {
            site: SiteId(4),
            console: ConsoleId(2)
        }]
    );
    assert_eq!(patch.lifetime, Some(Duration::from_secs(7_200)));
    assert_eq!(patch.inactivity_timeout, Some(Duration::from_secs(1_800)));

    // The engine accepts what the config produced.
    let mut engine = crate::engine::relay::Engine::new(engine);
    for spec in patches {
        engine
            .create_patch(borderlink_protocol::time::Instant::ZERO, spec)
            .unwrap();
    }
}

#[test]
fn fixed_playout_delay() {
    let text = format!("{BASE}\n[playout]\nfixed = \"120ms\"\n");
    let config = Config::parse(&text, "site.toml").unwrap();
    assert_eq!(
        config.playout.mode,
        PlayoutMode::Fixed(Duration::from_millis(120))
    );
}

#[test]
fn key_paths_quote_odd_keys() {
    let text = format!("{BASE}\n\"odd key\" = 1\n");
    let line = line_of(&text, "odd key", 0);
    assert_problem(&text, "patches[0].\"odd key\"", line, "unknown key");
}

#[test]
fn location_counts_characters_and_survives_any_offset() {
    let text = "a = \"é\"\nbé = 1\n";
    assert_eq!(Location::of(text, 0), Location { line: 1, column: 1 });
    // Byte 13 is the `=` on line 2, after the two-byte `é`.
    assert_eq!(Location::of(text, 13), Location { line: 2, column: 4 });
    // Inside a character, or past the end: clamped, never a panic.
    assert_eq!(Location::of(text, 6), Location { line: 1, column: 6 });
    assert_eq!(Location::of(text, 1_000).line, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text, and any cut of a valid file, gives a config or problems that each carry a
    /// place inside the text; nothing panics.
    #[test]
    fn hostile_text_never_panics(text in ".{0,200}", cut in 0usize..2_000) {
        for t in [text.as_str(), &BASE[..cut.min(BASE.len())]] {
            if let Err(e) = Config::parse(t, "fuzz.toml") {
                prop_assert!(!e.problems().is_empty());
                for p in e.problems() {
                    if let Some(l) = p.location {
                        prop_assert!(l.line <= t.lines().count() + 1);
                    }
                }
            }
        }
    }
}

// ---- [api] and [state] -------------------------------------------------------------------

#[test]
fn api_and_state_take_defaults_and_absolute_paths() {
    let text = format!(
        "{BASE}\n[api]\ntoken_file = \"/etc/borderlink/tokens\"\n\n[state]\nfile = \"/var/lib/borderlink/patches.json\"\n"
    );
    let config = Config::parse(&text, "site.toml").unwrap();
    let api = config.api.expect("api");
    assert_eq!(api.listen.to_string(), crate::config::DEFAULT_API_LISTEN);
    assert_eq!(
        api.token_file.as_deref(),
        Some(std::path::Path::new("/etc/borderlink/tokens"))
    );
    assert_eq!(api.audit_log, None);
    assert!(api.hosts.is_empty(), "only the listen address by default");
    assert!(
        !api.metrics_without_token,
        "metrics need a token by default"
    );
    assert_eq!(
        config.state_file.as_deref(),
        Some(std::path::Path::new("/var/lib/borderlink/patches.json"))
    );
    let bare = Config::parse(BASE, "site.toml").unwrap();
    assert!(bare.api.is_none() && bare.state_file.is_none());
}

#[test]
fn api_hosts_are_dns_names_and_metrics_may_be_opened() {
    let text =
        format!("{BASE}\n[api]\nhosts = [\"GW-Baarle.example.\"]\nmetrics_without_token = true\n");
    let api = Config::parse(&text, "site.toml").unwrap().api.expect("api");
    assert_eq!(api.hosts, ["gw-baarle.example"]);
    assert!(api.metrics_without_token);
    let text = format!("{BASE}\n[api]\nhosts = [\"ok.example\", \"http://gw:8470\"]\n");
    let line = BASE.lines().count() + 3;
    assert_problem(
        &text,
        "api.hosts[1]",
        line,
        "`http://gw:8470` is not a host name",
    );
}

#[test]
fn api_listen_must_be_an_address_and_port() {
    let line = BASE.lines().count() + 3;
    let text = format!("{BASE}\n[api]\nlisten = \"localhost\"\n");
    assert_problem(&text, "api.listen", line, "an IP address and a port");
}

#[test]
fn api_paths_must_be_absolute() {
    let line = BASE.lines().count() + 3;
    let text = format!("{BASE}\n[api]\naudit_log = \"audit.log\"\n");
    assert_problem(&text, "api.audit_log", line, "not an absolute path");
}

#[test]
fn api_unknown_key_is_named() {
    let line = BASE.lines().count() + 3;
    let text = format!("{BASE}\n[api]\ntoken = \"secret\"\n");
    assert_problem(&text, "api.token", line, "unknown");
}

#[test]
fn state_needs_its_file() {
    let line = BASE.lines().count() + 2;
    let text = format!("{BASE}\n[state]\n");
    assert_problem(&text, "state", line, "file");
}

// ---- radios without PEI ----------------------------------------------------------------------

#[test]
fn a_radio_without_pei_is_driven_by_its_board_port() {
    let text = with("serial = \"/dev/ttyUSB1\"\n", "");
    let config = Config::parse(&text, "site.toml").unwrap();
    assert_eq!(config.radios[1].serial, None);
    assert_eq!(
        config.radios[0].serial.as_deref(),
        Some(std::path::Path::new("/dev/ttyUSB0"))
    );
}

#[test]
fn a_radio_without_pei_and_without_a_board_port_is_refused() {
    let text = with("serial = \"/dev/ttyUSB1\"\n", "").replace(
        "[[board.ports]]\nport = 1\nradio = \"c2000\"\nptt = \"active-low\"\n",
        "",
    );
    let p = assert_problem(
        &text,
        "radios[1]",
        13,
        "must be driven by the interface board",
    );
    assert_eq!(p.kind, ProblemKind::NoControl("c2000".into()));
}

/// The C2000 radio's board port in the base file, and the same with a grant delay.
const C2000_PORT: &str = "radio = \"c2000\"\nptt = \"active-low\"\n";
const C2000_PORT_250MS: &str = "radio = \"c2000\"\nptt = \"active-low\"\ngrant_delay = \"250ms\"\n";

/// The grant delay of the C2000 radio's port in `text`.
fn c2000_grant_delay(text: &str) -> Duration {
    let config = Config::parse(text, "site.toml").unwrap();
    let board = config.board.as_ref().unwrap();
    board.port_of(config.radios[1].id).unwrap().grant_delay
}

#[test]
fn a_radio_without_pei_waits_its_grant_delay_400_ms_by_default() {
    let text = with("serial = \"/dev/ttyUSB1\"\n", "");
    assert_eq!(c2000_grant_delay(&text), Duration::from_millis(400));
    let text = text.replace(C2000_PORT, C2000_PORT_250MS);
    assert_eq!(c2000_grant_delay(&text), Duration::from_millis(250));
}

#[test]
fn a_grant_delay_on_a_pei_radios_port_is_refused() {
    let text = BASE.replace(C2000_PORT, C2000_PORT_250MS);
    assert_ne!(text, BASE, "the port is in the base file");
    let line = text
        .lines()
        .position(|l| l.starts_with("grant_delay"))
        .unwrap()
        + 1;
    assert_problem(&text, "board.ports[1].grant_delay", line, "has a PEI port");
}

/// Every table of the file, inline ones included, refuses a key it does not know, naming it
/// (issue 20: `deny_unknown_fields` could be removed from most tables unnoticed, so
/// `hang_tme = "30s"` would have been taken silently).
#[test]
fn every_table_refuses_a_misspelt_key() {
    let extra = "\n[network]\nlisten = \"0.0.0.0:5200\"\n\n[api]\nlisten = \"127.0.0.1:8470\"\n\
                 \n[state]\nfile = \"/var/lib/borderlink/patches.json\"\n";
    let texts = [
        format!("{FULL}{extra}"),
        format!("{BASE}{}", super::roaming_tests::ROAMING),
    ];
    let mut tried = 0;
    for text in &texts {
        Config::parse(text, "site.toml").expect("valid as written");
        let lines: Vec<&str> = text.lines().collect();
        let mut variants = vec![(
            "the top level".to_owned(),
            format!("misspelt_key = 1\n{text}"),
        )];
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            // `[aliases]` maps identities to call signs: any key is an identity there.
            let header = trimmed.starts_with('[')
                && trimmed.ends_with(']')
                && trimmed
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "[]._".contains(c));
            if header && trimmed != "[aliases]" {
                let mut with = lines.clone();
                with.insert(i + 1, "misspelt_key = 1");
                variants.push((trimmed.to_owned(), with.join("\n")));
            }
            if let Some(at) = line.find("= {") {
                let mut with = lines.clone();
                let patched = format!("{}= {{ misspelt_key = 1, {}", &line[..at], &line[at + 3..]);
                with[i] = &patched;
                variants.push((
                    format!("inline table on `{}`", line.trim()),
                    with.join("\n"),
                ));
            }
        }
        for (what, variant) in variants {
            let err = match Config::parse(&variant, "site.toml") {
                Ok(_) => panic!("{what}: a misspelt key was accepted"),
                Err(e) => e.to_string(),
            };
            assert!(err.contains("misspelt_key"), "{what}: {err}");
            tried += 1;
        }
    }
    // Every table header and inline table of both texts was tried.
    assert!(tried >= 25, "only {tried} tables tried");
}
