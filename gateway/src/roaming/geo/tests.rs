//! Point-in-polygon and boundary distance on real border geography.
//!
//! # Where the shapes come from
//! The Baarle outlines below are *simplified*: a handful of vertices per parcel instead of the
//! hundreds of survey points fixed by the 1995 Belgian–Dutch boundary treaty, so they are not
//! survey data and must not be used as such. They keep what the tests are about — the topology
//! and the published figures:
//!
//! - **H1**, the largest Belgian enclave of Baarle-Hertog, surrounded by the Netherlands, with
//!   Dutch counter-enclaves inside it as holes (H1 holds six of the seven Dutch
//!   counter-enclaves). One of them is drawn to the figures Visit Baarle publishes for **N1**:
//!   53 667 m², and 20.46 m from the Netherlands proper (the closest any counter-enclave in the
//!   world comes to its mother country).
//! - **H2** touches H1 at a single point: Baarle has a binational quadripoint where the border
//!   meets itself (marstecas.nl, "paal 215 - 255", visited 13 July 2023).
//! - Probe points are published coordinates, each with the country its publisher gives it:
//!   Baarle-Hertog 51.4383 N 4.9294 E (Belgian) and 500 m north 51.4428 N 4.9294 E (Dutch), from
//!   a country-lookup test suite; Baarle-Hertog 51.440628 N 4.931858 E (Belgian) and
//!   Baarle-Nassau 51.445820 N 4.929431 E (Dutch) from a geocoder's test cases; 51.445161 N
//!   4.941440 E (Belgian) and 51.439391 N 4.931514 E (Dutch) from another country-lookup test;
//!   and the enclave-border marker waymarked at N 51° 26.566' E 004° 55.865' (a point on the
//!   line), which the simplified H1 outline passes through.
//! - **Hazeldonk / Meer**, the busiest crossing of the main border (A16/E19): Wikipedia places
//!   the Dutch side, Hazeldonk, at 51°29′11″N 4°44′10″E and the Belgian side, Meer, at
//!   51°29′07″N 4°44′02″E. The simplified border runs east–west between the two.

use super::*;
use proptest::prelude::*;

fn at(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

/// A ring from `(lon, lat)` pairs, the order configuration files use.
fn ring(points: &[(f64, f64)]) -> Ring {
    Ring::new(points.iter().map(|&(lon, lat)| at(lat, lon))).unwrap()
}

// ---- Baarle ------------------------------------------------------------------------------

/// The waymarked enclave-border point, N 51° 26.566' E 004° 55.865'.
const MARKER: (f64, f64) = (51.0 + 26.566 / 60.0, 4.0 + 55.865 / 60.0);

/// H1's west edge, a meridian in this simplification.
const H1_WEST: f64 = 4.9185;

/// Metres per degree of longitude at Baarle.
fn m_per_deg_lon() -> f64 {
    M_PER_DEG * 51.438f64.to_radians().cos()
}

/// N1 drawn to its published figures: 20.46 m east of H1's west edge, 200 m wide, 53 667 m².
fn n1() -> Ring {
    let west = H1_WEST + 20.46 / m_per_deg_lon();
    let east = west + 200.0 / m_per_deg_lon();
    let (south, height) = (51.4370, 53_667.0 / 200.0);
    let north = south + height / M_PER_DEG;
    ring(&[(west, south), (east, south), (east, north), (west, north)])
}

/// A Dutch counter-enclave in the centre, around the published Dutch point 51.439391 N
/// 4.931514 E.
fn centre_counter_enclave() -> Ring {
    ring(&[
        (4.9305, 51.4388),
        (4.9325, 51.4388),
        (4.9325, 51.4400),
        (4.9305, 51.4400),
    ])
}

/// The quadripoint where H1 and H2 touch.
const QUADRIPOINT: (f64, f64) = (4.9400, 51.4345);

fn h1() -> Polygon {
    Polygon::new(
        ring(&[
            (H1_WEST, 51.4350),
            QUADRIPOINT,
            (4.9460, 51.4400),
            (4.9450, 51.4465),
            (4.9360, 51.4462),
            (4.9340, MARKER.0),
            (4.9250, MARKER.0),
            (H1_WEST, 51.4410),
        ]),
        vec![centre_counter_enclave(), n1()],
    )
}

fn h2() -> Polygon {
    Polygon::new(
        ring(&[
            QUADRIPOINT,
            (4.9395, 51.4325),
            (4.9420, 51.4300),
            (4.9445, 51.4335),
        ]),
        vec![],
    )
}

/// Belgian territory at Baarle, as far as these tests draw it.
fn baarle_hertog() -> Area {
    Area::new(vec![h1(), h2()]).unwrap()
}

fn quadripoint() -> LatLon {
    at(QUADRIPOINT.1, QUADRIPOINT.0)
}

#[test]
fn published_belgian_points_are_inside_and_dutch_points_outside() {
    let belgium = baarle_hertog();
    for (lat, lon) in [
        (51.4383, 4.9294),
        (51.440628, 4.931858),
        (51.445161, 4.941440),
    ] {
        assert_eq!(
            belgium.locate(at(lat, lon)),
            Placement::Inside,
            "{lat} {lon}"
        );
    }
    for (lat, lon) in [
        (51.4428, 4.9294),
        (51.445820, 4.929431),
        (51.439391, 4.931514),
    ] {
        assert_eq!(
            belgium.locate(at(lat, lon)),
            Placement::Outside,
            "{lat} {lon}"
        );
    }
}

#[test]
fn the_waymarked_border_point_is_on_the_boundary() {
    let belgium = baarle_hertog();
    let marker = at(MARKER.0, MARKER.1);
    assert_eq!(belgium.locate(marker), Placement::Boundary);
    assert!(belgium.distance_to_boundary_m(marker) < BOUNDARY_TOLERANCE_M);
    // The published Dutch point 500 m north of Baarle-Hertog is a few metres past that line.
    let north = at(51.4428, 4.9294);
    let d = belgium.distance_to_boundary_m(north);
    assert!(
        (d - north.distance_m(at(MARKER.0, 4.9294))).abs() < 0.05,
        "{d}"
    );
    assert!((3.0..5.0).contains(&d), "{d}");
}

#[test]
fn a_counter_enclave_is_a_hole_and_its_edge_is_boundary() {
    let belgium = baarle_hertog();
    // N1: inside the hole is the Netherlands, inside H1 around it is Belgium.
    let n1_centre = at(
        51.4370 + 134.0 / M_PER_DEG,
        H1_WEST + 120.0 / m_per_deg_lon(),
    );
    assert_eq!(belgium.locate(n1_centre), Placement::Outside);
    // The 20.46 m strip of Belgium between N1 and the Netherlands proper.
    let strip = at(51.4380, H1_WEST + 10.23 / m_per_deg_lon());
    assert_eq!(belgium.locate(strip), Placement::Inside);
    let d = belgium.distance_to_boundary_m(strip);
    assert!((d - 10.23).abs() < 0.05, "{d}");
    // On N1's west edge.
    let edge = at(51.4380, H1_WEST + 20.46 / m_per_deg_lon());
    assert_eq!(belgium.locate(edge), Placement::Boundary);
    // N1 is drawn to its published area.
    let area = n1().signed_area_m2().abs();
    assert!((area - 53_667.0).abs() < 60.0, "{area}");
}

#[test]
fn the_quadripoint_is_boundary_and_its_four_quarters_alternate() {
    let belgium = baarle_hertog();
    let q = quadripoint();
    assert_eq!(h1().locate(q), Placement::Boundary);
    assert_eq!(h2().locate(q), Placement::Boundary);
    assert_eq!(belgium.locate(q), Placement::Boundary);
    // North of the point is H1, south is H2, east and south-west are the Netherlands.
    assert_eq!(h1().locate(q.offset_m(5.0, 0.0)), Placement::Inside);
    assert_eq!(h2().locate(q.offset_m(-5.0, 0.0)), Placement::Inside);
    assert_eq!(h1().locate(q.offset_m(-5.0, 0.0)), Placement::Outside);
    assert_eq!(belgium.locate(q.offset_m(0.0, 5.0)), Placement::Outside);
    assert_eq!(belgium.locate(q.offset_m(-3.5, -3.5)), Placement::Outside);
}

#[test]
fn vertices_and_edges_are_boundary_exactly() {
    let h1 = h1();
    for v in h1.exterior().vertices() {
        assert_eq!(h1.locate(*v), Placement::Boundary, "{v}");
    }
    for hole in h1.holes() {
        for v in hole.vertices() {
            assert_eq!(h1.locate(*v), Placement::Boundary, "{v}");
        }
    }
    // Midpoints of every exterior edge.
    let vs = h1.exterior().vertices();
    for (i, a) in vs.iter().enumerate() {
        let b = vs[(i + 1) % vs.len()];
        let mid = at((a.lat() + b.lat()) / 2.0, (a.lon() + b.lon()) / 2.0);
        assert_eq!(h1.locate(mid), Placement::Boundary, "edge {i}: {mid}");
    }
}

#[test]
fn a_ray_through_vertices_and_along_an_edge_counts_once() {
    let h1 = h1();
    // The eastward ray from here runs exactly along the top edge of the centre hole and
    // through both its top vertices, then leaves H1 once: inside.
    assert_eq!(h1.locate(at(51.4400, 4.9250)), Placement::Inside);
    // The ray from here passes exactly through the exterior vertex at 51.4400 N 4.9460 E.
    assert_eq!(h1.locate(at(51.4400, 4.9400)), Placement::Inside);
    // And from west of H1 at that latitude it enters and leaves: outside.
    assert_eq!(h1.locate(at(51.4400, 4.9100)), Placement::Outside);
}

// ---- the main border at Hazeldonk / Meer --------------------------------------------------

/// Hazeldonk (NL), 51°29′11″N 4°44′10″E.
fn hazeldonk() -> LatLon {
    at(
        51.0 + 29.0 / 60.0 + 11.0 / 3600.0,
        4.0 + 44.0 / 60.0 + 10.0 / 3600.0,
    )
}

/// Meer (BE), 51°29′07″N 4°44′02″E.
fn meer() -> LatLon {
    at(
        51.0 + 29.0 / 60.0 + 7.0 / 3600.0,
        4.0 + 44.0 / 60.0 + 2.0 / 3600.0,
    )
}

/// The border between the two, simplified to a parallel half-way.
fn border_lat() -> f64 {
    (hazeldonk().lat() + meer().lat()) / 2.0
}

/// Belgian ground south of the crossing.
fn meer_side() -> Area {
    let b = border_lat();
    Area::new(vec![Polygon::new(
        ring(&[
            (4.7200, 51.4700),
            (4.7500, 51.4700),
            (4.7500, b),
            (4.7200, b),
        ]),
        vec![],
    )])
    .unwrap()
}

#[test]
fn hazeldonk_is_north_of_the_border_and_meer_south() {
    let belgium = meer_side();
    assert_eq!(belgium.locate(meer()), Placement::Inside);
    assert_eq!(belgium.locate(hazeldonk()), Placement::Outside);
    // Each is about 62 m from the line (the two published points are 4 s of latitude apart).
    for p in [meer(), hazeldonk()] {
        let d = belgium.distance_to_boundary_m(p);
        assert!((d - 61.8).abs() < 0.5, "{p}: {d}");
    }
}

#[test]
fn distances_agree_with_the_great_circle() {
    // Boundary distance in the local plane against haversine to the foot of the
    // perpendicular, 2 km out: within 0.1 %.
    let belgium = meer_side();
    let far = at(border_lat() + 2_000.0 / M_PER_DEG, 4.7350);
    let plane = belgium.distance_to_boundary_m(far);
    let sphere = far.distance_m(at(border_lat(), 4.7350));
    assert!(
        (plane - sphere).abs() / sphere < 1e-3,
        "{plane} vs {sphere}"
    );
}

// ---- construction ------------------------------------------------------------------------

#[test]
fn bad_geometry_is_refused_with_its_reason() {
    assert_eq!(LatLon::new(91.0, 4.0), Err(GeoError::Latitude(91.0)));
    assert!(matches!(
        LatLon::new(f64::NAN, 4.0),
        Err(GeoError::Latitude(_))
    ));
    assert_eq!(LatLon::new(51.0, 181.0), Err(GeoError::Longitude(181.0)));
    let p = at(51.0, 4.0);
    assert_eq!(Ring::new([p, p, p]), Err(GeoError::TooFewVertices(1)));
    // A closing repeat is fine and dropped.
    let closed = ring(&[(4.0, 51.0), (4.01, 51.0), (4.01, 51.01), (4.0, 51.0)]);
    assert_eq!(closed.vertices().len(), 3);
    assert_eq!(
        Ring::new([at(51.0, 4.0), at(51.0, 4.01), at(51.0, 4.02)]),
        Err(GeoError::Degenerate)
    );
    assert!(matches!(
        Ring::new([at(51.0, 4.0), at(51.0, 6.0), at(52.0, 5.0)]),
        Err(GeoError::TooLarge(_))
    ));
    assert_eq!(Area::new(vec![]), Err(GeoError::Empty));
}

proptest! {
    #[test]
    fn boundary_means_within_tolerance_and_vice_versa(
        dlat in -0.02f64..0.02,
        dlon in -0.03f64..0.03,
    ) {
        let belgium = baarle_hertog();
        let p = at(51.44 + dlat, 4.93 + dlon);
        let d = belgium.distance_to_boundary_m(p);
        let placement = belgium.locate(p);
        prop_assert_eq!(placement == Placement::Boundary, d <= BOUNDARY_TOLERANCE_M);
        // Moving less than the distance to the boundary never changes the answer.
        if d > 1.0 {
            let q = p.offset_m(d * 0.5, d * 0.5);
            prop_assert_eq!(belgium.locate(q), placement);
        }
    }
}
