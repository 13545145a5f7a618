//! Floor control: one talker at a time in a patch, the same talker at every site.
//!
//! A patch joins talkgroups on ASTRID and C2000 and dispatch consoles into one conversation, but
//! only one transmission can be relayed at a time: the destination radios can carry one voice.
//! Every border-site gateway keeps a [`Floor`] per patch and feeds it the claims carried by the
//! voice packets it receives — its own radios' and its peers' — so no site asks another who may
//! talk. Agreement comes from the [`Rank`] rule instead: every site ranks the same claims the
//! same way (see [`policy`](super::policy)), so two sites that see a simultaneous key-up in
//! opposite orders converge on the same winner as soon as both claims have arrived.
//!
//! # Rules
//! - **Grant.** A claim on a free floor is granted, unless hang time or a block stops it.
//! - **Pre-emption.** A claim with strictly higher urgency (emergency, then priority, after
//!   policy) than the holder takes the floor. At equal urgency, a claim seen *for the first time*
//!   that ranks above the holder (it keyed up earlier, or in the same millisecond at a lower site)
//!   takes it too: that is a simultaneous key-up whose claim arrived late, and letting it win is
//!   what makes every site converge. A stream this floor already knows as a contender never
//!   wins on the tie-break: either it ranked below the holder when it arrived, or it was passed
//!   over for a reason (hang time, a block) and must not cut in on a talker who started after it.
//!   Without hang time and blocks the holder is therefore always the best live claim, whatever
//!   the arrival order.
//! - **Contenders and late entry.** Denied streams that are still sending are remembered (up to
//!   [`FloorConfig::max_contenders`], forgotten after [`FloorConfig::stream_idle`] without a
//!   packet). When the floor frees, the best eligible contender takes it at once — the same one
//!   at every site that saw the same streams.
//! - **Hang time.** When a holder ends and nobody is waiting, its talk *direction* (its origin
//!   network; each dispatch site is a direction of its own) keeps the floor for
//!   [`FloorConfig::hang_time`]: the engine keeps the destination radios keyed, a claim from that
//!   direction is granted at once, and claims from other directions are denied unless their
//!   urgency is strictly higher than the previous talker's. The over granted in hang time keeps
//!   that protection: other directions can pre-empt it by urgency only, never on the tie-break.
//! - **TX timeout.** A holder that holds the floor for [`FloorConfig::tx_timeout`] without a
//!   break loses it. Its stream stays barred until it ends (a stuck PTT must not win the floor
//!   back — app_rpt's "delayed reset"), and its talker (TSI, or origin site and network when the
//!   TSI is unknown) is blocked for [`FloorConfig::block_time`].
//! - **Release.** [`Floor::release`] when a stream ends (end flag or the engine's end timeout);
//!   [`FloorConfig::stream_idle`] without a packet ends the holder too, as a backstop.
//!   [`Floor::force_release`] is a dispatcher breaking the current talker: the stream is barred
//!   until it ends and the best contender, if any, takes over.
//!
//! # Driving it
//! Sans-IO, like the rest of the engine. Time only moves forward, through the `now` passed in.
//! 1. For every voice packet of a stream that belongs to the patch, call [`Floor::claim`]; the
//!    decision says whether *this* packet is relayed (count the rest with
//!    [`DenyReason::drop_cause`]).
//! 2. When a stream ends, call [`Floor::release`]; for a dispatcher's break,
//!    [`Floor::force_release`].
//! 3. After every call, drain [`Floor::poll_event`] until `None` and act on the events in order
//!    (key and unkey radios); every change of holder is an event, including the one the decision
//!    reports.
//! 4. Call [`Floor::handle_timeout`] when [`Floor::poll_timeout`] says so (calling late is
//!    fine: due timers fire in deadline order with the deadline as their time, so the outcome does
//!    not depend on how late the call was), then drain the events again.
//!
//! Everything is allocated in [`Floor::new`]; claims, releases and timeouts do not allocate as
//! long as the events are drained after each call.

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::SiteId;

use super::counters::DropCause;
use super::endpoint::EndpointId;
use super::policy::{FloorPolicy, Rank, Urgency};
use super::stream::{Claim, StreamKey};

/// Events one call can queue before the engine drains them; a call queues at most a handful.
const EVENT_CAPACITY: usize = 16;

/// Timing and bounds of a patch's floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloorConfig {
    /// How long the previous talk direction keeps the floor after its talker ends.
    ///
    /// Default 1.5 s: long enough for the same side's next over — a talker releasing and
    /// pressing PTT again, or a colleague answering on the same group, takes about a second, plus
    /// up to ~250 ms one-way across IP — to find the destination radios still keyed and skip a
    /// new TETRA transmit grant (a few hundred ms of clipped or delayed speech). Not much longer,
    /// because while our radio holds its group the other network's users cannot get a grant
    /// either: a reply from the other side waits out the hang. Zero disables hang time.
    pub hang_time: Duration,
    /// Longest time a holder keeps the floor without a break. Default 120 s (issue 3).
    pub tx_timeout: Duration,
    /// How long a talker whose transmission timed out is refused afterwards.
    ///
    /// Default 10 s: one conversational turn, so the other side — cut off for two minutes — can
    /// answer and hold the floor before the same talker re-keys; short enough that a legitimate
    /// long talker loses only a moment. The timed-out stream itself stays barred until it ends
    /// regardless.
    pub block_time: Duration,
    /// Time without a packet after which a stream is considered gone: a holder is released
    /// ([`ReleaseReason::Idle`]) and a contender forgotten.
    ///
    /// Default 1 s (50 frames of 20 ms): a backstop behind the engine's own end-of-stream timeout,
    /// which should be shorter; long enough that no loss burst the jitter buffer survives makes a
    /// live stream look dead.
    pub stream_idle: Duration,
    /// Denied streams remembered for late entry. Default 16; beyond it the worst is forgotten
    /// and [`FloorStats::contender_overflow`] counts it.
    pub max_contenders: usize,
    /// Talkers blocked at once after a TX timeout. Default 8; beyond it the block ending first is
    /// dropped and [`FloorStats::block_overflow`] counts it.
    pub max_blocks: usize,
}

impl Default for FloorConfig {
    fn default() -> Self {
        FloorConfig {
            hang_time: Duration::from_millis(1_500),
            tx_timeout: Duration::from_secs(120),
            block_time: Duration::from_secs(10),
            stream_idle: Duration::from_secs(1),
            max_contenders: 16,
            max_blocks: 8,
        }
    }
}

/// Where talk comes from, for hang time: a radio network, or the dispatch consoles of one site.
///
/// Dispatch centres count per site because a Belgian and a Dutch dispatcher are different sides
/// of the conversation just as the two networks are. Derived from the claim alone, so it is the
/// same at every site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Talkers on this radio network, wherever they entered.
    Network(Network),
    /// Dispatch consoles that put their streams on IP at this site.
    Dispatch(SiteId),
}

impl Direction {
    /// The direction a claim talks from.
    pub fn of(claim: &Claim) -> Self {
        match claim.origin_network {
            Some(network) => Direction::Network(network),
            None => Direction::Dispatch(claim.key.site),
        }
    }
}

/// Who is blocked after a TX timeout: the talker's TSI, or where the stream came from when the
/// TSI is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Talker {
    /// A known talker.
    Tsi(Tsi),
    /// An unknown talker on this origin site and network (`None`: a console).
    Source {
        /// Origin site.
        site: SiteId,
        /// Origin network.
        network: Option<Network>,
    },
}

impl Talker {
    /// The talker a claim is blocked as.
    pub fn of(claim: &Claim) -> Self {
        match claim.talker {
            Some(tsi) => Talker::Tsi(tsi),
            None => Talker::Source {
                site: claim.key.site,
                network: claim.origin_network,
            },
        }
    }
}

/// What [`Floor::claim`] decided for the claiming stream's packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum FloorDecision {
    /// The stream has just been given the floor.
    Granted,
    /// The stream already held the floor.
    AlreadyHolder,
    /// The stream took the floor from `previous`.
    Preempted {
        /// The stream that lost the floor.
        previous: StreamKey,
    },
    /// The stream does not have the floor; its packet is not relayed.
    Denied(DenyReason),
}

impl FloorDecision {
    /// Whether the stream holds the floor after this claim (its packet is relayed).
    pub fn has_floor(self) -> bool {
        !matches!(self, FloorDecision::Denied(_))
    }
}

/// Why a claim was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The holder ranks higher (or started first at equal urgency).
    Outranked {
        /// The current holder.
        holder: StreamKey,
    },
    /// Hang time of another direction.
    HangTime {
        /// The direction that keeps the floor.
        direction: Direction,
    },
    /// The talker is blocked after a TX timeout.
    Blocked {
        /// When the block ends.
        until: Instant,
    },
    /// This stream hit the TX timeout; it stays barred until it ends.
    TxTimeout,
    /// A dispatcher force-released this stream; it stays barred until it ends.
    Forced,
    /// This stream repeats another: the same over captured by a second gateway
    /// ([`Claim::repeats`]). It stays barred until it ends, so the over is relayed once.
    Repeats {
        /// The capture that is relayed instead.
        first: StreamKey,
    },
}

impl DenyReason {
    /// The cause under which the engine counts the denied stream's frames.
    pub fn drop_cause(self) -> DropCause {
        match self {
            DenyReason::Blocked { .. } | DenyReason::TxTimeout => DropCause::TxTimeout,
            DenyReason::Outranked { .. } | DenyReason::HangTime { .. } | DenyReason::Forced => {
                DropCause::FloorDenied
            }
            DenyReason::Repeats { .. } => DropCause::SameOver,
        }
    }
}

/// Why a holder lost the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// The stream ended ([`Floor::release`]).
    Ended,
    /// No packet for [`FloorConfig::stream_idle`].
    Idle,
    /// A higher-ranked stream took the floor.
    Preempted {
        /// The stream that took it.
        by: StreamKey,
    },
    /// The holder reached [`FloorConfig::tx_timeout`].
    TxTimeout,
    /// A dispatcher force-released it.
    Forced,
    /// Another gateway's capture of the same over arrived, and it is the one relayed
    /// ([`Claim::repeats`]).
    Repeats {
        /// The capture relayed instead.
        first: StreamKey,
    },
}

/// How a hang time ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangEnd {
    /// Nobody took the floor in time: unkey the radios held for the hang.
    Expired,
    /// A stream from the same direction took the floor: the radios stay keyed for it.
    Continued {
        /// The new holder.
        by: StreamKey,
    },
    /// A more urgent stream from another direction took the floor.
    Overridden {
        /// The new holder.
        by: StreamKey,
    },
    /// A dispatcher's force-release ended it.
    Forced,
}

/// A change of the floor, for the engine to act on (key, route, unkey).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorEvent {
    /// A stream got the floor.
    Granted {
        /// The new holder.
        key: StreamKey,
        /// Its claim as received (before policy).
        claim: Claim,
        /// The endpoint its packets came from first at this site.
        source: EndpointId,
    },
    /// The holder lost the floor.
    Released {
        /// The former holder.
        key: StreamKey,
        /// Why.
        reason: ReleaseReason,
    },
    /// The previous talk direction keeps the floor until `until`: keep the destination radios
    /// keyed.
    HangStarted {
        /// The direction that keeps the floor.
        direction: Direction,
        /// When the hang time ends if nobody takes the floor.
        until: Instant,
    },
    /// The hang time is over.
    HangEnded {
        /// The direction that had the floor.
        direction: Direction,
        /// How it ended.
        reason: HangEnd,
    },
    /// A talker is refused the floor until `until` after a TX timeout.
    Blocked {
        /// The blocked talker.
        talker: Talker,
        /// When the block ends.
        until: Instant,
    },
}

/// Bounds hit by a floor, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloorStats {
    /// Contenders not remembered, or forgotten early, because the contender set was full.
    pub contender_overflow: u64,
    /// Blocks dropped before their end because the block list was full.
    pub block_overflow: u64,
}

/// The stream holding the floor.
#[derive(Debug, Clone, Copy)]
struct Holder {
    claim: Claim,
    rank: Rank,
    source: EndpointId,
    direction: Direction,
    granted_at: Instant,
    last_seen: Instant,
    /// Granted in the hang time of its own direction: other directions may pre-empt it by
    /// urgency only.
    hang_protected: bool,
}

/// Why a contender may never take the floor again (until its stream ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bar {
    TxTimeout,
    Forced,
    Repeats(StreamKey),
}

impl Bar {
    fn reason(self) -> DenyReason {
        match self {
            Bar::TxTimeout => DenyReason::TxTimeout,
            Bar::Forced => DenyReason::Forced,
            Bar::Repeats(first) => DenyReason::Repeats { first },
        }
    }
}

/// A live stream without the floor.
#[derive(Debug, Clone, Copy)]
struct Contender {
    claim: Claim,
    rank: Rank,
    source: EndpointId,
    last_seen: Instant,
    bar: Option<Bar>,
}

#[derive(Debug, Clone, Copy)]
struct Hang {
    direction: Direction,
    until: Instant,
    /// The previous talker's urgency: another direction must exceed it to cut the hang short.
    urgency: Urgency,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    talker: Talker,
    until: Instant,
}

/// A timer, in the order timers due at the same instant fire: the safety timeout first, then
/// what ends streams, then what frees the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    TxTimeout,
    HolderIdle,
    ContenderIdle(usize),
    BlockEnd(usize),
    HangEnd,
}

/// The floor of one patch (see the module doc for the rules and the call order).
#[derive(Debug)]
pub struct Floor {
    config: FloorConfig,
    policy: Arc<FloorPolicy>,
    holder: Option<Holder>,
    hang: Option<Hang>,
    contenders: Vec<Contender>,
    blocks: Vec<Block>,
    /// A holder that went idle in the timer group being processed; hang time or late entry
    /// follows once the whole group has fired.
    idle_ended: Option<Holder>,
    events: VecDeque<FloorEvent>,
    stats: FloorStats,
}

impl Floor {
    /// A free floor with this configuration and policy (the policy must be the same at every
    /// site; see [`policy`](super::policy)).
    pub fn new(config: FloorConfig, policy: Arc<FloorPolicy>) -> Self {
        Floor {
            config,
            policy,
            holder: None,
            hang: None,
            contenders: Vec::with_capacity(config.max_contenders),
            blocks: Vec::with_capacity(config.max_blocks),
            idle_ended: None,
            events: VecDeque::with_capacity(EVENT_CAPACITY),
            stats: FloorStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FloorConfig {
        &self.config
    }

    /// The policy claims are ranked under.
    pub fn policy(&self) -> &Arc<FloorPolicy> {
        &self.policy
    }

    /// The stream holding the floor.
    pub fn holder(&self) -> Option<StreamKey> {
        self.holder.map(|h| h.claim.key)
    }

    /// The holder's latest claim.
    pub fn holder_claim(&self) -> Option<&Claim> {
        self.holder.as_ref().map(|h| &h.claim)
    }

    /// The direction in hang time and when its hang ends.
    pub fn hang(&self) -> Option<(Direction, Instant)> {
        self.hang.map(|h| (h.direction, h.until))
    }

    /// The streams waiting for the floor, barred ones included, in no particular order.
    pub fn contenders(&self) -> impl Iterator<Item = &Claim> {
        self.contenders.iter().map(|c| &c.claim)
    }

    /// When the talker's block ends, if it is blocked.
    pub fn blocked_until(&self, talker: Talker) -> Option<Instant> {
        self.blocks
            .iter()
            .find(|b| b.talker == talker)
            .map(|b| b.until)
    }

    /// Bounds hit so far.
    pub fn stats(&self) -> FloorStats {
        self.stats
    }

    /// A packet of the claiming stream arrived from `source` at `now`: may it be relayed?
    pub fn claim(&mut self, now: Instant, claim: &Claim, source: EndpointId) -> FloorDecision {
        self.advance(now);
        let rank = self.policy.rank(claim);

        if let Some(h) = self.holder.as_mut().filter(|h| h.claim.key == claim.key) {
            h.claim = *claim;
            h.rank = rank;
            h.last_seen = h.last_seen.max(now);
            return FloorDecision::AlreadyHolder;
        }

        let known = match self.contender_mut(claim.key) {
            Some(c) => {
                c.claim = *claim;
                c.rank = rank;
                c.last_seen = c.last_seen.max(now);
                if let Some(bar) = c.bar {
                    return FloorDecision::Denied(bar.reason());
                }
                true
            }
            None => false,
        };

        // The same over captured by two gateways: the later capture is barred, whatever it
        // claims, so the over is relayed once (loop rule 4).
        if let Some(first) = self.first_of(claim) {
            let bar = Bar::Repeats(first);
            self.remember(*claim, rank, source, now, Some(bar));
            return FloorDecision::Denied(bar.reason());
        }
        for c in &mut self.contenders {
            if c.claim.repeats(claim) {
                c.bar = Some(Bar::Repeats(claim.key));
            }
        }
        if let Some(holder) = self.holder.filter(|h| h.claim.repeats(claim)) {
            // The holder was the second capture of this over: it steps aside, and the floor
            // goes to the best claim as if it had never been there.
            self.holder = None;
            self.events.push_back(FloorEvent::Released {
                key: holder.claim.key,
                reason: ReleaseReason::Repeats { first: claim.key },
            });
            let bar = Some(Bar::Repeats(claim.key));
            self.remember(
                holder.claim,
                holder.rank,
                holder.source,
                holder.last_seen,
                bar,
            );
            self.remember(*claim, rank, source, now, None);
            self.settle(now, None);
            return match self.holder {
                Some(h) if h.claim.key == claim.key => FloorDecision::Preempted {
                    previous: holder.claim.key,
                },
                Some(h) => FloorDecision::Denied(DenyReason::Outranked {
                    holder: h.claim.key,
                }),
                None => FloorDecision::Denied(self.refusal(claim)),
            };
        }

        if let Some(until) = self.blocked_until(Talker::of(claim)) {
            return self.deny(now, claim, rank, source, DenyReason::Blocked { until });
        }

        let direction = Direction::of(claim);
        let Some(holder) = self.holder else {
            if let Some(hang) = self.hang
                && hang.direction != direction
                && rank.urgency <= hang.urgency
            {
                let reason = DenyReason::HangTime {
                    direction: hang.direction,
                };
                return self.deny(now, claim, rank, source, reason);
            }
            self.grant(now, *claim, rank, source, now);
            return FloorDecision::Granted;
        };

        let by_urgency = rank.urgency > holder.rank.urgency;
        let by_tie_break = rank.urgency == holder.rank.urgency
            && !known
            && !(holder.hang_protected && holder.direction != direction)
            && rank.beats(&holder.rank);
        if !(by_urgency || by_tie_break) {
            let reason = DenyReason::Outranked {
                holder: holder.claim.key,
            };
            return self.deny(now, claim, rank, source, reason);
        }

        self.holder = None;
        self.events.push_back(FloorEvent::Released {
            key: holder.claim.key,
            reason: ReleaseReason::Preempted { by: claim.key },
        });
        // Still transmitting, so it waits for late entry (an emergency over ends, the
        // interrupted talker comes back).
        self.remember(
            holder.claim,
            holder.rank,
            holder.source,
            holder.last_seen,
            None,
        );
        self.grant(now, *claim, rank, source, now);
        FloorDecision::Preempted {
            previous: holder.claim.key,
        }
    }

    /// The stream `key` ended (end flag or the engine's end timeout) at `now`.
    pub fn release(&mut self, now: Instant, key: StreamKey) {
        self.advance(now);
        match self.holder {
            Some(h) if h.claim.key == key => {
                self.holder = None;
                self.events.push_back(FloorEvent::Released {
                    key,
                    reason: ReleaseReason::Ended,
                });
                self.settle(now, Some(h));
            }
            _ => {
                if let Some(i) = self.contenders.iter().position(|c| c.claim.key == key) {
                    self.contenders.swap_remove(i);
                }
            }
        }
    }

    /// A dispatcher breaks the current talker at `now`: the holder loses the floor and its
    /// stream is barred until it ends; a running hang time ends too. Returns the stream that
    /// lost the floor.
    pub fn force_release(&mut self, now: Instant) -> Option<StreamKey> {
        self.advance(now);
        if let Some(hang) = self.hang.take() {
            self.events.push_back(FloorEvent::HangEnded {
                direction: hang.direction,
                reason: HangEnd::Forced,
            });
        }
        let released = self.holder.take().map(|h| {
            self.events.push_back(FloorEvent::Released {
                key: h.claim.key,
                reason: ReleaseReason::Forced,
            });
            self.remember(h.claim, h.rank, h.source, h.last_seen, Some(Bar::Forced));
            h.claim.key
        });
        self.settle(now, None);
        released
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// When [`Floor::handle_timeout`] must next be called, if anything is pending.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(at, _)| at)
    }

    /// The next change of the floor; drain until `None` after every call.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<FloorEvent> {
        self.events.pop_front()
    }

    /// The live claim that `claim` repeats, if any: the holder or a contender.
    fn first_of(&self, claim: &Claim) -> Option<StreamKey> {
        self.holder
            .iter()
            .map(|h| &h.claim)
            .chain(self.contenders.iter().map(|c| &c.claim))
            .find(|first| claim.repeats(first))
            .map(|first| first.key)
    }

    /// Why a claim left waiting on a free floor was not granted: a hang time or a block.
    fn refusal(&self, claim: &Claim) -> DenyReason {
        match self.blocked_until(Talker::of(claim)) {
            Some(until) => DenyReason::Blocked { until },
            None => DenyReason::HangTime {
                direction: self.hang.map_or(Direction::of(claim), |h| h.direction),
            },
        }
    }

    fn contender_mut(&mut self, key: StreamKey) -> Option<&mut Contender> {
        self.contenders.iter_mut().find(|c| c.claim.key == key)
    }

    fn deny(
        &mut self,
        now: Instant,
        claim: &Claim,
        rank: Rank,
        source: EndpointId,
        reason: DenyReason,
    ) -> FloorDecision {
        self.remember(*claim, rank, source, now, None);
        FloorDecision::Denied(reason)
    }

    /// Gives the floor to a stream, ending a hang time if one runs.
    fn grant(
        &mut self,
        at: Instant,
        claim: Claim,
        rank: Rank,
        source: EndpointId,
        last_seen: Instant,
    ) {
        let direction = Direction::of(&claim);
        let hang_protected = match self.hang.take() {
            Some(hang) => {
                let same = hang.direction == direction;
                let reason = if same {
                    HangEnd::Continued { by: claim.key }
                } else {
                    HangEnd::Overridden { by: claim.key }
                };
                self.events.push_back(FloorEvent::HangEnded {
                    direction: hang.direction,
                    reason,
                });
                same
            }
            None => false,
        };
        if let Some(i) = self
            .contenders
            .iter()
            .position(|c| c.claim.key == claim.key)
        {
            self.contenders.swap_remove(i);
        }
        self.holder = Some(Holder {
            claim,
            rank,
            source,
            direction,
            granted_at: at,
            last_seen,
            hang_protected,
        });
        self.events.push_back(FloorEvent::Granted {
            key: claim.key,
            claim,
            source,
        });
    }

    /// Records a live stream without the floor (or updates its record).
    fn remember(
        &mut self,
        claim: Claim,
        rank: Rank,
        source: EndpointId,
        last_seen: Instant,
        bar: Option<Bar>,
    ) {
        if let Some(c) = self.contender_mut(claim.key) {
            c.claim = claim;
            c.rank = rank;
            c.last_seen = c.last_seen.max(last_seen);
            c.bar = bar.or(c.bar);
            return;
        }
        let entry = Contender {
            claim,
            rank,
            source,
            last_seen,
            bar,
        };
        if self.contenders.len() < self.config.max_contenders {
            // Within the capacity reserved in `new`: no allocation.
            self.contenders.push(entry);
            return;
        }
        self.stats.contender_overflow = self.stats.contender_overflow.saturating_add(1);
        // Keep the best for late entry: the newcomer replaces the worst waiting contender if it
        // beats it. Barred contenders are never forgotten early — that would hand a stuck
        // transmission the floor back — and a barred newcomer takes the worst waiting one's place
        // (only a set full of barred streams loses it).
        let worst = self
            .contenders
            .iter()
            .enumerate()
            .filter(|(_, c)| c.bar.is_none())
            .min_by(|(_, a), (_, b)| a.rank.cmp_rank(&b.rank))
            .map(|(i, c)| (i, c.rank));
        if let Some((i, worst_rank)) = worst
            && (bar.is_some() || rank.beats(&worst_rank))
            && let Some(slot) = self.contenders.get_mut(i)
        {
            *slot = entry;
        }
    }

    fn block(&mut self, talker: Talker, until: Instant) {
        self.events.push_back(FloorEvent::Blocked { talker, until });
        if let Some(b) = self.blocks.iter_mut().find(|b| b.talker == talker) {
            b.until = b.until.max(until);
            return;
        }
        let entry = Block { talker, until };
        if self.blocks.len() < self.config.max_blocks {
            self.blocks.push(entry);
            return;
        }
        self.stats.block_overflow = self.stats.block_overflow.saturating_add(1);
        // The block that would end first is the one whose loss matters least.
        let first = self
            .blocks
            .iter_mut()
            .min_by_key(|b| b.until)
            .filter(|b| b.until < until);
        if let Some(slot) = first {
            *slot = entry;
        }
    }

    fn is_blocked(&self, claim: &Claim) -> bool {
        self.blocked_until(Talker::of(claim)).is_some()
    }

    /// The earliest pending timer; ties in [`Timer`] order.
    fn next_timer(&self) -> Option<(Instant, Timer)> {
        let holder = self.holder.iter().flat_map(|h| {
            [
                (h.granted_at + self.config.tx_timeout, Timer::TxTimeout),
                (h.last_seen + self.config.stream_idle, Timer::HolderIdle),
            ]
        });
        let contenders = self.contenders.iter().enumerate().map(|(i, c)| {
            (
                c.last_seen + self.config.stream_idle,
                Timer::ContenderIdle(i),
            )
        });
        let blocks = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.until, Timer::BlockEnd(i)));
        let hang = self.hang.iter().map(|h| (h.until, Timer::HangEnd));
        holder.chain(contenders).chain(blocks).chain(hang).min()
    }

    /// Fires every timer due at `now`, in deadline order, each at its own deadline.
    fn advance(&mut self, now: Instant) {
        // Every firing removes a holder, a contender, a block or the hang, and a new holder comes
        // out of the contender set; a TX timeout adds back one barred contender and one block.
        // So each stream present fires at most a few times and this bound is never reached: it
        // only keeps a bug from spinning forever.
        let max_steps = 6 * (self.contenders.len() + self.blocks.len()) + 16;
        for _ in 0..max_steps {
            let Some((at, timer)) = self.next_timer().filter(|(at, _)| *at <= now) else {
                return;
            };
            self.fire(at, timer);
            // Late entry and hang time wait until every timer due at this instant has fired, so
            // the outcome does not depend on the order of equal deadlines.
            if self.next_timer().is_none_or(|(next, _)| next > at) {
                let ended = self.idle_ended.take();
                self.settle(at, ended);
            }
        }
    }

    fn fire(&mut self, at: Instant, timer: Timer) {
        match timer {
            Timer::TxTimeout => {
                if let Some(h) = self.holder.take() {
                    self.events.push_back(FloorEvent::Released {
                        key: h.claim.key,
                        reason: ReleaseReason::TxTimeout,
                    });
                    self.remember(h.claim, h.rank, h.source, h.last_seen, Some(Bar::TxTimeout));
                    self.block(Talker::of(&h.claim), at + self.config.block_time);
                }
            }
            Timer::HolderIdle => {
                if let Some(h) = self.holder.take() {
                    self.events.push_back(FloorEvent::Released {
                        key: h.claim.key,
                        reason: ReleaseReason::Idle,
                    });
                    self.idle_ended = Some(h);
                }
            }
            Timer::ContenderIdle(i) => {
                if i < self.contenders.len() {
                    self.contenders.swap_remove(i);
                }
            }
            Timer::BlockEnd(i) => {
                if i < self.blocks.len() {
                    self.blocks.swap_remove(i);
                }
            }
            Timer::HangEnd => {
                if let Some(hang) = self.hang.take() {
                    self.events.push_back(FloorEvent::HangEnded {
                        direction: hang.direction,
                        reason: HangEnd::Expired,
                    });
                }
            }
        }
    }

    /// After the floor may have freed at `at`: the best eligible contender takes it; failing
    /// that, the holder that just `ended` (if any) starts its direction's hang time.
    fn settle(&mut self, at: Instant, ended: Option<Holder>) {
        if self.holder.is_some() {
            return;
        }
        // Settled with the hang of a previous holder, if any, still running.
        let best = self
            .contenders
            .iter()
            .filter(|c| self.is_eligible(c))
            .max_by(|a, b| a.rank.cmp_rank(&b.rank))
            .copied();
        if let Some(c) = best {
            self.grant(at, c.claim, c.rank, c.source, c.last_seen);
            return;
        }
        if let Some(prev) = ended
            && self.config.hang_time > Duration::ZERO
        {
            let until = at + self.config.hang_time;
            self.hang = Some(Hang {
                direction: prev.direction,
                until,
                urgency: prev.rank.urgency,
            });
            self.events.push_back(FloorEvent::HangStarted {
                direction: prev.direction,
                until,
            });
        }
    }

    /// Whether a contender may take a free floor now.
    fn is_eligible(&self, c: &Contender) -> bool {
        let hang_allows = self
            .hang
            .is_none_or(|h| h.direction == Direction::of(&c.claim) || c.rank.urgency > h.urgency);
        c.bar.is_none() && hang_allows && !self.is_blocked(&c.claim)
    }
}
