//! Where the two image slots and the boot-state record live in the update flash.
//!
//! Offsets are relative to the start of the `NorFlash` the board support code hands the
//! updater (on a Cortex-M that is usually the internal flash from its first byte, so the
//! offsets are the images' addresses minus the flash base). Every region starts and ends on an
//! erase-unit boundary, so erasing one never touches another; the boot-state area is split
//! into two equal halves that take turns (see [`super::boot`]).

use borderlink_protocol::link::Slot;
use embedded_storage::nor_flash::NorFlash;

use super::boot::record_len;

/// The largest flash write granularity the updater supports (it buffers one unit of a chunk
/// that does not end on a write boundary).
pub const MAX_WRITE_SIZE: usize = 32;

/// The update flash's regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashLayout {
    /// Offset of slot A.
    pub slot_a: u32,
    /// Offset of slot B.
    pub slot_b: u32,
    /// Size of each slot: the largest image an update can write.
    pub slot_size: u32,
    /// Offset of the boot-state area.
    pub state: u32,
    /// Size of the boot-state area, both halves together.
    pub state_size: u32,
}

/// Why a [`FlashLayout`] does not fit a flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutError {
    /// A region does not start or end on an erase-unit boundary.
    Unaligned {
        /// Which region: "slot A", "slot B", "boot state".
        region: &'static str,
        /// The flash's erase unit.
        erase_size: u32,
    },
    /// A region reaches past the end of the flash.
    OutOfBounds {
        /// Which region.
        region: &'static str,
        /// The flash's capacity.
        capacity: u32,
    },
    /// Two regions overlap.
    Overlap {
        /// One region.
        a: &'static str,
        /// The other.
        b: &'static str,
    },
    /// The boot-state halves cannot hold two records each.
    StateTooSmall,
    /// The flash's write or read granularity is not one the updater handles: writes must be a
    /// power of two of at most [`MAX_WRITE_SIZE`] bytes that divides the erase unit, and reads
    /// must divide writes.
    Granularity {
        /// `NorFlash::WRITE_SIZE`.
        write_size: u32,
        /// `NorFlash::READ_SIZE`.
        read_size: u32,
    },
}

impl FlashLayout {
    /// A layout from its regions.
    pub const fn new(
        slot_a: u32,
        slot_b: u32,
        slot_size: u32,
        state: u32,
        state_size: u32,
    ) -> Self {
        FlashLayout {
            slot_a,
            slot_b,
            slot_size,
            state,
            state_size,
        }
    }

    /// A layout with nothing in it, for a board without update flash: every update is refused
    /// as too large (`ImageTooLarge { max: 0 }`).
    pub const EMPTY: FlashLayout = FlashLayout::new(0, 0, 0, 0, 0);

    /// Whether this layout has no room for an update.
    pub const fn is_empty(&self) -> bool {
        self.slot_size == 0
    }

    /// The offset of a slot.
    pub const fn slot(&self, slot: Slot) -> u32 {
        match slot {
            Slot::A => self.slot_a,
            Slot::B => self.slot_b,
        }
    }

    /// Size of one boot-state half.
    pub const fn state_half(&self) -> u32 {
        self.state_size / 2
    }

    /// Checks that the layout fits flash `F` of `capacity` bytes.
    pub fn check<F: NorFlash>(&self, capacity: usize) -> Result<(), LayoutError> {
        if self.is_empty() {
            return Ok(());
        }
        let write = F::WRITE_SIZE;
        let read = F::READ_SIZE;
        let erase = u32::try_from(F::ERASE_SIZE).unwrap_or(u32::MAX);
        let granularity = LayoutError::Granularity {
            write_size: u32::try_from(write).unwrap_or(u32::MAX),
            read_size: u32::try_from(read).unwrap_or(u32::MAX),
        };
        if !write.is_power_of_two()
            || write > MAX_WRITE_SIZE
            || read == 0
            || !write.is_multiple_of(read)
            || erase == 0
            || !erase.is_multiple_of(write as u32)
        {
            return Err(granularity);
        }
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        let half = self.state_half();
        let regions = [
            ("slot A", self.slot_a, self.slot_size),
            ("slot B", self.slot_b, self.slot_size),
            ("boot state", self.state, self.state_size),
        ];
        for (region, start, size) in regions {
            let aligned = start.is_multiple_of(erase) && size.is_multiple_of(erase);
            // Each boot-state half is erased on its own.
            let halves = region != "boot state" || half.is_multiple_of(erase);
            if !aligned || !halves {
                return Err(LayoutError::Unaligned {
                    region,
                    erase_size: erase,
                });
            }
            if start.checked_add(size).is_none_or(|end| end > capacity) {
                return Err(LayoutError::OutOfBounds { region, capacity });
            }
        }
        for (i, &(a, a_start, a_size)) in regions.iter().enumerate() {
            for &(b, b_start, b_size) in regions.iter().skip(i + 1) {
                if a_start < b_start + b_size && b_start < a_start + a_size {
                    return Err(LayoutError::Overlap { a, b });
                }
            }
        }
        // Two records of two write units each (an entry and its extension).
        if half < 4 * record_len(write) as u32 {
            return Err(LayoutError::StateTooSmall);
        }
        Ok(())
    }
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LayoutError::Unaligned { region, erase_size } => {
                write!(
                    f,
                    "{region} is not aligned to the {erase_size}-byte erase unit"
                )
            }
            LayoutError::OutOfBounds { region, capacity } => {
                write!(f, "{region} reaches past the flash end ({capacity} bytes)")
            }
            LayoutError::Overlap { a, b } => write!(f, "{a} overlaps {b}"),
            LayoutError::StateTooSmall => f.write_str("boot-state halves too small for 2 records"),
            LayoutError::Granularity {
                write_size,
                read_size,
            } => write!(
                f,
                "unsupported flash granularity (write {write_size}, read {read_size} bytes)"
            ),
        }
    }
}
