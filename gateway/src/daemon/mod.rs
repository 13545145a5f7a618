//! `borderlinkd`'s IO shell: one task per serial port and audio socket moves bytes, and one
//! loop owns every state machine (the relay [`Engine`], each radio's [`RadioSession`]) and
//! feeds them inputs with the time.
//!
//! Owning all protocol state in one loop keeps the daemon free of locks and its behaviour the
//! same as the simulator's, which drives the very same state machines in virtual time.
//!
//! Shutdown is a cancellation token. The first thing shutdown does is release every
//! transmitter: the engine unkeys every radio, each radio session writes its cease command,
//! and the serial tasks write everything queued before they end. The binary gives this 2 s.

mod clock;
mod net;
mod serial;

use std::time::Duration as StdDuration;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::link::{PORTS, Port};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{FRAME_LEN, KeyUpTime, Priority};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::audio::udp::{AudioFormat, Received, UdpAudio};
use crate::board::{BoardEvent, BoardSession, SessionConfig};
use crate::config::{Audio, Config, UdpFormat};
use crate::engine::endpoint::RadioId;
use crate::engine::radio_tx::RadioCommand;
use crate::engine::relay::{Capture, Engine, EngineError};
use crate::radio::{RadioOutput, RadioSession, RadioSessionConfig};
use clock::Clock;
use serial::PortEvent;

/// Why the daemon could not start or had to stop.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// A static patch was refused by the engine.
    #[error("static patch {index} ({name}): {source}")]
    Patch {
        /// Index in the config's patches.
        index: usize,
        /// Its name.
        name: String,
        /// Why.
        source: EngineError,
    },
    /// A radio session could not be configured.
    #[error("radio {name}: {message}")]
    Radio {
        /// The radio's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An audio socket could not be opened.
    #[error("radio {name}: audio socket {listen}: {source}")]
    Audio {
        /// The radio's name.
        name: String,
        /// The address.
        listen: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The peer links could not start (a key file, the voice socket).
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// The main loop panicked; every transmitter was released before this was reported.
    #[error("the main loop panicked; every transmitter was released")]
    Panicked,
}

/// Something a task reports to the main loop.
#[derive(Debug)]
enum Input {
    Radio {
        index: usize,
        event: PortEvent,
    },
    Board(PortEvent),
    Audio {
        index: usize,
        frame: [u8; FRAME_LEN],
    },
    /// From the peer links' socket task.
    Net(crate::net::driver::ToEngine),
}

/// A call a radio is receiving: what goes into every captured frame's voice header.
#[derive(Debug, Clone, Copy)]
struct Receiving {
    talker: Option<Tsi>,
    priority: Priority,
    emergency: bool,
    key_up: KeyUpTime,
    /// The radio reported the end of the call: audio still in flight until then is captured.
    closing: Option<Instant>,
}

/// How long audio is still taken after a radio reports the end of a call. The report comes
/// on the PEI line and can overtake the last frames still in the audio path; closing the gate
/// at once would cut the last syllable of every over.
const CAPTURE_TAIL: borderlink_protocol::time::Duration =
    borderlink_protocol::time::Duration::from_millis(200);

struct RadioIo {
    id: RadioId,
    name: String,
    session: RadioSession,
    write: mpsc::Sender<Vec<u8>>,
    play: Option<mpsc::Sender<[u8; FRAME_LEN]>>,
    receiving: Option<Receiving>,
    /// Frames captured while the radio reported no call (not relayed).
    ungated: u64,
    /// The interface-board port that drives this radio's PTT line, if any.
    board_port: Option<Port>,
}

/// The interface board: its link session and the serial task's write side.
struct BoardIo {
    session: BoardSession,
    write: mpsc::Sender<Vec<u8>>,
}

/// The state the main loop owns.
struct Site {
    engine: Engine,
    radios: Vec<RadioIo>,
    board: Option<BoardIo>,
    clock: Clock,
    /// The peer links, if the site has peers.
    net: Option<net::NetIo>,
    /// Packets for consoles (not connected yet) and for peers without links.
    ip_unsent: u64,
}

/// Runs the daemon until `shutdown` is cancelled; returns once every transmitter is released
/// and the serial tasks have written their last commands.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let clock = Clock::new();
    let now = clock.now();
    let mut engine_config = config.engine_config();
    engine_config.first_stream = net::first_stream_id();
    let mut engine = Engine::new(engine_config);
    for (index, spec) in config.static_patches().into_iter().enumerate() {
        let name = spec.name.clone();
        engine
            .create_patch(now, spec)
            .map_err(|source| DaemonError::Patch {
                index,
                name,
                source,
            })?;
    }

    let (input_tx, mut inputs) = mpsc::channel::<Input>(1024);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut radios = Vec::new();
    for (index, radio) in config.radios.iter().enumerate() {
        let mut session_config = RadioSessionConfig::new(radio.identity, radio.group);
        session_config.grant_wait = config
            .timers
            .grant_wait_bound
            .max(session_config.grant_wait);
        let session = RadioSession::new(session_config).map_err(|e| DaemonError::Radio {
            name: radio.name.clone(),
            message: e.to_string(),
        })?;
        let (write, handle) = serial::spawn(
            radio.serial.clone(),
            radio.baud,
            input_tx.clone(),
            move |event| Input::Radio { index, event },
            shutdown.clone(),
        );
        tasks.push(handle);
        let play = match &radio.audio {
            Audio::Udp(udp) => {
                let format = match udp.format {
                    UdpFormat::Pcma => AudioFormat::Pcma,
                    UdpFormat::Rtp => AudioFormat::Rtp,
                };
                let ssrc = (u32::from(config.site.id.0) << 16) | index as u32;
                let socket = UdpAudio::bind(udp.listen, udp.peer, format, ssrc)
                    .await
                    .map_err(|source| DaemonError::Audio {
                        name: radio.name.clone(),
                        listen: udp.listen,
                        source,
                    })?;
                let (play_tx, play_rx) = mpsc::channel(256);
                let span = info_span!("audio", radio = %radio.name);
                tasks.push(tokio::spawn(
                    audio_task(socket, index, input_tx.clone(), play_rx, shutdown.clone())
                        .instrument(span),
                ));
                Some(play_tx)
            }
            Audio::Alsa { device } => {
                warn!(radio = %radio.name, %device, "ALSA audio is not supported yet: this radio has no audio (use the UDP backend)");
                None
            }
        };
        radios.push(RadioIo {
            id: radio.id,
            name: radio.name.clone(),
            session,
            write,
            play,
            receiving: None,
            ungated: 0,
            board_port: config
                .board
                .as_ref()
                .and_then(|b| b.port_of(radio.id))
                .map(|p| p.port),
        });
    }
    let board = match &config.board {
        Some(b) => {
            let (write, handle) = serial::spawn(
                b.serial.clone(),
                b.baud,
                input_tx.clone(),
                Input::Board,
                shutdown.clone(),
            );
            tasks.push(handle);
            // A first sequence number that differs at each start (wall clock and pid), so a
            // restarted daemon does not replay the previous run's numbers into the board's
            // duplicate history.
            let first_seq = (clock.key_up().0 ^ std::process::id()) as u16;
            let session = BoardSession::new(
                now,
                SessionConfig {
                    first_seq,
                    ..SessionConfig::default()
                },
            );
            Some(BoardIo { session, write })
        }
        None => None,
    };
    let net = match net::start(&config, now, input_tx.clone(), shutdown.clone())? {
        Some((net, task)) => {
            tasks.push(task);
            Some(net)
        }
        None => None,
    };
    drop(input_tx);
    info!(site = config.site.id.0, name = %config.site.name, radios = radios.len(), "borderlinkd running");

    let mut site = Site {
        engine,
        radios,
        board,
        clock,
        net,
        ip_unsent: 0,
    };
    // A panic inside the loop is caught here, and the transmitters are released with
    // whatever state is left (see `release_everything`).
    let loop_shutdown = shutdown.clone();
    let result = {
        let fut = std::panic::AssertUnwindSafe(main_loop(&mut site, &mut inputs, loop_shutdown));
        catch_panic(fut).await
    };
    site.release_everything();
    drain(&mut site, &mut inputs, DRAIN_LIMIT).await;
    let ungated: u64 = site.radios.iter().map(|r| r.ungated).sum();
    // Closing the write channels lets each serial task write what is queued and end.
    for radio in site.radios.drain(..) {
        drop(radio.write);
        drop(radio.play);
    }
    site.board = None;
    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(StdDuration::from_millis(1_500), task).await;
    }
    site.log_net_summary();
    info!(
        ip_unsent = site.ip_unsent,
        audio_without_call = ungated,
        "borderlinkd stopped; every transmitter released"
    );
    result
}

/// Polls a future, turning a panic inside it into an error instead of unwinding further.
async fn catch_panic<F: std::future::Future<Output = ()>>(
    fut: std::panic::AssertUnwindSafe<F>,
) -> Result<(), DaemonError> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => {
                error!("main loop panicked: releasing every transmitter");
                std::task::Poll::Ready(Err(DaemonError::Panicked))
            }
        }
    })
    .await
}

async fn main_loop(
    site: &mut Site,
    inputs: &mut mpsc::Receiver<Input>,
    shutdown: CancellationToken,
) {
    loop {
        let deadline = site.poll_timeout().map(|t| site.clock.tokio_instant(t));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            input = inputs.recv() => match input {
                Some(input) => site.handle(input),
                None => return,
            },
            _ = sleep_until_opt(deadline) => {}
        }
        let now = site.clock.now();
        site.handle_timeout(now);
        site.pump(now);
    }
}

/// The longest shutdown keeps serving the radio ports so owed cease commands go out (a cease
/// queued behind a command in flight waits for that command's answer). With the serial tasks'
/// own flush, shutdown stays within the 2 s operators expect.
const DRAIN_LIMIT: StdDuration = StdDuration::from_millis(1_000);

/// After release: serves only the radio ports (no new audio, no engine) until no radio owes a
/// cease or `limit` has passed.
async fn drain(site: &mut Site, inputs: &mut mpsc::Receiver<Input>, limit: StdDuration) {
    let end = tokio::time::Instant::now() + limit;
    loop {
        site.flush_radios();
        if !site.radios.iter().any(|r| r.session.cease_pending()) && !site.board_keyed() {
            return;
        }
        let deadline = site.session_deadline().map(|t| site.clock.tokio_instant(t));
        tokio::select! {
            _ = tokio::time::sleep_until(end) => {
                let owing: Vec<&str> = site.radios.iter().filter(|r| r.session.cease_pending()).map(|r| r.name.as_str()).collect();
                error!(radios = ?owing, "shutdown: cease not confirmed in time");
                return;
            }
            input = inputs.recv() => match input {
                // Audio handed back by `feed_port` is dropped: nothing is relayed any more.
                Some(input) => {
                    let now = site.clock.now();
                    let _ = site.feed_port(now, input);
                }
                None => return,
            },
            _ = sleep_until_opt(deadline) => site.session_timeouts(site.clock.now()),
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn audio_task(
    mut socket: UdpAudio,
    index: usize,
    inputs: mpsc::Sender<Input>,
    mut play: mpsc::Receiver<[u8; FRAME_LEN]>,
    shutdown: CancellationToken,
) {
    let mut invalid = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = socket.recv() => match received {
                Ok(Received::Frame(frame)) => {
                    if inputs.send(Input::Audio { index, frame }).await.is_err() {
                        break;
                    }
                }
                Ok(Received::Invalid(err)) => {
                    invalid += 1;
                    debug!(cause = %err, invalid, "audio datagram dropped");
                }
                Ok(Received::Stranger(from)) => debug!(%from, "audio from an unknown address dropped"),
                Err(err) => warn!(cause = %err, "audio socket error"),
            },
            frame = play.recv() => match frame {
                Some(frame) => {
                    if let Err(err) = socket.send(&frame).await {
                        warn!(cause = %err, "audio send failed");
                    }
                }
                None => break,
            },
        }
    }
}

impl Site {
    fn poll_timeout(&self) -> Option<Instant> {
        let tails = self
            .radios
            .iter()
            .filter_map(|r| r.receiving.and_then(|rx| rx.closing));
        tails
            .chain(self.session_deadline())
            .chain(self.engine.poll_timeout())
            .min()
    }

    /// Feeds a serial port's event to its radio or board session; an audio frame is handed
    /// back (radio index and frame) for the caller to capture or drop.
    fn feed_port(&mut self, now: Instant, input: Input) -> Option<(usize, [u8; FRAME_LEN])> {
        match input {
            Input::Radio { index, event } => {
                let radio = self.radios.get_mut(index)?;
                let _span = info_span!("radio", radio = %radio.name).entered();
                match event {
                    PortEvent::Up => {
                        info!("serial port open");
                        radio.session.link_up(now);
                    }
                    PortEvent::Down(cause) => {
                        warn!(%cause, "serial port down");
                        radio.session.link_down(now);
                    }
                    PortEvent::Bytes(bytes) => radio.session.handle_bytes(now, &bytes),
                }
                None
            }
            Input::Board(event) => {
                let board = self.board.as_mut()?;
                let _span = info_span!("board").entered();
                match event {
                    PortEvent::Up => {
                        info!("serial port open");
                        board.session.reconnect(now);
                    }
                    PortEvent::Down(cause) => warn!(%cause, "serial port down"),
                    PortEvent::Bytes(bytes) => board.session.handle_bytes(now, &bytes),
                }
                None
            }
            Input::Audio { index, frame } => Some((index, frame)),
            // Only the main loop relays peer voice (see `handle`); during shutdown it is dropped.
            Input::Net(_) => None,
        }
    }

    fn handle(&mut self, input: Input) {
        let now = self.clock.now();
        if let Input::Net(message) = input {
            self.handle_net(now, message);
            self.pump(now);
            return;
        }
        if let Some((index, frame)) = self.feed_port(now, input)
            && let Some(radio) = self.radios.get_mut(index)
        {
            // Capture is gated by call state: only while the radio reports another party
            // talking is its audio a transmission to relay.
            match radio.receiving {
                Some(rx) => {
                    let capture = Capture {
                        talker: rx.talker,
                        priority: rx.priority,
                        emergency: rx.emergency,
                        key_up: rx.key_up,
                        frame: Some(&frame),
                    };
                    self.engine.handle_capture(now, radio.id, capture);
                }
                None => radio.ungated += 1,
            }
        }
        self.pump(now);
    }

    /// Ends the captures whose tail has run out.
    fn close_captures(&mut self, now: Instant) {
        for radio in &mut self.radios {
            let Some(rx) = radio.receiving else { continue };
            if rx.closing.is_some_and(|at| at <= now) {
                radio.receiving = None;
                let capture = Capture {
                    talker: rx.talker,
                    priority: rx.priority,
                    emergency: rx.emergency,
                    key_up: rx.key_up,
                    frame: None,
                };
                self.engine.handle_capture(now, radio.id, capture);
            }
        }
    }

    /// Runs the radio and board sessions' timers that are due.
    fn session_timeouts(&mut self, now: Instant) {
        for radio in &mut self.radios {
            if radio.session.poll_timeout().is_some_and(|t| t <= now) {
                radio.session.handle_timeout(now);
            }
        }
        if let Some(board) = self.board.as_mut()
            && board.session.poll_timeout().is_some_and(|t| t <= now)
        {
            board.session.handle_timeout(now);
        }
    }

    /// When the radio and board sessions next need [`Site::session_timeouts`].
    fn session_deadline(&self) -> Option<Instant> {
        let radios = self.radios.iter().filter_map(|r| r.session.poll_timeout());
        radios
            .chain(self.board.as_ref().and_then(|b| b.session.poll_timeout()))
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.close_captures(now);
        self.session_timeouts(now);
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
    }

    /// Moves every output to where it goes until nothing changes.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut again = false;
            for index in 0..self.radios.len() {
                let radio = &mut self.radios[index];
                while let Some(t) = radio.session.poll_transmit() {
                    if radio.write.try_send(t.bytes().to_vec()).is_err() {
                        error!(radio = %radio.name, "serial write queue full: command dropped");
                    }
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
                if let Some(play) = self
                    .radios
                    .iter()
                    .find(|r| r.id == id)
                    .and_then(|r| r.play.as_ref())
                {
                    let _ = play.try_send(frame);
                }
            }
            while let Some(packet) = self.engine.poll_transmit() {
                self.transmit(packet);
            }
            while let Some(event) = self.engine.poll_event() {
                debug!(?event, "engine");
            }
            self.pump_board(now);
            if !again {
                break;
            }
        }
    }

    fn radio_output(&mut self, now: Instant, index: usize, out: RadioOutput) {
        let radio = &mut self.radios[index];
        let _span = info_span!("radio", radio = %radio.name).entered();
        if let Some(event) = out.engine_event() {
            self.engine.handle_radio(now, radio.id, event);
        }
        // The board's PTT line follows the radio's grant: keyed only once the network has
        // granted transmit, released as soon as the grant is gone.
        if let (Some(port), Some(board)) = (radio.board_port, self.board.as_mut()) {
            match &out {
                RadioOutput::TxGranted => board.session.set_ptt(now, port, true),
                RadioOutput::TxRefused { .. }
                | RadioOutput::TxLost { .. }
                | RadioOutput::Down { .. } => board.session.set_ptt(now, port, false),
                _ => {}
            }
        }
        match out {
            RadioOutput::Ready { identity } => info!(%identity, "radio ready"),
            RadioOutput::Down { reason } => {
                warn!(%reason, "radio down");
                radio.receiving = None;
            }
            RadioOutput::ReceiveStart {
                talker,
                priority,
                emergency,
                ..
            } => {
                info!(talker = ?talker.map(|t| t.to_string()), emergency, "receiving a call");
                // A new call within the tail of the previous one continues it.
                match radio.receiving.as_mut() {
                    Some(rx) if rx.closing.is_some() => rx.closing = None,
                    _ => {
                        radio.receiving = Some(Receiving {
                            talker,
                            priority,
                            emergency,
                            key_up: self.clock.key_up(),
                            closing: None,
                        })
                    }
                }
            }
            RadioOutput::ReceiveEnd => {
                if let Some(rx) = radio.receiving.as_mut() {
                    rx.closing.get_or_insert(now + CAPTURE_TAIL);
                }
            }
            RadioOutput::TxGranted => info!("transmit granted"),
            RadioOutput::TxRefused { reason } | RadioOutput::TxLost { reason } => {
                warn!(%reason, "transmit failed")
            }
            RadioOutput::IdentityMismatch { expected, got } => {
                error!(%expected, %got, "radio reports another identity: not used")
            }
            RadioOutput::SignalQuality { dbm } => debug!(?dbm, "signal"),
            RadioOutput::Status { from, value } => {
                info!(from = ?from.map(|t| t.to_string()), %value, "status message")
            }
            RadioOutput::Location { from, report } => {
                info!(from = ?from.map(|t| t.to_string()), %report, "location report")
            }
            RadioOutput::Sds { from, bits, .. } => {
                info!(from = ?from.map(|t| t.to_string()), bits, "short data")
            }
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
                    r.session.key(now, group, priority, emergency);
                }
            }
            RadioCommand::Unkey { radio, reason } => {
                if let Some(r) = self.radios.iter_mut().find(|r| r.id == radio) {
                    info!(radio = %r.name, ?reason, "unkey");
                    r.session.unkey(now);
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
    fn pump_board(&mut self, now: Instant) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        while let Some(frame) = board.session.poll_transmit(now) {
            if board.write.try_send(frame).is_err() {
                error!(
                    "board write queue full: frame dropped (the board's watchdog still guards PTT)"
                );
            }
        }
        while let Some(event) = board.session.poll_event() {
            let _span = info_span!("board").entered();
            match event {
                BoardEvent::Up { .. } => info!(?event, "board up"),
                BoardEvent::Down { reason } => warn!(%reason, "board down"),
                BoardEvent::WrongVersion { got } => {
                    error!(
                        got,
                        "board speaks another link version: nothing keyed on it"
                    )
                }
                BoardEvent::PttRefused { .. } | BoardEvent::PttDropped { .. } => {
                    warn!(?event, "board PTT")
                }
                BoardEvent::Fault { .. } => warn!(?event, "board fault"),
                other => debug!(event = ?other, "board"),
            }
        }
    }

    /// Writes every radio session's pending commands and discards their events (shutdown).
    fn flush_radios(&mut self) {
        let now = self.clock.now();
        self.pump_board(now);
        for radio in &mut self.radios {
            while let Some(t) = radio.session.poll_transmit() {
                let _ = radio.write.try_send(t.bytes().to_vec());
            }
            while radio.session.poll_event().is_some() {}
        }
    }

    /// Releases every transmitter: the engine unkeys every radio and each session writes its
    /// cease command. Called on every way out of the main loop.
    fn release_everything(&mut self) {
        let now = self.clock.now();
        self.engine.release_all();
        if let Some(board) = self.board.as_mut() {
            board.session.release_all(now);
        }
        self.pump(now);
        // Sessions keyed outside the engine's knowledge (a command the loop never delivered)
        // are ceased too: unkey is harmless on an idle session.
        for radio in &mut self.radios {
            radio.session.unkey(now);
            while let Some(t) = radio.session.poll_transmit() {
                let _ = radio.write.try_send(t.bytes().to_vec());
            }
        }
    }
}
