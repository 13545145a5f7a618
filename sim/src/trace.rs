//! The gateways' own logs over a window of virtual time, for an engineer chasing what a fast
//! run or a soak found (`borderlink-sim --fast --trace 20..30`, `--soak N --seed S --trace …`).
//!
//! Every [`SiteCore`](borderlink_gateway::site::SiteCore) logs through `tracing` as it does in
//! borderlinkd; the fast mode enters a `gateway{site=N}` span around each of its inputs, and
//! the lines are stamped with the virtual time of the run instead of the wall clock. Outside
//! the window nothing is formatted, so a long soak traced over a few seconds runs at almost its
//! usual speed.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use borderlink_protocol::time::Instant;
use tracing_subscriber::filter::{LevelFilter, dynamic_filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt as tfmt};

/// The virtual time of the run, in µs, as the fast mode last set it.
static NOW_US: AtomicU64 = AtomicU64::new(0);

/// The fast mode tells the log what time it is.
pub(crate) fn set_now(now: Instant) {
    NOW_US.store(now.as_micros(), Ordering::Relaxed);
}

fn now_us() -> u64 {
    NOW_US.load(Ordering::Relaxed)
}

/// A window of virtual time, in seconds: `FROM..TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window(pub Range<u64>);

impl FromStr for Window {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (from, to) = s
            .split_once("..")
            .ok_or_else(|| format!("`{s}`: expected FROM..TO in seconds of virtual time"))?;
        let secs = |v: &str| -> Result<u64, String> {
            let v = v.trim();
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| (x * 1e6) as u64)
                .ok_or_else(|| format!("`{v}`: not a number of seconds"))
        };
        let (from, to) = (secs(from)?, secs(to)?);
        if from >= to {
            return Err(format!("`{s}`: the window ends before it starts"));
        }
        Ok(Window(from..to))
    }
}

/// Stamps a line with the virtual time, in seconds.
struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "{:>10.3}", now_us() as f64 / 1e6)
    }
}

/// Prints the gateways' logs (debug and above) to stderr while the virtual time is in
/// `window`. Once per process.
///
/// # Errors
/// If a global subscriber is already installed.
pub fn install(window: Window) -> Result<(), String> {
    let Window(range) = window;
    let layer = tfmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_timer(VirtualTime)
        .with_filter(LevelFilter::DEBUG)
        .with_filter(dynamic_filter_fn(move |meta, _| {
            meta.is_span() || range.contains(&now_us())
        }));
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| format!("cannot install the trace: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_in_seconds_and_bad_ones_say_why() {
        assert_eq!("20..30".parse(), Ok(Window(20_000_000..30_000_000)));
        assert_eq!("0.5..1.25".parse(), Ok(Window(500_000..1_250_000)));
        let e = "30..20".parse::<Window>().unwrap_err();
        assert!(e.contains("ends before it starts"), "{e}");
        let e = "20-30".parse::<Window>().unwrap_err();
        assert!(e.contains("FROM..TO"), "{e}");
        let e = "a..3".parse::<Window>().unwrap_err();
        assert!(e.contains("`a`"), "{e}");
    }
}
