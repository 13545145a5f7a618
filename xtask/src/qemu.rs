//! `cargo xtask qemu`: boots the board image under QEMU (`mps2-an386`) and checks, from the
//! host, the promises the board must keep alone: when the host falls silent, PTT drops within
//! 500 ms; when the firmware panics, PTT drops at once.
//!
//! The host end is the daemon's own [`BoardSession`], speaking the board link over the
//! emulated UART0 (a unix socket). The PTT line is watched independently of the link: the image
//! drives its radio lines as bits of the MPS2's LED registers, and QEMU's monitor reads those
//! registers back (`xp` through QMP), so what is checked is the line, not the board's word.
//!
//! The board boots as a field board does: QEMU loads the bootloader at the start of flash
//! (`-kernel`) and the slot-A image where a debug probe would flash it (`-device loader`), and
//! the bootloader starts the image. Three boots, every step with a deadline:
//! 1. the `panic-drill` build of the image, which panics once port 3 has been keyed for 300 ms:
//!    key port 3, see the ack and the line up, see the panic reported through semihosting and
//!    the line down with the fault LED lit, while the host is still sending heartbeats; then
//!    see the watchdog reset the halted board;
//! 2. the ordinary image: after the handshake every PTT line is released and every radio
//!    powered; key port 0, see it acknowledged and its line go up; keep it keyed for a second of
//!    heartbeats; stop sending and time the line's fall from the host's last frame; see the
//!    fault LED light and the board report the silence; read how much of the stack was used
//!    (cortex-m-rt paints it at start-up);
//! 3. firmware updates through the real daemon and CLI ([`crate::board_update`]).
//!
//! QEMU runs without `-icount`, so its clocks follow the host's: the measured fall also checks
//! that a board second is a host second.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use borderlink_gateway::board::{BoardEvent, BoardSession, DownReason, SessionConfig};
use borderlink_protocol::link::{Fault, HOST_SILENCE_LIMIT, Port, PortMask};
use borderlink_protocol::time;
use serde_json::json;

use crate::board_update;
use crate::bsp::{self, RawImage};
use crate::firmware_size;
use crate::qmp::{self, Qmp};

/// SCC CFG_REG1: PTT lines in bits 3:0, power relays in bits 7:4 (see the image's `lines.rs`).
const SCC_LEDS: u32 = 0x4002_F004;
/// FPGAIO LED0: the fault LED in bit 0, the run LED in bit 1.
const FPGAIO_LEDS: u32 = 0x4002_8000;
const PTT_BITS: u32 = 0x0F;
const POWER_BITS: u32 = 0xF0;
const FAULT_LED: u32 = 1 << 0;
/// What cortex-m-rt's `paint-stack` fills the stack with before `main`.
const STACK_PAINT: u32 = 0xCCCC_CCCC;

/// The port the silence check keys.
const PORT: u8 = 0;
/// The port whose keying makes the drill image (feature `panic-drill`) panic, 300 ms later.
const DRILL_PORT: u8 = 3;
/// How long the port stays keyed under heartbeats before the host falls silent.
const HOLD: Duration = Duration::from_secs(1);
/// The watchdog must not fire before the limit (less this much for the board's clock and the
/// host's reading of it), nor after it (plus this much for the UART, QMP and scheduling).
const EARLY_SLACK: Duration = Duration::from_millis(10);
const LATE_SLACK: Duration = Duration::from_millis(100);

/// The longest QEMU may live, even if this program is killed before it can stop it.
pub(crate) const QEMU_LIFETIME: &str = "300";

/// Kills QEMU when the check ends, however it ends.
///
/// QEMU runs under `timeout`, which puts both in a process group of their own: dropping this
/// kills the group, and if this program is killed outright, `timeout` still ends QEMU.
pub(crate) struct Qemu {
    child: Child,
    log: PathBuf,
}

impl Qemu {
    /// What QEMU printed (semihosting output of a panicking image included).
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The host's end of the link on the emulated UART.
struct Host {
    session: BoardSession,
    serial: UnixStream,
    start: Instant,
    /// When the host last wrote a frame.
    last_tx: Instant,
    /// Whether the host sends (heartbeats, commands) or only listens.
    talking: bool,
    events: Vec<(Duration, BoardEvent)>,
}

impl Host {
    fn new(serial: UnixStream) -> anyhow::Result<Self> {
        serial.set_read_timeout(Some(Duration::from_millis(2)))?;
        let start = Instant::now();
        Ok(Host {
            session: BoardSession::new(time::Instant::from_micros(0), SessionConfig::default()),
            serial,
            start,
            last_tx: start,
            talking: true,
            events: Vec::new(),
        })
    }

    fn now(&self) -> time::Instant {
        time::Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Moves bytes both ways once and collects the session's events.
    fn pump(&mut self) -> anyhow::Result<()> {
        let mut buf = [0u8; 512];
        match self.serial.read(&mut buf) {
            Ok(0) => bail!("QEMU closed the UART socket (did the image or QEMU stop?)"),
            Ok(n) => {
                let now = self.now();
                self.session.handle_bytes(now, &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e).context("reading the emulated UART"),
        }
        if self.talking {
            let now = self.now();
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                self.session.handle_timeout(now);
            }
            while let Some(frame) = self.session.poll_transmit(now) {
                self.serial
                    .write_all(&frame)
                    .context("writing the emulated UART")?;
                self.last_tx = Instant::now();
            }
        }
        while let Some(event) = self.session.poll_event() {
            self.events.push((self.start.elapsed(), event));
        }
        Ok(())
    }

    /// Pumps until an event matching `wanted` arrives (returned), or fails after `timeout`.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&BoardEvent) -> bool,
    ) -> anyhow::Result<BoardEvent> {
        let seen = self.events.len();
        self.wait_since(seen, what, timeout, wanted)
    }

    /// Like [`wait_for`](Self::wait_for), counting events from the `seen`-th on.
    fn wait_since(
        &mut self,
        seen: usize,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&BoardEvent) -> bool,
    ) -> anyhow::Result<BoardEvent> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.pump()?;
            if let Some((_, event)) = self.events[seen..].iter().find(|(_, e)| wanted(e)) {
                return Ok(*event);
            }
        }
        bail!(
            "{what}: nothing within {timeout:?}; the board said: {:?}",
            &self.events[seen..]
        )
    }
}

/// `cargo xtask qemu`.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    which_qemu()?;
    let dir = std::env::temp_dir().join(format!("borderlink-qemu-{}", std::process::id()));
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(root, &dir);
    let _ = fs::remove_dir_all(&dir);
    result?;
    println!("qemu: passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn run_in(root: &Path, dir: &Path) -> anyhow::Result<()> {
    // The drill image is the same image plus a panic while a PTT line is keyed.
    let drill = Flashed::build(root, dir, "drill", &["panic-drill"])?;
    with_board(&drill, dir, panic_drill)?;
    let flashed = Flashed::build(root, dir, "a", &[])?;
    let stack = firmware_size::stack_bounds(&flashed.image_elf)?;
    with_board(&flashed, dir, |board| host_silence(board, stack))?;
    board_update::run(root, dir, &flashed)
}

/// What a debug probe flashes onto a new board: the bootloader and a slot-A image.
pub(crate) struct Flashed {
    /// The bootloader's ELF (QEMU's `-kernel`).
    pub(crate) bootloader: PathBuf,
    /// The slot-A image's ELF (for its symbols).
    pub(crate) image_elf: PathBuf,
    /// The slot-A image, raw, and where it goes.
    pub(crate) image: RawImage,
    /// The raw image's file (QEMU's `-device loader`).
    pub(crate) image_bin: PathBuf,
}

impl Flashed {
    /// Builds the bootloader and the slot-A image with `features` into `dir`, named by `tag`.
    pub(crate) fn build(
        root: &Path,
        dir: &Path,
        tag: &str,
        features: &[&str],
    ) -> anyhow::Result<Self> {
        let bins = bsp::build_bins(root, bsp::QEMU_IMAGE, features, None)?;
        let keep = |name: &str, file: String| -> anyhow::Result<PathBuf> {
            let kept = dir.join(file);
            fs::copy(bsp::bin(&bins, name)?, &kept)
                .with_context(|| format!("copying {name} to {}", kept.display()))?;
            Ok(kept)
        };
        let bootloader = keep(bsp::QEMU_BOOTLOADER, format!("boot-{tag}.elf"))?;
        let image_elf = keep(bsp::QEMU_IMAGE, format!("image-{tag}.elf"))?;
        let image = bsp::raw_image(&image_elf)?;
        let image_bin = dir.join(format!("image-{tag}.bin"));
        fs::write(&image_bin, &image.bytes)
            .with_context(|| format!("writing {}", image_bin.display()))?;
        Ok(Flashed {
            bootloader,
            image_elf,
            image,
            image_bin,
        })
    }
}

/// Where the emulated board's UART0 goes.
pub(crate) enum Uart<'a> {
    /// A unix socket QEMU listens on.
    Socket(&'a Path),
    /// A pseudo-terminal, as a serial device for the daemon (see `query-chardev`).
    Pty,
}

/// Starts QEMU on `flashed` with its monitor on `qmp_path`; paused (`-S`) if `paused`.
pub(crate) fn launch(
    flashed: &Flashed,
    uart: Uart<'_>,
    qmp_path: &Path,
    log: &Path,
    paused: bool,
) -> anyhow::Result<Qemu> {
    let log_file = fs::File::create(log).context("creating QEMU's log")?;
    let mut command = Command::new("timeout");
    command
        .args(["--signal=KILL", QEMU_LIFETIME, "qemu-system-arm"])
        .args(["-M", "mps2-an386", "-display", "none", "-nodefaults"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    if paused {
        command.arg("-S");
    }
    match uart {
        Uart::Socket(path) => {
            command.arg("-chardev").arg(format!(
                "socket,id=uart,path={},server=on,wait=off",
                path.display()
            ));
        }
        Uart::Pty => {
            command.args(["-chardev", "pty,id=uart"]);
        }
    }
    let child = command
        .args(["-serial", "chardev:uart"])
        .arg("-chardev")
        .arg(format!(
            "socket,id=qmp,path={},server=on,wait=off",
            qmp_path.display()
        ))
        .args(["-mon", "chardev=qmp,mode=control"])
        // The bootloader at the start of flash, the slot-A image where a probe puts it. QEMU
        // copies both in again at every system reset; the boot-state record and slot B are
        // never loaded, so they keep what the board wrote, as flash would.
        .arg("-kernel")
        .arg(&flashed.bootloader)
        .arg("-device")
        .arg(format!(
            "loader,file={},addr={:#x},force-raw=on",
            flashed.image_bin.display(),
            flashed.image.address
        ))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .context("starting qemu-system-arm (under timeout)")?;
    Ok(Qemu {
        child,
        log: log.to_owned(),
    })
}

fn which_qemu() -> anyhow::Result<()> {
    match Command::new("qemu-system-arm").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout);
            println!("qemu: {}", version.lines().next().unwrap_or("?"));
            Ok(())
        }
        _ => bail!(
            "qemu-system-arm is not installed (Debian: apt-get install qemu-system-arm); `cargo xtask qemu` needs it"
        ),
    }
}

/// A booted board with the host's link up.
struct Board {
    qemu: Qemu,
    qmp: Qmp,
    host: Host,
}

/// Boots `flashed` under QEMU, brings the link up, and runs `check` on it; QEMU's output is
/// shown if anything fails.
fn with_board(
    flashed: &Flashed,
    dir: &Path,
    check: impl FnOnce(&mut Board) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let uart_path = dir.join("uart.sock");
    let qmp_path = dir.join("qmp.sock");
    let log = dir.join("qemu.log");
    for stale in [&uart_path, &qmp_path] {
        let _ = fs::remove_file(stale);
    }
    // Paused (-S) until both sockets are connected, so nothing the image sends is lost.
    let qemu = launch(flashed, Uart::Socket(&uart_path), &qmp_path, &log, true)?;
    let outcome = boot(qemu, &qmp_path, &uart_path).and_then(|mut board| {
        let result = check(&mut board);
        if result.is_ok() {
            let _ = board.qmp.execute("quit", json!({}));
        }
        result.map_err(|e| (e, board.qemu.log()))
    });
    match outcome {
        Ok(()) => Ok(()),
        Err((error, log)) => {
            if !log.trim().is_empty() {
                eprintln!("--- QEMU's output ---\n{}\n---", log.trim_end());
            }
            Err(error)
        }
    }
}

fn boot(qemu: Qemu, qmp_path: &Path, uart_path: &Path) -> Result<Board, (anyhow::Error, String)> {
    let connect = || -> anyhow::Result<(Qmp, Host)> {
        let mut qmp = Qmp::open(qmp::connect(qmp_path, Duration::from_secs(10))?)?;
        let serial = qmp::connect(uart_path, Duration::from_secs(10))?;
        let mut host = Host::new(serial)?;
        qmp.execute("cont", json!({}))?;
        let up = host.wait_for("handshake", Duration::from_secs(5), |e| {
            matches!(e, BoardEvent::Up { .. })
        })?;
        if let BoardEvent::Up { info } = up {
            println!(
                "qemu: link up after {:.0} ms: firmware {} slot {:?}, {} ports",
                host.start.elapsed().as_secs_f64() * 1e3,
                info.firmware,
                info.slot,
                info.ports
            );
        }
        Ok((qmp, host))
    };
    match connect() {
        Ok((qmp, host)) => Ok(Board { qemu, qmp, host }),
        Err(e) => Err((e, qemu.log())),
    }
}

/// Keys port 0, holds it under heartbeats, falls silent and times the PTT line's fall.
fn host_silence(board: &mut Board, (stack_end, stack_start): (u32, u32)) -> anyhow::Result<()> {
    let Board { qmp, host, .. } = board;
    let port = Port::new(PORT).context("port 0 exists")?;
    let leds = qmp.read_word(SCC_LEDS)?;
    if leds & PTT_BITS != 0 || leds & POWER_BITS != POWER_BITS {
        bail!(
            "after the handshake every PTT line should be released and every radio powered; SCC CFG_REG1 = {leds:#04x}"
        );
    }

    let now = host.now();
    host.session.set_ptt(now, port, true);
    host.wait_for(
        "PTT acknowledged",
        Duration::from_secs(2),
        |e| matches!(e, BoardEvent::PttConfirmed { port: p, on: true } if *p == port),
    )?;
    let leds = qmp.read_word(SCC_LEDS)?;
    if leds & PTT_BITS != 1 << PORT {
        bail!(
            "the board acknowledged PTT on port {PORT} but its PTT lines read {:#03x} (SCC CFG_REG1 = {leds:#04x})",
            leds & PTT_BITS
        );
    }
    println!(
        "qemu: PTT on port {PORT} acknowledged, and its line is keyed (SCC CFG_REG1 = {leds:#04x})"
    );

    // Heartbeats keep it keyed.
    let hold_until = Instant::now() + HOLD;
    while Instant::now() < hold_until {
        host.pump()?;
    }
    let leds = qmp.read_word(SCC_LEDS)?;
    if leds & PTT_BITS != 1 << PORT {
        bail!(
            "PTT on port {PORT} fell while the host was sending heartbeats (SCC CFG_REG1 = {leds:#04x}); events: {:?}",
            host.events
        );
    }

    // Silence: listen only, and watch the line.
    host.talking = false;
    let silent_from = host.last_tx;
    let events_before_silence = host.events.len();
    let deadline = silent_from + Duration::from(HOST_SILENCE_LIMIT) + Duration::from_secs(2);
    let mut last_keyed = Duration::ZERO;
    let fell = loop {
        host.pump()?;
        let leds = qmp.read_word(SCC_LEDS)?;
        let seen = silent_from.elapsed();
        if leds & PTT_BITS == 0 {
            break seen;
        }
        last_keyed = seen;
        if Instant::now() > deadline {
            bail!("PTT on port {PORT} still keyed {seen:?} after the host's last frame");
        }
    };
    let limit = Duration::from(HOST_SILENCE_LIMIT);
    println!(
        "qemu: host silent: PTT fell {:.1} ms after the host's last frame (still keyed at {:.1} ms; limit {} ms)",
        fell.as_secs_f64() * 1e3,
        last_keyed.as_secs_f64() * 1e3,
        limit.as_millis()
    );
    if fell < limit - EARLY_SLACK {
        bail!(
            "PTT fell after {fell:?}, before the {limit:?} watchdog could have fired: the board's clock runs fast"
        );
    }
    if last_keyed > limit + LATE_SLACK {
        bail!(
            "PTT was still keyed {last_keyed:?} after the host's last frame: later than {limit:?} + {LATE_SLACK:?}"
        );
    }
    let fpga_leds = qmp.read_word(FPGAIO_LEDS)?;
    if fpga_leds & FAULT_LED == 0 {
        bail!("the fault LED is dark after the host silence (FPGAIO LED0 = {fpga_leds:#x})");
    }
    let report = "the board's host-silence report";
    host.wait_since(events_before_silence, report, Duration::from_secs(1), |e| {
        matches!(
            e,
            BoardEvent::Down {
                reason: DownReason::HostSilence
            } | BoardEvent::Fault {
                fault: Fault::HostSilence { .. }
            }
        )
    })?;
    let dropped = host.events.iter().find_map(|(_, e)| match e {
        BoardEvent::Fault {
            fault: Fault::HostSilence { dropped },
        } => Some(*dropped),
        _ => None,
    });
    if dropped.is_some_and(|d| d != PortMask::EMPTY.with(port)) {
        bail!("the board reported dropping {dropped:?}, not port {PORT}");
    }
    println!("qemu: fault LED lit; the board reported the host silence");

    let stack = qmp.read_words(stack_end, ((stack_start - stack_end) / 4) as usize)?;
    let untouched = stack.iter().take_while(|&&w| w == STACK_PAINT).count() as u32 * 4;
    let size = stack_start - stack_end;
    println!(
        "qemu: stack used {} of {size} bytes reserved",
        size - untouched
    );
    if untouched == 0 {
        bail!("the stack reached the bottom of its {size}-byte reservation");
    }

    Ok(())
}

/// Keys the port the drill image panics on and checks that the panic handler released it.
fn panic_drill(board: &mut Board) -> anyhow::Result<()> {
    let Board { qemu, qmp, host } = board;
    let port = Port::new(DRILL_PORT).context("the drill port exists")?;
    let now = host.now();
    host.session.set_ptt(now, port, true);
    host.wait_for(
        "PTT acknowledged",
        Duration::from_secs(2),
        |e| matches!(e, BoardEvent::PttConfirmed { port: p, on: true } if *p == port),
    )?;
    let leds = qmp.read_word(SCC_LEDS)?;
    if leds & PTT_BITS != 1 << DRILL_PORT {
        bail!(
            "the drill image acknowledged PTT on port {DRILL_PORT} but its lines read SCC CFG_REG1 = {leds:#04x}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while !qemu.log().contains("panicked") {
        if Instant::now() > deadline {
            bail!("the drill image keyed port {DRILL_PORT} but did not panic");
        }
        // The host keeps talking, so only the panic can release the line.
        host.pump()?;
    }
    let leds = qmp.read_word(SCC_LEDS)?;
    let fpga_leds = qmp.read_word(FPGAIO_LEDS)?;
    // The halted image is reset by the watchdog 250 ms after its last feed; a reset before
    // these reads would make them the new boot's, not the panic handler's.
    if qmp.count_events("RESET")? > 0 {
        bail!(
            "the watchdog reset the board before its lines could be read after the panic (more than 250 ms)"
        );
    }
    if leds & PTT_BITS != 0 {
        bail!("the image panicked with PTT keyed and left it keyed: SCC CFG_REG1 = {leds:#04x}");
    }
    if fpga_leds & FAULT_LED == 0 {
        bail!("the image panicked and left the fault LED dark (FPGAIO LED0 = {fpga_leds:#x})");
    }
    let said = qemu.log();
    let said = said
        .lines()
        .find(|l| l.contains("panic drill"))
        .unwrap_or("");
    println!(
        "qemu: panic drill: the panic handler released PTT on port {DRILL_PORT} and lit the fault LED ({said})"
    );
    let halted = Instant::now();
    qmp.wait_events("RESET", 1, Duration::from_secs(2))
        .context("the halted image was not reset by the watchdog")?;
    let leds = qmp.read_word(SCC_LEDS)?;
    if leds & PTT_BITS != 0 {
        bail!("after the watchdog reset a PTT line is keyed: SCC CFG_REG1 = {leds:#04x}");
    }
    println!(
        "qemu: panic drill: the watchdog reset the halted board ({:.0} ms after the panic was seen); PTT still released",
        halted.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
