//! A radio's audio over UDP: one datagram per 20 ms G.711 A-law frame, either the 160 raw bytes
//! (`pcma`) or an RTP packet with payload type 8 (`rtp`, what most radio-over-IP interfaces
//! speak).
//!
//! The framing is sans-IO ([`AudioFramer`]); [`UdpAudio`] is the thin tokio socket around it.
//! A datagram that is not one frame in the configured format is refused with a reason and
//! counted by the caller: a misconfigured interface shows up in the metrics, not as noise on a
//! national talkgroup.

use std::net::SocketAddr;

use borderlink_protocol::voice::{
    FRAME_LEN, FRAME_SAMPLES, HEADER_LEN, PAYLOAD_TYPE_PCMA, RtpPacket,
};
use serde::Deserialize;
use thiserror::Error;

/// How frames are carried in datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// 160 bytes of A-law, nothing else.
    Pcma,
    /// RTP (RFC 3550), payload type 8, one frame per packet.
    Rtp,
}

/// Why a datagram is not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A raw datagram of the wrong size.
    #[error("raw A-law datagram of {len} bytes, expected {FRAME_LEN}")]
    RawLength {
        /// Bytes received.
        len: usize,
    },
    /// Not a valid RTP packet.
    #[error("not RTP: {0}")]
    Rtp(borderlink_protocol::voice::VoiceError),
    /// RTP with another payload type.
    #[error("RTP payload type {pt}, expected 8 (G.711 A-law)")]
    PayloadType {
        /// The payload type found.
        pt: u8,
    },
    /// RTP whose payload is not one 20 ms frame.
    #[error("RTP payload of {len} bytes, expected {FRAME_LEN} (one 20 ms frame)")]
    PayloadLength {
        /// Payload bytes.
        len: usize,
    },
}

/// Largest datagram the framer writes (an RTP header and one frame).
pub const MAX_DATAGRAM: usize = HEADER_LEN + FRAME_LEN;

/// Turns datagrams into frames and frames into datagrams for one audio interface.
#[derive(Debug, Clone)]
pub struct AudioFramer {
    format: AudioFormat,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// The next frame sent starts a talk spurt (RTP marker bit).
    spurt_start: bool,
}

impl AudioFramer {
    /// A framer; `ssrc` names this gateway's stream towards the interface.
    pub fn new(format: AudioFormat, ssrc: u32) -> Self {
        AudioFramer {
            format,
            ssrc,
            sequence: 0,
            timestamp: 0,
            spurt_start: true,
        }
    }

    /// The format.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The frame a received datagram carries.
    pub fn decode(&self, datagram: &[u8]) -> Result<[u8; FRAME_LEN], FrameError> {
        let payload = match self.format {
            AudioFormat::Pcma => datagram,
            AudioFormat::Rtp => {
                let rtp = RtpPacket::new_checked(datagram).map_err(FrameError::Rtp)?;
                if rtp.payload_type() != PAYLOAD_TYPE_PCMA {
                    return Err(FrameError::PayloadType {
                        pt: rtp.payload_type(),
                    });
                }
                &datagram[rtp.payload_range()]
            }
        };
        payload.try_into().map_err(|_| match self.format {
            AudioFormat::Pcma => FrameError::RawLength { len: payload.len() },
            AudioFormat::Rtp => FrameError::PayloadLength { len: payload.len() },
        })
    }

    /// Writes the datagram for a frame to send; returns its length.
    pub fn encode(&mut self, frame: &[u8; FRAME_LEN], out: &mut [u8; MAX_DATAGRAM]) -> usize {
        match self.format {
            AudioFormat::Pcma => {
                out[..FRAME_LEN].copy_from_slice(frame);
                FRAME_LEN
            }
            AudioFormat::Rtp => {
                let mut rtp = RtpPacket::new_unchecked(&mut out[..]);
                rtp.set_vpxcc(false, false, 0);
                rtp.set_marker_payload_type(self.spurt_start, PAYLOAD_TYPE_PCMA);
                rtp.set_sequence_number(self.sequence);
                rtp.set_timestamp(self.timestamp);
                rtp.set_ssrc(self.ssrc);
                out[HEADER_LEN..MAX_DATAGRAM].copy_from_slice(frame);
                self.spurt_start = false;
                self.sequence = self.sequence.wrapping_add(1);
                self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES);
                MAX_DATAGRAM
            }
        }
    }

    /// The transmission ended: the next frame starts a new talk spurt. `gap_frames` frame
    /// times passed without audio, so the timestamp jumps as RFC 3551 asks.
    pub fn end_spurt(&mut self, gap_frames: u32) {
        self.spurt_start = true;
        self.timestamp = self
            .timestamp
            .wrapping_add(gap_frames.wrapping_mul(FRAME_SAMPLES));
    }
}

/// A radio's audio interface on a UDP socket.
#[derive(Debug)]
pub struct UdpAudio {
    socket: tokio::net::UdpSocket,
    peer: SocketAddr,
    framer: AudioFramer,
}

/// What [`UdpAudio::recv`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A frame from the interface.
    Frame([u8; FRAME_LEN]),
    /// A datagram that is not a frame (counted and dropped by the caller).
    Invalid(FrameError),
    /// A datagram from an address other than the configured interface (dropped).
    Stranger(SocketAddr),
}

impl UdpAudio {
    /// Binds `listen` and sends to `peer`.
    pub async fn bind(
        listen: SocketAddr,
        peer: SocketAddr,
        format: AudioFormat,
        ssrc: u32,
    ) -> std::io::Result<Self> {
        let socket = tokio::net::UdpSocket::bind(listen).await?;
        Ok(UdpAudio {
            socket,
            peer,
            framer: AudioFramer::new(format, ssrc),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Waits for the next datagram.
    pub async fn recv(&self) -> std::io::Result<Received> {
        let mut buf = [0u8; 2048];
        let (len, from) = self.socket.recv_from(&mut buf).await?;
        if from.ip() != self.peer.ip() || (self.peer.port() != 0 && from.port() != self.peer.port())
        {
            return Ok(Received::Stranger(from));
        }
        Ok(match self.framer.decode(&buf[..len]) {
            Ok(frame) => Received::Frame(frame),
            Err(e) => Received::Invalid(e),
        })
    }

    /// Sends one frame to the interface.
    pub async fn send(&mut self, frame: &[u8; FRAME_LEN]) -> std::io::Result<()> {
        let mut buf = [0u8; MAX_DATAGRAM];
        let len = self.framer.encode(frame, &mut buf);
        self.socket
            .send_to(&buf[..len], self.peer)
            .await
            .map(|_| ())
    }

    /// Marks the end of a transmission (see [`AudioFramer::end_spurt`]).
    pub fn end_spurt(&mut self, gap_frames: u32) {
        self.framer.end_spurt(gap_frames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> [u8; FRAME_LEN] {
        [n; FRAME_LEN]
    }

    #[test]
    fn raw_frames_round_trip_and_wrong_sizes_are_named() {
        let mut f = AudioFramer::new(AudioFormat::Pcma, 1);
        let mut buf = [0u8; MAX_DATAGRAM];
        let len = f.encode(&frame(7), &mut buf);
        assert_eq!(len, 160);
        assert_eq!(f.decode(&buf[..len]), Ok(frame(7)));
        assert_eq!(
            f.decode(&buf[..100]),
            Err(FrameError::RawLength { len: 100 })
        );
    }

    #[test]
    fn rtp_frames_carry_sequence_timestamp_and_marker() {
        let mut f = AudioFramer::new(AudioFormat::Rtp, 0xabcd);
        let mut buf = [0u8; MAX_DATAGRAM];
        f.encode(&frame(1), &mut buf);
        let p = RtpPacket::new_checked(&buf[..]).unwrap();
        assert!(p.marker());
        assert_eq!(
            (
                p.sequence_number(),
                p.timestamp(),
                p.ssrc(),
                p.payload_type()
            ),
            (0, 0, 0xabcd, 8)
        );
        f.encode(&frame(2), &mut buf);
        let p = RtpPacket::new_checked(&buf[..]).unwrap();
        assert!(!p.marker());
        assert_eq!((p.sequence_number(), p.timestamp()), (1, 160));
        assert_eq!(f.decode(&buf), Ok(frame(2)));
        f.end_spurt(10);
        f.encode(&frame(3), &mut buf);
        let p = RtpPacket::new_checked(&buf[..]).unwrap();
        assert!(p.marker(), "a new talk spurt is marked");
        assert_eq!((p.sequence_number(), p.timestamp()), (2, 320 + 1600));
    }

    #[test]
    fn rtp_of_another_codec_or_size_is_refused() {
        let f = AudioFramer::new(AudioFormat::Rtp, 1);
        let mut pcmu = [0u8; MAX_DATAGRAM];
        pcmu[0] = 0x80; // V=2, PT 0
        assert_eq!(f.decode(&pcmu), Err(FrameError::PayloadType { pt: 0 }));
        let mut short = [0u8; HEADER_LEN + 80];
        short[0] = 0x80;
        short[1] = 8;
        assert_eq!(f.decode(&short), Err(FrameError::PayloadLength { len: 80 }));
        assert!(matches!(f.decode(&[0x40, 0, 0]), Err(FrameError::Rtp(_))));
    }

    #[tokio::test]
    async fn frames_cross_a_loopback_socket_pair_and_strangers_are_dropped() {
        let any = "127.0.0.1:0".parse().unwrap();
        let mut a = UdpAudio::bind(any, any, AudioFormat::Rtp, 1).await.unwrap();
        let b_probe = UdpAudio::bind(any, any, AudioFormat::Rtp, 2).await.unwrap();
        let a_addr = a.local_addr().unwrap();
        let b_addr = b_probe.local_addr().unwrap();
        drop(b_probe);
        a.peer = b_addr;
        let b = UdpAudio::bind(b_addr, a_addr, AudioFormat::Rtp, 2)
            .await
            .unwrap();
        a.send(&frame(9)).await.unwrap();
        assert_eq!(b.recv().await.unwrap(), Received::Frame(frame(9)));
        // A third party is not the configured interface.
        let stranger = tokio::net::UdpSocket::bind(any).await.unwrap();
        stranger.send_to(&[0u8; 172], b_addr).await.unwrap();
        assert!(matches!(b.recv().await.unwrap(), Received::Stranger(_)));
    }
}
