//! A classic libpcap file writer for IPv4/UDP datagrams (LINKTYPE_RAW), enough to hand
//! borderlink's packets to Wireshark or tshark.

use std::io::{self, Write};

/// Raw IPv4/IPv6 packets, no link-layer header.
const LINKTYPE_RAW: u32 = 101;

/// Writes a pcap global header.
pub(crate) fn write_header(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // magic, microsecond timestamps
    out.write_all(&2u16.to_le_bytes())?; // version 2.4
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?; // UTC
    out.write_all(&0u32.to_le_bytes())?; // timestamp accuracy
    out.write_all(&65_535u32.to_le_bytes())?; // snap length
    out.write_all(&LINKTYPE_RAW.to_le_bytes())
}

/// Writes one UDP datagram from `src` to `dst` (IPv4 and port), captured at `time_us`.
pub(crate) fn write_udp(
    out: &mut impl Write,
    time_us: u64,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    payload: &[u8],
) -> io::Result<()> {
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[1] = 46 << 2; // DSCP EF, as borderlink marks voice
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[8] = 64; // TTL
    ip[9] = 17; // UDP
    ip[12..16].copy_from_slice(&src.0);
    ip[16..20].copy_from_slice(&dst.0);
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut udp = [0u8; 8];
    udp[0..2].copy_from_slice(&src.1.to_be_bytes());
    udp[2..4].copy_from_slice(&dst.1.to_be_bytes());
    udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
    // UDP checksum 0: "not computed", valid for IPv4.
    out.write_all(&((time_us / 1_000_000) as u32).to_le_bytes())?;
    out.write_all(&((time_us % 1_000_000) as u32).to_le_bytes())?;
    out.write_all(&(ip_len as u32).to_le_bytes())?;
    out.write_all(&(ip_len as u32).to_le_bytes())?;
    out.write_all(&ip)?;
    out.write_all(&udp)?;
    out.write_all(payload)
}

/// The IPv4 header checksum (RFC 791).
fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_matches_rfc1071_example() {
        // A header whose checksum field, once filled, makes the whole header sum to 0xffff.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let sum = checksum(&h);
        assert_eq!(sum, 0xb861);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }
}
