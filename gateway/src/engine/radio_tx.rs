//! The transmit side of one local radio, as the engine sees it: idle, transmit demanded and
//! waiting for the TETRA grant, granted, or holding the channel through hang time.
//!
//! The engine asks for transmission when a stream that this radio must carry gets the floor,
//! and the radio driver answers with what the radio reported on its PEI (grant, refusal, a
//! lost grant). Whatever the engine's other state says, a radio is never left keyed longer than
//! its hard cap (TX timeout plus hang time) for one over: this is the engine's own backstop for
//! invariant 1 ("no stuck PTT"), behind the floor's TX timeout and the board's independent cap.

use std::collections::VecDeque;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::Priority;
use serde::Serialize;

use super::endpoint::RadioId;

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
    commands: VecDeque<RadioCommand>,
}

impl RadioTx {
    /// A radio, idle and up, that may never stay keyed longer than `hard_cap`.
    pub fn new(id: RadioId, hard_cap: Duration) -> Self {
        RadioTx {
            id,
            phase: TxPhase::Idle,
            keyed_since: None,
            hard_cap,
            commands: VecDeque::with_capacity(4),
        }
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
    /// `false` when it is down. A radio already keyed (for example in hang time) carries on
    /// without a new demand, which is the point of hang time.
    pub fn key(&mut self, now: Instant, group: Tsi, priority: Priority, emergency: bool) -> bool {
        match self.phase {
            TxPhase::Down => false,
            TxPhase::Idle => {
                self.phase = TxPhase::Demanded;
                self.keyed_since = Some(now);
                self.commands.push_back(RadioCommand::Key {
                    radio: self.id,
                    group,
                    priority,
                    emergency,
                });
                true
            }
            TxPhase::Hang { .. } => {
                // A new over: the cap bounds each over plus its hang time, not a conversation.
                self.phase = TxPhase::Granted;
                self.keyed_since = Some(now);
                true
            }
            TxPhase::Demanded | TxPhase::Granted => true,
        }
    }

    /// The transmission ended: keep the channel until `until`, then release it.
    pub fn start_hang(&mut self, until: Instant) {
        match self.phase {
            TxPhase::Granted => self.phase = TxPhase::Hang { until },
            // Never granted: there is no channel to hold, so withdraw the demand now.
            TxPhase::Demanded => {
                self.phase = TxPhase::Idle;
                self.release(UnkeyReason::HangExpired);
            }
            TxPhase::Idle | TxPhase::Hang { .. } | TxPhase::Down => {}
        }
    }

    /// Releases the transmitter now, if it is demanded or keyed.
    pub fn unkey(&mut self, reason: UnkeyReason) {
        if self.is_active() {
            self.phase = TxPhase::Idle;
            self.release(reason);
        }
    }

    fn release(&mut self, reason: UnkeyReason) {
        self.keyed_since = None;
        self.commands.push_back(RadioCommand::Unkey {
            radio: self.id,
            reason,
        });
    }

    /// Applies what the driver reports. Returns `true` if the grant was lost or refused, so
    /// the engine stops playing out to this radio.
    pub fn handle_event(&mut self, event: RadioEvent) -> bool {
        match (event, self.phase) {
            (RadioEvent::TxGranted, TxPhase::Demanded) => {
                self.phase = TxPhase::Granted;
                false
            }
            // A grant nobody waits for (late, after a release): give the channel back.
            (RadioEvent::TxGranted, TxPhase::Idle) => {
                self.release(UnkeyReason::Forced);
                false
            }
            (RadioEvent::TxGranted, _) => false,
            (
                RadioEvent::TxRefused | RadioEvent::TxLost,
                TxPhase::Demanded | TxPhase::Granted | TxPhase::Hang { .. },
            ) => {
                self.phase = TxPhase::Idle;
                self.release(UnkeyReason::GrantFailed);
                true
            }
            (RadioEvent::TxRefused | RadioEvent::TxLost, _) => false,
            (RadioEvent::Down, _) => {
                let was_active = self.is_active();
                self.phase = TxPhase::Down;
                self.keyed_since = None;
                was_active
            }
            (RadioEvent::Up, TxPhase::Down) => {
                self.phase = TxPhase::Idle;
                false
            }
            (RadioEvent::Up, _) => false,
        }
    }

    /// Releases on hang expiry and at the hard cap.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let TxPhase::Hang { until } = self.phase
            && now >= until
        {
            self.phase = TxPhase::Idle;
            self.release(UnkeyReason::HangExpired);
        }
        if let Some(since) = self.keyed_since
            && now >= since + self.hard_cap
            && self.is_active()
        {
            self.phase = TxPhase::Idle;
            self.release(UnkeyReason::HardCap);
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
        match (cap, hang) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
        RadioTx::new(RADIO, Duration::from_secs(122))
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
        assert!(!r.handle_event(RadioEvent::TxGranted));
        assert!(r.is_granted());
    }

    #[test]
    fn hang_time_keeps_the_channel_and_a_new_over_needs_no_new_demand() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.handle_event(RadioEvent::TxGranted);
        drain(&mut r);
        r.start_hang(t(2_500));
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
        r.handle_event(RadioEvent::TxGranted);
        drain(&mut r);
        r.start_hang(t(1_500));
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
        r.handle_event(RadioEvent::TxGranted);
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
        r.handle_event(RadioEvent::TxGranted);
        drain(&mut r);
        assert!(r.handle_event(RadioEvent::TxLost));
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
        r.start_hang(t(1_500));
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
        assert!(r.handle_event(RadioEvent::Down));
        assert!(!r.key(t(1), group(), prio(), false));
        assert!(drain(&mut r).is_empty());
        r.handle_event(RadioEvent::Up);
        assert!(r.key(t(2), group(), prio(), false));
        assert_eq!(drain(&mut r).len(), 1);
    }

    #[test]
    fn a_late_grant_after_release_is_handed_back() {
        let mut r = radio();
        r.key(t(0), group(), prio(), false);
        r.unkey(UnkeyReason::FloorLost);
        drain(&mut r);
        r.handle_event(RadioEvent::TxGranted);
        assert_eq!(
            drain(&mut r),
            [RadioCommand::Unkey {
                radio: RADIO,
                reason: UnkeyReason::Forced
            }]
        );
        assert!(!r.is_active());
    }
}
