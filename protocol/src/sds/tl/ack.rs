//! SDS-ACK (ETSI EN 300 392-2 §29.4.2.1): the acknowledgement of an SDS-REPORT that asked for
//! one, or a destination's flow-control answer.
//!
//! | width | field             | notes                            |
//! |-------|-------------------|----------------------------------|
//! | 4     | message type      | 2                                |
//! | 4     | reserved          | read and ignored, written as 0   |
//! | 8     | delivery status   | [`DeliveryStatus`], §29.4.3.2    |
//! | 8     | message reference | of the message acknowledged      |

use serde::Serialize;

use super::delivery::DeliveryStatus;
use crate::sds::SdsError;
use crate::sds::bits::{BitReader, BitWriter};

/// An SDS-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsAck {
    /// The status acknowledged or signalled.
    pub status: DeliveryStatus,
    /// The message reference acknowledged.
    pub message_reference: u8,
}

impl SdsAck {
    /// The SDS-TL message type of SDS-ACK.
    pub const MESSAGE_TYPE: u8 = 2;
    /// Bits after the protocol identifier.
    pub const BIT_LEN: usize = 24;

    /// Reads the acknowledgement's fields after its 4-bit message type. Bits past the 24 are
    /// not part of the PDU and are left to the caller.
    pub(super) fn read_after_type(r: &mut BitReader<'_>) -> Result<Self, SdsError> {
        r.read_u8(4)?;
        let status = DeliveryStatus::new(r.read_u8(8)?);
        let message_reference = r.read_u8(8)?;
        Ok(SdsAck {
            status,
            message_reference,
        })
    }

    /// Writes the acknowledgement, message type first.
    pub fn write(&self, w: &mut BitWriter<'_>) -> Result<(), SdsError> {
        w.write(u32::from(Self::MESSAGE_TYPE), 4)?;
        w.write(0, 4)?;
        w.write(u32::from(self.status.get()), 8)?;
        w.write(u32::from(self.message_reference), 8)
    }
}
