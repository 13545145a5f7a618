//! The IO shell's two clocks, the one place the daemon's tasks read time: a monotonic one
//! mapped onto the state machines' [`Instant`](borderlink_protocol::time::Instant), and the
//! wall clock (NTP-synchronised on a border-site box) that stamps key-up times, so every site
//! ranks simultaneous key-ups alike, and drives roaming's schedules. The state machines
//! themselves (the site core, the peer links) read neither: they are handed the time.

use std::time::{SystemTime, UNIX_EPOCH};

use borderlink_protocol::time::{Duration, Instant};

/// Monotonic time since the daemon started, and the wall clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    /// Now, for the state machines.
    pub(crate) fn now(&self) -> Instant {
        Instant::ZERO + Duration::from(self.start.elapsed())
    }

    /// The tokio instant of a state-machine instant.
    pub(crate) fn tokio_instant(&self, at: Instant) -> tokio::time::Instant {
        self.start + std::time::Duration::from_micros(at.as_micros())
    }

    /// The wall clock in milliseconds since 1970, as voice headers carry key-up times.
    pub(crate) fn wall_ms() -> u64 {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// The time of an input to the site core: now, and the wall clock.
    pub(crate) fn time(&self) -> crate::site::Time {
        crate::site::Time {
            now: self.now(),
            wall: jiff::Timestamp::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn state_machine_time_follows_tokio_time() {
        let clock = Clock::new();
        assert_eq!(clock.now(), Instant::ZERO);
        tokio::time::advance(std::time::Duration::from_millis(1_500)).await;
        assert_eq!(clock.now(), Instant::from_millis(1_500));
        let at = Instant::from_millis(2_000);
        assert_eq!(
            clock.tokio_instant(at) - clock.start,
            std::time::Duration::from_secs(2)
        );
    }
}
