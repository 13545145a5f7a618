//! One border site's gateway in process: the daemon's own state machines (the relay
//! [`Engine`], a [`RadioSession`] per radio, the [`BoardSession`]) wired together the way
//! `borderlinkd`'s main loop wires them (`gateway/src/daemon/mod.rs`): capture gated by the
//! radio's receive state with the same tail, the board's PTT following the TETRA grant,
//! releases on every unkey.
//!
//! The wiring is repeated here rather than shared because the daemon's loop is written
//! around tokio; a sans-IO `SiteCore` in the gateway that both use would remove the copy.

use std::collections::{BTreeMap, VecDeque};

use borderlink_gateway::board::{BoardSession, SessionConfig};
use borderlink_gateway::engine::counters::Counters;
use borderlink_gateway::engine::endpoint::{EndpointId, RadioId};
use borderlink_gateway::engine::jitter::{FRAME_DURATION, PlayoutMode};
use borderlink_gateway::engine::loops::GatewayIdentities;
use borderlink_gateway::engine::patch::{PatchId, PatchKind, PatchSpec};
use borderlink_gateway::engine::radio_tx::RadioCommand;
use borderlink_gateway::engine::relay::{Engine, EngineConfig, RadioConfig};
use borderlink_gateway::radio::capture::{self, Receiving};
use borderlink_gateway::radio::{RadioOutput, RadioSession, RadioSessionConfig};
use borderlink_protocol::link::Port;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{FRAME_LEN, KeyUpTime, SiteId, VoiceRepr};

use crate::scenario::{PatchDef, Scenario};

/// The wall clock the sites' key-up times count from (a fixed date, so runs repeat).
const KEY_UP_EPOCH_MS: u64 = 1_750_000_000_000;

/// What a site has for the world or the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteOutput {
    /// PEI bytes for one of its radios.
    Pei {
        /// Radio index.
        radio: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Audio to play into one of its radios.
    Audio {
        /// Radio index.
        radio: usize,
        /// The frame.
        frame: [u8; FRAME_LEN],
    },
    /// Link bytes for its board.
    Board(Vec<u8>),
    /// A voice packet for another site's gateway.
    Packet {
        /// The site.
        to: SiteId,
        /// The RTP datagram.
        bytes: Vec<u8>,
    },
}

#[derive(Debug)]
struct Radio {
    id: RadioId,
    session: RadioSession,
    receiving: Option<Receiving>,
    board_port: Option<Port>,
    /// What the board was last told about the radio's PEI keying (as the daemon does).
    pei_guarded: bool,
}

/// One site's gateway; see the [module documentation](self).
#[derive(Debug)]
pub struct FastSite {
    id: SiteId,
    engine: Engine,
    radios: Vec<Radio>,
    board: Option<BoardSession>,
    patches: BTreeMap<String, PatchId>,
    out: VecDeque<SiteOutput>,
    /// This site's error against true time, for key-up stamps (an NTP-synchronised clock).
    clock_offset_ms: i64,
}

/// The engine settings a scenario gives a site, as `Config::engine_config` makes them from a
/// site's TOML.
pub fn engine_config(scenario: &Scenario, site: usize) -> EngineConfig {
    let spec = &scenario.sites[site];
    let radios = spec
        .radios
        .iter()
        .enumerate()
        .map(|(i, r)| RadioConfig {
            id: RadioId(i as u16),
            network: r.network,
            group: r.group,
            identity: r.issi,
        })
        .collect();
    let identities = GatewayIdentities::new(scenario.gateway_identities());
    let mut config = EngineConfig::new(SiteId(spec.id), radios, identities);
    let g = scenario.gateway;
    config.floor.hang_time = g.hang_time;
    config.floor.tx_timeout = g.tx_timeout;
    config.floor.block_time = g.block_time;
    if let Some(fixed) = g.playout_fixed {
        config.delay.mode = PlayoutMode::Fixed(fixed);
    }
    let frames = |d: Duration| d.as_micros().div_ceil(FRAME_DURATION.as_micros()) as usize;
    config.jitter.capacity = config
        .jitter
        .capacity
        .max(2 * frames(config.delay.max_delay()) + 1);
    let backlog = frames(g.grant_wait_bound).max(1);
    config.grant.max_backlog = backlog;
    config.grant.capacity = config.grant.capacity.max(3 * backlog);
    config
}

/// A patch definition as the engine takes it.
pub fn patch_spec(def: &PatchDef, kind: PatchKind) -> PatchSpec {
    PatchSpec {
        name: def.name.clone(),
        channels: def.channels.clone(),
        consoles: Vec::new(),
        lifetime: None,
        inactivity_timeout: None,
        kind,
    }
}

impl FastSite {
    /// The gateway of site `index` of the scenario, started at `now` with the scenario's
    /// static patches; its serial ports are open at once.
    pub fn start(scenario: &Scenario, index: usize, now: Instant, clock_offset_ms: i64) -> Self {
        let spec = &scenario.sites[index];
        let mut engine = Engine::new(engine_config(scenario, index));
        let mut patches = BTreeMap::new();
        for def in &scenario.patches {
            if let Ok(id) = engine.create_patch(now, patch_spec(def, PatchKind::Static)) {
                patches.insert(def.name.clone(), id);
            }
        }
        let radios = spec
            .radios
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let mut config = RadioSessionConfig::new(r.issi, r.group);
                config.grant_wait = scenario.gateway.grant_wait_bound.max(config.grant_wait);
                let mut session = RadioSession::new(config).ok()?;
                session.link_up(now);
                Some(Radio {
                    id: RadioId(i as u16),
                    session,
                    receiving: None,
                    board_port: spec.board.then(|| Port::new(i as u8)).flatten(),
                    pei_guarded: false,
                })
            })
            .collect();
        let board = spec.board.then(|| {
            let mut b = BoardSession::new(
                now,
                SessionConfig {
                    // A restarted gateway must not repeat its predecessor's numbers.
                    first_seq: (now.as_millis() as u16).wrapping_mul(7919),
                    ..SessionConfig::default()
                },
            );
            b.reconnect(now);
            b
        });
        let mut site = FastSite {
            id: SiteId(spec.id),
            engine,
            radios,
            board,
            patches,
            out: VecDeque::new(),
            clock_offset_ms,
        };
        site.pump(now);
        site
    }

    /// The site's id.
    pub fn id(&self) -> SiteId {
        self.id
    }

    /// The engine's frame counters.
    pub fn counters(&self) -> Counters {
        self.engine.counters()
    }

    /// Dispatch created a patch.
    pub fn create_patch(&mut self, now: Instant, def: &PatchDef) -> Result<(), String> {
        let spec = patch_spec(
            def,
            PatchKind::Dynamic {
                created_by: "dispatch".to_string(),
            },
        );
        let id = self
            .engine
            .create_patch(now, spec)
            .map_err(|e| e.to_string())?;
        self.patches.insert(def.name.clone(), id);
        self.pump(now);
        Ok(())
    }

    /// Dispatch removed a patch.
    pub fn remove_patch(&mut self, now: Instant, name: &str) -> Result<(), String> {
        let id = self
            .patches
            .remove(name)
            .ok_or_else(|| format!("no patch `{name}`"))?;
        self.engine
            .remove_patch(now, id)
            .map_err(|e| e.to_string())?;
        self.pump(now);
        Ok(())
    }

    fn key_up(&self, now: Instant) -> KeyUpTime {
        let ms = (KEY_UP_EPOCH_MS + now.as_millis()) as i64 + self.clock_offset_ms;
        KeyUpTime(ms.max(0) as u64)
    }

    // ---- inputs --------------------------------------------------------------------------

    /// PEI bytes from one of its radios.
    pub fn radio_bytes(&mut self, now: Instant, radio: usize, bytes: &[u8]) {
        if let Some(r) = self.radios.get_mut(radio) {
            r.session.handle_bytes(now, bytes);
        }
        self.pump(now);
    }

    /// Audio captured from one of its radios (the radio's loudspeaker output).
    pub fn radio_audio(&mut self, now: Instant, radio: usize, frame: &[u8; FRAME_LEN]) {
        if let Some(r) = self.radios.get(radio)
            && let Some(rx) = r.receiving
        {
            self.engine
                .handle_capture(now, r.id, rx.capture(Some(frame)));
        }
        self.pump(now);
    }

    /// Link bytes from its board.
    pub fn board_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if let Some(b) = self.board.as_mut() {
            b.handle_bytes(now, bytes);
        }
        self.pump(now);
    }

    /// A voice packet from another site's gateway.
    pub fn packet(&mut self, now: Instant, from: SiteId, bytes: &[u8]) {
        // Malformed packets are dropped here as the daemon's network layer drops them.
        if let Ok(voice) = VoiceRepr::parse(bytes) {
            self.engine
                .handle_packet(now, EndpointId::Peer(from), &voice);
        }
        self.pump(now);
    }

    /// When [`FastSite::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tails = self
            .radios
            .iter()
            .filter_map(|r| r.receiving.and_then(|rx| rx.closing));
        let sessions = self.radios.iter().filter_map(|r| r.session.poll_timeout());
        let board = self.board.as_ref().and_then(BoardSession::poll_timeout);
        tails
            .chain(sessions)
            .chain(board)
            .chain(self.engine.poll_timeout())
            .min()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for r in &mut self.radios {
            let Some(rx) = r.receiving else { continue };
            if rx.tail_over(now) {
                r.receiving = None;
                self.engine.handle_capture(now, r.id, rx.capture(None));
            }
        }
        for r in &mut self.radios {
            if r.session.poll_timeout().is_some_and(|t| t <= now) {
                r.session.handle_timeout(now);
            }
        }
        if let Some(b) = self.board.as_mut()
            && b.poll_timeout().is_some_and(|t| t <= now)
        {
            b.handle_timeout(now);
        }
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        self.pump(now);
    }

    /// The next output.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<SiteOutput> {
        self.out.pop_front()
    }

    // ---- the daemon's wiring -----------------------------------------------------------------

    fn pump(&mut self, now: Instant) {
        for _ in 0..10_000 {
            let mut again = false;
            for index in 0..self.radios.len() {
                while let Some(t) = self.radios[index].session.poll_transmit() {
                    self.out.push_back(SiteOutput::Pei {
                        radio: index,
                        bytes: t.bytes().to_vec(),
                    });
                }
                while let Some(out) = self.radios[index].session.poll_event() {
                    again = true;
                    self.radio_output(now, index, out);
                }
            }
            while let Some(command) = self.engine.poll_command() {
                again = true;
                self.radio_command(now, command);
            }
            while let Some((id, frame)) = self.engine.poll_audio() {
                if let Some(radio) = self.radios.iter().position(|r| r.id == id) {
                    self.out.push_back(SiteOutput::Audio { radio, frame });
                }
            }
            while let Some(t) = self.engine.poll_transmit() {
                if let EndpointId::Peer(site) = t.to {
                    self.out.push_back(SiteOutput::Packet {
                        to: site,
                        bytes: t.packet().to_vec(),
                    });
                }
            }
            while self.engine.poll_event().is_some() {}
            self.guard_pei_radios(now);
            if let Some(b) = self.board.as_mut() {
                while let Some(frame) = b.poll_transmit(now) {
                    self.out.push_back(SiteOutput::Board(frame));
                }
                while b.poll_event().is_some() {}
            }
            if !again {
                return;
            }
        }
    }

    /// The board guards every radio keyed over PEI with its power relay, as the daemon's
    /// `guard_pei_radios` arranges: armed while a key is under way or a cease owed.
    fn guard_pei_radios(&mut self, now: Instant) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        for r in &mut self.radios {
            let Some(port) = r.board_port else { continue };
            let ready = r.session.status().state == borderlink_gateway::radio::LinkState::Ready;
            let on_air = r.session.cease_pending() || (r.pei_guarded && !ready);
            if on_air != r.pei_guarded {
                r.pei_guarded = on_air;
                board.set_pei_keyed(now, port, on_air);
            }
        }
    }

    fn radio_output(&mut self, now: Instant, index: usize, out: RadioOutput) {
        let key_up = self.key_up(now);
        let radio = &mut self.radios[index];
        if let Some(event) = out.engine_event() {
            self.engine.handle_radio(now, radio.id, event);
        }
        if let (Some(port), Some(board)) = (radio.board_port, self.board.as_mut()) {
            match &out {
                RadioOutput::TxGranted => board.set_ptt(now, port, true),
                RadioOutput::TxRefused { .. }
                | RadioOutput::TxLost { .. }
                | RadioOutput::Down { .. } => board.set_ptt(now, port, false),
                _ => {}
            }
        }
        match out {
            RadioOutput::Down { .. } => radio.receiving = None,
            RadioOutput::ReceiveStart {
                talker,
                priority,
                emergency,
                ..
            } => {
                let fresh = Receiving::new(talker, priority, emergency, key_up);
                if let Some(ended) = capture::start(&mut radio.receiving, fresh) {
                    self.engine
                        .handle_capture(now, radio.id, ended.capture(None));
                }
            }
            RadioOutput::ReceiveEnd => capture::end(&mut radio.receiving, now),
            _ => {}
        }
    }

    fn radio_command(&mut self, now: Instant, command: RadioCommand) {
        match command {
            RadioCommand::Key {
                radio,
                group,
                priority,
                emergency,
            } => {
                if let Some(r) = self.radios.iter_mut().find(|r| r.id == radio) {
                    r.session.key(now, group, priority, emergency);
                }
            }
            RadioCommand::Unkey { radio, .. } => {
                if let Some(r) = self.radios.iter_mut().find(|r| r.id == radio) {
                    r.session.unkey(now);
                    if let (Some(port), Some(board)) = (r.board_port, self.board.as_mut()) {
                        board.set_ptt(now, port, false);
                    }
                }
            }
        }
    }
}
