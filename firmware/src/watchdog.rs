//! The host-silence watchdog: the board's own judgement of whether the Linux host is alive.
//!
//! The host sends the board a frame at least every few hundred milliseconds (commands or
//! keep-alives); each valid frame feeds the watchdog. If the host crashes, hangs, or its serial
//! cable is pulled while a radio is keyed, nobody else will ever release that PTT, so once the
//! host has been silent for the timeout (at most [`MAX_HOST_TIMEOUT`], the figure the system
//! promises) the watchdog *trips*: its owner drops every PTT and shows a fault. It stays tripped,
//! refusing PTT, until the host is heard again.
//!
//! At boot the host has not been heard yet: the watchdog is not alive (PTT is refused) but has
//! not tripped either, since there was nothing to drop.

use borderlink_protocol::time::{Duration, Instant};

/// The longest host silence the board tolerates, whatever the configuration says.
pub const MAX_HOST_TIMEOUT: Duration = Duration::from_millis(500);

/// What the watchdog knows about the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not heard since boot.
    AwaitingHost,
    /// Heard; trips at `deadline` unless fed again.
    Alive { deadline: Instant },
    /// Silent for too long, since `at`.
    Tripped { at: Instant },
}

/// The host-silence watchdog.
#[derive(Debug, Clone)]
pub struct Watchdog {
    timeout: Duration,
    state: State,
}

impl Watchdog {
    /// A watchdog that trips after `timeout` of silence, clamped to at most
    /// [`MAX_HOST_TIMEOUT`].
    pub fn new(timeout: Duration) -> Self {
        Watchdog {
            timeout: timeout.min(MAX_HOST_TIMEOUT),
            state: State::AwaitingHost,
        }
    }

    /// The timeout in force (already clamped).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Records that a valid frame arrived from the host at `now`.
    ///
    /// Returns `true` if the host was not alive before (first contact or after a trip).
    /// Call [`handle_timeout`](Self::handle_timeout) first: a frame that arrives after the
    /// deadline must not hide the silence that came before it.
    pub fn feed(&mut self, now: Instant) -> bool {
        let was_alive = matches!(self.state, State::Alive { .. });
        self.state = State::Alive {
            deadline: now + self.timeout,
        };
        !was_alive
    }

    /// Restarts the countdown from `now` if the host is alive (heard, not tripped), even if
    /// the deadline has passed meanwhile: for time the board itself could not listen, which is
    /// not the host's silence. Does nothing before first contact or after a trip.
    pub fn restart_if_alive(&mut self, now: Instant) {
        if let State::Alive { deadline } = &mut self.state {
            *deadline = now + self.timeout;
        }
    }

    /// Trips the watchdog if the deadline has passed; returns `true` if it tripped in this call.
    ///
    /// A silence of exactly the timeout trips it, so PTT is down *within* the timeout.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.state {
            State::Alive { deadline } if now >= deadline => {
                self.state = State::Tripped { at: now };
                true
            }
            _ => false,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Alive { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// Whether the host counts as alive at `now`: heard, and not silent for the timeout.
    pub fn is_alive(&self, now: Instant) -> bool {
        matches!(self.state, State::Alive { deadline } if now < deadline)
    }

    /// Since when the watchdog has been tripped, if it is.
    pub fn tripped_at(&self) -> Option<Instant> {
        match self.state {
            State::Tripped { at } => Some(at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    #[test]
    fn not_alive_before_first_contact_but_not_tripped() {
        let mut wd = Watchdog::new(MAX_HOST_TIMEOUT);
        assert!(!wd.is_alive(ms(0)));
        assert!(!wd.handle_timeout(ms(10_000)));
        assert_eq!(wd.tripped_at(), None);
        assert_eq!(wd.poll_timeout(), None);
        assert!(wd.feed(ms(10_000)));
        assert!(wd.is_alive(ms(10_000)));
    }

    #[test]
    fn timeout_is_clamped_to_500_ms() {
        assert_eq!(
            Watchdog::new(Duration::from_secs(2)).timeout(),
            MAX_HOST_TIMEOUT
        );
        assert_eq!(
            Watchdog::new(Duration::from_millis(200)).timeout(),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn trips_at_exactly_the_timeout() {
        let mut wd = Watchdog::new(MAX_HOST_TIMEOUT);
        wd.feed(ms(1_000));
        assert_eq!(wd.poll_timeout(), Some(ms(1_500)));
        assert!(!wd.handle_timeout(ms(1_499)));
        assert!(wd.is_alive(ms(1_499)));
        assert!(!wd.is_alive(ms(1_500)));
        assert!(wd.handle_timeout(ms(1_500)));
        assert_eq!(wd.tripped_at(), Some(ms(1_500)));
        // Tripping is reported once.
        assert!(!wd.handle_timeout(ms(1_600)));
    }

    #[test]
    fn feeding_pushes_the_deadline_and_recovers() {
        let mut wd = Watchdog::new(MAX_HOST_TIMEOUT);
        assert!(wd.feed(ms(0)));
        assert!(!wd.feed(ms(400)));
        assert!(!wd.handle_timeout(ms(800)));
        assert!(wd.handle_timeout(ms(900)));
        assert!(wd.feed(ms(2_000)));
        assert_eq!(wd.tripped_at(), None);
        assert!(wd.is_alive(ms(2_000)));
    }

    /// Issue 20: made to set `Alive` unconditionally, `restart_if_alive` reported a host that was
    /// never heard, or whose watchdog had tripped, as alive. It must leave both as they are.
    #[test]
    fn a_restart_revives_neither_a_host_never_heard_nor_a_tripped_one() {
        let mut never = Watchdog::new(MAX_HOST_TIMEOUT);
        never.restart_if_alive(ms(100));
        assert!(!never.is_alive(ms(100)));
        assert_eq!(never.poll_timeout(), None);

        let mut tripped = Watchdog::new(MAX_HOST_TIMEOUT);
        tripped.feed(ms(0));
        assert!(tripped.handle_timeout(ms(500)));
        tripped.restart_if_alive(ms(600));
        assert!(!tripped.is_alive(ms(600)));
        assert_eq!(tripped.tripped_at(), Some(ms(500)));
        assert_eq!(tripped.poll_timeout(), None);

        // An alive host's countdown restarts from now, past its old deadline.
        let mut alive = Watchdog::new(MAX_HOST_TIMEOUT);
        alive.feed(ms(0));
        alive.restart_if_alive(ms(450));
        assert!(alive.is_alive(ms(900)));
        assert_eq!(alive.poll_timeout(), Some(ms(950)));
    }
}
