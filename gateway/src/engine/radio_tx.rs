//! The transmit side of one local radio, as the engine sees it: idle, transmit demanded and
//! waiting for the TETRA grant, granted, or holding the channel through hang time.
//!
//! The engine asks for transmission when a stream that this radio must carry gets the floor,
//! and the radio driver answers with what the radio reported on its PEI (grant, refusal, a
//! lost grant). Whatever the engine's other state says, a radio is never left keyed longer than
//! its hard cap (TX timeout plus hang time) for one over, nor longer than
//! [`AirTimeLimit::max_continuous`] however many overs follow each other in hang time (or after
//! releases shorter than the forced gap): then it is released and refused for
//! [`AirTimeLimit::forced_gap`], so the network hears a break and others can take the group.
//! This is the engine's own backstop for invariant 1 ("no stuck PTT"), behind the floor's TX
//! timeout and the board's independent cap. Radios keyed over PEI are keyed only through it.

use std::collections::VecDeque;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::Priority;
use serde::Serialize;

use super::endpoint::RadioId;

/// How long a radio may stay on the air across overs, and the break it then gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AirTimeLimit {
    /// Longest continuous air time: overs that follow each other in hang time, or after a
    /// release shorter than `forced_gap`, count as one. Default 170 s, within the board's 180 s
    /// cap so the daemon acts first.
    pub max_continuous: Duration,
    /// How long a radio released at `max_continuous` is refused; a release at least this long
    /// also starts the count afresh. Default 2 s (the board counts releases shorter than 1 s as
    /// continuous).
    pub forced_gap: Duration,
}

impl Default for AirTimeLimit {
    fn default() -> Self {
        AirTimeLimit {
            max_continuous: Duration::from_secs(170),
            forced_gap: Duration::from_secs(2),
        }
    }
}

/// What a radio driver reports about transmission, from the radio's PEI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RadioEvent {
    /// Transmit granted: clear to talk (`+CTXG` with grant 0).
    TxGranted,
    /// The demand was refused (`+CTXG` not granted, `ERROR`, no call possible).
    TxRefused,
    /// A grant was lost mid-transmission: interrupted (`+CTXI`), pre-empted or released
    /// (`+CTCR`).
    TxLost,
    /// The radio is unusable (serial error, reboot, cable unplugged).
    Down,
    /// The radio is back and initialised.
    Up,
}

/// Why the engine releases a radio's transmitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnkeyReason {
    /// The transmission ended and hang time ran out.
    HangExpired,
    /// The stream lost the floor or its patch went away, with nothing else to carry.
    FloorLost,
    /// The radio was keyed for its hard cap.
    HardCap,
    /// The radio was on the air for the longest continuous time, across overs; a forced gap
    /// follows.
    ContinuousCap,
    /// The radio refused or lost the grant.
    GrantFailed,
    /// The daemon is shutting down or a dispatcher forced a release.
    Forced,
}

/// A request to a radio driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RadioCommand {
    /// Set up (or join) the group call and demand transmit.
    Key {
        /// Which radio.
        radio: RadioId,
        /// The talkgroup to transmit on.
        group: Tsi,
        /// Call priority to request.
        priority: Priority,
        /// Whether to set up an emergency call.
        emergency: bool,
    },
    /// Cease transmission (`AT+CUTXC`).
    Unkey {
        /// Which radio.
        radio: RadioId,
        /// Why.
        reason: UnkeyReason,
    },
}

/// Where the radio's transmitter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxPhase {
    /// Not transmitting.
    Idle,
    /// Transmit demanded, waiting for the grant; audio is being held.
    Demanded,
    /// Granted: audio plays out.
    Granted,
    /// Granted, the transmission has ended, the channel is held until `until`.
    Hang {
        /// End of hang time.
        until: Instant,
    },
    /// The radio is down.
    Down,
}

/// The transmit state machine of one radio.
///
/// Drive it with [`key`](Self::key), [`start_hang`](Self::start_hang),
/// [`unkey`](Self::unkey) and [`handle_event`](Self::handle_event); call
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout); drain
/// [`poll_command`](Self::poll_command) after each call.
#[derive(Debug)]
pub struct RadioTx {
    id: RadioId,
    phase: TxPhase,
    /// When the transmitter was demanded (the hard cap counts from here).
    keyed_since: Option<Instant>,
    hard_cap: Duration,
    limit: AirTimeLimit,
    /// Since when the radio is on the air without a break of `forced_gap` (the continuous cap
    /// counts from here); kept after a release, to tell a short break from a real one.
    on_air_since: Option<Instant>,
    /// When the radio was last released.
    released_at: Option<Instant>,
    /// Keying is refused until then (the forced gap after the continuous cap).
    gap_until: Option<Instant>,
    commands: VecDeque<RadioCommand>,
}

impl RadioTx {
    /// A radio, idle and up, that may never stay keyed longer than `hard_cap` for one over,
    /// nor on the air longer than `limit` allows across overs.
    pub fn new(id: RadioId, hard_cap: Duration, limit: AirTimeLimit) -> Self {
        RadioTx {
            id,
            phase: TxPhase::Idle,
            keyed_since: None,
            hard_cap,
            limit,
            on_air_since: None,
            released_at: None,
            gap_until: None,
            commands: VecDeque::with_capacity(4),
        }
    }

    /// Whether the radio is refused at `now` for the forced gap after its continuous cap.
    pub fn in_forced_gap(&self, now: Instant) -> bool {
        self.gap_until.is_some_and(|until| now < until)
    }

    /// The radio.
    pub fn id(&self) -> RadioId {
        self.id
    }

    /// Where the transmitter is.
    pub fn phase(&self) -> TxPhase {
        self.phase
    }

    /// Whether audio may play out now.
    pub fn is_granted(&self) -> bool {
        matches!(self.phase, TxPhase::Granted | TxPhase::Hang { .. })
    }

    /// Whether the transmitter is demanded or keyed (anything but idle or down).
    pub fn is_active(&self) -> bool {
        matches!(
            self.phase,
            TxPhase::Demanded | TxPhase::Granted | TxPhase::Hang { .. }
        )
    }

    /// Asks for transmission on `group`. Returns whether the radio is now demanded or keyed;
    /// `false` when it is down or in the forced gap after its continuous cap. A radio already
    /// keyed (for example in hang time) carries on without a new demand, which is the point of
    /// hang time.
    pub fn key(&mut self, now: Instant, group: Tsi, priority: Priority, emergency: bool) -> bool {
        match self.phase {
            TxPhase::Down => false,
            TxPhase::Idle if self.in_forced_gap(now) => false,
            TxPhase::Idle => {
                self.phase = TxPhase::Demanded;
                self.keyed_since = Some(now);
                // A break shorter than the forced gap does not start the count afresh.
                let short_break = self
                    .released_at
                    .is_some_and(|at| now < at + self.limit.forced_gap);
                if !short_break || self.on_air_since.is_none() {
                    self.on_air_since = Some(now);
                }
                self.commands.push_back(RadioCommand::Key {
                    radio: self.id,
                    group,
                    priority,
                    emergency,
                });
                true
            }
            TxPhase::Hang { .. } => {
                // A new over: the hard cap bounds each over plus its hang time; the continuous
                // cap, still counting, bounds the conversation.
                self.phase = TxPhase::Granted;
                self.keyed_since = Some(now);
                true
            }
            TxPhase::Demanded | TxPhase::Granted => true,
        }
    }

    /// The transmission ended: keep the channel until `until`, then release it.
    pub fn start_hang(&mut self, now: Instant, until: Instant) {
        match self.phase {
            TxPhase::Granted => self.phase = TxPhase::Hang { until },
            // Never granted: there is no channel to hold, so withdraw the demand now.
            TxPhase::Demanded => {
                self.phase = TxPhase::Idle;
                self.release(now, UnkeyReason::HangExpired);
            }
            TxPhase::Idle | TxPhase::Hang { .. } | TxPhase::Down => {}
        }
    }

    /// Releases the transmitter now, if it is demanded or keyed.
    pub fn unkey(&mut self, now: Instant, reason: UnkeyReason) {
        if self.is_active() {
            self.phase = TxPhase::Idle;
            self.release(now, reason);
        }
    }

    fn release(&mut self, now: Instant, reason: UnkeyReason) {
        self.keyed_since = None;
        self.released_at = Some(now);
        self.commands.push_back(RadioCommand::Unkey {
            radio: self.id,
            reason,
        });
    }

    /// Applies what the driver reports. Returns `true` if the grant was lost or refused, so
    /// the engine stops playing out to this radio.
    pub fn handle_event(&mut self, now: Instant, event: RadioEvent) -> bool {
        match (event, self.phase) {
            (RadioEvent::TxGranted, TxPhase::Demanded) => {
                self.phase = TxPhase::Granted;
                false
            }
            // A grant nobody waits for (late, after a release): give the channel back.
            (RadioEvent::TxGranted, TxPhase::Idle) => {
                self.release(now, UnkeyReason::Forced);
                false
            }
            (RadioEvent::TxGranted, _) => false,
            (
                RadioEvent::TxRefused | RadioEvent::TxLost,
                TxPhase::Demanded | TxPhase::Granted | TxPhase::Hang { .. },
            ) => {
                self.phase = TxPhase::Idle;
                self.release(now, UnkeyReason::GrantFailed);
                true
            }
            (RadioEvent::TxRefused | RadioEvent::TxLost, _) => false,
            (RadioEvent::Down, _) => {
                let was_active = self.is_active();
                self.phase = TxPhase::Down;
                self.keyed_since = None;
                if was_active {
                    self.released_at = Some(now);
                }
                was_active
            }
            (RadioEvent::Up, TxPhase::Down) => {
                self.phase = TxPhase::Idle;
                false
            }
            (RadioEvent::Up, _) => false,
        }
    }

    /// Releases on hang expiry, at the hard cap and at the continuous cap.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let TxPhase::Hang { until } = self.phase
            && now >= until
        {
            self.phase = TxPhase::Idle;
            self.release(now, UnkeyReason::HangExpired);
        }
        if let Some(since) = self.keyed_since
            && now >= since + self.hard_cap
            && self.is_active()
        {
            self.phase = TxPhase::Idle;
            self.release(now, UnkeyReason::HardCap);
        }
        if let Some(since) = self.on_air_since
            && now >= since + self.limit.max_continuous
            && self.is_active()
        {
            self.phase = TxPhase::Idle;
            self.release(now, UnkeyReason::ContinuousCap);
            self.gap_until = Some(now + self.limit.forced_gap);
            self.on_air_since = None;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let cap = self.keyed_since.map(|since| since + self.hard_cap);
        let hang = match self.phase {
            TxPhase::Hang { until } => Some(until),
            _ => None,
        };
        let continuous = self
            .on_air_since
            .filter(|_| self.is_active())
            .map(|since| since + self.limit.max_continuous);
        [cap, hang, continuous].into_iter().flatten().min()
    }

    /// The next request for the radio driver.
    #[must_use]
    pub fn poll_command(&mut self) -> Option<RadioCommand> {
        self.commands.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RADIO: RadioId = RadioId(1);

    fn group() -> Tsi {
        Tsi::from_parts(204, 1, 2_040_551).unwrap()
    }

    fn prio() -> Priority {
        Priority::new(5).unwrap()
    }

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn radio() -> RadioTx {
        RadioTx::new(RADIO, Duration::from_secs(122), AirTimeLimit::default())
    }

    fn drain(r: &mut RadioTx) -> Vec<RadioCommand> {
        std::iter::from_fn(|| r.poll_command()).collect()
    }

    #[test]
    fn key_demands_once_then_grant_lets_audio_through() {
        let mut r = radio();
        assert!(r.key(t(0), group(), prio(), false));
        assert!(r.key(t(5), group(), prio(), false));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Key {
                radio: RADIO,
                group: group(),
                priority: prio(),
                emergency: false
            }]
        );
        assert!(!r.is_granted());
        assert!(!r.handle_event(t(0), RadioEvent::TxGranted));
        assert!(r.is_granted());
    }

    #[test]
    fn hang_time_keeps_the_channel_and_a_new_over_needs_no_new_demand() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.handle_event(t(0), RadioEvent::TxGranted);
        drain(&mut r);
        r.start_hang(t(1_000), t(2_500));
        assert_eq!(r.phase(), TxPhase::Hang { until: t(2_500) });
        assert!(r.key(t(2_000), group(), prio(), false));
        assert_eq!(r.phase(), TxPhase::Granted);
        assert!(
            drain(&mut r).is_empty(),
            "no second demand inside hang time"
        );
    }

    #[test]
    fn hang_expiry_releases_exactly_at_its_end() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.handle_event(t(0), RadioEvent::TxGranted);
        drain(&mut r);
        r.start_hang(t(0), t(1_500));
        r.handle_timeout(t(1_499));
        assert!(r.is_active());
        r.handle_timeout(t(1_500));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::HangExpired
            }]
        );
        assert_eq!(r.phase(), TxPhase::Idle);
    }

    #[test]
    fn hard_cap_releases_however_the_radio_was_keyed() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.handle_event(t(0), RadioEvent::TxGranted);
        drain(&mut r);
        assert_eq!(r.poll_timeout(), Some(t(122_000)));
        r.handle_timeout(t(121_999));
        assert!(r.is_active());
        r.handle_timeout(t(122_000));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::HardCap
            }]
        );
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn lost_grant_releases_and_tells_the_engine() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.handle_event(t(0), RadioEvent::TxGranted);
        drain(&mut r);
        assert!(r.handle_event(t(0), RadioEvent::TxLost));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::GrantFailed
            }]
        );
        assert!(!r.is_active());
    }

    #[test]
    fn ending_before_the_grant_withdraws_the_demand() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        drain(&mut r);
        r.start_hang(t(0), t(1_500));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::HangExpired
            }]
        );
        assert_eq!(r.phase(), TxPhase::Idle);
    }

    #[test]
    fn a_down_radio_cannot_be_keyed_until_it_is_up() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        drain(&mut r);
        assert!(r.handle_event(t(0), RadioEvent::Down));
        assert!(!r.key(t(1), group(), prio(), false));
        assert!(drain(&mut r).is_empty());
        r.handle_event(t(0), RadioEvent::Up);
        assert!(r.key(t(2), group(), prio(), false));
        assert_eq!(drain(&mut r).len(), 1);
    }

    #[test]
    fn a_late_grant_after_release_is_handed_back() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.unkey(t(0), UnkeyReason::FloorLost);
        drain(&mut r);
        r.handle_event(t(0), RadioEvent::TxGranted);
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::Forced
            }]
        );
        assert!(!r.is_active());
    }

    /// A radio capped at 10 s on the air across overs, then a 2 s forced gap; 122 s per over.
    fn limited() -> RadioTx {
        RadioTx::new(
            RADIO,
            Duration::from_secs(122),
            AirTimeLimit {
                max_continuous: Duration::from_secs(10),
                forced_gap: Duration::from_secs(2),
            },
        )
    }

    /// Overs of 3 s, each starting 1 s into the previous one's 1.5 s hang time.
    fn overs_in_hang_time(r: &mut RadioTx, from: u64, to: u64) {
        let mut at = from;
        while at < to {
            r.key(t(at), group(), prio(), false);
            r.handle_event(t(at), RadioEvent::TxGranted);
            r.handle_timeout(t(at + 3_000));
            r.start_hang(t(at + 3_000), t(at + 4_500));
            r.handle_timeout(t(at + 4_000));
            at += 4_000;
        }
    }

    #[test]
    fn back_to_back_overs_in_hang_time_are_capped_as_one_transmission_then_a_forced_gap() {
        let mut r = limited();
        overs_in_hang_time(&mut r, 0, 8_000);
        assert!(r.is_active(), "8 s on the air: within the cap");
        drain(&mut r);
        r.key(t(8_000), group(), prio(), false);
        assert_eq!(
            r.poll_timeout(),
            Some(t(10_000)),
            "the cap counts from the first over"
        );
        r.handle_timeout(t(10_000));
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::ContinuousCap
            }]
        );
        // The forced gap: refused until it has passed.
        assert!(!r.key(t(11_999), group(), prio(), false));
        assert!(drain(&mut r).is_empty());
        assert!(r.key(t(12_000), group(), prio(), false));
        assert_eq!(drain(&mut r).len(), 1, "a new demand after the gap");
        assert_eq!(r.poll_timeout(), Some(t(22_000)), "counted afresh");
    }

    #[test]
    fn a_release_shorter_than_the_forced_gap_does_not_restart_the_continuous_count() {
        let mut r = limited();
        r.key(t(0), group(), prio(), false);
        r.handle_event(t(0), RadioEvent::TxGranted);
        r.unkey(t(6_000), UnkeyReason::FloorLost);
        // Keyed again 1 s later: still the same stretch on the air.
        r.key(t(7_000), group(), prio(), false);
        r.handle_event(t(7_000), RadioEvent::TxGranted);
        assert_eq!(r.poll_timeout(), Some(t(10_000)));
        // A real break (the forced gap or longer) starts afresh.
        r.unkey(t(8_000), UnkeyReason::FloorLost);
        r.key(t(10_000), group(), prio(), false);
        assert_eq!(r.poll_timeout(), Some(t(20_000)));
    }
}
