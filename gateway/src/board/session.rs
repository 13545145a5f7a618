//! [`BoardSession`]: the host's end of the board link, as a sans-IO state machine.

use std::collections::VecDeque;

use borderlink_protocol::link::{
    AckResult, BOARD_SILENCE_LIMIT, BoardInfo, BoardMessage, Fault, FrameDecoder, FrameRepr,
    HEARTBEAT_INTERVAL, LinkError, MAX_FRAME_LEN, MAX_RETRIES, MAX_WIRE_LEN, Message, NackReason,
    PORTS, Port, WINDOW, encode,
};
use borderlink_protocol::time::{Duration, Instant};

use super::command::{Command, InFlight};
use super::event::{BoardEvent, DownReason, PowerAction};
use super::stats::LinkStats;
use super::update::UpdateCommand;

/// Events kept for [`BoardSession::poll_event`] before new ones are dropped (and counted): a
/// driver that drains after every call never comes near it.
pub const EVENT_CAPACITY: usize = 1024;

/// How long the session waits before handshaking again after a board refused the `Hello` or
/// answered in another protocol version, unless configured otherwise.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// How a session starts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The sequence number of the first frame. The driver may pick it at random, so a daemon
    /// restarted within the board's memory of sequence numbers starts elsewhere (the board
    /// also forgets them at every `Hello`).
    pub first_seq: u16,
    /// The wait before handshaking again after a refused `Hello` or a wrong-version board.
    pub retry_backoff: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            first_seq: 0,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
        }
    }
}

/// Why a command could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The link is not up; unlike PTT and power states, which are restated when it comes up,
    /// a one-off command is not kept for later.
    #[error("board link is not up: {command} not sent")]
    NotUp {
        /// The command's name.
        command: &'static str,
    },
}

/// Where the link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// `Hello` queued or in flight; the board's `BoardInfo` once it has arrived.
    Connecting { info: Option<BoardInfo> },
    /// The handshake is done.
    Up { info: BoardInfo },
    /// Handshaking again at `until` (after a refusal or a wrong-version board).
    Waiting { until: Instant },
}

/// What the session knows and wants of one port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PortState {
    /// PTT as requested by the engine.
    want_ptt: bool,
    /// PTT as the board last said (ack, `Status`, fault); `None` when unknown.
    board_ptt: Option<bool>,
    /// Power as requested; `None` until something was requested (the board powers radios at
    /// boot).
    want_power: Option<bool>,
    /// COR as last reported to the driver.
    cor: bool,
    /// The port's radio is keyed over PEI (the board guards it with its power relay).
    want_pei: bool,
}

/// The host's end of the board link (`docs/wire.md`, "Board link"), sans-IO.
///
/// It opens the link (a lone 0x00, then `Hello`, answered by `BoardInfo` and an ack), keeps the
/// board's watchdog fed (a `Heartbeat` whenever it has sent nothing for
/// [`HEARTBEAT_INTERVAL`]), sends the PTT and power states the engine asks for as commands
/// (at most the board's window unacknowledged, each retried with the same sequence number and
/// bytes after its ack timeout, at most [`MAX_RETRIES`] times), and turns what the board sends
/// into [`BoardEvent`]s.
///
/// The link goes down — [`BoardEvent::Down`], after which the engine must count every radio on
/// the board as unable to transmit — when the board is silent for [`BOARD_SILENCE_LIMIT`], when
/// a command exhausts its retries, when the board nacks `NoSession` (it has reset), when it
/// reports that it stopped hearing the host, or when the driver reopens the port. The session
/// then handshakes again at once and, once up, restates every PTT released (a lost link forgets
/// every requested key: the engine asks again for an over still live) and every requested power
/// state.
///
/// # PTT
/// PTT is keyed only on request ([`set_ptt`](Self::set_ptt)) and a release is never dropped:
/// it goes ahead of everything queued, it supersedes an unacknowledged key of the same port,
/// it is resent whenever the board's `Status` shows a port keyed that should not be, and a
/// board that loses the host drops PTT on its own within 500 ms. A new session's `Hello`
/// releases every PTT on the board before anything is restated. When the board releases a
/// port by itself ([`BoardEvent::PttDropped`]) or refuses a key, the request is cleared: the
/// engine asks again if it still wants to transmit.
///
/// # Driving it
/// The board task of the daemon, with `now` from the monotonic clock:
/// 1. [`handle_bytes`](Self::handle_bytes) with whatever the serial port delivered;
///    [`set_ptt`](Self::set_ptt), [`set_power`](Self::set_power),
///    [`power_cycle`](Self::power_cycle) and [`request_telemetry`](Self::request_telemetry)
///    as the engine asks; [`reconnect`](Self::reconnect) after reopening the port;
/// 2. [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout) is
///    reached;
/// 3. after any of these, [`poll_transmit`](Self::poll_transmit) until `None`, writing each
///    buffer to the port (its ack timeout counts from that call), and
///    [`poll_event`](Self::poll_event) until `None`.
#[derive(Debug)]
pub struct BoardSession {
    config: SessionConfig,
    link: Link,
    decoder: FrameDecoder<MAX_FRAME_LEN>,
    next_seq: u16,
    /// Commands not yet sent, releases first.
    queue: VecDeque<Command>,
    /// Commands sent and not yet acknowledged, oldest first; at most the window.
    in_flight: Vec<InFlight>,
    /// Write a lone 0x00 before the next frame.
    sync: bool,
    last_tx: Option<Instant>,
    last_rx: Instant,
    /// The board's next sequence number, if known.
    board_seq: Option<u16>,
    ports: [PortState; PORTS],
    /// The other protocol version last reported.
    incompatible: Option<u8>,
    events: VecDeque<BoardEvent>,
    stats: LinkStats,
}

impl BoardSession {
    /// A session that starts handshaking at once: the first transmit is a lone 0x00 and
    /// `Hello`. Nothing is requested: every PTT will be stated released.
    pub fn new(now: Instant, config: SessionConfig) -> Self {
        let mut session = BoardSession {
            config,
            link: Link::Connecting { info: None },
            decoder: FrameDecoder::new(),
            next_seq: config.first_seq,
            queue: VecDeque::new(),
            in_flight: Vec::with_capacity(WINDOW),
            sync: true,
            last_tx: None,
            last_rx: now,
            board_seq: None,
            ports: [PortState::default(); PORTS],
            incompatible: None,
            events: VecDeque::new(),
            stats: LinkStats::default(),
        };
        session.start_handshake();
        session
    }

    /// The driver reopened the serial port (after an unplug or an error): forget any partial
    /// frame and handshake again, as after any link loss.
    pub fn reconnect(&mut self, now: Instant) {
        self.decoder.reset();
        self.board_seq = None;
        self.go_down(DownReason::Reconnected);
        self.last_rx = now;
        self.start_handshake();
    }

    /// Requests a port's PTT keyed (`on`) or released. Kept as the port's wanted state: sent
    /// now if the link is up, restated whenever it comes up. Deadlines already passed at `now`
    /// are acted on first.
    pub fn set_ptt(&mut self, now: Instant, port: Port, on: bool) {
        self.handle_timeout(now);
        self.ports[port.index()].want_ptt = on;
        if self.is_up() {
            self.request_ptt(port, on);
        }
    }

    /// Requests every PTT released (shutdown, a panic, the engine losing its state).
    pub fn release_all(&mut self, now: Instant) {
        for port in Port::ALL {
            self.set_ptt(now, port, false);
        }
    }

    /// Tells the board that the port's radio is (`keyed`) or no longer is on the air because
    /// the host keyed it over PEI (`AT+CTXD`, `ATD`): while so armed, the board switches the
    /// radio off if the host falls silent or at its TX cap, since no PTT line can unkey it.
    /// Arming goes ahead of everything queued; a lost link forgets it (the new session's
    /// `Hello` switches off whatever the board still had armed), a request made while the link
    /// is down is sent once it is up.
    pub fn set_pei_keyed(&mut self, now: Instant, port: Port, keyed: bool) {
        self.handle_timeout(now);
        let state = &mut self.ports[port.index()];
        if state.want_pei == keyed {
            return;
        }
        state.want_pei = keyed;
        if self.is_up() {
            self.queue
                .retain(|c| !matches!(c, Command::PeiKeyed { port: p, .. } if *p == port));
            let command = Command::PeiKeyed { port, keyed };
            if keyed {
                self.queue.push_front(command);
            } else {
                self.queue.push_back(command);
            }
        }
    }

    /// Whether a port's radio is reported keyed over PEI to the board.
    pub fn pei_keyed(&self, port: Port) -> bool {
        self.ports[port.index()].want_pei
    }

    /// Requests a port's radio powered on or off. Kept as the port's wanted state like PTT.
    pub fn set_power(&mut self, now: Instant, port: Port, on: bool) {
        self.handle_timeout(now);
        self.ports[port.index()].want_power = Some(on);
        if self.is_up() {
            self.queue
                .retain(|c| !matches!(c, Command::SetPower { port: p, .. } if *p == port));
            self.queue.push_back(Command::SetPower { port, on });
        }
    }

    /// Asks the board to switch a radio off for `off_ms` and on again (the board rate-limits
    /// this and may enforce a longer off time). A request already queued for the port is not
    /// repeated.
    pub fn power_cycle(
        &mut self,
        now: Instant,
        port: Port,
        off_ms: u16,
    ) -> Result<(), CommandError> {
        self.handle_timeout(now);
        let command = Command::PowerCycle { port, off_ms };
        if !self.is_up() {
            return Err(CommandError::NotUp {
                command: command.name(),
            });
        }
        if !self
            .queue
            .iter()
            .any(|c| matches!(c, Command::PowerCycle { port: p, .. } if *p == port))
        {
            self.queue.push_back(command);
        }
        Ok(())
    }

    /// Asks the board for its telemetry, reported as [`BoardEvent::Telemetry`].
    pub fn request_telemetry(&mut self, now: Instant) -> Result<(), CommandError> {
        self.handle_timeout(now);
        if !self.is_up() {
            return Err(CommandError::NotUp {
                command: Command::GetTelemetry.name(),
            });
        }
        if !self.queue.contains(&Command::GetTelemetry) {
            self.queue.push_back(Command::GetTelemetry);
        }
        Ok(())
    }

    /// Queues a firmware-update command (normally the [`super::UpdateDriver`]'s); its outcome
    /// is reported as [`BoardEvent::UpdateAcked`]. Update commands go in order behind whatever
    /// is queued, within the board's window like every command.
    pub fn send_update(
        &mut self,
        now: Instant,
        command: UpdateCommand,
    ) -> Result<(), CommandError> {
        self.handle_timeout(now);
        if !self.is_up() {
            return Err(CommandError::NotUp {
                command: command.message().name(),
            });
        }
        self.queue.push_back(Command::Update(command));
        Ok(())
    }

    /// Withdraws the update chunks not yet sent (the driver goes back after an `OutOfOrder`
    /// nack); returns how many.
    pub fn cancel_update_chunks(&mut self) -> usize {
        let before = self.queue.len();
        self.queue
            .retain(|c| !matches!(c, Command::Update(UpdateCommand::Chunk { .. })));
        before - self.queue.len()
    }

    /// Takes bytes received from the board.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (used, outcome) = self.decoder.push(rest);
            rest = rest.get(used..).unwrap_or_default();
            // A board message borrows nothing: it outlives the frame, which borrows the
            // decoder's buffer.
            let outcome = outcome.map(|r| r.map(|f| (f.seq, BoardMessage::try_from(f.message))));
            match outcome {
                None => {}
                Some(Ok((seq, Ok(message)))) => self.handle_frame(now, seq, message),
                // A host message: an echo, a loopback plug.
                Some(Ok((_, Err(_)))) => self.stats.not_from_board += 1,
                Some(Err(error)) => self.handle_link_error(now, error),
            }
        }
    }

    /// Acts on every deadline passed at `now`: retries, board silence, the handshake backoff.
    pub fn handle_timeout(&mut self, now: Instant) {
        let busy = self.busy_until();
        match self.link {
            Link::Waiting { until } if now >= until => self.start_handshake(),
            Link::Up { .. } if now >= self.silent_at(busy) => {
                self.go_down(DownReason::BoardSilent);
                self.start_handshake();
            }
            _ => {}
        }
        let mut exhausted = None;
        for entry in &mut self.in_flight {
            if entry.resend || now < deadline(entry, busy) {
                continue;
            }
            if entry.retries < MAX_RETRIES {
                entry.resend = true;
            } else {
                exhausted = Some((entry.command, entry.seq));
                break;
            }
        }
        match exhausted {
            // No board answered: keep knocking, with a new sequence number.
            Some((Command::Hello, _)) => self.start_handshake(),
            Some((command, seq)) => {
                self.go_down(DownReason::NoAck {
                    command: command.name(),
                    seq,
                });
                self.start_handshake();
            }
            None => {}
        }
    }

    /// The next bytes to write to the serial port: a retry, a new command (within the window),
    /// or a heartbeat; `None` when nothing is due.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if matches!(self.link, Link::Waiting { .. }) {
            return None;
        }
        if let Some(entry) = self.in_flight.iter_mut().find(|e| e.resend) {
            entry.resend = false;
            entry.retries += 1;
            entry.sent_at = now;
            let bytes = entry.bytes.clone();
            self.stats.retransmissions += 1;
            return Some(self.sent(now, bytes));
        }
        let window = match self.link {
            Link::Up { info } => usize::from(info.window).clamp(1, WINDOW),
            _ => 1,
        };
        // A command that supersedes one in flight frees that slot as it goes.
        let frees_a_slot = self
            .queue
            .front()
            .is_some_and(|next| self.in_flight.iter().any(|e| e.command.superseded_by(next)));
        if (self.in_flight.len() < window || frees_a_slot)
            && let Some(command) = self.queue.pop_front()
        {
            let seq = self.take_seq();
            let bytes = frame(seq, command.message());
            self.in_flight
                .retain(|e| !e.command.superseded_by(&command));
            self.in_flight.push(InFlight {
                seq,
                command,
                bytes: bytes.clone(),
                sent_at: now,
                retries: 0,
                resend: false,
            });
            return Some(self.sent(now, bytes));
        }
        if self
            .last_tx
            .is_none_or(|last| now >= last + HEARTBEAT_INTERVAL)
        {
            let seq = self.take_seq();
            let bytes = frame(seq, Message::Heartbeat);
            return Some(self.sent(now, bytes));
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) (and then
    /// [`poll_transmit`](Self::poll_transmit), for heartbeats) must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Link::Waiting { until } = self.link {
            return Some(until);
        }
        let heartbeat = self.last_tx.map(|last| last + HEARTBEAT_INTERVAL);
        let busy = self.busy_until();
        let silence = self.is_up().then_some(self.silent_at(busy));
        self.in_flight
            .iter()
            .filter(|e| !e.resend)
            .map(|e| deadline(e, busy))
            .chain(heartbeat)
            .chain(silence)
            .min()
    }

    /// When the board's silence takes the link down: [`BOARD_SILENCE_LIMIT`] after its last
    /// frame, or later while it works on a command whose ack may take longer than that — until
    /// that ack is due. Erasing a flash sector stops a single-bank MCU such as the production
    /// board's STM32F411 for seconds (its core cannot fetch code from the flash being erased),
    /// so it sends nothing, heartbeats included, until the erase is over; a handshake in the
    /// middle would abandon the update. No radio is keyed meanwhile: the board refuses PTT
    /// while an update is under way. `busy` is [`busy_until`](Self::busy_until).
    fn silent_at(&self, busy: Option<Instant>) -> Instant {
        let normal = self.last_rx + BOARD_SILENCE_LIMIT;
        busy.map_or(normal, |busy| busy.max(normal))
    }

    /// While the board works on a command whose ack may take longer than the silence limit
    /// (`UpdateBegin`'s erase, `UpdateVerify`): when the last such ack is due. Until then the
    /// board may answer nothing, so neither its silence nor an unanswered ordinary command
    /// sent meanwhile counts against it (those are retried once it is due, see
    /// [`deadline`]). Only a first attempt counts: a board silent past the ack deadline of the
    /// longest erase is gone, not busy, and is found so at once rather than after the retries.
    fn busy_until(&self) -> Option<Instant> {
        self.in_flight
            .iter()
            .filter(|e| {
                e.retries == 0
                    && !e.resend
                    && e.command
                        .message()
                        .ack_timeout()
                        .is_some_and(|t| t > BOARD_SILENCE_LIMIT)
            })
            .map(InFlight::deadline)
            .max()
    }

    /// The oldest event not yet reported.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<BoardEvent> {
        self.events.pop_front()
    }

    /// Whether the handshake is done and the link alive.
    pub fn is_up(&self) -> bool {
        matches!(self.link, Link::Up { .. })
    }

    /// The board's identity, while the link is up.
    pub fn board_info(&self) -> Option<BoardInfo> {
        match self.link {
            Link::Up { info } => Some(info),
            _ => None,
        }
    }

    /// The other protocol version the board was last found to speak, until a handshake
    /// succeeds.
    pub fn incompatible_version(&self) -> Option<u8> {
        self.incompatible
    }

    /// Whether a port's PTT is requested keyed.
    pub fn ptt_requested(&self, port: Port) -> bool {
        self.ports[port.index()].want_ptt
    }

    /// A port's PTT as the board last reported it; `None` when unknown (link down, or not yet
    /// reported since the handshake).
    pub fn board_ptt(&self, port: Port) -> Option<bool> {
        self.ports[port.index()].board_ptt
    }

    /// Link counters.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    fn handle_link_error(&mut self, now: Instant, error: LinkError) {
        match error {
            LinkError::BadCrc { .. } => self.stats.bad_crc += 1,
            LinkError::Truncated { .. }
            | LinkError::Overlong { .. }
            | LinkError::BadCobs { .. }
            | LinkError::AfterDelimiter { .. } => self.stats.framing_errors += 1,
            LinkError::BadBody { .. } => self.stats.bad_body += 1,
            LinkError::WrongVersion { got, .. } => {
                self.stats.wrong_version += 1;
                if self.incompatible != Some(got) {
                    self.incompatible = Some(got);
                    self.emit(BoardEvent::WrongVersion { got });
                }
                self.go_down(DownReason::WrongVersion { got });
                if !matches!(self.link, Link::Waiting { .. }) {
                    self.wait(now);
                }
            }
        }
    }

    fn handle_frame(&mut self, now: Instant, seq: u16, message: BoardMessage) {
        self.stats.frames_received += 1;
        if let Some(expected) = self.board_seq {
            let gap = seq.wrapping_sub(expected);
            // A jump backwards (a rebooted board) is not a loss.
            if gap < 0x8000 {
                self.stats.board_frames_lost += u64::from(gap);
            }
        }
        self.board_seq = Some(seq.wrapping_add(1));
        self.last_rx = now;
        match message {
            BoardMessage::Ack { seq, result } => self.handle_ack(now, seq, result),
            BoardMessage::BoardInfo(board) => {
                if let Link::Connecting { info } = &mut self.link {
                    *info = Some(board);
                }
            }
            BoardMessage::Status { ptt, cor, power } if self.is_up() => {
                self.emit(BoardEvent::Status { ptt, cor, power });
                for port in Port::ALL {
                    self.cor_seen(port, cor.contains(port));
                    self.ptt_seen(port, ptt.contains(port));
                }
            }
            BoardMessage::PttState { port, keyed } if self.is_up() => self.ptt_seen(port, keyed),
            BoardMessage::CorChanged { port, active } if self.is_up() => {
                self.cor_seen(port, active)
            }
            BoardMessage::Telemetry(telemetry) if self.is_up() => {
                self.emit(BoardEvent::Telemetry { telemetry });
            }
            BoardMessage::Fault(fault) => self.handle_fault(fault),
            BoardMessage::UpdateStatus {
                phase,
                received,
                size,
            } if self.is_up() => self.emit(BoardEvent::UpdateStatus {
                phase,
                received,
                size,
            }),
            // Reports outside a session (a board's Status before the handshake) carry nothing
            // to act on.
            _ => {}
        }
    }

    fn handle_ack(&mut self, now: Instant, seq: u16, result: AckResult) {
        let Some(index) = self.in_flight.iter().position(|e| e.seq == seq) else {
            self.stats.unknown_acks += 1;
            return;
        };
        let command = self.in_flight.remove(index).command;
        match (command, result) {
            (Command::Hello, AckResult::Ok) => match self.link {
                Link::Connecting { info: Some(info) } => self.come_up(info),
                // The BoardInfo before the ack was lost: ask again.
                _ => self.start_handshake(),
            },
            (Command::Hello, AckResult::Nack(reason)) => {
                self.emit(BoardEvent::Refused {
                    command: command.name(),
                    reason,
                });
                self.wait(now);
            }
            (_, AckResult::Nack(NackReason::NoSession)) => {
                self.go_down(DownReason::BoardReset {
                    command: command.name(),
                    seq,
                });
                self.start_handshake();
            }
            (Command::SetPtt { port, on }, AckResult::Ok) => {
                self.ports[port.index()].board_ptt = Some(on);
                self.emit(BoardEvent::PttConfirmed { port, on });
            }
            (Command::SetPtt { port, on }, AckResult::Nack(reason)) => {
                // A refused key is final; a refused release is resent when Status shows the
                // port still keyed.
                if on && !self.ptt_pending(port) {
                    self.ports[port.index()].want_ptt = false;
                }
                self.emit(BoardEvent::PttRefused { port, on, reason });
            }
            (Command::SetPower { port, on }, result) => {
                let action = if on {
                    PowerAction::On
                } else {
                    PowerAction::Off
                };
                self.power_result(port, action, result);
            }
            (Command::PowerCycle { port, off_ms }, result) => {
                self.power_result(port, PowerAction::Cycle { off_ms }, result);
            }
            (Command::PeiKeyed { .. }, AckResult::Ok) => {}
            (Command::PeiKeyed { port, .. }, AckResult::Nack(reason)) => {
                // Unguarded (an unpowered radio cannot transmit anyway): say so.
                self.ports[port.index()].want_pei = false;
                self.emit(BoardEvent::Refused {
                    command: command.name(),
                    reason,
                });
            }
            (Command::Update(update), result) => {
                self.emit(BoardEvent::UpdateAcked {
                    step: update.step(),
                    result,
                });
            }
            (Command::GetTelemetry, AckResult::Ok) => {}
            (Command::GetTelemetry, AckResult::Nack(reason)) => {
                self.emit(BoardEvent::Refused {
                    command: command.name(),
                    reason,
                });
            }
        }
    }

    fn power_result(&mut self, port: Port, action: PowerAction, result: AckResult) {
        self.emit(match result {
            AckResult::Ok => BoardEvent::PowerConfirmed { port, action },
            AckResult::Nack(reason) => BoardEvent::PowerRefused {
                port,
                action,
                reason,
            },
        });
    }

    fn handle_fault(&mut self, fault: Fault) {
        self.emit(BoardEvent::Fault { fault });
        if !self.is_up() {
            return;
        }
        match fault {
            Fault::HostSilence { dropped } => {
                for port in dropped.iter() {
                    self.ptt_seen(port, false);
                }
                // A board busy erasing flash could not hear us (its core was stopped), and
                // nothing was keyed to drop (it refuses PTT during an update): expected, and
                // a handshake now would abandon the update.
                if self.busy_until().is_some() && dropped.is_empty() {
                    return;
                }
                // The board stopped hearing us: our frames are not getting through (or we
                // stalled). Nothing keyed survived it; start over.
                self.go_down(DownReason::HostSilence);
                self.start_handshake();
            }
            Fault::TxCapReached { port } => self.ptt_seen(port, false),
            // The board switched the radio off: nothing of it is on the air any more.
            Fault::RadioPowerCut { port, .. } => self.ports[port.index()].want_pei = false,
            Fault::PowerCycleRateLimited { .. } | Fault::LinkErrors { .. } => {}
        }
    }

    /// The board says a port is (not) keyed: release what should not be, and notice what the
    /// board released on its own. Skipped while a PTT command for the port is unanswered: the
    /// report may predate it.
    fn ptt_seen(&mut self, port: Port, keyed: bool) {
        if self.ptt_pending(port) {
            return;
        }
        let state = &mut self.ports[port.index()];
        let was = state.board_ptt.replace(keyed);
        if keyed && !state.want_ptt {
            self.queue.push_front(Command::SetPtt { port, on: false });
        } else if !keyed && was == Some(true) && state.want_ptt {
            state.want_ptt = false;
            self.emit(BoardEvent::PttDropped { port });
            // A TX-cap lockout ends only once the host has released the port.
            self.queue.push_front(Command::SetPtt { port, on: false });
        }
    }

    fn cor_seen(&mut self, port: Port, active: bool) {
        let state = &mut self.ports[port.index()];
        if state.cor != active {
            state.cor = active;
            self.emit(BoardEvent::Cor { port, active });
        }
    }

    /// Whether a PTT command for the port is queued or unanswered.
    fn ptt_pending(&self, port: Port) -> bool {
        self.queue.iter().any(|c| c.ptt_port() == Some(port))
            || self
                .in_flight
                .iter()
                .any(|e| e.command.ptt_port() == Some(port))
    }

    fn request_ptt(&mut self, port: Port, on: bool) {
        self.queue.retain(|c| c.ptt_port() != Some(port));
        let latest = self
            .in_flight
            .iter()
            .rev()
            .find_map(|e| match e.command {
                Command::SetPtt { port: p, on } if p == port => Some(on),
                _ => None,
            })
            .or(self.ports[port.index()].board_ptt);
        if on {
            if latest != Some(true) {
                self.queue.push_back(Command::SetPtt { port, on });
            }
        } else {
            // Always sent, whatever the session believes, and ahead of everything else.
            self.queue.push_front(Command::SetPtt { port, on });
        }
    }

    fn come_up(&mut self, info: BoardInfo) {
        self.link = Link::Up { info };
        self.incompatible = None;
        self.emit(BoardEvent::Up { info });
        let ports = usize::from(info.ports).min(PORTS);
        for port in Port::ALL.into_iter().take(ports) {
            let state = &mut self.ports[port.index()];
            state.board_ptt = None;
            let on = state.want_ptt;
            if on {
                self.queue.push_back(Command::SetPtt { port, on });
            } else {
                self.queue.push_front(Command::SetPtt { port, on });
            }
        }
        for port in Port::ALL.into_iter().take(ports) {
            if let Some(on) = self.ports[port.index()].want_power {
                self.queue.push_back(Command::SetPower { port, on });
            }
        }
        // Radios keyed over PEI while the link was down are guarded as soon as it is up.
        for port in Port::ALL.into_iter().take(ports) {
            if self.ports[port.index()].want_pei {
                self.queue
                    .push_front(Command::PeiKeyed { port, keyed: true });
            }
        }
    }

    /// Reports the link down if it was up. The caller then handshakes again or waits.
    fn go_down(&mut self, reason: DownReason) {
        if !self.is_up() {
            return;
        }
        self.stats.link_downs += 1;
        self.emit(BoardEvent::Down { reason });
        for port in Port::ALL {
            let state = &mut self.ports[port.index()];
            state.board_ptt = None;
            // Unkey on link loss: the over this key was for may be long over by the time the
            // link returns, and restating it would put the radio on the air for nothing. The
            // engine sees the radio down and asks again if its over is still live.
            state.want_ptt = false;
            // The new session's Hello switches off whatever the board had armed.
            state.want_pei = false;
            if state.cor {
                state.cor = false;
                self.emit(BoardEvent::Cor {
                    port,
                    active: false,
                });
            }
        }
    }

    /// Drops every command and queues a new `Hello` (new sequence number) behind a lone 0x00.
    /// PTT and power requests are kept and restated once up.
    fn start_handshake(&mut self) {
        self.link = Link::Connecting { info: None };
        self.in_flight.clear();
        self.queue.clear();
        self.queue.push_back(Command::Hello);
        self.sync = true;
        self.stats.handshakes += 1;
    }

    fn wait(&mut self, now: Instant) {
        self.link = Link::Waiting {
            until: now + self.config.retry_backoff,
        };
        self.in_flight.clear();
        self.queue.clear();
    }

    fn take_seq(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    fn sent(&mut self, now: Instant, bytes: Vec<u8>) -> Vec<u8> {
        self.last_tx = Some(now);
        self.stats.frames_sent += 1;
        if std::mem::take(&mut self.sync) {
            let mut out = Vec::with_capacity(bytes.len() + 1);
            out.push(0);
            out.extend_from_slice(&bytes);
            out
        } else {
            bytes
        }
    }

    fn emit(&mut self, event: BoardEvent) {
        if self.events.len() >= EVENT_CAPACITY {
            self.stats.events_dropped += 1;
            return;
        }
        self.events.push_back(event);
    }
}

/// Encodes one frame.
fn frame(seq: u16, message: Message<'_>) -> Vec<u8> {
    let mut wire = [0u8; MAX_WIRE_LEN];
    // Every command the session builds is valid (ports come as `Port`) and MAX_WIRE_LEN always
    // suffices, so this cannot fail; if it ever did, the empty frame would time out and be
    // handled like a lost one.
    let len = encode(&FrameRepr { seq, message }, &mut wire).unwrap_or(0);
    wire.get(..len).unwrap_or_default().to_vec()
}

/// When a command's ack is overdue: its own deadline, or, for a command sent while the board
/// is busy with a long one (an erase), no earlier than that one's (see
/// [`BoardSession::busy_until`]).
fn deadline(entry: &InFlight, busy: Option<Instant>) -> Instant {
    let own = entry.deadline();
    busy.map_or(own, |busy| own.max(busy))
}
