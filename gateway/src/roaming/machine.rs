//! The [`Roaming`] state machine: decides when each mirror is up and keeps the engine's patch in
//! step.
//!
//! # When a mirror is up
//! A mirror is *held* while at least one of these holds it:
//! - it is permanent, or inside a scheduled window;
//! - a dispatcher activated it (for a duration, or until ended);
//! - a unit's status request, for one [`window`](super::Mirror::window) (extend renews it);
//! - a unit of one of its groups is inside a zone that lists it, and its last report there is
//!   less than a window old.
//!
//! A mirror whose group a sovereignty rule forbids is never held, whatever asks.
//!
//! # How the engine's patch follows
//! - held, no patch: **create** it (lifetime one window, no inactivity timeout); an existing
//!   patch of exactly the two channels is adopted instead (another site brought it up, or it
//!   survived a restart);
//! - held: **extend** it (lifetime one more window) whenever half a window is left, so the
//!   patch outlives its keeper by one window at most;
//! - no longer held: let it **lapse** — its inactivity timeout is set, so it ends once nobody
//!   has talked for that long (and at most one window later); a conversation under way is not
//!   cut. If something holds it again first, it is extended as before;
//! - ended explicitly (a unit's or a dispatcher's *end*) and nothing else holds it: **remove**
//!   it at once.
//!
//! # Driving it
//! Sans-IO like the engine. Feed what the radios report ([`Roaming::handle_status`],
//! [`Roaming::handle_location`], [`Roaming::handle_delivery_report`]), dispatch's actions ([`Roaming::dispatch`]) and the engine's
//! events ([`Roaming::handle_engine_event`]); call [`Roaming::handle_timeout`] with the civil
//! time when [`Roaming::poll_timeout`] is due, and once at start. After each call, hand it the
//! engine's pending events first, then run [`Roaming::apply`] on the engine (in that order, so
//! a patch the engine dissolved is reported as lapsed, not as removed), then drain
//! [`Roaming::poll_reply`] (send each with the radio on its talkgroup) and
//! [`Roaming::poll_event`].
//!
//! # Knowing a reply arrived
//! A text reply goes with an SDS-TL message reference and a request for a report on receipt
//! (see [`ReplyMessage::Text`]). Roaming remembers it per unit and reference until the report
//! comes back ([`Roaming::handle_delivery_report`]): a success status makes it *delivered*, a
//! failure *failed*, a "stored by the SwMI" status is reported and waited past. With no final
//! report within [`REPLY_CONFIRM_TIMEOUT`] it is *not confirmed*. Each outcome is a
//! [`RoamingEvent::ReplyDelivery`]. At most [`MAX_PENDING_REPLIES`] replies are awaited at
//! once; beyond it the oldest is given up as not confirmed.

use std::collections::VecDeque;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::sds::{DeliveryClass, DeliveryStatus, LocationReport, Status};
use borderlink_protocol::time::{Duration, Instant};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::events::{
    Asked, BlockReason, Cause, DeliveryOutcome, DispatchAction, DownReason, PatchRequest, Reply,
    ReplyMessage, RequestRefused, RoamingEvent,
};
use super::mirrors::{MirrorId, MirrorMode};
use super::schedule::civil_zone;
use super::sovereignty::{Refusal, Requester};
use super::triggers::{FieldAction, ReplyStyle};
use super::zones::{Fix, ZoneChange, ZoneTracker};
use super::{Aliases, RoamingConfig};
use crate::engine::floor::FloorEvent;
use crate::engine::patch::{PatchError, PatchEvent, PatchId};
use crate::engine::relay::{Engine, EngineError, EngineEvent};
use crate::radio::MAX_TEXT_LEN;

/// Longest between two schedule evaluations: a step of the wall clock (NTP, an operator) is
/// noticed within this.
const SCHEDULE_RECHECK: Duration = Duration::from_secs(60);

/// Wait before trying again to create a mirror whose patch was refused.
const BLOCKED_RETRY: Duration = Duration::from_secs(30);

/// How long a text reply's delivery report is awaited before the reply is reported as not
/// confirmed: a unit in coverage answers within seconds, and a message the SwMI stored for a
/// unit out of coverage is of no use to a patch request after a minute.
pub const REPLY_CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

/// Most text replies awaiting their delivery report at once.
pub const MAX_PENDING_REPLIES: usize = 64;

/// Most replies and events waiting to be polled; beyond it the oldest are dropped and counted,
/// so a driver that stops polling cannot grow memory.
const MAX_QUEUED: usize = 256;

/// How a mirror stands, for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorView {
    /// The mirror.
    pub id: MirrorId,
    /// Its name.
    pub name: String,
    /// Its patch, while up.
    pub patch: Option<PatchId>,
    /// Whether something holds it up (if not and it has a patch, it is lapsing).
    pub held: bool,
    /// Units inside a zone that hold it.
    pub units_in_zone: usize,
    /// The sovereignty rule that forbids it, if one does.
    pub forbidden: Option<Refusal>,
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoamingStats {
    /// Status messages whose value is not a configured trigger.
    pub status_ignored: u64,
    /// Status messages or positions without a sender identity.
    pub anonymous: u64,
    /// Positions from radios on a talkgroup no zone's mirror holds.
    pub positions_unused: u64,
    /// Location reports that said the unit had no fix; they change nothing.
    pub positions_without_fix: u64,
    /// Units forgotten to make room for others.
    pub units_evicted: u64,
    /// Replies or events dropped because nobody polled them.
    pub queue_overflow: u64,
    /// Delivery reports that matched no reply awaiting one (late, repeated, or another
    /// sender's).
    pub reports_unmatched: u64,
}

#[derive(Debug, Clone, Default)]
struct MirrorState {
    patch: Option<PatchId>,
    /// A create request is queued.
    creating: bool,
    /// The patch has been handed to its inactivity timeout.
    lapsing: bool,
    /// The patch's lifetime end as last set.
    expires_at: Option<Instant>,
    /// Inside a scheduled window.
    scheduled: bool,
    /// Dispatch activation: `Some(None)` until ended, `Some(Some(t))` until `t`.
    dispatch: Option<Option<Instant>>,
    /// A unit's request holds it until then.
    field_until: Option<Instant>,
    /// Remove the patch at once once nothing holds it (an explicit end), and who ended it.
    end_by: Option<Requester>,
    /// Units waiting to hear whether their request came up: (unit, radio talkgroup).
    waiting: Vec<(Tsi, Tsi)>,
    /// The latest cause to bring it up, for the event.
    cause: Option<Cause>,
    /// Creation was refused; not tried again before then.
    blocked_until: Option<Instant>,
}

/// A text reply waiting for its delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingReply {
    unit: Tsi,
    reference: u8,
    mirror: Option<MirrorId>,
    deadline: Instant,
}

/// The roaming state machine; see the [module documentation](self).
#[derive(Debug)]
pub struct Roaming {
    config: RoamingConfig,
    tz: TimeZone,
    /// Per mirror: the sovereignty refusal for any requester, computed once.
    forbidden: Vec<Option<Refusal>>,
    state: Vec<MirrorState>,
    tracker: ZoneTracker,
    requests: VecDeque<PatchRequest>,
    replies: VecDeque<Reply>,
    events: VecDeque<RoamingEvent>,
    /// Text replies awaiting their delivery report, oldest first.
    pending: VecDeque<PendingReply>,
    /// The SDS-TL message reference the next text reply is given (if no reply to the same
    /// unit awaiting a report has it).
    next_reference: u8,
    /// The last `now` given, so deadlines already passed are not reported again.
    last_now: Option<Instant>,
    next_schedule_check: Option<Instant>,
    stats: RoamingStats,
    changes: Vec<ZoneChange>,
}

impl Roaming {
    /// A machine with every mirror down; call [`Roaming::handle_timeout`] to start it.
    pub fn new(config: RoamingConfig) -> Self {
        let forbidden = config
            .mirrors
            .iter()
            .map(|m| {
                config
                    .sovereignty
                    .check(&m.channels(), &Requester::Config)
                    .err()
            })
            .collect();
        let silence = config
            .mirrors
            .iter()
            .map(|m| m.window)
            .max()
            .unwrap_or(Duration::from_secs(600));
        let max_units = if config.max_units == 0 {
            RoamingConfig::DEFAULT_MAX_UNITS
        } else {
            config.max_units
        };
        Roaming {
            tz: civil_zone(),
            forbidden,
            state: vec![MirrorState::default(); config.mirrors.len()],
            tracker: ZoneTracker::new(max_units, silence),
            requests: VecDeque::new(),
            replies: VecDeque::new(),
            events: VecDeque::new(),
            pending: VecDeque::new(),
            next_reference: 0,
            last_now: None,
            next_schedule_check: None,
            stats: RoamingStats::default(),
            changes: Vec::new(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RoamingConfig {
        &self.config
    }

    /// The alias table.
    pub fn aliases(&self) -> &Aliases {
        &self.config.aliases
    }

    /// Counters.
    pub fn stats(&self) -> RoamingStats {
        RoamingStats {
            units_evicted: self.tracker.evicted(),
            ..self.stats
        }
    }

    /// A mirror by name.
    pub fn mirror_id(&self, name: &str) -> Option<MirrorId> {
        self.config
            .mirrors
            .iter()
            .position(|m| m.name == name)
            .map(mirror_id)
    }

    /// Every mirror and how it stands.
    pub fn mirrors(&self) -> Vec<MirrorView> {
        let now = self.last_now.unwrap_or(Instant::ZERO);
        self.config
            .mirrors
            .iter()
            .enumerate()
            .map(|(i, m)| MirrorView {
                id: mirror_id(i),
                name: m.name.clone(),
                patch: self.state[i].patch,
                held: self.held(i, now),
                units_in_zone: self.zone_units(i, now),
                forbidden: self.forbidden[i],
            })
            .collect()
    }

    // ---- inputs --------------------------------------------------------------------------

    /// A status message from `from`, heard by the gateway radio on talkgroup `heard_on`.
    pub fn handle_status(&mut self, now: Instant, heard_on: Tsi, from: Option<Tsi>, value: Status) {
        self.tick(now);
        let Some(unit) = from else {
            self.stats.anonymous += 1;
            return;
        };
        let mirror = self.mirror_of_group(heard_on);
        if value.is_emergency() {
            let call_sign = self.call_sign(unit);
            self.event(RoamingEvent::EmergencyStatus {
                unit,
                call_sign,
                heard_on,
                mirror: mirror.map(mirror_id),
            });
            return;
        }
        let Some(action) = self.config.triggers.action(value) else {
            self.stats.status_ignored += 1;
            return;
        };
        let by = Requester::Unit { issi: unit };
        let outcome = match mirror {
            None => Err(RequestRefused::NoMirror(heard_on)),
            Some(i) => self.field_request(now, i, unit, heard_on, action),
        };
        let refused = outcome.err();
        self.event(RoamingEvent::Requested {
            mirror: mirror.map(mirror_id),
            call_sign: self.call_sign(unit),
            by,
            asked: Asked::Field(action),
            outcome,
        });
        match refused {
            Some(reason) => self.reply(heard_on, unit, mirror, Err(reason), action),
            None => {
                // Answered once the patch is up (or could not be), unless it already is or
                // nothing needed creating.
                let waiting =
                    mirror.is_some_and(|i| self.state[i].waiting.iter().any(|(u, _)| *u == unit));
                if !waiting {
                    self.reply(heard_on, unit, mirror, Ok(()), action);
                }
            }
        }
        self.reconcile(now);
    }

    fn field_request(
        &mut self,
        now: Instant,
        i: usize,
        unit: Tsi,
        heard_on: Tsi,
        action: FieldAction,
    ) -> Result<(), RequestRefused> {
        let mirror = &self.config.mirrors[i];
        if !mirror.triggers.status {
            return Err(RequestRefused::TriggerOff("status"));
        }
        self.config
            .sovereignty
            .check(&mirror.channels(), &Requester::Unit { issi: unit })?;
        let window = mirror.window;
        let state = &mut self.state[i];
        match action {
            FieldAction::Request | FieldAction::Extend => {
                state.field_until = Some(now + window);
                state.end_by = None;
                if state.patch.is_none() {
                    state.cause = Some(Cause::Status { unit });
                    if !state.waiting.iter().any(|(u, _)| *u == unit) {
                        state.waiting.push((unit, heard_on));
                    }
                    // Blocked a moment ago: try again now that someone asks.
                    state.blocked_until = None;
                }
            }
            FieldAction::End => {
                state.field_until = None;
                state.end_by = Some(Requester::Unit { issi: unit });
            }
        }
        Ok(())
    }

    /// A LIP location report of `from` (short or long), heard by the gateway radio on
    /// talkgroup `heard_on`. A report without a fix is counted and changes nothing: the unit
    /// stays where its last fix put it, until that fix ages out as usual.
    pub fn handle_location(
        &mut self,
        now: Instant,
        heard_on: Tsi,
        from: Option<Tsi>,
        report: &LocationReport,
    ) {
        self.tick(now);
        let Some(unit) = from else {
            self.stats.anonymous += 1;
            return;
        };
        let Some(position) = report.position else {
            self.stats.positions_without_fix += 1;
            return;
        };
        let used = self.config.zones.iter().any(|z| {
            z.mirrors.iter().any(|m| {
                self.config
                    .mirrors
                    .get(usize::from(m.0))
                    .is_some_and(|m| m.has_group(heard_on))
            })
        });
        if !used {
            self.stats.positions_unused += 1;
            return;
        }
        let mut changes = std::mem::take(&mut self.changes);
        self.tracker.report(
            now,
            unit,
            heard_on,
            Fix::of_position(&position),
            &self.config.zones,
            &mut changes,
        );
        self.zone_changes(&mut changes);
        self.changes = changes;
        self.reconcile(now);
    }

    /// A dispatcher's action on a mirror; refused (and reported) if sovereignty or the mirror's
    /// triggers forbid it.
    pub fn dispatch(
        &mut self,
        now: Instant,
        mirror: MirrorId,
        action: DispatchAction,
        by: Requester,
    ) -> Result<(), RequestRefused> {
        self.tick(now);
        let i = usize::from(mirror.0);
        let outcome = self.dispatch_request(now, i, action, &by);
        self.event(RoamingEvent::Requested {
            mirror: (i < self.config.mirrors.len()).then_some(mirror),
            call_sign: None,
            by,
            asked: Asked::Dispatch(action),
            outcome,
        });
        self.reconcile(now);
        outcome
    }

    fn dispatch_request(
        &mut self,
        now: Instant,
        i: usize,
        action: DispatchAction,
        by: &Requester,
    ) -> Result<(), RequestRefused> {
        let Some(mirror) = self.config.mirrors.get(i) else {
            return Err(RequestRefused::UnknownMirror(
                u16::try_from(i).unwrap_or(u16::MAX),
            ));
        };
        if !mirror.triggers.dispatch {
            return Err(RequestRefused::TriggerOff("dispatch"));
        }
        self.config.sovereignty.check(&mirror.channels(), by)?;
        let state = &mut self.state[i];
        match action {
            DispatchAction::Activate { duration } => {
                state.dispatch = Some(duration.map(|d| now + d));
                state.end_by = None;
                state.blocked_until = None;
                if state.patch.is_none() {
                    state.cause = Some(Cause::Dispatch(by.clone()));
                }
            }
            DispatchAction::End => {
                state.dispatch = None;
                state.field_until = None;
                state.end_by = Some(by.clone());
            }
        }
        Ok(())
    }

    /// An event of the engine: a mirror's patch dissolving, a talker or an emergency taking the
    /// floor of a patch.
    pub fn handle_engine_event(&mut self, now: Instant, event: &EngineEvent, engine: &Engine) {
        self.tick(now);
        match event {
            EngineEvent::Patch(PatchEvent::Dissolved { id, reason, .. }) => {
                if let Some(i) = self.mirror_of_patch(*id) {
                    self.patch_gone(i, DownReason::Lapsed(*reason));
                    self.reconcile(now);
                }
            }
            EngineEvent::Floor {
                patch,
                event: FloorEvent::Granted { claim, .. },
            } => {
                let mirror = self.mirror_of_patch(*patch);
                let call_sign = claim.talker.and_then(|t| self.call_sign(t));
                if claim.emergency {
                    let propagated = engine
                        .floor(*patch)
                        .is_some_and(|f| f.policy().on_air(claim).emergency);
                    self.event(RoamingEvent::Emergency {
                        patch: *patch,
                        mirror: mirror.map(mirror_id),
                        talker: claim.talker,
                        call_sign: call_sign.clone(),
                        from: claim.origin_network,
                        propagated,
                    });
                }
                if let Some(i) = mirror {
                    self.event(RoamingEvent::Talking {
                        mirror: mirror_id(i),
                        talker: claim.talker,
                        call_sign,
                        from: claim.origin_network,
                    });
                }
            }
            _ => {}
        }
    }

    /// An SDS-TL report (or acknowledgement, or short report) from `from` on the message with
    /// SDS-TL reference `reference`: if it answers a text reply awaiting one, says what became
    /// of that reply.
    pub fn handle_delivery_report(
        &mut self,
        now: Instant,
        from: Option<Tsi>,
        reference: u8,
        status: DeliveryStatus,
    ) {
        self.tick(now);
        let candidates =
            |p: &PendingReply| p.reference == reference && from.is_none_or(|u| u == p.unit);
        // Without a sender only an unambiguous reference is taken.
        let at = match from {
            Some(_) => self.pending.iter().position(candidates),
            None if self.pending.iter().filter(|p| candidates(p)).count() == 1 => {
                self.pending.iter().position(candidates)
            }
            None => None,
        };
        let Some(at) = at else {
            self.stats.reports_unmatched += 1;
            return;
        };
        let outcome = match status.class() {
            DeliveryClass::Success => DeliveryOutcome::Delivered(status),
            DeliveryClass::TemporaryError => DeliveryOutcome::Stored(status),
            DeliveryClass::Failed
            | DeliveryClass::FlowControl
            | DeliveryClass::EndToEndControl
            | DeliveryClass::Reserved => DeliveryOutcome::Failed(status),
        };
        let final_answer = !matches!(outcome, DeliveryOutcome::Stored(_));
        let pending = if final_answer {
            self.pending.remove(at)
        } else {
            self.pending.get(at).copied()
        };
        if let Some(p) = pending {
            self.delivery_event(p, outcome);
        }
    }

    /// Fires what is due at `now`; `utc` is the civil time now, for schedules. Call once at
    /// start too.
    pub fn handle_timeout(&mut self, now: Instant, utc: Timestamp) {
        self.tick(now);
        while let Some(p) = self.pending.front().copied()
            && p.deadline <= now
        {
            self.pending.pop_front();
            self.delivery_event(p, DeliveryOutcome::NotConfirmed);
        }
        let mut changes = std::mem::take(&mut self.changes);
        self.tracker.handle_timeout(now, &mut changes);
        self.zone_changes(&mut changes);
        self.changes = changes;
        if self.next_schedule_check.is_none_or(|t| t <= now) {
            let mut next = now + SCHEDULE_RECHECK;
            for (i, m) in self.config.mirrors.iter().enumerate() {
                if let MirrorMode::Scheduled(schedule) = &m.mode {
                    let active = schedule.is_active(&self.tz, utc);
                    if active && !self.state[i].scheduled && self.state[i].patch.is_none() {
                        self.state[i].cause = Some(Cause::Schedule);
                    }
                    self.state[i].scheduled = active;
                    if let Some(change) = schedule.next_change(&self.tz, utc) {
                        let ahead = change.as_microsecond().saturating_sub(utc.as_microsecond());
                        let at = now + Duration::from_micros(u64::try_from(ahead).unwrap_or(0));
                        next = next.min(at);
                    }
                }
            }
            self.next_schedule_check = Some(next);
        }
        for (i, m) in self.config.mirrors.iter().enumerate() {
            if m.mode == MirrorMode::Permanent && self.state[i].patch.is_none() {
                self.state[i].cause.get_or_insert(Cause::Permanent);
            }
        }
        self.reconcile(now);
    }

    /// When [`Roaming::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let after = self.last_now;
        let mut candidates: Vec<Instant> = Vec::new();
        candidates.extend(self.next_schedule_check);
        candidates.extend(self.tracker.poll_timeout());
        candidates.extend(self.pending.iter().map(|p| p.deadline));
        for (i, s) in self.state.iter().enumerate() {
            let window = self.config.mirrors[i].window;
            candidates.extend(s.field_until);
            candidates.extend(s.dispatch.flatten());
            candidates.extend(s.blocked_until);
            if s.patch.is_some() && !s.lapsing {
                candidates.extend(s.expires_at.map(|t| t - half(window)));
            }
        }
        for (_, _, presences) in self.tracker.present() {
            for p in presences {
                if let Some(zone) = self.config.zones.get(usize::from(p.zone.0)) {
                    for m in &zone.mirrors {
                        if let Some(mirror) = self.config.mirrors.get(usize::from(m.0)) {
                            candidates.push(p.last_inside + mirror.window);
                        }
                    }
                }
            }
        }
        candidates
            .into_iter()
            .filter(|t| after.is_none_or(|a| *t > a))
            .min()
    }

    /// Carries out the patch changes decided so far on `engine`, and learns what became of
    /// them (a patch created, adopted, refused, or gone meanwhile).
    pub fn apply(&mut self, now: Instant, engine: &mut Engine) {
        self.tick(now);
        // Patches removed behind roaming's back (the API) are noticed here.
        for i in 0..self.state.len() {
            if let Some(id) = self.state[i].patch
                && engine.patches().get(id).is_none()
            {
                self.patch_gone(i, DownReason::Removed);
            }
        }
        self.reconcile(now);
        // Each round can only queue creates for mirrors that lost their patch in it, so two
        // rounds settle; four is a margin, never a loop.
        for _ in 0..4 {
            if self.requests.is_empty() {
                break;
            }
            while let Some(request) = self.requests.pop_front() {
                self.carry_out(now, engine, request);
            }
            self.reconcile(now);
        }
    }

    /// The next message for a unit.
    #[must_use]
    pub fn poll_reply(&mut self) -> Option<Reply> {
        self.replies.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RoamingEvent> {
        self.events.pop_front()
    }

    // ---- the decision --------------------------------------------------------------------

    fn tick(&mut self, now: Instant) {
        self.last_now = Some(self.last_now.map_or(now, |t| t.max(now)));
    }

    /// Units of the mirror's groups inside a zone that lists it, with a recent report there.
    fn zone_units(&self, i: usize, now: Instant) -> usize {
        let mirror = &self.config.mirrors[i];
        if !mirror.triggers.position {
            return 0;
        }
        let id = mirror_id(i);
        self.tracker
            .present()
            .filter(|(unit, heard_on, presences)| {
                mirror.has_group(*heard_on)
                    && presences.iter().any(|p| {
                        p.last_inside + mirror.window > now
                            && self
                                .config
                                .zones
                                .get(usize::from(p.zone.0))
                                .is_some_and(|z| z.mirrors.contains(&id))
                    })
                    && self
                        .config
                        .sovereignty
                        .check(&mirror.channels(), &Requester::Unit { issi: *unit })
                        .is_ok()
            })
            .count()
    }

    fn held(&self, i: usize, now: Instant) -> bool {
        if self.forbidden[i].is_some() {
            return false;
        }
        let s = &self.state[i];
        self.config.mirrors[i].mode == MirrorMode::Permanent
            || s.scheduled
            || s.dispatch
                .is_some_and(|until| until.is_none_or(|t| t > now))
            || s.field_until.is_some_and(|t| t > now)
            || self.zone_units(i, now) > 0
    }

    /// Brings every mirror's patch in line with whether it is held.
    fn reconcile(&mut self, now: Instant) {
        for i in 0..self.state.len() {
            // Expired holds are dropped, so they are not reported as deadlines again.
            let s = &mut self.state[i];
            if s.field_until.is_some_and(|t| t <= now) {
                s.field_until = None;
            }
            if s.dispatch.is_some_and(|u| u.is_some_and(|t| t <= now)) {
                s.dispatch = None;
            }
            if s.blocked_until.is_some_and(|t| t <= now) {
                s.blocked_until = None;
            }
            let held = self.held(i, now);
            let mirror = &self.config.mirrors[i];
            let (window, inactivity) = (mirror.window, mirror.inactivity_timeout);
            let id = mirror_id(i);
            let s = &mut self.state[i];
            match (held, s.patch) {
                (true, None) if !s.creating && s.blocked_until.is_none() => {
                    s.creating = true;
                    let created_by = match &s.cause {
                        Some(cause) => format!("roaming: {}", cause_text(cause)),
                        None => "roaming".to_owned(),
                    };
                    let spec = mirror.patch_spec(created_by);
                    self.requests
                        .push_back(PatchRequest::Create { mirror: id, spec });
                }
                (true, Some(patch)) => {
                    s.end_by = None;
                    let due = s.expires_at.is_none_or(|t| t <= now + half(window));
                    if s.lapsing || due {
                        s.lapsing = false;
                        s.expires_at = Some(now + window);
                        self.requests.push_back(PatchRequest::Retime {
                            mirror: id,
                            patch,
                            lifetime: Some(window),
                            inactivity_timeout: None,
                        });
                    }
                }
                (false, Some(patch)) if s.end_by.is_some() => {
                    self.requests
                        .push_back(PatchRequest::Remove { mirror: id, patch });
                    s.patch = None;
                    s.lapsing = false;
                    s.expires_at = None;
                    let by = s.end_by.take().unwrap_or(Requester::Config);
                    self.event(RoamingEvent::MirrorDown {
                        mirror: id,
                        reason: DownReason::Ended(by),
                    });
                }
                (false, Some(patch)) if !s.lapsing => {
                    s.lapsing = true;
                    s.expires_at = Some(now + window);
                    self.requests.push_back(PatchRequest::Retime {
                        mirror: id,
                        patch,
                        lifetime: Some(window),
                        inactivity_timeout: Some(inactivity),
                    });
                    self.event(RoamingEvent::MirrorLapsing { mirror: id, patch });
                }
                (false, None) => {
                    s.end_by = None;
                    // Nobody waits for a mirror that is not coming.
                    let waiting = std::mem::take(&mut s.waiting);
                    for (unit, via) in waiting {
                        let reason = self.forbidden[i].map_or(
                            RequestRefused::Blocked(BlockReason::Refused),
                            RequestRefused::from,
                        );
                        self.reply(via, unit, Some(i), Err(reason), FieldAction::Request);
                    }
                }
                _ => {}
            }
        }
    }

    fn carry_out(&mut self, now: Instant, engine: &mut Engine, request: PatchRequest) {
        match request {
            PatchRequest::Create { mirror, spec } => {
                let i = usize::from(mirror.0);
                self.state[i].creating = false;
                if !self.held(i, now) || self.state[i].patch.is_some() {
                    return;
                }
                let m = &self.config.mirrors[i];
                // A patch of exactly these channels already exists: take it over.
                let existing = engine.patches().patch_of_group(m.home.group);
                if let Some(id) = existing
                    && engine
                        .patches()
                        .get(id)
                        .is_some_and(|p| m.matches(p.spec()))
                {
                    let window = m.window;
                    let _ = engine.retime_patch(now, id, Some(window), None);
                    self.patch_up(i, id, now, Some(Cause::Adopted));
                    return;
                }
                match engine.create_patch(now, spec) {
                    Ok(id) => {
                        let cause = self.state[i].cause.take();
                        self.patch_up(i, id, now, cause);
                    }
                    Err(error) => {
                        let reason = match error {
                            EngineError::Patch(PatchError::ChannelInUse {
                                channel, other, ..
                            }) => BlockReason::GroupInUse {
                                group: channel.group,
                                other,
                            },
                            EngineError::Patch(_) => BlockReason::Refused,
                        };
                        self.state[i].blocked_until = Some(now + BLOCKED_RETRY);
                        self.event(RoamingEvent::MirrorBlocked { mirror, reason });
                        let waiting = std::mem::take(&mut self.state[i].waiting);
                        for (unit, via) in waiting {
                            self.reply(
                                via,
                                unit,
                                Some(i),
                                Err(RequestRefused::Blocked(reason)),
                                FieldAction::Request,
                            );
                        }
                    }
                }
            }
            PatchRequest::Retime {
                mirror,
                patch,
                lifetime,
                inactivity_timeout,
            } => {
                if engine
                    .retime_patch(now, patch, lifetime, inactivity_timeout)
                    .is_err()
                {
                    let i = usize::from(mirror.0);
                    if self.state[i].patch == Some(patch) {
                        self.patch_gone(i, DownReason::Removed);
                    }
                }
            }
            PatchRequest::Remove { patch, .. } => {
                // Already gone is fine: the end was asked for either way.
                let _ = engine.remove_patch(now, patch);
            }
        }
    }

    fn patch_up(&mut self, i: usize, id: PatchId, now: Instant, cause: Option<Cause>) {
        let window = self.config.mirrors[i].window;
        let s = &mut self.state[i];
        s.patch = Some(id);
        s.lapsing = false;
        s.expires_at = Some(now + window);
        s.blocked_until = None;
        let waiting = std::mem::take(&mut s.waiting);
        let cause = cause.unwrap_or_else(|| match self.config.mirrors[i].mode {
            MirrorMode::Permanent => Cause::Permanent,
            MirrorMode::Scheduled(_) if self.state[i].scheduled => Cause::Schedule,
            _ => Cause::Restored,
        });
        self.event(RoamingEvent::MirrorUp {
            mirror: mirror_id(i),
            patch: id,
            cause,
        });
        for (unit, via) in waiting {
            self.reply(via, unit, Some(i), Ok(()), FieldAction::Request);
        }
    }

    fn patch_gone(&mut self, i: usize, reason: DownReason) {
        let s = &mut self.state[i];
        s.patch = None;
        s.lapsing = false;
        s.expires_at = None;
        s.end_by = None;
        self.event(RoamingEvent::MirrorDown {
            mirror: mirror_id(i),
            reason,
        });
    }

    fn zone_changes(&mut self, changes: &mut Vec<ZoneChange>) {
        for change in changes.drain(..) {
            match change {
                ZoneChange::Entered { unit, zone } => {
                    // The first unit in brings the mirrors up: name it as the cause.
                    if let Some(z) = self.config.zones.get(usize::from(zone.0)) {
                        for m in &z.mirrors {
                            if let Some(s) = self.state.get_mut(usize::from(m.0))
                                && s.patch.is_none()
                            {
                                s.cause = Some(Cause::Position { unit, zone });
                            }
                        }
                    }
                    let call_sign = self.call_sign(unit);
                    self.event(RoamingEvent::ZoneEntered {
                        unit,
                        call_sign,
                        zone,
                    });
                }
                ZoneChange::Left { unit, zone, reason } => {
                    let call_sign = self.call_sign(unit);
                    self.event(RoamingEvent::ZoneLeft {
                        unit,
                        call_sign,
                        zone,
                        reason,
                    });
                }
            }
        }
    }

    // ---- helpers -------------------------------------------------------------------------

    fn mirror_of_group(&self, group: Tsi) -> Option<usize> {
        self.config.mirrors.iter().position(|m| m.has_group(group))
    }

    fn mirror_of_patch(&self, patch: PatchId) -> Option<usize> {
        self.state.iter().position(|s| s.patch == Some(patch))
    }

    fn call_sign(&self, unit: Tsi) -> Option<String> {
        self.config.aliases.call_sign(unit).map(str::to_owned)
    }

    fn event(&mut self, event: RoamingEvent) {
        if self.events.len() >= MAX_QUEUED {
            self.events.pop_front();
            self.stats.queue_overflow += 1;
        }
        self.events.push_back(event);
    }

    /// Answers a unit as `[triggers]` says.
    fn reply(
        &mut self,
        via: Tsi,
        to: Tsi,
        mirror: Option<usize>,
        outcome: Result<(), RequestRefused>,
        action: FieldAction,
    ) {
        let message = match self.config.triggers.reply {
            ReplyStyle::None => return,
            ReplyStyle::Status { ack, refuse } => {
                ReplyMessage::Status(if outcome.is_ok() { ack } else { refuse })
            }
            ReplyStyle::Text => {
                let name = mirror
                    .and_then(|i| self.config.mirrors.get(i))
                    .map_or("-", |m| m.name.as_str());
                let text = match outcome {
                    Ok(()) => format!("BL OK {} {name}", action.name()),
                    Err(reason) => format!("BL REFUSED {name}: {reason}"),
                };
                let reference = self.await_report(to, mirror.map(mirror_id));
                ReplyMessage::Text {
                    text: latin1_line(&text),
                    reference,
                }
            }
        };
        if self.replies.len() >= MAX_QUEUED {
            self.replies.pop_front();
            self.stats.queue_overflow += 1;
        }
        self.replies.push_back(Reply { via, to, message });
    }

    /// Gives a text reply to `unit` its SDS-TL message reference and remembers it until the
    /// report on it comes back.
    fn await_report(&mut self, unit: Tsi, mirror: Option<MirrorId>) -> u8 {
        // The deadlines stay in order because every reply waits as long, from the latest now.
        let now = self.last_now.unwrap_or(Instant::ZERO);
        if self.pending.len() >= MAX_PENDING_REPLIES
            && let Some(oldest) = self.pending.pop_front()
        {
            self.delivery_event(oldest, DeliveryOutcome::NotConfirmed);
        }
        // A reference no reply to this unit still awaits, so its report cannot be mistaken;
        // at most MAX_PENDING_REPLIES are taken, so one of the 256 is free.
        let mut reference = self.next_reference;
        for _ in 0..=u8::MAX {
            if !self
                .pending
                .iter()
                .any(|p| p.unit == unit && p.reference == reference)
            {
                break;
            }
            reference = reference.wrapping_add(1);
        }
        self.next_reference = reference.wrapping_add(1);
        self.pending.push_back(PendingReply {
            unit,
            reference,
            mirror,
            deadline: now + REPLY_CONFIRM_TIMEOUT,
        });
        reference
    }

    fn delivery_event(&mut self, p: PendingReply, outcome: DeliveryOutcome) {
        let call_sign = self.call_sign(p.unit);
        self.event(RoamingEvent::ReplyDelivery {
            unit: p.unit,
            call_sign,
            mirror: p.mirror,
            reference: p.reference,
            outcome,
        });
    }
}

fn mirror_id(i: usize) -> MirrorId {
    MirrorId(u16::try_from(i).unwrap_or(u16::MAX))
}

fn half(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() / 2)
}

fn cause_text(cause: &Cause) -> String {
    match cause {
        Cause::Permanent => "permanent".into(),
        Cause::Schedule => "schedule".into(),
        Cause::Dispatch(by) => by.to_string(),
        Cause::Status { unit } => format!("status from {unit}"),
        Cause::Position { unit, zone } => format!("position of {unit} in zone {}", zone.0),
        Cause::Adopted => "adopted".into(),
        Cause::Restored => "restored".into(),
    }
}

/// `text` cut to a terminal line, with characters Latin-1 lacks replaced by `?`.
fn latin1_line(text: &str) -> String {
    text.chars()
        .map(|c| if u32::from(c) <= 0xff { c } else { '?' })
        .take(MAX_TEXT_LEN)
        .collect()
}
