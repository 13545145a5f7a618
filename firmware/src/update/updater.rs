//! [`Updater`]: receives an image into the slot not running, verifies it and commits it.

use core::fmt;

use borderlink_protocol::link::{
    FirmwareVersion, IMAGE_CRC, NackReason, Signature, Slot, UpdatePhase, signed_prefix,
    signed_prefix_v2,
};
use crc::{Crc, Digest};
use embedded_storage::nor_flash::NorFlash;

use super::boot::{self, BootState, SecurityState};
use super::key::VerifyingKey;
use super::layout::{FlashLayout, LayoutError, MAX_WRITE_SIZE};
use super::no_flash::NoFlash;

/// The image CRC as a static, so a running digest can borrow it across steps.
static IMAGE_CRC_STATIC: Crc<u32> = IMAGE_CRC;

/// How many image bytes one [`Updater::step`] reads back and hashes while verifying: about a
/// millisecond of SHA-512 on a Cortex-M4, so the board's main loop keeps turning.
pub const VERIFY_STEP: u32 = 2048;

/// The read buffer for verification, on the stack.
const READ_BUF: usize = 256;

/// What the announced image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Image {
    size: u32,
    crc32: u32,
    version: FirmwareVersion,
    /// The security version the signature must cover (`UpdateBeginSecure`), or `None` for a
    /// legacy image (`UpdateBegin`, signed without one), which counts as security version 0.
    security: Option<u32>,
}

impl Image {
    fn security_version(&self) -> u32 {
        self.security.unwrap_or(0)
    }
}

/// The CRC and signature checks under way, fed as the image is read back from flash.
#[derive(Clone)]
struct Checks {
    crc: Digest<'static, u32>,
    /// `None` once the signature is known to be bad (an unusable key, a malformed signature):
    /// the CRC is still finished so a corrupt image is reported as such.
    signature: Option<ed25519_compact::VerifyingState>,
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field("signature_possible", &self.signature.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "no allocator on the board: the verifier state lives inline, in static memory"
)]
enum Job {
    Idle,
    /// Erasing the target slot, one erase unit per step, from `next`.
    Erasing {
        image: Image,
        next: u32,
    },
    /// Writing chunks. `carry` holds the last `carry_len` bytes received, not yet written
    /// because they do not fill a write unit.
    Receiving {
        image: Image,
        received: u32,
        carry: [u8; MAX_WRITE_SIZE],
        carry_len: usize,
    },
    /// Reading the image back from `pos` on through the checks.
    Verifying {
        image: Image,
        pos: u32,
        checks: Checks,
    },
    Verified {
        image: Image,
    },
    /// The record says "try the new slot": the board resets next.
    Committed {
        image: Image,
    },
}

/// Long work that [`Updater::step`] finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The target slot is erased: `UpdateBegin` can be acknowledged.
    Erased,
    /// The image passed its CRC and signature: `UpdateVerify` can be acknowledged.
    Verified,
}

/// The board's end of a firmware update, over a NOR flash `F` holding two image slots and the
/// boot-state record ([`FlashLayout`]).
///
/// It only ever writes the slot that is not running, and changes the boot state only to
/// commit a verified image or to confirm a trial one, so an interrupted, corrupt or unsigned
/// update leaves the board booting what it runs now. Methods map one-to-one onto the link's
/// update commands and answer with the link's nack reasons. Erasing and verifying take long on
/// a real flash, so [`begin`](Self::begin) and [`verify`](Self::verify) only start them:
/// [`step`](Self::step) does a bounded piece at a time and says when the work is done.
#[derive(Debug)]
pub struct Updater<F> {
    flash: F,
    layout: FlashLayout,
    key: VerifyingKey,
    running: Slot,
    /// The boot state as last read or written.
    state: BootState,
    /// The anti-rollback state as last read or written.
    security: SecurityState,
    job: Job,
}

impl<F: NorFlash> Updater<F> {
    /// An updater over `flash` for an image running from slot `running` (where the board
    /// support code knows it was linked or found), accepting images signed for `key`. Reads
    /// the boot state to learn whether the running image is on trial.
    pub fn new(
        mut flash: F,
        layout: FlashLayout,
        key: VerifyingKey,
        running: Slot,
    ) -> Result<Self, LayoutError> {
        layout.check::<F>(flash.capacity())?;
        let (state, security) = if layout.is_empty() {
            (BootState::confirmed(running), SecurityState::default())
        } else {
            // An unreadable record reads as none: nothing is written until an update begins.
            boot::read(&mut flash, &layout)
                .ok()
                .flatten()
                .map_or((BootState::FACTORY, SecurityState::default()), |stored| {
                    (stored.state, stored.security)
                })
        };
        Ok(Updater {
            flash,
            layout,
            key,
            running,
            state,
            security,
            job: Job::Idle,
        })
    }

    /// The slot the running image came from.
    pub fn running_slot(&self) -> Slot {
        self.running
    }

    /// Whether the running image is on trial: committed by the last update, started once by
    /// the bootloader, not yet confirmed.
    pub fn is_trial(&self) -> bool {
        self.state.is_trial_of(self.running)
    }

    /// The boot state as last read or written.
    pub fn boot_state(&self) -> BootState {
        self.state
    }

    /// The anti-rollback state as last read or written: its `floor` is the lowest security
    /// version an update may bring without the override.
    pub fn security(&self) -> SecurityState {
        self.security
    }

    /// The layout.
    pub fn layout(&self) -> &FlashLayout {
        &self.layout
    }

    /// The flash.
    pub fn flash(&self) -> &F {
        &self.flash
    }

    /// The flash, mutable (tests inject failures through it).
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back (a simulated reset boots a new updater from it).
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// Where the update is, as `UpdateStatus` reports it: erasing and verifying count as
    /// receiving, committed as verified.
    pub fn phase(&self) -> UpdatePhase {
        match self.job {
            Job::Idle if self.is_trial() => UpdatePhase::Trial,
            Job::Idle => UpdatePhase::Idle,
            Job::Erasing { .. } | Job::Receiving { .. } | Job::Verifying { .. } => {
                UpdatePhase::Receiving
            }
            Job::Verified { .. } | Job::Committed { .. } => UpdatePhase::Verified,
        }
    }

    /// Image bytes received so far.
    pub fn received(&self) -> u32 {
        match self.job {
            Job::Idle | Job::Erasing { .. } => 0,
            Job::Receiving { received, .. } => received,
            Job::Verifying { image, .. } | Job::Verified { image } | Job::Committed { image } => {
                image.size
            }
        }
    }

    /// The announced image size, 0 when idle.
    pub fn size(&self) -> u32 {
        self.image().map_or(0, |image| image.size)
    }

    /// The announced version of the image being received, if any.
    pub fn incoming_version(&self) -> Option<FirmwareVersion> {
        self.image().map(|image| image.version)
    }

    /// Whether an update is under way (begun and not aborted, failed or confirmed): the board
    /// refuses to key a radio meanwhile.
    pub fn is_active(&self) -> bool {
        !matches!(self.job, Job::Idle)
    }

    /// Whether the next [`step`](Self::step) erases flash (which stops the core of a
    /// single-bank MCU for as long as the erase takes).
    pub fn is_erasing(&self) -> bool {
        matches!(self.job, Job::Erasing { .. })
    }

    /// Whether [`step`](Self::step) has work to do.
    pub fn is_working(&self) -> bool {
        matches!(self.job, Job::Erasing { .. } | Job::Verifying { .. })
    }

    /// Whether a verified image was committed: the board must reset (once the commit's ack has
    /// left) to boot it.
    pub fn is_committed(&self) -> bool {
        matches!(self.job, Job::Committed { .. })
    }

    /// Confirms the running image if it is on trial, so the next boot keeps it; `Ok(true)` if
    /// it was on trial. The board calls it when a host `Hello` succeeds: the image has booted,
    /// runs its main loop and talks to the host.
    pub fn confirm(&mut self) -> Result<bool, NackReason> {
        if !self.is_trial() {
            return Ok(false);
        }
        self.set_state(
            BootState::confirmed(self.running),
            self.security.confirmed(),
        )?;
        Ok(true)
    }

    /// `UpdateBegin`: starts erasing the other slot for a legacy image of `size` bytes, one
    /// signed without a security version (it counts as 0). Work for [`step`](Self::step),
    /// which reports [`Done::Erased`].
    pub fn begin(
        &mut self,
        size: u32,
        crc32: u32,
        version: FirmwareVersion,
    ) -> Result<(), NackReason> {
        self.begin_secure(size, crc32, version, None, false)
    }

    /// `UpdateBeginSecure`: like [`begin`](Self::begin) for an image signed with its
    /// `security_version` (`None`: a legacy image, version 0), refused
    /// [`NackReason::Rollback`] below the floor unless `allow_rollback` (the engineer's
    /// override; the floor stays where it is).
    pub fn begin_secure(
        &mut self,
        size: u32,
        crc32: u32,
        version: FirmwareVersion,
        security_version: Option<u32>,
        allow_rollback: bool,
    ) -> Result<(), NackReason> {
        let image = Image {
            size,
            crc32,
            version,
            security: security_version,
        };
        self.start(image, allow_rollback)
    }

    fn start(&mut self, image: Image, allow_rollback: bool) -> Result<(), NackReason> {
        let size = image.size;
        if self.is_active() {
            return Err(NackReason::UpdateInProgress);
        }
        if self.layout.is_empty() || size > self.layout.slot_size {
            return Err(NackReason::ImageTooLarge {
                max: self.layout.slot_size,
            });
        }
        if size == 0 {
            // Nothing to boot; no signature makes an empty image worth keeping.
            return Err(NackReason::Malformed);
        }
        // Refused before anything is erased or written. The announced security version is
        // only a claim here; `verify` proves it with the signature, so a lie fails there. An
        // image on trial is confirmed below before anything is erased, so its floor counts.
        let floor = if self.is_trial() {
            self.security.confirmed().floor
        } else {
            self.security.floor
        };
        if image.security_version() < floor && !allow_rollback {
            return Err(NackReason::Rollback { floor });
        }
        // Never erase the fallback of an image still on trial.
        self.confirm()?;
        // Forget a commit that was never booted (its slot is about to be erased) and settle on
        // the running slot, before the first byte of the other slot changes.
        if self.state != BootState::confirmed(self.running) {
            self.set_state(BootState::confirmed(self.running), self.security)?;
        }
        self.job = Job::Erasing { image, next: 0 };
        Ok(())
    }

    /// `UpdateChunk`: writes `data` at `offset` of the image. A chunk wholly before what was
    /// received is a retransmission: accepted, not written.
    pub fn chunk(&mut self, offset: u32, data: &[u8]) -> Result<(), NackReason> {
        let target = self.layout.slot(self.running.other());
        let (image, received, carry, carry_len) = match &mut self.job {
            Job::Idle => return Err(NackReason::NoUpdate),
            Job::Erasing { .. } | Job::Verifying { .. } => return Err(NackReason::Busy),
            Job::Verified { image } | Job::Committed { image } => {
                let in_image = end_of(offset, data).is_some_and(|end| end <= image.size);
                return if in_image {
                    Ok(())
                } else {
                    Err(NackReason::ChunkOutOfBounds)
                };
            }
            Job::Receiving {
                image,
                received,
                carry,
                carry_len,
            } => (*image, received, carry, carry_len),
        };
        let end = end_of(offset, data)
            .filter(|&end| end <= image.size)
            .ok_or(NackReason::ChunkOutOfBounds)?;
        if end <= *received {
            return Ok(());
        }
        if offset != *received {
            return Err(NackReason::OutOfOrder {
                expected: *received,
            });
        }
        let written = write_stream(
            &mut self.flash,
            target + (*received - *carry_len as u32),
            carry,
            carry_len,
            data,
        )
        .and_then(|()| {
            if end == image.size {
                flush(
                    &mut self.flash,
                    target + (end - *carry_len as u32),
                    carry,
                    carry_len,
                )
            } else {
                Ok(())
            }
        });
        if written.is_err() {
            // The slot is no longer erased where the write failed: only a new begin helps.
            self.job = Job::Idle;
            return Err(NackReason::Flash);
        }
        *received = end;
        Ok(())
    }

    /// `UpdateVerify`: starts checking the whole image's CRC-32 and its signature over
    /// [`signed_prefix`] and the image, reading it back from flash. Work for
    /// [`step`](Self::step), which reports [`Done::Verified`] or the nack.
    pub fn verify(&mut self, signature: &Signature) -> Result<(), NackReason> {
        let image = match self.job {
            Job::Idle => return Err(NackReason::NoUpdate),
            Job::Erasing { .. } | Job::Verifying { .. } => return Err(NackReason::Busy),
            Job::Verified { .. } | Job::Committed { .. } => return Ok(()),
            Job::Receiving {
                image, received, ..
            } if received < image.size => return Err(NackReason::Incomplete { received }),
            Job::Receiving { image, .. } => image,
        };
        let key = ed25519_compact::PublicKey::new(self.key.to_bytes());
        let signature = ed25519_compact::Signature::new(signature.to_bytes());
        let mut state = key.verify_incremental(&signature).ok();
        if let Some(state) = &mut state {
            // The announced security version is proved by the signature, or the image fails.
            match image.security {
                None => state.absorb(signed_prefix(image.version, image.size)),
                Some(security) => {
                    state.absorb(signed_prefix_v2(image.version, security, image.size));
                }
            }
        }
        self.job = Job::Verifying {
            image,
            pos: 0,
            checks: Checks {
                crc: IMAGE_CRC_STATIC.digest(),
                signature: state,
            },
        };
        Ok(())
    }

    /// `UpdateCommit`: marks the verified image's slot for a trial boot. The board then resets
    /// (see [`is_committed`](Self::is_committed)).
    pub fn commit(&mut self) -> Result<(), NackReason> {
        let image = match self.job {
            Job::Idle => return Err(NackReason::NoUpdate),
            Job::Committed { .. } => return Ok(()),
            Job::Verified { image } => image,
            Job::Erasing { .. } | Job::Receiving { .. } | Job::Verifying { .. } => {
                return Err(NackReason::NotVerified);
            }
        };
        let security = SecurityState {
            floor: self.security.floor,
            trial: image.security_version(),
        };
        self.set_state(
            BootState {
                active: self.running,
                trial: Some(self.running.other()),
                attempted: false,
            },
            security,
        )?;
        self.job = Job::Committed { image };
        Ok(())
    }

    /// `UpdateAbort`: drops the update under way; the other slot keeps whatever was written
    /// and is never booted. A committed update cannot be aborted: its reset is due.
    pub fn abort(&mut self) {
        if !self.is_committed() {
            self.job = Job::Idle;
        }
    }

    /// Does a bounded piece of pending work (one erase unit, or [`VERIFY_STEP`] bytes read
    /// back and hashed); returns the outcome when the work is finished, `None` while more
    /// remains or when there is nothing to do. A failure ends the update.
    pub fn step(&mut self) -> Option<Result<Done, NackReason>> {
        let outcome = match &mut self.job {
            Job::Erasing { image, next } => {
                let image = *image;
                let unit = F::ERASE_SIZE as u32;
                let start = self.layout.slot(self.running.other()) + *next;
                match self.flash.erase(start, start + unit) {
                    Err(_) => Some(Err(NackReason::Flash)),
                    Ok(()) => {
                        *next += unit;
                        (*next >= image.size).then(|| {
                            self.job = Job::Receiving {
                                image,
                                received: 0,
                                carry: [0xff; MAX_WRITE_SIZE],
                                carry_len: 0,
                            };
                            Ok(Done::Erased)
                        })
                    }
                }
            }
            Job::Verifying { image, pos, checks } => {
                let base = self.layout.slot(self.running.other());
                match hash_some(&mut self.flash, base, image.size, pos, checks) {
                    Err(()) => Some(Err(NackReason::Flash)),
                    Ok(()) if *pos < image.size => None,
                    Ok(()) => {
                        let image = *image;
                        let computed = checks.crc.clone().finalize();
                        let signed = checks
                            .signature
                            .as_ref()
                            .is_some_and(|s| s.verify().is_ok());
                        Some(if computed != image.crc32 {
                            Err(NackReason::CrcMismatch { computed })
                        } else if !signed {
                            Err(NackReason::BadSignature)
                        } else {
                            self.job = Job::Verified { image };
                            Ok(Done::Verified)
                        })
                    }
                }
            }
            Job::Idle | Job::Receiving { .. } | Job::Verified { .. } | Job::Committed { .. } => {
                None
            }
        };
        if let Some(Err(_)) = outcome {
            self.job = Job::Idle;
        }
        outcome
    }

    fn image(&self) -> Option<Image> {
        match self.job {
            Job::Idle => None,
            Job::Erasing { image, .. }
            | Job::Receiving { image, .. }
            | Job::Verifying { image, .. }
            | Job::Verified { image }
            | Job::Committed { image } => Some(image),
        }
    }

    fn set_state(&mut self, state: BootState, security: SecurityState) -> Result<(), NackReason> {
        boot::write(&mut self.flash, &self.layout, state, security)
            .map_err(|_| NackReason::Flash)?;
        self.state = state;
        self.security = security;
        Ok(())
    }
}

impl Updater<NoFlash> {
    /// An updater for a board without update flash: every update is refused
    /// `ImageTooLarge { max: 0 }`.
    pub fn unsupported(running: Slot) -> Self {
        Updater {
            flash: NoFlash,
            layout: FlashLayout::EMPTY,
            key: VerifyingKey::from_bytes([0; 32]),
            running,
            state: BootState::confirmed(running),
            security: SecurityState::default(),
            job: Job::Idle,
        }
    }
}

/// Where a chunk ends, `None` past `u32`.
fn end_of(offset: u32, data: &[u8]) -> Option<u32> {
    u32::try_from(data.len())
        .ok()
        .and_then(|len| offset.checked_add(len))
}

/// Writes `data` after the `carry_len` bytes held in `carry`, starting at the write-aligned
/// `offset` where `carry` belongs: whole write units go to flash, the rest stays in `carry`.
fn write_stream<F: NorFlash>(
    flash: &mut F,
    mut offset: u32,
    carry: &mut [u8; MAX_WRITE_SIZE],
    carry_len: &mut usize,
    mut data: &[u8],
) -> Result<(), F::Error> {
    let unit = F::WRITE_SIZE;
    if *carry_len > 0 {
        let take = (unit - *carry_len).min(data.len());
        let (head, rest) = data.split_at(take);
        if let Some(dst) = carry.get_mut(*carry_len..*carry_len + take) {
            dst.copy_from_slice(head);
        }
        *carry_len += take;
        data = rest;
        if *carry_len < unit {
            return Ok(());
        }
        flash.write(offset, carry.get(..unit).unwrap_or_default())?;
        offset += unit as u32;
        *carry_len = 0;
    }
    let whole = data.len() / unit * unit;
    let (units, rest) = data.split_at(whole);
    if !units.is_empty() {
        flash.write(offset, units)?;
    }
    if let Some(dst) = carry.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    *carry_len = rest.len();
    Ok(())
}

/// Writes what `carry` holds, padded to a write unit with erased bytes.
fn flush<F: NorFlash>(
    flash: &mut F,
    offset: u32,
    carry: &mut [u8; MAX_WRITE_SIZE],
    carry_len: &mut usize,
) -> Result<(), F::Error> {
    if *carry_len == 0 {
        return Ok(());
    }
    let unit = F::WRITE_SIZE;
    if let Some(pad) = carry.get_mut(*carry_len..unit) {
        pad.fill(0xff);
    }
    flash.write(offset, carry.get(..unit).unwrap_or_default())?;
    *carry_len = 0;
    Ok(())
}

/// Reads up to [`VERIFY_STEP`] bytes of the image from `pos` and feeds them to the checks.
fn hash_some<F: NorFlash>(
    flash: &mut F,
    base: u32,
    size: u32,
    pos: &mut u32,
    checks: &mut Checks,
) -> Result<(), ()> {
    let stop = size.min(pos.saturating_add(VERIFY_STEP));
    let mut buf = [0u8; READ_BUF];
    while *pos < stop {
        let n = (stop - *pos).min(READ_BUF as u32) as usize;
        // Reads are whole read units; the slot holds padding past the image, so rounding up
        // stays inside it.
        let read_len = n.div_ceil(F::READ_SIZE) * F::READ_SIZE;
        let chunk = buf.get_mut(..read_len).ok_or(())?;
        flash.read(base + *pos, chunk).map_err(|_| ())?;
        let bytes = chunk.get(..n).ok_or(())?;
        checks.crc.update(bytes);
        if let Some(state) = &mut checks.signature {
            state.absorb(bytes);
        }
        *pos += n as u32;
    }
    Ok(())
}
