//! Joining the parts of a concatenated text (protocol 0x8A, see [`udh`](super::udh)) back into
//! one message, in bounded memory and without a clock.
//!
//! Parts may arrive in any order and some may never arrive. The [`Reassembler`] keeps at most
//! `SLOTS` messages in progress, each of at most `PARTS` parts and `BYTES` octets of text; a new
//! message when all slots are taken evicts the oldest. Time is passed in: a message whose first
//! part is older than the timeout is dropped by [`Reassembler::handle_timeout`], which the
//! caller runs when [`Reassembler::poll_timeout`] says. A part whose reference matches a message
//! in progress but whose total or coding differs starts that message afresh: the sender has
//! reused the reference.

use core::fmt;

use heapless::Vec;

use super::udh::{ConcatReference, UdhText};
use super::{TextChars, TextCoding};
use crate::sds::SdsError;
use crate::sds::bits::Bits;
use crate::time::{Duration, Instant};

/// Why a part was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReassemblyError {
    /// The text has no concatenation element; it is a whole message by itself.
    NotConcatenated,
    /// The message has more parts than the reassembler keeps.
    TooManyParts {
        /// Parts the message has.
        total: u8,
        /// Parts the reassembler keeps per message.
        max: usize,
    },
    /// The parts' text is longer than the reassembler keeps; the message is dropped.
    TooLong {
        /// Octets the message needs so far.
        needed: usize,
        /// Octets the reassembler keeps per message.
        max: usize,
    },
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReassemblyError::NotConcatenated => f.write_str("not part of a concatenated text"),
            ReassemblyError::TooManyParts { total, max } => {
                write!(f, "a text of {total} parts, more than the {max} kept")
            }
            ReassemblyError::TooLong { needed, max } => {
                write!(f, "a text of {needed} octets, more than the {max} kept")
            }
        }
    }
}

impl core::error::Error for ReassemblyError {}

/// What a part did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'r> {
    /// Stored; the message still lacks parts.
    Incomplete {
        /// Parts received so far.
        received: u8,
        /// Parts the message has.
        total: u8,
    },
    /// This part number had already arrived (a repeat); ignored.
    Duplicate,
    /// The last missing part: the whole message, until the next call.
    Complete(Reassembled<'r>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    number: u8,
    start: u16,
    bits: u16,
}

#[derive(Debug)]
struct Slot<K, const PARTS: usize, const BYTES: usize> {
    source: K,
    reference: ConcatReference,
    coding: TextCoding,
    total: u8,
    started: Instant,
    parts: Vec<Part, PARTS>,
    data: Vec<u8, BYTES>,
    done: bool,
}

/// A whole message joined from its parts, in part order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reassembled<'r> {
    coding: TextCoding,
    reference: ConcatReference,
    parts: &'r [Part],
    data: &'r [u8],
}

impl<'r> Reassembled<'r> {
    /// The coding every part used.
    pub const fn coding(&self) -> TextCoding {
        self.coding
    }

    /// The concatenation reference.
    pub const fn reference(&self) -> ConcatReference {
        self.reference
    }

    /// How many parts it was sent in.
    pub const fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The characters of the whole text, or [`SdsError::UndefinedTextCoding`].
    pub fn chars(&self) -> Result<ReassembledChars<'r>, SdsError> {
        self.coding.alphabet()?;
        Ok(ReassembledChars {
            whole: *self,
            next: 0,
            current: None,
        })
    }
}

/// The characters of a [`Reassembled`] text, each part decoded on its own (a GSM escape or a
/// UCS-2 character never spans two parts).
#[derive(Debug, Clone)]
pub struct ReassembledChars<'r> {
    whole: Reassembled<'r>,
    next: usize,
    current: Option<TextChars<'r>>,
}

impl Iterator for ReassembledChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(c) = self.current.as_mut().and_then(Iterator::next) {
                return Some(c);
            }
            let part = self.whole.parts.get(self.next)?;
            self.next += 1;
            let start = usize::from(part.start);
            let end = start + usize::from(part.bits).div_ceil(8);
            let bits = self
                .whole
                .data
                .get(start..end)
                .and_then(|b| Bits::new(b, part.bits).ok())
                .unwrap_or(Bits::EMPTY);
            self.current = TextChars::new(self.whole.coding, bits).ok();
        }
    }
}

/// Joins concatenated text parts; see the [module documentation](self). `K` identifies the
/// sender (a TSI, say), so two units' messages with the same reference stay apart.
#[derive(Debug)]
pub struct Reassembler<K, const SLOTS: usize, const PARTS: usize, const BYTES: usize> {
    slots: Vec<Slot<K, PARTS, BYTES>, SLOTS>,
    timeout: Duration,
    evicted: u64,
    expired: u64,
}

impl<K: Copy + Eq, const SLOTS: usize, const PARTS: usize, const BYTES: usize>
    Reassembler<K, SLOTS, PARTS, BYTES>
{
    /// An empty reassembler that gives up on a message `timeout` after its first part.
    pub const fn new(timeout: Duration) -> Self {
        Reassembler {
            slots: Vec::new(),
            timeout,
            evicted: 0,
            expired: 0,
        }
    }

    /// Takes one part from `source`.
    pub fn push(
        &mut self,
        now: Instant,
        source: K,
        text: &UdhText<'_>,
    ) -> Result<Progress<'_>, ReassemblyError> {
        self.slots.retain(|s| !s.done);
        let concat = text
            .header
            .concatenation()
            .ok_or(ReassemblyError::NotConcatenated)?;
        if usize::from(concat.total()) > PARTS {
            return Err(ReassemblyError::TooManyParts {
                total: concat.total(),
                max: PARTS,
            });
        }
        let found = self
            .slots
            .iter()
            .position(|s| s.source == source && s.reference == concat.reference());
        let at = match found {
            Some(i)
                if self
                    .slots
                    .get(i)
                    .is_some_and(|s| s.total == concat.total() && s.coding == text.coding) =>
            {
                i
            }
            other => {
                if let Some(i) = other {
                    self.slots.swap_remove(i);
                }
                self.open(now, source, concat.reference(), concat.total(), text.coding)
            }
        };
        let Some((duplicate, start)) = self.slots.get(at).map(|s| {
            (
                s.parts.iter().any(|p| p.number == concat.part()),
                s.data.len(),
            )
        }) else {
            return Err(ReassemblyError::NotConcatenated);
        };
        if duplicate {
            return Ok(Progress::Duplicate);
        }
        let needed = start + usize::from(text.text.bit_len()).div_ceil(8);
        if needed > BYTES {
            self.slots.swap_remove(at);
            return Err(ReassemblyError::TooLong { needed, max: BYTES });
        }
        let Some(slot) = self.slots.get_mut(at) else {
            return Err(ReassemblyError::NotConcatenated);
        };
        // Checked above: the text fits.
        for b in text.text.bytes() {
            let _ = slot.data.push(b);
        }
        // `total <= PARTS` and part numbers are distinct, so there is room.
        let _ = slot.parts.push(Part {
            number: concat.part(),
            start: start as u16,
            bits: text.text.bit_len(),
        });
        let received = slot.parts.len() as u8;
        if received < slot.total {
            return Ok(Progress::Incomplete {
                received,
                total: slot.total,
            });
        }
        slot.done = true;
        slot.parts.sort_unstable_by_key(|p| p.number);
        Ok(Progress::Complete(Reassembled {
            coding: slot.coding,
            reference: slot.reference,
            parts: &slot.parts,
            data: &slot.data,
        }))
    }

    fn open(
        &mut self,
        now: Instant,
        source: K,
        reference: ConcatReference,
        total: u8,
        coding: TextCoding,
    ) -> usize {
        if self.slots.is_full()
            && let Some(oldest) = self
                .slots
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.started)
                .map(|(i, _)| i)
        {
            self.slots.swap_remove(oldest);
            self.evicted += 1;
        }
        let _ = self.slots.push(Slot {
            source,
            reference,
            coding,
            total,
            started: now,
            parts: Vec::new(),
            data: Vec::new(),
            done: false,
        });
        self.slots.len().saturating_sub(1)
    }

    /// Drops messages whose first part is a timeout old; returns how many.
    pub fn handle_timeout(&mut self, now: Instant) -> usize {
        self.slots.retain(|s| !s.done);
        let before = self.slots.len();
        let timeout = self.timeout;
        self.slots.retain(|s| s.started + timeout > now);
        let dropped = before - self.slots.len();
        self.expired += dropped as u64;
        dropped
    }

    /// When [`Reassembler::handle_timeout`] next has something to drop.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| !s.done)
            .map(|s| s.started + self.timeout)
            .min()
    }

    /// Messages in progress.
    pub fn in_progress(&self) -> usize {
        self.slots.iter().filter(|s| !s.done).count()
    }

    /// Messages dropped to make room for a newer one.
    pub const fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Messages dropped because a part never came.
    pub const fn expired(&self) -> u64 {
        self.expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sds::text::SdsTlText;
    use crate::sds::text::udh::{Concatenation, UserDataHeader};
    use crate::sds::tl::TransferHeader;
    use proptest::prelude::*;
    use std::string::String;

    type Small = Reassembler<u32, 2, 4, 32>;
    const T: Duration = Duration::from_secs(60);

    fn part(reference: u8, total: u8, number: u8, text: &[u8]) -> UdhText<'_> {
        UdhText {
            sds_tl: SdsTlText {
                header: TransferHeader::new(number),
                timestamp: None,
            },
            coding: TextCoding::LATIN_1,
            header: UserDataHeader::Concatenation(
                Concatenation::new(ConcatReference::Short(reference), total, number).unwrap(),
            ),
            text: Bits::from_bytes(text).unwrap(),
        }
    }

    fn whole(p: Progress<'_>) -> String {
        match p {
            Progress::Complete(r) => r.chars().unwrap().collect(),
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn parts_out_of_order_join_in_part_order() {
        let mut r = Small::new(T);
        let now = Instant::ZERO;
        assert_eq!(
            r.push(now, 7, &part(1, 3, 3, b"ive")),
            Ok(Progress::Incomplete {
                received: 1,
                total: 3
            })
        );
        assert_eq!(
            r.push(now, 7, &part(1, 3, 1, b"Patch ")),
            Ok(Progress::Incomplete {
                received: 2,
                total: 3
            })
        );
        assert_eq!(
            whole(r.push(now, 7, &part(1, 3, 2, b"act")).unwrap()),
            "Patch active"
        );
        assert_eq!(r.in_progress(), 0);
    }

    #[test]
    fn repeated_part_is_a_duplicate() {
        let mut r = Small::new(T);
        r.push(Instant::ZERO, 7, &part(1, 2, 1, b"a")).unwrap();
        assert_eq!(
            r.push(Instant::ZERO, 7, &part(1, 2, 1, b"a")),
            Ok(Progress::Duplicate)
        );
    }

    #[test]
    fn two_senders_with_one_reference_stay_apart() {
        let mut r = Small::new(T);
        r.push(Instant::ZERO, 1, &part(5, 2, 1, b"one ")).unwrap();
        r.push(Instant::ZERO, 2, &part(5, 2, 1, b"two ")).unwrap();
        assert_eq!(
            whole(r.push(Instant::ZERO, 2, &part(5, 2, 2, b"B")).unwrap()),
            "two B"
        );
        assert_eq!(
            whole(r.push(Instant::ZERO, 1, &part(5, 2, 2, b"A")).unwrap()),
            "one A"
        );
    }

    #[test]
    fn a_missing_part_times_out() {
        let mut r = Small::new(T);
        let t0 = Instant::from_micros(1_000);
        r.push(t0, 7, &part(1, 2, 1, b"a")).unwrap();
        assert_eq!(r.poll_timeout(), Some(t0 + T));
        assert_eq!(r.handle_timeout(t0 + T - Duration::from_micros(1)), 0);
        assert_eq!(r.handle_timeout(t0 + T), 1);
        assert_eq!(r.expired(), 1);
        assert_eq!(r.poll_timeout(), None);
        // The late part starts a new message rather than completing the dropped one.
        assert_eq!(
            r.push(t0 + T, 7, &part(1, 2, 2, b"b")),
            Ok(Progress::Incomplete {
                received: 1,
                total: 2
            })
        );
    }

    #[test]
    fn full_reassembler_evicts_the_oldest() {
        let mut r = Small::new(T);
        r.push(Instant::from_micros(1), 1, &part(1, 2, 1, b"a"))
            .unwrap();
        r.push(Instant::from_micros(2), 2, &part(1, 2, 1, b"b"))
            .unwrap();
        r.push(Instant::from_micros(3), 3, &part(1, 2, 1, b"c"))
            .unwrap();
        assert_eq!(r.evicted(), 1);
        assert_eq!(r.in_progress(), 2);
        // Sender 1's message is gone: its second part starts afresh.
        assert!(matches!(
            r.push(Instant::from_micros(4), 1, &part(1, 2, 2, b"x")),
            Ok(Progress::Incomplete { received: 1, .. })
        ));
    }

    #[test]
    fn more_parts_than_kept_is_refused() {
        let mut r = Small::new(T);
        assert_eq!(
            r.push(Instant::ZERO, 1, &part(1, 5, 1, b"a")),
            Err(ReassemblyError::TooManyParts { total: 5, max: 4 })
        );
    }

    #[test]
    fn text_longer_than_kept_drops_the_message() {
        let mut r = Small::new(T);
        r.push(Instant::ZERO, 1, &part(1, 2, 1, &[b'a'; 20]))
            .unwrap();
        assert_eq!(
            r.push(Instant::ZERO, 1, &part(1, 2, 2, &[b'b'; 20])),
            Err(ReassemblyError::TooLong {
                needed: 40,
                max: 32
            })
        );
        assert_eq!(r.in_progress(), 0);
    }

    #[test]
    fn reused_reference_with_another_total_starts_afresh() {
        let mut r = Small::new(T);
        r.push(Instant::ZERO, 1, &part(1, 3, 1, b"old")).unwrap();
        assert_eq!(
            whole(r.push(Instant::ZERO, 1, &part(1, 1, 1, b"new")).unwrap()),
            "new"
        );
    }

    #[test]
    fn a_text_without_concatenation_is_refused() {
        let mut r = Small::new(T);
        let mut p = part(1, 2, 1, b"a");
        p.header = UserDataHeader::Elements(Bits::EMPTY);
        assert_eq!(
            r.push(Instant::ZERO, 1, &p),
            Err(ReassemblyError::NotConcatenated)
        );
    }

    proptest! {
        #[test]
        fn any_arrival_order_rebuilds_the_text(
            chunks in proptest::collection::vec(proptest::collection::vec(0x20u8..0x7f, 0..8), 1..=4),
            seed in any::<u64>(),
        ) {
            let total = chunks.len() as u8;
            let mut order: std::vec::Vec<usize> = (0..chunks.len()).collect();
            // A cheap deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut r = Small::new(T);
            let mut out = None;
            for (k, &i) in order.iter().enumerate() {
                let p = part(9, total, i as u8 + 1, &chunks[i]);
                let progress = r.push(Instant::ZERO, 1, &p).unwrap();
                if k + 1 == order.len() {
                    out = Some(whole(progress));
                } else {
                    let is_incomplete = matches!(progress, Progress::Incomplete { .. });
                    prop_assert!(is_incomplete);
                }
            }
            let expected: String = chunks.concat().iter().map(|&b| char::from(b)).collect();
            prop_assert_eq!(out, Some(expected));
        }
    }
}
