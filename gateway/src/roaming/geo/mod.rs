//! WGS84 geometry for border zones: points, polygons with holes, multi-polygons, whether a
//! position is inside, and how far it is from the boundary in metres.
//!
//! Zones are drawn around border crossings and enclaves, a few kilometres across, and the
//! questions asked of them are "is this LIP position inside?" and "by how many metres is it
//! outside?" (for hysteresis). Both are answered in a local plane centred on the position: each
//! vertex is projected with an equirectangular projection scaled by the cosine of the
//! position's latitude, which over 100 km errs by less than 0.1 % in distance — far below a
//! LIP fix's own error (the best a short report can claim is < 2 m, and the raw coordinate step
//! is about 1.2 m). Zones wider than [`MAX_EXTENT_DEG`] are refused rather than measured
//! wrongly. No geometry crate is pulled in for these two questions: they are a crossing-number
//! test and a point-to-segment distance, and the semantics at the boundary are ours to fix:
//!
//! - A position on an edge or a vertex, to within [`BOUNDARY_TOLERANCE_M`], is
//!   [`Placement::Boundary`], never left to floating-point luck. Zone logic counts the
//!   boundary as inside.
//! - Holes are counter-enclaves: a position in a hole is outside its polygon (the Dutch
//!   counter-enclaves inside Belgian Baarle-Hertog, for instance); on a hole's edge it is on the
//!   boundary.
//! - A multi-polygon is inside where any of its polygons is; two parts that touch only at a
//!   vertex (Baarle's "quadripoint") meet at a boundary point.
//!
//! Rings are written as `[longitude, latitude]` pairs in configuration (the GeoJSON order);
//! [`LatLon`] names the fields so code cannot swap them.

#[cfg(test)]
mod tests;

use core::fmt;

use borderlink_protocol::sds::LipPosition;
use thiserror::Error;

/// Mean Earth radius (IUGG), metres: the scale of the local plane.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Metres per degree of latitude on the mean sphere.
const M_PER_DEG: f64 = EARTH_RADIUS_M * core::f64::consts::PI / 180.0;

/// Distance within which a position counts as on the boundary: 1 cm, well under the LIP
/// coordinate step, so only a position given *on* an edge or vertex lands there.
pub const BOUNDARY_TOLERANCE_M: f64 = 0.01;

/// Widest zone accepted, in degrees of latitude or longitude (about 110 km north–south): the
/// local-plane measurements stay within 0.1 % up to there.
pub const MAX_EXTENT_DEG: f64 = 1.0;

/// A geometry that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum GeoError {
    /// A latitude outside −90..=90 or not a number.
    #[error("latitude {0} is not within -90..=90 degrees")]
    Latitude(f64),
    /// A longitude outside −180..=180 or not a number.
    #[error("longitude {0} is not within -180..=180 degrees")]
    Longitude(f64),
    /// A ring with fewer than three distinct vertices.
    #[error("a ring needs at least 3 distinct vertices, this one has {0}")]
    TooFewVertices(usize),
    /// A ring of zero area (all vertices on one line).
    #[error("the ring encloses no area (its vertices are on one line)")]
    Degenerate,
    /// A shape wider than [`MAX_EXTENT_DEG`].
    #[error("the shape spans {0:.2} degrees; zones may span at most {MAX_EXTENT_DEG} degree")]
    TooLarge(f64),
    /// A multi-polygon with no polygon.
    #[error("an area needs at least one polygon")]
    Empty,
}

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

impl LatLon {
    /// A position; latitude −90..=90 and longitude −180..=180, finite.
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::Longitude(lon));
        }
        Ok(LatLon { lat, lon })
    }

    /// The position of a LIP location report, short or long.
    pub fn of_position(position: &LipPosition) -> Self {
        // The raw fields cannot leave these ranges; the clamp keeps that true by construction.
        LatLon {
            lat: position.latitude().degrees().clamp(-90.0, 90.0),
            lon: position.longitude().degrees().clamp(-180.0, 180.0),
        }
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle distance to `other` in metres (haversine on the mean sphere).
    pub fn distance_m(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// This position moved `north_m` metres north and `east_m` metres east (local plane).
    pub fn offset_m(self, north_m: f64, east_m: f64) -> LatLon {
        let lat = self.lat + north_m / M_PER_DEG;
        let lon = self.lon + east_m / (M_PER_DEG * self.lat.to_radians().cos());
        LatLon {
            lat: lat.clamp(-90.0, 90.0),
            lon: lon.clamp(-180.0, 180.0),
        }
    }

    /// `self` as metres east and north of `origin` in the plane centred on `origin`.
    fn local(self, origin: LatLon, cos_lat: f64) -> (f64, f64) {
        let mut dlon = self.lon - origin.lon;
        // The shorter way round, should a ring ever straddle the antimeridian.
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        (
            dlon * M_PER_DEG * cos_lat,
            (self.lat - origin.lat) * M_PER_DEG,
        )
    }
}

impl fmt::Display for LatLon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6} N {:.6} E", self.lat, self.lon)
    }
}

/// Where a position lies relative to a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Strictly inside.
    Inside,
    /// On an edge or a vertex (within [`BOUNDARY_TOLERANCE_M`]).
    Boundary,
    /// Strictly outside.
    Outside,
}

impl Placement {
    /// Inside or on the boundary: how zones count a position.
    pub fn is_within(self) -> bool {
        !matches!(self, Placement::Outside)
    }
}

/// A closed ring of vertices (the closing vertex need not be repeated).
#[derive(Debug, Clone, PartialEq)]
pub struct Ring {
    vertices: Vec<LatLon>,
    /// Bounding box: south, west, north, east.
    bbox: [f64; 4],
}

impl Ring {
    /// A ring through these vertices; a repeated closing vertex and consecutive duplicates are
    /// dropped.
    pub fn new(vertices: impl IntoIterator<Item = LatLon>) -> Result<Self, GeoError> {
        let mut v: Vec<LatLon> = Vec::new();
        for p in vertices {
            if v.last() != Some(&p) {
                v.push(p);
            }
        }
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        if v.len() < 3 {
            return Err(GeoError::TooFewVertices(v.len()));
        }
        let bbox = v.iter().fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |[s, w, n, e], p| [s.min(p.lat), w.min(p.lon), n.max(p.lat), e.max(p.lon)],
        );
        let extent = (bbox[2] - bbox[0]).max(bbox[3] - bbox[1]);
        if extent > MAX_EXTENT_DEG {
            return Err(GeoError::TooLarge(extent));
        }
        let ring = Ring { vertices: v, bbox };
        if ring.signed_area_m2().abs() < 1e-6 {
            return Err(GeoError::Degenerate);
        }
        Ok(ring)
    }

    /// The vertices, without the closing repeat.
    pub fn vertices(&self) -> &[LatLon] {
        &self.vertices
    }

    /// The enclosed area in square metres (signed: positive when counter-clockwise).
    pub fn signed_area_m2(&self) -> f64 {
        let Some(&origin) = self.vertices.first() else {
            return 0.0;
        };
        let cos = origin.lat.to_radians().cos();
        let pts: Vec<(f64, f64)> = self.vertices.iter().map(|p| p.local(origin, cos)).collect();
        let mut twice = 0.0;
        for (i, a) in pts.iter().enumerate() {
            let b = pts[(i + 1) % pts.len()];
            twice += a.0 * b.1 - b.0 * a.1;
        }
        twice / 2.0
    }

    /// The edges as segments in the plane centred on `p`.
    fn segments(&self, p: LatLon) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + '_ {
        let cos = p.lat.to_radians().cos();
        let n = self.vertices.len();
        (0..n).map(move |i| {
            let a = self.vertices[i].local(p, cos);
            let b = self.vertices[(i + 1) % n].local(p, cos);
            (a, b)
        })
    }

    /// Distance from `p` to the ring's nearest edge, metres.
    fn distance_m(&self, p: LatLon) -> f64 {
        self.segments(p)
            .map(|(a, b)| origin_to_segment(a, b))
            .fold(f64::INFINITY, f64::min)
    }

    /// Where `p` lies: on an edge, or inside/outside by the crossing number.
    fn locate(&self, p: LatLon) -> Placement {
        // Far outside the box (more than a metre of slack): no need to look at the edges.
        let slack = 1.0 / M_PER_DEG;
        if p.lat < self.bbox[0] - slack
            || p.lat > self.bbox[2] + slack
            || p.lon < self.bbox[1] - slack * 2.0
            || p.lon > self.bbox[3] + slack * 2.0
        {
            return Placement::Outside;
        }
        let mut inside = false;
        for (a, b) in self.segments(p) {
            if origin_to_segment(a, b) <= BOUNDARY_TOLERANCE_M {
                return Placement::Boundary;
            }
            // Crossing number with the half-open rule (a vertex on the ray counts for the
            // edge above it only), so a ray through a vertex is counted once, not twice.
            if (a.1 > 0.0) != (b.1 > 0.0) {
                let x = a.0 + (0.0 - a.1) * (b.0 - a.0) / (b.1 - a.1);
                if x > 0.0 {
                    inside = !inside;
                }
            }
        }
        if inside {
            Placement::Inside
        } else {
            Placement::Outside
        }
    }
}

/// Distance from the origin to segment `a`–`b` in the plane.
fn origin_to_segment(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

/// A polygon: an outer ring and holes (counter-enclaves).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    exterior: Ring,
    holes: Vec<Ring>,
}

impl Polygon {
    /// A polygon; holes are expected inside the exterior (not checked: a hole outside it
    /// simply never matters).
    pub fn new(exterior: Ring, holes: Vec<Ring>) -> Self {
        Polygon { exterior, holes }
    }

    /// The outer ring.
    pub fn exterior(&self) -> &Ring {
        &self.exterior
    }

    /// The holes.
    pub fn holes(&self) -> &[Ring] {
        &self.holes
    }

    /// Where `p` lies.
    pub fn locate(&self, p: LatLon) -> Placement {
        match self.exterior.locate(p) {
            Placement::Outside => Placement::Outside,
            Placement::Boundary => Placement::Boundary,
            Placement::Inside => {
                for hole in &self.holes {
                    match hole.locate(p) {
                        Placement::Inside => return Placement::Outside,
                        Placement::Boundary => return Placement::Boundary,
                        Placement::Outside => {}
                    }
                }
                Placement::Inside
            }
        }
    }

    /// Distance from `p` to the nearest edge of the exterior or a hole, metres.
    pub fn distance_to_boundary_m(&self, p: LatLon) -> f64 {
        self.holes
            .iter()
            .map(|h| h.distance_m(p))
            .fold(self.exterior.distance_m(p), f64::min)
    }
}

/// A multi-polygon: the shape of a border zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    polygons: Vec<Polygon>,
}

impl Area {
    /// An area of at least one polygon.
    pub fn new(polygons: Vec<Polygon>) -> Result<Self, GeoError> {
        if polygons.is_empty() {
            return Err(GeoError::Empty);
        }
        Ok(Area { polygons })
    }

    /// The polygons.
    pub fn polygons(&self) -> &[Polygon] {
        &self.polygons
    }

    /// Where `p` lies: inside if any polygon has it inside, else on the boundary if any has it
    /// there.
    pub fn locate(&self, p: LatLon) -> Placement {
        let mut best = Placement::Outside;
        for polygon in &self.polygons {
            match polygon.locate(p) {
                Placement::Inside => return Placement::Inside,
                Placement::Boundary => best = Placement::Boundary,
                Placement::Outside => {}
            }
        }
        best
    }

    /// Distance from `p` to the nearest boundary of any polygon, metres: how far inside or
    /// outside the area `p` is.
    pub fn distance_to_boundary_m(&self, p: LatLon) -> f64 {
        self.polygons
            .iter()
            .map(|poly| poly.distance_to_boundary_m(p))
            .fold(f64::INFINITY, f64::min)
    }
}
