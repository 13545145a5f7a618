//! `borderlinkd`'s IO shell: one task per serial port, audio socket and the voice socket moves
//! bytes, and one loop owns the [`SiteCore`], feeds it what the tasks report with the time
//! read from the clock, and hands its outputs back to the tasks. Every protocol decision is
//! the core's (`crate::site`); nothing here decides what a radio or the board does.
//!
//! Owning all protocol state in one loop keeps the daemon free of locks and its behaviour the
//! same as the simulator's, whose fast mode drives the very same [`SiteCore`] in virtual time.
//!
//! Shutdown is a cancellation token. The first thing shutdown does is
//! [`SiteCore::release_everything`]; the loop then serves the ports until every cease is
//! confirmed (at most [`DRAIN_LIMIT`]), and the serial tasks write everything queued before
//! they end. The binary gives this 2 s.

mod net;
mod notify;
mod persist;
mod serial;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use borderlink_protocol::voice::FRAME_LEN;
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
use crate::clock::Clock;
use crate::config::{Audio, Config, UdpFormat};
use crate::site::{Output, PortEvent, SiteCore, SiteError, SiteOptions};

/// Why the daemon could not start or had to stop.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// The site cannot start (a radio's settings, a static patch).
    #[error(transparent)]
    Site(#[from] SiteError),
    /// A radio's audio backend cannot start.
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

/// The main loop's state: the site core, and the write sides of the tasks its outputs go to.
struct Shell {
    core: SiteCore,
    clock: Clock,
    /// Per radio, its serial task's write side (`None` for a radio without PEI).
    pei: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    /// Per radio, where its playback goes.
    players: Vec<Option<Player>>,
    /// Per radio, the frames dropped between its audio backend and the core.
    drops: Vec<Arc<AudioDrops>>,
    /// The board's serial task's write side.
    board: Option<mpsc::Sender<Vec<u8>>>,
    /// The peer links, if the site has peers.
    net: Option<net::NetIo>,
    /// Where dynamic patch state goes to be saved, if the site keeps it.
    state: Option<persist::StateHandle>,
}

/// Runs the daemon until `shutdown` is cancelled; returns once every transmitter is released
/// and the serial tasks have written their last commands.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let panicked = release_on_panic(shutdown.clone());
    let config = Arc::new(config);
    let clock = Clock::new();
    let restored = match &config.state_file {
        Some(path) => persist::restore(path, config.site.id.0),
        None => {
            warn!("no [state] file: patches created through the API will not survive a restart");
            None
        }
    };
    let (input_tx, mut inputs) = mpsc::channel::<Input>(1024);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let drops: Vec<Arc<AudioDrops>> = config
        .radios
        .iter()
        .map(|_| Arc::new(AudioDrops::default()))
        .collect();
    let mut core = SiteCore::new(
        Arc::clone(&config),
        clock.time(),
        SiteOptions {
            first_stream: net::first_stream_id(),
            // A first sequence number that differs at each start (wall clock and pid), so a
            // restarted daemon does not replay the previous run's numbers into the board's
            // duplicate history.
            board_first_seq: (Clock::wall_ms() ^ u64::from(std::process::id())) as u16,
            restored,
            audio_drops: drops.clone(),
        },
    )?;
    // A saved state the core refused is set aside before the writer starts and replaces it;
    // the writer starts with what the core restored and kept.
    let mut first_save = None;
    let mut early = Vec::new();
    while let Some(out) = core.poll_output() {
        match out {
            Output::Persist {
                generation,
                patches,
            } => first_save = Some((generation, patches)),
            Output::RestoreFailed { problem } => {
                if let Some(path) = &config.state_file {
                    persist::set_aside_after(path, &problem);
                }
            }
            other => early.push(other),
        }
    }
    let (state, saves, state_writer) = match (&config.state_file, first_save) {
        (Some(path), Some((generation, patches))) => {
            let (tx, saved, handle) =
                persist::spawn_writer(path.clone(), config.site.id.0, generation, patches);
            (Some(tx), Some(saved), Some(handle))
        }
        _ => (None, None, None),
    };
    let (api_tx, mut api_rx) = mpsc::channel::<ApiRequest>(64);
    if let Some(api) = &config.api {
        tasks.push(start_api(api, api_tx, saves, shutdown.clone()).await?);
    } else {
        info!("no [api] section: the control API and metrics are not served");
        drop(api_tx);
    }
    let mut pei = Vec::new();
    let mut players = Vec::new();
    for (index, radio) in config.radios.iter().enumerate() {
        pei.push(radio.serial.as_ref().map(|device| {
            let (write, handle) = serial::spawn(
                device.clone(),
                radio.baud,
                input_tx.clone(),
                move |event| Input::Radio { index, event },
                shutdown.clone(),
            );
            tasks.push(handle);
            write
        }));
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
                        Arc::clone(&drops[index]),
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
                let capture_drops = Arc::clone(&drops[index]);
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
        players.push(play);
    }
    let board = config.board.as_ref().map(|b| {
        let (write, handle) = serial::spawn(
            b.serial.clone(),
            b.baud,
            input_tx.clone(),
            Input::Board,
            shutdown.clone(),
        );
        tasks.push(handle);
        write
    });
    let net = match net::start(&config, clock.now(), input_tx.clone(), shutdown.clone())? {
        Some((net, task)) => {
            tasks.push(task);
            Some(net)
        }
        None => None,
    };
    drop(input_tx);
    info!(site = config.site.id.0, name = %config.site.name, radios = config.radios.len(), "borderlinkd running");

    let mut shell = Shell {
        core,
        clock,
        pei,
        players,
        drops,
        board,
        net,
        state,
    };
    for out in early {
        shell.deliver(out);
    }
    // A panic inside the loop is caught here, and the transmitters are released with
    // whatever state is left (see `SiteCore::release_everything`).
    let loop_shutdown = shutdown.clone();
    let mut notifier = notify::Notifier::from_env(shell.clock.now());
    let result = {
        let fut = std::panic::AssertUnwindSafe(main_loop(
            &mut shell,
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
    let t = shell.clock.time();
    shell.core.release_everything(t);
    shell.flush();
    drain(&mut shell, &mut inputs, DRAIN_LIMIT).await;
    // The last patch state (remaining times as of now) is written before the process ends.
    let t = shell.clock.time();
    shell.core.save_state(t);
    shell.flush();
    let ungated = shell.core.audio_drops(AudioDropCause::NoCall);
    let capture_queue_full = shell.core.audio_drops(AudioDropCause::CaptureQueueFull);
    let playback_queue_full = shell.core.audio_drops(AudioDropCause::PlaybackQueueFull);
    // Closing the write channels lets each serial task write what is queued and end.
    shell.pei.clear();
    shell.players.clear();
    shell.board = None;
    shell.state = None;
    shutdown.cancel();
    tasks.extend(state_writer);
    for task in tasks {
        let _ = tokio::time::timeout(StdDuration::from_millis(1_500), task).await;
    }
    shell.log_net_summary();
    info!(
        ip_unsent = shell.core.ip_unsent(),
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
    shell: &mut Shell,
    inputs: &mut mpsc::Receiver<Input>,
    api: &mut mpsc::Receiver<ApiRequest>,
    mut notifier: Option<&mut notify::Notifier>,
    shutdown: CancellationToken,
) {
    if let Some(n) = notifier.as_deref_mut() {
        n.ready(shell.clock.now());
    }
    loop {
        let ping = notifier.as_deref().and_then(notify::Notifier::poll_timeout);
        let deadline = shell
            .core
            .poll_timeout()
            .into_iter()
            .chain(ping)
            .min()
            .map(|t| shell.clock.tokio_instant(t));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            input = inputs.recv() => match input {
                Some(input) => {
                    shell.handle(input);
                    // Everything else already waiting, before timers and the next wait: one
                    // look at the deadlines per batch of packets, not per packet.
                    for _ in 1..INPUT_BATCH {
                        match inputs.try_recv() {
                            Ok(input) => shell.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                None => return,
            },
            // With no API the sender is gone and this branch stays disabled.
            Some(request) = api.recv() => {
                let peers = shell.net.as_ref().map(net::NetIo::peers).unwrap_or_default();
                let answer = shell.core.handle_api(shell.clock.time(), request.command, &peers);
                // A client that gave up is no reason to stop.
                let _ = request.reply.send(answer);
                shell.flush();
            }
            _ = sleep_until_opt(deadline) => {}
        }
        let t = shell.clock.time();
        shell.core.handle_timeout(t);
        shell.flush();
        if let Some(n) = notifier.as_deref_mut() {
            n.ping_if_due(t.now);
        }
    }
}

/// The longest shutdown keeps serving the radio ports so owed cease commands go out (a cease
/// queued behind a command in flight waits for that command's answer). With the serial tasks'
/// own flush, shutdown stays within the 2 s operators expect.
const DRAIN_LIMIT: StdDuration = StdDuration::from_millis(1_000);

/// After release: serves the ports (the core relays nothing any more) until no radio owes a
/// cease and the board reports no PTT line keyed, or `limit` has passed.
async fn drain(shell: &mut Shell, inputs: &mut mpsc::Receiver<Input>, limit: StdDuration) {
    let end = tokio::time::Instant::now() + limit;
    while shell.core.release_pending() {
        let deadline = shell
            .core
            .poll_timeout()
            .map(|t| shell.clock.tokio_instant(t));
        tokio::select! {
            _ = tokio::time::sleep_until(end) => {
                error!(radios = ?shell.core.ceases_owed(), "shutdown: cease not confirmed in time");
                return;
            }
            input = inputs.recv() => match input {
                Some(input) => shell.handle(input),
                None => return,
            },
            _ = sleep_until_opt(deadline) => {
                let t = shell.clock.time();
                shell.core.handle_timeout(t);
                shell.flush();
            }
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

impl Shell {
    /// Hands a task's report to the core, and what it has in return to the tasks.
    fn handle(&mut self, input: Input) {
        let t = self.clock.time();
        match input {
            Input::Radio { index, event } => self.core.handle_radio_port(t, index, event),
            Input::Board(event) => self.core.handle_board_port(t, event),
            Input::Audio { index, frame } => self.core.handle_audio(t, index, &frame),
            Input::Net(message) => self.core.handle_net(t, message),
        }
        self.flush();
    }

    /// Moves every output of the core to its task.
    fn flush(&mut self) {
        while let Some(out) = self.core.poll_output() {
            self.deliver(out);
        }
    }

    fn deliver(&mut self, out: Output) {
        match out {
            Output::Pei { radio, bytes } => {
                if let Some(Some(write)) = self.pei.get(radio)
                    && write.try_send(bytes).is_err()
                {
                    let name = &self.core.config().radios[radio].name;
                    error!(radio = %name, "serial write queue full: command dropped");
                }
            }
            Output::Board(frame) => {
                if let Some(write) = &self.board
                    && write.try_send(frame).is_err()
                {
                    error!(
                        "board write queue full: frame dropped (the board's watchdog still guards PTT)"
                    );
                }
            }
            Output::Audio { radio, frame } => {
                if let (Some(Some(play)), Some(drops)) =
                    (self.players.get(radio), self.drops.get(radio))
                {
                    play.play(frame, drops);
                }
            }
            Output::Peer(packet) => {
                if let Some(net) = self.net.as_mut() {
                    net.send(packet);
                }
            }
            Output::Persist {
                generation,
                patches,
            } => {
                if let Some(state) = self.state.as_mut() {
                    state.publish(generation, patches);
                }
            }
            Output::RestoreFailed { problem } => {
                if let Some(path) = &self.core.config().state_file {
                    persist::set_aside_after(path, &problem);
                }
            }
        }
    }

    /// Logs every peer's counters and the engine's frames (at shutdown).
    fn log_net_summary(&self) {
        if let Some(net) = &self.net {
            net.log_summary(&self.core.counters());
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
