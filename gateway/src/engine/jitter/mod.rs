//! The per-stream receive path: from voice packets off an impaired IP network to a steady
//! 20 ms frame cadence into a TETRA radio.
//!
//! Packets of one transmission arrive with jitter, lost, duplicated and reordered. The engine
//! keeps one [`StreamBuffer`] per active transmission (keyed by
//! [`StreamKey`](super::stream::StreamKey)), one [`DelayEstimator`] per source, and one
//! [`GrantQueue`] per destination radio:
//!
//! ```text
//! packet ──push──► StreamBuffer ──poll_frame──► GrantQueue ──poll_frame──► radio audio
//!                   │  reorder, drop dups/late,      hold until transmit grant,
//!                   │  conceal gaps, detect end      release at 20 ms, catch up
//!                   └─ transit variation ──► DelayEstimator ──target──► next StreamBuffer
//! ```
//!
//! - `seq` (internal): sequence numbers extended through the u16 wrap.
//! - [`playout`]: the per-source adaptive (or fixed) playout delay.
//! - [`conceal`]: G.711 repeat-and-fade concealment and comfort silence.
//! - [`buffer`]: the jitter/reorder buffer of one transmission.
//! - [`grant`]: the hold-until-grant queue of one radio.
//!
//! All of them are sans-IO: time is an argument, nothing reads a clock, and storage is
//! allocated when a buffer is created, never per frame. Every frame that does not play as
//! received is counted in [`Counters`](super::counters::Counters): by
//! [`DropCause`](super::counters::DropCause) when dropped, as `concealed` when synthesised.
//!
//! # Where the playout clock is anchored
//!
//! A transmission's frame `i` plays at `anchor + i × 20 ms`, fixed for the transmission's life
//! (moving it would cut or stretch audio already heard). The target delay is counted from the
//! arrival the frames would have over an *unqueued* path, because that is what the jitter
//! quantile is measured against; anchoring on the first packet's actual arrival instead makes
//! the whole transmission pay for that one packet's queueing (a first packet 15 ms behind
//! delays every frame by 15 ms more than needed, and the added delay exceeds the target by
//! the first packet's jitter on average). Three sources, the earliest that is trustworthy
//! wins, and never earlier than "now" (the first frame would be due at once and play in a
//! burst with its successors):
//!
//! 1. **The source's minimum transit**, from the [`DelayEstimator`]: arrival minus RTP
//!    timestamp over the source's recent frames (the last `base_max_age`), across its
//!    transmissions. If the sender stamps all its transmissions from one continuous clock,
//!    this places a new transmission's schedule from its very first packet, however delayed.
//!    It is used only for frames that arrived within the jitter the target covers
//!    (`target − 20 ms`) of what it predicts; otherwise the timestamps are on another clock
//!    (a random start per transmission), the clocks drifted, or the route got slower, and
//!    the transmission falls back to:
//! 2. **The transmission's own minimum transit** (`arrival − i × 20 ms`) over the frames
//!    that arrive before the first one plays (two or more), which the start follows down
//!    whenever a faster frame shows up.
//! 3. The first frame alone, which is (2) until a second frame arrives.
//!
//! The residual risk of (1) is a route that became slower by less than `target − 20 ms`
//! since the source last talked: that difference comes out of the jitter the target covers,
//! for one transmission. The schedule itself counts sequence numbers (the wire carries
//! exactly one 20 ms frame per packet and a radio transmission has no silence suppression),
//! so a sender whose timestamps are off cannot misplace a frame, only lose the benefit of (1).
//!
//! **For senders:** stamp RTP timestamps from one 8 kHz clock per site that keeps running
//! between transmissions (any start value), so receivers can use (1).

pub mod buffer;
pub mod conceal;
pub mod grant;
pub mod playout;
pub(crate) mod seq;

#[cfg(test)]
mod props;
#[cfg(test)]
mod testkit;

use borderlink_protocol::time::Duration;

pub use buffer::{Arrival, EndReason, JitterConfig, PlayoutFrame, StreamBuffer};
pub use conceal::FrameKind;
pub use grant::{GrantConfig, GrantQueue, GrantState, ReleasedFrame};
pub use playout::{DelayConfig, DelayEstimator, PlayoutMode, Sample};

/// The time one frame plays: 160 samples at 8 kHz.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// A receive-path setting that cannot work, naming its configuration key.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The quantile is not in (0, 1].
    #[error("playout.quantile = {0} is not in (0, 1]")]
    Quantile(f64),
    /// A count that must be positive is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A duration beyond what the receive path supports.
    #[error("{key} = {got} is longer than the supported {limit}")]
    TooLong {
        /// The configuration key.
        key: &'static str,
        /// The value given.
        got: Duration,
        /// The largest value accepted.
        limit: Duration,
    },
    /// The playout-delay bounds are out of order.
    #[error("playout delay bounds must satisfy min <= initial <= max, got {min}, {initial}, {max}")]
    DelayOrder {
        /// `playout.min`.
        min: Duration,
        /// `playout.initial`.
        initial: Duration,
        /// `playout.max`.
        max: Duration,
    },
    /// A buffer too small for what it must hold.
    #[error("{key} = {got} frames is too small: at least {need} are needed")]
    TooSmall {
        /// The configuration key.
        key: &'static str,
        /// The value given.
        got: usize,
        /// The smallest value that works.
        need: usize,
    },
}
