//! Human durations as the config file writes them: `"1.5s"`, `"500ms"`, `"2min"`, `"1h 30min"`.
//!
//! The grammar is deliberately small so that every accepted string means one thing:
//! one or more *components*, each a decimal number (an optional fraction after a `.`) followed
//! by a unit — `us` (or `µs`), `ms`, `s`, `min`, `h` — optionally separated by spaces, units in
//! decreasing order and each at most once. Values are exact in microseconds (the resolution of
//! [`Duration`]); a fraction finer than that is refused rather than rounded. A bare `0` is
//! zero. `m` is not a unit: it would be minutes to some readers and milliseconds to others.

use borderlink_protocol::time::Duration;
use thiserror::Error;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("empty duration")]
    Empty,
    /// A character where a digit was expected.
    #[error("expected a number at `{0}`")]
    ExpectedNumber(String),
    /// A number with no unit after it.
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    /// A unit that is not one of the accepted ones.
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    /// A unit repeated, or a larger unit after a smaller one.
    #[error("unit `{0}` out of order (write larger units first, each once)")]
    UnitOrder(String),
    /// A fraction finer than a microsecond.
    #[error("finer than the 1 us resolution")]
    TooPrecise,
    /// More than `u64::MAX` microseconds.
    #[error("too long")]
    Overflow,
}

/// Units in decreasing order, with their length in microseconds.
const UNITS: [(&str, u64); 6] = [
    ("h", 3_600_000_000),
    ("min", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
    ("µs", 1),
];

/// Parses a human duration: numbers with units `h`, `min`, `s`, `ms`, `us`/`µs`, larger
/// units first (`"1.5s"`, `"1h 30min"`), exact to the microsecond; a bare `"0"` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    // Index into UNITS of the last unit used; the next must come strictly after it.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let (whole, fraction, after_number) = number(rest)?;
        let after_number = after_number.trim_start();
        let unit_len = after_number
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after_number.len());
        let unit = &after_number[..unit_len];
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(text.to_owned()));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(DurationError::UnknownUnit(unit.to_owned()));
        };
        // `us` and `µs` are one unit.
        let rank = index.min(4);
        if last_unit.is_some_and(|last| rank <= last) {
            return Err(DurationError::UnitOrder(unit.to_owned()));
        }
        last_unit = Some(rank);
        let micros = scaled(whole, fraction, UNITS[index].1)?;
        total = total.checked_add(micros).ok_or(DurationError::Overflow)?;
        rest = after_number[unit_len..].trim_start();
    }
    Ok(Duration::from_micros(total))
}

/// Splits a leading `digits[.digits]` off `s`: the whole part, the fraction digits, the rest.
fn number(s: &str) -> Result<(&str, &str, &str), DurationError> {
    let digits = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let whole_len = digits(s);
    let (whole, mut rest) = s.split_at(whole_len);
    let mut fraction = "";
    if let Some(after_dot) = rest.strip_prefix('.') {
        let fraction_len = digits(after_dot);
        fraction = &after_dot[..fraction_len];
        rest = &after_dot[fraction_len..];
        if fraction.is_empty() {
            return Err(DurationError::ExpectedNumber(after_dot.to_owned()));
        }
    }
    if whole.is_empty() && fraction.is_empty() {
        return Err(DurationError::ExpectedNumber(s.to_owned()));
    }
    Ok((whole, fraction, rest))
}

/// `whole.fraction × unit` in microseconds, exactly.
fn scaled(whole: &str, fraction: &str, unit: u64) -> Result<u64, DurationError> {
    let whole_value = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().map_err(|_| DurationError::Overflow)?
    };
    let mut micros = whole_value
        .checked_mul(unit)
        .ok_or(DurationError::Overflow)?;
    if !fraction.is_empty() {
        // A unit is at most 3.6e9 µs, so more than ten fraction digits cannot be exact
        // unless they are trailing zeros.
        let significant = fraction.trim_end_matches('0');
        if significant.len() > 10 {
            return Err(DurationError::TooPrecise);
        }
        let scale = 10u128.pow(significant.len() as u32);
        let value = significant.parse::<u128>().unwrap_or(0) * u128::from(unit);
        if value % scale != 0 {
            return Err(DurationError::TooPrecise);
        }
        let part = u64::try_from(value / scale).map_err(|_| DurationError::Overflow)?;
        micros = micros.checked_add(part).ok_or(DurationError::Overflow)?;
    }
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> u64 {
        parse_duration(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .as_micros()
    }

    #[test]
    fn each_unit_and_fractions() {
        assert_eq!(ok("1.5s"), 1_500_000);
        assert_eq!(ok("500ms"), 500_000);
        assert_eq!(ok("120s"), 120_000_000);
        assert_eq!(ok("2min"), 120_000_000);
        assert_eq!(ok("2h"), 7_200_000_000);
        assert_eq!(ok("250us"), 250);
        assert_eq!(ok("250µs"), 250);
        assert_eq!(ok("0.5ms"), 500);
        assert_eq!(ok(".5s"), 500_000);
        assert_eq!(ok("1.000000000000s"), 1_000_000);
        assert_eq!(ok(" 20 ms "), 20_000);
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("0s"), 0);
    }

    #[test]
    fn components_add_up_in_decreasing_order() {
        assert_eq!(ok("1h 30min"), 5_400_000_000);
        assert_eq!(ok("1min30s"), 90_000_000);
        assert_eq!(ok("1s 500ms"), 1_500_000);
        assert_eq!(
            parse_duration("30s 1min"),
            Err(DurationError::UnitOrder("min".into()))
        );
        assert_eq!(
            parse_duration("1s 2s"),
            Err(DurationError::UnitOrder("s".into()))
        );
        assert_eq!(
            parse_duration("1us 1µs"),
            Err(DurationError::UnitOrder("µs".into()))
        );
    }

    #[test]
    fn hostile_strings_name_the_fault() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("  "), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("15"),
            Err(DurationError::MissingUnit("15".into()))
        );
        assert_eq!(
            parse_duration("1.5"),
            Err(DurationError::MissingUnit("1.5".into()))
        );
        assert_eq!(
            parse_duration("3m"),
            Err(DurationError::UnknownUnit("m".into()))
        );
        assert_eq!(
            parse_duration("5 seconds"),
            Err(DurationError::UnknownUnit("seconds".into()))
        );
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::ExpectedNumber("-1s".into()))
        );
        assert_eq!(
            parse_duration("s"),
            Err(DurationError::ExpectedNumber("s".into()))
        );
        assert_eq!(
            parse_duration("1.s"),
            Err(DurationError::ExpectedNumber("s".into()))
        );
        assert_eq!(parse_duration("0.1us"), Err(DurationError::TooPrecise));
        assert_eq!(parse_duration("1.0000001s"), Err(DurationError::TooPrecise));
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err(DurationError::Overflow)
        );
        assert_eq!(parse_duration("5124095577h"), Err(DurationError::Overflow));
        assert_eq!(
            parse_duration("0.00000000001111111111h"),
            Err(DurationError::TooPrecise)
        );
        assert_eq!(
            parse_duration("1s,"),
            Err(DurationError::ExpectedNumber(",".into()))
        );
    }
}
