//! Voice on IP: RTP (RFC 3550) packets carrying G.711 A-law, with an RFC 8285 header extension
//! that carries the radio signalling a gateway needs to relay a TETRA transmission.
//!
//! Every packet is complete on its own: transmission state, squelch, priority and emergency,
//! talker and talkgroup, origin site and network, and a stream id travel in each one, so a
//! receiver that joins mid-transmission, or loses the first packet, still knows everything.
//! The extension uses the one-byte form (profile 0xBEDE) with these local IDs (the SDP
//! `extmap` URIs are listed in `docs/wire.md`):
//!
//! | ID | element     | bytes | content                                                       |
//! |----|-------------|-------|---------------------------------------------------------------|
//! | 1  | radio state | 1     | tx state (2 bits) · squelch (1) · emergency (1) · priority (4) |
//! | 2  | talker      | 6     | talker TSI, 48 bits big-endian (omitted when unknown)          |
//! | 3  | talkgroup   | 6     | talkgroup GTSI, 48 bits big-endian                             |
//! | 4  | origin      | 3     | origin site id (u16) · origin network (0 IP, 1 ASTRID, 2 C2000) |
//! | 5  | stream      | 4     | stream id (u32), unique per origin site                        |
//! | 7  | key-up time | 8     | origin's synchronised clock at key-up, ms since 1970 (u64)      |
//!
//! ID 6 was the key-up time of voice version 1 (ms mod 2^32, 4 bytes). It wrapped every 49.7
//! days, so freshness could not be judged on it; a packet that carries it and not ID 7 is
//! refused with [`VoiceError::LegacyKeyUp`], which tells the operator to upgrade the sender.
//!
//! The payload is one 20 ms G.711 A-law frame (payload type 8, 160 bytes, 8 kHz timestamps) or
//! nothing at all (a signalling-only packet, e.g. an end of transmission with no audio left).
//! [`g711`] converts the audio to and from linear samples and tells silence from speech.
//! Standard tools see plain RTP: Wireshark's RTP dissector shows the header, lists the
//! extension elements and plays the audio.
//!
//! ```
//! use borderlink_protocol::ids::{Network, Tsi};
//! use borderlink_protocol::voice::*;
//!
//! let frame = [0xd5u8; FRAME_LEN]; // A-law silence
//! let repr = VoiceRepr {
//!     sequence: 7,
//!     timestamp: 7 * FRAME_SAMPLES,
//!     ssrc: 0x0102_0304,
//!     radio: RadioHeader {
//!         tx: TxState::Continue,
//!         squelch_open: true,
//!         emergency: false,
//!         priority: Priority::new(3).unwrap(),
//!         talker: Some(Tsi::from_parts(206, 1, 1_234_567).unwrap()),
//!         talkgroup: Tsi::from_parts(206, 1, 2_061_001).unwrap(),
//!         origin: Origin { site: SiteId(12), network: Some(Network::Astrid) },
//!         stream: StreamId(0xcafe),
//!         started: KeyUpTime(1_765_000_000_000),
//!     },
//!     payload: &frame,
//! };
//! let mut buf = [0u8; 256];
//! let len = repr.emit(&mut buf).unwrap();
//! assert_eq!(len, repr.buffer_len());
//! assert_eq!(VoiceRepr::parse(&buf[..len]), Ok(repr));
//! ```

mod extension;
pub mod g711;
mod rtp;

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{Network, Tsi};
pub use extension::{Element, ElementWriter, Elements, PROFILE_ONE_BYTE, PROFILE_TWO_BYTE};
pub use rtp::{HEADER_LEN, RtpPacket};

/// RTP payload type of G.711 A-law (RFC 3551).
pub const PAYLOAD_TYPE_PCMA: u8 = 8;
/// Bytes in one 20 ms G.711 frame at 8 kHz.
pub const FRAME_LEN: usize = 160;
/// RTP timestamp increment per frame (8 kHz clock, 20 ms).
pub const FRAME_SAMPLES: u32 = 160;
/// Largest packet [`VoiceRepr::emit`] writes: header, full extension, one frame.
pub const MAX_PACKET_LEN: usize = HEADER_LEN + 4 + EXTENSION_MAX_LEN + FRAME_LEN;

/// Local extension IDs borderlink uses (one-byte form).
pub mod element {
    /// Transmission state, squelch, emergency, priority.
    pub const RADIO_STATE: u8 = 1;
    /// Talker TSI.
    pub const TALKER: u8 = 2;
    /// Talkgroup GTSI.
    pub const TALKGROUP: u8 = 3;
    /// Origin site and network.
    pub const ORIGIN: u8 = 4;
    /// Stream id.
    pub const STREAM: u8 = 5;
    /// Key-up time of voice version 1 (32 bits, wrapping): refused.
    pub const KEY_UP_V1: u8 = 6;
    /// Key-up time (64 bits, ms since 1970).
    pub const KEY_UP: u8 = 7;

    /// The element's name, for error messages.
    pub const fn name(id: u8) -> &'static str {
        match id {
            RADIO_STATE => "radio state",
            TALKER => "talker",
            TALKGROUP => "talkgroup",
            ORIGIN => "origin",
            STREAM => "stream",
            KEY_UP => "key-up time",
            KEY_UP_V1 => "32-bit key-up time",
            _ => "unknown",
        }
    }

    /// The element's data length.
    pub(super) const fn len(id: u8) -> usize {
        match id {
            RADIO_STATE => 1,
            TALKER | TALKGROUP => 6,
            ORIGIN => 3,
            STREAM | KEY_UP_V1 => 4,
            KEY_UP => 8,
            _ => 0,
        }
    }
}

const EXTENSION_MAX_LEN: usize = extension::one_byte_len(&[1, 6, 6, 3, 4, 8]);
const EXTENSION_NO_TALKER_LEN: usize = extension::one_byte_len(&[1, 6, 3, 4, 8]);

/// Why a voice packet was rejected. Offsets count from the first byte of the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceError {
    /// The packet ends before the lengths its header claims (`len` bytes were there).
    Truncated {
        /// Bytes in the packet.
        len: usize,
    },
    /// Not RTP version 2.
    Version {
        /// The version field found.
        got: u8,
    },
    /// The padding count is zero or larger than the payload.
    Padding {
        /// The padding count found in the last byte.
        count: u8,
    },
    /// The packet carries no header extension, so no radio signalling.
    NoExtension,
    /// The header extension is not RFC 8285.
    ExtensionProfile {
        /// The profile field found.
        profile: u16,
    },
    /// A malformed extension element at this offset.
    Extension {
        /// Offset of the element's header byte.
        offset: usize,
    },
    /// A known element with the wrong data length.
    ElementLength {
        /// Element ID.
        id: u8,
        /// Length found.
        len: usize,
    },
    /// The same element twice.
    DuplicateElement {
        /// Element ID.
        id: u8,
    },
    /// A required element is absent.
    MissingElement {
        /// Element ID.
        id: u8,
    },
    /// The transmission-state bits hold the reserved value 0.
    TxState,
    /// The origin network code is not 0, 1 or 2.
    OriginNetwork {
        /// The code found.
        code: u8,
    },
    /// Not payload type 8 (G.711 A-law).
    PayloadType {
        /// The payload type found.
        pt: u8,
    },
    /// The payload is neither empty nor one 20 ms frame.
    PayloadLength {
        /// Payload bytes found.
        len: usize,
    },
    /// The key-up time comes in voice version 1's 32-bit form (element 6) and not in
    /// element 7: the sender runs a borderlink older than voice version 2.
    LegacyKeyUp,
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for VoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VoiceError::*;
        match *self {
            Truncated { len } => write!(
                f,
                "packet truncated: {len} bytes is shorter than its header claims"
            ),
            Version { got } => write!(f, "RTP version {got} at offset 0, expected 2"),
            Padding { count } => write!(f, "invalid RTP padding count {count} in the last byte"),
            NoExtension => f.write_str("no RTP header extension: the radio signalling is missing"),
            ExtensionProfile { profile } => {
                write!(
                    f,
                    "header extension profile {profile:#06x} is not RFC 8285 (0xbede or 0x100x)"
                )
            }
            Extension { offset } => write!(f, "malformed extension element at offset {offset}"),
            ElementLength { id, len } => write!(
                f,
                "{} element (id {id}) has {len} bytes, expected {}",
                element::name(id),
                element::len(id)
            ),
            DuplicateElement { id } => {
                write!(f, "{} element (id {id}) appears twice", element::name(id))
            }
            MissingElement { id } => write!(
                f,
                "required {} element (id {id}) is missing",
                element::name(id)
            ),
            TxState => f.write_str("transmission state 0 is reserved"),
            OriginNetwork { code } => write!(
                f,
                "origin network code {code}, expected 0 (IP), 1 (ASTRID) or 2 (C2000)"
            ),
            PayloadType { pt } => {
                write!(f, "payload type {pt} at offset 1, expected 8 (G.711 A-law)")
            }
            PayloadLength { len } => write!(
                f,
                "payload of {len} bytes, expected 0 or {FRAME_LEN} (one 20 ms frame)"
            ),
            LegacyKeyUp => f.write_str(
                "key-up time in the 32-bit form of voice version 1 (element 6, wraps every 49.7 \
                 days): the sender runs an older borderlink; upgrade it to voice version 2",
            ),
            BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
        }
    }
}

impl core::error::Error for VoiceError {}

/// Where a transmission is in its life, per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TxState {
    /// First packet of a transmission (RTP marker set).
    Start,
    /// A packet in the middle.
    Continue,
    /// The last packet: the talker has released.
    End,
}

impl TxState {
    const fn code(self) -> u8 {
        match self {
            TxState::Start => 1,
            TxState::Continue => 2,
            TxState::End => 3,
        }
    }
}

/// TETRA call priority, 0–15 (EN 300 392-2: 0 undefined, 12–14 pre-emptive, 15 emergency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Priority(u8);

impl Priority {
    /// The highest priority, reserved for emergency pre-emptive calls.
    pub const EMERGENCY: Priority = Priority(15);
    /// Level 0: priority not defined.
    pub const UNDEFINED: Priority = Priority(0);

    /// A priority, or `None` above 15.
    pub const fn new(level: u8) -> Option<Self> {
        if level <= 15 {
            Some(Priority(level))
        } else {
            None
        }
    }

    /// The level, 0–15.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// Identifier of a border-site gateway or dispatch centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SiteId(pub u16);

/// Identifier of a transmission, unique per origin site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StreamId(pub u32);

/// When a transmission started: the origin site's clock (NTP-synchronised) at key-up, in
/// milliseconds since 1970-01-01 UTC.
///
/// Floor control compares key-up times so that every site picks the same winner between
/// simultaneous key-ups without a round trip, and receivers refuse a packet whose key-up time
/// is too far from their own clock (a replay). 64 bits never wrap, so both comparisons hold
/// for any age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyUpTime(pub u64);

impl KeyUpTime {
    /// Whether `self` is earlier than `other`.
    pub const fn is_before(self, other: KeyUpTime) -> bool {
        self.0 < other.0
    }

    /// Milliseconds from `self` to the wall-clock time `wall_ms`: positive when the key-up
    /// lies in the past, negative when it lies in the future.
    pub const fn age_ms(self, wall_ms: u64) -> i128 {
        wall_ms as i128 - self.0 as i128
    }
}

/// Where a stream entered the borderlink system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    /// The site whose gateway or console first put the stream on IP.
    pub site: SiteId,
    /// The radio network it came from; `None` for a dispatch console on IP.
    pub network: Option<Network>,
}

/// The radio signalling borderlink carries in every voice packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RadioHeader {
    /// Transmission state.
    pub tx: TxState,
    /// Whether the source's squelch is open (audio present rather than background).
    pub squelch_open: bool,
    /// Emergency call.
    pub emergency: bool,
    /// Call priority.
    pub priority: Priority,
    /// Who is talking, if known.
    pub talker: Option<Tsi>,
    /// The talkgroup the audio belongs to.
    pub talkgroup: Tsi,
    /// Origin site and network, for loop prevention.
    pub origin: Origin,
    /// The stream id, for duplicate suppression across paths.
    pub stream: StreamId,
    /// When the transmission started, for floor arbitration.
    pub started: KeyUpTime,
}

impl RadioHeader {
    fn state_byte(&self) -> u8 {
        (self.tx.code() << 6)
            | (u8::from(self.squelch_open) << 5)
            | (u8::from(self.emergency) << 4)
            | self.priority.0
    }

    fn extension_len(&self) -> usize {
        if self.talker.is_some() {
            EXTENSION_MAX_LEN
        } else {
            EXTENSION_NO_TALKER_LEN
        }
    }
}

/// A borderlink voice packet: RTP fields, radio header and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct VoiceRepr<'a> {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (8 kHz).
    pub timestamp: u32,
    /// RTP synchronisation source.
    pub ssrc: u32,
    /// Radio signalling.
    pub radio: RadioHeader,
    /// Empty, or one 20 ms G.711 A-law frame.
    #[serde(serialize_with = "serialize_hex")]
    pub payload: &'a [u8],
}

fn serialize_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    struct Hex<'a>(&'a [u8]);
    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
    s.collect_str(&Hex(bytes))
}

impl<'a> VoiceRepr<'a> {
    /// Parses and validates a borderlink voice packet.
    pub fn parse(packet: &'a [u8]) -> Result<Self, VoiceError> {
        let rtp = RtpPacket::new_checked(packet)?;
        if rtp.payload_type() != PAYLOAD_TYPE_PCMA {
            return Err(VoiceError::PayloadType {
                pt: rtp.payload_type(),
            });
        }
        let (Some(profile), Some(data), Some(base)) = (
            rtp.extension_profile(),
            rtp.extension_data(),
            rtp.extension_offset(),
        ) else {
            return Err(VoiceError::NoExtension);
        };
        let radio = parse_radio_header(profile, data, base)?;
        // Index the original slice (checked by `new_checked`) so the payload lives for 'a.
        let payload = &packet[rtp.payload_range()];
        if !payload.is_empty() && payload.len() != FRAME_LEN {
            return Err(VoiceError::PayloadLength { len: payload.len() });
        }
        Ok(VoiceRepr {
            sequence: rtp.sequence_number(),
            timestamp: rtp.timestamp(),
            ssrc: rtp.ssrc(),
            radio,
            payload,
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + 4 + self.radio.extension_len() + self.payload.len()
    }

    /// Writes the packet into `buf`, returning its length.
    ///
    /// Fails if the buffer is too small or the payload is neither empty nor one frame (a
    /// packet this crate would refuse to parse is never sent).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, VoiceError> {
        if !self.payload.is_empty() && self.payload.len() != FRAME_LEN {
            return Err(VoiceError::PayloadLength {
                len: self.payload.len(),
            });
        }
        let len = self.buffer_len();
        let Some(out) = buf.get_mut(..len) else {
            return Err(VoiceError::BufferTooSmall { needed: len });
        };
        let ext_len = self.radio.extension_len();
        let mut rtp = RtpPacket::new_unchecked(&mut *out);
        rtp.set_vpxcc(false, true, 0);
        rtp.set_marker_payload_type(self.radio.tx == TxState::Start, PAYLOAD_TYPE_PCMA);
        rtp.set_sequence_number(self.sequence);
        rtp.set_timestamp(self.timestamp);
        rtp.set_ssrc(self.ssrc);
        let out = rtp.into_inner();
        out[HEADER_LEN..HEADER_LEN + 2].copy_from_slice(&PROFILE_ONE_BYTE.to_be_bytes());
        out[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&((ext_len / 4) as u16).to_be_bytes());
        let ext_start = HEADER_LEN + 4;
        let mut w = ElementWriter::new(&mut out[ext_start..ext_start + ext_len]);
        let r = &self.radio;
        w.push(element::RADIO_STATE, &[r.state_byte()]);
        if let Some(talker) = r.talker {
            w.push(element::TALKER, &talker.to_bytes());
        }
        w.push(element::TALKGROUP, &r.talkgroup.to_bytes());
        let site = r.origin.site.0.to_be_bytes();
        w.push(
            element::ORIGIN,
            &[site[0], site[1], network_code(r.origin.network)],
        );
        w.push(element::STREAM, &r.stream.0.to_be_bytes());
        w.push(element::KEY_UP, &r.started.0.to_be_bytes());
        w.finish();
        out[ext_start + ext_len..].copy_from_slice(self.payload);
        Ok(len)
    }
}

fn network_code(network: Option<Network>) -> u8 {
    match network {
        None => 0,
        Some(Network::Astrid) => 1,
        Some(Network::C2000) => 2,
    }
}

fn parse_radio_header(profile: u16, data: &[u8], base: usize) -> Result<RadioHeader, VoiceError> {
    let mut state = None;
    let mut talker = None;
    let mut talkgroup = None;
    let mut origin = None;
    let mut stream = None;
    let mut started = None;
    let mut legacy_key_up = false;
    for el in Elements::new(profile, data)? {
        let el = el.map_err(|e| match e {
            VoiceError::Extension { offset } => VoiceError::Extension {
                offset: base + offset,
            },
            other => other,
        })?;
        let expected = element::len(el.id);
        if expected == 0 {
            continue; // an element a newer sender added; RFC 8285 says skip it
        }
        if el.data.len() != expected {
            return Err(VoiceError::ElementLength {
                id: el.id,
                len: el.data.len(),
            });
        }
        let slot_taken = match el.id {
            element::RADIO_STATE => state.replace(el.data[0]).is_some(),
            element::TALKER => talker.replace(tsi(el.data)).is_some(),
            element::TALKGROUP => talkgroup.replace(tsi(el.data)).is_some(),
            element::ORIGIN => origin
                .replace([el.data[0], el.data[1], el.data[2]])
                .is_some(),
            element::STREAM => stream.replace(be_u32(el.data)).is_some(),
            element::KEY_UP_V1 => core::mem::replace(&mut legacy_key_up, true),
            _ => started.replace(be_u64(el.data)).is_some(),
        };
        if slot_taken {
            return Err(VoiceError::DuplicateElement { id: el.id });
        }
    }
    let state = state.ok_or(VoiceError::MissingElement {
        id: element::RADIO_STATE,
    })?;
    let talkgroup = talkgroup.ok_or(VoiceError::MissingElement {
        id: element::TALKGROUP,
    })?;
    let origin = origin.ok_or(VoiceError::MissingElement {
        id: element::ORIGIN,
    })?;
    let stream = stream.ok_or(VoiceError::MissingElement {
        id: element::STREAM,
    })?;
    let started = match (started, legacy_key_up) {
        (Some(started), _) => started,
        (None, true) => return Err(VoiceError::LegacyKeyUp),
        (None, false) => {
            return Err(VoiceError::MissingElement {
                id: element::KEY_UP,
            });
        }
    };
    let tx = match state >> 6 {
        1 => TxState::Start,
        2 => TxState::Continue,
        3 => TxState::End,
        _ => return Err(VoiceError::TxState),
    };
    let network = match origin[2] {
        0 => None,
        1 => Some(Network::Astrid),
        2 => Some(Network::C2000),
        code => return Err(VoiceError::OriginNetwork { code }),
    };
    Ok(RadioHeader {
        tx,
        squelch_open: state & 0x20 != 0,
        emergency: state & 0x10 != 0,
        priority: Priority(state & 0x0f),
        talker,
        talkgroup,
        origin: Origin {
            site: SiteId(u16::from_be_bytes([origin[0], origin[1]])),
            network,
        },
        stream: StreamId(stream),
        started: KeyUpTime(started),
    })
}

fn be_u32(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[0], data[1], data[2], data[3]])
}

fn be_u64(data: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&data[..8]);
    u64::from_be_bytes(bytes)
}

fn tsi(data: &[u8]) -> Tsi {
    Tsi::from_bytes([data[0], data[1], data[2], data[3], data[4], data[5]])
}

#[cfg(test)]
mod tests;
