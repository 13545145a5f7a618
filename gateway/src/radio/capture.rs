//! The capture gate of a receiving radio: which of its audio is a transmission to relay, and
//! under which talker, priority and emergency flag. The daemon and the simulator's fast mode
//! both drive their radios through it, so the rule is written once.
//!
//! A call opens the gate ([`start`]); the radio's report of its end ([`end`]) leaves it open
//! for [`CAPTURE_TAIL`] more, because the PEI line can overtake the last frames still in the
//! audio path and closing at once would cut the last syllable of every over. Within that tail
//! only the *same* talker continues the over: anyone else — another unit, a gateway radio
//! relaying on the same group — is a new transmission, so the old capture ends and a new one
//! starts. Continuing it would put a gateway's relay under the last unit's name, and the relay
//! would echo back across the border.

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, KeyUpTime, Priority};

use crate::engine::relay::Capture;

/// How long audio is still taken after a radio reports the end of a call.
pub const CAPTURE_TAIL: Duration = Duration::from_millis(200);

/// A call a radio is receiving: what goes into every captured frame's voice header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receiving {
    /// Who talks, if the radio said.
    pub talker: Option<Tsi>,
    /// The call's priority.
    pub priority: Priority,
    /// An emergency call.
    pub emergency: bool,
    /// When the call started, on this site's synchronised clock.
    pub key_up: KeyUpTime,
    /// The radio reported the end of the call: audio until then is still captured.
    pub closing: Option<Instant>,
}

impl Receiving {
    /// A call that has just started.
    pub fn new(
        talker: Option<Tsi>,
        priority: Priority,
        emergency: bool,
        key_up: KeyUpTime,
    ) -> Self {
        Receiving {
            talker,
            priority,
            emergency,
            key_up,
            closing: None,
        }
    }

    /// The engine input for a captured frame, or for the end of the capture (`None`).
    pub fn capture<'a>(&self, frame: Option<&'a [u8; FRAME_LEN]>) -> Capture<'a> {
        Capture {
            talker: self.talker,
            priority: self.priority,
            emergency: self.emergency,
            key_up: self.key_up,
            frame,
        }
    }

    /// Whether the tail after the call's end has run out at `now`.
    pub fn tail_over(&self, now: Instant) -> bool {
        self.closing.is_some_and(|at| at <= now)
    }
}

/// The radio reports a call (or a new talker on it): opens the gate. Returns the capture that
/// must end first, if a different talker starts within the tail of the previous over.
#[must_use]
pub fn start(state: &mut Option<Receiving>, fresh: Receiving) -> Option<Receiving> {
    match state {
        Some(rx) if rx.closing.is_some() && fresh.talker.is_some() && rx.talker == fresh.talker => {
            rx.closing = None;
            None
        }
        Some(rx) if rx.closing.is_some() => {
            let ended = *rx;
            *state = Some(fresh);
            Some(ended)
        }
        _ => {
            *state = Some(fresh);
            None
        }
    }
}

/// The radio reports the end of the call: the gate stays open for [`CAPTURE_TAIL`].
pub fn end(state: &mut Option<Receiving>, now: Instant) {
    if let Some(rx) = state.as_mut() {
        rx.closing.get_or_insert(now + CAPTURE_TAIL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(ssi: u32) -> Receiving {
        Receiving::new(
            Some(Tsi::from_parts(206, 1, ssi).unwrap()),
            Priority::new(3).unwrap(),
            false,
            KeyUpTime(1),
        )
    }

    #[test]
    fn the_same_talker_within_the_tail_continues_the_over() {
        let mut state = None;
        assert_eq!(start(&mut state, rx(1)), None);
        end(&mut state, Instant::from_micros(1_000));
        assert_eq!(start(&mut state, rx(1)), None);
        assert_eq!(state.unwrap().closing, None, "the gate is open again");
    }

    #[test]
    fn another_talker_within_the_tail_ends_the_old_capture_and_starts_its_own() {
        let mut state = None;
        let _ = start(&mut state, rx(1));
        end(&mut state, Instant::from_micros(1_000));
        let ended = start(&mut state, rx(9_000_002)).expect("old capture ended");
        assert_eq!(ended.talker, rx(1).talker);
        assert_eq!(state.unwrap().talker, rx(9_000_002).talker);
        assert_eq!(state.unwrap().closing, None);
    }

    #[test]
    fn an_unknown_talker_in_the_tail_is_a_new_transmission() {
        let mut state = None;
        let _ = start(&mut state, rx(1));
        end(&mut state, Instant::ZERO);
        let mut anonymous = rx(1);
        anonymous.talker = None;
        anonymous.key_up = KeyUpTime(2);
        let ended = start(&mut state, anonymous).expect("the old capture ends");
        assert_eq!(ended.talker, rx(1).talker);
        assert_eq!(ended.key_up, KeyUpTime(1));
        assert_eq!(ended.closing, Some(Instant::ZERO + CAPTURE_TAIL));
        let now = state.expect("a new capture");
        assert_eq!(
            (now.talker, now.key_up, now.closing),
            (None, KeyUpTime(2), None)
        );
    }

    #[test]
    fn the_capture_carries_the_call_into_every_frame_and_its_end() {
        let r = rx(7);
        let frame = [0x55u8; FRAME_LEN];
        let c = r.capture(Some(&frame));
        assert_eq!(
            (c.talker, c.priority, c.emergency, c.key_up),
            (r.talker, Priority::new(3).unwrap(), false, KeyUpTime(1))
        );
        assert_eq!(c.frame, Some(&frame));
        assert_eq!(r.capture(None).frame, None);
    }

    #[test]
    fn the_tail_runs_out_after_200_ms() {
        let mut state = None;
        let _ = start(&mut state, rx(1));
        end(&mut state, Instant::from_micros(1_000));
        let r = state.unwrap();
        assert!(!r.tail_over(Instant::from_micros(200_999)));
        assert!(r.tail_over(Instant::from_micros(201_000)));
        // A second end report does not push the tail further out.
        end(&mut state, Instant::from_micros(100_000));
        assert_eq!(state.unwrap().closing, Some(Instant::from_micros(201_000)));
    }
}
