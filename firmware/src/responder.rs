//! The board's end of the host link: UART bytes in, acknowledged commands carried out on the
//! safety core, and the board's own reports out.
//!
//! [`Responder`] speaks the board link of `docs/wire.md` ("Board link") on top of
//! [`Safety`]: it owns a [`FrameDecoder`], the safety core and one power relay per port, and
//! it is sans-IO like everything else in this crate. What it does with each frame:
//! - every frame that passes the CRC and version checks feeds the host-silence watchdog
//!   ([`Safety::host_heard`]), before anything else;
//! - `Hello` opens the session: the duplicate history is forgotten (the host's sequence numbers
//!   start afresh), every PTT is released (a new session starts from a safe state that the host
//!   then restates), `BoardInfo` and `Ack` go out. A `Hello` is always carried out, never
//!   answered from the history, so a host that restarted with a sequence number the history
//!   still holds cannot be mistaken for a retry;
//! - before the first `Hello` since reset every other command is nacked `NoSession`;
//!   `Heartbeat` is accepted at any time and never answered;
//! - `SetPtt` goes to [`Safety::request_ptt`] (keying a powered-off radio is refused
//!   `PoweredOff`); `GetPtt`, `GetTelemetry` and `GetUpdateStatus` send their report, then the
//!   ack; `SetPower` and `PowerCycle` switch the port's power relay, power cycles rate limited;
//! - a command whose sequence number *and* content match one of the last `2 × WINDOW` remembered
//!   is a retry: the remembered report and ack go out again and nothing runs twice;
//! - a frame with a bad CRC (or broken framing) is never answered; a wrong-version frame is
//!   nacked `UnsupportedVersion` in this board's version; a bad body is nacked by its seq
//!   (`Malformed`, `NoSuchPort`, `ChunkTooLong`); a board-only message is nacked `NotACommand`.
//!   Rejected frames are counted and reported as [`Fault::LinkErrors`] at most once per
//!   [`LINK_ERROR_REPORT_INTERVAL`];
//! - unprompted, the board sends `Status` every [`HEARTBEAT_INTERVAL`], `CorChanged` on every
//!   debounced COR change, and `Fault` for what the safety core did on its own (host silence,
//!   TX cap) and for refused power cycles.
//!
//! Firmware update goes to the [`Updater`] (see [`crate::update`]):
//! - `UpdateBegin` and `UpdateBeginSecure` (which names the image's security version and may
//!   carry the anti-rollback override) are the same command to the updater;
//! - `UpdateBegin` is refused `Busy` while any PTT is keyed, and from then until the update is
//!   aborted, fails or the board resets, keying is refused `UpdateInProgress`: a radio is never
//!   on the air while the board erases or writes flash;
//! - `UpdateBegin` (erase) and `UpdateVerify` (read back, CRC, signature) take long on real
//!   flash, so the board acks them only when [`Updater::step`], run a piece per
//!   [`Responder::handle_timeout`], has finished; meanwhile the main loop keeps serving the
//!   link and the safety core, and a retry of the same command is not answered twice;
//! - every phase change is reported with `UpdateStatus` (before the ack of the command that
//!   caused it);
//! - after the ack of `UpdateCommit` has been transmitted, [`Responder::wants_reset`] tells
//!   the board support code to reset into the new image;
//! - a `Hello` confirms an image on trial (it booted and talks to the host) and abandons an
//!   update not yet committed (a host that handshakes again has lost track of it, and a
//!   forgotten update would keep every radio off the air);
//! - an update left without any update command for [`UPDATE_IDLE_TIMEOUT`] is abandoned too.
//!
//! # Driving it
//! The board's main loop, with `now` from its monotonic timer:
//! 1. [`Responder::push`] the bytes the UART received; it returns how many it took and stops
//!    early only when its outgoing queue is nearly full, so push the rest after step 2;
//! 2. [`Responder::poll_transmit`] until `None`, writing each frame to the UART;
//! 3. [`Responder::handle_timeout`] when [`Responder::poll_timeout`] is reached, then step 2
//!    again.
//!
//! Nothing allocates, nothing panics on any input, and every queue is bounded.

use borderlink_protocol::link::{
    AckResult, BoardInfo, BoardMessage, Fault, FirmwareVersion, FrameDecoder, FrameRepr,
    HEARTBEAT_INTERVAL, HostMessage, LinkError, MAX_CHUNK, MAX_FRAME_LEN, MIN_TX_BREAK, Message,
    NackReason, PORTS, Port, PortMask, PowerCutCause, ResetCause, Signature, Telemetry, VERSION,
    WINDOW, encode,
};
use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_storage::nor_flash::NorFlash;
use heapless::Deque;

use crate::polarity::Polarity;
use crate::safety::{self, Event, Safety};
use crate::update::{Done, Updater};

/// How many frames wait for [`Responder::poll_transmit`]: room for the answers one received
/// frame may cause ([`RESERVE`]), a full window of commands' reports and acks, and two
/// periodic reports. Each slot is a [`BoardMessage`]: 32 bytes, the size of its largest
/// (`Telemetry`), where a [`Message`] slot would take 72 for the host's `UpdateVerify`. The
/// production image's RAM budget (16 KiB, stack included) is tight: the PEI power guard's
/// reserve grew [`RESERVE`] by a fault per port, and the queue grew with it only by what the
/// window needs.
pub const OUT_CAPACITY: usize = RESERVE + 2 * WINDOW + 2;

/// How many answered commands the board remembers for duplicate detection: the spec asks for
/// at least twice the host's window.
pub const HISTORY: usize = 2 * WINDOW;

/// The most frames one received frame can make the board send: its report and ack, a host
/// silence fault, a TX-cap fault and a radio power-cut fault per port that fell due before it,
/// and for an update command the status and ack of a deferred command it ends.
/// [`Responder::push`] stops taking bytes when fewer slots than this are free, so an answer is
/// never lost.
const RESERVE: usize = 5 + 2 * PORTS;

/// An update that hears no update command for this long is abandoned, so a host that died
/// mid-update does not leave the board refusing to key its radios.
pub const UPDATE_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest interval between two power cycles of one port, unless configured otherwise.
pub const DEFAULT_POWER_CYCLE_INTERVAL: Duration = Duration::from_secs(60);

/// The shortest time a power cycle leaves a radio off, unless configured otherwise: long enough
/// for its supply to discharge, whatever `off_ms` the host asked for.
pub const DEFAULT_MIN_POWER_OFF: Duration = Duration::from_millis(500);

/// How often a power relay that failed to switch on is retried.
pub const POWER_RETRY: Duration = Duration::from_millis(10);

/// The shortest interval between two [`Fault::LinkErrors`] reports.
pub const LINK_ERROR_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Who the board is and how its power relays behave. (The slot it runs from is the
/// [`Updater`]'s.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponderConfig {
    firmware: FirmwareVersion,
    reset_cause: ResetCause,
    power_polarity: Polarity,
    power_cycle_interval: Duration,
    min_power_off: Duration,
}

impl ResponderConfig {
    /// The running firmware and the last reset cause (read by the board support code at boot),
    /// with active-high power relays and the default power-cycle limits.
    pub const fn new(firmware: FirmwareVersion, reset_cause: ResetCause) -> Self {
        ResponderConfig {
            firmware,
            reset_cause,
            power_polarity: Polarity::ActiveHigh,
            power_cycle_interval: DEFAULT_POWER_CYCLE_INTERVAL,
            min_power_off: DEFAULT_MIN_POWER_OFF,
        }
    }

    /// Sets which level of a power relay line powers the radio.
    pub const fn with_power_polarity(mut self, polarity: Polarity) -> Self {
        self.power_polarity = polarity;
        self
    }

    /// Sets the shortest interval between two power cycles of one port.
    pub const fn with_power_cycle_interval(mut self, interval: Duration) -> Self {
        self.power_cycle_interval = interval;
        self
    }

    /// Sets the shortest time a power cycle leaves a radio off.
    pub const fn with_min_power_off(mut self, off: Duration) -> Self {
        self.min_power_off = off;
        self
    }
}

/// Frames the board rejected, by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkErrorCounts {
    /// CRC mismatches.
    pub crc: u16,
    /// Bad COBS, too short, overlong, bytes after a delimiter.
    pub framing: u16,
    /// Frames of another protocol version.
    pub version: u16,
    /// Bodies that did not parse.
    pub body: u16,
}

impl LinkErrorCounts {
    fn is_empty(&self) -> bool {
        *self == LinkErrorCounts::default()
    }
}

/// A host command, owned (update chunk data is not kept: only its offset and length, which
/// tell a retry from a new chunk; the data goes straight to the updater).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Hello,
    SetPtt {
        port: Port,
        keyed: bool,
    },
    GetPtt {
        port: Port,
    },
    SetPower {
        port: Port,
        on: bool,
    },
    PowerCycle {
        port: Port,
        off_ms: u16,
    },
    PeiKeyed {
        port: Port,
        keyed: bool,
    },
    GetTelemetry,
    /// `UpdateBegin` (`security` is `None`) or `UpdateBeginSecure`.
    UpdateBegin {
        size: u32,
        crc32: u32,
        version: FirmwareVersion,
        security: Option<u32>,
        allow_rollback: bool,
    },
    UpdateChunk {
        offset: u32,
        len: usize,
    },
    UpdateVerify {
        signature: Signature,
    },
    UpdateCommit,
    UpdateAbort,
    GetUpdateStatus,
}

impl Command {
    fn is_update(&self) -> bool {
        matches!(
            self,
            Command::UpdateBegin { .. }
                | Command::UpdateChunk { .. }
                | Command::UpdateVerify { .. }
                | Command::UpdateCommit
                | Command::UpdateAbort
                | Command::GetUpdateStatus
        )
    }
}

/// What carrying out a command came to.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Answered now: the report to send before the ack, and the ack's result.
    Done(Option<BoardMessage>, AckResult),
    /// Answered when the updater's work is done.
    Deferred,
}

/// What a valid frame asks of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Heartbeat,
    Command(Command),
    /// A message only the board sends.
    NotACommand,
}

impl Request {
    /// What a received message asks (a message the board sends itself is no command); an
    /// update chunk's data is copied to `chunk`.
    fn of(message: Message<'_>, chunk: &mut heapless::Vec<u8, MAX_CHUNK>) -> Self {
        let Ok(message) = HostMessage::try_from(message) else {
            return Request::NotACommand;
        };
        let command = match message {
            HostMessage::Heartbeat => return Request::Heartbeat,
            HostMessage::Hello => Command::Hello,
            HostMessage::SetPtt { port, keyed } => Command::SetPtt { port, keyed },
            HostMessage::GetPtt { port } => Command::GetPtt { port },
            HostMessage::SetPower { port, on } => Command::SetPower { port, on },
            HostMessage::PowerCycle { port, off_ms } => Command::PowerCycle { port, off_ms },
            HostMessage::PeiKeyed { port, keyed } => Command::PeiKeyed { port, keyed },
            HostMessage::GetTelemetry => Command::GetTelemetry,
            HostMessage::UpdateBegin {
                size,
                crc32,
                version,
            } => Command::UpdateBegin {
                size,
                crc32,
                version,
                security: None,
                allow_rollback: false,
            },
            HostMessage::UpdateBeginSecure {
                size,
                crc32,
                version,
                security_version,
                allow_rollback,
            } => Command::UpdateBegin {
                size,
                crc32,
                version,
                security: security_version,
                allow_rollback,
            },
            HostMessage::UpdateChunk { offset, data } => {
                // Parsing already refused chunks over MAX_CHUNK.
                let _ = chunk.extend_from_slice(data);
                Command::UpdateChunk {
                    offset,
                    len: data.len(),
                }
            }
            HostMessage::UpdateVerify { signature } => Command::UpdateVerify { signature },
            HostMessage::UpdateCommit => Command::UpdateCommit,
            HostMessage::UpdateAbort => Command::UpdateAbort,
            HostMessage::GetUpdateStatus => Command::GetUpdateStatus,
        };
        Request::Command(command)
    }
}

/// An answered command, kept so a retry gets the same answer without running again.
#[derive(Debug, Clone, Copy)]
struct Answered {
    seq: u16,
    command: Command,
    report: Option<BoardMessage>,
    result: AckResult,
}

/// One port's power relay.
#[derive(Debug)]
struct PowerRelay<P> {
    pin: P,
    /// Whether the relay was last driven to "powered" successfully.
    on: bool,
    /// When to switch the radio (back) on: the end of a power cycle, or a retry.
    on_at: Option<Instant>,
    /// When the last accepted power cycle began.
    last_cycle: Option<Instant>,
}

/// A port whose radio the host keyed over PEI ([`Message::PeiKeyed`]): no PTT line can unkey
/// it, so the board guards it with the radio's power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct PeiGuard {
    /// Since when the radio transmits by the host's word (the TX cap counts from here).
    armed_since: Option<Instant>,
    /// The last disarming and the arming it ended: re-armed within [`MIN_TX_BREAK`], the
    /// radio is still on the same transmission and the cap keeps counting from that arming.
    disarmed: Option<(Instant, Instant)>,
    /// A power cut whose relay write failed: retried at this time, for this cause.
    cut_retry: Option<(Instant, PowerCutCause)>,
}

/// The board's link endpoint for `N` radio ports (at most [`PORTS`]), generic over the pins
/// of [`Safety`], a power relay output `P` per port and the update flash `F`.
#[derive(Debug)]
pub struct Responder<O, I, L, P, F, const N: usize> {
    decoder: FrameDecoder<MAX_FRAME_LEN>,
    safety: Safety<O, I, L, N>,
    power: [PowerRelay<P>; N],
    /// Ports whose radio is keyed over PEI, guarded by its power relay.
    pei: [PeiGuard; N],
    config: ResponderConfig,
    updater: Updater<F>,
    /// A command whose ack waits for the updater's work (erase, verify).
    pending: Option<(u16, Command)>,
    /// When the updater's work is next due (it is stepped from `handle_timeout`).
    work_at: Option<Instant>,
    /// The last step erased flash: the board may not have heard the host since (see
    /// [`Safety::resume_listening`]).
    erased: bool,
    /// The last update command heard.
    update_heard: Instant,
    booted: Instant,
    session: bool,
    history: Deque<Answered, HISTORY>,
    out: Deque<BoardMessage, OUT_CAPACITY>,
    tx_seq: u16,
    /// Nothing sent since boot: the first frame is preceded by a lone 0x00.
    first_tx: bool,
    next_status: Instant,
    errors: LinkErrorCounts,
    errors_total: u32,
    next_error_report: Instant,
    /// Ports keyed (or whose release is being retried) after the last call into `safety`.
    keyed: PortMask,
    /// When each keyed port was keyed, as last seen.
    keyed_since: [Option<Instant>; N],
    /// Time each port has been keyed, not counting a keying still under way.
    keyed_total: [Duration; N],
    reports_dropped: u32,
}

impl<O, I, L, P, F, const N: usize> Responder<O, I, L, P, F, N>
where
    O: OutputPin,
    I: InputPin,
    L: OutputPin,
    P: OutputPin,
    F: NorFlash,
{
    const PORTS_FIT: () = assert!(N <= PORTS, "a board has at most PORTS radio ports");

    /// Takes the safety core, the power relays and the updater (with the flash and the key
    /// images must be signed with), and powers every radio (a relay that fails to switch is
    /// retried every [`POWER_RETRY`]). `now` is the boot time: uptime counts from it and the
    /// first `Status` is due at once.
    pub fn new(
        safety: Safety<O, I, L, N>,
        power: [P; N],
        config: ResponderConfig,
        updater: Updater<F>,
        now: Instant,
    ) -> Self {
        let () = Self::PORTS_FIT;
        let power = power.map(|mut pin| {
            let on = config.power_polarity.drive(&mut pin, true).is_ok();
            PowerRelay {
                pin,
                on,
                on_at: if on { None } else { Some(now + POWER_RETRY) },
                last_cycle: None,
            }
        });
        let mut responder = Responder {
            decoder: FrameDecoder::new(),
            safety,
            power,
            pei: [PeiGuard::default(); N],
            config,
            updater,
            pending: None,
            work_at: None,
            erased: false,
            update_heard: now,
            booted: now,
            session: false,
            history: Deque::new(),
            out: Deque::new(),
            tx_seq: 0,
            first_tx: true,
            next_status: now,
            errors: LinkErrorCounts::default(),
            errors_total: 0,
            next_error_report: now,
            keyed: PortMask::EMPTY,
            keyed_since: [None; N],
            keyed_total: [Duration::ZERO; N],
            reports_dropped: 0,
        };
        responder.sync_safety(now);
        responder
    }

    /// Takes bytes received from the host and answers every frame they complete.
    ///
    /// Returns how many bytes were taken. That is all of them unless the outgoing queue ran
    /// nearly full: then drain [`poll_transmit`](Self::poll_transmit) and push the rest.
    #[must_use = "bytes not taken must be pushed again after draining poll_transmit"]
    pub fn push(&mut self, now: Instant, bytes: &[u8]) -> usize {
        self.resume_after_erase(now);
        let mut taken = 0;
        while let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
            if self.out.capacity() - self.out.len() < RESERVE {
                break;
            }
            let (used, outcome) = self.decoder.push(rest);
            taken += used;
            // Copy what is needed out of the frame: it borrows the decoder's buffer.
            let outcome = outcome.map(|r| {
                r.map(|frame| {
                    let mut chunk = heapless::Vec::<u8, MAX_CHUNK>::new();
                    let request = Request::of(frame.message, &mut chunk);
                    (frame.seq, request, chunk)
                })
            });
            match outcome {
                None => {}
                Some(Ok((seq, request, chunk))) => self.handle_request(now, seq, request, &chunk),
                Some(Err(error)) => self.handle_link_error(now, error),
            }
        }
        taken
    }

    /// Writes the next frame for the host into `buf` (preceded by a lone 0x00 if it is the
    /// first since boot) and returns its length; a buffer of
    /// [`MAX_WIRE_LEN`](borderlink_protocol::link::MAX_WIRE_LEN) plus one byte always suffices.
    /// `None` when nothing is waiting, or when `buf` is too small for the next frame (which then
    /// stays queued).
    ///
    /// With nothing queued, a `Status` due at `now` goes out even if
    /// [`handle_timeout`](Self::handle_timeout) has not run yet, so a busy main loop does not
    /// delay the board's heartbeat.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        if self.out.is_empty() && now >= self.next_status {
            self.next_status = now + HEARTBEAT_INTERVAL;
            let status = self.status();
            self.queue(status);
        }
        let message = self.out.pop_front()?;
        let prefix = usize::from(self.first_tx);
        let repr = FrameRepr {
            seq: self.tx_seq,
            message: message.into(),
        };
        let written = buf.get_mut(prefix..).and_then(|b| encode(&repr, b).ok());
        let Some(len) = written else {
            // Only a short buffer gets here: every queued message is valid by construction.
            let _ = self.out.push_front(message);
            return None;
        };
        if let Some(first) = buf.first_mut().filter(|_| prefix == 1) {
            *first = 0;
        }
        self.first_tx = false;
        self.tx_seq = self.tx_seq.wrapping_add(1);
        Some(prefix + len)
    }

    /// Acts on every deadline passed at `now`: the safety core's (watchdog, TX caps, COR
    /// sampling), the end of power cycles, the periodic `Status`, the link-error report, a
    /// piece of the updater's work and the update idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.resume_after_erase(now);
        self.safety.handle_timeout(now);
        self.sync_safety(now);
        self.guard_pei(now);
        self.update_timers(now);
        for index in 0..N {
            if self.power[index].on_at.is_some_and(|at| now >= at) {
                self.switch_on(index, now);
            }
        }
        if now >= self.next_status {
            self.next_status = now + HEARTBEAT_INTERVAL;
            let status = self.status();
            // A full queue skips one Status: the next restates everything.
            self.queue(status);
        }
        if !self.errors.is_empty() && now >= self.next_error_report {
            let counts = core::mem::take(&mut self.errors);
            self.next_error_report = now + LINK_ERROR_REPORT_INTERVAL;
            self.queue(BoardMessage::Fault(Fault::LinkErrors {
                crc: counts.crc,
                framing: counts.framing,
                version: counts.version,
                body: counts.body,
            }));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called (always some time:
    /// the COR lines are sampled and `Status` is sent periodically).
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        let errors = (!self.errors.is_empty()).then_some(self.next_error_report);
        let update_idle = (self.updater.is_active() && !self.updater.is_committed())
            .then_some(self.update_heard + UPDATE_IDLE_TIMEOUT);
        let pei = (0..N).filter_map(|i| self.pei_deadline(i));
        self.power
            .iter()
            .filter_map(|p| p.on_at)
            .chain(pei)
            .chain(errors)
            .chain(self.work_at)
            .chain(update_idle)
            .fold(
                self.safety.poll_timeout().min(self.next_status),
                Instant::min,
            )
    }

    /// Drops every PTT for a safety reason (shutdown, panic handler), after trying every port;
    /// returns the first pin error.
    pub fn drop_all_ptt(&mut self, now: Instant) -> Result<(), safety::Error<O::Error>> {
        let result = self.safety.drop_all_ptt(now);
        self.sync_safety(now);
        result
    }

    /// The safety core, for inspection.
    pub fn safety(&self) -> &Safety<O, I, L, N> {
        &self.safety
    }

    /// The updater, for inspection.
    pub fn updater(&self) -> &Updater<F> {
        &self.updater
    }

    /// The updater, mutable (tests reach the flash through it).
    pub fn updater_mut(&mut self) -> &mut Updater<F> {
        &mut self.updater
    }

    /// Gives the updater (and with it the flash) back: a simulated reset boots a new board
    /// from it.
    pub fn into_updater(self) -> Updater<F> {
        self.updater
    }

    /// Whether the board must reset now to boot a committed update: the commit's ack has been
    /// handed to [`poll_transmit`](Self::poll_transmit). Flush the UART, then reset.
    pub fn wants_reset(&self) -> bool {
        self.updater.is_committed() && self.out.is_empty()
    }

    /// Whether a host has opened a session (sent `Hello`) since boot.
    pub fn is_session_open(&self) -> bool {
        self.session
    }

    /// Whether a port's radio is keyed over PEI as far as the board knows (armed by
    /// [`Message::PeiKeyed`]), `None` for no such port.
    pub fn is_pei_armed(&self, port: usize) -> Option<bool> {
        self.pei.get(port).map(|g| g.armed_since.is_some())
    }

    /// Whether a port's radio is powered (its relay last driven to on), `None` for no such port.
    pub fn is_powered(&self, port: usize) -> Option<bool> {
        self.power.get(port).map(|p| p.on)
    }

    /// Frames rejected since the last [`Fault::LinkErrors`] report.
    pub fn link_errors(&self) -> LinkErrorCounts {
        self.errors
    }

    /// Frames rejected since boot, as `Telemetry` reports them.
    pub fn link_errors_total(&self) -> u32 {
        self.errors_total
    }

    /// Reports (events, faults, `Status`) dropped because the outgoing queue was full.
    pub fn reports_dropped(&self) -> u32 {
        self.reports_dropped
    }

    fn handle_request(&mut self, now: Instant, seq: u16, request: Request, chunk: &[u8]) {
        self.safety.host_heard(now);
        self.sync_safety(now);
        let command = match request {
            Request::Heartbeat => return,
            Request::NotACommand => {
                return self.ack(seq, AckResult::Nack(NackReason::NotACommand));
            }
            Request::Command(command) => command,
        };
        if command != Command::Hello {
            if self.pending == Some((seq, command)) {
                // A retry of the command being worked on: its answer comes when the work is
                // done.
                return;
            }
            if let Some(answered) = self
                .history
                .iter()
                .find(|a| a.seq == seq && a.command == command)
                .copied()
            {
                if let Some(report) = answered.report {
                    self.queue(report);
                }
                return self.ack(seq, answered.result);
            }
        }
        if command.is_update() {
            self.update_heard = now;
        }
        let phase = self.updater.phase();
        let outcome = if self.session || command == Command::Hello {
            self.execute(now, command, chunk)
        } else {
            Outcome::Done(None, AckResult::Nack(NackReason::NoSession))
        };
        match outcome {
            Outcome::Deferred => {
                self.pending = Some((seq, command));
                self.work_at = Some(now);
            }
            Outcome::Done(report, result) => {
                // A command that moved the update to another phase reports it.
                let report = report
                    .or_else(|| (self.updater.phase() != phase).then(|| self.update_status()));
                self.answer(seq, command, report, result);
            }
        }
    }

    /// Sends a command's report and ack, and remembers them for retries.
    fn answer(
        &mut self,
        seq: u16,
        command: Command,
        report: Option<BoardMessage>,
        result: AckResult,
    ) {
        if let Some(report) = report {
            self.queue(report);
        }
        self.ack(seq, result);
        if self.history.is_full() {
            self.history.pop_front();
        }
        let _ = self.history.push_back(Answered {
            seq,
            command,
            report,
            result,
        });
    }

    /// Carries out a command.
    fn execute(&mut self, now: Instant, command: Command, chunk: &[u8]) -> Outcome {
        let ok = |report| Outcome::Done(report, AckResult::Ok);
        let nack = |reason| Outcome::Done(None, AckResult::Nack(reason));
        let result = |r: Result<(), NackReason>| match r {
            Ok(()) => Outcome::Done(None, AckResult::Ok),
            Err(reason) => Outcome::Done(None, AckResult::Nack(reason)),
        };
        match command {
            Command::Hello => {
                self.session = true;
                self.history.clear();
                for index in 0..N {
                    // A failed release is retried by the safety core and shows in Status.
                    let _ = self.safety.request_ptt(index, false, now);
                }
                self.sync_safety(now);
                // A new session's host does not know what the last one keyed over PEI (it
                // restarted, or lost the link): a radio still armed is switched off, as the
                // only release the board has for it.
                for index in 0..N {
                    if self.pei[index].armed_since.is_some() {
                        self.cut_power(index, now, PowerCutCause::NewSession);
                    }
                }
                // The image talks to a host: good enough to keep. If the record cannot be
                // written it stays on trial (GetUpdateStatus says so) and the next reset rolls
                // back, which is the safe side.
                let _ = self.updater.confirm();
                if self.updater.is_active() && !self.updater.is_committed() {
                    self.updater.abort();
                    self.pending = None;
                    self.work_at = None;
                    let status = self.update_status();
                    self.queue(status);
                }
                let mut ptt_active_low = PortMask::EMPTY;
                let mut cor_active_low = PortMask::EMPTY;
                for (i, port) in (0..N).filter_map(|i| Some((i, Port::new(i as u8)?))) {
                    if self.safety.ptt(i).map(|p| p.config().polarity())
                        == Some(Polarity::ActiveLow)
                    {
                        ptt_active_low = ptt_active_low.with(port);
                    }
                    if self.safety.cor(i).map(|c| c.config().polarity())
                        == Some(Polarity::ActiveLow)
                    {
                        cor_active_low = cor_active_low.with(port);
                    }
                }
                let info = BoardInfo {
                    firmware: self.config.firmware,
                    slot: self.updater.running_slot(),
                    ports: N as u8,
                    max_chunk: MAX_CHUNK as u16,
                    window: WINDOW as u8,
                    ptt_active_low,
                    cor_active_low,
                };
                ok(Some(BoardMessage::BoardInfo(info)))
            }
            Command::SetPtt { port, keyed } => Outcome::Done(None, self.set_ptt(now, port, keyed)),
            Command::GetPtt { port } => {
                if port.index() >= N {
                    return nack(NackReason::NoSuchPort { port: port.get() });
                }
                let keyed = self.keyed.contains(port);
                ok(Some(BoardMessage::PttState { port, keyed }))
            }
            Command::SetPower { port, on } => Outcome::Done(None, self.set_power(now, port, on)),
            Command::PeiKeyed { port, keyed } => {
                Outcome::Done(None, self.pei_keyed(now, port, keyed))
            }
            Command::PowerCycle { port, off_ms } => {
                Outcome::Done(None, self.power_cycle(now, port, off_ms))
            }
            Command::GetTelemetry => ok(Some(BoardMessage::Telemetry(self.telemetry(now)))),
            Command::UpdateBegin {
                size,
                crc32,
                version,
                security,
                allow_rollback,
            } => {
                if self.updater.is_active() {
                    return nack(NackReason::UpdateInProgress);
                }
                if !self.keyed.is_empty() || self.pei.iter().any(|g| g.armed_since.is_some()) {
                    return nack(NackReason::Busy);
                }
                match self
                    .updater
                    .begin_secure(size, crc32, version, security, allow_rollback)
                {
                    Ok(()) => Outcome::Deferred,
                    Err(reason) => nack(reason),
                }
            }
            Command::UpdateChunk { offset, .. } => result(self.updater.chunk(offset, chunk)),
            Command::UpdateVerify { signature } => match self.updater.verify(&signature) {
                Ok(()) if self.updater.is_working() => Outcome::Deferred,
                other => result(other),
            },
            Command::UpdateCommit => result(self.updater.commit()),
            Command::UpdateAbort => {
                if let Some((seq, command)) = self.pending.take() {
                    self.answer(seq, command, None, AckResult::Nack(NackReason::NoUpdate));
                }
                self.work_at = None;
                self.updater.abort();
                ok(None)
            }
            Command::GetUpdateStatus => ok(Some(self.update_status())),
        }
    }

    /// A piece of the updater's work, and the update idle timeout.
    /// After a flash erase: on a single-bank MCU the core stood still while it ran (for seconds
    /// on large sectors), deaf to the host, whose frames were lost meanwhile. That is not the
    /// host's silence, and reporting it as such would make the host start over and abandon
    /// the update; the erase's ack, sent when it ended, tells the host the board is back.
    fn resume_after_erase(&mut self, now: Instant) {
        if core::mem::take(&mut self.erased) {
            self.safety.resume_listening(now);
        }
    }

    fn update_timers(&mut self, now: Instant) {
        if self.work_at.is_some_and(|at| now >= at) {
            self.erased = self.updater.is_erasing();
            match self.updater.step() {
                None => {
                    self.work_at = self.updater.is_working().then_some(now);
                }
                Some(outcome) => {
                    self.work_at = None;
                    self.update_heard = now;
                    let result = match outcome {
                        Ok(Done::Erased | Done::Verified) => AckResult::Ok,
                        Err(reason) => AckResult::Nack(reason),
                    };
                    if let Some((seq, command)) = self.pending.take() {
                        let status = self.update_status();
                        self.answer(seq, command, Some(status), result);
                    }
                }
            }
        }
        let idle = self.updater.is_active()
            && !self.updater.is_committed()
            && !self.updater.is_working()
            && now >= self.update_heard + UPDATE_IDLE_TIMEOUT;
        if idle {
            self.updater.abort();
            let status = self.update_status();
            self.queue(status);
        }
    }

    fn update_status(&self) -> BoardMessage {
        BoardMessage::UpdateStatus {
            phase: self.updater.phase(),
            received: self.updater.received(),
            size: self.updater.size(),
        }
    }

    fn set_ptt(&mut self, now: Instant, port: Port, keyed: bool) -> AckResult {
        let index = port.index();
        let Some(relay) = self.power.get(index) else {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        };
        if keyed && (!relay.on || relay.on_at.is_some()) {
            return AckResult::Nack(NackReason::PoweredOff);
        }
        if keyed && self.updater.is_active() {
            return AckResult::Nack(NackReason::UpdateInProgress);
        }
        let result = self.safety.request_ptt(index, keyed, now);
        self.sync_safety(now);
        match result {
            Ok(()) => AckResult::Ok,
            Err(error) => AckResult::Nack(match error {
                safety::Error::NoSuchPort => NackReason::NoSuchPort { port: port.get() },
                safety::Error::LockedOut => NackReason::TxCapLockout,
                // Receiving, a release still being retried, a pin that failed, or (with a
                // zero host timeout) a host that never counts as alive: refused for now.
                safety::Error::ChannelBusy
                | safety::Error::ReleasePending
                | safety::Error::Pin(_)
                | safety::Error::HostSilent => NackReason::Busy,
            }),
        }
    }

    fn set_power(&mut self, now: Instant, port: Port, on: bool) -> AckResult {
        let index = port.index();
        if index >= N {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        }
        if !on {
            self.release_before_power_off(index, now);
        }
        let polarity = self.config.power_polarity;
        if !on && let Some(guard) = self.pei.get_mut(index) {
            // A radio switched off is off the air: nothing left to guard.
            *guard = PeiGuard::default();
        }
        let Some(relay) = self.power.get_mut(index) else {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        };
        // The host's explicit wish ends a power cycle or a retry under way.
        relay.on_at = None;
        match polarity.drive(&mut relay.pin, on) {
            Ok(()) => {
                relay.on = on;
                AckResult::Ok
            }
            Err(_) => {
                // Unknown level: count the radio as unpowered, so it is not keyed.
                relay.on = false;
                AckResult::Nack(NackReason::Busy)
            }
        }
    }

    fn power_cycle(&mut self, now: Instant, port: Port, off_ms: u16) -> AckResult {
        let index = port.index();
        let interval = self.config.power_cycle_interval;
        let Some(relay) = self.power.get(index) else {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        };
        if relay.on_at.is_some() {
            return AckResult::Nack(NackReason::Busy);
        }
        if let Some(last) = relay.last_cycle {
            let allowed = last + interval;
            if now < allowed {
                let wait = allowed - now;
                // Whole seconds, rounded up, so a host that waits that long is accepted.
                let secs = wait.as_micros().div_ceil(1_000_000);
                let retry_after_s = u16::try_from(secs).unwrap_or(u16::MAX);
                self.queue(BoardMessage::Fault(Fault::PowerCycleRateLimited { port }));
                return AckResult::Nack(NackReason::RateLimited { retry_after_s });
            }
        }
        self.release_before_power_off(index, now);
        let polarity = self.config.power_polarity;
        let off = Duration::from_millis(u64::from(off_ms)).max(self.config.min_power_off);
        let Some(relay) = self.power.get_mut(index) else {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        };
        if polarity.drive(&mut relay.pin, false).is_err() {
            return AckResult::Nack(NackReason::Busy);
        }
        relay.on = false;
        relay.on_at = Some(now + off);
        relay.last_cycle = Some(now);
        if let Some(guard) = self.pei.get_mut(index) {
            *guard = PeiGuard::default();
        }
        AckResult::Ok
    }

    /// The host keyed (or ceased) a port's radio over PEI: arm (disarm) its power guard. Arming
    /// an armed port keeps its TX cap running from the first arming, as keying a keyed PTT
    /// line does, and so does arming again less than [`MIN_TX_BREAK`] after a disarming. A radio that is not powered cannot be on the air: arming it is refused
    /// `PoweredOff`, so the host knows it is not guarded.
    fn pei_keyed(&mut self, now: Instant, port: Port, keyed: bool) -> AckResult {
        let index = port.index();
        let (Some(relay), Some(guard)) = (self.power.get(index), self.pei.get_mut(index)) else {
            return AckResult::Nack(NackReason::NoSuchPort { port: port.get() });
        };
        if !keyed {
            if let Some(since) = guard.armed_since.take() {
                guard.disarmed = Some((now, since));
            }
            return AckResult::Ok;
        }
        if !relay.on || relay.on_at.is_some() {
            return AckResult::Nack(NackReason::PoweredOff);
        }
        if guard.armed_since.is_none() {
            let carried = guard
                .disarmed
                .filter(|(at, _)| now < *at + MIN_TX_BREAK)
                .map(|(_, since)| since);
            guard.armed_since = Some(carried.unwrap_or(now));
        }
        AckResult::Ok
    }

    /// When a port's PEI guard next needs [`guard_pei`](Self::guard_pei): its TX cap, or the
    /// retry of a power cut that failed.
    fn pei_deadline(&self, index: usize) -> Option<Instant> {
        let guard = self.pei.get(index)?;
        if let Some((at, _)) = guard.cut_retry {
            return Some(at);
        }
        let cap = self.safety.ptt(index)?.config().tx_cap();
        guard.armed_since.map(|since| since + cap)
    }

    /// Cuts the power of every PEI-keyed radio at its TX cap, and retries failed cuts.
    fn guard_pei(&mut self, now: Instant) {
        for index in 0..N {
            let Some(guard) = self.pei.get(index).copied() else {
                continue;
            };
            let due = self.pei_deadline(index).is_some_and(|at| now >= at);
            if !due {
                continue;
            }
            let cause = guard
                .cut_retry
                .map_or(PowerCutCause::TxCap, |(_, cause)| cause);
            self.cut_power(index, now, cause);
        }
    }

    /// Ends a PEI-keyed radio's transmission the only way the board can: switches the radio
    /// off (its PTT line released first), for the minimum off time, then on again. Reported
    /// once as [`Fault::RadioPowerCut`]; a relay that fails to switch is retried every
    /// [`POWER_RETRY`], the port staying armed meanwhile.
    fn cut_power(&mut self, index: usize, now: Instant, cause: PowerCutCause) {
        self.release_before_power_off(index, now);
        let polarity = self.config.power_polarity;
        let off = self.config.min_power_off;
        let (Some(relay), Some(guard)) = (self.power.get_mut(index), self.pei.get_mut(index))
        else {
            return;
        };
        let first = guard.cut_retry.is_none();
        match polarity.drive(&mut relay.pin, false) {
            Ok(()) => {
                relay.on = false;
                relay.on_at = Some(now + off);
                *guard = PeiGuard::default();
            }
            Err(_) => {
                // Unknown level: counted unpowered (nothing keys it), and tried again.
                relay.on = false;
                relay.on_at = None;
                guard.cut_retry = Some((now + POWER_RETRY, cause));
            }
        }
        if first && let Some(port) = port_of(index) {
            self.queue(BoardMessage::Fault(Fault::RadioPowerCut { port, cause }));
        }
    }

    /// A radio losing power with its PTT line held would come back keyed: release it first.
    fn release_before_power_off(&mut self, index: usize, now: Instant) {
        let _ = self.safety.request_ptt(index, false, now);
        self.sync_safety(now);
    }

    fn switch_on(&mut self, index: usize, now: Instant) {
        let polarity = self.config.power_polarity;
        if let Some(relay) = self.power.get_mut(index) {
            if polarity.drive(&mut relay.pin, true).is_ok() {
                relay.on = true;
                relay.on_at = None;
            } else {
                relay.on_at = Some(now + POWER_RETRY);
            }
        }
    }

    fn handle_link_error(&mut self, now: Instant, error: LinkError) {
        self.errors_total = self.errors_total.saturating_add(1);
        let counts = &mut self.errors;
        match error {
            LinkError::BadCrc { .. } => counts.crc = counts.crc.saturating_add(1),
            LinkError::Truncated { .. }
            | LinkError::Overlong { .. }
            | LinkError::BadCobs { .. }
            | LinkError::AfterDelimiter { .. } => counts.framing = counts.framing.saturating_add(1),
            LinkError::WrongVersion { seq, .. } => {
                counts.version = counts.version.saturating_add(1);
                // Not a valid frame for the watchdog: it is not in a language the board speaks.
                let supported = VERSION;
                self.ack(
                    seq,
                    AckResult::Nack(NackReason::UnsupportedVersion { supported }),
                );
            }
            LinkError::BadBody { seq, reason } => {
                counts.body = counts.body.saturating_add(1);
                // It passed the CRC and version checks: the host is there.
                self.safety.host_heard(now);
                self.sync_safety(now);
                self.ack(seq, AckResult::Nack(NackReason::from(reason)));
            }
        }
    }

    fn ack(&mut self, seq: u16, result: AckResult) {
        self.queue(BoardMessage::Ack { seq, result });
    }

    fn queue(&mut self, message: BoardMessage) {
        if self.out.push_back(message).is_err() {
            self.reports_dropped = self.reports_dropped.saturating_add(1);
        }
    }

    /// Turns what the safety core did since the last call into reports, and keeps the PTT
    /// bookkeeping (which ports are keyed, for how long) in step with it.
    fn sync_safety(&mut self, now: Instant) {
        let before = self.keyed;
        let mut capped = PortMask::EMPTY;
        let mut silence = false;
        while let Some(event) = self.safety.poll_event() {
            match event {
                Event::HostSilence => silence = true,
                Event::TxCapReached { port } => {
                    if let Some(port) = port_of(port) {
                        capped = capped.with(port);
                        self.queue(BoardMessage::Fault(Fault::TxCapReached { port }));
                    }
                }
                Event::CorChanged { port, active, .. } => {
                    if let Some(port) = port_of(port) {
                        self.queue(BoardMessage::CorChanged { port, active });
                    }
                }
                // No wire message exists for these: Status shows the lines' state, and the
                // host sees a failed release as a PTT bit that stays set.
                Event::HostRestored
                | Event::PttPinFault { .. }
                | Event::CorPinFault { .. }
                | Event::LedPinFault => {}
            }
        }
        self.keyed = self.keyed_mask();
        if silence {
            let dropped = PortMask::from_bits(before.bits() & !self.keyed.bits() & !capped.bits())
                .unwrap_or(PortMask::EMPTY);
            self.queue(BoardMessage::Fault(Fault::HostSilence { dropped }));
            // A radio keyed over PEI does not stop with its PTT line: its host is gone, so
            // switch it off.
            for index in 0..N {
                if self.pei[index].armed_since.is_some() && self.pei[index].cut_retry.is_none() {
                    self.cut_power(index, now, PowerCutCause::HostSilence);
                }
            }
        }
        for index in 0..N {
            let since = self.safety.ptt(index).and_then(|p| p.keyed_since());
            if let Some(was) = self.keyed_since[index]
                && since != Some(was)
            {
                self.keyed_total[index] += now - was;
            }
            self.keyed_since[index] = since;
        }
    }

    /// Ports whose PTT may be keyed: keyed, or a release that failed and is being retried.
    fn keyed_mask(&self) -> PortMask {
        (0..N)
            .filter(|&i| {
                self.safety
                    .ptt(i)
                    .is_some_and(|p| p.is_keyed() || p.is_release_pending())
            })
            .filter_map(port_of)
            .collect()
    }

    fn status(&self) -> BoardMessage {
        let cor = (0..N)
            .filter(|&i| self.safety.cor(i).is_some_and(|c| c.is_active()))
            .filter_map(port_of)
            .collect();
        let power = (0..N)
            .filter(|&i| self.power[i].on)
            .filter_map(port_of)
            .collect();
        BoardMessage::Status {
            ptt: self.keyed,
            cor,
            power,
        }
    }

    fn telemetry(&self, now: Instant) -> Telemetry {
        let mut ptt_seconds = [0u32; PORTS];
        for (index, seconds) in ptt_seconds.iter_mut().enumerate().take(N) {
            let running = self.keyed_since[index].map_or(Duration::ZERO, |since| now - since);
            let total = self.keyed_total[index] + running;
            *seconds = u32::try_from(total.as_secs()).unwrap_or(u32::MAX);
        }
        Telemetry {
            uptime_s: u32::try_from((now - self.booted).as_secs()).unwrap_or(u32::MAX),
            reset_cause: self.config.reset_cause,
            firmware: self.config.firmware,
            slot: self.updater.running_slot(),
            ptt_seconds,
            link_errors: self.errors_total,
        }
    }
}

fn port_of(index: usize) -> Option<Port> {
    u8::try_from(index).ok().and_then(Port::new)
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use std::rc::Rc;
    use std::vec::Vec;

    use borderlink_protocol::link::{
        BodyError, CRC_LEN, HEADER_LEN, HOST_SILENCE_LIMIT, MAX_WIRE_LEN, frame_crc,
    };
    use embedded_hal::digital::{ErrorKind, ErrorType};
    use proptest::prelude::*;

    use super::*;
    use crate::cor::{CorConfig, CorInput};
    use crate::ptt::{PttConfig, PttOutput};
    use crate::safety::SafetyConfig;
    use crate::update::ram_flash::RamFlash;
    use crate::update::{FlashLayout, VerifyingKey};
    use borderlink_protocol::link::{Slot, UpdatePhase};

    /// A pin shared between the board and the test: the test reads what the board drove, sets
    /// what the board reads, and can make writes fail.
    #[derive(Debug, Clone, Default)]
    struct Line {
        high: Rc<Cell<bool>>,
        ever_high: Rc<Cell<bool>>,
        ever_low: Rc<Cell<bool>>,
        fail: Rc<Cell<bool>>,
    }

    impl Line {
        fn is_high(&self) -> bool {
            self.high.get()
        }
        fn set(&self, high: bool) {
            self.high.set(high);
        }
    }

    impl ErrorType for Line {
        type Error = ErrorKind;
    }

    impl OutputPin for Line {
        fn set_low(&mut self) -> Result<(), ErrorKind> {
            if self.fail.get() {
                return Err(ErrorKind::Other);
            }
            self.high.set(false);
            self.ever_low.set(true);
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), ErrorKind> {
            if self.fail.get() {
                return Err(ErrorKind::Other);
            }
            self.high.set(true);
            self.ever_high.set(true);
            Ok(())
        }
    }

    impl InputPin for Line {
        fn is_high(&mut self) -> Result<bool, ErrorKind> {
            Ok(self.high.get())
        }
        fn is_low(&mut self) -> Result<bool, ErrorKind> {
            Ok(!self.high.get())
        }
    }

    const FIRMWARE: FirmwareVersion = FirmwareVersion::new(1, 4, 2);

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    fn port(n: u8) -> Port {
        Port::new(n).unwrap()
    }

    fn ports(list: &[u8]) -> PortMask {
        list.iter().map(|&n| port(n)).collect()
    }

    type TestFlash = RamFlash<Vec<u8>, 8, 1024>;
    type Board<const N: usize> = Responder<Line, Line, Line, Line, TestFlash, N>;

    /// Two 8 KiB slots and a 2 KiB boot-state area.
    const LAYOUT: FlashLayout = FlashLayout::new(0, 8192, 8192, 16384, 2048);

    fn signer() -> ed25519_compact::KeyPair {
        ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([1; 32]))
    }

    fn updater(flash: TestFlash, running: Slot) -> Updater<TestFlash> {
        let key = VerifyingKey::from_bytes(*signer().pk);
        Updater::new(flash, LAYOUT, key, running).unwrap()
    }

    fn blank_flash() -> TestFlash {
        RamFlash::new(std::vec![0; 18432])
    }

    /// A board under test with its lines and a host-side sequence counter.
    struct Bench<const N: usize> {
        board: Board<N>,
        ptt: [Line; N],
        cor: [Line; N],
        power: [Line; N],
        now: Instant,
        seq: u16,
        rx: FrameDecoder<MAX_FRAME_LEN>,
    }

    /// PTT lines are active-low (keyed = low) so a test sees polarity at work; COR and power are
    /// active-high; the TX cap is 2 s; COR has no refusal so keying over it is allowed.
    fn bench<const N: usize>() -> Bench<N> {
        bench_on(
            PttConfig::new(Polarity::ActiveLow).with_tx_cap(Duration::from_secs(2)),
            ResponderConfig::new(FIRMWARE, ResetCause::Watchdog),
            updater(blank_flash(), Slot::B),
        )
    }

    fn bench_with<const N: usize>(ptt_config: PttConfig, config: ResponderConfig) -> Bench<N> {
        bench_on(ptt_config, config, updater(blank_flash(), Slot::A))
    }

    fn bench_on<const N: usize>(
        ptt_config: PttConfig,
        config: ResponderConfig,
        updater: Updater<TestFlash>,
    ) -> Bench<N> {
        let ptt: [Line; N] = core::array::from_fn(|_| Line::default());
        let cor: [Line; N] = core::array::from_fn(|_| Line::default());
        let power: [Line; N] = core::array::from_fn(|_| Line::default());
        let safety = Safety::new(
            ptt.clone().map(|l| PttOutput::new(l, ptt_config).unwrap()),
            cor.clone()
                .map(|l| CorInput::new(l, CorConfig::new(Polarity::ActiveHigh))),
            Line::default(),
            SafetyConfig::new().with_refuse_while_cor(false),
            ms(0),
        );
        let board = Responder::new(safety, power.clone(), config, updater, ms(0));
        Bench {
            board,
            ptt,
            cor,
            power,
            now: ms(0),
            seq: 100,
            rx: FrameDecoder::new(),
        }
    }

    /// A board message, owned (the decoder's frames borrow its buffer).
    fn owned(message: Message<'_>) -> Message<'static> {
        match message {
            Message::Ack { seq, result } => Message::Ack { seq, result },
            Message::BoardInfo(i) => Message::BoardInfo(i),
            Message::Status { ptt, cor, power } => Message::Status { ptt, cor, power },
            Message::PttState { port, keyed } => Message::PttState { port, keyed },
            Message::CorChanged { port, active } => Message::CorChanged { port, active },
            Message::Telemetry(t) => Message::Telemetry(t),
            Message::Fault(f) => Message::Fault(f),
            Message::UpdateStatus {
                phase,
                received,
                size,
            } => Message::UpdateStatus {
                phase,
                received,
                size,
            },
            other => panic!("the board sent a host message: {other:?}"),
        }
    }

    fn wire(seq: u16, message: Message<'_>) -> Vec<u8> {
        let mut buf = [0u8; MAX_WIRE_LEN];
        let n = encode(&FrameRepr { seq, message }, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    /// COBS-encodes raw frame bytes (for frames `encode` refuses to build) and adds the 0x00.
    fn cobs_wire(frame: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8];
        let mut code_at = 0;
        for &b in frame {
            if b == 0 {
                out[code_at] = (out.len() - code_at) as u8;
                code_at = out.len();
                out.push(0);
            } else {
                out.push(b);
                if out.len() - code_at == 0xff {
                    out[code_at] = 0xff;
                    code_at = out.len();
                    out.push(0);
                }
            }
        }
        out[code_at] = (out.len() - code_at) as u8;
        out.push(0);
        out
    }

    /// A raw frame: version, seq, body, and a correct CRC.
    fn raw_frame(version: u8, seq: u16, body: &[u8]) -> Vec<u8> {
        let mut f = std::vec![version];
        f.extend_from_slice(&seq.to_le_bytes());
        f.extend_from_slice(body);
        let crc = frame_crc(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    }

    impl<const N: usize> Bench<N> {
        /// Sends a message with the next host seq; returns that seq.
        fn send(&mut self, message: Message<'_>) -> u16 {
            let seq = self.seq;
            self.seq = self.seq.wrapping_add(1);
            self.push(&wire(seq, message));
            seq
        }

        fn push(&mut self, bytes: &[u8]) {
            let mut rest = bytes;
            let mut rounds = 0;
            while !rest.is_empty() {
                let n = self.board.push(self.now, rest);
                rest = &rest[n..];
                if !rest.is_empty() {
                    // Make room, as a main loop would; the answers stay visible to `recv` only
                    // if the test does not push more than the queue holds.
                    rounds += 1;
                    assert!(rounds < 1_000, "push never takes the rest");
                }
            }
        }

        /// Everything the board sends now, decoded; Status frames are dropped unless `status`.
        fn recv_all(&mut self, status: bool) -> Vec<Message<'static>> {
            let mut out = Vec::new();
            let mut buf = [0u8; MAX_WIRE_LEN + 1];
            while let Some(n) = self.board.poll_transmit(self.now, &mut buf) {
                let mut rest = &buf[..n];
                while !rest.is_empty() {
                    let (used, outcome) = self.rx.push(rest);
                    rest = &rest[used..];
                    match outcome {
                        Some(Ok(frame)) => {
                            let m = owned(frame.message);
                            if status || !matches!(m, Message::Status { .. }) {
                                out.push(m);
                            }
                        }
                        Some(Err(e)) => panic!("board sent a bad frame: {e}"),
                        None => {}
                    }
                }
            }
            out
        }

        fn recv(&mut self) -> Vec<Message<'static>> {
            self.recv_all(false)
        }

        /// Runs the board's timers up to `to` with no host traffic.
        fn run_until(&mut self, to: Instant) {
            loop {
                let next = self.board.poll_timeout();
                if next > to {
                    break;
                }
                self.now = self.now.max(next);
                self.board.handle_timeout(self.now);
            }
            self.now = to;
        }

        /// Runs the board's timers up to `to`, with a host heartbeat every 100 ms, collecting
        /// what the board sends (without Status).
        fn run_with_heartbeats(&mut self, to: Instant) -> Vec<Message<'static>> {
            let mut got = Vec::new();
            while self.now < to {
                let step = (self.now + Duration::from_millis(100)).min(to);
                self.run_until(step);
                self.send(Message::Heartbeat);
                got.extend(self.recv());
            }
            got
        }

        fn hello(&mut self) {
            let seq = self.send(Message::Hello);
            let got = self.recv();
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[1], ack(seq, AckResult::Ok));
        }
    }

    fn ack(seq: u16, result: AckResult) -> Message<'static> {
        Message::Ack { seq, result }
    }

    fn nack(seq: u16, reason: NackReason) -> Message<'static> {
        ack(seq, AckResult::Nack(reason))
    }

    fn set_ptt(n: u8, keyed: bool) -> Message<'static> {
        Message::SetPtt {
            port: port(n),
            keyed,
        }
    }

    #[test]
    fn boot_writes_a_lone_zero_then_status_with_radios_powered() {
        let mut b = bench::<4>();
        assert!(b.power.iter().all(Line::is_high), "radios powered at boot");
        assert!(b.ptt.iter().all(Line::is_high), "active-low PTT released");
        let mut buf = [0u8; MAX_WIRE_LEN + 1];
        let n = b.board.poll_transmit(ms(0), &mut buf).unwrap();
        assert_eq!(
            buf[0], 0,
            "the first write ends any half-frame the host holds"
        );
        assert_ne!(buf[1], 0);
        let mut rx = FrameDecoder::<MAX_FRAME_LEN>::new();
        let (_, frame) = rx.push(&buf[1..n]);
        assert_eq!(
            frame.unwrap().unwrap().message,
            Message::Status {
                ptt: PortMask::EMPTY,
                cor: PortMask::EMPTY,
                power: PortMask::ALL
            }
        );
        // Later frames have no prefix.
        b.run_until(ms(100));
        let n = b.board.poll_transmit(ms(100), &mut buf).unwrap();
        assert_ne!(buf[0], 0);
        assert_eq!(buf[n - 1], 0);
    }

    #[test]
    fn commands_before_hello_are_refused_no_session_but_heartbeats_are_heard() {
        let mut b = bench::<4>();
        b.recv();
        let seq = b.send(set_ptt(0, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::NoSession)]);
        assert!(b.ptt[0].is_high(), "not keyed");
        let seq = b.send(Message::GetTelemetry);
        assert_eq!(b.recv(), [nack(seq, NackReason::NoSession)]);
        // The nacked frames were heard; their silence is reported even with nothing keyed.
        b.run_until(ms(600));
        assert_eq!(
            b.recv(),
            [Message::Fault(Fault::HostSilence {
                dropped: PortMask::EMPTY
            })]
        );
        assert!(!b.board.safety().watchdog().is_alive(b.now));
        b.send(Message::Heartbeat);
        assert!(b.recv().is_empty(), "heartbeats are never answered");
        assert!(b.board.safety().watchdog().is_alive(b.now));
        assert!(!b.board.is_session_open());
    }

    #[test]
    fn hello_answers_board_info_then_ack() {
        let mut b = bench::<4>();
        b.recv();
        let seq = b.send(Message::Hello);
        assert_eq!(
            b.recv(),
            [
                Message::BoardInfo(BoardInfo {
                    firmware: FIRMWARE,
                    slot: Slot::B,
                    ports: 4,
                    max_chunk: MAX_CHUNK as u16,
                    window: WINDOW as u8,
                    // The bench's PTT lines are active-low, its COR inputs active-high.
                    ptt_active_low: PortMask::ALL,
                    cor_active_low: PortMask::EMPTY,
                }),
                ack(seq, AckResult::Ok)
            ]
        );
        assert!(b.board.is_session_open());
    }

    #[test]
    fn set_ptt_keys_at_the_line_polarity_and_get_ptt_reports_it() {
        let mut b = bench::<4>();
        b.hello();
        let seq = b.send(set_ptt(2, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(!b.ptt[2].is_high(), "active-low: keyed is low");
        assert!(b.ptt[0].is_high() && b.ptt[1].is_high() && b.ptt[3].is_high());
        let seq = b.send(Message::GetPtt { port: port(2) });
        assert_eq!(
            b.recv(),
            [
                Message::PttState {
                    port: port(2),
                    keyed: true
                },
                ack(seq, AckResult::Ok)
            ]
        );
        b.run_until(ms(100));
        assert_eq!(
            b.recv_all(true),
            [Message::Status {
                ptt: ports(&[2]),
                cor: PortMask::EMPTY,
                power: PortMask::ALL
            }]
        );
        let seq = b.send(set_ptt(2, false));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(b.ptt[2].is_high());
    }

    #[test]
    fn a_retried_command_gets_the_remembered_answer_and_runs_once() {
        let mut b = bench::<4>();
        b.hello();
        b.run_until(ms(10));
        let cycle = wire(
            7,
            Message::PowerCycle {
                port: port(1),
                off_ms: 1_000,
            },
        );
        b.push(&cycle);
        assert_eq!(b.recv(), [ack(7, AckResult::Ok)]);
        assert!(!b.power[1].is_high());
        // The same bytes again (the host missed the ack): same answer, no second cycle, which
        // would have been refused RateLimited and reported as a fault.
        b.now = ms(200);
        b.push(&cycle);
        assert_eq!(b.recv(), [ack(7, AckResult::Ok)]);
        // A query's report is replayed as remembered, not made afresh.
        let tele = wire(8, Message::GetTelemetry);
        b.push(&tele);
        let first = b.recv();
        b.run_with_heartbeats(ms(5_000));
        b.push(&tele);
        assert_eq!(b.recv(), first);
    }

    #[test]
    fn the_same_seq_with_other_content_is_a_new_command() {
        let mut b = bench::<4>();
        b.hello();
        b.push(&wire(9, set_ptt(0, true)));
        assert_eq!(b.recv(), [ack(9, AckResult::Ok)]);
        b.push(&wire(9, set_ptt(0, false)));
        assert_eq!(b.recv(), [ack(9, AckResult::Ok)]);
        assert!(b.ptt[0].is_high(), "the release ran");
    }

    #[test]
    fn history_holds_twice_the_window() {
        let mut b = bench::<4>();
        b.hello();
        let cycle = |s| {
            wire(
                s,
                Message::PowerCycle {
                    port: port(3),
                    off_ms: 0,
                },
            )
        };
        b.push(&cycle(1));
        assert_eq!(b.recv(), [ack(1, AckResult::Ok)]);
        // HISTORY - 1 more commands: seq 1 is still remembered.
        for s in 2..(1 + HISTORY as u16) {
            b.push(&wire(s, Message::GetPtt { port: port(0) }));
            // Read as the host would: it never has more than a window outstanding.
            b.recv();
        }
        b.push(&cycle(1));
        assert_eq!(b.recv(), [ack(1, AckResult::Ok)]);
        // One more pushes it out: the retry runs again and, the cycle over, is refused by the
        // rate limit.
        b.push(&wire(100, Message::GetPtt { port: port(0) }));
        b.recv();
        b.run_with_heartbeats(ms(600));
        b.push(&cycle(1));
        assert_eq!(
            b.recv(),
            [
                Message::Fault(Fault::PowerCycleRateLimited { port: port(3) }),
                nack(1, NackReason::RateLimited { retry_after_s: 60 })
            ]
        );
    }

    #[test]
    fn hello_forgets_the_history_and_releases_every_ptt() {
        let mut b = bench::<4>();
        b.hello();
        b.push(&wire(5, set_ptt(1, true)));
        b.push(&wire(6, set_ptt(3, true)));
        b.recv();
        assert!(!b.ptt[1].is_high() && !b.ptt[3].is_high());
        b.hello();
        assert!(
            b.ptt.iter().all(Line::is_high),
            "a new session starts released"
        );
        // Seq 5 is forgotten: it runs as a new command.
        b.push(&wire(5, set_ptt(1, true)));
        assert_eq!(b.recv(), [ack(5, AckResult::Ok)]);
        assert!(!b.ptt[1].is_high());
        // A Hello is carried out even when its seq and content are in the history.
        b.push(&wire(40, Message::Hello));
        assert_eq!(b.recv()[1], ack(40, AckResult::Ok));
        b.push(&wire(40, Message::Hello));
        assert_eq!(b.recv()[1], ack(40, AckResult::Ok));
        assert!(b.ptt[1].is_high());
    }

    #[test]
    fn a_bad_crc_is_never_answered_nor_heard() {
        let mut b = bench::<4>();
        b.recv();
        let mut frame = wire(3, Message::Hello);
        let n = frame.len();
        frame[n - 2] ^= 0x01; // last CRC byte (not the delimiter)
        b.push(&frame);
        assert!(b.recv().is_empty());
        assert!(!b.board.is_session_open());
        assert!(!b.board.safety().watchdog().is_alive(b.now));
        assert_eq!(b.board.link_errors().crc, 1);
        assert_eq!(b.board.link_errors_total(), 1);
    }

    #[test]
    fn a_wrong_version_is_nacked_in_the_boards_version_and_not_heard() {
        let mut b = bench::<4>();
        b.recv();
        // A version-1 host (from before the PEI power guard) is told this board speaks 2.
        b.push(&cobs_wire(&raw_frame(1, 0x0304, &[0])));
        assert_eq!(
            b.recv(),
            [nack(
                0x0304,
                NackReason::UnsupportedVersion { supported: VERSION }
            )]
        );
        assert_eq!(VERSION, 2);
        assert!(!b.board.is_session_open());
        assert!(!b.board.safety().watchdog().is_alive(b.now));
        assert_eq!(b.board.link_errors().version, 1);
    }

    #[test]
    fn bad_bodies_are_nacked_by_seq_with_the_precise_reason() {
        let mut b = bench::<4>();
        b.hello();
        // SetPtt on port 9.
        b.push(&cobs_wire(&raw_frame(VERSION, 20, &[2, 9, 1])));
        // SetPtt with a bool of 2.
        b.push(&cobs_wire(&raw_frame(VERSION, 21, &[2, 0, 2])));
        // An unknown tag.
        b.push(&cobs_wire(&raw_frame(VERSION, 22, &[99])));
        // A message only the board sends.
        b.push(&wire(
            23,
            Message::CorChanged {
                port: port(0),
                active: true,
            },
        ));
        assert_eq!(
            b.recv(),
            [
                nack(20, NackReason::NoSuchPort { port: 9 }),
                nack(21, NackReason::Malformed),
                nack(22, NackReason::Malformed),
                nack(23, NackReason::NotACommand),
            ]
        );
        assert!(b.ptt.iter().all(Line::is_high));
        assert_eq!(b.board.link_errors().body, 3);
        assert_eq!(NackReason::from(BodyError::BadBool), NackReason::Malformed);
    }

    #[test]
    fn broken_framing_is_counted_and_unanswered() {
        let mut b = bench::<4>();
        b.recv();
        // Truncated (3 bytes), bad COBS (a block cut short by the delimiter), empty frames.
        b.push(&[0x04, 0x01, 0x02, 0x03, 0x00]);
        b.push(&[0x05, 0x01, 0x00]);
        b.push(&[0x00, 0x00, 0x00]);
        assert!(b.recv().is_empty());
        assert_eq!(b.board.link_errors().framing, 2);
        // Still in step: the next frame is answered.
        let seq = b.send(Message::Hello);
        assert_eq!(b.recv()[1], ack(seq, AckResult::Ok));
    }

    #[test]
    fn ports_beyond_the_board_are_refused_no_such_port() {
        let mut b = bench::<2>();
        b.hello();
        for message in [
            set_ptt(3, true),
            Message::GetPtt { port: port(2) },
            Message::SetPower {
                port: port(2),
                on: false,
            },
            Message::PowerCycle {
                port: port(3),
                off_ms: 0,
            },
        ] {
            let seq = b.send(message);
            let n = message_port(&message);
            assert_eq!(b.recv(), [nack(seq, NackReason::NoSuchPort { port: n })]);
        }
    }

    fn message_port(m: &Message<'_>) -> u8 {
        match *m {
            Message::SetPtt { port, .. }
            | Message::GetPtt { port }
            | Message::SetPower { port, .. }
            | Message::PowerCycle { port, .. } => port.get(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn host_silence_drops_ptt_and_reports_the_dropped_ports() {
        let mut b = bench::<4>();
        b.hello();
        b.send(set_ptt(0, true));
        b.send(set_ptt(2, true));
        b.recv();
        b.run_until(ms(499));
        assert!(!b.ptt[0].is_high() && !b.ptt[2].is_high());
        assert!(b.recv().is_empty());
        // Last heard at 0 ms.
        b.run_until(ms(0) + HOST_SILENCE_LIMIT);
        assert!(
            b.ptt.iter().all(Line::is_high),
            "every PTT released at 500 ms"
        );
        assert_eq!(
            b.recv(),
            [Message::Fault(Fault::HostSilence {
                dropped: ports(&[0, 2])
            })]
        );
        // Keying is refused until the host is heard again; the frame that brings it back is
        // heard first, so its own SetPtt goes through.
        let seq = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
    }

    fn pei_keyed(n: u8, keyed: bool) -> Message<'static> {
        Message::PeiKeyed {
            port: port(n),
            keyed,
        }
    }

    fn power_cut(n: u8, cause: PowerCutCause) -> Message<'static> {
        Message::Fault(Fault::RadioPowerCut {
            port: port(n),
            cause,
        })
    }

    #[test]
    fn a_radio_keyed_over_pei_is_switched_off_within_500_ms_of_host_silence() {
        let config = ResponderConfig::new(FIRMWARE, ResetCause::PowerOn)
            .with_min_power_off(Duration::from_millis(800));
        let mut b = bench_with::<4>(PttConfig::new(Polarity::ActiveHigh), config);
        b.hello();
        // The host keyed port 1's radio with AT+CTXD and says so; port 3's radio is idle.
        let seq = b.send(pei_keyed(1, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert_eq!(b.board.is_pei_armed(1), Some(true));
        let heard = b.now;
        b.run_until(heard + HOST_SILENCE_LIMIT - Duration::from_millis(1));
        assert!(b.power[1].is_high(), "powered while the host is alive");
        // The host dies (kill -9, OOM, a hung loop): the board switches the radio off.
        b.run_until(heard + HOST_SILENCE_LIMIT);
        assert!(!b.power[1].is_high(), "the PEI-keyed radio is switched off");
        assert!(b.power[3].is_high(), "an idle radio keeps its power");
        assert_eq!(
            b.recv(),
            [
                Message::Fault(Fault::HostSilence {
                    dropped: PortMask::EMPTY
                }),
                power_cut(1, PowerCutCause::HostSilence)
            ]
        );
        assert_eq!(b.board.is_pei_armed(1), Some(false));
        // And on again after the minimum off time, unarmed.
        b.run_until(heard + HOST_SILENCE_LIMIT + Duration::from_millis(799));
        assert!(!b.power[1].is_high());
        b.run_until(heard + HOST_SILENCE_LIMIT + Duration::from_millis(800));
        assert!(
            b.power[1].is_high(),
            "power restored after the minimum off time"
        );
    }

    #[test]
    fn a_radio_keyed_over_pei_is_switched_off_at_the_boards_tx_cap() {
        // TX cap 2 s (the bench's PTT config).
        let mut b = bench::<4>();
        b.hello();
        let seq = b.send(pei_keyed(2, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        let got = b.run_with_heartbeats(ms(1_999));
        assert!(got.is_empty(), "{got:?}");
        // A repeated "keyed" does not restart the cap.
        let seq = b.send(pei_keyed(2, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(b.power[2].is_high());
        let got = b.run_with_heartbeats(ms(2_000));
        assert!(!b.power[2].is_high(), "switched off at the cap");
        assert_eq!(got, [power_cut(2, PowerCutCause::TxCap)]);
    }

    #[test]
    fn a_pei_radio_ceased_and_keyed_again_within_a_second_keeps_its_cap() {
        // TX cap 2 s; overs of 800 ms with 500 ms breaks.
        let mut b = bench::<4>();
        b.hello();
        b.send(pei_keyed(1, true));
        b.run_with_heartbeats(ms(800));
        b.send(pei_keyed(1, false));
        b.run_with_heartbeats(ms(1_300));
        b.send(pei_keyed(1, true));
        b.recv();
        let got = b.run_with_heartbeats(ms(1_999));
        assert!(got.is_empty(), "{got:?}");
        let got = b.run_with_heartbeats(ms(2_000));
        assert_eq!(
            got,
            [power_cut(1, PowerCutCause::TxCap)],
            "counted from the first over"
        );
    }

    #[test]
    fn a_ceased_pei_radio_is_not_switched_off() {
        let mut b = bench::<4>();
        b.hello();
        b.send(pei_keyed(0, true));
        b.send(pei_keyed(0, false));
        b.recv();
        b.run_until(ms(5_000));
        assert!(b.power[0].is_high());
        assert_eq!(
            b.recv(),
            [Message::Fault(Fault::HostSilence {
                dropped: PortMask::EMPTY
            })]
        );
    }

    #[test]
    fn a_new_session_switches_off_what_the_last_one_keyed_over_pei() {
        let mut b = bench::<4>();
        b.hello();
        b.send(pei_keyed(3, true));
        b.recv();
        // The daemon restarted (faster than the watchdog): its Hello knows nothing of port 3.
        let seq = b.send(Message::Hello);
        let got = b.recv();
        assert_eq!(got[0], power_cut(3, PowerCutCause::NewSession), "{got:?}");
        assert_eq!(got.last(), Some(&ack(seq, AckResult::Ok)));
        assert!(!b.power[3].is_high());
        assert_eq!(b.board.is_pei_armed(3), Some(false));
    }

    #[test]
    fn arming_an_unpowered_radio_is_refused_and_no_port_is_out_of_range() {
        let mut b = bench::<2>();
        b.hello();
        let seq = b.send(Message::SetPower {
            port: port(1),
            on: false,
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        let seq = b.send(pei_keyed(1, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::PoweredOff)]);
        let seq = b.send(pei_keyed(3, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::NoSuchPort { port: 3 })]);
    }

    #[test]
    fn tx_cap_releases_reports_and_locks_out() {
        let mut b = bench::<4>();
        b.hello();
        b.send(set_ptt(1, true));
        b.recv();
        let got = b.run_with_heartbeats(ms(2_100));
        assert_eq!(got, [Message::Fault(Fault::TxCapReached { port: port(1) })]);
        assert!(b.ptt[1].is_high());
        let seq = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::TxCapLockout)]);
        // Released by the host and cooled down (1 s): keying works again.
        b.send(set_ptt(1, false));
        b.recv();
        b.run_with_heartbeats(ms(3_200));
        let seq = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
    }

    #[test]
    fn cor_changes_are_reported_after_debounce_and_show_in_status() {
        let mut b = bench::<4>();
        b.hello();
        b.cor[3].set(true);
        let got = b.run_with_heartbeats(ms(100));
        assert_eq!(
            got,
            [Message::CorChanged {
                port: port(3),
                active: true
            }]
        );
        b.run_until(ms(200));
        let status = b.recv_all(true);
        assert_eq!(
            status.last(),
            Some(&Message::Status {
                ptt: PortMask::EMPTY,
                cor: ports(&[3]),
                power: PortMask::ALL
            })
        );
        // A glitch shorter than the debounce is never reported.
        b.cor[3].set(false);
        b.run_until(ms(205));
        b.cor[3].set(true);
        b.send(Message::Heartbeat);
        assert!(b.run_with_heartbeats(ms(400)).is_empty());
    }

    #[test]
    fn status_goes_out_every_heartbeat_interval() {
        let mut b = bench::<4>();
        b.hello();
        let mut statuses = 0;
        while b.now < ms(1_000) {
            let next = b.board.poll_timeout();
            b.now = next;
            b.board.handle_timeout(next);
            b.send(Message::Heartbeat);
            statuses += b
                .recv_all(true)
                .iter()
                .filter(|m| matches!(m, Message::Status { .. }))
                .count();
        }
        // At 100, 200, ..., 1000 ms (the one at 0 went out before the Hello's answer).
        assert_eq!(statuses, 10);
    }

    #[test]
    fn power_off_releases_ptt_and_refuses_keying() {
        let mut b = bench::<4>();
        b.hello();
        b.send(set_ptt(0, true));
        b.recv();
        let seq = b.send(Message::SetPower {
            port: port(0),
            on: false,
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(!b.power[0].is_high());
        assert!(b.ptt[0].is_high(), "released before the power went");
        assert_eq!(b.board.is_powered(0), Some(false));
        let seq = b.send(set_ptt(0, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::PoweredOff)]);
        let seq = b.send(Message::SetPower {
            port: port(0),
            on: true,
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        let seq = b.send(set_ptt(0, true));
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
    }

    #[test]
    fn a_failing_power_relay_is_refused_busy_and_counts_as_unpowered() {
        let mut b = bench::<4>();
        b.hello();
        b.power[2].fail.set(true);
        let seq = b.send(Message::SetPower {
            port: port(2),
            on: true,
        });
        assert_eq!(b.recv(), [nack(seq, NackReason::Busy)]);
        assert_eq!(b.board.is_powered(2), Some(false));
        let seq = b.send(set_ptt(2, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::PoweredOff)]);
    }

    #[test]
    fn power_cycle_switches_off_then_on_and_is_rate_limited() {
        let config = ResponderConfig::new(FIRMWARE, ResetCause::PowerOn)
            .with_power_cycle_interval(Duration::from_secs(30))
            .with_min_power_off(Duration::from_millis(300));
        let mut b = bench_with::<4>(PttConfig::new(Polarity::ActiveHigh), config);
        b.hello();
        let seq = b.send(Message::PowerCycle {
            port: port(2),
            off_ms: 100, // below the minimum: 300 ms it is
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(!b.power[2].is_high());
        let seq = b.send(Message::PowerCycle {
            port: port(2),
            off_ms: 100,
        });
        assert_eq!(b.recv(), [nack(seq, NackReason::Busy)], "already cycling");
        let seq = b.send(set_ptt(2, true));
        assert_eq!(b.recv(), [nack(seq, NackReason::PoweredOff)]);
        b.run_with_heartbeats(ms(299));
        assert!(!b.power[2].is_high());
        b.run_with_heartbeats(ms(300));
        assert!(b.power[2].is_high());
        b.run_with_heartbeats(ms(10_000));
        let seq = b.send(Message::PowerCycle {
            port: port(2),
            off_ms: 100,
        });
        assert_eq!(
            b.recv(),
            [
                Message::Fault(Fault::PowerCycleRateLimited { port: port(2) }),
                nack(seq, NackReason::RateLimited { retry_after_s: 20 })
            ]
        );
        b.run_with_heartbeats(ms(30_000));
        let seq = b.send(Message::PowerCycle {
            port: port(2),
            off_ms: 2_000,
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        // The host may end a cycle early by switching on.
        let seq = b.send(Message::SetPower {
            port: port(2),
            on: true,
        });
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(b.power[2].is_high());
    }

    #[test]
    fn telemetry_reports_uptime_reset_cause_ptt_seconds_and_link_errors() {
        let mut b = bench_on::<4>(
            PttConfig::new(Polarity::ActiveHigh),
            ResponderConfig::new(FIRMWARE, ResetCause::Brownout),
            updater(blank_flash(), Slot::B),
        );
        b.hello();
        b.send(set_ptt(0, true));
        b.run_with_heartbeats(ms(3_000));
        b.send(set_ptt(0, false));
        b.send(set_ptt(3, true));
        b.run_with_heartbeats(ms(5_500));
        // Two frames the board rejects.
        let mut bad = wire(1, Message::Heartbeat);
        bad[2] ^= 0x40;
        b.push(&bad);
        b.push(&[0x05, 0x01, 0x00]);
        b.recv();
        let seq = b.send(Message::GetTelemetry);
        assert_eq!(
            b.recv(),
            [
                Message::Telemetry(Telemetry {
                    uptime_s: 5,
                    reset_cause: ResetCause::Brownout,
                    firmware: FIRMWARE,
                    slot: Slot::B,
                    ptt_seconds: [3, 0, 0, 2],
                    link_errors: 2,
                }),
                ack(seq, AckResult::Ok)
            ]
        );
    }

    /// An image for the test key, with what the host announces and signs.
    struct TestImage {
        bytes: Vec<u8>,
        version: FirmwareVersion,
        crc32: u32,
        signature: Signature,
    }

    fn test_image(len: usize) -> TestImage {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        let version = FirmwareVersion::new(2, 0, 0);
        let mut message = borderlink_protocol::link::signed_prefix(version, len as u32).to_vec();
        message.extend_from_slice(&bytes);
        let signature = Signature::from_bytes(&signer().sk.sign(message, None));
        TestImage {
            crc32: borderlink_protocol::link::image_crc32(&bytes),
            bytes,
            version,
            signature,
        }
    }

    /// An image signed with security version `security` for the test key.
    fn secure_test_image(len: usize, security: u32) -> TestImage {
        let mut img = test_image(len);
        let mut message =
            borderlink_protocol::link::signed_prefix_v2(img.version, security, len as u32).to_vec();
        message.extend_from_slice(&img.bytes);
        img.signature = Signature::from_bytes(&signer().sk.sign(message, None));
        img
    }

    fn begin_secure(img: &TestImage, security: u32, allow_rollback: bool) -> Message<'static> {
        Message::UpdateBeginSecure {
            size: img.bytes.len() as u32,
            crc32: img.crc32,
            version: img.version,
            security_version: Some(security),
            allow_rollback,
        }
    }

    fn begin(img: &TestImage) -> Message<'static> {
        Message::UpdateBegin {
            size: img.bytes.len() as u32,
            crc32: img.crc32,
            version: img.version,
        }
    }

    fn update_status(phase: UpdatePhase, received: u32, size: u32) -> Message<'static> {
        Message::UpdateStatus {
            phase,
            received,
            size,
        }
    }

    impl<const N: usize> Bench<N> {
        /// Runs the board's pending work (it is due at once) and collects what it sends.
        fn settle(&mut self) -> Vec<Message<'static>> {
            self.run_until(self.now);
            self.recv()
        }

        /// Begin, chunks, verify: every answer as expected.
        fn transfer(&mut self, img: &TestImage) {
            self.transfer_begun(img, begin(img));
        }

        /// [`transfer`](Self::transfer) with this begin message.
        fn transfer_begun(&mut self, img: &TestImage, begin: Message<'static>) {
            let size = img.bytes.len() as u32;
            let seq = self.send(begin);
            assert!(self.recv().is_empty(), "the ack waits for the erase");
            assert_eq!(
                self.settle(),
                [
                    update_status(UpdatePhase::Receiving, 0, size),
                    ack(seq, AckResult::Ok)
                ]
            );
            for (i, data) in img.bytes.chunks(MAX_CHUNK).enumerate() {
                let seq = self.send(Message::UpdateChunk {
                    offset: (i * MAX_CHUNK) as u32,
                    data,
                });
                assert_eq!(self.recv(), [ack(seq, AckResult::Ok)]);
            }
            let seq = self.send(Message::UpdateVerify {
                signature: img.signature,
            });
            assert!(self.recv().is_empty(), "the ack waits for the checks");
            assert_eq!(
                self.settle(),
                [
                    update_status(UpdatePhase::Verified, size, size),
                    ack(seq, AckResult::Ok)
                ]
            );
        }

        /// A reset: the bootloader picks the slot from the flash and a new board starts on
        /// the same lines.
        fn reboot(self) -> (crate::update::boot::BootKind, Bench<N>) {
            let mut flash = self.board.into_updater().into_flash();
            let selection = crate::update::boot::boot(&mut flash, &LAYOUT);
            let b = bench_on(
                PttConfig::new(Polarity::ActiveLow).with_tx_cap(Duration::from_secs(2)),
                ResponderConfig::new(FIRMWARE, ResetCause::Software),
                updater(flash, selection.slot),
            );
            (selection.kind, b)
        }
    }

    #[test]
    fn an_update_over_the_link_commits_resets_and_confirms_on_hello() {
        use crate::update::boot::BootKind;
        let mut b = bench_with::<4>(
            PttConfig::new(Polarity::ActiveLow),
            ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
        );
        b.hello();
        let img = test_image(3000);
        b.transfer(&img);
        assert!(!b.board.wants_reset());
        let seq = b.send(Message::UpdateCommit);
        assert!(!b.board.wants_reset(), "not before the ack is out");
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        assert!(b.board.wants_reset());

        let (kind, mut b) = b.reboot();
        assert_eq!(kind, BootKind::Trial);
        assert!(b.board.updater().is_trial());
        let seq = b.send(Message::GetUpdateStatus);
        assert_eq!(b.recv(), [nack(seq, NackReason::NoSession)]);
        let seq = b.send(Message::Hello);
        assert_eq!(
            b.recv(),
            [
                Message::BoardInfo(BoardInfo {
                    firmware: FIRMWARE,
                    slot: Slot::B,
                    ports: 4,
                    max_chunk: MAX_CHUNK as u16,
                    window: WINDOW as u8,
                    // The bench's PTT lines are active-low, its COR inputs active-high.
                    ptt_active_low: PortMask::ALL,
                    cor_active_low: PortMask::EMPTY,
                }),
                ack(seq, AckResult::Ok)
            ]
        );
        assert!(!b.board.updater().is_trial(), "confirmed by the Hello");
        let seq = b.send(Message::GetUpdateStatus);
        assert_eq!(
            b.recv(),
            [
                update_status(UpdatePhase::Idle, 0, 0),
                ack(seq, AckResult::Ok)
            ]
        );
        let (kind, b) = b.reboot();
        assert_eq!(kind, BootKind::Normal);
        assert_eq!(b.board.updater().running_slot(), Slot::B);
    }

    #[test]
    fn an_older_signed_release_over_the_link_is_refused_unless_the_override_is_set() {
        let mut b = bench_with::<4>(
            PttConfig::new(Polarity::ActiveLow),
            ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
        );
        b.hello();
        let current = secure_test_image(3000, 3);
        b.transfer_begun(&current, begin_secure(&current, 3, false));
        b.send(Message::UpdateCommit);
        b.recv();
        let (_, mut b) = b.reboot();
        b.hello();
        assert_eq!(
            b.board.updater().security().floor,
            3,
            "confirmed by the Hello"
        );

        let old = secure_test_image(2000, 2);
        let seq = b.send(begin_secure(&old, 2, false));
        assert_eq!(b.recv(), [nack(seq, NackReason::Rollback { floor: 3 })]);
        // A release signed before security versions existed is security version 0.
        let legacy = test_image(2000);
        let seq = b.send(begin(&legacy));
        assert_eq!(b.recv(), [nack(seq, NackReason::Rollback { floor: 3 })]);
        assert_eq!(b.board.updater().phase(), UpdatePhase::Idle);
        // The engineer's override, explicitly set, is honoured; the floor stays.
        b.transfer_begun(&old, begin_secure(&old, 2, true));
        let seq = b.send(Message::UpdateCommit);
        assert_eq!(b.recv(), [ack(seq, AckResult::Ok)]);
        let (_, mut b) = b.reboot();
        b.hello();
        assert_eq!(
            b.board.updater().running_slot(),
            Slot::A,
            "the older release runs"
        );
        assert_eq!(b.board.updater().security().floor, 3);
    }

    #[test]
    fn a_trial_image_that_never_hears_hello_is_rolled_back() {
        use crate::update::boot::BootKind;
        let mut b = bench_with::<4>(
            PttConfig::new(Polarity::ActiveLow),
            ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
        );
        b.hello();
        b.transfer(&test_image(2000));
        b.send(Message::UpdateCommit);
        b.recv();
        let (kind, mut b) = b.reboot();
        assert_eq!(kind, BootKind::Trial);
        b.run_until(ms(5_000));
        let (kind, mut b) = b.reboot();
        assert_eq!(kind, BootKind::RolledBack);
        b.hello();
        b.send(Message::GetTelemetry);
        assert!(matches!(
            b.recv()[0],
            Message::Telemetry(Telemetry { slot: Slot::A, .. })
        ));
    }

    #[test]
    fn no_update_while_keyed_and_no_keying_during_an_update() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(1000);
        b.send(set_ptt(0, true));
        b.recv();
        let seq = b.send(begin(&img));
        assert_eq!(b.recv(), [nack(seq, NackReason::Busy)], "never while keyed");
        b.send(set_ptt(0, false));
        b.recv();
        let seq = b.send(begin(&img));
        assert!(b.recv().is_empty());
        // Keying is refused from the moment the update begins, even before its ack.
        let key = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [nack(key, NackReason::UpdateInProgress)]);
        assert_eq!(
            b.settle(),
            [
                update_status(UpdatePhase::Receiving, 0, 1000),
                ack(seq, AckResult::Ok)
            ]
        );
        let key = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [nack(key, NackReason::UpdateInProgress)]);
        let again = b.send(begin(&img));
        assert_eq!(b.recv(), [nack(again, NackReason::UpdateInProgress)]);
        // Releasing is always allowed.
        let release = b.send(set_ptt(1, false));
        assert_eq!(b.recv(), [ack(release, AckResult::Ok)]);
        let abort = b.send(Message::UpdateAbort);
        assert_eq!(
            b.recv(),
            [
                update_status(UpdatePhase::Idle, 0, 0),
                ack(abort, AckResult::Ok)
            ]
        );
        let key = b.send(set_ptt(1, true));
        assert_eq!(b.recv(), [ack(key, AckResult::Ok)]);
        assert!(!b.ptt[1].is_high(), "keyed (active low) after the abort");
    }

    #[test]
    fn a_flash_erase_that_stops_the_core_is_not_reported_as_host_silence() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(5000);
        let seq = b.send(begin(&img));
        // Each erase step stops the board for 2 s (a 128 KiB sector of the STM32F411): no host
        // frame gets through meanwhile, and the board's clock runs on.
        let mut got = Vec::new();
        for _ in 0..64 {
            b.board.handle_timeout(b.now);
            b.now += Duration::from_secs(2);
            got.extend(b.recv());
            if got.contains(&ack(seq, AckResult::Ok)) {
                break;
            }
        }
        assert!(got.contains(&ack(seq, AckResult::Ok)), "{got:?}");
        assert!(
            !got.iter()
                .any(|m| matches!(m, Message::Fault(Fault::HostSilence { .. }))),
            "the board's own stall reported as host silence: {got:?}"
        );
        // A real silence after the erase is still one: 500 ms from the erase's end.
        let end = b.now;
        b.run_until(end + HOST_SILENCE_LIMIT - Duration::from_millis(1));
        assert!(b.recv().is_empty());
        b.run_until(end + HOST_SILENCE_LIMIT);
        assert_eq!(
            b.recv(),
            [Message::Fault(Fault::HostSilence {
                dropped: PortMask::EMPTY
            })]
        );
    }

    #[test]
    fn a_retried_begin_is_answered_once_when_the_erase_is_done() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(5000);
        let frame = wire(60, begin(&img));
        b.push(&frame);
        b.push(&frame);
        assert!(b.recv().is_empty());
        assert_eq!(
            b.settle(),
            [
                update_status(UpdatePhase::Receiving, 0, 5000),
                ack(60, AckResult::Ok)
            ]
        );
        // A retry after the answer gets the remembered one.
        b.push(&frame);
        assert_eq!(
            b.recv(),
            [
                update_status(UpdatePhase::Receiving, 0, 5000),
                ack(60, AckResult::Ok)
            ]
        );
    }

    #[test]
    fn abort_during_the_erase_answers_the_begin_first() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(5000);
        let seq = b.send(begin(&img));
        let abort = b.send(Message::UpdateAbort);
        assert_eq!(
            b.recv(),
            [
                nack(seq, NackReason::NoUpdate),
                update_status(UpdatePhase::Idle, 0, 0),
                ack(abort, AckResult::Ok)
            ]
        );
        assert!(b.settle().is_empty(), "no late answer");
    }

    #[test]
    fn bad_images_are_nacked_and_leave_the_board_idle() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(1500);
        let seq = b.send(Message::UpdateChunk {
            offset: 0,
            data: &img.bytes[..10],
        });
        assert_eq!(b.recv(), [nack(seq, NackReason::NoUpdate)]);
        let seq = b.send(Message::UpdateBegin {
            size: 1_000_000,
            crc32: 0,
            version: img.version,
        });
        assert_eq!(
            b.recv(),
            [nack(seq, NackReason::ImageTooLarge { max: 8192 })]
        );
        let mut bad = test_image(1500);
        bad.signature.s[0] ^= 1;
        b.send(begin(&bad));
        b.settle();
        for (i, data) in bad.bytes.chunks(MAX_CHUNK).enumerate() {
            b.send(Message::UpdateChunk {
                offset: (i * MAX_CHUNK) as u32,
                data,
            });
        }
        b.recv();
        let seq = b.send(Message::UpdateVerify {
            signature: bad.signature,
        });
        assert_eq!(
            b.settle(),
            [
                update_status(UpdatePhase::Idle, 0, 0),
                nack(seq, NackReason::BadSignature)
            ]
        );
        let seq = b.send(Message::UpdateCommit);
        assert_eq!(b.recv(), [nack(seq, NackReason::NoUpdate)]);
    }

    #[test]
    fn hello_abandons_an_update_in_progress() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(3000);
        b.send(begin(&img));
        b.settle();
        b.send(Message::UpdateChunk {
            offset: 0,
            data: &img.bytes[..MAX_CHUNK],
        });
        b.recv();
        let seq = b.send(Message::Hello);
        let got = b.recv();
        assert_eq!(got[0], update_status(UpdatePhase::Idle, 0, 0));
        assert!(matches!(got[1], Message::BoardInfo(_)));
        assert_eq!(got[2], ack(seq, AckResult::Ok));
        let key = b.send(set_ptt(0, true));
        assert_eq!(b.recv(), [ack(key, AckResult::Ok)]);
    }

    #[test]
    fn an_update_left_idle_is_abandoned_so_radios_can_key_again() {
        let mut b = bench::<4>();
        b.hello();
        let img = test_image(3000);
        b.send(begin(&img));
        b.settle();
        let got = b.run_with_heartbeats(ms(29_000));
        assert!(got.is_empty(), "{got:?}");
        let got = b.run_with_heartbeats(ms(31_000));
        assert_eq!(got, [update_status(UpdatePhase::Idle, 0, 0)]);
        let key = b.send(set_ptt(0, true));
        assert_eq!(b.recv(), [ack(key, AckResult::Ok)]);
    }

    #[test]
    fn a_board_without_update_flash_refuses_every_image() {
        let lines: [Line; 2] = core::array::from_fn(|_| Line::default());
        let safety = Safety::new(
            lines
                .clone()
                .map(|l| PttOutput::new(l, PttConfig::new(Polarity::ActiveHigh)).unwrap()),
            lines
                .clone()
                .map(|l| CorInput::new(l, CorConfig::new(Polarity::ActiveHigh))),
            Line::default(),
            SafetyConfig::new(),
            ms(0),
        );
        let mut board: Responder<Line, Line, Line, Line, crate::update::NoFlash, 2> =
            Responder::new(
                safety,
                lines.clone(),
                ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
                Updater::unsupported(Slot::A),
                ms(0),
            );
        let mut bytes = wire(1, Message::Hello);
        bytes.extend(wire(
            2,
            Message::UpdateBegin {
                size: 10,
                crc32: 0,
                version: FIRMWARE,
            },
        ));
        assert_eq!(board.push(ms(0), &bytes), bytes.len());
        let mut rx = FrameDecoder::<MAX_FRAME_LEN>::new();
        let mut got = Vec::new();
        let mut buf = [0u8; MAX_WIRE_LEN + 1];
        while let Some(n) = board.poll_transmit(ms(0), &mut buf) {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                let (used, frame) = rx.push(rest);
                rest = &rest[used..];
                if let Some(Ok(frame)) = frame {
                    got.push(owned(frame.message));
                }
            }
        }
        assert!(
            got.contains(&nack(2, NackReason::ImageTooLarge { max: 0 })),
            "{got:?}"
        );
    }

    #[test]
    fn link_errors_are_reported_at_most_once_a_second() {
        let mut b = bench::<4>();
        b.hello();
        let mut bad = wire(1, Message::Heartbeat);
        let crc_byte = bad.len() - 2;
        bad[crc_byte] ^= 0x01;
        b.push(&bad);
        b.push(&bad);
        b.push(&cobs_wire(&raw_frame(3, 1, &[1])));
        let got = b.run_with_heartbeats(ms(100));
        assert_eq!(
            got,
            [
                nack(1, NackReason::UnsupportedVersion { supported: VERSION }),
                Message::Fault(Fault::LinkErrors {
                    crc: 2,
                    framing: 0,
                    version: 1,
                    body: 0
                })
            ]
        );
        b.push(&bad);
        assert!(b.run_with_heartbeats(ms(900)).is_empty());
        assert_eq!(
            b.run_with_heartbeats(ms(1_100)),
            [Message::Fault(Fault::LinkErrors {
                crc: 1,
                framing: 0,
                version: 0,
                body: 0
            })]
        );
    }

    #[test]
    fn push_stops_before_the_outgoing_queue_overflows_and_no_answer_is_lost() {
        let mut b = bench::<4>();
        b.hello();
        let mut bytes = Vec::new();
        for s in 0..40u16 {
            bytes.extend(wire(s, Message::GetPtt { port: port(1) }));
        }
        let mut rest = &bytes[..];
        let mut answers = Vec::new();
        let mut rounds = 0;
        while !rest.is_empty() {
            let n = b.board.push(b.now, rest);
            assert!(
                n < rest.len() || rounds > 0,
                "the first push must stop early"
            );
            rest = &rest[n..];
            answers.extend(b.recv());
            rounds += 1;
        }
        assert!(rounds > 1);
        let acks: Vec<u16> = answers
            .iter()
            .filter_map(|m| match m {
                Message::Ack { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(acks, (0..40).collect::<Vec<_>>());
        assert_eq!(b.board.reports_dropped(), 0);
    }

    #[test]
    fn a_short_transmit_buffer_keeps_the_frame() {
        let mut b = bench::<4>();
        let mut small = [0u8; 4];
        assert_eq!(b.board.poll_transmit(ms(0), &mut small), None);
        let mut buf = [0u8; MAX_WIRE_LEN + 1];
        assert!(b.board.poll_transmit(ms(0), &mut buf).is_some());
    }

    #[test]
    fn drop_all_ptt_releases_and_shows_in_status() {
        let mut b = bench::<4>();
        b.hello();
        b.send(set_ptt(0, true));
        b.recv();
        b.board.drop_all_ptt(b.now).unwrap();
        assert!(b.ptt[0].is_high());
        b.run_until(ms(100));
        assert!(matches!(
            b.recv_all(true).last(),
            Some(Message::Status { ptt, .. }) if ptt.is_empty()
        ));
    }

    #[test]
    fn a_failed_release_is_nacked_busy_and_status_keeps_showing_the_port() {
        let mut b = bench_with::<4>(
            PttConfig::new(Polarity::ActiveHigh),
            ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
        );
        b.hello();
        b.send(set_ptt(1, true));
        b.recv();
        b.ptt[1].fail.set(true);
        let seq = b.send(set_ptt(1, false));
        assert_eq!(b.recv(), [nack(seq, NackReason::Busy)]);
        b.run_until(ms(100));
        assert!(matches!(
            b.recv_all(true).last(),
            Some(Message::Status { ptt, .. }) if ptt.contains(port(1))
        ));
        // The safety core retries the release; once the pin works the line is released.
        b.ptt[1].fail.set(false);
        b.run_until(ms(200));
        assert!(!b.ptt[1].is_high());
        assert!(matches!(
            b.recv_all(true).last(),
            Some(Message::Status { ptt, .. }) if ptt.is_empty()
        ));
    }

    /// One piece of the hostile input stream.
    #[derive(Debug, Clone)]
    enum Piece {
        /// Any bytes.
        Garbage(Vec<u8>),
        /// A valid frame.
        Frame(u16, u8),
        /// A valid frame with one bit flipped (anywhere but the delimiter).
        Flipped(u16, u8, usize),
        /// Time passes, with the board's timers run.
        Wait(u16),
    }

    /// A host message chosen by `k`: Hello, keying, releasing, and others.
    fn pick(k: u8) -> Message<'static> {
        let p = port(k % 4);
        match k / 4 % 8 {
            0 => Message::Hello,
            1 | 2 => Message::SetPtt {
                port: p,
                keyed: true,
            },
            3 => Message::SetPtt {
                port: p,
                keyed: false,
            },
            4 => Message::Heartbeat,
            5 => Message::PowerCycle {
                port: p,
                off_ms: 10,
            },
            6 => Message::GetPtt { port: p },
            _ => Message::Status {
                ptt: PortMask::ALL,
                cor: PortMask::ALL,
                power: PortMask::ALL,
            },
        }
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Piece::Garbage),
            (any::<u16>(), any::<u8>()).prop_map(|(s, k)| Piece::Frame(s, k)),
            (any::<u16>(), any::<u8>(), any::<usize>())
                .prop_map(|(s, k, b)| Piece::Flipped(s, k, b)),
            (0u16..700).prop_map(Piece::Wait),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever bytes arrive, a PTT line is only ever driven active if the stream held a
        /// CRC-correct SetPtt { keyed: true } after a CRC-correct Hello.
        #[test]
        fn hostile_bytes_never_key_without_a_valid_set_ptt_after_hello(
            pieces in proptest::collection::vec(piece(), 0..60)
        ) {
            let mut b = bench_with::<4>(
                PttConfig::new(Polarity::ActiveHigh),
                ResponderConfig::new(FIRMWARE, ResetCause::PowerOn),
            );
            let mut oracle = FrameDecoder::<MAX_FRAME_LEN>::new();
            let mut hello_seen = false;
            let mut may_key = false;
            for piece in pieces {
                let bytes = match piece {
                    Piece::Garbage(bytes) => bytes,
                    Piece::Frame(s, k) => wire(s, pick(k)),
                    Piece::Flipped(s, k, bit) => {
                        let mut w = wire(s, pick(k));
                        let body = w.len() - 1;
                        let bit = bit % (body * 8);
                        w[bit / 8] ^= 1 << (bit % 8);
                        w
                    }
                    Piece::Wait(t) => {
                        b.run_until(b.now + Duration::from_millis(u64::from(t)));
                        b.recv();
                        continue;
                    }
                };
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let (used, outcome) = oracle.push(rest);
                    rest = &rest[used..];
                    if let Some(Ok(frame)) = outcome {
                        match frame.message {
                            Message::Hello => hello_seen = true,
                            Message::SetPtt { keyed: true, .. } if hello_seen => may_key = true,
                            _ => {}
                        }
                    }
                }
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let n = b.board.push(b.now, rest);
                    rest = &rest[n..];
                    b.recv();
                }
                if !may_key {
                    prop_assert!(!b.ptt.iter().any(|l| l.ever_high.get()));
                }
            }
        }
    }

    #[test]
    fn the_crc_covers_version_seq_and_body() {
        // Sanity of the test helper that builds raw frames: it matches `encode`.
        let raw = raw_frame(VERSION, 7, &[2, 2, 1]);
        assert_eq!(raw.len(), HEADER_LEN + 3 + CRC_LEN);
        assert_eq!(cobs_wire(&raw), wire(7, set_ptt(2, true)));
    }
}
