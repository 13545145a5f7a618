//! The daemon's hook into semi-roaming: radios' status and LIP reports, and the SDS-TL
//! delivery reports on replies, go to the [`Roaming`] state machine, its patch changes to the engine, its replies to the radio that
//! heard the unit, and its events to the log (and, through [`SiteCore::roaming`], to the control
//! API).

use borderlink_protocol::time::Instant;
use tracing::{info, warn};

use super::SiteCore;
use crate::api::model::{ReplyDeliveryView, RoamingEventView};
use crate::radio::RadioOutput;
use crate::roaming::{DeliveryOutcome, ReplyMessage, Roaming, RoamingEvent};

impl SiteCore {
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
            RadioOutput::DeliveryReport {
                from,
                reference,
                status,
                ..
            } => self
                .roaming
                .handle_delivery_report(now, *from, *reference, *status),
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
                .find(|(_, p)| p.config().group == reply.via)
            else {
                warn!(group = %reply.via, to = %reply.to, "no radio with PEI on this group: reply to a unit not sent");
                continue;
            };
            let sent = match &reply.message {
                ReplyMessage::Status(value) => pei.send_status(now, reply.to, *value),
                ReplyMessage::Text { text, reference } => {
                    pei.send_tracked_text(now, reply.to, text, *reference)
                }
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
                time: humantime::format_rfc3339_millis(std::time::SystemTime::from(self.wall))
                    .to_string(),
                event: describe(&self.roaming, &event),
                delivery: delivery_view(&event),
            });
        }
        moved
    }
}

/// How many roaming events the API keeps.
pub const ROAMING_LOG: usize = 100;

/// A mirror's name from the roaming config, `?` for an id it does not hold.
fn mirror_name(roaming: &Roaming, id: crate::roaming::MirrorId) -> String {
    roaming
        .config()
        .mirrors
        .get(usize::from(id.0))
        .map_or("?", |m| m.name.as_str())
        .to_owned()
}

/// One line for dispatch: the event with mirror names and call signs resolved.
fn describe(roaming: &Roaming, event: &RoamingEvent) -> String {
    let mirror_name = |id| mirror_name(roaming, id);
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
        RoamingEvent::ReplyDelivery {
            unit,
            call_sign,
            mirror,
            reference,
            outcome,
        } => format!(
            "reply to {}{} (message reference {reference}) {}",
            call_sign
                .as_ref()
                .map_or_else(|| unit.to_string(), |c| format!("{c} ({unit})")),
            mirror.map_or_else(String::new, |m| format!(" about {}", mirror_name(m))),
            outcome_text(outcome)
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
    let mirror_name = |id| mirror_name(roaming, id);
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
        RoamingEvent::ReplyDelivery {
            unit,
            call_sign,
            mirror,
            reference,
            outcome,
        } => match outcome {
            DeliveryOutcome::Delivered(status) => {
                info!(%unit, ?call_sign, mirror = ?mirror.map(mirror_name), reference, %status, "reply delivered")
            }
            DeliveryOutcome::Stored(status) => {
                info!(%unit, ?call_sign, mirror = ?mirror.map(mirror_name), reference, %status, "reply stored by the network, not delivered yet")
            }
            DeliveryOutcome::Failed(status) => {
                warn!(%unit, ?call_sign, mirror = ?mirror.map(mirror_name), reference, %status, "reply not delivered")
            }
            DeliveryOutcome::NotConfirmed => {
                warn!(%unit, ?call_sign, mirror = ?mirror.map(mirror_name), reference, "reply delivery not confirmed in time")
            }
        },
        other => info!(event = ?other, "roaming"),
    }
}

/// `delivered (0x00 receipt acknowledged by destination (success))` and the like.
fn outcome_text(outcome: &DeliveryOutcome) -> String {
    match outcome {
        DeliveryOutcome::Delivered(status) => format!("delivered: {status}"),
        DeliveryOutcome::Stored(status) => {
            format!("stored by the network, not delivered yet: {status}")
        }
        DeliveryOutcome::Failed(status) => format!("failed: {status}"),
        DeliveryOutcome::NotConfirmed => "not confirmed: no delivery report in time".to_owned(),
    }
}

/// The structured form of a reply delivery event, for the API's scripts and pages.
fn delivery_view(event: &RoamingEvent) -> Option<ReplyDeliveryView> {
    let RoamingEvent::ReplyDelivery {
        unit,
        call_sign,
        reference,
        outcome,
        ..
    } = event
    else {
        return None;
    };
    let (word, status) = match outcome {
        DeliveryOutcome::Delivered(s) => ("delivered", Some(*s)),
        DeliveryOutcome::Stored(s) => ("stored", Some(*s)),
        DeliveryOutcome::Failed(s) => ("failed", Some(*s)),
        DeliveryOutcome::NotConfirmed => ("not_confirmed", None),
    };
    Some(ReplyDeliveryView {
        unit: unit.to_string(),
        call_sign: call_sign.clone(),
        reference: *reference,
        outcome: word.to_owned(),
        status: status.map(|s| s.get()),
        status_text: status.map(|s| s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use borderlink_protocol::ids::Tsi;
    use borderlink_protocol::sds::DeliveryStatus;

    use super::*;

    fn delivery(outcome: DeliveryOutcome) -> RoamingEvent {
        RoamingEvent::ReplyDelivery {
            unit: Tsi::from_parts(206, 1, 2_069_001).unwrap(),
            call_sign: Some("BE-POL 12".into()),
            mirror: None,
            reference: 42,
            outcome,
        }
    }

    #[test]
    fn a_delivered_reply_is_structured_for_the_api() {
        let view = delivery_view(&delivery(DeliveryOutcome::Delivered(
            DeliveryStatus::RECEIVED,
        )))
        .unwrap();
        assert_eq!(view.outcome, "delivered");
        assert_eq!(view.reference, 42);
        assert_eq!(view.status, Some(0));
        assert_eq!(
            view.status_text.as_deref(),
            Some("0x00 receipt acknowledged by destination (success)")
        );
        let json = serde_json::to_value(RoamingEventView {
            time: "t".into(),
            event: "e".into(),
            delivery: Some(view),
        })
        .unwrap();
        assert_eq!(json["delivery"]["outcome"], "delivered");
        assert_eq!(json["delivery"]["call_sign"], "BE-POL 12");
    }

    #[test]
    fn a_reply_not_confirmed_has_no_status() {
        let view = delivery_view(&delivery(DeliveryOutcome::NotConfirmed)).unwrap();
        assert_eq!(view.outcome, "not_confirmed");
        assert_eq!(view.status, None);
        assert_eq!(
            outcome_text(&DeliveryOutcome::Failed(DeliveryStatus::new(0x4b))),
            "failed: 0x4b destination not registered on system (data transfer failed)"
        );
    }

    #[test]
    fn other_events_carry_no_delivery() {
        let event = RoamingEvent::EmergencyStatus {
            unit: Tsi::from_parts(206, 1, 2_069_001).unwrap(),
            call_sign: None,
            heard_on: Tsi::from_parts(204, 1, 2_040_551).unwrap(),
            mirror: None,
        };
        assert_eq!(delivery_view(&event), None);
        // Without a delivery the JSON is what it was before.
        let json = serde_json::to_value(RoamingEventView {
            time: "t".into(),
            event: "e".into(),
            delivery: None,
        })
        .unwrap();
        assert!(json.get("delivery").is_none());
    }
}
