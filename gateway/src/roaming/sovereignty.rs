//! Sovereignty rules: what each country allows to happen to its own talkgroups.
//!
//! Each network sets rules for its groups — per network, refined per group:
//!
//! - **which groups may be patched at all**: a group not allowed is never patched, whatever
//!   triggers arrive (status, position, dispatch, or a mirror in the configuration);
//! - **the highest priority a foreign talker may use** in a patch holding the group (on the
//!   floor and on the air), and **whether a foreign emergency propagates**: whether the engine
//!   keys the radio on this network for an emergency call or an ordinary one. On the floor an
//!   emergency stays an emergency either way, so that no side's refusal lets its own talkers
//!   pre-empt the other side's emergency;
//! - **who may create patches** holding the group: its own country's dispatch only, or both
//!   countries' dispatch; and whether field units may trigger them (status or position).
//!
//! The floor-related rules become part of the engine's [`FloorPolicy`] (see
//! [`Sovereignty::floor_policy`]), which must be identical at every site, like the rest of the
//! policy. The rule between two emergencies is here too: by default a foreign talker never
//! pre-empts a home emergency ([`EmergencyRule::FirstHolds`]).

use std::collections::BTreeSet;
use std::fmt;

use borderlink_protocol::ids::{Network, Tsi};

use crate::engine::patch::Channel;
use crate::engine::policy::{EmergencyRule, FloorPolicy, PolicyError, SourceLimits};

/// Who may bring up a patch holding a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Creators {
    /// The group's own country's dispatch only.
    Home,
    /// Either country's dispatch.
    #[default]
    Both,
}

/// The rules of one network for its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The groups that may be patched; `None`: every group of the network.
    pub allowed_groups: Option<BTreeSet<Tsi>>,
    /// What a talker from the other network may claim in a patch holding one of these
    /// groups.
    pub foreign: SourceLimits,
    /// Who may create such a patch.
    pub creators: Creators,
    /// Whether units in the field may trigger one (status request, position in a zone).
    pub field_triggers: bool,
}

impl Default for NetworkRules {
    fn default() -> Self {
        NetworkRules {
            allowed_groups: None,
            foreign: SourceLimits::UNLIMITED,
            creators: Creators::Both,
            field_triggers: true,
        }
    }
}

/// Rules for one group, replacing its network's where given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRules {
    /// The group.
    pub group: Tsi,
    /// Foreign talkers' limits in a patch holding it.
    pub foreign: Option<SourceLimits>,
    /// Who may create a patch holding it.
    pub creators: Option<Creators>,
    /// Whether field units may trigger one.
    pub field_triggers: Option<bool>,
}

/// Who asks for a patch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requester {
    /// A dispatcher of one country.
    Dispatch {
        /// The dispatcher's country, as the network it runs.
        network: Network,
        /// Who, for the audit trail.
        operator: String,
    },
    /// A unit in the field (by status or by position).
    Unit {
        /// Its identity.
        issi: Tsi,
    },
    /// The configuration (a permanent or scheduled mirror).
    Config,
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requester::Dispatch { network, operator } => {
                write!(f, "{network} dispatch ({operator})")
            }
            Requester::Unit { issi } => write!(f, "unit {issi}"),
            Requester::Config => f.write_str("configuration"),
        }
    }
}

/// Why sovereignty refuses a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The group may not be patched at all.
    #[error("{network} group {group} may not be patched")]
    GroupNotAllowed {
        /// Its network.
        network: Network,
        /// The group.
        group: Tsi,
    },
    /// Only the group's own country's dispatch may create a patch holding it.
    #[error("only {network} dispatch may patch {network} group {group}")]
    HomeDispatchOnly {
        /// The group's network.
        network: Network,
        /// The group.
        group: Tsi,
    },
    /// Field units may not trigger a patch holding the group.
    #[error("{network} group {group} may not be patched from the field")]
    NoFieldTriggers {
        /// The group's network.
        network: Network,
        /// The group.
        group: Tsi,
    },
}

/// Both networks' rules; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sovereignty {
    astrid: NetworkRules,
    c2000: NetworkRules,
    /// Sorted by group, unique.
    groups: Vec<GroupRules>,
    emergency_rule: EmergencyRule,
}

impl Default for Sovereignty {
    /// No restriction, and the first emergency holds the floor.
    fn default() -> Self {
        Sovereignty {
            astrid: NetworkRules::default(),
            c2000: NetworkRules::default(),
            groups: Vec::new(),
            emergency_rule: EmergencyRule::FirstHolds,
        }
    }
}

impl Sovereignty {
    /// Rules for each network, per-group refinements and the rule between emergencies. Later
    /// rules for a group replace earlier ones.
    pub fn new(
        astrid: NetworkRules,
        c2000: NetworkRules,
        groups: impl IntoIterator<Item = GroupRules>,
        emergency_rule: EmergencyRule,
    ) -> Self {
        let mut groups: Vec<GroupRules> = groups.into_iter().collect();
        // Stable sort, then keep the last of each group.
        groups.sort_by_key(|g| g.group);
        let mut unique: Vec<GroupRules> = Vec::with_capacity(groups.len());
        for g in groups {
            match unique.last_mut() {
                Some(last) if last.group == g.group => *last = g,
                _ => unique.push(g),
            }
        }
        Sovereignty {
            astrid,
            c2000,
            groups: unique,
            emergency_rule,
        }
    }

    /// The rules of a network.
    pub fn network(&self, network: Network) -> &NetworkRules {
        match network {
            Network::Astrid => &self.astrid,
            Network::C2000 => &self.c2000,
        }
    }

    fn group(&self, group: Tsi) -> Option<&GroupRules> {
        self.groups
            .binary_search_by_key(&group, |g| g.group)
            .ok()
            .and_then(|i| self.groups.get(i))
    }

    /// Whether `group` (on `network`) may be patched at all.
    pub fn allows_group(&self, network: Network, group: Tsi) -> bool {
        self.network(network)
            .allowed_groups
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&group))
    }

    /// Who may create a patch holding `group`.
    pub fn creators(&self, network: Network, group: Tsi) -> Creators {
        self.group(group)
            .and_then(|g| g.creators)
            .unwrap_or(self.network(network).creators)
    }

    /// Whether field units may trigger a patch holding `group`.
    pub fn field_triggers(&self, network: Network, group: Tsi) -> bool {
        self.group(group)
            .and_then(|g| g.field_triggers)
            .unwrap_or(self.network(network).field_triggers)
    }

    /// Whether `by` may bring up a patch of these channels; the first channel that forbids it
    /// says why.
    pub fn check(&self, channels: &[Channel], by: &Requester) -> Result<(), Refusal> {
        for c in channels {
            let (network, group) = (c.network, c.group);
            if !self.allows_group(network, group) {
                return Err(Refusal::GroupNotAllowed { network, group });
            }
            match by {
                Requester::Dispatch {
                    network: country, ..
                } if *country != network && self.creators(network, group) == Creators::Home => {
                    return Err(Refusal::HomeDispatchOnly { network, group });
                }
                Requester::Unit { .. } if !self.field_triggers(network, group) => {
                    return Err(Refusal::NoFieldTriggers { network, group });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `base` with these rules' floor limits and emergency rule folded in, for the engine.
    pub fn floor_policy(&self, base: FloorPolicy) -> Result<FloorPolicy, PolicyError> {
        let mut policy = base.with_emergency_rule(self.emergency_rule);
        for network in [Network::Astrid, Network::C2000] {
            let foreign = self.network(network).foreign;
            if foreign != SourceLimits::UNLIMITED {
                policy = policy.with_foreign_limits(network, foreign);
            }
        }
        policy.with_group_foreign_limits(
            self.groups
                .iter()
                .filter_map(|g| g.foreign.map(|limits| (g.group, limits))),
        )
    }

    /// The rule between emergencies.
    pub fn emergency_rule(&self) -> EmergencyRule {
        self.emergency_rule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_protocol::voice::{Priority, SiteId};

    fn astrid(ssi: u32) -> Tsi {
        Tsi::from_parts(206, 1, ssi).unwrap()
    }

    fn c2000(ssi: u32) -> Tsi {
        Tsi::from_parts(204, 1, ssi).unwrap()
    }

    fn channels(a: u32, c: u32) -> Vec<Channel> {
        vec![
            Channel {
                site: SiteId(1),
                network: Network::Astrid,
                group: astrid(a),
            },
            Channel {
                site: SiteId(1),
                network: Network::C2000,
                group: c2000(c),
            },
        ]
    }

    fn rules() -> Sovereignty {
        Sovereignty::new(
            NetworkRules {
                allowed_groups: Some([astrid(2_061_001), astrid(2_061_002)].into()),
                foreign: SourceLimits::new(Priority::new(8).unwrap(), false),
                creators: Creators::Home,
                field_triggers: true,
            },
            NetworkRules::default(),
            [GroupRules {
                group: astrid(2_061_002),
                foreign: None,
                creators: Some(Creators::Both),
                field_triggers: Some(false),
            }],
            EmergencyRule::FirstHolds,
        )
    }

    #[test]
    fn a_group_not_allowed_is_refused_to_everyone() {
        let s = rules();
        let dutch = Requester::Dispatch {
            network: Network::C2000,
            operator: "MK Brabant".into(),
        };
        let belgian = Requester::Dispatch {
            network: Network::Astrid,
            operator: "CIC Antwerpen".into(),
        };
        for by in [
            belgian.clone(),
            dutch.clone(),
            Requester::Unit { issi: astrid(1) },
            Requester::Config,
        ] {
            assert_eq!(
                s.check(&channels(2_061_009, 2_040_551), &by),
                Err(Refusal::GroupNotAllowed {
                    network: Network::Astrid,
                    group: astrid(2_061_009)
                }),
                "{by}"
            );
        }
        // An allowed group: home dispatch only, by the network rule.
        assert_eq!(s.check(&channels(2_061_001, 2_040_551), &belgian), Ok(()));
        assert_eq!(
            s.check(&channels(2_061_001, 2_040_551), &dutch),
            Err(Refusal::HomeDispatchOnly {
                network: Network::Astrid,
                group: astrid(2_061_001)
            })
        );
    }

    #[test]
    fn group_rules_replace_the_network_rules() {
        let s = rules();
        let dutch = Requester::Dispatch {
            network: Network::C2000,
            operator: "MK".into(),
        };
        assert_eq!(s.check(&channels(2_061_002, 2_040_551), &dutch), Ok(()));
        assert_eq!(
            s.check(
                &channels(2_061_002, 2_040_551),
                &Requester::Unit { issi: astrid(1) }
            ),
            Err(Refusal::NoFieldTriggers {
                network: Network::Astrid,
                group: astrid(2_061_002)
            })
        );
        assert_eq!(
            s.check(
                &channels(2_061_001, 2_040_551),
                &Requester::Unit { issi: astrid(1) }
            ),
            Ok(())
        );
    }

    #[test]
    fn floor_limits_reach_the_policy() {
        let policy = rules().floor_policy(FloorPolicy::unlimited()).unwrap();
        assert_eq!(policy.emergency_rule(), EmergencyRule::FirstHolds);
        assert_eq!(
            policy.foreign_limits(Network::Astrid, astrid(2_061_001)),
            Some(SourceLimits::new(Priority::new(8).unwrap(), false))
        );
        assert_eq!(
            policy.foreign_limits(Network::C2000, c2000(2_040_551)),
            None
        );
    }
}
