//! The persistence form of a [`PatchTable`]: dynamic patches created by dispatchers must
//! survive a restart of the daemon (invariant 4).
//!
//! A snapshot stores each patch's definition and id with its *remaining* lifetime and
//! inactivity time rather than absolute deadlines, because [`Instant`]s mean nothing after a
//! restart. The time the daemon was down is therefore not counted: a gateway that restarts has
//! seen no traffic, and counting the outage would dissolve patches behind a maintenance
//! restart.
//!
//! The daemon keeps only dynamic patches when it saves
//! (`snapshot.patches.retain(|p| matches!(p.spec.kind, PatchKind::Dynamic { .. }))`), so a
//! static patch removed from the config does not come back. At start it restores the
//! snapshot into an empty table *first*, so the dynamic patches keep their ids, and then
//! creates the static patches from its config, which take fresh ids; a static patch that
//! [`create`](super::PatchTable::create) refuses because a restored patch holds its channel
//! ([`PatchError::ChannelInUse`] names that patch) is the daemon's call; the config should
//! win.
//!
//! [`PatchKind`]: super::PatchKind

use std::collections::BTreeMap;

use borderlink_protocol::time::{Duration, Instant};
use serde::{Deserialize, Serialize};

use super::spec::opt_micros;
use super::{Channel, Patch, PatchError, PatchId, PatchSpec, PatchTable};

/// One patch as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchRecord {
    /// The patch's id, kept so the API's handles stay valid across the restart.
    pub id: PatchId,
    /// Its definition.
    pub spec: PatchSpec,
    /// Lifetime left when the snapshot was taken; `None` if it has no lifetime.
    #[serde(default, rename = "remaining_lifetime_us", with = "opt_micros")]
    pub remaining_lifetime: Option<Duration>,
    /// Time left before it dissolves for inactivity; `None` if it has no inactivity timeout.
    #[serde(default, rename = "remaining_inactivity_us", with = "opt_micros")]
    pub remaining_inactivity: Option<Duration>,
}

/// Every patch of a table, in a form that outlives the process (serde; the daemon writes
/// JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchSnapshot {
    /// The id the table would give the next patch, so ids are not reused soon after a
    /// restart.
    pub next_id: u32,
    /// The patches, by ascending id.
    pub patches: Vec<PatchRecord>,
}

/// Why a snapshot could not be restored; nothing was restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// A record's definition breaks a rule, or takes a channel already taken.
    #[error("snapshot `patches[{index}]` ({id}): {source}")]
    Invalid {
        /// Index in `patches`.
        index: usize,
        /// The record's id.
        id: PatchId,
        /// What is wrong with it.
        source: PatchError,
    },
    /// A record's id is already in the table or earlier in the snapshot.
    #[error("snapshot `patches[{index}]`: {id} is already in use")]
    IdInUse {
        /// Index in `patches`.
        index: usize,
        /// The contested id.
        id: PatchId,
    },
    /// A remaining time is missing, longer than the patch's own setting, or given for a patch
    /// without that setting: no table produces such a record.
    #[error(
        "snapshot `patches[{index}]` ({id}): `{field}` must be present exactly when the spec's setting is, and not exceed it"
    )]
    RemainingOutOfRange {
        /// Index in `patches`.
        index: usize,
        /// The record's id.
        id: PatchId,
        /// The offending field.
        field: &'static str,
    },
}

impl PatchTable {
    /// The table's patches with their remaining times at `now`, for persistence. A deadline
    /// already passed (not yet handled) is saved as zero remaining, so the patch dissolves at
    /// the first [`handle_timeout`](Self::handle_timeout) after the restore.
    pub fn snapshot(&self, now: Instant) -> PatchSnapshot {
        PatchSnapshot {
            next_id: self.next_id,
            patches: self
                .patches
                .values()
                .map(|p| PatchRecord {
                    id: p.id,
                    spec: p.spec.clone(),
                    remaining_lifetime: p.expires_at.map(|t| t.saturating_since(now)),
                    remaining_inactivity: p.inactive_at.map(|t| t.saturating_since(now)),
                })
                .collect(),
        }
    }

    /// Adds the patches of a snapshot, their remaining times counting from `now`, keeping
    /// their ids. Each record is validated as [`create`](Self::create) would, against the
    /// table and against the other records; on any error nothing is added.
    pub fn restore(&mut self, now: Instant, snapshot: &PatchSnapshot) -> Result<(), RestoreError> {
        let mut taken: BTreeMap<Channel, PatchId> = BTreeMap::new();
        for (index, record) in snapshot.patches.iter().enumerate() {
            let id = record.id;
            let invalid = |source| RestoreError::Invalid { index, id, source };
            if self.patches.contains_key(&id)
                || snapshot.patches[..index].iter().any(|r| r.id == id)
            {
                return Err(RestoreError::IdInUse { index, id });
            }
            record.spec.validate().map_err(invalid)?;
            self.check_channels_free(&record.spec, None)
                .map_err(invalid)?;
            for (ci, channel) in record.spec.channels.iter().enumerate() {
                if let Some(&other) = taken.get(channel) {
                    return Err(invalid(PatchError::ChannelInUse {
                        name: record.spec.name.clone(),
                        index: ci,
                        channel: *channel,
                        other,
                    }));
                }
                taken.insert(*channel, id);
            }
            let out_of_range = |field| RestoreError::RemainingOutOfRange { index, id, field };
            if !remaining_fits(record.remaining_lifetime, record.spec.lifetime) {
                return Err(out_of_range("remaining_lifetime_us"));
            }
            if !remaining_fits(record.remaining_inactivity, record.spec.inactivity_timeout) {
                return Err(out_of_range("remaining_inactivity_us"));
            }
        }
        for record in &snapshot.patches {
            self.insert(Patch {
                id: record.id,
                spec: record.spec.clone(),
                expires_at: record.remaining_lifetime.map(|d| now + d),
                inactive_at: record.remaining_inactivity.map(|d| now + d),
            });
        }
        let after_restored = snapshot
            .patches
            .iter()
            .map(|r| r.id.0.wrapping_add(1))
            .max()
            .unwrap_or(0);
        self.next_id = self.next_id.max(snapshot.next_id).max(after_restored);
        Ok(())
    }
}

/// A remaining time is present exactly when the setting is, and not longer than it.
fn remaining_fits(remaining: Option<Duration>, setting: Option<Duration>) -> bool {
    match (remaining, setting) {
        (None, None) => true,
        (Some(r), Some(s)) => r <= s,
        _ => false,
    }
}
