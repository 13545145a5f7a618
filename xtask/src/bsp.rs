//! Building the board-support images (`firmware/bsp/`, a workspace of its own for
//! `thumbv7em-none-eabihf`) and finding their ELF files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The board-support workspace, relative to the repository root.
pub(crate) const BSP_DIR: &str = "firmware/bsp";

/// The image CI boots under QEMU (Arm MPS2 AN386).
pub(crate) const QEMU_IMAGE: &str = "borderlink-bsp-mps2";

/// The production board's image (STM32F411).
pub(crate) const PRODUCTION_IMAGE: &str = "borderlink-bsp-stm32f411";

/// Every board-support image.
pub(crate) const ALL: [&str; 2] = [QEMU_IMAGE, PRODUCTION_IMAGE];

/// Builds `packages` in release with `features` and returns each one's ELF, in the order asked.
///
/// Cargo runs inside the bsp workspace, so its `.cargo/config.toml` (target, linker script)
/// applies; the images land in the repository's target directory. Each image is built on its
/// own: built together, the STM32 HAL would switch on cortex-m-rt's `device` feature for the
/// MPS2 image too, which has no device crate to go with it.
pub(crate) fn build(
    root: &Path,
    packages: &[&str],
    features: &[&str],
) -> anyhow::Result<Vec<PathBuf>> {
    packages
        .iter()
        .map(|p| build_one(root, p, features))
        .collect()
}

fn build_one(root: &Path, package: &str, features: &[&str]) -> anyhow::Result<PathBuf> {
    let mut cargo = Command::new("cargo");
    cargo
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--package", package]);
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    let mut child = cargo
        .current_dir(root.join(BSP_DIR))
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build in firmware/bsp")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut elf = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's messages")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == package
            && let Some(executable) = message["executable"].as_str()
        {
            elf = Some(PathBuf::from(executable));
        }
    }
    let status = child.wait().context("waiting for cargo build")?;
    if !status.success() {
        bail!(
            "building {package} failed (is the target installed? rustup target add thumbv7em-none-eabihf)"
        );
    }
    elf.with_context(|| format!("cargo built no executable for {package}"))
}
