//! Frames per second through the relay engine on one core: 1,000 concurrent transmissions
//! (one per patch: a patch has one talker), each frame fanned out to 1 or 8 dispatch consoles.
//!
//! `cargo bench -p borderlink-gateway --bench engine`; figures in `docs/benchmarks.md`.

use std::hint::black_box;

use borderlink_gateway::engine::endpoint::{ConsoleId, EndpointId};
use borderlink_gateway::engine::loops::GatewayIdentities;
use borderlink_gateway::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};
use borderlink_gateway::engine::relay::{Engine, EngineConfig};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{
    FRAME_LEN, KeyUpTime, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const STREAMS: u32 = 1_000;

fn group(n: u32) -> Tsi {
    Tsi::from_parts(204, 1, 3_000_000 + n).expect("valid TSI")
}

/// An engine at site 1 with one patch per stream: a C2000 group at site 2 (the talker's
/// gateway) and `fanout` consoles here.
fn engine(fanout: u16) -> Engine {
    let mut config = EngineConfig::new(SiteId(1), vec![], GatewayIdentities::default());
    // Virtual time runs far past two minutes in a long run: keep every over legal.
    config.floor.tx_timeout = Duration::from_secs(10_000_000);
    config.max_streams = STREAMS as usize;
    config.max_streams_per_peer = STREAMS as usize;
    let mut e = Engine::new(config);
    for n in 0..STREAMS {
        let spec = PatchSpec {
            name: format!("p{n}"),
            channels: vec![Channel {
                site: SiteId(2),
                network: Network::C2000,
                group: group(n),
            }],
            consoles: (0..fanout)
                .map(|c| SiteConsole {
                    site: SiteId(1),
                    console: ConsoleId(c),
                })
                .collect(),
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Static,
        };
        e.create_patch(Instant::ZERO, spec).expect("valid patch");
    }
    e
}

fn header(n: u32, seq: u16) -> RadioHeader {
    RadioHeader {
        tx: if seq == 0 {
            TxState::Start
        } else {
            TxState::Continue
        },
        squelch_open: true,
        emergency: false,
        priority: Priority::new(3).expect("valid priority"),
        talker: Some(Tsi::from_parts(204, 1, 100_000 + n).expect("valid TSI")),
        talkgroup: group(n),
        origin: Origin {
            site: SiteId(2),
            network: Some(Network::C2000),
        },
        stream: StreamId(n),
        started: KeyUpTime(u64::from(n)),
    }
}

/// One 20 ms tick: a frame of every stream arrives and is relayed; outputs are drained.
fn tick(e: &mut Engine, seq: &mut u16, now: &mut Instant) -> usize {
    let audio = [0xaa; FRAME_LEN];
    let mut sent = 0;
    for n in 0..STREAMS {
        let repr = VoiceRepr {
            sequence: *seq,
            timestamp: u32::from(*seq) * 160,
            ssrc: n,
            radio: header(n, *seq),
            payload: &audio,
        };
        e.handle_packet(*now, EndpointId::Peer(SiteId(2)), &repr);
        while let Some(t) = e.poll_transmit() {
            sent += black_box(t.packet().len());
        }
    }
    if e.poll_timeout().is_some_and(|t| t <= *now) {
        e.handle_timeout(*now);
    }
    while e.poll_event().is_some() {}
    *seq = seq.wrapping_add(1);
    *now += Duration::from_millis(20);
    sent
}

fn relay(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_relay");
    g.throughput(Throughput::Elements(u64::from(STREAMS)));
    g.sample_size(30);
    for fanout in [1u16, 8] {
        let mut e = engine(fanout);
        let mut seq = 0u16;
        let mut now = Instant::from_millis(1);
        tick(&mut e, &mut seq, &mut now); // every stream opens and takes its patch's floor
        g.bench_with_input(
            BenchmarkId::new("1000_streams_fanout", fanout),
            &fanout,
            |b, _| b.iter(|| tick(&mut e, &mut seq, &mut now)),
        );
    }
    g.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
