//! SDS type-4 user data: up to 2047 bits whose first octet, the protocol identifier, says which
//! application protocol the rest belongs to (ETSI EN 300 392-2 §29.4.3.9, table 29.21, and
//! annex J).
//!
//! Identifiers 0x00–0x7F are protocols that do not use the SDS transport layer (SDS-TL), with
//! 0x40–0x7E left to user applications; 0x80–0xFF use SDS-TL, with 0xC0–0xFE left to user
//! applications. LIP is 0x0A: location reports run without SDS-TL so a report costs no more than
//! its 84 bits.

use core::fmt;

use serde::Serialize;

use super::SdsError;
use super::bits::Bits;

/// Largest SDS type-4 user data in bits, identifier included: the length indicator in front of
/// user-defined data 4 in U-/D-SDS-DATA is 11 bits (EN 300 392-2 §14.7.1.10).
pub const MAX_TYPE4_BITS: u16 = 2047;

/// An SDS type-4 protocol identifier: the standard ones a gateway meets, or any other octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolId {
    /// 0x01: over-the-air keying (OTAK).
    Otak,
    /// 0x02: simple text messaging.
    SimpleTextMessaging,
    /// 0x03: simple location system (NMEA and similar, carried raw).
    SimpleLocationSystem,
    /// 0x04: wireless datagram protocol (WAP).
    WirelessDatagramProtocol,
    /// 0x05: wireless control message protocol (WCMP).
    WirelessControlMessageProtocol,
    /// 0x06: managed DMO (M-DMO).
    ManagedDmo,
    /// 0x07: PIN authentication.
    PinAuthentication,
    /// 0x08: end-to-end encrypted message.
    EndToEndEncrypted,
    /// 0x09: simple immediate text messaging.
    SimpleImmediateTextMessaging,
    /// 0x0A: location information protocol (LIP, ETSI TS 100 392-18-1).
    LocationInformationProtocol,
    /// 0x0B: net assist protocol.
    NetAssistProtocol,
    /// 0x0C: concatenated SDS message.
    ConcatenatedSds,
    /// 0x0D: DOTAM (TS 100 392-18-3).
    Dotam,
    /// 0x82: text messaging over SDS-TL.
    TextMessaging,
    /// 0x83: location system over SDS-TL.
    LocationSystem,
    /// 0x84: WAP over SDS-TL.
    WirelessDatagramProtocolTl,
    /// 0x85: WCMP over SDS-TL.
    WirelessControlMessageProtocolTl,
    /// 0x86: managed DMO over SDS-TL.
    ManagedDmoTl,
    /// 0x88: end-to-end encrypted message over SDS-TL.
    EndToEndEncryptedTl,
    /// 0x89: immediate text messaging over SDS-TL.
    ImmediateTextMessaging,
    /// 0x8A: message with user data header.
    MessageWithUserDataHeader,
    /// 0x8C: concatenated SDS message over SDS-TL.
    ConcatenatedSdsTl,
    /// Any other identifier, reserved or user-defined.
    Other(u8),
}

impl ProtocolId {
    /// The identifier of an octet; known values never come back as [`ProtocolId::Other`].
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0x01 => ProtocolId::Otak,
            0x02 => ProtocolId::SimpleTextMessaging,
            0x03 => ProtocolId::SimpleLocationSystem,
            0x04 => ProtocolId::WirelessDatagramProtocol,
            0x05 => ProtocolId::WirelessControlMessageProtocol,
            0x06 => ProtocolId::ManagedDmo,
            0x07 => ProtocolId::PinAuthentication,
            0x08 => ProtocolId::EndToEndEncrypted,
            0x09 => ProtocolId::SimpleImmediateTextMessaging,
            0x0a => ProtocolId::LocationInformationProtocol,
            0x0b => ProtocolId::NetAssistProtocol,
            0x0c => ProtocolId::ConcatenatedSds,
            0x0d => ProtocolId::Dotam,
            0x82 => ProtocolId::TextMessaging,
            0x83 => ProtocolId::LocationSystem,
            0x84 => ProtocolId::WirelessDatagramProtocolTl,
            0x85 => ProtocolId::WirelessControlMessageProtocolTl,
            0x86 => ProtocolId::ManagedDmoTl,
            0x88 => ProtocolId::EndToEndEncryptedTl,
            0x89 => ProtocolId::ImmediateTextMessaging,
            0x8a => ProtocolId::MessageWithUserDataHeader,
            0x8c => ProtocolId::ConcatenatedSdsTl,
            other => ProtocolId::Other(other),
        }
    }

    /// The octet on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            ProtocolId::Otak => 0x01,
            ProtocolId::SimpleTextMessaging => 0x02,
            ProtocolId::SimpleLocationSystem => 0x03,
            ProtocolId::WirelessDatagramProtocol => 0x04,
            ProtocolId::WirelessControlMessageProtocol => 0x05,
            ProtocolId::ManagedDmo => 0x06,
            ProtocolId::PinAuthentication => 0x07,
            ProtocolId::EndToEndEncrypted => 0x08,
            ProtocolId::SimpleImmediateTextMessaging => 0x09,
            ProtocolId::LocationInformationProtocol => 0x0a,
            ProtocolId::NetAssistProtocol => 0x0b,
            ProtocolId::ConcatenatedSds => 0x0c,
            ProtocolId::Dotam => 0x0d,
            ProtocolId::TextMessaging => 0x82,
            ProtocolId::LocationSystem => 0x83,
            ProtocolId::WirelessDatagramProtocolTl => 0x84,
            ProtocolId::WirelessControlMessageProtocolTl => 0x85,
            ProtocolId::ManagedDmoTl => 0x86,
            ProtocolId::EndToEndEncryptedTl => 0x88,
            ProtocolId::ImmediateTextMessaging => 0x89,
            ProtocolId::MessageWithUserDataHeader => 0x8a,
            ProtocolId::ConcatenatedSdsTl => 0x8c,
            ProtocolId::Other(v) => v,
        }
    }

    /// Whether the protocol runs over SDS-TL (identifiers 0x80–0xFF), so the payload starts with
    /// an SDS-TL header.
    pub const fn uses_sds_tl(self) -> bool {
        self.to_u8() >= 0x80
    }

    /// Whether the payload starts with an SDS-TL header this crate reads: the standard's SDS-TL
    /// identifiers, 0x80–0xBF. User-defined SDS-TL identifiers (0xC0–0xFE) are left to their
    /// applications, whose layouts vary.
    pub const fn has_sds_tl_header(self) -> bool {
        matches!(self.to_u8(), 0x80..=0xbf)
    }

    /// Whether the identifier is in a range left to user applications (0x40–0x7E, 0xC0–0xFE).
    pub const fn is_user_defined(self) -> bool {
        matches!(self.to_u8(), 0x40..=0x7e | 0xc0..=0xfe)
    }
}

impl From<u8> for ProtocolId {
    fn from(v: u8) -> Self {
        ProtocolId::from_u8(v)
    }
}

impl From<ProtocolId> for u8 {
    fn from(p: ProtocolId) -> Self {
        p.to_u8()
    }
}

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ProtocolId::Otak => "OTAK",
            ProtocolId::SimpleTextMessaging => "simple text messaging",
            ProtocolId::SimpleLocationSystem => "simple location system",
            ProtocolId::WirelessDatagramProtocol => "WAP",
            ProtocolId::WirelessControlMessageProtocol => "WCMP",
            ProtocolId::ManagedDmo => "M-DMO",
            ProtocolId::PinAuthentication => "PIN authentication",
            ProtocolId::EndToEndEncrypted => "end-to-end encrypted message",
            ProtocolId::SimpleImmediateTextMessaging => "simple immediate text messaging",
            ProtocolId::LocationInformationProtocol => "LIP",
            ProtocolId::NetAssistProtocol => "net assist protocol",
            ProtocolId::ConcatenatedSds => "concatenated SDS",
            ProtocolId::Dotam => "DOTAM",
            ProtocolId::TextMessaging => "text messaging (SDS-TL)",
            ProtocolId::LocationSystem => "location system (SDS-TL)",
            ProtocolId::WirelessDatagramProtocolTl => "WAP (SDS-TL)",
            ProtocolId::WirelessControlMessageProtocolTl => "WCMP (SDS-TL)",
            ProtocolId::ManagedDmoTl => "M-DMO (SDS-TL)",
            ProtocolId::EndToEndEncryptedTl => "end-to-end encrypted message (SDS-TL)",
            ProtocolId::ImmediateTextMessaging => "immediate text messaging (SDS-TL)",
            ProtocolId::MessageWithUserDataHeader => "message with user data header",
            ProtocolId::ConcatenatedSdsTl => "concatenated SDS (SDS-TL)",
            ProtocolId::Other(_) if self.is_user_defined() => "user-defined",
            ProtocolId::Other(_) => "reserved",
        };
        write!(f, "0x{:02x} {name}", self.to_u8())
    }
}

/// A zero-copy view of SDS type-4 user data: the protocol identifier octet and what follows, up
/// to the bit length the PEI reported.
#[derive(Debug, Clone)]
pub struct SdsType4<T: AsRef<[u8]>> {
    buffer: T,
    bits: u16,
}

impl<T: AsRef<[u8]>> SdsType4<T> {
    /// Bits of the protocol identifier.
    pub const PID_BITS: u16 = 8;

    /// A view without checks; accessors stay panic-free but may read zeros. Call
    /// [`SdsType4::check_len`] before trusting it.
    pub const fn new_unchecked(buffer: T, bits: u16) -> Self {
        SdsType4 { buffer, bits }
    }

    /// A view over `bits` bits of `buffer`, checked to hold at least the protocol identifier.
    pub fn new_checked(buffer: T, bits: u16) -> Result<Self, SdsError> {
        let view = Self::new_unchecked(buffer, bits);
        view.check_len()?;
        Ok(view)
    }

    /// Checks that the bit length is non-zero, fits the buffer, is no more than type 4 carries
    /// ([`MAX_TYPE4_BITS`]) and covers the identifier.
    pub fn check_len(&self) -> Result<(), SdsError> {
        if self.bits == 0 {
            return Err(SdsError::Empty);
        }
        Bits::new(self.buffer.as_ref(), self.bits)?;
        if self.bits > MAX_TYPE4_BITS {
            return Err(SdsError::TooLong {
                bits: usize::from(self.bits),
            });
        }
        if self.bits < Self::PID_BITS {
            return Err(SdsError::Truncated {
                at_bit: 0,
                needed: Self::PID_BITS,
                available: self.bits,
            });
        }
        Ok(())
    }

    /// The bit length of the whole user data, identifier included.
    pub const fn bit_len(&self) -> u16 {
        self.bits
    }

    /// The protocol identifier.
    pub fn protocol_id(&self) -> ProtocolId {
        ProtocolId::from_u8(self.buffer.as_ref().first().copied().unwrap_or(0))
    }

    /// Everything after the identifier, up to the bit length.
    pub fn payload(&self) -> Bits<'_> {
        let bytes = self.buffer.as_ref();
        let bits = self.bits.saturating_sub(Self::PID_BITS);
        bytes
            .get(1..)
            .and_then(|rest| Bits::new(rest, bits).ok())
            .unwrap_or(Bits::EMPTY)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<'a> SdsType4<&'a [u8]> {
    /// Everything after the identifier, borrowing from the underlying slice rather than the view.
    pub fn into_payload(self) -> Bits<'a> {
        let bits = self.bits.saturating_sub(8);
        self.buffer
            .get(1..)
            .and_then(|rest| Bits::new(rest, bits).ok())
            .unwrap_or(Bits::EMPTY)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SdsType4<T> {
    /// Overwrites the protocol identifier (no-op on an empty buffer).
    pub fn set_protocol_id(&mut self, pid: ProtocolId) {
        if let Some(b) = self.buffer.as_mut().first_mut() {
            *b = pid.to_u8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn known_identifiers_map_both_ways() {
        for (v, p) in [
            (0x02, ProtocolId::SimpleTextMessaging),
            (0x09, ProtocolId::SimpleImmediateTextMessaging),
            (0x0a, ProtocolId::LocationInformationProtocol),
            (0x0c, ProtocolId::ConcatenatedSds),
            (0x82, ProtocolId::TextMessaging),
            (0x8a, ProtocolId::MessageWithUserDataHeader),
        ] {
            assert_eq!(ProtocolId::from_u8(v), p);
            assert_eq!(p.to_u8(), v);
        }
        assert_eq!(ProtocolId::from_u8(0xc5), ProtocolId::Other(0xc5));
        assert!(ProtocolId::TextMessaging.uses_sds_tl());
        assert!(!ProtocolId::LocationInformationProtocol.uses_sds_tl());
        assert!(ProtocolId::Other(0x40).is_user_defined());
        assert!(!ProtocolId::Other(0x3f).is_user_defined());
        assert_eq!(ProtocolId::Other(0xc0).to_string(), "0xc0 user-defined");
        assert_eq!(
            ProtocolId::LocationInformationProtocol.to_string(),
            "0x0a LIP"
        );
    }

    #[test]
    fn view_splits_identifier_and_payload() {
        let data = [0x0a, 0x12, 0x3f];
        let v = SdsType4::new_checked(&data[..], 20).unwrap();
        assert_eq!(v.protocol_id(), ProtocolId::LocationInformationProtocol);
        assert_eq!(v.payload(), Bits::new(&[0x12, 0x30], 12).unwrap());
        assert_eq!(v.payload().bit_len(), 12);
    }

    #[test]
    fn view_of_zero_bits_is_empty() {
        assert_eq!(
            SdsType4::new_checked(&[0x0a][..], 0).unwrap_err(),
            SdsError::Empty
        );
    }

    #[test]
    fn view_shorter_than_the_identifier_is_truncated() {
        assert_eq!(
            SdsType4::new_checked(&[0x0a][..], 5).unwrap_err(),
            SdsError::Truncated {
                at_bit: 0,
                needed: 8,
                available: 5
            }
        );
    }

    #[test]
    fn view_with_bogus_bit_length_is_refused() {
        assert_eq!(
            SdsType4::new_checked(&[0x0a, 0x00][..], 17).unwrap_err(),
            SdsError::BitLengthExceedsData {
                bits: 17,
                available: 16
            }
        );
    }

    #[test]
    fn view_longer_than_type4_carries_is_refused() {
        let big = [0xc3u8; 300];
        assert!(SdsType4::new_checked(&big[..], 2047).is_ok());
        assert_eq!(
            SdsType4::new_checked(&big[..], 2048).unwrap_err(),
            SdsError::TooLong { bits: 2048 }
        );
    }

    #[test]
    fn unchecked_view_never_panics() {
        let v = SdsType4::new_unchecked(&[][..], 900);
        assert_eq!(v.protocol_id(), ProtocolId::Other(0));
        assert!(v.payload().is_empty());
    }

    #[test]
    fn protocol_id_can_be_rewritten() {
        let mut v = SdsType4::new_checked([0x02u8, 0x01], 16).unwrap();
        v.set_protocol_id(ProtocolId::TextMessaging);
        assert_eq!(v.into_inner(), [0x82, 0x01]);
    }

    proptest! {
        #[test]
        fn identifiers_round_trip(v in any::<u8>()) {
            prop_assert_eq!(ProtocolId::from_u8(v).to_u8(), v);
        }
    }
}
