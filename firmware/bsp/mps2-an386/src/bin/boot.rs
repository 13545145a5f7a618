//! # borderlink-boot-mps2
//!
//! The emulated board's bootloader, at the start of flash (sector 0): starts the watchdog,
//! then lets [`borderlink_boot::start`] read the boot-state record over the update flash,
//! record a trial or a rollback, and jump to the chosen slot. It touches no radio line (QEMU's
//! reset leaves them all released).
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use borderlink_boot::AddressMap;
use borderlink_bsp_mps2::memory::{RAM_LEN, RAM_START, STACK_START};
use borderlink_bsp_mps2::{flash, watchdog};
use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    watchdog::start();
    let mut flash = flash::take();
    let map = AddressMap {
        flash_base: flash::BASE,
        ram: STACK_START..RAM_START + RAM_LEN,
    };
    borderlink_boot::start(&mut flash, &flash::LAYOUT, &map)
}

/// Waits for the watchdog's reset.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
