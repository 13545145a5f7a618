//! The jitter/reorder buffer of one transmission.
//!
//! [`StreamBuffer`] takes the packets of one transmission in whatever order the network
//! delivers them and plays the frames out strictly in sequence, one per 20 ms slot, at times
//! fixed when the transmission starts (see the [module doc](super) on anchoring). A frame that
//! arrives before its slot plays is never lost, however reordered; a repeat of a frame already
//! held or played is dropped as a duplicate, a frame whose slot has passed as late, and one
//! too far ahead of the playout point as overflow. A slot whose frame is missing plays a
//! concealment frame. The transmission ends after the frame before its End packet has played,
//! or, if the End packet is lost, once no packet has arrived for the end timeout.
//!
//! # Driving it
//! At the first packet of a transmission, create the buffer with the source's
//! [`DelayEstimator::target`]. Then, at every instant `now`:
//! 1. [`push`](StreamBuffer::push) each packet that arrived (with the source's estimator);
//! 2. [`handle_timeout`](StreamBuffer::handle_timeout), then
//!    [`poll_frame`](StreamBuffer::poll_frame) until it returns `None`;
//! 3. if [`is_ended`](StreamBuffer::is_ended), discard the buffer (its counters are final);
//!    otherwise come back at [`poll_timeout`](StreamBuffer::poll_timeout) or at the next packet.
//!
//! Pushing before polling at the same instant is what makes a frame that arrives exactly at its
//! playout time count as in time.

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, TxState, VoiceRepr};

use super::conceal::{Concealer, FrameKind};
use super::playout::{DelayEstimator, Sample};
use super::seq::SeqExtender;
use super::{ConfigError, FRAME_DURATION};
use crate::engine::counters::{Counters, DropCause};

/// Microseconds per frame slot.
const FRAME_US: i64 = FRAME_DURATION.as_micros() as i64;
/// Played slots remembered for duplicate detection (2.56 s).
const HISTORY: i64 = u128::BITS as i64;

/// Settings of a [`StreamBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Frames the buffer holds ahead of the playout point (64 = 1.28 s); must cover the
    /// largest playout delay plus the reordering depth.
    pub capacity: usize,
    /// Concealment repeats, each 6 dB quieter, before comfort silence.
    pub fade_frames: u8,
    /// The end timeout is this many times the playout delay…
    pub end_timeout_factor: u32,
    /// …but at least this long. 500 ms by default: a loss burst longer than the timeout cuts
    /// the transmission short, and with 5 % bursty loss 200 ms cut 3 % of all speech in the
    /// `jitter_quality` bench, while a longer timeout only costs radio air time after a lost
    /// End packet.
    pub end_timeout_min: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            capacity: 64,
            fade_frames: 3,
            end_timeout_factor: 3,
            end_timeout_min: Duration::from_millis(500),
        }
    }
}

impl JitterConfig {
    /// Checks the settings against the largest playout delay they must support.
    pub fn validate(&self, max_delay: Duration) -> Result<(), ConfigError> {
        // The frames of one playout delay, plus the one playing, plus a delay's worth of
        // slack for a sender that bursts after a stall.
        let need = 2 * frames_in(max_delay) + 1;
        if self.capacity < need {
            return Err(ConfigError::TooSmall {
                key: "jitter.capacity",
                got: self.capacity,
                need,
            });
        }
        if self.end_timeout_factor == 0 {
            return Err(ConfigError::Zero("jitter.end_timeout_factor"));
        }
        Ok(())
    }

    /// The end timeout that goes with a playout delay.
    pub fn end_timeout(&self, target: Duration) -> Duration {
        target
            .saturating_mul(u64::from(self.end_timeout_factor))
            .max(self.end_timeout_min)
    }
}

fn frames_in(d: Duration) -> usize {
    usize::try_from(d.as_micros().div_ceil(FRAME_DURATION.as_micros())).unwrap_or(usize::MAX)
}

/// One received packet, as far as the buffer is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival<'a> {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (8 kHz).
    pub timestamp: u32,
    /// Transmission state from the radio header.
    pub tx: TxState,
    /// The 20 ms frame, or `None` for a signalling-only packet.
    pub audio: Option<&'a [u8; FRAME_LEN]>,
}

impl<'a> Arrival<'a> {
    /// The buffer's view of a parsed voice packet.
    pub fn from_voice(v: &VoiceRepr<'a>) -> Self {
        Arrival {
            seq: v.sequence,
            timestamp: v.timestamp,
            tx: v.radio.tx,
            audio: v.payload.try_into().ok(),
        }
    }
}

/// A frame to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutFrame {
    /// RTP sequence number of the slot.
    pub seq: u16,
    /// Slots since the transmission's first played frame.
    pub index: u64,
    /// When the slot was scheduled to play (earlier than `now` only if polled late).
    pub at: Instant,
    /// Received, repeated or silence.
    pub kind: FrameKind,
    /// G.711 A-law audio.
    pub audio: [u8; FRAME_LEN],
}

/// How a transmission was found to have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// Everything before the End packet has played.
    EndFlag,
    /// No packet arrived for the end timeout.
    Timeout,
}

#[derive(Debug, Clone)]
struct Slot {
    /// The extended sequence number whose frame this is, when `filled`.
    index: i64,
    filled: bool,
    audio: [u8; FRAME_LEN],
}

/// The jitter/reorder buffer of one transmission (see the [module doc](self)).
#[derive(Debug, Clone)]
pub struct StreamBuffer {
    target: Duration,
    end_timeout: Duration,
    /// Ring of frames, indexed by extended sequence number modulo its length.
    slots: Box<[Slot]>,
    seq: Option<SeqExtender>,
    /// Playout time of index 0, µs since `Instant::ZERO` (negative is fine: index 0 may be
    /// a frame that never arrived). Set by the first frame; `None` until then.
    slot0: Option<i64>,
    /// Before the start: the earliest `slot0` this transmission's own frames allow.
    own_slot0: i64,
    /// Before the start: the earliest `slot0` the source's minimum transit allows, from the
    /// frames that agree with it.
    source_slot0: Option<i64>,
    started: bool,
    /// Before the start: lowest and highest index held. After: `lo` is the first played.
    lo: i64,
    hi: i64,
    /// After the start: the next slot to play.
    next: i64,
    buffered: usize,
    /// Bit `i` set: slot `next - 1 - i` played a received frame.
    history: u128,
    /// Running minimum of `arrival − index × 20 ms`, for the estimator.
    min_transit: Option<i64>,
    /// The first index past the transmission, once an End packet says so.
    end_at: Option<i64>,
    last_arrival: Option<Instant>,
    ended: Option<EndReason>,
    concealer: Concealer,
    counters: Counters,
}

impl StreamBuffer {
    /// An empty buffer for a new transmission that will play `target` after its fastest
    /// frames arrive. Allocates the ring (at least one slot) here and never again.
    pub fn new(config: &JitterConfig, target: Duration) -> Self {
        let capacity = config.capacity.max(1);
        let empty = Slot {
            index: 0,
            filled: false,
            audio: [0; FRAME_LEN],
        };
        StreamBuffer {
            target,
            end_timeout: config.end_timeout(target),
            slots: vec![empty; capacity].into_boxed_slice(),
            seq: None,
            slot0: None,
            own_slot0: i64::MAX,
            source_slot0: None,
            started: false,
            lo: 0,
            hi: 0,
            next: 0,
            buffered: 0,
            history: 0,
            min_transit: None,
            end_at: None,
            last_arrival: None,
            ended: None,
            concealer: Concealer::new(config.fade_frames),
            counters: Counters::default(),
        }
    }

    /// Takes one packet that arrived at `now`, and reports its timing to `estimator`.
    ///
    /// Err says why the packet's frame will not play (it is counted). Signalling-only packets
    /// carry no frame, so they are never counted or refused; only their End flag matters.
    pub fn push(
        &mut self,
        now: Instant,
        packet: Arrival<'_>,
        estimator: &mut DelayEstimator,
    ) -> Result<(), DropCause> {
        if packet.audio.is_some() {
            self.counters.received = self.counters.received.saturating_add(1);
        }
        let result = self.classify(now, packet, estimator);
        if let Err(cause) = result {
            self.counters.drop(cause);
        }
        result
    }

    fn classify(
        &mut self,
        now: Instant,
        packet: Arrival<'_>,
        estimator: &mut DelayEstimator,
    ) -> Result<(), DropCause> {
        if self.ended.is_some() {
            // Its transmission is over: the frame can no longer play.
            return if packet.audio.is_some() {
                Err(DropCause::Late)
            } else {
                Ok(())
            };
        }
        let ext = *self.seq.get_or_insert(SeqExtender::new(packet.seq));
        let index = ext.index(packet.seq);
        let cap = self.slots.len() as i64;

        let Some(audio) = packet.audio else {
            self.last_arrival = Some(now);
            // Only an End that plausibly belongs to this stream ends it: a corrupt far-off
            // sequence number must not cut the transmission short.
            let reference = if self.started { self.next } else { self.lo };
            let plausible =
                index > reference.saturating_sub(cap) && index < reference.saturating_add(cap);
            if packet.tx == TxState::End && plausible {
                self.set_end(index);
            }
            return Ok(());
        };

        if self.is_duplicate(index) {
            return Err(DropCause::Duplicate);
        }
        self.last_arrival = Some(now);
        let now_us = micros(now);
        let transit = now_us.saturating_sub(index.saturating_mul(FRAME_US));

        let verdict = if self.started {
            if index < self.next {
                Err(DropCause::Late)
            } else if index >= self.next.saturating_add(cap) {
                Err(DropCause::Overflow)
            } else {
                Ok(())
            }
        } else if self.buffered > 0
            && index
                .max(self.hi)
                .saturating_sub(index.min(self.lo))
                .saturating_add(1)
                > cap
        {
            Err(DropCause::Overflow)
        } else if self.slot0.is_some_and(|_| now > self.playout_time(index)) {
            Err(DropCause::Late)
        } else {
            Ok(())
        };
        if verdict == Err(DropCause::Overflow) {
            // No timing sample: a sequence number this far off says nothing about the network.
            return verdict;
        }
        let min_transit = self.min_transit.map_or(transit, |m| m.min(transit));
        self.min_transit = Some(min_transit);
        estimator.observe(Sample {
            arrival: now,
            timestamp: packet.timestamp,
            variation: Duration::from_micros(
                u64::try_from(transit.saturating_sub(min_transit)).unwrap_or(0),
            ),
        });
        if packet.tx == TxState::End {
            self.set_end(index.saturating_add(1));
        }
        if self.end_at.is_some_and(|end| index >= end) {
            // After the End packet: not part of the transmission, and never going to play.
            return Err(DropCause::Late);
        }
        verdict?;

        self.store(index, audio);
        if let Some(ext) = self.seq.as_mut() {
            ext.accept(packet.seq, index);
        }
        if !self.started {
            let fastest = estimator.min_transit_arrival(now, packet.timestamp);
            self.anchor(now_us, index, transit, fastest.map(micros));
        }
        Ok(())
    }

    fn is_duplicate(&self, index: i64) -> bool {
        if self.started && index < self.next {
            let age = self.next - 1 - index;
            return age < HISTORY && self.history & (1u128 << age) != 0;
        }
        self.slot(index)
            .is_some_and(|s| s.filled && s.index == index)
    }

    fn store(&mut self, index: i64, audio: &[u8; FRAME_LEN]) {
        let at = self.slot_pos(index);
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = Slot {
                index,
                filled: true,
                audio: *audio,
            };
            self.buffered += 1;
        }
    }

    /// Sets or moves the playout schedule before the first frame plays (see the
    /// [module doc](super) on anchoring). `fastest` is when this frame would have arrived over
    /// the source's fastest recent path, if the estimator knows.
    fn anchor(&mut self, now_us: i64, index: i64, transit: i64, fastest: Option<i64>) {
        let target = i64::try_from(self.target.as_micros()).unwrap_or(i64::MAX);
        let to_index = index.saturating_mul(FRAME_US);
        self.own_slot0 = self.own_slot0.min(transit.saturating_add(target));
        // The source's minimum counts only for a frame that came within the jitter the target
        // is meant to cover: otherwise the timestamps are not on the source's clock, the
        // clocks drifted, or the route got slower, and only this transmission's own frames
        // can be trusted. An eligible frame plays at least one frame after its arrival.
        let allowance = target.saturating_sub(FRAME_US).max(0);
        if let Some(fastest) = fastest
            && (0..=allowance).contains(&now_us.saturating_sub(fastest))
        {
            let candidate = fastest.saturating_sub(to_index).saturating_add(target);
            self.source_slot0 = Some(self.source_slot0.map_or(candidate, |s| s.min(candidate)));
        }
        let candidate = self
            .source_slot0
            .map_or(self.own_slot0, |s| s.min(self.own_slot0));
        if self.slot0.is_none() {
            self.lo = index;
            self.hi = index;
        } else {
            self.lo = self.lo.min(index);
            self.hi = self.hi.max(index);
        }
        if self.slot0.is_none_or(|s| candidate < s) {
            // Earlier, but not before now: the first frame would otherwise be due already and
            // play in a burst with its successors.
            let earliest = now_us.saturating_sub(self.lo.saturating_mul(FRAME_US));
            self.slot0 = Some(candidate.max(earliest));
        }
    }

    fn set_end(&mut self, end: i64) {
        self.end_at = Some(self.end_at.map_or(end, |e| e.min(end)));
    }

    fn slot_pos(&self, index: i64) -> usize {
        index.rem_euclid(self.slots.len() as i64) as usize
    }

    fn slot(&self, index: i64) -> Option<&Slot> {
        self.slots.get(self.slot_pos(index))
    }

    /// When slot `index` plays (only meaningful once the first frame has arrived).
    fn playout_time(&self, index: i64) -> Instant {
        let us = self
            .slot0
            .unwrap_or(0)
            .saturating_add(index.saturating_mul(FRAME_US));
        Instant::from_micros(u64::try_from(us).unwrap_or(0))
    }

    /// Ends the transmission if its end timeout has passed. Cheap; call at every wake-up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended.is_some() || self.buffered > 0 {
            // Frames still waiting play first; the timeout only ends an empty buffer.
            return;
        }
        if let Some(last) = self.last_arrival
            && now >= last + self.end_timeout
        {
            self.finish(EndReason::Timeout);
        }
    }

    /// The next frame whose slot has come by `now`: received audio, or concealment.
    #[must_use]
    pub fn poll_frame(&mut self, now: Instant) -> Option<PlayoutFrame> {
        self.handle_timeout(now);
        if self.ended.is_some() {
            return None;
        }
        if !self.started {
            if self.buffered == 0 || now < self.playout_time(self.lo) {
                return None;
            }
            self.started = true;
            self.next = self.lo;
        }
        if self.end_at.is_some_and(|end| self.next >= end) {
            self.finish(EndReason::EndFlag);
            return None;
        }
        let at = self.playout_time(self.next);
        if now < at {
            return None;
        }
        let index = self.next;
        let pos = self.slot_pos(index);
        let mut audio = [0u8; FRAME_LEN];
        let received = match self.slots.get_mut(pos) {
            Some(slot) if slot.filled && slot.index == index => {
                slot.filled = false;
                audio = slot.audio;
                true
            }
            _ => false,
        };
        let kind = if received {
            self.buffered -= 1;
            self.concealer.good(&audio);
            self.counters.delivered = self.counters.delivered.saturating_add(1);
            FrameKind::Audio
        } else {
            self.counters.concealed = self.counters.concealed.saturating_add(1);
            self.concealer.conceal(&mut audio)
        };
        self.history = (self.history << 1) | u128::from(received);
        self.next += 1;
        let seq = self.seq.map_or(0, |s| s.seq(index));
        if self.end_at.is_some_and(|end| self.next >= end) {
            // The frame before the End packet: the transmission is over as soon as it plays.
            self.finish(EndReason::EndFlag);
        }
        Some(PlayoutFrame {
            seq,
            index: u64::try_from(index - self.lo).unwrap_or(0),
            at,
            kind,
            audio,
        })
    }

    /// When [`poll_frame`](Self::poll_frame) or [`handle_timeout`](Self::handle_timeout) next
    /// has something to do; `None` once ended (or before any packet).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ended.is_some() {
            return None;
        }
        let play = if self.started {
            Some(self.playout_time(self.next))
        } else if self.buffered > 0 {
            Some(self.playout_time(self.lo))
        } else {
            None
        };
        let end = if self.buffered == 0 {
            self.last_arrival.map(|last| last + self.end_timeout)
        } else {
            None
        };
        match (play, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn finish(&mut self, reason: EndReason) {
        // Frames left over can only lie past an End packet: they will never play.
        let left = self.slots.iter_mut().filter(|s| s.filled).fold(0, |n, s| {
            s.filled = false;
            n + 1
        });
        self.counters.drop_n(DropCause::Late, left);
        self.buffered = 0;
        self.ended = Some(reason);
    }

    /// Whether the transmission is over: nothing more will play.
    pub fn is_ended(&self) -> bool {
        self.ended.is_some()
    }

    /// How the transmission ended, once it has.
    pub fn ended_by(&self) -> Option<EndReason> {
        self.ended
    }

    /// The playout delay this transmission uses.
    pub fn target(&self) -> Duration {
        self.target
    }

    /// The end timeout this transmission uses.
    pub fn end_timeout(&self) -> Duration {
        self.end_timeout
    }

    /// Frames received and waiting to play.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// When the first frame plays (or played), once a frame has arrived.
    pub fn playout_start(&self) -> Option<Instant> {
        self.slot0.map(|_| self.playout_time(self.lo))
    }

    /// This transmission's frame counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

fn micros(t: Instant) -> i64 {
    i64::try_from(t.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
