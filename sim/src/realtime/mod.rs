//! The real-time mode: real `borderlinkd` processes, one per site, in the simulated world.
//!
//! Each gateway radio is a [`RadioEmulator`](crate::radio::RadioEmulator) of the world's SwMI
//! behind a pseudo-terminal the daemon opens as its PEI port; its audio is a loopback UDP
//! socket pair in the daemon's `udp` audio format (raw A-law); each site's interface board is
//! the firmware logic ([`BoardEmulator`](crate::board::BoardEmulator)) behind another pty. One
//! thread moves bytes between all of these and the [`World`] with the wall clock as its time,
//! so the daemons meet the same networks, units, board and timeline as the fast mode.
//!
//! Each daemon's configuration is written by [`config`] into a run directory together with
//! its log. A gateway killed by the scenario gets `SIGKILL` and is started again from the same
//! file; at the end every daemon gets `SIGTERM` and the run goes on until they have exited, so
//! the report also shows that shutdown released every transmitter.
//!
//! The dispatcher's patch changes go to each site's control API ([`dispatch::HttpApi`]), and
//! each site keeps its dynamic patches in a state file, so a restarted gateway restores them.
//! Until the daemons have peer links, each site relays its patches locally ([`config`]); the
//! timeline says so where it matters.

mod binary;
pub mod config;
pub mod dispatch;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use anyhow::{Context, bail};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::FRAME_LEN;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::net::impair::LinkStats;
use crate::net::proxy::UdpProxy;
use crate::pty::{Master, pty};
use crate::report::{LinkReport, Report};
use crate::scenario::Scenario;
use crate::world::{Control, World, WorldOutput, derive_seed};
use config::{ApiFiles, RadioPorts, SitePorts};
use dispatch::{Dispatch, HttpApi, SiteApi};

pub use binary::borderlinkd;

/// How long the daemons get to stop after `SIGTERM` at the end of the run (they promise 2 s).
const SHUTDOWN_GRACE: StdDuration = StdDuration::from_millis(3_000);

/// Options of a real-time run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Print the timeline as it happens.
    pub live: bool,
    /// The `borderlinkd` to run (default: see [`borderlinkd`]).
    pub daemon: Option<PathBuf>,
    /// Where configurations and logs go (default: a new directory under the system's
    /// temporary directory).
    pub run_dir: Option<PathBuf>,
    /// `RUST_LOG` for the daemons (default `info`).
    pub log: Option<String>,
}

struct Radio {
    master: Master,
    /// The simulator's end of the radio's audio.
    audio: UdpSocket,
    /// The daemon's audio socket.
    daemon: SocketAddr,
}

struct Site {
    id: u16,
    name: String,
    radios: Vec<Radio>,
    board: Option<Master>,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

fn free_udp() -> std::io::Result<SocketAddr> {
    UdpSocket::bind("127.0.0.1:0")?.local_addr()
}

fn free_tcp() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A secret file, readable by its owner only (the daemon refuses anything else).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A token file as the daemon wants it: one token (`name role country token`), readable by
/// its owner only. The simulated dispatcher is an engineer so it may do anything the API
/// offers; no scenario sets `creators = "home"` on a Dutch group.
fn write_tokens(path: &Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("borderlink-sim engineer BE {token}\n"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

fn link(target: &str, at: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at)
}

impl Site {
    fn start(&mut self, daemon: &Path, log: &str) -> anyhow::Result<u32> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("log file {}", self.log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(daemon)
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {}", daemon.display()))?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    fn alive(&self) -> bool {
        self.child.is_some()
    }

    /// The daemon's log, last lines.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Runs `scenario` with real daemons; the report is made after they have stopped.
pub fn run(scenario: &Scenario, seed: u64, options: &Options) -> anyhow::Result<Report> {
    let daemon = borderlinkd(options.daemon.as_deref())?;
    let dir = match &options.run_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "borderlink-sim-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("run directory {}", dir.display()))?;
    let log_level = options.log.clone().unwrap_or_else(|| "info".to_string());
    let mut apis = Vec::new();

    let epoch = StdInstant::now();
    // With peer links, each pair of sites talks through an impairing proxy.
    let mut voice = Vec::new();
    let mut proxies = BTreeMap::new();
    if config::PEERS {
        for _ in &scenario.sites {
            voice.push(free_udp()?);
        }
        for (i, a) in scenario.sites.iter().enumerate() {
            for (j, b) in scenario.sites.iter().enumerate().skip(i + 1) {
                let stream = 1_000 + (u64::from(a.id) << 16) + u64::from(b.id);
                let proxy = UdpProxy::start(
                    voice[i],
                    voice[j],
                    scenario.links.link(a.id, b.id),
                    scenario.links.link(b.id, a.id),
                    derive_seed(seed, stream),
                    epoch,
                )?;
                proxies.insert((a.id, b.id), proxy);
                let key = dir.join(format!("pair-{}-{}.key", a.id, b.id));
                write_private(&key, &config::pair_key_file(derive_seed(seed, 70 + stream)))?;
            }
        }
    }
    let mut sites = Vec::new();
    for (si, spec) in scenario.sites.iter().enumerate() {
        let mut radios = Vec::new();
        let api = ApiFiles {
            listen: free_tcp()?,
            tokens: dir.join(format!("site{}.tokens", spec.id)),
            state: dir.join(format!("site{}-patches.json", spec.id)),
        };
        let token = format!(
            "{:032x}",
            derive_seed(seed, 50 + u64::from(spec.id)) as u128 | 1 << 127
        );
        write_tokens(&api.tokens, &token)?;
        // A state file from an earlier run in the same directory must not leak patches in.
        let _ = std::fs::remove_file(&api.state);
        apis.push(SiteApi {
            site: spec.id,
            listen: api.listen,
            token,
        });
        let mut ports = SitePorts {
            api: Some(api),
            radios: Vec::new(),
            board: None,
            voice: voice.get(si).copied(),
            peers: proxies
                .iter()
                .filter_map(|(&(a, b), p): (&(u16, u16), &UdpProxy)| {
                    let key = dir.join(format!("pair-{a}-{b}.key"));
                    if a == spec.id {
                        Some((b, p.a_facing(), key))
                    } else if b == spec.id {
                        Some((a, p.b_facing(), key))
                    } else {
                        None
                    }
                })
                .collect(),
        };
        for r in &spec.radios {
            let (master, pts) = pty();
            master.set_nonblocking()?;
            let serial = dir.join(format!("site{}-{}.pty", spec.id, r.name));
            link(&pts, &serial)?;
            let audio = UdpSocket::bind("127.0.0.1:0")?;
            audio.set_nonblocking(true)?;
            let listen = free_udp()?;
            ports.radios.push(RadioPorts {
                serial,
                listen,
                peer: audio.local_addr()?,
            });
            radios.push(Radio {
                master,
                audio,
                daemon: listen,
            });
        }
        let board = if spec.board {
            let (master, pts) = pty();
            master.set_nonblocking()?;
            let path = dir.join(format!("site{}-board.pty", spec.id));
            link(&pts, &path)?;
            ports.board = Some(path);
            Some(master)
        } else {
            None
        };
        let text = config::site_toml(scenario, si, &ports, &scenario.patches);
        let config_path = dir.join(format!("site{}.toml", spec.id));
        std::fs::write(&config_path, text)?;
        sites.push(Site {
            id: spec.id,
            name: spec.name.clone(),
            radios,
            board,
            config: config_path,
            log: dir.join(format!("site{}.log", spec.id)),
            child: None,
        });
    }

    let mut dispatch = HttpApi::new(apis, config::patch_for_site);
    let mut world = World::new(scenario, seed, options.live);
    let clock = move || Instant::from_micros(epoch.elapsed().as_micros() as u64);
    for site in &mut sites {
        let pid = site.start(&daemon, &log_level)?;
        world.note(
            clock(),
            format!(
                "site {} ({}): borderlinkd started, pid {pid}, config {}",
                site.id,
                site.name,
                site.config.display()
            ),
        );
    }
    if !config::PEERS && scenario.sites.len() > 1 {
        world.note(
            clock(),
            "the daemons have no peer links yet: each patch is relayed by one site alone",
        );
    }

    let end = world.end();
    let mut io = Io {
        sites,
        proxies,
        buf: vec![0u8; 4096],
    };
    let mut next_check = clock();
    while clock() < end {
        io.step(&mut world, &clock, end)?;
        io.outputs(&mut world, &clock, &daemon, &log_level, &mut dispatch)?;
        if clock() >= next_check {
            io.check_children(&clock)?;
            next_check = clock() + Duration::from_millis(250);
        }
    }

    // The end: SIGTERM, and keep the radios and boards served while the daemons release.
    world.note(clock(), "end of scenario: SIGTERM to every gateway");
    for site in &io.sites {
        if let Some(child) = &site.child {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
    }
    let stop_by = clock() + Duration::from_micros(SHUTDOWN_GRACE.as_micros() as u64);
    loop {
        let now = clock();
        let mut running = false;
        for site in &mut io.sites {
            if let Some(child) = site.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        world.note(
                            now,
                            format!(
                                "site {} ({}): borderlinkd exited ({status})",
                                site.id, site.name
                            ),
                        );
                        site.child = None;
                    }
                    _ => running = true,
                }
            }
        }
        if !running || now >= stop_by {
            break;
        }
        io.step(&mut world, &clock, stop_by)?;
        io.outputs(&mut world, &clock, &daemon, &log_level, &mut dispatch)?;
    }
    // Let the boards finish what the daemons' last frames asked.
    let settle = clock() + Duration::from_millis(100);
    while clock() < settle {
        io.step(&mut world, &clock, settle)?;
        io.outputs(&mut world, &clock, &daemon, &log_level, &mut dispatch)?;
    }
    for site in &mut io.sites {
        if let Some(mut child) = site.child.take() {
            world.note(
                clock(),
                format!(
                    "site {} ({}): borderlinkd did not stop in time: killed",
                    site.id, site.name
                ),
            );
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    let now = clock();
    let mut report = world.finish(now, "realtime");
    for (&(a, b), proxy) in &io.proxies {
        let [ab, ba] = proxy.stats();
        report.links.push(link_report(a, b, ab));
        report.links.push(link_report(b, a, ba));
    }
    Ok(report)
}

fn link_report(from: u16, to: u16, s: LinkStats) -> LinkReport {
    LinkReport {
        from,
        to,
        sent: s.sent,
        delivered: s.delivered,
        lost: s.lost,
        duplicated: s.duplicated,
        reordered: s.reordered,
        partitioned: s.dropped_by_partition,
    }
}

/// The real-time IO: every pty and audio socket of every site.
struct Io {
    sites: Vec<Site>,
    /// The impairing proxy of each pair of sites `(lower id, higher id)`.
    proxies: BTreeMap<(u16, u16), UdpProxy>,
    buf: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Fd {
    Radio(usize, usize),
    Board(usize),
    Audio(usize, usize),
}

impl Io {
    /// Waits for input (at most until the world's next timer, and never past `end`) and
    /// hands what came to the world; runs the world's timers when due.
    fn step(
        &mut self,
        world: &mut World,
        clock: &impl Fn() -> Instant,
        end: Instant,
    ) -> anyhow::Result<()> {
        let now = clock();
        let next = world.poll_timeout().unwrap_or(end).min(end);
        let wait_ms = next
            .saturating_since(now)
            .as_micros()
            .div_ceil(1_000)
            .min(10);
        let mut which = Vec::new();
        let mut fds = Vec::new();
        for (si, site) in self.sites.iter().enumerate() {
            for (ri, radio) in site.radios.iter().enumerate() {
                // A dead daemon's ptys hang up; they are not watched until it is back.
                if site.alive() {
                    which.push(Fd::Radio(si, ri));
                    fds.push(PollFd::new(radio.master.as_fd(), PollFlags::POLLIN));
                }
                which.push(Fd::Audio(si, ri));
                fds.push(PollFd::new(radio.audio.as_fd(), PollFlags::POLLIN));
            }
            if let (Some(board), true) = (&site.board, site.alive()) {
                which.push(Fd::Board(si));
                fds.push(PollFd::new(board.as_fd(), PollFlags::POLLIN));
            }
        }
        let _ = poll(&mut fds, PollTimeout::from(wait_ms as u8));
        let ready: Vec<(Fd, bool, bool)> = fds
            .iter()
            .zip(&which)
            .map(|(fd, w)| {
                let r = fd.revents().unwrap_or(PollFlags::empty());
                (
                    *w,
                    r.contains(PollFlags::POLLIN),
                    r.contains(PollFlags::POLLHUP),
                )
            })
            .collect();
        drop(fds);
        let hung_up = ready.iter().any(|(_, _, hangup)| *hangup);
        let mut got = false;
        for (fd, readable, _) in ready {
            if !readable {
                continue;
            }
            let now = clock();
            match fd {
                Fd::Radio(si, ri) => {
                    let n = self.sites[si].radios[ri].master.read_now(&mut self.buf);
                    if n > 0 {
                        world.from_gateway_pei(now, si, ri, &self.buf[..n]);
                        got = true;
                    }
                }
                Fd::Board(si) => {
                    let n = self.sites[si]
                        .board
                        .as_mut()
                        .map_or(0, |b| b.read_now(&mut self.buf));
                    if n > 0 {
                        world.from_gateway_board(now, si, &self.buf[..n]);
                        got = true;
                    }
                }
                Fd::Audio(si, ri) => {
                    let radio = &self.sites[si].radios[ri];
                    while let Ok((n, from)) = radio.audio.recv_from(&mut self.buf) {
                        if n == FRAME_LEN && from == radio.daemon {
                            let mut frame = [0u8; FRAME_LEN];
                            frame.copy_from_slice(&self.buf[..n]);
                            world.from_gateway_audio(clock(), si, ri, &frame);
                        }
                    }
                    got = true;
                }
            }
        }
        if hung_up && !got {
            // A daemon starting up has not opened its ptys yet: a hang-up is all poll says.
            std::thread::sleep(StdDuration::from_millis(1));
        }
        let now = clock();
        if world.poll_timeout().is_some_and(|t| t <= now) {
            world.handle_timeout(now);
        }
        Ok(())
    }

    /// Carries out what the world has for the daemons and the runner.
    fn outputs(
        &mut self,
        world: &mut World,
        clock: &impl Fn() -> Instant,
        daemon: &Path,
        log: &str,
        dispatch: &mut dyn Dispatch,
    ) -> anyhow::Result<()> {
        while let Some(out) = world.poll_output() {
            match out {
                WorldOutput::Pei { site, radio, bytes } => {
                    let s = &mut self.sites[site];
                    // A serial line nobody reads loses what is sent on it.
                    if s.alive() {
                        s.radios[radio].master.try_write(&bytes);
                    }
                }
                WorldOutput::Audio { site, radio, frame } => {
                    let r = &self.sites[site].radios[radio];
                    let _ = r.audio.send_to(&frame, r.daemon);
                }
                WorldOutput::Board { site, bytes } => {
                    let s = &mut self.sites[site];
                    if let (Some(board), true) = (s.board.as_mut(), s.child.is_some()) {
                        board.try_write(&bytes);
                    }
                }
                WorldOutput::Control(c) => {
                    self.control(world, clock(), c, daemon, log, dispatch)?
                }
            }
        }
        Ok(())
    }

    fn control(
        &mut self,
        world: &mut World,
        now: Instant,
        control: Control,
        daemon: &Path,
        log: &str,
        dispatch: &mut dyn Dispatch,
    ) -> anyhow::Result<()> {
        match control {
            Control::CreatePatch(def) => {
                if let Err(why) = dispatch.create(&def) {
                    world.patch_not_applied(now, &def.name, &why);
                }
            }
            Control::RemovePatch(name) => {
                if let Err(why) = dispatch.remove(&name) {
                    world.note(now, format!("dispatch: patch `{name}` not removed: {why}"));
                }
            }
            Control::Partition { a, b, until } => {
                if let Some(proxy) = self.proxies.get(&(a.min(b), a.max(b))) {
                    proxy.partition(until);
                } else {
                    world.note(
                        now,
                        format!("network: no voice flows between sites {a} and {b} yet, so the cut changes nothing"),
                    );
                }
            }
            Control::Kill { site } => {
                let s = &mut self.sites[site];
                if let Some(mut child) = s.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                world.gateway_state(now, site, false);
            }
            Control::Restart { site } => {
                let s = &mut self.sites[site];
                let pid = s.start(daemon, log)?;
                world.note(
                    now,
                    format!("site {} ({}): borderlinkd pid {pid}", s.id, s.name),
                );
                world.gateway_state(now, site, true);
            }
        }
        Ok(())
    }

    /// Fails the run if a daemon stopped on its own.
    fn check_children(&mut self, clock: &impl Fn() -> Instant) -> anyhow::Result<()> {
        for site in &mut self.sites {
            if let Some(child) = site.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                site.child = None;
                bail!(
                    "site {} ({}): borderlinkd exited on its own at {} ms ({status}); its log {}:\n{}",
                    site.id,
                    site.name,
                    clock().as_millis(),
                    site.log.display(),
                    site.log_tail()
                );
            }
        }
        Ok(())
    }
}
