//! Scenarios: the relay engine, the roaming state machine and (where a reply must reach a
//! unit) a radio session, driven together in virtual time, as the daemon drives them.
//!
//! The site has an ASTRID radio on the Belgian home group and a C2000 radio on its Dutch
//! mirror. Each scenario asserts what dispatch and the units would see.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::sds::{
    self, DeliveryStatus, LocationReport, LongLocationReport, PositionError, PositionUncertainty,
    SdsKind, ShortLocationReport, Status, UserData,
};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, KeyUpTime, Priority, SiteId};
use jiff::Timestamp;

use super::geo::{Area, LatLon, Polygon, Ring};
use super::*;
use crate::engine::endpoint::RadioId;
use crate::engine::floor::FloorEvent;
use crate::engine::loops::GatewayIdentities;
use crate::engine::patch::{Channel, DissolveReason, PatchId};
use crate::engine::policy::{EmergencyRule, FloorPolicy, SourceLimits};
use crate::engine::radio_tx::{RadioCommand, RadioEvent};
use crate::engine::relay::{Capture, Engine, EngineConfig, EngineEvent, RadioConfig};
use crate::radio::{RadioOutput, RadioSession, RadioSessionConfig};

const ASTRID_RADIO: RadioId = RadioId(0);
const C2000_RADIO: RadioId = RadioId(1);
/// `n` minutes.
fn mins(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn home_group() -> Tsi {
    Tsi::from_parts(206, 1, 2_061_001).unwrap()
}

fn mirror_group() -> Tsi {
    Tsi::from_parts(204, 1, 2_040_551).unwrap()
}

/// A Belgian patrol car.
fn belgian_unit() -> Tsi {
    Tsi::from_parts(206, 1, 120_012).unwrap()
}

/// A Dutch unit.
fn dutch_unit() -> Tsi {
    Tsi::from_parts(204, 1, 3_400_077).unwrap()
}

fn channel(network: Network, group: Tsi) -> Channel {
    Channel {
        site: SiteId(1),
        network,
        group,
    }
}

fn mirror(mode: MirrorMode) -> Mirror {
    Mirror {
        name: "Baarle police".into(),
        home: channel(Network::Astrid, home_group()),
        mirror: channel(Network::C2000, mirror_group()),
        consoles: vec![],
        mode,
        triggers: Triggers::ALL,
        window: mins(30),
        inactivity_timeout: mins(5),
    }
}

/// The Dutch side of the A16/E19 crossing at Hazeldonk: from the border (simplified to the
/// parallel between Meer and Hazeldonk) 1.6 km north.
fn hazeldonk_zone() -> Zone {
    let south = 51.4858;
    let north = 51.5002;
    let ring = Ring::new(
        [(4.70, south), (4.78, south), (4.78, north), (4.70, north)]
            .into_iter()
            .map(|(lon, lat)| LatLon::new(lat, lon).unwrap()),
    )
    .unwrap();
    Zone {
        name: "Hazeldonk".into(),
        area: Area::new(vec![Polygon::new(ring, vec![])]).unwrap(),
        mirrors: vec![MirrorId(0)],
        exit_margin_m: 150.0,
        min_dwell: mins(1),
        max_position_error_m: Some(200),
    }
}

fn triggers() -> StatusTriggers {
    StatusTriggers {
        request: Some(Status::new(0x8001)),
        extend: Some(Status::new(0x8002)),
        end: Some(Status::new(0x8003)),
        reply: ReplyStyle::Status {
            ack: Status::new(0x8101),
            refuse: Status::new(0x8102),
        },
    }
}

fn config(mode: MirrorMode, sovereignty: Sovereignty) -> RoamingConfig {
    let mut aliases = Aliases::new();
    aliases.insert(belgian_unit(), "BE-POL Turnhout 12");
    RoamingConfig {
        mirrors: vec![mirror(mode)],
        zones: vec![hazeldonk_zone()],
        triggers: triggers(),
        sovereignty,
        aliases,
        max_units: 64,
    }
}

/// The engine, the roaming machine and their clocks, driven like the daemon drives them.
struct Rig {
    now: Instant,
    utc0: Timestamp,
    engine: Engine,
    roaming: Roaming,
    events: Vec<RoamingEvent>,
    replies: Vec<Reply>,
    commands: Vec<RadioCommand>,
    floor: Vec<FloorEvent>,
}

impl Rig {
    fn new(roaming: RoamingConfig) -> Self {
        let base = FloorPolicy::unlimited();
        let policy = roaming.sovereignty.floor_policy(base).unwrap();
        let radios = vec![
            RadioConfig {
                id: ASTRID_RADIO,
                network: Network::Astrid,
                group: home_group(),
                identity: Tsi::from_parts(206, 1, 9_000_001).unwrap(),
            },
            RadioConfig {
                id: C2000_RADIO,
                network: Network::C2000,
                group: mirror_group(),
                identity: Tsi::from_parts(204, 1, 9_000_001).unwrap(),
            },
        ];
        let identities = GatewayIdentities::new(radios.iter().map(|r| r.identity));
        let mut engine_config = EngineConfig::new(SiteId(1), radios, identities);
        engine_config.policy = policy;
        let mut rig = Rig {
            now: Instant::from_millis(1_000),
            // Tuesday 14 January 2025, 10:00 CET.
            utc0: "2025-01-14T09:00:00Z".parse().unwrap(),
            engine: Engine::new(engine_config),
            roaming: Roaming::new(roaming),
            events: Vec::new(),
            replies: Vec::new(),
            commands: Vec::new(),
            floor: Vec::new(),
        };
        for radio in [ASTRID_RADIO, C2000_RADIO] {
            rig.engine.handle_radio(rig.now, radio, RadioEvent::Up);
        }
        let utc = rig.utc();
        rig.roaming.handle_timeout(rig.now, utc);
        rig.pump();
        rig
    }

    /// The civil time: `utc0` at the rig's start (1 s on the monotonic clock).
    fn utc(&self) -> Timestamp {
        let us = i64::try_from(self.now.as_micros() - 1_000_000).unwrap();
        self.utc0
            .checked_add(jiff::SignedDuration::from_micros(us))
            .unwrap()
    }

    /// What the daemon's pump does after every input: the engine's events to roaming first,
    /// then roaming's patch changes to the engine.
    fn pump(&mut self) {
        for _ in 0..8 {
            let mut quiet = true;
            while let Some(event) = self.engine.poll_event() {
                quiet = false;
                if let EngineEvent::Floor { event, .. } = &event {
                    self.floor.push(*event);
                }
                self.roaming
                    .handle_engine_event(self.now, &event, &self.engine);
            }
            self.roaming.apply(self.now, &mut self.engine);
            while let Some(c) = self.engine.poll_command() {
                self.commands.push(c);
            }
            while self.engine.poll_transmit().is_some() {}
            while self.engine.poll_audio().is_some() {}
            while let Some(r) = self.roaming.poll_reply() {
                self.replies.push(r);
            }
            while let Some(e) = self.roaming.poll_event() {
                self.events.push(e);
            }
            if quiet {
                return;
            }
        }
    }

    /// Moves the clock to `end`, firing every timer of both machines on the way.
    fn advance_to(&mut self, end: Instant) {
        for _ in 0..100_000 {
            let due = [self.engine.poll_timeout(), self.roaming.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|t| *t <= end)
                .min();
            let Some(due) = due else {
                self.now = self.now.max(end);
                return;
            };
            self.now = self.now.max(due);
            if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
                self.engine.handle_timeout(self.now);
            }
            if self.roaming.poll_timeout().is_some_and(|t| t <= self.now) {
                let utc = self.utc();
                self.roaming.handle_timeout(self.now, utc);
            }
            self.pump();
        }
        panic!("timers never settle");
    }

    fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    fn status(&mut self, heard_on: Tsi, from: Tsi, value: u16) {
        self.roaming
            .handle_status(self.now, heard_on, Some(from), Status::new(value));
        self.pump();
    }

    fn position(&mut self, unit: Tsi, at: LatLon, error: PositionError) {
        let mut report = ShortLocationReport::from_degrees(at.lat(), at.lon()).unwrap();
        report.position_error = error;
        self.roaming.handle_location(
            self.now,
            home_group(),
            Some(unit),
            &LocationReport::from(&report),
        );
        self.pump();
    }

    /// A LIP report as the radio delivers it: user data of `bits` bits, decoded on the same
    /// path as the daemon's (`sds::decode`), then summed up for roaming.
    fn lip(&mut self, unit: Tsi, bytes: &[u8], bits: u16) {
        let report = match sds::decode(SdsKind::Type4, bytes, bits).unwrap() {
            UserData::Lip(r) => LocationReport::from(&r),
            UserData::LipLong(r) => LocationReport::from(&r),
            other => panic!("not a location report: {other:?}"),
        };
        self.roaming
            .handle_location(self.now, home_group(), Some(unit), &report);
        self.pump();
    }

    /// One 20 ms frame of a call a local radio receives.
    fn capture(&mut self, radio: RadioId, talker: Tsi, priority: u8, emergency: bool, key_up: u32) {
        let frame = [0x55u8; FRAME_LEN];
        self.engine.handle_capture(
            self.now,
            radio,
            Capture {
                talker: Some(talker),
                priority: Priority::new(priority).unwrap(),
                emergency,
                key_up: KeyUpTime(u64::from(key_up)),
                frame: Some(&frame),
            },
        );
        self.pump();
    }

    fn patch(&self) -> Option<PatchId> {
        self.engine.patches().iter().next().map(|p| p.id())
    }

    fn take_events(&mut self) -> Vec<RoamingEvent> {
        std::mem::take(&mut self.events)
    }
}

fn on_demand() -> RoamingConfig {
    config(MirrorMode::OnDemand, Sovereignty::default())
}

// ---- a Belgian unit drives into the Netherlands ------------------------------------------

#[test]
fn driving_into_the_netherlands_mirrors_the_group_until_the_unit_has_gone() {
    let mut rig = Rig::new(on_demand());
    // Northbound on the A1/E19 from Meer at 90 km/h, a LIP report every 10 s (250 m).
    let start = LatLon::new(51.4750, 4.7350).unwrap();
    let mut entered_at = None;
    let mut left_at = None;
    for i in 0..30 {
        let at = start.offset_m(250.0 * f64::from(i), 0.0);
        rig.position(belgian_unit(), at, PositionError::LessThan20m);
        for event in rig.take_events() {
            match event {
                RoamingEvent::ZoneEntered {
                    unit, call_sign, ..
                } => {
                    assert_eq!(unit, belgian_unit());
                    assert_eq!(call_sign.as_deref(), Some("BE-POL Turnhout 12"));
                    entered_at = Some((i, at));
                }
                RoamingEvent::MirrorUp { cause, .. } => {
                    assert!(
                        matches!(cause, Cause::Position { unit, .. } if unit == belgian_unit()),
                        "{cause:?}"
                    );
                    assert_eq!(entered_at.map(|e| e.0), Some(i), "up on entering");
                }
                RoamingEvent::ZoneLeft { .. } => left_at = Some(rig.now),
                RoamingEvent::MirrorLapsing { .. } => {
                    assert_eq!(left_at, Some(rig.now), "lapses as the unit leaves");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Up while the unit is in the zone, before and after.
        let in_zone = entered_at.is_some() && left_at.is_none();
        assert_eq!(
            rig.patch().is_some(),
            in_zone || left_at.is_some(),
            "report {i}"
        );
        rig.advance(Duration::from_secs(10));
    }
    let (_, entered) = entered_at.expect("entered the zone");
    // The first report inside is north of the border line.
    assert!(entered.lat() >= 51.4858, "{entered}");
    let left = left_at.expect("left the zone");
    // Nobody talks: the patch ends the inactivity timeout after the unit left, not before.
    rig.advance_to(left + mins(5) - Duration::from_secs(1));
    assert!(rig.patch().is_some());
    rig.advance_to(left + mins(5));
    assert_eq!(rig.patch(), None);
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        RoamingEvent::MirrorDown {
            reason: DownReason::Lapsed(DissolveReason::Inactive),
            ..
        }
    )));
}

#[test]
fn a_silent_unit_lets_the_mirror_lapse_after_its_window() {
    let mut rig = Rig::new(on_demand());
    let inside = LatLon::new(51.4900, 4.7350).unwrap();
    rig.position(belgian_unit(), inside, PositionError::LessThan20m);
    let up_at = rig.now;
    assert!(rig.patch().is_some());
    // The unit goes quiet in the zone: held for one window after its last report, then
    // lapsing, then gone after the inactivity timeout.
    rig.advance_to(up_at + mins(30) - Duration::from_secs(1));
    assert!(rig.patch().is_some());
    rig.advance_to(up_at + mins(30) + mins(5));
    assert_eq!(rig.patch(), None);
}

// ---- long location reports ----------------------------------------------------------------

/// A long report (circle of uncertainty `code`) at `at`, encoded as a radio sends it.
fn long_report_at(at: LatLon, code: u8) -> (Vec<u8>, u16) {
    let report = LongLocationReport::at(
        at.lat(),
        at.lon(),
        PositionUncertainty::from_raw(code).unwrap(),
    )
    .unwrap();
    let mut buf = vec![0u8; report.buffer_len()];
    report.emit(&mut buf).unwrap();
    (buf, report.bit_len() as u16)
}

/// The no-fix long report of the protocol's tests: no shape, result code 81.
const LONG_NO_FIX: [u8; 7] = [0x0a, 0x4c, 0x01, 0x0a, 0xb0, 0x85, 0x10];

#[test]
fn a_long_report_inside_the_zone_mirrors_the_group_like_a_short_one() {
    let mut rig = Rig::new(on_demand());
    // Circle code 9: < 21.7 m, within the zone's 200 m.
    let (bytes, bits) = long_report_at(LatLon::new(51.4900, 4.7350).unwrap(), 9);
    rig.lip(belgian_unit(), &bytes, bits);
    let events = rig.take_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            RoamingEvent::ZoneEntered { unit, .. } if *unit == belgian_unit()
        )),
        "{events:?}"
    );
    assert!(rig.patch().is_some());
}

#[test]
fn a_long_report_too_coarse_for_the_zone_is_not_used() {
    let mut rig = Rig::new(on_demand());
    // Circle code 20: < 186.8 m is within 200 m; code 21 (< 225 m) is not.
    let (bytes, bits) = long_report_at(LatLon::new(51.4900, 4.7350).unwrap(), 21);
    rig.lip(belgian_unit(), &bytes, bits);
    assert!(rig.take_events().is_empty());
    assert_eq!(rig.patch(), None);
    let (bytes, bits) = long_report_at(LatLon::new(51.4900, 4.7350).unwrap(), 20);
    rig.lip(belgian_unit(), &bytes, bits);
    assert!(rig.patch().is_some());
}

#[test]
fn a_long_report_without_a_fix_changes_nothing() {
    let mut rig = Rig::new(on_demand());
    // Outside: no fix does not bring the unit in.
    rig.lip(belgian_unit(), &LONG_NO_FIX, 52);
    assert!(rig.take_events().is_empty());
    assert_eq!(rig.patch(), None);
    assert_eq!(rig.roaming.stats().positions_without_fix, 1);
    // Inside by a short report, then a no-fix long report: still inside, patch untouched.
    let inside = LatLon::new(51.4900, 4.7350).unwrap();
    rig.position(belgian_unit(), inside, PositionError::LessThan20m);
    let patch = rig.patch().expect("patched");
    rig.take_events();
    rig.advance(Duration::from_secs(10));
    rig.lip(belgian_unit(), &LONG_NO_FIX, 52);
    assert!(rig.take_events().is_empty());
    assert_eq!(rig.patch(), Some(patch));
    assert_eq!(rig.roaming.stats().positions_without_fix, 2);
}

// ---- zone-edge jitter -------------------------------------------------------------------

#[test]
fn jitter_at_the_zone_edge_does_not_flap_the_patch() {
    let mut rig = Rig::new(on_demand());
    // A car waiting on the border line: fixes scatter +/- 60 m across it for half an hour.
    let edge = LatLon::new(51.4858, 4.7350).unwrap();
    let mut seed = 0x2545_f491_u32;
    for _ in 0..180 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let north = f64::from(seed % 121) - 60.0;
        rig.position(
            belgian_unit(),
            edge.offset_m(north, 0.0),
            PositionError::LessThan20m,
        );
        rig.advance(Duration::from_secs(10));
    }
    let events = rig.take_events();
    let ups = events
        .iter()
        .filter(|e| matches!(e, RoamingEvent::MirrorUp { .. }))
        .count();
    let lapses = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RoamingEvent::MirrorLapsing { .. } | RoamingEvent::MirrorDown { .. }
            )
        })
        .count();
    let zone_changes = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RoamingEvent::ZoneEntered { .. } | RoamingEvent::ZoneLeft { .. }
            )
        })
        .count();
    assert_eq!((ups, lapses, zone_changes), (1, 0, 1), "{events:?}");
    assert!(rig.patch().is_some());
}

// ---- a status request --------------------------------------------------------------------

#[test]
fn a_status_request_patches_the_group_and_the_unit_is_answered() {
    let mut rig = Rig::new(on_demand());
    // The Belgian unit, roaming on C2000, presses "cross-border patch" on the mirror group.
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let patch = rig.patch().expect("patched");
    let spec = rig.engine.patches().get(patch).unwrap().spec().clone();
    assert_eq!(spec.channels.len(), 2);
    assert_eq!(
        rig.replies,
        [Reply {
            via: mirror_group(),
            to: belgian_unit(),
            message: ReplyMessage::Status(Status::new(0x8101)),
        }]
    );
    let events = rig.take_events();
    // Dispatch sees who asked, with the call sign.
    assert!(events.iter().any(|e| matches!(
        e,
        RoamingEvent::Requested {
            by: Requester::Unit { issi },
            call_sign: Some(name),
            asked: Asked::Field(FieldAction::Request),
            outcome: Ok(()),
            ..
        } if *issi == belgian_unit() && name == "BE-POL Turnhout 12"
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        RoamingEvent::MirrorUp { cause: Cause::Status { unit }, .. } if *unit == belgian_unit()
    )));
    // The window: extended by the "extend" status, ended by "end".
    rig.advance(mins(25));
    rig.status(mirror_group(), belgian_unit(), 0x8002);
    rig.advance(mins(25));
    assert_eq!(rig.patch(), Some(patch), "extended past the first window");
    rig.replies.clear();
    rig.status(mirror_group(), belgian_unit(), 0x8003);
    assert_eq!(rig.patch(), None, "ended at once");
    assert_eq!(rig.replies.len(), 1);
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        RoamingEvent::MirrorDown {
            reason: DownReason::Ended(Requester::Unit { .. }),
            ..
        }
    )));
}

#[test]
fn the_reply_reaches_the_unit_through_the_radio_session() {
    let mut rig = Rig::new(on_demand());
    // The C2000 gateway radio, initialised.
    let identity = Tsi::from_parts(204, 1, 9_000_001).unwrap();
    let mut radio = RadioSession::new(RadioSessionConfig::new(identity, mirror_group())).unwrap();
    radio.link_up(rig.now);
    for answer in [
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "OK",
        "+GMI: Sepura\r\n\r\nOK",
        "+GMM: SRG3900\r\n\r\nOK",
        "+GMR: 1.0\r\n\r\nOK",
        "+CNUMF: 0,02040000109000001\r\n\r\nOK",
        "+CNUMS: 1,02040000109001000\r\n\r\nOK",
        "+CREG: 1,17,2041\r\n\r\nOK",
        "OK",
        "+CSQ: 20,99\r\n\r\nOK\r\n\r\n+CREG: 1,17,2041\r\n\r\nOK",
    ] {
        while radio.poll_transmit().is_some() {}
        radio.handle_bytes(rig.now, format!("\r\n{answer}\r\n").as_bytes());
    }
    while radio.poll_transmit().is_some() {}
    // A status from the Belgian unit arrives on the PEI.
    radio.handle_bytes(
        rig.now,
        b"\r\n+CTSDSR: 13,02060000100120012,1,02040000109000001,1,16\r\n8001\r\n",
    );
    let mut handled = false;
    while let Some(out) = radio.poll_event() {
        if let RadioOutput::Status { from, value } = out {
            rig.roaming
                .handle_status(rig.now, mirror_group(), from, value);
            rig.pump();
            handled = true;
        }
    }
    assert!(handled, "the radio reported the status");
    assert!(rig.patch().is_some());
    for reply in std::mem::take(&mut rig.replies) {
        let ReplyMessage::Status(value) = reply.message else {
            panic!("status reply expected");
        };
        radio.send_status(rig.now, reply.to, value).unwrap();
    }
    let sent: Vec<String> = std::iter::from_fn(|| radio.poll_transmit())
        .map(|t| String::from_utf8_lossy(t.bytes()).into_owned())
        .collect();
    assert_eq!(sent, ["AT+CTSDS=13,1\r"]);
    radio.handle_bytes(rig.now, b"\r\nOK\r\n");
    let sent: Vec<String> = std::iter::from_fn(|| radio.poll_transmit())
        .map(|t| String::from_utf8_lossy(t.bytes()).into_owned())
        .collect();
    assert_eq!(sent, ["AT+CMGS=02060000100120012,16\r8101\u{1a}"]);
}

#[test]
fn a_request_for_a_group_in_another_patch_is_refused_and_said_so() {
    let mut rig = Rig::new(on_demand());
    // Dispatch already joined the home group with something else.
    let other = crate::engine::patch::PatchSpec {
        name: "manual".into(),
        channels: vec![
            channel(Network::Astrid, home_group()),
            channel(Network::C2000, Tsi::from_parts(204, 1, 2_040_999).unwrap()),
        ],
        consoles: vec![],
        lifetime: None,
        inactivity_timeout: None,
        kind: crate::engine::patch::PatchKind::Static,
    };
    let manual = rig.engine.create_patch(rig.now, other).unwrap();
    rig.status(home_group(), belgian_unit(), 0x8001);
    assert_eq!(
        rig.replies.last().map(|r| &r.message),
        Some(&ReplyMessage::Status(Status::new(0x8102)))
    );
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        RoamingEvent::MirrorBlocked { reason: BlockReason::GroupInUse { other, .. }, .. }
            if *other == manual
    )));
    assert_eq!(rig.engine.patches().len(), 1);
}

// ---- sovereignty -------------------------------------------------------------------------

/// Belgium caps Dutch talkers at priority 5 on ASTRID groups; the Netherlands caps Belgians at
/// 8 on C2000 groups and does not let Belgian emergencies propagate.
fn strict() -> Sovereignty {
    Sovereignty::new(
        NetworkRules {
            foreign: SourceLimits::new(Priority::new(5).unwrap(), true),
            ..NetworkRules::default()
        },
        NetworkRules {
            foreign: SourceLimits::new(Priority::new(8).unwrap(), false),
            ..NetworkRules::default()
        },
        [],
        EmergencyRule::FirstHolds,
    )
}

#[test]
fn a_foreign_priority_3_talker_cannot_preempt_a_home_emergency() {
    let mut rig = Rig::new(config(MirrorMode::Permanent, strict()));
    assert!(rig.patch().is_some(), "permanent mirror up from start");
    // A Belgian emergency on the home group.
    rig.capture(ASTRID_RADIO, belgian_unit(), 15, true, 1_000);
    rig.advance(Duration::from_millis(20));
    let granted: Vec<_> = rig
        .floor
        .iter()
        .filter(|e| matches!(e, FloorEvent::Granted { .. }))
        .cloned()
        .collect();
    assert_eq!(granted.len(), 1);
    // The C2000 radio is keyed for it as the Netherlands allows: not as an emergency call,
    // at priority 8.
    assert!(
        rig.commands.iter().any(|c| matches!(
            c,
            RadioCommand::Key { radio, priority, emergency: false, .. }
                if *radio == C2000_RADIO && priority.get() == 8
        )),
        "{:?}",
        rig.commands
    );
    // Dutch dispatch is told of the emergency all the same.
    assert!(rig.take_events().iter().any(|e| matches!(
        e,
        RoamingEvent::Emergency { talker: Some(t), from: Some(Network::Astrid), propagated: false, .. }
            if *t == belgian_unit()
    )));
    // A Dutch talker at priority 3 keys up on the mirror group, then a Dutch emergency.
    for (priority, emergency, key_up) in [(3, false, 1_200), (15, true, 1_400)] {
        for _ in 0..5 {
            rig.capture(C2000_RADIO, dutch_unit(), priority, emergency, key_up);
            rig.capture(ASTRID_RADIO, belgian_unit(), 15, true, 1_000);
            rig.advance(Duration::from_millis(20));
        }
    }
    let preempted = rig
        .floor
        .iter()
        .filter(|e| matches!(e, FloorEvent::Released { .. }))
        .count();
    assert_eq!(preempted, 0, "{:?}", rig.floor);
    let granted = rig
        .floor
        .iter()
        .filter(|e| matches!(e, FloorEvent::Granted { .. }))
        .count();
    assert_eq!(granted, 1, "the home emergency kept the floor");
}

#[test]
fn a_group_not_allowed_is_never_patched_whatever_triggers_arrive() {
    let forbidden = Sovereignty::new(
        NetworkRules {
            allowed_groups: Some([Tsi::from_parts(206, 1, 2_061_777).unwrap()].into()),
            ..NetworkRules::default()
        },
        NetworkRules::default(),
        [],
        EmergencyRule::FirstHolds,
    );
    // Even a permanent mirror is not brought up.
    let mut rig = Rig::new(config(MirrorMode::Permanent, forbidden));
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    rig.status(home_group(), belgian_unit(), 0x8002);
    rig.position(
        belgian_unit(),
        LatLon::new(51.4900, 4.7350).unwrap(),
        PositionError::LessThan2m,
    );
    let belgian_dispatch = Requester::Dispatch {
        network: Network::Astrid,
        operator: "CIC Antwerpen".into(),
    };
    let refused = rig.roaming.dispatch(
        rig.now,
        MirrorId(0),
        DispatchAction::Activate { duration: None },
        belgian_dispatch,
    );
    assert!(matches!(
        refused,
        Err(RequestRefused::Sovereignty(Refusal::GroupNotAllowed { .. }))
    ));
    rig.pump();
    rig.advance(mins(10));
    assert!(rig.engine.patches().is_empty());
    assert!(
        rig.replies
            .iter()
            .all(|r| r.message == ReplyMessage::Status(Status::new(0x8102))),
        "every request refused: {:?}",
        rig.replies
    );
    assert_eq!(rig.replies.len(), 2);
    assert!(
        !rig.take_events()
            .iter()
            .any(|e| matches!(e, RoamingEvent::MirrorUp { .. }))
    );
    assert!(rig.roaming.mirrors()[0].forbidden.is_some());
}

#[test]
fn foreign_dispatch_is_refused_where_only_home_dispatch_may_patch() {
    let home_only = Sovereignty::new(
        NetworkRules {
            creators: Creators::Home,
            ..NetworkRules::default()
        },
        NetworkRules::default(),
        [],
        EmergencyRule::FirstHolds,
    );
    let mut rig = Rig::new(config(MirrorMode::OnDemand, home_only));
    let dutch = Requester::Dispatch {
        network: Network::C2000,
        operator: "MK Brabant".into(),
    };
    let belgian = Requester::Dispatch {
        network: Network::Astrid,
        operator: "CIC Antwerpen".into(),
    };
    let activate = DispatchAction::Activate {
        duration: Some(mins(120)),
    };
    assert!(
        rig.roaming
            .dispatch(rig.now, MirrorId(0), activate, dutch)
            .is_err()
    );
    rig.pump();
    assert_eq!(rig.patch(), None);
    rig.roaming
        .dispatch(rig.now, MirrorId(0), activate, belgian.clone())
        .unwrap();
    rig.pump();
    assert!(rig.patch().is_some());
    // "For the next two hours": up until then, then lapsing.
    rig.advance(mins(120) - Duration::from_secs(1));
    assert!(rig.patch().is_some());
    rig.advance(Duration::from_secs(1) + mins(5));
    assert_eq!(rig.patch(), None);
}

// ---- schedules and the engine ------------------------------------------------------------

#[test]
fn a_scheduled_mirror_follows_local_time() {
    let schedule = schedule::Schedule::new(vec![
        schedule::TimeWindow::parse("Tue 10:30-11:00").unwrap(),
    ]);
    let mut rig = Rig::new(config(
        MirrorMode::Scheduled(schedule),
        Sovereignty::default(),
    ));
    // 10:00 CET: not yet.
    assert_eq!(rig.patch(), None);
    rig.advance(mins(30) - Duration::from_secs(1));
    assert_eq!(rig.patch(), None);
    rig.advance(Duration::from_secs(1));
    assert!(rig.patch().is_some(), "up at 10:30 CET");
    rig.advance(mins(30));
    let events = rig.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RoamingEvent::MirrorLapsing { .. })),
        "{events:?}"
    );
    rig.advance(mins(5));
    let events = rig.take_events();
    assert_eq!(
        rig.patch(),
        None,
        "{events:?} {:?}",
        rig.engine.patches().iter().next()
    );
}

#[test]
fn a_mirror_removed_by_dispatch_is_noticed_and_brought_back_while_held() {
    let mut rig = Rig::new(config(MirrorMode::Permanent, Sovereignty::default()));
    let first = rig.patch().unwrap();
    rig.engine.remove_patch(rig.now, first).unwrap();
    rig.pump();
    let events = rig.take_events();
    assert!(events.iter().any(|e| matches!(
        e,
        RoamingEvent::MirrorDown {
            reason: DownReason::Removed,
            ..
        }
    )));
    // Permanent: it comes back.
    assert!(rig.patch().is_some_and(|p| p != first));
}

// ---- knowing whether a text reply arrived ------------------------------------------------

fn text_replies() -> RoamingConfig {
    let mut config = on_demand();
    config.triggers.reply = ReplyStyle::Text;
    config
}

impl Rig {
    /// The SDS-TL reference of the latest text reply.
    fn last_reference(&self) -> u8 {
        match self.replies.last().map(|r| &r.message) {
            Some(ReplyMessage::Text { reference, .. }) => *reference,
            other => panic!("no text reply: {other:?}"),
        }
    }

    fn report(&mut self, from: Option<Tsi>, reference: u8, status: u8) {
        self.roaming
            .handle_delivery_report(self.now, from, reference, DeliveryStatus::new(status));
        self.pump();
    }

    fn deliveries(&mut self) -> Vec<(Tsi, u8, DeliveryOutcome)> {
        self.take_events()
            .into_iter()
            .filter_map(|e| match e {
                RoamingEvent::ReplyDelivery {
                    unit,
                    reference,
                    outcome,
                    ..
                } => Some((unit, reference, outcome)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_text_reply_reported_received_is_delivered() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let [reply] = &rig.replies[..] else {
        panic!("{:?}", rig.replies);
    };
    let ReplyMessage::Text { text, reference } = &reply.message else {
        panic!("{reply:?}");
    };
    assert!(text.starts_with("BL OK"), "{text}");
    let reference = *reference;
    rig.take_events();
    rig.advance(Duration::from_secs(3));
    rig.report(Some(belgian_unit()), reference, 0x00);
    let events = rig.take_events();
    let [
        RoamingEvent::ReplyDelivery {
            unit,
            call_sign,
            mirror,
            reference: r,
            outcome,
        },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(*unit, belgian_unit());
    assert_eq!(call_sign.as_deref(), Some("BE-POL Turnhout 12"));
    assert_eq!(*mirror, Some(MirrorId(0)));
    assert_eq!(*r, reference);
    assert_eq!(
        *outcome,
        DeliveryOutcome::Delivered(DeliveryStatus::RECEIVED)
    );
    // Nothing is left to time out.
    rig.advance(REPLY_CONFIRM_TIMEOUT);
    assert_eq!(rig.deliveries(), []);
}

#[test]
fn a_failure_report_says_why() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let reference = rig.last_reference();
    rig.take_events();
    rig.report(Some(belgian_unit()), reference, 0x4b);
    assert_eq!(
        rig.deliveries(),
        [(
            belgian_unit(),
            reference,
            DeliveryOutcome::Failed(DeliveryStatus::new(0x4b))
        )]
    );
}

#[test]
fn no_report_in_time_is_not_confirmed_and_not_before() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let reference = rig.last_reference();
    let sent = rig.now;
    rig.take_events();
    rig.advance_to(sent + REPLY_CONFIRM_TIMEOUT - Duration::from_millis(1));
    assert_eq!(rig.deliveries(), []);
    rig.advance_to(sent + REPLY_CONFIRM_TIMEOUT);
    assert_eq!(
        rig.deliveries(),
        [(belgian_unit(), reference, DeliveryOutcome::NotConfirmed)]
    );
    // A report after that answers nothing.
    rig.report(Some(belgian_unit()), reference, 0x00);
    assert_eq!(rig.deliveries(), []);
    assert_eq!(rig.roaming.stats().reports_unmatched, 1);
}

#[test]
fn stored_by_the_network_is_reported_and_the_wait_goes_on() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let reference = rig.last_reference();
    rig.take_events();
    rig.report(Some(belgian_unit()), reference, 0x22);
    assert_eq!(
        rig.deliveries(),
        [(
            belgian_unit(),
            reference,
            DeliveryOutcome::Stored(DeliveryStatus::new(0x22))
        )]
    );
    rig.advance(REPLY_CONFIRM_TIMEOUT);
    assert_eq!(
        rig.deliveries(),
        [(belgian_unit(), reference, DeliveryOutcome::NotConfirmed)]
    );
}

#[test]
fn a_report_from_another_unit_with_the_same_reference_is_not_taken() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let reference = rig.last_reference();
    rig.take_events();
    let stranger = Tsi::from_parts(204, 1, 2_040_555).unwrap();
    rig.report(Some(stranger), reference, 0x00);
    assert_eq!(rig.deliveries(), []);
    assert_eq!(rig.roaming.stats().reports_unmatched, 1);
    // A report without a sender is taken when the reference is unambiguous.
    rig.report(None, reference, 0x02);
    assert_eq!(
        rig.deliveries(),
        [(
            belgian_unit(),
            reference,
            DeliveryOutcome::Delivered(DeliveryStatus::CONSUMED)
        )]
    );
}

#[test]
fn replies_to_one_unit_get_distinct_references() {
    let mut rig = Rig::new(text_replies());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    let first = rig.last_reference();
    rig.status(mirror_group(), belgian_unit(), 0x8002);
    let second = rig.last_reference();
    assert_ne!(first, second);
    rig.take_events();
    rig.report(Some(belgian_unit()), second, 0x00);
    assert_eq!(
        rig.deliveries(),
        [(
            belgian_unit(),
            second,
            DeliveryOutcome::Delivered(DeliveryStatus::RECEIVED)
        )]
    );
}

#[test]
fn status_replies_await_no_report() {
    let mut rig = Rig::new(on_demand());
    rig.status(mirror_group(), belgian_unit(), 0x8001);
    rig.take_events();
    rig.advance(REPLY_CONFIRM_TIMEOUT + REPLY_CONFIRM_TIMEOUT);
    assert_eq!(rig.deliveries(), []);
}

#[test]
fn awaited_replies_are_bounded_the_oldest_given_up() {
    let mut rig = Rig::new(text_replies());
    for i in 0..=MAX_PENDING_REPLIES as u32 {
        let unit = Tsi::from_parts(206, 1, 2_069_100 + i).unwrap();
        rig.status(mirror_group(), unit, 0x8002);
    }
    let given_up: std::vec::Vec<_> = rig
        .deliveries()
        .into_iter()
        .filter(|(_, _, o)| *o == DeliveryOutcome::NotConfirmed)
        .collect();
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    assert_eq!(given_up[0].0, Tsi::from_parts(206, 1, 2_069_100).unwrap());
}
