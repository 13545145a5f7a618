//! The ALSA backend: a radio's audio through a sound device, normally the interface board's
//! USB audio codec wired to the radio's accessory audio lines (`hw:CARD=Codec,DEV=0`).
//!
//! Built only with the `alsa` cargo feature, because it links the system's libasound.
//!
//! The device runs at 8 kHz, mono, 16-bit, in periods of 160 samples (20 ms), so one period is
//! one G.711 frame and nothing is resampled or regrouped. ALSA's calls block, so capture and
//! playback each have a thread of their own:
//!
//! - capture reads a period, encodes it as A-law and hands it to a callback (the daemon
//!   forwards it to its main loop, which relays it only while the radio reports a call);
//! - playback decodes each frame it is given and writes it; while a transmission lasts, a
//!   frame that does not arrive in time is replaced by silence so the device never underruns
//!   in the middle of an over, and after [`IDLE_AFTER`] without frames the device is stopped
//!   until the next one.
//!
//! An overrun or underrun (`EPIPE`) is recovered in place and counted; a device that fails
//! otherwise is reopened after a pause, so an unplugged USB codec comes back by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};
use borderlink_protocol::voice::FRAME_LEN;
use borderlink_protocol::voice::g711;
use tracing::{error, warn};

/// The device's sample rate: TETRA speech as G.711 carries it.
pub const RATE: u32 = 8_000;

/// Playback stops this long after the last frame: the over is done.
pub const IDLE_AFTER: Duration = Duration::from_millis(200);

/// How long a failed device is left before it is opened again.
const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// Periods in the device buffer: 80 ms, enough to ride out scheduling hiccups without adding
/// much delay to the voice path.
const PERIODS: u32 = 4;

/// Frames queued for playback before the oldest are refused (the engine already paces them).
const PLAY_QUEUE: usize = 64;

/// Counters of one ALSA device, shared with its threads.
#[derive(Debug, Default)]
pub struct AlsaCounters {
    /// Frames captured.
    pub captured: AtomicU64,
    /// Frames played.
    pub played: AtomicU64,
    /// Silence frames written to bridge a late frame during a transmission.
    pub filled: AtomicU64,
    /// Capture overruns and playback underruns recovered.
    pub xruns: AtomicU64,
    /// Times the device had to be reopened.
    pub reopened: AtomicU64,
}

/// A radio's sound device: capture and playback threads running.
#[derive(Debug)]
pub struct AlsaAudio {
    play: SyncSender<[u8; FRAME_LEN]>,
    stop: Arc<AtomicBool>,
    counters: Arc<AlsaCounters>,
}

/// Why the device could not be opened at start.
#[derive(Debug, thiserror::Error)]
#[error("ALSA device `{device}` ({direction}): {cause}")]
pub struct AlsaError {
    /// The device name.
    pub device: String,
    /// `capture` or `playback`.
    pub direction: &'static str,
    /// ALSA's message.
    pub cause: String,
}

/// Opens `device` in one direction with the voice path's parameters.
fn open(device: &str, direction: Direction) -> Result<PCM, AlsaError> {
    let name = match direction {
        Direction::Capture => "capture",
        Direction::Playback => "playback",
    };
    let fail = |e: alsa::Error| AlsaError {
        device: device.to_owned(),
        direction: name,
        cause: e.to_string(),
    };
    let pcm = PCM::new(device, direction, false).map_err(fail)?;
    {
        let hwp = HwParams::any(&pcm).map_err(fail)?;
        hwp.set_access(Access::RWInterleaved).map_err(fail)?;
        hwp.set_format(Format::s16()).map_err(fail)?;
        hwp.set_channels(1).map_err(fail)?;
        hwp.set_rate(RATE, ValueOr::Nearest).map_err(fail)?;
        hwp.set_period_size(FRAME_LEN as alsa::pcm::Frames, ValueOr::Nearest)
            .map_err(fail)?;
        hwp.set_periods(PERIODS, ValueOr::Nearest).map_err(fail)?;
        pcm.hw_params(&hwp).map_err(fail)?;
    }
    let rate = pcm
        .hw_params_current()
        .and_then(|h| h.get_rate())
        .map_err(fail)?;
    if rate != RATE {
        return Err(AlsaError {
            device: device.to_owned(),
            direction: name,
            cause: format!("runs at {rate} Hz, not {RATE} Hz (use a plughw: device to resample)"),
        });
    }
    Ok(pcm)
}

impl AlsaAudio {
    /// Opens `device` for capture and playback and starts both threads. Each captured frame
    /// goes to `on_frame`; the threads end when [`AlsaAudio`] is dropped.
    pub fn start(
        device: &str,
        on_frame: impl FnMut([u8; FRAME_LEN]) + Send + 'static,
    ) -> Result<AlsaAudio, AlsaError> {
        // Open both once here so a wrong name or format stops the daemon at start, with the
        // reason, rather than leaving a deaf radio.
        let capture = open(device, Direction::Capture)?;
        let playback = open(device, Direction::Playback)?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(AlsaCounters::default());
        let (play, frames) = sync_channel(PLAY_QUEUE);
        let spawn_failed = |direction, e: std::io::Error| AlsaError {
            device: device.to_owned(),
            direction,
            cause: format!("cannot start its thread: {e}"),
        };
        {
            let device = device.to_owned();
            let stop = Arc::clone(&stop);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name(format!("alsa-capture {device}"))
                .spawn(move || capture_loop(&device, capture, on_frame, &stop, &counters))
                .map_err(|e| spawn_failed("capture", e))?;
        }
        {
            let device = device.to_owned();
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name(format!("alsa-playback {device}"))
                .spawn(move || playback_loop(&device, playback, &frames, &counters))
                .map_err(|e| spawn_failed("playback", e))?;
        }
        Ok(AlsaAudio {
            play,
            stop,
            counters,
        })
    }

    /// Queues a frame for playback; `false` if the queue is full (the frame is dropped).
    pub fn play(&self, frame: [u8; FRAME_LEN]) -> bool {
        self.play.try_send(frame).is_ok()
    }

    /// The device's counters.
    pub fn counters(&self) -> &AlsaCounters {
        &self.counters
    }
}

impl Drop for AlsaAudio {
    fn drop(&mut self) {
        // Capture sees the flag within a period; playback sees its channel close.
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn capture_loop(
    device: &str,
    mut pcm: PCM,
    mut on_frame: impl FnMut([u8; FRAME_LEN]),
    stop: &AtomicBool,
    counters: &AlsaCounters,
) {
    let mut samples = [0i16; FRAME_LEN];
    while !stop.load(Ordering::SeqCst) {
        let read = pcm.io_i16().and_then(|io| io.readi(&mut samples));
        match read {
            Ok(n) if n == FRAME_LEN => {
                let mut frame = [0u8; FRAME_LEN];
                g711::encode_into(&samples, &mut frame);
                counters.captured.fetch_add(1, Ordering::Relaxed);
                on_frame(frame);
            }
            // A short read happens around a recovery; the partial period is dropped.
            Ok(_) => {}
            Err(e) => {
                if pcm.try_recover(e, true).is_ok() {
                    counters.xruns.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                warn!(%device, cause = %e, "ALSA capture failed: reopening");
                pcm = match reopen(device, Direction::Capture, stop, counters) {
                    Some(pcm) => pcm,
                    None => return,
                };
            }
        }
    }
}

fn playback_loop(
    device: &str,
    mut pcm: PCM,
    frames: &Receiver<[u8; FRAME_LEN]>,
    counters: &AlsaCounters,
) {
    let never = AtomicBool::new(false);
    let silence = [0i16; FRAME_LEN];
    let mut samples = [0i16; FRAME_LEN];
    let mut last_frame: Option<Instant> = None;
    loop {
        // A period and a bit: a frame this late is bridged with silence.
        let next = frames.recv_timeout(Duration::from_millis(25));
        let out: &[i16] = match next {
            Ok(frame) => {
                g711::decode_into(&frame, &mut samples);
                last_frame = Some(Instant::now());
                counters.played.fetch_add(1, Ordering::Relaxed);
                &samples
            }
            Err(RecvTimeoutError::Timeout) => match last_frame {
                Some(at) if at.elapsed() < IDLE_AFTER => {
                    counters.filled.fetch_add(1, Ordering::Relaxed);
                    &silence
                }
                Some(_) => {
                    // The over is done: let the buffer play out and stop until the next one.
                    last_frame = None;
                    let _ = pcm.drain();
                    let _ = pcm.prepare();
                    continue;
                }
                None => continue,
            },
            Err(RecvTimeoutError::Disconnected) => {
                let _ = pcm.drain();
                return;
            }
        };
        let written = pcm.io_i16().and_then(|io| io.writei(out));
        if let Err(e) = written {
            if pcm.try_recover(e, true).is_ok() {
                counters.xruns.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            warn!(%device, cause = %e, "ALSA playback failed: reopening");
            pcm = match reopen(device, Direction::Playback, &never, counters) {
                Some(pcm) => pcm,
                None => return,
            };
        }
    }
}

/// Opens the device again, once a second, until it works or `stop` is set.
fn reopen(
    device: &str,
    direction: Direction,
    stop: &AtomicBool,
    counters: &AlsaCounters,
) -> Option<PCM> {
    loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        std::thread::sleep(REOPEN_AFTER);
        match open(device, direction) {
            Ok(pcm) => {
                counters.reopened.fetch_add(1, Ordering::Relaxed);
                return Some(pcm);
            }
            Err(e) => error!(%e, "ALSA device still unusable"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// ALSA's `null` device (alsa-lib's null plugin): capture yields silence at the device's
    /// pace, playback accepts anything. It exercises the real library and the threads without
    /// a sound card.
    const NULL: &str = "null";

    #[test]
    fn the_null_device_captures_silent_frames_and_plays_frames() {
        let (tx, rx) = mpsc::channel();
        let audio = AlsaAudio::start(NULL, move |frame| {
            let _ = tx.send(frame);
        })
        .expect("the null device opens");
        let frame = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("a captured frame");
        // Silence encodes as A-law 0xD5 (or its sign twin 0x55).
        assert!(frame.iter().all(|&c| c == 0xd5 || c == 0x55), "{frame:?}");
        for _ in 0..10 {
            assert!(audio.play([0xd5; FRAME_LEN]));
        }
        let end = Instant::now() + Duration::from_secs(5);
        while audio.counters().played.load(Ordering::Relaxed) < 10 {
            assert!(Instant::now() < end, "frames not played");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn an_unknown_device_is_refused_with_its_name() {
        let e = AlsaAudio::start("hw:CARD=NoSuchCodec", |_| {}).unwrap_err();
        assert_eq!(e.device, "hw:CARD=NoSuchCodec");
        assert!(!e.cause.is_empty());
    }
}
