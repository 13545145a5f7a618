//! Time windows of scheduled mirrors, in the local time of both countries.
//!
//! Belgium and the Netherlands keep the same civil time: CET (UTC+1) in winter, CEST (UTC+2)
//! in summer, switching on the last Sunday of March and of October at 01:00 UTC, as EU
//! Directive 2000/84/EC fixes for every member state. The rule is written here as the POSIX TZ
//! string `CET-1CEST,M3.5.0,M10.5.0/3` (the one the tz database ships for Europe/Brussels and
//! Europe/Amsterdam), so a box needs no time-zone database and cannot pick up a wrong one.
//!
//! A window such as `Mon-Fri 07:00-19:00` is evaluated on the local wall clock at each instant:
//! the mirror is up while the local time is in `[from, to)` on one of the days. A window whose
//! end is not after its start runs past midnight into the next day (`Fri 22:00-06:00` ends on
//! Saturday morning). On the spring-forward night the local hour 02:00–03:00 does not exist, so
//! a window starting at 02:30 starts at 03:00; on the fall-back night 02:00–03:00 happens twice,
//! and a window inside that hour is active both times.

use core::fmt;

use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use thiserror::Error;

/// The civil time of Belgium and the Netherlands (CET/CEST, EU rule).
pub const CIVIL_TZ: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

/// The civil time zone of both networks.
pub fn civil_zone() -> TimeZone {
    // The string is a constant that parses; fall back to UTC+1 rather than panic should the
    // crate ever refuse it.
    TimeZone::posix(CIVIL_TZ).unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(1)))
}

/// A time window that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// Not `<days> <HH:MM>-<HH:MM>`.
    #[error("expected `<days> <HH:MM>-<HH:MM>`, e.g. \"Mon-Fri 07:00-19:00\"")]
    Shape,
    /// A day name that is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun.
    #[error(
        "`{0}` is not a day: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, a range such as Mon-Fri, or a list such as Sat,Sun"
    )]
    Day(String),
    /// A time that is not `HH:MM` within 00:00–24:00.
    #[error("`{0}` is not a time of day: expected HH:MM from 00:00 to 24:00")]
    Time(String),
    /// Start and end are the same.
    #[error("the window starts and ends at {0}: it would be empty")]
    Empty(String),
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One weekly window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    /// Monday first.
    days: [bool; 7],
    /// Start, minutes after local midnight.
    from: u16,
    /// End, minutes after local midnight (1440 for 24:00); not after `from`: the next day.
    to: u16,
}

impl TimeWindow {
    /// Parses `Mon-Fri 07:00-19:00`, `Sat,Sun 10:00-14:00`, `Daily 00:00-24:00`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let mut parts = text.split_whitespace();
        let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ScheduleError::Shape);
        };
        let days = parse_days(days)?;
        let (from, to) = times.split_once('-').ok_or(ScheduleError::Shape)?;
        let (from, to) = (parse_time(from)?, parse_time(to)?);
        if from == to {
            return Err(ScheduleError::Empty(format_minutes(from)));
        }
        if from == 1440 {
            return Err(ScheduleError::Time("24:00".into()));
        }
        Ok(TimeWindow { days, from, to })
    }

    /// Whether local time `local` falls in the window.
    pub fn contains(&self, local: DateTime) -> bool {
        let day = weekday_index(local.weekday());
        let minute = minute_of_day(local);
        if self.from < self.to {
            self.days[day] && (self.from..self.to).contains(&minute)
        } else {
            // Past midnight: the evening part on a listed day, the morning part on the next.
            let yesterday = (day + 6) % 7;
            (self.days[day] && minute >= self.from) || (self.days[yesterday] && minute < self.to)
        }
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = DAY_NAMES
            .iter()
            .zip(self.days)
            .filter(|(_, on)| *on)
            .map(|(d, _)| *d)
            .collect();
        write!(
            f,
            "{} {}-{}",
            days.join(","),
            format_minutes(self.from),
            format_minutes(self.to)
        )
    }
}

fn format_minutes(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn weekday_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}

fn minute_of_day(t: DateTime) -> u16 {
    u16::try_from(i32::from(t.hour()) * 60 + i32::from(t.minute())).unwrap_or(0)
}

fn parse_days(text: &str) -> Result<[bool; 7], ScheduleError> {
    let day = |name: &str| {
        DAY_NAMES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(name))
            .ok_or_else(|| ScheduleError::Day(name.to_owned()))
    };
    if text.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    let mut days = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                // Wraps: Fri-Mon is Fri, Sat, Sun, Mon.
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(item)?] = true,
        }
    }
    Ok(days)
}

fn parse_time(text: &str) -> Result<u16, ScheduleError> {
    let bad = || ScheduleError::Time(text.to_owned());
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The windows of one scheduled mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    windows: Vec<TimeWindow>,
}

impl Schedule {
    /// A schedule of these windows.
    pub fn new(windows: Vec<TimeWindow>) -> Self {
        Schedule { windows }
    }

    /// The windows.
    pub fn windows(&self) -> &[TimeWindow] {
        &self.windows
    }

    /// Whether the mirror is scheduled up at `utc`.
    pub fn is_active(&self, tz: &TimeZone, utc: Timestamp) -> bool {
        let local = tz.to_datetime(utc);
        self.windows.iter().any(|w| w.contains(local))
    }

    /// The next instant after `utc` at which a window starts or ends (the state may change
    /// there), within the next eight days.
    pub fn next_change(&self, tz: &TimeZone, utc: Timestamp) -> Option<Timestamp> {
        let today = tz.to_datetime(utc).date();
        let mut best: Option<Timestamp> = None;
        for offset in -1i64..=8 {
            let Ok(date) = today.checked_add(offset.days()) else {
                continue;
            };
            for w in &self.windows {
                for minute in [w.from, w.to] {
                    let (h, m) = (minute / 60, minute % 60);
                    // 24:00 is the next day's midnight.
                    let (date, h) = if h == 24 {
                        match date.checked_add(1.day()) {
                            Ok(d) => (d, 0),
                            Err(_) => continue,
                        }
                    } else {
                        (date, h)
                    };
                    let Ok(t) = date.at(h as i8, m as i8, 0, 0).to_zoned(tz.clone()) else {
                        continue;
                    };
                    let t = t.timestamp();
                    if t > utc && best.is_none_or(|b| t < b) {
                        best = Some(t);
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn schedule(windows: &[&str]) -> Schedule {
        Schedule::new(
            windows
                .iter()
                .map(|w| TimeWindow::parse(w).unwrap())
                .collect(),
        )
    }

    #[test]
    fn windows_parse_and_print() {
        let w = TimeWindow::parse("Mon-Fri 07:00-19:00").unwrap();
        assert_eq!(w.to_string(), "Mon,Tue,Wed,Thu,Fri 07:00-19:00");
        let w = TimeWindow::parse("sat,Sun 22:00-06:00").unwrap();
        assert_eq!(w.to_string(), "Sat,Sun 22:00-06:00");
        let w = TimeWindow::parse("Fri-Mon 00:00-24:00").unwrap();
        assert_eq!(w.to_string(), "Mon,Fri,Sat,Sun 00:00-24:00");
        assert_eq!(
            TimeWindow::parse("Daily 08:00-09:00").unwrap().to_string(),
            "Mon,Tue,Wed,Thu,Fri,Sat,Sun 08:00-09:00"
        );
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        assert_eq!(TimeWindow::parse("07:00-19:00"), Err(ScheduleError::Shape));
        assert_eq!(
            TimeWindow::parse("Mon-Fry 07:00-19:00"),
            Err(ScheduleError::Day("Fry".into()))
        );
        assert_eq!(
            TimeWindow::parse("Mon 7:00-19:00"),
            Err(ScheduleError::Time("7:00".into()))
        );
        assert_eq!(
            TimeWindow::parse("Mon 07:00-24:30"),
            Err(ScheduleError::Time("24:30".into()))
        );
        assert_eq!(
            TimeWindow::parse("Mon 07:00-07:00"),
            Err(ScheduleError::Empty("07:00".into()))
        );
        assert_eq!(TimeWindow::parse("Mon 07:00"), Err(ScheduleError::Shape));
    }

    #[test]
    fn local_time_is_cet_in_winter_and_cest_in_summer() {
        let tz = civil_zone();
        let s = schedule(&["Mon-Fri 07:00-19:00"]);
        // Tuesday 14 January 2025: 07:00 CET is 06:00 UTC.
        assert!(!s.is_active(&tz, utc("2025-01-14T05:59:59Z")));
        assert!(s.is_active(&tz, utc("2025-01-14T06:00:00Z")));
        assert!(s.is_active(&tz, utc("2025-01-14T17:59:59Z")));
        assert!(!s.is_active(&tz, utc("2025-01-14T18:00:00Z")));
        // Tuesday 15 July 2025: 07:00 CEST is 05:00 UTC.
        assert!(!s.is_active(&tz, utc("2025-07-15T04:59:59Z")));
        assert!(s.is_active(&tz, utc("2025-07-15T05:00:00Z")));
        // Saturday: not a weekday.
        assert!(!s.is_active(&tz, utc("2025-07-19T10:00:00Z")));
    }

    #[test]
    fn next_change_steps_over_the_dst_switches() {
        let tz = civil_zone();
        let s = schedule(&["Daily 08:00-09:00"]);
        // Saturday 29 March 2025, 12:00 UTC; the clocks go forward that night. Next start:
        // Sunday 08:00 CEST = 06:00 UTC.
        assert_eq!(
            s.next_change(&tz, utc("2025-03-29T12:00:00Z")),
            Some(utc("2025-03-30T06:00:00Z"))
        );
        // Saturday 25 October 2025; back that night. Next start: Sunday 08:00 CET = 07:00 UTC.
        assert_eq!(
            s.next_change(&tz, utc("2025-10-25T12:00:00Z")),
            Some(utc("2025-10-26T07:00:00Z"))
        );
    }

    #[test]
    fn a_window_in_the_missing_hour_starts_when_the_clock_jumps() {
        let tz = civil_zone();
        let s = schedule(&["Sun 02:30-04:00"]);
        // 30 March 2025: local time jumps from 02:00 CET (01:00 UTC) to 03:00 CEST.
        assert!(!s.is_active(&tz, utc("2025-03-30T00:59:59Z")));
        assert!(s.is_active(&tz, utc("2025-03-30T01:00:00Z")), "03:00 CEST");
        assert!(!s.is_active(&tz, utc("2025-03-30T02:00:00Z")), "04:00 CEST");
    }

    #[test]
    fn a_window_in_the_repeated_hour_is_active_twice() {
        let tz = civil_zone();
        let s = schedule(&["Sun 02:15-02:45"]);
        // 26 October 2025: 02:15 CEST = 00:15 UTC, and 02:15 CET = 01:15 UTC.
        assert!(s.is_active(&tz, utc("2025-10-26T00:20:00Z")));
        assert!(!s.is_active(&tz, utc("2025-10-26T00:50:00Z")));
        assert!(s.is_active(&tz, utc("2025-10-26T01:20:00Z")));
        assert!(!s.is_active(&tz, utc("2025-10-26T01:50:00Z")));
    }

    #[test]
    fn overnight_windows_end_the_next_morning() {
        let tz = civil_zone();
        let s = schedule(&["Fri 22:00-06:00"]);
        // Friday 17 January 2025 23:00 CET, Saturday 05:00 CET, Saturday 07:00 CET.
        assert!(s.is_active(&tz, utc("2025-01-17T22:00:00Z")));
        assert!(s.is_active(&tz, utc("2025-01-18T04:00:00Z")));
        assert!(!s.is_active(&tz, utc("2025-01-18T06:00:00Z")));
        // Thursday night is not Friday night.
        assert!(!s.is_active(&tz, utc("2025-01-16T22:00:00Z")));
    }
}
