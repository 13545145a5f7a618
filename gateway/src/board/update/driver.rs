//! [`UpdateDriver`]: one firmware update of the board, driven through its [`BoardSession`].

use std::collections::VecDeque;

use borderlink_protocol::link::{
    AckResult, FirmwareVersion, MAX_CHUNK, NackReason, Port, Slot, UpdatePhase,
};
use borderlink_protocol::time::{Duration, Instant};
use serde::Serialize;

use super::command::{ChunkData, UpdateCommand, UpdateStep};
use crate::board::{BoardEvent, BoardSession, DownReason};
use crate::firmware_image::SignedImage;

/// How long the driver waits, after the board acked the commit, for it to come back with the
/// new image, unless configured otherwise: a reset, the bootloader, and a handshake take a
/// second or two; a hung image is reset by the board's watchdog and rolled back well within.
pub const DEFAULT_REBOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the driver asks a committed board for its status while it waits for the reset:
/// the rebooted board's `NoSession` nack is what tells the session to handshake again.
pub const REBOOT_POLL: Duration = Duration::from_millis(250);

/// How an update is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateConfig {
    /// See [`DEFAULT_REBOOT_TIMEOUT`].
    pub reboot_timeout: Duration,
    /// Ask the board to take an image whose security version is below its floor (an older
    /// release): the engineer's explicit override, which the caller audits. Without it the
    /// board refuses such an image [`NackReason::Rollback`].
    pub allow_rollback: bool,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            reboot_timeout: DEFAULT_REBOOT_TIMEOUT,
            allow_rollback: false,
        }
    }
}

/// Why an update failed. Unless said otherwise, the board runs the image it ran before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum UpdateError {
    /// The board link is not up.
    #[error("the board link is not up")]
    NotUp,
    /// A radio may be on the air.
    #[error("PTT on port {port} is requested or keyed: no update while a radio may transmit")]
    PttActive {
        /// The port.
        port: u8,
    },
    /// The board refused the image as a rollback: its security version is below the floor.
    #[error(
        "the board refused the image as a rollback: its security version {security_version} is below the board's floor {floor} (an engineer can override with `borderlink firmware flash --allow-rollback`)"
    )]
    Rollback {
        /// The image's security version.
        security_version: u32,
        /// The board's floor.
        floor: u32,
    },
    /// The board's firmware predates security versions: it does not know `UpdateBeginSecure`.
    #[error(
        "the board's firmware does not know security versions (it refused UpdateBeginSecure as malformed): update it once with a release file signed with `borderlink firmware sign --legacy`"
    )]
    BoardTooOld,
    /// The board refused a step.
    #[error("the board refused {step:?}: {reason}")]
    Refused {
        /// Which step.
        step: UpdateStep,
        /// Why.
        reason: NackReason,
    },
    /// The link went down before the commit; the board abandons the update at the next
    /// handshake.
    #[error("{0} (update abandoned; start it again)")]
    LinkDown(DownReason),
    /// The board came back running another image: the new one did not confirm itself and was
    /// rolled back.
    #[error(
        "the board came back running {running} from slot {slot:?}: the new image did not confirm itself and was rolled back"
    )]
    RolledBack {
        /// What it runs.
        running: FirmwareVersion,
        /// From where.
        slot: Slot,
    },
    /// The board runs the new image but could not record its confirmation: its next reset
    /// returns to the previous image.
    #[error("the board runs the new image but could not confirm it; its next reset rolls back")]
    NotConfirmed,
    /// The board did not come back after the commit.
    #[error("the board did not come back within {seconds} s of the commit")]
    NoReturn {
        /// How long the driver waited.
        seconds: u64,
    },
    /// [`UpdateDriver::abort`] was called.
    #[error("update aborted")]
    Aborted,
}

/// What an update reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateProgress {
    /// The board is erasing the slot for the image.
    Erasing {
        /// Image size.
        size: u32,
        /// The slot being written.
        slot: Slot,
    },
    /// Image bytes the board has acknowledged.
    Sending {
        /// Bytes acknowledged.
        acked: u32,
        /// Image size.
        size: u32,
    },
    /// Every byte is in; the board checks the CRC and the signature.
    Verifying,
    /// Verified; the board is told to boot it.
    Committing,
    /// Committed: the board resets into the new image.
    Rebooting,
    /// The board runs the new image and it has confirmed itself.
    Done {
        /// The new version.
        version: FirmwareVersion,
        /// Its slot.
        slot: Slot,
    },
    /// The update failed.
    Failed(UpdateError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Beginning,
    Sending,
    Verifying,
    Committing,
    Rebooting {
        deadline: Instant,
        poll_at: Instant,
    },
    /// The board is back with the new image: is it confirmed?
    Checking {
        deadline: Instant,
    },
    Finished,
}

/// A chunk sent and not yet answered.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    offset: u32,
    len: u16,
    /// The go-back round it was sent in: a nack for an earlier round is stale.
    round: u32,
}

/// One firmware update of the interface board, sans-IO, on top of a [`BoardSession`].
///
/// `start` checks that no radio may be on the air and sends `UpdateBegin`; then the board's
/// events drive it: chunks are kept in flight up to the board's window, so at 115 200 baud the
/// transfer takes little more than its wire time; a chunk the board did not take (`OutOfOrder`)
/// sends the image again from where the board is (go-back-N); when every byte is acknowledged
/// it verifies, commits, and waits for the board to come back with the new image and confirm
/// it. Any refusal aborts the update on the board. Meanwhile the board refuses to key any
/// radio (`UpdateInProgress`), so the daemon should not ask.
///
/// # Driving it
/// Alongside the session, with the same `now`:
/// 1. [`start`](Self::start);
/// 2. every [`BoardEvent`] the session yields goes to
///    [`handle_board_event`](Self::handle_board_event) (as well as wherever else it goes);
/// 3. [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout) is
///    reached;
/// 4. after each of these, [`poll_event`](Self::poll_event) until `None` (progress for a
///    progress bar, then `Done` or `Failed`), and the session's `poll_transmit` as usual.
#[derive(Debug)]
pub struct UpdateDriver {
    image: SignedImage,
    config: UpdateConfig,
    phase: Phase,
    target: Slot,
    chunk: usize,
    window: usize,
    /// The next image byte to send.
    next: u32,
    /// The board holds every byte below this.
    acked: u32,
    round: u32,
    outstanding: VecDeque<Outstanding>,
    events: VecDeque<UpdateProgress>,
}

impl UpdateDriver {
    /// Starts an update with `image`. Refused while the link is down or any PTT is requested
    /// or keyed.
    pub fn start(
        now: Instant,
        session: &mut BoardSession,
        image: SignedImage,
        config: UpdateConfig,
    ) -> Result<Self, UpdateError> {
        session.handle_timeout(now);
        let info = session.board_info().ok_or(UpdateError::NotUp)?;
        if let Some(port) = Port::ALL
            .into_iter()
            .find(|&p| session.ptt_requested(p) || session.board_ptt(p) == Some(true))
        {
            return Err(UpdateError::PttActive { port: port.get() });
        }
        let size = image.len();
        session
            .send_update(
                now,
                UpdateCommand::Begin {
                    size,
                    crc32: image.crc32(),
                    version: image.version(),
                    security: image.security(),
                    allow_rollback: config.allow_rollback,
                },
            )
            .map_err(|_| UpdateError::NotUp)?;
        let target = info.slot.other();
        let mut driver = UpdateDriver {
            image,
            config,
            phase: Phase::Beginning,
            target,
            chunk: usize::from(info.max_chunk).clamp(1, MAX_CHUNK),
            window: usize::from(info.window).max(1),
            next: 0,
            acked: 0,
            round: 0,
            outstanding: VecDeque::new(),
            events: VecDeque::new(),
        };
        driver
            .events
            .push_back(UpdateProgress::Erasing { size, slot: target });
        Ok(driver)
    }

    /// Takes one event of the session.
    pub fn handle_board_event(
        &mut self,
        now: Instant,
        session: &mut BoardSession,
        event: &BoardEvent,
    ) {
        match *event {
            BoardEvent::UpdateAcked { step, result } => self.on_ack(now, session, step, result),
            BoardEvent::UpdateStatus { phase, .. } => {
                if let Phase::Checking { .. } = self.phase {
                    match phase {
                        UpdatePhase::Idle => self.finish(UpdateProgress::Done {
                            version: self.image.version(),
                            slot: self.target,
                        }),
                        UpdatePhase::Trial => self.fail(now, session, UpdateError::NotConfirmed),
                        UpdatePhase::Receiving | UpdatePhase::Verified => {}
                    }
                }
            }
            BoardEvent::Down { reason } => match self.phase {
                Phase::Beginning | Phase::Sending | Phase::Verifying | Phase::Committing => {
                    self.fail(now, session, UpdateError::LinkDown(reason));
                }
                // Expected: the board resets.
                Phase::Rebooting { .. } | Phase::Checking { .. } | Phase::Finished => {}
            },
            BoardEvent::Up { info } => {
                if let Phase::Rebooting { deadline, .. } | Phase::Checking { deadline } = self.phase
                {
                    if info.slot == self.target && info.firmware == self.image.version() {
                        self.phase = Phase::Checking { deadline };
                        let _ = session.send_update(now, UpdateCommand::Status);
                    } else {
                        self.fail(
                            now,
                            session,
                            UpdateError::RolledBack {
                                running: info.firmware,
                                slot: info.slot,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Acts on the deadlines of the reboot wait.
    pub fn handle_timeout(&mut self, now: Instant, session: &mut BoardSession) {
        match self.phase {
            Phase::Rebooting { deadline, .. } | Phase::Checking { deadline } if now >= deadline => {
                let seconds = self.config.reboot_timeout.as_secs();
                self.fail(now, session, UpdateError::NoReturn { seconds });
            }
            Phase::Rebooting { deadline, poll_at } if now >= poll_at => {
                if session.is_up() {
                    let _ = session.send_update(now, UpdateCommand::Status);
                }
                self.phase = Phase::Rebooting {
                    deadline,
                    poll_at: now + REBOOT_POLL,
                };
            }
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Rebooting { deadline, poll_at } => Some(deadline.min(poll_at)),
            Phase::Checking { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// The oldest progress report not yet taken.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<UpdateProgress> {
        self.events.pop_front()
    }

    /// Stops the update. Before the commit, the board is told to abandon it; after the commit
    /// the board boots the new image regardless, and the driver just stops watching.
    pub fn abort(&mut self, now: Instant, session: &mut BoardSession) {
        if self.phase != Phase::Finished {
            self.fail(now, session, UpdateError::Aborted);
        }
    }

    /// Whether the update is over (`Done` or `Failed` reported).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// The image being sent.
    pub fn image(&self) -> &SignedImage {
        &self.image
    }

    fn on_ack(
        &mut self,
        now: Instant,
        session: &mut BoardSession,
        step: UpdateStep,
        result: AckResult,
    ) {
        let refused = |reason| UpdateError::Refused { step, reason };
        match (self.phase, step, result) {
            (Phase::Beginning, UpdateStep::Begin, AckResult::Ok) => {
                self.phase = Phase::Sending;
                self.fill_window(now, session);
            }
            (Phase::Sending, UpdateStep::Chunk { offset, len }, result) => {
                let Some(index) = self
                    .outstanding
                    .iter()
                    .position(|o| o.offset == offset && o.len == len)
                else {
                    return;
                };
                let Some(chunk) = self.outstanding.remove(index) else {
                    return;
                };
                match result {
                    AckResult::Ok => {
                        let end = offset + u32::from(len);
                        if end > self.acked {
                            self.acked = end;
                            self.events.push_back(UpdateProgress::Sending {
                                acked: end,
                                size: self.image.len(),
                            });
                        }
                        if self.acked >= self.image.len() {
                            self.phase = Phase::Verifying;
                            self.events.push_back(UpdateProgress::Verifying);
                            let signature = self.image.signature();
                            let _ = session.send_update(now, UpdateCommand::Verify { signature });
                        } else {
                            self.fill_window(now, session);
                        }
                    }
                    AckResult::Nack(NackReason::OutOfOrder { expected }) => {
                        if chunk.round == self.round && expected < self.next {
                            // Go back to where the board is; the chunks still queued behind
                            // the refused one are withdrawn (they are the newest).
                            self.round += 1;
                            self.next = expected.max(self.acked);
                            let withdrawn = session.cancel_update_chunks();
                            for _ in 0..withdrawn {
                                self.outstanding.pop_back();
                            }
                        }
                        self.fill_window(now, session);
                    }
                    AckResult::Nack(reason) => self.fail(now, session, refused(reason)),
                }
            }
            (Phase::Verifying, UpdateStep::Verify, AckResult::Ok) => {
                self.phase = Phase::Committing;
                self.events.push_back(UpdateProgress::Committing);
                let _ = session.send_update(now, UpdateCommand::Commit);
            }
            (Phase::Committing, UpdateStep::Commit, AckResult::Ok) => {
                self.phase = Phase::Rebooting {
                    deadline: now + self.config.reboot_timeout,
                    poll_at: now + REBOOT_POLL,
                };
                self.events.push_back(UpdateProgress::Rebooting);
            }
            (
                Phase::Beginning,
                UpdateStep::Begin,
                AckResult::Nack(NackReason::Rollback { floor }),
            ) => {
                let security_version = self.image.security_version();
                self.fail(
                    now,
                    session,
                    UpdateError::Rollback {
                        security_version,
                        floor,
                    },
                );
            }
            (Phase::Beginning, UpdateStep::Begin, AckResult::Nack(NackReason::Malformed))
                if self.image.security().is_some() || self.config.allow_rollback =>
            {
                // Sent as UpdateBeginSecure, which a board of before security versions cannot
                // parse; it took every other message of this session.
                self.fail(now, session, UpdateError::BoardTooOld);
            }
            (
                Phase::Beginning | Phase::Verifying | Phase::Committing,
                UpdateStep::Begin | UpdateStep::Verify | UpdateStep::Commit,
                AckResult::Nack(reason),
            ) => self.fail(now, session, refused(reason)),
            // Stale chunk answers after the last byte, status polls, aborts.
            _ => {}
        }
    }

    /// Keeps the board's window full of chunks.
    fn fill_window(&mut self, now: Instant, session: &mut BoardSession) {
        let size = self.image.len();
        while self.outstanding.len() < self.window && self.next < size {
            let start = self.next as usize;
            let end = (start + self.chunk).min(self.image.image().len());
            let Some(data) = self.image.image().get(start..end).and_then(ChunkData::new) else {
                return;
            };
            let command = UpdateCommand::Chunk {
                offset: self.next,
                data,
            };
            if session.send_update(now, command).is_err() {
                // The link is down: its Down event fails the update.
                return;
            }
            let len = (end - start) as u16;
            self.outstanding.push_back(Outstanding {
                offset: self.next,
                len,
                round: self.round,
            });
            self.next += u32::from(len);
        }
    }

    fn fail(&mut self, now: Instant, session: &mut BoardSession, error: UpdateError) {
        let begun = matches!(
            self.phase,
            Phase::Beginning | Phase::Sending | Phase::Verifying | Phase::Committing
        );
        if begun && session.is_up() {
            session.cancel_update_chunks();
            let _ = session.send_update(now, UpdateCommand::Abort);
        }
        self.finish(UpdateProgress::Failed(error));
    }

    fn finish(&mut self, outcome: UpdateProgress) {
        self.phase = Phase::Finished;
        self.outstanding.clear();
        self.events.push_back(outcome);
    }
}
