//! The 8-bit SDS-TL delivery status that SDS-REPORT and SDS-ACK carry (ETSI EN 300 392-2
//! §29.4.3.2, table 29.16): what became of a message the gateway sent, or of a report it sent.
//!
//! The top three bits give the class, so a code this table does not name still says whether
//! the message got through:
//!
//! | bits       | range       | class                         |
//! |------------|-------------|-------------------------------|
//! | `000xxxxx` | 0x00–0x1F   | data transfer success         |
//! | `001xxxxx` | 0x20–0x3F   | temporary error (still tried) |
//! | `010xxxxx` | 0x40–0x5F   | data transfer failed          |
//! | `011xxxxx` | 0x60–0x7F   | flow control                  |
//! | `100xxxxx` | 0x80–0x9F   | end-to-end control            |
//! | `101xxxxx`–`111xxxxx` | 0xA0–0xFF | reserved               |
//!
//! Unknown codes are kept as received ([`DeliveryStatus::get`]) and shown with their class.

use core::fmt;

use serde::Serialize;

/// A delivery status octet, any value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeliveryStatus(u8);

/// The class a delivery status falls in, from its top three bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryClass {
    /// 0x00–0x1F: the message reached (or was consumed by) its destination.
    Success,
    /// 0x20–0x3F: not delivered yet; the SwMI keeps trying (message stored).
    TemporaryError,
    /// 0x40–0x5F: the message will not be delivered.
    Failed,
    /// 0x60–0x7F: the destination's memory or queue state.
    FlowControl,
    /// 0x80–0x9F: stop or start sending.
    EndToEndControl,
    /// 0xA0–0xFF: reserved by the standard.
    Reserved,
}

impl DeliveryStatus {
    /// 0x00: receipt acknowledged by the destination.
    pub const RECEIVED: DeliveryStatus = DeliveryStatus(0x00);
    /// 0x01: the receipt report was acknowledged.
    pub const RECEIPT_REPORT_ACK: DeliveryStatus = DeliveryStatus(0x01);
    /// 0x02: consumed (read) by the destination.
    pub const CONSUMED: DeliveryStatus = DeliveryStatus(0x02);
    /// 0x03: the consumed report was acknowledged.
    pub const CONSUMED_REPORT_ACK: DeliveryStatus = DeliveryStatus(0x03);
    /// 0x21: message stored by the SwMI.
    pub const STORED: DeliveryStatus = DeliveryStatus(0x21);
    /// 0x4A: delivery failed.
    pub const DELIVERY_FAILED: DeliveryStatus = DeliveryStatus(0x4a);
    /// 0x50: protocol not supported.
    pub const PROTOCOL_NOT_SUPPORTED: DeliveryStatus = DeliveryStatus(0x50);
    /// 0x52: destination memory full, message discarded.
    pub const MEMORY_FULL_DISCARDED: DeliveryStatus = DeliveryStatus(0x52);

    /// A status of this value.
    pub const fn new(value: u8) -> Self {
        DeliveryStatus(value)
    }

    /// The octet.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Its class, from the top three bits.
    pub const fn class(self) -> DeliveryClass {
        match self.0 >> 5 {
            0 => DeliveryClass::Success,
            1 => DeliveryClass::TemporaryError,
            2 => DeliveryClass::Failed,
            3 => DeliveryClass::FlowControl,
            4 => DeliveryClass::EndToEndControl,
            _ => DeliveryClass::Reserved,
        }
    }

    /// What table 29.16 calls this code, or `None` for a code it leaves reserved.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "receipt acknowledged by destination",
            0x01 => "receipt report acknowledgement",
            0x02 => "consumed by destination",
            0x03 => "consumed report acknowledgement",
            0x04 => "message forwarded to external network",
            0x05 => "sent to group, acknowledgement prevented",
            0x06 => "concatenation part receipt acknowledged by destination",
            0x20 => "congestion, message stored by SwMI",
            0x21 => "message stored by SwMI",
            0x22 => "destination not reachable, message stored by SwMI",
            0x40 => "network overload",
            0x41 => "service permanently not available on BS",
            0x42 => "service temporarily not available on BS",
            0x43 => "source is not authorised for SDS",
            0x44 => "destination is not authorised for SDS",
            0x45 => "unknown destination, gateway or service centre address",
            0x46 => "unknown forward address",
            0x47 => "group address with individual service",
            0x48 => "validity period expired, message not received by far end",
            0x49 => "validity period expired, message not consumed by far end",
            0x4a => "delivery failed",
            0x4b => "destination not registered on system",
            0x4c => "destination queue full",
            0x4d => "message too long for destination or gateway",
            0x4e => "destination does not support SDS-TL data transfer service PDUs",
            0x4f => "destination host not connected",
            0x50 => "protocol not supported",
            0x51 => "data coding scheme not supported",
            0x52 => "destination memory full, message discarded",
            0x53 => "destination not accepting SDS messages",
            0x54 => "concatenated message too long",
            0x56 => "destination address administratively prohibited",
            0x57 => "cannot route to external network",
            0x58 => "unknown external subscriber number",
            0x59 => "negative report acknowledgement",
            0x5a => "destination not reachable, message delivery failed",
            0x5b => "text distribution error, message discarded",
            0x5c => "corrupt information element, message discarded",
            0x5d => "not all concatenation parts received",
            0x5e => "destination engaged in another service, external SwMI",
            0x5f => "destination engaged in another service, destination",
            0x60 => "destination memory full",
            0x61 => "destination memory available",
            0x62 => "start pending messages",
            0x63 => "no pending messages",
            0x80 => "stop sending",
            0x81 => "start sending",
            _ => return None,
        })
    }
}

impl DeliveryClass {
    /// A short name, e.g. `temporary error`.
    pub const fn name(self) -> &'static str {
        match self {
            DeliveryClass::Success => "success",
            DeliveryClass::TemporaryError => "temporary error",
            DeliveryClass::Failed => "data transfer failed",
            DeliveryClass::FlowControl => "flow control",
            DeliveryClass::EndToEndControl => "end-to-end control",
            DeliveryClass::Reserved => "reserved",
        }
    }
}

impl fmt::Display for DeliveryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for DeliveryStatus {
    /// E.g. `0x00 receipt acknowledged by destination (success)`, or `0x37 unknown code
    /// (temporary error)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "0x{:02x} {name} ({})", self.0, self.class()),
            None => write!(f, "0x{:02x} unknown code ({})", self.0, self.class()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn class_follows_the_top_three_bits() {
        for (value, class) in [
            (0x00, DeliveryClass::Success),
            (0x1f, DeliveryClass::Success),
            (0x20, DeliveryClass::TemporaryError),
            (0x3f, DeliveryClass::TemporaryError),
            (0x40, DeliveryClass::Failed),
            (0x5f, DeliveryClass::Failed),
            (0x60, DeliveryClass::FlowControl),
            (0x80, DeliveryClass::EndToEndControl),
            (0x9f, DeliveryClass::EndToEndControl),
            (0xa0, DeliveryClass::Reserved),
            (0xff, DeliveryClass::Reserved),
        ] {
            assert_eq!(DeliveryStatus::new(value).class(), class, "0x{value:02x}");
        }
    }

    #[test]
    fn named_codes_from_the_table() {
        assert_eq!(
            DeliveryStatus::RECEIVED.to_string(),
            "0x00 receipt acknowledged by destination (success)"
        );
        assert_eq!(
            DeliveryStatus::new(0x4b).to_string(),
            "0x4b destination not registered on system (data transfer failed)"
        );
        assert_eq!(
            DeliveryStatus::STORED.class(),
            DeliveryClass::TemporaryError
        );
    }

    #[test]
    fn unknown_codes_keep_their_value_and_class() {
        // 0x55 is a hole in the failure range; 0x07 a reserved success code.
        assert_eq!(DeliveryStatus::new(0x55).name(), None);
        assert_eq!(
            DeliveryStatus::new(0x55).to_string(),
            "0x55 unknown code (data transfer failed)"
        );
        assert_eq!(
            DeliveryStatus::new(0x07).to_string(),
            "0x07 unknown code (success)"
        );
        assert_eq!(DeliveryStatus::new(0xc3).get(), 0xc3);
    }
}
