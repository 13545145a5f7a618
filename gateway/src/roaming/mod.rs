//! Semi-roaming: mirror groups brought up by schedule, by dispatch, by a unit's status message
//! or by a unit's position in a border zone, under each country's sovereignty rules.
//!
//! A unit that crosses the border keeps its own identity on the visited network and selects
//! the *mirror* of its home talkgroup there; while the mirror is up, the gateway patches the two
//! and the unit stays in contact with home. This module decides when each mirror is up and
//! asks the [relay engine](crate::engine) for the patch; the engine does the rest (floor,
//! expiry, inactivity), under a floor policy that carries the sovereignty rules.
//!
//! - [`geo`]: WGS84 polygons with holes, point-in-polygon, distance to the boundary.
//! - [`zones`]: border zones and each unit's presence, with hysteresis, in bounded memory.
//! - [`mirrors`]: the configured pairs and their modes; [`schedule`]: time windows in CET/CEST.
//! - [`triggers`]: status values that request, extend or end a mirror, and the reply.
//! - [`sovereignty`]: which groups may be patched, foreign talkers' limits, who may create.
//! - [`aliases`]: ISSI → call sign for dispatch.
//! - [`events`]: what the state machine reports.
//! - [`machine`]: the [`Roaming`] state machine that ties them together; start reading there.
//!
//! `docs/roaming.md` explains all of it for dispatchers and engineers.

pub mod aliases;
pub mod events;
pub mod geo;
pub mod machine;
pub mod mirrors;
pub mod schedule;
pub mod sovereignty;
pub mod triggers;
pub mod zones;

#[cfg(test)]
mod scenarios;

pub use aliases::Aliases;
pub use events::{
    Asked, BlockReason, Cause, DeliveryOutcome, DispatchAction, DownReason, Reply, ReplyMessage,
    RequestRefused, RoamingEvent,
};
pub use machine::{MAX_PENDING_REPLIES, MirrorView, REPLY_CONFIRM_TIMEOUT, Roaming, RoamingStats};
pub use mirrors::{Mirror, MirrorId, MirrorMode, Triggers};
pub use sovereignty::{Creators, GroupRules, NetworkRules, Refusal, Requester, Sovereignty};
pub use triggers::{FieldAction, ReplyStyle, StatusTriggers};
pub use zones::{Zone, ZoneId};

/// Everything the roaming state machine is configured with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoamingConfig {
    /// The mirror pairs; a mirror's [`MirrorId`] is its index.
    pub mirrors: Vec<Mirror>,
    /// The border zones; a zone's [`ZoneId`] is its index.
    pub zones: Vec<Zone>,
    /// Status values and replies.
    pub triggers: StatusTriggers,
    /// Both countries' rules.
    pub sovereignty: Sovereignty,
    /// Call signs.
    pub aliases: Aliases,
    /// Most units tracked at once for zones (default 1024).
    pub max_units: usize,
}

impl RoamingConfig {
    /// Units tracked at once unless configured otherwise: a border region's fleet with room to
    /// spare, a few hundred kilobytes at most.
    pub const DEFAULT_MAX_UNITS: usize = 1_024;

    /// Whether anything is configured (with nothing, the daemon need not run the machine).
    pub fn is_empty(&self) -> bool {
        self.mirrors.is_empty() && self.aliases.is_empty()
    }
}
