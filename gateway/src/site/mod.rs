//! One border site or dispatch centre as a sans-IO state machine: [`SiteCore`].
//!
//! The core owns the relay [`Engine`], a [`RadioSession`] per radio with PEI, the
//! [`BoardSession`], semi-roaming ([`Roaming`]), the board firmware update job and every rule
//! that wires them together: capture gated by the radio's call state with its tail, the board's
//! PTT line following the TETRA grant, radios without PEI keyed by the board and heard on COR,
//! ports whose polarity differs from the config never keyed, the board guarding radios keyed
//! over PEI, a radio the board switched off started afresh, what to persist and when, the
//! control API's commands, and the shutdown order (every transmitter released first).
//!
//! It reads no clock and touches no IO, in the quinn-proto style: inputs come with the time
//! ([`Time`]: monotonic `now` and the wall clock), outputs are polled with
//! [`SiteCore::poll_output`], and [`SiteCore::poll_timeout`] says when
//! [`SiteCore::handle_timeout`] must next run. `borderlinkd` (`crate::daemon`) wraps it in
//! tokio tasks and channels; the simulator's fast mode drives the very same type in virtual
//! time, so what the simulator proves is what the daemon does.

mod api;
mod firmware;
mod roaming;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use borderlink_protocol::link::{PORTS, Port};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{FRAME_LEN, KeyUpTime, Priority, VoiceRepr};
use thiserror::Error;
use tracing::{debug, error, info, info_span, warn};

use crate::audio::drops::AudioDrops;
use crate::board::{BoardEvent, BoardSession, SessionConfig};
use crate::config::Config;
use crate::engine::counters::Counters;
use crate::engine::endpoint::{EndpointId, RadioId};
use crate::engine::patch::PatchSnapshot;
use crate::engine::radio_tx::{RadioCommand, RadioEvent};
use crate::engine::relay::{Engine, EngineError, EngineEvent, Transmit};
use crate::net::driver::ToEngine;
use crate::radio::capture::{self, Receiving};
use crate::radio::{RadioOutput, RadioSession, RadioSessionConfig};
use crate::roaming::Roaming;

pub use roaming::ROAMING_LOG;

/// The time of an input: the monotonic instant every state machine runs on, and the wall
/// clock (NTP-synchronised on a site), which stamps key-ups and drives roaming's schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Monotonic time.
    pub now: Instant,
    /// The wall clock.
    pub wall: jiff::Timestamp,
}

/// What happened on a serial port (a radio's PEI port or the board's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortEvent {
    /// The port is open.
    Up,
    /// The port failed or could not be opened.
    Down(String),
    /// Bytes read.
    Bytes(Vec<u8>),
}

/// What the site has for the world, polled with [`SiteCore::poll_output`].
#[derive(Debug, Clone)]
pub enum Output {
    /// PEI bytes for radio `radio` (its index in `[[radios]]`).
    Pei {
        /// Radio index.
        radio: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Link bytes for the interface board.
    Board(Vec<u8>),
    /// Audio to play into radio `radio`.
    Audio {
        /// Radio index.
        radio: usize,
        /// The frame.
        frame: [u8; FRAME_LEN],
    },
    /// A voice packet for a peer site.
    Peer(Transmit),
    /// The dynamic patches to save; `generation` counts the saves, and the API waits on it.
    Persist {
        /// The save's number.
        generation: u64,
        /// What to write.
        patches: PatchSnapshot,
    },
    /// The saved patch state handed to [`SiteCore::new`] could not be restored: the file
    /// must be set aside for inspection.
    RestoreFailed {
        /// Why.
        problem: String,
    },
}

/// Why a site cannot start.
#[derive(Debug, Error)]
pub enum SiteError {
    /// A radio's settings are refused by its session.
    #[error("radio {name}: {message}")]
    Radio {
        /// The radio's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A static patch of the config cannot be created.
    #[error("static patch {index} ({name}): {source}")]
    Patch {
        /// Index in `[[patches]]`.
        index: usize,
        /// Its name.
        name: String,
        /// Why.
        source: EngineError,
    },
}

/// What the IO shell chooses for a site at start.
#[derive(Debug, Default)]
pub struct SiteOptions {
    /// The first stream id of this run (see [`crate::engine::relay::EngineConfig`]): above
    /// every id a previous run used.
    pub first_stream: u32,
    /// The board session's first sequence number: differs at each start, so a restarted
    /// gateway does not replay its predecessor's numbers into the board's duplicate history.
    pub board_first_seq: u16,
    /// The dynamic patches saved by the previous run.
    pub restored: Option<PatchSnapshot>,
    /// Per radio, the counters of frames its audio backend dropped (shared with the threads
    /// and tasks that move its audio); missing ones are created.
    pub audio_drops: Vec<Arc<AudioDrops>>,
}

/// How long the board keeps a radio off when its PEI cable went away while it may have been
/// on the air ([`SiteCore::guard_pei_radios`]): long enough for the network to see it gone.
const LOST_PEI_OFF_MS: u16 = 2_000;

/// The priority of a call heard on a radio without PEI: the COR line says a call is on, not
/// how urgent it is, so it claims the floor at the lowest priority.
const COR_PRIORITY: Priority = match Priority::new(0) {
    Some(p) => p,
    None => Priority::EMERGENCY,
};

struct SiteRadio {
    id: RadioId,
    name: String,
    /// `None` for a radio without PEI: the board keys it and its COR line gates capture.
    pei: Option<RadioSession>,
    /// Frames dropped between its audio backend and the engine, by cause (shared with the
    /// shell's audio tasks).
    drops: Arc<AudioDrops>,
    receiving: Option<Receiving>,
    /// The interface-board port that drives this radio's PTT line, if any.
    board_port: Option<Port>,
    /// Since when the radio holds a transmit grant.
    keyed_since: Option<Instant>,
    /// Time keyed in earlier transmissions.
    ptt_total: borderlink_protocol::time::Duration,
    /// Transmissions granted since start.
    transmissions: u64,
    /// For a radio without PEI: how long after its PTT line is confirmed the network is taken
    /// to have granted it (`[[board.ports]] grant_delay`).
    grant_delay: borderlink_protocol::time::Duration,
    /// When that taken grant is due, while the line is keyed and the delay runs.
    line_grant_at: Option<Instant>,
    /// What the board was last told about this radio's PEI keying (see
    /// [`SiteCore::guard_pei_radios`]).
    pei_guarded: bool,
    /// The board was asked to switch the radio off and on because its PEI cable went away
    /// while it may have been on the air; cleared when the cable is back.
    cut_for_lost_pei: bool,
    /// The board link was lost while the radio was guarded: once the link is back the board is
    /// asked to switch it off and on, whatever the board did meanwhile (a board whose MCU
    /// reset has forgotten what it guarded, and cuts nothing at the new `Hello`).
    cut_after_link_loss: bool,
}

impl SiteRadio {
    /// The radio still owes a confirmed cease-transmit (shutdown waits for it).
    fn cease_pending(&self) -> bool {
        self.pei.as_ref().is_some_and(RadioSession::cease_pending)
    }

    /// The radio's transmission ended (grant lost, unkeyed, or the radio went down).
    fn ptt_ended(&mut self, now: Instant) {
        if let Some(since) = self.keyed_since.take() {
            self.ptt_total += now.saturating_since(since);
        }
    }
}

/// The interface board's session, and what the site learnt of its wiring.
struct SiteBoard {
    session: BoardSession,
    /// Ports whose PTT or COR polarity the board reports differently from the config: never
    /// keyed, because the line would not mean what the config says.
    mismatched: borderlink_protocol::link::PortMask,
}

/// One site; see the [module documentation](self).
pub struct SiteCore {
    config: Arc<Config>,
    started: Instant,
    wall: jiff::Timestamp,
    engine: Engine,
    radios: Vec<SiteRadio>,
    board: Option<SiteBoard>,
    /// Packets for consoles (not connected yet) and for peers without links.
    ip_unsent: u64,
    /// The last save's generation, if the site keeps its patch state.
    saves: Option<u64>,
    /// The board firmware update under way, or the last one.
    firmware: Option<firmware::FirmwareJob>,
    /// What the site has learnt of the board's security-version floor since it started (a
    /// lower bound, or the board's own word in a `Rollback` refusal).
    firmware_floor: Option<u32>,
    /// The latest roaming events, for dispatch through the API.
    roaming_log: VecDeque<crate::api::model::RoamingEventView>,
    /// Semi-roaming: mirrors, zones, status triggers (see `roaming.rs`).
    roaming: Roaming,
    /// Set once [`SiteCore::release_everything`] ran: nothing is relayed any more.
    stopping: bool,
    out: VecDeque<Output>,
}

impl SiteCore {
    /// The site of `config`, started at `t`: the patches saved by the previous run restored
    /// first (so they keep their ids), then the config's static ones (the config wins over a
    /// restored patch that holds one of its groups). Every radio and the board start with
    /// their ports closed: the shell reports [`PortEvent::Up`] when it opens them.
    pub fn new(config: Arc<Config>, t: Time, options: SiteOptions) -> Result<Self, SiteError> {
        let now = t.now;
        let mut engine_config = config.engine_config();
        engine_config.first_stream = options.first_stream;
        let mut engine = Engine::new(engine_config);
        let mut out = VecDeque::new();
        if let Some(snapshot) = &options.restored {
            match engine.restore_patches(now, snapshot) {
                Ok(()) => info!(patches = snapshot.patches.len(), "dynamic patches restored"),
                Err(e) => out.push_back(Output::RestoreFailed {
                    problem: e.to_string(),
                }),
            }
        }
        for (index, spec) in config.static_patches().into_iter().enumerate() {
            create_static_patch(&mut engine, now, index, spec)?;
        }
        let mut audio_drops = options.audio_drops.into_iter();
        let mut radios = Vec::new();
        for radio in &config.radios {
            let pei = match radio.serial {
                Some(_) => Some(radio_session(&config, radio)?),
                None => {
                    info!(radio = %radio.name, "no PEI port: keyed by the board's PTT line, heard while its COR line is active");
                    None
                }
            };
            let port = config.board.as_ref().and_then(|b| b.port_of(radio.id));
            let board_port = port.map(|p| p.port);
            let grant_delay =
                port.map_or(borderlink_protocol::time::Duration::ZERO, |p| p.grant_delay);
            if pei.is_some() && board_port.is_none() {
                warn!(
                    radio = %radio.name,
                    "PEI radio on no board port: if borderlinkd dies while it transmits, nothing switches it off before the network's own timeout; wire its power through the board ([[board.ports]])"
                );
            }
            radios.push(SiteRadio {
                id: radio.id,
                name: radio.name.clone(),
                pei,
                drops: audio_drops.next().unwrap_or_default(),
                receiving: None,
                board_port,
                keyed_since: None,
                ptt_total: borderlink_protocol::time::Duration::ZERO,
                transmissions: 0,
                grant_delay,
                line_grant_at: None,
                pei_guarded: false,
                cut_for_lost_pei: false,
                cut_after_link_loss: false,
            });
        }
        let board = config.board.as_ref().map(|_| SiteBoard {
            session: BoardSession::new(
                now,
                SessionConfig {
                    first_seq: options.board_first_seq,
                    ..SessionConfig::default()
                },
            ),
            mismatched: borderlink_protocol::link::PortMask::EMPTY,
        });
        let mut roaming = Roaming::new(config.roaming.clone());
        roaming.handle_timeout(now, t.wall);
        let mut site = SiteCore {
            saves: config.state_file.as_ref().map(|_| 0),
            config,
            started: now,
            wall: t.wall,
            engine,
            radios,
            board,
            ip_unsent: 0,
            firmware: None,
            firmware_floor: None,
            roaming_log: VecDeque::with_capacity(ROAMING_LOG),
            roaming,
            stopping: false,
            out,
        };
        // Restored patches the config overruled are gone from the saved state too.
        if site.saves.is_some() {
            site.save_patches(now);
        }
        Ok(site)
    }

    /// The site's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The engine's frame counters.
    pub fn counters(&self) -> Counters {
        self.engine.counters()
    }

    /// Packets for consoles and for peers without links, counted as unsent.
    pub fn ip_unsent(&self) -> u64 {
        self.ip_unsent
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn set_time(&mut self, t: Time) {
        self.wall = t.wall;
    }

    /// After a port's input: everything moves on; once stopping, only the ports are served
    /// (owed ceases written, the board's guard disarmed) and nothing is relayed.
    fn settle(&mut self, now: Instant) {
        if self.stopping {
            self.flush_radios(now);
        } else {
            self.pump(now);
        }
    }

    /// The wall clock in milliseconds since 1970, as voice headers carry key-up times.
    fn key_up(&self) -> KeyUpTime {
        KeyUpTime(self.wall.as_millisecond().max(0) as u64)
    }

    // ---- inputs --------------------------------------------------------------------------

    /// Something happened on radio `index`'s PEI port.
    pub fn handle_radio_port(&mut self, t: Time, index: usize, event: PortEvent) {
        self.set_time(t);
        self.feed_radio_port(t.now, index, event);
        self.settle(t.now);
    }

    /// Something happened on the board's port.
    pub fn handle_board_port(&mut self, t: Time, event: PortEvent) {
        self.set_time(t);
        self.feed_board_port(t.now, event);
        self.settle(t.now);
    }

    /// A frame captured from radio `index`'s receiver (its loudspeaker output). Capture is
    /// gated by call state: only while the radio reports another party talking (or, without
    /// PEI, while its COR line is active, and for the tail after) is its audio relayed.
    pub fn handle_audio(&mut self, t: Time, index: usize, frame: &[u8; FRAME_LEN]) {
        self.set_time(t);
        let now = t.now;
        if self.stopping {
            return;
        }
        if let Some(radio) = self.radios.get_mut(index) {
            match radio.receiving {
                Some(rx) => self
                    .engine
                    .handle_capture(now, radio.id, rx.capture(Some(frame))),
                None => radio
                    .drops
                    .count(crate::audio::drops::AudioDropCause::NoCall),
            }
        }
        self.pump(now);
    }

    /// What the peer links report: authenticated voice for the engine, peers up and down.
    pub fn handle_net(&mut self, t: Time, message: ToEngine) {
        self.set_time(t);
        let now = t.now;
        if self.stopping {
            return;
        }
        match message {
            // Parsed once, by the links, when they checked its origin and age.
            ToEngine::Voice(delivery) => {
                self.engine
                    .handle_packet(now, EndpointId::Peer(delivery.site), &delivery.voice())
            }
            ToEngine::PeerUp(site) => debug!(site = site.0, "peer up"),
            ToEngine::PeerDown(site) => self.engine.handle_peer_down(now, site),
        }
        self.pump(now);
    }

    /// A voice packet from peer `from`, as the peer links deliver it once authenticated (the
    /// simulator's fast mode hands its packets here). A packet that does not parse is dropped.
    pub fn handle_voice(
        &mut self,
        t: Time,
        from: borderlink_protocol::voice::SiteId,
        packet: &[u8],
    ) {
        self.set_time(t);
        if self.stopping {
            return;
        }
        if let Ok(repr) = VoiceRepr::parse(packet) {
            self.engine
                .handle_packet(t.now, EndpointId::Peer(from), &repr);
        }
        self.pump(t.now);
    }

    /// When [`SiteCore::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopping {
            return self.session_deadline();
        }
        let tails = self
            .radios
            .iter()
            .filter_map(|r| r.receiving.and_then(|rx| rx.closing));
        let line_grants = self.radios.iter().filter_map(|r| r.line_grant_at);
        tails
            .chain(line_grants)
            .chain(self.session_deadline())
            .chain(self.engine.poll_timeout())
            .chain(self.roaming.poll_timeout())
            .min()
    }

    /// Runs every timer due at `t.now`.
    pub fn handle_timeout(&mut self, t: Time) {
        self.set_time(t);
        let now = t.now;
        if self.stopping {
            self.session_timeouts(now);
            self.flush_radios(now);
            return;
        }
        self.close_captures(now);
        self.line_grants(now);
        self.session_timeouts(now);
        if self.engine.poll_timeout().is_some_and(|at| at <= now) {
            self.engine.handle_timeout(now);
        }
        if self.roaming.poll_timeout().is_some_and(|at| at <= now) {
            // Schedules are in civil time: the wall clock, passed in.
            self.roaming.handle_timeout(now, t.wall);
        }
        self.pump(now);
    }

    // ---- shutdown ------------------------------------------------------------------------

    /// Releases every transmitter, the first act of every way out: the engine unkeys every
    /// radio, the board every PTT line, and each PEI session writes its cease command. From
    /// here on nothing is relayed; the shell keeps feeding the ports until
    /// [`SiteCore::release_pending`] is false (or its time is up), so owed ceases go out and
    /// their confirmations disarm the board's guard.
    pub fn release_everything(&mut self, t: Time) {
        self.set_time(t);
        let now = t.now;
        self.engine.release_all(now);
        if let Some(board) = self.board.as_mut() {
            board.session.release_all(now);
        }
        self.pump(now);
        self.stopping = true;
        // Sessions keyed outside the engine's knowledge (a command never delivered) are
        // ceased too: unkey is harmless on an idle session.
        for radio in &mut self.radios {
            if let Some(pei) = radio.pei.as_mut() {
                pei.unkey(now);
            }
        }
        self.flush_radios(now);
    }

    /// After [`SiteCore::release_everything`]: a radio still owes a confirmed cease, or the
    /// reachable board still reports a PTT line keyed.
    pub fn release_pending(&self) -> bool {
        self.radios.iter().any(SiteRadio::cease_pending) || self.board_keyed()
    }

    /// Saves the dynamic patches as of `t` (their remaining times): the shell's last act
    /// before it stops, so a restart resumes them from here.
    pub fn save_state(&mut self, t: Time) {
        self.set_time(t);
        self.save_patches(t.now);
    }

    /// The radios that still owe a confirmed cease, by name.
    pub fn ceases_owed(&self) -> Vec<&str> {
        self.radios
            .iter()
            .filter(|r| r.cease_pending())
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Frames the radios' audio backends dropped, summed over radios, for `cause`.
    pub fn audio_drops(&self, cause: crate::audio::drops::AudioDropCause) -> u64 {
        self.radios.iter().map(|r| r.drops.get(cause)).sum()
    }
}

impl SiteCore {
    /// Feeds a PEI port's event to its radio's session.
    fn feed_radio_port(&mut self, now: Instant, index: usize, event: PortEvent) {
        let Some(radio) = self.radios.get_mut(index) else {
            return;
        };
        let _span = info_span!("radio", radio = %radio.name).entered();
        let Some(pei) = radio.pei.as_mut() else {
            return;
        };
        match event {
            PortEvent::Up => {
                info!("serial port open");
                pei.link_up(now);
            }
            PortEvent::Down(cause) => {
                warn!(%cause, "serial port down");
                pei.link_down(now);
            }
            PortEvent::Bytes(bytes) => pei.handle_bytes(now, &bytes),
        }
    }

    /// Feeds the board port's event to the board session.
    fn feed_board_port(&mut self, now: Instant, event: PortEvent) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        let _span = info_span!("board").entered();
        match event {
            PortEvent::Up => {
                info!("serial port open");
                board.session.reconnect(now);
            }
            PortEvent::Down(cause) => warn!(%cause, "serial port down"),
            PortEvent::Bytes(bytes) => board.session.handle_bytes(now, &bytes),
        }
    }

    /// Radios without PEI whose PTT line has been keyed for their grant delay: the network
    /// is taken to have granted them, and the engine plays what it held for them.
    fn line_grants(&mut self, now: Instant) {
        for radio in &mut self.radios {
            if radio.line_grant_at.is_some_and(|at| at <= now) {
                radio.line_grant_at = None;
                self.engine
                    .handle_radio(now, radio.id, RadioEvent::TxGranted);
            }
        }
    }

    /// Ends the captures whose tail has run out.
    fn close_captures(&mut self, now: Instant) {
        for radio in &mut self.radios {
            let Some(rx) = radio.receiving else { continue };
            if rx.tail_over(now) {
                radio.receiving = None;
                self.engine.handle_capture(now, radio.id, rx.capture(None));
            }
        }
    }

    /// Runs the radio and board sessions' timers that are due.
    fn session_timeouts(&mut self, now: Instant) {
        for pei in self.radios.iter_mut().filter_map(|r| r.pei.as_mut()) {
            if pei.poll_timeout().is_some_and(|t| t <= now) {
                pei.handle_timeout(now);
            }
        }
        if let Some(board) = self.board.as_mut()
            && board.session.poll_timeout().is_some_and(|t| t <= now)
        {
            board.session.handle_timeout(now);
        }
        self.firmware_timeout(now);
    }

    /// When the radio and board sessions next need [`Site::session_timeouts`].
    fn session_deadline(&self) -> Option<Instant> {
        let radios = self
            .radios
            .iter()
            .filter_map(|r| r.pei.as_ref()?.poll_timeout());
        radios
            .chain(self.board.as_ref().and_then(|b| b.session.poll_timeout()))
            .chain(self.firmware_deadline())
            .min()
    }

    /// Moves every output to where it goes until nothing changes.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut again = false;
            for index in 0..self.radios.len() {
                self.flush_pei(index);
                while let Some(out) = self.radios[index]
                    .pei
                    .as_mut()
                    .and_then(RadioSession::poll_event)
                {
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
                    self.out.push_back(Output::Audio { radio, frame });
                }
            }
            while let Some(packet) = self.engine.poll_transmit() {
                self.transmit(packet);
            }
            while let Some(event) = self.engine.poll_event() {
                if let EngineEvent::Patch(patch) = &event {
                    info!(?patch, "patch ended");
                    self.save_patches(now);
                } else {
                    debug!(?event, "engine");
                }
                self.roaming.handle_engine_event(now, &event, &self.engine);
            }
            // Replies queue radio commands and patch changes engine outputs: go round again.
            again |= self.pump_roaming(now);
            self.guard_pei_radios(now);
            again |= self.pump_board(now);
            if !again {
                break;
            }
        }
    }

    fn radio_output(&mut self, now: Instant, index: usize, out: RadioOutput) {
        self.roaming_input(now, index, &out);
        let key_up = self.key_up();
        let radio = &mut self.radios[index];
        let _span = info_span!("radio", radio = %radio.name).entered();
        if let Some(event) = out.engine_event() {
            self.engine.handle_radio(now, radio.id, event);
        }
        // The board's PTT line follows the radio's grant: keyed only once the network has
        // granted transmit, released as soon as the grant is gone.
        if let (Some(port), Some(board)) = (radio.board_port, self.board.as_mut()) {
            match &out {
                RadioOutput::TxGranted if board.mismatched.contains(port) => error!(
                    port = port.get(),
                    "PTT line not keyed: its polarity on the board differs from the config"
                ),
                RadioOutput::TxGranted => board.session.set_ptt(now, port, true),
                RadioOutput::TxRefused { .. }
                | RadioOutput::TxLost { .. }
                | RadioOutput::Down { .. } => board.session.set_ptt(now, port, false),
                _ => {}
            }
        }
        match out {
            RadioOutput::Ready { identity } => {
                let (manufacturer, model, revision, registration) = match &radio.pei {
                    Some(pei) => {
                        let id = pei.identification();
                        (
                            id.manufacturer.clone(),
                            id.model.clone(),
                            id.revision.clone(),
                            pei.status().registration,
                        )
                    }
                    None => (None, None, None, None),
                };
                info!(
                    %identity,
                    manufacturer,
                    model,
                    revision,
                    registration = ?registration,
                    "radio ready"
                );
            }
            RadioOutput::Down { reason } => {
                warn!(%reason, "radio down");
                radio.receiving = None;
                radio.ptt_ended(now);
            }
            RadioOutput::ReceiveStart {
                talker,
                priority,
                emergency,
                ..
            } => {
                info!(talker = ?talker.map(|t| t.to_string()), emergency, "receiving a call");
                let fresh = Receiving::new(talker, priority, emergency, key_up);
                if let Some(ended) = capture::start(&mut radio.receiving, fresh) {
                    self.engine
                        .handle_capture(now, radio.id, ended.capture(None));
                }
            }
            RadioOutput::ReceiveEnd => capture::end(&mut radio.receiving, now),
            RadioOutput::TxGranted => {
                info!("transmit granted");
                radio.keyed_since.get_or_insert(now);
                radio.transmissions += 1;
            }
            RadioOutput::TxRefused { reason } | RadioOutput::TxLost { reason } => {
                radio.ptt_ended(now);
                warn!(%reason, "transmit failed")
            }
            RadioOutput::IdentityMismatch { expected, got } => {
                error!(%expected, %got, "radio reports another identity: not used")
            }
            RadioOutput::SignalQuality { dbm } => debug!(?dbm, "signal"),
            RadioOutput::Status { from, value } => {
                info!(from = ?from.map(|t| t.to_string()), %value, "status message")
            }
            RadioOutput::Location { from, report } => match report.position {
                Some(_) => info!(from = ?from.map(|t| t.to_string()), %report, "location report"),
                // Said outright, so nobody takes the silence in roaming for a lost report.
                None => info!(
                    from = ?from.map(|t| t.to_string()),
                    %report,
                    "location report without a fix: roaming unchanged"
                ),
            },
            RadioOutput::Text { from, text, parts } => {
                info!(from = ?from.map(|t| t.to_string()), %text, parts, "text message")
            }
            RadioOutput::Sds { from, bits, .. } => {
                info!(from = ?from.map(|t| t.to_string()), bits, "short data")
            }
            RadioOutput::DeliveryReport {
                from,
                reference,
                status,
                via,
            } => {
                info!(from = ?from.map(|t| t.to_string()), reference, %status, ?via, "delivery report")
            }
            RadioOutput::SdsSent { to, result } => match result {
                Ok(()) => info!(%to, "short data sent"),
                Err(error) => warn!(%to, %error, "short data refused by the radio"),
            },
            RadioOutput::Fault(fault) => warn!(%fault, "radio fault"),
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
                    info!(radio = %r.name, %group, priority = priority.get(), emergency, "key");
                    match (r.pei.as_mut(), r.board_port, self.board.as_mut()) {
                        (Some(pei), _, _) => pei.key(now, group, priority, emergency),
                        // Without PEI the board's PTT line is the only key; its
                        // acknowledgement is the grant (see `pump_board`).
                        (None, Some(port), Some(board)) if !board.mismatched.contains(port) => {
                            board.session.set_ptt(now, port, true)
                        }
                        (None, Some(port), Some(_)) => {
                            error!(radio = %r.name, port = port.get(), "not keyed: the board's PTT polarity differs from the config");
                            self.engine.handle_radio(now, radio, RadioEvent::TxRefused);
                        }
                        (None, _, _) => {
                            error!(radio = %r.name, "no PEI and no board: cannot key");
                            self.engine.handle_radio(now, radio, RadioEvent::TxRefused);
                        }
                    }
                }
            }
            RadioCommand::Unkey { radio, reason } => {
                if let Some(r) = self.radios.iter_mut().find(|r| r.id == radio) {
                    info!(radio = %r.name, ?reason, "unkey");
                    r.line_grant_at = None;
                    if let Some(pei) = r.pei.as_mut() {
                        pei.unkey(now);
                    }
                    r.ptt_ended(now);
                    if let (Some(port), Some(board)) = (r.board_port, self.board.as_mut()) {
                        board.session.set_ptt(now, port, false);
                    }
                }
            }
        }
    }

    /// Whether the board is reachable and reports a PTT line still keyed (shutdown waits for
    /// its release to be confirmed; an unreachable board drops PTT by its own watchdog).
    fn board_keyed(&self) -> bool {
        self.board.as_ref().is_some_and(|b| {
            b.session.is_up()
                && (0..PORTS as u8)
                    .filter_map(Port::new)
                    .any(|p| b.session.ptt_requested(p) || b.session.board_ptt(p) == Some(true))
        })
    }

    /// Sends the board session's frames and acts on its events.
    fn pump_board(&mut self, now: Instant) -> bool {
        let Some(board) = self.board.as_mut() else {
            return false;
        };
        while let Some(frame) = board.session.poll_transmit(now) {
            self.out.push_back(Output::Board(frame));
        }
        let mut events = Vec::new();
        while let Some(event) = board.session.poll_event() {
            events.push(event);
        }
        let acted = !events.is_empty();
        for event in events {
            let _span = info_span!("board").entered();
            match &event {
                BoardEvent::Up { info } => {
                    info!(?event, "board up");
                    self.check_polarity(info);
                    self.rekey_granted_lines(now);
                }
                BoardEvent::Down { reason } => warn!(%reason, "board down"),
                BoardEvent::WrongVersion { got } => {
                    error!(
                        board_version = got,
                        host_version = borderlink_protocol::link::VERSION,
                        "the board speaks link protocol version {got}, this borderlinkd speaks {}: nothing keyed on it; update the board's firmware (or the daemon) so both speak the same version",
                        borderlink_protocol::link::VERSION
                    )
                }
                BoardEvent::PttRefused { .. } | BoardEvent::PttDropped { .. } => {
                    warn!(?event, "board PTT")
                }
                BoardEvent::Fault {
                    fault: borderlink_protocol::link::Fault::RadioPowerCut { port, cause },
                } => error!(
                    port = port.get(),
                    ?cause,
                    "the board switched off a radio keyed over PEI (it is back on after the board's minimum off time)"
                ),
                BoardEvent::Fault { .. } => warn!(?event, "board fault"),
                other => debug!(event = ?other, "board"),
            }
            self.firmware_board_event(now, &event);
            self.board_radios(now, &event);
            self.power_cut_radios(now, &event);
        }
        self.pump_firmware();
        acted
    }

    /// A PEI radio the board switched off (it says so), or will have switched off (the link
    /// was lost while the radio was guarded: the board cuts it when it stops hearing this host,
    /// or at the next session's `Hello`, and if its MCU reset meanwhile and forgot, this site
    /// asks it once the link is back: see [`SiteCore::guard_pei_radios`]), lost its call and
    /// boots afresh: its session starts over, so the engine sees it down, then up, and asks
    /// again for an over still live.
    fn power_cut_radios(&mut self, now: Instant, event: &BoardEvent) {
        use borderlink_protocol::link::Fault;
        for radio in &mut self.radios {
            let (Some(pei), Some(port)) = (radio.pei.as_mut(), radio.board_port) else {
                continue;
            };
            let cut = match event {
                BoardEvent::Down { .. } => radio.pei_guarded,
                BoardEvent::Fault {
                    fault: Fault::RadioPowerCut { port: p, .. },
                } => *p == port,
                _ => false,
            };
            if cut {
                warn!(radio = %radio.name, "radio switched off by the board: initialising it again once it is back");
                radio.cut_after_link_loss |= matches!(event, BoardEvent::Down { .. });
                radio.pei_guarded = false;
                pei.power_lost(now);
            }
        }
    }

    /// Tells the board which radios may be on the air because they were keyed over PEI: from
    /// the moment a key request is under way until the radio has confirmed its cease (or, if
    /// it went away meanwhile, until it is back and idle). The board switches such a radio off
    /// if this daemon falls silent (killed, hung) or at its TX cap: the PTT line it drops on its
    /// own does not unkey a radio keyed with `AT+CTXD`. Only changes are sent: after a lost link
    /// the new session's `Hello` has switched off whatever the board still guarded, and the
    /// radios guarded when the link was lost are switched off and on once more on request, for
    /// a board that reset meanwhile has forgotten them (its PTT lines fell with the reset, which
    /// does not unkey them).
    fn guard_pei_radios(&mut self, now: Instant) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        for radio in &mut self.radios {
            let (Some(pei), Some(port)) = (radio.pei.as_ref(), radio.board_port) else {
                continue;
            };
            if radio.cut_after_link_loss
                && board
                    .session
                    .power_cycle(now, port, LOST_PEI_OFF_MS)
                    .is_ok()
            {
                warn!(radio = %radio.name, "the board link was lost while the radio may have been on the air: the board switches it off and on");
                radio.cut_after_link_loss = false;
            }
            let state = pei.status().state;
            let ready = state == crate::radio::LinkState::Ready;
            let on_air = pei.cease_pending() || (radio.pei_guarded && !ready);
            if on_air != radio.pei_guarded {
                radio.pei_guarded = on_air;
                board.session.set_pei_keyed(now, port, on_air);
            }
            // Its PEI cable is gone while it may be on the air: no cease can reach it, and a
            // radio keyed with `AT+CTXD` ignores its PTT line, so it would hold the group until
            // the board's TX cap. Its power is the only way left to unkey it.
            let cable_gone = state == crate::radio::LinkState::Disconnected;
            if !cable_gone {
                radio.cut_for_lost_pei = false;
            } else if radio.pei_guarded && !radio.cut_for_lost_pei {
                // With the board link down the board cuts every guarded radio itself (no host,
                // or the next session's `Hello`): nothing to ask until it is back.
                if board
                    .session
                    .power_cycle(now, port, LOST_PEI_OFF_MS)
                    .is_ok()
                {
                    warn!(radio = %radio.name, "PEI cable lost while the radio may be on the air: the board switches it off and on");
                    radio.cut_for_lost_pei = true;
                }
            }
        }
    }

    /// The board session forgets every key when its link is lost; a radio keyed over PEI that
    /// still holds its grant when the link returns gets its PTT line back (the line follows the
    /// grant). Radios without PEI are asked for again by the engine, for an over still live.
    fn rekey_granted_lines(&mut self, now: Instant) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        for radio in &self.radios {
            if let (Some(_), Some(port), Some(_)) =
                (radio.pei.as_ref(), radio.board_port, radio.keyed_since)
                && !board.mismatched.contains(port)
            {
                board.session.set_ptt(now, port, true);
            }
        }
    }

    /// Compares the polarity of every configured port with what the board reports; a port that
    /// differs is never keyed (the board's wiring is what holds the line released at power-up,
    /// so the board is right about its lines, and the config about the radio's).
    fn check_polarity(&mut self, info: &borderlink_protocol::link::BoardInfo) {
        use crate::config::Polarity as P;
        let Some(board) = self.board.as_mut() else {
            return;
        };
        let mut mismatched = borderlink_protocol::link::PortMask::EMPTY;
        for p in self.config.board.iter().flat_map(|b| b.ports.iter()) {
            let ptt_low = info.ptt_active_low.contains(p.port);
            let cor_low = info.cor_active_low.contains(p.port);
            let side = |low: bool| if low { "active-low" } else { "active-high" };
            if (p.ptt == P::ActiveLow) != ptt_low || (p.cor == P::ActiveLow) != cor_low {
                error!(
                    port = p.port.get(),
                    board_ptt = side(ptt_low),
                    config_ptt = side(p.ptt == P::ActiveLow),
                    board_cor = side(cor_low),
                    config_cor = side(p.cor == P::ActiveLow),
                    "[[board.ports]] polarity differs from the board's: this port is not keyed until they agree"
                );
                mismatched = mismatched.with(p.port);
            }
        }
        board.mismatched = mismatched;
    }

    /// What a board event means for the radios without PEI, which the board alone drives:
    /// the link is their availability, PTT acknowledgements their grants, COR their calls.
    fn board_radios(&mut self, now: Instant, event: &BoardEvent) {
        let key_up = self.key_up();
        let port = match event {
            BoardEvent::PttConfirmed { port, .. }
            | BoardEvent::PttRefused { port, .. }
            | BoardEvent::PttDropped { port }
            | BoardEvent::Cor { port, .. } => Some(*port),
            _ => None,
        };
        for radio in self.radios.iter_mut().filter(|r| r.pei.is_none()) {
            if port.is_some() && port != radio.board_port {
                continue;
            }
            let id = radio.id;
            match event {
                BoardEvent::Up { .. } => self.engine.handle_radio(now, id, RadioEvent::Up),
                BoardEvent::Down { .. } => {
                    radio.receiving = None;
                    radio.line_grant_at = None;
                    radio.ptt_ended(now);
                    self.engine.handle_radio(now, id, RadioEvent::Down);
                }
                BoardEvent::PttConfirmed { on: true, .. } => {
                    let fresh = radio.keyed_since.is_none();
                    if fresh {
                        radio.keyed_since = Some(now);
                        radio.transmissions += 1;
                    }
                    // Nothing reports the network's grant to a radio keyed by its line: it is
                    // taken as given after the port's grant delay, and the audio waits for it.
                    if fresh && radio.grant_delay > borderlink_protocol::time::Duration::ZERO {
                        radio.line_grant_at = Some(now + radio.grant_delay);
                    } else if radio.line_grant_at.is_none() {
                        self.engine.handle_radio(now, id, RadioEvent::TxGranted);
                    }
                }
                BoardEvent::PttConfirmed { on: false, .. } => {
                    radio.line_grant_at = None;
                    radio.ptt_ended(now);
                }
                BoardEvent::PttRefused { on: true, .. } => {
                    radio.line_grant_at = None;
                    self.engine.handle_radio(now, id, RadioEvent::TxRefused)
                }
                BoardEvent::PttDropped { .. } => {
                    radio.line_grant_at = None;
                    radio.ptt_ended(now);
                    self.engine.handle_radio(now, id, RadioEvent::TxLost);
                }
                BoardEvent::Cor { active: true, .. } => {
                    info!(radio = %radio.name, "COR active: receiving a call");
                    // COR carries no talker: the line coming back within the tail is the same
                    // call going on.
                    match radio.receiving.as_mut() {
                        Some(rx) => rx.closing = None,
                        None => {
                            radio.receiving =
                                Some(Receiving::new(None, COR_PRIORITY, false, key_up))
                        }
                    }
                }
                BoardEvent::Cor { active: false, .. } => capture::end(&mut radio.receiving, now),
                _ => {}
            }
        }
    }

    /// Writes every radio session's pending commands and discards their events (shutdown).
    fn flush_radios(&mut self, now: Instant) {
        // A cease confirmed during shutdown disarms the board's guard, so a clean stop does not
        // cost the radio its power.
        self.guard_pei_radios(now);
        self.pump_board(now);
        for index in 0..self.radios.len() {
            self.flush_pei(index);
            if let Some(pei) = self.radios[index].pei.as_mut() {
                while pei.poll_event().is_some() {}
            }
        }
    }

    /// Hands every command radio `index`'s session has queued to the shell.
    fn flush_pei(&mut self, index: usize) {
        let Some(pei) = self.radios[index].pei.as_mut() else {
            return;
        };
        while let Some(t) = pei.poll_transmit() {
            self.out.push_back(Output::Pei {
                radio: index,
                bytes: t.bytes().to_vec(),
            });
        }
    }

    /// Queues a packet the engine has for a peer; packets for consoles are counted as unsent
    /// (consoles are not connected yet), as are packets for peers when the site has no links.
    fn transmit(&mut self, packet: Transmit) {
        match packet.to {
            // Only a site with `[[peers]]` has peer links to send on.
            EndpointId::Peer(_) if !self.config.peers.is_empty() => {
                self.out.push_back(Output::Peer(packet))
            }
            _ => self.ip_unsent += 1,
        }
    }

    /// Publishes the dynamic patches for saving; the generation that holds them, `None` if
    /// the site keeps no state file.
    fn save_patches(&mut self, now: Instant) -> Option<u64> {
        let generation = self.saves.as_mut()?;
        *generation += 1;
        let generation = *generation;
        self.out.push_back(Output::Persist {
            generation,
            patches: self.engine.dynamic_patches(now),
        });
        Some(generation)
    }
}

/// A radio's PEI session, with the site's timers: the grant wait at least the engine's bound,
/// and the engine's continuous air-time cap kept by the session too (a backstop for a radio
/// keyed over PEI, whatever keyed it).
fn radio_session(config: &Config, radio: &crate::config::Radio) -> Result<RadioSession, SiteError> {
    let mut session_config = RadioSessionConfig::new(radio.identity, radio.group);
    session_config.profile = radio.pei.clone();
    session_config.grant_wait = config
        .timers
        .grant_wait_bound
        .max(session_config.grant_wait);
    session_config.air_time = crate::engine::radio_tx::AirTimeLimit {
        max_continuous: config.timers.max_continuous,
        forced_gap: config.timers.forced_gap,
    };
    RadioSession::new(session_config).map_err(|e| SiteError::Radio {
        name: radio.name.clone(),
        message: e.to_string(),
    })
}

/// Creates a static patch. The config file wins over a restored dynamic patch that holds one
/// of its groups: that patch is removed, loudly, since a dispatcher made it.
fn create_static_patch(
    engine: &mut Engine,
    now: Instant,
    index: usize,
    spec: crate::engine::patch::PatchSpec,
) -> Result<(), SiteError> {
    use crate::engine::patch::{PatchError, PatchKind};
    let name = spec.name.clone();
    loop {
        match engine.create_patch(now, spec.clone()) {
            Ok(_) => return Ok(()),
            Err(EngineError::Patch(PatchError::ChannelInUse { other, channel, .. }))
                if engine
                    .patches()
                    .get(other)
                    .is_some_and(|p| p.spec().kind != PatchKind::Static) =>
            {
                let removed =
                    engine
                        .remove_patch(now, other)
                        .map_err(|source| SiteError::Patch {
                            index,
                            name: name.clone(),
                            source,
                        })?;
                warn!(
                    patch = other.0, dynamic = %removed.name, %channel, static_patch = %name,
                    "a restored dynamic patch held a group of a static patch: removed (the config file wins)"
                );
            }
            Err(source) => {
                return Err(SiteError::Patch {
                    index,
                    name,
                    source,
                });
            }
        }
    }
}
