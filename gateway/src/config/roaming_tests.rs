//! One test per class of error in the roaming sections (`[[mirrors]]`, `[[zones]]`,
//! `[triggers]`, `[sovereignty]`, `[aliases]`), each asserting the key and the line; and the
//! sections reaching the roaming configuration and the floor policy.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::sds::Status;
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::Priority;

use super::tests::{BASE, assert_problem, example, invalid, line_of};
use super::*;
use crate::engine::policy::{EmergencyRule, SourceLimits};
use crate::roaming::{Creators, MirrorMode, ReplyStyle};

/// Roaming sections that are valid with `BASE` (the mirror is reached at peer site 2).
pub(super) const ROAMING: &str = r#"
[aliases]
"02060000100120012" = "BE-POL Turnhout 12"

[sovereignty]
emergencies = "first-holds"

[sovereignty.ASTRID]
allowed_groups = ["02060000102061001", "02060000102061005"]
foreign_max_priority = 5
creators = "home"

[sovereignty.C2000]
foreign_max_priority = 8
foreign_emergency = false

[[sovereignty.groups]]
group = "02060000102061005"
field_triggers = true

[triggers]
request = 0x8001
extend = 0x8002
end = 0x8003
reply = "status"
ack = 0x8101
refuse = 0x8102

[[mirrors]]
name = "Hazeldonk police"
home = { site = 2, network = "ASTRID", group = "02060000102061005" }
mirror = { site = 2, network = "C2000", group = "02040000102040555" }
mode = "scheduled"
schedule = ["Mon-Fri 07:00-19:00"]
triggers = ["status", "position"]
window = "20min"
inactivity_timeout = "3min"

[[zones]]
name = "Hazeldonk"
mirrors = ["Hazeldonk police"]
polygons = [
  [ [[4.70, 51.4858], [4.78, 51.4858], [4.78, 51.5002], [4.70, 51.5002]] ],
]
exit_margin_m = 150
min_dwell = "1min"
max_position_error_m = 200
"#;

fn text() -> String {
    format!("{BASE}{ROAMING}")
}

/// `text()` with the first `from` replaced by `to`.
fn changed(from: &str, to: &str) -> String {
    let t = text();
    assert!(t.contains(from), "no {from:?}");
    t.replacen(from, to, 1)
}

fn tsi(mcc: u16, mnc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, mnc, ssi).unwrap()
}

#[test]
fn roaming_sections_reach_the_configuration_and_the_policy() {
    let config = Config::parse(&text(), "site.toml").unwrap_or_else(|e| panic!("{e}"));
    let r = &config.roaming;
    assert_eq!(r.mirrors.len(), 1);
    let m = &r.mirrors[0];
    assert_eq!(m.home.group, tsi(206, 1, 2_061_005));
    assert!(matches!(&m.mode, MirrorMode::Scheduled(s) if s.windows().len() == 1));
    assert!(m.triggers.status && m.triggers.position && !m.triggers.dispatch);
    assert_eq!(m.window, Duration::from_secs(20 * 60));
    assert_eq!(m.inactivity_timeout, Duration::from_secs(3 * 60));
    assert_eq!(r.zones.len(), 1);
    assert_eq!(r.zones[0].exit_margin_m, 150.0);
    assert_eq!(r.zones[0].max_position_error_m, Some(200));
    assert_eq!(r.triggers.request, Some(Status::new(0x8001)));
    assert_eq!(
        r.triggers.reply,
        ReplyStyle::Status {
            ack: Status::new(0x8101),
            refuse: Status::new(0x8102)
        }
    );
    assert_eq!(
        r.aliases.call_sign(tsi(206, 1, 120_012)),
        Some("BE-POL Turnhout 12")
    );
    assert!(
        r.sovereignty
            .allows_group(Network::Astrid, tsi(206, 1, 2_061_005))
    );
    assert!(
        !r.sovereignty
            .allows_group(Network::Astrid, tsi(206, 1, 2_061_002))
    );
    assert_eq!(
        r.sovereignty
            .creators(Network::Astrid, tsi(206, 1, 2_061_005)),
        Creators::Home
    );
    // The floor limits are in the policy every site shares.
    assert_eq!(config.policy.emergency_rule(), EmergencyRule::FirstHolds);
    assert_eq!(
        config
            .policy
            .foreign_limits(Network::C2000, tsi(204, 1, 2_040_555)),
        Some(SourceLimits::new(Priority::new(8).unwrap(), false))
    );
    assert_eq!(
        config
            .engine_config()
            .policy
            .foreign_limits(Network::Astrid, tsi(206, 1, 2_061_005)),
        Some(SourceLimits::new(Priority::new(5).unwrap(), true))
    );
}

#[test]
fn a_static_patch_on_a_group_its_country_forbids_is_refused() {
    // `docs/roaming.md`: a group not allowed is never patched, by roaming or dispatch; the
    // config file's static patches are no exception.
    let t = changed(
        "allowed_groups = [\"02060000102061001\", \"02060000102061005\"]",
        "allowed_groups = [\"02060000102061005\"]",
    );
    let line = line_of(
        &t,
        "{ site = 1, network = \"ASTRID\", group = \"02060000102061001\" }",
        0,
    );
    assert_problem(
        &t,
        "patches[0].channels[0].group",
        line,
        "is not in `sovereignty.ASTRID.allowed_groups`: a group not allowed is never patched",
    );
}

#[test]
fn a_mirror_of_a_group_its_country_forbids_is_refused() {
    let t = changed(
        "home = { site = 2, network = \"ASTRID\", group = \"02060000102061005\" }",
        "home = { site = 2, network = \"ASTRID\", group = \"02060000102061007\" }",
    );
    let line = line_of(&t, "home = { site = 2", 0);
    assert_problem(
        &t,
        "mirrors[0].home.group",
        line,
        "is not in `sovereignty.ASTRID.allowed_groups`: a group not allowed is never patched",
    );
}

#[test]
fn a_mirror_joins_two_networks() {
    let t = changed(
        "mirror = { site = 2, network = \"C2000\", group = \"02040000102040555\" }",
        "mirror = { site = 2, network = \"ASTRID\", group = \"02060000102061006\" }",
    );
    let line = line_of(&t, "mirror = { site = 2", 0);
    assert_problem(
        &t,
        "mirrors[0].mirror.network",
        line,
        "home and mirror are both on ASTRID",
    );
}

#[test]
fn a_mirror_group_must_carry_its_networks_mcc() {
    let t = changed(
        "group = \"02040000102040555\"",
        "group = \"02060000102040555\"",
    );
    let line = line_of(&t, "mirror = { site = 2", 0);
    assert_problem(
        &t,
        "mirrors[0].mirror.group",
        line,
        "has MCC 206, but C2000 identities have MCC 204",
    );
}

#[test]
fn a_local_mirror_channel_needs_a_radio_on_its_group() {
    let t = changed(
        "mirror = { site = 2, network = \"C2000\"",
        "mirror = { site = 1, network = \"C2000\"",
    );
    let line = line_of(&t, "mirror = { site = 1", 0);
    assert_problem(
        &t,
        "mirrors[0].mirror",
        line,
        "no radio of this site selects C2000 group",
    );
}

#[test]
fn a_mirror_group_already_in_a_static_patch() {
    let t = changed(
        "group = \"02040000102040555\"",
        "group = \"02040000102040551\"",
    );
    let line = line_of(&t, "mirror = { site = 2", 0);
    assert_problem(
        &t,
        "mirrors[0].mirror.group",
        line,
        "is already in patch `border`",
    );
}

#[test]
fn a_mirror_site_must_be_known() {
    let t = changed("home = { site = 2,", "home = { site = 7,");
    let line = line_of(&t, "home = { site = 7", 0);
    assert_problem(
        &t,
        "mirrors[0].home.site",
        line,
        "site 7 is neither this site (1) nor a configured peer",
    );
}

#[test]
fn scheduled_mirrors_need_windows_that_parse() {
    let t = changed("schedule = [\"Mon-Fri 07:00-19:00\"]\n", "");
    let line = line_of(&t, "mode = \"scheduled\"", 0);
    assert_problem(
        &t,
        "mirrors[0].schedule",
        line,
        "a scheduled mirror needs `schedule",
    );
    let t = changed("Mon-Fri 07:00-19:00", "Mon-Fry 07:00-19:00");
    let line = line_of(&t, "schedule = [", 0);
    assert_problem(&t, "mirrors[0].schedule[0]", line, "`Fry` is not a day");
    let t = changed("mode = \"scheduled\"", "mode = \"on-demand\"");
    let line = line_of(&t, "schedule = [", 0);
    assert_problem(
        &t,
        "mirrors[0].schedule",
        line,
        "a schedule only applies to `mode = \"scheduled\"`",
    );
}

#[test]
fn mode_and_trigger_words_are_listed() {
    let t = changed("mode = \"scheduled\"", "mode = \"sometimes\"");
    let line = line_of(&t, "mode = \"sometimes\"", 0);
    assert_problem(
        &t,
        "mirrors[0].mode",
        line,
        "\"permanent\", \"scheduled\", \"on-demand\"",
    );
    let t = changed(
        "triggers = [\"status\", \"position\"]",
        "triggers = [\"radio\"]",
    );
    let line = line_of(&t, "triggers = [\"radio\"]", 0);
    assert_problem(
        &t,
        "mirrors[0].triggers[0]",
        line,
        "\"status\", \"position\", \"dispatch\"",
    );
}

#[test]
fn mirror_window_out_of_range_and_unknown_keys() {
    let t = changed("window = \"20min\"", "window = \"2s\"");
    let line = line_of(&t, "window = \"2s\"", 0);
    assert_problem(&t, "mirrors[0].window", line, "expected 60 s to 86400 s");
    let t = changed("window = \"20min\"", "windw = \"20min\"");
    let line = line_of(&t, "windw", 0);
    assert_problem(&t, "mirrors[0].windw", line, "unknown key `windw`");
}

#[test]
fn a_zone_names_existing_mirrors() {
    let t = changed(
        "mirrors = [\"Hazeldonk police\"]",
        "mirrors = [\"Meer police\"]",
    );
    let line = line_of(&t, "mirrors = [\"Meer police\"]", 0);
    assert_problem(
        &t,
        "zones[0].mirrors[0]",
        line,
        "no mirror is named `Meer police`: expected one of `Hazeldonk police`",
    );
}

#[test]
fn zone_geometry_errors_name_the_vertex_or_ring() {
    let t = changed("[4.78, 51.4858],", "[4.78, 51.4858, 3.0],");
    let line = line_of(&t, "[4.78, 51.4858, 3.0]", 0);
    assert_problem(
        &t,
        "zones[0].polygons[0][0][1]",
        line,
        "a vertex is [longitude, latitude], got 3 number(s)",
    );
    let t = changed("[4.70, 51.4858]", "[4.70, 95.0]");
    assert_problem(
        &t,
        "zones[0].polygons[0][0][0]",
        line_of(&t, "[4.70, 95.0]", 0),
        "latitude 95 is not within -90..=90 degrees",
    );
    let t = changed(
        "[ [[4.70, 51.4858], [4.78, 51.4858], [4.78, 51.5002], [4.70, 51.5002]] ]",
        "[ [[4.70, 51.4858], [4.78, 51.4858]] ]",
    );
    assert_problem(
        &t,
        "zones[0].polygons[0][0]",
        line_of(&t, "[[4.70, 51.4858], [4.78, 51.4858]]", 0),
        "a ring needs at least 3 distinct vertices, this one has 2",
    );
    let t = changed("exit_margin_m = 150", "exit_margin_m = -1");
    assert_problem(
        &t,
        "zones[0].exit_margin_m",
        line_of(&t, "exit_margin_m = -1", 0),
        "expected metres, 0-5000",
    );
}

#[test]
fn status_values_come_from_the_network_range_and_mean_one_thing() {
    let t = changed("request = 0x8001", "request = 0x0001");
    assert_problem(
        &t,
        "triggers.request",
        line_of(&t, "request = 0x0001", 0),
        "expected a status value 0x8000-0xFFFF",
    );
    let t = changed("extend = 0x8002", "extend = 0x8001");
    assert_problem(
        &t,
        "triggers.extend",
        line_of(&t, "extend = 0x8001", 0),
        "status value `0x8001` is already used by triggers.request",
    );
    let t = changed("ack = 0x8101\n", "");
    assert_problem(
        &t,
        "triggers.reply",
        line_of(&t, "reply = \"status\"", 0),
        "`reply = \"status\"` needs the `ack` and `refuse` status values",
    );
}

#[test]
fn sovereignty_errors_name_the_rule() {
    let t = changed(
        "allowed_groups = [\"02060000102061001\", \"02060000102061005\"]",
        "allowed_groups = [\"02040000102061005\", \"02060000102061001\"]",
    );
    assert_problem(
        &t,
        "sovereignty.ASTRID.allowed_groups[0]",
        line_of(&t, "allowed_groups = [\"0204", 0),
        "has MCC 204, but ASTRID identities have MCC 206",
    );
    let t = changed("foreign_max_priority = 8", "foreign_max_priority = 16");
    assert_problem(
        &t,
        "sovereignty.C2000.foreign_max_priority",
        line_of(&t, "foreign_max_priority = 16", 0),
        "expected a priority, 0-15",
    );
    let t = format!(
        "{}\n[[sovereignty.groups]]\ngroup = \"02060000102061005\"\nfield_triggers = false\n",
        text()
    );
    assert_problem(
        &t,
        "sovereignty.groups[1].group",
        line_of(&t, "group = \"02060000102061005\"", 2),
        "group rule `206-1-2061005` is already used by sovereignty.groups[0].group",
    );
    let t = changed("creators = \"home\"", "creators = \"anyone\"");
    assert_problem(
        &t,
        "sovereignty.ASTRID.creators",
        line_of(&t, "creators = \"anyone\"", 0),
        "\"home\", \"both\"",
    );
}

#[test]
fn alias_keys_are_identities_and_call_signs_are_not_blank() {
    let t = changed("\"02060000100120012\" = ", "\"1234\" = ");
    assert_problem(
        &t,
        "aliases.1234",
        line_of(&t, "\"1234\" = ", 0),
        "is a bare SSI",
    );
    let t = changed("= \"BE-POL Turnhout 12\"", "= \"  \"");
    assert_problem(
        &t,
        "aliases.02060000100120012",
        line_of(&t, "= \"  \"", 0),
        "must not be empty",
    );
}

#[test]
fn a_broken_mirror_does_not_echo_in_the_zone() {
    // The mirror's name is blank: reported once, at the mirror, not again as an unknown
    // mirror in the zone.
    let t = changed("name = \"Hazeldonk police\"", "name = \"\"");
    let error = invalid(&t);
    let keys: Vec<&str> = error.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["mirrors[0].name"], "{error}");
}

#[test]
fn the_examples_configure_roaming() {
    for name in ["one-box.toml", "two-site-a.toml", "two-site-b.toml"] {
        let config = Config::load(example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!config.roaming.aliases.is_empty(), "{name}");
        assert!(config.roaming.triggers.request.is_some(), "{name}");
    }
    let a = Config::load(example("two-site-a.toml")).unwrap();
    let b = Config::load(example("two-site-b.toml")).unwrap();
    // Both sites run the same sovereignty rules (they are part of the shared policy).
    assert_eq!(a.policy, b.policy);
    assert_eq!(a.roaming.sovereignty, b.roaming.sovereignty);
}

#[test]
fn the_commented_mirror_example_is_valid_when_uncommented() {
    let text = std::fs::read_to_string(example("one-box.toml")).unwrap();
    // Drop the static patch (its groups go to the mirror) and uncomment the marked block.
    let (before_patch, rest) = text.split_once("[[patches]]").unwrap();
    let after_patch = &rest[rest.find("# ---- semi-roaming").unwrap()..];
    let mut out = String::from(before_patch);
    let mut inside = false;
    for line in after_patch.lines() {
        if line.starts_with("# >>> mirror example") {
            inside = true;
        } else if line.starts_with("# <<< mirror example") {
            inside = false;
        } else if inside {
            out.push_str(
                line.strip_prefix("# ")
                    .unwrap_or(line.trim_start_matches('#')),
            );
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    let config = Config::parse(&out, "one-box.toml").unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(config.patches.is_empty());
    assert_eq!(config.roaming.mirrors.len(), 1);
    assert_eq!(config.roaming.zones.len(), 1);
    assert_eq!(config.roaming.zones[0].area.polygons()[0].holes().len(), 1);
}
