//! Test support: tagged frames and a virtual-time driver for a [`StreamBuffer`].

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, TxState};

use super::buffer::{Arrival, PlayoutFrame, StreamBuffer};
use super::playout::{DelayConfig, DelayEstimator, PlayoutMode};
use crate::engine::counters::DropCause;

/// A loud frame whose first two bytes carry `tag`.
pub(crate) fn frame(tag: u16) -> [u8; FRAME_LEN] {
    let mut f = [0xaa; FRAME_LEN];
    f[..2].copy_from_slice(&tag.to_be_bytes());
    f
}

/// The tag of a frame made by [`frame`].
pub(crate) fn tag_of(f: &[u8; FRAME_LEN]) -> u16 {
    u16::from_be_bytes([f[0], f[1]])
}

/// An estimator that always says `ms` and records nothing that matters.
pub(crate) fn fixed(ms: u64) -> DelayEstimator {
    DelayEstimator::new(&DelayConfig {
        mode: PlayoutMode::Fixed(Duration::from_millis(ms)),
        ..DelayConfig::default()
    })
}

/// One packet on the wire, as the buffer will see it.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    pub(crate) at: Instant,
    pub(crate) seq: u16,
    /// RTP timestamp: `seq × 160` unless set with [`Packet::frame_of`].
    pub(crate) ts: u32,
    pub(crate) tx: TxState,
    /// `Some(tag)`: a frame made by [`frame`]; `None`: signalling only.
    pub(crate) tag: Option<u16>,
}

impl Packet {
    /// An audio packet tagged with its own sequence number.
    pub(crate) fn audio(at: Instant, seq: u16) -> Self {
        Packet {
            at,
            seq,
            ts: u32::from(seq) * 160,
            tx: TxState::Continue,
            tag: Some(seq),
        }
    }

    /// Stamps the packet as frame `k` of a sender whose clock read `ts0` at frame 0 (the
    /// default stamp jumps when the sequence number wraps).
    pub(crate) fn frame_of(mut self, ts0: u32, k: u32) -> Self {
        self.ts = ts0.wrapping_add(k.wrapping_mul(160));
        self
    }

    /// A signalling-only End packet.
    pub(crate) fn end(at: Instant, seq: u16) -> Self {
        Packet {
            at,
            seq,
            ts: u32::from(seq) * 160,
            tx: TxState::End,
            tag: None,
        }
    }
}

/// What a drive produced.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) frames: Vec<PlayoutFrame>,
    /// `push` results, in the order of the packets given.
    pub(crate) pushed: Vec<Result<(), DropCause>>,
    /// When the buffer was first seen ended.
    pub(crate) ended_at: Option<Instant>,
}

/// Drives `buf` in virtual time through `packets` (any order; stably sorted by arrival), as
/// the engine would: at each instant, pushes first, then polls. Stops once ended, or at
/// `until`. Panics on a livelock (more wake-ups than the packets and frames can explain).
pub(crate) fn drive(
    buf: &mut StreamBuffer,
    est: &mut DelayEstimator,
    packets: &[Packet],
    until: Instant,
) -> Run {
    let mut order: Vec<usize> = (0..packets.len()).collect();
    order.sort_by_key(|&i| packets[i].at);
    let mut run = Run {
        pushed: vec![Ok(()); packets.len()],
        ..Run::default()
    };
    let mut next_packet = 0;
    let mut last_wake = None;
    for step in 0.. {
        assert!(
            step < 1_000_000,
            "livelock: no end after a million wake-ups"
        );
        let wake = match (order.get(next_packet), buf.poll_timeout()) {
            (Some(&i), Some(t)) => packets[i].at.min(t),
            (Some(&i), None) => packets[i].at,
            (None, Some(t)) => t,
            (None, None) => break,
        };
        if wake > until {
            break;
        }
        // Virtual time never runs backwards.
        assert!(
            last_wake.is_none_or(|l| wake >= l),
            "poll_timeout went back in time"
        );
        last_wake = Some(wake);
        let now = wake;
        while let Some(&i) = order.get(next_packet) {
            if packets[i].at > now {
                break;
            }
            let p = &packets[i];
            let audio = p.tag.map(frame);
            run.pushed[i] = buf.push(
                now,
                Arrival {
                    seq: p.seq,
                    timestamp: p.ts,
                    tx: p.tx,
                    audio: audio.as_ref(),
                },
                est,
            );
            next_packet += 1;
        }
        buf.handle_timeout(now);
        while let Some(f) = buf.poll_frame(now) {
            run.frames.push(f);
        }
        if buf.is_ended() && run.ended_at.is_none() {
            run.ended_at = Some(now);
        }
        if buf.is_ended() && next_packet == order.len() {
            break;
        }
    }
    run
}
