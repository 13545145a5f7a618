//! Border zones and where each unit is: LIP positions in, "unit entered / left zone" out, with
//! hysteresis so a unit parked on a zone's edge does not flap in and out.
//!
//! A LIP fix wanders by metres to tens of metres from one report to the next, so a unit waiting
//! at a crossing would cross a zone's edge with every report. The rules:
//!
//! - **enter** when a report puts the unit inside the zone (the boundary counts as inside);
//! - **leave** only when a report puts it outside by more than the zone's
//!   [`exit_margin_m`](Zone::exit_margin_m), *and* it has been inside for at least
//!   [`min_dwell`](Zone::min_dwell);
//! - reports less accurate than the zone's
//!   [`max_position_error_m`](Zone::max_position_error_m) are not used for that zone;
//! - **silence**: a unit that has not reported for the tracker's silence timeout is forgotten
//!   and leaves every zone.
//!
//! Units are tracked per ISSI in bounded memory ([`ZoneTracker::new`]'s capacity). When a new
//! unit arrives at capacity, the unit heard from longest ago is forgotten (and leaves its zones)
//! and [`ZoneTracker::evicted`] counts it: a flood of bogus identities costs old state, never
//! memory.

use std::collections::HashMap;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::sds::{LipPosition, PositionError};
use borderlink_protocol::time::{Duration, Instant};

use super::geo::{Area, LatLon};
use super::mirrors::MirrorId;

/// A zone's index in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneId(pub u16);

/// One configured border zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Name shown to dispatch.
    pub name: String,
    /// Its shape.
    pub area: Area,
    /// The mirrors a unit inside it activates (each only for units of its groups).
    pub mirrors: Vec<MirrorId>,
    /// How far outside a unit must be before it counts as gone, metres.
    pub exit_margin_m: f64,
    /// How long a unit counts as inside at least, once it entered.
    pub min_dwell: Duration,
    /// Reports with a larger (or unknown) position error are not used for this zone; `None`
    /// uses every report.
    pub max_position_error_m: Option<u32>,
}

impl Zone {
    /// Whether a fix whose error is bounded by `error_m` metres (`None`: no bound given) may be
    /// used for the zone.
    pub fn accepts(&self, error_m: Option<f64>) -> bool {
        match self.max_position_error_m {
            None => true,
            Some(max) => error_m.is_some_and(|b| b <= f64::from(max)),
        }
    }
}

/// Why a unit left a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaveReason {
    /// It reported a position outside by more than the exit margin.
    Moved,
    /// It stopped reporting.
    Silent,
    /// It was forgotten to make room for another unit.
    Evicted,
}

/// A reported position and how accurate the unit says it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Where.
    pub position: LatLon,
    /// The radius within which the true position lies, metres; `None` if the report gives no
    /// bound.
    pub error_m: Option<f64>,
}

impl Fix {
    /// A fix at `position` with a short report's position error.
    pub fn new(position: LatLon, error: PositionError) -> Self {
        Fix {
            position,
            error_m: error.bound_m().map(f64::from),
        }
    }

    /// The fix of a LIP position, short or long report alike.
    pub fn of_position(position: &LipPosition) -> Self {
        Fix {
            position: LatLon::of_position(position),
            error_m: position.error_m(),
        }
    }
}

/// A change of a unit's zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZoneChange {
    /// The unit is now inside the zone.
    Entered {
        /// The unit.
        unit: Tsi,
        /// The zone.
        zone: ZoneId,
    },
    /// The unit is no longer inside the zone.
    Left {
        /// The unit.
        unit: Tsi,
        /// The zone.
        zone: ZoneId,
        /// Why.
        reason: LeaveReason,
    },
}

/// What is known of one unit.
#[derive(Debug, Clone)]
struct Track {
    /// Its last report (of any zone relevance).
    last_report: Instant,
    /// The talkgroup of the gateway radio that heard its last report.
    heard_on: Tsi,
    /// The zones it is inside, with when it entered and its last report inside.
    inside: Vec<Presence>,
}

/// A unit inside a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// The zone.
    pub zone: ZoneId,
    /// When it entered.
    pub since: Instant,
    /// Its last report that kept it inside (inside, or outside within the margin).
    pub last_inside: Instant,
}

/// Where every tracked unit is; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ZoneTracker {
    units: HashMap<Tsi, Track>,
    capacity: usize,
    silence: Duration,
    evicted: u64,
}

impl ZoneTracker {
    /// A tracker of at most `capacity` units (at least 1) that forgets a unit after `silence`
    /// without a report.
    pub fn new(capacity: usize, silence: Duration) -> Self {
        let capacity = capacity.max(1);
        ZoneTracker {
            units: HashMap::with_capacity(capacity.min(4_096)),
            capacity,
            silence,
            evicted: 0,
        }
    }

    /// A position report of `unit` heard on `heard_on`; the zone changes it causes are
    /// appended to `out`.
    pub fn report(
        &mut self,
        now: Instant,
        unit: Tsi,
        heard_on: Tsi,
        fix: Fix,
        zones: &[Zone],
        out: &mut Vec<ZoneChange>,
    ) {
        if !self.units.contains_key(&unit) && self.units.len() >= self.capacity {
            self.evict_oldest(out);
        }
        let track = self.units.entry(unit).or_insert_with(|| Track {
            last_report: now,
            heard_on,
            inside: Vec::new(),
        });
        track.last_report = track.last_report.max(now);
        track.heard_on = heard_on;
        for (index, zone) in zones.iter().enumerate() {
            let id = ZoneId(u16::try_from(index).unwrap_or(u16::MAX));
            if !zone.accepts(fix.error_m) {
                continue;
            }
            let within = zone.area.locate(fix.position).is_within();
            let present = track.inside.iter().position(|p| p.zone == id);
            match (present, within) {
                (None, true) => {
                    track.inside.push(Presence {
                        zone: id,
                        since: now,
                        last_inside: now,
                    });
                    out.push(ZoneChange::Entered { unit, zone: id });
                }
                (None, false) => {}
                (Some(i), true) => track.inside[i].last_inside = now,
                (Some(i), false) => {
                    let p = track.inside[i];
                    let beyond =
                        zone.area.distance_to_boundary_m(fix.position) > zone.exit_margin_m;
                    let dwelt = now.saturating_since(p.since) >= zone.min_dwell;
                    if beyond && dwelt {
                        track.inside.remove(i);
                        out.push(ZoneChange::Left {
                            unit,
                            zone: id,
                            reason: LeaveReason::Moved,
                        });
                    } else if !beyond {
                        // Outside within the margin: still counts as a sign of presence.
                        track.inside[i].last_inside = now;
                    }
                }
            }
        }
    }

    /// Forgets the units silent for the silence timeout at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<ZoneChange>) {
        let silence = self.silence;
        let gone: Vec<Tsi> = self
            .units
            .iter()
            .filter(|(_, t)| now.saturating_since(t.last_report) >= silence)
            .map(|(u, _)| *u)
            .collect();
        for unit in gone {
            self.forget(unit, LeaveReason::Silent, out);
        }
    }

    /// When the next unit falls silent.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.units
            .values()
            .map(|t| t.last_report + self.silence)
            .min()
    }

    /// The zones `unit` is inside.
    pub fn presence(&self, unit: Tsi) -> &[Presence] {
        self.units.get(&unit).map_or(&[], |t| t.inside.as_slice())
    }

    /// Every unit inside a zone, with the group it was last heard on and its presences.
    pub fn present(&self) -> impl Iterator<Item = (Tsi, Tsi, &[Presence])> + '_ {
        self.units
            .iter()
            .filter(|(_, t)| !t.inside.is_empty())
            .map(|(u, t)| (*u, t.heard_on, t.inside.as_slice()))
    }

    /// Units tracked now.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether no unit is tracked.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Units forgotten to make room since start.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn evict_oldest(&mut self, out: &mut Vec<ZoneChange>) {
        if let Some(oldest) = self
            .units
            .iter()
            .min_by_key(|(u, t)| (t.last_report, **u))
            .map(|(u, _)| *u)
        {
            self.evicted += 1;
            self.forget(oldest, LeaveReason::Evicted, out);
        }
    }

    fn forget(&mut self, unit: Tsi, reason: LeaveReason, out: &mut Vec<ZoneChange>) {
        if let Some(track) = self.units.remove(&unit) {
            for p in track.inside {
                out.push(ZoneChange::Left {
                    unit,
                    zone: p.zone,
                    reason,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roaming::geo::{Polygon, Ring};

    fn at(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    /// A zone whose north edge is the parallel 51.4858 N between Hazeldonk and Meer.
    fn zone(exit_margin_m: f64, min_dwell: Duration) -> Zone {
        let ring = Ring::new(
            [
                (4.72, 51.47),
                (4.75, 51.47),
                (4.75, 51.4858),
                (4.72, 51.4858),
            ]
            .into_iter()
            .map(|(lon, lat)| at(lat, lon)),
        )
        .unwrap();
        Zone {
            name: "Meer".into(),
            area: Area::new(vec![Polygon::new(ring, vec![])]).unwrap(),
            mirrors: vec![MirrorId(0)],
            exit_margin_m,
            min_dwell,
            max_position_error_m: None,
        }
    }

    fn unit(ssi: u32) -> Tsi {
        Tsi::from_parts(206, 1, ssi).unwrap()
    }

    fn group() -> Tsi {
        Tsi::from_parts(206, 1, 2_061_001).unwrap()
    }

    fn t(secs: u64) -> Instant {
        Instant::from_micros(secs * 1_000_000)
    }

    /// A position `north_m` metres north of the zone's edge (negative: inside).
    fn edge(north_m: f64) -> LatLon {
        at(51.4858, 4.735).offset_m(north_m, 0.0)
    }

    #[test]
    fn jitter_across_the_edge_does_not_leave_the_zone() {
        let zones = [zone(100.0, Duration::ZERO)];
        let mut tracker = ZoneTracker::new(16, Duration::from_secs(600));
        let mut out = Vec::new();
        tracker.report(
            t(0),
            unit(1),
            group(),
            Fix::new(edge(-5.0), PositionError::LessThan20m),
            &zones,
            &mut out,
        );
        assert_eq!(
            out,
            [ZoneChange::Entered {
                unit: unit(1),
                zone: ZoneId(0)
            }]
        );
        out.clear();
        // +/- 40 m around the edge for ten minutes: no change.
        for i in 1..60u64 {
            let north = if i % 2 == 0 { -40.0 } else { 40.0 };
            tracker.report(
                t(i * 10),
                unit(1),
                group(),
                Fix::new(edge(north), PositionError::LessThan20m),
                &zones,
                &mut out,
            );
        }
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(tracker.presence(unit(1)).len(), 1);
        // Well clear of the margin: gone.
        tracker.report(
            t(600),
            unit(1),
            group(),
            Fix::new(edge(150.0), PositionError::LessThan20m),
            &zones,
            &mut out,
        );
        assert_eq!(
            out,
            [ZoneChange::Left {
                unit: unit(1),
                zone: ZoneId(0),
                reason: LeaveReason::Moved
            }]
        );
    }

    #[test]
    fn without_hysteresis_the_same_jitter_flaps() {
        // The control experiment: margin 0 leaves at the first report outside.
        let zones = [zone(0.0, Duration::ZERO)];
        let mut tracker = ZoneTracker::new(16, Duration::from_secs(600));
        let mut out = Vec::new();
        for i in 0..10u64 {
            let north = if i % 2 == 0 { -40.0 } else { 40.0 };
            tracker.report(
                t(i * 10),
                unit(1),
                group(),
                Fix::new(edge(north), PositionError::LessThan20m),
                &zones,
                &mut out,
            );
        }
        assert_eq!(out.len(), 10, "{out:?}");
    }

    #[test]
    fn dwell_keeps_a_unit_in_for_a_minimum_time() {
        let zones = [zone(10.0, Duration::from_secs(120))];
        let mut tracker = ZoneTracker::new(16, Duration::from_secs(600));
        let mut out = Vec::new();
        tracker.report(
            t(0),
            unit(1),
            group(),
            Fix::new(edge(-5.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        out.clear();
        tracker.report(
            t(60),
            unit(1),
            group(),
            Fix::new(edge(500.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        assert!(out.is_empty(), "left before the dwell: {out:?}");
        tracker.report(
            t(120),
            unit(1),
            group(),
            Fix::new(edge(500.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn inaccurate_reports_are_not_used() {
        let mut z = zone(10.0, Duration::ZERO);
        z.max_position_error_m = Some(200);
        let zones = [z];
        let mut tracker = ZoneTracker::new(16, Duration::from_secs(600));
        let mut out = Vec::new();
        tracker.report(
            t(0),
            unit(1),
            group(),
            Fix::new(edge(-50.0), PositionError::LessThan2km),
            &zones,
            &mut out,
        );
        tracker.report(
            t(1),
            unit(1),
            group(),
            Fix::new(edge(-50.0), PositionError::Unknown),
            &zones,
            &mut out,
        );
        assert!(out.is_empty());
        tracker.report(
            t(2),
            unit(1),
            group(),
            Fix::new(edge(-50.0), PositionError::LessThan200m),
            &zones,
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn silence_and_capacity_forget_units_and_say_so() {
        let zones = [zone(10.0, Duration::ZERO)];
        let mut tracker = ZoneTracker::new(2, Duration::from_secs(300));
        let mut out = Vec::new();
        tracker.report(
            t(0),
            unit(1),
            group(),
            Fix::new(edge(-5.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        tracker.report(
            t(10),
            unit(2),
            group(),
            Fix::new(edge(-5.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        out.clear();
        // A third unit evicts the one heard from longest ago.
        tracker.report(
            t(20),
            unit(3),
            group(),
            Fix::new(edge(500.0), PositionError::LessThan2m),
            &zones,
            &mut out,
        );
        assert_eq!(
            out,
            [ZoneChange::Left {
                unit: unit(1),
                zone: ZoneId(0),
                reason: LeaveReason::Evicted
            }]
        );
        assert_eq!((tracker.len(), tracker.evicted()), (2, 1));
        out.clear();
        assert_eq!(tracker.poll_timeout(), Some(t(310)));
        tracker.handle_timeout(t(310), &mut out);
        assert_eq!(
            out,
            [ZoneChange::Left {
                unit: unit(2),
                zone: ZoneId(0),
                reason: LeaveReason::Silent
            }]
        );
        tracker.handle_timeout(t(320), &mut out);
        assert!(tracker.is_empty());
    }
}
