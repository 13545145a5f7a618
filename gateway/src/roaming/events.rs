//! What the roaming state machine tells its driver: patch requests for the engine, replies for
//! units, and events for dispatch (who asked, which mirror is up, who entered a zone, an
//! emergency on the other side).

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::sds::{DeliveryStatus, Status};
use borderlink_protocol::time::Duration;

use super::mirrors::MirrorId;
use super::sovereignty::{Refusal, Requester};
use super::triggers::FieldAction;
use super::zones::{LeaveReason, ZoneId};
use crate::engine::patch::{DissolveReason, PatchId, PatchSpec};

/// A change to the engine's patches; [`Roaming::apply`](super::Roaming::apply) carries them
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatchRequest {
    /// Bring a mirror's patch up.
    Create {
        /// The mirror.
        mirror: MirrorId,
        /// Its patch.
        spec: PatchSpec,
    },
    /// Give a mirror's patch new deadlines (extend it, or let it lapse).
    Retime {
        /// The mirror.
        mirror: MirrorId,
        /// Its patch.
        patch: PatchId,
        /// New lifetime from now.
        lifetime: Option<Duration>,
        /// New inactivity timeout.
        inactivity_timeout: Option<Duration>,
    },
    /// Take a mirror's patch down now.
    Remove {
        /// The mirror.
        mirror: MirrorId,
        /// Its patch.
        patch: PatchId,
    },
}

/// A message for a unit, to be sent by the gateway radio on `via` (the talkgroup of the radio
/// that heard the unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The talkgroup of the radio to send it with.
    pub via: Tsi,
    /// The unit.
    pub to: Tsi,
    /// What to send.
    pub message: ReplyMessage,
}

/// The content of a [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyMessage {
    /// A pre-coded status.
    Status(Status),
    /// A short Latin-1 text, sent with SDS-TL: the message reference its delivery report
    /// will quote. Roaming waits for that report and says what became of the reply
    /// ([`RoamingEvent::ReplyDelivery`]).
    Text {
        /// The text.
        text: String,
        /// The SDS-TL message reference.
        reference: u8,
    },
}

/// What became of a text reply to a unit, from the SDS-TL report on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// The unit received it (a success status: received, consumed, forwarded...).
    Delivered(DeliveryStatus),
    /// The SwMI stored it for later delivery (a temporary-error status); roaming keeps
    /// waiting for the final report.
    Stored(DeliveryStatus),
    /// It will not be delivered (a failure, flow-control or reserved status).
    Failed(DeliveryStatus),
    /// No final report came within the confirmation time.
    NotConfirmed,
}

/// What a dispatcher asks of a mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DispatchAction {
    /// Bring it up, for `duration` or until ended.
    Activate {
        /// How long; `None`: until a dispatcher ends it.
        duration: Option<Duration>,
    },
    /// Take back dispatch's and units' requests; it ends unless a zone, the schedule or the
    /// configuration still holds it.
    End,
}

/// What was asked, by a unit or a dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Asked {
    /// A unit's status message.
    Field(FieldAction),
    /// A dispatcher's action.
    Dispatch(DispatchAction),
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    /// The radio that heard the unit is on a talkgroup no mirror holds.
    #[error("no mirror holds talkgroup {0}")]
    NoMirror(Tsi),
    /// No mirror has this id.
    #[error("no mirror {0}")]
    UnknownMirror(u16),
    /// The mirror does not accept this kind of trigger.
    #[error("this mirror does not accept {0} triggers")]
    TriggerOff(&'static str),
    /// A sovereignty rule forbids it.
    #[error(transparent)]
    Sovereignty(#[from] Refusal),
    /// The engine could not bring the patch up (a group is in another patch).
    #[error("the patch could not be created: {0}")]
    Blocked(BlockReason),
}

/// Why a mirror's patch could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockReason {
    /// One of its groups is in another patch.
    GroupInUse {
        /// The group.
        group: Tsi,
        /// The patch that holds it.
        other: PatchId,
    },
    /// The engine refused the definition.
    Refused,
}

impl core::fmt::Display for BlockReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlockReason::GroupInUse { group, other } => {
                write!(f, "group {group} is already in {other}")
            }
            BlockReason::Refused => f.write_str("the engine refused the definition"),
        }
    }
}

/// What brought a mirror up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A permanent mirror.
    Permanent,
    /// Its schedule.
    Schedule,
    /// A dispatcher.
    Dispatch(Requester),
    /// A unit's status request.
    Status {
        /// The unit.
        unit: Tsi,
    },
    /// A unit's position in a zone.
    Position {
        /// The unit.
        unit: Tsi,
        /// The zone.
        zone: ZoneId,
    },
    /// An existing patch of the same channels (another site's, or from before a restart) was
    /// taken over.
    Adopted,
    /// Brought back while still held, after its patch had gone (removed, or refused before).
    Restored,
}

/// Why a mirror went down.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DownReason {
    /// It lapsed in the engine (nothing held it, then no traffic; or its lifetime ran out).
    Lapsed(DissolveReason),
    /// A unit or a dispatcher ended it.
    Ended(Requester),
    /// Its patch was removed by someone else (the API).
    Removed,
}

/// What dispatch, the API and the log want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoamingEvent {
    /// A unit or a dispatcher asked for something: who, what, and the answer.
    Requested {
        /// The mirror concerned, when known.
        mirror: Option<MirrorId>,
        /// Who asked.
        by: Requester,
        /// Their call sign, when the alias table has one.
        call_sign: Option<String>,
        /// What.
        asked: Asked,
        /// Carried out, or why not.
        outcome: Result<(), RequestRefused>,
    },
    /// A mirror's patch is up.
    MirrorUp {
        /// The mirror.
        mirror: MirrorId,
        /// Its patch.
        patch: PatchId,
        /// What brought it up.
        cause: Cause,
    },
    /// Nothing holds the mirror up any more: it ends after its inactivity timeout (at most
    /// one window from now).
    MirrorLapsing {
        /// The mirror.
        mirror: MirrorId,
        /// Its patch.
        patch: PatchId,
    },
    /// A mirror's patch is gone.
    MirrorDown {
        /// The mirror.
        mirror: MirrorId,
        /// Why.
        reason: DownReason,
    },
    /// A mirror should be up but its patch cannot be created; retried later.
    MirrorBlocked {
        /// The mirror.
        mirror: MirrorId,
        /// Why.
        reason: BlockReason,
    },
    /// A unit is inside a border zone.
    ZoneEntered {
        /// The unit.
        unit: Tsi,
        /// Its call sign.
        call_sign: Option<String>,
        /// The zone.
        zone: ZoneId,
    },
    /// A unit is no longer inside a border zone.
    ZoneLeft {
        /// The unit.
        unit: Tsi,
        /// Its call sign.
        call_sign: Option<String>,
        /// The zone.
        zone: ZoneId,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone talks on a mirror: the identity crossing with the audio, with its alias.
    Talking {
        /// The mirror.
        mirror: MirrorId,
        /// The talker, if known.
        talker: Option<Tsi>,
        /// Its call sign.
        call_sign: Option<String>,
        /// Its network; `None` for a dispatch console.
        from: Option<Network>,
    },
    /// An emergency call took the floor of a patch: flagged to the other side.
    Emergency {
        /// The patch.
        patch: PatchId,
        /// The mirror, if the patch is one.
        mirror: Option<MirrorId>,
        /// The talker, if known.
        talker: Option<Tsi>,
        /// Its call sign.
        call_sign: Option<String>,
        /// Its network; `None` for a dispatch console.
        from: Option<Network>,
        /// Whether the emergency propagates across the border as an emergency call
        /// (sovereignty rules); if not, it is keyed there as an ordinary call and this event is
        /// how the other side's dispatch learns of it.
        propagated: bool,
    },
    /// A report on a text reply sent to a unit: delivered, stored, failed, or not confirmed
    /// in time.
    ReplyDelivery {
        /// The unit.
        unit: Tsi,
        /// Its call sign.
        call_sign: Option<String>,
        /// The mirror the reply was about, if any.
        mirror: Option<MirrorId>,
        /// The SDS-TL message reference of the reply.
        reference: u8,
        /// What became of it.
        outcome: DeliveryOutcome,
    },
    /// A unit sent the emergency status to a gateway radio.
    EmergencyStatus {
        /// The unit.
        unit: Tsi,
        /// Its call sign.
        call_sign: Option<String>,
        /// The talkgroup of the radio that heard it.
        heard_on: Tsi,
        /// The mirror holding that group, if any.
        mirror: Option<MirrorId>,
    },
}
