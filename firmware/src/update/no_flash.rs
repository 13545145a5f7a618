//! A flash of no bytes, for a board that cannot be updated over the link (the emulated board
//! under QEMU, a bring-up build): with [`super::FlashLayout::EMPTY`] every update is refused
//! `ImageTooLarge { max: 0 }` and nothing is ever read or written.

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};

/// A flash with no capacity; every access fails out of bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFlash;

impl ErrorType for NoFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for NoFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, _offset: u32, _bytes: &mut [u8]) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::OutOfBounds)
    }

    fn capacity(&self) -> usize {
        0
    }
}

impl NorFlash for NoFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 1;

    fn erase(&mut self, _from: u32, _to: u32) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::OutOfBounds)
    }

    fn write(&mut self, _offset: u32, _bytes: &[u8]) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::OutOfBounds)
    }
}
