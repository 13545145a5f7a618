//! Type-5 elements (ETSI TS 100 392-18-1 §6.1 and §6.3.88–§6.3.89): the optional tail of every
//! LIP PDU with an extension. Each element is a 5-bit identifier, a 6-bit length in bits and that
//! many bits of value; the long location report carries its location message reference, result
//! code and terminal identity this way, a request its destination and accuracies.
//!
//! [`Type5Elements`] is a view of the tail as the radio sent it: parsing checks that every
//! element fits, iterating yields [`Type5Element`]s, and emitting writes the same bits back, so
//! identifiers borderlink does not interpret are kept rather than dropped. Two tails the
//! standard allows but that cannot be walked are kept too, as opaque bits: an element whose
//! length field is 0 (the length-extension form, whose layout this decoder does not read) ends
//! the walk, and so does a tail of zero bits (fill some radios add to reach a whole octet).

use core::fmt;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::super::SdsError;
use super::super::bits::{BitReader, BitWriter, Bits};
use super::fields::ResultCode;

/// Bits of a type-5 element identifier.
const ID_BITS: u8 = 5;
/// Bits of a type-5 element length.
const LEN_BITS: u8 = 6;

/// The type-5 element identifiers (§6.3.88).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Type5Id(pub u8);

impl Type5Id {
    /// 4: where location reports are to be sent.
    pub const LOCATION_INFORMATION_DESTINATION: Self = Self(4);
    /// 6: a reference the answer or acknowledgement repeats.
    pub const LOCATION_MESSAGE_REFERENCE: Self = Self(6);
    /// 12: the outcome of a request, or why a report has no position.
    pub const RESULT_CODE: Self = Self(12);
    /// 13: an SDS type-1 value.
    pub const SDS_TYPE_1_VALUE: Self = Self(13);
    /// 15: a status value.
    pub const STATUS_VALUE: Self = Self(15);
    /// 17: the identity of the reporting terminal or of the location.
    pub const TERMINAL_OR_LOCATION_IDENTIFICATION: Self = Self(17);

    /// The standard's name for the identifier, or `None` for reserved values.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "direction of travel and direction of travel accuracy",
            1 => "extended user defined data",
            2 => "horizontal position and horizontal position accuracy",
            3 => "horizontal velocity and horizontal velocity accuracy",
            4 => "location information destination",
            5 => "location altitude and location altitude accuracy",
            6 => "location message reference",
            7 => "maximum information age",
            8 => "maximum response time",
            9 => "default enable/disable lifetime",
            11 => "request priority",
            12 => "result code",
            13 => "SDS type-1 value",
            14 => "start time",
            15 => "status value",
            16 => "stop time",
            17 => "terminal or location identification",
            19 => "trigger definition",
            20 => "trigger removal",
            21 => "vertical velocity and vertical velocity accuracy",
            22 => "temporary control parameter definition",
            _ => return None,
        })
    }
}

impl fmt::Display for Type5Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "reserved element {}", self.0),
        }
    }
}

/// One type-5 element: its identifier and value bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type5Element<'a> {
    /// What the value is.
    pub id: Type5Id,
    /// The PDU's bits the value lies in.
    data: Bits<'a>,
    /// Bit offset of the value within `data`.
    start: u16,
    /// Length of the value in bits (1–63).
    len: u8,
}

impl Type5Element<'_> {
    /// Length of the value in bits.
    pub const fn bit_len(&self) -> u8 {
        self.len
    }

    /// The value as an unsigned number, if it is at most 32 bits.
    pub fn value(&self) -> Option<u32> {
        if self.len > 32 {
            return None;
        }
        let mut r = self.data.reader();
        skip(&mut r, usize::from(self.start)).ok()?;
        r.read(self.len).ok()
    }
}

impl Serialize for Type5Element<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Type5Element", 4)?;
        s.serialize_field("id", &self.id.0)?;
        s.serialize_field("name", &self.id.name())?;
        s.serialize_field("bits", &self.len)?;
        s.serialize_field("value", &self.value())?;
        s.end()
    }
}

/// Advances `r` by `n` bits.
fn skip(r: &mut BitReader<'_>, mut n: usize) -> Result<(), SdsError> {
    while n > 0 {
        let step = n.min(32);
        // `step` is at most 32.
        r.read(step as u8)?;
        n -= step;
    }
    Ok(())
}

/// The type-5 elements at the end of a LIP PDU, as received.
#[derive(Clone, Copy)]
pub struct Type5Elements<'a> {
    /// The whole LIP payload (after the protocol identifier).
    data: Bits<'a>,
    /// Bit offset of the first element within `data`.
    start: u16,
}

impl<'a> Type5Elements<'a> {
    /// No elements.
    pub const EMPTY: Type5Elements<'static> = Type5Elements {
        data: Bits::EMPTY,
        start: 0,
    };

    /// The elements of `data` from bit `start` on, checking that each one fits. `origin` is the
    /// bit offset of `data` in the whole user data, for errors.
    pub(super) fn parse(data: Bits<'a>, start: usize, origin: u16) -> Result<Self, SdsError> {
        let start_u16 = u16::try_from(start).unwrap_or(u16::MAX);
        let elements = Type5Elements {
            data,
            start: start_u16,
        };
        let mut r = BitReader::with_origin(data, origin);
        skip(&mut r, start)?;
        while r.remaining() > 0 {
            if elements.only_zeros_from(r.position()) {
                break;
            }
            let _id = r.read_u8(ID_BITS)?;
            let len = r.read_u8(LEN_BITS)?;
            if len == 0 {
                // The length-extension form: kept as opaque bits (see the module doc).
                break;
            }
            if usize::from(len) > r.remaining() {
                return Err(SdsError::Truncated {
                    at_bit: u16::try_from(r.position() + usize::from(origin)).unwrap_or(u16::MAX),
                    needed: u16::from(len),
                    available: u16::try_from(r.remaining()).unwrap_or(u16::MAX),
                });
            }
            skip(&mut r, usize::from(len))?;
        }
        Ok(elements)
    }

    /// Elements built from bits written by [`Type5Elements::write`] (or any valid tail): `data`
    /// holds nothing but the elements.
    pub fn from_bits(data: Bits<'a>) -> Result<Self, SdsError> {
        Self::parse(data, 0, 0)
    }

    /// Writes one element (identifier, length, value) with `w`; the value is `len` bits of
    /// `value` (at most 32 bits, 1 or more).
    pub fn write(w: &mut BitWriter<'_>, id: Type5Id, len: u8, value: u32) -> Result<(), SdsError> {
        w.write(u32::from(id.0), ID_BITS)?;
        w.write(u32::from(len.clamp(1, 32)), LEN_BITS)?;
        w.write(value, len.clamp(1, 32))
    }

    fn only_zeros_from(&self, pos: usize) -> bool {
        let mut r = self.data.reader();
        if skip(&mut r, pos).is_err() {
            return true;
        }
        while r.remaining() > 0 {
            let step = r.remaining().min(32);
            match r.read(step as u8) {
                Ok(0) => {}
                _ => return false,
            }
        }
        true
    }

    /// Bits the elements take, fill included.
    pub fn bit_len(&self) -> usize {
        usize::from(self.data.bit_len()).saturating_sub(usize::from(self.start))
    }

    /// Whether there are no bits at all.
    pub fn is_empty(&self) -> bool {
        self.bit_len() == 0
    }

    /// The elements in order; stops before a length extension or fill.
    pub fn iter(&self) -> Type5Iter<'a> {
        let mut reader = self.data.reader();
        let _ = skip(&mut reader, usize::from(self.start));
        Type5Iter {
            elements: *self,
            reader,
        }
    }

    /// The first element with identifier `id`.
    pub fn find(&self, id: Type5Id) -> Option<Type5Element<'a>> {
        self.iter().find(|e| e.id == id)
    }

    /// Bits left after the walkable elements: a length-extension element and what follows, or
    /// fill. Zero for a tail made only of ordinary elements.
    pub fn opaque_bits(&self) -> usize {
        let mut it = self.iter();
        for _ in it.by_ref() {}
        it.reader.remaining()
    }

    /// The location message reference (§6.3.44), if present.
    pub fn location_message_reference(&self) -> Option<u8> {
        self.find(Type5Id::LOCATION_MESSAGE_REFERENCE)
            .and_then(|e| e.value())
            .and_then(|v| u8::try_from(v).ok())
    }

    /// The result code (§6.3.68), if present.
    pub fn result_code(&self) -> Option<ResultCode> {
        self.find(Type5Id::RESULT_CODE)
            .and_then(|e| e.value())
            .and_then(|v| u8::try_from(v).ok())
            .map(ResultCode)
    }

    /// The SSI of a terminal or location identification (§6.3.80) given as an SSI (address
    /// type 1) or an SSI and MNI (type 2): 4 bits of type, then 24 of SSI.
    pub fn terminal_ssi(&self) -> Option<u32> {
        let e = self.find(Type5Id::TERMINAL_OR_LOCATION_IDENTIFICATION)?;
        if e.len < 28 {
            return None;
        }
        let mut r = e.data.reader();
        skip(&mut r, usize::from(e.start)).ok()?;
        match r.read(4).ok()? {
            1 | 2 => r.read(24).ok(),
            _ => None,
        }
    }

    /// Writes the elements exactly as received.
    pub(super) fn emit(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        let mut r = self.data.reader();
        skip(&mut r, usize::from(self.start))?;
        while r.remaining() > 0 {
            let step = r.remaining().min(32) as u8;
            w.write(r.read(step)?, step)?;
        }
        Ok(())
    }

    fn bits(&self) -> impl Iterator<Item = u32> + '_ {
        let mut r = self.data.reader();
        let _ = skip(&mut r, usize::from(self.start));
        core::iter::from_fn(move || r.read(1).ok())
    }
}

/// Iterator over [`Type5Elements`].
#[derive(Debug, Clone)]
pub struct Type5Iter<'a> {
    elements: Type5Elements<'a>,
    reader: BitReader<'a>,
}

impl<'a> Iterator for Type5Iter<'a> {
    type Item = Type5Element<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.remaining() == 0 || self.elements.only_zeros_from(self.reader.position()) {
            return None;
        }
        let mut ahead = self.reader.clone();
        let id = ahead.read_u8(ID_BITS).ok()?;
        let len = ahead.read_u8(LEN_BITS).ok()?;
        if len == 0 || usize::from(len) > ahead.remaining() {
            return None;
        }
        let start = u16::try_from(ahead.position()).ok()?;
        skip(&mut ahead, usize::from(len)).ok()?;
        self.reader = ahead;
        Some(Type5Element {
            id: Type5Id(id),
            data: self.elements.data,
            start,
            len,
        })
    }
}

impl PartialEq for Type5Elements<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bit_len() == other.bit_len() && self.bits().eq(other.bits())
    }
}

impl Eq for Type5Elements<'_> {}

impl core::hash::Hash for Type5Elements<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.bit_len().hash(state);
        for b in self.bits() {
            b.hash(state);
        }
    }
}

impl fmt::Debug for Type5Elements<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()?;
        match self.opaque_bits() {
            0 => Ok(()),
            n => write!(f, " + {n} opaque bits"),
        }
    }
}

impl fmt::Display for Type5Elements<'_> {
    /// E.g. `location message reference (6) = 42; result code (12) = 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match e.value() {
                Some(v) => write!(f, "{} = {v}", e.id)?,
                None => write!(f, "{} ({} bits)", e.id, e.len)?,
            }
        }
        match self.opaque_bits() {
            0 => Ok(()),
            n => write!(f, " + {n} opaque bits"),
        }
    }
}

impl Serialize for Type5Elements<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // postcard needs the length up front.
        let mut s = serializer.serialize_seq(Some(self.iter().count()))?;
        for e in self.iter() {
            s.serialize_element(&e)?;
        }
        s.end()
    }
}
