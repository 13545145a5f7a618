//! The daemon's two clocks: a monotonic one mapped onto the state machines'
//! [`Instant`](borderlink_protocol::time::Instant), and the wall clock (NTP-synchronised on a
//! border-site box) that stamps key-up times, so every site ranks simultaneous key-ups alike.

use std::time::{SystemTime, UNIX_EPOCH};

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::KeyUpTime;

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
    pub(crate) fn key_up(&self) -> KeyUpTime {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        KeyUpTime(u64::try_from(ms).unwrap_or(u64::MAX))
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
