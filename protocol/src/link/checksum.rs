//! The two checksums of the board link: CRC-16 on every frame, CRC-32 on a whole firmware image.
//!
//! The frame CRC is CRC-16/IBM-3740 (often called CRC-16/CCITT-FALSE): polynomial 0x1021,
//! initial value 0xFFFF, no reflection, no final XOR. Its polynomial has the factor (x + 1), so
//! every odd number of flipped bits is caught; it has Hamming distance 4 for messages up to
//! 32 751 bits, far above our largest frame (269 bytes, 2 152 bits), so any 1, 2 or 3 flipped
//! bits and every burst of up to 16 bits are caught. The non-zero initial value makes leading
//! zero bytes count. A stronger CRC-32 would cost two more bytes in every heartbeat for
//! protection the short frames of a UART link do not need; images get their own CRC-32 anyway.
//!
//! The image CRC is CRC-32/ISO-HDLC (the zlib / PNG one), so the host can compute it with any
//! stock tool before an update.

use ::crc::{CRC_16_IBM_3740, CRC_32_ISO_HDLC, Crc};

/// The CRC of every link frame: CRC-16/IBM-3740.
pub const FRAME_CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// The CRC of a whole firmware image in [`crate::link::Message::UpdateBegin`]:
/// CRC-32/ISO-HDLC.
pub const IMAGE_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The frame CRC of `bytes` (version, sequence number and body).
pub fn frame_crc(bytes: &[u8]) -> u16 {
    FRAME_CRC.checksum(bytes)
}

/// The image CRC of a complete firmware image.
pub fn image_crc32(image: &[u8]) -> u32 {
    IMAGE_CRC.checksum(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The catalogue "check" values: the CRC of the ASCII digits 1 to 9.
    #[test]
    fn frame_crc_is_ibm_3740() {
        assert_eq!(frame_crc(b"123456789"), 0x29B1);
        assert_eq!(frame_crc(b""), 0xFFFF);
    }

    #[test]
    fn image_crc_is_iso_hdlc() {
        assert_eq!(image_crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn leading_zeros_change_the_frame_crc() {
        assert_ne!(frame_crc(&[0, 1]), frame_crc(&[1]));
    }
}
