//! Holding audio for a TETRA radio until the network grants it the right to transmit.
//!
//! Keying a trunked radio is a request: the radio asks the SwMI for the floor and may talk only
//! after the grant (`+CTXG`), 150–400 ms later and sometimes more. Audio played into the radio
//! before that is lost, and the first syllable with it (commercial gateways call the fix "TX
//! delay" or "RX pre-roll"). A [`GrantQueue`] per destination radio holds every frame from the
//! first one on; when the grant comes it releases them at a steady 20 ms cadence starting with
//! the first held frame, so the listener hears everything, one grant wait late.
//!
//! The backlog is bounded (`max_backlog`, 1 s by default). Above the bound the queue drops
//! *silent* frames first, oldest first (counted as
//! [`CatchUpSilence`](DropCause::CatchUpSilence)): during the wait, so that a long wait over
//! a talker's pause costs nothing audible; and once granted, speech too if no silence is left,
//! oldest first ([`CatchUpSpeech`](DropCause::CatchUpSpeech)), so that the radio never lags
//! more than the bound behind the talker. Optionally (`drain_to`) silence keeps being dropped
//! after the grant until the backlog is down to a smaller level, which wins back the grant
//! wait during the talker's pauses. A grant lost mid-transmission puts the queue back to
//! holding; the frames wait for the next grant.
//!
//! # Driving it
//! 1. [`push`](GrantQueue::push) each frame for the radio as it plays out of its stream
//!    buffer. In [`GrantState::Holding`] the engine demands transmit from the radio.
//! 2. [`grant`](GrantQueue::grant) when the radio reports the grant,
//!    [`revoke`](GrantQueue::revoke) if it loses it, [`end`](GrantQueue::end) when the
//!    transmission is over (the queue turns [`Idle`](GrantState::Idle) once drained, and the
//!    engine releases the radio), [`abort`](GrantQueue::abort) to give up on the held audio.
//! 3. At every instant, after the pushes, [`poll_frame`](GrantQueue::poll_frame) until `None`,
//!    and come back at [`poll_timeout`](GrantQueue::poll_timeout). Releases are the queue's
//!    only timer, so `poll_frame` is also its timeout handler.

use std::collections::VecDeque;

use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{FRAME_LEN, g711};

use super::{ConfigError, FRAME_DURATION};
use crate::engine::counters::{Counters, DropCause};

/// Settings of a [`GrantQueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantConfig {
    /// Frames the queue can hold (allocated up front); past it, room is made by the same
    /// rule as catching up, silence first.
    pub capacity: usize,
    /// The backlog bound in frames (50 = 1 s): above it, silence is dropped while waiting,
    /// and silence then speech once granted.
    pub max_backlog: usize,
    /// Once granted, keep dropping silence (never speech) while the backlog exceeds this.
    /// `None` keeps the whole grant wait as delay.
    pub drain_to: Option<usize>,
    /// A frame quieter than this (dBFS) is silence.
    pub silence_threshold_dbfs: i8,
}

impl Default for GrantConfig {
    fn default() -> Self {
        GrantConfig {
            capacity: 150,
            max_backlog: 50,
            drain_to: None,
            silence_threshold_dbfs: -50,
        }
    }
}

impl GrantConfig {
    /// Checks the settings, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_backlog == 0 {
            return Err(ConfigError::Zero("grant.max_backlog"));
        }
        if self.capacity < self.max_backlog {
            return Err(ConfigError::TooSmall {
                key: "grant.capacity",
                got: self.capacity,
                need: self.max_backlog,
            });
        }
        Ok(())
    }
}

/// Where a radio's transmission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantState {
    /// Nothing to send.
    Idle,
    /// Frames are waiting for a transmit grant.
    Holding {
        /// When holding began (the first frame, or the grant loss).
        since: Instant,
    },
    /// The radio may transmit: frames are released every 20 ms.
    Granted {
        /// When the grant arrived.
        since: Instant,
    },
}

/// A frame for the radio to play now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleasedFrame {
    /// Its release time on the steady cadence (earlier than `now` only if polled late).
    pub at: Instant,
    /// G.711 A-law audio.
    pub audio: [u8; FRAME_LEN],
}

#[derive(Debug, Clone)]
struct Held {
    /// When it was pushed: no frame is released before it existed.
    at: Instant,
    silent: bool,
    audio: [u8; FRAME_LEN],
}

/// The hold-until-grant queue of one destination radio (see the [module doc](self)).
#[derive(Debug, Clone)]
pub struct GrantQueue {
    config: GrantConfig,
    queue: VecDeque<Held>,
    state: GrantState,
    next_release: Instant,
    ending: bool,
    counters: Counters,
}

impl GrantQueue {
    /// An idle queue; storage for `capacity` frames is allocated here and never again.
    pub fn new(config: &GrantConfig) -> Self {
        let mut config = *config;
        config.capacity = config.capacity.max(1);
        config.max_backlog = config.max_backlog.clamp(1, config.capacity);
        GrantQueue {
            queue: VecDeque::with_capacity(config.capacity),
            config,
            state: GrantState::Idle,
            next_release: Instant::ZERO,
            ending: false,
            counters: Counters::default(),
        }
    }

    /// Queues a frame for the radio. From idle this starts holding (the engine should demand
    /// transmit); after [`end`](Self::end) it continues the transmission.
    pub fn push(&mut self, now: Instant, audio: &[u8; FRAME_LEN]) {
        self.counters.received = self.counters.received.saturating_add(1);
        if self.state == GrantState::Idle {
            self.state = GrantState::Holding { since: now };
        }
        self.ending = false;
        let silent = g711::is_silent(audio, self.config.silence_threshold_dbfs);
        if self.queue.len() >= self.config.capacity && !self.make_room(silent) {
            return;
        }
        self.queue.push_back(Held {
            at: now,
            silent,
            audio: *audio,
        });
        self.catch_up();
    }

    /// The radio reports transmit grant: release from the oldest held frame, now.
    pub fn grant(&mut self, now: Instant) {
        if matches!(self.state, GrantState::Granted { .. }) {
            return;
        }
        self.state = GrantState::Granted { since: now };
        // From now, but never within 20 ms of the previous release: that frame is still
        // playing into the radio.
        self.next_release = self.next_release.max(now);
        self.catch_up();
        self.idle_if_done();
    }

    /// A new over starts playing on the radio while it still holds its grant (the next talker
    /// within hang time): the transmission goes on. Frames are released as they come, even
    /// if the previous over's backlog runs out before the first of them arrives; the radio
    /// will not report a grant again, so holding them would hold them for ever.
    pub fn continue_granted(&mut self, now: Instant) {
        self.ending = false;
        self.grant(now);
    }

    /// The radio lost its grant: hold again until the next one.
    pub fn revoke(&mut self, now: Instant) {
        if matches!(self.state, GrantState::Granted { .. }) {
            self.state = GrantState::Holding { since: now };
        }
    }

    /// The transmission is over: once the backlog has played, the queue is idle.
    pub fn end(&mut self) {
        self.ending = true;
        self.idle_if_done();
    }

    /// Discards the backlog, counting each frame under `cause` (e.g. a grant that never came
    /// before the TX timeout), and goes idle. Returns the number of frames discarded.
    pub fn abort(&mut self, cause: DropCause) -> u64 {
        let n = self.queue.len() as u64;
        self.counters.drop_n(cause, n);
        self.queue.clear();
        self.state = GrantState::Idle;
        self.ending = false;
        n
    }

    /// The next frame to play into the radio, if one is due by `now`.
    #[must_use]
    pub fn poll_frame(&mut self, now: Instant) -> Option<ReleasedFrame> {
        let due = self.due()?;
        if now < due {
            return None;
        }
        let held = self.queue.pop_front()?;
        self.next_release = due + FRAME_DURATION;
        self.counters.delivered = self.counters.delivered.saturating_add(1);
        self.idle_if_done();
        Some(ReleasedFrame {
            at: due,
            audio: held.audio,
        })
    }

    /// When the next frame is due; `None` while holding, idle or empty.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due()
    }

    fn due(&self) -> Option<Instant> {
        if !matches!(self.state, GrantState::Granted { .. }) {
            return None;
        }
        // After an underrun the cadence restarts from the frame's arrival.
        self.queue.front().map(|h| h.at.max(self.next_release))
    }

    fn idle_if_done(&mut self) {
        if self.ending && self.queue.is_empty() {
            self.state = GrantState::Idle;
            self.ending = false;
        }
    }

    /// Makes room for one frame in a full queue. Returns whether the new frame is kept.
    fn make_room(&mut self, new_is_silent: bool) -> bool {
        if self.queue.iter().any(|h| h.silent) {
            self.shed(1, false);
            true
        } else if new_is_silent {
            // Everything held is speech: the new silent frame is the one to go.
            self.counters.drop(DropCause::CatchUpSilence);
            false
        } else {
            self.shed(1, true);
            true
        }
    }

    fn catch_up(&mut self) {
        let granted = matches!(self.state, GrantState::Granted { .. });
        let excess = self.queue.len().saturating_sub(self.config.max_backlog);
        if excess > 0 {
            self.shed(excess, granted);
        }
        if granted && let Some(level) = self.config.drain_to {
            let excess = self.queue.len().saturating_sub(level);
            if excess > 0 {
                self.shed(excess, false);
            }
        }
    }

    /// Drops `n` frames: the oldest silent ones, then (if allowed) the oldest speech.
    fn shed(&mut self, n: usize, speech_too: bool) {
        let silent = self.queue.iter().filter(|h| h.silent).count().min(n);
        if silent > 0 {
            let mut left = silent;
            self.queue.retain(|h| {
                let drop = left > 0 && h.silent;
                left -= usize::from(drop);
                !drop
            });
            self.counters
                .drop_n(DropCause::CatchUpSilence, silent as u64);
        }
        if speech_too {
            let speech = (n - silent).min(self.queue.len());
            self.queue.drain(..speech);
            self.counters
                .drop_n(DropCause::CatchUpSpeech, speech as u64);
        }
    }

    /// Where the transmission stands.
    pub fn state(&self) -> GrantState {
        self.state
    }

    /// Whether there is nothing to send and no transmission in progress.
    pub fn is_idle(&self) -> bool {
        self.state == GrantState::Idle
    }

    /// Frames waiting.
    pub fn backlog(&self) -> usize {
        self.queue.len()
    }

    /// This radio's frame counters (`delivered` = released to the radio).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_protocol::time::Duration;
    use proptest::prelude::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// A loud frame tagged with `id` in its first byte.
    fn speech(id: u8) -> [u8; FRAME_LEN] {
        let mut f = [0xaa; FRAME_LEN];
        f[0] = id;
        f
    }

    /// A silent frame (−60 dBFS or quieter) tagged with `id` < 16 in a quiet first byte.
    fn silence(id: u8) -> [u8; FRAME_LEN] {
        let mut f = [g711::SILENCE; FRAME_LEN];
        f[0] = (0x80 | (id & 0x0f)) ^ 0x55;
        f
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Tag {
        S(u8),
        Q(u8),
    }

    fn tag(f: &[u8; FRAME_LEN]) -> Tag {
        if f[1] == 0xaa {
            Tag::S(f[0])
        } else {
            Tag::Q((f[0] ^ 0x55) & 0x0f)
        }
    }

    fn drain(q: &mut GrantQueue, from: Instant) -> Vec<(Instant, Tag)> {
        let mut out = Vec::new();
        let mut now = from;
        for _ in 0..1_000 {
            while let Some(f) = q.poll_frame(now) {
                out.push((f.at, tag(&f.audio)));
            }
            match q.poll_timeout() {
                Some(next) => now = next,
                None => break,
            }
        }
        out
    }

    fn balanced(q: &GrantQueue) -> bool {
        let c = q.counters();
        c.received == c.delivered + c.dropped_total() + q.backlog() as u64
    }

    #[test]
    fn helpers_classify_silence() {
        assert!(g711::is_silent(&silence(15), -50));
        assert!(!g711::is_silent(&speech(0), -50));
    }

    #[test]
    fn holds_until_grant_then_plays_from_the_first_frame_at_20_ms() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        assert!(q.is_idle());
        // 400 ms grant wait: frames 0..20 arrive every 20 ms while holding.
        for i in 0..20u8 {
            q.push(t(u64::from(i) * 20), &speech(i));
            assert_eq!(q.poll_frame(t(u64::from(i) * 20)), None, "held");
        }
        assert_eq!(q.state(), GrantState::Holding { since: t(0) });
        assert_eq!(q.poll_timeout(), None);
        q.grant(t(400));
        assert_eq!(q.state(), GrantState::Granted { since: t(400) });
        q.end();
        let out = drain(&mut q, t(400));
        let want: Vec<_> = (0..20u8)
            .map(|i| (t(400 + u64::from(i) * 20), Tag::S(i)))
            .collect();
        assert_eq!(out, want, "every frame, in order, on the cadence");
        assert!(q.is_idle());
        assert_eq!(q.counters().delivered, 20);
        assert_eq!(q.counters().dropped_total(), 0);
    }

    #[test]
    fn catch_up_at_grant_drops_silence_first_then_the_oldest_speech() {
        let config = GrantConfig {
            max_backlog: 4,
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        // Held (oldest first): S0 Q1 S2 Q3 S4 S5 S6 S7 — 8 frames, 2 silent.
        // While holding, above the bound only silence goes: Q1 when the 5th frame arrives,
        // Q3 at the 6th; then speech is kept until the grant.
        let frames = [
            speech(0),
            silence(1),
            speech(2),
            silence(3),
            speech(4),
            speech(5),
            speech(6),
            speech(7),
        ];
        for (i, f) in frames.iter().enumerate() {
            q.push(t(i as u64 * 20), f);
        }
        assert_eq!(q.backlog(), 6);
        assert_eq!(q.counters().dropped(DropCause::CatchUpSilence), 2);
        assert_eq!(q.counters().dropped(DropCause::CatchUpSpeech), 0);
        // At the grant, two more must go and no silence is left: the oldest speech, S0 and S2.
        q.grant(t(500));
        assert_eq!(q.counters().dropped(DropCause::CatchUpSpeech), 2);
        let out: Vec<_> = drain(&mut q, t(500)).into_iter().map(|(_, f)| f).collect();
        assert_eq!(out, [Tag::S(4), Tag::S(5), Tag::S(6), Tag::S(7)]);
        assert!(balanced(&q));
    }

    #[test]
    fn catch_up_prefers_the_oldest_silence_anywhere_in_the_backlog() {
        let config = GrantConfig {
            max_backlog: 3,
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        // Q0 S1 Q2 S3 puts the backlog above 3: Q0 goes; S4 does it again: Q2 goes.
        for (i, f) in [silence(0), speech(1), silence(2), speech(3), speech(4)]
            .iter()
            .enumerate()
        {
            q.push(t(i as u64 * 20), f);
        }
        assert_eq!(q.counters().dropped(DropCause::CatchUpSilence), 2);
        q.grant(t(100));
        let out: Vec<_> = drain(&mut q, t(100)).into_iter().map(|(_, f)| f).collect();
        assert_eq!(out, [Tag::S(1), Tag::S(3), Tag::S(4)]);
    }

    #[test]
    fn granted_backlog_above_the_bound_is_cut_back() {
        let config = GrantConfig {
            max_backlog: 2,
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        q.push(t(0), &speech(0));
        q.grant(t(0));
        // Pushed faster than released (a burst): the oldest speech is dropped.
        for i in 1..5u8 {
            q.push(t(0), &speech(i));
        }
        assert_eq!(q.backlog(), 2);
        assert_eq!(q.counters().dropped(DropCause::CatchUpSpeech), 3);
        let out: Vec<_> = drain(&mut q, t(0)).into_iter().map(|(_, f)| f).collect();
        assert_eq!(out, [Tag::S(3), Tag::S(4)]);
    }

    #[test]
    fn a_full_queue_makes_room_by_the_same_rule() {
        let config = GrantConfig {
            capacity: 3,
            max_backlog: 3,
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        q.push(t(0), &speech(0));
        q.push(t(20), &silence(1));
        q.push(t(40), &speech(2));
        q.push(t(60), &speech(3)); // full: the silent frame goes
        assert_eq!(q.counters().dropped(DropCause::CatchUpSilence), 1);
        q.push(t(80), &silence(4)); // full of speech: the new silent frame goes
        assert_eq!(q.counters().dropped(DropCause::CatchUpSilence), 2);
        q.push(t(100), &speech(5)); // full of speech: the oldest speech goes
        assert_eq!(q.counters().dropped(DropCause::CatchUpSpeech), 1);
        q.grant(t(120));
        let out: Vec<_> = drain(&mut q, t(120)).into_iter().map(|(_, f)| f).collect();
        assert_eq!(out, [Tag::S(2), Tag::S(3), Tag::S(5)]);
        assert!(balanced(&q));
    }

    #[test]
    fn drain_to_wins_back_the_grant_wait_in_pauses_only() {
        let config = GrantConfig {
            drain_to: Some(1),
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        // 300 ms wait holding S0..S9 and silence Q10..Q14.
        for i in 0..15u8 {
            let f = if i < 10 { speech(i) } else { silence(i) };
            q.push(t(u64::from(i) * 20), &f);
        }
        q.grant(t(300));
        // All five silent frames go; the ten speech frames stay, above the drain level.
        assert_eq!(q.backlog(), 10);
        assert_eq!(q.counters().dropped(DropCause::CatchUpSilence), 5);
        assert_eq!(q.counters().dropped(DropCause::CatchUpSpeech), 0);
    }

    #[test]
    fn a_revoked_grant_holds_again_and_resumes_in_order() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        for i in 0..4u8 {
            q.push(t(u64::from(i) * 20), &speech(i));
        }
        q.grant(t(60));
        assert_eq!(q.poll_frame(t(60)).map(|f| tag(&f.audio)), Some(Tag::S(0)));
        q.revoke(t(70));
        assert_eq!(q.state(), GrantState::Holding { since: t(70) });
        assert_eq!(q.poll_frame(t(80)), None, "nothing plays without a grant");
        assert_eq!(q.poll_timeout(), None);
        q.push(t(80), &speech(4));
        q.grant(t(300));
        let out = drain(&mut q, t(300));
        assert_eq!(
            out,
            [
                (t(300), Tag::S(1)),
                (t(320), Tag::S(2)),
                (t(340), Tag::S(3)),
                (t(360), Tag::S(4)),
            ]
        );
    }

    #[test]
    fn after_an_underrun_the_cadence_restarts_at_the_next_frame() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        q.push(t(0), &speech(0));
        q.grant(t(0));
        assert!(q.poll_frame(t(0)).is_some());
        assert_eq!(q.poll_frame(t(20)), None, "empty: nothing due");
        q.push(t(45), &speech(1));
        let f = q.poll_frame(t(45)).expect("released at its arrival");
        assert_eq!(f.at, t(45));
        q.push(t(50), &speech(2));
        assert_eq!(q.poll_timeout(), Some(t(65)));
        assert_eq!(q.poll_frame(t(64)), None);
        assert_eq!(q.poll_frame(t(65)).map(|f| f.at), Some(t(65)));
    }

    #[test]
    fn end_goes_idle_after_the_backlog_and_a_new_frame_holds_again() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        q.push(t(0), &speech(0));
        q.end();
        assert!(!q.is_idle(), "one frame still to play");
        q.grant(t(200));
        let _ = q.poll_frame(t(200));
        assert!(q.is_idle());
        q.push(t(500), &speech(1));
        assert_eq!(q.state(), GrantState::Holding { since: t(500) });
        // End with nothing held goes idle at once.
        let mut q = GrantQueue::new(&GrantConfig::default());
        q.end();
        assert!(q.is_idle());
    }

    /// Found by the soak: the previous over's last frame played before the next over's
    /// first arrived, the queue went idle and held the new over for a grant the radio, still
    /// transmitting, never reported again — its audio lost and the radio keyed to the TX
    /// timeout.
    #[test]
    fn a_new_over_on_a_radio_still_granted_plays_after_the_last_backlog_ran_out() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        q.push(t(0), &speech(0));
        q.grant(t(0));
        q.push(t(10), &speech(1));
        q.end();
        // The next over takes the radio while a frame of the last one is still to play.
        q.continue_granted(t(15));
        assert_eq!(
            q.poll_frame(t(0)).map(|f| tag(&f.audio)),
            Some(tag(&speech(0)))
        );
        assert_eq!(
            q.poll_frame(t(20)).map(|f| tag(&f.audio)),
            Some(tag(&speech(1)))
        );
        assert!(!q.is_idle(), "the over goes on");
        // Its first frame arrives after the backlog ran out: it is played, not held.
        q.push(t(80), &speech(2));
        assert_eq!(q.poll_timeout(), Some(t(80)));
        assert_eq!(
            q.poll_frame(t(80)).map(|f| tag(&f.audio)),
            Some(tag(&speech(2)))
        );
        q.end();
        assert!(q.is_idle());
    }

    #[test]
    fn abort_counts_what_it_discards() {
        let mut q = GrantQueue::new(&GrantConfig::default());
        for i in 0..7u8 {
            q.push(t(u64::from(i) * 20), &speech(i));
        }
        assert_eq!(q.abort(DropCause::TxTimeout), 7);
        assert_eq!(q.counters().dropped(DropCause::TxTimeout), 7);
        assert!(q.is_idle());
        assert!(balanced(&q));
    }

    #[test]
    fn storage_never_grows_past_capacity() {
        let config = GrantConfig {
            capacity: 8,
            max_backlog: 8,
            ..GrantConfig::default()
        };
        let mut q = GrantQueue::new(&config);
        let allocated = q.queue.capacity();
        for i in 0..1_000u64 {
            q.push(t(i), &speech(i as u8));
        }
        assert_eq!(q.backlog(), 8);
        assert_eq!(q.queue.capacity(), allocated);
        assert!(balanced(&q));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push { silent: bool },
        Grant,
        Revoke,
        End,
        Wait { ms: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => any::<bool>().prop_map(|silent| Op::Push { silent }),
            1 => Just(Op::Grant),
            1 => Just(Op::Revoke),
            1 => Just(Op::End),
            4 => (0u64..60).prop_map(|ms| Op::Wait { ms }),
        ]
    }

    /// Writes `id` as four quiet codes (one nibble each), so it leaves silence silent.
    fn put_id(f: &mut [u8; FRAME_LEN], id: u16) {
        for (i, b) in f[2..6].iter_mut().enumerate() {
            *b = (0x80 | ((id >> (12 - 4 * i)) as u8 & 0x0f)) ^ 0x55;
        }
    }

    fn get_id(f: &[u8; FRAME_LEN]) -> u16 {
        f[2..6]
            .iter()
            .fold(0, |id, &b| (id << 4) | u16::from((b ^ 0x55) & 0x0f))
    }

    proptest! {
        /// Whatever the radio and the stream do, frames leave in order, at most one per
        /// 20 ms, every frame is accounted for, storage never grows, and speech
        /// is dropped only when no silence is left to drop.
        #[test]
        fn released_frames_keep_order_cadence_and_accounting(
            ops in prop::collection::vec(op(), 0..300),
            capacity in 1usize..20,
            backlog_share in 1usize..=100,
            drain_to in prop::option::of(0usize..5),
        ) {
            let max_backlog = (capacity * backlog_share).div_ceil(100).max(1);
            let config = GrantConfig { capacity, max_backlog, drain_to, ..GrantConfig::default() };
            let mut q = GrantQueue::new(&config);
            let allocated = q.queue.capacity();
            let mut now = t(0);
            let mut next_id = 0u16;
            let mut last_released: Option<(u16, Instant)> = None;
            for op in ops {
                let speech_before = q.counters().dropped(DropCause::CatchUpSpeech);
                match op {
                    Op::Push { silent } => {
                        let mut f = if silent { silence(0) } else { speech(0) };
                        put_id(&mut f, next_id);
                        prop_assert_eq!(g711::is_silent(&f, -50), silent);
                        next_id += 1;
                        q.push(now, &f);
                    }
                    Op::Grant => q.grant(now),
                    Op::Revoke => q.revoke(now),
                    Op::End => q.end(),
                    Op::Wait { ms } => now += Duration::from_millis(ms),
                }
                while let Some(f) = q.poll_frame(now) {
                    let id = get_id(&f.audio);
                    prop_assert!(f.at <= now);
                    if let Some((last_id, last_at)) = last_released {
                        prop_assert!(id > last_id, "order: {} after {}", id, last_id);
                        prop_assert!(f.at >= last_at + FRAME_DURATION, "cadence");
                    }
                    last_released = Some((id, f.at));
                }
                prop_assert!(balanced(&q));
                prop_assert!(q.backlog() <= capacity);
                prop_assert_eq!(q.queue.capacity(), allocated);
                if matches!(q.state(), GrantState::Granted { .. }) {
                    prop_assert!(q.backlog() <= max_backlog);
                }
                if q.counters().dropped(DropCause::CatchUpSpeech) > speech_before {
                    prop_assert!(q.queue.iter().all(|h| !h.silent), "speech went before silence");
                }
            }
        }
    }

    #[test]
    fn validation_names_the_bad_setting() {
        assert_eq!(GrantConfig::default().validate(), Ok(()));
        let bad = GrantConfig {
            capacity: 49,
            ..GrantConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "grant.capacity = 49 frames is too small: at least 50 are needed"
        );
    }
}
