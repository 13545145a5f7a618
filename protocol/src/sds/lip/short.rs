//! The LIP short location report (ETSI TS 100 392-18-1 §6.2.1): the fixed 84-bit position
//! report most terminals send, from which borderlink decides that a unit entered a border zone.
//!
//! Layout, in bits from the start of the user data (clause numbers from TS 100 392-18-1):
//!
//! | bits  | width | field                                   | encoding                          |
//! |-------|-------|-----------------------------------------|-----------------------------------|
//! | 0–7   | 8     | protocol identifier                     | 0x0A                              |
//! | 8–9   | 2     | PDU type (§6.3.61)                      | 0 = short location report         |
//! | 10–11 | 2     | time elapsed (§6.3.78)                  | [`TimeElapsed`]                   |
//! | 12–36 | 25    | longitude (§6.3.50)                     | two's complement, × 180/2²⁴ °     |
//! | 37–60 | 24    | latitude (§6.3.30)                      | two's complement, × 90/2²³ °      |
//! | 61–63 | 3     | position error (§6.3.63)                | [`PositionError`]                 |
//! | 64–70 | 7     | horizontal velocity (§6.3.17)           | [`HorizontalVelocity`]            |
//! | 71–74 | 4     | direction of travel (§6.3.5)            | 22.5° steps from north            |
//! | 75    | 1     | type of additional data (§6.3.87)       | 0 reason for sending, 1 user data |
//! | 76–83 | 8     | reason for sending (§6.3.64) / user data| [`AdditionalData`]                |

use core::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::super::SdsError;
use super::super::bits::{BitReader, Bits};
use super::fields::{
    AdditionalData, DirectionOfTravel, HorizontalVelocity, LAT_BITS, LON_BITS, Latitude, Longitude,
    PositionError, ReasonForSending, TimeElapsed,
};

/// A LIP short location report with every field at its exact wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortLocationReport {
    /// Age of the position fix.
    pub time_elapsed: TimeElapsed,
    /// Longitude.
    pub longitude: Longitude,
    /// Latitude.
    pub latitude: Latitude,
    /// Accuracy of the position.
    pub position_error: PositionError,
    /// Horizontal speed.
    pub velocity: HorizontalVelocity,
    /// Heading.
    pub direction: DirectionOfTravel,
    /// Reason for sending or user-defined data.
    pub additional: AdditionalData,
}

impl ShortLocationReport {
    /// Bits of a short location report, protocol identifier included.
    pub const BIT_LEN: u16 = 84;
    /// The LIP PDU type of a short location report.
    pub const PDU_TYPE: u8 = 0;

    /// A fresh report at a position: fix < 5 s old, error and speed unknown, heading north,
    /// sent because the reporting interval elapsed. Fails if a coordinate is out of range.
    pub fn from_degrees(latitude: f64, longitude: f64) -> Result<Self, SdsError> {
        Ok(ShortLocationReport {
            time_elapsed: TimeElapsed::LessThan5s,
            longitude: Longitude::from_degrees(longitude)?,
            latitude: Latitude::from_degrees(latitude)?,
            position_error: PositionError::Unknown,
            velocity: HorizontalVelocity::UNKNOWN,
            direction: DirectionOfTravel::NORTH,
            additional: AdditionalData::Reason(ReasonForSending::MAX_INTERVAL),
        })
    }

    /// The heading, or `None` when the direction field says "not known" (code 15 with no
    /// speed, see [`DirectionOfTravel::given`]).
    pub fn heading(&self) -> Option<DirectionOfTravel> {
        self.direction.given(self.velocity)
    }

    /// Parses a report from complete SDS type-4 user data (protocol identifier first).
    pub fn parse(bytes: &[u8], bits: u16) -> Result<Self, SdsError> {
        Self::parse_payload(super::lip_payload(bytes, bits)?)
    }

    /// Parses a report from the LIP payload (the bits after the protocol identifier). Bits past
    /// the report's 76 are ignored. Any other LIP PDU is [`SdsError::UnsupportedLip`] here:
    /// [`LipPdu`](super::LipPdu) reads them all.
    pub fn parse_payload(payload: Bits<'_>) -> Result<Self, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        let pdu_type = r.read_u8(2)?;
        if pdu_type != Self::PDU_TYPE {
            let extension = if pdu_type == 1 {
                r.read_u8(4).ok()
            } else {
                None
            };
            return Err(SdsError::UnsupportedLip {
                pdu_type,
                extension,
            });
        }
        let time_elapsed = TimeElapsed::from_bits(r.read_u8(2)?);
        let longitude = Longitude(r.read_signed(LON_BITS)?);
        let latitude = Latitude(r.read_signed(LAT_BITS)?);
        let position_error = PositionError::from_bits(r.read_u8(3)?);
        let velocity = HorizontalVelocity(r.read_u8(7)?);
        let direction = DirectionOfTravel(r.read_u8(4)?);
        let user_defined = r.read_bool()?;
        let data = r.read_u8(8)?;
        let additional = if user_defined {
            AdditionalData::UserDefined(data)
        } else {
            AdditionalData::Reason(ReasonForSending(data))
        };
        Ok(ShortLocationReport {
            time_elapsed,
            longitude,
            latitude,
            position_error,
            velocity,
            direction,
            additional,
        })
    }

    /// Bytes [`ShortLocationReport::emit`] writes (84 bits round up to 11).
    pub const fn buffer_len(&self) -> usize {
        (Self::BIT_LEN as usize).div_ceil(8)
    }

    /// Writes the report, protocol identifier first, into `buf`; returns the bytes written. The
    /// bit length to give the radio is [`ShortLocationReport::BIT_LEN`]; the 4 bits after it
    /// are zero.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let needed = self.buffer_len();
        let mut w = super::start_pdu(buf, needed, Self::PDU_TYPE, None)?;
        w.write(u32::from(self.time_elapsed.bits()), 2)?;
        w.write_signed(self.longitude.0, LON_BITS)?;
        w.write_signed(self.latitude.0, LAT_BITS)?;
        w.write(u32::from(self.position_error.bits()), 3)?;
        w.write(u32::from(self.velocity.0), 7)?;
        w.write(u32::from(self.direction.0), 4)?;
        let (user_defined, data) = match self.additional {
            AdditionalData::Reason(r) => (false, r.0),
            AdditionalData::UserDefined(v) => (true, v),
        };
        w.write_bool(user_defined)?;
        w.write(u32::from(data), 8)?;
        Ok(w.finish().0)
    }
}

impl fmt::Display for ShortLocationReport {
    /// E.g. `51.44200 N 4.92900 E (< 20 m), 50.8 km/h E (90°), fix < 5 s old, reason: ...`;
    /// a heading the report does not give (see [`DirectionOfTravel::given`]) reads
    /// `heading unknown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}), {}",
            self.latitude, self.longitude, self.position_error, self.velocity
        )?;
        match self.heading() {
            Some(d) => write!(f, " {d}, ")?,
            None => f.write_str(", heading unknown, ")?,
        }
        match self.time_elapsed.max_secs() {
            Some(5) => f.write_str("fix < 5 s old, ")?,
            Some(300) => f.write_str("fix < 5 min old, ")?,
            Some(_) => f.write_str("fix < 30 min old, ")?,
            None => f.write_str("fix age unknown, ")?,
        }
        self.additional.fmt(f)
    }
}

/// Serializes the raw fields and their conversions (degrees, km/h), so JSON readers need not
/// know the encodings.
impl Serialize for ShortLocationReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ShortLocationReport", 11)?;
        s.serialize_field("latitude", &self.latitude.degrees())?;
        s.serialize_field("longitude", &self.longitude.degrees())?;
        s.serialize_field("latitude_raw", &self.latitude.raw())?;
        s.serialize_field("longitude_raw", &self.longitude.raw())?;
        s.serialize_field("time_elapsed", &self.time_elapsed)?;
        s.serialize_field("position_error", &self.position_error)?;
        s.serialize_field("velocity_kmh", &self.velocity.km_h())?;
        s.serialize_field("velocity_raw", &self.velocity.raw())?;
        // `null` when the report gives no heading (code 15 without a speed).
        s.serialize_field("direction_deg", &self.heading().map(|d| d.degrees()))?;
        s.serialize_field("direction_raw", &self.direction.raw())?;
        s.serialize_field("additional", &self.additional)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    /// Baarle-Nassau, 51.4420 N 4.9290 E: fix < 5 s old, < 20 m, 50.8 km/h (raw 44) heading
    /// east, sent because the reporting interval elapsed.
    const BAARLE: [u8; 11] = [
        0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10,
    ];
    /// Cape Town, 33.9 S 18.4 E: fix < 5 min old, < 200 m, stopped, north, user data 0x5a.
    const CAPE_TOWN: [u8; 11] = [
        0x0a, 0x10, 0xd1, 0x59, 0xe6, 0x7e, 0x4b, 0x1a, 0x00, 0x15, 0xa0,
    ];
    /// Somerset, England, 51.0 N 2.5 W: fix age unknown, error unknown, speed unknown, NNW,
    /// reason 2 (emergency).
    const WEST: [u8; 11] = [
        0x0a, 0x3f, 0xe3, 0x8e, 0x3a, 0x44, 0x44, 0x4f, 0xff, 0xe0, 0x20,
    ];

    fn baarle() -> ShortLocationReport {
        ShortLocationReport {
            time_elapsed: TimeElapsed::LessThan5s,
            longitude: Longitude::from_degrees(4.9290).unwrap(),
            latitude: Latitude::from_degrees(51.4420).unwrap(),
            position_error: PositionError::LessThan20m,
            velocity: HorizontalVelocity::from_km_h(50.0),
            direction: DirectionOfTravel::from_degrees(90.0).unwrap(),
            additional: AdditionalData::Reason(ReasonForSending::MAX_INTERVAL),
        }
    }

    #[test]
    fn baarle_nassau_encodes_to_exact_bytes() {
        let report = baarle();
        assert_eq!(report.latitude.raw(), 4_794_742);
        assert_eq!(report.longitude.raw(), 459_416);
        assert_eq!(report.velocity.raw(), 44);
        assert_eq!(report.direction.raw(), 4);
        let mut buf = [0xa5u8; 12];
        assert_eq!(report.emit(&mut buf), Ok(11));
        assert_eq!(buf[..11], BAARLE);
        assert_eq!(buf[11], 0xa5);
    }

    #[test]
    fn baarle_nassau_decodes_field_by_field() {
        let r = ShortLocationReport::parse(&BAARLE, 84).unwrap();
        assert_eq!(r, baarle());
        assert!((r.latitude.degrees() - 51.4420).abs() <= Latitude::STEP_DEG / 2.0);
        assert!((r.longitude.degrees() - 4.9290).abs() <= Longitude::STEP_DEG / 2.0);
        assert!((r.velocity.km_h().unwrap() - 50.8438).abs() < 1e-3);
        assert_eq!(r.direction.compass(), "E");
        assert_eq!(
            r.to_string(),
            "51.44200 N 4.92900 E (< 20 m), 50.8 km/h E (90°), fix < 5 s old, \
             reason: maximum reporting interval exceeded (129)"
        );
    }

    #[test]
    fn southern_latitude_uses_twos_complement() {
        let r = ShortLocationReport::parse(&CAPE_TOWN, 84).unwrap();
        assert_eq!(r.latitude.raw(), -3_159_709);
        assert_eq!(r.longitude.raw(), 1_715_004);
        assert_eq!(r.time_elapsed, TimeElapsed::LessThan5min);
        assert_eq!(r.position_error, PositionError::LessThan200m);
        assert_eq!(r.velocity, HorizontalVelocity::STOPPED);
        assert_eq!(r.additional, AdditionalData::UserDefined(0x5a));
        assert_eq!(r.latitude.to_string(), "33.90000 S");
        let mut buf = [0xa5u8; 11];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf, CAPE_TOWN);
    }

    #[test]
    fn western_longitude_uses_twos_complement() {
        let r = ShortLocationReport::parse(&WEST, 84).unwrap();
        assert_eq!(r.longitude.raw(), -233_017);
        assert_eq!(r.latitude.raw(), 4_753_545);
        assert_eq!(r.longitude.to_string(), "2.50000 W");
        assert_eq!(r.time_elapsed, TimeElapsed::Unknown);
        assert_eq!(r.position_error, PositionError::Unknown);
        assert_eq!(r.velocity, HorizontalVelocity::UNKNOWN);
        assert_eq!(r.velocity.km_h(), None);
        assert_eq!(r.direction.compass(), "NNW");
        assert_eq!(
            r.additional,
            AdditionalData::Reason(ReasonForSending::EMERGENCY)
        );
        let mut buf = [0xa5u8; 11];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf, WEST);
    }

    #[test]
    fn direction_15_without_speed_is_an_unknown_heading() {
        // WEST: speed unknown (127) and direction code 15, "337.5° or not known" (table 6.45).
        let r = ShortLocationReport::parse(&WEST, 84).unwrap();
        assert_eq!(r.heading(), None);
        assert_eq!(
            r.to_string(),
            "51.00001 N 2.50000 W (unknown error), speed unknown, heading unknown, \
             fix age unknown, reason: emergency condition detected (2)"
        );
        // Standing still: no direction of travel either.
        let mut stopped = r;
        stopped.velocity = HorizontalVelocity::STOPPED;
        assert_eq!(stopped.heading(), None);
        // Moving: 15 is a heading of 337.5°.
        let mut moving = r;
        moving.velocity = HorizontalVelocity::from_km_h(20.0);
        assert_eq!(moving.heading(), Some(DirectionOfTravel(15)));
        assert!(moving.to_string().contains("20.0 km/h NNW (337.5°)"));
        // Other codes are headings whatever the speed.
        let mut east = r;
        east.direction = DirectionOfTravel(4);
        assert_eq!(east.heading(), Some(DirectionOfTravel(4)));
    }

    #[test]
    fn extreme_coordinates_encode_at_the_field_limits() {
        assert_eq!(
            Latitude::from_degrees(-90.0).unwrap().raw(),
            Latitude::MIN_RAW
        );
        assert_eq!(
            Latitude::from_degrees(90.0).unwrap().raw(),
            Latitude::MAX_RAW
        );
        assert_eq!(
            Longitude::from_degrees(-180.0).unwrap().raw(),
            Longitude::MIN_RAW
        );
        // +180 is the antimeridian, written as -180.
        assert_eq!(
            Longitude::from_degrees(180.0).unwrap().raw(),
            Longitude::MIN_RAW
        );
        assert_eq!(Longitude::from_raw(Longitude::MAX_RAW + 1), None);
        assert_eq!(Latitude::from_raw(Latitude::MIN_RAW - 1), None);
    }

    #[test]
    fn coordinates_out_of_range_are_refused() {
        assert_eq!(
            Latitude::from_degrees(90.0001),
            Err(SdsError::LatitudeOutOfRange)
        );
        assert_eq!(
            Latitude::from_degrees(f64::NAN),
            Err(SdsError::LatitudeOutOfRange)
        );
        assert_eq!(
            Longitude::from_degrees(-180.5),
            Err(SdsError::LongitudeOutOfRange)
        );
        assert_eq!(
            Longitude::from_degrees(f64::INFINITY),
            Err(SdsError::LongitudeOutOfRange)
        );
        assert_eq!(
            ShortLocationReport::from_degrees(51.0, 200.0),
            Err(SdsError::LongitudeOutOfRange)
        );
    }

    #[test]
    fn velocity_follows_the_standard_curve() {
        for k in 0..=28u8 {
            assert_eq!(HorizontalVelocity(k).km_h(), Some(f64::from(k)));
        }
        // 16 × 1.038^(29 − 13) and 16 × 1.038^(125 − 13), worked out independently.
        assert!((HorizontalVelocity(29).km_h().unwrap() - 29.0588).abs() < 1e-3);
        assert!((HorizontalVelocity(125).km_h().unwrap() - 1042.854).abs() < 1e-2);
        assert!(HorizontalVelocity::ABOVE_RANGE.is_above_range());
        assert_eq!(HorizontalVelocity::ABOVE_RANGE.to_string(), "> 1043 km/h");
        assert_eq!(HorizontalVelocity::UNKNOWN.km_h(), None);
        assert_eq!(
            HorizontalVelocity::from_km_h(-3.0),
            HorizontalVelocity::STOPPED
        );
        assert_eq!(HorizontalVelocity::from_km_h(28.4).raw(), 28);
        assert_eq!(
            HorizontalVelocity::from_km_h(f64::NAN),
            HorizontalVelocity::UNKNOWN
        );
        assert_eq!(
            HorizontalVelocity::from_km_h(5000.0),
            HorizontalVelocity::ABOVE_RANGE
        );
        assert_eq!(HorizontalVelocity::from_km_h(1043.0).raw(), 125);
        assert_eq!(HorizontalVelocity::from_raw(128), None);
    }

    #[test]
    fn direction_wraps_to_sixteen_points() {
        assert_eq!(DirectionOfTravel::from_degrees(0.0).unwrap().raw(), 0);
        assert_eq!(DirectionOfTravel::from_degrees(11.0).unwrap().raw(), 0);
        assert_eq!(DirectionOfTravel::from_degrees(12.0).unwrap().raw(), 1);
        assert_eq!(DirectionOfTravel::from_degrees(355.0).unwrap().raw(), 0);
        assert_eq!(DirectionOfTravel::from_degrees(-90.0).unwrap().raw(), 12);
        assert_eq!(
            DirectionOfTravel::from_degrees(720.0 + 202.5)
                .unwrap()
                .compass(),
            "SSW"
        );
        assert_eq!(DirectionOfTravel::from_degrees(f64::NAN), None);
        assert_eq!(DirectionOfTravel::from_raw(16), None);
    }

    #[test]
    fn truncated_report_names_the_missing_field() {
        // 83 bits: the additional data field is one bit short.
        assert_eq!(
            ShortLocationReport::parse(&BAARLE, 83),
            Err(SdsError::Truncated {
                at_bit: 76,
                needed: 8,
                available: 7
            })
        );
        // Only PID and PDU type: the time elapsed field is missing.
        assert_eq!(
            ShortLocationReport::parse(&BAARLE, 10),
            Err(SdsError::Truncated {
                at_bit: 10,
                needed: 2,
                available: 0
            })
        );
        // Cut in the middle of the longitude.
        assert_eq!(
            ShortLocationReport::parse(&BAARLE[..4], 32),
            Err(SdsError::Truncated {
                at_bit: 12,
                needed: 25,
                available: 20
            })
        );
    }

    #[test]
    fn bit_length_beyond_the_bytes_is_refused() {
        assert_eq!(
            ShortLocationReport::parse(&BAARLE[..10], 84),
            Err(SdsError::BitLengthExceedsData {
                bits: 84,
                available: 80
            })
        );
    }

    #[test]
    fn zero_bits_is_empty() {
        assert_eq!(ShortLocationReport::parse(&BAARLE, 0), Err(SdsError::Empty));
    }

    #[test]
    fn wrong_protocol_is_refused() {
        let mut text = BAARLE;
        text[0] = 0x82;
        assert_eq!(
            ShortLocationReport::parse(&text, 84),
            Err(SdsError::WrongProtocol {
                expected: 0x0a,
                found: 0x82
            })
        );
    }

    #[test]
    fn long_location_report_is_not_misread_as_a_short_one() {
        // PDU type 1, extension 3 (long location report), then arbitrary bits: the short
        // parser refuses it (the dispatcher, `LipPdu`, reads it).
        let long = [
            0x0a,
            0b0100_1100,
            0x12,
            0x34,
            0x56,
            0x78,
            0x9a,
            0xbc,
            0xde,
            0xf0,
            0x11,
        ];
        let err = ShortLocationReport::parse(&long, 88).unwrap_err();
        assert_eq!(
            err,
            SdsError::UnsupportedLip {
                pdu_type: 1,
                extension: Some(3)
            }
        );
        assert_eq!(
            err.to_string(),
            "unsupported LIP PDU type 1 extension 3 (long location report)"
        );
        // Reserved PDU types 2 and 3 too, even when too short to be anything.
        assert_eq!(
            ShortLocationReport::parse(&[0x0a, 0b1100_0000], 10),
            Err(SdsError::UnsupportedLip {
                pdu_type: 3,
                extension: None
            })
        );
    }

    #[test]
    fn garbage_past_the_bit_length_is_ignored() {
        let mut dirty = BAARLE;
        dirty[10] |= 0x0f;
        let mut longer = [0xffu8; 14];
        longer[..11].copy_from_slice(&dirty);
        assert_eq!(ShortLocationReport::parse(&longer, 84), Ok(baarle()));
        let mut out = [0xa5u8; 11];
        baarle().emit(&mut out).unwrap();
        assert_eq!(out[10] & 0x0f, 0);
    }

    #[test]
    fn overlong_report_ignores_trailing_bits() {
        let mut longer = [0u8; 12];
        longer[..11].copy_from_slice(&BAARLE);
        longer[11] = 0xee;
        assert_eq!(ShortLocationReport::parse(&longer, 96), Ok(baarle()));
    }

    #[test]
    fn emit_into_a_short_buffer_fails() {
        assert_eq!(
            baarle().emit(&mut [0u8; 10]),
            Err(SdsError::BufferTooSmall {
                needed: 11,
                available: 10
            })
        );
    }

    fn any_report() -> impl Strategy<Value = ShortLocationReport> {
        (
            0u8..4,
            Longitude::MIN_RAW..=Longitude::MAX_RAW,
            Latitude::MIN_RAW..=Latitude::MAX_RAW,
            0u8..8,
            0u8..128,
            0u8..16,
            any::<bool>(),
            any::<u8>(),
        )
            .prop_map(|(t, lon, lat, pe, v, d, user, data)| ShortLocationReport {
                time_elapsed: TimeElapsed::from_bits(t),
                longitude: Longitude::from_raw(lon).unwrap(),
                latitude: Latitude::from_raw(lat).unwrap(),
                position_error: PositionError::from_bits(pe),
                velocity: HorizontalVelocity::from_raw(v).unwrap(),
                direction: DirectionOfTravel::from_raw(d).unwrap(),
                additional: if user {
                    AdditionalData::UserDefined(data)
                } else {
                    AdditionalData::Reason(ReasonForSending(data))
                },
            })
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(report in any_report()) {
            let mut buf = [0xa5u8; 11];
            prop_assert_eq!(report.emit(&mut buf), Ok(11));
            prop_assert_eq!(buf[10] & 0x0f, 0);
            prop_assert_eq!(ShortLocationReport::parse(&buf, ShortLocationReport::BIT_LEN), Ok(report));
        }

        #[test]
        fn parse_emit_is_byte_exact(mut bytes in proptest::array::uniform11(any::<u8>())) {
            bytes[0] = 0x0a;
            bytes[1] &= 0x3f;
            bytes[10] &= 0xf0;
            let report = ShortLocationReport::parse(&bytes, 84).unwrap();
            let mut out = [0xa5u8; 11];
            report.emit(&mut out).unwrap();
            prop_assert_eq!(out, bytes);
        }

        #[test]
        fn latitude_degrees_round_trip_within_half_a_step(deg in -90.0f64..=90.0) {
            let back = Latitude::from_degrees(deg).unwrap().degrees();
            // +90 itself clamps one step south.
            let tolerance = if deg > 90.0 - Latitude::STEP_DEG { Latitude::STEP_DEG * 1.5 } else { Latitude::STEP_DEG / 2.0 };
            prop_assert!((back - deg).abs() <= tolerance * (1.0 + 1e-9), "{} -> {}", deg, back);
        }

        #[test]
        fn longitude_degrees_round_trip_within_half_a_step(deg in -180.0f64..=180.0) {
            let back = Longitude::from_degrees(deg).unwrap().degrees();
            // Compare on the circle: +180 comes back as -180.
            let d = (back - deg).abs();
            let d = if d > 180.0 { 360.0 - d } else { d };
            prop_assert!(d <= Longitude::STEP_DEG / 2.0 * (1.0 + 1e-9), "{} -> {}", deg, back);
        }

        #[test]
        fn velocity_from_km_h_picks_the_nearest_step(v in 0.0f64..1100.0) {
            let raw = HorizontalVelocity::from_km_h(v);
            let got = (raw.km_h().unwrap() - v).abs();
            for k in 0..126u8 {
                prop_assert!(got <= (HorizontalVelocity(k).km_h().unwrap() - v).abs());
            }
        }

        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16), bits in any::<u16>()) {
            let _ = ShortLocationReport::parse(&bytes, bits);
        }
    }
}
