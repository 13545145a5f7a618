//! PTT outputs: the line that keys a radio's transmitter through its accessory connector.
//!
//! A stuck PTT is the worst failure a gateway can have: a keyed radio holds the floor of its
//! talkgroup for every unit on it, across a whole region. So a [`PttOutput`] keeps the line
//! safe by itself, whatever the host asks for:
//! - it drives the line to *released* the moment it is built, so a board never keys a radio at
//!   boot, whichever polarity the line has;
//! - it enforces a hard TX cap (never above [`MAX_TX_CAP`]): once keyed that long, it releases
//!   on its own however PTT was asserted, then refuses to key again until the host has said
//!   "release" (so a host that keeps asking cannot re-key at once) and a cool-down has passed.
//!   A release shorter than [`MIN_TX_BREAK`] does not restart the cap: over after over keyed
//!   with short breaks between them is one transmission, capped as one;
//! - if driving the line to released fails, it assumes the radio may still be keyed and retries
//!   every [`RELEASE_RETRY`] until the line is released, refusing to key meanwhile.
//!
//! Time is an argument, never read: the owner calls [`PttOutput::handle_timeout`] when
//! [`PttOutput::poll_timeout`] says so.

use core::fmt;

pub use borderlink_protocol::link::MIN_TX_BREAK;
use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::OutputPin;

use crate::polarity::Polarity;

/// The longest a board lets a radio transmit in one go, whatever the configuration says.
///
/// The daemon has its own, shorter TX timeout; this is the backstop for when it does not act.
pub const MAX_TX_CAP: Duration = Duration::from_secs(180);

/// How long after a TX-cap release the port refuses to key, unless configured otherwise.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(1);

/// How often a failed release is retried.
pub const RELEASE_RETRY: Duration = Duration::from_millis(10);

/// Why a PTT operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error<E> {
    /// Driving the pin failed; the pin's own error.
    Pin(E),
    /// The TX cap fired and the port is still in its lockout.
    LockedOut,
    /// An earlier release failed and is being retried: the radio may still be keyed.
    ReleasePending,
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Pin(e) => write!(f, "PTT pin error: {e:?}"),
            Error::LockedOut => f.write_str("PTT locked out after the TX cap"),
            Error::ReleasePending => f.write_str("PTT release failed and is being retried"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// How one PTT line behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PttConfig {
    polarity: Polarity,
    tx_cap: Duration,
    cooldown: Duration,
}

impl PttConfig {
    /// A line of this polarity with the longest TX cap and the default cool-down.
    pub const fn new(polarity: Polarity) -> Self {
        PttConfig {
            polarity,
            tx_cap: MAX_TX_CAP,
            cooldown: DEFAULT_COOLDOWN,
        }
    }

    /// Sets the TX cap, clamped to at most [`MAX_TX_CAP`].
    pub const fn with_tx_cap(mut self, cap: Duration) -> Self {
        self.tx_cap = if cap.as_micros() > MAX_TX_CAP.as_micros() {
            MAX_TX_CAP
        } else {
            cap
        };
        self
    }

    /// Sets how long keying stays refused after a TX-cap release.
    pub const fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The line's polarity.
    pub const fn polarity(&self) -> Polarity {
        self.polarity
    }

    /// The TX cap in force (already clamped).
    pub const fn tx_cap(&self) -> Duration {
        self.tx_cap
    }

    /// The post-cap cool-down.
    pub const fn cooldown(&self) -> Duration {
        self.cooldown
    }
}

/// Where the line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Released,
    Keyed {
        since: Instant,
    },
    /// A release failed: the line's level is unknown, so treat it as keyed and retry.
    ReleaseFailed {
        retry_at: Instant,
    },
}

/// The lockout that follows a TX-cap release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lockout {
    at: Instant,
    host_released: bool,
}

/// One radio's PTT line, with its TX cap.
#[derive(Debug)]
pub struct PttOutput<P> {
    pin: P,
    config: PttConfig,
    line: Line,
    lockout: Option<Lockout>,
    /// Where the TX cap counts from: the keying that began the current transmission, breaks
    /// shorter than [`MIN_TX_BREAK`] included.
    cap_from: Option<Instant>,
    /// When the line was last released.
    released_at: Option<Instant>,
}

impl<P: OutputPin> PttOutput<P> {
    /// Takes the pin and drives it to released straight away.
    pub fn new(mut pin: P, config: PttConfig) -> Result<Self, Error<P::Error>> {
        config.polarity.drive(&mut pin, false).map_err(Error::Pin)?;
        Ok(PttOutput {
            pin,
            config,
            line: Line::Released,
            lockout: None,
            cap_from: None,
            released_at: None,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &PttConfig {
        &self.config
    }

    /// Keys the radio, unless locked out or a release is still pending.
    ///
    /// Keying a line that is already keyed changes nothing: in particular it does not restart
    /// the TX cap, so a host repeating "PTT on" cannot hold a radio keyed past it.
    pub fn key(&mut self, now: Instant) -> Result<(), Error<P::Error>> {
        if self.is_locked_out(now) {
            return Err(Error::LockedOut);
        }
        self.lockout = None;
        match self.line {
            Line::Keyed { .. } => Ok(()),
            Line::ReleaseFailed { .. } => Err(Error::ReleasePending),
            Line::Released => match self.config.polarity.drive(&mut self.pin, true) {
                Ok(()) => {
                    self.line = Line::Keyed { since: now };
                    let short_break = self.released_at.is_some_and(|at| now < at + MIN_TX_BREAK);
                    if !short_break || self.cap_from.is_none() {
                        self.cap_from = Some(now);
                    }
                    Ok(())
                }
                Err(e) => {
                    // The failed write may have half-happened (an I/O expander that took the
                    // byte and then NAKed): make sure the line ends up released.
                    let _ = self.drive_released(now);
                    Err(Error::Pin(e))
                }
            },
        }
    }

    /// Releases PTT at the host's request; this also ends a post-cap lockout once the
    /// cool-down has passed.
    pub fn release(&mut self, now: Instant) -> Result<(), Error<P::Error>> {
        if let Some(lockout) = &mut self.lockout {
            lockout.host_released = true;
        }
        self.drive_released(now)
    }

    /// Releases PTT for a safety reason (host silence, shutdown): unlike
    /// [`release`](Self::release) this does not count as the host acknowledging a TX cap.
    pub fn force_release(&mut self, now: Instant) -> Result<(), Error<P::Error>> {
        self.drive_released(now)
    }

    /// Releases the line if the TX cap is reached and retries a failed release if due.
    ///
    /// Returns `Ok(true)` when the TX cap fired in this call. If a release was due but failed,
    /// the pin error is returned; the lockout applies all the same, and the release is retried
    /// at the next [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<bool, Error<P::Error>> {
        match self.line {
            Line::Keyed { .. } if self.cap_deadline().is_some_and(|cap| now >= cap) => {
                self.lockout = Some(Lockout {
                    at: now,
                    host_released: false,
                });
                // The lockout is the break: the next keying counts afresh.
                self.cap_from = None;
                self.drive_released(now).map(|()| true)
            }
            Line::ReleaseFailed { retry_at } if now >= retry_at => {
                self.drive_released(now).map(|()| false)
            }
            _ => Ok(false),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.line {
            Line::Released => None,
            Line::Keyed { .. } => self.cap_deadline(),
            Line::ReleaseFailed { retry_at } => Some(retry_at),
        }
    }

    /// When the TX cap will release the line, if it is keyed: the cap counts from the start of
    /// the current transmission, breaks shorter than [`MIN_TX_BREAK`] included.
    pub fn cap_deadline(&self) -> Option<Instant> {
        match self.line {
            Line::Keyed { since } => Some(self.cap_from.unwrap_or(since) + self.config.tx_cap),
            _ => None,
        }
    }

    /// Whether the line is keyed, as far as this output knows.
    pub fn is_keyed(&self) -> bool {
        matches!(self.line, Line::Keyed { .. })
    }

    /// Since when the line has been keyed, if it is.
    pub fn keyed_since(&self) -> Option<Instant> {
        match self.line {
            Line::Keyed { since } => Some(since),
            _ => None,
        }
    }

    /// Whether a failed release is still being retried (the radio may be keyed).
    pub fn is_release_pending(&self) -> bool {
        matches!(self.line, Line::ReleaseFailed { .. })
    }

    /// Whether [`key`](Self::key) would be refused at `now` because of a TX-cap lockout.
    pub fn is_locked_out(&self, now: Instant) -> bool {
        match self.lockout {
            None => false,
            Some(l) => !(l.host_released && now >= l.at + self.config.cooldown),
        }
    }

    fn drive_released(&mut self, now: Instant) -> Result<(), Error<P::Error>> {
        match self.config.polarity.drive(&mut self.pin, false) {
            Ok(()) => {
                if self.is_keyed() {
                    self.released_at = Some(now);
                }
                self.line = Line::Released;
                Ok(())
            }
            Err(e) => {
                self.line = Line::ReleaseFailed {
                    retry_at: now + RELEASE_RETRY,
                };
                Err(Error::Pin(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::{
        MockError,
        digital::{Mock, State, Transaction as T},
    };
    use std::io::ErrorKind;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    fn io_err() -> MockError {
        MockError::Io(ErrorKind::Other)
    }

    #[test]
    fn construction_releases_at_either_polarity() {
        let mut pin = Mock::new(&[T::set(State::Low)]);
        let ptt = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveHigh)).unwrap();
        assert!(!ptt.is_keyed());
        pin.done();

        let mut pin = Mock::new(&[T::set(State::High)]);
        let ptt = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveLow)).unwrap();
        assert_eq!(ptt.poll_timeout(), None);
        pin.done();
    }

    #[test]
    fn construction_reports_a_pin_that_cannot_be_released() {
        let mut pin = Mock::new(&[T::set(State::Low).with_error(io_err())]);
        let err = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveHigh)).unwrap_err();
        assert_eq!(err, Error::Pin(io_err()));
        pin.done();
    }

    #[test]
    fn active_low_drives_low_to_key() {
        let mut pin = Mock::new(&[T::set(State::High), T::set(State::Low), T::set(State::High)]);
        let mut ptt = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveLow)).unwrap();
        ptt.key(ms(5)).unwrap();
        assert_eq!(ptt.keyed_since(), Some(ms(5)));
        ptt.release(ms(10)).unwrap();
        assert!(!ptt.is_keyed());
        pin.done();
    }

    #[test]
    fn tx_cap_is_clamped_to_180_s() {
        let c = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(600));
        assert_eq!(c.tx_cap(), Duration::from_secs(180));
        let c = c.with_tx_cap(Duration::from_secs(30));
        assert_eq!(c.tx_cap(), Duration::from_secs(30));
    }

    #[test]
    fn tx_cap_releases_at_exactly_the_limit() {
        let mut pin = Mock::new(&[T::set(State::Low), T::set(State::High), T::set(State::Low)]);
        let config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(60));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        ptt.key(ms(1_000)).unwrap();
        assert_eq!(ptt.poll_timeout(), Some(ms(61_000)));

        let just_before = ms(61_000) - Duration::from_micros(1);
        assert_eq!(ptt.handle_timeout(just_before), Ok(false));
        assert!(ptt.is_keyed());

        assert_eq!(ptt.handle_timeout(ms(61_000)), Ok(true));
        assert!(!ptt.is_keyed());
        assert_eq!(ptt.poll_timeout(), None);
        pin.done();
    }

    #[test]
    fn repeated_key_does_not_restart_the_cap() {
        let mut pin = Mock::new(&[T::set(State::Low), T::set(State::High), T::set(State::Low)]);
        let config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(10));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        ptt.key(ms(0)).unwrap();
        ptt.key(ms(9_000)).unwrap();
        assert_eq!(ptt.keyed_since(), Some(ms(0)));
        assert_eq!(ptt.handle_timeout(ms(10_000)), Ok(true));
        pin.done();
    }

    #[test]
    fn a_line_released_and_keyed_again_within_a_second_is_one_transmission_for_the_cap() {
        // Over after over with 500 ms breaks: a host releasing between overs cannot restart
        // the cap.
        let mut script = std::vec![T::set(State::Low)];
        for _ in 0..3 {
            script.extend([T::set(State::High), T::set(State::Low)]);
        }
        let mut pin = Mock::new(&script);
        let config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(10));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        for over in 0..2u64 {
            let start = over * 3_500;
            ptt.key(ms(start)).unwrap();
            assert_eq!(ptt.handle_timeout(ms(start + 3_000)), Ok(false));
            ptt.release(ms(start + 3_000)).unwrap();
        }
        ptt.key(ms(7_000)).unwrap();
        assert_eq!(
            ptt.cap_deadline(),
            Some(ms(10_000)),
            "counted from the first over"
        );
        assert_eq!(ptt.handle_timeout(ms(9_999)), Ok(false));
        assert_eq!(ptt.handle_timeout(ms(10_000)), Ok(true));
        assert!(!ptt.is_keyed());
        pin.done();
    }

    #[test]
    fn a_break_of_a_second_or_more_starts_the_cap_afresh() {
        let mut pin = Mock::new(&[
            T::set(State::Low),
            T::set(State::High),
            T::set(State::Low),
            T::set(State::High),
        ]);
        let config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(10));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        ptt.key(ms(0)).unwrap();
        ptt.release(ms(8_000)).unwrap();
        ptt.key(ms(9_000)).unwrap();
        assert_eq!(ptt.cap_deadline(), Some(ms(19_000)));
        assert_eq!(ptt.keyed_since(), Some(ms(9_000)));
        pin.done();
    }

    #[test]
    fn lockout_needs_host_release_and_cooldown() {
        let mut pin = Mock::new(&[
            T::set(State::Low),
            T::set(State::High),
            // cap
            T::set(State::Low),
            // safety release does not lift the lockout
            T::set(State::Low),
            // host release
            T::set(State::Low),
            // re-key after the cool-down
            T::set(State::High),
        ]);
        let config = PttConfig::new(Polarity::ActiveHigh)
            .with_tx_cap(Duration::from_secs(10))
            .with_cooldown(Duration::from_secs(2));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        ptt.key(ms(0)).unwrap();
        assert_eq!(ptt.handle_timeout(ms(10_000)), Ok(true));

        // The host, unaware, keeps asking.
        assert_eq!(ptt.key(ms(10_100)), Err(Error::LockedOut));
        ptt.force_release(ms(10_200)).unwrap();
        assert_eq!(ptt.key(ms(20_000)), Err(Error::LockedOut));

        ptt.release(ms(20_000)).unwrap();
        // The cool-down counts from the cap, which is long past.
        assert!(!ptt.is_locked_out(ms(20_000)));
        ptt.key(ms(20_000)).unwrap();
        assert!(ptt.is_keyed());
        pin.done();
    }

    #[test]
    fn lockout_holds_through_the_cooldown() {
        let mut pin = Mock::new(&[
            T::set(State::Low),
            T::set(State::High),
            T::set(State::Low),
            T::set(State::Low),
            T::set(State::High),
        ]);
        let config = PttConfig::new(Polarity::ActiveHigh)
            .with_tx_cap(Duration::from_secs(10))
            .with_cooldown(Duration::from_secs(2));
        let mut ptt = PttOutput::new(pin.clone(), config).unwrap();
        ptt.key(ms(0)).unwrap();
        assert_eq!(ptt.handle_timeout(ms(10_000)), Ok(true));
        ptt.release(ms(10_001)).unwrap();
        assert_eq!(ptt.key(ms(11_999)), Err(Error::LockedOut));
        ptt.key(ms(12_000)).unwrap();
        pin.done();
    }

    #[test]
    fn failed_release_is_retried_and_blocks_keying() {
        let mut pin = Mock::new(&[
            T::set(State::Low),
            T::set(State::High),
            T::set(State::Low).with_error(io_err()),
            T::set(State::Low).with_error(io_err()),
            T::set(State::Low),
        ]);
        let mut ptt = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveHigh)).unwrap();
        ptt.key(ms(0)).unwrap();
        assert_eq!(ptt.release(ms(100)), Err(Error::Pin(io_err())));
        assert!(ptt.is_release_pending());
        assert_eq!(ptt.key(ms(101)), Err(Error::ReleasePending));
        assert_eq!(ptt.poll_timeout(), Some(ms(110)));

        // Not due yet: no pin traffic.
        assert_eq!(ptt.handle_timeout(ms(109)), Ok(false));
        assert_eq!(ptt.handle_timeout(ms(110)), Err(Error::Pin(io_err())));
        assert_eq!(ptt.poll_timeout(), Some(ms(120)));
        assert_eq!(ptt.handle_timeout(ms(120)), Ok(false));
        assert!(!ptt.is_release_pending());
        assert_eq!(ptt.poll_timeout(), None);
        pin.done();
    }

    #[test]
    fn failed_key_leaves_the_line_released() {
        let mut pin = Mock::new(&[
            T::set(State::High),
            T::set(State::Low).with_error(io_err()),
            T::set(State::High),
        ]);
        let mut ptt = PttOutput::new(pin.clone(), PttConfig::new(Polarity::ActiveLow)).unwrap();
        assert_eq!(ptt.key(ms(0)), Err(Error::Pin(io_err())));
        assert!(!ptt.is_keyed());
        assert!(!ptt.is_release_pending());
        pin.done();
    }
}
