//! Property tests of the stream buffer: whatever the network does to a transmission, the
//! output is strictly in sequence, holds no duplicate, and loses no frame that arrived in time.

use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::TxState;
use proptest::prelude::*;

use super::buffer::{EndReason, JitterConfig, StreamBuffer};
use super::conceal::FrameKind;
use super::playout::{DelayEstimator, Sample};
use super::testkit::{Packet, Run, drive, fixed, tag_of};
use crate::engine::counters::DropCause;

/// The default settings with the end timeout's floor at 200 ms (more transmissions end by
/// timeout, which is what the properties must survive).
fn config() -> JitterConfig {
    JitterConfig {
        end_timeout_min: Duration::from_millis(200),
        ..JitterConfig::default()
    }
}

/// Network base delay of the simulated path.
const BASE_US: u64 = 30_000;

/// What the network does to one frame.
#[derive(Debug, Clone)]
struct Fate {
    /// Queueing delay on top of the base delay.
    jitter_us: u64,
    lost: bool,
    /// A second copy arrives this much after the first.
    duplicate: Option<u64>,
}

fn fates(max_jitter_us: u64) -> impl Strategy<Value = Vec<Fate>> {
    prop::collection::vec(
        (
            0..=max_jitter_us,
            prop::bool::weighted(0.1),
            prop::option::weighted(0.1, 0u64..80_000),
        )
            .prop_map(|(jitter_us, lost, duplicate)| Fate {
                jitter_us,
                lost,
                duplicate,
            }),
        1..80,
    )
}

/// First sequence numbers: anywhere, and often just below the wrap.
fn first_seq() -> impl Strategy<Value = u16> {
    prop_oneof![any::<u16>(), 65_450u16..=65_535]
}

/// How the transmission's End packet fares.
#[derive(Debug, Clone, Copy)]
enum EndFate {
    None,
    Arrives { jitter_us: u64 },
    Lost,
}

fn end_fate() -> impl Strategy<Value = EndFate> {
    prop_oneof![
        Just(EndFate::None),
        Just(EndFate::Lost),
        (0u64..100_000).prop_map(|jitter_us| EndFate::Arrives { jitter_us }),
    ]
}

/// What the source's estimator knows from an earlier transmission.
#[derive(Debug, Clone, Copy)]
enum History {
    /// Nothing: this is the source's first transmission.
    None,
    /// A transmission over the same path, timestamps on the same clock.
    SameClock,
    /// Timestamps on an unrelated clock (a random start per transmission).
    OtherClock(u32),
    /// The same clock, over a path this much faster than today's.
    FasterRoute(u64),
}

fn history() -> impl Strategy<Value = History> {
    prop_oneof![
        Just(History::None),
        Just(History::SameClock),
        any::<u32>().prop_map(History::OtherClock),
        (1u64..=40).prop_map(History::FasterRoute),
    ]
}

/// The transmission under test starts at 10 s, so history fits before it.
const T0_US: u64 = 10_000_000;

struct Trace {
    packets: Vec<Packet>,
    /// Per frame: the first copy's arrival and its index in `packets`, or `None` if lost.
    first_copy: Vec<Option<(Instant, usize)>>,
}

fn trace(first: u16, ts0: u32, fates: &[Fate], end: EndFate) -> Trace {
    let mut packets = Vec::new();
    let mut first_copy = Vec::new();
    for (k, fate) in fates.iter().enumerate() {
        let seq = first.wrapping_add(k as u16);
        let at = Instant::from_micros(T0_US + k as u64 * 20_000 + BASE_US + fate.jitter_us);
        if fate.lost {
            first_copy.push(None);
            continue;
        }
        first_copy.push(Some((at, packets.len())));
        packets.push(Packet::audio(at, seq).frame_of(ts0, k as u32));
        if let Some(extra) = fate.duplicate {
            let copy = at + Duration::from_micros(extra);
            packets.push(Packet::audio(copy, seq).frame_of(ts0, k as u32));
        }
    }
    if let EndFate::Arrives { jitter_us } = end {
        let n = fates.len() as u64;
        let at = Instant::from_micros(T0_US + n * 20_000 + BASE_US + jitter_us);
        let seq = first.wrapping_add(fates.len() as u16);
        packets.push(Packet::end(at, seq).frame_of(ts0, n as u32));
    }
    Trace {
        packets,
        first_copy,
    }
}

/// Feeds `est` one earlier transmission of 50 frames, 5 s before this one, without jitter.
fn remember(est: &mut DelayEstimator, ts0: u32, history: History) {
    let (clock, faster_ms) = match history {
        History::None => return,
        History::SameClock => (ts0, 0),
        History::OtherClock(other) => (other, 0),
        History::FasterRoute(ms) => (ts0, ms),
    };
    // 5 s before frame 0 is 40,000 ticks earlier on the sender's clock.
    let start = clock.wrapping_sub(40_000);
    for k in 0..50u64 {
        est.observe(Sample {
            arrival: Instant::from_micros(
                T0_US - 5_000_000 + k * 20_000 + BASE_US - faster_ms * 1_000,
            ),
            timestamp: start.wrapping_add(k as u32 * 160),
            variation: Duration::ZERO,
        });
    }
}

fn run(
    first: u16,
    ts0: u32,
    history: History,
    target_ms: u64,
    fates: &[Fate],
    end: EndFate,
) -> (Trace, StreamBuffer, Run) {
    let tr = trace(first, ts0, fates, end);
    let mut est = fixed(target_ms);
    remember(&mut est, ts0, history);
    let mut buf = StreamBuffer::new(&config(), est.target());
    let run = drive(
        &mut buf,
        &mut est,
        &tr.packets,
        Instant::from_micros(u64::MAX),
    );
    (tr, buf, run)
}

/// The invariants that hold whatever happened on the way.
fn check_output(
    first: u16,
    tr: &Trace,
    buf: &StreamBuffer,
    run: &Run,
) -> Result<(), TestCaseError> {
    prop_assert!(
        run.ended_at.is_some() || tr.packets.is_empty(),
        "the transmission never ended"
    );
    // Strictly in sequence, one slot each: no gaps, no repeats, no reordering.
    for (i, f) in run.frames.iter().enumerate() {
        prop_assert_eq!(f.index, i as u64);
        prop_assert_eq!(f.seq, run.frames[0].seq.wrapping_add(i as u16));
        if i > 0 {
            prop_assert_eq!(f.at, run.frames[i - 1].at + Duration::from_millis(20));
        }
    }
    // A transmission declared over by the end timeout (no packet for at least 200 ms, which
    // jitter far beyond the playout delay can cause) has no deadlines left: what arrives after
    // that is late by definition.
    let timed_out_at = run
        .ended_at
        .filter(|_| buf.ended_by() == Some(EndReason::Timeout));
    let after_end = |arrival: Instant| timed_out_at.is_some_and(|end| arrival > end);
    let Some(start) = run.frames.first() else {
        prop_assert!(
            tr.first_copy
                .iter()
                .flatten()
                .all(|&(arrival, _)| after_end(arrival)),
            "frames arrived but nothing played"
        );
        return Ok(());
    };
    // Every frame that arrived by its slot's time played as received; none that missed it did.
    for (k, copy) in tr.first_copy.iter().enumerate() {
        let Some((arrival, _)) = *copy else { continue };
        if after_end(arrival) {
            continue;
        }
        let seq = first.wrapping_add(k as u16);
        let offset = i64::from(seq.wrapping_sub(start.seq) as i16);
        let due = if offset >= 0 {
            start.at + Duration::from_millis(20 * offset as u64)
        } else {
            start.at - Duration::from_millis(20 * offset.unsigned_abs())
        };
        let slot = usize::try_from(offset).ok().and_then(|o| run.frames.get(o));
        if arrival <= due {
            let slot = slot.ok_or_else(|| {
                TestCaseError::fail(format!(
                    "seq {seq} arrived in time but its slot never played"
                ))
            })?;
            prop_assert_eq!(slot.kind, FrameKind::Audio, "seq {} arrived in time", seq);
            prop_assert_eq!(tag_of(&slot.audio), seq);
        } else if let Some(slot) = slot {
            prop_assert_ne!(slot.kind, FrameKind::Audio, "seq {} was late", seq);
        }
    }
    let c = buf.counters();
    let audio = run
        .frames
        .iter()
        .filter(|f| f.kind == FrameKind::Audio)
        .count() as u64;
    prop_assert_eq!(c.delivered, audio);
    prop_assert_eq!(c.concealed, run.frames.len() as u64 - audio);
    prop_assert_eq!(
        c.received,
        c.delivered + c.dropped_total(),
        "a frame went uncounted"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any jitter (up to twice the playout delay, so some frames are late), loss,
    /// duplication and the resulting reordering.
    #[test]
    fn output_is_in_sequence_and_everything_in_time_plays(
        first in first_seq(),
        ts0 in any::<u32>(),
        history in history(),
        target_ms in 20u64..=120,
        fates in fates(240_000),
        end in end_fate(),
    ) {
        let (tr, buf, run) = run(first, ts0, history, target_ms, &fates, end);
        check_output(first, &tr, &buf, &run)?;
    }

    /// Jitter within the playout delay: every arrival order this allows loses nothing,
    /// whatever the first packet's own delay and whatever the source's history says, unless
    /// the route got slower since (then the anchor may be early by up to the difference).
    #[test]
    fn reordering_within_the_playout_delay_loses_nothing(
        first in first_seq(),
        ts0 in any::<u32>(),
        history in history().prop_filter("route unchanged", |h| {
            !matches!(h, History::FasterRoute(_))
        }),
        target_ms in 20u64..=120,
        seed_fates in fates(1_000_000),
        end in end_fate(),
    ) {
        let fates: Vec<Fate> = seed_fates
            .into_iter()
            .map(|f| Fate { jitter_us: f.jitter_us % (target_ms * 1_000 + 1), ..f })
            .collect();
        let (tr, buf, run) = run(first, ts0, history, target_ms, &fates, end);
        check_output(first, &tr, &buf, &run)?;
        for (k, copy) in tr.first_copy.iter().enumerate() {
            if let Some((_, i)) = *copy {
                prop_assert_eq!(run.pushed[i], Ok(()), "frame {} refused", k);
            }
        }
        let sent = tr.first_copy.iter().filter(|c| c.is_some()).count() as u64;
        prop_assert_eq!(buf.counters().delivered, sent);
        // Copies are dropped as duplicates, or as late when they come after the end.
        let c = buf.counters();
        prop_assert_eq!(c.dropped(DropCause::Overflow), 0);
        prop_assert_eq!(
            c.dropped(DropCause::Duplicate) + c.dropped(DropCause::Late),
            c.received - sent
        );
    }

    /// Arbitrary packets (any sequence numbers, states and times) never panic, and every
    /// frame stays accounted for.
    #[test]
    fn arbitrary_packets_are_accounted_for(
        packets in prop::collection::vec(
            (0u64..2_000_000, any::<u16>(), any::<u32>(), 0u8..3, any::<bool>()),
            0..60,
        ),
        target_ms in 0u64..=600,
    ) {
        let packets: Vec<Packet> = packets
            .into_iter()
            .map(|(at, seq, ts, tx, audio)| Packet {
                at: Instant::from_micros(at),
                seq,
                ts,
                tx: [TxState::Start, TxState::Continue, TxState::End][usize::from(tx)],
                tag: audio.then_some(seq),
            })
            .collect();
        let mut est = fixed(target_ms);
        let mut buf = StreamBuffer::new(&config(), est.target());
        let run = drive(&mut buf, &mut est, &packets, Instant::from_micros(u64::MAX));
        let c = buf.counters();
        prop_assert_eq!(c.received, c.delivered + c.dropped_total() + buf.buffered() as u64);
        prop_assert!(run.ended_at.is_some() || packets.is_empty());
        for (i, f) in run.frames.iter().enumerate() {
            prop_assert_eq!(f.index, i as u64);
        }
    }
}
