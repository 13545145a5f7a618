//! The boot-state record, and what a bootloader decides from it.
//!
//! The record says which slot holds the confirmed image (`active`), which one holds a
//! committed image waiting for its trial boot (`trial`), and whether that trial boot has been
//! started (`attempted`). The updater writes it at two moments only — commit (`trial` set)
//! and confirmation (`active` moved to the trial slot, `trial` cleared) — and the bootloader
//! at two more: just before it starts a trial (`attempted` set) and when it finds a trial that
//! started and never confirmed (`trial` cleared: rolled back). So:
//!
//! | record | boots | record written first |
//! |---|---|---|
//! | none valid (new board) | A | — |
//! | `active X`, no trial | X | — |
//! | `active X`, trial Y not attempted | Y, on trial | trial Y attempted |
//! | `active X`, trial Y attempted | X (rolled back) | `active X`, no trial |
//!
//! A trial image that hangs is reset by the hardware watchdog, and one that never hears a host
//! `Hello` never confirms: either way the next boot is the rollback row.
//!
//! # In flash
//! Flash cannot rewrite a record in place, so the record is a log: each change appends a
//! 16-byte entry (padded to the write unit) with a counter one higher than the last, and the
//! entry with the highest counter and a good CRC wins. The area is split into two halves used
//! in turn: when one is full the other is erased and the log goes on there, so the latest
//! valid entry always survives a power cut — during an append (the torn entry fails its CRC
//! and the one before stands) or during the erase of the other half (the current half is
//! untouched).
//!
//! Entry layout: `"BLBS"` · counter (u32 LE) · active (0 A, 1 B) · trial (0 A, 1 B, 0xFF none)
//! · attempted (0, 1) · 0xFF · CRC-32/ISO-HDLC of the first 12 bytes (u32 LE).

use borderlink_protocol::link::{Slot, image_crc32};
use embedded_storage::nor_flash::NorFlash;

use super::layout::{FlashLayout, MAX_WRITE_SIZE};

/// Length of one boot-state entry before padding to the flash's write unit.
pub const RECORD_LEN: usize = 16;

const MAGIC: [u8; 4] = *b"BLBS";

/// Room for one entry at the largest write unit the layout allows.
const ENTRY_BUF: usize = if MAX_WRITE_SIZE > RECORD_LEN {
    MAX_WRITE_SIZE
} else {
    RECORD_LEN
};

/// The length an entry takes in flash with write unit `write_size`.
pub const fn record_len(write_size: usize) -> usize {
    if write_size >= RECORD_LEN {
        write_size
    } else {
        RECORD_LEN.div_ceil(write_size) * write_size
    }
}

/// Which slot to boot and whether an update is on trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BootState {
    /// The slot holding the last confirmed image.
    pub active: Slot,
    /// A committed image waiting for, or in, its trial boot.
    pub trial: Option<Slot>,
    /// Whether the bootloader has started the trial image.
    pub attempted: bool,
}

impl BootState {
    /// The state of a board that was never updated: slot A, as a debug probe flashed it.
    pub const FACTORY: BootState = BootState {
        active: Slot::A,
        trial: None,
        attempted: false,
    };

    /// The settled state with `slot` confirmed and no trial.
    pub const fn confirmed(slot: Slot) -> Self {
        BootState {
            active: slot,
            trial: None,
            attempted: false,
        }
    }

    /// Whether `slot` is running on trial under this state (the bootloader started it and it
    /// has not confirmed).
    pub fn is_trial_of(&self, slot: Slot) -> bool {
        self.attempted && self.trial == Some(slot)
    }
}

/// What kind of boot the bootloader makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BootKind {
    /// The confirmed image.
    Normal,
    /// A committed image, for the first time: it must confirm itself.
    Trial,
    /// The confirmed image again, because the trial image never confirmed.
    RolledBack,
}

/// A bootloader's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Selection {
    /// The slot to start.
    pub slot: Slot,
    /// Why that one.
    pub kind: BootKind,
    /// The record to write before starting it, if it changes.
    pub record: Option<BootState>,
}

/// What a bootloader does with the latest boot-state record (`None` if no valid one exists).
/// Pure: [`boot`] applies it to a flash.
pub fn select(state: Option<BootState>) -> Selection {
    let state = state.unwrap_or(BootState::FACTORY);
    match state.trial {
        Some(trial) if !state.attempted => Selection {
            slot: trial,
            kind: BootKind::Trial,
            record: Some(BootState {
                attempted: true,
                ..state
            }),
        },
        Some(_) => Selection {
            slot: state.active,
            kind: BootKind::RolledBack,
            record: Some(BootState::confirmed(state.active)),
        },
        None => Selection {
            slot: state.active,
            kind: BootKind::Normal,
            record: None,
        },
    }
}

/// The bootloader's part, on a real flash: reads the record, decides with [`select`], writes
/// the record's change and returns the slot to start. If the record cannot be written, a trial
/// is not started (an unrecorded attempt could never roll back): the confirmed image boots.
pub fn boot<F: NorFlash>(flash: &mut F, layout: &FlashLayout) -> Selection {
    let state = read(flash, layout).ok().flatten().map(|s| s.state);
    let selection = select(state);
    match selection.record {
        Some(record) if write(flash, layout, record).is_err() => {
            let active = state.unwrap_or(BootState::FACTORY).active;
            Selection {
                slot: active,
                kind: if selection.kind == BootKind::Trial {
                    BootKind::Normal
                } else {
                    selection.kind
                },
                record: None,
            }
        }
        _ => selection,
    }
}

/// Whether the first two words of a Cortex-M vector table — the initial stack pointer and
/// the reset vector — describe an image a bootloader may start from the slot at `image`: the
/// stack pointer inside (or at the top of) `ram` and word aligned, the reset vector a Thumb
/// address inside the slot. An erased slot (0xFFFF_FFFF) fails, and so does an image linked
/// for the other slot, whose reset vector points there.
pub fn entry_is_plausible(
    initial_sp: u32,
    reset: u32,
    image: core::ops::Range<u32>,
    ram: core::ops::Range<u32>,
) -> bool {
    let sp_ok = initial_sp > ram.start && initial_sp <= ram.end && initial_sp.is_multiple_of(4);
    let thumb = reset & 1 == 1;
    // The vector table itself sits at the start of the slot: code comes after it.
    let code = reset & !1;
    sp_ok && thumb && code > image.start && image.contains(&code)
}

/// A record as read from flash, with its position in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) state: BootState,
    pub(crate) counter: u32,
}

/// A boot-state write that did not stick (flash error, or the entry read back differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteFailed;

fn encode(state: BootState, counter: u32) -> [u8; RECORD_LEN] {
    let mut entry = [0xff; RECORD_LEN];
    let (head, crc) = entry.split_at_mut(12);
    head[..4].copy_from_slice(&MAGIC);
    head[4..8].copy_from_slice(&counter.to_le_bytes());
    head[8] = slot_byte(state.active);
    head[9] = state.trial.map_or(0xff, slot_byte);
    head[10] = u8::from(state.attempted);
    crc.copy_from_slice(&image_crc32(head).to_le_bytes());
    entry
}

fn decode(entry: &[u8]) -> Option<Stored> {
    let head = entry.get(..12)?;
    let crc = u32::from_le_bytes(entry.get(12..16)?.try_into().ok()?);
    if head.get(..4)? != MAGIC || image_crc32(head) != crc {
        return None;
    }
    let counter = u32::from_le_bytes(head.get(4..8)?.try_into().ok()?);
    let active = slot_of(*head.get(8)?)?;
    let trial = match *head.get(9)? {
        0xff => None,
        b => Some(slot_of(b)?),
    };
    let attempted = match *head.get(10)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    Some(Stored {
        state: BootState {
            active,
            trial,
            attempted,
        },
        counter,
    })
}

const fn slot_byte(slot: Slot) -> u8 {
    match slot {
        Slot::A => 0,
        Slot::B => 1,
    }
}

const fn slot_of(byte: u8) -> Option<Slot> {
    match byte {
        0 => Some(Slot::A),
        1 => Some(Slot::B),
        _ => None,
    }
}

/// What a scan of both halves found.
struct Scan {
    /// The latest valid entry and the half holding it.
    latest: Option<(Stored, u32)>,
    /// Per half, the index after the last entry that is not blank (written, torn or garbage).
    next: [u32; 2],
}

fn scan<F: NorFlash>(flash: &mut F, layout: &FlashLayout) -> Result<Scan, F::Error> {
    let len = record_len(F::WRITE_SIZE);
    let half = layout.state_half();
    let per_half = half / len as u32;
    let mut buf = [0u8; ENTRY_BUF];
    let entry = buf.get_mut(..len).unwrap_or_default();
    let mut found = Scan {
        latest: None,
        next: [0; 2],
    };
    for h in 0..2u32 {
        for i in 0..per_half {
            flash.read(layout.state + h * half + i * len as u32, entry)?;
            if entry.iter().all(|&b| b == 0xff) {
                continue;
            }
            found.next[h as usize] = i + 1;
            if let Some(stored) = decode(entry)
                && found
                    .latest
                    .is_none_or(|(best, _)| stored.counter > best.counter)
            {
                found.latest = Some((stored, h));
            }
        }
    }
    Ok(found)
}

/// The latest valid record in the boot-state area, if any: what the bootloader will act on
/// (for tools that inspect a board's flash).
pub fn latest<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
) -> Result<Option<BootState>, F::Error> {
    Ok(read(flash, layout)?.map(|stored| stored.state))
}

/// The latest valid record, if any.
pub(crate) fn read<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
) -> Result<Option<Stored>, F::Error> {
    Ok(scan(flash, layout)?.latest.map(|(stored, _)| stored))
}

/// Appends `state` as the new latest record, and reads it back.
pub(crate) fn write<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
    state: BootState,
) -> Result<(), WriteFailed> {
    let found = scan(flash, layout).map_err(|_| WriteFailed)?;
    let len = record_len(F::WRITE_SIZE);
    let half = layout.state_half();
    let per_half = half / len as u32;
    let counter = found
        .latest
        .map_or(1, |(stored, _)| stored.counter.wrapping_add(1));
    let current = found.latest.map_or(0, |(_, h)| h);
    let (h, index) = match found.next[current as usize] {
        next if next < per_half => (current, next),
        _ => {
            // The current half is full: the log goes on in the other one, erased first.
            let other = 1 - current;
            let start = layout.state + other * half;
            flash.erase(start, start + half).map_err(|_| WriteFailed)?;
            (other, 0)
        }
    };
    let mut buf = [0xffu8; ENTRY_BUF];
    let entry = buf.get_mut(..len).ok_or(WriteFailed)?;
    entry
        .get_mut(..RECORD_LEN)
        .ok_or(WriteFailed)?
        .copy_from_slice(&encode(state, counter));
    let offset = layout.state + h * half + index * len as u32;
    flash.write(offset, entry).map_err(|_| WriteFailed)?;
    let mut back = [0u8; ENTRY_BUF];
    let back = back.get_mut(..len).ok_or(WriteFailed)?;
    flash.read(offset, back).map_err(|_| WriteFailed)?;
    if back != entry {
        return Err(WriteFailed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::update::ram_flash::RamFlash;

    type Flash = RamFlash<Vec<u8>, 8, 256>;

    /// Two tiny slots and a boot-state area of two 256-byte halves (8 entries each).
    const LAYOUT: FlashLayout = FlashLayout::new(0, 1024, 1024, 2048, 512);

    fn flash() -> Flash {
        RamFlash::new(vec![0; 2560])
    }

    #[test]
    fn entry_plausibility() {
        let slot_a = 0x0802_0000..0x0804_0000;
        let slot_b = 0x0804_0000..0x0806_0000;
        let ram = 0x2000_0000..0x2002_0000;
        assert!(entry_is_plausible(
            0x2000_2800,
            0x0802_0401,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(entry_is_plausible(
            0x2002_0000,
            0x0802_0401,
            slot_a.clone(),
            ram.clone()
        ));
        // Erased, linked for the other slot, not Thumb, stack outside RAM or misaligned.
        assert!(!entry_is_plausible(
            u32::MAX,
            u32::MAX,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(!entry_is_plausible(
            0x2000_2800,
            0x0802_0401,
            slot_b,
            ram.clone()
        ));
        assert!(!entry_is_plausible(
            0x2000_2800,
            0x0802_0400,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(!entry_is_plausible(
            0x2002_0004,
            0x0802_0401,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(!entry_is_plausible(
            0x2000_0000,
            0x0802_0401,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(!entry_is_plausible(
            0x2000_2802,
            0x0802_0401,
            slot_a.clone(),
            ram.clone()
        ));
        assert!(!entry_is_plausible(0x2000_2800, 0x0802_0001, slot_a, ram));
    }

    #[test]
    fn selection_table() {
        use BootKind::*;
        let trial = |attempted| BootState {
            active: Slot::A,
            trial: Some(Slot::B),
            attempted,
        };
        assert_eq!(
            select(None),
            Selection {
                slot: Slot::A,
                kind: Normal,
                record: None
            }
        );
        assert_eq!(
            select(Some(BootState::confirmed(Slot::B))),
            Selection {
                slot: Slot::B,
                kind: Normal,
                record: None
            }
        );
        assert_eq!(
            select(Some(trial(false))),
            Selection {
                slot: Slot::B,
                kind: Trial,
                record: Some(trial(true))
            }
        );
        assert_eq!(
            select(Some(trial(true))),
            Selection {
                slot: Slot::A,
                kind: RolledBack,
                record: Some(BootState::confirmed(Slot::A))
            }
        );
        assert!(trial(true).is_trial_of(Slot::B));
        assert!(!trial(false).is_trial_of(Slot::B));
        assert!(!trial(true).is_trial_of(Slot::A));
    }

    #[test]
    fn entry_round_trips_and_rejects_damage() {
        let state = BootState {
            active: Slot::B,
            trial: Some(Slot::A),
            attempted: true,
        };
        let entry = encode(state, 0x0102_0304);
        assert_eq!(&entry[..12], b"BLBS\x04\x03\x02\x01\x01\x00\x01\xff");
        assert_eq!(
            decode(&entry),
            Some(Stored {
                state,
                counter: 0x0102_0304
            })
        );
        for i in 0..RECORD_LEN {
            let mut bad = entry;
            bad[i] ^= 0x10;
            assert_eq!(decode(&bad), None, "byte {i} flipped");
        }
        assert_eq!(decode(&[0xff; RECORD_LEN]), None);
    }

    #[test]
    fn the_log_wraps_to_the_other_half_and_keeps_the_latest() {
        let mut f = flash();
        assert_eq!(read(&mut f, &LAYOUT).unwrap(), None);
        let states = [
            BootState::confirmed(Slot::A),
            BootState {
                active: Slot::A,
                trial: Some(Slot::B),
                attempted: false,
            },
            BootState::confirmed(Slot::B),
        ];
        // 16 entries per half: 40 writes use both halves more than once.
        for n in 0..40u32 {
            let state = states[n as usize % 3];
            write(&mut f, &LAYOUT, state).unwrap();
            let got = read(&mut f, &LAYOUT).unwrap().unwrap();
            assert_eq!(got.state, state);
            assert_eq!(got.counter, n + 1);
        }
        assert!(f.erases() >= 2);
    }

    #[test]
    fn a_power_cut_at_any_point_of_a_write_keeps_the_old_or_the_new_record() {
        let old = BootState::confirmed(Slot::A);
        let new = BootState {
            active: Slot::A,
            trial: Some(Slot::B),
            attempted: false,
        };
        // Fill the first half so that some writes also erase the other half.
        for prior in 0..10 {
            for cut in 0..3 {
                let mut f = flash();
                for _ in 0..prior {
                    write(&mut f, &LAYOUT, old).unwrap();
                }
                f.cut_power_after(cut);
                let result = write(&mut f, &LAYOUT, new);
                f.restore_power();
                let got = read(&mut f, &LAYOUT).unwrap().map(|s| s.state);
                if result.is_ok() {
                    assert_eq!(got, Some(new));
                } else if prior == 0 {
                    assert!(got.is_none() || got == Some(new), "{prior} {cut}: {got:?}");
                } else {
                    assert_eq!(got, Some(old), "prior {prior}, cut after {cut}");
                }
                // And the log still takes writes.
                write(&mut f, &LAYOUT, new).unwrap();
                assert_eq!(read(&mut f, &LAYOUT).unwrap().map(|s| s.state), Some(new));
            }
        }
    }

    #[test]
    fn garbage_in_the_area_is_skipped_not_trusted() {
        let mut f = flash();
        // A debug probe left junk in the first half.
        f.bytes_mut()[2048..2048 + 100].fill(0x5a);
        assert_eq!(read(&mut f, &LAYOUT).unwrap(), None);
        let state = BootState::confirmed(Slot::B);
        write(&mut f, &LAYOUT, state).unwrap();
        assert_eq!(read(&mut f, &LAYOUT).unwrap().map(|s| s.state), Some(state));
    }

    #[test]
    fn boot_applies_the_selection_and_falls_back_when_it_cannot_record_a_trial() {
        let trial = BootState {
            active: Slot::A,
            trial: Some(Slot::B),
            attempted: false,
        };
        let mut f = flash();
        write(&mut f, &LAYOUT, trial).unwrap();
        f.fail(super::super::ram_flash::FlashOp::Write, true);
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::A, BootKind::Normal));
        f.fail(super::super::ram_flash::FlashOp::Write, false);
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::B, BootKind::Trial));
        // Never confirmed: the next boot rolls back, and the one after is normal.
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::A, BootKind::RolledBack));
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::A, BootKind::Normal));
    }
}
