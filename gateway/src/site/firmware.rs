//! Board firmware updates through the daemon: `POST /api/v1/board/firmware` starts the
//! [`UpdateDriver`] on the board session the main loop owns, and the loop feeds it the board's
//! events and its timers until the board is back, running the new image and confirmed (or the
//! update failed and the board runs what it ran before).
//!
//! The board executes in place, so the file carries an image per slot: the update sends the
//! one linked for the slot the board is not running (or one for any slot), and a file without
//! it is refused before anything reaches the board, rather than rolled back minutes later.
//!
//! While an update runs the board refuses PTT (the firmware's rule), so a radio the engine
//! wants to key on this board is refused rather than left silent.
//!
//! Anti-rollback is the board's to enforce: it refuses an image whose signed security version
//! is below its floor unless the update carries the engineer's override (`allow_rollback`,
//! audited by the API). The daemon remembers what it has learnt of the floor since it started
//! (a `Rollback` refusal names it; a confirmed update raises it to at least the image's
//! security version) and refuses a lower image early, with a 409 that says where the figure
//! comes from, before anything is sent. It is not forgotten on a link loss: the board resets
//! at every update, and a stale answer can take the link down just after one, so "the link
//! went down" says nothing about the floor. A board whose boot state a debug probe erased
//! (floor 0 again) takes an older release through the override, or after a daemon restart.

use borderlink_protocol::time::Instant;
use tracing::{info, warn};

use super::SiteCore;
use crate::api::error::ApiError;
use crate::api::model::FirmwareView;
use crate::board::BoardEvent;
use crate::board::update::{UpdateConfig, UpdateDriver, UpdateError, UpdateProgress};
use crate::firmware_image::{ImageSlot, SignedFile};

/// The update under way, or the last one.
#[derive(Debug)]
pub(super) struct FirmwareJob {
    driver: UpdateDriver,
    target: String,
    variant: ImageSlot,
    security_version: u32,
    allow_rollback: bool,
    last: Option<UpdateProgress>,
    acked: u32,
    size: u32,
}

fn step(p: &UpdateProgress) -> &'static str {
    match p {
        UpdateProgress::Erasing { .. } => "erasing",
        UpdateProgress::Sending { .. } => "sending",
        UpdateProgress::Verifying => "verifying",
        UpdateProgress::Committing => "committing",
        UpdateProgress::Rebooting => "rebooting",
        UpdateProgress::Done { .. } => "done",
        UpdateProgress::Failed(_) => "failed",
    }
}

impl SiteCore {
    /// Starts an update with the file's image for the slot the board is not running; refused
    /// while another runs, without a board or its link, when the file has no image for that
    /// slot, or (by the driver) while any PTT is asked for or keyed.
    pub(super) fn firmware_start(
        &mut self,
        now: Instant,
        file: SignedFile,
        allow_rollback: bool,
    ) -> Result<FirmwareView, ApiError> {
        let conflict = |m: String| ApiError::new(axum::http::StatusCode::CONFLICT, m);
        if self
            .firmware
            .as_ref()
            .is_some_and(|j| !j.driver.is_finished())
        {
            return Err(conflict("a firmware update is already running".into()));
        }
        let Some(board) = self.board.as_mut() else {
            return Err(conflict(
                "this site has no interface board ([board])".into(),
            ));
        };
        let running = board
            .session
            .board_info()
            .ok_or_else(|| conflict(UpdateError::NotUp.to_string()))?
            .slot;
        let variant = file.choose(running).map_err(|e| {
            warn!(cause = %e, "board firmware update refused");
            conflict(e.to_string())
        })?;
        let (slot, image) = (variant.slot, variant.image.clone());
        let security_version = image.security_version();
        if let Some(floor) = self.firmware_floor
            && security_version < floor
            && !allow_rollback
        {
            let e = format!(
                "refused as a rollback, nothing sent: the image's security version \
                 {security_version} is below the board's floor {floor} (as the board has shown \
                 since borderlinkd started; an engineer can override with `borderlink firmware \
                 flash --allow-rollback`)"
            );
            warn!(cause = %e, "board firmware update refused");
            return Err(conflict(e));
        }
        let target = image.version().to_string();
        let size = image.len();
        let config = UpdateConfig {
            allow_rollback,
            ..UpdateConfig::default()
        };
        let driver = UpdateDriver::start(now, &mut board.session, image, config)
            .map_err(|e| conflict(e.to_string()))?;
        if allow_rollback {
            warn!(version = %target, security_version, "board firmware update with the anti-rollback override");
        }
        info!(version = %target, security_version, size, variant = slot.name(), ?running, "board firmware update started");
        self.firmware = Some(FirmwareJob {
            driver,
            target,
            variant: slot,
            security_version,
            allow_rollback,
            last: None,
            acked: 0,
            size,
        });
        self.pump_firmware();
        Ok(self.firmware_view())
    }

    /// The board's firmware and the last update, for the API.
    pub(super) fn firmware_view(&self) -> FirmwareView {
        let running = self
            .board
            .as_ref()
            .and_then(|b| b.session.board_info())
            .map(|i| {
                let v = i.firmware;
                format!("{}.{}.{} (slot {:?})", v.major, v.minor, v.patch, i.slot)
            });
        match &self.firmware {
            None => FirmwareView {
                running,
                state: "idle".into(),
                target: None,
                variant: None,
                security_version: None,
                allow_rollback: false,
                step: None,
                acked: 0,
                size: 0,
                error: None,
            },
            Some(job) => FirmwareView {
                running,
                state: match &job.last {
                    Some(UpdateProgress::Done { .. }) => "done",
                    Some(UpdateProgress::Failed(_)) => "failed",
                    _ => "running",
                }
                .into(),
                target: Some(job.target.clone()),
                variant: Some(job.variant.name().to_owned()),
                security_version: Some(job.security_version),
                allow_rollback: job.allow_rollback,
                step: job.last.as_ref().map(|p| step(p).to_owned()),
                acked: job.acked,
                size: job.size,
                error: match &job.last {
                    Some(UpdateProgress::Failed(e)) => Some(e.to_string()),
                    _ => None,
                },
            },
        }
    }

    /// Hands a board event to a running update.
    pub(super) fn firmware_board_event(&mut self, now: Instant, event: &BoardEvent) {
        if let (Some(job), Some(board)) = (self.firmware.as_mut(), self.board.as_mut())
            && !job.driver.is_finished()
        {
            job.driver
                .handle_board_event(now, &mut board.session, event);
        }
    }

    /// Runs a running update's timers that are due.
    pub(super) fn firmware_timeout(&mut self, now: Instant) {
        if let (Some(job), Some(board)) = (self.firmware.as_mut(), self.board.as_mut())
            && job.driver.poll_timeout().is_some_and(|t| t <= now)
        {
            job.driver.handle_timeout(now, &mut board.session);
        }
    }

    /// When a running update next needs its timers.
    pub(super) fn firmware_deadline(&self) -> Option<Instant> {
        self.firmware.as_ref().and_then(|j| j.driver.poll_timeout())
    }

    /// Takes the update's progress reports.
    pub(super) fn pump_firmware(&mut self) {
        let Some(job) = self.firmware.as_mut() else {
            return;
        };
        while let Some(progress) = job.driver.poll_event() {
            match &progress {
                UpdateProgress::Sending { acked, size } => {
                    job.acked = *acked;
                    job.size = *size;
                }
                UpdateProgress::Done { version, slot } => {
                    job.acked = job.size;
                    // Confirmed: the board's floor is now at least this image's.
                    let floor = self.firmware_floor.unwrap_or(0).max(job.security_version);
                    self.firmware_floor = Some(floor);
                    info!(%version, ?slot, "board firmware updated and confirmed");
                }
                UpdateProgress::Failed(e) => {
                    if let UpdateError::Rollback { floor, .. } = e {
                        self.firmware_floor = Some(*floor);
                    }
                    warn!(cause = %e, "board firmware update failed");
                }
                other => info!(step = step(other), "board firmware update"),
            }
            job.last = Some(progress);
        }
    }
}
