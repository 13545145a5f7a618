//! Bit-granular access to short data: TETRA packs SDS fields MSB-first with no regard for byte
//! boundaries (LIP's longitude is 25 bits starting at bit 12), and the PEI gives the payload
//! length in bits, so a byte slice alone never says where the data ends.
//!
//! [`Bits`] is a byte slice paired with its bit length; [`BitReader`] reads fields from it with
//! bounds checks that return [`SdsError::Truncated`]; [`BitWriter`] writes fields into a caller
//! buffer and zeroes the unused tail of the last byte.

use core::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::SdsError;

/// Bytes plus the number of meaningful bits in them, MSB first.
///
/// The bytes are trimmed to exactly the bytes the bit count touches. Bits of the last byte past
/// the bit count are ignored: equality, hashing and serialization treat them as zero.
#[derive(Clone, Copy)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    bits: u16,
}

impl<'a> Bits<'a> {
    /// Empty bit string.
    pub const EMPTY: Bits<'static> = Bits {
        bytes: &[],
        bits: 0,
    };

    /// The first `bits` bits of `bytes`; fails if the bytes hold fewer bits than that.
    pub fn new(bytes: &'a [u8], bits: u16) -> Result<Self, SdsError> {
        let used = usize::from(bits).div_ceil(8);
        match bytes.get(..used) {
            Some(bytes) => Ok(Bits { bytes, bits }),
            None => Err(SdsError::BitLengthExceedsData {
                bits,
                available: bytes.len().saturating_mul(8),
            }),
        }
    }

    /// All of `bytes`, or `None` if they hold more than `u16::MAX` bits.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        let bits = u16::try_from(bytes.len().checked_mul(8)?).ok()?;
        Some(Bits { bytes, bits })
    }

    /// The number of meaningful bits.
    pub const fn bit_len(&self) -> u16 {
        self.bits
    }

    /// Whether there are no bits.
    pub const fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The bytes the bits live in; the last one may carry ignored bits past the bit length.
    pub const fn raw_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Byte `index` with any bits past the bit length cleared.
    pub fn byte(&self, index: usize) -> Option<u8> {
        let b = *self.bytes.get(index)?;
        let end = usize::from(self.bits);
        let first_bit = index.saturating_mul(8);
        let live = end.saturating_sub(first_bit).min(8);
        // `live` is 1..=8 here because `bytes` is trimmed to the bytes the bit count touches.
        Some(b & !(0xffu8.checked_shr(live as u32).unwrap_or(0)))
    }

    /// The bytes with the ignored tail bits cleared, one at a time.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..self.bytes.len()).filter_map(move |i| self.byte(i))
    }

    /// A reader positioned at the first bit.
    pub fn reader(&self) -> BitReader<'a> {
        BitReader {
            data: *self,
            pos: 0,
            origin: 0,
        }
    }

    /// Whole bytes from byte `start` on, if `start` is within the data.
    fn tail_from_byte(&self, start: usize) -> Option<Bits<'a>> {
        let bits = usize::from(self.bits).checked_sub(start.checked_mul(8)?)?;
        Some(Bits {
            bytes: self.bytes.get(start..)?,
            bits: u16::try_from(bits).ok()?,
        })
    }
}

impl PartialEq for Bits<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits && self.bytes().eq(other.bytes())
    }
}

impl Eq for Bits<'_> {}

impl core::hash::Hash for Bits<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
        for b in self.bytes() {
            b.hash(state);
        }
    }
}

impl fmt::Debug for Bits<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bits({}: {self})", self.bits)
    }
}

impl fmt::Display for Bits<'_> {
    /// Lower-case hex of the bytes, tail bits cleared.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Serializes as `{ "bits": n, "hex": "..." }` with the ignored tail bits cleared.
impl Serialize for Bits<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Bits", 2)?;
        s.serialize_field("bits", &self.bits)?;
        s.serialize_field("hex", &HexField(*self))?;
        s.end()
    }
}

struct HexField<'a>(Bits<'a>);

impl Serialize for HexField<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Reads MSB-first fields from [`Bits`], failing instead of reading past the bit length.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: Bits<'a>,
    pos: usize,
    /// Bit offset of `data` within the whole user data, so errors name absolute positions.
    origin: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `data` whose bit 0 sits at bit `origin` of the whole user data; `origin`
    /// only affects the offsets reported in errors.
    pub fn with_origin(data: Bits<'a>, origin: u16) -> Self {
        BitReader {
            data,
            pos: 0,
            origin: usize::from(origin),
        }
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits left to read.
    pub fn remaining(&self) -> usize {
        usize::from(self.data.bits).saturating_sub(self.pos)
    }

    /// Reads an unsigned field of `width` bits (at most 32).
    pub fn read(&mut self, width: u8) -> Result<u32, SdsError> {
        let width = usize::from(width.min(32));
        if width > self.remaining() {
            return Err(self.truncated(width));
        }
        let mut value: u32 = 0;
        for i in self.pos..self.pos + width {
            let byte = self.data.bytes.get(i / 8).copied().unwrap_or(0);
            let bit = (byte >> (7 - i % 8)) & 1;
            value = (value << 1) | u32::from(bit);
        }
        self.pos += width;
        Ok(value)
    }

    /// Reads a `width`-bit field as `u8` (`width` at most 8).
    pub fn read_u8(&mut self, width: u8) -> Result<u8, SdsError> {
        // The field is at most 8 bits wide, so it fits.
        self.read(width.min(8)).map(|v| v as u8)
    }

    /// Reads a single bit as a flag.
    pub fn read_bool(&mut self) -> Result<bool, SdsError> {
        self.read(1).map(|v| v == 1)
    }

    /// Reads a two's-complement signed field of `width` bits (1 to 32).
    pub fn read_signed(&mut self, width: u8) -> Result<i32, SdsError> {
        let width = width.clamp(1, 32);
        let raw = self.read(width)?;
        // Shift the sign bit up to bit 31, then arithmetic-shift back down to sign-extend.
        let shift = 32 - u32::from(width);
        Ok(((raw << shift) as i32) >> shift)
    }

    /// Everything after the current position, which must be on a byte boundary.
    pub fn rest(&self) -> Option<Bits<'a>> {
        if !self.pos.is_multiple_of(8) {
            return None;
        }
        self.data.tail_from_byte(self.pos / 8)
    }

    fn truncated(&self, width: usize) -> SdsError {
        let at = self.origin.saturating_add(self.pos);
        SdsError::Truncated {
            at_bit: u16::try_from(at).unwrap_or(u16::MAX),
            needed: u16::try_from(width).unwrap_or(u16::MAX),
            available: u16::try_from(self.remaining()).unwrap_or(u16::MAX),
        }
    }
}

/// Writes MSB-first fields into a caller buffer.
///
/// Every bit it covers is written, set or cleared, so stale buffer contents never leak into the
/// output; [`BitWriter::finish`] also clears the rest of the last byte.
#[derive(Debug)]
pub struct BitWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> BitWriter<'a> {
    /// A writer at the first bit of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        BitWriter { buf, pos: 0 }
    }

    /// Bits written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Writes the low `width` bits of `value` (`width` at most 32).
    pub fn write(&mut self, value: u32, width: u8) -> Result<(), SdsError> {
        let width = usize::from(width.min(32));
        let end = self.pos.saturating_add(width);
        if end > self.buf.len().saturating_mul(8) {
            return Err(SdsError::BufferTooSmall {
                needed: end.div_ceil(8),
                available: self.buf.len(),
            });
        }
        for (n, i) in (self.pos..end).enumerate() {
            let bit = (value >> (width - 1 - n)) & 1;
            let mask = 0x80u8 >> (i % 8);
            if let Some(byte) = self.buf.get_mut(i / 8) {
                if bit == 1 {
                    *byte |= mask;
                } else {
                    *byte &= !mask;
                }
            }
        }
        self.pos = end;
        Ok(())
    }

    /// Writes a signed value as a `width`-bit two's-complement field.
    pub fn write_signed(&mut self, value: i32, width: u8) -> Result<(), SdsError> {
        self.write(value as u32, width)
    }

    /// Writes a flag as one bit.
    pub fn write_bool(&mut self, flag: bool) -> Result<(), SdsError> {
        self.write(u32::from(flag), 1)
    }

    /// Copies the meaningful bits of `bits`.
    pub fn write_bits(&mut self, bits: &Bits<'_>) -> Result<(), SdsError> {
        let mut left = usize::from(bits.bit_len());
        for b in bits.bytes() {
            let take = left.min(8);
            self.write(u32::from(b) >> (8 - take), take as u8)?;
            left -= take;
        }
        Ok(())
    }

    /// Clears the unused bits of the last byte and returns (bytes used, bits written).
    pub fn finish(self) -> (usize, usize) {
        let used = self.pos.div_ceil(8);
        if !self.pos.is_multiple_of(8)
            && let Some(last) = self.buf.get_mut(self.pos / 8)
        {
            *last &= !(0xffu8 >> (self.pos % 8));
        }
        (used, self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_fields_across_byte_boundaries() {
        let data = [0b1010_1100, 0b0101_0011, 0xff];
        let bits = Bits::new(&data, 20).unwrap();
        let mut r = bits.reader();
        assert_eq!(r.read(3), Ok(0b101));
        assert_eq!(r.read(10), Ok(0b01_1000_1010));
        assert_eq!(r.read_bool(), Ok(false));
        assert_eq!(r.remaining(), 6);
        assert_eq!(r.read(6), Ok(0b11_1111));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn signed_fields_sign_extend() {
        let data = [0b1111_1110, 0b0111_1111];
        let mut r = Bits::new(&data, 16).unwrap().reader();
        assert_eq!(r.read_signed(8), Ok(-2));
        assert_eq!(r.read_signed(1), Ok(0));
        assert_eq!(r.read_signed(7), Ok(-1));
    }

    #[test]
    fn reading_past_the_bit_length_is_an_error_not_a_panic() {
        let data = [0xff, 0xff];
        let mut r = BitReader::with_origin(Bits::new(&data, 12).unwrap(), 8);
        assert_eq!(r.read(10), Ok(0x3ff));
        assert_eq!(
            r.read(3),
            Err(SdsError::Truncated {
                at_bit: 18,
                needed: 3,
                available: 2
            })
        );
        // A failed read consumes nothing.
        assert_eq!(r.read(2), Ok(0b11));
    }

    #[test]
    fn bit_length_beyond_the_bytes_is_refused() {
        assert_eq!(
            Bits::new(&[0u8; 2], 17),
            Err(SdsError::BitLengthExceedsData {
                bits: 17,
                available: 16
            })
        );
    }

    #[test]
    fn tail_bits_are_ignored_by_equality_and_display() {
        let a = Bits::new(&[0xab, 0xc0], 10).unwrap();
        let b = Bits::new(&[0xab, 0xff, 0x12], 10).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.raw_bytes(), &[0xab, 0xff]);
        assert_eq!(std::format!("{b}"), "abc0");
        assert_ne!(a, Bits::new(&[0xab, 0x80], 10).unwrap());
    }

    #[test]
    fn writer_overwrites_stale_bytes_and_clears_the_tail() {
        let mut buf = [0xa5u8; 3];
        let mut w = BitWriter::new(&mut buf);
        w.write(0b101, 3).unwrap();
        w.write_signed(-3, 5).unwrap();
        w.write(0, 2).unwrap();
        assert_eq!(w.finish(), (2, 10));
        assert_eq!(buf, [0b1011_1101, 0b0000_0000, 0xa5]);
    }

    #[test]
    fn writer_refuses_to_overflow_the_buffer() {
        let mut buf = [0u8; 1];
        let mut w = BitWriter::new(&mut buf);
        w.write(1, 6).unwrap();
        assert_eq!(
            w.write(0, 3),
            Err(SdsError::BufferTooSmall {
                needed: 2,
                available: 1
            })
        );
    }

    #[test]
    fn rest_needs_a_byte_boundary() {
        let data = [1, 2, 3];
        let bits = Bits::new(&data, 20).unwrap();
        let mut r = bits.reader();
        r.read(4).unwrap();
        assert_eq!(r.rest(), None);
        r.read(4).unwrap();
        assert_eq!(r.rest(), Some(Bits::new(&[2, 3], 12).unwrap()));
    }

    proptest! {
        #[test]
        fn write_then_read_round_trips(fields in proptest::collection::vec((any::<u32>(), 1u8..=32), 0..20)) {
            let mut buf = [0xa5u8; 80];
            let mut w = BitWriter::new(&mut buf);
            for &(v, width) in &fields {
                w.write(v, width).unwrap();
            }
            let (_, bits) = w.finish();
            let bits = Bits::new(&buf, bits as u16).unwrap();
            let mut r = bits.reader();
            for &(v, width) in &fields {
                let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
                prop_assert_eq!(r.read(width), Ok(v & mask));
            }
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn write_bits_copies_exactly(data in proptest::collection::vec(any::<u8>(), 0..12), cut in 0usize..96, lead in 0u8..8) {
            let cut = cut.min(data.len() * 8) as u16;
            let src = Bits::new(&data, cut).unwrap();
            let mut buf = [0xa5u8; 16];
            let mut w = BitWriter::new(&mut buf);
            w.write(0, lead).unwrap();
            w.write_bits(&src).unwrap();
            let (_, total) = w.finish();
            let out = Bits::new(&buf, total as u16).unwrap();
            let mut r = out.reader();
            r.read(lead).unwrap();
            let mut s = src.reader();
            while s.remaining() > 0 {
                prop_assert_eq!(r.read(1), s.read(1));
            }
            prop_assert_eq!(r.remaining(), 0);
        }
    }
}
