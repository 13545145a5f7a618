//! `cargo xtask`: the checks that need programs from outside the Rust toolchain, run by
//! `.ci/run` after it has installed them.
//!
//! - `cargo xtask wireshark`: tshark must dissect borderlink voice packets as valid RTP.
//! - `cargo xtask fuzz [--seconds N] [--keep]`: every fuzz target for N seconds (nightly,
//!   cargo-fuzz).
//! - `cargo xtask no-std`: the protocol and firmware crates build for the board's
//!   `thumbv7em-none-eabihf`.
//! - `cargo xtask alsa`: the daemon's ALSA audio backend (the `alsa` feature, which links
//!   libasound) passes clippy and its tests against alsa-lib's `null` device.
//! - `cargo xtask firmware-size`: builds both board images (`firmware/bsp/`) and fails if one
//!   needs more than 64 KiB of flash or 16 KiB of RAM.
//! - `cargo xtask qemu`: boots the emulated board (bootloader and slot-A image) under QEMU and
//!   checks, over its UART and from outside it, that PTT keys on command and drops within
//!   500 ms of host silence and on a panic, then updates it through `borderlinkd` and
//!   `borderlink firmware flash`: a hanging image is rolled back, a good one boots from slot B
//!   and confirms, another key's image is refused.
//! - `cargo xtask srtp-interop`: a libsrtp peer (pylibsrtp in a venv) and borderlinkd
//!   exchange SRTP both ways (python3 with venv and pip).
//! - `cargo xtask soak [--calls N] [--seeds A,B,…]`: the chaos soak (`borderlink_sim::soak`),
//!   N calls (default 10,000) through three site cores in virtual time for each seed
//!   (default 1,2,3), release build; fails on the first broken invariant with its seed.
//! - `cargo xtask mutants [--base REF] [--minutes N] [--ci]`: cargo-mutants over the safety-
//!   and security-critical files changed since REF (by default the last landed submission,
//!   `.ci/landed`), with their unit tests; `--ci` samples them in place within the budget.
//! - `cargo xtask all [--seconds N]`: all of the above but `mutants`.

mod board_update;
mod bsp;
mod firmware_size;
mod fuzz;
mod mutants;
mod pcap;
mod qemu;
mod qmp;
mod srtp_interop;
mod wireshark;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <wireshark | fuzz [--seconds N] [--keep] | no-std | alsa | firmware-size | qemu | srtp-interop | soak [--calls N] [--seeds A,B,…] | mutants [--base REF] [--minutes N] [--ci] | all [--seconds N]>";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn no_std(root: &Path) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args([
            "build",
            "--package",
            "borderlink-protocol",
            "--package",
            "borderlink-firmware",
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .current_dir(root)
        .status()
        .context("running cargo build for thumbv7em-none-eabihf")?;
    if !status.success() {
        bail!(
            "borderlink-protocol or borderlink-firmware does not build for thumbv7em-none-eabihf (is the target installed? rustup target add thumbv7em-none-eabihf)"
        );
    }
    println!("no-std: borderlink-protocol and borderlink-firmware build for thumbv7em-none-eabihf");
    Ok(())
}

/// Runs cargo with `args` in the workspace; fails with `what` if it fails.
fn cargo(root: &Path, args: &[&str], what: &str) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("{what} (cargo {})", args.join(" "));
    }
    Ok(())
}

fn alsa(root: &Path) -> anyhow::Result<()> {
    let feature = ["--package", "borderlink-gateway", "--features", "alsa"];
    let mut clippy = vec!["clippy"];
    clippy.extend(feature);
    clippy.extend(["--all-targets", "--", "-D", "warnings"]);
    cargo(
        root,
        &clippy,
        "the ALSA backend does not pass clippy (is libasound2-dev installed?)",
    )?;
    let mut test = vec!["test"];
    test.extend(feature);
    test.extend(["--lib", "audio::alsa"]);
    cargo(root, &test, "the ALSA backend's tests failed")?;
    println!("alsa: the ALSA backend builds, passes clippy and plays and captures on `null`");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = match args.iter().position(|a| a == "--seconds") {
        Some(i) => args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("--seconds needs a number of seconds\n{USAGE}"))?,
        None => 30,
    };
    let keep = args.iter().any(|a| a == "--keep");
    let root = root();
    match args.first().map(String::as_str) {
        Some("wireshark") => wireshark::run(&root.join("target").join("xtask")),
        Some("fuzz") => fuzz::run(&root, seconds, keep),
        Some("no-std") => no_std(&root),
        Some("alsa") => alsa(&root),
        Some("firmware-size") => firmware_size::run(&root),
        Some("qemu") => qemu::run(&root),
        Some("srtp-interop") => srtp_interop::run(&root),
        Some("soak") => {
            let value = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1).cloned())
            };
            let calls = value("--calls").unwrap_or_else(|| "10000".to_owned());
            let seeds = value("--seeds").unwrap_or_else(|| "1,2,3".to_owned());
            for seed in seeds.split(',') {
                cargo(
                    &root,
                    &[
                        "run",
                        "--quiet",
                        "--release",
                        "--package",
                        "borderlink-sim",
                        "--",
                        "--soak",
                        &calls,
                        "--seed",
                        seed,
                    ],
                    &format!("the soak broke an invariant with seed {seed}"),
                )?;
            }
            Ok(())
        }
        Some("mutants") => {
            let value = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .map(|i| args.get(i + 1).cloned())
            };
            let base = match value("--base") {
                Some(Some(base)) => base,
                Some(None) => bail!("--base needs a git revision\n{USAGE}"),
                None => mutants::default_base(&root),
            };
            let ci = args.iter().any(|a| a == "--ci");
            let minutes = match value("--minutes") {
                Some(m) => m
                    .and_then(|m| m.parse().ok())
                    .with_context(|| format!("--minutes needs a number of minutes\n{USAGE}"))?,
                None if ci => 5,
                None => 20,
            };
            mutants::run(&root, &base, minutes, ci)
        }
        Some("all") => {
            no_std(&root)?;
            alsa(&root)?;
            firmware_size::run(&root)?;
            qemu::run(&root)?;
            wireshark::run(&root.join("target").join("xtask"))?;
            srtp_interop::run(&root)?;
            fuzz::run(&root, seconds, keep)
        }
        _ => bail!("{USAGE}"),
    }
}
