//! The relay engine: one sans-IO state machine per gateway that ties patches, floor control,
//! the receive path and the radios' transmitters together.
//!
//! # Driving it
//! Feed inputs as they happen, each with the current time:
//! - [`Engine::handle_packet`]: a voice packet from a peer gateway or a dispatch console;
//! - [`Engine::handle_capture`]: a 20 ms frame captured from a local radio that is receiving
//!   a call (or the end of that call);
//! - [`Engine::handle_radio`]: what a radio reported about its transmitter;
//! - patch and floor commands from the API ([`Engine::create_patch`], …).
//!
//! After each input, and whenever [`Engine::poll_timeout`] is due (then call
//! [`Engine::handle_timeout`] first), drain every output until it returns `None`:
//! [`Engine::poll_transmit`] (packets for peers and consoles), [`Engine::poll_audio`] (frames
//! for local radios, at a steady 20 ms), [`Engine::poll_command`] (key and unkey radios) and
//! [`Engine::poll_event`] (what dispatch and metrics want to know).
//!
//! # What happens to a frame
//! A frame's stream is looked up (or created) by its [`StreamKey`]; its patch is found from the
//! group it was heard on; loop rules drop it if it was heard from another gateway's radio or
//! came back from a peer; the patch's floor decides whether it is relayed. A relayed frame goes
//! at once to peers and consoles (they run their own jitter buffers), and to local radios
//! through the stream's jitter buffer and each radio's grant queue, so a TETRA radio plays the
//! transmission from its first syllable once its grant arrives. Every frame that is not
//! delivered is counted by cause.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{
    FRAME_LEN, FRAME_SAMPLES, KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId,
    StreamId, TxState, VoiceRepr,
};
use thiserror::Error;

use super::counters::{Counters, DropCause};
use super::endpoint::{ConsoleId, EndpointId, RadioId};
use super::floor::{Floor, FloorConfig, FloorEvent, ReleaseReason};
use super::jitter::{
    Arrival, DelayConfig, DelayEstimator, GrantConfig, GrantQueue, JitterConfig, StreamBuffer,
};
use super::loops::GatewayIdentities;
use super::patch::{
    PatchError, PatchEvent, PatchId, PatchKind, PatchSnapshot, PatchSpec, PatchTable, RestoreError,
    SiteConsole,
};
use super::policy::FloorPolicy;
use super::radio_tx::{AirTimeLimit, RadioCommand, RadioEvent, RadioTx, UnkeyReason};
use super::routing::{LocalRadio, LocalSite, RouteVerdict, max_destinations, route};
use super::stream::{Claim, StreamKey};

mod timers;
use timers::{Timer, Timers};

/// How many times the first packet of a transmission this site originates goes to each peer
/// (loop rule 4: the other gateways must learn of the over even when packets are lost). The
/// receiving link drops the copies as `duplicate`.
pub const START_COPIES: usize = 3;
/// How many times its last packet (the end, no audio) goes to each peer.
pub const END_COPIES: usize = 3;

/// A radio attached to this gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RadioConfig {
    /// Its id (index in the daemon's config).
    pub id: RadioId,
    /// The network it is registered on.
    pub network: Network,
    /// The talkgroup it has selected.
    pub group: Tsi,
    /// Its own identity: calls whose talker is a gateway radio are never relayed.
    pub identity: Tsi,
}

/// Everything the engine needs to know about its site.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This gateway's site.
    pub site: SiteId,
    /// The local radios.
    pub radios: Vec<RadioConfig>,
    /// The identities of every gateway radio in the system, this site's included.
    pub gateway_identities: GatewayIdentities,
    /// Floor control timers.
    pub floor: FloorConfig,
    /// What each source may claim; identical at every site.
    pub policy: FloorPolicy,
    /// Jitter buffer settings.
    pub jitter: JitterConfig,
    /// Playout delay settings.
    pub delay: DelayConfig,
    /// How audio is held for a radio waiting for its grant, and how it catches up.
    pub grant: GrantConfig,
    /// How long a radio may stay on the air across overs, and the break it then gets.
    pub air_time: AirTimeLimit,
    /// A stream with no packet for this long is over (a backstop for streams that carry no
    /// local radio audio, whose jitter buffer would otherwise tell).
    pub stream_timeout: Duration,
    /// The most streams tracked at once; packets of further streams are dropped as overflow.
    pub max_streams: usize,
    /// The most streams one peer may have tracked at once; its further streams are dropped as
    /// `peer_stream_limit`, so one peer (a stolen box, say) cannot take every slot.
    pub max_streams_per_peer: usize,
    /// The id of the first stream this site originates; the daemon derives it from its start
    /// time, so a restarted site never reuses the ids (and SRTP SSRCs) of its previous run.
    pub first_stream: u32,
    /// How long a capture is held back when a lower site also has a radio on its group, and
    /// so probably captures the same over and relays it (loop rule 4): if that site's capture
    /// arrives within the hold, this one is dropped as its repeat (`same_over`) and never
    /// keys a transmitter; if not, the held frames are relayed from the first, late by the
    /// hold. Default 300 ms: a peer's first packets arrive well within it even when a
    /// string of them is lost, and the failover it delays waits for a TETRA grant anyway.
    pub capture_hold: Duration,
}

impl EngineConfig {
    /// A configuration with the defaults a site rarely changes.
    pub fn new(
        site: SiteId,
        radios: Vec<RadioConfig>,
        gateway_identities: GatewayIdentities,
    ) -> Self {
        EngineConfig {
            site,
            radios,
            gateway_identities,
            floor: FloorConfig::default(),
            policy: FloorPolicy::unlimited(),
            jitter: JitterConfig::default(),
            delay: DelayConfig::default(),
            grant: GrantConfig::default(),
            air_time: AirTimeLimit::default(),
            stream_timeout: Duration::from_secs(1),
            max_streams: 1024,
            max_streams_per_peer: 64,
            first_stream: 1,
            capture_hold: Duration::from_millis(300),
        }
    }
}

/// Why an engine command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The patch definition or id is not acceptable.
    #[error(transparent)]
    Patch(#[from] PatchError),
}

/// A packet for a peer gateway or a console.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Where to send it.
    pub to: EndpointId,
    len: usize,
    buf: [u8; MAX_PACKET_LEN],
}

impl Transmit {
    /// A packet for `to`, as the engine would queue it (the peer links' tests); `None` if it
    /// is longer than a voice packet can be.
    #[cfg(test)]
    pub(crate) fn from_packet(to: EndpointId, packet: &[u8]) -> Option<Transmit> {
        let mut buf = [0; MAX_PACKET_LEN];
        buf.get_mut(..packet.len())?.copy_from_slice(packet);
        Some(Transmit {
            to,
            len: packet.len(),
            buf,
        })
    }

    /// The packet's bytes (an RTP datagram).
    pub fn packet(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What the engine tells dispatch, the API and metrics.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// The floor of a patch changed.
    Floor {
        /// The patch.
        patch: PatchId,
        /// What happened.
        event: FloorEvent,
    },
    /// A patch ended on its own (expiry or inactivity).
    Patch(PatchEvent),
}

/// A frame captured from a local radio that is receiving a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture<'a> {
    /// Who is talking (from `+CTXG`/`+CTICN`), if the radio said.
    pub talker: Option<Tsi>,
    /// Call priority.
    pub priority: Priority,
    /// Emergency call.
    pub emergency: bool,
    /// When the call started, on this site's synchronised clock.
    pub key_up: KeyUpTime,
    /// One 20 ms G.711 A-law frame, or `None` for the end of the call.
    pub frame: Option<&'a [u8; FRAME_LEN]>,
}

/// Which recent sequence numbers of a stream have been seen, so a packet that arrives twice
/// (retransmitted, or on two paths) is relayed once. Like an SRTP replay window: the highest
/// sequence number and a bitmap of the 128 before it.
#[derive(Debug, Clone, Copy, Default)]
struct SeqWindow {
    top: Option<u16>,
    mask: u128,
}

enum Seen {
    New,
    Duplicate,
    TooOld,
}

impl SeqWindow {
    fn check(&mut self, seq: u16) -> Seen {
        let Some(top) = self.top else {
            self.top = Some(seq);
            self.mask = 1;
            return Seen::New;
        };
        let ahead = seq.wrapping_sub(top) as i16;
        if ahead > 0 {
            let shift = ahead as u32;
            self.mask = if shift >= 128 { 0 } else { self.mask << shift };
            self.mask |= 1;
            self.top = Some(seq);
            return Seen::New;
        }
        let behind = u32::from(ahead.unsigned_abs());
        if behind >= 128 {
            return Seen::TooOld;
        }
        let bit = 1u128 << behind;
        if self.mask & bit != 0 {
            Seen::Duplicate
        } else {
            self.mask |= bit;
            Seen::New
        }
    }
}

#[derive(Debug)]
struct Stream {
    patch: PatchId,
    source: EndpointId,
    header: RadioHeader,
    /// Peers and consoles the stream goes to.
    ip: Vec<EndpointId>,
    /// Local radios the stream plays on.
    radios: Vec<RadioId>,
    /// The jitter buffer, once the stream holds the floor and has radios to play on.
    buffer: Option<StreamBuffer>,
    has_floor: bool,
    ended: bool,
    last_seen: Instant,
    seen: SeqWindow,
    /// For streams this site puts on IP: the next RTP sequence number and timestamp.
    next_seq: u16,
    next_timestamp: u32,
}

#[derive(Debug)]
struct Radio {
    config: RadioConfig,
    tx: RadioTx,
    queue: GrantQueue,
    /// The stream whose audio the radio plays.
    playing: Option<StreamKey>,
    /// The call the radio is receiving now, as a stream of this site.
    capture: Option<StreamKey>,
    /// The stream it played has ended: once its queue has drained, hold the channel for
    /// hang time (measured from the last frame on air, not from the end on IP).
    pending_hang: bool,
    /// The frames of its capture held back while a lower site may relay the same over
    /// ([`EngineConfig::capture_hold`]), in order.
    held: Vec<Held>,
    /// Until when the capture is held, while it is.
    hold_until: Option<Instant>,
    /// The capture repeats another gateway's capture of the same over: its frames are
    /// dropped as `same_over` until it ends.
    repeating: bool,
}

/// A captured frame held back ([`EngineConfig::capture_hold`]).
#[derive(Debug, Clone, Copy)]
struct Held {
    header: RadioHeader,
    seq: u16,
    timestamp: u32,
    audio: Option<[u8; FRAME_LEN]>,
}

/// The relay engine of one gateway; see the [module documentation](self).
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    local: LocalSite,
    patches: PatchTable,
    floors: HashMap<PatchId, Floor>,
    policy: Arc<FloorPolicy>,
    streams: HashMap<StreamKey, Stream>,
    /// How many of `streams` each peer is the source of (entries at zero are removed).
    peer_streams: HashMap<SiteId, usize>,
    estimators: HashMap<EndpointId, DelayEstimator>,
    radios: Vec<Radio>,
    /// Console stream ids mapped to this site's stream ids.
    console_streams: HashMap<(ConsoleId, StreamId), StreamKey>,
    next_stream: u32,
    transmits: VecDeque<Transmit>,
    audio: VecDeque<(RadioId, [u8; FRAME_LEN])>,
    commands: VecDeque<RadioCommand>,
    events: VecDeque<EngineEvent>,
    counters: Counters,
    /// Drops and concealment of jitter buffers already gone.
    retired: Counters,
    /// Scratch buffer for routing, reused for every new stream.
    route_buf: Vec<EndpointId>,
    ended: Vec<StreamKey>,
    /// When each stream without a jitter buffer and each floor next needs a look.
    timers: Timers,
    /// Scratch list of the timers due in [`Engine::handle_timeout`].
    due: Vec<Timer>,
    /// The streams that have a jitter buffer (they play on local radios: a few at most),
    /// looked at on every timeout; a stream may stay listed a little after its buffer goes.
    buffered: Vec<StreamKey>,
}

impl Engine {
    /// An engine with no patch.
    pub fn new(config: EngineConfig) -> Self {
        let local = LocalSite {
            site: config.site,
            radios: config
                .radios
                .iter()
                .map(|r| LocalRadio {
                    id: r.id,
                    network: r.network,
                    group: r.group,
                })
                .collect(),
        };
        let hard_cap = config.floor.tx_timeout + config.floor.hang_time;
        // A frame every 20 ms through the hold, and a few more for a capture that bunches.
        let held_capacity = (config.capture_hold.as_millis() / 20) as usize + 4;
        let radios = config
            .radios
            .iter()
            .map(|r| Radio {
                config: *r,
                tx: RadioTx::new(r.id, hard_cap, config.air_time),
                queue: GrantQueue::new(&config.grant),
                playing: None,
                capture: None,
                pending_hang: false,
                held: Vec::with_capacity(held_capacity),
                hold_until: None,
                repeating: false,
            })
            .collect();
        let streams = HashMap::with_capacity(config.max_streams);
        Engine {
            policy: Arc::new(config.policy.clone()),
            local,
            patches: PatchTable::new(),
            floors: HashMap::new(),
            streams,
            peer_streams: HashMap::new(),
            estimators: HashMap::new(),
            radios,
            console_streams: HashMap::new(),
            next_stream: config.first_stream.max(1),
            transmits: VecDeque::with_capacity(256),
            audio: VecDeque::with_capacity(64),
            commands: VecDeque::with_capacity(16),
            events: VecDeque::with_capacity(64),
            counters: Counters::default(),
            retired: Counters::default(),
            route_buf: Vec::with_capacity(64),
            ended: Vec::with_capacity(64),
            timers: Timers::with_capacity(config.max_streams.min(4096)),
            due: Vec::with_capacity(64),
            buffered: Vec::with_capacity(config.radios.len()),
            config,
        }
    }

    /// This gateway's site.
    pub fn site(&self) -> SiteId {
        self.config.site
    }

    /// Frame counters of the whole engine: what it received and delivered, and every drop
    /// and concealed frame of its streams and radios.
    pub fn counters(&self) -> Counters {
        let mut total = self.counters;
        let mut losses = self.retired;
        for buffer in self.streams.values().filter_map(|s| s.buffer.as_ref()) {
            losses.add(&losses_of(buffer.counters()));
        }
        for radio in &self.radios {
            losses.add(&losses_of(radio.queue.counters()));
        }
        total.add(&losses);
        total
    }

    /// The patches.
    pub fn patches(&self) -> &PatchTable {
        &self.patches
    }

    /// The floor of a patch.
    pub fn floor(&self, patch: PatchId) -> Option<&Floor> {
        self.floors.get(&patch)
    }

    /// Number of streams tracked now.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    // ---- patches -------------------------------------------------------------------------

    /// Adds a patch.
    pub fn create_patch(&mut self, now: Instant, spec: PatchSpec) -> Result<PatchId, EngineError> {
        let policy = self.patch_policy(&spec);
        let id = self.patches.create(now, spec)?;
        self.floors
            .insert(id, Floor::new(self.config.floor, policy));
        self.arm_floor(id);
        self.check_timers();
        Ok(id)
    }

    /// The floor policy of a patch: the site policy with the sovereignty limits of its groups
    /// folded in (shared when there are none).
    fn patch_policy(&self, spec: &PatchSpec) -> Arc<FloorPolicy> {
        if !self.policy.has_foreign_rules() {
            return Arc::clone(&self.policy);
        }
        Arc::new(
            self.policy
                .for_patch(spec.channels.iter().map(|c| (c.network, c.group))),
        )
    }

    /// Restarts a patch's lifetime and inactivity timeout at `now` with these durations,
    /// without touching its streams: a conversation under way goes on (unlike
    /// [`Engine::modify_patch`]). Roaming extends and lapses its mirrors this way.
    pub fn retime_patch(
        &mut self,
        now: Instant,
        id: PatchId,
        lifetime: Option<Duration>,
        inactivity_timeout: Option<Duration>,
    ) -> Result<(), EngineError> {
        self.patches
            .retime(now, id, lifetime, inactivity_timeout)
            .map_err(EngineError::from)?;
        self.check_timers();
        Ok(())
    }

    /// Replaces a patch's definition; its streams end and start again under the new one.
    pub fn modify_patch(
        &mut self,
        now: Instant,
        id: PatchId,
        spec: PatchSpec,
    ) -> Result<(), EngineError> {
        let policy = self.patch_policy(&spec);
        self.patches.modify(now, id, spec)?;
        self.end_patch_streams(now, id, UnkeyReason::FloorLost);
        // Other groups may bring other sovereignty limits: a fresh floor under them.
        self.floors
            .insert(id, Floor::new(self.config.floor, policy));
        self.arm_floor(id);
        self.check_timers();
        Ok(())
    }

    /// Removes a patch: its streams stop and its radios are released.
    pub fn remove_patch(&mut self, now: Instant, id: PatchId) -> Result<PatchSpec, EngineError> {
        let spec = self.patches.remove(id)?;
        self.end_patch_streams(now, id, UnkeyReason::FloorLost);
        self.floors.remove(&id);
        self.timers.forget(Timer::Floor(id));
        self.check_timers();
        Ok(spec)
    }

    /// The dynamic patches (those created through the API) with their remaining times, for
    /// the daemon's state file. Static patches come from the config at every start.
    pub fn dynamic_patches(&self, now: Instant) -> PatchSnapshot {
        let mut snapshot = self.patches.snapshot(now);
        snapshot
            .patches
            .retain(|p| matches!(p.spec.kind, PatchKind::Dynamic { .. }));
        snapshot
    }

    /// Restores persisted patches, keeping their ids; all or nothing (see
    /// [`PatchTable::restore`]). Call it before creating the static patches.
    pub fn restore_patches(
        &mut self,
        now: Instant,
        snapshot: &PatchSnapshot,
    ) -> Result<(), RestoreError> {
        self.patches.restore(now, snapshot)?;
        for record in &snapshot.patches {
            self.floors
                .entry(record.id)
                .or_insert_with(|| Floor::new(self.config.floor, Arc::clone(&self.policy)));
            self.arm_floor(record.id);
        }
        self.check_timers();
        Ok(())
    }

    /// Per source of voice that has sent streams: the estimated interarrival jitter at
    /// quantile `q` (once enough samples) and the playout delay its next stream starts with.
    pub fn playout_estimates(
        &self,
        q: f64,
    ) -> impl Iterator<Item = (EndpointId, Option<Duration>, Duration)> + '_ {
        self.estimators
            .iter()
            .map(move |(source, e)| (*source, e.jitter_quantile(q), e.target()))
    }

    /// Ends the current transmission of a patch (a dispatcher's force-release).
    pub fn force_release(&mut self, now: Instant, id: PatchId) -> Option<StreamKey> {
        let released = self.floors.get_mut(&id)?.force_release(now);
        self.drain_floor(now, id);
        self.check_timers();
        released
    }

    /// Releases every radio at once: the first thing shutdown does.
    pub fn release_all(&mut self, now: Instant) {
        for radio in &mut self.radios {
            // A held capture is never relayed now.
            let held = radio.held.drain(..).filter(|h| h.audio.is_some()).count();
            self.counters.drop_n(DropCause::FloorDenied, held as u64);
            radio.hold_until = None;
            radio.repeating = false;
            radio.tx.unkey(now, UnkeyReason::Forced);
            radio.queue.abort(DropCause::FloorDenied);
            radio.playing = None;
            radio.pending_hang = false;
        }
        self.collect_commands();
        self.check_timers();
    }

    /// A peer gateway went silent (its link is down): every stream it was sending ends now,
    /// and the radios playing one are released at once, without hang time, rather than when
    /// the stream's end timeout notices.
    pub fn handle_peer_down(&mut self, now: Instant, site: SiteId) {
        let source = EndpointId::Peer(site);
        let keys: Vec<StreamKey> = self
            .streams
            .iter()
            .filter(|(_, s)| s.source == source && !s.ended)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            let Some(stream) = self.streams.get_mut(&key) else {
                continue;
            };
            stream.ended = true;
            if let Some(buffer) = stream.buffer.take() {
                self.retired.add(&losses_of(buffer.counters()));
            }
            let patch = stream.patch;
            // Kept until its silence timeout, so a late packet of it keys nothing.
            self.timers.arm(
                Timer::Stream(key),
                Some(stream.last_seen + self.config.stream_timeout),
            );
            for radio in &mut self.radios {
                if radio.playing == Some(key) {
                    radio.playing = None;
                    radio.pending_hang = false;
                    radio.tx.unkey(now, UnkeyReason::FloorLost);
                    radio.queue.abort(DropCause::PeerDown);
                }
            }
            if let Some(floor) = self.floors.get_mut(&patch) {
                floor.release(now, key);
            }
            self.drain_floor(now, patch);
        }
        self.collect_commands();
        self.check_timers();
    }

    fn end_patch_streams(&mut self, now: Instant, id: PatchId, reason: UnkeyReason) {
        let keys: Vec<StreamKey> = self
            .streams
            .iter()
            .filter(|(_, s)| s.patch == id)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            self.remove_stream(key);
            for radio in &mut self.radios {
                if radio.playing == Some(key) {
                    radio.playing = None;
                    radio.pending_hang = false;
                    radio.tx.unkey(now, reason);
                    radio.queue.abort(DropCause::FloorDenied);
                }
            }
        }
        if let Some(floor) = self.floors.get_mut(&id) {
            floor.force_release(now);
        }
        self.drain_floor(now, id);
        self.collect_commands();
    }

    // ---- inputs --------------------------------------------------------------------------

    /// A voice packet from a peer gateway (`EndpointId::Peer`) or a console
    /// (`EndpointId::Console`). Packets from a radio come through [`Engine::handle_capture`].
    pub fn handle_packet(&mut self, now: Instant, from: EndpointId, packet: &VoiceRepr<'_>) {
        let audio = !packet.payload.is_empty();
        if audio {
            self.counters.received += 1;
        }
        let (key, header) = match from {
            EndpointId::Peer(_) => {
                let h = packet.radio;
                (
                    StreamKey {
                        site: h.origin.site,
                        stream: h.stream,
                    },
                    h,
                )
            }
            EndpointId::Console(console) => {
                // A console's stream becomes one of this site's streams: it is put on IP here.
                let key = self.console_stream(console, packet.radio.stream);
                let mut h = packet.radio;
                h.origin = Origin {
                    site: self.config.site,
                    network: None,
                };
                h.stream = key.stream;
                (key, h)
            }
            EndpointId::Radio(_) => {
                // Radio audio arrives as captures, never as packets: refuse to guess.
                self.count_drop(audio, DropCause::NoPatch);
                return;
            }
        };
        self.handle_frame(now, from, key, header, Arrival::from_voice(packet));
        self.check_timers();
    }

    /// A frame captured from a local radio receiving a call, or the end of that call.
    pub fn handle_capture(&mut self, now: Instant, radio: RadioId, capture: Capture<'_>) {
        let Some(index) = self.radio_index(radio) else {
            return;
        };
        if capture.frame.is_some() {
            self.counters.received += 1;
        }
        // Loop rule: a call whose talker is a gateway radio is another gateway relaying.
        if self
            .config
            .gateway_identities
            .is_gateway_talker(capture.talker)
        {
            self.count_drop(capture.frame.is_some(), DropCause::Loop);
            return;
        }
        let config = self.radios[index].config;
        if self.radios[index].repeating {
            self.count_drop(capture.frame.is_some(), DropCause::SameOver);
            if capture.frame.is_none() {
                self.radios[index].repeating = false;
                self.radios[index].capture = None;
            }
            return;
        }
        let (key, tx) = match self.radios[index].capture {
            Some(key) if capture.frame.is_some() => (key, TxState::Continue),
            Some(key) => {
                self.radios[index].capture = None;
                (key, TxState::End)
            }
            None if capture.frame.is_some() => {
                let key = StreamKey {
                    site: self.config.site,
                    stream: self.new_stream_id(),
                };
                self.radios[index].capture = Some(key);
                (key, TxState::Start)
            }
            None => return, // the end of a call never started: nothing to do
        };
        let header = RadioHeader {
            tx,
            squelch_open: capture.frame.is_some(),
            emergency: capture.emergency,
            priority: capture.priority,
            talker: capture.talker,
            talkgroup: config.group,
            origin: Origin {
                site: self.config.site,
                network: Some(config.network),
            },
            stream: key.stream,
            started: capture.key_up,
        };
        // A capture is numbered here, in the order the radio delivers it. Its timestamps start
        // from the site's continuous 8 kHz clock (the engine's time), so receivers can learn
        // this site's transit time across transmissions.
        let site_clock = (now.as_micros() / 125) as u32;
        if tx == TxState::Start {
            // The last capture's hold, if still running, is decided before this one starts.
            self.end_hold(now, index);
            let lower = self.lower_sites_capturing(&config);
            if lower > 0 {
                self.radios[index].hold_until =
                    Some(now + self.config.capture_hold.saturating_mul(lower));
            }
        }
        if self.radios[index].hold_until.is_some() {
            self.hold(now, index, header, site_clock, capture.frame);
            self.check_timers();
            return;
        }
        let (seq, timestamp) = self
            .streams
            .get(&key)
            .map_or((0, site_clock), |s| (s.next_seq, s.next_timestamp));
        let arrival = Arrival {
            seq,
            timestamp,
            tx,
            audio: capture.frame,
        };
        let source = EndpointId::Radio(radio);
        self.handle_frame(now, source, key, header, arrival);
        // The stream exists from its first frame on: number the next frame after this one.
        if let Some(stream) = self.streams.get_mut(&key) {
            stream.next_seq = seq.wrapping_add(1);
            stream.next_timestamp = timestamp.wrapping_add(FRAME_SAMPLES);
        }
        self.check_timers();
    }

    /// How many lower sites have a radio on the group of this radio's channel in its patch,
    /// and so capture the same overs: this site holds its captures back for as many
    /// [`EngineConfig::capture_hold`]s, so that when the lowest does not hear an over, the
    /// next one's capture, held one hold, reaches this site before its own hold is over.
    fn lower_sites_capturing(&self, radio: &RadioConfig) -> u64 {
        let site = self.config.site;
        let Some(patch) = self
            .patches
            .patch_of_channel(site, radio.network, radio.group)
            .and_then(|id| self.patches.get(id))
        else {
            return 0;
        };
        // A patch names each channel once (its validation refuses a repeat).
        patch
            .spec()
            .channels
            .iter()
            .filter(|c| c.site < site && c.network == radio.network && c.group == radio.group)
            .count() as u64
    }

    /// Holds a captured frame back ([`EngineConfig::capture_hold`]). The hold ends early
    /// when another gateway's capture of the same over is seen; else it runs its full time,
    /// even past the end of a short over, whose first capture may still be on its way.
    fn hold(
        &mut self,
        now: Instant,
        index: usize,
        header: RadioHeader,
        site_clock: u32,
        frame: Option<&[u8; FRAME_LEN]>,
    ) {
        let held = &mut self.radios[index].held;
        let (seq, timestamp) = held.last().map_or((0, site_clock), |h| {
            (
                h.seq.wrapping_add(1),
                h.timestamp.wrapping_add(FRAME_SAMPLES),
            )
        });
        held.push(Held {
            header,
            seq,
            timestamp,
            audio: frame.copied(),
        });
        if self.repeats_a_capture(&header)
            || self.radios[index].hold_until.is_some_and(|t| t <= now)
        {
            self.end_hold(now, index);
        }
    }

    /// Whether a capture with this header repeats another gateway's capture of the same over
    /// ([`Claim::repeats`]) that this site knows: live, or ended so recently that its stream
    /// is still kept (a short over's first capture may have ended before this one's hold).
    fn repeats_a_capture(&self, header: &RadioHeader) -> bool {
        let claim = Claim::from_header(header);
        self.streams
            .values()
            .any(|s| claim.repeats(&Claim::from_header(&s.header)))
    }

    /// Ends the hold of a radio's capture, if one runs: a repeat of another gateway's capture
    /// is dropped whole (and the rest of it as it comes); anything else goes to the floor, in
    /// order, from its first frame.
    fn end_hold(&mut self, now: Instant, index: usize) {
        if self.radios[index].hold_until.take().is_none() {
            return;
        }
        let mut held = std::mem::take(&mut self.radios[index].held);
        if let Some(first) = held.first()
            && self.repeats_a_capture(&first.header)
        {
            let frames = held.iter().filter(|h| h.audio.is_some()).count();
            self.counters.drop_n(DropCause::SameOver, frames as u64);
            // Until its end, unless the end was held too.
            let ended = held.iter().any(|h| h.header.tx == TxState::End);
            self.radios[index].repeating = !ended;
            held.clear();
            self.radios[index].held = held;
            return;
        }
        let source = EndpointId::Radio(self.radios[index].config.id);
        let mut next = None;
        for h in &held {
            let key = StreamKey {
                site: self.config.site,
                stream: h.header.stream,
            };
            let arrival = Arrival {
                seq: h.seq,
                timestamp: h.timestamp,
                tx: h.header.tx,
                audio: h.audio.as_ref(),
            };
            self.handle_frame(now, source, key, h.header, arrival);
            next = Some((
                key,
                h.seq.wrapping_add(1),
                h.timestamp.wrapping_add(FRAME_SAMPLES),
            ));
        }
        if let Some((key, seq, timestamp)) = next
            && let Some(stream) = self.streams.get_mut(&key)
        {
            stream.next_seq = seq;
            stream.next_timestamp = timestamp;
        }
        held.clear();
        self.radios[index].held = held;
    }

    /// What a radio reported about its transmitter.
    pub fn handle_radio(&mut self, now: Instant, radio: RadioId, event: RadioEvent) {
        let Some(index) = self.radio_index(radio) else {
            return;
        };
        let r = &mut self.radios[index];
        let lost = r.tx.handle_event(now, event);
        if event == RadioEvent::TxGranted && r.tx.is_granted() {
            r.queue.grant(now);
        }
        if lost {
            let still_wanted = r
                .playing
                .is_some_and(|key| self.streams.get(&key).is_some_and(|s| s.has_floor));
            match event {
                // A grant lost mid-transmission (interrupted, pre-empted by the SwMI): hold
                // the audio and ask again, so the rest of the over still goes out.
                RadioEvent::TxLost if still_wanted => {
                    r.queue.revoke(now);
                    let group = r.config.group;
                    let claim = r
                        .playing
                        .and_then(|k| self.streams.get(&k))
                        .map(|s| (s.patch, Claim::from_header(&s.header)));
                    if let Some((patch, claim)) = claim {
                        let urgency = self.floors.get(&patch).map_or_else(
                            || self.policy.on_air(&claim),
                            |f| f.policy().on_air(&claim),
                        );
                        r.tx.key(now, group, urgency.priority, urgency.emergency);
                    }
                }
                // Refused, or down: the held audio cannot go out on this radio.
                _ => {
                    r.queue.abort(DropCause::RadioRefused);
                    r.playing = None;
                    r.pending_hang = false;
                }
            }
        }
        if event == RadioEvent::Up && r.playing.is_none() && !r.tx.is_active() {
            self.rekey_for_live_over(now, index);
        }
        let r = &mut self.radios[index];
        if event == RadioEvent::Down
            && let Some(key) = r.capture.take()
        {
            // The call it was receiving is over as far as anyone can tell.
            self.end_stream(now, key);
        }
        self.collect_commands();
        self.check_timers();
    }

    /// A radio back up (its board link returned, its PEI came back) joins the over that still
    /// holds the floor on it, if any: its driver forgot every key when it went down, so an over
    /// that ended meanwhile is never transmitted again, and one still live is asked for anew.
    fn rekey_for_live_over(&mut self, now: Instant, index: usize) {
        let id = self.radios[index].config.id;
        let Some((key, patch, claim)) = self
            .streams
            .iter()
            .filter(|(_, s)| s.has_floor && !s.ended && s.buffer.is_some())
            .find(|(_, s)| s.radios.contains(&id))
            .map(|(k, s)| (*k, s.patch, Claim::from_header(&s.header)))
        else {
            return;
        };
        let urgency = self
            .floors
            .get(&patch)
            .map_or_else(|| self.policy.on_air(&claim), |f| f.policy().on_air(&claim));
        let radio = &mut self.radios[index];
        let group = radio.config.group;
        if radio
            .tx
            .key(now, group, urgency.priority, urgency.emergency)
        {
            radio.playing = Some(key);
            radio.pending_hang = false;
        }
    }

    fn radio_index(&self, radio: RadioId) -> Option<usize> {
        self.radios.iter().position(|r| r.config.id == radio)
    }

    fn new_stream_id(&mut self) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream = self.next_stream.wrapping_add(1).max(1);
        id
    }

    fn console_stream(&mut self, console: ConsoleId, theirs: StreamId) -> StreamKey {
        if let Some(key) = self.console_streams.get(&(console, theirs)) {
            return *key;
        }
        let key = StreamKey {
            site: self.config.site,
            stream: self.new_stream_id(),
        };
        self.console_streams.insert((console, theirs), key);
        key
    }

    fn count_drop(&mut self, audio: bool, cause: DropCause) {
        if audio {
            self.counters.drop(cause);
        }
    }

    /// The patch a new stream belongs to, if its source may speak in it.
    ///
    /// A peer speaks only for itself and only where a patch names it: its radio's channel
    /// (site, network, group) for radio traffic, one of its consoles for console traffic. A
    /// console label does not open every patch on the group: a peer once keyed a patch of this
    /// site's own radios that way (issue 13, finding 2).
    fn patch_of(&self, source: EndpointId, header: &RadioHeader) -> Option<PatchId> {
        // (Our own origin coming back from a peer is left to the router, which calls it a
        // loop.)
        if let EndpointId::Peer(site) = source
            && header.origin.site != site
            && header.origin.site != self.config.site
        {
            return None;
        }
        match (source, header.origin.network) {
            (EndpointId::Peer(site), None) => {
                let id = self.patches.patch_of_group(header.talkgroup)?;
                self.patches
                    .get(id)
                    .filter(|p| p.spec().consoles.iter().any(|c| c.site == site))
                    .map(|p| p.id())
            }
            (EndpointId::Console(console), _) => {
                let id = self.patches.patch_of_group(header.talkgroup)?;
                let member = SiteConsole {
                    site: self.config.site,
                    console,
                };
                self.patches
                    .get(id)
                    .filter(|p| p.spec().has_console(member))
                    .map(|p| p.id())
            }
            (_, Some(network)) => {
                self.patches
                    .patch_of_channel(header.origin.site, network, header.talkgroup)
            }
            (_, None) => self.patches.patch_of_group(header.talkgroup),
        }
    }

    fn handle_frame(
        &mut self,
        now: Instant,
        source: EndpointId,
        key: StreamKey,
        header: RadioHeader,
        arrival: Arrival<'_>,
    ) {
        let frame = arrival.audio;
        let audio = frame.is_some();
        if !self.streams.contains_key(&key) && !self.open_stream(now, source, key, header) {
            return;
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.ended {
            self.count_drop(audio, DropCause::Late);
            return;
        }
        if stream.source != source {
            // The same stream on a second path: the first arrival's path wins.
            self.count_drop(audio, DropCause::Duplicate);
            return;
        }
        match stream.seen.check(arrival.seq) {
            Seen::New => {}
            Seen::Duplicate => {
                self.count_drop(audio, DropCause::Duplicate);
                return;
            }
            Seen::TooOld => {
                self.count_drop(audio, DropCause::Late);
                return;
            }
        }
        stream.last_seen = now;
        stream.header.tx = header.tx;
        stream.header.squelch_open = header.squelch_open;
        let patch = stream.patch;
        self.patches.touch(patch, now);

        let claim = Claim::from_header(&header);
        let decision = match self.floors.get_mut(&patch) {
            Some(floor) => floor.claim(now, &claim, source),
            None => return,
        };
        self.drain_floor(now, patch);
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if !decision.has_floor() {
            if let super::floor::FloorDecision::Denied(reason) = decision {
                self.count_drop(audio, reason.drop_cause());
            }
            if header.tx == TxState::End {
                self.end_stream(now, key);
            }
            return;
        }

        // Peers and consoles: at once, as an RTP packet. Sequence numbers and timestamps pass
        // through unchanged, so every receiver can reorder and time the stream itself.
        let out_header = stream.header;
        let repr = VoiceRepr {
            sequence: arrival.seq,
            timestamp: arrival.timestamp,
            ssrc: ssrc_of(key),
            radio: out_header,
            payload: frame.map_or(&[][..], |f| &f[..]),
        };
        // The first and the last packet of a transmission this site originates go to peers
        // more than once: they tell the other gateways that this site carries the over (loop
        // rule 4), and a short over has few others to tell it. Receivers drop the copies by
        // sequence number.
        let copies = match (source, header.tx) {
            (EndpointId::Peer(_), _) | (_, TxState::Continue) => 1,
            (_, TxState::Start) => START_COPIES,
            (_, TxState::End) => END_COPIES,
        };
        for &to in &stream.ip {
            let mut t = Transmit {
                to,
                len: 0,
                buf: [0; MAX_PACKET_LEN],
            };
            if let Ok(len) = repr.emit(&mut t.buf) {
                t.len = len;
                let n = if matches!(to, EndpointId::Peer(_)) {
                    copies
                } else {
                    1
                };
                for _ in 1..n {
                    self.transmits.push_back(t.clone());
                }
                self.transmits.push_back(t);
            }
        }
        if audio && !stream.ip.is_empty() {
            self.counters.delivered += 1;
        }

        // Local radios: through the jitter buffer.
        if let Some(buffer) = stream.buffer.as_mut() {
            let estimator = self
                .estimators
                .entry(source)
                .or_insert_with(|| DelayEstimator::new(&self.config.delay));
            // A refused frame is counted by the buffer itself.
            let _ = buffer.push(now, arrival, estimator);
        } else if header.tx == TxState::End {
            self.end_stream(now, key);
        }
    }

    /// Creates the state of a stream seen for the first time; `false` if it is not relayed.
    fn open_stream(
        &mut self,
        now: Instant,
        source: EndpointId,
        key: StreamKey,
        header: RadioHeader,
    ) -> bool {
        let audio = header.squelch_open;
        if self.streams.len() >= self.config.max_streams {
            self.count_drop(audio, DropCause::Overflow);
            return false;
        }
        if let EndpointId::Peer(site) = source
            && self.peer_streams.get(&site).copied().unwrap_or(0)
                >= self.config.max_streams_per_peer
        {
            self.count_drop(audio, DropCause::PeerStreamLimit);
            return false;
        }
        let Some(patch) = self.patch_of(source, &header) else {
            self.count_drop(audio, DropCause::NoPatch);
            return false;
        };
        let Some(spec) = self.patches.get(patch).map(|p| p.spec()) else {
            return false;
        };
        let mut out = std::mem::take(&mut self.route_buf);
        out.reserve(max_destinations(spec, &self.local));
        let verdict = route(spec, &self.local, source, header.origin, &mut out);
        if verdict == RouteVerdict::Loop {
            self.route_buf = out;
            self.count_drop(audio, DropCause::Loop);
            return false;
        }
        let radios = out
            .iter()
            .filter_map(|e| match e {
                EndpointId::Radio(r) => Some(*r),
                _ => None,
            })
            .collect();
        let ip = out
            .iter()
            .copied()
            .filter(|e| !matches!(e, EndpointId::Radio(_)))
            .collect();
        self.route_buf = out;
        if let EndpointId::Peer(site) = source {
            *self.peer_streams.entry(site).or_default() += 1;
        }
        self.streams.insert(
            key,
            Stream {
                patch,
                source,
                header,
                ip,
                radios,
                buffer: None,
                has_floor: false,
                ended: false,
                last_seen: now,
                seen: SeqWindow::default(),
                next_seq: 0,
                next_timestamp: 0,
            },
        );
        self.timers
            .arm(Timer::Stream(key), Some(now + self.config.stream_timeout));
        true
    }

    /// Acts on the floor's events: who plays on which radio, keying and hang time.
    fn drain_floor(&mut self, now: Instant, patch: PatchId) {
        while let Some(event) = self.floors.get_mut(&patch).and_then(Floor::poll_event) {
            match event {
                FloorEvent::Granted { key, claim, .. } => self.on_granted(now, key, claim),
                FloorEvent::Released { key, reason } => self.on_released(now, key, reason),
                // Radios time their own hang from their last frame on air (see `play_out`).
                FloorEvent::HangStarted { .. }
                | FloorEvent::HangEnded { .. }
                | FloorEvent::Blocked { .. } => {}
            }
            self.events.push_back(EngineEvent::Floor { patch, event });
        }
        self.collect_commands();
        self.arm_floor(patch);
    }

    fn on_granted(&mut self, now: Instant, key: StreamKey, claim: Claim) {
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        // The destination network hears the claim as policy allows it, not as made: a capped
        // foreign talker must not reach the SwMI at its own priority, nor as an emergency call
        // when the destination does not honour the foreign emergency.
        let urgency = self
            .floors
            .get(&stream.patch)
            .map_or_else(|| self.policy.on_air(&claim), |f| f.policy().on_air(&claim));
        stream.has_floor = true;
        if stream.radios.is_empty() {
            return;
        }
        let target = self
            .estimators
            .get(&stream.source)
            .map_or(self.config.delay.initial, DelayEstimator::target);
        stream.buffer = Some(StreamBuffer::new(&self.config.jitter, target));
        if !self.buffered.contains(&key) {
            self.buffered.push(key);
        }
        for radio in &mut self.radios {
            if stream.radios.contains(&radio.config.id) {
                let group = radio.config.group;
                if radio
                    .tx
                    .key(now, group, urgency.priority, urgency.emergency)
                {
                    radio.playing = Some(key);
                    radio.pending_hang = false;
                    if radio.tx.is_granted() {
                        radio.queue.continue_granted(now);
                    }
                }
            }
        }
    }

    fn on_released(&mut self, now: Instant, key: StreamKey, reason: ReleaseReason) {
        if let Some(stream) = self.streams.get_mut(&key) {
            stream.has_floor = false;
            if let Some(buffer) = stream.buffer.take() {
                self.retired.add(&losses_of(buffer.counters()));
                // Back to the silence timeout of streams without a buffer.
                self.timers.arm(
                    Timer::Stream(key),
                    Some(stream.last_seen + self.config.stream_timeout),
                );
            }
        }
        let unkey = match reason {
            // The transmission is over: radios keep the channel for hang time if the floor
            // starts one, else they are released below when nothing else plays on them.
            ReleaseReason::Ended | ReleaseReason::Idle => None,
            ReleaseReason::Preempted { .. } => {
                Some((UnkeyReason::FloorLost, DropCause::FloorDenied))
            }
            // Another gateway's capture of this over is relayed instead.
            ReleaseReason::Repeats { .. } => Some((UnkeyReason::FloorLost, DropCause::SameOver)),
            ReleaseReason::TxTimeout | ReleaseReason::Forced => {
                Some((UnkeyReason::Forced, DropCause::FloorDenied))
            }
        };
        for radio in &mut self.radios {
            if radio.playing == Some(key) {
                radio.playing = None;
                match unkey {
                    Some((reason, cause)) => {
                        radio.tx.unkey(now, reason);
                        radio.queue.abort(cause);
                        radio.pending_hang = false;
                    }
                    // Play what is queued, then hang (see `play_out`).
                    None => {
                        radio.queue.end();
                        radio.pending_hang = true;
                    }
                }
            }
        }
    }

    fn end_stream(&mut self, now: Instant, key: StreamKey) {
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        if stream.ended {
            return;
        }
        stream.ended = true;
        let patch = stream.patch;
        if let Some(floor) = self.floors.get_mut(&patch) {
            floor.release(now, key);
        }
        self.drain_floor(now, patch);
    }

    fn collect_commands(&mut self) {
        for radio in &mut self.radios {
            while let Some(command) = radio.tx.poll_command() {
                self.commands.push_back(command);
            }
        }
    }

    // ---- time ----------------------------------------------------------------------------

    /// Runs every timer due at `now`: playout, stream ends, floors, patches, radios. Looks
    /// only at what is due (and at the few streams playing on local radios), however many
    /// streams and patches there are.
    pub fn handle_timeout(&mut self, now: Instant) {
        for index in 0..self.radios.len() {
            if self.radios[index].hold_until.is_some_and(|t| t <= now) {
                self.end_hold(now, index);
            }
        }
        self.play_out(now);

        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.timers.pop_due(now, &mut due);

        // Streams whose jitter buffer saw the end, and streams without one that went silent.
        self.ended.clear();
        for &key in &self.buffered {
            if self
                .streams
                .get(&key)
                .and_then(|s| s.buffer.as_ref())
                .is_some_and(StreamBuffer::is_ended)
            {
                self.ended.push(key);
            }
        }
        for timer in &due {
            let Timer::Stream(key) = *timer else { continue };
            let Some(stream) = self.streams.get(&key) else {
                continue;
            };
            // A stream that has a buffer again is looked at through `buffered`.
            if stream.buffer.is_some() {
                continue;
            }
            let silent_until = stream.last_seen + self.config.stream_timeout;
            if now >= silent_until {
                self.ended.push(key);
            } else {
                self.timers.arm(*timer, Some(silent_until));
            }
        }
        let ended = std::mem::take(&mut self.ended);
        for key in &ended {
            self.end_stream(now, *key);
            // An ended stream is kept until its silence timeout, so a late packet of it keys
            // nothing; one ended by its buffer was armed for that when the buffer went.
            let timeout = self.config.stream_timeout;
            if self
                .streams
                .get(key)
                .is_some_and(|s| s.ended && s.buffer.is_none() && now >= s.last_seen + timeout)
            {
                self.remove_stream(*key);
                self.console_streams.retain(|_, k| k != key);
                for radio in &mut self.radios {
                    if radio.capture == Some(*key) {
                        radio.capture = None;
                    }
                }
            }
        }
        self.ended = ended;
        let streams = &self.streams;
        self.buffered
            .retain(|key| streams.get(key).is_some_and(|s| s.buffer.is_some()));

        for timer in &due {
            let Timer::Floor(patch) = *timer else {
                continue;
            };
            if let Some(floor) = self.floors.get_mut(&patch)
                && floor.poll_timeout().is_some_and(|t| t <= now)
            {
                floor.handle_timeout(now);
            }
            // Acts on what fired and arms the floor's next deadline.
            self.drain_floor(now, patch);
        }
        self.due = due;

        self.patches.handle_timeout(now);
        while let Some(event) = self.patches.poll_event() {
            let PatchEvent::Dissolved { id, .. } = &event;
            let id = *id;
            self.end_patch_streams(now, id, UnkeyReason::FloorLost);
            self.floors.remove(&id);
            self.timers.forget(Timer::Floor(id));
            self.events.push_back(EngineEvent::Patch(event));
        }

        for radio in &mut self.radios {
            radio.tx.handle_timeout(now);
        }
        self.collect_commands();
        self.play_out(now);
        self.check_timers();
    }

    /// Moves frames due at `now` from jitter buffers into grant queues and out to radios.
    fn play_out(&mut self, now: Instant) {
        for &key in &self.buffered {
            let Some(buffer) = self.streams.get_mut(&key).and_then(|s| s.buffer.as_mut()) else {
                continue;
            };
            buffer.handle_timeout(now);
            while let Some(frame) = buffer.poll_frame(now) {
                for radio in &mut self.radios {
                    if radio.playing == Some(key) {
                        radio.queue.push(now, &frame.audio);
                    }
                }
            }
        }
        let hang_time = self.config.floor.hang_time;
        for radio in &mut self.radios {
            while let Some(frame) = radio.queue.poll_frame(now) {
                self.counters.delivered += 1;
                self.audio.push_back((radio.config.id, frame.audio));
            }
            if radio.pending_hang && radio.playing.is_none() && radio.queue.is_idle() {
                radio.pending_hang = false;
                radio.tx.start_hang(now, now + hang_time);
            }
        }
        self.collect_commands();
    }

    /// When [`Engine::handle_timeout`] must next be called. Cheap: the timer index's earliest
    /// entry, the streams playing on local radios, the radios and the patches' earliest
    /// deadline; it may name a moment a little early (a deadline that has since moved later),
    /// never late.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let buffered = self.buffered.iter().filter_map(|key| {
            self.streams
                .get(key)?
                .buffer
                .as_ref()
                .and_then(StreamBuffer::poll_timeout)
        });
        let radios = self
            .radios
            .iter()
            .flat_map(|r| [r.tx.poll_timeout(), r.queue.poll_timeout(), r.hold_until])
            .flatten();
        buffered
            .chain(radios)
            .chain(self.timers.next())
            .chain(self.patches.poll_timeout())
            .min()
    }

    /// Arms a floor's earliest deadline in the timer index, after anything changed it.
    fn arm_floor(&mut self, patch: PatchId) {
        let at = self.floors.get(&patch).and_then(Floor::poll_timeout);
        self.timers.arm(Timer::Floor(patch), at);
    }

    /// Forgets a stream and its timer.
    fn remove_stream(&mut self, key: StreamKey) {
        if let Some(stream) = self.streams.remove(&key)
            && let EndpointId::Peer(site) = stream.source
            && let Some(n) = self.peer_streams.get_mut(&site)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.peer_streams.remove(&site);
            }
        }
        self.timers.forget(Timer::Stream(key));
    }

    /// Debug builds: the timer index's rule (see [`timers`]) holds after a public call, so
    /// no stream or floor can miss its deadline. Tests of the engine, the simulator and the
    /// daemon run it after every input.
    fn check_timers(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        for (key, stream) in &self.streams {
            if stream.buffer.is_some() {
                assert!(
                    self.buffered.contains(key),
                    "stream {key:?} has a jitter buffer but is not listed as buffered"
                );
                continue;
            }
            let deadline = stream.last_seen + self.config.stream_timeout;
            let armed = self.timers.armed(Timer::Stream(*key));
            assert!(
                armed.is_some_and(|at| at <= deadline),
                "stream {key:?}: silence timeout {deadline:?}, armed {armed:?}"
            );
        }
        for (patch, floor) in &self.floors {
            if let Some(deadline) = floor.poll_timeout() {
                let armed = self.timers.armed(Timer::Floor(*patch));
                assert!(
                    armed.is_some_and(|at| at <= deadline),
                    "floor of {patch:?}: next timer {deadline:?}, armed {armed:?}"
                );
            }
        }
        let patches = self
            .patches
            .iter()
            .filter_map(super::patch::Patch::deadline)
            .min();
        if let Some(deadline) = patches {
            assert!(
                self.patches.poll_timeout().is_some_and(|at| at <= deadline),
                "patches: earliest deadline {deadline:?}, poll_timeout {:?}",
                self.patches.poll_timeout()
            );
        }
    }

    // ---- outputs -------------------------------------------------------------------------

    /// The next packet for a peer or console.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next 20 ms frame for a local radio's audio output.
    #[must_use]
    pub fn poll_audio(&mut self) -> Option<(RadioId, [u8; FRAME_LEN])> {
        self.audio.pop_front()
    }

    /// The next key/unkey request for a radio driver.
    #[must_use]
    pub fn poll_command(&mut self) -> Option<RadioCommand> {
        self.commands.pop_front()
    }

    /// The next event for dispatch and metrics.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }
}

/// Only the drops and concealment of a part's counters: the engine counts what it receives
/// and delivers itself, once.
fn losses_of(c: &Counters) -> Counters {
    Counters {
        received: 0,
        delivered: 0,
        ..*c
    }
}

/// A stable SSRC per stream, so a receiver's RTP stack sees one source per transmission.
fn ssrc_of(key: StreamKey) -> u32 {
    (u32::from(key.site.0) << 20) ^ key.stream.0
}

#[cfg(test)]
mod tests;
