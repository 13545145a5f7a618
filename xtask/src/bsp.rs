//! Building the board-support images (`firmware/bsp/`, a workspace of its own for
//! `thumbv7em-none-eabihf`) and finding their ELF files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The board-support workspace, relative to the repository root.
pub(crate) const BSP_DIR: &str = "firmware/bsp";

/// The image CI boots under QEMU (Arm MPS2 AN386); its package also builds its bootloader.
pub(crate) const QEMU_IMAGE: &str = "borderlink-bsp-mps2";

/// The emulated board's bootloader (a binary of the [`QEMU_IMAGE`] package).
pub(crate) const QEMU_BOOTLOADER: &str = "borderlink-boot-mps2";

/// The production board's image (STM32F411); its package also builds its bootloader.
pub(crate) const PRODUCTION_IMAGE: &str = "borderlink-bsp-stm32f411";

/// The production board's bootloader (a binary of the [`PRODUCTION_IMAGE`] package).
pub(crate) const PRODUCTION_BOOTLOADER: &str = "borderlink-boot-stm32f411";

/// The executable called `name` among `bins`.
pub(crate) fn bin(bins: &[(String, PathBuf)], name: &str) -> anyhow::Result<PathBuf> {
    bins.iter()
        .find(|(n, _)| n == name)
        .map(|(_, path)| path.clone())
        .with_context(|| format!("cargo built no executable {name}"))
}

/// Builds every binary of `package` in release with `features`, the firmware version
/// `BORDERLINK_FIRMWARE_VERSION` set to `version` (or unset), and returns (name, ELF) of each.
///
/// Cargo runs inside the bsp workspace, so its `.cargo/config.toml` (target, linker script)
/// applies. Each package is built on its own: built together, the STM32 HAL would switch on
/// cortex-m-rt's `device` feature for the MPS2 programs too, which have no device crate to go
/// with it. The ELF files are where cargo leaves them, so the next build of the same package
/// with other features overwrites them: copy what must be kept.
pub(crate) fn build_bins(
    root: &Path,
    package: &str,
    features: &[&str],
    version: Option<&str>,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
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
    match version {
        Some(version) => cargo.env("BORDERLINK_FIRMWARE_VERSION", version),
        None => cargo.env_remove("BORDERLINK_FIRMWARE_VERSION"),
    };
    // These builds are for checks (sizes, QEMU), signed with the development key unless the
    // caller set a release key: the production image refuses the development key otherwise.
    if std::env::var_os("BORDERLINK_FIRMWARE_PUBLIC_KEY").is_none() {
        cargo.env("BORDERLINK_ALLOW_DEV_KEY", "1");
    }
    let mut child = cargo
        .current_dir(root.join(BSP_DIR))
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build in firmware/bsp")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut bins = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's messages")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(name) = message["target"]["name"].as_str()
            && let Some(executable) = message["executable"].as_str()
        {
            bins.push((name.to_owned(), PathBuf::from(executable)));
        }
    }
    let status = child.wait().context("waiting for cargo build")?;
    if !status.success() {
        bail!(
            "building {package} failed (is the target installed? rustup target add thumbv7em-none-eabihf)"
        );
    }
    if bins.is_empty() {
        bail!("cargo built no executable for {package}");
    }
    Ok(bins)
}

/// A firmware image as a debug probe or an update writes it: the bytes of every loadable
/// segment with contents, from the lowest address (its vector table) up, gaps filled with
/// 0xFF (erased flash). What `objcopy -O binary` makes, without binutils.
#[derive(Debug, Clone)]
pub(crate) struct RawImage {
    /// Where it goes.
    pub(crate) address: u32,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

/// The raw image of `elf`.
pub(crate) fn raw_image(elf: &Path) -> anyhow::Result<RawImage> {
    use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
    let data = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = ElfFile32::<object::Endianness>::parse(&*data)
        .with_context(|| format!("{} is not a 32-bit ELF file", elf.display()))?;
    let endian = file.endian();
    let mut segments = Vec::new();
    for header in file
        .elf_header()
        .program_headers(endian, &*data)
        .with_context(|| format!("reading the program headers of {}", elf.display()))?
    {
        if header.p_type(endian) != object::elf::PT_LOAD || header.p_filesz(endian) == 0 {
            continue;
        }
        let bytes = header
            .data(endian, &*data)
            .map_err(|()| anyhow::anyhow!("{}: a segment lies outside the file", elf.display()))?;
        segments.push((header.p_paddr(endian), bytes));
    }
    let address = segments
        .iter()
        .map(|(a, _)| *a)
        .min()
        .with_context(|| format!("{} has nothing to load", elf.display()))?;
    let end = segments
        .iter()
        .map(|(a, b)| *a as usize + b.len())
        .max()
        .unwrap_or(address as usize);
    let len = end - address as usize;
    if len > 1 << 20 {
        bail!(
            "{}: its loadable segments span {len} bytes from {address:#x}: not one flash image",
            elf.display()
        );
    }
    let mut bytes = vec![0xff; len];
    for (at, data) in segments {
        let start = (at - address) as usize;
        bytes[start..start + data.len()].copy_from_slice(data);
    }
    Ok(RawImage { address, bytes })
}
