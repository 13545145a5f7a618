//! `cargo xtask`: the checks that need programs from outside the Rust toolchain, run by
//! `.ci/run` after it has installed them.
//!
//! - `cargo xtask wireshark`: tshark must dissect borderlink voice packets as valid RTP.
//! - `cargo xtask fuzz [--seconds N] [--keep]`: every fuzz target for N seconds (nightly,
//!   cargo-fuzz).
//! - `cargo xtask no-std`: the protocol crate builds for the board's `thumbv7em-none-eabihf`.
//! - `cargo xtask srtp-interop`: a libsrtp peer (pylibsrtp in a venv) and borderlinkd
//!   exchange SRTP both ways (python3 with venv and pip).
//! - `cargo xtask all [--seconds N]`: all of the above.

mod fuzz;
mod pcap;
mod srtp_interop;
mod wireshark;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <wireshark | fuzz [--seconds N] [--keep] | no-std | srtp-interop | all [--seconds N]>";

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
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .current_dir(root)
        .status()
        .context("running cargo build for thumbv7em-none-eabihf")?;
    if !status.success() {
        bail!(
            "borderlink-protocol does not build for thumbv7em-none-eabihf (is the target installed? rustup target add thumbv7em-none-eabihf)"
        );
    }
    println!("no-std: borderlink-protocol builds for thumbv7em-none-eabihf");
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
        Some("srtp-interop") => srtp_interop::run(&root),
        Some("all") => {
            no_std(&root)?;
            wireshark::run(&root.join("target").join("xtask"))?;
            srtp_interop::run(&root)?;
            fuzz::run(&root, seconds, keep)
        }
        _ => bail!("{USAGE}"),
    }
}
