//! The adaptive playout delay: how long a new transmission waits before its first frame plays,
//! and from which arrival time that wait is counted.
//!
//! One [`DelayEstimator`] lives per source (a peer gateway, a console). Every stream buffer
//! fed by that source reports each frame as a [`Sample`]: its arrival time, its RTP
//! timestamp, and its *transit variation* — how much later than the stream's fastest frame so
//! far it arrived, relative to its place in the stream (arrival − 20 ms × index, minus the
//! running minimum of that). The estimator keeps the last `window` samples in a ring and a
//! histogram of the variations in 1 ms bins, all allocated once, so recording a sample is a
//! few array updates. The target delay is a high quantile of the histogram (0.95 by default,
//! interpolated inside its bin) plus one frame, clamped to `[min, max]`.
//!
//! A stream buffer reads the target once, when the transmission starts, and keeps it: changing
//! the delay inside a talk spurt would stretch or cut audio the listener hears, while between
//! spurts nobody notices. A fixed-delay mode ignores the samples (it still records them, so the
//! jitter a source shows can be reported either way).
//!
//! The estimator also keeps the source's **minimum transit**: arrival time minus media time
//! (the RTP timestamp, unwrapped across the source's transmissions), minimum over the window's
//! samples younger than `base_max_age`. When a sender's timestamps run on one continuous clock
//! across its transmissions (RFC 3550 §5.1 allows it; most RTP stacks do it per sender), this
//! tells a new transmission when its frames *would* arrive with no queueing at all, before any
//! of them has done so; [`min_transit_arrival`](DelayEstimator::min_transit_arrival) answers
//! that. The stream buffer uses it only when the new transmission's own frames agree with it
//! (see the [module doc](super)), so a sender with per-transmission random timestamps, a clock
//! that drifted, or a route that got slower falls back to per-transmission anchoring.

use borderlink_protocol::time::{Duration, Instant};

use super::{ConfigError, FRAME_DURATION};

/// How the playout delay is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlayoutMode {
    /// A quantile of recently observed jitter plus one frame.
    Adaptive,
    /// Always this delay.
    Fixed(Duration),
}

/// Settings of a [`DelayEstimator`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelayConfig {
    /// Adaptive or fixed.
    pub mode: PlayoutMode,
    /// Share of frames the delay should cover, in (0, 1].
    pub quantile: f64,
    /// Samples (frames) the quantile is taken over: 500 is the last 10 s of speech.
    pub window: usize,
    /// Samples needed before the quantile is trusted; until then `initial` applies.
    pub min_samples: usize,
    /// Delay before enough is known about a source.
    pub initial: Duration,
    /// Lower bound of the adaptive delay.
    pub min: Duration,
    /// Upper bound of the adaptive delay.
    pub max: Duration,
    /// Samples older than this do not count towards the source's minimum transit (two
    /// crystals drift apart by up to 0.1 ms per second).
    pub base_max_age: Duration,
}

/// The largest `max` accepted: the histogram has a bin per millisecond up to it.
pub const MAX_PLAYOUT_DELAY: Duration = Duration::from_secs(2);

/// Microseconds per RTP timestamp tick (8 kHz).
const TICK_US: i64 = 125;

impl Default for DelayConfig {
    fn default() -> Self {
        DelayConfig {
            mode: PlayoutMode::Adaptive,
            quantile: 0.95,
            window: 500,
            min_samples: 25,
            initial: Duration::from_millis(60),
            min: Duration::from_millis(20),
            max: Duration::from_millis(500),
            base_max_age: Duration::from_secs(30),
        }
    }
}

impl DelayConfig {
    /// Checks the settings, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.quantile > 0.0 && self.quantile <= 1.0) {
            return Err(ConfigError::Quantile(self.quantile));
        }
        if self.window == 0 {
            return Err(ConfigError::Zero("playout.window"));
        }
        if self.max > MAX_PLAYOUT_DELAY {
            return Err(ConfigError::TooLong {
                key: "playout.max",
                got: self.max,
                limit: MAX_PLAYOUT_DELAY,
            });
        }
        if let PlayoutMode::Fixed(d) = self.mode
            && d > MAX_PLAYOUT_DELAY
        {
            return Err(ConfigError::TooLong {
                key: "playout.fixed",
                got: d,
                limit: MAX_PLAYOUT_DELAY,
            });
        }
        if !(self.min <= self.initial && self.initial <= self.max) {
            return Err(ConfigError::DelayOrder {
                min: self.min,
                initial: self.initial,
                max: self.max,
            });
        }
        Ok(())
    }

    /// The largest delay this configuration can choose.
    pub fn max_delay(&self) -> Duration {
        match self.mode {
            PlayoutMode::Adaptive => self.max,
            PlayoutMode::Fixed(d) => d,
        }
    }
}

/// One frame's timing, as a stream buffer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When the frame arrived.
    pub arrival: Instant,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// How much later than its stream's fastest frame it arrived.
    pub variation: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    /// Histogram bin of the variation.
    bin: u16,
    /// Arrival, µs since the epoch.
    arrival: u64,
    /// Arrival minus unwrapped media time, µs.
    transit: i64,
}

/// A per-source playout-delay estimator over a sliding window of samples.
#[derive(Debug, Clone)]
pub struct DelayEstimator {
    config: DelayConfig,
    /// The window, oldest at `head` once full.
    ring: Box<[Entry]>,
    head: usize,
    len: usize,
    /// Samples per 1 ms bin; the last bin also holds everything longer.
    histogram: Box<[u32]>,
    /// The last timestamp seen and its media time in µs, unwrapped from the first sample on.
    clock: Option<(u32, i64)>,
}

impl DelayEstimator {
    /// An estimator with no samples yet. Settings out of range are clamped (validate them
    /// with [`DelayConfig::validate`] when the configuration is loaded).
    pub fn new(config: &DelayConfig) -> Self {
        let mut config = *config;
        config.max = config.max.min(MAX_PLAYOUT_DELAY);
        config.min = config.min.min(config.max);
        config.initial = config.initial.clamp(config.min, config.max);
        if !(config.quantile > 0.0 && config.quantile <= 1.0) {
            config.quantile = DelayConfig::default().quantile;
        }
        let window = config.window.max(1);
        // One bin per whole millisecond up to `max`, and one for everything beyond.
        let bins = config.max.as_millis() as usize + 1;
        DelayEstimator {
            config,
            ring: vec![Entry::default(); window].into_boxed_slice(),
            head: 0,
            len: 0,
            histogram: vec![0; bins].into_boxed_slice(),
            clock: None,
        }
    }

    /// The media time of `timestamp` in µs on this source's unwrapped clock.
    fn media_us(&self, timestamp: u32) -> i64 {
        match self.clock {
            // Nearest unwrapping: a 2^31-tick (74 h) jump reads as going backwards.
            Some((ts, media)) => {
                media.saturating_add(i64::from(timestamp.wrapping_sub(ts) as i32) * TICK_US)
            }
            None => 0,
        }
    }

    /// Records one frame's timing.
    pub fn observe(&mut self, sample: Sample) {
        let media = self.media_us(sample.timestamp);
        self.clock = Some((sample.timestamp, media));
        let arrival = sample.arrival.as_micros();
        let transit = i64::try_from(arrival)
            .unwrap_or(i64::MAX)
            .saturating_sub(media);
        let last = self.histogram.len() - 1;
        let bin = usize::try_from(sample.variation.as_millis()).map_or(last, |b| b.min(last));
        if self.len == self.ring.len() {
            // Full: the oldest sample leaves the window as this one enters.
            let old = usize::from(self.ring[self.head].bin);
            if let Some(count) = self.histogram.get_mut(old) {
                *count = count.saturating_sub(1);
            }
        } else {
            self.len += 1;
        }
        self.ring[self.head] = Entry {
            // `bins` is at most 2001, so the index fits a u16.
            bin: bin as u16,
            arrival,
            transit,
        };
        self.head = (self.head + 1) % self.ring.len();
        self.histogram[bin] = self.histogram[bin].saturating_add(1);
    }

    /// Samples in the window.
    pub fn samples(&self) -> usize {
        self.len
    }

    /// The `q` quantile of the variations in the window, interpolated inside its 1 ms bin,
    /// or `None` with no samples.
    pub fn jitter_quantile(&self, q: f64) -> Option<Duration> {
        if self.len == 0 {
            return None;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        // The value below which ceil(q·n) samples lie, taking each bin's samples as spread
        // evenly over its millisecond.
        let rank = ((q * self.len as f64).ceil() as u64).clamp(1, self.len as u64);
        let mut below = 0u64;
        for (bin, &count) in self.histogram.iter().enumerate() {
            let count = u64::from(count);
            if below + count >= rank {
                let within = (rank - below) * 1_000 / count;
                return Some(Duration::from_micros(bin as u64 * 1_000 + within));
            }
            below += count;
        }
        Some(Duration::from_millis(self.histogram.len() as u64))
    }

    /// The playout delay a transmission starting now should use.
    pub fn target(&self) -> Duration {
        match self.config.mode {
            PlayoutMode::Fixed(d) => d,
            PlayoutMode::Adaptive => {
                if self.len < self.config.min_samples.max(1) {
                    return self.config.initial;
                }
                let jitter = self
                    .jitter_quantile(self.config.quantile)
                    .unwrap_or(self.config.initial);
                (jitter + FRAME_DURATION).clamp(self.config.min, self.config.max)
            }
        }
    }

    /// When the frame stamped `timestamp` would arrive over this source's fastest path, going
    /// by the samples of the last `base_max_age` before `now`; `None` without such samples.
    ///
    /// Meaningful only if the sender's timestamps run on one clock across its transmissions:
    /// the caller checks that its own frames agree before relying on it.
    pub fn min_transit_arrival(&self, now: Instant, timestamp: u32) -> Option<Instant> {
        self.clock?;
        let oldest = now
            .as_micros()
            .saturating_sub(self.config.base_max_age.as_micros());
        let base = self
            .ring
            .iter()
            .take(self.len)
            .filter(|e| e.arrival >= oldest)
            .map(|e| e.transit)
            .min()?;
        let at = self.media_us(timestamp).saturating_add(base);
        u64::try_from(at).ok().map(Instant::from_micros)
    }

    /// The settings in force (after clamping).
    pub fn config(&self) -> &DelayConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// A sample with this variation (arrival and timestamp do not matter here).
    fn var(v: Duration) -> Sample {
        Sample {
            arrival: Instant::ZERO,
            timestamp: 0,
            variation: v,
        }
    }

    fn adaptive(window: usize) -> DelayEstimator {
        DelayEstimator::new(&DelayConfig {
            window,
            min_samples: 1,
            ..DelayConfig::default()
        })
    }

    #[test]
    fn target_is_the_quantile_plus_one_frame() {
        let mut e = adaptive(100);
        // 95 samples at 4.x ms, 5 at 30.x ms: the 0.95 quantile is the top of the 4 ms bin.
        for _ in 0..95 {
            e.observe(var(Duration::from_micros(4_300)));
        }
        for _ in 0..5 {
            e.observe(var(Duration::from_micros(30_700)));
        }
        assert_eq!(e.jitter_quantile(0.95), Some(ms(5)));
        assert_eq!(e.target(), ms(25));
        // One more slow sample pushes a fast one out and the quantile into the slow bin,
        // one sixth of the way up (the 95th of 100 is the first of its six samples).
        e.observe(var(ms(30)));
        assert_eq!(e.jitter_quantile(0.95), Some(Duration::from_micros(30_166)));
        assert_eq!(e.target(), Duration::from_micros(50_166));
    }

    #[test]
    fn the_window_forgets_old_samples() {
        let mut e = adaptive(10);
        for _ in 0..10 {
            e.observe(var(ms(200)));
        }
        assert_eq!(e.target(), ms(221));
        for _ in 0..10 {
            e.observe(var(ms(1)));
        }
        assert_eq!(e.samples(), 10);
        assert_eq!(e.target(), ms(22));
    }

    #[test]
    fn target_is_clamped_and_starts_at_initial() {
        let mut e = DelayEstimator::new(&DelayConfig {
            min_samples: 3,
            ..DelayConfig::default()
        });
        assert_eq!(e.target(), ms(60), "no samples yet");
        e.observe(var(ms(0)));
        e.observe(var(ms(0)));
        assert_eq!(e.target(), ms(60), "too few samples");
        e.observe(var(ms(0)));
        assert_eq!(e.target(), ms(21), "top of the 0 ms bin plus a frame");
        for _ in 0..500 {
            e.observe(var(Duration::from_secs(10)));
        }
        assert_eq!(e.target(), ms(500), "clamped to max");
        let mut low = DelayEstimator::new(&DelayConfig {
            min: ms(40),
            min_samples: 1,
            ..DelayConfig::default()
        });
        low.observe(var(ms(0)));
        assert_eq!(low.target(), ms(40), "clamped to min");
    }

    #[test]
    fn fixed_mode_ignores_the_samples() {
        let mut e = DelayEstimator::new(&DelayConfig {
            mode: PlayoutMode::Fixed(ms(80)),
            ..DelayConfig::default()
        });
        for _ in 0..1_000 {
            e.observe(var(ms(300)));
        }
        assert_eq!(e.target(), ms(80));
        assert_eq!(
            e.jitter_quantile(0.5),
            Some(Duration::from_micros(300_500)),
            "still recorded"
        );
    }

    #[test]
    fn quantile_extremes() {
        let mut e = adaptive(10);
        assert_eq!(e.jitter_quantile(0.5), None);
        for v in 0..10 {
            e.observe(var(ms(v * 10)));
        }
        assert_eq!(e.jitter_quantile(0.0), Some(ms(1)));
        assert_eq!(e.jitter_quantile(1.0), Some(ms(91)));
        assert_eq!(e.jitter_quantile(f64::NAN), Some(ms(91)));
        assert_eq!(e.jitter_quantile(0.5), Some(ms(41)));
    }

    /// Frame `k` of a sender whose 8 kHz clock reads `ts0` at its frame 0, arriving after
    /// `transit_ms`.
    fn timed(ts0: u32, k: u32, transit_ms: u64) -> Sample {
        Sample {
            arrival: Instant::from_millis(u64::from(k) * 20 + transit_ms),
            timestamp: ts0.wrapping_add(k * 160),
            variation: Duration::ZERO,
        }
    }

    #[test]
    fn the_minimum_transit_carries_over_to_the_next_transmission() {
        let mut e = adaptive(100);
        assert_eq!(e.min_transit_arrival(Instant::ZERO, 0), None, "no samples");
        // One transmission (frames 0..10) with transits of 40..49 ms, across the u32 wrap.
        let ts0 = u32::MAX - 800;
        for k in 0..10 {
            e.observe(timed(ts0, k, 40 + u64::from(k)));
        }
        // A later transmission, same clock, frame 500 (10 s after frame 0): its fastest
        // arrival is 10 s + 40 ms, whatever its own first packet says.
        let at = e.min_transit_arrival(Instant::from_millis(10_050), ts0.wrapping_add(500 * 160));
        assert_eq!(at, Some(Instant::from_millis(10_040)));
    }

    #[test]
    fn old_samples_do_not_make_the_base() {
        let mut e = DelayEstimator::new(&DelayConfig {
            base_max_age: Duration::from_secs(30),
            ..DelayConfig::default()
        });
        e.observe(timed(0, 0, 10)); // fast, but will be too old
        e.observe(timed(0, 1_000, 50)); // at 20.05 s
        let now = Instant::from_millis(40_000);
        let ts = 2_000 * 160; // media time 40 s
        // Only the second sample is younger than 30 s: base 50 ms.
        assert_eq!(
            e.min_transit_arrival(now, ts),
            Some(Instant::from_millis(40_050))
        );
        assert_eq!(
            e.min_transit_arrival(Instant::from_millis(60_000), ts),
            None
        );
    }

    #[test]
    fn validation_names_the_bad_setting() {
        assert_eq!(DelayConfig::default().validate(), Ok(()));
        let bad = DelayConfig {
            quantile: 1.5,
            ..DelayConfig::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::Quantile(1.5)));
        let bad = DelayConfig {
            initial: ms(10),
            ..DelayConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::DelayOrder { .. })
        ));
        let bad = DelayConfig {
            window: 0,
            ..DelayConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "playout.window must be at least 1"
        );
        // Out-of-range settings are clamped rather than trusted.
        let e = DelayEstimator::new(&DelayConfig {
            quantile: f64::NAN,
            window: 0,
            max: Duration::from_secs(60),
            ..DelayConfig::default()
        });
        assert_eq!(e.config().max, MAX_PLAYOUT_DELAY);
        assert_eq!(e.config().quantile, 0.95);
    }
}
