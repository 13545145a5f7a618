//! The LIP long location report (ETSI TS 100 392-18-1 §6.2.2, PDU type 1 with extension 3):
//! what Motorola and Sepura terminals send when configured for it, with the time of the fix,
//! one of ten location shapes (or none, when the terminal has no fix), one of seven velocity
//! forms, and optional type-5 elements after the fixed part.
//!
//! Layout after the protocol identifier (bit 8 of the user data onwards):
//!
//! | width | field                                        | clause    |
//! |-------|----------------------------------------------|-----------|
//! | 2     | PDU type = 1                                 | §6.3.61   |
//! | 4     | PDU type extension = 3                       | §6.3.62   |
//! | 2 + n | time data: time type, then 0, 2 or 22 bits   | §6.3.81   |
//! | 4 + n | location data: location shape, then its body | §6.3.49   |
//! | 3 + n | velocity data: velocity type, then its body  | §6.3.90   |
//! | 1     | acknowledgement request                      | §6.3.1    |
//! | 1     | type of additional data                      | §6.3.87   |
//! | 8     | reason for sending / user-defined data       | §6.3.64   |
//! | rest  | type-5 elements ([`Type5Elements`])          | §6.3.88   |
//!
//! Location shape bodies (all start with longitude 25 and latitude 24 bits, as in the short
//! report): 1 point; 2 circle (+ position uncertainty 6); 3 ellipse (+ half-major 6, half-minor
//! 6, angle 8, confidence 3); 4 point with altitude (+ altitude 12); 5 circle with altitude
//! (+ uncertainty 6, altitude 12); 6 ellipse with altitude (+ axes 6 + 6, angle 8, altitude
//! 12, confidence 3); 7 circle with altitude and altitude uncertainty (+ uncertainty 6,
//! altitude 12, altitude uncertainty 3); 8 ellipse with altitude and altitude uncertainty
//! (+ axes, angle, altitude 12, altitude uncertainty 3, confidence 3); 9 arc (+ inner radius
//! 16, uncertainty radius 16, start angle 8, stop angle 8, confidence 3); 10 point and position
//! error (+ position error 3). Shape 0 is "no shape": no coordinates follow.
//!
//! Velocity bodies: horizontal velocity 7 bits always, then in this order, by type: horizontal
//! uncertainty 3 (types 2, 4, 6, 7), vertical velocity 8 and vertical uncertainty 3 (types 3,
//! 4, 7; the uncertainty only in 4 and 7), direction of travel extended 8 and direction
//! uncertainty 3 (types 5, 6, 7; the uncertainty only in 6 and 7). Type 0 has no body.
//!
//! Every field keeps its raw value, reserved codes included, so `emit(parse(x)) == x`. Time
//! type 3 and location shapes 11–15 are reserved *selectors*: the standard gives no layout for
//! what follows them, so nothing after them can be located, and such a PDU is refused with
//! [`SdsError::ReservedLipLayout`] rather than misread.

use core::fmt;

use serde::Serialize;

use super::super::SdsError;
use super::super::bits::{BitReader, BitWriter, Bits};
use super::fields::{
    AdditionalData, Altitude, DirectionExtended, HorizontalVelocity, LAT_BITS, LON_BITS, Latitude,
    Longitude, PositionError, PositionUncertainty, ReasonForSending, ResultCode, TimeElapsed,
    TimeOfPosition, VerticalVelocity,
};
use super::position::{FixAge, LipPosition};
use super::type5::Type5Elements;

/// When the position was fixed (§6.3.81, time type then its field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeData {
    /// Time type 0: no time information.
    None,
    /// Time type 1: how old the fix is.
    Elapsed(TimeElapsed),
    /// Time type 2: the UTC day and time of the fix.
    OfPosition(TimeOfPosition),
}

impl TimeData {
    fn bit_len(self) -> usize {
        2 + match self {
            TimeData::None => 0,
            TimeData::Elapsed(_) => 2,
            TimeData::OfPosition(_) => usize::from(TimeOfPosition::BITS),
        }
    }
}

/// The half-axes, orientation and confidence of an ellipse shape (§6.3.18, §6.3.20, §6.3.3,
/// §6.3.4), raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Ellipse {
    /// Half of the major axis.
    pub half_major: PositionUncertainty,
    /// Half of the minor axis.
    pub half_minor: PositionUncertainty,
    /// Orientation of the major axis, 8-bit code.
    pub angle: u8,
    /// Confidence level, 3-bit code (0 = 50 % … 6 = 99 %, 7 not known).
    pub confidence: u8,
}

/// The body of a location arc (§6.3.34), raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Arc {
    /// Inner radius, 16-bit code.
    pub inner_radius: u16,
    /// Uncertainty radius, 16-bit code.
    pub uncertainty_radius: u16,
    /// Start angle, 8-bit code.
    pub start_angle: u8,
    /// Stop angle, 8-bit code.
    pub stop_angle: u8,
    /// Confidence level, 3-bit code.
    pub confidence: u8,
}

/// What a location shape adds to its point (§6.3.49, shapes 1–10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extent {
    /// Shape 1: the point alone.
    Point,
    /// Shape 2: a circle of uncertainty.
    Circle {
        /// Its radius.
        uncertainty: PositionUncertainty,
    },
    /// Shape 3: an ellipse of uncertainty.
    Ellipse(Ellipse),
    /// Shape 4: the point and an altitude.
    PointWithAltitude {
        /// The altitude.
        altitude: Altitude,
    },
    /// Shape 5: a circle and an altitude.
    CircleWithAltitude {
        /// The circle's radius.
        uncertainty: PositionUncertainty,
        /// The altitude.
        altitude: Altitude,
    },
    /// Shape 6: an ellipse and an altitude.
    EllipseWithAltitude {
        /// The ellipse.
        ellipse: Ellipse,
        /// The altitude.
        altitude: Altitude,
    },
    /// Shape 7: a circle, an altitude and its uncertainty.
    CircleWithAltitudeUncertainty {
        /// The circle's radius.
        uncertainty: PositionUncertainty,
        /// The altitude.
        altitude: Altitude,
        /// Altitude uncertainty, 3-bit code.
        altitude_uncertainty: u8,
    },
    /// Shape 8: an ellipse, an altitude and its uncertainty.
    EllipseWithAltitudeUncertainty {
        /// The ellipse.
        ellipse: Ellipse,
        /// The altitude.
        altitude: Altitude,
        /// Altitude uncertainty, 3-bit code.
        altitude_uncertainty: u8,
    },
    /// Shape 9: an arc around the point.
    Arc(Arc),
    /// Shape 10: the point and the short report's position error.
    PositionError(PositionError),
}

impl Extent {
    /// The location shape code.
    pub const fn shape(self) -> u8 {
        match self {
            Extent::Point => 1,
            Extent::Circle { .. } => 2,
            Extent::Ellipse(_) => 3,
            Extent::PointWithAltitude { .. } => 4,
            Extent::CircleWithAltitude { .. } => 5,
            Extent::EllipseWithAltitude { .. } => 6,
            Extent::CircleWithAltitudeUncertainty { .. } => 7,
            Extent::EllipseWithAltitudeUncertainty { .. } => 8,
            Extent::Arc(_) => 9,
            Extent::PositionError(_) => 10,
        }
    }

    /// Bits of the body after the point.
    const fn body_bits(self) -> usize {
        match self {
            Extent::Point => 0,
            Extent::Circle { .. } => 6,
            Extent::Ellipse(_) => 23,
            Extent::PointWithAltitude { .. } => 12,
            Extent::CircleWithAltitude { .. } => 18,
            Extent::EllipseWithAltitude { .. } => 35,
            Extent::CircleWithAltitudeUncertainty { .. } => 21,
            Extent::EllipseWithAltitudeUncertainty { .. } => 38,
            Extent::Arc(_) => 51,
            Extent::PositionError(_) => 3,
        }
    }

    /// The radius within which the true position lies, in metres, when the shape gives one: a
    /// circle's radius, an ellipse's half-major axis, shape 10's position error. A bare point,
    /// a point with altitude and an arc (whose radii this decoder keeps raw) give none.
    pub fn error_radius_m(self) -> Option<f64> {
        match self {
            Extent::Circle { uncertainty }
            | Extent::CircleWithAltitude { uncertainty, .. }
            | Extent::CircleWithAltitudeUncertainty { uncertainty, .. } => uncertainty.bound_m(),
            Extent::Ellipse(e)
            | Extent::EllipseWithAltitude { ellipse: e, .. }
            | Extent::EllipseWithAltitudeUncertainty { ellipse: e, .. } => e.half_major.bound_m(),
            Extent::PositionError(p) => p.bound_m().map(f64::from),
            Extent::Point | Extent::PointWithAltitude { .. } | Extent::Arc(_) => None,
        }
    }

    /// The altitude, for the shapes that carry one.
    pub const fn altitude(self) -> Option<Altitude> {
        match self {
            Extent::PointWithAltitude { altitude }
            | Extent::CircleWithAltitude { altitude, .. }
            | Extent::EllipseWithAltitude { altitude, .. }
            | Extent::CircleWithAltitudeUncertainty { altitude, .. }
            | Extent::EllipseWithAltitudeUncertainty { altitude, .. } => Some(altitude),
            _ => None,
        }
    }
}

/// A location: a point and what its shape adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// Longitude of the point.
    pub longitude: Longitude,
    /// Latitude of the point.
    pub latitude: Latitude,
    /// What the shape adds.
    pub extent: Extent,
}

/// Horizontal velocity and what the velocity type adds (§6.3.90, types 1–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Velocity {
    /// Type 1.
    Horizontal {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
    },
    /// Type 2.
    HorizontalWithUncertainty {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Its uncertainty, 3-bit code.
        horizontal_uncertainty: u8,
    },
    /// Type 3.
    HorizontalAndVertical {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Climb or descent.
        vertical: VerticalVelocity,
    },
    /// Type 4.
    HorizontalAndVerticalWithUncertainty {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Its uncertainty, 3-bit code.
        horizontal_uncertainty: u8,
        /// Climb or descent.
        vertical: VerticalVelocity,
        /// Its uncertainty, 3-bit code.
        vertical_uncertainty: u8,
    },
    /// Type 5.
    HorizontalWithDirection {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Heading.
        direction: DirectionExtended,
    },
    /// Type 6.
    HorizontalWithDirectionAndUncertainty {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Its uncertainty, 3-bit code.
        horizontal_uncertainty: u8,
        /// Heading.
        direction: DirectionExtended,
        /// Its uncertainty, 3-bit code.
        direction_uncertainty: u8,
    },
    /// Type 7.
    All {
        /// Speed over ground.
        horizontal: HorizontalVelocity,
        /// Its uncertainty, 3-bit code.
        horizontal_uncertainty: u8,
        /// Climb or descent.
        vertical: VerticalVelocity,
        /// Its uncertainty, 3-bit code.
        vertical_uncertainty: u8,
        /// Heading.
        direction: DirectionExtended,
        /// Its uncertainty, 3-bit code.
        direction_uncertainty: u8,
    },
}

/// The optional parts of a velocity body, flattened, in wire order.
#[derive(Default)]
struct VelocityParts {
    horizontal: u8,
    horizontal_uncertainty: Option<u8>,
    vertical: Option<u8>,
    vertical_uncertainty: Option<u8>,
    direction: Option<u8>,
    direction_uncertainty: Option<u8>,
}

/// Which parts a velocity type carries: (horizontal uncertainty, vertical, direction).
const fn velocity_layout(kind: u8) -> (bool, bool, bool) {
    match kind {
        2 => (true, false, false),
        3 => (false, true, false),
        4 => (true, true, false),
        5 => (false, false, true),
        6 => (true, false, true),
        7 => (true, true, true),
        _ => (false, false, false),
    }
}

fn vertical(raw: u8) -> VerticalVelocity {
    VerticalVelocity {
        downward: raw & 0x80 != 0,
        speed: HorizontalVelocity(raw & 0x7f),
    }
}

fn vertical_raw(v: VerticalVelocity) -> u8 {
    (u8::from(v.downward) << 7) | (v.speed.raw() & 0x7f)
}

impl Velocity {
    /// The velocity type code.
    pub const fn kind(self) -> u8 {
        match self {
            Velocity::Horizontal { .. } => 1,
            Velocity::HorizontalWithUncertainty { .. } => 2,
            Velocity::HorizontalAndVertical { .. } => 3,
            Velocity::HorizontalAndVerticalWithUncertainty { .. } => 4,
            Velocity::HorizontalWithDirection { .. } => 5,
            Velocity::HorizontalWithDirectionAndUncertainty { .. } => 6,
            Velocity::All { .. } => 7,
        }
    }

    /// Speed over ground.
    pub const fn horizontal(self) -> HorizontalVelocity {
        match self {
            Velocity::Horizontal { horizontal }
            | Velocity::HorizontalWithUncertainty { horizontal, .. }
            | Velocity::HorizontalAndVertical { horizontal, .. }
            | Velocity::HorizontalAndVerticalWithUncertainty { horizontal, .. }
            | Velocity::HorizontalWithDirection { horizontal, .. }
            | Velocity::HorizontalWithDirectionAndUncertainty { horizontal, .. }
            | Velocity::All { horizontal, .. } => horizontal,
        }
    }

    /// Heading, for the types that carry one.
    pub const fn direction(self) -> Option<DirectionExtended> {
        match self {
            Velocity::HorizontalWithDirection { direction, .. }
            | Velocity::HorizontalWithDirectionAndUncertainty { direction, .. }
            | Velocity::All { direction, .. } => Some(direction),
            _ => None,
        }
    }

    /// Climb or descent, for the types that carry one.
    pub const fn vertical(self) -> Option<VerticalVelocity> {
        match self {
            Velocity::HorizontalAndVertical { vertical, .. }
            | Velocity::HorizontalAndVerticalWithUncertainty { vertical, .. }
            | Velocity::All { vertical, .. } => Some(vertical),
            _ => None,
        }
    }

    fn parts(self) -> VelocityParts {
        let mut p = VelocityParts {
            horizontal: self.horizontal().raw(),
            vertical: self.vertical().map(vertical_raw),
            direction: self.direction().map(|d| d.0),
            ..VelocityParts::default()
        };
        match self {
            Velocity::HorizontalWithUncertainty {
                horizontal_uncertainty,
                ..
            } => p.horizontal_uncertainty = Some(horizontal_uncertainty),
            Velocity::HorizontalAndVerticalWithUncertainty {
                horizontal_uncertainty,
                vertical_uncertainty,
                ..
            } => {
                p.horizontal_uncertainty = Some(horizontal_uncertainty);
                p.vertical_uncertainty = Some(vertical_uncertainty);
            }
            Velocity::HorizontalWithDirectionAndUncertainty {
                horizontal_uncertainty,
                direction_uncertainty,
                ..
            } => {
                p.horizontal_uncertainty = Some(horizontal_uncertainty);
                p.direction_uncertainty = Some(direction_uncertainty);
            }
            Velocity::All {
                horizontal_uncertainty,
                vertical_uncertainty,
                direction_uncertainty,
                ..
            } => {
                p.horizontal_uncertainty = Some(horizontal_uncertainty);
                p.vertical_uncertainty = Some(vertical_uncertainty);
                p.direction_uncertainty = Some(direction_uncertainty);
            }
            _ => {}
        }
        p
    }

    fn from_parts(kind: u8, p: &VelocityParts) -> Option<Self> {
        let horizontal = HorizontalVelocity(p.horizontal & 0x7f);
        let hu = p.horizontal_uncertainty.unwrap_or(0);
        let v = vertical(p.vertical.unwrap_or(0));
        let vu = p.vertical_uncertainty.unwrap_or(0);
        let d = DirectionExtended(p.direction.unwrap_or(0));
        let du = p.direction_uncertainty.unwrap_or(0);
        Some(match kind {
            1 => Velocity::Horizontal { horizontal },
            2 => Velocity::HorizontalWithUncertainty {
                horizontal,
                horizontal_uncertainty: hu,
            },
            3 => Velocity::HorizontalAndVertical {
                horizontal,
                vertical: v,
            },
            4 => Velocity::HorizontalAndVerticalWithUncertainty {
                horizontal,
                horizontal_uncertainty: hu,
                vertical: v,
                vertical_uncertainty: vu,
            },
            5 => Velocity::HorizontalWithDirection {
                horizontal,
                direction: d,
            },
            6 => Velocity::HorizontalWithDirectionAndUncertainty {
                horizontal,
                horizontal_uncertainty: hu,
                direction: d,
                direction_uncertainty: du,
            },
            7 => Velocity::All {
                horizontal,
                horizontal_uncertainty: hu,
                vertical: v,
                vertical_uncertainty: vu,
                direction: d,
                direction_uncertainty: du,
            },
            _ => return None,
        })
    }

    fn body_bits(self) -> usize {
        let (u, v, d) = velocity_layout(self.kind());
        7 + match (u, v, d) {
            (false, false, false) => 0,
            (true, false, false) => 3,
            (false, true, false) => 8,
            (true, true, false) => 14,
            (false, false, true) => 8,
            (true, false, true) => 14,
            _ => 25,
        }
    }
}

/// A LIP long location report with every field at its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LongLocationReport<'a> {
    /// When the fix was taken.
    pub time: TimeData,
    /// Where; `None` for location shape 0 ("no shape"), a report without a fix.
    pub location: Option<Location>,
    /// How fast and which way; `None` for velocity type 0.
    pub velocity: Option<Velocity>,
    /// The terminal asks for a location report acknowledgement.
    pub acknowledgement_requested: bool,
    /// Reason for sending or user-defined data.
    pub additional: AdditionalData,
    /// The type-5 elements after the fixed part, as received.
    pub elements: Type5Elements<'a>,
}

/// Reads a longitude and latitude.
fn read_point(r: &mut BitReader<'_>) -> Result<(Longitude, Latitude), SdsError> {
    Ok((
        Longitude(r.read_signed(LON_BITS)?),
        Latitude(r.read_signed(LAT_BITS)?),
    ))
}

fn read_uncertainty(r: &mut BitReader<'_>) -> Result<PositionUncertainty, SdsError> {
    Ok(PositionUncertainty(r.read_u8(6)?))
}

fn read_altitude(r: &mut BitReader<'_>) -> Result<Altitude, SdsError> {
    let user_defined_reference = r.read_bool()?;
    // 11 bits fit a u16.
    let code = r.read(11)? as u16;
    Ok(Altitude {
        user_defined_reference,
        code,
    })
}

fn read_axes(
    r: &mut BitReader<'_>,
) -> Result<(PositionUncertainty, PositionUncertainty, u8), SdsError> {
    Ok((read_uncertainty(r)?, read_uncertainty(r)?, r.read_u8(8)?))
}

impl<'a> LongLocationReport<'a> {
    /// The LIP PDU type of every PDU with an extension.
    pub const PDU_TYPE: u8 = 1;
    /// The PDU type extension of a long location report.
    pub const EXTENSION: u8 = 3;

    /// A report of a position fix at `latitude`, `longitude` with a circle of uncertainty,
    /// fix age < 5 s, no velocity, sent because the reporting interval elapsed.
    pub fn at(
        latitude: f64,
        longitude: f64,
        uncertainty: PositionUncertainty,
    ) -> Result<Self, SdsError> {
        Ok(LongLocationReport {
            time: TimeData::Elapsed(TimeElapsed::LessThan5s),
            location: Some(Location {
                longitude: Longitude::from_degrees(longitude)?,
                latitude: Latitude::from_degrees(latitude)?,
                extent: Extent::Circle { uncertainty },
            }),
            velocity: None,
            acknowledgement_requested: false,
            additional: AdditionalData::Reason(ReasonForSending::MAX_INTERVAL),
            elements: Type5Elements::EMPTY,
        })
    }

    /// Parses a report from complete SDS type-4 user data (protocol identifier first).
    pub fn parse(bytes: &'a [u8], bits: u16) -> Result<Self, SdsError> {
        Self::parse_payload(super::lip_payload(bytes, bits)?)
    }

    /// Parses a report from the LIP payload (the bits after the protocol identifier).
    pub fn parse_payload(payload: Bits<'a>) -> Result<Self, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        let pdu_type = r.read_u8(2)?;
        let extension = r.read_u8(4)?;
        if pdu_type != Self::PDU_TYPE || extension != Self::EXTENSION {
            return Err(SdsError::UnsupportedLip {
                pdu_type,
                extension: (pdu_type == 1).then_some(extension),
            });
        }
        let time_at = r.position() + 8;
        let time = match r.read_u8(2)? {
            0 => TimeData::None,
            1 => TimeData::Elapsed(TimeElapsed::from_bits(r.read_u8(2)?)),
            2 => TimeData::OfPosition(TimeOfPosition {
                day: r.read_u8(5)?,
                hour: r.read_u8(5)?,
                minute: r.read_u8(6)?,
                second: r.read_u8(6)?,
            }),
            value => return Err(reserved("time type", value, time_at)),
        };
        let shape_at = r.position() + 8;
        let shape = r.read_u8(4)?;
        let location = if shape == 0 {
            None
        } else {
            if shape > 10 {
                return Err(reserved("location shape", shape, shape_at));
            }
            let (longitude, latitude) = read_point(&mut r)?;
            let extent = match shape {
                1 => Extent::Point,
                2 => Extent::Circle {
                    uncertainty: read_uncertainty(&mut r)?,
                },
                3 => {
                    let (half_major, half_minor, angle) = read_axes(&mut r)?;
                    Extent::Ellipse(Ellipse {
                        half_major,
                        half_minor,
                        angle,
                        confidence: r.read_u8(3)?,
                    })
                }
                4 => Extent::PointWithAltitude {
                    altitude: read_altitude(&mut r)?,
                },
                5 => Extent::CircleWithAltitude {
                    uncertainty: read_uncertainty(&mut r)?,
                    altitude: read_altitude(&mut r)?,
                },
                6 => {
                    let (half_major, half_minor, angle) = read_axes(&mut r)?;
                    let altitude = read_altitude(&mut r)?;
                    Extent::EllipseWithAltitude {
                        ellipse: Ellipse {
                            half_major,
                            half_minor,
                            angle,
                            confidence: r.read_u8(3)?,
                        },
                        altitude,
                    }
                }
                7 => Extent::CircleWithAltitudeUncertainty {
                    uncertainty: read_uncertainty(&mut r)?,
                    altitude: read_altitude(&mut r)?,
                    altitude_uncertainty: r.read_u8(3)?,
                },
                8 => {
                    let (half_major, half_minor, angle) = read_axes(&mut r)?;
                    let altitude = read_altitude(&mut r)?;
                    let altitude_uncertainty = r.read_u8(3)?;
                    Extent::EllipseWithAltitudeUncertainty {
                        ellipse: Ellipse {
                            half_major,
                            half_minor,
                            angle,
                            confidence: r.read_u8(3)?,
                        },
                        altitude,
                        altitude_uncertainty,
                    }
                }
                9 => Extent::Arc(Arc {
                    // 16-bit fields fit a u16.
                    inner_radius: r.read(16)? as u16,
                    uncertainty_radius: r.read(16)? as u16,
                    start_angle: r.read_u8(8)?,
                    stop_angle: r.read_u8(8)?,
                    confidence: r.read_u8(3)?,
                }),
                _ => Extent::PositionError(PositionError::from_bits(r.read_u8(3)?)),
            };
            Some(Location {
                longitude,
                latitude,
                extent,
            })
        };
        let kind = r.read_u8(3)?;
        let velocity = if kind == 0 {
            None
        } else {
            let (u, v, d) = velocity_layout(kind);
            let mut p = VelocityParts {
                horizontal: r.read_u8(7)?,
                ..VelocityParts::default()
            };
            if u {
                p.horizontal_uncertainty = Some(r.read_u8(3)?);
            }
            if v {
                p.vertical = Some(r.read_u8(8)?);
                if u {
                    p.vertical_uncertainty = Some(r.read_u8(3)?);
                }
            }
            if d {
                p.direction = Some(r.read_u8(8)?);
                if u {
                    p.direction_uncertainty = Some(r.read_u8(3)?);
                }
            }
            Velocity::from_parts(kind, &p)
        };
        let acknowledgement_requested = r.read_bool()?;
        let user_defined = r.read_bool()?;
        let data = r.read_u8(8)?;
        let additional = if user_defined {
            AdditionalData::UserDefined(data)
        } else {
            AdditionalData::Reason(ReasonForSending(data))
        };
        let elements = Type5Elements::parse(payload, r.position(), 8)?;
        Ok(LongLocationReport {
            time,
            location,
            velocity,
            acknowledgement_requested,
            additional,
            elements,
        })
    }

    /// Bits of the encoded report, protocol identifier included.
    pub fn bit_len(&self) -> usize {
        8 + 6
            + self.time.bit_len()
            + 4
            + self.location.map_or(0, |l| {
                usize::from(LON_BITS + LAT_BITS) + l.extent.body_bits()
            })
            + 3
            + self.velocity.map_or(0, Velocity::body_bits)
            + 2
            + 8
            + self.elements.bit_len()
    }

    /// Bytes [`LongLocationReport::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the report, protocol identifier first, into `buf`; returns the bytes written.
    /// The bit length to give the radio is [`LongLocationReport::bit_len`]; the bits after it
    /// are zero.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        let needed = self.buffer_len();
        let mut w = super::start_pdu(buf, needed, Self::PDU_TYPE, Some(Self::EXTENSION))?;
        match self.time {
            TimeData::None => w.write(0, 2)?,
            TimeData::Elapsed(t) => {
                w.write(1, 2)?;
                w.write(u32::from(t.bits()), 2)?;
            }
            TimeData::OfPosition(t) => {
                w.write(2, 2)?;
                w.write(u32::from(t.day), 5)?;
                w.write(u32::from(t.hour), 5)?;
                w.write(u32::from(t.minute), 6)?;
                w.write(u32::from(t.second), 6)?;
            }
        }
        match self.location {
            None => w.write(0, 4)?,
            Some(l) => {
                w.write(u32::from(l.extent.shape()), 4)?;
                w.write_signed(l.longitude.raw(), LON_BITS)?;
                w.write_signed(l.latitude.raw(), LAT_BITS)?;
                emit_extent(&mut w, l.extent)?;
            }
        }
        match self.velocity {
            None => w.write(0, 3)?,
            Some(v) => {
                w.write(u32::from(v.kind()), 3)?;
                let p = v.parts();
                w.write(u32::from(p.horizontal), 7)?;
                for (value, width) in [
                    (p.horizontal_uncertainty, 3),
                    (p.vertical, 8),
                    (p.vertical_uncertainty, 3),
                    (p.direction, 8),
                    (p.direction_uncertainty, 3),
                ] {
                    if let Some(value) = value {
                        w.write(u32::from(value), width)?;
                    }
                }
            }
        }
        w.write_bool(self.acknowledgement_requested)?;
        let (user_defined, data) = match self.additional {
            AdditionalData::Reason(r) => (false, r.0),
            AdditionalData::UserDefined(v) => (true, v),
        };
        w.write_bool(user_defined)?;
        w.write(u32::from(data), 8)?;
        self.elements.emit(&mut w)?;
        Ok(w.finish().0)
    }

    /// The result code among the type-5 elements, if any.
    pub fn result_code(&self) -> Option<ResultCode> {
        self.elements.result_code()
    }

    /// The position, or `None` for a report without a fix: no location shape, or a result
    /// code that says the terminal has no position ([`ResultCode::denies_position`]).
    pub fn position(&self) -> Option<LipPosition> {
        let location = self.location?;
        if self.result_code().is_some_and(ResultCode::denies_position) {
            return None;
        }
        let error_m = location.extent.error_radius_m();
        let velocity = self.velocity;
        LipPosition::new(
            location.latitude,
            location.longitude,
            error_m,
            velocity.and_then(|v| v.horizontal().km_h()),
            velocity
                .and_then(Velocity::direction)
                .map(DirectionExtended::degrees),
            match self.time {
                TimeData::None => FixAge::Unknown,
                TimeData::Elapsed(t) => FixAge::Elapsed(t),
                TimeData::OfPosition(t) => FixAge::At(t),
            },
        )
    }
}

fn reserved(field: &'static str, value: u8, at_bit: usize) -> SdsError {
    SdsError::ReservedLipLayout {
        field,
        value,
        at_bit: u16::try_from(at_bit).unwrap_or(u16::MAX),
    }
}

fn emit_ellipse_axes(w: &mut BitWriter<'_>, e: Ellipse) -> Result<(), SdsError> {
    w.write(u32::from(e.half_major.raw()), 6)?;
    w.write(u32::from(e.half_minor.raw()), 6)?;
    w.write(u32::from(e.angle), 8)
}

fn emit_altitude(w: &mut BitWriter<'_>, a: Altitude) -> Result<(), SdsError> {
    w.write_bool(a.user_defined_reference)?;
    w.write(u32::from(a.code), 11)
}

fn emit_extent(w: &mut BitWriter<'_>, extent: Extent) -> Result<(), SdsError> {
    match extent {
        Extent::Point => Ok(()),
        Extent::Circle { uncertainty } => w.write(u32::from(uncertainty.raw()), 6),
        Extent::Ellipse(e) => {
            emit_ellipse_axes(w, e)?;
            w.write(u32::from(e.confidence), 3)
        }
        Extent::PointWithAltitude { altitude } => emit_altitude(w, altitude),
        Extent::CircleWithAltitude {
            uncertainty,
            altitude,
        } => {
            w.write(u32::from(uncertainty.raw()), 6)?;
            emit_altitude(w, altitude)
        }
        Extent::EllipseWithAltitude { ellipse, altitude } => {
            emit_ellipse_axes(w, ellipse)?;
            emit_altitude(w, altitude)?;
            w.write(u32::from(ellipse.confidence), 3)
        }
        Extent::CircleWithAltitudeUncertainty {
            uncertainty,
            altitude,
            altitude_uncertainty,
        } => {
            w.write(u32::from(uncertainty.raw()), 6)?;
            emit_altitude(w, altitude)?;
            w.write(u32::from(altitude_uncertainty), 3)
        }
        Extent::EllipseWithAltitudeUncertainty {
            ellipse,
            altitude,
            altitude_uncertainty,
        } => {
            emit_ellipse_axes(w, ellipse)?;
            emit_altitude(w, altitude)?;
            w.write(u32::from(altitude_uncertainty), 3)?;
            w.write(u32::from(ellipse.confidence), 3)
        }
        Extent::Arc(a) => {
            w.write(u32::from(a.inner_radius), 16)?;
            w.write(u32::from(a.uncertainty_radius), 16)?;
            w.write(u32::from(a.start_angle), 8)?;
            w.write(u32::from(a.stop_angle), 8)?;
            w.write(u32::from(a.confidence), 3)
        }
        Extent::PositionError(p) => w.write(u32::from(p.bits()), 3),
    }
}

impl fmt::Display for LongLocationReport<'_> {
    /// E.g. `51.44200 N 4.92900 E (< 17.4 m), 50.8 km/h heading 90.0°, fix < 5 s old,
    /// reason: ...`, or `no fix (result: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.location, self.position()) {
            (Some(l), Some(p)) => {
                write!(f, "{} {}", l.latitude, l.longitude)?;
                match p.error_m() {
                    Some(m) => write!(f, " (< {m:.1} m)")?,
                    None => f.write_str(" (error unknown)")?,
                }
                if let Some(a) = l.extent.altitude() {
                    write!(f, ", altitude {a}")?;
                }
            }
            _ => f.write_str("no fix")?,
        }
        match self.velocity {
            Some(v) => {
                write!(f, ", {}", v.horizontal())?;
                match v.direction() {
                    Some(d) => write!(f, " heading {:.1}°", d.degrees())?,
                    None => f.write_str(", heading unknown")?,
                }
            }
            None => f.write_str(", speed unknown, heading unknown")?,
        }
        match self.time {
            TimeData::None => f.write_str(", fix time unknown")?,
            TimeData::Elapsed(t) => match t.max_secs() {
                Some(5) => f.write_str(", fix < 5 s old")?,
                Some(300) => f.write_str(", fix < 5 min old")?,
                Some(_) => f.write_str(", fix < 30 min old")?,
                None => f.write_str(", fix age unknown")?,
            },
            TimeData::OfPosition(t) => write!(f, ", fixed {t}")?,
        }
        write!(f, ", {}", self.additional)?;
        if let Some(code) = self.result_code() {
            write!(f, ", result: {code}")?;
        }
        if self.acknowledgement_requested {
            f.write_str(", acknowledgement requested")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::type5::Type5Id;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    // Vectors written bit by bit from the layout in the module doc (TS 100 392-18-1 §6.2.2),
    // not produced by this code.

    /// Baarle-Nassau (51.4420 N 4.9290 E, the short report's raw coordinates 4 794 742 and
    /// 459 416): time elapsed < 5 s; circle of uncertainty code 9 (< 21.7 m); velocity type 5,
    /// 50.8 km/h (code 44) heading 90° (code 64); no acknowledgement; reason 129; type-5
    /// location message reference 42. 124 bits.
    pub(crate) const CIRCLE: [u8; 16] = [
        0x0a, 0x4d, 0x08, 0x0e, 0x05, 0x30, 0x92, 0x52, 0xec, 0x4d, 0x58, 0x80, 0x40, 0x98, 0x82,
        0xa0,
    ];
    /// No fix: no time, no shape, no velocity, acknowledgement requested, reason 21 ("lost
    /// ability to determine location"), type-5 result code 81 ("position method failure").
    /// 52 bits.
    pub(crate) const NO_FIX: [u8; 7] = [0x0a, 0x4c, 0x01, 0x0a, 0xb0, 0x85, 0x10];
    /// Cape Town (33.9 S 18.4 E): fixed on day 7 at 14:05:09 UTC; point with altitude 50 m
    /// above WGS84 (code 251); velocity type 7: 10 km/h ± code 2, 3 km/h downward ± code 1,
    /// heading 270° (code 192) ± code 3; user-defined data 0x5a; type-5 terminal
    /// identification SSI 2040999. 187 bits.
    pub(crate) const ALTITUDE: [u8; 24] = [
        0x0a, 0x4e, 0x3b, 0x85, 0x25, 0x03, 0x45, 0x67, 0x99, 0xf9, 0x2c, 0x61, 0xf7, 0xc5, 0x28,
        0x33, 0x80, 0xd5, 0xa8, 0xb8, 0x23, 0xe4, 0x94, 0xe0,
    ];

    fn reference_42() -> ([u8; 3], u16) {
        // Identifier 6, length 8, value 42: 00110 001000 00101010.
        ([0b0011_0001, 0b0000_0101, 0b0100_0000], 19)
    }

    #[test]
    fn circle_report_decodes_field_by_field() {
        let r = LongLocationReport::parse(&CIRCLE, 124).unwrap();
        assert_eq!(r.time, TimeData::Elapsed(TimeElapsed::LessThan5s));
        let l = r.location.unwrap();
        assert_eq!(l.latitude.raw(), 4_794_742);
        assert_eq!(l.longitude.raw(), 459_416);
        assert_eq!(
            l.extent,
            Extent::Circle {
                uncertainty: PositionUncertainty(9)
            }
        );
        let v = r.velocity.unwrap();
        assert_eq!(v.kind(), 5);
        assert_eq!(v.horizontal().raw(), 44);
        assert_eq!(v.direction(), Some(DirectionExtended(64)));
        assert!(!r.acknowledgement_requested);
        assert_eq!(
            r.additional,
            AdditionalData::Reason(ReasonForSending::MAX_INTERVAL)
        );
        assert_eq!(r.elements.location_message_reference(), Some(42));
        assert_eq!(r.elements.opaque_bits(), 0);
        let p = r.position().unwrap();
        assert!((p.latitude().degrees() - 51.4420).abs() < 1e-5);
        assert!((p.longitude().degrees() - 4.9290).abs() < 1e-5);
        // Code 9: 2 × 1.2^14 − 4 = 21.7 m, the standard's "< 21,7 m".
        assert!((p.error_m().unwrap() - 21.68).abs() < 0.01);
        assert_eq!(p.heading_deg(), Some(90.0));
        assert_eq!(
            r.to_string(),
            "51.44200 N 4.92900 E (< 21.7 m), 50.8 km/h heading 90.0°, fix < 5 s old, \
             reason: maximum reporting interval exceeded (129)"
        );
    }

    #[test]
    fn circle_report_encodes_to_exact_bytes() {
        let (bytes, bits) = reference_42();
        let elements = Type5Elements::from_bits(Bits::new(&bytes, bits).unwrap()).unwrap();
        let mut report = LongLocationReport::at(51.4420, 4.9290, PositionUncertainty(9)).unwrap();
        report.velocity = Some(Velocity::HorizontalWithDirection {
            horizontal: HorizontalVelocity::from_km_h(50.8),
            direction: DirectionExtended(64),
        });
        report.elements = elements;
        assert_eq!(report.bit_len(), 124);
        let mut buf = [0xa5u8; 17];
        assert_eq!(report.emit(&mut buf), Ok(16));
        assert_eq!(buf[..16], CIRCLE);
        assert_eq!(buf[16], 0xa5);
    }

    #[test]
    fn a_long_report_without_a_direction_has_no_heading() {
        // Velocity type 1 carries a speed only: the heading is unknown, not north.
        let mut r = LongLocationReport::parse(&CIRCLE, 124).unwrap();
        r.velocity = Some(Velocity::Horizontal {
            horizontal: HorizontalVelocity(44),
        });
        assert_eq!(r.position().unwrap().heading_deg(), None);
        assert!(r.to_string().contains("50.8 km/h, heading unknown"), "{r}");
        r.velocity = None;
        assert_eq!(r.position().unwrap().speed_km_h(), None);
        assert!(
            r.to_string().contains("speed unknown, heading unknown"),
            "{r}"
        );
    }

    #[test]
    fn no_fix_report_has_no_position() {
        let r = LongLocationReport::parse(&NO_FIX, 52).unwrap();
        assert_eq!(r.time, TimeData::None);
        assert_eq!(r.location, None);
        assert_eq!(r.velocity, None);
        assert!(r.acknowledgement_requested);
        assert_eq!(r.result_code(), Some(ResultCode::POSITION_METHOD_FAILURE));
        assert_eq!(r.position(), None);
        assert_eq!(
            r.to_string(),
            "no fix, speed unknown, heading unknown, fix time unknown, reason: lost ability to \
             determine location (21), result: position method failure (81), acknowledgement \
             requested"
        );
        let mut buf = [0xa5u8; 7];
        assert_eq!(r.emit(&mut buf), Ok(7));
        assert_eq!(buf, NO_FIX);
    }

    #[test]
    fn a_result_code_denying_the_fix_hides_stale_coordinates() {
        // The circle report with its reference replaced by result code 14 ("not currently
        // available"): coordinates present, but no fix to act on.
        let mut bytes = CIRCLE;
        let mut report = LongLocationReport::parse(&CIRCLE, 124).unwrap();
        // Identifier 12, length 8, value 14: 01100 001000 00001110.
        let tail = [0b0110_0001, 0b0000_0001, 0b1100_0000];
        report.elements = Type5Elements::from_bits(Bits::new(&tail, 19).unwrap()).unwrap();
        report.emit(&mut bytes).unwrap();
        let back = LongLocationReport::parse(&bytes, 124).unwrap();
        assert_eq!(
            back.result_code(),
            Some(ResultCode::INFORMATION_NOT_AVAILABLE)
        );
        assert!(back.location.is_some());
        assert_eq!(back.position(), None);
    }

    #[test]
    fn altitude_time_and_full_velocity_decode() {
        let r = LongLocationReport::parse(&ALTITUDE, 187).unwrap();
        assert_eq!(
            r.time,
            TimeData::OfPosition(TimeOfPosition {
                day: 7,
                hour: 14,
                minute: 5,
                second: 9
            })
        );
        let l = r.location.unwrap();
        assert_eq!(l.latitude.raw(), -3_159_709);
        assert_eq!(l.longitude.raw(), 1_715_004);
        assert_eq!(l.extent.altitude().unwrap().metres(), Some(50));
        assert_eq!(l.extent.error_radius_m(), None);
        let v = r.velocity.unwrap();
        assert_eq!(
            v,
            Velocity::All {
                horizontal: HorizontalVelocity(10),
                horizontal_uncertainty: 2,
                vertical: VerticalVelocity {
                    downward: true,
                    speed: HorizontalVelocity(3)
                },
                vertical_uncertainty: 1,
                direction: DirectionExtended(192),
                direction_uncertainty: 3,
            }
        );
        assert_eq!(v.vertical().unwrap().up_km_h(), Some(-3.0));
        assert_eq!(r.additional, AdditionalData::UserDefined(0x5a));
        assert_eq!(r.elements.terminal_ssi(), Some(2_040_999));
        let p = r.position().unwrap();
        assert_eq!(p.heading_deg(), Some(270.0));
        assert_eq!(p.error_m(), None);
        assert!(r.to_string().contains("fixed day 7 14:05:09 UTC"));
        let mut buf = [0xa5u8; 24];
        assert_eq!(r.emit(&mut buf), Ok(24));
        assert_eq!(buf, ALTITUDE);
    }

    #[test]
    fn altitude_codes_follow_the_three_ranges() {
        let a = |code| Altitude {
            user_defined_reference: false,
            code,
        };
        assert_eq!(a(0).metres(), None);
        assert_eq!(a(1).metres(), Some(-200));
        assert_eq!(a(1201).metres(), Some(1000));
        assert_eq!(a(1202).metres(), Some(1002));
        assert_eq!(a(1926).metres(), Some(2450));
        assert_eq!(a(1927).metres(), Some(2525));
        assert_eq!(a(2047).metres(), Some(11_525));
    }

    #[test]
    fn position_uncertainty_matches_table_6_49() {
        // Values printed in the standard's table: < 1 m, < 2 m, < 3.2 m, ..., < 403 802.7 m.
        let m = |k| PositionUncertainty(k).bound_m().unwrap();
        assert!((m(0) - 0.98).abs() < 0.01);
        assert!((m(1) - 1.97).abs() < 0.01);
        assert!((m(2) - 3.17).abs() < 0.01);
        assert!((m(9) - 21.7).abs() < 0.05);
        assert!((m(62) - 403_802.7).abs() < 1.0);
        assert_eq!(PositionUncertainty::BEST_EFFORT.bound_m(), None);
    }

    #[test]
    fn truncated_location_names_the_field() {
        // 40 bits: the longitude of the circle report starts at bit 22 and needs 25.
        assert_eq!(
            LongLocationReport::parse(&CIRCLE, 40),
            Err(SdsError::Truncated {
                at_bit: 22,
                needed: 25,
                available: 18
            })
        );
    }

    #[test]
    fn truncated_type5_element_is_refused() {
        // Cut 4 bits into the reference's 8-bit value: the element claims more than is left.
        assert_eq!(
            LongLocationReport::parse(&CIRCLE, 120),
            Err(SdsError::Truncated {
                at_bit: 116,
                needed: 8,
                available: 4
            })
        );
        // Cut inside the element's length field.
        assert_eq!(
            LongLocationReport::parse(&CIRCLE, 110),
            Err(SdsError::Truncated {
                at_bit: 110,
                needed: 6,
                available: 0
            })
        );
    }

    #[test]
    fn reserved_time_type_is_refused_not_misread() {
        let mut bytes = NO_FIX;
        bytes[1] |= 0b11; // time type 3
        assert_eq!(
            LongLocationReport::parse(&bytes, 52),
            Err(SdsError::ReservedLipLayout {
                field: "time type",
                value: 3,
                at_bit: 14
            })
        );
    }

    #[test]
    fn reserved_location_shape_is_refused_not_misread() {
        // Shape 11 where NO_FIX has shape 0 (bits 16–19).
        let mut bytes = NO_FIX;
        bytes[2] = 0b1011_0001;
        let err = LongLocationReport::parse(&bytes, 52).unwrap_err();
        assert_eq!(
            err,
            SdsError::ReservedLipLayout {
                field: "location shape",
                value: 11,
                at_bit: 16
            }
        );
        assert_eq!(
            err.to_string(),
            "reserved LIP location shape 11 at bit 16: the standard gives it no layout"
        );
    }

    #[test]
    fn fill_bits_after_the_elements_are_kept() {
        // The no-fix report padded with zeros to 56 bits, as a radio filling its last octet.
        let r = LongLocationReport::parse(&NO_FIX, 56).unwrap();
        assert_eq!(r.result_code(), Some(ResultCode::POSITION_METHOD_FAILURE));
        assert_eq!(r.elements.opaque_bits(), 4);
        assert_eq!(r.bit_len(), 56);
        let mut buf = [0xa5u8; 7];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf, NO_FIX);
    }

    #[test]
    fn length_extension_element_is_kept_opaque() {
        // An element with identifier 1 and length 0 (the extension form), then 9 more bits.
        let tail = [0b0000_1000, 0b0001_1111, 0b1111_0000];
        let elements = Type5Elements::from_bits(Bits::new(&tail, 20).unwrap()).unwrap();
        assert_eq!(elements.iter().count(), 0);
        assert_eq!(elements.opaque_bits(), 20);
        let mut report = LongLocationReport::parse(&NO_FIX, 52).unwrap();
        report.elements = elements;
        let mut buf = [0u8; 16];
        let n = report.emit(&mut buf).unwrap();
        let back = LongLocationReport::parse(&buf[..n], report.bit_len() as u16).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn other_pdus_are_not_taken_for_long_reports() {
        let short = [
            0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10,
        ];
        assert_eq!(
            LongLocationReport::parse(&short, 84),
            Err(SdsError::UnsupportedLip {
                pdu_type: 0,
                extension: None
            })
        );
        assert_eq!(
            LongLocationReport::parse(&[0x82, 0x4c], 16),
            Err(SdsError::WrongProtocol {
                expected: 0x0a,
                found: 0x82
            })
        );
    }

    #[test]
    fn serializes() {
        let mut buf = [0u8; 512];
        for (bytes, bits) in [(&CIRCLE[..], 124), (&NO_FIX[..], 52), (&ALTITUDE[..], 187)] {
            let r = LongLocationReport::parse(bytes, bits).unwrap();
            assert!(postcard::to_slice(&r, &mut buf).is_ok());
        }
    }

    fn any_point() -> impl Strategy<Value = (Longitude, Latitude)> {
        (
            Longitude::MIN_RAW..=Longitude::MAX_RAW,
            Latitude::MIN_RAW..=Latitude::MAX_RAW,
        )
            .prop_map(|(lon, lat)| (Longitude(lon), Latitude(lat)))
    }

    fn any_ellipse() -> impl Strategy<Value = Ellipse> {
        (0u8..64, 0u8..64, any::<u8>(), 0u8..8).prop_map(|(a, b, angle, confidence)| Ellipse {
            half_major: PositionUncertainty(a),
            half_minor: PositionUncertainty(b),
            angle,
            confidence,
        })
    }

    fn any_altitude() -> impl Strategy<Value = Altitude> {
        (any::<bool>(), 0u16..2048).prop_map(|(user_defined_reference, code)| Altitude {
            user_defined_reference,
            code,
        })
    }

    fn any_extent() -> impl Strategy<Value = Extent> {
        let u = (0u8..64).prop_map(PositionUncertainty);
        prop_oneof![
            Just(Extent::Point),
            u.clone()
                .prop_map(|uncertainty| Extent::Circle { uncertainty }),
            any_ellipse().prop_map(Extent::Ellipse),
            any_altitude().prop_map(|altitude| Extent::PointWithAltitude { altitude }),
            (u.clone(), any_altitude()).prop_map(|(uncertainty, altitude)| {
                Extent::CircleWithAltitude {
                    uncertainty,
                    altitude,
                }
            }),
            (any_ellipse(), any_altitude())
                .prop_map(|(ellipse, altitude)| Extent::EllipseWithAltitude { ellipse, altitude }),
            (u, any_altitude(), 0u8..8).prop_map(
                |(uncertainty, altitude, altitude_uncertainty)| {
                    Extent::CircleWithAltitudeUncertainty {
                        uncertainty,
                        altitude,
                        altitude_uncertainty,
                    }
                }
            ),
            (any_ellipse(), any_altitude(), 0u8..8).prop_map(
                |(ellipse, altitude, altitude_uncertainty)| {
                    Extent::EllipseWithAltitudeUncertainty {
                        ellipse,
                        altitude,
                        altitude_uncertainty,
                    }
                }
            ),
            (any::<u16>(), any::<u16>(), any::<u8>(), any::<u8>(), 0u8..8).prop_map(
                |(inner_radius, uncertainty_radius, start_angle, stop_angle, confidence)| {
                    Extent::Arc(Arc {
                        inner_radius,
                        uncertainty_radius,
                        start_angle,
                        stop_angle,
                        confidence,
                    })
                }
            ),
            (0u8..8).prop_map(|e| Extent::PositionError(PositionError::from_bits(e))),
        ]
    }

    fn any_velocity() -> impl Strategy<Value = Option<Velocity>> {
        (
            0u8..8,
            0u8..128,
            0u8..8,
            any::<u8>(),
            0u8..8,
            any::<u8>(),
            0u8..8,
        )
            .prop_map(|(kind, h, hu, v, vu, d, du)| {
                Velocity::from_parts(
                    kind,
                    &VelocityParts {
                        horizontal: h,
                        horizontal_uncertainty: Some(hu),
                        vertical: Some(v),
                        vertical_uncertainty: Some(vu),
                        direction: Some(d),
                        direction_uncertainty: Some(du),
                    },
                )
            })
    }

    fn any_time() -> impl Strategy<Value = TimeData> {
        prop_oneof![
            Just(TimeData::None),
            (0u8..4).prop_map(|t| TimeData::Elapsed(TimeElapsed::from_bits(t))),
            (0u8..32, 0u8..32, 0u8..64, 0u8..64).prop_map(|(day, hour, minute, second)| {
                TimeData::OfPosition(TimeOfPosition {
                    day,
                    hour,
                    minute,
                    second,
                })
            }),
        ]
    }

    proptest! {
        #[test]
        fn emit_parse_round_trips(
            time in any_time(),
            location in proptest::option::of((any_point(), any_extent())),
            velocity in any_velocity(),
            ack in any::<bool>(),
            user in any::<bool>(),
            data in any::<u8>(),
            reference in proptest::option::of(any::<u8>()),
        ) {
            let mut tail = [0u8; 3];
            let elements = match reference {
                Some(v) => {
                    let mut w = BitWriter::new(&mut tail);
                    Type5Elements::write(&mut w, Type5Id::LOCATION_MESSAGE_REFERENCE, 8, u32::from(v)).unwrap();
                    Type5Elements::from_bits(Bits::new(&tail, 19).unwrap()).unwrap()
                }
                None => Type5Elements::EMPTY,
            };
            let report = LongLocationReport {
                time,
                location: location.map(|((longitude, latitude), extent)| Location { longitude, latitude, extent }),
                velocity,
                acknowledgement_requested: ack,
                additional: if user { AdditionalData::UserDefined(data) } else { AdditionalData::Reason(ReasonForSending(data)) },
                elements,
            };
            let mut buf = [0xa5u8; 64];
            let n = report.emit(&mut buf).unwrap();
            prop_assert_eq!(n, report.buffer_len());
            let bits = report.bit_len() as u16;
            let back = LongLocationReport::parse(&buf[..n], bits).unwrap();
            prop_assert_eq!(back, report);
            prop_assert_eq!(back.elements.location_message_reference(), reference);
        }

        #[test]
        fn parse_emit_is_byte_exact(mut bytes in proptest::collection::vec(any::<u8>(), 2..40), cut in 0usize..8) {
            bytes[0] = 0x0a;
            bytes[1] = (bytes[1] & 0x03) | 0x4c;
            let bits = (bytes.len() * 8 - cut) as u16;
            if let Ok(report) = LongLocationReport::parse(&bytes, bits) {
                prop_assert_eq!(report.bit_len(), usize::from(bits));
                let mut out = [0xa5u8; 40];
                let n = report.emit(&mut out).unwrap();
                let want = Bits::new(&bytes, bits).unwrap();
                prop_assert_eq!(Bits::new(&out[..n], bits).unwrap(), want);
            }
        }

        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40), bits in any::<u16>()) {
            if let Ok(r) = LongLocationReport::parse(&bytes, bits) {
                let _ = r.to_string();
                let _ = r.position();
            }
        }
    }
}
