//! `cargo xtask qemu`, last stage: real A/B firmware updates of the emulated board, the way an
//! engineer updates a board in the field. `borderlinkd` runs with the board's UART0 as its
//! board serial port (QEMU gives it a pseudo-terminal), and `borderlink firmware flash FILE`
//! sends images signed with `borderlink firmware sign` through the daemon's API; the board
//! writes them into its other slot over its real update flash, resets, and its bootloader
//! picks the slot from the boot-state record.
//!
//! A release is built twice, linked for slot A and for slot B, and signed into one file with
//! both (`sign --slot-a A.bin --slot-b B.bin`); `flash` sends the image for the slot the board
//! is not running. On one board, booted from the bootloader and slot A, every step with a
//! deadline:
//! 1. a file holding a slot-B image that hangs before it serves the link (`hang-drill`): sent,
//!    verified and committed; the board resets, the bootloader starts it on trial, the watchdog
//!    resets it, the bootloader rolls back: `flash` fails with "rolled back", the board runs
//!    slot A;
//! 2. a file holding only the new release's slot-A image, while the board runs slot A: refused
//!    by the daemon before anything is sent (no reset, boot state unchanged);
//! 3. the new release's file with both images: the daemon sends the slot-B one, the board
//!    resets into it on trial, answers the daemon's `Hello` from slot B with the new version
//!    and confirms it: `flash` succeeds;
//! 4. that release signed with another key: the daemon sends its slot-A image, refused at
//!    verification, no reset, slot B runs on;
//! 5. a reset from outside (QMP `system_reset`): the board comes back on slot B, so the record
//!    and slot B survived the reset as flash would.
//!
//! After each step the CPU's VTOR (which slot's vector table is in use) and the boot-state
//! record (read from the emulated flash and decoded by the firmware's own code) are checked.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use borderlink_firmware::update::FlashLayout;
use borderlink_firmware::update::boot::{self, BootState};
use borderlink_firmware::update::ram_flash::RamFlash;
use borderlink_gateway::client::Client;
use borderlink_protocol::link::Slot;
use serde_json::json;

use crate::bsp::{self, RawImage};
use crate::qemu::{self, Flashed, Qemu, Uart};
use crate::qmp::{self, Qmp};

/// The version of the good slot-B image: far from any real release, so it cannot be mistaken
/// for the slot-A image's.
const NEW_VERSION: &str = "250.1.0";
/// The version the hanging image announces.
const HANG_VERSION: &str = "250.2.0";

/// The boot-state area of the emulated board: sectors 1 and 2 (firmware/bsp/mps2-an386/build.rs).
const BOOT_STATE: u32 = 0x4000;
const BOOT_STATE_LEN: u32 = 32 * 1024;
/// The system control block's vector table offset register.
const VTOR: u32 = 0xE000_ED08;

/// How long one `borderlink firmware flash` may take: a 50 KiB image at 115 200 baud, a reset
/// or two and a handshake.
const FLASH_TIMEOUT: Duration = Duration::from_secs(90);

/// The development signing key (firmware/keys/), whose public half the images are built with.
const DEV_KEY: &str = "firmware/keys/dev-signing-key.pem";

/// Kills the daemon when the check ends, however it ends.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The board, the daemon and the CLI.
struct Site {
    qemu: Qemu,
    qmp: Qmp,
    daemon: Daemon,
    cli: PathBuf,
    api: String,
    tokens: PathBuf,
    /// Slot A's and slot B's start.
    slots: [u32; 2],
}

/// The last stage of `cargo xtask qemu`.
pub(crate) fn run(root: &Path, dir: &Path, flashed: &Flashed) -> anyhow::Result<()> {
    let (daemon_bin, cli) = gateway_binaries(root)?;
    let key = root.join(DEV_KEY);
    let other_key = dir.join("other-key.pem");
    run_cli(
        &cli,
        &["firmware", "keygen", "--out", path(&other_key)?],
        &[],
    )?;

    let hang = build_image(root, dir, "hang", &["slot-b", "hang-drill"], HANG_VERSION)?;
    let good = build_image(root, dir, "new-b", &["slot-b"], NEW_VERSION)?;
    let good_a = build_image(root, dir, "new-a", &[], NEW_VERSION)?;
    if hang.0.address != good.0.address
        || good.0.address == flashed.image.address
        || good_a.0.address != flashed.image.address
    {
        bail!(
            "the slot-B images start at {:#x} and {:#x}, the slot-A ones at {:#x} and {:#x}",
            hang.0.address,
            good.0.address,
            good_a.0.address,
            flashed.image.address
        );
    }
    let files = Files {
        hang: sign(&cli, &key, "hang", &[("--slot-b", &hang.1)], HANG_VERSION)?,
        only_a: sign(&cli, &key, "new-a", &[("--slot-a", &good_a.1)], NEW_VERSION)?,
        good: sign(
            &cli,
            &key,
            "new",
            &[("--slot-a", &good_a.1), ("--slot-b", &good.1)],
            NEW_VERSION,
        )?,
        forged: sign(
            &cli,
            &other_key,
            "new-other-key",
            &[("--slot-a", &good_a.1), ("--slot-b", &good.1)],
            NEW_VERSION,
        )?,
    };
    let listed = run_cli(&cli, &["firmware", "inspect", path(&files.good)?], &[])?;
    println!(
        "qemu update: {NEW_VERSION} built for slot A ({} bytes) and slot B ({} bytes), signed into one file with `borderlink firmware sign`:\n{}",
        good_a.0.bytes.len(),
        good.0.bytes.len(),
        String::from_utf8_lossy(&listed.stdout).trim_end()
    );

    let mut site = start_site(
        dir,
        flashed,
        &daemon_bin,
        &cli,
        [flashed.image.address, good.0.address],
    )?;
    let result = updates(&mut site, &files);
    if result.is_err() {
        let log = site.qemu.log();
        if !log.trim().is_empty() {
            eprintln!("--- QEMU's output ---\n{}\n---", log.trim_end());
        }
        let daemon = fs::read_to_string(&site.daemon.log).unwrap_or_default();
        if !daemon.trim().is_empty() {
            eprintln!("--- borderlinkd's output ---\n{}\n---", daemon.trim_end());
        }
    } else {
        let _ = site.qmp.execute("quit", json!({}));
    }
    result
}

/// The signed files the stage flashes.
struct Files {
    /// The hanging image, slot B only.
    hang: PathBuf,
    /// The new release's slot-A image alone.
    only_a: PathBuf,
    /// The new release, both slots.
    good: PathBuf,
    /// The new release, both slots, signed with another key.
    forged: PathBuf,
}

fn updates(site: &mut Site, files: &Files) -> anyhow::Result<()> {
    let factory = site.wait_running(Slot::A, None, Duration::from_secs(30))?;
    site.expect_boot(Slot::A, None)?;
    println!(
        "qemu update: borderlinkd has the board up: {factory}; boot state: factory (no record)"
    );

    // 1. An image that never confirms: rolled back.
    let (out, took) = site.flash(&files.hang)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(1) || !stderr.contains("rolled back") {
        bail!(
            "flashing the hanging image should fail with a rollback; `borderlink firmware flash` said:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The commit's reset, and the watchdog's.
    site.qmp.wait_events("RESET", 2, Duration::from_secs(5))?;
    let factory_version = factory.split(' ').next().unwrap_or_default();
    let running = site.wait_running(Slot::A, Some(factory_version), Duration::from_secs(10))?;
    site.expect_boot(Slot::A, Some(BootState::confirmed(Slot::A)))?;
    println!(
        "qemu update: an image that hangs on trial: reset by the watchdog and rolled back in {:.1} s; `flash` said: {}",
        took.as_secs_f64(),
        last_line(&stderr)
    );
    println!("qemu update: the board runs {running} again; boot state: active A, no trial");

    // 2. Only an image for the slot the board runs: refused before anything is sent.
    let (out, _) = site.flash(&files.only_a)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = "the board runs slot A and this file holds only an image linked for slot A: flash a file with a slot-B image";
    if out.status.code() != Some(1) || !stderr.contains("409") || !stderr.contains(expected) {
        bail!(
            "a file with only a slot-A image should be refused (409) while the board runs slot A; `borderlink firmware flash` said:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if site.qmp.count_events("RESET")? != 2 {
        bail!("the board reset after the daemon refused a file for the slot it runs");
    }
    site.wait_running(Slot::A, Some(factory_version), Duration::from_secs(5))?;
    site.expect_boot(Slot::A, Some(BootState::confirmed(Slot::A)))?;
    println!(
        "qemu update: a file holding only a slot-A image is refused while the board runs slot A, nothing sent: {}",
        last_line(&stderr)
    );

    // 3. The release with both images: the slot-B one is sent, boots on trial and confirms.
    let (out, took) = site.flash(&files.good)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("now running {NEW_VERSION} (slot B)");
    let sent = format!("updating the board to {NEW_VERSION} with the image for slot B");
    if !out.status.success() || !stdout.contains(&expected) || !stderr.contains(&sent) {
        bail!(
            "flashing {NEW_VERSION} should send the slot-B image and end with `{expected}`; `borderlink firmware flash` said:\n{stdout}{stderr}"
        );
    }
    site.qmp.wait_events("RESET", 3, Duration::from_secs(5))?;
    site.wait_running(Slot::B, Some(NEW_VERSION), Duration::from_secs(10))?;
    site.expect_boot(Slot::B, Some(BootState::confirmed(Slot::B)))?;
    println!(
        "qemu update: {NEW_VERSION} flashed through borderlinkd in {:.1} s: the board reset once, booted slot B on trial and confirmed it; `flash` said: {}",
        took.as_secs_f64(),
        last_line(&stdout)
    );

    // 4. Another key's signature: refused, nothing changes.
    let (out, _) = site.flash(&files.forged)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(1) || !stderr.contains("update failed") {
        bail!(
            "an image signed with another key should be refused; `borderlink firmware flash` said:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if site.qmp.count_events("RESET")? != 3 {
        bail!("the board reset after refusing an image signed with another key");
    }
    site.wait_running(Slot::B, Some(NEW_VERSION), Duration::from_secs(5))?;
    site.expect_boot(Slot::B, Some(BootState::confirmed(Slot::B)))?;
    println!(
        "qemu update: an image signed with another key is refused ({}); the board runs {NEW_VERSION} from slot B on",
        last_line(&stderr)
    );

    // 5. A reset from outside: the confirmed slot B boots again.
    site.qmp.execute("system_reset", json!({}))?;
    site.qmp.wait_events("RESET", 4, Duration::from_secs(5))?;
    site.wait_running(Slot::B, Some(NEW_VERSION), Duration::from_secs(10))?;
    site.expect_boot(Slot::B, Some(BootState::confirmed(Slot::B)))?;
    println!(
        "qemu update: after a system reset the board boots {NEW_VERSION} from slot B again: record and slot B survive a reset"
    );
    Ok(())
}

impl Site {
    /// Runs `borderlink firmware flash FILE`; returns its output and how long it took.
    fn flash(&self, file: &Path) -> anyhow::Result<(Output, Duration)> {
        let start = Instant::now();
        let mut child = Command::new(&self.cli)
            .args(["firmware", "flash", path(file)?])
            .env("BORDERLINK_API", &self.api)
            .env("BORDERLINK_TOKEN_FILE", &self.tokens)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running borderlink firmware flash")?;
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if start.elapsed() > FLASH_TIMEOUT {
                let _ = child.kill();
                let out = child.wait_with_output()?;
                bail!(
                    "`borderlink firmware flash {}` still running after {FLASH_TIMEOUT:?}:\n{}",
                    file.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output()?;
        Ok((out, start.elapsed()))
    }

    /// Waits until the daemon reports the board up running from `slot` (with `version`, if
    /// given); returns what it reports (`1.0.0 (slot A)`).
    fn wait_running(
        &mut self,
        slot: Slot,
        version: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let client = Client::new(&self.api, Some(Client::read_token(&self.tokens)?));
        let suffix = format!("({slot:?})")
            .replace("(A)", "(slot A)")
            .replace("(B)", "(slot B)");
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Ok(view) = client.firmware() {
                if let Some(running) = &view.running
                    && running.ends_with(&suffix)
                    && version.is_none_or(|v| running.starts_with(&format!("{v} ")))
                {
                    return Ok(running.clone());
                }
                last = view.running;
            }
            if Instant::now() > deadline {
                bail!(
                    "the daemon did not report the board running {} from slot {slot:?} within {timeout:?} (last: {last:?})",
                    version.unwrap_or("anything")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks which slot's vector table the CPU uses, and the boot-state record.
    fn expect_boot(&mut self, slot: Slot, state: Option<BootState>) -> anyhow::Result<()> {
        let vtor = self.qmp.read_cpu_words(VTOR, 1)?[0];
        let expected = self.slots[usize::from(slot == Slot::B)];
        if vtor != expected {
            bail!(
                "the CPU runs the vector table at {vtor:#x}, not slot {slot:?}'s at {expected:#x}"
            );
        }
        let words = self
            .qmp
            .read_words(BOOT_STATE, (BOOT_STATE_LEN / 4) as usize)?;
        let mut flash: RamFlash<Vec<u8>, 4, 16384> =
            RamFlash::new(vec![0; BOOT_STATE_LEN as usize]);
        for (bytes, word) in flash.bytes_mut().chunks_mut(4).zip(&words) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        let layout = FlashLayout::new(0, 0, 0, 0, BOOT_STATE_LEN);
        let found = boot::latest(&mut flash, &layout)
            .map_err(|e| anyhow::anyhow!("reading the boot-state copy: {e:?}"))?;
        if found != state {
            bail!("the boot-state record is {found:?}, not {state:?}");
        }
        Ok(())
    }
}

/// Boots the board with its UART on a pseudo-terminal and starts `borderlinkd` on it.
fn start_site(
    dir: &Path,
    flashed: &Flashed,
    daemon: &Path,
    cli: &Path,
    slots: [u32; 2],
) -> anyhow::Result<Site> {
    let qmp_path = dir.join("qmp-update.sock");
    let _ = fs::remove_file(&qmp_path);
    // Not paused: the daemon's handshake brings the link up whenever it comes.
    let qemu = qemu::launch(
        flashed,
        Uart::Pty,
        &qmp_path,
        &dir.join("qemu-update.log"),
        false,
    )?;
    let mut qmp = Qmp::open(qmp::connect(&qmp_path, Duration::from_secs(10))?)?;
    let chardevs = qmp.execute("query-chardev", json!({}))?;
    let pty = chardevs
        .as_array()
        .and_then(|devs| {
            devs.iter()
                .find(|d| d["label"] == "uart")
                .and_then(|d| d["filename"].as_str())
        })
        .and_then(|f| f.strip_prefix("pty:"))
        .with_context(|| format!("QEMU gave the UART no pseudo-terminal: {chardevs}"))?
        .to_owned();

    let tokens = dir.join("tokens");
    fs::write(
        &tokens,
        "engineer engineer BE 0123456789abcdef0123456789abcdef\n",
    )
    .context("writing tokens")?;
    fs::set_permissions(&tokens, fs::Permissions::from_mode(0o600))?;
    let ports = [free_udp()?, free_udp()?];
    let api_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        r#"# borderlinkd for `cargo xtask qemu`: one board-only radio on the emulated board.
[site]
id = 1
name = "qemu board"

[[radios]]
name = "radio"
network = "C2000"
issi = "02040000109000101"
group = "02040000102040551"
udp = {{ listen = "{}", peer = "{}", format = "pcma" }}

[board]
serial = "{pty}"

[[board.ports]]
port = 0
radio = "radio"
ptt = "active-high"

[api]
listen = "127.0.0.1:{api_port}"
token_file = "{}"
"#,
        ports[0],
        ports[1],
        tokens.display()
    );
    let config_path = dir.join("site.toml");
    fs::write(&config_path, config).context("writing the daemon's config")?;
    let log = dir.join("borderlinkd.log");
    let log_file = fs::File::create(&log)?;
    let child = Command::new(daemon)
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("starting borderlinkd")?;
    Ok(Site {
        qemu,
        qmp,
        daemon: Daemon { child, log },
        cli: cli.to_owned(),
        api: format!("http://127.0.0.1:{api_port}"),
        tokens,
        slots,
    })
}

/// Builds `borderlinkd` and `borderlink` (the root workspace's debug build) and returns them.
fn gateway_binaries(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let out = Command::new("cargo")
        .args(["build", "--package", "borderlink-gateway", "--bins"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build for borderlink-gateway")?;
    if !out.status.success() {
        bail!("building borderlinkd and borderlink failed");
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(name) = message["target"]["name"].as_str()
            && let Some(executable) = message["executable"].as_str()
        {
            bins.push((name.to_owned(), PathBuf::from(executable)));
        }
    }
    Ok((
        bsp::bin(&bins, "borderlinkd")?,
        bsp::bin(&bins, "borderlink")?,
    ))
}

/// Builds the image with `features` (`slot-b` links it for slot B) and `version`; returns it
/// raw and its file.
fn build_image(
    root: &Path,
    dir: &Path,
    tag: &str,
    features: &[&str],
    version: &str,
) -> anyhow::Result<(RawImage, PathBuf)> {
    let bins = bsp::build_bins(root, bsp::QEMU_IMAGE, features, Some(version))?;
    let image = bsp::raw_image(&bsp::bin(&bins, bsp::QEMU_IMAGE)?)?;
    let file = dir.join(format!("image-{tag}.bin"));
    fs::write(&file, &image.bytes).with_context(|| format!("writing {}", file.display()))?;
    Ok((image, file))
}

/// Signs the raw images, each after its slot option (`--slot-a`, `--slot-b`), with `key` as
/// `version` into `NAME.blfw` next to them (`borderlink firmware sign`); returns the file.
fn sign(
    cli: &Path,
    key: &Path,
    name: &str,
    images: &[(&str, &Path)],
    version: &str,
) -> anyhow::Result<PathBuf> {
    let Some((_, first)) = images.first() else {
        bail!("nothing to sign into {name}.blfw");
    };
    let signed = first.with_file_name(format!("{name}.blfw"));
    let mut args = vec![
        "firmware",
        "sign",
        "--key",
        path(key)?,
        "--version",
        version,
        // Every release of the check is security version 1: the board's floor rises to 1 at
        // the first confirmed update and the later ones are no rollback.
        "--security-version",
        "1",
    ];
    for (option, raw) in images {
        args.extend([*option, path(raw)?]);
    }
    args.extend(["--out", path(&signed)?]);
    run_cli(cli, &args, &[])?;
    Ok(signed)
}

/// Runs the CLI and fails with its output unless it succeeds.
fn run_cli(cli: &Path, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let out = Command::new(cli)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .with_context(|| format!("running borderlink {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "borderlink {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

fn free_udp() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// The last line a command printed, for the summary.
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}
