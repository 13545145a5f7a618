//! A marker in every 20 ms audio frame a simulated field unit speaks, so the listening end can
//! tell exactly which frame of which transmission it hears, and when it was spoken.
//!
//! The gateway carries G.711 A-law payload bytes untouched from capture to playout, so a frame
//! that comes out of a radio either is a spoken frame, byte for byte, or something the gateway
//! made up: a concealment repeat (the last frame 6 dB quieter) or comfort silence. A marker
//! holds the talker, the transmission number, the frame's sequence number and its send time,
//! protected by a CRC-32; attenuation changes the marker's bytes, so a concealed frame never
//! passes for a spoken one.
//!
//! Layout (160 bytes, big-endian):
//!
//! | offset | length | field |
//! |-------:|-------:|-------|
//! | 0      | 4      | magic `aa 2a aa 2a` (full-scale A-law codes: any attenuation changes them) |
//! | 4      | 2      | talker (the simulator's unit number) |
//! | 6      | 4      | transmission number |
//! | 10     | 2      | frame sequence number in the transmission, from 0 |
//! | 12     | 8      | send time, microseconds of simulation time |
//! | 20     | 4      | CRC-32 (ISO-HDLC) of bytes 0–19 and 24–159 |
//! | 24     | 136    | filler derived from the fields (a frame is never all one byte) |

use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::FRAME_LEN;
use crc::{CRC_32_ISO_HDLC, Crc};

const MAGIC: [u8; 4] = [0xaa, 0x2a, 0xaa, 0x2a];
const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
const CRC_AT: usize = 20;

/// What a marked frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Marker {
    /// The talking unit.
    pub talker: u16,
    /// The transmission (numbered across the whole run).
    pub transmission: u32,
    /// The frame's number within its transmission.
    pub seq: u16,
    /// When the unit spoke it.
    pub sent: Instant,
}

impl Marker {
    /// The 160-byte frame carrying this marker.
    pub fn frame(&self) -> [u8; FRAME_LEN] {
        let mut f = [0u8; FRAME_LEN];
        f[0..4].copy_from_slice(&MAGIC);
        f[4..6].copy_from_slice(&self.talker.to_be_bytes());
        f[6..10].copy_from_slice(&self.transmission.to_be_bytes());
        f[10..12].copy_from_slice(&self.seq.to_be_bytes());
        f[12..20].copy_from_slice(&self.sent.as_micros().to_be_bytes());
        // A filler that changes with every field, in the A-law speech range.
        let mut x = u32::from(self.seq) ^ (self.transmission << 8) ^ u32::from(self.talker);
        for b in &mut f[24..] {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *b = 0x80 | (x >> 24) as u8;
        }
        let crc = checksum(&f);
        f[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        f
    }

    /// Reads a frame's marker; `None` for a frame the gateway synthesised or altered.
    pub fn read(frame: &[u8; FRAME_LEN]) -> Option<Marker> {
        if frame[0..4] != MAGIC {
            return None;
        }
        let stored = u32::from_be_bytes(frame[CRC_AT..CRC_AT + 4].try_into().ok()?);
        if stored != checksum(frame) {
            return None;
        }
        Some(Marker {
            talker: u16::from_be_bytes([frame[4], frame[5]]),
            transmission: u32::from_be_bytes(frame[6..10].try_into().ok()?),
            seq: u16::from_be_bytes([frame[10], frame[11]]),
            sent: Instant::from_micros(u64::from_be_bytes(frame[12..20].try_into().ok()?)),
        })
    }
}

fn checksum(frame: &[u8; FRAME_LEN]) -> u32 {
    let mut digest = CRC.digest();
    digest.update(&frame[..CRC_AT]);
    digest.update(&frame[CRC_AT + 4..]);
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> Marker {
        Marker {
            talker: 3,
            transmission: 17,
            seq: 250,
            sent: Instant::from_micros(12_345_678),
        }
    }

    #[test]
    fn a_frame_reads_back() {
        assert_eq!(Marker::read(&marker().frame()), Some(marker()));
    }

    #[test]
    fn any_changed_byte_is_not_a_marker() {
        let frame = marker().frame();
        for i in 0..FRAME_LEN {
            let mut f = frame;
            f[i] ^= 0x01;
            assert_eq!(Marker::read(&f), None, "byte {i}");
        }
    }

    #[test]
    fn a_concealment_repeat_is_not_a_marker() {
        // The gateway's concealment attenuates A-law codes; a quieter copy must not pass.
        let frame = marker().frame();
        let quieter = frame.map(|b| {
            let x = b ^ 0x55;
            let (sign, seg, mant) = (x & 0x80, (x >> 4) & 7, x & 0x0f);
            let seg = seg.saturating_sub(1);
            (sign | (seg << 4) | mant) ^ 0x55
        });
        assert_eq!(Marker::read(&quieter), None);
        assert_eq!(Marker::read(&[0xd5; FRAME_LEN]), None, "A-law silence");
    }
}
