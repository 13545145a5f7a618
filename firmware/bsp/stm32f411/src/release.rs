//! Releasing every PTT line with nothing but the pin table: for the panic and hard-fault
//! handlers, which cannot reach the board logic that owns the pins.
//!
//! Each write goes to a GPIO port's bit set/reset register (BSRR), which changes only the pins
//! whose bits are set, atomically, so it cannot disturb the rest of the port.

use crate::pinout::{FAULT_LED_ON, PTT_RELEASE};

/// Drives every PTT line to its released level and lights the fault LED.
pub(crate) fn release_all_ptt() {
    for (bsrr, word) in PTT_RELEASE {
        write(bsrr, word);
    }
    write(FAULT_LED_ON.0, FAULT_LED_ON.1);
}

fn write(bsrr: usize, word: u32) {
    #[allow(unsafe_code)]
    // SAFETY: `bsrr` is the BSRR of GPIO port A, B or C, generated from hardware/pinout.toml:
    // a write-only device register, always mapped, that no Rust object lives in.
    unsafe {
        core::ptr::write_volatile(bsrr as *mut u32, word);
    }
}
