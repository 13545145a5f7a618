//! Engines in a small virtual-time world: an IP mesh with a fixed delay, and per network and
//! group a TETRA channel that grants transmit after a delay and lets every gateway radio on
//! the group hear what another one transmits (with that radio's identity as the talker).

use std::collections::HashMap;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{
    FRAME_LEN, KeyUpTime, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};

use super::*;
use crate::engine::counters::DropCause;
use crate::engine::endpoint::{ConsoleId, EndpointId, RadioId};
use crate::engine::loops::GatewayIdentities;
use crate::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};
use crate::engine::radio_tx::{AirTimeLimit, RadioCommand, RadioEvent, UnkeyReason};

const ASTRID: RadioId = RadioId(0);
const C2000: RadioId = RadioId(1);
const TICK: Duration = Duration::from_millis(1);

fn group_x() -> Tsi {
    Tsi::from_parts(206, 1, 2_061_001).unwrap()
}

fn group_y() -> Tsi {
    Tsi::from_parts(204, 1, 2_040_551).unwrap()
}

fn field_unit() -> Tsi {
    Tsi::from_parts(206, 1, 1_234_567).unwrap()
}

fn gateway_identity(site: u16, network: Network) -> Tsi {
    match network {
        Network::Astrid => Tsi::from_parts(206, 1, 9_000_000 + u32::from(site)).unwrap(),
        Network::C2000 => Tsi::from_parts(204, 1, 9_000_000 + u32::from(site)).unwrap(),
    }
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A loud frame whose first byte numbers it.
fn frame(n: u8) -> [u8; FRAME_LEN] {
    let mut f = [0xaa; FRAME_LEN];
    f[0] = n;
    f
}

fn prio(n: u8) -> Priority {
    Priority::new(n).unwrap()
}

fn config(site: u16, sites: u16) -> EngineConfig {
    let identities = (1..=sites).flat_map(|s| {
        [
            gateway_identity(s, Network::Astrid),
            gateway_identity(s, Network::C2000),
        ]
    });
    let radios = vec![
        RadioConfig {
            id: ASTRID,
            network: Network::Astrid,
            group: group_x(),
            identity: gateway_identity(site, Network::Astrid),
        },
        RadioConfig {
            id: C2000,
            network: Network::C2000,
            group: group_y(),
            identity: gateway_identity(site, Network::C2000),
        },
    ];
    EngineConfig::new(SiteId(site), radios, GatewayIdentities::new(identities))
}

fn patch(sites: u16, consoles: Vec<SiteConsole>) -> PatchSpec {
    PatchSpec {
        name: "border".into(),
        channels: (1..=sites)
            .flat_map(|s| {
                [
                    Channel {
                        site: SiteId(s),
                        network: Network::Astrid,
                        group: group_x(),
                    },
                    Channel {
                        site: SiteId(s),
                        network: Network::C2000,
                        group: group_y(),
                    },
                ]
            })
            .collect(),
        consoles,
        lifetime: None,
        inactivity_timeout: None,
        kind: PatchKind::Static,
    }
}

/// Something the world does at a given time.
#[derive(Debug, Clone)]
enum Due {
    Packet {
        to: usize,
        from: SiteId,
        bytes: Vec<u8>,
    },
    Grant {
        site: usize,
        radio: RadioId,
    },
    Capture {
        site: usize,
        radio: RadioId,
        talker: Tsi,
        key_up: u32,
        frame: Option<[u8; FRAME_LEN]>,
    },
}

struct World {
    now: Instant,
    engines: Vec<Engine>,
    due: Vec<(Instant, Due)>,
    ip_delay: Duration,
    grant_delay: Duration,
    /// Frames each (site index, radio) put on the air.
    on_air: HashMap<(usize, RadioId), Vec<[u8; FRAME_LEN]>>,
    /// Every command each engine gave its radios, with its time.
    commands: Vec<(Instant, usize, RadioCommand)>,
    /// Packets each engine sent to consoles.
    to_consoles: Vec<(usize, ConsoleId, Vec<u8>)>,
}

impl World {
    fn new(sites: u16, consoles: Vec<SiteConsole>) -> Self {
        let engines = (1..=sites)
            .map(|s| {
                let mut e = Engine::new(config(s, sites));
                e.create_patch(Instant::ZERO, patch(sites, consoles.clone()))
                    .unwrap();
                e
            })
            .collect();
        World {
            now: Instant::ZERO,
            engines,
            due: Vec::new(),
            ip_delay: Duration::from_millis(5),
            grant_delay: Duration::from_millis(300),
            on_air: HashMap::new(),
            commands: Vec::new(),
            to_consoles: Vec::new(),
        }
    }

    fn at(&mut self, t: Instant, due: Due) {
        self.due.push((t, due));
    }

    /// A field unit talks on group X for `frames` frames from `start`; every site's ASTRID
    /// radio hears it.
    fn field_call(&mut self, start: Instant, frames: u8, key_up: u32) {
        for site in 0..self.engines.len() {
            self.capture_at(site, start, frames, key_up);
        }
    }

    fn run_until(&mut self, end: Instant) {
        while self.now < end {
            self.now += TICK;
            let now = self.now;
            let mut ready: Vec<Due> = Vec::new();
            self.due.retain(|(t, d)| {
                if *t <= now {
                    ready.push(d.clone());
                    false
                } else {
                    true
                }
            });
            for d in ready {
                self.apply(d);
            }
            for i in 0..self.engines.len() {
                if self.engines[i].poll_timeout().is_some_and(|t| t <= now) {
                    self.engines[i].handle_timeout(now);
                }
                self.drain(i);
            }
        }
    }

    fn apply(&mut self, d: Due) {
        let now = self.now;
        match d {
            Due::Packet { to, from, bytes } => {
                let repr = VoiceRepr::parse(&bytes).expect("engines send valid packets");
                self.engines[to].handle_packet(now, EndpointId::Peer(from), &repr);
            }
            Due::Grant { site, radio } => {
                self.engines[site].handle_radio(now, radio, RadioEvent::TxGranted)
            }
            Due::Capture {
                site,
                radio,
                talker,
                key_up,
                frame,
            } => {
                let capture = Capture {
                    talker: Some(talker),
                    priority: prio(3),
                    emergency: false,
                    key_up: KeyUpTime(u64::from(key_up)),
                    frame: frame.as_ref(),
                };
                self.engines[site].handle_capture(now, radio, capture);
            }
        }
        for i in 0..self.engines.len() {
            self.drain(i);
        }
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let site = self.engines[i].site();
        while let Some(t) = self.engines[i].poll_transmit() {
            match t.to {
                EndpointId::Peer(peer) => {
                    let due = Due::Packet {
                        to: usize::from(peer.0) - 1,
                        from: site,
                        bytes: t.packet().to_vec(),
                    };
                    self.due.push((now + self.ip_delay, due));
                }
                EndpointId::Console(c) => self.to_consoles.push((i, c, t.packet().to_vec())),
                EndpointId::Radio(_) => panic!("radios get audio, not packets"),
            }
        }
        while let Some(command) = self.engines[i].poll_command() {
            if let RadioCommand::Key { radio, .. } = command {
                self.due
                    .push((now + self.grant_delay, Due::Grant { site: i, radio }));
            }
            self.commands.push((now, i, command));
        }
        while let Some((radio, audio)) = self.engines[i].poll_audio() {
            self.on_air.entry((i, radio)).or_default().push(audio);
            // Every other gateway radio on the same network and group hears it.
            let identity = gateway_identity(
                site.0,
                if radio == ASTRID {
                    Network::Astrid
                } else {
                    Network::C2000
                },
            );
            for other in 0..self.engines.len() {
                if other != i {
                    let c = Due::Capture {
                        site: other,
                        radio,
                        talker: identity,
                        key_up: 0,
                        frame: Some(audio),
                    };
                    self.due.push((now + TICK, c));
                }
            }
        }
        while self.engines[i].poll_event().is_some() {}
    }

    fn frames_on_air(&self, site: usize, radio: RadioId) -> Vec<u8> {
        self.on_air
            .get(&(site, radio))
            .map(|v| v.iter().map(|f| f[0]).collect())
            .unwrap_or_default()
    }

    fn last_command(&self, site: usize, radio: RadioId) -> Option<RadioCommand> {
        self.commands
            .iter()
            .filter(|(_, s, c)| {
                *s == site
                    && match c {
                        RadioCommand::Key { radio: r, .. }
                        | RadioCommand::Unkey { radio: r, .. } => *r == radio,
                    }
            })
            .map(|(_, _, c)| *c)
            .next_back()
    }
}

#[test]
fn one_site_relays_astrid_to_c2000_from_the_first_syllable_after_the_grant() {
    let mut w = World::new(1, vec![]);
    w.grant_delay = Duration::from_millis(400);
    w.field_call(ms(100), 50, 1_000);
    w.run_until(ms(4_000));
    // Every frame, in order, on the C2000 radio; nothing back on ASTRID.
    assert_eq!(w.frames_on_air(0, C2000), (0..50).collect::<Vec<u8>>());
    assert!(w.frames_on_air(0, ASTRID).is_empty());
    // Keyed once, released after the transmission and its hang time.
    let keys: Vec<_> = w
        .commands
        .iter()
        .filter(|(_, _, c)| matches!(c, RadioCommand::Key { .. }))
        .collect();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        w.last_command(0, C2000),
        Some(RadioCommand::Unkey {
            radio: C2000,
            reason: UnkeyReason::HangExpired
        })
    );
    let c = w.engines[0].counters();
    assert_eq!(c.dropped_total(), 0, "{c:?}");
    assert_eq!(c.concealed, 0);
}

#[test]
fn audio_waits_for_the_grant_and_plays_at_twenty_ms() {
    let mut w = World::new(1, vec![]);
    w.grant_delay = Duration::from_millis(400);
    w.field_call(ms(100), 10, 1_000);
    w.run_until(ms(480));
    assert!(
        w.frames_on_air(0, C2000).is_empty(),
        "nothing plays before the grant"
    );
    w.run_until(ms(3_000));
    assert_eq!(w.frames_on_air(0, C2000), (0..10).collect::<Vec<u8>>());
}

#[test]
fn three_gateways_on_the_same_groups_give_no_echo_and_no_loop() {
    let mut w = World::new(3, vec![]);
    // All three ASTRID radios hear the same field call; each site makes a stream of it.
    w.field_call(ms(100), 100, 5_000);
    w.run_until(ms(6_000));

    // C2000 group Y hears the call exactly once, complete and in order, from one gateway.
    let mut transmitting = Vec::new();
    for site in 0..3 {
        let frames = w.frames_on_air(site, C2000);
        if !frames.is_empty() {
            assert_eq!(frames, (0..100).collect::<Vec<u8>>(), "site {}", site + 1);
            transmitting.push(site);
        }
    }
    assert_eq!(
        transmitting,
        [0],
        "equal key-up times: the lowest site id relays"
    );
    // No echo: nothing goes back into ASTRID group X.
    for site in 0..3 {
        assert!(
            w.frames_on_air(site, ASTRID).is_empty(),
            "echo into ASTRID at site {}",
            site + 1
        );
    }
    // The other gateways' C2000 radios heard site 1's transmission and dropped it as a loop.
    for site in 1..3 {
        assert!(
            w.engines[site].counters().dropped(DropCause::Loop) >= 100,
            "site {}",
            site + 1
        );
    }
    // Nothing is left keyed.
    for site in 0..3 {
        for radio in [ASTRID, C2000] {
            assert!(
                !matches!(w.last_command(site, radio), Some(RadioCommand::Key { .. })),
                "site {} radio {radio:?} left keyed",
                site + 1
            );
        }
    }
}

impl World {
    /// A field unit's over of `frames` frames on group X as site `site`'s ASTRID radio hears
    /// it: from `start`, stamped with that site's key-up time.
    fn capture_at(&mut self, site: usize, start: Instant, frames: u8, key_up: u32) {
        for n in 0..=frames {
            let t = start + Duration::from_millis(20 * u64::from(n));
            let c = Due::Capture {
                site,
                radio: ASTRID,
                talker: field_unit(),
                key_up,
                frame: (n < frames).then(|| frame(n)),
            };
            self.at(t, c);
        }
    }

    fn keyed(&self, site: usize, radio: RadioId) -> bool {
        self.commands.iter().any(|(_, s, c)| {
            *s == site && matches!(c, RadioCommand::Key { radio: r, .. } if *r == radio)
        })
    }
}

/// Loop rule 4 (issue 14, found by the chaos soak): three gateways hear one over, the lowest
/// site last and with the latest key-up on its clock. Before the rule, site 2's capture won
/// the floor on its earlier key-up while site 1, already keyed, played its own: the over went
/// out twice onto C2000. Now sites 2 and 3 hold their captures, see site 1's, and drop theirs
/// as its repeat without ever keying a transmitter.
#[test]
fn the_lowest_site_relays_an_over_every_gateway_heard_and_the_others_never_key() {
    let mut w = World::new(3, vec![]);
    w.capture_at(1, ms(100), 100, 4_900);
    w.capture_at(2, ms(110), 100, 4_950);
    w.capture_at(0, ms(160), 100, 5_000);
    w.run_until(ms(6_000));

    assert_eq!(w.frames_on_air(0, C2000), (0..100).collect::<Vec<u8>>());
    for site in 1..3 {
        assert!(w.frames_on_air(site, C2000).is_empty(), "site {}", site + 1);
        assert!(!w.keyed(site, C2000), "site {} keyed C2000", site + 1);
        let c = w.engines[site].counters();
        assert_eq!(c.dropped(DropCause::SameOver), 100, "site {}", site + 1);
    }
    assert_eq!(w.engines[0].counters().dropped(DropCause::SameOver), 0);
    for site in 0..3 {
        assert!(
            w.frames_on_air(site, ASTRID).is_empty(),
            "echo at site {}",
            site + 1
        );
    }
}

/// The hold costs nothing when the lowest site does not hear the over (its radio is down,
/// out of coverage): the next site relays it whole, from the first frame, late by the hold.
#[test]
fn when_the_lowest_site_does_not_hear_an_over_the_next_relays_it_whole_after_its_hold() {
    let mut w = World::new(2, vec![]);
    w.capture_at(1, ms(100), 100, 5_000);
    w.run_until(ms(6_000));

    assert_eq!(w.frames_on_air(1, C2000), (0..100).collect::<Vec<u8>>());
    assert!(w.frames_on_air(0, C2000).is_empty());
    let keyed_at = w
        .commands
        .iter()
        .find(|(_, s, c)| *s == 1 && matches!(c, RadioCommand::Key { .. }))
        .map(|(t, _, _)| *t);
    let hold = config(2, 2).capture_hold;
    assert!(
        keyed_at.is_some_and(|t| t >= ms(100) + hold && t <= ms(120) + hold),
        "keyed at {keyed_at:?}"
    );
    assert_eq!(w.engines[1].counters().dropped(DropCause::SameOver), 0);
    assert!(!w.keyed(1, ASTRID) && !w.keyed(0, ASTRID));
}

/// An over shorter than the hold, which the lowest site does not hear: nothing more comes
/// from the radio after its end, and the hold still ends on time and the over is relayed.
#[test]
fn a_short_over_only_a_higher_site_hears_is_relayed_when_its_hold_runs_out() {
    let mut w = World::new(2, vec![]);
    w.capture_at(1, ms(100), 3, 5_000);
    w.run_until(ms(3_000));
    assert_eq!(w.frames_on_air(1, C2000), [0, 1, 2]);
}

/// A held capture is dropped as soon as the first capture of its over shows up, not at the
/// end of its hold: the frames are not kept for nothing.
#[test]
fn a_held_repeat_is_dropped_as_soon_as_the_first_capture_shows_up() {
    let mut w = World::new(2, vec![]);
    w.capture_at(0, ms(100), 50, 5_000);
    w.capture_at(1, ms(100), 50, 5_000);
    // Site 1's first packet reaches site 2 at 105 ms (5 ms on IP); its hold runs to 400 ms.
    w.run_until(ms(150));
    let c = w.engines[1].counters();
    assert!(c.dropped(DropCause::SameOver) >= 2, "{c:?}");
    w.run_until(ms(3_000));
    assert_eq!(w.engines[1].counters().dropped(DropCause::SameOver), 50);
    assert!(!w.keyed(1, C2000));
}

/// With the lowest site deaf to an over, the second relays it and the third, which holds
/// two holds, sees the second's capture in time and never keys: one relay, not two.
#[test]
fn holds_grow_with_the_number_of_lower_sites_so_one_relay_takes_over() {
    let mut w = World::new(3, vec![]);
    w.capture_at(1, ms(100), 50, 5_000);
    w.capture_at(2, ms(100), 50, 5_000);
    w.run_until(ms(5_000));

    assert!(w.frames_on_air(0, C2000).is_empty());
    assert_eq!(w.frames_on_air(1, C2000), (0..50).collect::<Vec<u8>>());
    assert!(!w.keyed(2, C2000), "site 3 keyed too");
    assert_eq!(w.engines[2].counters().dropped(DropCause::SameOver), 50);
}

/// A short over: the lowest site's capture has ended before a higher site's hold is over.
/// Its stream is still known, so the higher site's capture is its repeat all the same.
#[test]
fn a_short_over_already_ended_at_the_lowest_site_is_still_not_relayed_twice() {
    let mut w = World::new(2, vec![]);
    w.capture_at(0, ms(100), 3, 5_000);
    w.capture_at(1, ms(140), 3, 5_000);
    w.run_until(ms(3_000));

    assert_eq!(w.frames_on_air(0, C2000), [0, 1, 2]);
    assert!(!w.keyed(1, C2000));
    assert_eq!(w.engines[1].counters().dropped(DropCause::SameOver), 3);

    // The repeat's end was held with it: the radio's next over, which site 1 does not hear,
    // is site 2's own again and is relayed whole.
    w.capture_at(1, ms(4_000), 20, 9_000);
    w.run_until(ms(7_000));
    assert_eq!(w.frames_on_air(1, C2000), (0..20).collect::<Vec<u8>>());
    assert_eq!(w.engines[1].counters().dropped(DropCause::SameOver), 3);
}

/// The lowest site caught only a moment of an over that a higher site hears longer and
/// later: the higher site's capture is a repeat, and stays one to its end though the first
/// capture had already ended (its stream has left the floor, which can no longer bar it), so
/// it never keys a transmitter.
#[test]
fn a_repeat_that_outlasts_the_first_capture_is_dropped_to_its_end() {
    let mut w = World::new(2, vec![]);
    w.capture_at(0, ms(100), 3, 5_000);
    w.capture_at(1, ms(200), 60, 5_000);
    w.run_until(ms(5_000));

    assert_eq!(w.frames_on_air(0, C2000), [0, 1, 2]);
    assert!(!w.keyed(1, C2000));
    assert_eq!(w.engines[1].counters().dropped(DropCause::SameOver), 60);
}

/// The first and last packets of a site's own transmission go to each peer three times
/// (a short over has few packets to make itself known with); the peer relays it once.
#[test]
fn a_site_sends_its_first_and_last_packets_thrice_and_peers_relay_them_once() {
    let mut e = Engine::new(config(1, 2));
    e.create_patch(Instant::ZERO, patch(2, vec![])).unwrap();
    let mut sent = Vec::new();
    for n in 0..3u8 {
        let f = frame(n);
        let capture = Capture {
            talker: Some(field_unit()),
            priority: prio(1),
            emergency: false,
            key_up: KeyUpTime(1),
            frame: (n < 2).then_some(&f),
        };
        e.handle_capture(ms(20 * u64::from(n)), ASTRID, capture);
        while let Some(t) = e.poll_transmit() {
            let repr = VoiceRepr::parse(t.packet()).unwrap();
            sent.push((t.to, repr.sequence, repr.radio.tx));
        }
    }
    let peer = EndpointId::Peer(SiteId(2));
    assert_eq!(
        sent,
        [
            (peer, 0, TxState::Start),
            (peer, 0, TxState::Start),
            (peer, 0, TxState::Start),
            (peer, 1, TxState::Continue),
            (peer, 2, TxState::End),
            (peer, 2, TxState::End),
            (peer, 2, TxState::End),
        ]
    );

    let mut w = World::new(2, vec![]);
    w.capture_at(0, ms(100), 20, 5_000);
    w.run_until(ms(3_000));
    let c = w.engines[1].counters();
    assert_eq!(
        c.dropped(DropCause::Duplicate),
        2,
        "the start's copies (the ends carry no audio)"
    );
    // From the peer: 20 frames and the copies of the first (the rest is site 1's relay onto
    // C2000, which site 2's C2000 radio hears and drops as a loop).
    assert_eq!(c.received - c.dropped(DropCause::Loop), 22);
}

#[test]
fn a_gateway_talker_is_never_relayed() {
    let mut w = World::new(1, vec![]);
    for n in 0..20u8 {
        let c = Due::Capture {
            site: 0,
            radio: ASTRID,
            talker: gateway_identity(7, Network::Astrid),
            key_up: 1,
            frame: Some(frame(n)),
        };
        w.at(ms(100 + 20 * u64::from(n)), c);
    }
    // Site 7 is not in this world, so make its identity known.
    let mut cfg = config(1, 1);
    cfg.gateway_identities = GatewayIdentities::new([gateway_identity(7, Network::Astrid)]);
    w.engines[0] = Engine::new(cfg);
    w.engines[0]
        .create_patch(Instant::ZERO, patch(1, vec![]))
        .unwrap();
    w.run_until(ms(2_000));
    assert!(w.frames_on_air(0, C2000).is_empty());
    assert!(w.commands.is_empty());
    assert_eq!(w.engines[0].counters().dropped(DropCause::Loop), 20);
}

#[test]
fn a_call_on_a_group_in_no_patch_is_counted() {
    let mut e = Engine::new(config(1, 1));
    let capture = Capture {
        talker: Some(field_unit()),
        priority: prio(1),
        emergency: false,
        key_up: KeyUpTime(1),
        frame: Some(&frame(0)),
    };
    e.handle_capture(ms(1), ASTRID, capture);
    assert_eq!(e.counters().dropped(DropCause::NoPatch), 1);
    assert_eq!(e.poll_transmit().map(|t| t.to), None);
}

fn peer_packet(seq: u16, tx: TxState, payload: &[u8], site: u16, stream: u32) -> Vec<u8> {
    let repr = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 9,
        radio: RadioHeader {
            tx,
            squelch_open: !payload.is_empty(),
            emergency: false,
            priority: prio(3),
            talker: Some(Tsi::from_parts(204, 1, 2_040_123).unwrap()),
            talkgroup: group_y(),
            origin: Origin {
                site: SiteId(site),
                network: Some(Network::C2000),
            },
            stream: StreamId(stream),
            started: KeyUpTime(77),
        },
        payload,
    };
    let mut buf = vec![0; 256];
    let len = repr.emit(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn reordered_and_duplicated_peer_packets_play_once_in_order() {
    // Site 1 has the ASTRID group, site 2 (a peer) the C2000 one.
    let mut w = World::new(1, vec![]);
    w.engines[0] = patched_with_peer();
    // Site 2 sent a C2000 stream; site 1 receives it reordered, with duplicates.
    let order = [0u16, 2, 1, 1, 3, 5, 4, 6, 7, 7, 9, 8];
    for (i, &seq) in order.iter().enumerate() {
        let f = frame(seq as u8);
        let bytes = peer_packet(
            seq,
            if seq == 0 {
                TxState::Start
            } else {
                TxState::Continue
            },
            &f,
            2,
            42,
        );
        w.at(
            ms(100 + 20 * seq as u64 + i as u64),
            Due::Packet {
                to: 0,
                from: SiteId(2),
                bytes,
            },
        );
    }
    let end = peer_packet(10, TxState::End, &[], 2, 42);
    w.at(
        ms(320),
        Due::Packet {
            to: 0,
            from: SiteId(2),
            bytes: end,
        },
    );
    w.run_until(ms(3_000));
    assert_eq!(w.frames_on_air(0, ASTRID), (0..10).collect::<Vec<u8>>());
    assert_eq!(w.engines[0].counters().dropped(DropCause::Duplicate), 2);
}

#[test]
fn a_peer_echoing_our_own_stream_is_a_loop() {
    let mut e = Engine::new(config(1, 2));
    e.create_patch(Instant::ZERO, patch(2, vec![])).unwrap();
    let bytes = peer_packet(0, TxState::Start, &frame(0), 1, 5);
    e.handle_packet(
        ms(1),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&bytes).unwrap(),
    );
    assert_eq!(e.counters().dropped(DropCause::Loop), 1);
    assert!(e.poll_command().is_none());
}

#[test]
fn tx_timeout_releases_the_radio_and_blocks_the_rest_of_the_over() {
    let mut w = World::new(1, vec![]);
    let mut cfg = config(1, 1);
    cfg.floor.tx_timeout = Duration::from_secs(2);
    w.engines[0] = Engine::new(cfg);
    w.engines[0]
        .create_patch(Instant::ZERO, patch(1, vec![]))
        .unwrap();
    // A 4 s over (a stuck PTT on the ASTRID side).
    w.field_call(ms(100), 200, 1_000);
    w.run_until(ms(6_000));
    let unkeys: Vec<_> = w
        .commands
        .iter()
        .filter(|(_, _, c)| matches!(c, RadioCommand::Unkey { .. }))
        .map(|(t, _, c)| (*t, *c))
        .collect();
    let (at, first) = unkeys[0];
    assert_eq!(
        first,
        RadioCommand::Unkey {
            radio: C2000,
            reason: UnkeyReason::Forced
        }
    );
    assert!(at >= ms(2_100) && at <= ms(2_200), "released at {at:?}");
    assert!(w.engines[0].counters().dropped(DropCause::TxTimeout) > 50);
    // The rest of the over never keys the radio again.
    assert_eq!(
        w.commands
            .iter()
            .filter(|(_, _, c)| matches!(c, RadioCommand::Key { .. }))
            .count(),
        1
    );
}

#[test]
fn release_all_unkeys_every_active_radio_at_once() {
    let mut w = World::new(1, vec![]);
    w.field_call(ms(100), 100, 1_000);
    w.run_until(ms(700));
    assert!(matches!(
        w.last_command(0, C2000),
        Some(RadioCommand::Key { .. })
    ));
    w.engines[0].release_all(w.now);
    w.drain(0);
    assert_eq!(
        w.last_command(0, C2000),
        Some(RadioCommand::Unkey {
            radio: C2000,
            reason: UnkeyReason::Forced
        })
    );
}

#[test]
fn force_release_ends_the_transmission() {
    let mut w = World::new(1, vec![]);
    w.field_call(ms(100), 100, 1_000);
    w.run_until(ms(700));
    let patch = w.engines[0].patches().iter().next().unwrap().id();
    assert!(w.engines[0].force_release(ms(700), patch).is_some());
    w.drain(0);
    assert_eq!(
        w.last_command(0, C2000),
        Some(RadioCommand::Unkey {
            radio: C2000,
            reason: UnkeyReason::Forced
        })
    );
}

#[test]
fn a_console_is_heard_on_both_networks() {
    let console = SiteConsole {
        site: SiteId(1),
        console: ConsoleId(3),
    };
    let mut w = World::new(1, vec![console]);
    for seq in 0..10u16 {
        let f = frame(seq as u8);
        let bytes = peer_packet(seq, TxState::Continue, &f, 99, 1);
        // A console packet: the engine takes over the origin; the group names the patch.
        let mut repr = VoiceRepr::parse(&bytes).unwrap();
        repr.radio.origin = Origin {
            site: SiteId(99),
            network: None,
        };
        w.engines[0].handle_packet(
            ms(100 + 20 * u64::from(seq)),
            EndpointId::Console(ConsoleId(3)),
            &repr,
        );
        w.now = ms(100 + 20 * u64::from(seq));
        w.drain(0);
    }
    let end = peer_packet(10, TxState::End, &[], 99, 1);
    w.engines[0].handle_packet(
        ms(300),
        EndpointId::Console(ConsoleId(3)),
        &VoiceRepr::parse(&end).unwrap(),
    );
    w.now = ms(300);
    w.drain(0);
    w.run_until(ms(3_000));
    assert_eq!(w.frames_on_air(0, ASTRID), (0..10).collect::<Vec<u8>>());
    assert_eq!(w.frames_on_air(0, C2000), (0..10).collect::<Vec<u8>>());
}

#[test]
fn only_dynamic_patches_are_saved_and_a_restored_one_relays_under_its_old_id() {
    // Site 1 holds a dynamic patch with a lifetime; a static one on other groups beside it.
    let mut before = Engine::new(config(1, 1));
    let mut dynamic = patch(1, vec![]);
    dynamic.kind = PatchKind::Dynamic {
        created_by: "dispatch-be".into(),
    };
    dynamic.lifetime = Some(Duration::from_secs(600));
    let id = before.create_patch(ms(0), dynamic.clone()).unwrap();
    let mut other = patch(1, vec![]);
    other.name = "static".into();
    other.channels = vec![
        Channel {
            site: SiteId(1),
            network: Network::Astrid,
            group: Tsi::from_parts(206, 1, 2_061_999).unwrap(),
        },
        Channel {
            site: SiteId(1),
            network: Network::C2000,
            group: Tsi::from_parts(204, 1, 2_040_999).unwrap(),
        },
    ];
    before.create_patch(ms(0), other).unwrap();
    let saved = before.dynamic_patches(ms(100_000));
    assert_eq!(saved.patches.len(), 1);
    assert_eq!(saved.patches[0].id, id);
    assert_eq!(
        saved.patches[0].remaining_lifetime,
        Some(Duration::from_secs(500))
    );

    // A fresh engine restores it under the same id, with a floor, and a call is relayed.
    let mut w = World::new(1, vec![]);
    let existing: Vec<PatchId> = w.engines[0].patches().iter().map(|p| p.id()).collect();
    for p in existing {
        w.engines[0].remove_patch(ms(0), p).unwrap();
    }
    w.engines[0].restore_patches(ms(0), &saved).unwrap();
    assert!(
        w.engines[0].floor(id).is_some(),
        "restored patch has no floor"
    );
    assert_eq!(
        w.engines[0].patches().get(id).unwrap().spec().kind,
        dynamic.kind
    );
    w.field_call(ms(100), 100, 1_000);
    w.run_until(ms(700));
    assert!(
        w.engines[0].floor(id).unwrap().holder().is_some(),
        "the restored patch carries the call"
    );
    // It still expires on its remaining lifetime.
    w.run_until(ms(500_000 + 1_000));
    assert!(w.engines[0].patches().get(id).is_none());
}

/// Site 1's engine with its ASTRID group patched to the C2000 group of peer site 2.
fn patched_with_peer() -> Engine {
    let mut e = Engine::new(config(1, 2));
    let mut spec = patch(1, vec![]);
    spec.channels = vec![
        Channel {
            site: SiteId(1),
            network: Network::Astrid,
            group: group_x(),
        },
        Channel {
            site: SiteId(2),
            network: Network::C2000,
            group: group_y(),
        },
    ];
    e.create_patch(Instant::ZERO, spec).unwrap();
    e
}

/// Site 1 (ASTRID radio) plays a C2000 stream from peer site 2, granted and on air.
fn playing_a_peer_stream() -> Engine {
    let mut e = patched_with_peer();
    for seq in 0..5u16 {
        let tx = if seq == 0 {
            TxState::Start
        } else {
            TxState::Continue
        };
        let bytes = peer_packet(seq, tx, &frame(seq as u8), 2, 42);
        e.handle_packet(
            ms(100 + 20 * u64::from(seq)),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    assert!(matches!(
        e.poll_command(),
        Some(RadioCommand::Key { radio: ASTRID, .. })
    ));
    e.handle_radio(ms(200), ASTRID, RadioEvent::TxGranted);
    e.handle_timeout(ms(400));
    while e.poll_audio().is_some() {}
    assert!(e.poll_command().is_none());
    e
}

#[test]
fn a_peer_going_down_releases_its_radios_at_once() {
    let mut e = playing_a_peer_stream();
    e.handle_peer_down(ms(420), SiteId(2));
    assert_eq!(
        e.poll_command(),
        Some(RadioCommand::Unkey {
            radio: ASTRID,
            reason: UnkeyReason::FloorLost
        }),
        "released at once, not after the end timeout and hang time"
    );
    assert!(e.poll_command().is_none());
    // The floor is free for others at once: nobody holds it.
    let patch = e.patches().iter().next().unwrap().id();
    assert_eq!(e.floor(patch).and_then(|f| f.holder()), None);
    // Nothing else plays, and a late packet of the dead stream keys nothing.
    let late = peer_packet(5, TxState::Continue, &frame(5), 2, 42);
    e.handle_packet(
        ms(430),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&late).unwrap(),
    );
    assert!(e.poll_command().is_none());
    e.handle_timeout(ms(2_000));
    assert!(e.poll_audio().is_none());
    assert_eq!(e.stream_count(), 0, "the ended stream is gone");
}

#[test]
fn another_peer_going_down_changes_nothing() {
    let mut e = playing_a_peer_stream();
    e.handle_peer_down(ms(420), SiteId(3));
    assert!(e.poll_command().is_none());
    let patch = e.patches().iter().next().unwrap().id();
    assert!(e.floor(patch).and_then(|f| f.holder()).is_some());
}

#[test]
fn stream_ids_start_where_the_config_says() {
    let mut cfg = config(1, 2);
    cfg.first_stream = 0x1234_5600;
    let mut e = Engine::new(cfg);
    e.create_patch(Instant::ZERO, patch(2, vec![])).unwrap();
    let capture = Capture {
        talker: Some(field_unit()),
        priority: prio(3),
        emergency: false,
        key_up: KeyUpTime(1),
        frame: Some(&frame(0)),
    };
    e.handle_capture(ms(1), ASTRID, capture);
    let t = e.poll_transmit().expect("sent to the peer");
    let repr = VoiceRepr::parse(t.packet()).unwrap();
    assert_eq!(repr.radio.stream, StreamId(0x1234_5600));
}

/// Site 1 relays `n` one-talker patches from peer site 2 (C2000 group `100 + i`) to its
/// console 0, as the load generator does.
fn many_patches(n: u32) -> Engine {
    let mut config = EngineConfig::new(SiteId(1), vec![], GatewayIdentities::default());
    config.max_streams = n as usize;
    config.max_streams_per_peer = n as usize;
    let mut e = Engine::new(config);
    for i in 0..n {
        let spec = PatchSpec {
            name: format!("p{i}"),
            channels: vec![Channel {
                site: SiteId(2),
                network: Network::C2000,
                group: Tsi::from_parts(204, 1, 100 + i).unwrap(),
            }],
            consoles: vec![SiteConsole {
                site: SiteId(1),
                console: ConsoleId(0),
            }],
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Static,
        };
        e.create_patch(Instant::ZERO, spec).unwrap();
    }
    e
}

/// Packet `seq` of stream `i` of [`many_patches`].
fn many_packet(i: u32, seq: u16, tx: TxState) -> Vec<u8> {
    let mut bytes = peer_packet(seq, tx, &frame(seq as u8), 2, i + 1);
    let mut radio = VoiceRepr::parse(&bytes).unwrap().radio;
    radio.talkgroup = Tsi::from_parts(204, 1, 100 + i).unwrap();
    let payload = frame(seq as u8);
    let packet = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 9,
        radio,
        payload: &payload,
    };
    bytes.resize(256, 0);
    let len = packet.emit(&mut bytes).unwrap();
    bytes.truncate(len);
    bytes
}

#[test]
fn among_many_streams_each_silent_one_ends_at_its_own_deadline() {
    // 300 streams, stream i last heard at i ms: each must end exactly 1 s (the stream timeout)
    // after its last packet, found through the timer index rather than a scan, and the engine
    // must never ask to be woken later than the next of those ends.
    let n = 300u32;
    let mut e = many_patches(n);
    for i in 0..n {
        let bytes = many_packet(i, 0, TxState::Start);
        e.handle_packet(
            ms(u64::from(i)),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    // Stream 0 goes on talking every 20 ms until 0.9 s: its deadline keeps moving later.
    for k in 1..=45u16 {
        let bytes = many_packet(0, k, TxState::Continue);
        let at = ms(20 * u64::from(k));
        if e.poll_timeout().is_some_and(|t| t <= at) {
            e.handle_timeout(at);
        }
        e.handle_packet(
            at,
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    while e.poll_transmit().is_some() {}
    assert_eq!(e.stream_count(), n as usize);
    for i in 1..n {
        let deadline = ms(1_000 + u64::from(i));
        // Stream 0 is still live: its end, at 1.9 s, comes after all of these.
        assert!(
            e.poll_timeout().is_some_and(|t| t <= deadline),
            "stream {i}: woken at {:?}, after its deadline {deadline:?}",
            e.poll_timeout()
        );
        e.handle_timeout(deadline - Duration::from_micros(1));
        assert_eq!(
            e.stream_count(),
            (n - i + 1) as usize,
            "stream {i} ended early"
        );
        e.handle_timeout(deadline);
        assert_eq!(
            e.stream_count(),
            (n - i) as usize,
            "stream {i} not ended on time"
        );
    }
    // Stream 0: last packet at 0.9 s.
    e.handle_timeout(ms(1_899));
    assert_eq!(e.stream_count(), 1);
    e.handle_timeout(ms(1_900));
    assert_eq!(e.stream_count(), 0);
}

#[test]
fn an_ended_stream_is_kept_until_its_silence_timeout_so_a_late_packet_keys_nothing() {
    let mut e = many_patches(1);
    let send = |e: &mut Engine, at: u64, seq: u16, tx: TxState| {
        let bytes = many_packet(0, seq, tx);
        e.handle_packet(
            ms(at),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    };
    send(&mut e, 0, 0, TxState::Start);
    send(&mut e, 20, 1, TxState::Continue);
    send(&mut e, 40, 2, TxState::End);
    while e.poll_transmit().is_some() {}
    e.handle_timeout(ms(41));
    // A copy of packet 1 arriving late (a second path) is dropped, not relayed as a new
    // transmission.
    let late_before = e.counters().dropped(DropCause::Late);
    send(&mut e, 60, 1, TxState::Continue);
    assert!(e.poll_transmit().is_none(), "a late packet was relayed");
    assert_eq!(e.counters().dropped(DropCause::Late), late_before + 1);
    assert_eq!(e.stream_count(), 1);
    e.handle_timeout(ms(1_039));
    assert_eq!(e.stream_count(), 1);
    e.handle_timeout(ms(1_040));
    assert_eq!(
        e.stream_count(),
        0,
        "gone at its last packet + the stream timeout"
    );
}

/// A packet from peer site 2 labelled as console traffic (origin network `None`).
fn console_labelled_packet(seq: u16, priority: u8, group: Tsi, stream: u32) -> Vec<u8> {
    let f = frame(seq as u8);
    let repr = VoiceRepr {
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 11,
        radio: RadioHeader {
            tx: if seq == 0 {
                TxState::Start
            } else {
                TxState::Continue
            },
            squelch_open: true,
            emergency: false,
            priority: prio(priority),
            talker: None,
            talkgroup: group,
            origin: Origin {
                site: SiteId(2),
                network: None,
            },
            stream: StreamId(stream),
            started: KeyUpTime(77),
        },
        payload: &f,
    };
    let mut buf = vec![0; 256];
    let len = repr.emit(&mut buf).unwrap();
    buf.truncate(len);
    buf
}

/// Finding 2 of issue 13: a peer keyed a patch that joined only this site's own radios by
/// labelling its stream as console traffic.
#[test]
fn a_peer_labelling_its_stream_as_a_console_cannot_key_a_patch_of_only_local_radios() {
    let mut e = Engine::new(config(1, 2));
    // Site 1's own ASTRID and C2000 groups, patched together; site 2 is in no way part of it.
    e.create_patch(Instant::ZERO, patch(1, vec![])).unwrap();
    for seq in 0..5u16 {
        let bytes = console_labelled_packet(seq, 3, group_x(), 66);
        e.handle_packet(
            ms(100 + 20 * u64::from(seq)),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    assert_eq!(e.poll_command(), None, "a radio was keyed for the peer");
    assert_eq!(e.counters().dropped(DropCause::NoPatch), 5);
}

/// The same label is honoured where the patch names a console of that peer's site.
#[test]
fn a_peer_console_named_in_the_patch_is_relayed() {
    let mut e = Engine::new(config(1, 2));
    let console = SiteConsole {
        site: SiteId(2),
        console: ConsoleId(4),
    };
    e.create_patch(Instant::ZERO, patch(1, vec![console]))
        .unwrap();
    let bytes = console_labelled_packet(0, 3, group_x(), 66);
    e.handle_packet(
        ms(100),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&bytes).unwrap(),
    );
    assert!(matches!(e.poll_command(), Some(RadioCommand::Key { .. })));
    assert_eq!(e.counters().dropped(DropCause::NoPatch), 0);
}

/// A peer's stream that claims to originate at another site is refused by the engine too,
/// not only by the links (defence in depth: the engine decides from the origin).
#[test]
fn a_peer_speaking_for_another_site_keys_nothing() {
    let mut e = Engine::new(config(1, 3));
    e.create_patch(Instant::ZERO, patch(3, vec![])).unwrap();
    // From peer 3's address, but saying it came from site 2.
    let bytes = peer_packet(0, TxState::Start, &frame(0), 2, 5);
    e.handle_packet(
        ms(1),
        EndpointId::Peer(SiteId(3)),
        &VoiceRepr::parse(&bytes).unwrap(),
    );
    assert_eq!(e.poll_command(), None);
    assert_eq!(e.counters().dropped(DropCause::NoPatch), 1);
}

/// Finding 4 of issue 13: one authenticated peer filled every engine stream slot. A peer's
/// streams are bounded on their own, the refusals are counted, and another source still gets
/// in.
#[test]
fn one_peer_cannot_fill_every_stream_slot() {
    let mut cfg = config(1, 2);
    cfg.max_streams = 64;
    cfg.max_streams_per_peer = 8;
    let mut e = Engine::new(cfg);
    let mut spec = patch(1, vec![]);
    spec.channels.push(Channel {
        site: SiteId(2),
        network: Network::C2000,
        group: group_y(),
    });
    e.create_patch(Instant::ZERO, spec).unwrap();
    // Peer 2 opens a new stream with every packet.
    for stream in 0..100u32 {
        let bytes = peer_packet(0, TxState::Start, &frame(0), 2, 1_000 + stream);
        e.handle_packet(
            ms(1),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    assert_eq!(e.stream_count(), 8);
    assert_eq!(e.counters().dropped(DropCause::PeerStreamLimit), 92);
    // A local radio's call still opens a stream.
    let capture = Capture {
        talker: Some(field_unit()),
        priority: prio(1),
        emergency: false,
        key_up: KeyUpTime(1),
        frame: Some(&frame(0)),
    };
    e.handle_capture(ms(2), ASTRID, capture);
    assert_eq!(e.stream_count(), 9);
    // Once the peer's streams have ended, it may open new ones again.
    e.handle_timeout(ms(5_000));
    let bytes = peer_packet(0, TxState::Start, &frame(0), 2, 5_000);
    e.handle_packet(
        ms(5_001),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&bytes).unwrap(),
    );
    assert_eq!(e.counters().dropped(DropCause::PeerStreamLimit), 92);
}

#[test]
fn a_radio_back_up_mid_over_is_keyed_again_for_the_over_still_live() {
    let mut e = playing_a_peer_stream();
    // Its board link is lost: the radio is down, and the session forgot its PTT.
    e.handle_radio(ms(420), ASTRID, RadioEvent::Down);
    while e.poll_command().is_some() {}
    // The peer's over goes on.
    for seq in 5..10u16 {
        let bytes = peer_packet(seq, TxState::Continue, &frame(seq as u8), 2, 42);
        e.handle_packet(
            ms(100 + 20 * u64::from(seq)),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    }
    e.handle_radio(ms(450), ASTRID, RadioEvent::Up);
    assert!(
        matches!(
            e.poll_command(),
            Some(RadioCommand::Key { radio: ASTRID, .. })
        ),
        "the live over is asked for again"
    );
    // And it plays once granted.
    e.handle_radio(ms(460), ASTRID, RadioEvent::TxGranted);
    let bytes = peer_packet(10, TxState::Continue, &frame(10), 2, 42);
    e.handle_packet(
        ms(460),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&bytes).unwrap(),
    );
    e.handle_timeout(ms(800));
    assert!(e.poll_audio().is_some());
}

#[test]
fn a_radio_back_up_after_the_over_ended_is_not_keyed() {
    let mut e = playing_a_peer_stream();
    e.handle_radio(ms(420), ASTRID, RadioEvent::Down);
    while e.poll_command().is_some() {}
    let end = peer_packet(5, TxState::End, &frame(5), 2, 42);
    e.handle_packet(
        ms(430),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&end).unwrap(),
    );
    e.handle_timeout(ms(2_000));
    while e.poll_command().is_some() {}
    e.handle_radio(ms(2_100), ASTRID, RadioEvent::Up);
    assert_eq!(e.poll_command(), None);
}

#[test]
fn overs_that_follow_each_other_in_hang_time_are_capped_as_one_transmission() {
    let mut w = World::new(1, vec![]);
    let mut cfg = config(1, 1);
    cfg.air_time = AirTimeLimit {
        max_continuous: Duration::from_secs(12),
        forced_gap: Duration::from_secs(2),
    };
    w.engines[0] = Engine::new(cfg);
    w.engines[0]
        .create_patch(Instant::ZERO, patch(1, vec![]))
        .unwrap();
    // Three 5.1 s overs 0.5 s apart, well within the 1.5 s hang time: the C2000 radio is never
    // released between them, and each over alone is far from the TX timeout.
    for (i, start) in [100u64, 5_700, 11_300].into_iter().enumerate() {
        w.field_call(ms(start), 255, 1_000 + i as u32);
    }
    w.run_until(ms(20_000));
    let c2000: Vec<(Instant, RadioCommand)> = w
        .commands
        .iter()
        .filter(|(_, _, c)| {
            matches!(
                c,
                RadioCommand::Key { radio: C2000, .. } | RadioCommand::Unkey { radio: C2000, .. }
            )
        })
        .map(|(t, _, c)| (*t, *c))
        .collect();
    let (keyed_at, _) = c2000[0];
    let (capped_at, cap) = c2000[1];
    assert_eq!(
        cap,
        RadioCommand::Unkey {
            radio: C2000,
            reason: UnkeyReason::ContinuousCap
        },
        "{c2000:?}"
    );
    assert_eq!(capped_at, keyed_at + Duration::from_secs(12));
    // Not keyed again within the forced gap.
    if let Some((again, _)) = c2000.get(2) {
        assert!(*again >= capped_at + Duration::from_secs(2), "{c2000:?}");
    }
}

/// A peer's stream count falls as its streams end, one by one: the limit counts what is open,
/// neither more (a peer locked out for good) nor less (a peer past its limit).
#[test]
fn a_peers_stream_count_falls_by_one_as_each_stream_ends() {
    let mut cfg = config(1, 2);
    cfg.max_streams_per_peer = 8;
    let mut e = Engine::new(cfg);
    let mut spec = patch(1, vec![]);
    spec.channels.push(Channel {
        site: SiteId(2),
        network: Network::C2000,
        group: group_y(),
    });
    e.create_patch(Instant::ZERO, spec).unwrap();
    let send = |e: &mut Engine, at: u64, seq: u16, tx: TxState, stream: u32| {
        let payload = if tx == TxState::End {
            Vec::new()
        } else {
            frame(seq as u8).to_vec()
        };
        let bytes = peer_packet(seq, tx, &payload, 2, stream);
        e.handle_packet(
            ms(at),
            EndpointId::Peer(SiteId(2)),
            &VoiceRepr::parse(&bytes).unwrap(),
        );
    };
    // Two streams; the first ends, and is forgotten after its silence timeout.
    send(&mut e, 1, 0, TxState::Start, 1);
    send(&mut e, 2, 0, TxState::Start, 2);
    send(&mut e, 3, 1, TxState::End, 1);
    // Stream 2 keeps talking past stream 1's silence timeout.
    for k in 1..=60u16 {
        let at = 3 + 20 * u64::from(k);
        if e.poll_timeout().is_some_and(|t| t <= ms(at)) {
            e.handle_timeout(ms(at));
        }
        send(&mut e, at, k, TxState::Continue, 2);
    }
    assert_eq!(e.stream_count(), 1, "stream 1 is gone, stream 2 open");
    // Room for exactly seven more.
    for stream in 10..18u32 {
        send(&mut e, 1_300, 0, TxState::Start, stream);
    }
    assert_eq!(e.stream_count(), 8);
    assert_eq!(e.counters().dropped(DropCause::PeerStreamLimit), 1);
}

/// Removing a patch ends its streams at once: the radio they keyed is released and nothing of
/// them is left.
#[test]
fn removing_a_patch_releases_the_radio_its_stream_keyed() {
    let mut e = playing_a_peer_stream();
    let id = e.patches().iter().next().unwrap().id();
    e.remove_patch(ms(420), id).unwrap();
    assert_eq!(
        e.poll_command(),
        Some(RadioCommand::Unkey {
            radio: ASTRID,
            reason: UnkeyReason::FloorLost
        })
    );
    assert_eq!(e.stream_count(), 0);
    // A late packet of the stream keys nothing: there is no patch for it any more.
    let late = peer_packet(5, TxState::Continue, &frame(5), 2, 42);
    e.handle_packet(
        ms(430),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&late).unwrap(),
    );
    assert!(e.poll_command().is_none());
}

/// A radio back up while an over that ended is still remembered (its silence timeout has not
/// passed) is not keyed for it.
#[test]
fn a_radio_back_up_just_after_the_over_ended_is_not_keyed() {
    let mut e = playing_a_peer_stream();
    e.handle_radio(ms(420), ASTRID, RadioEvent::Down);
    while e.poll_command().is_some() {}
    let end = peer_packet(5, TxState::End, &frame(5), 2, 42);
    e.handle_packet(
        ms(430),
        EndpointId::Peer(SiteId(2)),
        &VoiceRepr::parse(&end).unwrap(),
    );
    // The engine is driven as the daemon drives it: every timer when it is due.
    let up_at = ms(700);
    while let Some(t) = e.poll_timeout().filter(|&t| t <= up_at) {
        e.handle_timeout(t);
        while e.poll_audio().is_some() {}
    }
    while e.poll_command().is_some() {}
    assert_eq!(e.stream_count(), 1, "the ended stream is still remembered");
    e.handle_radio(up_at, ASTRID, RadioEvent::Up);
    assert_eq!(e.poll_command(), None);
}

/// A radio is asked for an over again only when it comes back *up*: after the network refused
/// its grant, or while it is down, nothing keys it again for the same over, however the over
/// goes on (no retry loop against a SwMI that said no).
#[test]
fn a_radio_is_keyed_again_only_when_it_comes_back_up() {
    for (first, then) in [
        (RadioEvent::TxRefused, None),
        (RadioEvent::Down, Some(RadioEvent::Down)),
        (RadioEvent::Down, Some(RadioEvent::TxRefused)),
        (RadioEvent::Down, Some(RadioEvent::TxLost)),
    ] {
        let mut e = patched_with_peer();
        let send = |e: &mut Engine, seq: u16| {
            let tx = if seq == 0 {
                TxState::Start
            } else {
                TxState::Continue
            };
            let bytes = peer_packet(seq, tx, &frame(seq as u8), 2, 42);
            e.handle_packet(
                ms(100 + 20 * u64::from(seq)),
                EndpointId::Peer(SiteId(2)),
                &VoiceRepr::parse(&bytes).unwrap(),
            );
        };
        send(&mut e, 0);
        assert!(matches!(
            e.poll_command(),
            Some(RadioCommand::Key { radio: ASTRID, .. })
        ));
        e.handle_radio(ms(110), ASTRID, first);
        while e.poll_command().is_some() {}
        if let Some(then) = then {
            e.handle_radio(ms(115), ASTRID, then);
        }
        // The over goes on.
        for seq in 1..5 {
            send(&mut e, seq);
        }
        assert_eq!(
            e.poll_command(),
            None,
            "{first:?} then {then:?}: keyed again"
        );
    }
}
