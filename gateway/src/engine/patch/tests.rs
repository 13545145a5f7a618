use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::SiteId;

use super::*;
use crate::engine::endpoint::ConsoleId;

fn astrid(ssi: u32) -> Tsi {
    Tsi::from_parts(206, 1, ssi).unwrap()
}

fn c2000(ssi: u32) -> Tsi {
    Tsi::from_parts(204, 1, ssi).unwrap()
}

fn ch(site: u16, network: Network, group: Tsi) -> Channel {
    Channel {
        site: SiteId(site),
        network,
        group,
    }
}

fn console(site: u16, id: u16) -> SiteConsole {
    SiteConsole {
        site: SiteId(site),
        console: ConsoleId(id),
    }
}

/// ASTRID group `a` and C2000 group `c` at site 1.
fn pair(name: &str, a: u32, c: u32) -> PatchSpec {
    PatchSpec {
        name: name.into(),
        channels: vec![
            ch(1, Network::Astrid, astrid(a)),
            ch(1, Network::C2000, c2000(c)),
        ],
        consoles: vec![],
        lifetime: None,
        inactivity_timeout: None,
        kind: PatchKind::Static,
    }
}

fn t(secs: u64) -> Instant {
    Instant::from_micros(secs * 1_000_000)
}

const MIN: Duration = Duration::from_secs(60);

fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

#[test]
fn each_rule_of_a_definition_names_its_field() {
    let ok = pair("A12", 2_061_001, 2_040_551);
    assert_eq!(ok.validate(), Ok(()));

    let mut s = ok.clone();
    s.name = "  ".into();
    assert_eq!(s.validate(), Err(PatchError::EmptyName));
    assert_eq!(
        s.validate().unwrap_err().to_string(),
        "patch `name` is empty"
    );

    let mut s = ok.clone();
    s.channels.truncate(1);
    let e = s.validate().unwrap_err();
    assert_eq!(
        e,
        PatchError::TooFewEndpoints {
            name: "A12".into(),
            count: 1
        }
    );
    assert!(e.to_string().contains("hold 1 endpoint(s)"), "{e}");
    // A channel and a console are two endpoints.
    s.consoles.push(console(1, 0));
    assert_eq!(s.validate(), Ok(()));
    s.channels.clear();
    s.consoles.clear();
    assert!(matches!(
        s.validate(),
        Err(PatchError::TooFewEndpoints { count: 0, .. })
    ));

    let mut s = ok.clone();
    s.channels[1].group = astrid(2_040_551); // an ASTRID group on the C2000 channel
    let e = s.validate().unwrap_err();
    assert_eq!(
        e,
        PatchError::GroupNotInNetwork {
            name: "A12".into(),
            index: 1,
            channel: s.channels[1]
        }
    );
    assert_eq!(
        e.to_string(),
        "patch 'A12': `channels[1]` (site 1 C2000 group 206-1-2040551): the group's MCC 206 is not C2000's (204)"
    );
    // An MCC that is neither network's is refused too.
    let mut s = ok.clone();
    s.channels[0].group = Tsi::from_parts(262, 1, 5).unwrap();
    assert!(matches!(
        s.validate(),
        Err(PatchError::GroupNotInNetwork { index: 0, .. })
    ));

    let mut s = ok.clone();
    s.channels.push(s.channels[0]);
    let e = s.validate().unwrap_err();
    assert_eq!(
        e,
        PatchError::DuplicateChannel {
            name: "A12".into(),
            index: 2,
            first: 0,
            channel: s.channels[0]
        }
    );
    assert!(e.to_string().contains("`channels[2]`") && e.to_string().contains("`channels[0]`"));
    // The same group at another site is a different channel.
    let mut s = ok.clone();
    s.channels.push(ch(2, Network::Astrid, astrid(2_061_001)));
    assert_eq!(s.validate(), Ok(()));

    let mut s = ok.clone();
    s.consoles = vec![console(1, 3), console(2, 3), console(1, 3)];
    let e = s.validate().unwrap_err();
    assert_eq!(
        e,
        PatchError::DuplicateConsole {
            name: "A12".into(),
            index: 2,
            first: 0,
            console: console(1, 3)
        }
    );
    assert!(
        e.to_string().contains("`consoles[2]` (site 1 console 3)"),
        "{e}"
    );

    let mut s = ok.clone();
    s.lifetime = Some(Duration::ZERO);
    let e = s.validate().unwrap_err();
    assert_eq!(e, PatchError::ZeroLifetime { name: "A12".into() });
    assert!(e.to_string().contains("`lifetime`"));

    let mut s = ok.clone();
    s.inactivity_timeout = Some(Duration::ZERO);
    let e = s.validate().unwrap_err();
    assert_eq!(e, PatchError::ZeroInactivityTimeout { name: "A12".into() });
    assert!(e.to_string().contains("`inactivity_timeout`"));
}

#[test]
fn a_channel_belongs_to_one_patch_and_is_free_again_after_remove() {
    let mut table = PatchTable::new();
    let a = table.create(t(0), pair("A", 1, 1)).unwrap();
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::Astrid, astrid(1)),
        Some(a)
    );
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::C2000, c2000(1)),
        Some(a)
    );
    assert_eq!(
        table.patch_of_channel(SiteId(2), Network::C2000, c2000(1)),
        None
    );

    // B shares the C2000 group at site 1 with A.
    let e = table.create(t(0), pair("B", 2, 1)).unwrap_err();
    assert_eq!(
        e,
        PatchError::ChannelInUse {
            name: "B".into(),
            index: 1,
            channel: ch(1, Network::C2000, c2000(1)),
            other: a,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "patch 'B': `channels[1]` (site 1 C2000 group 204-1-1): its group is already in {a}"
        )
    );
    assert_eq!(table.len(), 1);
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::Astrid, astrid(2)),
        None
    );

    let spec = table.remove(a).unwrap();
    assert_eq!(spec.name, "A");
    assert_eq!(table.remove(a), Err(PatchError::UnknownPatch(a)));
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::C2000, c2000(1)),
        None
    );
    let b = table.create(t(0), pair("B", 2, 1)).unwrap();
    assert_ne!(a, b, "ids are not reused");
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::C2000, c2000(1)),
        Some(b)
    );
}

#[test]
fn a_group_belongs_to_one_patch_whatever_the_site() {
    let mut table = PatchTable::new();
    let a = table.create(t(0), pair("A", 1, 1)).unwrap();
    assert_eq!(table.patch_of_group(c2000(1)), Some(a));
    assert_eq!(table.patch_of_group(astrid(1)), Some(a));
    assert_eq!(table.patch_of_group(c2000(2)), None);
    // Site 2 joining the same C2000 group into another patch would merge two conversations.
    let mut other = pair("C", 2, 1);
    for channel in &mut other.channels {
        channel.site = SiteId(2);
    }
    assert!(matches!(
        table.create(t(0), other),
        Err(PatchError::ChannelInUse { index: 1, other, .. }) if other == a
    ));
}

#[test]
fn modify_keeps_the_id_and_revalidates() {
    let mut table = PatchTable::new();
    let a = table.create(t(0), pair("A", 1, 1)).unwrap();
    let b = table.create(t(0), pair("B", 2, 2)).unwrap();

    // Keeping its own channels is fine; adding a console and a third group too.
    let mut spec = pair("A wider", 1, 1);
    spec.channels.push(ch(2, Network::C2000, c2000(1)));
    spec.consoles.push(console(2, 0));
    table.modify(t(5), a, spec.clone()).unwrap();
    assert_eq!(table.get(a).unwrap().spec(), &spec);
    assert_eq!(
        table.patch_of_channel(SiteId(2), Network::C2000, c2000(1)),
        Some(a)
    );
    assert_eq!(
        table.patches_of_console(console(2, 0)).collect::<Vec<_>>(),
        vec![a]
    );

    // Taking B's channel is refused and leaves A untouched.
    let mut stolen = spec.clone();
    stolen.channels.push(ch(1, Network::Astrid, astrid(2)));
    assert!(matches!(
        table.modify(t(6), a, stolen),
        Err(PatchError::ChannelInUse { index: 3, other, .. }) if other == b
    ));
    let mut bad = spec.clone();
    bad.lifetime = Some(Duration::ZERO);
    assert!(matches!(
        table.modify(t(6), a, bad),
        Err(PatchError::ZeroLifetime { .. })
    ));
    assert_eq!(table.get(a).unwrap().spec(), &spec);
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::Astrid, astrid(2)),
        Some(b)
    );

    // Dropping a channel frees it.
    table.modify(t(7), a, pair("A", 1, 1)).unwrap();
    assert_eq!(
        table.patch_of_channel(SiteId(2), Network::C2000, c2000(1)),
        None
    );
    assert_eq!(table.patches_of_console(console(2, 0)).count(), 0);

    assert_eq!(
        table.modify(t(7), PatchId(999), pair("Z", 9, 9)),
        Err(PatchError::UnknownPatch(PatchId(999)))
    );
    assert_eq!(table.len(), 2);
}

#[test]
fn modify_restarts_the_lifetime_and_the_inactivity_timeout() {
    let mut table = PatchTable::new();
    let mut spec = pair("A", 1, 1);
    spec.lifetime = Some(mins(10));
    spec.inactivity_timeout = Some(mins(3));
    let a = table.create(t(0), spec.clone()).unwrap();
    table.modify(t(120), a, spec).unwrap();
    let p = table.get(a).unwrap();
    assert_eq!(p.expires_at(), Some(t(120) + mins(10)));
    assert_eq!(p.inactive_at(), Some(t(120) + mins(3)));
}

#[test]
fn lifetime_expires_exactly_on_time() {
    let mut table = PatchTable::new();
    let mut spec = pair("A", 1, 1);
    spec.lifetime = Some(mins(120));
    let a = table.create(t(100), spec.clone()).unwrap();
    let end = t(100) + mins(120);
    assert_eq!(table.poll_timeout(), Some(end));

    // Traffic does not extend a lifetime.
    table.touch(a, end - Duration::from_secs(1));
    table.handle_timeout(end - Duration::from_micros(1));
    assert_eq!(table.poll_event(), None);
    assert_eq!(table.len(), 1);

    table.handle_timeout(end);
    assert_eq!(
        table.poll_event(),
        Some(PatchEvent::Dissolved {
            id: a,
            spec,
            reason: DissolveReason::Expired
        })
    );
    assert_eq!(table.poll_event(), None);
    assert!(table.is_empty());
    assert_eq!(table.poll_timeout(), None);
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::Astrid, astrid(1)),
        None
    );
}

#[test]
fn inactivity_dissolves_exactly_on_time_and_traffic_resets_it() {
    let mut table = PatchTable::new();
    let mut spec = pair("A", 1, 1);
    spec.inactivity_timeout = Some(mins(5));
    let a = table.create(t(0), spec).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(300)));

    table.touch(a, t(200));
    assert_eq!(table.patches.get(&a).unwrap().inactive_at(), Some(t(500)));
    // A touch costs no search: the table wakes at the old deadline, finds nothing due and
    // learns the new one.
    assert_eq!(table.poll_timeout(), Some(t(300)));
    table.handle_timeout(t(300));
    assert_eq!(table.poll_event(), None);
    assert_eq!(table.poll_timeout(), Some(t(500)));
    // A late touch with an older time does not pull the deadline back.
    table.touch(a, t(100));
    assert_eq!(table.poll_timeout(), Some(t(500)));
    // Touching an unknown patch is harmless.
    table.touch(PatchId(42), t(200));
    table.handle_timeout(t(500) - Duration::from_micros(1));
    assert_eq!(table.poll_event(), None);
    table.handle_timeout(t(500));
    assert!(matches!(
        table.poll_event(),
        Some(PatchEvent::Dissolved { id, reason: DissolveReason::Inactive, .. }) if id == a
    ));
    assert!(table.is_empty());
}

#[test]
fn expiry_wins_when_both_deadlines_coincide() {
    let mut table = PatchTable::new();
    let mut spec = pair("A", 1, 1);
    spec.lifetime = Some(MIN);
    spec.inactivity_timeout = Some(MIN);
    table.create(t(0), spec).unwrap();
    table.handle_timeout(t(60));
    assert!(matches!(
        table.poll_event(),
        Some(PatchEvent::Dissolved {
            reason: DissolveReason::Expired,
            ..
        })
    ));
}

#[test]
fn poll_timeout_is_the_earliest_deadline_of_any_patch() {
    let mut table = PatchTable::new();
    assert_eq!(table.poll_timeout(), None);
    // A patch that never ends does not wake anyone.
    table.create(t(0), pair("forever", 9, 9)).unwrap();
    assert_eq!(table.poll_timeout(), None);

    let mut a = pair("A", 1, 1);
    a.lifetime = Some(mins(10));
    a.inactivity_timeout = Some(mins(4));
    let a = table.create(t(0), a).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(240))); // A's inactivity, before its lifetime
    let mut b = pair("B", 2, 2);
    b.lifetime = Some(mins(2));
    let b = table.create(t(60), b).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(180))); // B's lifetime

    table.handle_timeout(t(180));
    assert!(matches!(table.poll_event(), Some(PatchEvent::Dissolved { id, .. }) if id == b));
    assert_eq!(table.poll_event(), None);
    assert_eq!(table.poll_timeout(), Some(t(240)));
    table.touch(a, t(120));
    // Early (A's old deadline) until a timeout call looks again, never late.
    assert_eq!(table.poll_timeout(), Some(t(240)));
    table.handle_timeout(t(240));
    assert_eq!(table.poll_event(), None);
    assert_eq!(table.poll_timeout(), Some(t(360))); // A: last traffic 120 s + 4 min

    // Several due at once: each dissolves, each reported.
    let mut c = pair("C", 3, 3);
    c.lifetime = Some(MIN);
    let c = table.create(t(300), c).unwrap();
    table.handle_timeout(t(1000));
    let mut gone: Vec<PatchId> = core::iter::from_fn(|| table.poll_event())
        .map(|PatchEvent::Dissolved { id, .. }| id)
        .collect();
    gone.sort();
    assert_eq!(gone, vec![a, c]);
    assert_eq!(table.len(), 1);
}

#[test]
fn static_and_dynamic_patches_behave_the_same() {
    for kind in [
        PatchKind::Static,
        PatchKind::Dynamic {
            created_by: "dispatch-antwerp".into(),
        },
    ] {
        let mut table = PatchTable::new();
        let mut spec = pair("A", 1, 1);
        spec.kind = kind.clone();
        spec.inactivity_timeout = Some(MIN);
        let a = table.create(t(0), spec).unwrap();
        assert_eq!(
            table.patch_of_channel(SiteId(1), Network::Astrid, astrid(1)),
            Some(a)
        );
        assert!(table.create(t(0), pair("B", 1, 2)).is_err());
        table.handle_timeout(t(60));
        assert!(
            matches!(table.poll_event(), Some(PatchEvent::Dissolved { .. })),
            "{kind:?}"
        );
    }
}

#[test]
fn a_console_may_sit_in_several_patches() {
    let mut table = PatchTable::new();
    let mut a = pair("A", 1, 1);
    a.consoles.push(console(1, 7));
    let mut b = pair("B", 2, 2);
    b.consoles.push(console(1, 7));
    b.consoles.push(console(2, 7));
    let a = table.create(t(0), a).unwrap();
    let b = table.create(t(0), b).unwrap();
    assert_eq!(
        table.patches_of_console(console(1, 7)).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(
        table.patches_of_console(console(2, 7)).collect::<Vec<_>>(),
        vec![b]
    );
    assert_eq!(table.patches_of_console(console(3, 7)).count(), 0);
}

fn dynamic(name: &str, a: u32, c: u32) -> PatchSpec {
    PatchSpec {
        kind: PatchKind::Dynamic {
            created_by: "dispatcher 12".into(),
        },
        ..pair(name, a, c)
    }
}

#[test]
fn snapshot_survives_json_and_a_restart_with_its_remaining_times() {
    let mut table = PatchTable::new();
    let mut a = dynamic("pursuit A12", 1, 1);
    a.lifetime = Some(mins(120));
    a.inactivity_timeout = Some(mins(10));
    a.consoles.push(console(3, 1));
    let a = table.create(t(0), a).unwrap();
    let b = table.create(t(0), pair("static", 2, 2)).unwrap();
    let mut c = dynamic("inactive only", 3, 3);
    c.inactivity_timeout = Some(mins(5));
    let c = table.create(t(0), c).unwrap();
    table.touch(a, t(300));

    let snap = table.snapshot(t(360));
    let json = serde_json::to_string_pretty(&snap).unwrap();
    assert!(
        json.contains("\"remaining_lifetime_us\": 6840000000"),
        "{json}"
    );
    assert!(
        json.contains("\"remaining_inactivity_us\": 540000000"),
        "{json}"
    );
    let back: PatchSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);

    // The new process starts much later on its own clock.
    let now = t(1_000_000);
    let mut restored = PatchTable::new();
    restored.restore(now, &back).unwrap();
    assert_eq!(restored.len(), 3);
    for id in [a, b, c] {
        assert_eq!(
            restored.get(id).unwrap().spec(),
            table.get(id).unwrap().spec()
        );
    }
    let pa = restored.get(a).unwrap();
    assert_eq!(
        pa.expires_at(),
        Some(now + Duration::from_secs(120 * 60 - 360))
    );
    assert_eq!(pa.inactive_at(), Some(now + Duration::from_secs(540)));
    assert_eq!(restored.get(b).unwrap().deadline(), None);
    // C ran out at 300 s, before the snapshot, but was not handled yet: due at once.
    assert_eq!(restored.get(c).unwrap().inactive_at(), Some(now));
    assert_eq!(restored.poll_timeout(), Some(now));
    assert_eq!(
        restored.patch_of_channel(SiteId(1), Network::C2000, c2000(1)),
        Some(a)
    );
    assert_eq!(
        restored
            .patches_of_console(console(3, 1))
            .collect::<Vec<_>>(),
        vec![a]
    );

    // The restored table keeps running: C dissolves at once, A on inactivity unless touched.
    restored.handle_timeout(now);
    assert!(matches!(restored.poll_event(), Some(PatchEvent::Dissolved { id, .. }) if id == c));
    restored.touch(a, now + Duration::from_secs(500));
    restored.handle_timeout(now + Duration::from_secs(540));
    assert_eq!(restored.poll_event(), None);
    // New patches do not reuse restored ids.
    let d = restored.create(now, pair("new", 4, 4)).unwrap();
    assert!(d.0 > c.0, "{d} after {c}");
}

#[test]
fn restore_refuses_a_conflicting_or_forged_snapshot_as_a_whole() {
    let mut source = PatchTable::new();
    let mut a = dynamic("A", 1, 1);
    a.inactivity_timeout = Some(MIN);
    source.create(t(0), a).unwrap();
    source.create(t(0), dynamic("B", 2, 2)).unwrap();
    let mut snap = source.snapshot(t(0));
    snap.patches[0].id = PatchId(5);
    snap.patches[1].id = PatchId(6);

    // A patch already holds B's C2000 group.
    let mut table = PatchTable::new();
    let s = table.create(t(0), pair("config", 9, 2)).unwrap();
    let e = table.restore(t(0), &snap).unwrap_err();
    assert!(matches!(
        &e,
        RestoreError::Invalid { index: 1, source: PatchError::ChannelInUse { other, .. }, .. } if *other == s
    ));
    assert!(
        e.to_string()
            .starts_with("snapshot `patches[1]` (patch 6): patch 'B': `channels[1]`"),
        "{e}"
    );
    assert_eq!(table.len(), 1, "nothing restored");
    assert_eq!(
        table.patch_of_channel(SiteId(1), Network::Astrid, astrid(1)),
        None
    );

    // Id clash with the table, and within the snapshot.
    let mut table = PatchTable::new();
    table.create(t(0), pair("config", 8, 8)).unwrap(); // gets id 1
    let mut first = snap.clone();
    first.patches[0].id = PatchId(1);
    assert_eq!(
        table.restore(t(0), &first),
        Err(RestoreError::IdInUse {
            index: 0,
            id: PatchId(1)
        })
    );
    let mut twice = snap.clone();
    twice.patches[1].id = twice.patches[0].id;
    assert!(matches!(
        PatchTable::new().restore(t(0), &twice),
        Err(RestoreError::IdInUse { index: 1, .. })
    ));

    // Two records claiming one channel.
    let mut clash = snap.clone();
    clash.patches[1].spec.channels[0] = clash.patches[0].spec.channels[0];
    assert!(matches!(
        PatchTable::new().restore(t(0), &clash),
        Err(RestoreError::Invalid {
            index: 1,
            source: PatchError::ChannelInUse { index: 0, .. },
            ..
        })
    ));

    // An invalid definition, and remaining times no table could have written.
    let mut bad = snap.clone();
    bad.patches[0].spec.name.clear();
    assert!(matches!(
        PatchTable::new().restore(t(0), &bad),
        Err(RestoreError::Invalid {
            index: 0,
            source: PatchError::EmptyName,
            ..
        })
    ));
    for (rec, remaining, field) in [
        (0, Some(mins(2)), "remaining_inactivity_us"),
        (0, None, "remaining_inactivity_us"),
        (1, Some(MIN), "remaining_inactivity_us"),
    ] {
        let mut forged = snap.clone();
        forged.patches[rec].remaining_inactivity = remaining;
        assert_eq!(
            PatchTable::new().restore(t(0), &forged),
            Err(RestoreError::RemainingOutOfRange {
                index: rec,
                id: forged.patches[rec].id,
                field
            })
        );
    }
    let mut forged = snap.clone();
    forged.patches[1].remaining_lifetime = Some(MIN);
    assert!(matches!(
        PatchTable::new().restore(t(0), &forged),
        Err(RestoreError::RemainingOutOfRange {
            field: "remaining_lifetime_us",
            ..
        })
    ));
}

#[test]
fn spec_reads_from_hand_written_json() {
    let json = r#"{
        "name": "border incident",
        "channels": [
            {"site": 1, "network": "ASTRID", "group": {"mcc": 206, "mnc": 1, "ssi": 2061001}},
            {"site": 2, "network": "C2000", "group": {"mcc": 204, "mnc": 1, "ssi": 2040551}}
        ],
        "inactivity_timeout_us": 600000000,
        "kind": {"dynamic": {"created_by": "api"}}
    }"#;
    let spec: PatchSpec = serde_json::from_str(json).unwrap();
    assert_eq!(spec.channels[1], ch(2, Network::C2000, c2000(2_040_551)));
    assert_eq!(spec.consoles, vec![]);
    assert_eq!(spec.lifetime, None);
    assert_eq!(spec.inactivity_timeout, Some(mins(10)));
    assert_eq!(spec.validate(), Ok(()));
    let back: PatchSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    // A 25-bit SSI is refused while reading, before validation.
    let bad = json.replace("2040551", "16777216");
    assert!(serde_json::from_str::<PatchSpec>(&bad).is_err());
}

#[test]
fn retime_restarts_both_deadlines_from_now_and_keeps_the_definition() {
    let mut table = PatchTable::new();
    let mut spec = pair("mirror", 2_061_001, 2_040_551);
    spec.lifetime = Some(mins(30));
    let id = table.create(t(0), spec).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(30 * 60)));
    // Extended at 10 min for another 30: the old deadline is gone.
    table.retime(t(600), id, Some(mins(30)), None).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(600 + 30 * 60)));
    table.handle_timeout(t(30 * 60));
    assert!(table.poll_event().is_none(), "still up at the old deadline");
    // Lapsing: an inactivity timeout of 5 min, a cap of 30.
    table
        .retime(t(1_000), id, Some(mins(30)), Some(mins(5)))
        .unwrap();
    assert_eq!(table.poll_timeout(), Some(t(1_000 + 5 * 60)));
    table.touch(id, t(1_100));
    table.handle_timeout(t(1_000 + 5 * 60));
    assert_eq!(
        table.poll_event(),
        None,
        "traffic at 1 100 s moved the deadline"
    );
    assert_eq!(table.poll_timeout(), Some(t(1_100 + 5 * 60)));
    table.handle_timeout(t(1_100 + 5 * 60));
    match table.poll_event() {
        Some(PatchEvent::Dissolved {
            id: gone,
            spec,
            reason,
        }) => {
            assert_eq!(gone, id);
            assert_eq!(reason, DissolveReason::Inactive);
            assert_eq!(spec.inactivity_timeout, Some(mins(5)));
            assert_eq!(spec.channels.len(), 2);
        }
        other => panic!("expected the patch to dissolve, got {other:?}"),
    }
}

#[test]
fn retime_refuses_zero_durations_and_unknown_patches() {
    let mut table = PatchTable::new();
    let id = table.create(t(0), pair("m", 2_061_001, 2_040_551)).unwrap();
    assert!(matches!(
        table.retime(t(1), id, Some(Duration::ZERO), None),
        Err(PatchError::ZeroLifetime { .. })
    ));
    assert!(matches!(
        table.retime(t(1), id, None, Some(Duration::ZERO)),
        Err(PatchError::ZeroInactivityTimeout { .. })
    ));
    assert_eq!(
        table.retime(t(1), PatchId(99), None, None),
        Err(PatchError::UnknownPatch(PatchId(99)))
    );
    assert_eq!(
        table.poll_timeout(),
        None,
        "a refused retime changes nothing"
    );
}
