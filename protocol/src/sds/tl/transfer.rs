//! The SDS-TL SDS-TRANSFER header (ETSI EN 300 392-2 §29.4.2.4) that precedes the user data of
//! protocols with identifiers 0x80–0xFF, such as text messaging (0x82): message reference,
//! delivery report request and optional store-and-forward addressing.
//!
//! | width | field                                  | notes                                 |
//! |-------|----------------------------------------|---------------------------------------|
//! | 4     | message type                           | 0 = SDS-TRANSFER (1 REPORT, 2 ACK...) |
//! | 2     | delivery report request                | [`DeliveryReportRequest`]             |
//! | 1     | service selection / short form report  | kept as sent                          |
//! | 1     | storage / forward control              | 1 = the next two fields follow        |
//! | 8     | message reference                      |                                       |
//! | 5     | validity period (if storage)           |                                       |
//! | 3     | forward address type (if storage)      | 0 SNA (8 bits), 1 SSI (24), 2 TSI (48), 7 none |
//!
//! External-subscriber-number forward addresses (type 3) and reserved types are refused with
//! [`SdsError::UnsupportedForwardAddress`].

use serde::Serialize;

use crate::ids::{Ssi, Tsi};
use crate::sds::SdsError;
use crate::sds::bits::{BitReader, BitWriter};

/// Which delivery reports the sender asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryReportRequest {
    /// 0: no report.
    None,
    /// 1: report when the message is received.
    Received,
    /// 2: report when the message is consumed (read).
    Consumed,
    /// 3: report both.
    ReceivedAndConsumed,
}

impl DeliveryReportRequest {
    /// The request of a 2-bit field (higher bits ignored).
    pub const fn from_bits(v: u8) -> Self {
        match v & 0b11 {
            0 => DeliveryReportRequest::None,
            1 => DeliveryReportRequest::Received,
            2 => DeliveryReportRequest::Consumed,
            _ => DeliveryReportRequest::ReceivedAndConsumed,
        }
    }

    /// The 2-bit field.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// Whether a report on receipt is asked for.
    pub const fn wants_received(self) -> bool {
        matches!(
            self,
            DeliveryReportRequest::Received | DeliveryReportRequest::ReceivedAndConsumed
        )
    }

    /// Whether a report on consumption is asked for.
    pub const fn wants_consumed(self) -> bool {
        matches!(
            self,
            DeliveryReportRequest::Consumed | DeliveryReportRequest::ReceivedAndConsumed
        )
    }
}

/// Where the SwMI should forward a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardAddress {
    /// Type 0: a short number address.
    ShortNumber(u8),
    /// Type 1: an SSI in the sender's network.
    Ssi(Ssi),
    /// Type 2: a full TSI.
    Tsi(Tsi),
    /// Type 7: no forward address.
    None,
}

/// Store-and-forward fields, present when the storage/forward control bit is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct StoreForward {
    validity_period: u8,
    address: ForwardAddress,
}

impl StoreForward {
    /// Store-and-forward fields; `None` if the validity period does not fit its 5 bits.
    pub const fn new(validity_period: u8, address: ForwardAddress) -> Option<Self> {
        if validity_period < 32 {
            Some(StoreForward {
                validity_period,
                address,
            })
        } else {
            None
        }
    }

    /// The 5-bit validity period code.
    pub const fn validity_period(&self) -> u8 {
        self.validity_period
    }

    /// The forward address.
    pub const fn address(&self) -> ForwardAddress {
        self.address
    }

    /// Bits the fields occupy: the 5-bit validity period, the 3-bit address type and the
    /// address.
    pub const fn bit_len(&self) -> usize {
        5 + 3
            + match self.address {
                ForwardAddress::ShortNumber(_) => 8,
                ForwardAddress::Ssi(_) => 24,
                ForwardAddress::Tsi(_) => 48,
                ForwardAddress::None => 0,
            }
    }

    /// Reads the fields that follow a set storage bit (SDS-TRANSFER and SDS-REPORT alike).
    pub fn read(r: &mut BitReader<'_>) -> Result<Self, SdsError> {
        let validity_period = r.read_u8(5)?;
        let address = match r.read_u8(3)? {
            0 => ForwardAddress::ShortNumber(r.read_u8(8)?),
            1 => ForwardAddress::Ssi(read_ssi(r)?),
            2 => {
                let ssi = read_ssi(r)?;
                let mcc = r.read(10)? as u16;
                let mnc = r.read(14)? as u16;
                // Ten and fourteen bits are always a valid MCC and MNC.
                match Tsi::from_parts(mcc, mnc, ssi.get()) {
                    Ok(tsi) => ForwardAddress::Tsi(tsi),
                    Err(_) => {
                        return Err(SdsError::UnsupportedForwardAddress { address_type: 2 });
                    }
                }
            }
            7 => ForwardAddress::None,
            address_type => return Err(SdsError::UnsupportedForwardAddress { address_type }),
        };
        Ok(StoreForward {
            validity_period,
            address,
        })
    }

    /// Writes the fields.
    pub fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        w.write(u32::from(self.validity_period), 5)?;
        match self.address {
            ForwardAddress::ShortNumber(n) => {
                w.write(0, 3)?;
                w.write(u32::from(n), 8)?;
            }
            ForwardAddress::Ssi(ssi) => {
                w.write(1, 3)?;
                w.write(ssi.get(), 24)?;
            }
            ForwardAddress::Tsi(tsi) => {
                w.write(2, 3)?;
                w.write(tsi.ssi().get(), 24)?;
                w.write(u32::from(tsi.mcc().get()), 10)?;
                w.write(u32::from(tsi.mnc().get()), 14)?;
            }
            ForwardAddress::None => w.write(7, 3)?,
        }
        Ok(())
    }
}

/// An SDS-TRANSFER header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TransferHeader {
    /// Reports the sender wants.
    pub delivery_report: DeliveryReportRequest,
    /// The service-selection / short-form-report bit, kept as sent.
    pub service_selection: bool,
    /// The message reference that reports and acknowledgements quote.
    pub message_reference: u8,
    /// Store-and-forward fields, if the sender asked for storage.
    pub store_forward: Option<StoreForward>,
}

impl TransferHeader {
    /// The SDS-TL message type of SDS-TRANSFER.
    pub const MESSAGE_TYPE: u8 = 0;

    /// A plain header: no report, no storage.
    pub const fn new(message_reference: u8) -> Self {
        TransferHeader {
            delivery_report: DeliveryReportRequest::None,
            service_selection: false,
            message_reference,
            store_forward: None,
        }
    }

    /// Reads a header from just after the protocol identifier; `Ok(None)` if the SDS-TL PDU is
    /// not an SDS-TRANSFER (a report, an acknowledgement or an application-defined type).
    pub fn read(r: &mut BitReader<'_>) -> Result<Option<Self>, SdsError> {
        if r.read_u8(4)? != Self::MESSAGE_TYPE {
            return Ok(None);
        }
        Self::read_after_type(r).map(Some)
    }

    /// Reads the header's fields after its 4-bit message type.
    pub(super) fn read_after_type(r: &mut BitReader<'_>) -> Result<Self, SdsError> {
        let delivery_report = DeliveryReportRequest::from_bits(r.read_u8(2)?);
        let service_selection = r.read_bool()?;
        let storage = r.read_bool()?;
        let message_reference = r.read_u8(8)?;
        let store_forward = if storage {
            Some(StoreForward::read(r)?)
        } else {
            None
        };
        Ok(TransferHeader {
            delivery_report,
            service_selection,
            message_reference,
            store_forward,
        })
    }

    /// Bits the header occupies.
    pub const fn bit_len(&self) -> usize {
        let base = 4 + 2 + 1 + 1 + 8;
        match self.store_forward {
            None => base,
            Some(sf) => base + sf.bit_len(),
        }
    }

    /// Writes the header.
    pub fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        w.write(u32::from(Self::MESSAGE_TYPE), 4)?;
        w.write(u32::from(self.delivery_report.bits()), 2)?;
        w.write_bool(self.service_selection)?;
        w.write_bool(self.store_forward.is_some())?;
        w.write(u32::from(self.message_reference), 8)?;
        if let Some(sf) = self.store_forward {
            sf.write(w)?;
        }
        Ok(())
    }
}

fn read_ssi(r: &mut BitReader<'_>) -> Result<Ssi, SdsError> {
    let v = r.read(24)?;
    // Twenty-four bits are always a valid SSI.
    Ssi::new(v).ok_or(SdsError::UnsupportedForwardAddress { address_type: 1 })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sds::bits::Bits;
    use proptest::prelude::*;

    fn round_trip(h: TransferHeader) -> Result<Option<TransferHeader>, SdsError> {
        let mut buf = [0xa5u8; 16];
        let mut w = BitWriter::new(&mut buf);
        h.write(&mut w).unwrap();
        let (_, bits) = w.finish();
        assert_eq!(bits, h.bit_len());
        TransferHeader::read(&mut Bits::new(&buf, bits as u16).unwrap().reader())
    }

    #[test]
    fn plain_header_is_two_bytes() {
        // Message type 0, report on receipt, no storage, reference 0x2a.
        let data = [0b0000_0100, 0x2a];
        let h = TransferHeader::read(&mut Bits::new(&data, 16).unwrap().reader())
            .unwrap()
            .unwrap();
        assert_eq!(h.delivery_report, DeliveryReportRequest::Received);
        assert!(!h.service_selection);
        assert_eq!(h.message_reference, 0x2a);
        assert_eq!(h.store_forward, None);
        assert_eq!(h.bit_len(), 16);
    }

    #[test]
    fn store_forward_to_a_tsi() {
        let tsi = Tsi::from_parts(204, 1, 2_040_551).unwrap();
        let h = TransferHeader {
            delivery_report: DeliveryReportRequest::ReceivedAndConsumed,
            service_selection: true,
            message_reference: 7,
            store_forward: StoreForward::new(31, ForwardAddress::Tsi(tsi)),
        };
        assert_eq!(h.bit_len(), 16 + 8 + 48);
        assert_eq!(round_trip(h), Ok(Some(h)));
    }

    #[test]
    fn reports_and_acks_are_not_transfers() {
        let report = [0b0001_0000, 0x00];
        assert_eq!(
            TransferHeader::read(&mut Bits::new(&report, 16).unwrap().reader()),
            Ok(None)
        );
    }

    #[test]
    fn external_number_forward_address_is_unsupported() {
        // Storage bit set, validity 0, forward address type 3.
        let data = [0b0000_0001, 0x01, 0b0000_0011, 0x00];
        assert_eq!(
            TransferHeader::read(&mut Bits::new(&data, 32).unwrap().reader()),
            Err(SdsError::UnsupportedForwardAddress { address_type: 3 })
        );
    }

    #[test]
    fn truncated_forward_address_is_an_error() {
        // Storage bit set, type 1 (SSI) but only 8 of its 24 bits present.
        let data = [0b0000_0001, 0x01, 0b0000_0001, 0xff];
        assert_eq!(
            TransferHeader::read(&mut Bits::new(&data, 32).unwrap().reader()),
            Err(SdsError::Truncated {
                at_bit: 24,
                needed: 24,
                available: 8
            })
        );
    }

    #[test]
    fn validity_period_must_fit_five_bits() {
        assert_eq!(StoreForward::new(32, ForwardAddress::None), None);
    }

    fn any_address() -> impl Strategy<Value = ForwardAddress> {
        prop_oneof![
            any::<u8>().prop_map(ForwardAddress::ShortNumber),
            (0..=Ssi::MAX).prop_map(|s| ForwardAddress::Ssi(Ssi::new(s).unwrap())),
            (0u16..1024, 0u16..16384, 0..=Ssi::MAX)
                .prop_map(|(a, b, c)| ForwardAddress::Tsi(Tsi::from_parts(a, b, c).unwrap())),
            Just(ForwardAddress::None),
        ]
    }

    pub(crate) fn any_header() -> impl Strategy<Value = TransferHeader> {
        (
            0u8..4,
            any::<bool>(),
            any::<u8>(),
            proptest::option::of((0u8..32, any_address())),
        )
            .prop_map(|(d, s, m, sf)| TransferHeader {
                delivery_report: DeliveryReportRequest::from_bits(d),
                service_selection: s,
                message_reference: m,
                store_forward: sf.and_then(|(v, a)| StoreForward::new(v, a)),
            })
    }

    proptest! {
        #[test]
        fn write_read_round_trips(h in any_header()) {
            prop_assert_eq!(round_trip(h), Ok(Some(h)));
        }
    }
}
