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
mod control;
mod firmware;
mod net;
mod notify;
mod persist;
mod roaming;
mod serial;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use borderlink_protocol::link::{PORTS, Port};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{FRAME_LEN, Priority};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::api::audit::AuditLog;
use crate::api::auth::{TokenFileError, Tokens};
use crate::api::command::Request as ApiRequest;
use crate::api::command::Saved;
use crate::api::{self, ApiOptions, ApiState};
use crate::audio::drops::{AudioDropCause, AudioDrops};
use crate::audio::udp::{AudioFormat, Received, UdpAudio};
use crate::board::{BoardEvent, BoardSession, SessionConfig};
use crate::config::{Audio, Config, UdpFormat};
use crate::engine::endpoint::RadioId;
use crate::engine::radio_tx::{RadioCommand, RadioEvent};
use crate::engine::relay::EngineEvent;
use crate::engine::relay::{Engine, EngineError};
use crate::radio::capture::{self, Receiving};
use crate::radio::{RadioOutput, RadioSession, RadioSessionConfig};
use crate::roaming::Roaming;
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
    /// Another task panicked; the daemon shut down and released every transmitter.
    #[error("a task panicked; every transmitter was released and the daemon stopped")]
    TaskPanicked,
    /// The control API's token file is unusable.
    #[error("[api] token_file: {0}")]
    Tokens(#[from] TokenFileError),
    /// The control API's audit log cannot be opened.
    #[error("[api] audit_log {path}: {source}")]
    AuditLog {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The control API cannot listen.
    #[error("[api] listen {listen}: {source}")]
    ApiListen {
        /// The address.
        listen: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
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

/// The priority of a call heard on a radio without PEI: the COR line says a call is on, not
/// how urgent it is, so it claims the floor at the lowest priority.
const COR_PRIORITY: Priority = match Priority::new(0) {
    Some(p) => p,
    None => Priority::EMERGENCY,
};

/// A radio's PEI port: its session and the serial task's write side.
struct Pei {
    session: RadioSession,
    write: mpsc::Sender<Vec<u8>>,
}

impl Pei {
    /// Hands every queued command to the serial task.
    fn flush(&mut self, name: &str) {
        while let Some(t) = self.session.poll_transmit() {
            if self.write.try_send(t.bytes().to_vec()).is_err() {
                error!(radio = %name, "serial write queue full: command dropped");
            }
        }
    }
}

/// Where a radio's playback goes.
enum Player {
    /// The UDP audio task.
    Udp(mpsc::Sender<[u8; FRAME_LEN]>),
    /// A sound device.
    #[cfg(feature = "alsa")]
    Alsa(crate::audio::alsa::AlsaAudio),
}

impl Player {
    /// Hands a frame on without waiting; a full backend queue drops it, counted in `drops`
    /// as `playback_queue_full`.
    fn play(&self, frame: [u8; FRAME_LEN], drops: &AudioDrops) {
        match self {
            Player::Udp(tx) => {
                // A closed queue is the audio task gone at shutdown, not a drop.
                drops.offer(AudioDropCause::PlaybackQueueFull, tx, frame);
            }
            #[cfg(feature = "alsa")]
            Player::Alsa(audio) => {
                if !audio.play(frame) {
                    drops.count(AudioDropCause::PlaybackQueueFull);
                }
            }
        }
    }
}

/// Hands a frame captured on radio `index` to the main loop without waiting (a capture thread
/// must never block on a busy loop); a full queue drops it, counted in `drops` as
/// `capture_queue_full`. `false` once the main loop is gone.
fn offer_capture(
    inputs: &mpsc::Sender<Input>,
    drops: &AudioDrops,
    index: usize,
    frame: [u8; FRAME_LEN],
) -> bool {
    drops.offer(
        AudioDropCause::CaptureQueueFull,
        inputs,
        Input::Audio { index, frame },
    )
}

struct RadioIo {
    id: RadioId,
    name: String,
    /// `None` for a radio without PEI: the board keys it and its COR line gates capture.
    pei: Option<Pei>,
    play: Option<Player>,
    /// Frames dropped between its audio backend and the engine, by cause (shared with its
    /// capture thread or audio task).
    drops: Arc<AudioDrops>,
    receiving: Option<Receiving>,
    /// Frames captured while the radio reported no call (not relayed).
    ungated: u64,
    /// The interface-board port that drives this radio's PTT line, if any.
    board_port: Option<Port>,
    /// Since when the radio holds a transmit grant.
    keyed_since: Option<Instant>,
    /// Time keyed in earlier transmissions.
    ptt_total: borderlink_protocol::time::Duration,
    /// Transmissions granted since start.
    transmissions: u64,
    /// What the board was last told about this radio's PEI keying (see
    /// [`Site::guard_pei_radios`]).
    pei_guarded: bool,
}

impl RadioIo {
    /// The radio still owes a confirmed cease-transmit (shutdown waits for it).
    fn cease_pending(&self) -> bool {
        self.pei.as_ref().is_some_and(|p| p.session.cease_pending())
    }

    /// The radio's transmission ended (grant lost, unkeyed, or the radio went down).
    fn ptt_ended(&mut self, now: Instant) {
        if let Some(since) = self.keyed_since.take() {
            self.ptt_total += now.saturating_since(since);
        }
    }
}

/// The interface board: its link session and the serial task's write side.
struct BoardIo {
    session: BoardSession,
    write: mpsc::Sender<Vec<u8>>,
    /// Ports whose PTT or COR polarity the board reports differently from the config: never
    /// keyed, because the line would not mean what the config says.
    mismatched: borderlink_protocol::link::PortMask,
}

/// The state the main loop owns.
struct Site {
    config: Arc<Config>,
    started: Instant,
    engine: Engine,
    radios: Vec<RadioIo>,
    board: Option<BoardIo>,
    clock: Clock,
    /// The peer links, if the site has peers.
    net: Option<net::NetIo>,
    /// Packets for consoles (not connected yet) and for peers without links.
    ip_unsent: u64,
    /// Where dynamic patch state goes to be saved, if the site keeps it.
    state: Option<persist::StateHandle>,
    /// The board firmware update under way, or the last one.
    firmware: Option<firmware::FirmwareJob>,
    /// What the daemon has learnt of the board's security-version floor since it started (a
    /// lower bound, or the board's own word in a `Rollback` refusal).
    firmware_floor: Option<u32>,
    /// The latest roaming events, for dispatch through the API.
    roaming_log: std::collections::VecDeque<crate::api::model::RoamingEventView>,
    /// Semi-roaming: mirrors, zones, status triggers (see `roaming.rs`).
    roaming: Roaming,
}

/// Runs the daemon until `shutdown` is cancelled; returns once every transmitter is released
/// and the serial tasks have written their last commands.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let panicked = release_on_panic(shutdown.clone());
    let config = Arc::new(config);
    let clock = Clock::new();
    let now = clock.now();
    let mut engine_config = config.engine_config();
    engine_config.first_stream = net::first_stream_id();
    let mut engine = Engine::new(engine_config);
    // Dynamic patches first, so they keep their ids; static ones from the config after.
    let mut state = match &config.state_file {
        Some(path) => {
            restore_patches(&mut engine, now, path, config.site.id.0);
            let (tx, saved, handle) =
                persist::spawn_writer(path.clone(), config.site.id.0, engine.dynamic_patches(now));
            Some((tx, saved, handle))
        }
        None => {
            warn!("no [state] file: patches created through the API will not survive a restart");
            None
        }
    };
    for (index, spec) in config.static_patches().into_iter().enumerate() {
        create_static_patch(&mut engine, now, index, spec)?;
    }
    if let Some((tx, _, _)) = &mut state {
        // Restored patches the config overruled are gone from the saved state too.
        tx.publish(engine.dynamic_patches(now));
    }

    let (input_tx, mut inputs) = mpsc::channel::<Input>(1024);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let (api_tx, mut api_rx) = mpsc::channel::<ApiRequest>(64);
    if let Some(api) = &config.api {
        let saves = state.as_ref().map(|(_, saved, _)| saved.clone());
        tasks.push(start_api(api, api_tx, saves, shutdown.clone()).await?);
    } else {
        info!("no [api] section: the control API and metrics are not served");
        drop(api_tx);
    }
    let mut radios = Vec::new();
    for (index, radio) in config.radios.iter().enumerate() {
        let mut session_config = RadioSessionConfig::new(radio.identity, radio.group);
        session_config.profile = radio.pei.clone();
        session_config.grant_wait = config
            .timers
            .grant_wait_bound
            .max(session_config.grant_wait);
        // The session keeps the engine's continuous air-time cap too: a backstop for a radio
        // keyed over PEI, whatever keyed it.
        session_config.air_time = crate::engine::radio_tx::AirTimeLimit {
            max_continuous: config.timers.max_continuous,
            forced_gap: config.timers.forced_gap,
        };
        let session = RadioSession::new(session_config).map_err(|e| DaemonError::Radio {
            name: radio.name.clone(),
            message: e.to_string(),
        })?;
        let pei = match &radio.serial {
            Some(device) => {
                let (write, handle) = serial::spawn(
                    device.clone(),
                    radio.baud,
                    input_tx.clone(),
                    move |event| Input::Radio { index, event },
                    shutdown.clone(),
                );
                tasks.push(handle);
                Some(Pei { session, write })
            }
            None => {
                info!(radio = %radio.name, "no PEI port: keyed by the board's PTT line, heard while its COR line is active");
                None
            }
        };
        let drops = Arc::new(AudioDrops::default());
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
                    audio_task(
                        socket,
                        index,
                        input_tx.clone(),
                        Arc::clone(&drops),
                        play_rx,
                        shutdown.clone(),
                    )
                    .instrument(span),
                ));
                Some(Player::Udp(play_tx))
            }
            #[cfg(feature = "alsa")]
            Audio::Alsa { device } => {
                let tx = input_tx.clone();
                let capture_drops = Arc::clone(&drops);
                // The capture thread must never block on a busy loop: a frame that finds
                // the queue full is dropped, and counted (the loop is far behind anyway).
                let audio = crate::audio::alsa::AlsaAudio::start(device, move |frame| {
                    offer_capture(&tx, &capture_drops, index, frame);
                })
                .map_err(|e| DaemonError::Radio {
                    name: radio.name.clone(),
                    message: e.to_string(),
                })?;
                info!(radio = %radio.name, %device, "ALSA audio");
                Some(Player::Alsa(audio))
            }
            #[cfg(not(feature = "alsa"))]
            Audio::Alsa { device } => {
                return Err(DaemonError::Radio {
                    name: radio.name.clone(),
                    message: format!(
                        "`alsa = \"{device}\"`: this borderlinkd was built without ALSA support; \
                         build it with `cargo build --release --features alsa` (needs libasound2-dev), \
                         or use the UDP audio backend"
                    ),
                });
            }
        };
        let board_port = config
            .board
            .as_ref()
            .and_then(|b| b.port_of(radio.id))
            .map(|p| p.port);
        if radio.serial.is_some() && board_port.is_none() {
            warn!(
                radio = %radio.name,
                "PEI radio on no board port: if borderlinkd dies while it transmits, nothing switches it off before the network's own timeout; wire its power through the board ([[board.ports]])"
            );
        }
        radios.push(RadioIo {
            id: radio.id,
            name: radio.name.clone(),
            pei,
            play,
            drops,
            receiving: None,
            ungated: 0,
            board_port,
            keyed_since: None,
            ptt_total: borderlink_protocol::time::Duration::ZERO,
            transmissions: 0,
            pei_guarded: false,
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
            let first_seq = (clock.key_up().0 ^ u64::from(std::process::id())) as u16;
            let session = BoardSession::new(
                now,
                SessionConfig {
                    first_seq,
                    ..SessionConfig::default()
                },
            );
            Some(BoardIo {
                session,
                write,
                mismatched: borderlink_protocol::link::PortMask::EMPTY,
            })
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

    let (state, state_writer) = match state {
        Some((tx, _, handle)) => (Some(tx), Some(handle)),
        None => (None, None),
    };
    let mut roaming = Roaming::new(config.roaming.clone());
    roaming.handle_timeout(now, jiff::Timestamp::now());
    let mut site = Site {
        config: Arc::clone(&config),
        started: now,
        engine,
        radios,
        board,
        clock,
        net,
        ip_unsent: 0,
        state,
        firmware: None,
        firmware_floor: None,
        roaming_log: std::collections::VecDeque::with_capacity(roaming::ROAMING_LOG),
        roaming,
    };
    // A panic inside the loop is caught here, and the transmitters are released with
    // whatever state is left (see `release_everything`).
    let loop_shutdown = shutdown.clone();
    let mut notifier = notify::Notifier::from_env(site.clock.now());
    let result = {
        let fut = std::panic::AssertUnwindSafe(main_loop(
            &mut site,
            &mut inputs,
            &mut api_rx,
            notifier.as_mut(),
            loop_shutdown,
        ));
        catch_panic(fut).await
    };
    if let Some(notifier) = notifier.as_mut() {
        notifier.stopping();
    }
    site.release_everything();
    drain(&mut site, &mut inputs, DRAIN_LIMIT).await;
    let ungated: u64 = site.radios.iter().map(|r| r.ungated).sum();
    let capture_queue_full: u64 = site
        .radios
        .iter()
        .map(|r| r.drops.get(AudioDropCause::CaptureQueueFull))
        .sum();
    let playback_queue_full: u64 = site
        .radios
        .iter()
        .map(|r| r.drops.get(AudioDropCause::PlaybackQueueFull))
        .sum();
    // Closing the write channels lets each serial task write what is queued and end.
    for radio in site.radios.drain(..) {
        drop(radio.pei);
        drop(radio.play);
    }
    site.board = None;
    // The last patch state (remaining times as of now) is written before the process ends.
    let now = site.clock.now();
    site.save_patches(now);
    site.state = None;
    shutdown.cancel();
    tasks.extend(state_writer);
    for task in tasks {
        let _ = tokio::time::timeout(StdDuration::from_millis(1_500), task).await;
    }
    site.log_net_summary();
    info!(
        ip_unsent = site.ip_unsent,
        audio_without_call = ungated,
        capture_queue_full,
        playback_queue_full,
        "borderlinkd stopped; every transmitter released"
    );
    match result {
        Ok(()) if panicked.load(Ordering::SeqCst) => Err(DaemonError::TaskPanicked),
        other => other,
    }
}

/// Makes a panic anywhere in the process start the shutdown, whose first act is to release
/// every transmitter; the flag tells `run` to report it. (A panic inside the main loop is
/// also caught where the loop is polled, so its state is still there to release.)
fn release_on_panic(shutdown: CancellationToken) -> Arc<AtomicBool> {
    let panicked = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&panicked);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        error!(panic = %info, "panic: releasing every transmitter and stopping");
        flag.store(true, Ordering::SeqCst);
        shutdown.cancel();
    }));
    panicked
}

/// Creates a static patch. The config file wins over a restored dynamic patch that holds one
/// of its groups: that patch is removed, loudly, since a dispatcher made it.
fn create_static_patch(
    engine: &mut Engine,
    now: Instant,
    index: usize,
    spec: crate::engine::patch::PatchSpec,
) -> Result<(), DaemonError> {
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
                        .map_err(|source| DaemonError::Patch {
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
                return Err(DaemonError::Patch {
                    index,
                    name,
                    source,
                });
            }
        }
    }
}

/// Reads the state file into the engine; an unusable file is reported and set aside.
fn restore_patches(engine: &mut Engine, now: Instant, path: &std::path::Path, site: u16) {
    let problem = match persist::load(path, site) {
        Ok(None) => {
            info!(file = %path.display(), "no saved patch state yet");
            return;
        }
        Ok(Some(snapshot)) => match engine.restore_patches(now, &snapshot) {
            Ok(()) => {
                info!(file = %path.display(), patches = snapshot.patches.len(), "dynamic patches restored");
                return;
            }
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    match persist::set_aside(path) {
        Ok(aside) => error!(
            %problem, set_aside = %aside.display(),
            "saved patch state NOT restored: the file was set aside for inspection; dynamic patches must be recreated"
        ),
        Err(e) => error!(
            %problem, cause = %e,
            "saved patch state NOT restored and could not be set aside"
        ),
    }
}

/// Loads the tokens, opens the audit log, binds the listener and spawns the API server.
async fn start_api(
    api: &crate::config::Api,
    requests: mpsc::Sender<ApiRequest>,
    saves: Option<watch::Receiver<Saved>>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, DaemonError> {
    let tokens = match &api.token_file {
        Some(path) => Some(Tokens::load(path)?),
        None => {
            warn!("[api] has no token_file: every request but /health is refused");
            None
        }
    };
    let audit = match &api.audit_log {
        Some(path) => AuditLog::open(path).map_err(|source| DaemonError::AuditLog {
            path: path.clone(),
            source,
        })?,
        None => AuditLog::log_only(),
    };
    let listener = tokio::net::TcpListener::bind(api.listen)
        .await
        .map_err(|source| DaemonError::ApiListen {
            listen: api.listen,
            source,
        })?;
    info!(listen = %api.listen, "control API listening");
    let options = ApiOptions {
        listen: api.listen,
        hosts: api.hosts.clone(),
        metrics_without_token: api.metrics_without_token,
        limits: api::Limits::default(),
    };
    let mut state = ApiState::new(requests, tokens, audit, options);
    if let Some(saves) = saves {
        state = state.with_saves(saves);
    }
    Ok(tokio::spawn(
        async move {
            if let Err(e) = api::serve(listener, state, shutdown).await {
                error!(cause = %e, "control API stopped");
            }
        }
        .instrument(info_span!("api")),
    ))
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

/// The most inputs the main loop handles in a row before it runs due timers and serves the
/// API: enough for a full `recvmmsg` batch, little enough that a 20 ms playout tick is never
/// late by more than a fraction of a millisecond.
const INPUT_BATCH: usize = 64;

/// The daemon's one loop: inputs, the API, timers, in turn. It alone pings the systemd
/// watchdog (see [`notify`]), so a loop that hangs gets the daemon killed and the board takes
/// the radios off the air.
async fn main_loop(
    site: &mut Site,
    inputs: &mut mpsc::Receiver<Input>,
    api: &mut mpsc::Receiver<ApiRequest>,
    mut notifier: Option<&mut notify::Notifier>,
    shutdown: CancellationToken,
) {
    if let Some(n) = notifier.as_deref_mut() {
        n.ready(site.clock.now());
    }
    loop {
        let ping = notifier.as_deref().and_then(notify::Notifier::poll_timeout);
        let deadline = site
            .poll_timeout()
            .into_iter()
            .chain(ping)
            .min()
            .map(|t| site.clock.tokio_instant(t));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            input = inputs.recv() => match input {
                Some(input) => {
                    site.handle(input);
                    // Everything else already waiting, before timers and the next wait: one
                    // look at the deadlines per batch of packets, not per packet.
                    for _ in 1..INPUT_BATCH {
                        match inputs.try_recv() {
                            Ok(input) => site.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                None => return,
            },
            // With no API the sender is gone and this branch stays disabled.
            Some(request) = api.recv() => {
                let now = site.clock.now();
                let answer = site.handle_api(now, request.command);
                // A client that gave up is no reason to stop.
                let _ = request.reply.send(answer);
                site.pump(now);
            }
            _ = sleep_until_opt(deadline) => {}
        }
        let now = site.clock.now();
        site.handle_timeout(now);
        site.pump(now);
        if let Some(n) = notifier.as_deref_mut() {
            n.ping_if_due(now);
        }
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
        if !site.radios.iter().any(RadioIo::cease_pending) && !site.board_keyed() {
            return;
        }
        let deadline = site.session_deadline().map(|t| site.clock.tokio_instant(t));
        tokio::select! {
            _ = tokio::time::sleep_until(end) => {
                let owing: Vec<&str> = site.radios.iter().filter(|r| r.cease_pending()).map(|r| r.name.as_str()).collect();
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

/// Moves one radio's UDP audio: received frames to the main loop, frames to play out to the
/// socket. A received frame that finds the main loop's queue full is dropped and counted
/// rather than waited for: waiting here would also stall this radio's playback, and leave the
/// socket's own buffer to overflow where nothing counts it.
async fn audio_task(
    mut socket: UdpAudio,
    index: usize,
    inputs: mpsc::Sender<Input>,
    drops: Arc<AudioDrops>,
    mut play: mpsc::Receiver<[u8; FRAME_LEN]>,
    shutdown: CancellationToken,
) {
    let mut invalid = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = socket.recv() => match received {
                Ok(Received::Frame(frame)) => {
                    if !offer_capture(&inputs, &drops, index, frame) {
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
            .chain(self.roaming.poll_timeout())
            .min()
    }

    /// Feeds a serial port's event to its radio or board session; an audio frame is handed
    /// back (radio index and frame) for the caller to capture or drop.
    fn feed_port(&mut self, now: Instant, input: Input) -> Option<(usize, [u8; FRAME_LEN])> {
        match input {
            Input::Radio { index, event } => {
                let radio = self.radios.get_mut(index)?;
                let _span = info_span!("radio", radio = %radio.name).entered();
                let pei = radio.pei.as_mut()?;
                match event {
                    PortEvent::Up => {
                        info!("serial port open");
                        pei.session.link_up(now);
                    }
                    PortEvent::Down(cause) => {
                        warn!(%cause, "serial port down");
                        pei.session.link_down(now);
                    }
                    PortEvent::Bytes(bytes) => pei.session.handle_bytes(now, &bytes),
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
                Some(rx) => self
                    .engine
                    .handle_capture(now, radio.id, rx.capture(Some(&frame))),
                None => radio.ungated += 1,
            }
        }
        self.pump(now);
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
            if pei.session.poll_timeout().is_some_and(|t| t <= now) {
                pei.session.handle_timeout(now);
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
            .filter_map(|r| r.pei.as_ref()?.session.poll_timeout());
        radios
            .chain(self.board.as_ref().and_then(|b| b.session.poll_timeout()))
            .chain(self.firmware_deadline())
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.close_captures(now);
        self.session_timeouts(now);
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        if self.roaming.poll_timeout().is_some_and(|t| t <= now) {
            // Schedules are in civil time: the wall clock, read here in the shell.
            self.roaming.handle_timeout(now, jiff::Timestamp::now());
        }
    }

    /// Moves every output to where it goes until nothing changes.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut again = false;
            for index in 0..self.radios.len() {
                let radio = &mut self.radios[index];
                let Some(pei) = radio.pei.as_mut() else {
                    continue;
                };
                pei.flush(&radio.name);
                while let Some(out) = self.radios[index]
                    .pei
                    .as_mut()
                    .and_then(|p| p.session.poll_event())
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
                if let Some(radio) = self.radios.iter().find(|r| r.id == id)
                    && let Some(play) = &radio.play
                {
                    play.play(frame, &radio.drops);
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
                        let id = pei.session.identification();
                        (
                            id.manufacturer.clone(),
                            id.model.clone(),
                            id.revision.clone(),
                            pei.session.status().registration,
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
                let fresh = Receiving::new(talker, priority, emergency, self.clock.key_up());
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
                        (Some(pei), _, _) => pei.session.key(now, group, priority, emergency),
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
                    if let Some(pei) = r.pei.as_mut() {
                        pei.session.unkey(now);
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
            if board.write.try_send(frame).is_err() {
                error!(
                    "board write queue full: frame dropped (the board's watchdog still guards PTT)"
                );
            }
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
    /// or at the next session's `Hello`), lost its call and boots afresh: its session starts
    /// over, so the engine sees it down, then up, and asks again for an over still live.
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
                radio.pei_guarded = false;
                pei.session.power_lost(now);
            }
        }
    }

    /// Tells the board which radios may be on the air because they were keyed over PEI: from
    /// the moment a key request is under way until the radio has confirmed its cease (or, if
    /// it went away meanwhile, until it is back and idle). The board switches such a radio off
    /// if this daemon falls silent (killed, hung) or at its TX cap: the PTT line it drops on its
    /// own does not unkey a radio keyed with `AT+CTXD`. Only changes are sent: after a lost link
    /// the new session's `Hello` has switched off whatever the board still guarded.
    fn guard_pei_radios(&mut self, now: Instant) {
        let Some(board) = self.board.as_mut() else {
            return;
        };
        for radio in &mut self.radios {
            let (Some(pei), Some(port)) = (radio.pei.as_ref(), radio.board_port) else {
                continue;
            };
            let ready = pei.session.status().state == crate::radio::LinkState::Ready;
            let on_air = pei.session.cease_pending() || (radio.pei_guarded && !ready);
            if on_air != radio.pei_guarded {
                radio.pei_guarded = on_air;
                board.session.set_pei_keyed(now, port, on_air);
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
                    radio.ptt_ended(now);
                    self.engine.handle_radio(now, id, RadioEvent::Down);
                }
                BoardEvent::PttConfirmed { on: true, .. } => {
                    if radio.keyed_since.is_none() {
                        radio.keyed_since = Some(now);
                        radio.transmissions += 1;
                    }
                    self.engine.handle_radio(now, id, RadioEvent::TxGranted);
                }
                BoardEvent::PttConfirmed { on: false, .. } => radio.ptt_ended(now),
                BoardEvent::PttRefused { on: true, .. } => {
                    self.engine.handle_radio(now, id, RadioEvent::TxRefused)
                }
                BoardEvent::PttDropped { .. } => {
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
                            radio.receiving = Some(Receiving::new(
                                None,
                                COR_PRIORITY,
                                false,
                                self.clock.key_up(),
                            ))
                        }
                    }
                }
                BoardEvent::Cor { active: false, .. } => capture::end(&mut radio.receiving, now),
                _ => {}
            }
        }
    }

    /// Writes every radio session's pending commands and discards their events (shutdown).
    fn flush_radios(&mut self) {
        let now = self.clock.now();
        // A cease confirmed during shutdown disarms the board's guard, so a clean stop does not
        // cost the radio its power.
        self.guard_pei_radios(now);
        self.pump_board(now);
        for radio in &mut self.radios {
            let Some(pei) = radio.pei.as_mut() else {
                continue;
            };
            pei.flush(&radio.name);
            while pei.session.poll_event().is_some() {}
        }
    }

    /// Releases every transmitter: the engine unkeys every radio and each session writes its
    /// cease command. Called on every way out of the main loop.
    fn release_everything(&mut self) {
        let now = self.clock.now();
        self.engine.release_all(now);
        if let Some(board) = self.board.as_mut() {
            board.session.release_all(now);
        }
        self.pump(now);
        // Sessions keyed outside the engine's knowledge (a command the loop never delivered)
        // are ceased too: unkey is harmless on an idle session.
        for radio in &mut self.radios {
            let Some(pei) = radio.pei.as_mut() else {
                continue;
            };
            pei.session.unkey(now);
            pei.flush(&radio.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The playback backend is behind (its queue holds 4 frames): every frame the engine
    /// hands on after that is dropped, and each one counted.
    #[tokio::test]
    async fn frames_for_a_radio_whose_playback_queue_is_full_are_counted() {
        let (tx, _backend) = mpsc::channel(4);
        let player = Player::Udp(tx);
        let drops = AudioDrops::default();
        for _ in 0..10 {
            player.play([0xd5; FRAME_LEN], &drops);
        }
        assert_eq!(drops.get(AudioDropCause::PlaybackQueueFull), 6);
        assert_eq!(drops.get(AudioDropCause::CaptureQueueFull), 0);
    }

    /// The main loop is behind (its input queue holds 4): every frame captured after that is
    /// dropped, and each one counted; a closed queue (shutdown) is no drop.
    #[tokio::test]
    async fn captured_frames_that_find_the_main_loop_behind_are_counted() {
        let (tx, main_loop) = mpsc::channel(4);
        let drops = AudioDrops::default();
        for _ in 0..10 {
            assert!(offer_capture(&tx, &drops, 0, [0xd5; FRAME_LEN]));
        }
        assert_eq!(drops.get(AudioDropCause::CaptureQueueFull), 6);
        drop(main_loop);
        assert!(!offer_capture(&tx, &drops, 0, [0xd5; FRAME_LEN]));
        assert_eq!(drops.get(AudioDropCause::CaptureQueueFull), 6);
    }

    #[tokio::test]
    async fn a_panic_in_any_task_starts_the_shutdown_and_is_reported() {
        let shutdown = CancellationToken::new();
        let panicked = release_on_panic(shutdown.clone());
        let task = tokio::spawn(async {
            panic!("a serial task met a bug");
        });
        assert!(task.await.is_err());
        tokio::time::timeout(StdDuration::from_secs(1), shutdown.cancelled())
            .await
            .expect("the panic cancelled the shutdown token");
        assert!(panicked.load(Ordering::SeqCst));
    }

    #[cfg(not(feature = "alsa"))]
    #[tokio::test]
    async fn an_alsa_radio_without_alsa_support_stops_the_start_with_the_remedy() {
        let config = Config::parse(
            r#"
[site]
id = 1
name = "test"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "/dev/borderlink-test-no-such-port"
issi = "02060000109000001"
group = "02060000102061001"
alsa = "hw:CARD=Codec,DEV=0"
"#,
            "site.toml",
        )
        .expect("valid config");
        let shutdown = CancellationToken::new();
        let error = run(config, shutdown.clone()).await.unwrap_err();
        shutdown.cancel();
        let text = error.to_string();
        assert!(
            text.contains("radio astrid") && text.contains("--features alsa"),
            "{text}"
        );
    }
}
