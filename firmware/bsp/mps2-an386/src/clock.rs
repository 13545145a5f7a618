//! The monotonic clock: timer 1 of the CMSDK dual timer, free-running.
//!
//! The timer counts the 25 MHz system clock divided by 16 down through 32 bits, so it wraps
//! every 45 minutes; [`Clock::now`] extends it to 64 bits and must be called at least once per
//! wrap, which the main loop does thousands of times a second. No interrupt is involved.
//!
//! QEMU runs its timers on its virtual clock, which follows the host's clock as long as
//! `-icount` is not given: a board second is a host second, which `cargo xtask qemu` checks.

use borderlink_protocol::time::Instant;

use borderlink_bsp_mps2::mmio::timer1;

/// One tick is 16 / 25 MHz = 16/25 µs: the prescaler over the AN386's 25 MHz system clock.
const US_PER_TICK: (u64, u64) = (16, 25);

const ENABLE: u32 = 1 << 7;
const PRESCALE_16: u32 = 0b01 << 2;
const SIZE_32: u32 = 1 << 1;

/// Time since [`Clock::start`].
#[derive(Debug)]
pub(crate) struct Clock {
    /// Ticks counted before the last reading, in whole wraps.
    wraps: u64,
    /// The last reading, in ticks since start (modulo 2^32).
    last: u32,
}

impl Clock {
    /// Starts the timer from zero.
    pub(crate) fn start() -> Self {
        timer1::CONTROL.write(0);
        timer1::LOAD.write(u32::MAX);
        timer1::CONTROL.write(ENABLE | PRESCALE_16 | SIZE_32);
        Clock { wraps: 0, last: 0 }
    }

    /// The time now.
    pub(crate) fn now(&mut self) -> Instant {
        let ticks = u32::MAX - timer1::VALUE.read();
        if ticks < self.last {
            self.wraps += 1;
        }
        self.last = ticks;
        let total = (self.wraps << 32) | u64::from(ticks);
        // No overflow for 2^60 ticks (23 000 years).
        Instant::from_micros(total * US_PER_TICK.0 / US_PER_TICK.1)
    }
}
