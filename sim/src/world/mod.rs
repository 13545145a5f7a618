//! The simulated world around the gateways: both trunked networks with their terminals, the
//! field units, the interface boards, the scenario's timed events, the voice meter and the
//! timeline. Everything except the gateways themselves and the IP network between them.
//!
//! The world is sans-IO, so the same world runs in both modes. The runner connects each
//! gateway radio's PEI, audio and each site's board link to a gateway:
//! - [`fast`](crate::fast): to the daemon's own state machines in process, in virtual time;
//! - [`realtime`](crate::realtime): to real `borderlinkd` processes, over pseudo-terminals
//!   and UDP.
//!
//! # Driving it
//! Feed what a gateway writes with [`World::from_gateway_pei`],
//! [`World::from_gateway_audio`] and [`World::from_gateway_board`]; run
//! [`World::handle_timeout`] when [`World::poll_timeout`] is due; after each call, carry out
//! every [`World::poll_output`] (bytes and audio for the gateways, and [`Control`]s that only
//! the runner can do: dispatch patches, link partitions, killing and restarting a gateway).
//! [`World::finish`] ends the run with its [`Report`].

mod events;
mod finish;
pub mod timeline;

use std::collections::{BTreeMap, VecDeque};

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::link::PORTS;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::FRAME_LEN;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::board::{BoardConfig, BoardEmulator};
use crate::field::route::Route;
use crate::field::unit::FieldUnit;
use crate::radio::RadioEmulator;
use crate::report::Report;
use crate::scenario::{PatchDef, Scenario};
use crate::swmi::{Swmi, TerminalId};
use crate::voice::meter::Meter;
use timeline::Timeline;

/// Something only the runner can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Dispatch creates a patch at every site.
    CreatePatch(PatchDef),
    /// Dispatch removes a patch.
    RemovePatch(String),
    /// Cut the IP path between two sites, both ways, until `until`.
    Partition {
        /// One site id.
        a: u16,
        /// The other.
        b: u16,
        /// When the path works again.
        until: Instant,
    },
    /// Kill a site's gateway outright (`kill -9`): it stops at once, releasing nothing.
    Kill {
        /// The site's index in the scenario.
        site: usize,
    },
    /// Start a killed site's gateway again.
    Restart {
        /// The site's index.
        site: usize,
    },
}

/// What the world has for the gateways or the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldOutput {
    /// PEI bytes from a gateway radio, for its gateway.
    Pei {
        /// Site index.
        site: usize,
        /// Radio index at the site.
        radio: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// 20 ms of audio a gateway radio received, for its gateway to capture.
    Audio {
        /// Site index.
        site: usize,
        /// Radio index at the site.
        radio: usize,
        /// A-law frame.
        frame: [u8; FRAME_LEN],
    },
    /// Link bytes from a site's board, for its gateway.
    Board {
        /// Site index.
        site: usize,
        /// One wire frame.
        bytes: Vec<u8>,
    },
    /// Something for the runner.
    Control(Control),
}

/// A gateway radio: where it is and what it did.
#[derive(Debug, Clone)]
struct Output {
    site: usize,
    radio: usize,
    /// `site name/radio name`.
    name: String,
    network: Network,
    group: Tsi,
    terminal: TerminalId,
    /// Transmitting since (granted by the SwMI).
    tx_since: Option<Instant>,
    tx_count: u32,
    tx_longest: Duration,
    /// Frames the gateway played while the radio was not transmitting.
    off_air: u64,
    /// When the network last took the channel from the radio (pre-emption, its timer). A
    /// frame the gateway hands over at that very instant was in flight when the channel went:
    /// lost on the air, but sent before the gateway could know, so not counted as off the air.
    cut_at: Option<Instant>,
}

/// A site's hardware: its board.
#[derive(Debug)]
struct SiteHw {
    id: u16,
    name: String,
    board: Option<BoardEmulator>,
    line_since: [Option<Instant>; PORTS],
    line_count: [u32; PORTS],
    line_longest: [Duration; PORTS],
    /// The gateway is running (not killed).
    alive: bool,
}

/// A key-up of a field unit.
#[derive(Debug, Clone)]
struct Tx {
    unit: usize,
    network: Network,
    group: Tsi,
    level: u8,
    emergency: bool,
    pressed: Instant,
    release: Instant,
    granted: Option<Instant>,
    outcome: String,
    /// The groups of other networks its patch joins, when it was pressed.
    expected: Vec<Tsi>,
}

/// A partition and the radios that were transmitting when it began.
#[derive(Debug, Clone)]
struct Cut {
    a: u16,
    b: u16,
    at: Instant,
    /// Output index and when its transmission ended.
    keyed: Vec<(usize, Option<Instant>)>,
}

/// A kill and what the board did about it.
#[derive(Debug, Clone)]
struct Kill {
    site: usize,
    at: Instant,
    keyed: Vec<usize>,
    released: Option<Instant>,
    /// The host's last bytes to the board before the release.
    silent_since: Option<Instant>,
    restarted: Option<Instant>,
    /// The site's gateway radios the SwMI had on the air at the kill (output indices).
    on_air: Vec<usize>,
    /// When the SwMI last saw one of them transmit: the end of their transmissions.
    air_released: Option<Instant>,
}

/// The world; see the [module documentation](self).
#[derive(Debug)]
pub struct World {
    scenario: Scenario,
    seed: u64,
    swmi: Swmi,
    rng: SmallRng,
    sites: Vec<SiteHw>,
    outputs: Vec<Output>,
    by_terminal: BTreeMap<TerminalId, usize>,
    units: Vec<FieldUnit>,
    unit_by_terminal: BTreeMap<TerminalId, usize>,
    next_event: usize,
    restarts: Vec<(Instant, usize)>,
    partitions_end: Vec<(Instant, u16, u16)>,
    /// Each partition, with the gateway radios transmitting when it began.
    cuts: Vec<Cut>,
    meter: Meter,
    txs: BTreeMap<u32, Tx>,
    next_tx: u32,
    patches: BTreeMap<String, PatchDef>,
    kills: Vec<Kill>,
    out: VecDeque<WorldOutput>,
    timeline: Timeline,
    end: Instant,
    scratch: Vec<crate::field::unit::UnitAction>,
    /// Print every PEI line and SwMI decision to stderr (`BORDERLINK_SIM_TRACE=1`).
    trace: bool,
}

/// Seeds derived from the run's seed, one per random source, so adding draws to one source
/// never shifts another.
pub(crate) fn derive_seed(seed: u64, stream: u64) -> u64 {
    // SplitMix64 finaliser over the pair.
    let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl World {
    /// The world of a scenario at the start of its run, with every random draw from `seed`.
    /// `live` prints the timeline as it happens.
    pub fn new(scenario: &Scenario, seed: u64, live: bool) -> World {
        let mut swmi = Swmi::new(scenario.astrid, scenario.c2000, derive_seed(seed, 1));
        let mut sites = Vec::new();
        let mut outputs = Vec::new();
        let mut by_terminal = BTreeMap::new();
        for (si, site) in scenario.sites.iter().enumerate() {
            for (ri, radio) in site.radios.iter().enumerate() {
                let name = format!("{}/{}", site.name, radio.name);
                let mut emulator = RadioEmulator::with_dialect(radio.issi, radio.dialect);
                if !radio.pei {
                    emulator.preselect_group(radio.group);
                }
                let terminal = swmi.add_gateway_radio(&name, radio.network, emulator);
                by_terminal.insert(terminal, outputs.len());
                outputs.push(Output {
                    site: si,
                    radio: ri,
                    name,
                    network: radio.network,
                    group: radio.group,
                    terminal,
                    tx_since: None,
                    tx_count: 0,
                    tx_longest: Duration::ZERO,
                    off_air: 0,
                    cut_at: None,
                });
            }
            sites.push(SiteHw {
                id: site.id,
                name: site.name.clone(),
                board: site
                    .board
                    .then(|| BoardEmulator::new(BoardConfig::default(), Instant::ZERO)),
                line_since: [None; PORTS],
                line_count: [0; PORTS],
                line_longest: [Duration::ZERO; PORTS],
                alive: true,
            });
        }
        let mut units = Vec::new();
        let mut unit_by_terminal = BTreeMap::new();
        for (i, u) in scenario.units.iter().enumerate() {
            let terminal = swmi.add_field_unit(&u.name, u.issi, u.network, u.group);
            unit_by_terminal.insert(terminal, i);
            let mut unit =
                FieldUnit::new(&u.name, i as u16 + 1, terminal, u.issi, u.network, u.group);
            if let Some(r) = &u.route
                && let Some(route) =
                    Route::new(r.waypoints.clone(), Instant::ZERO + r.start, r.speed_kmh)
            {
                unit = unit.with_route(route, r.lip_interval);
            }
            units.push(unit);
        }
        let patches = scenario
            .patches
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect();
        World {
            seed,
            swmi,
            rng: SmallRng::seed_from_u64(derive_seed(seed, 2)),
            sites,
            outputs,
            by_terminal,
            units,
            unit_by_terminal,
            next_event: 0,
            restarts: Vec::new(),
            partitions_end: Vec::new(),
            cuts: Vec::new(),
            meter: Meter::new(),
            txs: BTreeMap::new(),
            next_tx: 1,
            patches,
            kills: Vec::new(),
            out: VecDeque::new(),
            timeline: Timeline::new(live),
            end: Instant::ZERO + scenario.duration,
            scratch: Vec::new(),
            trace: std::env::var_os("BORDERLINK_SIM_TRACE").is_some_and(|v| v != "0"),
            scenario: scenario.clone(),
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// When the run ends.
    pub fn end(&self) -> Instant {
        self.end
    }

    /// The SwMI (for inspection).
    pub fn swmi(&self) -> &Swmi {
        &self.swmi
    }

    /// Whether a site's board holds a PTT line keyed now.
    pub fn board_keyed(&self, site: usize, port: usize) -> bool {
        self.sites
            .get(site)
            .and_then(|s| s.board.as_ref())
            .is_some_and(|b| b.keyed(port))
    }

    /// Whether the SwMI has a site's gateway radio transmitting now (granted, not ceased).
    pub fn radio_on_air(&self, site: usize, radio: usize) -> bool {
        self.outputs
            .iter()
            .any(|o| o.site == site && o.radio == radio && o.tx_since.is_some())
    }

    /// Whether any field unit is talking now (holds the floor on its network).
    pub fn units_talking(&self) -> bool {
        self.units.iter().any(|u| self.swmi.is_talking(u.terminal))
    }

    /// Adds a line to the timeline (what the runner did).
    pub fn note(&mut self, now: Instant, text: impl Into<String>) {
        self.timeline.push(now, text);
    }

    /// The runner could not carry out a patch: it is no longer expected to relay anything.
    pub fn patch_not_applied(&mut self, now: Instant, name: &str, why: &str) {
        self.patches.remove(name);
        self.timeline
            .push(now, format!("dispatch: patch `{name}` not applied: {why}"));
    }

    // ---- from the gateways ---------------------------------------------------------------

    /// PEI bytes a gateway wrote to one of its radios.
    pub fn from_gateway_pei(&mut self, now: Instant, site: usize, radio: usize, bytes: &[u8]) {
        if let Some(o) = self.output_index(site, radio) {
            let terminal = self.outputs[o].terminal;
            if self.trace {
                eprintln!(
                    "{:>10} {} <- {:?}",
                    now.as_micros(),
                    self.outputs[o].name,
                    String::from_utf8_lossy(bytes)
                );
            }
            self.swmi.radio_bytes(now, terminal, bytes);
        }
        self.settle(now);
    }

    /// 20 ms of audio a gateway played into one of its radios: on air if the radio is
    /// transmitting.
    pub fn from_gateway_audio(
        &mut self,
        now: Instant,
        site: usize,
        radio: usize,
        frame: &[u8; FRAME_LEN],
    ) {
        let Some(o) = self.output_index(site, radio) else {
            return;
        };
        let terminal = self.outputs[o].terminal;
        if self.swmi.speak(now, terminal, frame) {
            let air = self.swmi.network_config(self.outputs[o].network).air_delay;
            self.meter.on_air(o as u32, now + air, frame);
        } else if self.outputs[o].cut_at != Some(now) {
            self.outputs[o].off_air += 1;
        }
        self.settle(now);
    }

    /// Link bytes a gateway wrote to its site's board.
    pub fn from_gateway_board(&mut self, now: Instant, site: usize, bytes: &[u8]) {
        if let Some(board) = self.sites.get_mut(site).and_then(|s| s.board.as_mut()) {
            board.handle_bytes(now, bytes);
        }
        self.settle(now);
    }

    /// Resets site `site`'s board MCU (its hardware watchdog fired): its PTT lines fall, its
    /// firmware boots again and greets the gateway, which must take the board up again.
    pub fn reset_board(&mut self, now: Instant, site: usize) {
        let Some(board) = self.sites.get_mut(site).and_then(|s| s.board.as_mut()) else {
            return;
        };
        board.reset(now, borderlink_protocol::link::ResetCause::Watchdog);
        self.note(now, format!("site {site}: board reset by its watchdog"));
        self.settle(now);
    }

    /// Straps site `site`'s board port `port` to key its radio at `polarity` (an installer's
    /// jumper): the board reports it from its next boot ([`World::reset_board`]).
    pub fn strap_board_ptt(
        &mut self,
        site: usize,
        port: usize,
        polarity: borderlink_firmware::polarity::Polarity,
    ) {
        if let Some(board) = self.sites.get_mut(site).and_then(|s| s.board.as_mut()) {
            board.strap_ptt(port, polarity);
        }
    }

    /// A gateway's radio port was closed (the daemon died) or opened again: for the timeline.
    pub fn gateway_state(&mut self, _now: Instant, site: usize, alive: bool) {
        if let Some(s) = self.sites.get_mut(site) {
            s.alive = alive;
        }
    }

    // ---- time ------------------------------------------------------------------------------

    /// When [`World::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let event = self
            .scenario
            .events
            .get(self.next_event)
            .map(|e| Instant::ZERO + e.at);
        let restarts = self.restarts.iter().map(|(t, _)| *t).min();
        let partitions = self.partitions_end.iter().map(|(t, _, _)| *t).min();
        let units = self.units.iter().filter_map(FieldUnit::poll_timeout).min();
        let boards = self
            .sites
            .iter()
            .filter_map(|s| s.board.as_ref().map(BoardEmulator::poll_timeout))
            .min();
        [
            event,
            restarts,
            partitions,
            units,
            boards,
            self.swmi.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(e) = self.scenario.events.get(self.next_event) {
            if Instant::ZERO + e.at > now {
                break;
            }
            let action = e.action.clone();
            self.next_event += 1;
            self.scenario_event(now, action);
        }
        self.due_restarts(now);
        self.swmi.handle_timeout(now);
        for i in 0..self.units.len() {
            if self.units[i].poll_timeout().is_some_and(|t| t <= now) {
                let mut actions = std::mem::take(&mut self.scratch);
                actions.clear();
                self.units[i].handle_timeout(now, &mut actions);
                for action in actions.drain(..) {
                    self.unit_action(now, i, action);
                }
                self.scratch = actions;
            }
        }
        for site in &mut self.sites {
            if let Some(board) = site.board.as_mut()
                && board.poll_timeout() <= now
            {
                board.handle_timeout(now);
            }
        }
        self.settle(now);
    }

    /// The next thing for the gateways or the runner.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<WorldOutput> {
        self.out.pop_front()
    }

    // ---- inside ------------------------------------------------------------------------------

    fn output_index(&self, site: usize, radio: usize) -> Option<usize> {
        self.outputs
            .iter()
            .position(|o| o.site == site && o.radio == radio)
    }

    /// Moves everything the parts have for each other until nothing is left.
    fn settle(&mut self, now: Instant) {
        for _ in 0..1_000 {
            let mut moved = false;
            while let Some(event) = self.swmi.poll_event() {
                moved = true;
                if self.trace {
                    eprintln!("{:>10} swmi {event:?}", now.as_micros());
                }
                self.swmi_event(now, event);
            }
            while let Some(heard) = self.swmi.poll_audio(now) {
                moved = true;
                if let Some(&o) = self.by_terminal.get(&heard.to) {
                    let (site, radio) = (self.outputs[o].site, self.outputs[o].radio);
                    self.out.push_back(WorldOutput::Audio {
                        site,
                        radio,
                        frame: heard.frame,
                    });
                }
            }
            for o in 0..self.outputs.len() {
                let terminal = self.outputs[o].terminal;
                if let Some(bytes) = self
                    .swmi
                    .radio_mut(terminal)
                    .and_then(|r| r.poll_transmit())
                {
                    moved = true;
                    if self.trace {
                        eprintln!(
                            "{:>10} {} -> {:?}",
                            now.as_micros(),
                            self.outputs[o].name,
                            String::from_utf8_lossy(&bytes)
                        );
                    }
                    let (site, radio) = (self.outputs[o].site, self.outputs[o].radio);
                    self.out.push_back(WorldOutput::Pei { site, radio, bytes });
                }
            }
            for si in 0..self.sites.len() {
                moved |= self.pump_board(now, si);
            }
            if !moved {
                break;
            }
        }
        self.update_cor();
    }

    /// Sends a board's frames and acts on its PTT changes; whether anything moved.
    fn pump_board(&mut self, now: Instant, si: usize) -> bool {
        let mut moved = false;
        let mut changes = Vec::new();
        if let Some(board) = self.sites[si].board.as_mut() {
            while let Some(bytes) = board.poll_transmit(now) {
                moved = true;
                self.out.push_back(WorldOutput::Board { site: si, bytes });
            }
            while let Some(change) = board.poll_ptt_change() {
                changes.push(change);
            }
        }
        for change in changes {
            moved = true;
            self.ptt_change(change.at, si, change.port, change.keyed);
        }
        let mut power = Vec::new();
        if let Some(board) = self.sites[si].board.as_mut() {
            while let Some(change) = board.poll_power_change() {
                power.push(change);
            }
        }
        for change in power {
            moved = true;
            self.power_change(change.at, si, change.port, change.on);
        }
        moved
    }

    /// A board switched a radio's power relay: the radio is its supply's. Off, it leaves its
    /// call (a transmission ends on the network at once) and is unregistered; on, it boots and
    /// registers afresh, and its gateway initialises it again.
    fn power_change(&mut self, now: Instant, si: usize, port: usize, on: bool) {
        let Some(o) = self.output_index(si, port) else {
            return;
        };
        let terminal = self.outputs[o].terminal;
        let name = self.outputs[o].name.clone();
        self.timeline.push(
            now,
            if on {
                format!("board of {}: {name} switched on again", self.sites[si].name)
            } else {
                format!(
                    "board of {}: {name} switched off by the board (keyed over PEI, its host gone or at the TX cap)",
                    self.sites[si].name
                )
            },
        );
        self.swmi.set_powered(now, terminal, on);
    }

    fn ptt_change(&mut self, now: Instant, si: usize, port: usize, keyed: bool) {
        let radio_name = self
            .output_index(si, port)
            .map_or_else(|| format!("port {port}"), |o| self.outputs[o].name.clone());
        let site = &mut self.sites[si];
        if keyed {
            site.line_since[port] = Some(now);
            site.line_count[port] += 1;
            // A radio without PEI is keyed by this line alone: it asks its network to transmit.
            if let Some(o) = self.output_index(si, port)
                && !self.scenario.sites[si].radios[self.outputs[o].radio].pei
            {
                let terminal = self.outputs[o].terminal;
                if let Some(radio) = self.swmi.radio_mut(terminal) {
                    radio.ptt_line_pressed();
                }
                self.swmi.radio_actions(now, terminal);
            }
            return;
        }
        if let Some(since) = site.line_since[port].take() {
            let held = now.saturating_since(since);
            site.line_longest[port] = site.line_longest[port].max(held);
        }
        if !site.alive {
            self.timeline.push(
                now,
                format!(
                    "board of {}: PTT of {radio_name} released by the board itself (host silent)",
                    site.name
                ),
            );
        }
        // The radio's accessory PTT went: it stops transmitting, whatever its PEI was told.
        if let Some(o) = self.output_index(si, port) {
            let terminal = self.outputs[o].terminal;
            if self
                .swmi
                .radio_mut(terminal)
                .is_some_and(RadioEmulator::ptt_line_released)
            {
                self.swmi.radio_actions(now, terminal);
            }
        }
        for kill in self
            .kills
            .iter_mut()
            .filter(|k| k.site == si && k.released.is_none())
        {
            let sites = &self.sites;
            if kill
                .keyed
                .iter()
                .all(|p| sites[si].line_since[*p].is_none())
            {
                kill.released = Some(now);
                kill.silent_since = sites[si]
                    .board
                    .as_ref()
                    .and_then(BoardEmulator::last_host_bytes);
            }
        }
    }

    /// Drives each board's COR inputs from its radios: active while another party talks.
    fn update_cor(&mut self) {
        for o in &self.outputs {
            let talker = self.swmi.talker(o.group);
            let cor = talker.is_some_and(|t| t != o.terminal);
            if let Some(board) = self.sites[o.site].board.as_mut() {
                board.set_cor(o.radio, cor);
            }
        }
    }

    /// Ends the run at `now` with its report.
    pub fn finish(mut self, now: Instant, mode: &str) -> Report {
        self.settle(now);
        finish::report(&self, now, mode)
    }
}

#[cfg(test)]
mod tests;
