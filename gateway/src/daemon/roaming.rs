//! The daemon's hook into semi-roaming: radios' status and LIP reports go to the
//! [`Roaming`] state machine, its patch changes to the engine, its replies to the radio that
//! heard the unit, and its events to the log (and, through [`Site::roaming`], to the control
//! API).

use borderlink_protocol::time::Instant;
use tracing::{info, warn};

use super::Site;
use crate::api::model::RoamingEventView;
use crate::radio::RadioOutput;
use crate::roaming::{ReplyMessage, Roaming, RoamingEvent};

impl Site {
    /// Hands a radio's status message or position report to roaming; other outputs are not
    /// its business.
    pub(super) fn roaming_input(&mut self, now: Instant, index: usize, out: &RadioOutput) {
        let Some(radio) = self.config.radios.get(index) else {
            return;
        };
        // The talkgroup of the radio that heard the unit says which mirror it means.
        let heard_on = radio.group;
        match out {
            RadioOutput::Status { from, value } => {
                self.roaming.handle_status(now, heard_on, *from, *value)
            }
            RadioOutput::Location { from, report } => {
                self.roaming.handle_location(now, heard_on, *from, report)
            }
            _ => {}
        }
    }

    /// Carries out what roaming decided: patch changes on the engine, replies through the
    /// radios, events to the log. Called by the main pump after the engine's events went to
    /// roaming; returns whether it changed anything the pump must move on (a reply queued, a
    /// patch changed).
    pub(super) fn pump_roaming(&mut self, now: Instant) -> bool {
        let patches_before = self.engine.patches().len();
        self.roaming.apply(now, &mut self.engine);
        let mut moved = self.engine.patches().len() != patches_before;
        if moved {
            self.save_patches(now);
        }
        while let Some(reply) = self.roaming.poll_reply() {
            moved = true;
            // Only a radio with a PEI port can send short data.
            let Some((name, pei)) = self
                .radios
                .iter_mut()
                .filter_map(|r| Some((r.name.as_str(), r.pei.as_mut()?)))
                .find(|(_, p)| p.session.config().group == reply.via)
            else {
                warn!(group = %reply.via, to = %reply.to, "no radio with PEI on this group: reply to a unit not sent");
                continue;
            };
            let sent = match &reply.message {
                ReplyMessage::Status(value) => pei.session.send_status(now, reply.to, *value),
                ReplyMessage::Text(text) => pei.session.send_text(now, reply.to, text),
            };
            if let Err(error) = sent {
                warn!(radio = %name, to = %reply.to, %error, "reply to a unit not sent");
            }
        }
        while let Some(event) = self.roaming.poll_event() {
            log_event(&self.roaming, &event);
            // Dispatch sees the latest events (who asked for what, emergencies, mirrors
            // coming and going) through the API.
            if self.roaming_log.len() == ROAMING_LOG {
                self.roaming_log.pop_front();
            }
            self.roaming_log.push_back(RoamingEventView {
                time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                event: describe(&self.roaming, &event),
            });
        }
        moved
    }
}

/// How many roaming events the API keeps.
pub(super) const ROAMING_LOG: usize = 100;

/// One line for dispatch: the event with mirror names and call signs resolved.
fn describe(roaming: &Roaming, event: &RoamingEvent) -> String {
    let mirror_name = |id: crate::roaming::MirrorId| {
        roaming
            .config()
            .mirrors
            .get(usize::from(id.0))
            .map_or("?", |m| m.name.as_str())
            .to_owned()
    };
    match event {
        RoamingEvent::Requested {
            mirror,
            by,
            call_sign,
            asked,
            outcome,
        } => {
            let who = call_sign
                .as_ref()
                .map_or_else(|| by.to_string(), |c| format!("{c} ({by})"));
            let what = mirror.map_or_else(|| "a mirror".to_owned(), mirror_name);
            match outcome {
                Ok(()) => format!("{who} asked to {asked:?} {what}: done"),
                Err(reason) => format!("{who} asked to {asked:?} {what}: refused, {reason}"),
            }
        }
        RoamingEvent::MirrorUp {
            mirror,
            patch,
            cause,
        } => {
            format!("mirror {} up as {patch} ({cause:?})", mirror_name(*mirror))
        }
        RoamingEvent::MirrorLapsing { mirror, .. } => format!(
            "mirror {} no longer held: lapses after its inactivity timeout",
            mirror_name(*mirror)
        ),
        RoamingEvent::MirrorDown { mirror, reason } => {
            format!("mirror {} down ({reason:?})", mirror_name(*mirror))
        }
        RoamingEvent::MirrorBlocked { mirror, reason } => {
            format!(
                "mirror {} cannot be brought up: {reason}",
                mirror_name(*mirror)
            )
        }
        RoamingEvent::Emergency {
            talker,
            call_sign,
            propagated,
            ..
        } => format!(
            "EMERGENCY call by {} on a patch{}",
            call_sign
                .clone()
                .or_else(|| talker.map(|t| t.to_string()))
                .unwrap_or_else(|| "an unknown talker".into()),
            if *propagated {
                ", carried as an emergency on the other network"
            } else {
                ", carried as an ordinary call on the other network (sovereignty rule)"
            }
        ),
        RoamingEvent::EmergencyStatus {
            unit, call_sign, ..
        } => format!(
            "EMERGENCY status from {}",
            call_sign.clone().unwrap_or_else(|| unit.to_string())
        ),
        other => format!("{other:?}"),
    }
}

fn log_event(roaming: &Roaming, event: &RoamingEvent) {
    let mirror_name = |id: crate::roaming::MirrorId| {
        roaming
            .config()
            .mirrors
            .get(usize::from(id.0))
            .map_or("?", |m| m.name.as_str())
            .to_owned()
    };
    match event {
        RoamingEvent::Requested {
            mirror,
            by,
            call_sign,
            asked,
            outcome,
        } => match outcome {
            Ok(()) => {
                info!(mirror = ?mirror.map(mirror_name), %by, ?call_sign, ?asked, "roaming request carried out")
            }
            Err(reason) => {
                warn!(mirror = ?mirror.map(mirror_name), %by, ?call_sign, ?asked, %reason, "roaming request refused")
            }
        },
        RoamingEvent::MirrorUp {
            mirror,
            patch,
            cause,
        } => {
            info!(mirror = %mirror_name(*mirror), %patch, ?cause, "mirror up")
        }
        RoamingEvent::MirrorLapsing { mirror, .. } => {
            info!(mirror = %mirror_name(*mirror), "mirror no longer held: lapses after its inactivity timeout")
        }
        RoamingEvent::MirrorDown { mirror, reason } => {
            info!(mirror = %mirror_name(*mirror), ?reason, "mirror down")
        }
        RoamingEvent::MirrorBlocked { mirror, reason } => {
            warn!(mirror = %mirror_name(*mirror), %reason, "mirror cannot be brought up")
        }
        RoamingEvent::Emergency {
            talker,
            call_sign,
            from,
            propagated,
            ..
        } => {
            warn!(talker = ?talker.map(|t| t.to_string()), ?call_sign, ?from, propagated, "emergency call on a patch")
        }
        RoamingEvent::EmergencyStatus {
            unit,
            call_sign,
            heard_on,
            ..
        } => warn!(%unit, ?call_sign, %heard_on, "emergency status from a unit"),
        other => info!(event = ?other, "roaming"),
    }
}
