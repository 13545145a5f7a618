//! Packet-loss concealment for G.711: what plays in a slot whose frame is missing.
//!
//! A radio listener hears a 20 ms hole as a click and a run of them as chopping. The simple
//! G.711 remedy (ITU-T G.711 appendix I does the refined version with pitch repetition) is to
//! repeat the last good frame, fading it so a long gap does not buzz: here each repeat is
//! 6 dB quieter than the one before (the samples halve), for a configurable number of repeats
//! (3 by default), and after that comes comfort silence (the idle A-law code). The fade starts
//! again from full level after the next real frame.

use borderlink_protocol::voice::FRAME_LEN;
use borderlink_protocol::voice::g711;
use serde::Serialize;

/// What a played-out frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// The frame that arrived for this slot.
    Audio,
    /// The last good frame again, `repeat` × 6 dB quieter (concealment of a missing frame).
    Repeat {
        /// 1 for the first repeat after the last good frame.
        repeat: u8,
    },
    /// Comfort silence (concealment once the repeats have faded out, or with nothing to repeat).
    Silence,
}

impl FrameKind {
    /// Whether the frame was synthesised rather than received.
    pub const fn is_concealed(self) -> bool {
        !matches!(self, FrameKind::Audio)
    }
}

/// Remembers the last good frame and synthesises the stand-ins for missing ones.
#[derive(Debug, Clone)]
pub(crate) struct Concealer {
    last: [u8; FRAME_LEN],
    have_last: bool,
    /// Missing frames since the last good one.
    run: u8,
    /// Repeats before silence.
    fade_frames: u8,
}

impl Concealer {
    /// A concealer that fades over `fade_frames` repeats (0: silence at once).
    pub(crate) fn new(fade_frames: u8) -> Self {
        Concealer {
            last: [g711::SILENCE; FRAME_LEN],
            have_last: false,
            run: 0,
            fade_frames,
        }
    }

    /// Records a frame that played as received.
    pub(crate) fn good(&mut self, frame: &[u8; FRAME_LEN]) {
        self.last = *frame;
        self.have_last = true;
        self.run = 0;
    }

    /// Writes the stand-in for the next missing frame into `out` and says what it is.
    pub(crate) fn conceal(&mut self, out: &mut [u8; FRAME_LEN]) -> FrameKind {
        self.run = self.run.saturating_add(1);
        // Past 15 halvings every sample is 0 anyway; the cap keeps the shift in range.
        if !self.have_last || self.run > self.fade_frames || self.run > 15 {
            *out = [g711::SILENCE; FRAME_LEN];
            return FrameKind::Silence;
        }
        let shift = u32::from(self.run);
        for (o, &c) in out.iter_mut().zip(&self.last) {
            // An arithmetic shift halves the sample per repeat: -6.02 dB each time, computed
            // from the original frame so the rounding does not accumulate.
            *o = g711::encode(g711::decode(c) >> shift);
        }
        FrameKind::Repeat { repeat: self.run }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_fade_by_six_db_then_turn_to_silence() {
        // 0xba decodes to 16128; halving gives 8064, 4032, 2016, which A-law holds exactly
        // (codes 0x8a, 0x9a, 0xea: mantissa 15 of segments 5, 4, 3).
        assert_eq!(g711::decode(0xba), 16_128);
        let mut c = Concealer::new(3);
        c.good(&[0xba; FRAME_LEN]);
        let mut out = [0u8; FRAME_LEN];
        let mut seen = Vec::new();
        for _ in 0..5 {
            let kind = c.conceal(&mut out);
            assert!(out.iter().all(|&b| b == out[0]));
            seen.push((kind, out[0]));
        }
        assert_eq!(
            seen,
            [
                (FrameKind::Repeat { repeat: 1 }, 0x8a),
                (FrameKind::Repeat { repeat: 2 }, 0x9a),
                (FrameKind::Repeat { repeat: 3 }, 0xea),
                (FrameKind::Silence, g711::SILENCE),
                (FrameKind::Silence, g711::SILENCE),
            ]
        );
        assert_eq!(
            [0x8a, 0x9a, 0xea].map(g711::decode),
            [8_064, 4_032, 2_016],
            "each repeat is half the amplitude of the one before"
        );
    }

    #[test]
    fn negative_samples_fade_towards_zero_too() {
        let loud_negative = g711::encode(-16_128);
        let mut c = Concealer::new(3);
        c.good(&[loud_negative; FRAME_LEN]);
        let mut out = [0u8; FRAME_LEN];
        let _ = c.conceal(&mut out);
        assert_eq!(g711::decode(out[0]), -8_064);
    }

    #[test]
    fn a_good_frame_restarts_the_fade() {
        let mut c = Concealer::new(3);
        let mut out = [0u8; FRAME_LEN];
        c.good(&[0xba; FRAME_LEN]);
        for _ in 0..4 {
            let _ = c.conceal(&mut out);
        }
        c.good(&[0xba; FRAME_LEN]);
        assert_eq!(c.conceal(&mut out), FrameKind::Repeat { repeat: 1 });
        assert_eq!(out[0], 0x8a);
    }

    #[test]
    fn nothing_to_repeat_or_no_fade_means_silence() {
        let mut out = [0u8; FRAME_LEN];
        assert_eq!(Concealer::new(3).conceal(&mut out), FrameKind::Silence);
        assert_eq!(out, [g711::SILENCE; FRAME_LEN]);
        let mut c = Concealer::new(0);
        c.good(&[0xba; FRAME_LEN]);
        assert_eq!(c.conceal(&mut out), FrameKind::Silence);
    }

    #[test]
    fn long_gaps_never_overflow_the_counter() {
        let mut c = Concealer::new(u8::MAX);
        c.good(&[0xaa; FRAME_LEN]);
        let mut out = [0u8; FRAME_LEN];
        for _ in 0..1_000 {
            let _ = c.conceal(&mut out);
        }
        assert_eq!(out, [g711::SILENCE; FRAME_LEN]);
    }
}
