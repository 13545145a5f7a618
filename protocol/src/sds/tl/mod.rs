//! The SDS transport layer (SDS-TL, ETSI EN 300 392-2 §29.4): the header every protocol with an
//! identifier of 0x80 or more puts in front of its data, giving end-to-end message references,
//! delivery reports and store-and-forward. Text messaging (0x82), immediate text (0x89), text
//! with a user data header (0x8A) and every other SDS-TL protocol go through here.
//!
//! The first four bits after the identifier are the message type (§29.4.3.8, table 29.20):
//!
//! | type | PDU          | decoded as                                     |
//! |------|--------------|------------------------------------------------|
//! | 0    | SDS-TRANSFER | [`TransferHeader`] and the application's data  |
//! | 1    | SDS-REPORT   | [`SdsReport`]                                  |
//! | 2    | SDS-ACK      | [`SdsAck`]                                     |
//! | 3–7  | reserved     | not decoded: the caller keeps the raw payload  |
//! | 8–15 | defined by the application | not decoded, likewise           |
//!
//! The short form of a report, SDS-SHORT REPORT (§29.4.2.3), travels as a pre-coded status in
//! 0x7C00–0x7FFF, not as type-4 data; see [`Status::kind`](crate::sds::Status::kind).

mod ack;
mod delivery;
mod report;
mod transfer;

use serde::Serialize;

pub use ack::SdsAck;
pub use delivery::{DeliveryClass, DeliveryStatus};
pub use report::SdsReport;
pub use transfer::{DeliveryReportRequest, ForwardAddress, StoreForward, TransferHeader};

use super::SdsError;
use super::bits::{BitReader, BitWriter, Bits};

/// An SDS-TL PDU of a protocol whose application data this crate does not decode further, or
/// a report or acknowledgement of any SDS-TL protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "pdu", rename_all = "snake_case")]
pub enum TlPdu<'a> {
    /// SDS-TRANSFER: the header and the application's data, raw.
    Transfer {
        /// The header.
        header: TransferHeader,
        /// The application's data after the header.
        user_data: Bits<'a>,
    },
    /// SDS-REPORT.
    Report(SdsReport<'a>),
    /// SDS-ACK.
    Ack(SdsAck),
}

impl<'a> TlPdu<'a> {
    /// Parses the bits after the protocol identifier; `Ok(None)` for a reserved or
    /// application-defined message type, which the caller keeps raw.
    pub fn parse(payload: Bits<'a>) -> Result<Option<Self>, SdsError> {
        let mut r = BitReader::with_origin(payload, 8);
        Ok(Some(match r.read_u8(4)? {
            TransferHeader::MESSAGE_TYPE => TlPdu::Transfer {
                header: TransferHeader::read_after_type(&mut r)?,
                user_data: rest(&r)?,
            },
            SdsReport::MESSAGE_TYPE => TlPdu::Report(SdsReport::read_after_type(&mut r)?),
            SdsAck::MESSAGE_TYPE => TlPdu::Ack(SdsAck::read_after_type(&mut r)?),
            _ => return Ok(None),
        }))
    }

    /// The message reference the PDU carries or quotes.
    pub const fn message_reference(&self) -> u8 {
        match self {
            TlPdu::Transfer { header, .. } => header.message_reference,
            TlPdu::Report(r) => r.message_reference,
            TlPdu::Ack(a) => a.message_reference,
        }
    }

    /// Bits after the protocol identifier.
    pub fn bit_len(&self) -> usize {
        match self {
            TlPdu::Transfer { header, user_data } => {
                header.bit_len() + usize::from(user_data.bit_len())
            }
            TlPdu::Report(r) => r.bit_len(),
            TlPdu::Ack(_) => SdsAck::BIT_LEN,
        }
    }

    /// Writes the PDU, message type first.
    pub fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        match self {
            TlPdu::Transfer { header, user_data } => {
                header.write(w)?;
                w.write_bits(user_data)
            }
            TlPdu::Report(r) => r.write(w),
            TlPdu::Ack(a) => a.write(w),
        }
    }
}

/// What follows an SDS-TL header. Every header layout ends on a byte boundary, so this only
/// fails if a layout here is changed to one that does not.
pub(super) fn rest<'a>(r: &BitReader<'a>) -> Result<Bits<'a>, SdsError> {
    r.rest().ok_or(SdsError::Truncated {
        at_bit: u16::try_from(r.position() + 8).unwrap_or(u16::MAX),
        needed: 8,
        available: 0,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::Ssi;
    use proptest::prelude::*;

    pub(crate) use super::transfer::tests::any_header;

    fn parse(data: &[u8]) -> Result<Option<TlPdu<'_>>, SdsError> {
        TlPdu::parse(Bits::new(data, (data.len() * 8) as u16).unwrap())
    }

    fn emit(pdu: &TlPdu<'_>) -> std::vec::Vec<u8> {
        let mut buf = [0xa5u8; 64];
        let mut w = BitWriter::new(&mut buf);
        pdu.write(&mut w).unwrap();
        let (n, bits) = w.finish();
        assert_eq!(bits, pdu.bit_len());
        buf[..n].to_vec()
    }

    // Byte-exact vectors from the layouts of EN 300 392-2 §29.4.2 (after the identifier).

    #[test]
    fn report_received_for_reference_42() {
        // Type 1, no ack, reserved 00, no storage; status 0x00; reference 0x2a.
        let data = [0x10, 0x00, 0x2a];
        let Some(TlPdu::Report(r)) = parse(&data).unwrap() else {
            panic!("not a report")
        };
        assert_eq!(r, SdsReport::new(DeliveryStatus::RECEIVED, 0x2a));
        assert_eq!(r.status.class(), DeliveryClass::Success);
        assert_eq!(emit(&TlPdu::Report(r)), data);
    }

    #[test]
    fn report_with_ack_required_and_user_data() {
        // Type 1, ack required (bit 4), status 0x02 consumed, reference 7, user data 0xbeef.
        let data = [0x18, 0x02, 0x07, 0xbe, 0xef];
        let Some(TlPdu::Report(r)) = parse(&data).unwrap() else {
            panic!("not a report")
        };
        assert!(r.ack_required);
        assert_eq!(r.status, DeliveryStatus::CONSUMED);
        assert_eq!(r.user_data, Bits::new(&[0xbe, 0xef], 16).unwrap());
        assert_eq!(emit(&TlPdu::Report(r)), data);
    }

    #[test]
    fn report_stored_by_the_swmi_with_forward_address() {
        // Storage bit set; status 0x21 (stored); reference 5; validity 3, forward type 1 (SSI)
        // 0x1f2345.
        let data = [0x11, 0x21, 0x05, 0b0001_1001, 0x1f, 0x23, 0x45];
        let Some(TlPdu::Report(r)) = parse(&data).unwrap() else {
            panic!("not a report")
        };
        assert_eq!(r.status.class(), DeliveryClass::TemporaryError);
        let sf = r.store_forward.unwrap();
        assert_eq!(sf.validity_period(), 3);
        assert_eq!(
            sf.address(),
            ForwardAddress::Ssi(Ssi::new(0x1f2345).unwrap())
        );
        assert_eq!(emit(&TlPdu::Report(r)), data);
    }

    #[test]
    fn report_reserved_bits_are_ignored_and_written_as_zero() {
        let data = [0x16, 0x4a, 0x01];
        let pdu = parse(&data).unwrap().unwrap();
        assert_eq!(
            pdu,
            TlPdu::Report(SdsReport::new(DeliveryStatus::DELIVERY_FAILED, 1))
        );
        assert_eq!(emit(&pdu), [0x10, 0x4a, 0x01]);
    }

    #[test]
    fn ack_of_a_receipt_report() {
        // Type 2, reserved 0000, status 0x01, reference 0x2a.
        let data = [0x20, 0x01, 0x2a];
        let pdu = parse(&data).unwrap().unwrap();
        assert_eq!(
            pdu,
            TlPdu::Ack(SdsAck {
                status: DeliveryStatus::RECEIPT_REPORT_ACK,
                message_reference: 0x2a
            })
        );
        assert_eq!(pdu.message_reference(), 0x2a);
        assert_eq!(emit(&pdu), data);
    }

    #[test]
    fn transfer_keeps_the_application_data() {
        // Type 0, report on receipt and consumption (11), no storage, reference 9, data 0x0102.
        let data = [0x0c, 0x09, 0x01, 0x02];
        let Some(TlPdu::Transfer { header, user_data }) = parse(&data).unwrap() else {
            panic!("not a transfer")
        };
        assert_eq!(
            header.delivery_report,
            DeliveryReportRequest::ReceivedAndConsumed
        );
        assert!(header.delivery_report.wants_received());
        assert!(header.delivery_report.wants_consumed());
        assert_eq!(user_data.bit_len(), 16);
    }

    #[test]
    fn reserved_and_application_message_types_are_not_decoded() {
        for first in [0x30u8, 0x70, 0x80, 0xf0] {
            assert_eq!(parse(&[first, 0, 0]), Ok(None), "type {}", first >> 4);
        }
    }

    #[test]
    fn truncated_report_names_the_field() {
        // Type 1 and the delivery status, but no message reference.
        assert_eq!(
            parse(&[0x10, 0x00]),
            Err(SdsError::Truncated {
                at_bit: 24,
                needed: 8,
                available: 0
            })
        );
    }

    #[test]
    fn truncated_ack_names_the_field() {
        assert_eq!(
            parse(&[0x20]),
            Err(SdsError::Truncated {
                at_bit: 16,
                needed: 8,
                available: 0
            })
        );
    }

    #[test]
    fn empty_payload_is_truncated() {
        assert_eq!(
            TlPdu::parse(Bits::EMPTY),
            Err(SdsError::Truncated {
                at_bit: 8,
                needed: 4,
                available: 0
            })
        );
    }

    proptest! {
        #[test]
        fn write_parse_round_trips(
            data in proptest::collection::vec(any::<u8>(), 0..24),
            which in 0u8..3,
            header in any_header(),
            ack_required in any::<bool>(),
            status in any::<u8>(),
            reference in any::<u8>(),
        ) {
            let user_data = Bits::from_bytes(&data).unwrap();
            let pdu = match which {
                0 => TlPdu::Transfer { header, user_data },
                1 => TlPdu::Report(SdsReport {
                    ack_required,
                    status: DeliveryStatus::new(status),
                    message_reference: reference,
                    // Any store-and-forward fields the header strategy makes.
                    store_forward: header.store_forward,
                    user_data,
                }),
                _ => TlPdu::Ack(SdsAck {
                    status: DeliveryStatus::new(status),
                    message_reference: reference,
                }),
            };
            let bytes = emit(&pdu);
            let back = TlPdu::parse(Bits::new(&bytes, pdu.bit_len() as u16).unwrap());
            prop_assert_eq!(back, Ok(Some(pdu)));
        }
    }
}
