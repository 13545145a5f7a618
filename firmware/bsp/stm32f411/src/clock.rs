//! The monotonic clock: TIM2, a 32-bit timer, counting microseconds.
//!
//! The counter runs freely (its period is 2^32 - 1 µs, about 71 minutes) and [`Clock::now`]
//! extends it to 64 bits, so it must be called at least once per period, which the main loop
//! does thousands of times a second. A hardware counter rather than a tick interrupt keeps
//! counting through anything that stalls the core, such as a flash erase.

use borderlink_protocol::time::Instant;
use stm32f4xx_hal::pac::TIM2;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::timer::CounterUs;

/// The counter's period in microseconds: the HAL loads `period - 1` into the 32-bit reload
/// register, so the longest is `u32::MAX` ticks.
const PERIOD: u64 = u32::MAX as u64;

/// Time since [`Clock::start`].
pub(crate) struct Clock {
    counter: CounterUs<TIM2>,
    wraps: u64,
    last: u32,
}

impl Clock {
    /// Starts the counter from zero.
    pub(crate) fn start(mut counter: CounterUs<TIM2>) -> Self {
        // The reload register takes any 32-bit value: this cannot fail.
        let _ = counter.start(u32::MAX.micros());
        Clock {
            counter,
            wraps: 0,
            last: 0,
        }
    }

    /// The time now.
    pub(crate) fn now(&mut self) -> Instant {
        let ticks = self.counter.now().ticks();
        if ticks < self.last {
            self.wraps += 1;
        }
        self.last = ticks;
        Instant::from_micros(self.wraps * PERIOD + u64::from(ticks))
    }
}
