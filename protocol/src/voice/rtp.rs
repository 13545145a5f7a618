//! A zero-copy view of an RTP packet (RFC 3550 §5.1), whatever its payload and extension.
//!
//! [`RtpPacket::new_checked`] verifies every length the header claims (CSRC list, header
//! extension, padding) against the buffer once, so the accessors after it cannot read out of
//! bounds. borderlink's own rules (payload type, the radio extension) live in
//! [`super::VoiceRepr`]; this view accepts any well-formed RTP.

use super::VoiceError;

/// Byte offsets of the fixed RTP header.
mod field {
    use core::ops::Range;

    pub(super) const VPXCC: usize = 0;
    pub(super) const MPT: usize = 1;
    pub(super) const SEQ: Range<usize> = 2..4;
    pub(super) const TIMESTAMP: Range<usize> = 4..8;
    pub(super) const SSRC: Range<usize> = 8..12;
    /// End of the fixed header; CSRCs follow.
    pub(super) const FIXED_END: usize = 12;
}

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = field::FIXED_END;

/// A read (and, for emitting, write) view of an RTP packet in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Wraps a buffer without checking it; accessors may then panic on short buffers.
    /// Use only on buffers you have just sized for emitting.
    pub const fn new_unchecked(buffer: T) -> Self {
        RtpPacket { buffer }
    }

    /// Wraps a buffer after checking that every length in the header fits inside it.
    pub fn new_checked(buffer: T) -> Result<Self, VoiceError> {
        let packet = RtpPacket { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the version and that the CSRC list, extension and padding fit the buffer.
    pub fn check_len(&self) -> Result<(), VoiceError> {
        let data = self.buffer.as_ref();
        let Some(&first) = data.first() else {
            return Err(VoiceError::Truncated { len: 0 });
        };
        // The version is checked first so a non-RTP datagram is named as such, not as short.
        if first >> 6 != 2 {
            return Err(VoiceError::Version { got: first >> 6 });
        }
        if data.len() < field::FIXED_END {
            return Err(VoiceError::Truncated { len: data.len() });
        }
        let ext_start = self.csrc_end();
        if data.len() < ext_start {
            return Err(VoiceError::Truncated { len: data.len() });
        }
        let payload_start = if self.extension() {
            let Some(words) = data.get(ext_start + 2..ext_start + 4) else {
                return Err(VoiceError::Truncated { len: data.len() });
            };
            let words = usize::from(u16::from_be_bytes([words[0], words[1]]));
            let end = ext_start + 4 + 4 * words;
            if data.len() < end {
                return Err(VoiceError::Truncated { len: data.len() });
            }
            end
        } else {
            ext_start
        };
        if self.padding() {
            // RFC 3550 §5.1: the last octet counts the padding, itself included.
            let count = usize::from(data[data.len() - 1]);
            if count == 0 || count > data.len() - payload_start {
                return Err(VoiceError::Padding { count: count as u8 });
            }
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// RTP version (2 for every packet that passed `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] >> 6
    }

    /// Whether padding octets end the packet.
    pub fn padding(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & 0x20 != 0
    }

    /// Whether a header extension follows the CSRC list.
    pub fn extension(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & 0x10 != 0
    }

    /// Number of contributing sources.
    pub fn csrc_count(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] & 0x0f
    }

    /// The marker bit: set on the first packet of a talk spurt (RFC 3551 §4.1).
    pub fn marker(&self) -> bool {
        self.buffer.as_ref()[field::MPT] & 0x80 != 0
    }

    /// Payload type (8 for G.711 A-law, RFC 3551 table 4).
    pub fn payload_type(&self) -> u8 {
        self.buffer.as_ref()[field::MPT] & 0x7f
    }

    /// Sequence number.
    pub fn sequence_number(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SEQ];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Media timestamp (8 kHz clock for G.711).
    pub fn timestamp(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::TIMESTAMP];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Synchronisation source identifier.
    pub fn ssrc(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SSRC];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    fn csrc_end(&self) -> usize {
        field::FIXED_END + 4 * usize::from(self.csrc_count())
    }

    /// The extension's 16-bit profile field (0xBEDE for RFC 8285 one-byte headers).
    pub fn extension_profile(&self) -> Option<u16> {
        if !self.extension() {
            return None;
        }
        let start = self.csrc_end();
        let b = &self.buffer.as_ref()[start..start + 2];
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Offset of the extension's data (after its 4-byte header) and its length in bytes.
    fn extension_range(&self) -> Option<(usize, usize)> {
        if !self.extension() {
            return None;
        }
        let start = self.csrc_end();
        let b = &self.buffer.as_ref()[start + 2..start + 4];
        Some((start + 4, 4 * usize::from(u16::from_be_bytes([b[0], b[1]]))))
    }

    /// The extension's data, after its profile and length words.
    pub fn extension_data(&self) -> Option<&[u8]> {
        let (start, len) = self.extension_range()?;
        Some(&self.buffer.as_ref()[start..start + len])
    }

    /// Offset of the extension's data within the packet (for error offsets).
    pub fn extension_offset(&self) -> Option<usize> {
        self.extension_range().map(|(start, _)| start)
    }

    fn payload_start(&self) -> usize {
        match self.extension_range() {
            Some((start, len)) => start + len,
            None => self.csrc_end(),
        }
    }

    /// Where the payload (without padding) sits in the buffer.
    pub fn payload_range(&self) -> core::ops::Range<usize> {
        let data = self.buffer.as_ref();
        let end = if self.padding() {
            data.len() - usize::from(data[data.len() - 1])
        } else {
            data.len()
        };
        self.payload_start()..end
    }

    /// The payload, without padding.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    /// Writes the first header byte: version 2, padding, extension and CSRC count.
    pub fn set_vpxcc(&mut self, padding: bool, extension: bool, csrc_count: u8) {
        self.buffer.as_mut()[field::VPXCC] =
            (2 << 6) | (u8::from(padding) << 5) | (u8::from(extension) << 4) | (csrc_count & 0x0f);
    }

    /// Writes the marker bit and payload type.
    pub fn set_marker_payload_type(&mut self, marker: bool, payload_type: u8) {
        self.buffer.as_mut()[field::MPT] = (u8::from(marker) << 7) | (payload_type & 0x7f);
    }

    /// Writes the sequence number.
    pub fn set_sequence_number(&mut self, value: u16) {
        self.buffer.as_mut()[field::SEQ].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes the timestamp.
    pub fn set_timestamp(&mut self, value: u32) {
        self.buffer.as_mut()[field::TIMESTAMP].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes the SSRC.
    pub fn set_ssrc(&mut self, value: u32) {
        self.buffer.as_mut()[field::SSRC].copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal RTP packet: no extension, no CSRC, four payload bytes.
    const PLAIN: [u8; 16] = [
        0x80, 0x88, 0x12, 0x34, 0x00, 0x00, 0x01, 0x40, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
    ];

    #[test]
    fn reads_fixed_header() {
        let p = RtpPacket::new_checked(&PLAIN[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 320);
        assert_eq!(p.ssrc(), 0xdead_beef);
        assert_eq!(p.extension_profile(), None);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
    }

    #[test]
    fn csrcs_are_skipped() {
        let mut b = [0u8; 20];
        b[..12].copy_from_slice(&PLAIN[..12]);
        b[0] = 0x82; // two CSRCs
        b[12..20].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.csrc_count(), 2);
        assert!(p.payload().is_empty());
        assert_eq!(
            RtpPacket::new_checked(&b[..19]),
            Err(VoiceError::Truncated { len: 19 })
        );
    }

    #[test]
    fn padding_is_removed_and_checked() {
        let mut b = PLAIN;
        b[0] |= 0x20;
        b[15] = 2; // the last two bytes are padding
        assert_eq!(RtpPacket::new_checked(&b[..]).unwrap().payload(), &[1, 2]);
        b[15] = 0;
        assert_eq!(
            RtpPacket::new_checked(&b[..]),
            Err(VoiceError::Padding { count: 0 })
        );
        b[15] = 5; // more padding than payload
        assert_eq!(
            RtpPacket::new_checked(&b[..]),
            Err(VoiceError::Padding { count: 5 })
        );
    }

    #[test]
    fn extension_length_beyond_buffer_is_truncation() {
        let mut b = [0u8; 16];
        b[..12].copy_from_slice(&PLAIN[..12]);
        b[0] = 0x90;
        b[12..16].copy_from_slice(&[0xbe, 0xde, 0x00, 0x01]); // claims 4 more bytes
        assert_eq!(
            RtpPacket::new_checked(&b[..]),
            Err(VoiceError::Truncated { len: 16 })
        );
    }

    #[test]
    fn wrong_version_is_named() {
        let mut b = PLAIN;
        b[0] = 0x40;
        assert_eq!(
            RtpPacket::new_checked(&b[..]),
            Err(VoiceError::Version { got: 1 })
        );
        assert_eq!(
            RtpPacket::new_checked(&b[..0]),
            Err(VoiceError::Truncated { len: 0 })
        );
    }
}
