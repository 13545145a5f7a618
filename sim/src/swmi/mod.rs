//! The emulated SwMI (switching and management infrastructure) of ASTRID and C2000: the
//! trunked networks the gateway's radios and the field units are registered on.
//!
//! It keeps what a gateway meets on a real network: talkgroups, registered terminals, group
//! calls with one transmitter at a time, a grant delay between a transmit demand and "clear
//! to talk" (drawn from a seeded range, 150–400 ms by default), queueing, pre-emption by
//! priority, call hang time, releases with their causes, and short data (status messages, LIP)
//! delivered to an individual or to every member of a group.
//!
//! Terminals are of two kinds. **Gateway radios** are [`RadioEmulator`]s: the daemon drives
//! them over PEI, and the SwMI answers through the emulator's `network_*` methods, so the
//! daemon sees exactly the `+CTICN`/`+CTXG`/`+CDTXC`/`+CTCR` lines a real radio would print.
//! **Field units** have no PEI: the simulator calls [`Swmi::demand`], [`Swmi::cease`] and
//! [`Swmi::speak`] for them and learns their fate from [`Swmi::poll_event`].
//!
//! Sans-IO and deterministic: every decision depends only on the inputs, their times and the
//! seed. Drive it with the `handle_*` calls, run [`Swmi::handle_timeout`] when
//! [`Swmi::poll_timeout`] is due, and drain [`Swmi::poll_event`] and [`Swmi::poll_audio`].

mod call;

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use borderlink_protocol::ids::{Network, PeiIdentity, Tsi};
use borderlink_protocol::pei::AiService;
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::FRAME_LEN;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::radio::{RadioAction, RadioEmulator};
use call::{GroupCall, Holder, Waiting};

/// Release causes the SwMI gives (`+CTCR`, EN 300 392-5).
pub mod cause {
    /// Pre-emption: a higher-priority call took the group.
    pub const PRE_EMPTION: u8 = 9;
    /// Timer expiry: the call's hang time ran out.
    pub const TIMER_EXPIRY: u8 = 13;
    /// SwMI disconnect: the network ended the call.
    pub const SWMI_DISCONNECT: u8 = 14;
}

/// A terminal registered on the SwMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TerminalId(pub u32);

/// How one network behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Shortest delay from a transmit demand to its grant.
    pub grant_delay_min: Duration,
    /// Longest delay from a transmit demand to its grant.
    pub grant_delay_max: Duration,
    /// A group call with nobody talking is released after this long.
    pub call_hang: Duration,
    /// The longest single transmission the network allows (`None`: no limit).
    pub max_transmission: Option<Duration>,
    /// From a talker's mouth to the other terminals' ears (codec, air interface, switching).
    pub air_delay: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            grant_delay_min: Duration::from_millis(150),
            grant_delay_max: Duration::from_millis(400),
            call_hang: Duration::from_secs(3),
            max_transmission: None,
            air_delay: Duration::ZERO,
        }
    }
}

/// What the SwMI tells the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwmiEvent {
    /// A group call was set up.
    CallSetUp {
        /// The group.
        group: Tsi,
        /// Who set it up.
        by: TerminalId,
        /// The call's priority (15: emergency).
        level: u8,
    },
    /// A terminal may talk now.
    Granted {
        /// The talker.
        terminal: TerminalId,
        /// The group.
        group: Tsi,
        /// The level it talks with.
        level: u8,
    },
    /// A demand has to wait for the channel.
    Queued {
        /// Who waits.
        terminal: TerminalId,
        /// The group.
        group: Tsi,
    },
    /// A demand was refused (no call, not a member).
    Refused {
        /// Who demanded.
        terminal: TerminalId,
    },
    /// A talker lost the channel to a higher-priority demand or the network's own timer.
    Interrupted {
        /// The talker.
        terminal: TerminalId,
        /// The group.
        group: Tsi,
        /// Who pre-empted it (`None`: the network's transmission timer).
        by: Option<TerminalId>,
    },
    /// A talker stopped.
    Ceased {
        /// The talker.
        terminal: TerminalId,
        /// The group.
        group: Tsi,
        /// How long it held the channel.
        held: Duration,
    },
    /// A group call was released.
    Released {
        /// The group.
        group: Tsi,
        /// The `+CTCR` cause.
        cause: u8,
    },
    /// Short data reached its destination.
    SdsDelivered {
        /// Sender.
        from: TerminalId,
        /// Destination as addressed.
        to: Tsi,
        /// The terminals it reached.
        reached: Vec<TerminalId>,
        /// Status or type-4.
        service: AiService,
        /// User data.
        data: Vec<u8>,
        /// Length in bits.
        bits: u16,
    },
}

/// A terminal's kind and state.
#[derive(Debug)]
enum Kind {
    /// A radio the gateway drives over PEI.
    Gateway(Box<RadioEmulator>),
    /// A field unit: its selected group.
    Field { group: Option<Tsi> },
}

#[derive(Debug)]
struct Terminal {
    name: String,
    identity: Tsi,
    network: Network,
    kind: Kind,
    /// Switched off or cable pulled: a gateway radio that is off hears nothing.
    registered: bool,
}

/// A frame on its way through the air.
#[derive(Debug, PartialEq, Eq)]
struct InFlight {
    at: Instant,
    order: u64,
    to: TerminalId,
    from: TerminalId,
    frame: [u8; FRAME_LEN],
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: the earliest, then the first sent, comes out first.
        other
            .at
            .cmp(&self.at)
            .then_with(|| other.order.cmp(&self.order))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A frame a terminal hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The listener.
    pub to: TerminalId,
    /// The talker.
    pub from: TerminalId,
    /// The audio.
    pub frame: [u8; FRAME_LEN],
}

/// The emulated SwMI of both networks; see the [module documentation](self).
#[derive(Debug)]
pub struct Swmi {
    networks: [NetworkConfig; 2],
    rng: SmallRng,
    terminals: Vec<Terminal>,
    calls: BTreeMap<Tsi, GroupCall>,
    events: VecDeque<SwmiEvent>,
    air: BinaryHeap<InFlight>,
    air_order: u64,
}

fn net_index(network: Network) -> usize {
    match network {
        Network::Astrid => 0,
        Network::C2000 => 1,
    }
}

impl Swmi {
    /// A SwMI for ASTRID and C2000 with these settings; every random draw comes from `seed`.
    pub fn new(astrid: NetworkConfig, c2000: NetworkConfig, seed: u64) -> Self {
        Swmi {
            networks: [astrid, c2000],
            rng: SmallRng::seed_from_u64(seed),
            terminals: Vec::new(),
            calls: BTreeMap::new(),
            events: VecDeque::new(),
            air: BinaryHeap::new(),
            air_order: 0,
        }
    }

    /// The settings of a network.
    pub fn network_config(&self, network: Network) -> &NetworkConfig {
        &self.networks[net_index(network)]
    }

    /// Registers a gateway radio (its PEI emulator) on `network`.
    pub fn add_gateway_radio(
        &mut self,
        name: &str,
        network: Network,
        radio: RadioEmulator,
    ) -> TerminalId {
        let id = TerminalId(self.terminals.len() as u32);
        self.terminals.push(Terminal {
            name: name.to_string(),
            identity: radio.identity(),
            network,
            kind: Kind::Gateway(Box::new(radio)),
            registered: true,
        });
        id
    }

    /// Registers a field unit on `network` with `group` selected.
    pub fn add_field_unit(
        &mut self,
        name: &str,
        identity: Tsi,
        network: Network,
        group: Tsi,
    ) -> TerminalId {
        let id = TerminalId(self.terminals.len() as u32);
        self.terminals.push(Terminal {
            name: name.to_string(),
            identity,
            network,
            kind: Kind::Field { group: Some(group) },
            registered: true,
        });
        id
    }

    /// A terminal's name.
    pub fn name(&self, id: TerminalId) -> &str {
        self.terminals
            .get(id.0 as usize)
            .map_or("?", |t| t.name.as_str())
    }

    /// A terminal's identity.
    pub fn identity(&self, id: TerminalId) -> Option<Tsi> {
        self.terminals.get(id.0 as usize).map(|t| t.identity)
    }

    /// The network a terminal is registered on.
    pub fn network(&self, id: TerminalId) -> Option<Network> {
        self.terminals.get(id.0 as usize).map(|t| t.network)
    }

    /// The group a terminal has selected.
    pub fn group_of(&self, id: TerminalId) -> Option<Tsi> {
        let t = self.terminals.get(id.0 as usize)?;
        match &t.kind {
            Kind::Gateway(radio) => radio.selected_group(),
            Kind::Field { group } => *group,
        }
    }

    /// The PEI emulator of a gateway radio.
    pub fn radio_mut(&mut self, id: TerminalId) -> Option<&mut RadioEmulator> {
        match &mut self.terminals.get_mut(id.0 as usize)?.kind {
            Kind::Gateway(radio) => Some(radio),
            Kind::Field { .. } => None,
        }
    }

    /// The PEI emulator of a gateway radio.
    pub fn radio(&self, id: TerminalId) -> Option<&RadioEmulator> {
        match &self.terminals.get(id.0 as usize)?.kind {
            Kind::Gateway(radio) => Some(radio),
            Kind::Field { .. } => None,
        }
    }

    /// The terminal talking on `group` now.
    pub fn talker(&self, group: Tsi) -> Option<TerminalId> {
        self.calls
            .get(&group)
            .and_then(|c| c.talker.map(|t| t.terminal))
    }

    /// Whether `terminal` holds the channel of its group now.
    pub fn is_talking(&self, terminal: TerminalId) -> bool {
        self.group_of(terminal)
            .and_then(|g| self.talker(g))
            .is_some_and(|t| t == terminal)
    }

    // ---- gateway radios ------------------------------------------------------------------

    /// Bytes from the gateway to one of its radios: the emulator answers, and what it asks of
    /// the network is carried out.
    pub fn radio_bytes(&mut self, now: Instant, id: TerminalId, bytes: &[u8]) {
        let Some(radio) = self.radio_mut(id) else {
            return;
        };
        radio.handle_bytes(bytes);
        self.radio_actions(now, id);
    }

    /// Carries out what a gateway radio asked of the network.
    pub fn radio_actions(&mut self, now: Instant, id: TerminalId) {
        while let Some(action) = self.radio_mut(id).and_then(RadioEmulator::poll_action) {
            match action {
                RadioAction::SetupGroupCall { cc, group, level } => {
                    self.setup(now, id, group, level, cc)
                }
                RadioAction::DemandTransmit {
                    level, preemptive, ..
                } => self.demand(now, id, level, preemptive),
                RadioAction::CeaseTransmit { .. } => self.cease(now, id),
                RadioAction::HangUp { .. } => self.leave(now, id),
                RadioAction::SendSds { to, bits, data } => {
                    let to = match to {
                        PeiIdentity::Tsi(t) => Some(t),
                        other => self
                            .identity(id)
                            .map(|own| other.resolve(own.mcc(), own.mnc())),
                    };
                    if let Some(to) = to {
                        let service = if bits == 16 {
                            AiService::Status
                        } else {
                            AiService::SdsType4
                        };
                        self.send_sds(id, to, service, &data, bits);
                    }
                }
            }
        }
    }

    /// Switches a gateway radio off (it leaves every call and hears nothing) or on.
    pub fn set_powered(&mut self, now: Instant, id: TerminalId, on: bool) {
        if !on {
            self.leave(now, id);
        }
        if let Some(t) = self.terminals.get_mut(id.0 as usize) {
            t.registered = on;
            if let Kind::Gateway(radio) = &mut t.kind {
                radio.set_powered(on);
            }
        }
    }

    // ---- field units ---------------------------------------------------------------------

    /// A field unit moves to another network or group (semi-roaming across the border).
    pub fn register(&mut self, now: Instant, id: TerminalId, network: Network, group: Tsi) {
        if self.group_of(id) == Some(group) && self.network(id) == Some(network) {
            return;
        }
        self.leave(now, id);
        if let Some(t) = self.terminals.get_mut(id.0 as usize) {
            t.network = network;
            if let Kind::Field { group: g } = &mut t.kind {
                *g = Some(group);
            }
        }
    }

    /// A terminal demands transmit on its group with a level (0–15, 15 emergency); a
    /// pre-emptive demand may interrupt a lower-level talker. A field unit's demand sets the
    /// call up if there is none.
    pub fn demand(&mut self, now: Instant, id: TerminalId, level: u8, preemptive: bool) {
        let group = self.group_of(id);
        let Some(group) = group.filter(|g| self.is_field(id) || self.calls.contains_key(g)) else {
            if let Some(radio) = self.radio_mut(id)
                && let Some(cc) = radio.call_instance()
            {
                radio.network_refuse(cc);
            }
            self.events.push_back(SwmiEvent::Refused { terminal: id });
            return;
        };
        if !self.calls.contains_key(&group) {
            self.setup(now, id, group, level, 0);
        }
        let caller = self
            .calls
            .get(&group)
            .and_then(|c| c.holder())
            .map_or(id, |h| h.terminal);
        self.join(id, group, caller);
        let delay = self.grant_delay(group);
        let Some(call) = self.calls.get_mut(&group) else {
            return;
        };
        call.release_at = None;
        match call.holder() {
            Some(h) if h.terminal == id => {}
            None => {
                call.pending = Some(Holder {
                    terminal: id,
                    level,
                    at: now + delay,
                });
            }
            Some(h) if preemptive && level > h.level => {
                if call.talker.is_some() {
                    call.talker = None;
                    self.interrupt(now, group, h.terminal, Some(id));
                } else {
                    // A grant not yet given is put back in the queue.
                    call.queue.push(Waiting {
                        terminal: h.terminal,
                        level: h.level,
                        since: now,
                    });
                }
                if let Some(call) = self.calls.get_mut(&group) {
                    call.unqueue(id);
                    call.pending = Some(Holder {
                        terminal: id,
                        level,
                        at: now + delay,
                    });
                }
            }
            Some(_) => {
                if !call.queue.iter().any(|w| w.terminal == id) {
                    call.queue.push(Waiting {
                        terminal: id,
                        level,
                        since: now,
                    });
                }
                let cc = call.members.get(&id).copied();
                if let (Some(cc), Some(radio)) = (cc, self.radio_mut(id)) {
                    radio.network_queue(cc);
                }
                self.events.push_back(SwmiEvent::Queued {
                    terminal: id,
                    group,
                });
            }
        }
    }

    /// A terminal stops talking (or withdraws its demand).
    pub fn cease(&mut self, now: Instant, id: TerminalId) {
        let Some(group) = self.group_of(id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&group) else {
            return;
        };
        if call.unqueue(id) {
            return;
        }
        if call.pending.is_some_and(|p| p.terminal == id) {
            call.pending = None;
            self.next_over(now, group);
            return;
        }
        let Some(talker) = call.talker.filter(|t| t.terminal == id) else {
            return;
        };
        call.talker = None;
        let listeners: Vec<(TerminalId, u16)> = call
            .members
            .iter()
            .filter(|(t, _)| **t != id)
            .map(|(t, cc)| (*t, *cc))
            .collect();
        for (t, cc) in listeners {
            if let Some(radio) = self.radio_mut(t) {
                radio.network_talker_stopped(cc);
            }
        }
        self.events.push_back(SwmiEvent::Ceased {
            terminal: id,
            group,
            held: now.saturating_since(talker.at),
        });
        self.next_over(now, group);
    }

    /// A talker's 20 ms of audio: every other member of its call hears it after the air delay.
    /// Audio from a terminal that does not hold the channel goes nowhere; returns whether it
    /// went on air.
    pub fn speak(&mut self, now: Instant, id: TerminalId, frame: &[u8; FRAME_LEN]) -> bool {
        let Some(group) = self.group_of(id) else {
            return false;
        };
        let Some(call) = self.calls.get(&group) else {
            return false;
        };
        if call.talker.is_none_or(|t| t.terminal != id) {
            return false;
        }
        let at = now + self.networks[net_index(call.network)].air_delay;
        let listeners: Vec<TerminalId> =
            call.members.keys().copied().filter(|t| *t != id).collect();
        for to in listeners {
            self.air_order += 1;
            self.air.push(InFlight {
                at,
                order: self.air_order,
                to,
                from: id,
                frame: *frame,
            });
        }
        true
    }

    /// The next frame heard by a terminal at or before `now`.
    #[must_use]
    pub fn poll_audio(&mut self, now: Instant) -> Option<Heard> {
        if self.air.peek().is_some_and(|f| f.at <= now) {
            let f = self.air.pop()?;
            return Some(Heard {
                to: f.to,
                from: f.from,
                frame: f.frame,
            });
        }
        None
    }

    /// Short data from a terminal to an individual or a group.
    pub fn send_sds(
        &mut self,
        from: TerminalId,
        to: Tsi,
        service: AiService,
        data: &[u8],
        bits: u16,
    ) {
        let Some(sender) = self.identity(from) else {
            return;
        };
        let reached: Vec<TerminalId> = (0..self.terminals.len() as u32)
            .map(TerminalId)
            .filter(|t| *t != from)
            .filter(|t| {
                let term = &self.terminals[t.0 as usize];
                term.registered && (term.identity == to || self.group_of(*t) == Some(to))
            })
            .collect();
        for t in &reached {
            if let Some(radio) = self.radio_mut(*t) {
                radio.network_sds(sender, service, data, bits);
            }
        }
        // A field unit that receives an SDS-TL message asking for a receipt report answers
        // it, as a terminal's SDS-TL entity does (EN 300 392-2 §29.4.3.2), so the gateway
        // learns its reply was delivered. Gateway radios leave reports to their gateway.
        let report = (service == AiService::SdsType4)
            .then(|| receipt_report(data, bits))
            .flatten();
        let answering: Vec<TerminalId> = reached
            .iter()
            .copied()
            .filter(|t| matches!(self.terminals[t.0 as usize].kind, Kind::Field { .. }))
            .collect();
        self.events.push_back(SwmiEvent::SdsDelivered {
            from,
            to,
            reached,
            service,
            data: data.to_vec(),
            bits,
        });
        if let Some((bytes, report_bits)) = report {
            for unit in answering {
                self.send_sds(unit, sender, AiService::SdsType4, &bytes, report_bits);
            }
        }
    }

    /// The network ends a group call (e.g. an operator's intervention).
    pub fn release(&mut self, group: Tsi, cause: u8) {
        let Some(call) = self.calls.remove(&group) else {
            return;
        };
        for (t, cc) in &call.members {
            if let Some(radio) = self.radio_mut(*t) {
                radio.network_release(*cc, cause);
            }
        }
        self.events.push_back(SwmiEvent::Released { group, cause });
    }

    // ---- time ----------------------------------------------------------------------------

    /// Runs what is due at `now`: grants, transmission timers, call releases.
    pub fn handle_timeout(&mut self, now: Instant) {
        let groups: Vec<Tsi> = self.calls.keys().copied().collect();
        for group in groups {
            let Some(call) = self.calls.get_mut(&group) else {
                continue;
            };
            if let Some(p) = call.pending.filter(|p| p.at <= now) {
                call.pending = None;
                self.grant(now, group, p);
            }
            let Some(call) = self.calls.get_mut(&group) else {
                continue;
            };
            let limit = self.networks[net_index(call.network)].max_transmission;
            if let (Some(t), Some(limit)) = (call.talker, limit)
                && t.at + limit <= now
            {
                call.talker = None;
                self.interrupt(now, group, t.terminal, None);
                self.next_over(now, group);
            }
            if let Some(call) = self.calls.get(&group)
                && call.is_idle()
                && call.release_at.is_some_and(|at| at <= now)
            {
                self.release(group, cause::TIMER_EXPIRY);
            }
        }
    }

    /// When [`Swmi::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.calls.values().flat_map(|c| {
            let limit = self.networks[net_index(c.network)].max_transmission;
            [
                c.pending.map(|p| p.at),
                c.talker.zip(limit).map(|(t, l)| t.at + l),
                c.release_at.filter(|_| c.is_idle()),
            ]
        });
        calls.flatten().chain(self.air.peek().map(|f| f.at)).min()
    }

    /// The next thing the simulator should know.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SwmiEvent> {
        self.events.pop_front()
    }

    // ---- inside ----------------------------------------------------------------------------

    fn is_field(&self, id: TerminalId) -> bool {
        self.terminals
            .get(id.0 as usize)
            .is_some_and(|t| matches!(t.kind, Kind::Field { .. }))
    }

    fn grant_delay(&mut self, group: Tsi) -> Duration {
        let network = group.network().unwrap_or(Network::Astrid);
        let c = self.networks[net_index(network)];
        let (lo, hi) = (
            c.grant_delay_min.as_micros(),
            c.grant_delay_max
                .as_micros()
                .max(c.grant_delay_min.as_micros()),
        );
        Duration::from_micros(self.rng.random_range(lo..=hi))
    }

    /// Sets up a group call (or joins the one there is) for `by`, whose PEI knows it as `cc`.
    fn setup(&mut self, now: Instant, by: TerminalId, group: Tsi, level: u8, cc: u16) {
        if !self.calls.contains_key(&group) {
            let network = group
                .network()
                .or(self.network(by))
                .unwrap_or(Network::Astrid);
            let hang = self.networks[net_index(network)].call_hang;
            let mut call = GroupCall::new(network, level);
            call.release_at = Some(now + hang);
            self.calls.insert(group, call);
            self.events
                .push_back(SwmiEvent::CallSetUp { group, by, level });
        }
        if let Some(call) = self.calls.get_mut(&group) {
            call.members.insert(by, cc);
        }
        if let Some(radio) = self.radio_mut(by) {
            radio.network_call_connected(cc);
        }
        // Everyone else on the group is brought into the call.
        for t in self.on_group(group) {
            self.join(t, group, by);
        }
    }

    /// Terminals registered with `group` selected.
    fn on_group(&self, group: Tsi) -> Vec<TerminalId> {
        (0..self.terminals.len() as u32)
            .map(TerminalId)
            .filter(|t| self.terminals[t.0 as usize].registered && self.group_of(*t) == Some(group))
            .collect()
    }

    /// Brings a terminal into the call on `group` if it is not in it yet; `caller` is who
    /// its `+CTICN` names.
    fn join(&mut self, id: TerminalId, group: Tsi, caller: TerminalId) {
        let Some(call) = self.calls.get(&group) else {
            return;
        };
        if call.members.contains_key(&id) {
            return;
        }
        let caller = self.identity(caller).unwrap_or(group);
        let level = call.level;
        let cc = match self.radio_mut(id) {
            Some(radio) => radio.network_incoming_group_call(caller, group, level),
            None => 0,
        };
        if let Some(call) = self.calls.get_mut(&group) {
            call.members.insert(id, cc);
        }
    }

    fn leave(&mut self, now: Instant, id: TerminalId) {
        let Some(group) = self.group_of(id) else {
            return;
        };
        self.cease(now, id);
        if let Some(call) = self.calls.get_mut(&group) {
            call.members.remove(&id);
        }
    }

    fn grant(&mut self, now: Instant, group: Tsi, p: Holder) {
        // Everyone on the group hears the over, including terminals that arrived meanwhile.
        for t in self.on_group(group) {
            self.join(t, group, p.terminal);
        }
        let Some(call) = self.calls.get_mut(&group) else {
            return;
        };
        if !call.members.contains_key(&p.terminal) {
            // The demander left the group meanwhile.
            self.next_over(now, group);
            return;
        }
        call.talker = Some(Holder { at: now, ..p });
        call.overs += 1;
        // A higher-level over (an emergency in a routine call) re-sets the call up at its
        // level, so every radio learns the new priority from `+CTICN`.
        let escalate = p.level > call.level;
        if escalate {
            call.level = p.level;
        }
        let members: Vec<(TerminalId, u16)> =
            call.members.iter().map(|(t, cc)| (*t, *cc)).collect();
        let talker_identity = self.identity(p.terminal).unwrap_or(group);
        for (t, cc) in members {
            if t == p.terminal {
                if let Some(radio) = self.radio_mut(t) {
                    radio.network_grant(cc);
                }
                continue;
            }
            let Some(radio) = self.radio_mut(t) else {
                continue;
            };
            let cc = if escalate {
                radio.network_release(cc, cause::PRE_EMPTION);
                radio.network_incoming_group_call(talker_identity, group, p.level)
            } else {
                cc
            };
            radio.network_talker(cc, talker_identity);
            if let Some(call) = self.calls.get_mut(&group) {
                call.members.insert(t, cc);
            }
        }
        self.events.push_back(SwmiEvent::Granted {
            terminal: p.terminal,
            group,
            level: p.level,
        });
    }

    fn interrupt(&mut self, now: Instant, group: Tsi, talker: TerminalId, by: Option<TerminalId>) {
        let cc = self
            .calls
            .get(&group)
            .and_then(|c| c.members.get(&talker).copied());
        if let (Some(cc), Some(radio)) = (cc, self.radio_mut(talker)) {
            radio.network_interrupt(cc);
        }
        let listeners: Vec<(TerminalId, u16)> = self
            .calls
            .get(&group)
            .map(|c| {
                c.members
                    .iter()
                    .filter(|(t, _)| **t != talker)
                    .map(|(t, cc)| (*t, *cc))
                    .collect()
            })
            .unwrap_or_default();
        for (t, cc) in listeners {
            if let Some(radio) = self.radio_mut(t) {
                radio.network_talker_stopped(cc);
            }
        }
        let _ = now;
        self.events.push_back(SwmiEvent::Interrupted {
            terminal: talker,
            group,
            by,
        });
    }

    /// The channel is free: grant the best waiting demand, or start the call's hang time.
    fn next_over(&mut self, now: Instant, group: Tsi) {
        let delay = self.grant_delay(group);
        let Some(call) = self.calls.get_mut(&group) else {
            return;
        };
        if call.holder().is_some() {
            return;
        }
        match call.next_waiting() {
            Some(w) => {
                call.pending = Some(Holder {
                    terminal: w.terminal,
                    level: w.level,
                    at: now + delay,
                })
            }
            None => {
                let hang = self.networks[net_index(call.network)].call_hang;
                call.release_at = Some(now + hang);
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// The SDS-REPORT ("received") a terminal sends back for SDS-TL user data that asks for one,
/// as bytes and a bit length; `None` when the data asks for nothing.
fn receipt_report(data: &[u8], bits: u16) -> Option<(Vec<u8>, u16)> {
    use borderlink_protocol::sds::{
        DeliveryStatus, ProtocolId, SdsKind, SdsReport, TlPdu, UserData, decode,
    };
    let (protocol_id, header) = match decode(SdsKind::Type4, data, bits).ok()? {
        // The text's own protocol (0x82 or 0x89) is the first byte.
        UserData::Text(t) => (ProtocolId::from_u8(*data.first()?), t.sds_tl?.header),
        UserData::Tl {
            protocol_id,
            pdu: TlPdu::Transfer { header, .. },
        } => (protocol_id, header),
        _ => return None,
    };
    if !header.delivery_report.wants_received() {
        return None;
    }
    let report = UserData::Tl {
        protocol_id,
        pdu: TlPdu::Report(SdsReport::new(
            DeliveryStatus::RECEIVED,
            header.message_reference,
        )),
    };
    let mut buf = vec![0u8; report.buffer_len()];
    let n = report.emit(&mut buf).ok()?;
    buf.truncate(n);
    Some((buf, u16::try_from(report.bit_len()).ok()?))
}
