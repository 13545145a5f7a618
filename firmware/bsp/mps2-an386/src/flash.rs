//! The update flash: slot A, slot B and the boot-state record in the AN386's ZBT SSRAM1,
//! with the STM32F411's sector shape (see `build.rs`), behind the production board's
//! [`SectoredFlash`] (16 KiB logical erase unit).
//!
//! It is RAM under QEMU, so [`RamSectors`] makes it behave like NOR flash: erasing a sector
//! sets every byte to 0xFF and programming can only clear bits (a byte becomes old AND new),
//! so a program over bytes that were not erased shows up as corruption, as it would on
//! silicon. And erasing takes as long as on the F411, during which the program stops (see
//! [`erase_time_ms`]): the host link goes silent for seconds, as it does on the production
//! board, whose core cannot fetch code from the flash bank being erased. QEMU's system reset re-copies only the blobs it loaded (the bootloader and slot A),
//! so the boot-state record and slot B survive a reset like flash.

use core::convert::Infallible;

use borderlink_firmware::update::{Sector, SectorDevice, SectoredFlash};

use crate::memory::{
    BOOT_START, SLOT_A_LEN, SLOT_A_START, SLOT_B_LEN, SLOT_B_START, STATE_LEN, STATE_START,
};
use crate::mmio::timer2;
use crate::watchdog;

pub use borderlink_boot::f411::{LAYOUT, SECTORS, UNIT};

/// The update flash.
pub type Flash = SectoredFlash<RamSectors, UNIT>;

/// Offset 0 of the update flash: the start of the bootloader's sector.
pub const BASE: u32 = BOOT_START;

// The linker regions of `build.rs` are where the F411's sector shape puts them.
const _: () = {
    use borderlink_boot::f411;
    assert!(STATE_START - BASE == f411::STATE && STATE_LEN == f411::STATE_LEN);
    assert!(SLOT_A_START - BASE == f411::SLOT_A && SLOT_B_START - BASE == f411::SLOT_B);
    assert!(SLOT_A_LEN == f411::SLOT_LEN && SLOT_B_LEN == f411::SLOT_LEN);
};

/// The update flash. Call once per program (bootloader or image).
pub fn take() -> Flash {
    match SectoredFlash::new(RamSectors { _private: () }, &SECTORS) {
        Ok(flash) => flash,
        Err(_) => unreachable!("the sector table above is aligned and ordered"),
    }
}

/// The sectors of SSRAM1, as NOR flash.
#[derive(Debug)]
pub struct RamSectors {
    _private: (),
}

impl RamSectors {
    fn byte(offset: u32) -> *mut u8 {
        (BASE + offset) as usize as *mut u8
    }
}

impl SectorDevice for RamSectors {
    type Error = Infallible;
    const WRITE_SIZE: usize = 4;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Infallible> {
        for (at, byte) in (offset..).zip(bytes.iter_mut()) {
            #[allow(unsafe_code)]
            // SAFETY: `SectoredFlash` passes only offsets inside `SECTORS`, which lie in
            // SSRAM1 (always mapped, byte-addressable, never at address 0) and hold no Rust
            // object: images and records are only ever reached through this driver.
            unsafe {
                *byte = core::ptr::read_volatile(Self::byte(at));
            }
        }
        Ok(())
    }

    fn program(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Infallible> {
        for (at, &new) in (offset..).zip(bytes) {
            #[allow(unsafe_code)]
            // SAFETY: as in `read`; the running image's slot is never programmed (the updater
            // writes only the other one).
            unsafe {
                let old = core::ptr::read_volatile(Self::byte(at));
                core::ptr::write_volatile(Self::byte(at), old & new);
            }
        }
        Ok(())
    }

    fn erase_sector(&mut self, sector: Sector) -> Result<(), Infallible> {
        // As the F411 driver does around its erase: the program stops for the erase time.
        watchdog::start_with(watchdog::ERASE_PERIOD_MS);
        stall_ms(erase_time_ms(sector.size));
        watchdog::start_with(watchdog::PERIOD_MS);
        for at in sector.start..sector.end() {
            #[allow(unsafe_code)]
            // SAFETY: as in `program`.
            unsafe {
                core::ptr::write_volatile(Self::byte(at), 0xff);
            }
        }
        Ok(())
    }
}

/// How long the STM32F411 takes to erase a sector of `size` bytes with the HAL's 8-bit
/// parallelism: the typical figures of its datasheet (16 KiB 400 ms, 64 KiB 1.2 s, 128 KiB
/// 2 s; the maxima are twice that).
pub const fn erase_time_ms(size: u32) -> u32 {
    match size {
        0..=0x4000 => 400,
        0x4001..=0x1_0000 => 1_200,
        _ => 2_000,
    }
}

/// Busy-waits `ms` on timer 2, doing nothing else: no UART, no watchdog feed, as a core
/// stalled on a flash erase.
fn stall_ms(ms: u32) {
    // 25 MHz / 256 = 97 656.25 ticks per second.
    const ENABLE: u32 = 1 << 7;
    const PRESCALE_256: u32 = 0b10 << 2;
    const SIZE_32: u32 = 1 << 1;
    const ONE_SHOT: u32 = 1 << 0;
    timer2::CONTROL.write(0);
    timer2::LOAD.write(ms.saturating_mul(97_656) / 1000);
    timer2::CONTROL.write(ENABLE | PRESCALE_256 | SIZE_32 | ONE_SHOT);
    while timer2::VALUE.read() != 0 {}
    timer2::CONTROL.write(0);
}
