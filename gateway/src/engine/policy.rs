//! What a source may claim on the floor of a patch, and the rank that decides between claims.
//!
//! Every voice packet carries its transmission's [`Claim`]: emergency flag, priority 0–15,
//! key-up time, origin site and network. Those fields are set by whoever put the stream on IP,
//! so a gateway must not take them at face value: commercial patch systems cap the priority a
//! *foreign* source may use, so that a neighbour's dispatcher or a roaming unit cannot pre-empt
//! home police. [`FloorPolicy`] does that per origin — one [`SourceLimits`] for ASTRID, one for
//! C2000, one for dispatch consoles, optionally refined per origin site — and turns a claim into
//! its [`Rank`].
//!
//! # The rank rule
//! Claims are ordered, best first, by
//! 1. the emergency flag, after policy (an emergency beats any non-emergency);
//! 2. the priority, after the cap;
//! 3. the earlier key-up time (64-bit milliseconds since 1970, so no wrap to survive);
//! 4. the lower origin site id;
//! 5. the lower stream id.
//!
//! This is the tie-break issue 3 asks for (emergency > priority > earliest start > lowest site).
//! Every input is carried in the packet itself and the key-up time is read from clocks that NTP
//! keeps within a few ms of each other, so every site computes the same order from the same
//! claims without asking anyone: two sites that see a simultaneous key-up in opposite orders
//! still agree on the winner once both claims have arrived, with no extra round trip. The site
//! id decides between key-ups in the same millisecond; the stream id is only there to make the
//! order total (one site can originate two streams in the same millisecond, one per radio).
//!
//! # Emergencies against emergencies
//! [`EmergencyRule::ByPriority`] ranks two emergencies by their priority, so a foreign emergency
//! at priority 15 pre-empts a home emergency at priority 3. Sovereignty forbids that: a foreign
//! talker never pre-empts a home emergency. Because a patch carries both networks, "home" is
//! each side in turn, and the only rule that protects both at once is
//! [`EmergencyRule::FirstHolds`]: every honoured emergency ranks at the same urgency, so the
//! first one keeps the floor and a later one waits for it (late entry) whatever its network.
//! The order stays a function of the claims alone (key-up time, site, stream), so sites still
//! converge without asking each other.
//!
//! # Foreign limits per network and per group
//! [`FloorPolicy::with_foreign_limits`] and [`FloorPolicy::with_group_foreign_limits`] say what a
//! talker from the *other* network may claim in a patch that holds a group of this network (a
//! Dutch talker in a patch with an ASTRID group, say). They are the sovereignty rules of each
//! side, and they only apply where that side has a group: [`FloorPolicy::for_patch`] folds them
//! into the per-origin limits of one patch. A rule for a group replaces its network's rule; both
//! only ever tighten the per-origin limits, never loosen them.
//!
//! Their priority cap applies on the floor and on the air. Their emergency flag says whether a
//! foreign emergency *propagates* — is set up as an emergency call on this network
//! ([`FloorPolicy::on_air`], what the engine keys radios with) — but does not demote it on the
//! floor: one side refusing the other's emergencies must not let its own talkers pre-empt an
//! emergency there, so on the floor every emergency the per-origin limits honour stays one.
//!
//! # Same policy everywhere
//! A "home" network is really a property of each destination, but the floor of a patch is one
//! decision shared by all sites. The policy is therefore keyed by *origin* only, and **every site
//! must run the identical policy**: two sites with different caps would rank the same claims
//! differently and key different talkers on the same patch — exactly the divergence the rank rule
//! exists to prevent. Configuration distribution has to guarantee this (same policy table in
//! every site's config).
//!
//! # Why `Rank` is not `Ord`
//! Key-up times are compared modulo 2^32 ms, which is a consistent order only for times less
//! than 24.8 days apart. Streams that contend for a floor are live at the same moment, so their
//! key-up times are minutes apart at most and the order is total on any set that can meet; but a
//! blanket `Ord` would invite sorting arbitrary historical ranks, where transitivity fails. The
//! comparison is offered as [`Rank::cmp_rank`] instead. Key-up times exactly 2^31 ms apart
//! compare as equal (each is "before" the other) and fall through to the site id, which keeps
//! the comparison antisymmetric.

use core::cmp::Ordering;
use core::fmt;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{KeyUpTime, Priority, SiteId};
use thiserror::Error;

use super::stream::{Claim, StreamKey};

/// Which kind of source a stream comes from, as far as policy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// A talker on ASTRID.
    Astrid,
    /// A talker on C2000.
    C2000,
    /// A dispatch console on IP (origin network `None`).
    Dispatch,
}

impl SourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SourceKind; 3] = [SourceKind::Astrid, SourceKind::C2000, SourceKind::Dispatch];

    /// The kind of a stream whose origin network is `network`.
    pub const fn of(network: Option<Network>) -> Self {
        match network {
            Some(Network::Astrid) => SourceKind::Astrid,
            Some(Network::C2000) => SourceKind::C2000,
            None => SourceKind::Dispatch,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Astrid => "ASTRID",
            SourceKind::C2000 => "C2000",
            SourceKind::Dispatch => "dispatch",
        })
    }
}

/// What one source may claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceLimits {
    /// Highest priority honoured; higher claims are lowered to this.
    pub max_priority: Priority,
    /// Whether the source's emergency flag counts; if not, its emergencies rank as ordinary calls
    /// (at their capped priority).
    pub honour_emergency: bool,
}

impl SourceLimits {
    /// No cap: priority up to 15 and emergencies honoured.
    pub const UNLIMITED: SourceLimits = SourceLimits {
        max_priority: Priority::EMERGENCY,
        honour_emergency: true,
    };

    /// Limits with this priority cap and emergency handling.
    pub const fn new(max_priority: Priority, honour_emergency: bool) -> Self {
        SourceLimits {
            max_priority,
            honour_emergency,
        }
    }

    /// The stricter of two limits: the lower priority cap, and emergencies honoured only if
    /// both honour them.
    pub fn tighten(self, other: SourceLimits) -> SourceLimits {
        SourceLimits {
            max_priority: self.max_priority.min(other.max_priority),
            honour_emergency: self.honour_emergency && other.honour_emergency,
        }
    }

    /// The urgency a claim has under these limits.
    pub fn apply(self, emergency: bool, priority: Priority) -> Urgency {
        Urgency {
            emergency: emergency && self.honour_emergency,
            priority: priority.min(self.max_priority),
        }
    }
}

impl Default for SourceLimits {
    fn default() -> Self {
        SourceLimits::UNLIMITED
    }
}

/// How two honoured emergencies rank against each other (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EmergencyRule {
    /// The higher priority (after policy) wins, and pre-empts a lower-priority emergency.
    #[default]
    ByPriority,
    /// Every honoured emergency ranks alike: the first keeps the floor, later ones wait. A
    /// foreign emergency never pre-empts a home emergency.
    FirstHolds,
}

/// Limits for one kind of source entering at one origin site; overrides the per-kind limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SiteRule {
    /// The origin site.
    pub site: SiteId,
    /// The kind of source at that site.
    pub kind: SourceKind,
    /// What such a source may claim.
    pub limits: SourceLimits,
}

/// A floor policy that cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// Two foreign-limit rules name the same group.
    #[error("floor policy: two foreign-limit rules for group {0}")]
    DuplicateGroupRule(Tsi),
    /// Two site rules name the same site and source kind, so which one applies is ambiguous.
    #[error("floor policy: two site rules for origin site {site} and {kind} sources")]
    DuplicateSiteRule {
        /// The origin site id.
        site: u16,
        /// The source kind.
        kind: SourceKind,
    },
    /// Two dispatch-home declarations name the same site.
    #[error("floor policy: site {site} is given a dispatch home network twice")]
    DuplicateDispatchHome {
        /// The site id.
        site: u16,
    },
}

/// Per-origin limits on claims, identical at every site (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FloorPolicy {
    /// Indexed by [`SourceKind::index`].
    by_kind: [SourceLimits; 3],
    /// Sorted by (site, kind), unique, for a binary search per claim.
    site_rules: Vec<SiteRule>,
    /// How emergencies rank against each other.
    emergency_rule: EmergencyRule,
    /// What talkers of the other network may claim where a group of this network is patched,
    /// indexed by [`network_index`].
    foreign: [Option<SourceLimits>; 2],
    /// The same per group, sorted by group, unique; replaces its network's rule.
    group_foreign: Vec<(Tsi, SourceLimits)>,
    /// Caps of one patch, by [`SourceKind::index`] (set by [`FloorPolicy::for_patch`]). The
    /// dispatch entry is for consoles of a site with no declared home network: they are
    /// foreign to every group that has a rule.
    patch_caps: [Option<SourceLimits>; 3],
    /// The home network of the dispatch consoles at a site, sorted by site, unique.
    dispatch_homes: Vec<(SiteId, Network)>,
    /// Caps of one patch for dispatch consoles of a site whose home is this network, indexed
    /// by [`network_index`]: foreign to the other network's groups only.
    dispatch_caps: [Option<SourceLimits>; 2],
}

const fn network_index(network: Network) -> usize {
    match network {
        Network::Astrid => 0,
        Network::C2000 => 1,
    }
}

impl FloorPolicy {
    /// A policy that honours every claim as made.
    pub fn unlimited() -> Self {
        FloorPolicy::default()
    }

    /// A policy with these limits for ASTRID talkers, C2000 talkers and dispatch consoles.
    pub fn new(astrid: SourceLimits, c2000: SourceLimits, dispatch: SourceLimits) -> Self {
        FloorPolicy {
            by_kind: [astrid, c2000, dispatch],
            ..FloorPolicy::default()
        }
    }

    /// This policy with another rule between emergencies.
    pub fn with_emergency_rule(mut self, rule: EmergencyRule) -> Self {
        self.emergency_rule = rule;
        self
    }

    /// The rule between emergencies.
    pub fn emergency_rule(&self) -> EmergencyRule {
        self.emergency_rule
    }

    /// This policy where talkers of the network other than `home` may claim at most `limits`
    /// in any patch that holds a group of `home` (that side's sovereignty rule).
    pub fn with_foreign_limits(mut self, home: Network, limits: SourceLimits) -> Self {
        if let Some(slot) = self.foreign.get_mut(network_index(home)) {
            *slot = Some(limits);
        }
        self
    }

    /// Adds per-group foreign limits, which replace the group's network rule; fails if two rules
    /// (here or from before) name the same group.
    pub fn with_group_foreign_limits(
        mut self,
        rules: impl IntoIterator<Item = (Tsi, SourceLimits)>,
    ) -> Result<Self, PolicyError> {
        self.group_foreign.extend(rules);
        self.group_foreign.sort_by_key(|(g, _)| *g);
        if let Some(w) = self.group_foreign.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(PolicyError::DuplicateGroupRule(w[0].0));
        }
        Ok(self)
    }

    /// What talkers from outside `network` may claim where `group` (on `network`) is patched,
    /// if a rule says.
    pub fn foreign_limits(&self, network: Network, group: Tsi) -> Option<SourceLimits> {
        match self.group_foreign.binary_search_by_key(&group, |(g, _)| *g) {
            Ok(i) => self.group_foreign.get(i).map(|(_, l)| *l),
            Err(_) => self.foreign.get(network_index(network)).copied().flatten(),
        }
    }

    /// Whether any foreign-limit rule exists, so [`FloorPolicy::for_patch`] can be skipped.
    pub fn has_foreign_rules(&self) -> bool {
        self.foreign.iter().any(Option::is_some) || !self.group_foreign.is_empty()
    }

    /// The policy of one patch holding these `(network, group)` channels: this policy with the
    /// foreign limits of every group folded in (each tightens what the other network's talkers
    /// may claim). Every site derives the same from the same patch definition.
    pub fn for_patch(&self, channels: impl IntoIterator<Item = (Network, Tsi)>) -> FloorPolicy {
        let mut policy = self.clone();
        let tighten = |cap: &mut Option<SourceLimits>, limits: SourceLimits| {
            *cap = Some(cap.map_or(limits, |c| c.tighten(limits)));
        };
        for (network, group) in channels {
            if let Some(limits) = self.foreign_limits(network, group) {
                let kind = SourceKind::of(Some(network.other()));
                if let Some(cap) = policy.patch_caps.get_mut(kind.index()) {
                    tighten(cap, limits);
                }
                // Dispatch: foreign to this group unless declared at home on its network.
                if let Some(cap) = policy.patch_caps.get_mut(SourceKind::Dispatch.index()) {
                    tighten(cap, limits);
                }
                if let Some(cap) = policy.dispatch_caps.get_mut(network_index(network.other())) {
                    tighten(cap, limits);
                }
            }
        }
        policy
    }

    /// Declares the home network (the country) of the dispatch consoles at these sites, so a
    /// foreign-limit rule caps them only on the other network's groups. Consoles of a site
    /// with no declared home are capped by every rule of a patch. Fails if a site is named
    /// twice (here or from before).
    pub fn with_dispatch_homes(
        mut self,
        homes: impl IntoIterator<Item = (SiteId, Network)>,
    ) -> Result<Self, PolicyError> {
        self.dispatch_homes.extend(homes);
        self.dispatch_homes.sort_by_key(|(site, _)| *site);
        if let Some(w) = self.dispatch_homes.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(PolicyError::DuplicateDispatchHome { site: w[0].0.0 });
        }
        Ok(self)
    }

    /// The declared home network of the dispatch consoles at `site`.
    pub fn dispatch_home(&self, site: SiteId) -> Option<Network> {
        self.dispatch_homes
            .binary_search_by_key(&site, |(s, _)| *s)
            .ok()
            .and_then(|i| self.dispatch_homes.get(i))
            .map(|(_, n)| *n)
    }

    /// Adds per-site overrides; fails if two rules (here or from before) name the same site and
    /// kind.
    pub fn with_site_rules(
        mut self,
        rules: impl IntoIterator<Item = SiteRule>,
    ) -> Result<Self, PolicyError> {
        self.site_rules.extend(rules);
        self.site_rules.sort_by_key(|r| (r.site, r.kind));
        if let Some(w) = self
            .site_rules
            .windows(2)
            .find(|w| (w[0].site, w[0].kind) == (w[1].site, w[1].kind))
        {
            return Err(PolicyError::DuplicateSiteRule {
                site: w[0].site.0,
                kind: w[0].kind,
            });
        }
        Ok(self)
    }

    /// The limits on the floor for a source of this kind entering at this site (in this patch,
    /// for a policy from [`FloorPolicy::for_patch`]: its priority caps, not its emergency
    /// rules; see the module doc).
    pub fn limits(&self, site: SiteId, kind: SourceKind) -> SourceLimits {
        let limits = self.origin_limits(site, kind);
        match self.patch_cap(site, kind) {
            Some(cap) => SourceLimits {
                max_priority: limits.max_priority.min(cap.max_priority),
                ..limits
            },
            None => limits,
        }
    }

    /// The limits on the air: what a destination radio is keyed with for a source of this
    /// kind (the floor limits, and the patch's emergency rules too).
    pub fn air_limits(&self, site: SiteId, kind: SourceKind) -> SourceLimits {
        let limits = self.origin_limits(site, kind);
        match self.patch_cap(site, kind) {
            Some(cap) => limits.tighten(cap),
            None => limits,
        }
    }

    /// The priority and emergency a destination radio is keyed with for this claim: capped,
    /// and an emergency only where it propagates.
    pub fn on_air(&self, claim: &Claim) -> Urgency {
        self.air_limits(claim.key.site, SourceKind::of(claim.origin_network))
            .apply(claim.emergency, claim.priority)
    }

    /// The patch's cap on a source of this kind at this site (see [`FloorPolicy::for_patch`]).
    fn patch_cap(&self, site: SiteId, kind: SourceKind) -> Option<SourceLimits> {
        match (kind, self.dispatch_home(site)) {
            (SourceKind::Dispatch, Some(home)) => self
                .dispatch_caps
                .get(network_index(home))
                .copied()
                .flatten(),
            _ => self.patch_caps.get(kind.index()).copied().flatten(),
        }
    }

    fn origin_limits(&self, site: SiteId, kind: SourceKind) -> SourceLimits {
        match self
            .site_rules
            .binary_search_by_key(&(site, kind), |r| (r.site, r.kind))
        {
            Ok(i) => self
                .site_rules
                .get(i)
                .map_or(SourceLimits::UNLIMITED, |r| r.limits),
            Err(_) => self
                .by_kind
                .get(kind.index())
                .copied()
                .unwrap_or(SourceLimits::UNLIMITED),
        }
    }

    /// The claim's emergency and priority after policy. Under [`EmergencyRule::FirstHolds`] an
    /// honoured emergency ranks at the top priority, so emergencies tie on urgency.
    pub fn urgency(&self, claim: &Claim) -> Urgency {
        let urgency = self
            .limits(claim.key.site, SourceKind::of(claim.origin_network))
            .apply(claim.emergency, claim.priority);
        match self.emergency_rule {
            EmergencyRule::FirstHolds if urgency.emergency => Urgency {
                emergency: true,
                priority: Priority::EMERGENCY,
            },
            _ => urgency,
        }
    }

    /// The claim's rank after policy.
    pub fn rank(&self, claim: &Claim) -> Rank {
        Rank {
            urgency: self.urgency(claim),
            started: claim.started,
            key: claim.key,
        }
    }
}

/// Emergency and priority after policy: the part of a rank that may pre-empt a talker.
///
/// Ordered emergency first, then priority; greater is more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Urgency {
    /// Emergency, if the policy honours it for this source.
    pub emergency: bool,
    /// Priority, capped by the policy.
    pub priority: Priority,
}

/// A claim's standing on the floor: urgency after policy, then key-up time, then identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rank {
    /// Emergency and priority after policy.
    pub urgency: Urgency,
    /// Key-up time at the origin.
    pub started: KeyUpTime,
    /// The transmission (site id, then stream id, break remaining ties).
    pub key: StreamKey,
}

impl Rank {
    /// `Greater` if `self` wins the floor against `other` (see the module doc for the rule).
    pub fn cmp_rank(&self, other: &Rank) -> Ordering {
        self.urgency
            .cmp(&other.urgency)
            .then_with(|| other.started.0.cmp(&self.started.0))
            .then_with(|| other.key.site.cmp(&self.key.site))
            .then_with(|| other.key.stream.cmp(&self.key.stream))
    }

    /// Whether `self` wins the floor against `other`.
    pub fn beats(&self, other: &Rank) -> bool {
        self.cmp_rank(other) == Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_protocol::voice::StreamId;
    use proptest::prelude::*;

    fn p(level: u8) -> Priority {
        Priority::new(level).unwrap()
    }

    fn claim(site: u16, network: Option<Network>, emergency: bool, priority: u8) -> Claim {
        Claim {
            key: StreamKey {
                site: SiteId(site),
                stream: StreamId(1),
            },
            emergency,
            priority: p(priority),
            started: KeyUpTime(1_000),
            origin_network: network,
            talker: None,
            group: borderlink_protocol::ids::Tsi::from_parts(206, 1, 2_061_001).unwrap(),
        }
    }

    fn rank(emergency: bool, priority: u8, started: u64, site: u16, stream: u32) -> Rank {
        Rank {
            urgency: Urgency {
                emergency,
                priority: p(priority),
            },
            started: KeyUpTime(started),
            key: StreamKey {
                site: SiteId(site),
                stream: StreamId(stream),
            },
        }
    }

    /// Belgian side honoured in full, Dutch side capped at 8 without emergencies.
    fn capped_c2000() -> FloorPolicy {
        FloorPolicy::new(
            SourceLimits::UNLIMITED,
            SourceLimits::new(p(8), false),
            SourceLimits::new(p(12), true),
        )
    }

    #[test]
    fn caps_priority_and_ignores_emergency_of_a_capped_source() {
        let policy = capped_c2000();
        let foreign = policy.urgency(&claim(2, Some(Network::C2000), true, 15));
        assert_eq!(
            foreign,
            Urgency {
                emergency: false,
                priority: p(8)
            }
        );
        let home = policy.urgency(&claim(1, Some(Network::Astrid), true, 3));
        assert_eq!(
            home,
            Urgency {
                emergency: true,
                priority: p(3)
            }
        );
        let console = policy.urgency(&claim(9, None, true, 15));
        assert_eq!(
            console,
            Urgency {
                emergency: true,
                priority: p(12)
            }
        );
    }

    #[test]
    fn capped_foreign_priority_15_ranks_below_home_emergency() {
        let policy = capped_c2000();
        let foreign = policy.rank(&claim(2, Some(Network::C2000), false, 15));
        let home_emergency = policy.rank(&claim(1, Some(Network::Astrid), true, 0));
        assert!(home_emergency.beats(&foreign));
        assert!(!foreign.beats(&home_emergency));
    }

    #[test]
    fn site_rule_overrides_kind_limits_for_that_site_only() {
        let policy = capped_c2000()
            .with_site_rules([SiteRule {
                site: SiteId(7),
                kind: SourceKind::C2000,
                limits: SourceLimits::UNLIMITED,
            }])
            .unwrap();
        let at_7 = policy.urgency(&claim(7, Some(Network::C2000), true, 15));
        let at_2 = policy.urgency(&claim(2, Some(Network::C2000), true, 15));
        assert_eq!((at_7.emergency, at_7.priority), (true, p(15)));
        assert_eq!((at_2.emergency, at_2.priority), (false, p(8)));
        // The rule is for C2000 sources at site 7; an ASTRID source there keeps its own limits.
        assert_eq!(
            policy.limits(SiteId(7), SourceKind::Astrid),
            SourceLimits::UNLIMITED
        );
        assert_eq!(
            policy.limits(SiteId(7), SourceKind::Dispatch),
            SourceLimits::new(p(12), true)
        );
    }

    #[test]
    fn duplicate_site_rule_is_rejected_and_named() {
        let rule = SiteRule {
            site: SiteId(4),
            kind: SourceKind::Dispatch,
            limits: SourceLimits::UNLIMITED,
        };
        let err = FloorPolicy::unlimited()
            .with_site_rules([rule, rule])
            .unwrap_err();
        assert_eq!(
            err,
            PolicyError::DuplicateSiteRule {
                site: 4,
                kind: SourceKind::Dispatch
            }
        );
        assert_eq!(
            err.to_string(),
            "floor policy: two site rules for origin site 4 and dispatch sources"
        );
    }

    #[test]
    fn by_priority_lets_a_foreign_emergency_beat_a_home_emergency() {
        // The gap sovereignty closes: with honoured emergencies on both sides, priority decides.
        let policy = FloorPolicy::unlimited();
        let home = policy.rank(&claim(1, Some(Network::Astrid), true, 3));
        let mut foreign_claim = claim(2, Some(Network::C2000), true, 15);
        foreign_claim.started = KeyUpTime(2_000);
        let foreign = policy.rank(&foreign_claim);
        assert!(foreign.beats(&home));
    }

    #[test]
    fn first_holds_keeps_the_earlier_emergency_whatever_the_priority() {
        let policy = FloorPolicy::unlimited().with_emergency_rule(EmergencyRule::FirstHolds);
        let home = policy.rank(&claim(1, Some(Network::Astrid), true, 3));
        let mut foreign_claim = claim(2, Some(Network::C2000), true, 15);
        foreign_claim.started = KeyUpTime(2_000);
        let foreign = policy.rank(&foreign_claim);
        assert_eq!(home.urgency, foreign.urgency, "emergencies tie on urgency");
        assert!(
            home.beats(&foreign),
            "the earlier emergency keeps the floor"
        );
        // And the same the other way round: the home emergency does not cut in either.
        let mut late_home = claim(1, Some(Network::Astrid), true, 15);
        late_home.started = KeyUpTime(3_000);
        assert!(foreign.beats(&policy.rank(&late_home)));
        // An emergency still beats any non-emergency.
        let plain = policy.rank(&claim(3, Some(Network::C2000), false, 15));
        assert!(home.beats(&plain));
    }

    /// Finding 2 of issue 13: a console label escaped the foreign-priority cap. A dispatch
    /// stream is capped by the rule for what its site is: a declared home network's
    /// dispatchers are foreign to the other network's groups, and a site with no declared home
    /// is foreign to every group with a rule.
    #[test]
    fn a_console_label_does_not_escape_the_foreign_priority_cap() {
        let astrid_group = Tsi::from_parts(206, 1, 2_061_001).unwrap();
        let policy = FloorPolicy::unlimited()
            .with_foreign_limits(Network::Astrid, SourceLimits::new(p(3), false))
            .with_dispatch_homes([(SiteId(5), Network::Astrid), (SiteId(6), Network::C2000)])
            .unwrap();
        let patched = policy.for_patch([(Network::Astrid, astrid_group)]);
        let undeclared = patched.urgency(&claim(2, None, false, 12));
        assert_eq!(undeclared.priority, p(3), "a site of unknown country");
        assert!(!patched.on_air(&claim(2, None, true, 12)).emergency);
        let dutch_dispatch = patched.urgency(&claim(6, None, false, 12));
        assert_eq!(
            dutch_dispatch.priority,
            p(3),
            "Dutch dispatch on an ASTRID group"
        );
        let belgian_dispatch = patched.urgency(&claim(5, None, true, 12));
        assert_eq!(
            (belgian_dispatch.emergency, belgian_dispatch.priority),
            (true, p(12)),
            "Belgian dispatch on its own group"
        );
        // A patch without a rule caps nobody.
        let free = policy.for_patch([(Network::C2000, Tsi::from_parts(204, 1, 1).unwrap())]);
        assert_eq!(free.urgency(&claim(2, None, false, 12)).priority, p(12));
    }

    #[test]
    fn a_site_declared_twice_as_a_dispatch_home_is_refused() {
        let err = FloorPolicy::unlimited()
            .with_dispatch_homes([(SiteId(5), Network::Astrid), (SiteId(5), Network::C2000)])
            .unwrap_err();
        assert_eq!(err, PolicyError::DuplicateDispatchHome { site: 5 });
    }

    #[test]
    fn foreign_limits_apply_only_where_that_network_has_a_group() {
        let astrid_group = Tsi::from_parts(206, 1, 2_061_001).unwrap();
        let c2000_group = Tsi::from_parts(204, 1, 2_040_551).unwrap();
        // ASTRID's rule: Dutch talkers at most priority 3, emergencies not honoured.
        let policy = FloorPolicy::unlimited()
            .with_foreign_limits(Network::Astrid, SourceLimits::new(p(3), false));
        let patched = policy.for_patch([
            (Network::Astrid, astrid_group),
            (Network::C2000, c2000_group),
        ]);
        let dutch = patched.urgency(&claim(2, Some(Network::C2000), true, 12));
        // On the floor the emergency stays one (so Belgian refusal cannot let Belgian talkers
        // cut a Dutch emergency); on the air it is an ordinary call at the cap.
        assert_eq!((dutch.emergency, dutch.priority), (true, p(3)));
        let dutch = patched.on_air(&claim(2, Some(Network::C2000), true, 12));
        assert_eq!((dutch.emergency, dutch.priority), (false, p(3)));
        // Belgian talkers are not ASTRID's foreigners.
        let belgian = patched.urgency(&claim(1, Some(Network::Astrid), true, 12));
        assert_eq!((belgian.emergency, belgian.priority), (true, p(12)));
        // A patch with no ASTRID group is not under ASTRID's rule.
        let dutch_only = policy.for_patch([(Network::C2000, c2000_group)]);
        let dutch = dutch_only.urgency(&claim(2, Some(Network::C2000), true, 12));
        assert_eq!((dutch.emergency, dutch.priority), (true, p(12)));
    }

    #[test]
    fn a_group_rule_replaces_the_network_rule_but_never_loosens_the_origin_limits() {
        let strict = Tsi::from_parts(206, 1, 2_061_009).unwrap();
        let loose = Tsi::from_parts(206, 1, 2_061_001).unwrap();
        let policy =
            capped_c2000() // C2000 origin capped at 8, emergencies off
                .with_foreign_limits(Network::Astrid, SourceLimits::new(p(5), true))
                .with_group_foreign_limits([
                    (strict, SourceLimits::new(p(1), true)),
                    (loose, SourceLimits::UNLIMITED),
                ])
                .unwrap();
        let dutch = claim(2, Some(Network::C2000), false, 12);
        assert_eq!(
            policy
                .for_patch([(Network::Astrid, strict)])
                .urgency(&dutch)
                .priority,
            p(1)
        );
        // The group's own rule is unlimited, but the origin cap of 8 still holds.
        assert_eq!(
            policy
                .for_patch([(Network::Astrid, loose)])
                .urgency(&dutch)
                .priority,
            p(8)
        );
        let other = Tsi::from_parts(206, 1, 2_061_002).unwrap();
        assert_eq!(
            policy
                .for_patch([(Network::Astrid, other)])
                .urgency(&dutch)
                .priority,
            p(5)
        );
        let err = FloorPolicy::unlimited()
            .with_group_foreign_limits([
                (strict, SourceLimits::UNLIMITED),
                (strict, SourceLimits::UNLIMITED),
            ])
            .unwrap_err();
        assert_eq!(err, PolicyError::DuplicateGroupRule(strict));
    }

    #[test]
    fn rank_order_is_emergency_priority_keyup_site_stream() {
        // Each pair differs in one field; the first element is the winner.
        let cases = [
            (rank(true, 0, 900, 9, 9), rank(false, 15, 100, 1, 1)),
            (rank(false, 5, 900, 9, 9), rank(false, 4, 100, 1, 1)),
            (rank(false, 5, 100, 9, 9), rank(false, 5, 101, 1, 1)),
            (rank(false, 5, 100, 1, 9), rank(false, 5, 100, 2, 1)),
            (rank(false, 5, 100, 1, 1), rank(false, 5, 100, 1, 2)),
        ];
        for (win, lose) in cases {
            assert!(win.beats(&lose), "{win:?} should beat {lose:?}");
            assert!(!lose.beats(&win), "{lose:?} should not beat {win:?}");
        }
        let r = rank(false, 5, 100, 1, 1);
        assert_eq!(r.cmp_rank(&r), Ordering::Equal);
    }

    #[test]
    fn keyups_where_voice_version_1_wrapped_compare_in_time_order() {
        // 0xffff_fff0 is 32 ms before 0x1_0000_0010; a 32-bit clock wrapped in between.
        let before_wrap = rank(false, 5, 0xffff_fff0, 9, 9);
        let after_wrap = rank(false, 5, 0x1_0000_0010, 1, 1);
        assert!(before_wrap.beats(&after_wrap));
        assert!(!after_wrap.beats(&before_wrap));
    }

    #[test]
    fn keyups_2_pow_31_apart_are_still_ordered_by_time_not_site() {
        // Voice version 1 could not tell which of these came first and fell through to the
        // site id; a 64-bit key-up time can.
        let a = rank(false, 5, 0, 2, 1);
        let b = rank(false, 5, 0x8000_0000, 1, 1);
        assert!(a.beats(&b));
        assert!(!b.beats(&a));
    }

    fn any_rank() -> impl Strategy<Value = Rank> {
        (
            any::<bool>(),
            0u8..=15,
            prop_oneof![any::<u64>(), Just(0), Just(0x8000_0000), Just(u64::MAX)],
            0u16..4,
            0u32..4,
        )
            .prop_map(|(e, pr, t, s, st)| rank(e, pr, t, s, st))
    }

    proptest! {
        #[test]
        fn cmp_rank_is_antisymmetric(a in any_rank(), b in any_rank()) {
            prop_assert_eq!(a.cmp_rank(&b), b.cmp_rank(&a).reverse());
            // Only a claim compared with itself ties: distinct streams are always ordered.
            if a.key != b.key {
                prop_assert_ne!(a.cmp_rank(&b), Ordering::Equal);
            }
        }

        #[test]
        fn policy_never_raises_a_claim(
            cap in 0u8..=15,
            honour in any::<bool>(),
            e in any::<bool>(),
            pr in 0u8..=15,
        ) {
            let u = SourceLimits::new(p(cap), honour).apply(e, p(pr));
            prop_assert!(u.priority <= p(pr) && u.priority <= p(cap));
            prop_assert!(!u.emergency || e);
        }
    }
}
