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
//!
//! # Format 2: the security version (anti-rollback)
//! The board also keeps a *floor*: the highest security version it has confirmed, below which
//! it refuses images ([`SecurityState`]). The bootloader in sector 0 is never updated, so a
//! board in the field keeps reading this log with the format-1 rules above for ever; the
//! floor therefore travels in an *extension* entry in the write unit right after a format-1
//! entry, which a format-1 reader skips as an unknown entry (and counts as used space, as it
//! must):
//!
//! `"BLSV"` · floor (u32 LE) · trial's security version (u32 LE) · CRC-32/ISO-HDLC (u32 LE) of
//! the format-1 entry's first 12 bytes (magic to attempted and padding, not its CRC) followed
//! by the extension's first 12 bytes.
//!
//! The CRC ties the extension to its own entry (counter included). A writer of format 2 writes
//! the extension first and the format-1 entry second, so a power cut between the two leaves
//! an orphan extension that belongs to no entry, and the previous record stands whole. The
//! latest valid extension carries the floor: entries without one (written by an old bootloader
//! or an old image) leave it as it was; a log with none at all (a board that never ran a
//! format-2 image) has floor 0, so such a board boots exactly as before (migration).

use borderlink_protocol::link::{Slot, image_crc32};
use embedded_storage::nor_flash::NorFlash;

use super::layout::{FlashLayout, MAX_WRITE_SIZE};

/// Length of one boot-state entry before padding to the flash's write unit.
pub const RECORD_LEN: usize = 16;

const MAGIC: [u8; 4] = *b"BLBS";

/// The magic of a format-2 extension entry.
const EXT_MAGIC: [u8; 4] = *b"BLSV";

/// Length of a format-2 extension entry before padding to the flash's write unit.
pub const EXTENSION_LEN: usize = 16;

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

/// The anti-rollback part of the boot state (format 2): which security versions the board
/// takes. It travels beside the [`BootState`] in every record a format-2 writer appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SecurityState {
    /// The lowest security version the board takes without an explicit override: the highest
    /// one it has confirmed. It never falls.
    pub floor: u32,
    /// The security version of the committed image a trial is recorded for (meaningless when
    /// no trial is): the floor rises to it when that image confirms itself.
    pub trial: u32,
}

impl SecurityState {
    /// The state after the image on trial confirmed itself: the floor rises to its security
    /// version, never falls (an image taken below the floor by override leaves it as it is).
    pub fn confirmed(self) -> Self {
        let floor = self.floor.max(self.trial);
        SecurityState {
            floor,
            trial: floor,
        }
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
/// The security state is carried over unchanged into what it writes.
pub fn boot<F: NorFlash>(flash: &mut F, layout: &FlashLayout) -> Selection {
    let stored = read(flash, layout).ok().flatten();
    let state = stored.map(|s| s.state);
    let security = stored.map_or(SecurityState::default(), |s| s.security);
    let selection = select(state);
    match selection.record {
        Some(record) if write(flash, layout, record, security).is_err() => {
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
    /// From the latest entry that has an extension (not necessarily this one).
    pub(crate) security: SecurityState,
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

fn encode_extension(entry: &[u8; RECORD_LEN], security: SecurityState) -> [u8; EXTENSION_LEN] {
    let mut ext = [0xff; EXTENSION_LEN];
    ext[..4].copy_from_slice(&EXT_MAGIC);
    ext[4..8].copy_from_slice(&security.floor.to_le_bytes());
    ext[8..12].copy_from_slice(&security.trial.to_le_bytes());
    let crc = extension_crc(entry, &ext[..12]);
    ext[12..].copy_from_slice(&crc.to_le_bytes());
    ext
}

/// The security state in `ext` if it is a valid extension of the format-1 `entry`.
fn decode_extension(entry: &[u8], ext: &[u8]) -> Option<SecurityState> {
    let entry: &[u8; RECORD_LEN] = entry.get(..RECORD_LEN)?.try_into().ok()?;
    let head = ext.get(..12)?;
    let crc = u32::from_le_bytes(ext.get(12..16)?.try_into().ok()?);
    if head.get(..4)? != EXT_MAGIC || extension_crc(entry, head) != crc {
        return None;
    }
    Some(SecurityState {
        floor: u32::from_le_bytes(head.get(4..8)?.try_into().ok()?),
        trial: u32::from_le_bytes(head.get(8..12)?.try_into().ok()?),
    })
}

fn extension_crc(entry: &[u8; RECORD_LEN], ext_head: &[u8]) -> u32 {
    let mut digest = borderlink_protocol::link::IMAGE_CRC.digest();
    // The entry without its own CRC: a CRC run over a message and its appended CRC ends in
    // the same residue for every message, which would tie the extension to no entry at all.
    digest.update(entry.get(..12).unwrap_or_default());
    digest.update(ext_head);
    digest.finalize()
}

/// A format-1 entry, without the security state (which only an extension carries).
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
        security: SecurityState::default(),
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
    /// The security state of the latest valid entry with an extension, and its counter.
    security: Option<(SecurityState, u32)>,
    /// Per half, the index after the last entry that is not blank (written, torn or garbage).
    next: [u32; 2],
}

fn scan<F: NorFlash>(flash: &mut F, layout: &FlashLayout) -> Result<Scan, F::Error> {
    let len = record_len(F::WRITE_SIZE);
    let half = layout.state_half();
    let per_half = half / len as u32;
    let mut buf = [0u8; ENTRY_BUF];
    let mut ext_buf = [0u8; ENTRY_BUF];
    let entry = buf.get_mut(..len).unwrap_or_default();
    let ext = ext_buf.get_mut(..len).unwrap_or_default();
    let mut found = Scan {
        latest: None,
        security: None,
        next: [0; 2],
    };
    for h in 0..2u32 {
        for i in 0..per_half {
            flash.read(layout.state + h * half + i * len as u32, entry)?;
            if entry.iter().all(|&b| b == 0xff) {
                continue;
            }
            found.next[h as usize] = i + 1;
            // An extension, orphan or not, is no format-1 entry: it is skipped here, as a
            // format-1 reader skips it, and read below as the unit after its entry.
            let Some(stored) = decode(entry) else {
                continue;
            };
            if found
                .latest
                .is_none_or(|(best, _)| stored.counter > best.counter)
            {
                found.latest = Some((stored, h));
            }
            if i + 1 < per_half {
                flash.read(layout.state + h * half + (i + 1) * len as u32, ext)?;
                if let Some(security) = decode_extension(entry, ext)
                    && found
                        .security
                        .is_none_or(|(_, counter)| stored.counter > counter)
                {
                    found.security = Some((security, stored.counter));
                }
            }
        }
    }
    if let (Some((stored, _)), Some((security, _))) = (&mut found.latest, found.security) {
        stored.security = security;
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

/// The security state the boot-state area holds (floor 0 if no record has one).
pub fn security<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
) -> Result<SecurityState, F::Error> {
    Ok(read(flash, layout)?.map_or(SecurityState::default(), |stored| stored.security))
}

/// The latest valid record, if any.
pub(crate) fn read<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
) -> Result<Option<Stored>, F::Error> {
    Ok(scan(flash, layout)?.latest.map(|(stored, _)| stored))
}

/// Appends `state` with `security` as the new latest record (a format-1 entry and its
/// extension, in two write units), and reads it back.
pub(crate) fn write<F: NorFlash>(
    flash: &mut F,
    layout: &FlashLayout,
    state: BootState,
    security: SecurityState,
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
        next if next + 2 <= per_half => (current, next),
        _ => {
            // The current half is full: the log goes on in the other one, erased first.
            let other = 1 - current;
            let start = layout.state + other * half;
            flash.erase(start, start + half).map_err(|_| WriteFailed)?;
            (other, 0)
        }
    };
    let record = encode(state, counter);
    let mut entry_buf = [0xffu8; ENTRY_BUF];
    let entry = entry_buf.get_mut(..len).ok_or(WriteFailed)?;
    entry
        .get_mut(..RECORD_LEN)
        .ok_or(WriteFailed)?
        .copy_from_slice(&record);
    let mut ext_buf = [0xffu8; ENTRY_BUF];
    let ext = ext_buf.get_mut(..len).ok_or(WriteFailed)?;
    ext.get_mut(..EXTENSION_LEN)
        .ok_or(WriteFailed)?
        .copy_from_slice(&encode_extension(&record, security));
    let offset = layout.state + h * half + index * len as u32;
    let ext_offset = offset + len as u32;
    // The extension first: alone it is an orphan that changes nothing, so the record becomes
    // the latest only when its format-1 entry is whole, extension and all.
    flash.write(ext_offset, ext).map_err(|_| WriteFailed)?;
    flash.write(offset, entry).map_err(|_| WriteFailed)?;
    let mut back = [0u8; ENTRY_BUF];
    let back = back.get_mut(..len).ok_or(WriteFailed)?;
    flash.read(offset, back).map_err(|_| WriteFailed)?;
    if back != entry {
        return Err(WriteFailed);
    }
    flash.read(ext_offset, back).map_err(|_| WriteFailed)?;
    if back != ext {
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
                counter: 0x0102_0304,
                security: SecurityState::default(),
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
        // 8 records (entry and extension) per half: 40 writes use both halves more than once.
        for n in 0..40u32 {
            let state = states[n as usize % 3];
            write(&mut f, &LAYOUT, state, SecurityState::default()).unwrap();
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
                    write(&mut f, &LAYOUT, old, SecurityState::default()).unwrap();
                }
                f.cut_power_after(cut);
                let result = write(&mut f, &LAYOUT, new, SecurityState::default());
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
                write(&mut f, &LAYOUT, new, SecurityState::default()).unwrap();
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
        write(&mut f, &LAYOUT, state, SecurityState::default()).unwrap();
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
        write(&mut f, &LAYOUT, trial, SecurityState::default()).unwrap();
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

    // ---- Format 2 next to format-1 readers and writers (migration) ------------------------

    /// The bootloader in sector 0 is never updated: a board in the field reads and writes this
    /// log with the format-1 code for ever. This is that code, as it was: format-1 entries
    /// only, anything else skipped (but counted as used), wrapping when a half is full.
    mod format_1 {
        use super::*;
        use embedded_storage::nor_flash::ReadNorFlash;

        fn scan(f: &mut Flash, layout: &FlashLayout) -> (Option<(Stored, u32)>, [u32; 2]) {
            let len = record_len(8);
            let half = layout.state_half();
            let per_half = half / len as u32;
            let mut latest: Option<(Stored, u32)> = None;
            let mut next = [0; 2];
            for h in 0..2u32 {
                for i in 0..per_half {
                    let mut entry = vec![0u8; len];
                    f.read(layout.state + h * half + i * len as u32, &mut entry)
                        .unwrap();
                    if entry.iter().all(|&b| b == 0xff) {
                        continue;
                    }
                    next[h as usize] = i + 1;
                    if let Some(stored) = decode(&entry)
                        && latest.is_none_or(|(best, _)| stored.counter > best.counter)
                    {
                        latest = Some((stored, h));
                    }
                }
            }
            (latest, next)
        }

        pub(super) fn read(f: &mut Flash, layout: &FlashLayout) -> Option<BootState> {
            scan(f, layout).0.map(|(s, _)| s.state)
        }

        pub(super) fn write(f: &mut Flash, layout: &FlashLayout, state: BootState) {
            let (latest, next) = scan(f, layout);
            let len = record_len(8);
            let half = layout.state_half();
            let per_half = half / len as u32;
            let counter = latest.map_or(1, |(s, _)| s.counter + 1);
            let current = latest.map_or(0, |(_, h)| h);
            let (h, index) = if next[current as usize] < per_half {
                (current, next[current as usize])
            } else {
                let start = layout.state + (1 - current) * half;
                f.erase(start, start + half).unwrap();
                (1 - current, 0)
            };
            f.write(
                layout.state + h * half + index * len as u32,
                &encode(state, counter),
            )
            .unwrap();
        }

        /// The format-1 bootloader: decide, record, boot.
        pub(super) fn boot(f: &mut Flash, layout: &FlashLayout) -> Selection {
            let selection = select(read(f, layout));
            if let Some(record) = selection.record {
                write(f, layout, record);
            }
            selection
        }
    }

    #[test]
    fn a_board_with_a_format_1_record_boots_as_before_and_has_floor_0() {
        let mut f = flash();
        let trial = BootState {
            active: Slot::A,
            trial: Some(Slot::B),
            attempted: false,
        };
        // What an image of before this change left: format-1 entries only.
        format_1::write(&mut f, &LAYOUT, BootState::confirmed(Slot::A));
        format_1::write(&mut f, &LAYOUT, trial);
        let stored = read(&mut f, &LAYOUT).unwrap().unwrap();
        assert_eq!(stored.state, trial);
        assert_eq!(stored.security, SecurityState::default());
        // The new bootloader decides what the old one would have, and records it readably.
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::B, BootKind::Trial));
        assert_eq!(
            format_1::read(&mut f, &LAYOUT),
            Some(BootState {
                attempted: true,
                ..trial
            })
        );
        let s = boot(&mut f, &LAYOUT);
        assert_eq!((s.slot, s.kind), (Slot::A, BootKind::RolledBack));
        assert_eq!(security(&mut f, &LAYOUT).unwrap().floor, 0);
    }

    #[test]
    fn a_format_1_bootloader_reads_format_2_records_and_keeps_their_floor() {
        let secure = SecurityState { floor: 5, trial: 7 };
        for prior in 0..12 {
            let mut f = flash();
            // Fill the log a little, so that some writes wrap to the other half.
            for _ in 0..prior {
                write(
                    &mut f,
                    &LAYOUT,
                    BootState::confirmed(Slot::A),
                    SecurityState { floor: 5, trial: 5 },
                )
                .unwrap();
            }
            let trial = BootState {
                active: Slot::A,
                trial: Some(Slot::B),
                attempted: false,
            };
            write(&mut f, &LAYOUT, trial, secure).unwrap();
            // The old bootloader sees the commit, starts the trial and records it...
            assert_eq!(
                format_1::read(&mut f, &LAYOUT),
                Some(trial),
                "prior {prior}"
            );
            let s = format_1::boot(&mut f, &LAYOUT);
            assert_eq!((s.slot, s.kind), (Slot::B, BootKind::Trial));
            // ...which the new image reads, floor and trial's security version intact.
            let stored = read(&mut f, &LAYOUT).unwrap().unwrap();
            assert!(stored.state.is_trial_of(Slot::B), "prior {prior}");
            assert_eq!(stored.security, secure, "prior {prior}");
            // The image confirms: the floor rises to 7, and the old bootloader boots it.
            write(
                &mut f,
                &LAYOUT,
                BootState::confirmed(Slot::B),
                stored.security.confirmed(),
            )
            .unwrap();
            let s = format_1::boot(&mut f, &LAYOUT);
            assert_eq!(
                (s.slot, s.kind),
                (Slot::B, BootKind::Normal),
                "prior {prior}"
            );
            assert_eq!(security(&mut f, &LAYOUT).unwrap().floor, 7, "prior {prior}");
        }
    }

    #[test]
    fn an_extension_alone_or_on_another_entry_counts_for_nothing() {
        let mut f = flash();
        let secure = SecurityState { floor: 3, trial: 3 };
        write(&mut f, &LAYOUT, BootState::confirmed(Slot::A), secure).unwrap();
        // Power lost after the extension of the next record, before its entry.
        f.cut_power_after(1);
        let torn = write(
            &mut f,
            &LAYOUT,
            BootState::confirmed(Slot::B),
            SecurityState { floor: 9, trial: 9 },
        );
        f.restore_power();
        assert!(torn.is_err());
        let stored = read(&mut f, &LAYOUT).unwrap().unwrap();
        assert_eq!(stored.state, BootState::confirmed(Slot::A));
        assert_eq!(stored.security, secure);
        // An extension copied next to another entry fails its CRC.
        let entry = encode(BootState::confirmed(Slot::A), 1);
        let other = encode(BootState::confirmed(Slot::B), 1);
        let ext = encode_extension(&entry, secure);
        assert_eq!(decode_extension(&entry, &ext), Some(secure));
        assert_eq!(decode_extension(&other, &ext), None);
        for i in 0..EXTENSION_LEN {
            let mut bad = ext;
            bad[i] ^= 0x04;
            assert_eq!(decode_extension(&entry, &bad), None, "byte {i} flipped");
        }
    }
}
