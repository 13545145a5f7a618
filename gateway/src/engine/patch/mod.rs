//! Patches: which talkgroups and consoles form one conversation, and when that ends.
//!
//! A patch joins talkgroups on the two networks, possibly at several sites, and dispatch
//! consoles. Every site's engine holds the same definitions — static ones from the config,
//! dynamic ones from the dispatch API — and both behave the same here. The relay engine asks
//! the [`PatchTable`] per frame which patch a talkgroup belongs to
//! ([`PatchTable::patch_of_channel`]) and hands the patch's [`PatchSpec`] to
//! [`routing`](super::routing) to find the destinations; those lookups allocate nothing.
//!
//! A patch may end on its own: after its lifetime, or after a stretch without traffic (as
//! bridge rules do in DMR networks). The table is a sans-IO state machine; drive it like this:
//!
//! 1. [`create`](PatchTable::create) / [`modify`](PatchTable::modify) /
//!    [`remove`](PatchTable::remove) as the config and the API say;
//! 2. [`touch`](PatchTable::touch) whenever a frame of the patch is relayed;
//! 3. [`handle_timeout`](PatchTable::handle_timeout) when [`poll_timeout`](PatchTable::poll_timeout)
//!    says (after any of the calls above the deadline may have moved, so ask again);
//! 4. drain [`poll_event`](PatchTable::poll_event) for the patches that dissolved.
//!
//! [`snapshot`](PatchTable::snapshot) and [`restore`](PatchTable::restore) carry the patches
//! (with their remaining times) across a restart; see [`PatchSnapshot`].

mod snapshot;
mod spec;

use std::collections::{BTreeMap, VecDeque};

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::SiteId;
use serde::{Deserialize, Serialize};

pub use snapshot::{PatchRecord, PatchSnapshot, RestoreError};
pub use spec::{Channel, PatchKind, PatchSpec, SiteConsole};

/// A patch's handle in a [`PatchTable`], stable across [`PatchTable::modify`] and persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatchId(pub u32);

impl core::fmt::Display for PatchId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "patch {}", self.0)
    }
}

/// Why a patch definition or a patch operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// `name` is empty or blank.
    #[error("patch `name` is empty")]
    EmptyName,
    /// `channels` and `consoles` together hold fewer than two endpoints.
    #[error(
        "patch '{name}': `channels` and `consoles` hold {count} endpoint(s); a patch joins at least two"
    )]
    TooFewEndpoints {
        /// The patch's name.
        name: String,
        /// Endpoints given.
        count: usize,
    },
    /// A channel's group does not carry its network's country code.
    #[error(
        "patch '{name}': `channels[{index}]` ({channel}): the group's MCC {} is not {}'s ({})",
        channel.group.mcc().get(), channel.network, channel.network.mcc().get()
    )]
    GroupNotInNetwork {
        /// The patch's name.
        name: String,
        /// Index in `channels`.
        index: usize,
        /// The offending channel.
        channel: Channel,
    },
    /// The same channel twice in one definition.
    #[error("patch '{name}': `channels[{index}]` ({channel}) repeats `channels[{first}]`")]
    DuplicateChannel {
        /// The patch's name.
        name: String,
        /// Index of the repeat in `channels`.
        index: usize,
        /// Index of the first occurrence.
        first: usize,
        /// The repeated channel.
        channel: Channel,
    },
    /// The same console twice in one definition.
    #[error("patch '{name}': `consoles[{index}]` ({console}) repeats `consoles[{first}]`")]
    DuplicateConsole {
        /// The patch's name.
        name: String,
        /// Index of the repeat in `consoles`.
        index: usize,
        /// Index of the first occurrence.
        first: usize,
        /// The repeated console.
        console: SiteConsole,
    },
    /// A channel's talkgroup already belongs to another patch. A talkgroup is one
    /// conversation network-wide, so it can be in one patch only (at any number of sites):
    /// in two patches it would silently merge them, and a frame would not know where to go.
    #[error("patch '{name}': `channels[{index}]` ({channel}): its group is already in {other}")]
    ChannelInUse {
        /// The patch's name.
        name: String,
        /// Index in `channels`.
        index: usize,
        /// The contested channel.
        channel: Channel,
        /// The patch that holds it.
        other: PatchId,
    },
    /// `lifetime` is zero.
    #[error("patch '{name}': `lifetime` is zero; leave it out for a patch that does not expire")]
    ZeroLifetime {
        /// The patch's name.
        name: String,
    },
    /// `inactivity_timeout` is zero.
    #[error(
        "patch '{name}': `inactivity_timeout` is zero; leave it out for a patch that never times out"
    )]
    ZeroInactivityTimeout {
        /// The patch's name.
        name: String,
    },
    /// No patch has this id.
    #[error("no {0}")]
    UnknownPatch(PatchId),
}

/// Why a patch ended on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DissolveReason {
    /// Its lifetime ran out (wins when both deadlines fall on the same instant).
    Expired,
    /// No traffic for its inactivity timeout.
    Inactive,
}

/// What the table reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum PatchEvent {
    /// The patch ended on its own and is no longer in the table; its channels are free.
    Dissolved {
        /// The patch's id.
        id: PatchId,
        /// Its definition, for the API and the log.
        spec: PatchSpec,
        /// Why.
        reason: DissolveReason,
    },
}

/// One patch in a [`PatchTable`]: its definition and its deadlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    id: PatchId,
    spec: PatchSpec,
    expires_at: Option<Instant>,
    inactive_at: Option<Instant>,
}

impl Patch {
    /// The patch's id.
    pub fn id(&self) -> PatchId {
        self.id
    }

    /// Its definition.
    pub fn spec(&self) -> &PatchSpec {
        &self.spec
    }

    /// When its lifetime runs out, if it has one.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// When it dissolves unless traffic comes first, if it has an inactivity timeout.
    pub fn inactive_at(&self) -> Option<Instant> {
        self.inactive_at
    }

    /// The earlier of the two deadlines.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.expires_at, self.inactive_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Why it dissolves at `now`, if a deadline has been reached.
    fn due(&self, now: Instant) -> Option<DissolveReason> {
        if self.expires_at.is_some_and(|t| t <= now) {
            Some(DissolveReason::Expired)
        } else if self.inactive_at.is_some_and(|t| t <= now) {
            Some(DissolveReason::Inactive)
        } else {
            None
        }
    }

    fn new(id: PatchId, spec: PatchSpec, now: Instant) -> Self {
        Patch {
            id,
            expires_at: spec.lifetime.map(|d| now + d),
            inactive_at: spec.inactivity_timeout.map(|d| now + d),
            spec,
        }
    }
}

/// The patches known to this site, with the per-frame lookups the relay engine needs.
///
/// See the [module documentation](self) for the call order.
#[derive(Debug, Clone, Default)]
pub struct PatchTable {
    patches: BTreeMap<PatchId, Patch>,
    /// Which patch each talkgroup is in; a talkgroup is in at most one, at any sites.
    groups: BTreeMap<Tsi, PatchId>,
    next_id: u32,
    events: VecDeque<PatchEvent>,
    /// No patch has a deadline before this one: the exact earliest after every change that
    /// can bring a deadline forward, and possibly early after traffic has moved inactivity
    /// deadlines later (then [`handle_timeout`](Self::handle_timeout) looks and recomputes).
    /// So neither a packet nor a poll looks at every patch.
    earliest: Option<Instant>,
}

impl PatchTable {
    /// An empty table.
    pub fn new() -> Self {
        PatchTable::default()
    }

    /// Adds a patch; its lifetime and inactivity timeout start at `now`.
    pub fn create(&mut self, now: Instant, spec: PatchSpec) -> Result<PatchId, PatchError> {
        spec.validate()?;
        self.check_channels_free(&spec, None)?;
        let id = self.allocate_id();
        self.insert(Patch::new(id, spec, now));
        Ok(id)
    }

    /// Replaces a patch's definition, keeping its id. The new definition is validated as if
    /// created (its own channels do not conflict with themselves), and its lifetime and
    /// inactivity timeout restart at `now`: a dispatcher who sends "two hours" means two
    /// hours from now. On error the patch is left as it was.
    pub fn modify(&mut self, now: Instant, id: PatchId, spec: PatchSpec) -> Result<(), PatchError> {
        if !self.patches.contains_key(&id) {
            return Err(PatchError::UnknownPatch(id));
        }
        spec.validate()?;
        self.check_channels_free(&spec, Some(id))?;
        self.remove(id)?;
        self.insert(Patch::new(id, spec, now));
        Ok(())
    }

    /// Gives a patch a new lifetime and inactivity timeout, both counted from `now`, and keeps
    /// its definition otherwise: the way to extend a patch (or let it lapse) without the
    /// restart [`modify`](Self::modify) means for its streams. `None` removes that deadline.
    pub fn retime(
        &mut self,
        now: Instant,
        id: PatchId,
        lifetime: Option<Duration>,
        inactivity_timeout: Option<Duration>,
    ) -> Result<(), PatchError> {
        let patch = self
            .patches
            .get_mut(&id)
            .ok_or(PatchError::UnknownPatch(id))?;
        if lifetime == Some(Duration::ZERO) {
            return Err(PatchError::ZeroLifetime {
                name: patch.spec.name.clone(),
            });
        }
        if inactivity_timeout == Some(Duration::ZERO) {
            return Err(PatchError::ZeroInactivityTimeout {
                name: patch.spec.name.clone(),
            });
        }
        patch.spec.lifetime = lifetime;
        patch.spec.inactivity_timeout = inactivity_timeout;
        patch.expires_at = lifetime.map(|d| now + d);
        patch.inactive_at = inactivity_timeout.map(|d| now + d);
        self.recompute_earliest();
        Ok(())
    }

    /// Removes a patch and frees its channels; returns its definition.
    pub fn remove(&mut self, id: PatchId) -> Result<PatchSpec, PatchError> {
        let patch = self
            .patches
            .remove(&id)
            .ok_or(PatchError::UnknownPatch(id))?;
        for channel in &patch.spec.channels {
            self.groups.remove(&channel.group);
        }
        if patch.deadline().is_some() && patch.deadline() == self.earliest {
            self.recompute_earliest();
        }
        Ok(patch.spec)
    }

    /// Records traffic in a patch at `now`: its inactivity timeout starts again. Unknown ids
    /// are ignored (the patch may have dissolved a moment ago). Allocation-free.
    pub fn touch(&mut self, id: PatchId, now: Instant) {
        if let Some(patch) = self.patches.get_mut(&id)
            && let Some(timeout) = patch.spec.inactivity_timeout
        {
            let deadline = now + timeout;
            // A late call with an older `now` must not shorten the deadline.
            patch.inactive_at = Some(patch.inactive_at.map_or(deadline, |t| t.max(deadline)));
        }
    }

    /// Dissolves every patch whose lifetime or inactivity deadline is at or before `now`,
    /// queueing a [`PatchEvent::Dissolved`] for each.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.earliest.is_none_or(|t| t > now) {
            return;
        }
        // Dissolving is rare and tables are small: search again after each removal rather
        // than collect the due ids into a buffer.
        while let Some((id, reason)) = self
            .patches
            .values()
            .find_map(|p| p.due(now).map(|reason| (p.id, reason)))
        {
            if let Ok(spec) = self.remove(id) {
                self.events
                    .push_back(PatchEvent::Dissolved { id, spec, reason });
            }
        }
        self.recompute_earliest();
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called: the earliest
    /// deadline of any patch, or a moment before it when traffic has since moved an inactivity
    /// deadline later (that call then dissolves nothing and looks again). `None` when no
    /// patch can end on its own.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.earliest
    }

    fn recompute_earliest(&mut self) {
        self.earliest = self.patches.values().filter_map(Patch::deadline).min();
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<PatchEvent> {
        self.events.pop_front()
    }

    /// The patch that joins this talkgroup at this site, if any. Allocation-free.
    pub fn patch_of_channel(&self, site: SiteId, network: Network, group: Tsi) -> Option<PatchId> {
        let id = self.patch_of_group(group)?;
        let channel = Channel {
            site,
            network,
            group,
        };
        self.patches
            .get(&id)
            .filter(|p| p.spec.has_channel(&channel))
            .map(|p| p.id)
    }

    /// The patch that holds this talkgroup, at whichever sites. Allocation-free. Peers use it
    /// for streams from dispatch consoles, which carry a group of their patch but no network.
    pub fn patch_of_group(&self, group: Tsi) -> Option<PatchId> {
        self.groups.get(&group).copied()
    }

    /// The patches that join this console (a console may sit in several). Allocation-free.
    pub fn patches_of_console(&self, console: SiteConsole) -> impl Iterator<Item = PatchId> + '_ {
        self.patches
            .values()
            .filter(move |p| p.spec.has_console(console))
            .map(|p| p.id)
    }

    /// A patch by id.
    pub fn get(&self, id: PatchId) -> Option<&Patch> {
        self.patches.get(&id)
    }

    /// Every patch, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = &Patch> + '_ {
        self.patches.values()
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.patches.len()
    }

    /// Whether the table holds no patch.
    pub fn is_empty(&self) -> bool {
        self.patches.is_empty()
    }

    /// Refuses a channel held by a patch other than `except`.
    fn check_channels_free(
        &self,
        spec: &PatchSpec,
        except: Option<PatchId>,
    ) -> Result<(), PatchError> {
        for (index, channel) in spec.channels.iter().enumerate() {
            if let Some(&other) = self.groups.get(&channel.group)
                && Some(other) != except
            {
                return Err(PatchError::ChannelInUse {
                    name: spec.name.clone(),
                    index,
                    channel: *channel,
                    other,
                });
            }
        }
        Ok(())
    }

    /// The next free id. Ids are never 0 and skip ids in use, so after wrapping (four
    /// billion patches later) a live patch is never renamed.
    fn allocate_id(&mut self) -> PatchId {
        loop {
            let id = PatchId(self.next_id.max(1));
            self.next_id = id.0.wrapping_add(1);
            if !self.patches.contains_key(&id) {
                return id;
            }
        }
    }

    /// Inserts a validated patch whose channels are free.
    fn insert(&mut self, patch: Patch) {
        for channel in &patch.spec.channels {
            self.groups.insert(channel.group, patch.id);
        }
        if let Some(deadline) = patch.deadline() {
            self.earliest = Some(self.earliest.map_or(deadline, |t| t.min(deadline)));
        }
        self.patches.insert(patch.id, patch);
    }
}

#[cfg(test)]
mod tests;
