//! SDS-REPORT (ETSI EN 300 392-2 §29.4.2.2): the destination's (or the SwMI's) answer to an
//! SDS-TRANSFER that asked for a delivery report, quoting the transfer's message reference.
//! The gateway reads these to learn whether the reply it sent a field unit arrived.
//!
//! After the protocol identifier (the same as the reported message's, e.g. 0x82):
//!
//! | width | field                       | notes                                        |
//! |-------|-----------------------------|----------------------------------------------|
//! | 4     | message type                | 1                                            |
//! | 1     | acknowledgement required    | the reporter wants an SDS-ACK back           |
//! | 2     | reserved                    | read and ignored, written as 0               |
//! | 1     | storage                     | 1 = validity period and forward address follow |
//! | 8     | delivery status             | [`DeliveryStatus`], §29.4.3.2                |
//! | 8     | message reference           | of the SDS-TRANSFER reported on              |
//! | 5+3+n | validity, forward address   | if storage, as in SDS-TRANSFER               |
//! | rest  | user data                   | optional, kept raw                           |

use serde::Serialize;

use super::delivery::DeliveryStatus;
use super::transfer::StoreForward;
use crate::sds::SdsError;
use crate::sds::bits::{BitReader, BitWriter, Bits};

/// An SDS-REPORT, borrowing any trailing user data from the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsReport<'a> {
    /// The reporter asks for an SDS-ACK in return.
    pub ack_required: bool,
    /// What became of the message.
    pub status: DeliveryStatus,
    /// The message reference of the SDS-TRANSFER reported on.
    pub message_reference: u8,
    /// Store-and-forward fields, when the storage bit is set.
    pub store_forward: Option<StoreForward>,
    /// User data after the header (often none).
    pub user_data: Bits<'a>,
}

impl<'a> SdsReport<'a> {
    /// The SDS-TL message type of SDS-REPORT.
    pub const MESSAGE_TYPE: u8 = 1;

    /// A plain report: no acknowledgement asked, no storage, no user data.
    pub const fn new(status: DeliveryStatus, message_reference: u8) -> Self {
        SdsReport {
            ack_required: false,
            status,
            message_reference,
            store_forward: None,
            user_data: Bits::EMPTY,
        }
    }

    /// Reads the report's fields after its 4-bit message type.
    pub(super) fn read_after_type(r: &mut BitReader<'a>) -> Result<Self, SdsError> {
        let ack_required = r.read_bool()?;
        // Reserved: no meaning today; a future revision's value is not ours to refuse.
        r.read_u8(2)?;
        let storage = r.read_bool()?;
        let status = DeliveryStatus::new(r.read_u8(8)?);
        let message_reference = r.read_u8(8)?;
        let store_forward = if storage {
            Some(StoreForward::read(r)?)
        } else {
            None
        };
        Ok(SdsReport {
            ack_required,
            status,
            message_reference,
            store_forward,
            user_data: super::rest(r)?,
        })
    }

    /// Bits after the protocol identifier.
    pub fn bit_len(&self) -> usize {
        4 + 1
            + 2
            + 1
            + 8
            + 8
            + self.store_forward.map_or(0, |sf| sf.bit_len())
            + usize::from(self.user_data.bit_len())
    }

    /// Writes the report, message type first.
    pub fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        w.write(u32::from(Self::MESSAGE_TYPE), 4)?;
        w.write_bool(self.ack_required)?;
        w.write(0, 2)?;
        w.write_bool(self.store_forward.is_some())?;
        w.write(u32::from(self.status.get()), 8)?;
        w.write(u32::from(self.message_reference), 8)?;
        if let Some(sf) = self.store_forward {
            sf.write(w)?;
        }
        w.write_bits(&self.user_data)
    }
}
