//! A route a field unit drives: waypoints joined by straight legs, each driven at a given
//! speed, so that its position (and its LIP reports) follow a pursuit across the border.
//!
//! Distances use the equirectangular approximation, which is exact to well under a metre over
//! the few kilometres of a border pursuit.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::sds::{
    DirectionOfTravel, HorizontalVelocity, PositionError, ShortLocationReport,
};
use borderlink_protocol::time::{Duration, Instant};

/// Mean Earth radius, metres.
const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// A place on the route.
#[derive(Debug, Clone, PartialEq)]
pub struct Waypoint {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// A name for the timeline ("border at Hazeldonk").
    pub name: Option<String>,
    /// Speed of the leg that starts here, km/h (`None`: the route's speed).
    pub speed_kmh: Option<f64>,
    /// On reaching this point the unit registers on another network and selects a group
    /// (semi-roaming: it keeps its own identity).
    pub roam: Option<(Network, Tsi)>,
}

/// Where a unit is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
    /// Speed, km/h (0 once the route is driven).
    pub speed_kmh: f64,
    /// Heading, degrees clockwise from north.
    pub heading: f64,
}

impl Position {
    /// The LIP short location report of this position.
    pub fn lip(&self) -> Option<ShortLocationReport> {
        let mut report = ShortLocationReport::from_degrees(self.lat, self.lon).ok()?;
        report.position_error = PositionError::LessThan20m;
        report.velocity = HorizontalVelocity::from_km_h(self.speed_kmh);
        report.direction = DirectionOfTravel::from_degrees(self.heading)?;
        Some(report)
    }
}

/// A route with its timing worked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    waypoints: Vec<Waypoint>,
    /// When the unit leaves the first waypoint.
    start: Instant,
    /// When the unit reaches each waypoint.
    arrivals: Vec<Instant>,
}

/// Metres between two points, and the bearing from the first to the second.
fn leg(a: &Waypoint, b: &Waypoint) -> (f64, f64) {
    let lat0 = ((a.lat + b.lat) / 2.0).to_radians();
    let dx = (b.lon - a.lon).to_radians() * lat0.cos() * EARTH_RADIUS_M;
    let dy = (b.lat - a.lat).to_radians() * EARTH_RADIUS_M;
    let bearing = dx.atan2(dy).to_degrees().rem_euclid(360.0);
    (dx.hypot(dy), bearing)
}

impl Route {
    /// A route leaving its first waypoint at `start`, driven at `speed_kmh` where a waypoint
    /// sets no speed of its own. `None` for fewer than two waypoints or a speed that is not
    /// positive.
    pub fn new(waypoints: Vec<Waypoint>, start: Instant, speed_kmh: f64) -> Option<Route> {
        if waypoints.len() < 2 {
            return None;
        }
        let mut arrivals = vec![start];
        let mut at = start;
        for pair in waypoints.windows(2) {
            let speed = pair[0].speed_kmh.unwrap_or(speed_kmh);
            if !(speed.is_finite() && speed > 0.0) {
                return None;
            }
            let (metres, _) = leg(&pair[0], &pair[1]);
            let secs = metres / (speed / 3.6);
            at += Duration::from_micros((secs * 1e6).round() as u64);
            arrivals.push(at);
        }
        Some(Route {
            waypoints,
            start,
            arrivals,
        })
    }

    /// The waypoints.
    pub fn waypoints(&self) -> &[Waypoint] {
        &self.waypoints
    }

    /// When the unit reaches each waypoint.
    pub fn arrivals(&self) -> &[Instant] {
        &self.arrivals
    }

    /// When the unit leaves its first waypoint.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Where the unit is at `now`: at the first waypoint before the start, at the last one
    /// after the end.
    pub fn position(&self, now: Instant) -> Position {
        let last = self.waypoints.len() - 1;
        let i = self.arrivals.partition_point(|t| *t <= now);
        if i == 0 || i > last {
            let w = if i == 0 {
                &self.waypoints[0]
            } else {
                &self.waypoints[last]
            };
            let (_, heading) = if i == 0 {
                leg(&self.waypoints[0], &self.waypoints[1])
            } else {
                leg(&self.waypoints[last - 1], &self.waypoints[last])
            };
            return Position {
                lat: w.lat,
                lon: w.lon,
                speed_kmh: 0.0,
                heading,
            };
        }
        let (a, b) = (&self.waypoints[i - 1], &self.waypoints[i]);
        let (t0, t1) = (self.arrivals[i - 1], self.arrivals[i]);
        let span = t1.saturating_since(t0).as_micros().max(1) as f64;
        let f = now.saturating_since(t0).as_micros() as f64 / span;
        let (metres, heading) = leg(a, b);
        Position {
            lat: a.lat + (b.lat - a.lat) * f,
            lon: a.lon + (b.lon - a.lon) * f,
            speed_kmh: metres / (span / 1e6) * 3.6,
            heading,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(lat: f64, lon: f64) -> Waypoint {
        Waypoint {
            lat,
            lon,
            name: None,
            speed_kmh: None,
            roam: None,
        }
    }

    #[test]
    fn a_pursuit_across_hazeldonk_is_timed_by_distance_and_speed() {
        // Meer (BE) to the A16 border crossing at Hazeldonk (NL): about 4.6 km due north.
        let route = Route::new(
            vec![wp(51.4450, 4.7420), wp(51.4860, 4.7450)],
            Instant::from_millis(5_000),
            120.0,
        )
        .unwrap();
        let (metres, heading) = leg(&route.waypoints()[0], &route.waypoints()[1]);
        assert!((4_500.0..4_700.0).contains(&metres), "{metres} m");
        assert!(!(5.0..=355.0).contains(&heading), "north: {heading}");
        let arrive = route.arrivals()[1];
        let secs = arrive.saturating_since(route.start()).as_micros() as f64 / 1e6;
        assert!((secs - metres / (120.0 / 3.6)).abs() < 1e-3);
        let half = Instant::from_micros((route.start().as_micros() + arrive.as_micros()) / 2);
        let p = route.position(half);
        assert!((p.lat - 51.4655).abs() < 1e-4, "{p:?}");
        assert!((p.speed_kmh - 120.0).abs() < 0.5, "{p:?}");
        let end = route.position(arrive + Duration::from_secs(60));
        assert_eq!((end.lat, end.speed_kmh), (51.4860, 0.0));
    }

    #[test]
    fn a_position_makes_a_lip_report_that_round_trips() {
        let p = Position {
            lat: 51.4420,
            lon: 4.9290,
            speed_kmh: 50.0,
            heading: 90.0,
        };
        let report = p.lip().unwrap();
        let mut buf = [0u8; 11];
        report.emit(&mut buf).unwrap();
        let back = ShortLocationReport::parse(&buf, ShortLocationReport::BIT_LEN).unwrap();
        assert!((back.latitude.degrees() - 51.4420).abs() < 1e-5);
        assert_eq!(back.direction.compass(), "E");
    }

    #[test]
    fn routes_without_two_points_or_speed_are_refused() {
        assert!(Route::new(vec![wp(51.0, 4.0)], Instant::ZERO, 50.0).is_none());
        assert!(Route::new(vec![wp(51.0, 4.0), wp(51.1, 4.0)], Instant::ZERO, 0.0).is_none());
    }
}
