//! # borderlink-boot
//!
//! What every board's bootloader does, whatever its flash: read the boot-state record and
//! decide which slot to start ([`borderlink_firmware::update::boot::boot`], which also writes
//! the "trial attempted" and "rolled back" records), check that the chosen slot holds a
//! plausible Cortex-M image, and jump to it. The board's own bootloader binary provides the
//! `NorFlash` (the same driver and [`FlashLayout`] its firmware updates through) and starts
//! the hardware watchdog first, so that a trial image that hangs is reset, and the next boot
//! rolls it back.
//!
//! A bootloader touches no pin: every radio line stays as reset left it (released) until the
//! image it starts configures them.

#![no_std]

use borderlink_firmware::update::FlashLayout;

pub mod f411;
use borderlink_firmware::update::boot::{self, BootKind, entry_is_plausible};
use borderlink_protocol::link::Slot;
use embedded_storage::nor_flash::NorFlash;

/// Where the update flash and the images' RAM are in the address space.
#[derive(Debug, Clone)]
pub struct AddressMap {
    /// The address of offset 0 of the bootloader's `NorFlash`.
    pub flash_base: u32,
    /// The RAM the images' stack pointer must point into (the top is allowed).
    pub ram: core::ops::Range<u32>,
}

/// Decides, records and starts: never returns. If neither slot holds a plausible image, waits
/// for the watchdog (a board flashed without an image resets until one is flashed).
pub fn start<F: NorFlash>(flash: &mut F, layout: &FlashLayout, map: &AddressMap) -> ! {
    let selection = boot::boot(flash, layout);
    // The chosen slot first; the other only if the chosen one cannot run at all (erased, or
    // holding an image linked for the other slot). A trial image is never the fallback: its
    // attempt is recorded, so the next boot rolls it back in any case.
    let fallback = match selection.kind {
        BootKind::Trial => None,
        BootKind::Normal | BootKind::RolledBack => Some(selection.slot.other()),
    };
    for slot in core::iter::once(selection.slot).chain(fallback) {
        if let Some(table) = bootable(flash, layout, map, slot) {
            jump(table)
        }
    }
    if selection.kind == BootKind::Trial {
        // The trial slot is not bootable: its attempt is recorded, so the confirmed slot is
        // what the next boot picks. Reset now rather than wait for the watchdog.
        cortex_m::peripheral::SCB::sys_reset()
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// The address of `slot`'s vector table if it looks like an image linked for that slot.
fn bootable<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
    map: &AddressMap,
    slot: Slot,
) -> Option<u32> {
    let offset = layout.slot(slot);
    let mut words = [0u8; 8];
    flash.read(offset, &mut words).ok()?;
    let [sp0, sp1, sp2, sp3, r0, r1, r2, r3] = words;
    let initial_sp = u32::from_le_bytes([sp0, sp1, sp2, sp3]);
    let reset = u32::from_le_bytes([r0, r1, r2, r3]);
    let start = map.flash_base.checked_add(offset)?;
    let image = start..start.checked_add(layout.slot_size)?;
    entry_is_plausible(initial_sp, reset, image, map.ram.clone()).then_some(start)
}

/// Starts the image whose vector table is at `table`: points VTOR at it, loads its stack
/// pointer and branches to its reset handler.
fn jump(table: u32) -> ! {
    #[allow(unsafe_code)]
    // SAFETY: `table` passed `bootable`: a vector table whose stack pointer is in RAM and whose
    // reset vector is Thumb code inside the same slot. VTOR is written before the branch so the
    // image's exceptions go to its own handlers from its first instruction; nothing of the
    // bootloader is used after the branch (the image re-initialises RAM itself), and the
    // bootloader has enabled no interrupt that could fire in between.
    unsafe {
        (*cortex_m::peripheral::SCB::PTR).vtor.write(table);
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
        cortex_m::asm::bootload(table as *const u32)
    }
}
