//! What the rest of borderlink needs of a LIP location report, whichever PDU carried it: a
//! position with its error bound, speed, heading and age ([`LipPosition`]), or the fact that
//! the terminal had no fix; [`LocationReport`] is that summary, owned and `Copy`, so the radio
//! session can hand it to roaming after the received bytes are gone.

use core::fmt;

use serde::Serialize;

use super::fields::{AdditionalData, Latitude, Longitude, ResultCode, TimeElapsed, TimeOfPosition};
use super::long::LongLocationReport;
use super::short::ShortLocationReport;

/// How old a fix is, as the report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixAge {
    /// An age class (short reports, and long reports with time type 1).
    Elapsed(TimeElapsed),
    /// The UTC day and time of the fix (long reports with time type 2).
    At(TimeOfPosition),
    /// The report does not say.
    Unknown,
}

/// A position fix from either kind of location report.
///
/// Built only from a decoded report, so its numbers are conversions of wire codes: finite,
/// never NaN, which is what makes it `Eq`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LipPosition {
    latitude: Latitude,
    longitude: Longitude,
    error_m: Option<f64>,
    speed_km_h: Option<f64>,
    heading_deg: Option<f64>,
    age: FixAge,
}

impl Eq for LipPosition {}

impl LipPosition {
    /// A fix from converted fields; `None` if a number is NaN or infinite.
    pub(super) fn new(
        latitude: Latitude,
        longitude: Longitude,
        error_m: Option<f64>,
        speed_km_h: Option<f64>,
        heading_deg: Option<f64>,
        age: FixAge,
    ) -> Option<Self> {
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        (finite(error_m) && finite(speed_km_h) && finite(heading_deg)).then_some(LipPosition {
            latitude,
            longitude,
            error_m,
            speed_km_h,
            heading_deg,
            age,
        })
    }

    /// Latitude.
    pub const fn latitude(&self) -> Latitude {
        self.latitude
    }

    /// Longitude.
    pub const fn longitude(&self) -> Longitude {
        self.longitude
    }

    /// The radius within which the true position lies, metres; `None` if the report gives no
    /// bound.
    pub const fn error_m(&self) -> Option<f64> {
        self.error_m
    }

    /// Speed over ground, km/h, if known.
    pub const fn speed_km_h(&self) -> Option<f64> {
        self.speed_km_h
    }

    /// Heading, degrees clockwise from north, if known.
    pub const fn heading_deg(&self) -> Option<f64> {
        self.heading_deg
    }

    /// How old the fix is.
    pub const fn age(&self) -> FixAge {
        self.age
    }
}

impl fmt::Display for LipPosition {
    /// E.g. `51.44200 N 4.92900 E (< 20 m), 50.8 km/h heading 90.0°`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.latitude, self.longitude)?;
        match self.error_m {
            Some(m) => write!(f, " (< {m:.0} m)")?,
            None => f.write_str(" (error unknown)")?,
        }
        match self.speed_km_h {
            Some(v) => write!(f, ", {v:.1} km/h")?,
            None => f.write_str(", speed unknown")?,
        }
        match self.heading_deg {
            Some(d) => write!(f, " heading {d:.1}°"),
            None => f.write_str(", heading unknown"),
        }
    }
}

/// Which PDU a report came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportForm {
    /// The 84-bit short location report.
    Short,
    /// The long location report.
    Long,
}

/// A location report reduced to what consumers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LocationReport {
    /// Which PDU carried it.
    pub form: ReportForm,
    /// The fix; `None` when the terminal had none.
    pub position: Option<LipPosition>,
    /// Why it was sent, or user-defined data.
    pub additional: AdditionalData,
    /// The result code of a long report, if it carried one.
    pub result: Option<ResultCode>,
}

impl From<&ShortLocationReport> for LipPosition {
    fn from(r: &ShortLocationReport) -> Self {
        LipPosition {
            latitude: r.latitude,
            longitude: r.longitude,
            // Table values: all finite.
            error_m: r.position_error.bound_m().map(f64::from),
            speed_km_h: r.velocity.km_h(),
            heading_deg: r.heading().map(|d| d.degrees()),
            age: FixAge::Elapsed(r.time_elapsed),
        }
    }
}

impl From<&ShortLocationReport> for LocationReport {
    fn from(r: &ShortLocationReport) -> Self {
        LocationReport {
            form: ReportForm::Short,
            position: Some(LipPosition::from(r)),
            additional: r.additional,
            result: None,
        }
    }
}

impl From<&LongLocationReport<'_>> for LocationReport {
    fn from(r: &LongLocationReport<'_>) -> Self {
        LocationReport {
            form: ReportForm::Long,
            position: r.position(),
            additional: r.additional,
            result: r.result_code(),
        }
    }
}

impl fmt::Display for LocationReport {
    /// E.g. `long report: no fix, reason: ..., result: position method failure (81)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.form {
            ReportForm::Short => "short report: ",
            ReportForm::Long => "long report: ",
        })?;
        match &self.position {
            Some(p) => write!(f, "{p}")?,
            None => f.write_str("no fix")?,
        }
        write!(f, ", {}", self.additional)?;
        if let Some(code) = self.result {
            write!(f, ", result: {code}")?;
        }
        Ok(())
    }
}
