//! A NOR flash in RAM that is as strict as the real thing, and can lose power on cue.
//!
//! [`RamFlash`] backs the updater in host tests, the fuzz target and the simulator's emulated
//! board. It holds any byte buffer (`[u8; N]` on a board, a `Vec<u8>` on a host) and checks
//! what real flash punishes: offsets and lengths off the read, write or erase granularity,
//! accesses past the end, and programming bytes that are not erased (flash with ECC, like most
//! Cortex-M4 parts, cannot program a unit twice between erases). It can be told to fail every
//! erase, write or read, or to lose power after a number of operations: the operation under
//! way is left half done (a write programs only its first half, an erase leaves its second
//! half untouched) and every later one fails until power is restored, as a reboot would.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// What a [`RamFlash`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamFlashError {
    /// Offset or length not a multiple of the granularity.
    NotAligned,
    /// Past the end.
    OutOfBounds,
    /// A write over bytes that are not erased.
    NotErased {
        /// The first such byte.
        offset: u32,
    },
    /// The power is off (see [`RamFlash::cut_power_after`]).
    PowerLost,
    /// A failure injected with [`RamFlash::fail`].
    Injected,
}

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            RamFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            RamFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// An operation a [`RamFlash`] can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashOp {
    /// Reads.
    Read,
    /// Programming.
    Write,
    /// Erasing.
    Erase,
}

/// A NOR flash in RAM with write granularity `WRITE` and erase unit `ERASE` bytes; the erased
/// state is 0xFF.
#[derive(Debug, Clone)]
pub struct RamFlash<S, const WRITE: usize, const ERASE: usize> {
    bytes: S,
    /// Operations left before the power goes; `None`: no cut planned.
    power_budget: Option<u32>,
    powered: bool,
    failing: [bool; 3],
    writes: u32,
    erases: u32,
}

impl<S, const WRITE: usize, const ERASE: usize> RamFlash<S, WRITE, ERASE>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
{
    /// A flash over `bytes`, erased (every byte set to 0xFF).
    pub fn new(mut bytes: S) -> Self {
        bytes.as_mut().fill(0xff);
        RamFlash {
            bytes,
            power_budget: None,
            powered: true,
            failing: [false; 3],
            writes: 0,
            erases: 0,
        }
    }

    /// The whole contents.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The whole contents, writable without any check (to corrupt an image in a test, or to
    /// load one as a debug probe would).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.bytes.as_mut()
    }

    /// After `ops` more successful erases and writes, the next one is left half done and
    /// every operation fails with [`RamFlashError::PowerLost`] until
    /// [`restore_power`](Self::restore_power).
    pub fn cut_power_after(&mut self, ops: u32) {
        self.power_budget = Some(ops);
    }

    /// Power is back (the board rebooted): operations work again and no cut is planned.
    pub fn restore_power(&mut self) {
        self.powered = true;
        self.power_budget = None;
    }

    /// Whether the power went.
    pub fn power_lost(&self) -> bool {
        !self.powered
    }

    /// Makes every operation of one kind fail with [`RamFlashError::Injected`] (or work
    /// again, with `false`).
    pub fn fail(&mut self, op: FlashOp, failing: bool) {
        self.failing[op as usize] = failing;
    }

    /// Successful writes so far.
    pub fn writes(&self) -> u32 {
        self.writes
    }

    /// Successful erases so far.
    pub fn erases(&self) -> u32 {
        self.erases
    }

    fn check(
        &self,
        op: FlashOp,
        offset: u32,
        len: usize,
        unit: usize,
    ) -> Result<usize, RamFlashError> {
        if !self.powered {
            return Err(RamFlashError::PowerLost);
        }
        if self.failing[op as usize] {
            return Err(RamFlashError::Injected);
        }
        let start = offset as usize;
        if !start.is_multiple_of(unit) || !len.is_multiple_of(unit) {
            return Err(RamFlashError::NotAligned);
        }
        if start
            .checked_add(len)
            .is_none_or(|end| end > self.bytes.as_ref().len())
        {
            return Err(RamFlashError::OutOfBounds);
        }
        Ok(start)
    }

    /// Counts a modifying operation against the power budget; `true` if the power goes
    /// during this one.
    fn spend(&mut self) -> bool {
        match self.power_budget {
            Some(0) => {
                self.powered = false;
                self.power_budget = None;
                true
            }
            Some(n) => {
                self.power_budget = Some(n - 1);
                false
            }
            None => false,
        }
    }
}

impl<S, const WRITE: usize, const ERASE: usize> ErrorType for RamFlash<S, WRITE, ERASE> {
    type Error = RamFlashError;
}

impl<S, const WRITE: usize, const ERASE: usize> ReadNorFlash for RamFlash<S, WRITE, ERASE>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
{
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let start = self.check(FlashOp::Read, offset, bytes.len(), 1)?;
        let src = self
            .bytes
            .as_ref()
            .get(start..start + bytes.len())
            .ok_or(RamFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.as_ref().len()
    }
}

impl<S, const WRITE: usize, const ERASE: usize> NorFlash for RamFlash<S, WRITE, ERASE>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to.checked_sub(from).ok_or(RamFlashError::OutOfBounds)? as usize;
        let start = self.check(FlashOp::Erase, from, len, ERASE)?;
        let torn = self.spend();
        let done = if torn { len / 2 } else { len };
        if let Some(range) = self.bytes.as_mut().get_mut(start..start + done) {
            range.fill(0xff);
        }
        if torn {
            return Err(RamFlashError::PowerLost);
        }
        self.erases += 1;
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let start = self.check(FlashOp::Write, offset, bytes.len(), WRITE)?;
        let target = self
            .bytes
            .as_ref()
            .get(start..start + bytes.len())
            .ok_or(RamFlashError::OutOfBounds)?;
        if let Some(dirty) = target.iter().position(|&b| b != 0xff) {
            return Err(RamFlashError::NotErased {
                offset: offset + dirty as u32,
            });
        }
        let torn = self.spend();
        let done = if torn { bytes.len() / 2 } else { bytes.len() };
        if let (Some(dst), Some(src)) = (
            self.bytes.as_mut().get_mut(start..start + done),
            bytes.get(..done),
        ) {
            dst.copy_from_slice(src);
        }
        if torn {
            return Err(RamFlashError::PowerLost);
        }
        self.writes += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Flash = RamFlash<[u8; 64], 8, 16>;

    #[test]
    fn writes_need_alignment_and_erased_bytes() {
        let mut f = Flash::new([0; 64]);
        assert_eq!(f.bytes()[0], 0xff, "starts erased");
        assert_eq!(f.write(4, &[0; 8]), Err(RamFlashError::NotAligned));
        assert_eq!(f.write(8, &[0; 4]), Err(RamFlashError::NotAligned));
        assert_eq!(f.write(64, &[0; 8]), Err(RamFlashError::OutOfBounds));
        f.write(8, &[1; 8]).unwrap();
        assert_eq!(
            f.write(8, &[0xff, 0, 0, 0, 0, 0, 0, 0]),
            Err(RamFlashError::NotErased { offset: 8 })
        );
        assert_eq!(f.erase(8, 24), Err(RamFlashError::NotAligned));
        f.erase(0, 16).unwrap();
        f.write(8, &[2; 8]).unwrap();
        let mut out = [0; 3];
        f.read(9, &mut out).unwrap();
        assert_eq!(out, [2; 3]);
        assert_eq!((f.writes(), f.erases()), (2, 1));
    }

    #[test]
    fn a_power_cut_tears_the_operation_under_way_and_stops_the_rest() {
        let mut f = Flash::new([0; 64]);
        f.cut_power_after(1);
        f.write(0, &[1; 8]).unwrap();
        assert_eq!(f.write(8, &[2; 8]), Err(RamFlashError::PowerLost));
        assert_eq!(&f.bytes()[8..16], &[2, 2, 2, 2, 0xff, 0xff, 0xff, 0xff]);
        let mut out = [0; 1];
        assert_eq!(f.read(0, &mut out), Err(RamFlashError::PowerLost));
        f.restore_power();
        f.read(0, &mut out).unwrap();
        assert_eq!(out, [1]);
        f.write(16, &[3; 8]).unwrap();
        f.cut_power_after(0);
        assert_eq!(f.erase(0, 32), Err(RamFlashError::PowerLost));
        assert_eq!(f.bytes()[..16], [0xff; 16], "first half erased");
        assert_eq!(f.bytes()[16..24], [3; 8], "second half not");
    }

    #[test]
    fn injected_failures_hit_one_kind_of_operation() {
        let mut f = Flash::new([0; 64]);
        f.fail(FlashOp::Erase, true);
        assert_eq!(f.erase(0, 16), Err(RamFlashError::Injected));
        f.write(0, &[0; 8]).unwrap();
        f.fail(FlashOp::Erase, false);
        f.erase(0, 16).unwrap();
    }
}
