//! Frames dropped between a radio's audio backend and the relay engine, counted by cause.
//!
//! The engine counts what it drops itself (late, duplicate, auth, overflow; see
//! `engine::counters`). Two queues sit outside it, in the daemon's IO shell, and neither may
//! block the side that feeds it: a sound card's capture thread or the UDP audio task hands
//! each captured frame to the main loop, and the main loop hands each frame for a radio to
//! its playback backend. When the far side is behind and the queue is full, the frame is
//! dropped, and [`AudioDrops`] counts it under its cause, per radio, for the status API and
//! `GET /metrics` (invariant 4: nothing is lost silently). The site core counts here too the
//! frames its capture gate shuts out: audio from a radio that reports no call.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Why a radio's audio frame was dropped outside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioDropCause {
    /// A captured frame found the main loop's input queue full (the loop is behind).
    CaptureQueueFull,
    /// A frame for the radio found its playback backend's queue full (the sound device or
    /// the UDP audio task is behind).
    PlaybackQueueFull,
    /// A frame captured while the radio reported no call (and, without PEI, its COR line was
    /// inactive): the capture gate was shut, so it was not relayed. Noise or a squelch tail is
    /// normal; a steady count while calls are heard points at the radio's call reporting or its
    /// COR wiring.
    NoCall,
}

impl AudioDropCause {
    /// Every cause, for metrics.
    pub const ALL: [AudioDropCause; 3] = [
        AudioDropCause::CaptureQueueFull,
        AudioDropCause::PlaybackQueueFull,
        AudioDropCause::NoCall,
    ];

    /// The cause's label in metrics and the status API.
    pub const fn label(self) -> &'static str {
        match self {
            AudioDropCause::CaptureQueueFull => "capture_queue_full",
            AudioDropCause::PlaybackQueueFull => "playback_queue_full",
            AudioDropCause::NoCall => "no_call",
        }
    }
}

/// One radio's dropped-frame counters, shared by the threads and tasks that move its audio.
#[derive(Debug, Default)]
pub struct AudioDrops {
    capture_queue_full: AtomicU64,
    playback_queue_full: AtomicU64,
    no_call: AtomicU64,
}

impl AudioDrops {
    /// Counts one frame dropped for `cause`.
    pub fn count(&self, cause: AudioDropCause) {
        self.counter(cause).fetch_add(1, Ordering::Relaxed);
    }

    /// Frames dropped for `cause` so far.
    pub fn get(&self, cause: AudioDropCause) -> u64 {
        self.counter(cause).load(Ordering::Relaxed)
    }

    /// Every count, as the status API shows them.
    pub fn counts(&self) -> AudioDropCounts {
        AudioDropCounts {
            capture_queue_full: self.get(AudioDropCause::CaptureQueueFull),
            playback_queue_full: self.get(AudioDropCause::PlaybackQueueFull),
            no_call: self.get(AudioDropCause::NoCall),
        }
    }

    /// Hands `item` to a bounded queue without waiting; a full queue drops it, counted as
    /// `cause`. `false` once the receiver is gone (the daemon is stopping: not a drop).
    pub fn offer<T>(&self, cause: AudioDropCause, queue: &mpsc::Sender<T>, item: T) -> bool {
        match queue.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.count(cause);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn counter(&self, cause: AudioDropCause) -> &AtomicU64 {
        match cause {
            AudioDropCause::CaptureQueueFull => &self.capture_queue_full,
            AudioDropCause::PlaybackQueueFull => &self.playback_queue_full,
            AudioDropCause::NoCall => &self.no_call,
        }
    }
}

/// A radio's dropped-frame counts since the daemon started, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioDropCounts {
    /// Captured frames dropped because the main loop's input queue was full.
    pub capture_queue_full: u64,
    /// Frames for the radio dropped because its playback queue was full.
    pub playback_queue_full: u64,
    /// Captured frames not relayed because the radio reported no call.
    #[serde(default)]
    pub no_call: u64,
}

impl AudioDropCounts {
    /// The count for `cause`.
    pub const fn get(&self, cause: AudioDropCause) -> u64 {
        match cause {
            AudioDropCause::CaptureQueueFull => self.capture_queue_full,
            AudioDropCause::PlaybackQueueFull => self.playback_queue_full,
            AudioDropCause::NoCall => self.no_call,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn offer_counts_a_full_queue_not_a_closed_one() {
        let drops = AudioDrops::default();
        let (tx, mut rx) = mpsc::channel(2);
        for n in 0..5u8 {
            assert!(drops.offer(AudioDropCause::CaptureQueueFull, &tx, n));
        }
        assert_eq!(drops.get(AudioDropCause::CaptureQueueFull), 3);
        assert_eq!(drops.get(AudioDropCause::PlaybackQueueFull), 0);
        // The first ones got through, in order.
        assert_eq!((rx.recv().await, rx.recv().await), (Some(0), Some(1)));
        drop(rx);
        assert!(!drops.offer(AudioDropCause::CaptureQueueFull, &tx, 9));
        assert_eq!(
            drops.counts(),
            AudioDropCounts {
                capture_queue_full: 3,
                playback_queue_full: 0,
                no_call: 0,
            }
        );
    }
}
