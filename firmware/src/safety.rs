//! The board's safety core: every radio port's PTT and COR lines, the host-silence watchdog and
//! the fault LED, in one state machine that keeps the air safe with no help from the host.
//!
//! [`Safety`] is sans-IO in the quinn style. It owns pins but no clock: time is passed in.
//! Its driver (the board's main loop) does, in this order:
//! 1. for every valid frame from the host, [`Safety::host_heard`], then the frame's commands
//!    (e.g. [`Safety::request_ptt`]);
//! 2. [`Safety::handle_timeout`] whenever [`Safety::poll_timeout`] says so (it always names a
//!    time: the COR lines are sampled periodically);
//! 3. [`Safety::poll_event`] until it returns `None`, reporting each event to the host.
//!
//! What it guarantees, whatever the host does:
//! - every PTT line is released from construction on, and the fault LED is lit until the host
//!   is first heard;
//! - PTT is refused while the host is not alive; when the host falls silent for the watchdog
//!   timeout (at most 500 ms), every PTT is dropped, the fault LED lights and
//!   [`Event::HostSilence`] is queued;
//! - no port stays keyed past its TX cap (at most 180 s); after a cap the port refuses PTT until
//!   the host has released it and the cool-down has passed;
//! - optionally, a port is not keyed while its radio is receiving (COR active).
//!
//! Pin failures never stop the machine: they are queued as events (once per failing run, so a
//! dead pin does not flood the queue) and failed releases are retried.

use core::fmt;

use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::{InputPin, OutputPin};
use heapless::Deque;

use crate::cor::CorInput;
use crate::polarity::Polarity;
use crate::ptt::{self, PttOutput};
use crate::watchdog::{MAX_HOST_TIMEOUT, Watchdog};

/// How many events wait for [`Safety::poll_event`] before new ones are dropped (and counted).
pub const EVENT_CAPACITY: usize = 32;

/// How often COR lines are sampled unless configured otherwise.
pub const DEFAULT_COR_SAMPLE_INTERVAL: Duration = Duration::from_millis(2);

/// The shortest COR sampling interval: below it the board would do little but sample.
pub const MIN_COR_SAMPLE_INTERVAL: Duration = Duration::from_millis(1);

/// Something the host must be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The host was silent for the watchdog timeout: every PTT was dropped.
    HostSilence,
    /// The host was heard again after a silence, or for the first time since boot.
    HostRestored,
    /// A port was keyed for its whole TX cap and was released.
    TxCapReached {
        /// The port's index.
        port: usize,
    },
    /// A port's debounced COR line changed.
    CorChanged {
        /// The port's index.
        port: usize,
        /// Whether the radio is now receiving.
        active: bool,
        /// When the new level was first sampled.
        since: Instant,
    },
    /// Driving a port's PTT pin failed; a failed release is being retried.
    PttPinFault {
        /// The port's index.
        port: usize,
    },
    /// Reading a port's COR pin failed.
    CorPinFault {
        /// The port's index.
        port: usize,
    },
    /// Driving the fault LED failed.
    LedPinFault,
}

/// Why a PTT request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error<E> {
    /// There is no port with this index.
    NoSuchPort,
    /// The host is not alive (never heard, or silent past the watchdog timeout).
    HostSilent,
    /// The port's radio is receiving and the board refuses to key over it.
    ChannelBusy,
    /// The port hit its TX cap and is still locked out.
    LockedOut,
    /// An earlier release of the port failed and is being retried.
    ReleasePending,
    /// Driving the PTT pin failed; the pin's own error.
    Pin(E),
}

impl<E> From<ptt::Error<E>> for Error<E> {
    fn from(e: ptt::Error<E>) -> Self {
        match e {
            ptt::Error::Pin(e) => Error::Pin(e),
            ptt::Error::LockedOut => Error::LockedOut,
            ptt::Error::ReleasePending => Error::ReleasePending,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchPort => f.write_str("no such port"),
            Error::HostSilent => f.write_str("host not heard within the watchdog timeout"),
            Error::ChannelBusy => f.write_str("radio is receiving (COR active)"),
            Error::LockedOut => f.write_str("PTT locked out after the TX cap"),
            Error::ReleasePending => f.write_str("PTT release failed and is being retried"),
            Error::Pin(e) => write!(f, "PTT pin error: {e:?}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// How the safety core behaves as a whole (per-line settings live in the lines' configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyConfig {
    host_timeout: Duration,
    refuse_while_cor: bool,
    cor_sample_interval: Duration,
    led_polarity: Polarity,
}

impl SafetyConfig {
    /// The strictest settings: 500 ms host timeout, no keying over a receiving radio.
    pub const fn new() -> Self {
        SafetyConfig {
            host_timeout: MAX_HOST_TIMEOUT,
            refuse_while_cor: true,
            cor_sample_interval: DEFAULT_COR_SAMPLE_INTERVAL,
            led_polarity: Polarity::ActiveHigh,
        }
    }

    /// Sets the host-silence timeout (clamped to 500 ms by the watchdog).
    pub const fn with_host_timeout(mut self, timeout: Duration) -> Self {
        self.host_timeout = timeout;
        self
    }

    /// Sets whether PTT is refused on a port whose COR is active.
    pub const fn with_refuse_while_cor(mut self, refuse: bool) -> Self {
        self.refuse_while_cor = refuse;
        self
    }

    /// Sets how often COR lines are sampled (at least [`MIN_COR_SAMPLE_INTERVAL`]).
    pub const fn with_cor_sample_interval(mut self, interval: Duration) -> Self {
        self.cor_sample_interval = if interval.as_micros() < MIN_COR_SAMPLE_INTERVAL.as_micros() {
            MIN_COR_SAMPLE_INTERVAL
        } else {
            interval
        };
        self
    }

    /// Sets the fault LED's polarity.
    pub const fn with_led_polarity(mut self, polarity: Polarity) -> Self {
        self.led_polarity = polarity;
        self
    }
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig::new()
    }
}

/// The safety core for `N` radio ports.
#[derive(Debug)]
pub struct Safety<O, I, L, const N: usize> {
    ptt: [PttOutput<O>; N],
    cor: [CorInput<I>; N],
    led: L,
    config: SafetyConfig,
    watchdog: Watchdog,
    next_cor_sample: Instant,
    /// The level the LED was last driven to successfully; `None` until then.
    led_lit: Option<bool>,
    led_failing: bool,
    cor_failing: [bool; N],
    events: Deque<Event, EVENT_CAPACITY>,
    events_dropped: u32,
}

impl<O, I, L, const N: usize> Safety<O, I, L, N>
where
    O: OutputPin,
    I: InputPin,
    L: OutputPin,
{
    /// Builds the core from lines that are already safe (a [`PttOutput`] is released when
    /// built) and lights the fault LED until the host is heard.
    pub fn new(
        ptt: [PttOutput<O>; N],
        cor: [CorInput<I>; N],
        led: L,
        config: SafetyConfig,
        now: Instant,
    ) -> Self {
        let mut safety = Safety {
            ptt,
            cor,
            led,
            config,
            watchdog: Watchdog::new(config.host_timeout),
            next_cor_sample: now,
            led_lit: None,
            led_failing: false,
            cor_failing: [false; N],
            events: Deque::new(),
            events_dropped: 0,
        };
        safety.update_led(now);
        safety
    }

    /// Records a valid frame from the host at `now`.
    ///
    /// A silence that has already lasted past the timeout is acted on first: a late frame
    /// does not undo the PTT drop it should have caused.
    pub fn host_heard(&mut self, now: Instant) {
        self.expire(now);
        if self.watchdog.feed(now) {
            self.push(Event::HostRestored);
        }
        self.update_led(now);
    }

    /// The board could not listen until `now` (a flash erase stopped its core): the host's
    /// silence until then is not counted, so no host-silence fault is reported for it. Only
    /// while no port is keyed: a keyed port's silence is acted on as always (the board keys
    /// nothing during an update anyway).
    pub fn resume_listening(&mut self, now: Instant) {
        if self.ptt.iter().any(PttOutput::is_keyed) {
            return;
        }
        self.watchdog.restart_if_alive(now);
    }

    /// Keys (`on`) or releases a port at the host's request.
    ///
    /// Releasing always proceeds. Keying is refused while the host is not alive, while the
    /// port is locked out after its TX cap, and (if so configured) while the port's COR is
    /// active. Asking to key a port that is already keyed succeeds and does not extend its cap.
    pub fn request_ptt(
        &mut self,
        port: usize,
        on: bool,
        now: Instant,
    ) -> Result<(), Error<O::Error>> {
        if port >= N {
            return Err(Error::NoSuchPort);
        }
        self.expire(now);
        if !on {
            return self.ptt[port].release(now).map_err(Error::from);
        }
        if !self.watchdog.is_alive(now) {
            return Err(Error::HostSilent);
        }
        if self.ptt[port].is_keyed() {
            return Ok(());
        }
        if self.config.refuse_while_cor && self.cor[port].is_active() {
            return Err(Error::ChannelBusy);
        }
        self.ptt[port].key(now).map_err(Error::from)
    }

    /// Drops every PTT for a safety reason (shutdown, panic handler); returns the first pin
    /// error, after trying every port.
    pub fn drop_all_ptt(&mut self, now: Instant) -> Result<(), Error<O::Error>> {
        let mut first = None;
        for port in 0..N {
            let was_pending = self.ptt[port].is_release_pending();
            if let Err(e) = self.ptt[port].force_release(now) {
                if !was_pending {
                    self.push(Event::PttPinFault { port });
                }
                first.get_or_insert(Error::from(e));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Acts on every deadline that has passed and samples the COR lines if due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
        if now >= self.next_cor_sample {
            self.next_cor_sample = now + self.config.cor_sample_interval;
            for port in 0..N {
                match self.cor[port].sample(now) {
                    Ok(change) => {
                        self.cor_failing[port] = false;
                        if let Some(c) = change {
                            self.push(Event::CorChanged {
                                port,
                                active: c.active,
                                since: c.since,
                            });
                        }
                    }
                    Err(_) => {
                        if !core::mem::replace(&mut self.cor_failing[port], true) {
                            self.push(Event::CorPinFault { port });
                        }
                    }
                }
            }
        }
        self.update_led(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.ptt
            .iter()
            .filter_map(PttOutput::poll_timeout)
            .chain(self.watchdog.poll_timeout())
            .fold(self.next_cor_sample, Instant::min)
    }

    /// The oldest event not yet reported.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// How many events were dropped because the queue was full.
    pub fn events_dropped(&self) -> u32 {
        self.events_dropped
    }

    /// A port's PTT line, for inspection.
    pub fn ptt(&self, port: usize) -> Option<&PttOutput<O>> {
        self.ptt.get(port)
    }

    /// A port's COR line, for inspection.
    pub fn cor(&self, port: usize) -> Option<&CorInput<I>> {
        self.cor.get(port)
    }

    /// The host-silence watchdog, for inspection.
    pub fn watchdog(&self) -> &Watchdog {
        &self.watchdog
    }

    /// Handles TX caps, release retries and the watchdog, in that order, so a cap that fell
    /// due before a host silence is still reported.
    fn expire(&mut self, now: Instant) {
        for port in 0..N {
            let cap_due = self.ptt[port].cap_deadline().is_some_and(|d| now >= d);
            let was_pending = self.ptt[port].is_release_pending();
            let result = self.ptt[port].handle_timeout(now);
            if cap_due {
                self.push(Event::TxCapReached { port });
            }
            if result.is_err() && !was_pending {
                self.push(Event::PttPinFault { port });
            }
        }
        if self.watchdog.handle_timeout(now) {
            self.push(Event::HostSilence);
            // Failures are queued as events by drop_all_ptt and retried by handle_timeout.
            let _ = self.drop_all_ptt(now);
            self.update_led(now);
        }
    }

    /// Drives the fault LED to "lit unless the host is alive", writing only on a change or
    /// to retry a failed write.
    fn update_led(&mut self, now: Instant) {
        let lit = !self.watchdog.is_alive(now);
        if self.led_lit == Some(lit) {
            return;
        }
        match self.config.led_polarity.drive(&mut self.led, lit) {
            Ok(()) => {
                self.led_lit = Some(lit);
                self.led_failing = false;
            }
            Err(_) => {
                self.led_lit = None;
                if !core::mem::replace(&mut self.led_failing, true) {
                    self.push(Event::LedPinFault);
                }
            }
        }
    }

    fn push(&mut self, event: Event) {
        if self.events.push_back(event).is_err() {
            self.events_dropped = self.events_dropped.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cor::CorConfig;
    use crate::ptt::PttConfig;
    use embedded_hal::digital::PinState;
    use embedded_hal_mock::eh1::{
        MockError,
        digital::{Mock, State, Transaction as T},
    };
    use std::{io::ErrorKind, vec::Vec};

    use State::{High as H, Low as L};

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    fn io_err() -> MockError {
        MockError::Io(ErrorKind::Other)
    }

    /// Mock pins for a board, kept so the scripts can be checked at the end.
    struct Pins<const N: usize> {
        ptt: [Mock; N],
        cor: [Mock; N],
        led: Mock,
    }

    impl<const N: usize> Pins<N> {
        fn done(mut self) {
            self.ptt.iter_mut().for_each(Mock::done);
            self.cor.iter_mut().for_each(Mock::done);
            self.led.done();
        }
    }

    /// A board whose PTT pins expect `ptt` (after the construction release, which is
    /// prepended), whose COR pins expect reads of `cor`, and whose LED expects `led`
    /// (active-high).
    fn board<const N: usize>(
        ptt_config: PttConfig,
        config: SafetyConfig,
        ptt: [&[T]; N],
        cor: [&[State]; N],
        led: &[State],
    ) -> (Safety<Mock, Mock, Mock, N>, Pins<N>) {
        let released = match ptt_config.polarity().level(false) {
            PinState::High => H,
            PinState::Low => L,
        };
        let ptt_pins = ptt.map(|script| {
            let mut full = std::vec![T::set(released)];
            full.extend_from_slice(script);
            Mock::new(&full)
        });
        let cor_pins = cor.map(|levels| {
            let script: Vec<T> = levels.iter().map(|&l| T::get(l)).collect();
            Mock::new(&script)
        });
        let led_script: Vec<T> = led.iter().map(|&l| T::set(l)).collect();
        let led_pin = Mock::new(&led_script);
        let pins = Pins {
            ptt: ptt_pins.clone(),
            cor: cor_pins.clone(),
            led: led_pin.clone(),
        };
        let ptt_lines = ptt_pins.map(|p| PttOutput::new(p, ptt_config).unwrap());
        let cor_lines = cor_pins.map(|p| CorInput::new(p, CorConfig::new(Polarity::ActiveHigh)));
        let safety = Safety::new(ptt_lines, cor_lines, led_pin, config, ms(0));
        (safety, pins)
    }

    fn drain<O: OutputPin, I: InputPin, Le: OutputPin, const N: usize>(
        s: &mut Safety<O, I, Le, N>,
    ) -> Vec<Event> {
        core::iter::from_fn(|| s.poll_event()).collect()
    }

    /// A config whose COR sampling never falls due within a test's few seconds after the
    /// first sample, so scripts only list the reads a test is about.
    fn quiet_cor() -> SafetyConfig {
        SafetyConfig::new().with_cor_sample_interval(Duration::from_secs(3_600))
    }

    #[test]
    fn boot_lights_the_fault_led_and_refuses_ptt_until_the_host_is_heard() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveLow),
            quiet_cor(),
            [&[T::set(L)]],
            [&[]],
            &[H, L],
        );
        assert_eq!(s.request_ptt(0, true, ms(10)), Err(Error::HostSilent));
        assert!(drain(&mut s).is_empty());
        s.host_heard(ms(20));
        assert_eq!(drain(&mut s), [Event::HostRestored]);
        s.request_ptt(0, true, ms(20)).unwrap();
        assert!(s.ptt(0).unwrap().is_keyed());
        pins.done();
    }

    #[test]
    fn host_silence_drops_ptt_between_499_and_501_ms() {
        // Active-low PTT: keyed is low, released is high.
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveLow),
            quiet_cor(),
            [&[T::set(L), T::set(H), T::set(L)]],
            [&[L]],
            &[H, L, H, L],
        );
        s.host_heard(ms(0));
        s.request_ptt(0, true, ms(0)).unwrap();
        assert_eq!(s.poll_timeout(), ms(0)); // first COR sample is due
        s.handle_timeout(ms(0));
        assert_eq!(s.poll_timeout(), ms(500));

        s.handle_timeout(ms(499));
        assert!(s.ptt(0).unwrap().is_keyed());
        assert_eq!(drain(&mut s), [Event::HostRestored]);

        s.handle_timeout(ms(501));
        assert!(!s.ptt(0).unwrap().is_keyed());
        assert_eq!(drain(&mut s), [Event::HostSilence]);
        assert_eq!(s.watchdog().tripped_at(), Some(ms(501)));

        // Refused until the host is heard again, then allowed.
        assert_eq!(s.request_ptt(0, true, ms(600)), Err(Error::HostSilent));
        s.host_heard(ms(700));
        s.request_ptt(0, true, ms(700)).unwrap();
        assert_eq!(drain(&mut s), [Event::HostRestored]);
        pins.done();
    }

    #[test]
    fn late_frame_does_not_hide_a_silence() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            quiet_cor(),
            [&[T::set(H), T::set(L)]],
            [&[]],
            &[H, L, H, L],
        );
        s.host_heard(ms(0));
        s.request_ptt(0, true, ms(0)).unwrap();
        // The main loop stalled: the next thing it sees is a frame 600 ms later.
        s.host_heard(ms(600));
        assert!(!s.ptt(0).unwrap().is_keyed());
        assert_eq!(
            drain(&mut s),
            [Event::HostRestored, Event::HostSilence, Event::HostRestored]
        );
        pins.done();
    }

    #[test]
    fn request_checks_the_watchdog_even_before_handle_timeout() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            quiet_cor(),
            // The silence drops every PTT, keyed or not.
            [&[T::set(L)]],
            [&[]],
            &[H, L, H],
        );
        s.host_heard(ms(0));
        assert_eq!(s.request_ptt(0, true, ms(500)), Err(Error::HostSilent));
        assert_eq!(drain(&mut s), [Event::HostRestored, Event::HostSilence]);
        pins.done();
    }

    #[test]
    fn tx_cap_is_reported_and_locks_the_port_out() {
        let ptt_config = PttConfig::new(Polarity::ActiveHigh)
            .with_tx_cap(Duration::from_secs(1))
            .with_cooldown(Duration::from_millis(500));
        let (mut s, pins) = board(
            ptt_config,
            quiet_cor(),
            [&[T::set(H), T::set(L), T::set(L), T::set(H)]],
            [&[L]],
            &[H, L],
        );
        s.host_heard(ms(0));
        s.request_ptt(0, true, ms(0)).unwrap();
        s.host_heard(ms(400));
        s.host_heard(ms(800));
        assert_eq!(s.poll_timeout(), ms(0));
        s.handle_timeout(ms(999));
        assert!(s.ptt(0).unwrap().is_keyed());
        assert_eq!(s.poll_timeout(), ms(1_000));
        s.handle_timeout(ms(1_000));
        assert!(!s.ptt(0).unwrap().is_keyed());
        assert_eq!(
            drain(&mut s),
            [Event::HostRestored, Event::TxCapReached { port: 0 }]
        );

        s.host_heard(ms(1_100));
        assert_eq!(s.request_ptt(0, true, ms(1_100)), Err(Error::LockedOut));
        s.request_ptt(0, false, ms(1_200)).unwrap();
        s.host_heard(ms(1_499));
        assert_eq!(s.request_ptt(0, true, ms(1_499)), Err(Error::LockedOut));
        s.request_ptt(0, true, ms(1_500)).unwrap();
        pins.done();
    }

    #[test]
    fn repeated_requests_do_not_extend_the_cap() {
        let ptt_config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(1));
        let (mut s, pins) = board(
            ptt_config,
            quiet_cor(),
            [&[T::set(H), T::set(L)]],
            [&[]],
            &[H, L],
        );
        for t in (0..1_000).step_by(100) {
            s.host_heard(ms(t));
            s.request_ptt(0, true, ms(t)).unwrap();
        }
        s.host_heard(ms(1_000));
        assert!(!s.ptt(0).unwrap().is_keyed());
        assert_eq!(s.request_ptt(0, true, ms(1_000)), Err(Error::LockedOut));
        assert_eq!(
            drain(&mut s),
            [Event::HostRestored, Event::TxCapReached { port: 0 }]
        );
        pins.done();
    }

    #[test]
    fn active_cor_refuses_ptt_when_configured() {
        let busy_cor = [H; 2];
        let config = SafetyConfig::new()
            .with_cor_sample_interval(Duration::from_millis(20))
            .with_host_timeout(Duration::from_millis(500));
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            config,
            [&[], &[T::set(H)]],
            [&busy_cor, &[L, L]],
            &[H, L],
        );
        s.host_heard(ms(0));
        s.handle_timeout(ms(0));
        s.handle_timeout(ms(20));
        assert!(s.cor(0).unwrap().is_active());
        assert_eq!(s.request_ptt(0, true, ms(20)), Err(Error::ChannelBusy));
        // The other port is free.
        s.request_ptt(1, true, ms(20)).unwrap();
        assert_eq!(
            drain(&mut s),
            [
                Event::HostRestored,
                Event::CorChanged {
                    port: 0,
                    active: true,
                    since: ms(0)
                }
            ]
        );
        pins.done();
    }

    #[test]
    fn active_cor_is_ignored_when_not_configured() {
        let config = SafetyConfig::new()
            .with_refuse_while_cor(false)
            .with_cor_sample_interval(Duration::from_millis(20));
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            config,
            [&[T::set(H)]],
            [&[H, H]],
            &[H, L],
        );
        s.host_heard(ms(0));
        s.handle_timeout(ms(0));
        s.handle_timeout(ms(20));
        assert!(s.cor(0).unwrap().is_active());
        s.request_ptt(0, true, ms(20)).unwrap();
        pins.done();
    }

    #[test]
    fn unknown_port_is_refused() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            quiet_cor(),
            [&[]],
            [&[]],
            &[H, L],
        );
        s.host_heard(ms(0));
        assert_eq!(s.request_ptt(1, true, ms(0)), Err(Error::NoSuchPort));
        assert_eq!(s.request_ptt(1, false, ms(0)), Err(Error::NoSuchPort));
        assert!(s.ptt(1).is_none());
        pins.done();
    }

    #[test]
    fn drop_all_ptt_releases_every_port() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveLow),
            quiet_cor(),
            [&[T::set(L), T::set(H)], &[T::set(L), T::set(H)]],
            [&[], &[]],
            &[H, L],
        );
        s.host_heard(ms(0));
        s.request_ptt(0, true, ms(0)).unwrap();
        s.request_ptt(1, true, ms(0)).unwrap();
        s.drop_all_ptt(ms(10)).unwrap();
        assert!(!s.ptt(0).unwrap().is_keyed());
        assert!(!s.ptt(1).unwrap().is_keyed());
        pins.done();
    }

    #[test]
    fn failed_release_on_silence_is_reported_once_and_retried() {
        let (mut s, pins) = board(
            PttConfig::new(Polarity::ActiveHigh),
            quiet_cor(),
            [&[
                T::set(H),
                T::set(L).with_error(io_err()),
                T::set(L).with_error(io_err()),
                T::set(L),
            ]],
            [&[L]],
            &[H, L, H],
        );
        s.host_heard(ms(0));
        s.request_ptt(0, true, ms(0)).unwrap();
        s.host_heard(ms(100));
        // Silence trips at 600; the release fails.
        assert_eq!(s.request_ptt(0, true, ms(600)), Err(Error::HostSilent));
        assert!(s.ptt(0).unwrap().is_release_pending());
        assert_eq!(s.poll_timeout(), ms(0)); // the first COR sample was never taken
        // Retries fail once more, then succeed; the fault is reported only once.
        s.handle_timeout(ms(610));
        assert!(s.ptt(0).unwrap().is_release_pending());
        assert_eq!(s.poll_timeout(), ms(620));
        s.handle_timeout(ms(620));
        assert!(!s.ptt(0).unwrap().is_release_pending());
        assert_eq!(
            drain(&mut s),
            [
                Event::HostRestored,
                Event::HostSilence,
                Event::PttPinFault { port: 0 }
            ]
        );
        pins.done();
    }

    #[test]
    fn pin_faults_on_cor_and_led_are_reported_once() {
        let mut pins_cor = Mock::new(&[
            T::get(H).with_error(io_err()),
            T::get(H).with_error(io_err()),
            T::get(L),
        ]);
        let mut led = Mock::new(&[
            T::set(H).with_error(io_err()),
            T::set(H).with_error(io_err()),
            T::set(H),
        ]);
        let mut ptt_pin = Mock::new(&[T::set(L)]);
        let ptt = PttOutput::new(ptt_pin.clone(), PttConfig::new(Polarity::ActiveHigh)).unwrap();
        let cor = CorInput::new(pins_cor.clone(), CorConfig::new(Polarity::ActiveHigh));
        let config = SafetyConfig::new().with_cor_sample_interval(Duration::from_millis(5));
        let mut s = Safety::new([ptt], [cor], led.clone(), config, ms(0));
        s.handle_timeout(ms(0));
        s.handle_timeout(ms(5));
        assert_eq!(
            drain(&mut s),
            [Event::LedPinFault, Event::CorPinFault { port: 0 }]
        );
        s.handle_timeout(ms(10));
        assert!(drain(&mut s).is_empty());
        ptt_pin.done();
        pins_cor.done();
        led.done();
    }

    #[test]
    fn full_event_queue_counts_what_it_drops() {
        // A COR line toggling every sample with no debounce makes one event per sample.
        let levels: Vec<State> = (0..EVENT_CAPACITY + 8)
            .map(|i| if i % 2 == 0 { H } else { L })
            .collect();
        let mut cor_pin = Mock::new(&levels.iter().map(|&l| T::get(l)).collect::<Vec<_>>());
        let mut ptt_pin = Mock::new(&[T::set(L)]);
        let mut led = Mock::new(&[T::set(H)]);
        let ptt = PttOutput::new(ptt_pin.clone(), PttConfig::new(Polarity::ActiveHigh)).unwrap();
        let cor = CorInput::new(
            cor_pin.clone(),
            CorConfig::new(Polarity::ActiveHigh).with_debounce(Duration::ZERO),
        );
        let config = SafetyConfig::new().with_cor_sample_interval(Duration::from_millis(1));
        let mut s = Safety::new([ptt], [cor], led.clone(), config, ms(0));
        for t in 0..levels.len() as u64 {
            s.handle_timeout(ms(t));
        }
        assert_eq!(drain(&mut s).len(), EVENT_CAPACITY);
        assert_eq!(s.events_dropped(), 8);
        cor_pin.done();
        ptt_pin.done();
        led.done();
    }

    #[test]
    fn config_clamps_what_must_be_clamped() {
        let c = SafetyConfig::new()
            .with_cor_sample_interval(Duration::ZERO)
            .with_host_timeout(Duration::from_secs(5))
            .with_led_polarity(Polarity::ActiveLow);
        assert_eq!(c.cor_sample_interval, MIN_COR_SAMPLE_INTERVAL);
        let mut led = Mock::new(&[T::set(L)]);
        let s: Safety<Mock, Mock, Mock, 0> = Safety::new([], [], led.clone(), c, ms(0));
        assert_eq!(s.watchdog().timeout(), MAX_HOST_TIMEOUT);
        assert_eq!(SafetyConfig::default(), SafetyConfig::new());
        led.done();
    }
}
