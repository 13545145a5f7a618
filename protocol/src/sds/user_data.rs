//! One decoder for whatever short data a radio hands the gateway: the PEI parser passes the user
//! data of a `+CTSDSR` line here and gets back a status, a LIP location report (short or long)
//! or immediate location report request, a text message (plain, SDS-TL, or with a user data
//! header), an SDS-TL report, acknowledgement or transfer of another protocol, or the raw
//! payload of anything else.
//!
//! Identifiers 0x80–0xBF go through the SDS-TL layer ([`TlPdu`]); user-defined identifiers
//! (0x40–0x7E, 0xC0–0xFE) and reserved SDS-TL message types are kept raw as
//! [`UserData::Other`], since their layout belongs to whoever defined them.

use core::fmt;

use serde::Serialize;

use super::SdsError;
use super::bits::{BitWriter, Bits};
use super::lip::{ImmediateLocationReportRequest, LipPdu, LongLocationReport, ShortLocationReport};
use super::status::Status;
use super::text::{TextMessage, UdhText};
use super::tl::TlPdu;
use super::type4::{MAX_TYPE4_BITS, ProtocolId, SdsType4};

/// Which kind of short data the radio reported, from the AI service of `+CTSDSR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SdsKind {
    /// A pre-coded status (16 bits).
    Status,
    /// SDS type-4 user data, protocol identifier first.
    Type4,
}

/// Decoded short data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum UserData<'a> {
    /// A pre-coded status.
    Status(Status),
    /// A LIP short location report (protocol 0x0A, PDU type 0).
    Lip(ShortLocationReport),
    /// A LIP long location report (protocol 0x0A, PDU type 1, extension 3).
    LipLong(LongLocationReport<'a>),
    /// A LIP immediate location report request (protocol 0x0A, PDU type 1, extension 1).
    LipRequest(ImmediateLocationReportRequest<'a>),
    /// Any other LIP PDU this crate decodes: the basic location parameters and location
    /// reporting enable/disable requests and responses (PDU type 1, extensions 5 and 10). They
    /// carry no position.
    LipControl(LipPdu<'a>),
    /// A text message (protocols 0x02, 0x09, and 0x82/0x89 carrying an SDS-TRANSFER).
    Text(TextMessage<'a>),
    /// A text with a user data header, such as one part of a concatenated text (0x8A).
    UdhText(UdhText<'a>),
    /// An SDS-TL report or acknowledgement (any SDS-TL protocol), or an SDS-TRANSFER of an
    /// SDS-TL protocol whose data this crate does not decode.
    Tl {
        /// The protocol identifier.
        protocol_id: ProtocolId,
        /// The PDU.
        pdu: TlPdu<'a>,
    },
    /// Any other type-4 protocol, or an SDS-TL PDU of a reserved message type, undecoded.
    Other {
        /// The protocol identifier.
        protocol_id: ProtocolId,
        /// The bits after the identifier.
        payload: Bits<'a>,
    },
}

/// Decodes PEI user data of a known kind, dispatching LIP on its PDU type. A LIP PDU that
/// [`LipPdu`] does not decode is [`SdsError::UnsupportedLip`]; a malformed LIP or text PDU names
/// its fault.
pub fn decode(kind: SdsKind, bytes: &[u8], bits: u16) -> Result<UserData<'_>, SdsError> {
    match kind {
        SdsKind::Status => Status::parse(bytes, bits).map(UserData::Status),
        SdsKind::Type4 => {
            let view = SdsType4::new_checked(bytes, bits)?;
            let protocol_id = view.protocol_id();
            let payload = view.into_payload();
            match protocol_id {
                ProtocolId::LocationInformationProtocol => {
                    LipPdu::parse_payload(payload).map(|pdu| match pdu {
                        LipPdu::Short(r) => UserData::Lip(r),
                        LipPdu::Long(r) => UserData::LipLong(r),
                        LipPdu::ImmediateRequest(r) => UserData::LipRequest(r),
                        other => UserData::LipControl(other),
                    })
                }
                ProtocolId::MessageWithUserDataHeader => match UdhText::parse_payload(payload)? {
                    Some(text) => Ok(UserData::UdhText(text)),
                    None => transport_layer(protocol_id, payload),
                },
                _ => match TextMessage::parse_payload(protocol_id, payload)? {
                    Some(text) => Ok(UserData::Text(text)),
                    None if protocol_id.has_sds_tl_header() => {
                        transport_layer(protocol_id, payload)
                    }
                    None => Ok(UserData::Other {
                        protocol_id,
                        payload,
                    }),
                },
            }
        }
    }
}

/// An SDS-TL PDU, or the raw payload for a reserved message type.
fn transport_layer(protocol_id: ProtocolId, payload: Bits<'_>) -> Result<UserData<'_>, SdsError> {
    Ok(match TlPdu::parse(payload)? {
        Some(pdu) => UserData::Tl { protocol_id, pdu },
        None => UserData::Other {
            protocol_id,
            payload,
        },
    })
}

/// Decodes PEI user data when the caller does not know its kind: exactly 16 bits is read as a
/// status, anything else as type-4 data. A 16-bit type-4 message (an identifier and one octet)
/// would be misread as a status, so callers that have the `+CTSDSR` AI service should use
/// [`decode`].
pub fn decode_user_data(bytes: &[u8], bits: u16) -> Result<UserData<'_>, SdsError> {
    let kind = if bits == Status::BIT_LEN {
        SdsKind::Status
    } else {
        SdsKind::Type4
    };
    decode(kind, bytes, bits)
}

impl UserData<'_> {
    /// Which kind of short data this is.
    pub const fn kind(&self) -> SdsKind {
        match self {
            UserData::Status(_) => SdsKind::Status,
            _ => SdsKind::Type4,
        }
    }

    /// Bits of the encoded user data, to give the radio with `AT+CMGS`.
    pub fn bit_len(&self) -> usize {
        match self {
            UserData::Status(_) => usize::from(Status::BIT_LEN),
            UserData::Lip(_) => usize::from(ShortLocationReport::BIT_LEN),
            UserData::LipLong(r) => r.bit_len(),
            UserData::LipRequest(r) => r.bit_len(),
            UserData::LipControl(p) => p.bit_len(),
            UserData::Text(t) => t.bit_len(),
            UserData::UdhText(t) => t.bit_len(),
            UserData::Tl { pdu, .. } => 8 + pdu.bit_len(),
            UserData::Other { payload, .. } => 8 + usize::from(payload.bit_len()),
        }
    }

    /// Bytes [`UserData::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.bit_len().div_ceil(8)
    }

    /// Writes the user data into `buf`; returns the bytes written, the tail of the last byte
    /// zeroed. An `Other` whose identifier is one this module decodes (LIP, text) is written
    /// as given, but will not decode back to `Other`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SdsError> {
        match self {
            UserData::Status(s) => s.emit(buf),
            UserData::Lip(r) => r.emit(buf),
            UserData::LipLong(r) => r.emit(buf),
            UserData::LipRequest(r) => r.emit(buf),
            UserData::LipControl(p) => p.emit(buf),
            UserData::Text(t) => t.emit(buf),
            UserData::UdhText(t) => t.emit(buf),
            UserData::Tl { protocol_id, pdu } => {
                let mut w = self.writer(buf)?;
                w.write(u32::from(protocol_id.to_u8()), 8)?;
                pdu.write(&mut w)?;
                Ok(w.finish().0)
            }
            UserData::Other {
                protocol_id,
                payload,
            } => {
                let mut w = self.writer(buf)?;
                w.write(u32::from(protocol_id.to_u8()), 8)?;
                w.write_bits(payload)?;
                Ok(w.finish().0)
            }
        }
    }

    /// A writer over `buf` once the length is checked against type 4 and the buffer.
    fn writer<'b>(&self, buf: &'b mut [u8]) -> Result<BitWriter<'b>, SdsError> {
        let bits = self.bit_len();
        if bits > usize::from(MAX_TYPE4_BITS) {
            return Err(SdsError::TooLong { bits });
        }
        let needed = self.buffer_len();
        if buf.len() < needed {
            return Err(SdsError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        Ok(BitWriter::new(buf))
    }
}

impl fmt::Display for UserData<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserData::Status(s) => s.fmt(f),
            UserData::Lip(r) => write!(f, "LIP short location report: {r}"),
            UserData::LipLong(r) => write!(f, "LIP long location report: {r}"),
            UserData::LipRequest(r) => write!(f, "LIP immediate location report request: {r}"),
            UserData::LipControl(p) => fmt::Display::fmt(p, f),
            UserData::Text(t) => t.fmt(f),
            UserData::UdhText(t) => t.fmt(f),
            UserData::Tl { protocol_id, pdu } => match pdu {
                TlPdu::Report(r) => {
                    write!(
                        f,
                        "SDS-REPORT ({protocol_id}) on message reference {}: {}",
                        r.message_reference, r.status
                    )?;
                    if r.ack_required {
                        f.write_str(", acknowledgement required")?;
                    }
                    if !r.user_data.is_empty() {
                        write!(f, ", user data {}", r.user_data)?;
                    }
                    Ok(())
                }
                TlPdu::Ack(a) => write!(
                    f,
                    "SDS-ACK ({protocol_id}) on message reference {}: {}",
                    a.message_reference, a.status
                ),
                TlPdu::Transfer { header, user_data } => write!(
                    f,
                    "SDS-TRANSFER ({protocol_id}), message reference {}, report request {:?}, {} bits: {user_data}",
                    header.message_reference,
                    header.delivery_report,
                    user_data.bit_len()
                ),
            },
            UserData::Other {
                protocol_id,
                payload,
            } => write!(
                f,
                "protocol {protocol_id}, {} bits: {payload}",
                payload.bit_len()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sds::lip::{HorizontalVelocity, Latitude, Longitude};
    use crate::sds::tl::{DeliveryStatus, SdsReport};
    use proptest::prelude::*;
    use std::string::ToString;

    const BAARLE: [u8; 11] = [
        0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10,
    ];

    #[test]
    fn sixteen_bits_is_a_status() {
        assert_eq!(
            decode_user_data(&[0x80, 0x02], 16),
            Ok(UserData::Status(Status::new(0x8002)))
        );
        assert_eq!(
            decode_user_data(&[0x80, 0x02], 16).unwrap().to_string(),
            "status 32770 (0x8002, network/user-specific)"
        );
    }

    #[test]
    fn lip_is_decoded() {
        let UserData::Lip(r) = decode_user_data(&BAARLE, 84).unwrap() else {
            panic!("not LIP");
        };
        assert_eq!(r.latitude, Latitude::from_degrees(51.4420).unwrap());
        assert_eq!(r.longitude, Longitude::from_degrees(4.9290).unwrap());
        assert_eq!(r.velocity, HorizontalVelocity::from_km_h(50.0));
    }

    #[test]
    fn text_is_decoded() {
        let data = [0x82, 0x04, 0x2a, 0x01, b'O', b'K'];
        let UserData::Text(t) = decode_user_data(&data, 48).unwrap() else {
            panic!("not text");
        };
        assert_eq!(t.chars().unwrap().collect::<std::string::String>(), "OK");
    }

    #[test]
    fn other_protocols_keep_their_payload() {
        let data = [0xc3, 0xde, 0xad, 0xbe, 0xef];
        let d = decode_user_data(&data, 36).unwrap();
        assert_eq!(
            d,
            UserData::Other {
                protocol_id: ProtocolId::Other(0xc3),
                payload: Bits::new(&[0xde, 0xad, 0xbe, 0xe0], 28).unwrap()
            }
        );
        assert_eq!(
            d.to_string(),
            "protocol 0xc3 user-defined, 28 bits: deadbee0"
        );
        let mut buf = [0xa5u8; 6];
        assert_eq!(d.emit(&mut buf), Ok(5));
        assert_eq!(buf, [0xc3, 0xde, 0xad, 0xbe, 0xe0, 0xa5]);
    }

    #[test]
    fn sds_tl_report_is_decoded() {
        // SDS-REPORT (message type 1) for text messaging: received, reference 42.
        let data = [0x82, 0x10, 0x00, 0x2a];
        let d = decode_user_data(&data, 32).unwrap();
        assert_eq!(
            d,
            UserData::Tl {
                protocol_id: ProtocolId::TextMessaging,
                pdu: TlPdu::Report(SdsReport::new(DeliveryStatus::RECEIVED, 0x2a))
            }
        );
        assert_eq!(
            d.to_string(),
            "SDS-REPORT (0x82 text messaging (SDS-TL)) on message reference 42: \
             0x00 receipt acknowledged by destination (success)"
        );
        let mut buf = [0xa5u8; 4];
        assert_eq!(d.emit(&mut buf), Ok(4));
        assert_eq!(buf, data);
    }

    #[test]
    fn sds_tl_ack_is_decoded() {
        let data = [0x82, 0x20, 0x01, 0x2a];
        assert_eq!(
            decode_user_data(&data, 32).unwrap().to_string(),
            "SDS-ACK (0x82 text messaging (SDS-TL)) on message reference 42: \
             0x01 receipt report acknowledgement (success)"
        );
    }

    #[test]
    fn location_system_over_sds_tl_goes_through_the_transport_layer() {
        // 0x83, SDS-TRANSFER asking for a receipt report, reference 3, then NMEA-ish bytes.
        let data = [0x83, 0x04, 0x03, b'$', b'G'];
        let UserData::Tl {
            protocol_id,
            pdu: TlPdu::Transfer { header, user_data },
        } = decode_user_data(&data, 40).unwrap()
        else {
            panic!("not a transfer")
        };
        assert_eq!(protocol_id, ProtocolId::LocationSystem);
        assert_eq!(header.message_reference, 3);
        assert_eq!(user_data, Bits::new(b"$G", 16).unwrap());
    }

    #[test]
    fn concatenated_text_part_is_decoded() {
        let data = [
            0x8a, 0x04, 0x11, 0x01, 0x05, 0x00, 0x03, 0x42, 0x02, 0x02, b'u', b'p',
        ];
        let d = decode_user_data(&data, 96).unwrap();
        assert!(matches!(d, UserData::UdhText(_)));
        assert_eq!(
            d.to_string(),
            "text \"up\" (Latin-1), part 2 of 2 of message 66, message reference 17, \
             report on receipt requested"
        );
    }

    #[test]
    fn reserved_tl_message_type_keeps_the_raw_payload() {
        let data = [0x82, 0x30, 0x00];
        assert_eq!(
            decode_user_data(&data, 24),
            Ok(UserData::Other {
                protocol_id: ProtocolId::TextMessaging,
                payload: Bits::new(&data[1..], 16).unwrap()
            })
        );
    }

    #[test]
    fn user_defined_tl_identifiers_are_not_read_as_sds_tl() {
        // 0xC3 with a payload that would be a truncated SDS-TRANSFER header.
        assert_eq!(
            decode(SdsKind::Type4, &[0xc3, 0x01], 16),
            Ok(UserData::Other {
                protocol_id: ProtocolId::Other(0xc3),
                payload: Bits::new(&[0x01], 8).unwrap()
            })
        );
    }

    #[test]
    fn explicit_kind_reads_sixteen_bits_as_type4() {
        assert_eq!(
            decode(SdsKind::Type4, &[0xc3, 0x01], 16),
            Ok(UserData::Other {
                protocol_id: ProtocolId::Other(0xc3),
                payload: Bits::new(&[0x01], 8).unwrap()
            })
        );
        assert_eq!(
            decode(SdsKind::Status, &BAARLE, 84),
            Err(SdsError::StatusLength { bits: 84 })
        );
    }

    #[test]
    fn zero_bits_is_empty() {
        assert_eq!(decode_user_data(&BAARLE, 0), Err(SdsError::Empty));
        assert_eq!(decode_user_data(&[], 0), Err(SdsError::Empty));
    }

    #[test]
    fn bogus_bit_length_beyond_the_bytes_is_refused() {
        assert_eq!(
            decode_user_data(&BAARLE, 89),
            Err(SdsError::BitLengthExceedsData {
                bits: 89,
                available: 88
            })
        );
        assert_eq!(
            decode_user_data(&[0x80], 16),
            Err(SdsError::BitLengthExceedsData {
                bits: 16,
                available: 8
            })
        );
        assert_eq!(
            decode_user_data(&[], u16::MAX),
            Err(SdsError::BitLengthExceedsData {
                bits: u16::MAX,
                available: 0
            })
        );
    }

    #[test]
    fn truncated_lip_is_refused() {
        assert_eq!(
            decode_user_data(&BAARLE, 60),
            Err(SdsError::Truncated {
                at_bit: 37,
                needed: 24,
                available: 23
            })
        );
    }

    #[test]
    fn unsupported_lip_pdu_is_refused() {
        // Extension 4, a location report acknowledgement: not decoded.
        let ack = [0x0a, 0b0101_0000, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_user_data(&ack, 88),
            Err(SdsError::UnsupportedLip {
                pdu_type: 1,
                extension: Some(4)
            })
        );
    }

    #[test]
    fn long_lip_report_is_decoded_and_re_emitted() {
        // The no-fix long report of `lip::long`'s tests.
        let no_fix = [0x0a, 0x4c, 0x01, 0x0a, 0xb0, 0x85, 0x10];
        let d = decode_user_data(&no_fix, 52).unwrap();
        let UserData::LipLong(r) = d else {
            panic!("not a long report: {d:?}");
        };
        assert_eq!(r.position(), None);
        assert_eq!(d.bit_len(), 52);
        let mut buf = [0xa5u8; 7];
        assert_eq!(d.emit(&mut buf), Ok(7));
        assert_eq!(buf, no_fix);
        assert!(
            d.to_string()
                .starts_with("LIP long location report: no fix")
        );
    }

    #[test]
    fn lip_request_is_decoded() {
        let request = [0x0a, 0x44, 0x98, 0x80, 0x70];
        let d = decode_user_data(&request, 36).unwrap();
        assert!(matches!(d, UserData::LipRequest(_)), "{d:?}");
        assert_eq!(d.bit_len(), 36);
    }

    #[test]
    fn lip_control_pdus_are_decoded_and_re_emitted() {
        // A location reporting enable/disable response: reporting on, backlog off (23 bits).
        let response = [0x0a, 0x6b, 0x00];
        let d = decode_user_data(&response, 23).unwrap();
        let UserData::LipControl(LipPdu::ReportingEnableResponse(r)) = d else {
            panic!("{d:?}");
        };
        assert!(r.flags.reporting_enabled());
        assert_eq!(d.bit_len(), 23);
        assert_eq!(
            d.to_string(),
            "LIP location reporting enable/disable response: reporting enabled, backlog disabled"
        );
        let mut buf = [0xa5u8; 3];
        assert_eq!(d.emit(&mut buf), Ok(3));
        assert_eq!(buf, response);
        assert_eq!(decode(d.kind(), &buf, 23), Ok(d));
    }

    #[test]
    fn garbage_past_the_bit_length_is_ignored() {
        let mut dirty = [0xffu8; 12];
        dirty[..11].copy_from_slice(&BAARLE);
        dirty[10] |= 0x0f;
        assert_eq!(decode_user_data(&dirty, 84), decode_user_data(&BAARLE, 84));
        let other = decode_user_data(&[0xc3, 0xff, 0xff], 12).unwrap();
        assert_eq!(other, decode_user_data(&[0xc3, 0xf0], 12).unwrap());
    }

    #[test]
    fn ten_kilobytes_of_noise_is_handled() {
        let noise: std::vec::Vec<u8> = (0..10_240u32).map(|i| (i * 151 % 251) as u8).collect();
        for bits in [0u16, 7, 16, 84, 2047, 8000, u16::MAX] {
            if let Ok(d) = decode_user_data(&noise, bits) {
                let mut buf = [0u8; 256];
                assert_eq!(d.emit(&mut buf), Ok(d.buffer_len()));
            }
        }
        assert_eq!(
            decode_user_data(&noise, 8000),
            Err(SdsError::TooLong { bits: 8000 })
        );
    }

    #[test]
    fn serializes_as_tagged_json_shape() {
        // postcard is the serializer available here; it checks that every variant serializes.
        let mut buf = [0u8; 128];
        for d in [
            decode_user_data(&[0x80, 0x02], 16).unwrap(),
            decode_user_data(&BAARLE, 84).unwrap(),
            decode_user_data(&[0x82, 0x04, 0x2a, 0x01, b'O', b'K'], 48).unwrap(),
            decode(SdsKind::Type4, &[0xc3, 0xde], 16).unwrap(),
            decode_user_data(&[0x82, 0x10, 0x00, 0x2a], 32).unwrap(),
            decode_user_data(&[0x82, 0x20, 0x01, 0x2a], 32).unwrap(),
            decode_user_data(&[0x8a, 0, 1, 1, 5, 0, 3, 1, 2, 1, b'a'], 88).unwrap(),
        ] {
            assert!(postcard::to_slice(&d, &mut buf).is_ok());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics_and_re_emits(
            bytes in proptest::collection::vec(any::<u8>(), 0..48),
            bits in 0u16..400,
        ) {
            if let Ok(d) = decode_user_data(&bytes, bits) {
                let mut buf = [0xa5u8; 64];
                let n = d.emit(&mut buf).unwrap();
                prop_assert_eq!(n, d.buffer_len());
                let again = decode(d.kind(), &buf[..n], d.bit_len() as u16);
                prop_assert_eq!(again, Ok(d));
            }
        }
    }
}
