//! What a patch is made of and the rules a definition must follow on its own; the
//! [`PatchTable`](super::PatchTable) adds the rules that span patches (a channel in one patch
//! only).
//!
//! A definition is the same whether it comes from the config file (static) or the dispatch
//! API (dynamic), and every site holds the same definitions, so it names each talkgroup with
//! the site whose radio reaches it ([`Channel`]) and each console with the site it is
//! connected to ([`SiteConsole`]).

use core::fmt;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::SiteId;
use serde::{Deserialize, Serialize};

use super::PatchError;
use crate::engine::endpoint::ConsoleId;

/// A talkgroup on one network, reached through a radio of one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Channel {
    /// The site whose gateway has a radio on the group.
    pub site: SiteId,
    /// The network of the group (and of the radio).
    pub network: Network,
    /// The talkgroup's GTSI; its MCC must be the network's.
    pub group: Tsi,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "site {} {} group {}",
            self.site.0, self.network, self.group
        )
    }
}

/// A dispatch console, named with the site whose gateway it is connected to: console ids are
/// local to a gateway, while patch definitions are the same at every site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SiteConsole {
    /// The site whose gateway the console is connected to.
    pub site: SiteId,
    /// The console's id at that gateway.
    pub console: ConsoleId,
}

impl fmt::Display for SiteConsole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "site {} console {}", self.site.0, self.console.0)
    }
}

/// Where a patch definition came from. Both kinds behave the same in the engine; the kind
/// only tells the daemon what to persist and the API who may change it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchKind {
    /// From the config file; recreated at every start.
    Static,
    /// From the dispatch API; persisted across restarts.
    Dynamic {
        /// Who created it (dispatcher or unit), for the audit trail.
        created_by: String,
    },
}

/// The definition of a patch: which talkgroups and consoles it joins, and when it ends.
///
/// Durations are serialised in microseconds (`lifetime_us`, `inactivity_timeout_us`), the
/// unit of [`Duration`], so a persisted definition comes back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatchSpec {
    /// Name shown to dispatchers; not empty.
    pub name: String,
    /// The talkgroups joined, each at one site.
    pub channels: Vec<Channel>,
    /// The dispatch consoles joined.
    #[serde(default)]
    pub consoles: Vec<SiteConsole>,
    /// The patch dissolves this long after it is created (or last modified); `None`: never.
    #[serde(default, rename = "lifetime_us", with = "opt_micros")]
    pub lifetime: Option<Duration>,
    /// The patch dissolves after this long without traffic; `None`: never.
    #[serde(default, rename = "inactivity_timeout_us", with = "opt_micros")]
    pub inactivity_timeout: Option<Duration>,
    /// Static (config) or dynamic (API).
    pub kind: PatchKind,
}

impl PatchSpec {
    /// Number of endpoints joined: channels plus consoles.
    pub fn endpoint_count(&self) -> usize {
        self.channels.len().saturating_add(self.consoles.len())
    }

    /// Whether the patch joins this channel.
    pub fn has_channel(&self, channel: &Channel) -> bool {
        self.channels.contains(channel)
    }

    /// Whether the patch joins this console.
    pub fn has_console(&self, console: SiteConsole) -> bool {
        self.consoles.contains(&console)
    }

    /// Whether the patch has a channel or a console at `site`.
    pub fn touches_site(&self, site: SiteId) -> bool {
        self.channels.iter().any(|c| c.site == site) || self.consoles.iter().any(|c| c.site == site)
    }

    /// Checks the rules a definition must follow on its own, in field order, and names the
    /// first field that breaks one.
    pub fn validate(&self) -> Result<(), PatchError> {
        let name = || self.name.clone();
        if self.name.trim().is_empty() {
            return Err(PatchError::EmptyName);
        }
        for (index, channel) in self.channels.iter().enumerate() {
            if channel.group.network() != Some(channel.network) {
                return Err(PatchError::GroupNotInNetwork {
                    name: name(),
                    index,
                    channel: *channel,
                });
            }
            if let Some(first) = self.channels[..index].iter().position(|c| c == channel) {
                return Err(PatchError::DuplicateChannel {
                    name: name(),
                    index,
                    first,
                    channel: *channel,
                });
            }
        }
        for (index, console) in self.consoles.iter().enumerate() {
            if let Some(first) = self.consoles[..index].iter().position(|c| c == console) {
                return Err(PatchError::DuplicateConsole {
                    name: name(),
                    index,
                    first,
                    console: *console,
                });
            }
        }
        let count = self.endpoint_count();
        if count < 2 {
            return Err(PatchError::TooFewEndpoints {
                name: name(),
                count,
            });
        }
        if self.lifetime == Some(Duration::ZERO) {
            return Err(PatchError::ZeroLifetime { name: name() });
        }
        if self.inactivity_timeout == Some(Duration::ZERO) {
            return Err(PatchError::ZeroInactivityTimeout { name: name() });
        }
        Ok(())
    }
}

/// Serde for an optional [`Duration`] as a number of microseconds (the protocol crate's
/// `Duration` is deliberately serde-free).
pub(crate) mod opt_micros {
    use borderlink_protocol::time::Duration;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(Duration::as_micros).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_micros))
    }
}
