//! Floor rules in virtual time: every instant is constructed, nothing reads a clock.

use std::cmp::Reverse;

use borderlink_protocol::voice::{KeyUpTime, Priority, StreamId};
use proptest::prelude::*;

use super::*;
use crate::engine::policy::{SourceKind, SourceLimits};
use crate::engine::stream::SAME_OVER_WINDOW_MS;

const ASTRID: Option<Network> = Some(Network::Astrid);
const C2000: Option<Network> = Some(Network::C2000);
const CONSOLE: Option<Network> = None;

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn p(level: u8) -> Priority {
    Priority::new(level).unwrap()
}

fn key(site: u16, stream: u32) -> StreamKey {
    StreamKey {
        site: SiteId(site),
        stream: StreamId(stream),
    }
}

/// A priority-5, non-emergency claim with no talker TSI, heard on a group of that site's
/// own (so claims of different sites never repeat each other unless a test says so).
fn claim(site: u16, stream: u32, network: Option<Network>, started: u64) -> Claim {
    Claim {
        key: key(site, stream),
        emergency: false,
        priority: p(5),
        started: KeyUpTime(started),
        origin_network: network,
        talker: None,
        group: group(u32::from(site)),
    }
}

fn group(n: u32) -> Tsi {
    Tsi::from_parts(206, 1, 2_061_000 + n).unwrap()
}

/// The claim heard on group `n`.
fn on_group(mut c: Claim, n: u32) -> Claim {
    c.group = group(n);
    c
}

fn prio(mut c: Claim, level: u8) -> Claim {
    c.priority = p(level);
    c
}

fn emergency(mut c: Claim) -> Claim {
    c.emergency = true;
    c
}

fn talker(mut c: Claim, ssi: u32) -> Claim {
    c.talker = Some(Tsi::from_parts(206, 1, ssi).unwrap());
    c
}

fn source(c: &Claim) -> EndpointId {
    EndpointId::Peer(c.key.site)
}

/// A floor plus the helpers every test needs.
struct Sim {
    floor: Floor,
}

impl Sim {
    fn new() -> Self {
        Sim::with(FloorConfig::default(), FloorPolicy::unlimited())
    }

    fn with(config: FloorConfig, policy: FloorPolicy) -> Self {
        Sim {
            floor: Floor::new(config, Arc::new(policy)),
        }
    }

    fn claim(&mut self, t_ms: u64, c: &Claim) -> FloorDecision {
        self.floor.claim(ms(t_ms), c, source(c))
    }

    /// Packets of one stream every 20 ms from `from_ms` to `to_ms`; the first one's decision.
    fn over(&mut self, from_ms: u64, to_ms: u64, c: &Claim) -> FloorDecision {
        let first = self.claim(from_ms, c);
        for t in (from_ms + 20..=to_ms).step_by(20) {
            let _ = self.claim(t, c);
        }
        first
    }

    /// The stream's last packet (end flag) at `t_ms`.
    fn end(&mut self, t_ms: u64, c: &Claim) {
        let _ = self.claim(t_ms, c);
        self.floor.release(ms(t_ms), c.key);
    }

    fn events(&mut self) -> Vec<FloorEvent> {
        std::iter::from_fn(|| self.floor.poll_event()).collect()
    }

    fn holder(&self) -> Option<StreamKey> {
        self.floor.holder()
    }
}

fn granted(c: &Claim) -> FloorEvent {
    FloorEvent::Granted {
        key: c.key,
        claim: *c,
        source: source(c),
    }
}

fn released(c: &Claim, reason: ReleaseReason) -> FloorEvent {
    FloorEvent::Released { key: c.key, reason }
}

#[test]
fn free_floor_is_granted_and_the_holder_keeps_it() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 1_000);
    assert_eq!(s.claim(0, &a), FloorDecision::Granted);
    assert_eq!(s.events(), [granted(&a)]);
    assert_eq!(s.claim(20, &a), FloorDecision::AlreadyHolder);
    assert!(s.events().is_empty());
    assert_eq!(s.holder(), Some(a.key));
    assert_eq!(s.floor.holder_claim(), Some(&a));
}

#[test]
fn emergency_preempts_and_the_interrupted_talker_resumes_by_late_entry() {
    let mut s = Sim::new();
    let a = prio(claim(1, 1, ASTRID, 1_000), 12);
    let e = prio(emergency(claim(2, 1, C2000, 1_200)), 0);
    assert_eq!(s.claim(0, &a), FloorDecision::Granted);
    assert_eq!(
        s.claim(200, &e),
        FloorDecision::Preempted { previous: a.key }
    );
    assert_eq!(
        s.events(),
        [
            granted(&a),
            released(&a, ReleaseReason::Preempted { by: e.key }),
            granted(&e)
        ]
    );
    assert_eq!(
        s.claim(220, &a),
        FloorDecision::Denied(DenyReason::Outranked { holder: e.key })
    );
    s.floor.release(ms(500), e.key);
    // Someone is waiting, so no hang time: the interrupted talker gets the floor back at once.
    assert_eq!(
        s.events(),
        [released(&e, ReleaseReason::Ended), granted(&a)]
    );
    assert_eq!(s.holder(), Some(a.key));
}

#[test]
fn higher_priority_preempts_at_equal_emergency() {
    let mut s = Sim::new();
    let a = prio(emergency(claim(1, 1, ASTRID, 1_000)), 10);
    let b = prio(emergency(claim(2, 1, C2000, 1_100)), 12);
    assert_eq!(s.claim(0, &a), FloorDecision::Granted);
    assert_eq!(
        s.claim(100, &b),
        FloorDecision::Preempted { previous: a.key }
    );
}

#[test]
fn capped_foreign_priority_15_cannot_preempt_a_home_emergency() {
    // C2000 sources are capped at 8 and their emergency flag is not honoured.
    let policy = FloorPolicy::new(
        SourceLimits::UNLIMITED,
        SourceLimits::new(p(8), false),
        SourceLimits::UNLIMITED,
    );
    let home = prio(emergency(claim(1, 1, ASTRID, 1_000)), 1);
    let foreign = prio(emergency(claim(2, 1, C2000, 900)), 15);

    let mut s = Sim::with(FloorConfig::default(), policy.clone());
    assert_eq!(s.claim(0, &home), FloorDecision::Granted);
    assert_eq!(
        s.claim(100, &foreign),
        FloorDecision::Denied(DenyReason::Outranked { holder: home.key })
    );

    // The other way round the home emergency takes the floor from the capped talker, although
    // the foreign one keyed up first and claims emergency at priority 15.
    let mut s = Sim::with(FloorConfig::default(), policy.clone());
    assert_eq!(s.claim(0, &foreign), FloorDecision::Granted);
    assert_eq!(
        s.claim(100, &home),
        FloorDecision::Preempted {
            previous: foreign.key
        }
    );

    // The cap also ranks a foreign "15" below a home 10 without any emergency.
    let mut s = Sim::with(FloorConfig::default(), policy);
    let home_10 = prio(claim(1, 2, ASTRID, 1_000), 10);
    let foreign_15 = prio(claim(2, 2, C2000, 900), 15);
    assert_eq!(s.claim(0, &home_10), FloorDecision::Granted);
    assert_eq!(
        s.claim(50, &foreign_15),
        FloorDecision::Denied(DenyReason::Outranked {
            holder: home_10.key
        })
    );
}

#[test]
fn site_rule_caps_one_entry_point_only() {
    let policy = FloorPolicy::unlimited()
        .with_site_rules([crate::engine::policy::SiteRule {
            site: SiteId(2),
            kind: SourceKind::Dispatch,
            limits: SourceLimits::new(p(3), false),
        }])
        .unwrap();
    let mut s = Sim::with(FloorConfig::default(), policy);
    let holder = prio(claim(1, 1, ASTRID, 1_000), 5);
    let capped_console = prio(emergency(claim(2, 1, CONSOLE, 1_100)), 15);
    let other_console = prio(claim(3, 1, CONSOLE, 1_200), 6);
    assert_eq!(s.claim(0, &holder), FloorDecision::Granted);
    assert!(!s.claim(10, &capped_console).has_floor());
    assert_eq!(
        s.claim(20, &other_console),
        FloorDecision::Preempted {
            previous: holder.key
        }
    );
}

#[test]
fn equal_priority_does_not_preempt_a_talker_that_keyed_earlier() {
    let mut s = Sim::new();
    let a = claim(2, 1, ASTRID, 1_000);
    let b = claim(1, 1, C2000, 1_500); // lower site id, but keyed later
    assert_eq!(s.claim(0, &a), FloorDecision::Granted);
    assert_eq!(
        s.claim(500, &b),
        FloorDecision::Denied(DenyReason::Outranked { holder: a.key })
    );
    // Lower priority loses even with an earlier key-up: priority comes before start time.
    let low_early = prio(claim(3, 1, C2000, 500), 4);
    assert_eq!(
        s.claim(510, &low_early),
        FloorDecision::Denied(DenyReason::Outranked { holder: a.key })
    );
    assert_eq!(s.holder(), Some(a.key));
}

/// Feeds the claims to a fresh floor, 40 ms apart, in the order given.
fn holder_after(claims: &[Claim]) -> Option<StreamKey> {
    let mut s = Sim::new();
    for (n, c) in claims.iter().enumerate() {
        let _ = s.claim(40 * n as u64, c);
    }
    s.holder()
}

#[test]
fn simultaneous_keyups_go_to_the_earlier_keyup_at_both_sites() {
    let x = claim(1, 1, ASTRID, 1_000);
    let y = claim(2, 1, C2000, 990);
    // Site 1 hears its own x first and y 40 ms later; site 2 the opposite.
    let mut site1 = Sim::new();
    assert_eq!(site1.claim(0, &x), FloorDecision::Granted);
    assert_eq!(
        site1.claim(40, &y),
        FloorDecision::Preempted { previous: x.key }
    );
    let mut site2 = Sim::new();
    assert_eq!(site2.claim(0, &y), FloorDecision::Granted);
    assert_eq!(
        site2.claim(40, &x),
        FloorDecision::Denied(DenyReason::Outranked { holder: y.key })
    );
    assert_eq!(site1.holder(), Some(y.key));
    assert_eq!(site2.holder(), Some(y.key));
}

#[test]
fn simultaneous_keyups_in_the_same_millisecond_go_to_the_lower_site() {
    let x = claim(2, 1, ASTRID, 1_000);
    let y = claim(1, 7, C2000, 1_000);
    assert_eq!(holder_after(&[x, y]), Some(y.key));
    assert_eq!(holder_after(&[y, x]), Some(y.key));
    // Same site and millisecond (two radios at one site): the lower stream id.
    let z = claim(1, 3, ASTRID, 1_000);
    assert_eq!(holder_after(&[y, z]), Some(z.key));
    assert_eq!(holder_after(&[z, y]), Some(z.key));
}

#[test]
fn keyup_times_compare_past_where_voice_version_1_wrapped() {
    // 0xffff_fff0 is 32 ms before 0x1_0000_0010: a 32-bit clock would have wrapped between.
    let before = claim(2, 1, C2000, 0xffff_fff0);
    let after = claim(1, 1, ASTRID, 0x1_0000_0010);
    assert_eq!(holder_after(&[after, before]), Some(before.key));
    assert_eq!(holder_after(&[before, after]), Some(before.key));
}

#[test]
fn hang_time_grants_the_same_direction_and_denies_the_other() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 1_000);
    assert_eq!(s.over(0, 1_000, &a), FloorDecision::Granted);
    s.end(1_000, &a);
    let hang = Direction::Network(Network::Astrid);
    assert_eq!(
        s.events(),
        [
            granted(&a),
            released(&a, ReleaseReason::Ended),
            FloorEvent::HangStarted {
                direction: hang,
                until: ms(2_500)
            }
        ]
    );
    assert_eq!(s.floor.hang(), Some((hang, ms(2_500))));
    assert_eq!(s.floor.poll_timeout(), Some(ms(2_500)));

    let other = claim(2, 1, C2000, 2_200);
    assert_eq!(
        s.claim(1_200, &other),
        FloorDecision::Denied(DenyReason::HangTime { direction: hang })
    );
    // Another ASTRID talker entering at another site is the same direction.
    let same = claim(3, 1, ASTRID, 2_400);
    assert_eq!(s.claim(1_400, &same), FloorDecision::Granted);
    assert_eq!(
        s.events(),
        [
            FloorEvent::HangEnded {
                direction: hang,
                reason: HangEnd::Continued { by: same.key }
            },
            granted(&same)
        ]
    );
    assert_eq!(s.floor.hang(), None);
    // The waiting C2000 stream takes over as soon as that over ends, without a hang time.
    assert!(!s.claim(1_500, &other).has_floor());
    s.floor.release(ms(1_600), same.key);
    assert_eq!(
        s.events(),
        [released(&same, ReleaseReason::Ended), granted(&other)]
    );
}

#[test]
fn hang_time_expires_at_its_deadline_and_the_waiting_stream_enters() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 1_000);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    let other = claim(2, 1, C2000, 2_200);
    assert!(!s.claim(1_200, &other).has_floor());
    assert!(!s.claim(2_000, &other).has_floor());
    s.events();
    s.floor.handle_timeout(ms(2_500) - Duration::from_micros(1));
    assert!(s.events().is_empty());
    assert_eq!(s.holder(), None);
    s.floor.handle_timeout(ms(2_500));
    assert_eq!(
        s.events(),
        [
            FloorEvent::HangEnded {
                direction: Direction::Network(Network::Astrid),
                reason: HangEnd::Expired
            },
            granted(&other)
        ]
    );
}

#[test]
fn hang_time_with_nobody_waiting_just_ends() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 1_000);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    s.events();
    s.floor.handle_timeout(ms(2_500));
    assert_eq!(
        s.events(),
        [FloorEvent::HangEnded {
            direction: Direction::Network(Network::Astrid),
            reason: HangEnd::Expired
        }]
    );
    assert_eq!(s.floor.poll_timeout(), None);
    // Free floor: anyone may talk.
    assert_eq!(
        s.claim(2_600, &claim(2, 1, C2000, 5_000)),
        FloorDecision::Granted
    );
}

#[test]
fn emergency_overrides_hang_time() {
    let mut s = Sim::new();
    let a = prio(claim(1, 1, ASTRID, 1_000), 15);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    s.events();
    let e = prio(emergency(claim(2, 1, C2000, 1_100)), 1);
    assert_eq!(s.claim(1_100, &e), FloorDecision::Granted);
    assert_eq!(
        s.events(),
        [
            FloorEvent::HangEnded {
                direction: Direction::Network(Network::Astrid),
                reason: HangEnd::Overridden { by: e.key }
            },
            granted(&e)
        ]
    );
}

#[test]
fn hang_time_is_cut_short_only_by_strictly_higher_urgency() {
    let mut s = Sim::new();
    let a = prio(claim(1, 1, ASTRID, 1_000), 6);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    let equal = prio(claim(2, 1, C2000, 1_050), 6);
    assert!(matches!(
        s.claim(1_050, &equal),
        FloorDecision::Denied(DenyReason::HangTime { .. })
    ));
    let higher = prio(claim(2, 2, C2000, 1_060), 7);
    assert_eq!(s.claim(1_060, &higher), FloorDecision::Granted);
}

#[test]
fn over_granted_in_hang_time_is_not_preempted_on_the_tie_break_by_another_direction() {
    let earlier_c2000 = claim(2, 1, C2000, 1_200); // keyed during the hang, arrives late
    let astrid = claim(3, 1, ASTRID, 1_300);

    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    assert_eq!(s.claim(1_350, &astrid), FloorDecision::Granted);
    assert_eq!(
        s.claim(1_400, &earlier_c2000),
        FloorDecision::Denied(DenyReason::Outranked { holder: astrid.key })
    );

    // Without a hang time the earlier key-up wins: that is a simultaneous key-up.
    let mut s = Sim::new();
    assert_eq!(s.claim(1_350, &astrid), FloorDecision::Granted);
    assert_eq!(
        s.claim(1_400, &earlier_c2000),
        FloorDecision::Preempted {
            previous: astrid.key
        }
    );
}

#[test]
fn each_dispatch_site_is_its_own_direction() {
    let mut s = Sim::new();
    let console = claim(100, 1, CONSOLE, 1_000);
    let _ = s.over(0, 1_000, &console);
    s.end(1_000, &console);
    let other_centre = claim(200, 1, CONSOLE, 1_100);
    assert_eq!(
        s.claim(1_100, &other_centre),
        FloorDecision::Denied(DenyReason::HangTime {
            direction: Direction::Dispatch(SiteId(100))
        })
    );
    let same_centre = claim(100, 2, CONSOLE, 1_200);
    assert_eq!(s.claim(1_200, &same_centre), FloorDecision::Granted);
}

#[test]
fn zero_hang_time_disables_hang() {
    let config = FloorConfig {
        hang_time: Duration::ZERO,
        ..FloorConfig::default()
    };
    let mut s = Sim::with(config, FloorPolicy::unlimited());
    let a = claim(1, 1, ASTRID, 1_000);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    assert_eq!(
        s.events(),
        [granted(&a), released(&a, ReleaseReason::Ended)]
    );
    assert_eq!(
        s.claim(1_001, &claim(2, 1, C2000, 2_000)),
        FloorDecision::Granted
    );
}

/// Long stream idle time, so a test can jump minutes without sending every frame.
fn patient() -> FloorConfig {
    FloorConfig {
        stream_idle: Duration::from_secs(1_000),
        ..FloorConfig::default()
    }
}

#[test]
fn tx_timeout_fires_at_exactly_the_limit() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = talker(claim(1, 1, ASTRID, 1_000), 1234);
    let _ = s.claim(1_000, &a);
    s.events();
    assert_eq!(s.floor.poll_timeout(), Some(ms(121_000)));

    let just_before = ms(121_000) - Duration::from_micros(1);
    s.floor.handle_timeout(just_before);
    assert_eq!(
        s.floor.claim(just_before, &a, source(&a)),
        FloorDecision::AlreadyHolder
    );
    assert!(s.events().is_empty());

    s.floor.handle_timeout(ms(121_000));
    let tsi = Talker::Tsi(a.talker.unwrap());
    assert_eq!(
        s.events(),
        [
            released(&a, ReleaseReason::TxTimeout),
            FloorEvent::Blocked {
                talker: tsi,
                until: ms(131_000)
            }
        ]
    );
    assert_eq!(s.holder(), None);
    let d = s.claim(121_000, &a);
    assert_eq!(d, FloorDecision::Denied(DenyReason::TxTimeout));
    if let FloorDecision::Denied(reason) = d {
        assert_eq!(reason.drop_cause(), DropCause::TxTimeout);
    }
}

#[test]
fn tx_timeout_takes_effect_even_if_the_timer_is_serviced_late() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = talker(claim(1, 1, ASTRID, 1_000), 1234);
    let _ = s.claim(0, &a);
    // The engine did not call handle_timeout; the next packet comes at the limit.
    assert_eq!(
        s.claim(120_000, &a),
        FloorDecision::Denied(DenyReason::TxTimeout)
    );
    assert_eq!(
        s.floor.blocked_until(Talker::Tsi(a.talker.unwrap())),
        Some(ms(130_000))
    );
}

#[test]
fn blocked_talker_is_refused_until_block_end_and_the_stuck_stream_stays_barred() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = talker(claim(1, 1, ASTRID, 0), 1234);
    let _ = s.claim(0, &a);
    s.floor.handle_timeout(ms(120_000));
    s.events();
    // The same talker re-keys: a new stream, refused for the block time.
    let again = talker(claim(1, 2, ASTRID, 125_000), 1234);
    let d = s.claim(125_000, &again);
    assert_eq!(
        d,
        FloorDecision::Denied(DenyReason::Blocked { until: ms(130_000) })
    );
    if let FloorDecision::Denied(reason) = d {
        assert_eq!(reason.drop_cause(), DropCause::TxTimeout);
    }
    assert_eq!(s.floor.poll_timeout(), Some(ms(130_000)));
    assert!(!s.claim(129_999, &again).has_floor());
    // The block ends: the waiting re-key gets the floor at that instant.
    s.floor.handle_timeout(ms(130_000));
    assert_eq!(s.events(), [granted(&again)]);
    // The stream that timed out is still stuck on and stays barred.
    assert_eq!(
        s.claim(130_020, &a),
        FloorDecision::Denied(DenyReason::TxTimeout)
    );
    // Until it ends; then it is forgotten.
    s.floor.release(ms(130_040), a.key);
    assert_eq!(s.floor.contenders().count(), 0);
}

#[test]
fn talker_without_tsi_is_blocked_by_origin_site_and_network() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.claim(0, &a);
    s.floor.handle_timeout(ms(120_000));
    let blocked = Talker::Source {
        site: SiteId(1),
        network: ASTRID,
    };
    assert_eq!(s.floor.blocked_until(blocked), Some(ms(130_000)));
    assert!(matches!(
        s.claim(121_000, &claim(1, 2, ASTRID, 121_000)),
        FloorDecision::Denied(DenyReason::Blocked { .. })
    ));
    // A known talker from the same place, or the other network there, is someone else.
    let known = talker(claim(1, 3, ASTRID, 121_100), 42);
    assert_eq!(s.claim(121_100, &known), FloorDecision::Granted);
    let c2000 = prio(claim(1, 4, C2000, 121_200), 6);
    assert_eq!(
        s.claim(121_200, &c2000),
        FloorDecision::Preempted {
            previous: known.key
        }
    );
}

#[test]
fn known_contender_does_not_cut_in_on_the_tie_break() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = talker(claim(1, 1, ASTRID, 0), 1234);
    let _ = s.claim(0, &a);
    s.floor.handle_timeout(ms(120_000));
    // Blocked re-key at 125 s, then someone else takes the free floor at 126 s.
    let again = talker(claim(1, 2, ASTRID, 125_000), 1234);
    assert!(!s.claim(125_000, &again).has_floor());
    let b = claim(2, 1, C2000, 126_000);
    assert_eq!(s.claim(126_000, &b), FloorDecision::Granted);
    // When the block ends the re-key keyed earlier than b, but it was passed over: b keeps
    // the floor.
    s.floor.handle_timeout(ms(130_000));
    assert_eq!(
        s.claim(130_020, &again),
        FloorDecision::Denied(DenyReason::Outranked { holder: b.key })
    );
    assert_eq!(s.holder(), Some(b.key));
}

#[test]
fn no_hang_time_after_a_tx_timeout() {
    let mut s = Sim::with(patient(), FloorPolicy::unlimited());
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.claim(0, &a);
    s.floor.handle_timeout(ms(120_000));
    assert!(
        !s.events()
            .iter()
            .any(|e| matches!(e, FloorEvent::HangStarted { .. }))
    );
    assert_eq!(
        s.claim(120_100, &claim(2, 1, C2000, 120_100)),
        FloorDecision::Granted
    );
}

#[test]
fn late_entry_picks_the_best_contender_whatever_the_arrival_order() {
    let holder = emergency(claim(9, 1, ASTRID, 0));
    let contenders = [
        prio(claim(1, 1, C2000, 100), 3),
        prio(claim(2, 1, C2000, 300), 7),
        prio(claim(5, 1, CONSOLE, 200), 7),
        prio(claim(4, 1, ASTRID, 200), 7), // best: priority 7, earliest, lower site than 5
    ];
    let orders: [[usize; 4]; 3] = [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]];
    for order in orders {
        let mut s = Sim::new();
        let _ = s.claim(0, &holder);
        for (n, &i) in order.iter().enumerate() {
            assert!(!s.claim(100 + 10 * n as u64, &contenders[i]).has_floor());
        }
        s.events();
        s.floor.release(ms(400), holder.key);
        assert_eq!(
            s.events(),
            [
                released(&holder, ReleaseReason::Ended),
                granted(&contenders[3])
            ],
            "order {order:?}"
        );
    }
}

#[test]
fn silent_contender_is_forgotten_and_gets_no_late_entry() {
    let mut s = Sim::new();
    let holder = claim(1, 1, ASTRID, 0);
    let c = claim(2, 1, C2000, 50);
    let _ = s.claim(0, &holder);
    assert!(!s.claim(100, &c).has_floor());
    let _ = s.claim(900, &holder);
    let _ = s.claim(1_050, &holder);
    s.floor.handle_timeout(ms(1_100));
    assert_eq!(s.floor.contenders().count(), 0);
    s.floor.release(ms(1_200), holder.key);
    assert!(
        s.events()
            .iter()
            .all(|e| !matches!(e, FloorEvent::Granted { key, .. } if *key == c.key))
    );
    assert!(s.floor.hang().is_some());
}

#[test]
fn silent_holder_is_released_as_idle_and_starts_hang_time() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.claim(0, &a);
    let _ = s.claim(200, &a);
    s.events();
    assert_eq!(s.floor.poll_timeout(), Some(ms(1_200)));
    s.floor.handle_timeout(ms(1_200));
    assert_eq!(
        s.events(),
        [
            released(&a, ReleaseReason::Idle),
            FloorEvent::HangStarted {
                direction: Direction::Network(Network::Astrid),
                until: ms(2_700)
            }
        ]
    );
}

#[test]
fn late_handle_timeout_fires_each_timer_at_its_own_deadline() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a); // hang until 2.5 s
    let gone = claim(2, 1, C2000, 1_100);
    let waiting = claim(3, 1, C2000, 1_200);
    let _ = s.claim(1_100, &gone);
    let _ = s.claim(1_400, &gone); // forgotten at 2.4 s, before the hang ends
    let _ = s.claim(1_600, &waiting); // forgotten at 2.6 s, after the hang ends
    s.events();
    // One call long after everything is due replays the timers in order: the hang ends at
    // 2.5 s and `waiting` enters (`gone` was forgotten at 2.4 s); `waiting` sent nothing after
    // 1.6 s, so it is released as idle at 2.6 s and its own hang runs until 4.1 s.
    s.floor.handle_timeout(ms(5_000));
    let c2000 = Direction::Network(Network::C2000);
    assert_eq!(
        s.events(),
        [
            FloorEvent::HangEnded {
                direction: Direction::Network(Network::Astrid),
                reason: HangEnd::Expired
            },
            granted(&waiting),
            released(&waiting, ReleaseReason::Idle),
            FloorEvent::HangStarted {
                direction: c2000,
                until: ms(4_100)
            },
            FloorEvent::HangEnded {
                direction: c2000,
                reason: HangEnd::Expired
            },
        ]
    );
    assert_eq!(s.floor.poll_timeout(), None);
}

#[test]
fn force_release_bars_the_stream_and_hands_over_to_the_best_contender() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let b = claim(2, 1, C2000, 100);
    let _ = s.claim(0, &a);
    assert!(!s.claim(100, &b).has_floor());
    s.events();
    assert_eq!(s.floor.force_release(ms(500)), Some(a.key));
    assert_eq!(
        s.events(),
        [released(&a, ReleaseReason::Forced), granted(&b)]
    );
    let d = s.claim(520, &a);
    assert_eq!(d, FloorDecision::Denied(DenyReason::Forced));
    if let FloorDecision::Denied(reason) = d {
        assert_eq!(reason.drop_cause(), DropCause::FloorDenied);
    }
    // Not even when b ends: the broken stream must end before its talker can try again.
    s.floor.release(ms(600), b.key);
    assert_eq!(s.holder(), None);
    assert_eq!(s.claim(620, &a), FloorDecision::Denied(DenyReason::Forced));
    s.floor.release(ms(640), a.key);
    // b's direction keeps the floor for its hang time (until 2.1 s), then the talker of the
    // broken stream may key up again.
    let rekey = claim(1, 2, ASTRID, 700);
    assert!(matches!(
        s.claim(700, &rekey),
        FloorDecision::Denied(DenyReason::HangTime { .. })
    ));
    let _ = s.claim(2_000, &rekey);
    s.floor.handle_timeout(ms(2_100));
    assert_eq!(s.holder(), Some(rekey.key));
}

#[test]
fn force_release_ends_a_hang_time() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let _ = s.over(0, 1_000, &a);
    s.end(1_000, &a);
    s.events();
    assert_eq!(s.floor.force_release(ms(1_100)), None);
    assert_eq!(
        s.events(),
        [FloorEvent::HangEnded {
            direction: Direction::Network(Network::Astrid),
            reason: HangEnd::Forced
        }]
    );
    assert_eq!(
        s.claim(1_200, &claim(2, 1, C2000, 1_200)),
        FloorDecision::Granted
    );
}

#[test]
fn release_of_a_contender_or_an_unknown_stream_changes_no_holder() {
    let mut s = Sim::new();
    let a = claim(1, 1, ASTRID, 0);
    let b = claim(2, 1, C2000, 100);
    let _ = s.claim(0, &a);
    let _ = s.claim(100, &b);
    s.events();
    s.floor.release(ms(200), b.key);
    s.floor.release(ms(210), key(7, 7));
    assert!(s.events().is_empty());
    assert_eq!(s.floor.contenders().count(), 0);
    assert_eq!(s.holder(), Some(a.key));
}

#[test]
fn full_contender_set_keeps_the_best_and_counts_the_overflow() {
    let config = FloorConfig {
        max_contenders: 2,
        ..FloorConfig::default()
    };
    let mut s = Sim::with(config, FloorPolicy::unlimited());
    let holder = emergency(claim(9, 1, ASTRID, 0));
    let _ = s.claim(0, &holder);
    let c1 = prio(claim(1, 1, C2000, 10), 1);
    let c2 = prio(claim(2, 1, C2000, 20), 2);
    let c3 = prio(claim(3, 1, C2000, 30), 3);
    let c0 = prio(claim(4, 1, C2000, 40), 0);
    for (t, c) in [(10, &c1), (20, &c2), (30, &c3), (40, &c0)] {
        assert!(!s.claim(t, c).has_floor());
    }
    assert_eq!(s.floor.stats().contender_overflow, 2);
    let mut kept: Vec<_> = s.floor.contenders().map(|c| c.key).collect();
    kept.sort();
    assert_eq!(kept, [c2.key, c3.key]);
    s.events();
    s.floor.release(ms(100), holder.key);
    assert_eq!(
        s.events(),
        [released(&holder, ReleaseReason::Ended), granted(&c3)]
    );
}

#[test]
fn deny_reasons_map_to_drop_causes() {
    let k = key(1, 1);
    assert_eq!(
        DenyReason::Outranked { holder: k }.drop_cause(),
        DropCause::FloorDenied
    );
    assert_eq!(
        DenyReason::HangTime {
            direction: Direction::Network(Network::Astrid)
        }
        .drop_cause(),
        DropCause::FloorDenied
    );
    assert_eq!(
        DenyReason::Blocked { until: ms(1) }.drop_cause(),
        DropCause::TxTimeout
    );
}

/// One claim of the property test: urgency, key-up offset from a base, origin.
#[derive(Debug, Clone, Copy)]
struct Spec {
    emergency: bool,
    priority: u8,
    offset: u32,
    site: u16,
    network: Option<Network>,
    /// One of two groups, so that some claims repeat others (the same over captured twice).
    group: u32,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        0u8..=15,
        0u32..200,
        1u16..4,
        prop_oneof![Just(ASTRID), Just(C2000), Just(CONSOLE)],
        0u32..2,
    )
        .prop_map(|(emergency, priority, offset, site, network, group)| Spec {
            emergency,
            priority,
            offset,
            site,
            network,
            group,
        })
}

/// One of a few policies; both floors of a run use the same one.
fn policy(choice: u8) -> FloorPolicy {
    match choice {
        0 => FloorPolicy::unlimited(),
        1 => FloorPolicy::new(
            SourceLimits::UNLIMITED,
            SourceLimits::new(p(8), false),
            SourceLimits::new(p(12), true),
        ),
        _ => FloorPolicy::new(
            SourceLimits::new(p(4), false),
            SourceLimits::new(p(10), true),
            SourceLimits::UNLIMITED,
        ),
    }
}

/// Last packet time of the property test, ms: every stream is still live then.
const RUN_END_MS: u64 = 600;

/// Feeds every stream's packets (every 20 ms from its first arrival to the end of the run) to a
/// fresh floor; packets at the same instant go in `order`.
fn run(claims: &[Claim], arrival: &[u64], order: &[usize], policy: &FloorPolicy) -> Floor {
    let mut packets = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let (Some(c), Some(&first)) = (claims.get(i), arrival.get(i)) else {
            continue;
        };
        let mut t = first;
        while t <= RUN_END_MS {
            packets.push((t, pos, *c));
            t += 20;
        }
    }
    packets.sort_by_key(|&(t, pos, _)| (t, pos));
    let mut floor = Floor::new(FloorConfig::default(), Arc::new(policy.clone()));
    for (t, _, c) in packets {
        if floor.poll_timeout().is_some_and(|at| at <= ms(t)) {
            floor.handle_timeout(ms(t));
        }
        let _ = floor.claim(ms(t), &c, source(&c));
        while floor.poll_event().is_some() {}
    }
    floor
}

proptest! {
    /// Two sites see the same simultaneous key-ups in different orders and at different times
    /// and still key the same talker — the one with the highest rank.
    #[test]
    fn floors_fed_the_same_claims_in_any_order_pick_the_same_best_winner(
        specs in prop::collection::vec(spec(), 2..7),
        base in prop_oneof![0..u64::MAX / 2, (u64::from(u32::MAX) - 300)..=u64::from(u32::MAX)],
        policy_choice in 0u8..3,
        arrival_a in prop::collection::vec(0u64..400, 7),
        arrival_b in prop::collection::vec(0u64..400, 7),
        order_a in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
        order_b in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let policy = policy(policy_choice);
        let claims: Vec<Claim> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| Claim {
                key: key(s.site, i as u32),
                emergency: s.emergency,
                priority: p(s.priority),
                started: KeyUpTime(base + u64::from(s.offset)),
                origin_network: s.network,
                talker: None,
                group: group(s.group),
            })
            .collect();
        let order_a: Vec<usize> = order_a.into_iter().filter(|&i| i < claims.len()).collect();
        let order_b: Vec<usize> = order_b.into_iter().filter(|&i| i < claims.len()).collect();
        // Site B hears them in the mirrored order of A as well as at its own times.
        let mirrored: Vec<usize> = order_a.iter().rev().copied().collect();

        let a = run(&claims, &arrival_a, &order_a, &policy);
        let b = run(&claims, &arrival_b, &order_b, &policy);
        let m = run(&claims, &arrival_a, &mirrored, &policy);

        // Oracle, written independently of `Rank`: caps by hand, key-up as a linear offset; a
        // radio claim with a lower (site, stream) on the same network and group makes a claim
        // a repeat, out of the running whatever it claims.
        let limits = |s: &Spec| policy.limits(SiteId(s.site), SourceKind::of(s.network));
        let repeat = |s: &Spec| {
            s.network.is_some()
                && specs
                    .iter()
                    .any(|o| o.network == s.network && o.group == s.group && o.site < s.site)
        };
        let best = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !repeat(s))
            .max_by_key(|(i, s)| {
                let l = limits(s);
                (
                    s.emergency && l.honour_emergency,
                    s.priority.min(l.max_priority.get()),
                    Reverse(s.offset),
                    Reverse(s.site),
                    Reverse(*i),
                )
            })
            .map(|(i, s)| key(s.site, i as u32));

        prop_assert_eq!(a.holder(), best);
        prop_assert_eq!(b.holder(), best);
        prop_assert_eq!(m.holder(), best);
    }
}

#[test]
fn timers_due_at_the_same_instant_all_fire_before_the_floor_is_settled() {
    let config = FloorConfig {
        tx_timeout: Duration::from_secs(5),
        block_time: Duration::from_secs(3),
        ..FloorConfig::default()
    };
    let mut s = Sim::with(config, FloorPolicy::unlimited());
    let a = talker(claim(1, 1, ASTRID, 0), 1234);
    let _ = s.over(0, 5_000, &a); // times out at 5 s; talker blocked until 8 s
    let rekey = talker(claim(1, 2, ASTRID, 5_100), 1234);
    let h = claim(2, 1, C2000, 5_200);
    assert!(!s.claim(5_100, &rekey).has_floor());
    assert_eq!(s.over(5_200, 7_000, &h), FloorDecision::Granted);
    let _ = s.over(5_120, 7_980, &rekey);
    s.events();
    // At 8 s the holder goes idle and the block ends. Settling after the first timer alone would
    // start a C2000 hang time and keep the re-key out; both have fired, so it enters at once.
    s.floor.handle_timeout(ms(8_000));
    assert_eq!(
        s.events(),
        [released(&h, ReleaseReason::Idle), granted(&rekey)]
    );
}

// ---- loop rule 4: the same over captured by two gateways --------------------------------

#[test]
fn a_second_capture_of_the_same_over_is_barred_whatever_it_claims_until_it_ends() {
    let mut s = Sim::new();
    let first = on_group(claim(1, 7, ASTRID, 1_000), 9);
    let again = emergency(prio(on_group(claim(2, 3, ASTRID, 990), 9), 15));
    assert_eq!(s.claim(0, &first), FloorDecision::Granted);
    let repeats = FloorDecision::Denied(DenyReason::Repeats { first: first.key });
    assert_eq!(s.claim(30, &again), repeats);
    assert_eq!(
        DenyReason::Repeats { first: first.key }.drop_cause(),
        DropCause::SameOver
    );
    s.end(500, &first);
    s.events();
    // Still live after the first capture ended: it never takes the floor.
    assert_eq!(s.claim(520, &again), repeats);
    assert_eq!(s.holder(), None);
    assert!(s.events().is_empty());
    // Once it ends too, the next over on the group from that site is a new stream.
    s.floor.release(ms(540), again.key);
    let next = on_group(claim(2, 4, ASTRID, 3_000), 9);
    assert_eq!(s.claim(3_000, &next), FloorDecision::Granted);
}

#[test]
fn a_holder_that_repeats_a_late_first_capture_steps_aside_for_it() {
    let mut s = Sim::new();
    let early = on_group(claim(3, 1, ASTRID, 900), 9);
    let first = on_group(claim(1, 1, ASTRID, 1_000), 9);
    assert_eq!(s.claim(0, &early), FloorDecision::Granted);
    s.events();
    assert_eq!(
        s.claim(40, &first),
        FloorDecision::Preempted {
            previous: early.key
        }
    );
    assert_eq!(
        s.events(),
        [
            released(&early, ReleaseReason::Repeats { first: first.key }),
            granted(&first)
        ]
    );
    // The stepped-aside capture stays barred.
    assert_eq!(
        s.claim(60, &early),
        FloorDecision::Denied(DenyReason::Repeats { first: first.key })
    );
}

#[test]
fn when_a_repeat_steps_aside_the_best_claim_takes_the_floor_not_necessarily_the_first_capture() {
    let mut s = Sim::new();
    let again = emergency(on_group(claim(2, 1, ASTRID, 1_000), 9));
    let other = prio(on_group(claim(3, 1, C2000, 1_000), 4), 10);
    let first = prio(on_group(claim(1, 1, ASTRID, 1_000), 9), 0);
    assert_eq!(s.claim(0, &again), FloorDecision::Granted);
    assert!(!s.claim(10, &other).has_floor());
    s.events();
    // A floor that never saw the repeat would hold `other` (priority 10 over 0): so must this one.
    assert_eq!(
        s.claim(20, &first),
        FloorDecision::Denied(DenyReason::Outranked { holder: other.key })
    );
    assert_eq!(s.holder(), Some(other.key));
    assert_eq!(
        s.events(),
        [
            released(&again, ReleaseReason::Repeats { first: first.key }),
            granted(&other)
        ]
    );
}

#[test]
fn a_contender_that_repeats_a_new_claim_is_barred() {
    let mut s = Sim::new();
    let holder = emergency(on_group(claim(3, 1, C2000, 900), 4));
    let again = on_group(claim(2, 1, ASTRID, 1_000), 9);
    let first = on_group(claim(1, 1, ASTRID, 1_010), 9);
    assert_eq!(s.claim(0, &holder), FloorDecision::Granted);
    assert!(!s.claim(10, &again).has_floor());
    assert!(!s.claim(20, &first).has_floor());
    s.end(100, &holder);
    // Late entry: the first capture, never its repeat (which ranks higher on key-up time).
    assert_eq!(s.holder(), Some(first.key));
}

#[test]
fn only_captures_of_one_group_of_one_network_keyed_up_together_at_two_sites_repeat() {
    let first = on_group(claim(1, 1, ASTRID, 10_000), 9);
    let same = on_group(claim(2, 1, ASTRID, 10_000 + SAME_OVER_WINDOW_MS), 9);
    assert!(same.repeats(&first));
    assert!(
        !first.repeats(&same),
        "the lower site's capture is the first"
    );
    let cases = [
        ("same site", on_group(claim(1, 2, ASTRID, 10_000), 9)),
        ("other group", on_group(claim(2, 1, ASTRID, 10_000), 8)),
        ("other network", on_group(claim(2, 1, C2000, 10_000), 9)),
        ("console", on_group(claim(2, 1, CONSOLE, 10_000), 9)),
        (
            "keyed up too late",
            on_group(claim(2, 1, ASTRID, 10_001 + SAME_OVER_WINDOW_MS), 9),
        ),
        (
            "keyed up too early",
            on_group(claim(2, 1, ASTRID, 9_999 - SAME_OVER_WINDOW_MS), 9),
        ),
    ];
    for (what, c) in cases {
        assert!(!c.repeats(&first), "{what}");
    }
    let console_first = on_group(claim(1, 1, CONSOLE, 10_000), 9);
    assert!(!on_group(claim(2, 1, CONSOLE, 10_000), 9).repeats(&console_first));
}
