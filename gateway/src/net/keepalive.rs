//! The keepalive: an RTCP APP packet (RFC 3550 §6.7, name `BLKA`) that each side sends to
//! each peer every keepalive interval, protected as SRTCP with the peer's key, so it is
//! authenticated like voice and replays of it are refused by the SRTCP index.
//!
//! It measures round-trip time without synchronised clocks, the way RTCP's LSR/DLSR do: each
//! keepalive echoes the send time of the latest one received from the addressee and how long
//! it was held, so `RTT = now − echo − held`, all on the measuring side's own clock. It also
//! carries the wall-clock time, so an old keepalive replayed after its replay state has been
//! forgotten is refused as stale. Byte layout (`docs/wire.md`, "Peer links"):
//!
//! ```text
//!  0      V=2 P=0 subtype=0 (0x80)        1      PT=204 (APP)    2-3   length=11
//!  4-7    SSRC of the sender's keepalives (new at every start)
//!  8-11   "BLKA"
//!  12-13  sender's site id               14     version (1)     15    flags (bit 0: hearing you)
//!  16-19  keepalive sequence number
//!  20-27  sender's monotonic clock at send, µs
//!  28-35  sender's wall clock at send, ms since 1970
//!  36-43  echo: monotonic send time of the latest keepalive received from the addressee (0: none)
//!  44-47  echo delay: µs that keepalive was held before this one was sent
//! ```

use borderlink_protocol::voice::SiteId;

/// RTCP packet type of an APP packet.
pub const RTCP_APP: u8 = 204;
/// The APP packet's name.
pub const NAME: [u8; 4] = *b"BLKA";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;

/// One keepalive, as sent or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// SSRC of the sender's keepalive stream.
    pub ssrc: u32,
    /// The sender's site.
    pub site: SiteId,
    /// The sender has heard the addressee recently.
    pub hearing: bool,
    /// Keepalive sequence number.
    pub seq: u32,
    /// The sender's monotonic clock at send, µs.
    pub sent_us: u64,
    /// The sender's wall clock at send, ms since the Unix epoch.
    pub wall_ms: u64,
    /// The `sent_us` of the latest keepalive received from the addressee, 0 if none.
    pub echo_us: u64,
    /// How long that keepalive was held before this one was sent, µs.
    pub echo_delay_us: u32,
}

/// Why a (decrypted) keepalive was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveError {
    /// Not [`Keepalive::LEN`] bytes.
    Length {
        /// Bytes received.
        len: usize,
    },
    /// Not an RTCP version 2 APP packet of the right length field.
    NotApp,
    /// An APP packet with another name.
    Name,
    /// Another format version.
    Version {
        /// The version it carries.
        got: u8,
    },
}

impl core::fmt::Display for KeepaliveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeepaliveError::Length { len } => {
                write!(f, "{len} bytes, a keepalive has {}", Keepalive::LEN)
            }
            KeepaliveError::NotApp => f.write_str("not an RTCP APP packet"),
            KeepaliveError::Name => f.write_str("APP packet name is not BLKA"),
            KeepaliveError::Version { got } => {
                write!(f, "keepalive version {got}, expected {VERSION}")
            }
        }
    }
}

impl Keepalive {
    /// Length of a keepalive before SRTCP protection.
    pub const LEN: usize = 48;

    /// Writes the packet.
    pub fn emit(&self, buf: &mut [u8; Self::LEN]) {
        buf[0] = 0x80;
        buf[1] = RTCP_APP;
        buf[2..4].copy_from_slice(&((Self::LEN / 4 - 1) as u16).to_be_bytes());
        buf[4..8].copy_from_slice(&self.ssrc.to_be_bytes());
        buf[8..12].copy_from_slice(&NAME);
        buf[12..14].copy_from_slice(&self.site.0.to_be_bytes());
        buf[14] = VERSION;
        buf[15] = u8::from(self.hearing);
        buf[16..20].copy_from_slice(&self.seq.to_be_bytes());
        buf[20..28].copy_from_slice(&self.sent_us.to_be_bytes());
        buf[28..36].copy_from_slice(&self.wall_ms.to_be_bytes());
        buf[36..44].copy_from_slice(&self.echo_us.to_be_bytes());
        buf[44..48].copy_from_slice(&self.echo_delay_us.to_be_bytes());
    }

    /// Reads a packet; unknown flag bits are ignored so later versions can add some.
    pub fn parse(b: &[u8]) -> Result<Self, KeepaliveError> {
        let b: &[u8; Self::LEN] = b
            .try_into()
            .map_err(|_| KeepaliveError::Length { len: b.len() })?;
        if b[0] != 0x80 || b[1] != RTCP_APP || b[2..4] != [0, (Self::LEN / 4 - 1) as u8] {
            return Err(KeepaliveError::NotApp);
        }
        if b[8..12] != NAME {
            return Err(KeepaliveError::Name);
        }
        if b[14] != VERSION {
            return Err(KeepaliveError::Version { got: b[14] });
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
        Ok(Keepalive {
            ssrc: u32_at(4),
            site: SiteId(u16::from_be_bytes([b[12], b[13]])),
            hearing: b[15] & 1 != 0,
            seq: u32_at(16),
            sent_us: u64_at(20),
            wall_ms: u64_at(28),
            echo_us: u64_at(36),
            echo_delay_us: u32_at(44),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Keepalive {
        Keepalive {
            ssrc: 0x0102_0304,
            site: SiteId(2),
            hearing: true,
            seq: 7,
            sent_us: 1_000_000,
            wall_ms: 1_700_000_000_000,
            echo_us: 990_000,
            echo_delay_us: 250,
        }
    }

    #[test]
    fn worked_example_bytes() {
        let mut buf = [0xa5; Keepalive::LEN];
        sample().emit(&mut buf);
        let expected = hex::decode(concat!(
            "80cc000b",
            "01020304",
            "424c4b41",
            "0002",
            "01",
            "01",
            "00000007",
            "00000000000f4240",
            "0000018bcfe56800",
            "00000000000f1b30",
            "000000fa"
        ))
        .unwrap();
        assert_eq!(buf[..], expected[..]);
        assert_eq!(Keepalive::parse(&buf), Ok(sample()));
    }

    #[test]
    fn refuses_what_is_not_a_keepalive() {
        let mut buf = [0; Keepalive::LEN];
        sample().emit(&mut buf);
        assert_eq!(
            Keepalive::parse(&buf[..40]),
            Err(KeepaliveError::Length { len: 40 })
        );
        let mut other = buf;
        other[1] = 200; // a sender report
        assert_eq!(Keepalive::parse(&other), Err(KeepaliveError::NotApp));
        let mut other = buf;
        other[8] = b'X';
        assert_eq!(Keepalive::parse(&other), Err(KeepaliveError::Name));
        let mut other = buf;
        other[14] = 2;
        assert_eq!(
            Keepalive::parse(&other),
            Err(KeepaliveError::Version { got: 2 })
        );
    }
}
