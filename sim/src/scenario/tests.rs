use super::*;

const MINIMAL: &str = r#"
name = "t"
duration = "10s"

[[sites]]
id = 1
name = "A"
radios = [
    { name = "astrid", network = "ASTRID", issi = "02060000109000001", group = "02060000102061001" },
    { name = "c2000", network = "C2000", issi = "02040000109000101", group = "02040000102040551" },
]

[[units]]
name = "u"
issi = "02060000101234567"
network = "ASTRID"
group = "02060000102061001"
"#;

fn errors(extra: &str) -> Vec<String> {
    let text = format!("{MINIMAL}{extra}");
    match Scenario::parse(&text, "s.toml") {
        Ok(_) => panic!("accepted:\n{extra}"),
        Err(e) => e.to_string().lines().map(String::from).collect(),
    }
}

/// The line of `needle` in the minimal scenario plus `extra`.
fn line_of(extra: &str, needle: &str) -> usize {
    let text = format!("{MINIMAL}{extra}");
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_built_in_border_scenario_is_valid() {
    let s = Scenario::border();
    assert_eq!(s.sites.len(), 2);
    assert!(s.units.iter().any(|u| u.route.is_some()));
    assert!(
        s.events.windows(2).all(|w| w[0].at <= w[1].at),
        "time order"
    );
    assert!(s.events.iter().any(|e| matches!(
        e.action,
        Action::Kill {
            site: 1,
            restart_after: Some(_)
        }
    )));
}

#[test]
fn the_border_scenario_mixes_dialects_and_unknown_ones_are_named() {
    use crate::radio::Dialect;
    let s = Scenario::border();
    let dialects: Vec<Dialect> = s
        .sites
        .iter()
        .flat_map(|site| site.radios.iter().map(|r| r.dialect))
        .collect();
    assert!(dialects.contains(&Dialect::Full) && dialects.contains(&Dialect::Lean));

    let text = MINIMAL.replace(
        "group = \"02040000102040551\" }",
        "group = \"02040000102040551\", dialect = \"motorola\" }",
    );
    let err = Scenario::parse(&text, "s.toml").unwrap_err().to_string();
    assert!(
        err.contains("sites[0].radios[1].dialect") && err.contains("unknown dialect `motorola`"),
        "{err}"
    );
}

#[test]
fn every_scenario_file_in_the_tree_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn a_minimal_scenario_takes_the_defaults() {
    let s = Scenario::parse(MINIMAL, "s.toml").unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.astrid, NetworkConfig::default());
    assert_eq!(s.gateway, GatewaySettings::default());
    assert_eq!(s.links, LinkPlan::default());
}

#[test]
fn a_talk_event_names_an_existing_unit_with_file_line_and_key() {
    let extra = "\n[[events]]\nat = \"1s\"\ntalk = \"nobody\"\nfor = \"2s\"\n";
    let e = errors(extra);
    let line = line_of(extra, "nobody");
    assert_eq!(
        e,
        [format!(
            "s.toml:{line}:8: events[0].talk: no unit named `nobody` in [[units]]"
        )]
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let extra = r#"
[network]
loss = 1.5
jitter = "fast"

[[events]]
at = "20s"
talk = "u"
for = "1s"
priority = 16
"#;
    let e = errors(extra);
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].contains("network.jitter:"), "{}", e[0]);
    assert!(
        e[1].contains("network.loss: 1.5 is not a probability"),
        "{}",
        e[1]
    );
    assert!(
        e[2].contains("events[0].at: after the end of the run"),
        "{}",
        e[2]
    );
    assert!(
        e[3].contains("events[0].priority: 16 is out of range 0..=15"),
        "{}",
        e[3]
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let extra = "\n[[events]]\nat = \"1s\"\ntalk = \"u\"\nfor = \"1s\"\nvolume = 11\n";
    let e = errors(extra);
    let line = line_of(extra, "volume");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(&format!("s.toml:{line}:1: volume: unknown field `volume`")),
        "{}",
        e[0]
    );
}

#[test]
fn an_event_needs_exactly_one_action_and_only_its_options() {
    let extra = "\n[[events]]\nat = \"1s\"\nkill = 1\ntalk = \"u\"\n\n[[events]]\nat = \"2s\"\nkill = 1\npriority = 3\n";
    let e = errors(extra);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].ends_with("events[0]: one action per event, not talk and kill"),
        "{}",
        e[0]
    );
    assert!(
        e[1].ends_with("events[1].priority: `priority` goes with talk, not with kill"),
        "{}",
        e[1]
    );
}

#[test]
fn a_patch_channel_must_be_reached_by_a_radio_of_its_site() {
    let extra = r#"
[[patches]]
name = "p"
channels = [
    { site = 1, network = "ASTRID", group = "02060000102061001" },
    { site = 1, network = "C2000", group = "02040000102040999" },
    { site = 2, network = "C2000", group = "02040000102040551" },
]
"#;
    let e = errors(extra);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].contains("patches[0].channels[1]: site 1 has no C2000 radio on group 204-1-2040999"),
        "{}",
        e[0]
    );
    assert!(
        e[1].contains("patches[0].channels[2].site: no site 2 in [[sites]]"),
        "{}",
        e[1]
    );
}

#[test]
fn identities_must_belong_to_their_network() {
    let text = MINIMAL.replace(
        "{ name = \"c2000\", network = \"C2000\", issi = \"02040000109000101\"",
        "{ name = \"c2000\", network = \"C2000\", issi = \"02060000109000101\"",
    );
    let e = Scenario::parse(&text, "s.toml").unwrap_err().to_string();
    assert!(
        e.contains("sites[0].radios[1].issi: identity 206-1-9000101 has MCC 206, but C2000 identities have MCC 204"),
        "{e}"
    );
}

#[test]
fn an_unpatch_must_follow_its_patch_and_a_partition_joins_two_sites() {
    let extra = "\n[[events]]\nat = \"1s\"\nunpatch = \"never\"\n\n[[events]]\nat = \"1s\"\npartition = [1, 1]\nfor = \"1s\"\n";
    let e = errors(extra);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("no patch named `never` before this event"));
    assert!(e[1].contains("events[1].partition: two different sites"));
}

#[test]
fn jitter_p95_of_the_uniform_and_normal_models() {
    let mut plan = LinkPlan::default();
    plan.default.jitter = Jitter::Uniform {
        max: Duration::from_millis(10),
    };
    assert_eq!(plan.jitter_p95(1, 2), Duration::from_micros(9_500));
    plan.overrides.push((
        2,
        1,
        LinkConfig {
            jitter: Jitter::Normal {
                std_dev: Duration::from_millis(2),
            },
            ..LinkConfig::default()
        },
    ));
    assert_eq!(plan.jitter_p95(2, 1), Duration::from_micros(3_290));
}
