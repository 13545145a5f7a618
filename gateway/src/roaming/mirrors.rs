//! Mirror groups: a home group on one network paired with its mirror on the other.
//!
//! A Belgian patrol that crosses into the Netherlands registers on C2000 and selects the
//! mirror of its home ASTRID group; while the mirror is up, what it says is heard at home and
//! home dispatch is heard by it. A mirror is a patch of the two channels (and optionally
//! dispatch consoles) that the [`Roaming`](super::Roaming) state machine brings up and lets
//! lapse:
//!
//! - **permanent**: up from start;
//! - **scheduled**: up during local-time windows ([`Schedule`]);
//! - **on demand**: up when asked — by a unit's status message, by a unit's position in a
//!   border zone, or by dispatch ([`Triggers`] says which may).
//!
//! Every mode also accepts the triggers it lists, so a scheduled mirror can be brought up out of
//! hours by a unit that needs it.

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::time::Duration;

use super::schedule::Schedule;
use crate::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};

/// A mirror's index in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorId(pub u16);

/// When a mirror is up on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorMode {
    /// Always.
    Permanent,
    /// During these local-time windows.
    Scheduled(Schedule),
    /// Only when a trigger asks.
    OnDemand,
}

/// Which triggers may bring a mirror up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Triggers {
    /// A unit's pre-coded status message.
    pub status: bool,
    /// A unit's position inside a border zone that lists the mirror.
    pub position: bool,
    /// A dispatcher.
    pub dispatch: bool,
}

impl Triggers {
    /// Every trigger.
    pub const ALL: Triggers = Triggers {
        status: true,
        position: true,
        dispatch: true,
    };
}

/// One configured mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Name shown to dispatch and used for the patch.
    pub name: String,
    /// The home group and the site whose radio reaches it.
    pub home: Channel,
    /// The mirror group on the other network.
    pub mirror: Channel,
    /// Dispatch consoles joined while the mirror is up.
    pub consoles: Vec<SiteConsole>,
    /// When it is up on its own.
    pub mode: MirrorMode,
    /// Which triggers may bring it up.
    pub triggers: Triggers,
    /// How long one activation (a request, a position report inside a zone) keeps it up, and
    /// the longest a lapsing mirror may linger.
    pub window: Duration,
    /// Once nothing holds it up any more, it ends after this long without traffic.
    pub inactivity_timeout: Duration,
}

impl Mirror {
    /// Whether `group` is the home or the mirror group.
    pub fn has_group(&self, group: Tsi) -> bool {
        self.home.group == group || self.mirror.group == group
    }

    /// Both channels.
    pub fn channels(&self) -> [Channel; 2] {
        [self.home, self.mirror]
    }

    /// The patch that carries the mirror while it is up: no inactivity timeout (roaming
    /// decides), a lifetime of one window as a safety net (roaming extends it while the mirror
    /// is held, so a patch whose keeper is gone still ends).
    pub fn patch_spec(&self, created_by: String) -> PatchSpec {
        PatchSpec {
            name: self.name.clone(),
            channels: self.channels().to_vec(),
            consoles: self.consoles.clone(),
            lifetime: Some(self.window),
            inactivity_timeout: None,
            kind: PatchKind::Dynamic { created_by },
        }
    }

    /// Whether a patch definition is this mirror's (same channels, in any order).
    pub fn matches(&self, spec: &PatchSpec) -> bool {
        spec.channels.len() == 2 && self.channels().iter().all(|c| spec.channels.contains(c))
    }
}
