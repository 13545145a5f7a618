//! The relay engine makes no heap allocation per frame once a transmission is running: a
//! counting global allocator watches 500 frames of a peer's stream relayed to a local radio
//! (jitter buffer, grant queue) and to two dispatch consoles.
//!
//! The allocator counts for the whole process, so this test runs without libtest's harness
//! (`harness = false`): one thread, and no test runner allocating beside the measurement.

use std::alloc::System;

use borderlink_gateway::engine::endpoint::{ConsoleId, EndpointId, RadioId};
use borderlink_gateway::engine::loops::GatewayIdentities;
use borderlink_gateway::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};
use borderlink_gateway::engine::radio_tx::{RadioCommand, RadioEvent};
use borderlink_gateway::engine::relay::{Engine, EngineConfig, RadioConfig};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{
    FRAME_LEN, KeyUpTime, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const RADIO: RadioId = RadioId(0);

fn engine() -> Engine {
    let group_x = Tsi::from_parts(206, 1, 2_061_001).expect("valid TSI");
    let group_y = Tsi::from_parts(204, 1, 2_040_551).expect("valid TSI");
    let radios = vec![RadioConfig {
        id: RADIO,
        network: Network::Astrid,
        group: group_x,
        identity: Tsi::from_parts(206, 1, 9_000_001).expect("valid TSI"),
    }];
    let mut e = Engine::new(EngineConfig::new(
        SiteId(1),
        radios,
        GatewayIdentities::default(),
    ));
    let spec = PatchSpec {
        name: "border".into(),
        channels: vec![
            Channel {
                site: SiteId(1),
                network: Network::Astrid,
                group: group_x,
            },
            Channel {
                site: SiteId(2),
                network: Network::C2000,
                group: group_y,
            },
        ],
        consoles: vec![
            SiteConsole {
                site: SiteId(1),
                console: ConsoleId(1),
            },
            SiteConsole {
                site: SiteId(1),
                console: ConsoleId(2),
            },
        ],
        lifetime: None,
        inactivity_timeout: None,
        kind: PatchKind::Static,
    };
    e.create_patch(Instant::ZERO, spec).expect("valid patch");
    e
}

/// Frame `seq` of a C2000 transmission from site 2, as it arrives off the wire.
fn packet(seq: u16, payload: &[u8; FRAME_LEN], buf: &mut [u8]) -> usize {
    let repr = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 7,
        radio: RadioHeader {
            tx: if seq == 0 {
                TxState::Start
            } else {
                TxState::Continue
            },
            squelch_open: true,
            emergency: false,
            priority: Priority::new(3).expect("valid priority"),
            talker: Tsi::from_parts(204, 1, 2_040_123).ok(),
            talkgroup: Tsi::from_parts(204, 1, 2_040_551).expect("valid TSI"),
            origin: Origin {
                site: SiteId(2),
                network: Some(Network::C2000),
            },
            stream: StreamId(11),
            started: KeyUpTime(1),
        },
        payload,
    };
    repr.emit(buf).expect("buffer is large enough")
}

/// Relays frames `range` at 20 ms, granting the radio when it asks; returns frames played.
fn relay(e: &mut Engine, range: std::ops::Range<u16>, buf: &mut [u8], played: &mut u64) {
    let audio = [0xaa; FRAME_LEN];
    for seq in range {
        let now = Instant::from_millis(20 * u64::from(seq) + 1);
        let len = packet(seq, &audio, buf);
        let repr = VoiceRepr::parse(&buf[..len]).expect("valid packet");
        e.handle_packet(now, EndpointId::Peer(SiteId(2)), &repr);
        if e.poll_timeout().is_some_and(|t| t <= now) {
            e.handle_timeout(now);
        }
        while let Some(command) = e.poll_command() {
            if let RadioCommand::Key { radio, .. } = command {
                e.handle_radio(now, radio, RadioEvent::TxGranted);
            }
        }
        while e.poll_transmit().is_some() {}
        while e.poll_audio().is_some() {
            *played += 1;
        }
        while e.poll_event().is_some() {}
    }
}

fn main() {
    // Answer test runners that list tests first (cargo-nextest), as libtest would.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("relaying_a_running_transmission_allocates_nothing: test");
        }
        return;
    }
    let mut e = engine();
    let mut buf = vec![0u8; 512];
    let mut played = 0;
    // Warm-up: the stream, its buffers and the radio's grant are set up here.
    relay(&mut e, 0..100, &mut buf, &mut played);
    assert!(played > 50, "the radio plays: {played} frames");

    let region = Region::new(GLOBAL);
    relay(&mut e, 100..600, &mut buf, &mut played);
    let stats = region.change();
    assert!(played > 500, "the radio kept playing: {played} frames");
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "allocations while relaying 500 frames: {stats:?}"
    );
    println!(
        "steady_state_allocations: 500 frames relayed to a radio and two consoles, 0 allocations"
    );
}
