//! Jitter-buffer quality on seeded synthetic network traces, and the cost per frame.
//!
//! `cargo bench -p borderlink-gateway --bench jitter_quality` (set `JITTER_SEED` to vary the
//! trace). One source sends talk spurts of 2–6 s (20 ms G.711 frames, an End packet after the
//! last) with 1–3 s pauses, through a network with:
//! - a base one-way delay of 40 ms plus jitter: |N(0, σ = 10 ms)| (a normal truncated at zero
//!   extra delay);
//! - bursty loss, 5 % on average: a Gilbert–Elliott chain (good→bad 2.1 %, bad→good 40 %,
//!   every packet lost in the bad state, mean burst 2.5 packets), End packets included;
//! - reordering: 1 % of packets are held back behind the next 1–5 packets (depth up to 5);
//! - duplication: 1 % of packets arrive twice, the copy 0–30 ms after the first.
//!
//! Each spurt plays through its own `StreamBuffer`; the source's `DelayEstimator` carries
//! over between spurts, as in the engine. RTP timestamps come either from one sender clock
//! that runs across spurts ("continuous", which lets the buffer anchor on the source's minimum
//! transit) or from a random start per spurt ("random ts", which makes it anchor on each
//! spurt's own fastest early frames). Definitions of the columns:
//! - **p95 jitter**: the 95th percentile of (arrival − send − base delay) over every packet that
//!   arrived, reordering holds included: what the network adds on top of its minimum.
//! - **added delay**: playout time − (send time + base delay), mean over played frames: what
//!   the listener waits beyond a jitter-free path. The target is ≤ p95 jitter + 20 ms, judged
//!   after the source's first spurt (which knows nothing yet and plays with the initial
//!   60 ms).
//! - **residence**: playout time − arrival, mean over played frames: time spent in the buffer.
//! - **late**: frames that arrived after their playout time, % of frames sent (target ≤ 1 %).
//! - **concealed**: slots inside a spurt played as concealment (network loss + late), % of
//!   frames sent.
//! - **dup out**: slots played twice (must be 0); **reorder loss**: frames that arrived out of
//!   order but before their playout time and did not play (must be 0); **in-time lost**: any
//!   frame that arrived before its playout time and did not play (must be 0).
//! - **cut**: frames lost because a loss burst longer than the end timeout ended the
//!   transmission early (they arrive after the buffer ended: late by definition).

use std::time::Instant as WallClock;

use borderlink_gateway::engine::counters::DropCause;
use borderlink_gateway::engine::jitter::{
    Arrival, DelayConfig, DelayEstimator, EndReason, FrameKind, GrantConfig, GrantQueue,
    JitterConfig, PlayoutMode, StreamBuffer,
};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, TxState};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const DEFAULT_SEED: u64 = 0x6a17_7e25;
const SPURTS: usize = 60;
const BASE_US: u64 = 40_000;
const SIGMA_US: f64 = 10_000.0;
const P_GOOD_TO_BAD: f64 = 0.021;
const P_BAD_TO_GOOD: f64 = 0.4;
const P_REORDER: f64 = 0.01;
const MAX_DEPTH: usize = 5;
const P_DUPLICATE: f64 = 0.01;
const FRAME_US: u64 = 20_000;

/// One packet of the trace.
#[derive(Debug, Clone)]
struct Packet {
    arrival: Instant,
    seq: u16,
    /// Timestamp on the sender's continuous clock, and from a random start per spurt.
    ts_continuous: u32,
    ts_random: u32,
    /// Frame number inside the spurt; `None` for the End packet.
    frame: Option<usize>,
}

/// One talk spurt as sent and as delivered by the network.
#[derive(Debug)]
struct Spurt {
    first_seq: u16,
    start: Instant,
    frames: usize,
    /// First arrival of each frame, `None` if lost.
    arrival: Vec<Option<Instant>>,
    /// Whether a later frame of the spurt arrived before this one.
    reordered: Vec<bool>,
    /// Arrival order (duplicates included).
    packets: Vec<Packet>,
}

impl Spurt {
    fn sent(&self, k: usize) -> Instant {
        self.start + Duration::from_micros(k as u64 * FRAME_US)
    }
}

fn normal(rng: &mut SmallRng) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn make_trace(seed: u64) -> Vec<Spurt> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let clock0: u32 = rng.random();
    let mut bad = false;
    let mut t = Instant::from_millis(1_000);
    let mut spurts = Vec::with_capacity(SPURTS);
    for _ in 0..SPURTS {
        let frames = rng.random_range(100..=300usize);
        let first_seq: u16 = rng.random();
        let random_ts0: u32 = rng.random();
        let start = t;
        // Frames 0..frames, then the End packet.
        let mut base_arrival: Vec<Option<Instant>> = Vec::with_capacity(frames + 1);
        for k in 0..=frames {
            bad = if bad {
                rng.random::<f64>() >= P_BAD_TO_GOOD
            } else {
                rng.random::<f64>() < P_GOOD_TO_BAD
            };
            if bad {
                base_arrival.push(None);
                continue;
            }
            let extra = (normal(&mut rng) * SIGMA_US).abs() as u64;
            let sent = start + Duration::from_micros(k as u64 * FRAME_US);
            base_arrival.push(Some(sent + Duration::from_micros(BASE_US + extra)));
        }
        let mut arrival = base_arrival.clone();
        for (k, slot) in arrival.iter_mut().enumerate() {
            let Some(own) = *slot else { continue };
            if rng.random::<f64>() < P_REORDER {
                // Held back until just after the packet `depth` places later (if it arrives).
                let depth = rng.random_range(1..=MAX_DEPTH);
                if let Some(Some(behind)) = base_arrival.get(k + depth) {
                    *slot = Some(own.max(*behind) + Duration::from_micros(100));
                }
            }
        }
        let mut packets = Vec::new();
        for (k, a) in arrival.iter().enumerate() {
            let Some(a) = *a else { continue };
            let frame = (k < frames).then_some(k);
            let seq = first_seq.wrapping_add(k as u16);
            let sent = start + Duration::from_micros(k as u64 * FRAME_US);
            let packet = Packet {
                arrival: a,
                seq,
                ts_continuous: clock0.wrapping_add((sent.as_micros() / 125) as u32),
                ts_random: random_ts0.wrapping_add(k as u32 * 160),
                frame,
            };
            if rng.random::<f64>() < P_DUPLICATE {
                let lag = Duration::from_micros(rng.random_range(0..30_000));
                packets.push(Packet {
                    arrival: a + lag,
                    ..packet.clone()
                });
            }
            packets.push(packet);
        }
        packets.sort_by_key(|p| p.arrival);
        let mut reordered = vec![false; frames];
        let mut highest_seen: Option<usize> = None;
        for p in &packets {
            let k = p.frame.unwrap_or(frames);
            if let Some(h) = highest_seen
                && k < h
                && k < frames
            {
                reordered[k] = true;
            }
            highest_seen = Some(highest_seen.map_or(k, |h| h.max(k)));
        }
        arrival.truncate(frames);
        spurts.push(Spurt {
            first_seq,
            start,
            frames,
            arrival,
            reordered,
            packets,
        });
        t = start
            + Duration::from_micros(frames as u64 * FRAME_US)
            + Duration::from_millis(rng.random_range(1_000..=3_000));
    }
    spurts
}

/// Which timestamps the sender puts on its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Continuous,
    RandomPerSpurt,
}

/// One row of the table.
struct Setup {
    name: &'static str,
    mode: PlayoutMode,
    quantile: f64,
    clock: Clock,
    end_timeout_min: Duration,
}

/// What came out of one spurt's buffer.
struct Played {
    ended_at: Option<Instant>,
    /// Per played slot: frame number (may be ≥ frames for the tail), kind, time.
    slots: Vec<(i64, FrameKind, Instant)>,
    ended_by: Option<EndReason>,
    late: u64,
    duplicates_in: u64,
    target: Duration,
}

fn play(spurt: &Spurt, est: &mut DelayEstimator, config: &JitterConfig, clock: Clock) -> Played {
    let mut buf = StreamBuffer::new(config, est.target());
    let mut ended_at = None;
    let target = buf.target();
    let mut slots = Vec::with_capacity(spurt.frames + 64);
    let mut next = 0;
    let mut audio = [0u8; FRAME_LEN];
    loop {
        let wake = match (spurt.packets.get(next), buf.poll_timeout()) {
            (Some(p), Some(t)) => p.arrival.min(t),
            (Some(p), None) => p.arrival,
            (None, Some(t)) => t,
            (None, None) => break,
        };
        while let Some(p) = spurt.packets.get(next) {
            if p.arrival > wake {
                break;
            }
            let tx = if p.frame.is_some() {
                TxState::Continue
            } else {
                TxState::End
            };
            let frame = p.frame.map(|k| {
                audio[..8].copy_from_slice(&(k as u64).to_be_bytes());
                &audio
            });
            let timestamp = match clock {
                Clock::Continuous => p.ts_continuous,
                Clock::RandomPerSpurt => p.ts_random,
            };
            let _ = buf.push(
                wake,
                Arrival {
                    seq: p.seq,
                    timestamp,
                    tx,
                    audio: frame,
                },
                est,
            );
            next += 1;
        }
        buf.handle_timeout(wake);
        while let Some(f) = buf.poll_frame(wake) {
            let k = i64::from(f.seq.wrapping_sub(spurt.first_seq) as i16);
            if f.kind == FrameKind::Audio {
                let mut tag = [0u8; 8];
                tag.copy_from_slice(&f.audio[..8]);
                assert_eq!(u64::from_be_bytes(tag) as i64, k, "wrong frame in slot");
            }
            slots.push((k, f.kind, f.at));
        }
        if buf.is_ended() && ended_at.is_none() {
            ended_at = Some(wake);
        }
        if buf.is_ended() && next == spurt.packets.len() {
            break;
        }
    }
    let c = buf.counters();
    Played {
        ended_at,
        slots,
        ended_by: buf.ended_by(),
        late: c.dropped(DropCause::Late),
        duplicates_in: c.dropped(DropCause::Duplicate),
        target,
    }
}

#[derive(Default)]
struct Totals {
    sent: u64,
    network_lost: u64,
    late_frames: u64,
    concealed_in_spurt: u64,
    dup_out: u64,
    reorder_in_time: u64,
    reorder_loss: u64,
    in_time_lost: u64,
    cut: u64,
    added_us: Vec<u64>,
    /// Added delay of the frames after the source's first spurt (which plays with the
    /// initial delay, as nothing is known yet).
    added_warm_us: Vec<u64>,
    residence_us: Vec<u64>,
    targets_us: Vec<u64>,
    ended_by_flag: u64,
    ended_by_timeout: u64,
    duplicates_dropped: u64,
    late_counted: u64,
}

fn evaluate(trace: &[Spurt], setup: &Setup) -> Totals {
    let mut est = DelayEstimator::new(&DelayConfig {
        mode: setup.mode,
        quantile: setup.quantile,
        ..DelayConfig::default()
    });
    let config = JitterConfig {
        end_timeout_min: setup.end_timeout_min,
        ..JitterConfig::default()
    };
    let mut tot = Totals::default();
    for (n, spurt) in trace.iter().enumerate() {
        let played = play(spurt, &mut est, &config, setup.clock);
        let cut_at = played
            .ended_at
            .filter(|_| played.ended_by == Some(EndReason::Timeout));
        tot.targets_us.push(played.target.as_micros());
        match played.ended_by {
            Some(EndReason::EndFlag) => tot.ended_by_flag += 1,
            Some(EndReason::Timeout) => tot.ended_by_timeout += 1,
            None => {}
        }
        tot.duplicates_dropped += played.duplicates_in;
        tot.late_counted += played.late;
        // Slots must be consecutive frame numbers: anything else is a duplicate or a skip.
        for w in played.slots.windows(2) {
            if w[1].0 != w[0].0 + 1 {
                tot.dup_out += 1;
            }
        }
        let Some(&(k0, _, at0)) = played.slots.first() else {
            continue;
        };
        let due = |k: usize| {
            let offset = k as i64 - k0;
            if offset >= 0 {
                at0 + Duration::from_micros(offset as u64 * FRAME_US)
            } else {
                at0 - Duration::from_micros(offset.unsigned_abs() * FRAME_US)
            }
        };
        let kind_of = |k: usize| {
            usize::try_from(k as i64 - k0)
                .ok()
                .and_then(|i| played.slots.get(i))
                .map(|s| s.1)
        };
        for k in 0..spurt.frames {
            tot.sent += 1;
            let played_audio = kind_of(k) == Some(FrameKind::Audio);
            match spurt.arrival[k] {
                None => tot.network_lost += 1,
                Some(a) if cut_at.is_some_and(|end| a > end) => tot.cut += 1,
                Some(a) => {
                    let in_time = a <= due(k);
                    if !in_time {
                        tot.late_frames += 1;
                    }
                    if in_time && !played_audio {
                        tot.in_time_lost += 1;
                    }
                    if spurt.reordered[k] && in_time {
                        tot.reorder_in_time += 1;
                        if !played_audio {
                            tot.reorder_loss += 1;
                        }
                    }
                    if played_audio {
                        let at = due(k);
                        let ideal = spurt.sent(k) + Duration::from_micros(BASE_US);
                        tot.added_us.push((at - ideal).as_micros());
                        if n > 0 {
                            tot.added_warm_us.push((at - ideal).as_micros());
                        }
                        tot.residence_us.push((at - a).as_micros());
                    }
                }
            }
            if kind_of(k).is_some_and(FrameKind::is_concealed) {
                tot.concealed_in_spurt += 1;
            }
        }
    }
    tot
}

fn percentile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn mean(values: &[u64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<u64>() as f64 / values.len() as f64
}

fn trace_jitter_p95_ms(trace: &[Spurt]) -> f64 {
    let mut extra: Vec<u64> = trace
        .iter()
        .flat_map(|s| {
            (0..s.frames).filter_map(move |k| {
                s.arrival[k].map(|a| (a - (s.sent(k) + Duration::from_micros(BASE_US))).as_micros())
            })
        })
        .collect();
    percentile(&mut extra, 0.95) as f64 / 1_000.0
}

/// Wall-clock cost of push + poll per frame, over the whole trace, best of `rounds`.
fn time_per_frame(trace: &[Spurt], rounds: usize) -> (f64, u64) {
    let mut best = f64::MAX;
    let mut frames = 0;
    for _ in 0..rounds {
        let mut est = DelayEstimator::new(&DelayConfig::default());
        let started = WallClock::now();
        let mut played = 0u64;
        for spurt in trace {
            let config = JitterConfig::default();
            let out = play(spurt, &mut est, &config, Clock::Continuous);
            played += std::hint::black_box(out).slots.len() as u64;
        }
        let elapsed = started.elapsed().as_nanos() as f64;
        best = best.min(elapsed / played as f64);
        frames = played;
    }
    (best, frames)
}

/// Wall-clock cost of one push + one release through a granted `GrantQueue`.
fn time_grant_queue(frames: u64) -> f64 {
    let mut q = GrantQueue::new(&GrantConfig::default());
    let speech = [0xaau8; FRAME_LEN];
    let mut now = Instant::from_millis(0);
    // Fill 15 frames (a 300 ms grant wait), then run steady state: one in, one out.
    for _ in 0..15 {
        q.push(now, &speech);
    }
    q.grant(now);
    let started = WallClock::now();
    for _ in 0..frames {
        q.push(now, std::hint::black_box(&speech));
        std::hint::black_box(q.poll_frame(now));
        now += Duration::from_millis(20);
    }
    started.elapsed().as_nanos() as f64 / frames as f64
}

fn main() {
    let seed = std::env::var("JITTER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let trace = make_trace(seed);
    let p95 = trace_jitter_p95_ms(&trace);
    let frames: usize = trace.iter().map(|s| s.frames).sum();
    println!("jitter_quality: seed {seed} (JITTER_SEED), SmallRng (rand 0.9)");
    println!(
        "trace: {} spurts, {frames} frames ({:.0} s of speech); base {} ms, jitter |N(0, {} ms)|, \
         Gilbert-Elliott loss (G->B {:.1} %, B->G {:.0} %), reorder {:.0} % up to depth {MAX_DEPTH}, \
         duplicates {:.0} %",
        trace.len(),
        frames as f64 * 0.02,
        BASE_US / 1_000,
        SIGMA_US / 1_000.0,
        P_GOOD_TO_BAD * 100.0,
        P_BAD_TO_GOOD * 100.0,
        P_REORDER * 100.0,
        P_DUPLICATE * 100.0,
    );
    println!(
        "trace p95 jitter: {p95:.1} ms  ->  added-delay target <= {:.1} ms",
        p95 + 20.0
    );
    println!();
    println!(
        "| playout | timestamps | end timeout min | target ms (median [min, max]) | added delay ms (mean / p95; mean after 1st spurt) | residence ms | late % | cut % | net loss % | concealed % | dup out | reordered in time / lost | in-time lost | end: flag / timeout | meets targets (after 1st spurt) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let ms = Duration::from_millis;
    let row = |name, mode, quantile, clock, end_timeout_min| Setup {
        name,
        mode,
        quantile,
        clock,
        end_timeout_min,
    };
    let adaptive = PlayoutMode::Adaptive;
    let rows = [
        row(
            "adaptive q0.95 (default)",
            adaptive,
            0.95,
            Clock::Continuous,
            ms(500),
        ),
        row(
            "adaptive q0.95",
            adaptive,
            0.95,
            Clock::RandomPerSpurt,
            ms(500),
        ),
        row("adaptive q0.95", adaptive, 0.95, Clock::Continuous, ms(200)),
        row("adaptive q0.99", adaptive, 0.99, Clock::Continuous, ms(500)),
        row("adaptive q0.90", adaptive, 0.90, Clock::Continuous, ms(500)),
        row(
            "fixed 40 ms",
            PlayoutMode::Fixed(ms(40)),
            0.95,
            Clock::Continuous,
            ms(500),
        ),
        row(
            "fixed 60 ms",
            PlayoutMode::Fixed(ms(60)),
            0.95,
            Clock::Continuous,
            ms(500),
        ),
        row(
            "fixed 100 ms",
            PlayoutMode::Fixed(ms(100)),
            0.95,
            Clock::Continuous,
            ms(500),
        ),
    ];
    for setup in &rows {
        let mut t = evaluate(&trace, setup);
        let sent = t.sent.max(1) as f64;
        let pct = |n: u64| n as f64 * 100.0 / sent;
        let added_mean = mean(&t.added_us) / 1_000.0;
        let added_warm = mean(&t.added_warm_us) / 1_000.0;
        let added_p95 = percentile(&mut t.added_us, 0.95) as f64 / 1_000.0;
        let residence = mean(&t.residence_us) / 1_000.0;
        let late = pct(t.late_frames);
        let meets = added_warm <= p95 + 20.0
            && late <= 1.0
            && t.dup_out == 0
            && t.reorder_loss == 0
            && t.in_time_lost == 0;
        let mut targets = t.targets_us.clone();
        let median = percentile(&mut targets, 0.5) as f64 / 1_000.0;
        let lo = targets.first().copied().unwrap_or(0) as f64 / 1_000.0;
        let hi = targets.last().copied().unwrap_or(0) as f64 / 1_000.0;
        let clock = match setup.clock {
            Clock::Continuous => "continuous",
            Clock::RandomPerSpurt => "random per spurt",
        };
        println!(
            "| {} | {clock} | {} | {median:.1} [{lo:.1}, {hi:.1}] | {added_mean:.1} / {added_p95:.1}; {added_warm:.1} | {residence:.1} | {late:.2} | {:.2} | {:.2} | {:.2} | {} | {} / {} | {} | {} / {} | {} |",
            setup.name,
            setup.end_timeout_min,
            pct(t.cut),
            pct(t.network_lost),
            pct(t.concealed_in_spurt),
            t.dup_out,
            t.reorder_in_time,
            t.reorder_loss,
            t.in_time_lost,
            t.ended_by_flag,
            t.ended_by_timeout,
            if meets { "yes" } else { "NO" },
        );
        // The counters must agree with what the trace says happened.
        assert!(
            t.late_counted >= t.late_frames + t.cut,
            "{}: a late frame went uncounted",
            setup.name
        );
        assert!(t.duplicates_dropped > 0, "the trace has duplicates");
    }
    println!();
    let (ns, played) = time_per_frame(&trace, 5);
    let grant_ns = time_grant_queue(1_000_000);
    println!(
        "cost: StreamBuffer push + poll_frame (+ estimator) {ns:.0} ns per played frame \
         ({played} frames, best of 5); GrantQueue push + poll_frame {grant_ns:.0} ns per frame"
    );
}
