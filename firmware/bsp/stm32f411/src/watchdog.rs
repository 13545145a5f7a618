//! The independent watchdog (IWDG), on its own ~32 kHz RC oscillator (LSI).
//!
//! Once started it cannot be stopped, only fed and given another period. The bootloader starts
//! it with [`RUN_PERIOD_MS`], so an image that hangs — a trial image included — is reset;
//! the image's main loop feeds it; the flash driver stretches it to [`ERASE_PERIOD_MS`] for the
//! length of a sector erase, during which the core stalls, and restores it afterwards.
//!
//! Not the HAL's `IndependentWatchdog`: a new period takes effect only once the watchdog's own
//! clock domain has taken it (the PVU and RVU flags clear), and a feed before that reloads the
//! counter with the *old* period — 250 ms, when an erase is about to stall the core for
//! seconds. [`Watchdog::set_period`] waits for both flags, then feeds.

use stm32f4xx_hal::pac::IWDG;

/// The running period: half the host-silence limit, so a hang drops PTT (by resetting the
/// MCU, whose pins then float to released) no later than a silent host would.
pub const RUN_PERIOD_MS: u32 = 250;

/// The period around a sector erase. A 128 KiB sector takes up to 2 s at x32 parallelism and
/// longer at the x8 the HAL erases with; 8 s at the LSI's nominal 32 kHz is still 5.4 s if it
/// runs at its fastest (47 kHz). The core cannot feed meanwhile: it stalls until the erase ends.
pub const ERASE_PERIOD_MS: u32 = 8_000;

/// The LSI's nominal frequency in kHz.
const LSI_KHZ: u32 = 32;

/// The independent watchdog, running.
#[derive(Debug)]
pub struct Watchdog {
    iwdg: IWDG,
}

impl Watchdog {
    /// Starts the watchdog with `period_ms` (or, if it already runs, sets that period).
    pub fn start(iwdg: IWDG, period_ms: u32) -> Self {
        let mut watchdog = Watchdog { iwdg };
        watchdog.iwdg.kr().write(|w| w.key().start());
        watchdog.set_period(period_ms);
        watchdog
    }

    /// Restarts the countdown.
    pub fn feed(&mut self) {
        self.iwdg.kr().write(|w| w.key().feed());
    }

    /// Sets a new period and returns once it is in effect, the countdown restarted from it.
    pub fn set_period(&mut self, period_ms: u32) {
        let (prescaler, reload) = prescaler_and_reload(period_ms);
        // Wait for a previous change to finish: the registers refuse writes meanwhile.
        self.wait_for_update();
        self.iwdg.kr().write(|w| w.key().unlock());
        self.iwdg.pr().write(|w| w.pr().set(prescaler));
        self.iwdg.rlr().write(|w| w.rl().set(reload));
        self.wait_for_update();
        self.feed();
    }

    fn wait_for_update(&self) {
        // A few LSI cycles; if the LSI had stopped, the watchdog could not fire either, and
        // this wait would be the hang it exists for (the brown-out reset still works).
        loop {
            let sr = self.iwdg.sr().read();
            if sr.pvu().bit_is_clear() && sr.rvu().bit_is_clear() {
                break;
            }
        }
    }
}

/// The prescaler code (divide by 4 << code) and the 12-bit reload value for `period_ms` at the
/// nominal LSI frequency: the smallest prescaler whose reload fits, for the finest period.
const fn prescaler_and_reload(period_ms: u32) -> (u8, u16) {
    let ticks = period_ms * LSI_KHZ;
    let mut code = 0;
    while code < 6 && ticks / (4 << code) > 0x1000 {
        code += 1;
    }
    let reload = ticks / (4 << code);
    let reload = if reload == 0 {
        0
    } else if reload > 0x1000 {
        0xFFF
    } else {
        reload - 1
    };
    (code, reload as u16)
}

const _: () = {
    // 250 ms: divide by 4, 2000 ticks; 8 s: divide by 64, 4000 ticks.
    assert!(matches!(prescaler_and_reload(RUN_PERIOD_MS), (0, 1999)));
    assert!(matches!(prescaler_and_reload(ERASE_PERIOD_MS), (4, 3999)));
};
