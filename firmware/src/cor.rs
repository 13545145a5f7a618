//! COR inputs: the radio's "carrier operated relay" / call-active line, debounced in time.
//!
//! The line tells the board that its radio is receiving a call. It comes through a relay
//! contact or an opto-coupler and bounces for a few milliseconds at every change; a single
//! bounce reported to the host would open and close a voice stream. A [`CorInput`] is sampled
//! by its owner (every few milliseconds) and reports a change only once the new level has held
//! for the whole debounce time, without interruption. A glitch shorter than that is never seen.
//!
//! The line starts out *inactive* without reading the pin: if the radio is already receiving
//! at boot, that shows up as an ordinary change one debounce time after sampling starts.

use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::InputPin;

use crate::polarity::Polarity;

/// The debounce time unless configured otherwise.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(20);

/// How one COR line behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorConfig {
    polarity: Polarity,
    debounce: Duration,
}

impl CorConfig {
    /// A line of this polarity with the default debounce time.
    pub const fn new(polarity: Polarity) -> Self {
        CorConfig {
            polarity,
            debounce: DEFAULT_DEBOUNCE,
        }
    }

    /// Sets how long a new level must hold before it is reported.
    pub const fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// The line's polarity.
    pub const fn polarity(&self) -> Polarity {
        self.polarity
    }

    /// The debounce time.
    pub const fn debounce(&self) -> Duration {
        self.debounce
    }
}

/// A debounced change of a COR line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CorChange {
    /// The new state: `true` when the radio started receiving.
    pub active: bool,
    /// When the new level was first sampled (the change is reported one debounce time later).
    pub since: Instant,
}

/// One radio's COR line with its debouncer.
#[derive(Debug)]
pub struct CorInput<P> {
    pin: P,
    config: CorConfig,
    active: bool,
    /// When the line was first seen at the level opposite to `active`, if it still is.
    candidate_since: Option<Instant>,
}

impl<P: InputPin> CorInput<P> {
    /// Takes the pin; the line counts as inactive until sampled otherwise.
    pub fn new(pin: P, config: CorConfig) -> Self {
        CorInput {
            pin,
            config,
            active: false,
            candidate_since: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &CorConfig {
        &self.config
    }

    /// Reads the pin at `now` and reports a change once the new level has been stable for
    /// the debounce time.
    ///
    /// A read error leaves the debouncer as it was: one missed sample neither confirms nor
    /// cancels a pending change.
    pub fn sample(&mut self, now: Instant) -> Result<Option<CorChange>, P::Error> {
        let level = self.config.polarity.is_active(&mut self.pin)?;
        if level == self.active {
            self.candidate_since = None;
            return Ok(None);
        }
        let since = *self.candidate_since.get_or_insert(now);
        if now.saturating_since(since) < self.config.debounce {
            return Ok(None);
        }
        self.active = level;
        self.candidate_since = None;
        Ok(Some(CorChange {
            active: level,
            since,
        }))
    }

    /// The debounced state: whether the radio is receiving.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The earliest time a pending change could be reported, if one is pending.
    ///
    /// The owner must keep sampling until then: stability is only known from samples.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.candidate_since
            .map(|since| since + self.config.debounce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::{
        MockError,
        digital::{Mock, State, Transaction as T},
    };
    use std::{io::ErrorKind, vec::Vec};

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// Samples a scripted pin once per millisecond from `start`, collecting changes.
    fn run(
        config: CorConfig,
        levels: &[State],
        start: u64,
    ) -> (CorInput<Mock>, Vec<(u64, CorChange)>) {
        let script: Vec<T> = levels.iter().map(|&l| T::get(l)).collect();
        let mut pin = Mock::new(&script);
        let mut cor = CorInput::new(pin.clone(), config);
        let mut changes = Vec::new();
        for (i, _) in levels.iter().enumerate() {
            let t = start + i as u64;
            if let Some(c) = cor.sample(ms(t)).unwrap() {
                changes.push((t, c));
            }
        }
        pin.done();
        (cor, changes)
    }

    #[test]
    fn bouncing_contact_yields_one_event() {
        use State::{High as H, Low as L};
        // Bounce for 4 ms, then hold high for 25 ms.
        let mut levels = std::vec![H, L, H, L, H];
        levels.extend([H; 24]);
        let config = CorConfig::new(Polarity::ActiveHigh);
        let (cor, changes) = run(config, &levels, 0);
        // The last bounce ends at 3 ms; high from 4 ms holds 20 ms at 24 ms.
        assert_eq!(
            changes,
            [(
                24,
                CorChange {
                    active: true,
                    since: ms(4)
                }
            )]
        );
        assert!(cor.is_active());
    }

    #[test]
    fn glitch_shorter_than_debounce_is_never_reported() {
        use State::{High as H, Low as L};
        let mut levels = std::vec![L; 5];
        levels.extend([H; 19]);
        levels.extend([L; 30]);
        let (cor, changes) = run(CorConfig::new(Polarity::ActiveHigh), &levels, 0);
        assert!(changes.is_empty());
        assert!(!cor.is_active());
        assert_eq!(cor.poll_timeout(), None);
    }

    #[test]
    fn active_low_line_reports_both_edges() {
        use State::{High as H, Low as L};
        let mut levels = std::vec![L; 11];
        levels.extend([H; 11]);
        let config = CorConfig::new(Polarity::ActiveLow).with_debounce(Duration::from_millis(10));
        let (cor, changes) = run(config, &levels, 100);
        assert_eq!(
            changes,
            [
                (
                    110,
                    CorChange {
                        active: true,
                        since: ms(100)
                    }
                ),
                (
                    121,
                    CorChange {
                        active: false,
                        since: ms(111)
                    }
                ),
            ]
        );
        assert!(!cor.is_active());
    }

    #[test]
    fn poll_timeout_names_the_earliest_commit() {
        let mut pin = Mock::new(&[T::get(State::High), T::get(State::High)]);
        let mut cor = CorInput::new(pin.clone(), CorConfig::new(Polarity::ActiveHigh));
        assert_eq!(cor.poll_timeout(), None);
        assert_eq!(cor.sample(ms(7)).unwrap(), None);
        assert_eq!(cor.poll_timeout(), Some(ms(27)));
        assert!(cor.sample(ms(27)).unwrap().is_some());
        assert_eq!(cor.poll_timeout(), None);
        pin.done();
    }

    #[test]
    fn read_error_keeps_the_pending_change() {
        let err = MockError::Io(ErrorKind::Other);
        let mut pin = Mock::new(&[
            T::get(State::High),
            T::get(State::High).with_error(err.clone()),
            T::get(State::High),
        ]);
        let mut cor = CorInput::new(pin.clone(), CorConfig::new(Polarity::ActiveHigh));
        assert_eq!(cor.sample(ms(0)).unwrap(), None);
        assert_eq!(cor.sample(ms(10)), Err(err));
        let change = cor.sample(ms(20)).unwrap().unwrap();
        assert_eq!(change.since, ms(0));
        pin.done();
    }
}
