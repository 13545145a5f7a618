//! What the HTTP side asks of the daemon's main loop, and what it answers.
//!
//! The main loop owns every state machine (engine, radios, board), so the API does not
//! touch them: each request becomes a [`Request`] on a channel, the loop carries it out
//! between two voice frames and answers on a oneshot. No lock is shared with the voice path.

use tokio::sync::oneshot;

use super::error::ApiError;
use super::model::{PatchTalkers, PatchView, Released, SiteStatus};
use crate::engine::counters::Counters;
use crate::engine::patch::PatchSpec;
use crate::roaming::Requester;

/// A request to the main loop.
#[derive(Debug)]
pub struct Request {
    /// What to do.
    pub command: Command,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Answer, ApiError>>,
}

/// The main loop's answer, and for a change of the patches, the save it waits on.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What to tell the client once the change is durable.
    pub reply: Reply,
    /// `Some` for a change of the patches on a site with a state file: the client hears of
    /// the change only once [`Saved`] reports this save done; if it failed, the API sends
    /// back the [`Undo`] so the change is not left in force.
    pub pending: Option<PendingSave>,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer {
            reply,
            pending: None,
        }
    }
}

/// A change made in memory whose save is under way.
#[derive(Debug, Clone)]
pub struct PendingSave {
    /// The state writer's generation that holds the change.
    pub generation: u64,
    /// What takes the change back.
    pub undo: Undo,
}

/// What takes back one change of the patches: remove the patch it created (or the new form
/// of the one it modified), then restore the patch as it was (modified or removed).
#[derive(Debug, Clone, Default)]
pub struct Undo {
    /// A patch to remove.
    pub remove: Option<u32>,
    /// A patch to put back with its id and remaining times.
    pub restore: Option<crate::engine::patch::PatchRecord>,
}

/// What the state writer last did: the generation it wrote, and why that write failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// The last generation written (or tried).
    pub generation: u64,
    /// `None`: that generation is on disk.
    pub error: Option<String>,
}

/// What the API asks.
#[derive(Debug, Clone)]
pub enum Command {
    /// The site's status.
    Status,
    /// Every patch.
    Patches,
    /// One patch.
    Patch(u32),
    /// Create a dynamic patch, for a dispatcher (sovereignty checks who asks).
    CreatePatch(PatchSpec, Requester),
    /// Replace a dynamic patch's definition, for a dispatcher.
    ModifyPatch(u32, PatchSpec, Requester),
    /// Remove a dynamic patch.
    RemovePatch(u32),
    /// Who talks on each patch.
    Talkers,
    /// Cut the transmission holding a patch's floor.
    Release(u32),
    /// Figures for `GET /metrics`.
    Metrics,
    /// Start updating the board's firmware from a signed-image file, with its image for the
    /// slot the board is not running.
    FirmwareStart {
        /// The signed-image file.
        file: Box<crate::firmware_image::SignedFile>,
        /// The engineer's explicit override: let the board take a release below its
        /// security-version floor (the API audits who asked).
        allow_rollback: bool,
    },
    /// How the board's firmware update goes.
    FirmwareStatus,
    /// Mirrors and roaming events.
    Roaming,
    /// Take back a change whose save failed.
    Undo(Undo),
}

/// The main loop's answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// To [`Command::Status`].
    Status(Box<SiteStatus>),
    /// To [`Command::Patches`].
    Patches(Vec<PatchView>),
    /// To [`Command::Patch`], [`Command::CreatePatch`], [`Command::ModifyPatch`] and
    /// [`Command::RemovePatch`] (the patch as it was).
    Patch(Box<PatchView>),
    /// To [`Command::Talkers`].
    Talkers(Vec<PatchTalkers>),
    /// To [`Command::Release`].
    Released(Released),
    /// To [`Command::Metrics`].
    Metrics(Box<MetricsSnapshot>),
    /// To [`Command::FirmwareStart`] and [`Command::FirmwareStatus`].
    Firmware(super::model::FirmwareView),
    /// To [`Command::Roaming`].
    Roaming(Box<super::model::RoamingView>),
    /// To [`Command::Undo`].
    Undone,
}

/// The figures `GET /metrics` publishes, read from the main loop's state at one instant.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// The relay engine's counters.
    pub frames: Counters,
    /// Streams tracked now.
    pub streams: usize,
    /// Patches in force.
    pub patches: usize,
    /// Per source of voice (peer, console, radio): estimated jitter p95 and the playout
    /// delay the jitter buffer targets, in seconds.
    pub playout: Vec<PlayoutFigures>,
    /// Per radio.
    pub radios: Vec<RadioFigures>,
    /// The board, if any.
    pub board: Option<BoardFigures>,
    /// Per peer.
    pub peers: Vec<PeerFigures>,
}

/// Playout figures of one source of voice.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayoutFigures {
    /// `peer-2`, `console-1`, `radio-0`.
    pub source: String,
    /// Estimated interarrival jitter, 95th percentile, seconds; `None` before enough samples.
    pub jitter_p95_s: Option<f64>,
    /// The playout delay new streams from it start with, seconds.
    pub target_delay_s: f64,
}

/// One radio's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioFigures {
    /// Its name.
    pub name: String,
    /// `ASTRID` or `C2000`.
    pub network: String,
    /// Initialised and answering.
    pub up: bool,
    /// Keyed now.
    pub transmitting: bool,
    /// Seconds keyed since start.
    pub ptt_seconds: f64,
    /// Transmissions granted since start.
    pub transmissions: u64,
    /// Last signal strength, dBm.
    pub signal_dbm: Option<i16>,
    /// Audio frames dropped outside the engine, by cause.
    pub frames_dropped: crate::audio::drops::AudioDropCounts,
    /// Registered on its network, as it last said; `None` when it was not asked or did not
    /// answer.
    pub registered: Option<bool>,
    /// Maker, model and software, as it said.
    pub identification: Option<crate::api::model::RadioIdentView>,
}

/// The board's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardFigures {
    /// Link up.
    pub up: bool,
    /// Valid frames received.
    pub frames_received: u64,
    /// Frames with a bad CRC.
    pub bad_crc: u64,
    /// Framing errors.
    pub framing_errors: u64,
    /// Commands resent.
    pub retransmissions: u64,
    /// Times the link went down.
    pub link_downs: u64,
}

/// One peer's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerFigures {
    /// Its name.
    pub name: String,
    /// Its site id.
    pub site: u16,
    /// Link up.
    pub up: bool,
    /// Last round-trip time, seconds.
    pub rtt_s: Option<f64>,
    /// Counters by name (`received`, `lost`, `auth_failed`, ...).
    pub counters: Vec<(String, u64)>,
}
