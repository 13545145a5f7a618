//! The fields LIP reports share (ETSI TS 100 392-18-1 §6.3): coordinates, fix age, position
//! error, speed, heading and why the report was sent. Each keeps its exact wire value, so a
//! report decoded and emitted again is the same bits; accessors convert to degrees, metres and
//! km/h.

use core::fmt;

use serde::Serialize;

use super::super::SdsError;

pub(super) const LON_BITS: u8 = 25;
pub(super) const LAT_BITS: u8 = 24;
/// Raw longitude units per degree: 2²⁴ / 180.
const LON_UNITS_PER_DEG: f64 = (1u32 << 24) as f64 / 180.0;
/// Raw latitude units per degree: 2²³ / 90.
const LAT_UNITS_PER_DEG: f64 = (1u32 << 23) as f64 / 90.0;

/// Rounds to the nearest integer, halves away from zero, saturating (core has no `f64::round`).
pub(super) fn round_i64(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        -((-x + 0.5) as i64)
    }
}

/// Longitude: 25-bit two's complement in units of 180/2²⁴ degrees, so −180° to just under +180°
/// in steps of about 1.07 × 10⁻⁵ degrees (≈ 1.2 m at the equator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Longitude(pub(super) i32);

impl Longitude {
    /// Smallest raw value (−180°).
    pub const MIN_RAW: i32 = -(1 << 24);
    /// Largest raw value (180° − one step).
    pub const MAX_RAW: i32 = (1 << 24) - 1;
    /// One raw step in degrees.
    pub const STEP_DEG: f64 = 180.0 / (1u32 << 24) as f64;

    /// A longitude from its raw field value, or `None` outside 25-bit two's complement.
    pub const fn from_raw(raw: i32) -> Option<Self> {
        if raw >= Self::MIN_RAW && raw <= Self::MAX_RAW {
            Some(Longitude(raw))
        } else {
            None
        }
    }

    /// The nearest raw step to `degrees` (east positive). +180° is the same meridian as −180° and
    /// is encoded as such; outside −180..=180 or NaN is an error.
    pub fn from_degrees(degrees: f64) -> Result<Self, SdsError> {
        if !(-180.0..=180.0).contains(&degrees) {
            return Err(SdsError::LongitudeOutOfRange);
        }
        let raw = round_i64(degrees * LON_UNITS_PER_DEG);
        let raw = if raw > i64::from(Self::MAX_RAW) {
            i64::from(Self::MIN_RAW)
        } else {
            raw
        };
        // In range by the checks above.
        Ok(Longitude(raw as i32))
    }

    /// The raw field value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// Degrees east (negative is west).
    pub fn degrees(self) -> f64 {
        f64::from(self.0) / LON_UNITS_PER_DEG
    }
}

impl fmt::Display for Longitude {
    /// E.g. `4.92900 E`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.degrees();
        if d < 0.0 {
            write!(f, "{:.5} W", -d)
        } else {
            write!(f, "{d:.5} E")
        }
    }
}

/// Latitude: 24-bit two's complement in units of 90/2²³ degrees, so −90° to just under +90° in
/// steps of about 1.07 × 10⁻⁵ degrees (≈ 1.2 m).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Latitude(pub(super) i32);

impl Latitude {
    /// Smallest raw value (−90°).
    pub const MIN_RAW: i32 = -(1 << 23);
    /// Largest raw value (90° − one step).
    pub const MAX_RAW: i32 = (1 << 23) - 1;
    /// One raw step in degrees.
    pub const STEP_DEG: f64 = 90.0 / (1u32 << 23) as f64;

    /// A latitude from its raw field value, or `None` outside 24-bit two's complement.
    pub const fn from_raw(raw: i32) -> Option<Self> {
        if raw >= Self::MIN_RAW && raw <= Self::MAX_RAW {
            Some(Latitude(raw))
        } else {
            None
        }
    }

    /// The nearest raw step to `degrees` (north positive). +90° itself is not encodable and is
    /// clamped one step south; outside −90..=90 or NaN is an error.
    pub fn from_degrees(degrees: f64) -> Result<Self, SdsError> {
        if !(-90.0..=90.0).contains(&degrees) {
            return Err(SdsError::LatitudeOutOfRange);
        }
        let raw = round_i64(degrees * LAT_UNITS_PER_DEG)
            .clamp(i64::from(Self::MIN_RAW), i64::from(Self::MAX_RAW));
        Ok(Latitude(raw as i32))
    }

    /// The raw field value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// Degrees north (negative is south).
    pub fn degrees(self) -> f64 {
        f64::from(self.0) / LAT_UNITS_PER_DEG
    }
}

impl fmt::Display for Latitude {
    /// E.g. `51.44200 N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.degrees();
        if d < 0.0 {
            write!(f, "{:.5} S", -d)
        } else {
            write!(f, "{d:.5} N")
        }
    }
}

/// How old the position was when the report was sent (§6.3.78).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeElapsed {
    /// 0: less than 5 s.
    LessThan5s,
    /// 1: less than 5 min.
    LessThan5min,
    /// 2: less than 30 min.
    LessThan30min,
    /// 3: not known or not applicable.
    Unknown,
}

impl TimeElapsed {
    pub(super) const fn from_bits(v: u8) -> Self {
        match v & 0b11 {
            0 => TimeElapsed::LessThan5s,
            1 => TimeElapsed::LessThan5min,
            2 => TimeElapsed::LessThan30min,
            _ => TimeElapsed::Unknown,
        }
    }

    /// The 2-bit field value.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// Upper bound of the age in seconds, if known.
    pub const fn max_secs(self) -> Option<u32> {
        match self {
            TimeElapsed::LessThan5s => Some(5),
            TimeElapsed::LessThan5min => Some(300),
            TimeElapsed::LessThan30min => Some(1800),
            TimeElapsed::Unknown => None,
        }
    }
}

/// How far the true position may be from the reported one (§6.3.63).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionError {
    /// 0: less than 2 m.
    LessThan2m,
    /// 1: less than 20 m.
    LessThan20m,
    /// 2: less than 200 m.
    LessThan200m,
    /// 3: less than 2 km.
    LessThan2km,
    /// 4: less than 20 km.
    LessThan20km,
    /// 5: at most 200 km.
    AtMost200km,
    /// 6: more than 200 km.
    MoreThan200km,
    /// 7: not known.
    Unknown,
}

impl PositionError {
    pub(super) const fn from_bits(v: u8) -> Self {
        match v & 0b111 {
            0 => PositionError::LessThan2m,
            1 => PositionError::LessThan20m,
            2 => PositionError::LessThan200m,
            3 => PositionError::LessThan2km,
            4 => PositionError::LessThan20km,
            5 => PositionError::AtMost200km,
            6 => PositionError::MoreThan200km,
            _ => PositionError::Unknown,
        }
    }

    /// The 3-bit field value.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// The error bound in metres, if the report gives one (not for "more than 200 km" or
    /// "unknown"): zone checks should widen a border zone by this much.
    pub const fn bound_m(self) -> Option<u32> {
        match self {
            PositionError::LessThan2m => Some(2),
            PositionError::LessThan20m => Some(20),
            PositionError::LessThan200m => Some(200),
            PositionError::LessThan2km => Some(2_000),
            PositionError::LessThan20km => Some(20_000),
            PositionError::AtMost200km => Some(200_000),
            PositionError::MoreThan200km | PositionError::Unknown => None,
        }
    }
}

impl fmt::Display for PositionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PositionError::LessThan2m => "< 2 m",
            PositionError::LessThan20m => "< 20 m",
            PositionError::LessThan200m => "< 200 m",
            PositionError::LessThan2km => "< 2 km",
            PositionError::LessThan20km => "< 20 km",
            PositionError::AtMost200km => "<= 200 km",
            PositionError::MoreThan200km => "> 200 km",
            PositionError::Unknown => "unknown error",
        })
    }
}

/// Speed in km/h of each raw horizontal-velocity value 0–125 (§6.3.17): values 0–28 are the
/// speed itself; from 29 on the speed is C × (1 + x)^(K − A) + B with C = 16, x = 0.038, A = 13,
/// B = 0, which joins the linear part at 28 km/h and reaches about 1043 km/h at 125. Built by
/// repeated multiplication because core has no `powf`.
const VELOCITY_KMH: [f64; 126] = {
    let mut table = [0.0f64; 126];
    let mut k = 0;
    while k <= 28 {
        table[k] = k as f64;
        k += 1;
    }
    let mut power = 1.0f64;
    let mut i = 0;
    while i < 29 - 13 {
        power *= 1.038;
        i += 1;
    }
    while k < 126 {
        table[k] = 16.0 * power;
        power *= 1.038;
        k += 1;
    }
    table
};

/// Horizontal speed, 7 bits (§6.3.17): linear 1 km/h steps to 28 km/h, then steps of 3.8 %;
/// 126 means faster than the largest step (≈ 1043 km/h), 127 unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HorizontalVelocity(pub(super) u8);

impl HorizontalVelocity {
    /// Speed not known.
    pub const UNKNOWN: HorizontalVelocity = HorizontalVelocity(127);
    /// Faster than the largest encodable step.
    pub const ABOVE_RANGE: HorizontalVelocity = HorizontalVelocity(126);
    /// Standing still.
    pub const STOPPED: HorizontalVelocity = HorizontalVelocity(0);

    /// A velocity from its raw 7-bit field value, or `None` above 127.
    pub const fn from_raw(raw: u8) -> Option<Self> {
        if raw <= 127 {
            Some(HorizontalVelocity(raw))
        } else {
            None
        }
    }

    /// The raw field value nearest to `km_h`: negative speeds become 0, NaN unknown, speeds
    /// beyond the last step (more than half a step past it) [`HorizontalVelocity::ABOVE_RANGE`].
    pub fn from_km_h(km_h: f64) -> Self {
        if km_h.is_nan() {
            return Self::UNKNOWN;
        }
        let top = VELOCITY_KMH[VELOCITY_KMH.len() - 1];
        if km_h > top * (1.0 + 0.038 / 2.0) {
            return Self::ABOVE_RANGE;
        }
        let mut best = 0usize;
        let mut best_distance = f64::INFINITY;
        for (k, &speed) in VELOCITY_KMH.iter().enumerate() {
            let d = (speed - km_h).abs();
            if d < best_distance {
                best = k;
                best_distance = d;
            }
        }
        // `best` indexes a 126-entry table.
        HorizontalVelocity(best as u8)
    }

    /// The raw field value.
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// Speed in km/h; `None` if unknown. For [`HorizontalVelocity::ABOVE_RANGE`] this is the
    /// largest step, a lower bound.
    pub fn km_h(self) -> Option<f64> {
        match self.0 {
            127 => None,
            126 => VELOCITY_KMH.last().copied(),
            k => VELOCITY_KMH.get(usize::from(k)).copied(),
        }
    }

    /// Whether the speed exceeds the largest encodable step.
    pub const fn is_above_range(self) -> bool {
        self.0 == 126
    }
}

impl fmt::Display for HorizontalVelocity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.km_h(), self.is_above_range()) {
            (None, _) => f.write_str("speed unknown"),
            (Some(v), true) => write!(f, "> {v:.0} km/h"),
            (Some(v), false) => write!(f, "{v:.1} km/h"),
        }
    }
}

/// Direction of travel, 4 bits (§6.3.5): 16 compass points of 22.5°, 0 = north, clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DirectionOfTravel(pub(super) u8);

const COMPASS: [&str; 16] = [
    "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW",
    "NNW",
];

impl DirectionOfTravel {
    /// Due north.
    pub const NORTH: DirectionOfTravel = DirectionOfTravel(0);

    /// A direction from its raw 4-bit field value, or `None` above 15.
    pub const fn from_raw(raw: u8) -> Option<Self> {
        if raw <= 15 {
            Some(DirectionOfTravel(raw))
        } else {
            None
        }
    }

    /// The nearest compass point to a bearing in degrees (any finite value, wrapped); `None`
    /// for NaN or infinity.
    pub fn from_degrees(degrees: f64) -> Option<Self> {
        if !degrees.is_finite() {
            return None;
        }
        let steps = round_i64(degrees / 22.5).rem_euclid(16);
        // `rem_euclid(16)` is 0..=15.
        Some(DirectionOfTravel(steps as u8))
    }

    /// The raw field value.
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// Bearing in degrees clockwise from north.
    pub fn degrees(self) -> f64 {
        f64::from(self.0) * 22.5
    }

    /// The heading this field gives a unit moving at `velocity`, or `None` if it gives none.
    ///
    /// Table 6.45 of TS 100 392-18-1 gives code 15 as "337.5° or direction of travel is not
    /// known": a terminal that has no heading sends 15, which reads as NNW. Borderlink takes 15
    /// as "not known" when the same report has no speed to back a heading (speed unknown, or
    /// standing still, where no direction of travel exists), and as 337.5° otherwise.
    pub fn given(self, velocity: HorizontalVelocity) -> Option<Self> {
        let moving = velocity.km_h().is_some_and(|v| v > 0.0);
        if self.0 == 15 && !moving {
            None
        } else {
            Some(self)
        }
    }

    /// The compass point, e.g. `"NNE"`.
    pub fn compass(self) -> &'static str {
        COMPASS.get(usize::from(self.0)).copied().unwrap_or("?")
    }
}

impl fmt::Display for DirectionOfTravel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}°)", self.compass(), self.degrees())
    }
}

/// Why the radio sent the report (§6.3.64, 8 bits); values without a name are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReasonForSending(pub u8);

impl ReasonForSending {
    /// 0: the subscriber unit was powered on.
    pub const POWER_ON: Self = Self(0);
    /// 1: the subscriber unit is being powered off.
    pub const POWER_OFF: Self = Self(1);
    /// 2: an emergency condition was detected.
    pub const EMERGENCY: Self = Self(2);
    /// 3: push-to-talk was pressed.
    pub const PUSH_TO_TALK: Self = Self(3);
    /// 4: a status was sent.
    pub const STATUS: Self = Self(4);
    /// 7: system access (trunked mode on).
    pub const TMO_ON: Self = Self(7);
    /// 8: direct mode on.
    pub const DMO_ON: Self = Self(8);
    /// 11: cell reselection or change of serving cell.
    pub const CELL_RESELECTION: Self = Self(11);
    /// 17: arrival at a defined location.
    pub const ARRIVAL_AT_LOCATION: Self = Self(17);
    /// 18: approaching a defined location.
    pub const APPROACHING_LOCATION: Self = Self(18);
    /// 32: response to an immediate location request.
    pub const IMMEDIATE_REQUEST: Self = Self(32);
    /// 129: maximum reporting interval exceeded since the last report.
    pub const MAX_INTERVAL: Self = Self(129);
    /// 130: maximum reporting distance travelled since the last report.
    pub const MAX_DISTANCE: Self = Self(130);

    /// The standard's description of the reason, or `None` for reserved values.
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "powered on",
            1 => "powered off",
            2 => "emergency condition detected",
            3 => "push-to-talk detected",
            4 => "status",
            5 => "transmit inhibit mode on",
            6 => "transmit inhibit mode off",
            7 => "system access (TMO on)",
            8 => "DMO on",
            9 => "enter service",
            10 => "service loss",
            11 => "cell reselection or change of serving cell",
            12 => "low battery",
            13 => "connected to a car kit",
            14 => "disconnected from a car kit",
            15 => "asks for transfer initialization configuration",
            16 => "arrival at destination",
            17 => "arrival at a defined location",
            18 => "approaching a defined location",
            19 => "SDS type-1 entered",
            20 => "user application initiated",
            21 => "lost ability to determine location",
            22 => "regained ability to determine location",
            23 => "leaving point",
            24 => "ambience listening call detected",
            25 => "start of temporary reporting",
            26 => "return to normal reporting",
            32 => "response to an immediate location request",
            129 => "maximum reporting interval exceeded",
            130 => "maximum reporting distance travelled",
            _ => return None,
        })
    }
}

impl fmt::Display for ReasonForSending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(d) => write!(f, "{d} ({})", self.0),
            None => write!(f, "reserved reason {}", self.0),
        }
    }
}

/// The last nine bits: a 1-bit type (§6.3.87) and 8 bits of reason or user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdditionalData {
    /// Type 0: why the report was sent.
    Reason(ReasonForSending),
    /// Type 1: eight bits defined by the user organisation.
    UserDefined(u8),
}

impl fmt::Display for AdditionalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdditionalData::Reason(r) => write!(f, "reason: {r}"),
            AdditionalData::UserDefined(v) => write!(f, "user data 0x{v:02x}"),
        }
    }
}

/// Outcome of a request, or why a report carries no position (§6.3.68, 8 bits); values
/// without a name are reserved and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResultCode(pub u8);

impl ResultCode {
    /// 0: success.
    pub const SUCCESS: Self = Self(0);
    /// 14: the type of information asked for is not available now (no fix).
    pub const INFORMATION_NOT_AVAILABLE: Self = Self(14);
    /// 81: the positioning method failed.
    pub const POSITION_METHOD_FAILURE: Self = Self(81);

    /// The standard's description of the code, or `None` for reserved values.
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "success",
            1 => "system failure",
            2 => "unspecified error",
            3 => "unauthorized application",
            4 => "unknown subscriber",
            5 => "absent subscriber",
            6 => "congestion in provider",
            7 => "congestion in mobile network",
            8 => "unsupported version",
            9 => "insufficient resources",
            10 => "syntax error",
            11 => "protocol element not supported",
            12 => "service not supported",
            13 => "protocol element value not supported",
            14 => "type of information not currently available",
            15 => "required accuracy not achieved",
            17 => "reporting will stop",
            18 => "time expired",
            19 => "disallowed by local regulations",
            21 => "no such request",
            22 => "user disabled location information report sending",
            23 => "parameter values modified",
            24 => "accepted",
            25 => "accepted, some triggers or accuracies modified or not supported",
            26 => "triggers not supported",
            27 => "report complete",
            81 => "position method failure",
            200 => "insufficient GPS satellites",
            201 => "bad GPS geometry",
            _ => return None,
        })
    }

    /// Whether the code says the terminal has no usable position: a report carrying it is a
    /// "no fix" report even if it has coordinates (they are stale or a placeholder).
    pub const fn denies_position(self) -> bool {
        matches!(self.0, 1 | 2 | 14 | 15 | 81 | 200 | 201)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(d) => write!(f, "{d} ({})", self.0),
            None => write!(f, "reserved result code {}", self.0),
        }
    }
}

/// When the position was fixed, in UTC (§6.3.79): day of month 1–31 (5 bits), hour 0–23 (5),
/// minute 0–59 (6), second 0–59 (6). Out-of-range values are reserved and kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TimeOfPosition {
    /// Day of the month; 0 is reserved.
    pub day: u8,
    /// Hour; 24–31 are reserved.
    pub hour: u8,
    /// Minute; 60–63 are reserved.
    pub minute: u8,
    /// Second; 60–63 are reserved.
    pub second: u8,
}

impl TimeOfPosition {
    /// Bits of the field.
    pub const BITS: u8 = 22;

    /// Whether every part is within the standard's range.
    pub const fn is_valid(self) -> bool {
        self.day >= 1 && self.day <= 31 && self.hour <= 23 && self.minute <= 59 && self.second <= 59
    }
}

impl fmt::Display for TimeOfPosition {
    /// E.g. `day 7 14:05:09 UTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "day {} {:02}:{:02}:{:02} UTC",
            self.day, self.hour, self.minute, self.second
        )
    }
}

/// Horizontal position uncertainty, 6 bits (§6.3.22, coded like the horizontal position
/// accuracy of §6.3.19): code k means less than 2 × 1.2^(k + 5) − 4 metres, so 0 is < 1 m and
/// 62 is < 403.8 km; 63 is "best effort" (no bound). Half-axes of ellipses use the same code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PositionUncertainty(pub(super) u8);

impl PositionUncertainty {
    /// "Best effort": no bound given.
    pub const BEST_EFFORT: Self = Self(63);

    /// An uncertainty from its raw 6-bit code, or `None` above 63.
    pub const fn from_raw(raw: u8) -> Option<Self> {
        if raw <= 63 { Some(Self(raw)) } else { None }
    }

    /// The raw field value.
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// The bound in metres; `None` for best effort.
    pub fn bound_m(self) -> Option<f64> {
        if self.0 >= 63 {
            return None;
        }
        // 1.2^(k + 5) by repeated multiplication: core has no `powf`.
        let mut p = 1.0f64;
        for _ in 0..(u32::from(self.0) + 5) {
            p *= 1.2;
        }
        Some(2.0 * p - 4.0)
    }
}

impl fmt::Display for PositionUncertainty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bound_m() {
            Some(m) if m < 1000.0 => write!(f, "< {m:.1} m"),
            Some(m) => write!(f, "< {:.1} km", m / 1000.0),
            None => f.write_str("best effort"),
        }
    }
}

/// Altitude, 12 bits (§6.3.31): a 1-bit type (0 above the WGS84 ellipsoid, 1 a user-defined
/// reference) and an 11-bit code: 1–1201 is −200 m to 1000 m in 1 m steps, 1202–1926 up to
/// 2450 m in 2 m steps, 1927–2047 up to 11 525 m in 75 m steps; 0 is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Altitude {
    /// Relative to a user-defined reference rather than the WGS84 ellipsoid.
    pub user_defined_reference: bool,
    /// The 11-bit code.
    pub code: u16,
}

impl Altitude {
    /// Bits of the field.
    pub const BITS: u8 = 12;

    /// Metres above the reference; `None` for the reserved code 0.
    pub fn metres(self) -> Option<i32> {
        let k = i32::from(self.code & 0x7ff);
        match k {
            0 => None,
            1..=1201 => Some(k - 201),
            1202..=1926 => Some(1000 + (k - 1201) * 2),
            _ => Some(2450 + (k - 1926) * 75),
        }
    }
}

impl fmt::Display for Altitude {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.metres() {
            Some(m) => write!(f, "{m} m")?,
            None => f.write_str("reserved altitude")?,
        }
        if self.user_defined_reference {
            f.write_str(" (user reference)")?;
        }
        Ok(())
    }
}

/// Direction of travel in 256 steps of 360/256 degrees from north, clockwise, 8 bits
/// (§6.3.6, "direction of travel extended").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DirectionExtended(pub u8);

impl DirectionExtended {
    /// Bearing in degrees.
    pub fn degrees(self) -> f64 {
        f64::from(self.0) * 360.0 / 256.0
    }
}

/// Vertical velocity, 8 bits (§6.3.91): a sign bit (1 downward) and a 7-bit speed coded like
/// [`HorizontalVelocity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct VerticalVelocity {
    /// Moving down rather than up.
    pub downward: bool,
    /// The speed.
    pub speed: HorizontalVelocity,
}

impl VerticalVelocity {
    /// Upward speed in km/h (negative downward); `None` if unknown.
    pub fn up_km_h(self) -> Option<f64> {
        let v = self.speed.km_h()?;
        Some(if self.downward { -v } else { v })
    }
}
