//! The update flash in the STM32F411's sector shape, which both board programs use: the
//! production board because it is an F411, the emulated one so that `cargo xtask qemu` updates
//! through the same regions and the same [`SectoredFlash`] rules.
//!
//! Offsets are from the start of flash (sector 0, the bootloader's):
//!
//! | sector | size | use |
//! |---:|---:|---|
//! | 0 | 16 KiB | the bootloader (not reachable through the update flash) |
//! | 1, 2 | 16 KiB each | the boot-state record, one half each |
//! | 3, 4 | 16 + 64 KiB | unused |
//! | 5 | 128 KiB | slot A |
//! | 6 | 128 KiB | slot B |
//! | 7 | 128 KiB | unused |
//!
//! Each board's `build.rs` places its linker regions at the same offsets, and checks them
//! against [`STATE`], [`SLOT_A`], [`SLOT_B`] and [`SLOT_LEN`].
//!
//! [`SectoredFlash`]: borderlink_firmware::update::SectoredFlash

use borderlink_firmware::update::{FlashLayout, Sector};

/// The logical erase unit: the smallest sector.
pub const UNIT: usize = 16 * 1024;

/// Offset of the boot-state record (sectors 1 and 2).
pub const STATE: u32 = 0x4000;
/// Length of the boot-state record, both halves.
pub const STATE_LEN: u32 = 0x8000;
/// Offset of slot A (sector 5).
pub const SLOT_A: u32 = 0x2_0000;
/// Offset of slot B (sector 6).
pub const SLOT_B: u32 = 0x4_0000;
/// Length of each slot.
pub const SLOT_LEN: u32 = 0x2_0000;

/// The sectors the updater and the bootloader may touch: the boot-state halves (1, 2) and the
/// slots (5, 6). Sector 0 (the bootloader) and the unused 3, 4 and 7 are out of reach.
pub static SECTORS: [Sector; 4] = [
    Sector {
        number: 1,
        start: STATE,
        size: STATE_LEN / 2,
    },
    Sector {
        number: 2,
        start: STATE + STATE_LEN / 2,
        size: STATE_LEN / 2,
    },
    Sector {
        number: 5,
        start: SLOT_A,
        size: SLOT_LEN,
    },
    Sector {
        number: 6,
        start: SLOT_B,
        size: SLOT_LEN,
    },
];

/// Where the slots and the boot-state record are in the update flash.
pub const LAYOUT: FlashLayout = FlashLayout::new(SLOT_A, SLOT_B, SLOT_LEN, STATE, STATE_LEN);
