//! The session itself: link state, the one-command-at-a-time exchange with its timeouts and
//! retries, recovery with backoff, and the dispatch of what the radio says.
//!
//! Initialisation lives in `init.rs`, call control in `call.rs`; both
//! are further `impl RadioSession` blocks over the state defined here.

use std::collections::VecDeque;

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{AiService, Encryption, PeiParser, RegistrationState, SdsHeader};
use borderlink_protocol::sds::{
    self, DeliveryStatus, LocationReport, Progress, Reassembler, ReassemblyError, SdsKind,
    ShortReportType, StatusKind, TextChars, TlPdu, UserData,
};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::Priority;

use super::call::{Call, Keying, Rx};
use super::command::{Op, Transmit};
use super::config::{ConfigError, RadioSessionConfig};
use super::line::Line;
use super::output::{CommandError, DownReason, RadioFault, RadioOutput, ReportPdu};

/// Longest line kept from the radio: holds the longest SDS data line (2047 bits in hex).
const LINE_CAPACITY: usize = 512;

/// Most [`RadioOutput::Fault`]s waiting to be polled; further ones are only counted, so a
/// radio spewing garbage cannot grow the queue without bound.
const MAX_PENDING_FAULTS: usize = 32;

/// Where the session is with its radio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The driver has no serial port open (before [`RadioSession::link_up`], after
    /// [`RadioSession::link_down`]).
    Disconnected,
    /// Running the initialisation script.
    Initialising,
    /// Initialised: calls can be made and received.
    Ready,
    /// Down, waiting to initialise again at `retry_at`.
    Recovering {
        /// When initialisation starts again.
        retry_at: Instant,
    },
}

/// A snapshot of the session for the radio's status page and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RadioStatus {
    /// Where the session is.
    pub state: LinkState,
    /// The identity the radio last reported, once checked.
    pub identity: Option<Tsi>,
    /// The last signal strength reported, in dBm.
    pub signal_dbm: Option<i16>,
    /// Transmit demanded or granted.
    pub transmitting: bool,
    /// Another party is talking on a call the radio plays.
    pub receiving: bool,
    /// Faults that were counted but not queued (more than 32 waiting).
    pub faults_suppressed: u64,
    /// The registration state the radio last reported (`+CREG`), `None` before it said or
    /// when its profile does not ask.
    pub registration: Option<RegistrationState>,
    /// End-to-end encryption of the call the radio is in, as it last reported it (`+CTICN`,
    /// `+CTCC`, `+CTXG`); `None` when it is in no call or did not say.
    pub call_encryption: Option<Encryption>,
}

impl RadioStatus {
    /// Whether the radio can carry calls: initialised, and registered on its network as far
    /// as it said.
    pub fn usable(&self) -> bool {
        self.state == LinkState::Ready
            && self
                .registration
                .is_none_or(RegistrationState::is_registered)
    }
}

/// What the radio said about itself at initialisation (`+GMI`, `+GMM`, `+GMR`, `+CNUMS`);
/// empty fields for what it was not asked or refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadioIdentification {
    /// The manufacturer, as printed.
    pub manufacturer: Option<String>,
    /// The model, as printed.
    pub model: Option<String>,
    /// The software revision, as printed.
    pub revision: Option<String>,
    /// The groups among its static identities, in the order it listed them.
    pub groups: Vec<Tsi>,
}

impl RadioIdentification {
    /// Most groups kept from `+CNUMS`.
    pub const MAX_GROUPS: usize = 64;
    /// Longest identification text kept, in characters.
    pub const MAX_TEXT: usize = 64;
}

/// The command in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    pub(super) op: Op,
    deadline: Instant,
    /// Times sent so far.
    attempts: u8,
}

/// The sans-IO PEI session of one TETRA radio.
///
/// # Driving it
/// 1. Create it with [`RadioSession::new`]; it starts [`LinkState::Disconnected`].
/// 2. When the serial port is open, call [`link_up`](Self::link_up); when it fails or closes,
///    [`link_down`](Self::link_down).
/// 3. Feed every chunk read from the port to [`handle_bytes`](Self::handle_bytes), and the
///    engine's `RadioCommand::Key`/`Unkey` to [`key`](Self::key)/[`unkey`](Self::unkey).
/// 4. When [`poll_timeout`](Self::poll_timeout) is due, call
///    [`handle_timeout`](Self::handle_timeout) (early or repeated calls are harmless).
/// 5. After every one of these calls, write every [`poll_transmit`](Self::poll_transmit) to
///    the port in order, and act on every [`poll_event`](Self::poll_event) in order (pass
///    [`RadioOutput::engine_event`] to the engine, start and stop audio capture on
///    `ReceiveStart`/`ReceiveEnd`); then ask `poll_timeout` again.
///
/// Nothing here blocks, reads a clock or panics, whatever the radio sends.
#[derive(Debug)]
pub struct RadioSession {
    pub(super) config: RadioSessionConfig,
    parser: PeiParser<LINE_CAPACITY>,
    pub(super) state: LinkState,
    pub(super) queue: VecDeque<Op>,
    pub(super) in_flight: Option<InFlight>,
    transmits: VecDeque<Transmit>,
    outputs: VecDeque<RadioOutput>,
    pending_faults: usize,
    faults_suppressed: u64,
    /// Wait before the next re-initialisation.
    pub(super) backoff: Duration,
    /// What the engine was last told: `None` before anything was said.
    pub(super) reported_up: Option<bool>,
    /// `ATE0` succeeded: an echo from now on means the radio lost its settings.
    pub(super) echo_off: bool,
    /// The individual identity `AT+CNUMF?` is reporting.
    pub(super) reported_identity: Option<PeiIdentity>,
    /// The checked identity.
    pub(super) identity: Option<Tsi>,
    pub(super) next_signal: Option<Instant>,
    signal_dbm: Option<i16>,
    /// A call instance the radio may still transmit on from before it went down; ceased as
    /// soon as it answers again.
    pub(super) owed_cease: Option<u16>,
    /// The group call the radio is in, as far as it said.
    pub(super) call: Option<Call>,
    /// Another party is talking.
    pub(super) rx: Option<Rx>,
    /// The engine wants this radio to transmit (or it did, and a cease is pending a call
    /// instance).
    pub(super) tx: Option<Keying>,
    /// The continuous air-time count (`air_time.rs`).
    pub(super) air: super::air_time::AirClock,
    /// The registration state last reported.
    pub(super) registration: Option<RegistrationState>,
    /// The radio refused `AT+CREG?`: not asked again until the next initialisation.
    pub(super) registration_refused: bool,
    /// Maker, model, software and groups.
    pub(super) identification: RadioIdentification,
    /// Parts of concatenated texts (protocol 0x8A) waiting for the rest, per sender.
    pub(super) texts: Box<TextParts>,
}

/// The reassembler of concatenated texts a session keeps: four messages in progress (from
/// different senders, or one sender's overlapping ones), eight parts and 1 KiB of text each.
pub(super) type TextParts = Reassembler<Option<Tsi>, 4, 8, 1024>;

/// How long the parts of a concatenated text wait for the rest: every part goes out on its own
/// SDS within seconds of the first, so a minute is plenty and frees the slot for others.
pub const TEXT_PARTS_TIMEOUT: Duration = Duration::from_secs(60);

impl RadioSession {
    /// A session for one radio, disconnected until [`link_up`](Self::link_up).
    pub fn new(config: RadioSessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(RadioSession {
            backoff: config.backoff_initial,
            config,
            parser: PeiParser::new(),
            state: LinkState::Disconnected,
            queue: VecDeque::with_capacity(16),
            in_flight: None,
            transmits: VecDeque::with_capacity(4),
            outputs: VecDeque::with_capacity(16),
            pending_faults: 0,
            faults_suppressed: 0,
            reported_up: None,
            echo_off: false,
            reported_identity: None,
            identity: None,
            next_signal: None,
            signal_dbm: None,
            owed_cease: None,
            call: None,
            rx: None,
            tx: None,
            air: super::air_time::AirClock::default(),
            registration: None,
            registration_refused: false,
            identification: RadioIdentification::default(),
            texts: Box::new(Reassembler::new(TEXT_PARTS_TIMEOUT)),
        })
    }

    /// The settings.
    pub fn config(&self) -> &RadioSessionConfig {
        &self.config
    }

    /// Whether the radio may still be on the air: a key request is under way, or a cease
    /// command is queued or not yet answered. Shutdown keeps serving the port until this is
    /// false (or its time is up), so an owed cease is never left unsent.
    pub fn cease_pending(&self) -> bool {
        self.tx.is_some()
            || self
                .in_flight
                .is_some_and(|f| matches!(f.op, Op::Cease { .. }))
            || self.queue.iter().any(|op| matches!(op, Op::Cease { .. }))
    }

    /// Where the session is, and what it knows about the radio.
    pub fn status(&self) -> RadioStatus {
        RadioStatus {
            state: self.state,
            identity: self.identity,
            signal_dbm: self.signal_dbm,
            transmitting: self.tx.is_some_and(|k| k.is_wanted()),
            receiving: self.rx.is_some(),
            faults_suppressed: self.faults_suppressed,
            registration: self.registration,
            call_encryption: self.call.and_then(|c| c.encryption()),
        }
    }

    /// What the radio said about itself at its last initialisation.
    pub fn identification(&self) -> &RadioIdentification {
        &self.identification
    }

    /// The serial port is open (again): start from a clean parser and initialise at once.
    pub fn link_up(&mut self, now: Instant) {
        if self.state != LinkState::Disconnected {
            // Reopened without being told it closed: whatever was going on is gone.
            self.go_down(DownReason::LinkLost);
        }
        self.parser.reset();
        self.start_init();
        self.pump(now);
    }

    /// The radio's supply was switched off (the interface board ended a transmission keyed over
    /// PEI that nothing else could end): whatever it was doing is gone, an owed cease with it
    /// (a radio without power transmits nothing), and it boots afresh when the power is back.
    /// Reported down; initialised again after the first backoff.
    pub fn power_lost(&mut self, now: Instant) {
        if self.state == LinkState::Disconnected {
            return;
        }
        self.go_down(DownReason::Rebooted {
            evidence: "its power was switched off by the interface board",
        });
        self.owed_cease = None;
        self.state = LinkState::Recovering {
            retry_at: now + self.config.backoff_initial,
        };
    }

    /// The serial port failed or closed: the radio is down until [`link_up`](Self::link_up).
    pub fn link_down(&mut self, _now: Instant) {
        if self.state == LinkState::Disconnected {
            return;
        }
        self.go_down(DownReason::LinkLost);
        self.state = LinkState::Disconnected;
        // Bytes not yet written can no longer reach the radio.
        self.transmits.clear();
        self.parser.reset();
    }

    /// Bytes read from the serial port, in any chunking.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == LinkState::Disconnected {
            return;
        }
        let mut input = bytes;
        loop {
            let (used, parsed) = self.parser.push(input);
            input = input.get(used..).unwrap_or_default();
            let Some(parsed) = parsed else { break };
            let line = Line::from_parsed(parsed, &self.config.reboot_banners);
            self.on_line(now, line);
        }
        self.pump(now);
    }

    /// Fires what is due at `now`: command timeouts and retries, re-initialisation, the
    /// grant wait and the signal query.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(f) = self.in_flight
            && now >= f.deadline
        {
            if f.attempts <= self.config.command_retries {
                self.send(now, f.op, f.attempts.saturating_add(1));
            } else {
                self.in_flight = None;
                self.fail(
                    now,
                    DownReason::NotResponding {
                        command: f.op.name(),
                        attempts: f.attempts,
                    },
                );
            }
        }
        if let LinkState::Recovering { retry_at } = self.state
            && now >= retry_at
        {
            self.start_init();
        }
        self.call_timeout(now);
        self.air_time_timeout(now);
        self.texts.handle_timeout(now);
        if self.state == LinkState::Ready
            && let Some(due) = self.next_signal
            && now >= due
        {
            for op in [Op::SignalQuality, Op::Registration] {
                if op == Op::Registration
                    && (!self.config.profile.registration || self.registration_refused)
                {
                    continue;
                }
                let asked = self.in_flight.is_some_and(|f| f.op == op) || self.queue.contains(&op);
                if !asked {
                    self.queue.push_back(op);
                }
            }
            self.next_signal = Some(now + self.config.signal_interval);
        }
        self.pump(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let recovery = match self.state {
            LinkState::Recovering { retry_at } => Some(retry_at),
            _ => None,
        };
        let signal = match self.state {
            LinkState::Ready => self.next_signal,
            _ => None,
        };
        [
            self.in_flight.map(|f| f.deadline),
            recovery,
            signal,
            self.call_deadline(),
            self.air_time_deadline(),
            self.texts.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next command line to write to the port.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RadioOutput> {
        let out = self.outputs.pop_front()?;
        if matches!(out, RadioOutput::Fault(_)) {
            self.pending_faults = self.pending_faults.saturating_sub(1);
        }
        Some(out)
    }

    pub(super) fn emit(&mut self, out: RadioOutput) {
        self.outputs.push_back(out);
    }

    pub(super) fn fault(&mut self, fault: RadioFault) {
        if self.pending_faults < MAX_PENDING_FAULTS {
            self.pending_faults += 1;
            self.outputs.push_back(RadioOutput::Fault(fault));
        } else {
            self.faults_suppressed = self.faults_suppressed.saturating_add(1);
        }
    }

    /// A full TSI for an identity the radio printed, bare SSIs taken as its own network's.
    pub(super) fn resolve(&self, id: PeiIdentity) -> Tsi {
        id.resolve(self.config.identity.mcc(), self.config.identity.mnc())
    }

    /// Queues a call-control command ahead of routine queries and short data, behind earlier
    /// call control: a reply to a unit must never delay a transmit demand. (Nothing but
    /// `AT+CTSDS` changes the service an `AT+CMGS` uses, so call control may pass between them.)
    pub(super) fn enqueue_urgent(&mut self, op: Op) {
        let at = self
            .queue
            .iter()
            .position(|q| matches!(q, Op::SignalQuality | Op::SelectSds { .. } | Op::SendSds(_)))
            .unwrap_or(self.queue.len());
        self.queue.insert(at, op);
    }

    /// Queues `AT+CUTXC=<cc>` after the command in flight, unless it is already queued.
    pub(super) fn cease(&mut self, cc: u16) {
        let op = Op::Cease { cc };
        if !self.queue.contains(&op) {
            self.enqueue_urgent(op);
        }
    }

    /// Sends the next queued command if none is in flight.
    pub(super) fn pump(&mut self, now: Instant) {
        while matches!(self.state, LinkState::Initialising | LinkState::Ready)
            && self.in_flight.is_none()
        {
            let Some(op) = self.queue.pop_front() else {
                break;
            };
            self.send(now, op, 1);
        }
        self.track_air_time(now);
    }

    /// Writes `op` and waits for its answer; `attempts` counts this sending.
    fn send(&mut self, now: Instant, op: Op, attempts: u8) {
        self.in_flight = Some(InFlight {
            op,
            deadline: now + self.config.command_timeout,
            attempts,
        });
        match op.encode(self.config.tsi_form, &self.config.profile.extra) {
            Some(t) => {
                self.transmits.push_back(t);
                self.note_sent(op);
            }
            None => self.on_final(now, Err(CommandError::Unsendable)),
        }
    }

    /// The radio cannot be used: report it, remember a transmission it may still be making,
    /// forget every call.
    pub(super) fn go_down(&mut self, reason: DownReason) {
        if self.rx.take().is_some() {
            self.emit(RadioOutput::ReceiveEnd);
        }
        if self.reported_up != Some(false) {
            self.reported_up = Some(false);
            self.emit(RadioOutput::Down { reason });
        }
        if let Some(k) = self.tx.take() {
            if let Some(cc) = k.owed_cease() {
                self.owed_cease = Some(cc);
            }
            if let Some(out) = k.down_output() {
                self.emit(out);
            }
        }
        let pending_cease = self
            .in_flight
            .map(|f| f.op)
            .into_iter()
            .chain(self.queue.iter().copied())
            .find_map(|op| match op {
                Op::Cease { cc } => Some(cc),
                _ => None,
            });
        if pending_cease.is_some() {
            self.owed_cease = pending_cease;
        }
        self.queue.clear();
        self.in_flight = None;
        self.call = None;
        self.echo_off = false;
        self.reported_identity = None;
        self.next_signal = None;
    }

    /// Down, and initialise again after the backoff, which doubles up to its ceiling.
    pub(super) fn fail(&mut self, now: Instant, reason: DownReason) {
        self.go_down(reason);
        self.state = LinkState::Recovering {
            retry_at: now + self.backoff,
        };
        self.backoff = (self.backoff + self.backoff).min(self.config.backoff_max);
    }

    fn on_line(&mut self, now: Instant, line: Line) {
        match line {
            Line::Final(result) => self.on_final(now, result),
            Line::Echo if self.echo_off => self.fail(
                now,
                DownReason::Rebooted {
                    evidence: "command echo is back on",
                },
            ),
            Line::Echo => {}
            Line::Banner => {
                if matches!(self.state, LinkState::Initialising | LinkState::Ready) {
                    self.fail(
                        now,
                        DownReason::Rebooted {
                            evidence: "start-up banner",
                        },
                    );
                }
            }
            Line::Incoming(c) => self.on_incoming(c),
            Line::Connected(c) => self.on_connected(c),
            Line::Grant(g) => self.on_grant(g),
            Line::Ceased(c) => self.on_tx_ceased(c),
            Line::Released(r) => self.on_released(r),
            Line::Interrupted(i) => self.on_interrupted(i),
            Line::Wait(w) => self.on_wait(w),
            Line::Sds { header, data } => self.on_sds(now, header, &data),
            Line::Signal(q) => {
                self.signal_dbm = q.dbm();
                self.emit(RadioOutput::SignalQuality { dbm: q.dbm() });
            }
            Line::OwnNumber(n) => self.on_own_number(n),
            Line::Registration(r) => self.on_registration(r),
            Line::StaticIdentity(n) => self.on_static_identity(n),
            Line::Identified(kind, text) => self.on_identified(kind, text),
            Line::Fault(e) => self.fault(RadioFault::Line(e)),
            Line::Ignored => {}
        }
    }

    /// The answer to the command in flight; a final result with nothing in flight (a late
    /// answer to a command given up on) is dropped.
    fn on_final(&mut self, now: Instant, result: Result<(), CommandError>) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        let op = f.op;
        if op.is_init() {
            self.init_result(now, op, result);
            return;
        }
        match op {
            Op::SelectSds { .. } | Op::SendSds(_) => self.sds_result(op, result),
            Op::SignalQuality => match result {
                // The radio has answered a routine query while ready: it is stable, so the
                // next failure starts the backoff afresh.
                Ok(()) => self.backoff = self.config.backoff_initial,
                Err(error) => self.fault(RadioFault::Refused {
                    command: op.name(),
                    error,
                }),
            },
            _ => self.call_result(op, result),
        }
    }

    fn on_sds(&mut self, now: Instant, header: SdsHeader, data: &[u8]) {
        let from = header.calling.map(|id| self.resolve(id));
        let kind = match header.ai_service {
            AiService::Status => Some(SdsKind::Status),
            AiService::SdsType4 => Some(SdsKind::Type4),
            _ => None,
        };
        match kind.map(|k| sds::decode(k, data, header.bits)) {
            Some(Ok(UserData::Status(value))) => match value.kind() {
                StatusKind::ShortReport {
                    report,
                    message_reference,
                } => self.emit(RadioOutput::DeliveryReport {
                    from,
                    reference: message_reference,
                    status: short_report_status(report),
                    via: ReportPdu::ShortReport,
                }),
                _ => self.emit(RadioOutput::Status { from, value }),
            },
            Some(Ok(UserData::Text(t))) if t.chars().is_ok() => self.emit(RadioOutput::Text {
                from,
                text: t.chars().map(Iterator::collect).unwrap_or_default(),
                parts: 1,
            }),
            Some(Ok(UserData::UdhText(t))) if TextChars::new(t.coding, t.text).is_ok() => {
                match self.texts.push(now, from, &t) {
                    Ok(Progress::Complete(whole)) => {
                        let text = whole.chars().map(Iterator::collect).unwrap_or_default();
                        let parts = u8::try_from(whole.parts()).unwrap_or(u8::MAX);
                        self.emit(RadioOutput::Text { from, text, parts });
                    }
                    // The rest is still to come, or this part came twice.
                    Ok(Progress::Incomplete { .. } | Progress::Duplicate) => {}
                    // A header without concatenation: a whole text by itself.
                    Err(ReassemblyError::NotConcatenated) => self.emit(RadioOutput::Text {
                        from,
                        text: TextChars::new(t.coding, t.text)
                            .map(Iterator::collect)
                            .unwrap_or_default(),
                        parts: 1,
                    }),
                    // Too big to keep: passed on as it came.
                    Err(_) => self.emit(RadioOutput::Sds {
                        from,
                        ai_service: header.ai_service,
                        bits: header.bits,
                        data: data.to_vec(),
                    }),
                }
            }
            Some(Ok(UserData::Tl {
                pdu: TlPdu::Report(report),
                ..
            })) => self.emit(RadioOutput::DeliveryReport {
                from,
                reference: report.message_reference,
                status: report.status,
                via: ReportPdu::Report,
            }),
            Some(Ok(UserData::Tl {
                pdu: TlPdu::Ack(ack),
                ..
            })) => self.emit(RadioOutput::DeliveryReport {
                from,
                reference: ack.message_reference,
                status: ack.status,
                via: ReportPdu::Ack,
            }),
            Some(Ok(UserData::Lip(report))) => self.emit(RadioOutput::Location {
                from,
                report: LocationReport::from(&report),
            }),
            Some(Ok(UserData::LipLong(report))) => self.emit(RadioOutput::Location {
                from,
                report: LocationReport::from(&report),
            }),
            other => {
                if let Some(Err(error)) = other {
                    self.fault(RadioFault::Sds { from, error });
                }
                self.emit(RadioOutput::Sds {
                    from,
                    ai_service: header.ai_service,
                    bits: header.bits,
                    data: data.to_vec(),
                });
            }
        }
    }
}

/// The delivery status an SDS-SHORT REPORT type stands for (EN 300 392-2 table 29.23 against
/// table 29.16).
fn short_report_status(report: ShortReportType) -> DeliveryStatus {
    match report {
        ShortReportType::MessageReceived => DeliveryStatus::RECEIVED,
        ShortReportType::MessageConsumed => DeliveryStatus::CONSUMED,
        ShortReportType::ProtocolOrEncodingNotSupported => DeliveryStatus::PROTOCOL_NOT_SUPPORTED,
        ShortReportType::DestinationMemoryFull => DeliveryStatus::MEMORY_FULL_DISCARDED,
    }
}

/// A call priority as the engine carries it; a level above 15 (filtered out where the radio's
/// `+CTICN` is read) is undefined, never an emergency.
pub(super) fn call_priority(level: u8) -> Priority {
    Priority::new(level).unwrap_or(Priority::UNDEFINED)
}
