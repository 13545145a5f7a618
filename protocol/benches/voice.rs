//! Voice packet parse and emit cost: the per-packet work every relayed frame pays twice.
//!
//! Run with `cargo bench -p borderlink-protocol --bench voice`; figures go to
//! `docs/benchmarks.md`.

use std::hint::black_box;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{
    FRAME_LEN, KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState,
    VoiceRepr,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn repr(payload: &[u8]) -> VoiceRepr<'_> {
    VoiceRepr {
        sequence: 4242,
        timestamp: 4242 * 160,
        ssrc: 0x5eed_0001,
        radio: RadioHeader {
            tx: TxState::Continue,
            squelch_open: true,
            emergency: false,
            priority: Priority::new(5).expect("5 is a valid priority"),
            talker: Some(Tsi::from_parts(206, 1, 1_234_567).expect("valid TSI")),
            talkgroup: Tsi::from_parts(206, 1, 2_061_001).expect("valid TSI"),
            origin: Origin {
                site: SiteId(3),
                network: Some(Network::Astrid),
            },
            stream: StreamId(77),
            started: KeyUpTime(1_000),
        },
        payload,
    }
}

fn voice(c: &mut Criterion) {
    let frame = [0xd5u8; FRAME_LEN];
    let mut packet = [0u8; MAX_PACKET_LEN];
    let len = repr(&frame)
        .emit(&mut packet)
        .expect("buffer is large enough");

    let mut group = c.benchmark_group("voice");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| {
        b.iter(|| VoiceRepr::parse(black_box(&packet[..len])).expect("valid packet"))
    });
    group.bench_function("emit", |b| {
        let mut out = [0u8; MAX_PACKET_LEN];
        b.iter(|| {
            black_box(repr(black_box(&frame)))
                .emit(&mut out)
                .expect("fits")
        })
    });
    group.bench_function("parse_reject_garbage", |b| {
        let mut bad = packet;
        bad[16] = 0x03; // zero id with a length: rejected inside the extension walk
        b.iter(|| VoiceRepr::parse(black_box(&bad[..len])).is_err())
    });
    group.finish();
}

criterion_group!(benches, voice);
criterion_main!(benches);
