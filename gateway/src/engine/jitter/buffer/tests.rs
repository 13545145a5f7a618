//! Deterministic virtual-time tests, one per rule of the stream buffer.

use super::*;
use crate::engine::jitter::playout::DelayConfig;
use crate::engine::jitter::testkit::{Packet, Run, drive, fixed, frame, tag_of};

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

const FOREVER: Instant = Instant::from_micros(u64::MAX);

/// Frames `first..first+n` sent every 20 ms from 0, each arriving `delay_ms` after sending.
fn steady(first: u16, n: u16, delay_ms: u64) -> Vec<Packet> {
    (0..n)
        .map(|i| {
            Packet::audio(t(u64::from(i) * 20 + delay_ms), first.wrapping_add(i))
                .frame_of(0, u32::from(i))
        })
        .collect()
}

/// The default settings with the end timeout's floor at 200 ms, which keeps these timelines
/// short.
fn config() -> JitterConfig {
    JitterConfig {
        end_timeout_min: ms(200),
        ..JitterConfig::default()
    }
}

fn buffer(target_ms: u64) -> (StreamBuffer, DelayEstimator) {
    let est = fixed(target_ms);
    (StreamBuffer::new(&config(), est.target()), est)
}

fn play(target_ms: u64, packets: &[Packet]) -> (StreamBuffer, Run) {
    let (mut buf, mut est) = buffer(target_ms);
    let run = drive(&mut buf, &mut est, packets, FOREVER);
    (buf, run)
}

fn kinds(run: &Run) -> Vec<FrameKind> {
    run.frames.iter().map(|f| f.kind).collect()
}

fn balanced(c: &Counters) -> bool {
    c.received == c.delivered + c.dropped_total()
}

#[test]
fn in_order_frames_play_at_the_first_arrival_plus_target_then_end_on_the_flag() {
    let mut packets = steady(100, 10, 30);
    packets.push(Packet::end(t(230), 110));
    let (buf, run) = play(40, &packets);
    assert_eq!(run.frames.len(), 10);
    for (i, f) in run.frames.iter().enumerate() {
        assert_eq!(f.seq, 100 + i as u16);
        assert_eq!(f.index, i as u64);
        assert_eq!(f.at, t(70 + 20 * i as u64));
        assert_eq!(f.kind, FrameKind::Audio);
        assert_eq!(tag_of(&f.audio), f.seq);
    }
    // Over as soon as the frame before the End packet has played.
    assert_eq!(run.ended_at, Some(t(250)));
    assert_eq!(buf.ended_by(), Some(EndReason::EndFlag));
    let c = buf.counters();
    assert_eq!((c.received, c.delivered, c.concealed), (10, 10, 0));
    assert_eq!(c.dropped_total(), 0);
}

#[test]
fn reordering_within_the_playout_delay_loses_nothing() {
    // Every even frame arrives 25 ms late, after its odd successor; the first packet to
    // arrive is frame 1, so frame 0 arrives "before the start" with index -1.
    let packets: Vec<Packet> = (0..10u16)
        .map(|i| {
            let late = if i % 2 == 0 { 25 } else { 0 };
            Packet::audio(t(30 + 20 * u64::from(i) + late), i)
        })
        .chain([Packet::end(t(230), 10)])
        .collect();
    let (buf, run) = play(40, &packets);
    assert!(run.pushed.iter().all(Result::is_ok), "{:?}", run.pushed);
    let seqs: Vec<u16> = run.frames.iter().map(|f| f.seq).collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert!(kinds(&run).iter().all(|&k| k == FrameKind::Audio));
    // Anchored on the fastest frames: frame k plays at 30 + 40 + 20k.
    assert_eq!(run.frames[0].at, t(70));
    assert_eq!(buf.counters().delivered, 10);
}

#[test]
fn a_frame_arriving_exactly_at_its_playout_time_plays() {
    let mut packets = steady(0, 6, 30);
    // Frame 2 plays at 70 + 40 = 110; it arrives at exactly 110.
    packets[2].at = t(110);
    let (buf, run) = play(40, &packets);
    assert_eq!(run.pushed[2], Ok(()));
    assert_eq!(run.frames[2].kind, FrameKind::Audio);
    assert_eq!(run.frames[2].at, t(110));
    assert_eq!(buf.counters().dropped(DropCause::Late), 0);
}

#[test]
fn a_frame_one_microsecond_after_its_playout_time_is_late() {
    let mut packets = steady(0, 6, 30);
    packets[2].at = t(110) + Duration::from_micros(1);
    packets.push(Packet::end(t(150), 6));
    let (buf, run) = play(40, &packets);
    assert_eq!(run.pushed[2], Err(DropCause::Late));
    assert_eq!(run.frames[2].kind, FrameKind::Repeat { repeat: 1 });
    assert_eq!(run.frames[2].seq, 2);
    let c = buf.counters();
    assert_eq!(c.dropped(DropCause::Late), 1);
    assert_eq!(c.concealed, 1);
    assert_eq!(c.delivered, 5);
    assert!(balanced(c));
}

#[test]
fn duplicates_are_dropped_whether_waiting_or_already_played() {
    let mut packets = steady(0, 5, 30);
    // A copy of frame 1 while it waits, and of frame 0 after it played at 70.
    packets.push(Packet::audio(t(55), 1));
    packets.push(Packet::audio(t(80), 0));
    let (buf, run) = play(40, &packets);
    assert_eq!(run.pushed[5], Err(DropCause::Duplicate));
    assert_eq!(
        run.pushed[6],
        Err(DropCause::Duplicate),
        "not late: played already"
    );
    let seqs: Vec<u16> = run.frames.iter().map(|f| f.seq).collect();
    assert_eq!(
        seqs,
        (0..12).collect::<Vec<u16>>(),
        "5 frames, then concealment until the timeout"
    );
    let c = buf.counters();
    assert_eq!(c.dropped(DropCause::Duplicate), 2);
    assert_eq!(c.delivered, 5);
}

#[test]
fn missing_frames_are_repeated_fading_then_comfort_silence() {
    let (mut buf, mut est) = buffer(40);
    let loud = [0xbau8; FRAME_LEN]; // 16128, see conceal.rs
    // Frames 0..3 and 8..10 arrive on time; 3..8 are lost.
    for seq in (0..3u16).chain(8..10) {
        let arrival = Arrival {
            seq,
            timestamp: u32::from(seq) * 160,
            tx: TxState::Continue,
            audio: Some(&loud),
        };
        assert_eq!(
            buf.push(t(30 + 20 * u64::from(seq)), arrival, &mut est),
            Ok(())
        );
    }
    let mut out = Vec::new();
    let mut now = t(70);
    while out.len() < 10 && now < t(1_000) {
        if let Some(f) = buf.poll_frame(now) {
            out.push((f.kind, f.audio[0]));
        } else {
            now += ms(20);
        }
    }
    use FrameKind::*;
    assert_eq!(
        out,
        [
            (Audio, 0xba),
            (Audio, 0xba),
            (Audio, 0xba),
            (Repeat { repeat: 1 }, 0x8a), // -6 dB
            (Repeat { repeat: 2 }, 0x9a), // -12 dB
            (Repeat { repeat: 3 }, 0xea), // -18 dB
            (Silence, 0xd5),
            (Silence, 0xd5),
            (Audio, 0xba),
            (Audio, 0xba),
        ]
    );
    assert_eq!(buf.counters().concealed, 5);
}

#[test]
fn an_end_packet_ends_after_concealing_the_frames_missing_before_it() {
    let mut packets = steady(0, 4, 30);
    // Frame 4 is lost; the signalling-only End (seq 5) arrives on time.
    packets.push(Packet::end(t(130), 5));
    let (buf, run) = play(40, &packets);
    assert_eq!(
        kinds(&run),
        [
            FrameKind::Audio,
            FrameKind::Audio,
            FrameKind::Audio,
            FrameKind::Audio,
            FrameKind::Repeat { repeat: 1 }
        ]
    );
    // Slot 4 plays at 150 and the transmission is over with it.
    assert_eq!(run.ended_at, Some(t(150)));
    assert_eq!(buf.ended_by(), Some(EndReason::EndFlag));
}

#[test]
fn an_end_packet_with_audio_plays_then_ends() {
    let mut packets = steady(0, 4, 30);
    packets[3].tx = TxState::End;
    let (buf, run) = play(40, &packets);
    assert_eq!(run.frames.len(), 4);
    assert_eq!(run.frames[3].kind, FrameKind::Audio);
    assert_eq!(run.ended_at, Some(t(130)));
    assert_eq!(buf.ended_by(), Some(EndReason::EndFlag));
}

#[test]
fn a_late_end_packet_ends_the_transmission_on_arrival() {
    let mut packets = steady(0, 5, 30);
    // Frames 5..8 are lost and the End (seq 8) comes long after their slots (170..230).
    packets.push(Packet::end(t(260), 8));
    let (buf, run) = play(40, &packets);
    assert_eq!(run.ended_at, Some(t(260)));
    assert_eq!(buf.ended_by(), Some(EndReason::EndFlag));
    assert_eq!(run.frames.len(), 5 + 5, "slots 5..10 concealed up to 250");
    assert!(balanced(buf.counters()));
}

#[test]
fn without_an_end_packet_the_end_timeout_ends_the_transmission() {
    // Target 40 ms: the timeout is max(3 x 40, 200) = 200 ms after the last arrival (110).
    let (buf, run) = play(40, &steady(0, 5, 30));
    assert_eq!(buf.end_timeout(), ms(200));
    assert_eq!(run.ended_at, Some(t(310)));
    assert_eq!(buf.ended_by(), Some(EndReason::Timeout));
    // Slots 5.. at 170, 190, ..., 290 were concealed: 3 fading repeats, then silence.
    let tail: Vec<FrameKind> = kinds(&run).split_off(5);
    assert_eq!(tail.len(), 7);
    assert_eq!(tail[2], FrameKind::Repeat { repeat: 3 });
    assert!(tail[3..].iter().all(|&k| k == FrameKind::Silence));
    assert_eq!(buf.counters().concealed, 7);
    // A longer delay stretches the timeout to three times the delay.
    let (buf, run) = play(100, &steady(0, 5, 30));
    assert_eq!(buf.end_timeout(), ms(300));
    assert_eq!(run.ended_at, Some(t(110 + 300)));
    // The default floor is 500 ms.
    assert_eq!(JitterConfig::default().end_timeout(ms(40)), ms(500));
    assert_eq!(JitterConfig::default().end_timeout(ms(200)), ms(600));
}

#[test]
fn signalling_packets_keep_a_silent_transmission_alive() {
    let mut packets = steady(0, 3, 30);
    // Squelch closed: signalling-only packets every 20 ms for a second, then nothing.
    for i in 3..53u16 {
        packets.push(Packet {
            at: t(30 + 20 * u64::from(i)),
            seq: i,
            ts: u32::from(i) * 160,
            tx: TxState::Continue,
            tag: None,
        });
    }
    let (buf, run) = play(40, &packets);
    let last = t(30 + 20 * 52);
    assert_eq!(run.ended_at, Some(last + ms(200)));
    assert_eq!(
        buf.counters().received,
        3,
        "signalling packets are not frames"
    );
    assert!(balanced(buf.counters()));
}

#[test]
fn a_delayed_first_packet_does_not_shift_the_transmission() {
    // Frame 0 meets 15 ms of queueing, frame 1 none: the start follows frame 1's transit.
    let packets = [Packet::audio(t(45), 0), Packet::audio(t(50), 1)];
    let (mut buf, mut est) = buffer(40);
    let _ = drive(&mut buf, &mut est, &packets[..1], t(46));
    assert_eq!(
        buf.playout_start(),
        Some(t(85)),
        "first packet alone: 45 + 40"
    );
    let run = drive(&mut buf, &mut est, &packets[1..], t(95));
    assert_eq!(buf.playout_start(), Some(t(70)), "30 ms base + 40");
    assert_eq!(run.frames[0].at, t(70));
    assert_eq!(run.frames[1].at, t(90));
}

#[test]
fn the_start_never_moves_into_the_past() {
    // Frame 0 arrives 25 ms behind the fastest transit; frame 2 shows the true base at 55,
    // when the start computed from it (35) has already passed. The start becomes 55, with
    // the rest of the schedule 20 ms apart from there, rather than a burst of due frames.
    let packets = [Packet::audio(t(40), 0), Packet::audio(t(55), 2)];
    let (mut buf, mut est) = buffer(20);
    let run = drive(&mut buf, &mut est, &packets, t(100));
    assert_eq!(buf.playout_start(), Some(t(55)));
    let at: Vec<Instant> = run.frames.iter().map(|f| f.at).collect();
    assert_eq!(at, [t(55), t(75), t(95)]);
    assert_eq!(kinds(&run)[1], FrameKind::Repeat { repeat: 1 });
}

#[test]
fn frames_beyond_the_capacity_overflow() {
    let config = JitterConfig {
        capacity: 8,
        ..JitterConfig::default()
    };
    let mut est = fixed(40);
    let mut buf = StreamBuffer::new(&config, est.target());
    let push = |buf: &mut StreamBuffer, est: &mut DelayEstimator, seq: u16| {
        let f = frame(seq);
        let arrival = Arrival {
            seq,
            timestamp: u32::from(seq) * 160,
            tx: TxState::Continue,
            audio: Some(&f),
        };
        buf.push(t(30), arrival, est)
    };
    assert_eq!(push(&mut buf, &mut est, 10), Ok(()));
    assert_eq!(push(&mut buf, &mut est, 17), Ok(()), "10..=17 is 8 frames");
    assert_eq!(push(&mut buf, &mut est, 18), Err(DropCause::Overflow));
    assert_eq!(push(&mut buf, &mut est, 9), Err(DropCause::Overflow));
    assert_eq!(push(&mut buf, &mut est, 10_000), Err(DropCause::Overflow));
    assert_eq!(buf.counters().dropped(DropCause::Overflow), 3);
    assert_eq!(buf.buffered(), 2);
}

#[test]
fn sequence_numbers_wrap_inside_a_transmission() {
    let mut packets = steady(65_530, 12, 30);
    packets.swap(5, 6); // 65535 and 0 arrive swapped
    packets[5].at = t(30 + 100);
    packets[6].at = t(30 + 101);
    packets.push(Packet::end(t(30 + 240), 6));
    let (buf, run) = play(40, &packets);
    let seqs: Vec<u16> = run.frames.iter().map(|f| f.seq).collect();
    let want: Vec<u16> = (0..12u16).map(|i| 65_530u16.wrapping_add(i)).collect();
    assert_eq!(seqs, want);
    assert!(kinds(&run).iter().all(|&k| k == FrameKind::Audio));
    assert_eq!(run.frames.last().map(|f| f.index), Some(11));
    assert_eq!(buf.ended_by(), Some(EndReason::EndFlag));
}

#[test]
fn frames_after_the_end_are_late() {
    let mut packets = steady(0, 3, 30);
    packets.push(Packet::audio(t(60), 5)); // arrives before the End says the stream stops at 3
    packets.push(Packet::end(t(90), 3));
    packets.push(Packet::audio(t(95), 4)); // after the End
    packets.push(Packet::audio(t(500), 1)); // after the buffer ended
    let (buf, run) = play(40, &packets);
    assert_eq!(run.pushed[5], Err(DropCause::Late));
    assert_eq!(run.pushed[6], Err(DropCause::Late));
    assert_eq!(run.frames.len(), 3);
    let c = buf.counters();
    // 4, 1 (pushed late) and 5 (left over when the End was reached).
    assert_eq!(c.dropped(DropCause::Late), 3);
    assert!(balanced(c));
}

#[test]
fn an_end_with_a_corrupt_sequence_number_is_ignored() {
    let mut packets = steady(0, 10, 30);
    packets.insert(2, Packet::end(t(50), 30_000));
    let (buf, run) = play(40, &packets);
    assert_eq!(
        run.frames
            .iter()
            .filter(|f| f.kind == FrameKind::Audio)
            .count(),
        10
    );
    assert_eq!(buf.ended_by(), Some(EndReason::Timeout));
}

#[test]
fn the_estimator_gets_each_frames_transit_variation() {
    let mut est = DelayEstimator::new(&DelayConfig {
        min_samples: 1,
        ..DelayConfig::default()
    });
    let mut buf = StreamBuffer::new(&config(), ms(40));
    // Extra delays 5, 0, 10, 0, 30 ms over a 30 ms base; frame 2 is duplicated.
    let extra = [5u64, 0, 10, 0, 30];
    let mut packets: Vec<Packet> = extra
        .iter()
        .enumerate()
        .map(|(i, &x)| Packet::audio(t(30 + 20 * i as u64 + x), i as u16))
        .collect();
    packets.push(Packet::audio(t(95), 2));
    let _ = drive(&mut buf, &mut est, &packets, FOREVER);
    // Transits 35, 30, 40, 30, 60 ms against the running minimum: 0, 0 (a new minimum), 10,
    // 0, 30. The duplicate adds nothing.
    assert_eq!(est.samples(), 5);
    assert_eq!(est.jitter_quantile(1.0), Some(ms(31)));
    assert_eq!(est.jitter_quantile(0.8), Some(ms(11)));
}

#[test]
fn poll_timeout_names_the_next_slot_or_the_end_deadline() {
    let (mut buf, mut est) = buffer(40);
    assert_eq!(buf.poll_timeout(), None, "nothing yet");
    let f = frame(0);
    let first = Arrival {
        seq: 0,
        timestamp: 0,
        tx: TxState::Continue,
        audio: Some(&f),
    };
    assert_eq!(buf.push(t(30), first, &mut est), Ok(()));
    assert_eq!(buf.poll_timeout(), Some(t(70)));
    assert_eq!(buf.poll_frame(t(69)), None);
    assert!(buf.poll_frame(t(70)).is_some());
    // Empty now: the next slot (90) comes before the end deadline (30 + 200).
    assert_eq!(buf.poll_timeout(), Some(t(90)));
    // A buffer that only ever saw signalling waits for its end deadline.
    let (mut buf, mut est) = buffer(40);
    let end_only = Arrival {
        seq: 7,
        timestamp: 7 * 160,
        tx: TxState::Continue,
        audio: None,
    };
    assert_eq!(buf.push(t(10), end_only, &mut est), Ok(()));
    assert_eq!(buf.poll_timeout(), Some(t(210)));
    buf.handle_timeout(t(209));
    assert!(!buf.is_ended());
    buf.handle_timeout(t(210));
    assert_eq!(buf.ended_by(), Some(EndReason::Timeout));
    assert_eq!(buf.poll_timeout(), None);
}

#[test]
fn a_lazy_driver_gets_the_overdue_frames_with_their_scheduled_times() {
    let (mut buf, mut est) = buffer(40);
    for p in steady(0, 3, 30) {
        let f = frame(p.seq);
        let arrival = Arrival {
            seq: p.seq,
            timestamp: p.ts,
            tx: p.tx,
            audio: Some(&f),
        };
        assert_eq!(buf.push(p.at, arrival, &mut est), Ok(()));
    }
    let at: Vec<Instant> = std::iter::from_fn(|| buf.poll_frame(t(115)))
        .map(|f| f.at)
        .collect();
    assert_eq!(at, [t(70), t(90), t(110)]);
}

#[test]
fn the_voice_packet_view_maps_payloads() {
    use borderlink_protocol::ids::Tsi;
    use borderlink_protocol::voice::{KeyUpTime, Origin, Priority, RadioHeader, SiteId, StreamId};
    let audio = frame(3);
    let mut v = VoiceRepr {
        sequence: 9,
        timestamp: 0,
        ssrc: 1,
        radio: RadioHeader {
            tx: TxState::End,
            squelch_open: true,
            emergency: false,
            priority: Priority::new(1).unwrap(),
            talker: None,
            talkgroup: Tsi::from_parts(206, 1, 2_061_001).unwrap(),
            origin: Origin {
                site: SiteId(1),
                network: None,
            },
            stream: StreamId(1),
            started: KeyUpTime(0),
        },
        payload: &audio,
    };
    let a = Arrival::from_voice(&v);
    assert_eq!((a.seq, a.tx, a.audio), (9, TxState::End, Some(&audio)));
    v.payload = &[];
    assert_eq!(Arrival::from_voice(&v).audio, None);
}

#[test]
fn validation_names_the_bad_setting() {
    assert_eq!(JitterConfig::default().validate(ms(500)), Ok(()));
    let err = JitterConfig::default().validate(ms(1_000)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "jitter.capacity = 64 frames is too small: at least 101 are needed"
    );
}

/// An estimator that saw an earlier transmission 5 s before `t(10_000)`: 50 frames with a
/// 30 ms transit (less `faster_ms`), timestamps on a clock that reads `ts0` at `t(10_000)`.
fn with_history(target_ms: u64, ts0: u32, faster_ms: u64) -> DelayEstimator {
    let mut est = fixed(target_ms);
    let start = ts0.wrapping_sub(5_000 * 8);
    for k in 0..50u64 {
        est.observe(crate::engine::jitter::playout::Sample {
            arrival: t(5_000 + k * 20 + 30 - faster_ms),
            timestamp: start.wrapping_add(k as u32 * 160),
            variation: Duration::ZERO,
        });
    }
    est
}

/// The playout start right after the first frame (sent at 10 s, ts `ts0`) arrives at 10.045 s,
/// 15 ms behind the 30 ms path.
fn start_after_a_delayed_first_frame(est: &mut DelayEstimator, ts0: u32) -> Option<Instant> {
    let mut buf = StreamBuffer::new(&config(), est.target());
    let f = frame(0);
    let first = Arrival {
        seq: 500,
        timestamp: ts0,
        tx: TxState::Start,
        audio: Some(&f),
    };
    assert_eq!(buf.push(t(10_045), first, est), Ok(()));
    buf.playout_start()
}

#[test]
fn the_sources_minimum_transit_anchors_a_new_transmission_at_once() {
    let ts0 = 4_000_000_000;
    // Same clock, same path: frame 0 plays at 10 s + 30 ms + 40 ms, its own 15 ms of
    // queueing ignored (the 40 ms target covers 20 ms of jitter).
    let mut est = with_history(40, ts0, 0);
    assert_eq!(
        start_after_a_delayed_first_frame(&mut est, ts0),
        Some(t(10_070))
    );
    // Nothing known: the first frame's arrival + 40 ms (until a faster frame shows up).
    let mut est = fixed(40);
    assert_eq!(
        start_after_a_delayed_first_frame(&mut est, ts0),
        Some(t(10_085))
    );
}

#[test]
fn a_minimum_transit_that_disagrees_with_the_transmission_is_ignored() {
    let ts0: u32 = 77;
    // Timestamps on another clock: the history says nothing about this transmission.
    let mut est = with_history(40, ts0.wrapping_add(123_456_789), 0);
    assert_eq!(
        start_after_a_delayed_first_frame(&mut est, ts0),
        Some(t(10_085))
    );
    // The path was 30 ms faster 5 s ago: the first frame seems 45 ms late, more than the
    // 20 ms of jitter a 40 ms target covers, so the route must have changed.
    let mut est = with_history(40, ts0, 30);
    assert_eq!(
        start_after_a_delayed_first_frame(&mut est, ts0),
        Some(t(10_085))
    );
    // 10 ms faster then: the first frame seems 25 ms late, still more than 20 ms. (A frame
    // that came within 20 ms of the old minimum would be trusted: a route that slowed by less
    // than the jitter the target covers goes unnoticed, and eats into that cover.)
    let mut est = with_history(40, ts0, 10);
    assert_eq!(
        start_after_a_delayed_first_frame(&mut est, ts0),
        Some(t(10_085))
    );
}
