//! The hardware watchdog (CMSDK APB watchdog): started by the bootloader, so a trial image
//! that hangs before it confirms is reset and rolled back, and fed by the image's main loop.
//!
//! It counts [`PERIOD_MS`] / 2 down, raises NMI (the image's NMI handler releases every PTT
//! line), counts the same again and resets the system: a hang is reset within [`PERIOD_MS`],
//! as on the production board.

use crate::mmio::watchdog::{CONTROL, INTCLR, LOAD, LOCK};

/// How long after the last feed a hung program is reset: half the host-silence limit.
pub const PERIOD_MS: u32 = 250;

/// The watchdog's clock, the AN386 system clock.
const CLOCK_HZ: u32 = 25_000_000;

const UNLOCK: u32 = 0x1ACC_E551;
const INTEN: u32 = 1 << 0;
const RESEN: u32 = 1 << 1;

/// The period while the update flash erases a sector, as on the production board: longer
/// than the slowest erase, which stops the program.
pub const ERASE_PERIOD_MS: u32 = 8_000;

/// Starts the watchdog (or restarts it with a full period).
pub fn start() {
    start_with(PERIOD_MS);
}

/// Starts the watchdog, or restarts it, with a period of `period_ms` (at most 340 s).
pub fn start_with(period_ms: u32) {
    LOCK.write(UNLOCK);
    LOAD.write(CLOCK_HZ / 1000 / 2 * period_ms);
    CONTROL.write(INTEN | RESEN);
    LOCK.write(0);
}

/// Restarts the countdown.
pub fn feed() {
    LOCK.write(UNLOCK);
    INTCLR.write(1);
    LOCK.write(0);
}
