//! The update flash: the boot-state record in sectors 1 and 2 (16 KiB each), slot A in sector
//! 5 and slot B in sector 6 (128 KiB each), behind a [`SectoredFlash`] whose 16 KiB logical
//! erase unit gives the updater the one uniform erase unit its layout wants (the rules, and
//! why the updater's way of erasing makes them safe, are in `SectoredFlash`'s documentation).
//! Sector 0 (the bootloader) and sectors 3, 4 and 7 are not in the table, so nothing that goes
//! through this driver can erase or write them.
//!
//! [`F411Sectors`] does the work with the HAL's flash unlock, program and erase, and owns the
//! independent watchdog: a sector erase stalls the core (it runs from the same flash bank) for
//! up to seconds, so the watchdog is stretched to [`ERASE_PERIOD_MS`] first and restored to
//! [`RUN_PERIOD_MS`] afterwards. Erases happen only during an update, when the board refuses to
//! key any radio, or in the bootloader, before any line is driven.

use borderlink_firmware::update::{Sector, SectorDevice, SectoredFlash};
use stm32f4xx_hal::flash::{self, FlashExt};
use stm32f4xx_hal::pac::FLASH;

use crate::memory::{
    BOOT_START, SLOT_A_LEN, SLOT_A_START, SLOT_B_LEN, SLOT_B_START, STATE_LEN, STATE_START,
};
use crate::watchdog::{ERASE_PERIOD_MS, RUN_PERIOD_MS, Watchdog};

pub use borderlink_boot::f411::{LAYOUT, SECTORS, UNIT};

/// The update flash.
pub type Flash = SectoredFlash<F411Sectors, UNIT>;

/// Offset 0 of the update flash: the start of the internal flash.
pub const BASE: u32 = BOOT_START;

// The linker regions of `build.rs` are where the F411's sector shape puts them.
const _: () = {
    use borderlink_boot::f411;
    assert!(STATE_START - BASE == f411::STATE && STATE_LEN == f411::STATE_LEN);
    assert!(SLOT_A_START - BASE == f411::SLOT_A && SLOT_B_START - BASE == f411::SLOT_B);
    assert!(SLOT_A_LEN == f411::SLOT_LEN && SLOT_B_LEN == f411::SLOT_LEN);
};

/// The update flash over the internal flash, with the watchdog it stretches around erases.
pub fn take(flash: FLASH, watchdog: Watchdog) -> Flash {
    let device = F411Sectors { flash, watchdog };
    match SectoredFlash::new(device, &SECTORS) {
        Ok(flash) => flash,
        Err(_) => unreachable!("the sector table above is aligned and ordered"),
    }
}

/// What the internal flash refused.
#[derive(Debug, Clone, Copy)]
pub enum FlashError {
    /// The flash controller reported an error.
    Controller(flash::Error),
    /// An offset past the end of the part's flash.
    OutOfRange,
}

/// The F411's internal flash, erased by sector, and the independent watchdog.
pub struct F411Sectors {
    flash: FLASH,
    watchdog: Watchdog,
}

impl F411Sectors {
    /// The watchdog, to feed from the main loop.
    pub fn watchdog(&mut self) -> &mut Watchdog {
        &mut self.watchdog
    }

    /// Empties the flash interface's instruction and data caches, which may still hold what a
    /// sector held before it was erased or programmed (ST's own HAL does the same after an
    /// erase): reads after this see the flash as it is. A cache must be off while it is reset.
    fn flush_caches(&mut self) {
        let acr = self.flash.acr().read();
        let (icache, dcache) = (acr.icen().bit_is_set(), acr.dcen().bit_is_set());
        self.flash
            .acr()
            .modify(|_, w| w.icen().clear_bit().dcen().clear_bit());
        self.flash
            .acr()
            .modify(|_, w| w.icrst().set_bit().dcrst().set_bit());
        self.flash
            .acr()
            .modify(|_, w| w.icrst().clear_bit().dcrst().clear_bit());
        self.flash
            .acr()
            .modify(|_, w| w.icen().bit(icache).dcen().bit(dcache));
    }
}

// The HAL's flash handle has no `Debug`.
impl core::fmt::Debug for F411Sectors {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("F411Sectors")
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

impl SectorDevice for F411Sectors {
    type Error = FlashError;
    const WRITE_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let start = offset as usize;
        let src = FlashExt::read(&self.flash)
            .get(start..start + bytes.len())
            .ok_or(FlashError::OutOfRange)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn program(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let programmed = self.flash.unlocked().program(offset as usize, bytes.iter());
        self.flush_caches();
        programmed.map_err(FlashError::Controller)
    }

    fn erase_sector(&mut self, sector: Sector) -> Result<(), FlashError> {
        self.watchdog.set_period(ERASE_PERIOD_MS);
        let erased = self.flash.unlocked().erase(sector.number);
        self.watchdog.set_period(RUN_PERIOD_MS);
        self.flush_caches();
        erased.map_err(FlashError::Controller)
    }
}
