//! # borderlink-boot-stm32f411
//!
//! The production board's bootloader, in flash sector 0: starts the independent watchdog
//! (250 ms), then lets [`borderlink_boot::start`] read the boot-state record from sectors 1
//! and 2, record a trial or a rollback (erasing a boot-state half when its log is full, with
//! the watchdog stretched meanwhile), and jump to the chosen slot (sector 5 or 6).
//!
//! It touches no GPIO: from reset until the image's pin set-up every pin is a floating input,
//! which the board's pull-downs hold at released, so no radio can be keyed while it runs or if
//! it hangs (the watchdog then resets the MCU). It runs on the 16 MHz internal oscillator the
//! MCU resets to; the image sets up the clocks itself.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use borderlink_boot::AddressMap;
use borderlink_bsp_stm32f411::flash;
use borderlink_bsp_stm32f411::memory::{RAM_LEN, RAM_START, STACK_START};
use borderlink_bsp_stm32f411::watchdog::{RUN_PERIOD_MS, Watchdog};
use cortex_m_rt::entry;
use stm32f4xx_hal::pac;

#[entry]
fn main() -> ! {
    let Some(dp) = pac::Peripherals::take() else {
        unreachable!("main runs once")
    };
    let watchdog = Watchdog::start(dp.IWDG, RUN_PERIOD_MS);
    let mut flash = flash::take(dp.FLASH, watchdog);
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
