//! Triggers from the field: the pre-coded status values a unit sends to ask for, extend or end
//! the cross-border patch of its group, and how the gateway answers it.
//!
//! The values come from the 0x8000–0xFFFF range the standard leaves to each network (EN 300
//! 392-2 §14.8.34), so they are configuration: each fleet codes its terminals' status keys
//! itself. A unit sends the status to a gateway radio; "its group" is the mirror holding the
//! talkgroup that radio is on. The answer goes back to the unit through the same radio, as a
//! status (the terminal shows the configured text for it) or as a short text message.

use borderlink_protocol::sds::Status;

/// What a status value asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldAction {
    /// Bring the mirror of the sender's group up for one window.
    Request,
    /// Keep it up for another window (brings it up if it lapsed meanwhile).
    Extend,
    /// Take the sender's request back; the mirror ends unless something else holds it.
    End,
}

impl FieldAction {
    /// A word for logs and events.
    pub fn name(self) -> &'static str {
        match self {
            FieldAction::Request => "request",
            FieldAction::Extend => "extend",
            FieldAction::End => "end",
        }
    }
}

/// How the gateway answers a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyStyle {
    /// With one of two status values.
    Status {
        /// Sent when the request is carried out.
        ack: Status,
        /// Sent when it is refused.
        refuse: Status,
    },
    /// With a short text ("BL OK Baarle police up 30 min", "BL REFUSED ...").
    Text,
    /// Not at all.
    None,
}

/// `[triggers]`: which status values mean what, and the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusTriggers {
    /// Asks for the mirror.
    pub request: Option<Status>,
    /// Extends it.
    pub extend: Option<Status>,
    /// Ends it.
    pub end: Option<Status>,
    /// How the unit is answered.
    pub reply: ReplyStyle,
}

impl Default for StatusTriggers {
    /// No status triggers configured, status replies off.
    fn default() -> Self {
        StatusTriggers {
            request: None,
            extend: None,
            end: None,
            reply: ReplyStyle::None,
        }
    }
}

impl StatusTriggers {
    /// What a status value asks for, if it is one of ours.
    pub fn action(&self, value: Status) -> Option<FieldAction> {
        if self.request == Some(value) {
            Some(FieldAction::Request)
        } else if self.extend == Some(value) {
            Some(FieldAction::Extend)
        } else if self.end == Some(value) {
            Some(FieldAction::End)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_values_are_actions() {
        let t = StatusTriggers {
            request: Some(Status::new(0x8001)),
            extend: Some(Status::new(0x8002)),
            end: Some(Status::new(0x8003)),
            reply: ReplyStyle::Text,
        };
        assert_eq!(t.action(Status::new(0x8001)), Some(FieldAction::Request));
        assert_eq!(t.action(Status::new(0x8002)), Some(FieldAction::Extend));
        assert_eq!(t.action(Status::new(0x8003)), Some(FieldAction::End));
        assert_eq!(t.action(Status::new(0x8004)), None);
        assert_eq!(t.action(Status::EMERGENCY), None);
        assert_eq!(StatusTriggers::default().action(Status::new(0x8001)), None);
    }
}
