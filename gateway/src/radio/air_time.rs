//! The radio's own continuous air-time cap: the PEI session's backstop behind the engine's.
//!
//! The engine releases a radio after [`AirTimeLimit::max_continuous`] on the air across overs
//! (`engine::radio_tx`). The session keeps the same count itself, from the moment a key
//! request is under way until the radio owes no cease (`RadioSession::cease_pending`), a break
//! shorter than [`AirTimeLimit::forced_gap`] not ending the stretch; whatever keyed it, once the
//! stretch reaches the cap the session ceases (`AT+CUTXC`), reports the transmission lost
//! ([`TxFailure::AirTimeCap`]) and refuses every key request for the forced gap.

use borderlink_protocol::time::Instant;

use super::output::{RadioOutput, TxFailure};
use super::session::RadioSession;

/// Where the radio's current stretch on the air began, and the forced gap after a cap.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AirClock {
    /// Since when the radio is on the air without a break of the forced gap.
    stretch_from: Option<Instant>,
    /// Since when it is off the air (no key request, no cease owed).
    off_since: Option<Instant>,
    /// Key requests are refused until then.
    gap_until: Option<Instant>,
}

impl RadioSession {
    /// Whether a key request is refused at `now` for the forced gap.
    pub(super) fn in_forced_gap(&self, now: Instant) -> bool {
        self.air.gap_until.is_some_and(|until| now < until)
    }

    /// Follows the radio on and off the air; call after every change of state.
    pub(super) fn track_air_time(&mut self, now: Instant) {
        let gap = self.config.air_time.forced_gap;
        if self.cease_pending() {
            let long_break = self.air.off_since.is_some_and(|off| now >= off + gap);
            if long_break || self.air.stretch_from.is_none() {
                self.air.stretch_from = Some(now);
            }
            self.air.off_since = None;
        } else if self.air.off_since.is_none() {
            self.air.off_since = Some(now);
        }
    }

    /// Releases the radio at the cap; the forced gap follows.
    pub(super) fn air_time_timeout(&mut self, now: Instant) {
        self.track_air_time(now);
        let Some(cap) = self.air_time_deadline() else {
            return;
        };
        if now < cap {
            return;
        }
        let engine_knew = self.tx.is_some_and(|k| k.is_wanted());
        self.unkey(now);
        self.air.stretch_from = None;
        self.air.gap_until = Some(now + self.config.air_time.forced_gap);
        if engine_knew {
            self.emit(RadioOutput::TxLost {
                reason: TxFailure::AirTimeCap,
            });
        }
        self.track_air_time(now);
    }

    /// When the current stretch on the air reaches the cap, if the radio is on the air.
    pub(super) fn air_time_deadline(&self) -> Option<Instant> {
        if !self.cease_pending() || self.in_forced_gap_started() {
            return None;
        }
        self.air
            .stretch_from
            .map(|from| from + self.config.air_time.max_continuous)
    }

    /// A cap already fired for this stretch (its cease may still be on its way).
    fn in_forced_gap_started(&self) -> bool {
        self.air.stretch_from.is_none() && self.air.gap_until.is_some()
    }
}
