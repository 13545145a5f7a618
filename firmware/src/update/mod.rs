//! Firmware update over the host link: signed images into the slot not running, A/B.
//!
//! The board's flash holds two image slots and a small boot-state record ([`FlashLayout`]).
//! The board runs from one slot; an update ([`Updater`]) erases and writes only the other one,
//! reads the image back to check its CRC-32 and its ed25519 signature against the key built
//! into the running firmware ([`FIRMWARE_KEY`]), and only then writes "try the other slot" in
//! the boot-state record (commit). The board resets; the bootloader starts the new image once
//! and records that it did ([`boot::select`]); the new image confirms itself when a host
//! `Hello` succeeds. An image that never gets that far — it hangs, crashes into the hardware
//! watchdog, or cannot talk to the host — is rolled back by the next boot. So:
//!
//! - an interrupted transfer, a corrupt image, a wrong or missing signature, or a power cut at
//!   any point before commit leave the boot state as it was: the board boots what it ran;
//! - a power cut while the record is written leaves the old record or the new one, never
//!   neither (the record is an append-only log in two halves, see [`boot`]);
//! - the slot running is never erased or written, and neither is the fallback of an image on
//!   trial (an update begun on an unconfirmed image first confirms it, or is refused);
//! - an image whose signed security version is below the floor the boot state keeps (the
//!   highest security version confirmed) is refused as a rollback before anything is erased,
//!   unless the begin carries the engineer's explicit override; the floor rises only when a
//!   trial image confirms itself, and never falls ([`SecurityState`], `docs/wire.md`,
//!   "Anti-rollback").
//!
//! The link side — which command maps to which method, the deferred acks of the long erase and
//! verify steps, no keying during an update and no update while keyed — is in
//! [`crate::responder`]. The wire rules are in `docs/wire.md`, "Firmware update".
//!
//! # What the board support code provides
//! - a `NorFlash` (embedded-storage 0.3) over the internal flash, and the [`FlashLayout`] of
//!   slots and boot-state area on it (erase-unit aligned, checked by [`Updater::new`]); for a
//!   part with large uneven sectors, a [`SectorDevice`] under a [`SectoredFlash`], which
//!   presents them as one small erase unit and keeps everything outside its sector table
//!   (the bootloader) out of reach;
//! - the slot the running image was linked for, passed to [`Updater::new`];
//! - a reset once [`crate::responder::Responder::wants_reset`] says the commit's ack is out;
//! - a bootloader that runs [`boot::boot`] and jumps to the slot it returns, and a hardware
//!   watchdog, so a hung trial image is reset and rolled back.
//!
//! On a part that executes in place, each image is linked for the slot it will run from; the
//! release build produces one per slot and the host sends the one for the slot not running
//! (`BoardInfo.slot` tells which).

pub mod boot;
mod key;
mod layout;
mod no_flash;
pub mod ram_flash;
mod sectored;
mod updater;
mod version;

#[cfg(test)]
mod tests;

pub use boot::SecurityState;
pub use key::{DEV_PUBLIC_KEY_HEX, FIRMWARE_KEY, IS_DEV_KEY, VerifyingKey};
pub use layout::{FlashLayout, LayoutError, MAX_WRITE_SIZE};
pub use no_flash::NoFlash;
pub use sectored::{Sector, SectorDevice, SectorTableError, SectoredError, SectoredFlash};
pub use updater::{Done, Updater, VERIFY_STEP};
pub use version::{parse_version, try_parse_version};
