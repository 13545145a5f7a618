//! The site core's own decisions that need no world around it: what it saves and when, and a
//! saved state it cannot restore. The rules that need radios, boards and networks (PTT follows
//! the grant, shutdown order, radios without PEI, the soak) are tested with the simulator's
//! world in `sim/src/fast/tests.rs` and `sim/src/soak.rs`.

use super::*;
use crate::engine::patch::{Channel, PatchId, PatchKind, PatchRecord, PatchSpec};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::SiteId;

const SITE: &str = r#"
[site]
id = 1
name = "Meer"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "/dev/borderlink-test-astrid"
issi = "02060000109000001"
group = "02060000102061001"
udp = { listen = "127.0.0.1:40001", peer = "127.0.0.1:41001", format = "pcma" }

[[radios]]
name = "c2000"
network = "C2000"
serial = "/dev/borderlink-test-c2000"
issi = "02040000109000101"
group = "02040000102040551"
udp = { listen = "127.0.0.1:40002", peer = "127.0.0.1:41002", format = "pcma" }
"#;

fn time(ms: u64) -> Time {
    Time {
        now: Instant::from_millis(ms),
        wall: jiff::Timestamp::from_millisecond(1_750_000_000_000 + ms as i64).unwrap(),
    }
}

fn config(state: bool) -> Arc<Config> {
    let text = if state {
        format!("{SITE}\n[state]\nfile = \"/var/lib/borderlink/patches.json\"\n")
    } else {
        SITE.to_owned()
    };
    Arc::new(Config::parse(&text, "site.toml").unwrap())
}

fn record(id: u32) -> PatchRecord {
    PatchRecord {
        id: PatchId(id),
        spec: PatchSpec {
            name: format!("pursuit-{id}"),
            channels: vec![
                Channel {
                    site: SiteId(1),
                    network: Network::Astrid,
                    group: Tsi::from_parts(206, 1, 2_061_001).unwrap(),
                },
                Channel {
                    site: SiteId(1),
                    network: Network::C2000,
                    group: Tsi::from_parts(204, 1, 2_040_551).unwrap(),
                },
            ],
            consoles: Vec::new(),
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Dynamic {
                created_by: "dispatch".to_owned(),
            },
        },
        remaining_lifetime: None,
        remaining_inactivity: None,
    }
}

fn outputs(core: &mut SiteCore) -> Vec<Output> {
    std::iter::from_fn(|| core.poll_output()).collect()
}

fn saves(outputs: &[Output]) -> Vec<(u64, usize)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Persist {
                generation,
                patches,
            } => Some((*generation, patches.patches.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_site_that_keeps_state_saves_what_it_restored_at_once_and_numbers_each_save() {
    let restored = PatchSnapshot {
        next_id: 2,
        patches: vec![record(1)],
    };
    let options = SiteOptions {
        restored: Some(restored),
        ..SiteOptions::default()
    };
    let mut core = SiteCore::new(config(true), time(0), options).unwrap();
    assert_eq!(saves(&outputs(&mut core)), [(1, 1)]);
    core.save_state(time(1_000));
    assert_eq!(saves(&outputs(&mut core)), [(2, 1)]);
}

#[test]
fn a_site_without_a_state_file_saves_nothing() {
    let mut core = SiteCore::new(config(false), time(0), SiteOptions::default()).unwrap();
    core.save_state(time(1_000));
    assert!(saves(&outputs(&mut core)).is_empty());
}

#[test]
fn a_saved_state_the_engine_refuses_is_reported_and_nothing_of_it_is_kept() {
    let options = SiteOptions {
        // Two records under one id: no table writes that.
        restored: Some(PatchSnapshot {
            next_id: 2,
            patches: vec![record(1), record(1)],
        }),
        ..SiteOptions::default()
    };
    let mut core = SiteCore::new(config(true), time(0), options).unwrap();
    let out = outputs(&mut core);
    let problem = out.iter().find_map(|o| match o {
        Output::RestoreFailed { problem } => Some(problem.clone()),
        _ => None,
    });
    assert!(
        problem
            .as_deref()
            .is_some_and(|p| p.contains("already in use")),
        "{out:?}"
    );
    // The state saved next holds nothing of the refused file.
    assert_eq!(saves(&out), [(1, 0)]);
}

#[test]
fn the_release_owes_nothing_when_no_radio_was_keyed() {
    let mut core = SiteCore::new(config(false), time(0), SiteOptions::default()).unwrap();
    core.release_everything(time(10));
    assert!(!core.release_pending());
    assert!(core.ceases_owed().is_empty());
}

/// Audio from a radio that reports no call is not relayed but counted, per radio, as
/// `no_call`; the other causes stay as they were.
#[test]
fn audio_from_a_radio_without_a_call_is_counted_as_no_call_on_that_radio() {
    use crate::audio::drops::{AudioDropCause, AudioDrops};
    let drops = [
        Arc::new(AudioDrops::default()),
        Arc::new(AudioDrops::default()),
    ];
    let options = SiteOptions {
        audio_drops: drops.to_vec(),
        ..SiteOptions::default()
    };
    let mut core = SiteCore::new(config(false), time(0), options).unwrap();
    let frame = [0xd5u8; borderlink_protocol::voice::FRAME_LEN];
    for n in 0..3 {
        core.handle_audio(time(20 * n), 1, &frame);
    }
    assert_eq!(core.audio_drops(AudioDropCause::NoCall), 3);
    assert_eq!(
        drops[1].get(AudioDropCause::NoCall),
        3,
        "counted on the C2000 radio"
    );
    assert_eq!(drops[0].get(AudioDropCause::NoCall), 0);
    assert_eq!(core.audio_drops(AudioDropCause::CaptureQueueFull), 0);
    assert!(
        !outputs(&mut core)
            .iter()
            .any(|o| matches!(o, Output::Audio { .. } | Output::Peer(_))),
        "relayed audio without a call"
    );
}
