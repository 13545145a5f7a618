//! [`SectoredFlash`]: a flash of large, uneven erase sectors, seen through a small uniform
//! logical erase unit, so the updater's [`FlashLayout`](super::FlashLayout) (one erase unit
//! for the whole flash) fits a part like the STM32F4 (4 × 16 KiB, 64 KiB, then 128 KiB
//! sectors).
//!
//! The rules, which the updater's use of the flash makes safe:
//! - erasing the logical unit at the **start** of a sector erases the whole physical sector;
//! - erasing a **later** unit of a sector erases nothing: the unit must already read blank
//!   (every byte 0xFF), or the erase fails with [`SectoredError::NotErased`]. The updater
//!   erases a slot unit by unit from its first byte (and a boot-state half is one sector), so
//!   every later unit it asks for was blanked a moment before by the erase of its sector's
//!   first unit; anything else asking for a lone later unit gets an error instead of a
//!   half-erased sector;
//! - only the sectors in the table can be read, written or erased: everything else in the
//!   window (the bootloader's sector, sectors nothing uses) is refused
//!   [`SectoredError::OutOfBounds`], so a bug above cannot erase the bootloader;
//! - a write must land on blank bytes (flash programs 1s to 0s only), else
//!   [`SectoredError::NotErased`] and nothing is written.
//!
//! The device underneath ([`SectorDevice`]) only reads, programs and erases whole sectors;
//! the board support code provides it (and whatever an erase needs around it, such as
//! stretching a hardware watchdog).

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// One physical erase sector, as offsets into the window the [`SectoredFlash`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sector {
    /// The device's number for it, as its erase command takes it.
    pub number: u8,
    /// Offset of its first byte.
    pub start: u32,
    /// Its length in bytes.
    pub size: u32,
}

impl Sector {
    /// One past its last byte.
    pub const fn end(&self) -> u32 {
        self.start + self.size
    }

    fn contains(&self, offset: u32) -> bool {
        self.start <= offset && offset < self.end()
    }
}

/// A flash that can read, program and erase whole sectors: what the board support code
/// implements for its part.
pub trait SectorDevice {
    /// What a device operation fails with.
    type Error: core::fmt::Debug;
    /// Programming granularity in bytes (offsets and lengths of
    /// [`program`](Self::program) are multiples of it).
    const WRITE_SIZE: usize;
    /// Reads `bytes.len()` bytes at `offset`.
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error>;
    /// Programs `bytes` at `offset`; the bytes there are blank (checked before).
    fn program(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Erases the whole of `sector` to 0xFF.
    fn erase_sector(&mut self, sector: Sector) -> Result<(), Self::Error>;
}

/// What a [`SectoredFlash`] refused, or its device failed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectoredError<E> {
    /// An offset or length off the write or erase unit.
    NotAligned,
    /// Outside the sectors in the table (or past the end).
    OutOfBounds,
    /// A write over bytes not blank, or an erase of a later unit of a sector that is not
    /// blank (erasing it would take the whole sector).
    NotErased {
        /// The first byte that is not 0xFF.
        offset: u32,
    },
    /// The device failed.
    Device(E),
}

impl<E: core::fmt::Debug> NorFlashError for SectoredError<E> {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SectoredError::NotAligned => NorFlashErrorKind::NotAligned,
            SectoredError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            SectoredError::NotErased { .. } | SectoredError::Device(_) => NorFlashErrorKind::Other,
        }
    }
}

/// Why a sector table cannot back a [`SectoredFlash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorTableError {
    /// The table is empty.
    Empty,
    /// A sector does not start and end on a logical erase unit.
    Unaligned {
        /// The sector's number.
        number: u8,
    },
    /// The sectors are not in address order, or overlap.
    Unordered {
        /// The first sector out of place.
        number: u8,
    },
    /// The logical unit is not a multiple of the device's write size, or zero.
    BadUnit,
}

/// How many bytes a blank check reads at a time.
const CHECK_CHUNK: usize = 64;

/// A [`NorFlash`] with erase unit `UNIT` over a device of larger, uneven sectors (see the
/// module doc for the rules).
#[derive(Debug)]
pub struct SectoredFlash<D, const UNIT: usize> {
    device: D,
    sectors: &'static [Sector],
}

impl<D: SectorDevice, const UNIT: usize> SectoredFlash<D, UNIT> {
    /// The flash over `device`, giving access to `sectors` only (in address order, each a
    /// whole number of `UNIT`s).
    pub fn new(device: D, sectors: &'static [Sector]) -> Result<Self, SectorTableError> {
        if UNIT == 0 || D::WRITE_SIZE == 0 || !UNIT.is_multiple_of(D::WRITE_SIZE) {
            return Err(SectorTableError::BadUnit);
        }
        let unit = UNIT as u32;
        let mut end = 0;
        for (i, sector) in sectors.iter().enumerate() {
            if !sector.start.is_multiple_of(unit)
                || !sector.size.is_multiple_of(unit)
                || sector.size == 0
            {
                return Err(SectorTableError::Unaligned {
                    number: sector.number,
                });
            }
            if (i > 0 && sector.start < end) || sector.start.checked_add(sector.size).is_none() {
                return Err(SectorTableError::Unordered {
                    number: sector.number,
                });
            }
            end = sector.end();
        }
        if sectors.is_empty() {
            return Err(SectorTableError::Empty);
        }
        Ok(SectoredFlash { device, sectors })
    }

    /// The device underneath.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device underneath, mutable.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    fn sector_of(&self, offset: u32) -> Option<Sector> {
        self.sectors.iter().copied().find(|s| s.contains(offset))
    }

    /// Checks that `[from, to)` lies wholly in sectors of the table.
    fn covered(&self, from: u32, to: u32) -> Result<(), SectoredError<D::Error>> {
        let mut at = from;
        while at < to {
            at = self.sector_of(at).ok_or(SectoredError::OutOfBounds)?.end();
        }
        Ok(())
    }

    /// The first byte in `[from, to)` that is not 0xFF, if any.
    fn first_dirty(&mut self, from: u32, to: u32) -> Result<Option<u32>, SectoredError<D::Error>> {
        let mut buf = [0u8; CHECK_CHUNK];
        let mut at = from;
        while at < to {
            let n = ((to - at) as usize).min(CHECK_CHUNK);
            let chunk = buf.get_mut(..n).ok_or(SectoredError::OutOfBounds)?;
            self.device.read(at, chunk).map_err(SectoredError::Device)?;
            if let Some(i) = chunk.iter().position(|&b| b != 0xff) {
                return Ok(Some(at + i as u32));
            }
            at += n as u32;
        }
        Ok(None)
    }
}

impl<D: SectorDevice, const UNIT: usize> ErrorType for SectoredFlash<D, UNIT> {
    type Error = SectoredError<D::Error>;
}

impl<D: SectorDevice, const UNIT: usize> ReadNorFlash for SectoredFlash<D, UNIT> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let end = end_of(offset, bytes.len())?;
        self.covered(offset, end)?;
        self.device
            .read(offset, bytes)
            .map_err(SectoredError::Device)
    }

    fn capacity(&self) -> usize {
        self.sectors.last().map_or(0, |s| s.end() as usize)
    }
}

impl<D: SectorDevice, const UNIT: usize> NorFlash for SectoredFlash<D, UNIT> {
    const WRITE_SIZE: usize = D::WRITE_SIZE;
    const ERASE_SIZE: usize = UNIT;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let unit = UNIT as u32;
        if to < from || !from.is_multiple_of(unit) || !to.is_multiple_of(unit) {
            return Err(SectoredError::NotAligned);
        }
        // All or nothing as far as the table goes: a range that strays outside erases nothing.
        self.covered(from, to)?;
        let mut at = from;
        while at < to {
            let sector = self.sector_of(at).ok_or(SectoredError::OutOfBounds)?;
            if at == sector.start {
                self.device
                    .erase_sector(sector)
                    .map_err(SectoredError::Device)?;
            } else if let Some(offset) = self.first_dirty(at, at + unit)? {
                return Err(SectoredError::NotErased { offset });
            }
            at += unit;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let write = D::WRITE_SIZE;
        if !(offset as usize).is_multiple_of(write) || !bytes.len().is_multiple_of(write) {
            return Err(SectoredError::NotAligned);
        }
        let end = end_of(offset, bytes.len())?;
        self.covered(offset, end)?;
        if let Some(dirty) = self.first_dirty(offset, end)? {
            return Err(SectoredError::NotErased { offset: dirty });
        }
        self.device
            .program(offset, bytes)
            .map_err(SectoredError::Device)
    }
}

fn end_of<E>(offset: u32, len: usize) -> Result<u32, SectoredError<E>> {
    u32::try_from(len)
        .ok()
        .and_then(|len| offset.checked_add(len))
        .ok_or(SectoredError::OutOfBounds)
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;

    const KIB: u32 = 1024;

    /// The STM32F4's first six sectors with the ones the updater may not touch left out:
    /// 0 (bootloader), 3 and 4 (unused).
    static SECTORS: [Sector; 4] = [
        Sector {
            number: 1,
            start: 16 * KIB,
            size: 16 * KIB,
        },
        Sector {
            number: 2,
            start: 32 * KIB,
            size: 16 * KIB,
        },
        Sector {
            number: 5,
            start: 128 * KIB,
            size: 128 * KIB,
        },
        Sector {
            number: 6,
            start: 256 * KIB,
            size: 128 * KIB,
        },
    ];

    /// A sector flash in RAM as strict as silicon: programs only blank bytes, erases whole
    /// sectors, and logs every erase.
    #[derive(Debug)]
    struct FakeSectors {
        bytes: Vec<u8>,
        erased: Vec<u8>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum FakeError {
        OverProgrammed,
        Range,
    }

    impl FakeSectors {
        /// 384 KiB of flash full of 0x5a (old contents everywhere).
        fn new() -> Self {
            FakeSectors {
                bytes: vec![0x5a; 384 * KIB as usize],
                erased: Vec::new(),
            }
        }

        fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, FakeError> {
            let start = offset as usize;
            (start + len <= self.bytes.len())
                .then_some(start..start + len)
                .ok_or(FakeError::Range)
        }
    }

    impl SectorDevice for FakeSectors {
        type Error = FakeError;
        const WRITE_SIZE: usize = 4;

        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FakeError> {
            let range = self.range(offset, bytes.len())?;
            bytes.copy_from_slice(&self.bytes[range]);
            Ok(())
        }

        fn program(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FakeError> {
            let range = self.range(offset, bytes.len())?;
            if self.bytes[range.clone()].iter().any(|&b| b != 0xff) {
                return Err(FakeError::OverProgrammed);
            }
            self.bytes[range].copy_from_slice(bytes);
            Ok(())
        }

        fn erase_sector(&mut self, sector: Sector) -> Result<(), FakeError> {
            let range = self.range(sector.start, sector.size as usize)?;
            self.bytes[range].fill(0xff);
            self.erased.push(sector.number);
            Ok(())
        }
    }

    type Flash = SectoredFlash<FakeSectors, { 16 * 1024 }>;

    fn flash() -> Flash {
        SectoredFlash::new(FakeSectors::new(), &SECTORS).unwrap()
    }

    #[test]
    fn erasing_the_first_unit_of_a_sector_erases_the_whole_sector() {
        let mut f = flash();
        f.erase(128 * KIB, 144 * KIB).unwrap();
        assert_eq!(f.device().erased, [5]);
        let sector = &f.device().bytes[128 * KIB as usize..256 * KIB as usize];
        assert!(sector.iter().all(|&b| b == 0xff), "all 128 KiB blank");
        // Its neighbours are untouched.
        assert_eq!(f.device().bytes[128 * KIB as usize - 1], 0x5a);
        assert_eq!(f.device().bytes[256 * KIB as usize], 0x5a);
        // The later units are blank now: erasing them is a check, not another erase.
        f.erase(144 * KIB, 256 * KIB).unwrap();
        assert_eq!(f.device().erased, [5]);
    }

    #[test]
    fn a_slot_erased_unit_by_unit_from_its_start_erases_its_sector_once() {
        // What the updater does (updater.rs, `Job::Erasing`): one unit per step from the start.
        let mut f = flash();
        for unit in 0..8 {
            let at = 256 * KIB + unit * 16 * KIB;
            f.erase(at, at + 16 * KIB).unwrap();
        }
        assert_eq!(f.device().erased, [6]);
        // A whole-range erase does the same.
        let mut f = flash();
        f.erase(16 * KIB, 48 * KIB).unwrap();
        assert_eq!(f.device().erased, [1, 2]);
    }

    #[test]
    fn a_later_unit_that_is_not_blank_is_an_error_and_erases_nothing() {
        let mut f = flash();
        assert_eq!(
            f.erase(160 * KIB, 176 * KIB),
            Err(SectoredError::NotErased { offset: 160 * KIB })
        );
        assert!(f.device().erased.is_empty());
        // Blank but for one byte near its end.
        f.erase(128 * KIB, 144 * KIB).unwrap();
        f.write(175 * KIB, &[0, 1, 2, 3]).unwrap();
        assert_eq!(
            f.erase(160 * KIB, 176 * KIB),
            Err(SectoredError::NotErased { offset: 175 * KIB })
        );
        assert_eq!(f.device().erased, [5]);
    }

    #[test]
    fn everything_outside_the_table_is_refused_and_untouched() {
        let mut f = flash();
        let before = f.device().bytes.clone();
        let outside = [
            (0, 16 * KIB),                // sector 0: the bootloader
            (48 * KIB, 64 * KIB),         // sector 3
            (64 * KIB, 128 * KIB),        // sector 4
            (384 * KIB, 400 * KIB),       // past the end
            (32 * KIB, 80 * KIB),         // starts inside, strays out
            (u32::MAX - 16 * KIB + 1, 0), // wraps
        ];
        for (from, to) in outside {
            let to = if to == 0 { u32::MAX } else { to };
            let err = f.erase(from, to).unwrap_err();
            assert!(
                matches!(err, SectoredError::OutOfBounds | SectoredError::NotAligned),
                "erase {from:#x}..{to:#x}: {err:?}"
            );
        }
        for offset in [0, 48 * KIB, 100 * KIB, 384 * KIB, 48 * KIB - 4] {
            assert_eq!(
                f.write(offset, &[0; 8]),
                Err(SectoredError::OutOfBounds),
                "write at {offset:#x}"
            );
            let mut out = [0; 8];
            assert_eq!(
                f.read(offset, &mut out),
                Err(SectoredError::OutOfBounds),
                "read at {offset:#x}"
            );
        }
        assert!(f.device().erased.is_empty());
        assert!(f.device().bytes == before, "nothing changed");
        // Inside is fine, across two adjacent sectors too.
        let mut out = [0; 8];
        f.read(32 * KIB - 4, &mut out).unwrap();
        assert_eq!(f.capacity(), 384 * KIB as usize);
    }

    #[test]
    fn writes_need_alignment_and_blank_bytes() {
        let mut f = flash();
        f.erase(16 * KIB, 32 * KIB).unwrap();
        assert_eq!(
            f.write(16 * KIB + 2, &[0; 4]),
            Err(SectoredError::NotAligned)
        );
        assert_eq!(f.write(16 * KIB, &[0; 3]), Err(SectoredError::NotAligned));
        assert_eq!(f.erase(16 * KIB, 24 * KIB), Err(SectoredError::NotAligned));
        f.write(16 * KIB, &[1, 2, 3, 4]).unwrap();
        assert_eq!(
            f.write(16 * KIB, &[0; 4]),
            Err(SectoredError::NotErased { offset: 16 * KIB })
        );
        let mut out = [0; 4];
        f.read(16 * KIB, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4]);
    }

    #[test]
    fn bad_tables_are_refused() {
        static UNALIGNED: [Sector; 1] = [Sector {
            number: 1,
            start: 8 * KIB,
            size: 16 * KIB,
        }];
        static OVERLAPPING: [Sector; 2] = [
            Sector {
                number: 1,
                start: 0,
                size: 32 * KIB,
            },
            Sector {
                number: 2,
                start: 16 * KIB,
                size: 16 * KIB,
            },
        ];
        let new = |table: &'static [Sector]| Flash::new(FakeSectors::new(), table).map(|_| ());
        assert_eq!(
            new(&UNALIGNED),
            Err(SectorTableError::Unaligned { number: 1 })
        );
        assert_eq!(
            new(&OVERLAPPING),
            Err(SectorTableError::Unordered { number: 2 })
        );
        assert_eq!(new(&[]), Err(SectorTableError::Empty));
    }

    #[test]
    fn the_updater_runs_a_whole_update_on_it() {
        use borderlink_protocol::link::{FirmwareVersion, Signature, Slot, signed_prefix};

        use crate::update::boot::{self, BootKind};
        use crate::update::{Done, FlashLayout, Updater, VerifyingKey};

        // The STM32F411 layout: boot state in sectors 1-2, slots in sectors 5 and 6.
        let layout = FlashLayout::new(128 * KIB, 256 * KIB, 128 * KIB, 16 * KIB, 32 * KIB);
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7; 32]));
        let key = VerifyingKey::from_bytes(*pair.pk);
        let version = FirmwareVersion::new(2, 0, 0);
        let image: Vec<u8> = (0..40_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut message = signed_prefix(version, image.len() as u32).to_vec();
        message.extend_from_slice(&image);
        let signature = Signature::from_bytes(&pair.sk.sign(message, None));

        let mut u = Updater::new(flash(), layout, key, Slot::A).unwrap();
        u.begin(
            image.len() as u32,
            borderlink_protocol::link::image_crc32(&image),
            version,
        )
        .unwrap();
        let done = loop {
            if let Some(done) = u.step() {
                break done;
            }
        };
        assert_eq!(done, Ok(Done::Erased));
        for (i, chunk) in image.chunks(200).enumerate() {
            u.chunk((i * 200) as u32, chunk).unwrap();
        }
        u.verify(&signature).unwrap();
        let done = loop {
            if let Some(done) = u.step() {
                break done;
            }
        };
        assert_eq!(done, Ok(Done::Verified));
        u.commit().unwrap();
        let mut f = u.into_flash();
        // Sector 6 for slot B; then the commit's record: both boot-state halves hold old
        // bytes, so the log starts afresh in the second half (sector 2). Nothing else.
        assert_eq!(f.device().erased, [6, 2]);
        assert_eq!(
            &f.device().bytes[256 * KIB as usize..256 * KIB as usize + image.len()],
            &image[..]
        );
        assert_eq!(
            f.device().bytes[0],
            0x5a,
            "the bootloader's sector untouched"
        );
        assert_eq!(
            f.device().bytes[128 * KIB as usize],
            0x5a,
            "slot A untouched"
        );
        let selection = boot::boot(&mut f, &layout);
        assert_eq!((selection.slot, selection.kind), (Slot::B, BootKind::Trial));
    }
}
