//! SRTP and SRTCP protection for one peer (RFC 3711, RFC 7714), on `webrtc-srtp`'s contexts
//! (pure Rust over RustCrypto), with what a border daemon needs around them:
//!
//! - **Headers are checked before the library sees them.** The library parses the clear RTP
//!   header to find the encrypted part and would panic on an extension element that runs past
//!   the datagram; [`rtp_header_len`] refuses any header whose RFC 8285 elements do not tile
//!   their block exactly, so nothing hostile reaches it and its idea of the header length is
//!   always ours.
//! - **Replay protection is ours** ([`super::replay`]): the library's is switched off, so that
//!   a window is checked before any crypto, recorded only after authentication, and kept as
//!   long as this daemon decides (see [`super::links`]).
//! - **Bounded state.** A context keeps a little state per SSRC it has seen, forged ones
//!   included, and cannot forget one. It is rebuilt from the master key once it has seen
//!   [`SSRC_CAP`] SSRCs. That loses only the rollover counter of a stream past 65,536 packets,
//!   so a rebuild waits while such a stream is live (voice streams end well before: a
//!   transmission is cut at the 180 s TX cap, 9,000 packets).

use std::collections::{HashMap, HashSet};

use borderlink_protocol::time::{Duration, Instant};
use webrtc_srtp::context::Context;

use super::keys::{MasterKey, Suite};

/// SSRCs a context may see before it is rebuilt.
pub const SSRC_CAP: usize = 4096;

/// A stream is live for the rebuild rule if it sent or received within this.
const LIVE: Duration = Duration::from_secs(60);

/// Why a packet could not be protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpFailure {
    /// The packet is too short or its header is malformed.
    Malformed,
    /// The authentication tag does not verify: wrong key, forged or damaged.
    Auth,
}

fn context(key: &MasterKey) -> Context {
    // Only fails on key and salt lengths, which MasterKey guarantees.
    Context::new(key.key(), key.salt(), key.suite().profile(), None, None)
        .expect("master key and salt lengths match the suite")
}

/// The length of an RTP packet's header (fixed part, CSRCs, extension), if it is well formed
/// in the strict sense above; `len` is the length without the SRTP tag.
pub fn rtp_header_len(packet: &[u8]) -> Option<usize> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    let mut at = 12 + 4 * usize::from(packet[0] & 0x0f);
    if packet.len() < at {
        return None;
    }
    if packet[0] & 0x10 == 0 {
        return Some(at);
    }
    let ext = packet.get(at..at + 4)?;
    let profile = u16::from_be_bytes([ext[0], ext[1]]);
    let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    at += 4;
    let end = at + 4 * words;
    if packet.len() < end {
        return None;
    }
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile == 0xbede || two_byte {
        while at < end {
            let b = packet[at];
            if b == 0 {
                at += 1;
                continue;
            }
            let (header, len) = if two_byte {
                (
                    2,
                    usize::from(*packet.get(at + 1).filter(|_| at + 1 < end)?),
                )
            } else if b >> 4 == 15 {
                // ID 15 ends the walk early (RFC 8285): the rest would be unaccounted for.
                return None;
            } else {
                (1, usize::from(b & 0x0f) + 1)
            };
            at += header + len;
        }
        if at != end {
            return None;
        }
    }
    Some(end)
}

/// The sending half: protects this site's packets for one peer.
pub struct SrtpSend {
    key: MasterKey,
    rtp: Context,
    rtcp: Context,
    /// Per SSRC sent since the context was built: last sequence number, wrapped, last use.
    ssrcs: HashMap<u32, (u16, bool, Instant)>,
}

impl std::fmt::Debug for SrtpSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSend")
            .field("suite", &self.key.suite())
            .field("ssrcs", &self.ssrcs.len())
            .finish()
    }
}

impl SrtpSend {
    /// Contexts for a peer's key.
    pub fn new(key: MasterKey) -> Self {
        SrtpSend {
            rtp: context(&key),
            rtcp: context(&key),
            key,
            ssrcs: HashMap::new(),
        }
    }

    /// The suite in use.
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// Protects an RTP packet, appending the result to `out`.
    pub fn protect_rtp(
        &mut self,
        now: Instant,
        packet: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpFailure> {
        rtp_header_len(packet).ok_or(SrtpFailure::Malformed)?;
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        if !self.ssrcs.contains_key(&ssrc) && self.ssrcs.len() >= SSRC_CAP {
            let wrapped_live = self
                .ssrcs
                .values()
                .any(|&(_, wrapped, at)| wrapped && now.saturating_since(at) < LIVE);
            // Never while a live stream has wrapped: its packets would be encrypted again
            // under rollover counter 0, reusing keystream. A stream silent for a minute has
            // ended (the engine ends streams after a second) and its SSRC is never reused.
            if !wrapped_live {
                self.rtp = context(&self.key);
                self.ssrcs.clear();
            }
        }
        let entry = self.ssrcs.entry(ssrc).or_insert((seq, false, now));
        if seq < entry.0 && entry.0 - seq > 0x8000 {
            entry.1 = true;
        }
        entry.0 = seq;
        entry.2 = now;
        let protected = self
            .rtp
            .encrypt_rtp(packet)
            .map_err(|_| SrtpFailure::Malformed)?;
        out.extend_from_slice(&protected);
        Ok(())
    }

    /// Protects an RTCP packet (one SSRC per run: the keepalives), appending it to `out`.
    pub fn protect_rtcp(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<(), SrtpFailure> {
        if packet.len() < 8 {
            return Err(SrtpFailure::Malformed);
        }
        let protected = self
            .rtcp
            .encrypt_rtcp(packet)
            .map_err(|_| SrtpFailure::Malformed)?;
        out.extend_from_slice(&protected);
        Ok(())
    }
}

/// The receiving half: authenticates and decrypts one peer's packets.
pub struct SrtpReceive {
    key: MasterKey,
    rtp: Context,
    rtcp: Context,
    /// SSRCs handed to each context since it was built (forgeries included).
    rtp_seen: HashSet<u32>,
    rtcp_seen: HashSet<u32>,
}

impl std::fmt::Debug for SrtpReceive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpReceive")
            .field("suite", &self.key.suite())
            .field("rtp_ssrcs", &self.rtp_seen.len())
            .finish()
    }
}

impl SrtpReceive {
    /// Contexts for a peer's key.
    pub fn new(key: MasterKey) -> Self {
        SrtpReceive {
            rtp: context(&key),
            rtcp: context(&key),
            key,
            rtp_seen: HashSet::new(),
            rtcp_seen: HashSet::new(),
        }
    }

    /// The suite in use.
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// Authenticates and decrypts an SRTP packet whose header [`rtp_header_len`] accepted.
    /// `wrapped_live` says whether a live stream has passed 65,536 packets (its rollover
    /// counter would be lost by a rebuild).
    pub fn unprotect_rtp(
        &mut self,
        packet: &[u8],
        wrapped_live: impl FnOnce() -> bool,
    ) -> Result<bytes::Bytes, SrtpFailure> {
        let tag = self.key.suite().rtp_tag_len();
        if packet.len() < tag + 12 {
            return Err(SrtpFailure::Malformed);
        }
        let header = rtp_header_len(&packet[..packet.len() - tag]).ok_or(SrtpFailure::Malformed)?;
        debug_assert!(header <= packet.len() - tag);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        if !self.rtp_seen.contains(&ssrc)
            && self.rtp_seen.len() >= SSRC_CAP
            && (self.rtp_seen.len() >= 4 * SSRC_CAP || !wrapped_live())
        {
            self.rtp = context(&self.key);
            self.rtp_seen.clear();
        }
        self.rtp_seen.insert(ssrc);
        self.rtp.decrypt_rtp(packet).map_err(|_| SrtpFailure::Auth)
    }

    /// Authenticates and decrypts an SRTCP packet.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpFailure> {
        if packet.len() < 8 + self.key.suite().rtcp_trailer_len() || packet[0] >> 6 != 2 {
            return Err(SrtpFailure::Malformed);
        }
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        if !self.rtcp_seen.contains(&ssrc) && self.rtcp_seen.len() >= 64 {
            // SRTCP carries its index in full: a rebuild loses nothing.
            self.rtcp = context(&self.key);
            self.rtcp_seen.clear();
        }
        self.rtcp_seen.insert(ssrc);
        self.rtcp
            .decrypt_rtcp(packet)
            .map(|b| b.to_vec())
            .map_err(|_| SrtpFailure::Auth)
    }
}

/// The SRTCP index of a protected packet (E flag cleared), if it is long enough.
pub fn rtcp_index(suite: Suite, packet: &[u8]) -> Option<u32> {
    let at = packet.len().checked_sub(suite.rtcp_index_from_end())?;
    let b = packet.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
}

#[cfg(test)]
mod tests {
    use borderlink_protocol::ids::{Network, Tsi};
    use borderlink_protocol::voice::{
        KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState,
        VoiceRepr,
    };

    use super::*;

    fn key(suite: Suite) -> MasterKey {
        let bytes: Vec<u8> = (0..(suite.key_len() + suite.salt_len()) as u8).collect();
        MasterKey::new(suite, &bytes).unwrap()
    }

    fn voice(seq: u16, ssrc: u32) -> Vec<u8> {
        let frame = [0x55u8; 160];
        let repr = VoiceRepr {
            sequence: seq,
            timestamp: u32::from(seq) * 160,
            ssrc,
            radio: RadioHeader {
                tx: TxState::Continue,
                squelch_open: true,
                emergency: false,
                priority: Priority::new(3).unwrap(),
                talker: Some(Tsi::from_parts(206, 1, 1_234_567).unwrap()),
                talkgroup: Tsi::from_parts(206, 1, 2_061_001).unwrap(),
                origin: Origin {
                    site: SiteId(1),
                    network: Some(Network::Astrid),
                },
                stream: StreamId(9),
                started: KeyUpTime(5),
            },
            payload: &frame,
        };
        let mut buf = [0u8; MAX_PACKET_LEN];
        let len = repr.emit(&mut buf).unwrap();
        buf[..len].to_vec()
    }

    #[test]
    fn round_trip_both_suites_and_tampering_fails() {
        for suite in [Suite::AeadAes128Gcm, Suite::AesCm128HmacSha1_80] {
            let mut tx = SrtpSend::new(key(suite));
            let mut rx = SrtpReceive::new(key(suite));
            let plain = voice(1, 77);
            let mut wire = Vec::new();
            tx.protect_rtp(Instant::ZERO, &plain, &mut wire).unwrap();
            assert_eq!(wire.len(), plain.len() + suite.rtp_tag_len());
            assert_ne!(
                wire[plain.len() - 160..plain.len()],
                plain[plain.len() - 160..]
            );
            let mut bad = wire.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(rx.unprotect_rtp(&bad, || false), Err(SrtpFailure::Auth));
            assert_eq!(rx.unprotect_rtp(&wire, || false).unwrap(), plain);
        }
    }

    #[test]
    fn another_key_does_not_authenticate() {
        let mut tx = SrtpSend::new(MasterKey::new(Suite::AeadAes128Gcm, &[7; 28]).unwrap());
        let mut rx = SrtpReceive::new(key(Suite::AeadAes128Gcm));
        let mut wire = Vec::new();
        tx.protect_rtp(Instant::ZERO, &voice(1, 5), &mut wire)
            .unwrap();
        assert_eq!(rx.unprotect_rtp(&wire, || false), Err(SrtpFailure::Auth));
    }

    #[test]
    fn hostile_headers_never_reach_the_library() {
        let good = voice(1, 5);
        assert_eq!(rtp_header_len(&good), Some(good.len() - 160));
        // An element length that runs past the datagram (the library would panic on it).
        let mut past_end = good[..20].to_vec();
        past_end[14..16].copy_from_slice(&[0, 1]); // one word of extension
        past_end[16] = 0x1f; // id 1, 16 bytes: beyond the block and the packet
        assert_eq!(rtp_header_len(&past_end), None);
        // An extension length beyond the packet.
        let mut long = good.clone();
        long[14..16].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(rtp_header_len(&long), None);
        // ID 15 leaves bytes unaccounted for.
        let mut fifteen = good.clone();
        fifteen[16] = 0xf0;
        assert_eq!(rtp_header_len(&fifteen), None);
        // Not version 2, too short, CSRCs past the end.
        assert_eq!(rtp_header_len(&[0x40; 12]), None);
        assert_eq!(rtp_header_len(&good[..11]), None);
        assert_eq!(rtp_header_len(&[0x8f; 20]), None);
        let mut rx = SrtpReceive::new(key(Suite::AeadAes128Gcm));
        for n in 0..past_end.len() {
            let r = rx.unprotect_rtp(&past_end[..n], || false);
            assert!(r.is_err());
        }
        assert_eq!(
            rx.unprotect_rtcp(&[0x80, 204, 0, 1, 0, 0, 0]),
            Err(SrtpFailure::Malformed)
        );
    }

    #[test]
    fn a_flood_of_forged_ssrcs_rebuilds_the_context_and_real_streams_carry_on() {
        let suite = Suite::AesCm128HmacSha1_80;
        let mut tx = SrtpSend::new(key(suite));
        let mut rx = SrtpReceive::new(key(suite));
        let mut wire = Vec::new();
        tx.protect_rtp(Instant::ZERO, &voice(1, 5), &mut wire)
            .unwrap();
        assert!(rx.unprotect_rtp(&wire, || false).is_ok());
        for ssrc in 1000..1000 + 2 * SSRC_CAP as u32 {
            let mut forged = voice(1, ssrc);
            forged.extend_from_slice(&[0; 10]);
            assert_eq!(rx.unprotect_rtp(&forged, || false), Err(SrtpFailure::Auth));
        }
        assert!(rx.rtp_seen.len() <= SSRC_CAP);
        wire.clear();
        tx.protect_rtp(Instant::ZERO, &voice(2, 5), &mut wire)
            .unwrap();
        assert!(rx.unprotect_rtp(&wire, || false).is_ok());
    }

    #[test]
    fn srtcp_round_trip_and_index() {
        for suite in [Suite::AeadAes128Gcm, Suite::AesCm128HmacSha1_80] {
            let mut tx = SrtpSend::new(key(suite));
            let mut rx = SrtpReceive::new(key(suite));
            let mut plain = [0u8; 48];
            plain[0] = 0x80;
            plain[1] = 204;
            plain[3] = 11;
            plain[4..8].copy_from_slice(&[1, 2, 3, 4]);
            for n in 1..=3u32 {
                let mut wire = Vec::new();
                tx.protect_rtcp(&plain, &mut wire).unwrap();
                assert_eq!(wire.len(), 48 + suite.rtcp_trailer_len());
                assert_eq!(rtcp_index(suite, &wire), Some(n));
                assert_eq!(rx.unprotect_rtcp(&wire).unwrap(), plain);
            }
        }
    }
}
