//! `cargo xtask firmware-size`: how much flash and RAM each board program needs — each board's
//! bootloader and its firmware image linked for slot A and for slot B — against the budget
//! (64 KiB of flash, 16 KiB of RAM; the aim is half of each). A bootloader must also fit the
//! 16 KiB flash sector it lives in.
//!
//! The figures come from the ELF's section headers, so nothing beyond this crate is needed:
//! flash is every allocated section with contents (vector table, code, read-only data, and the
//! initial values of `.data`); RAM is every writable allocated section (`.data`, `.bss`,
//! `.uninit`) plus the stack the linker script reserves (`_stack_start - _stack_end`).

use std::path::Path;

use anyhow::{Context, bail};
use object::elf::{SHF_ALLOC, SHF_WRITE, SHT_NOBITS};
use object::read::elf::{ElfFile32, FileHeader, SectionHeader};
use object::{Endianness, Object, ObjectSymbol};

use crate::bsp;

/// The most flash an image may use.
const FLASH_BUDGET: u64 = 64 * 1024;
/// The most RAM an image may use, stack included.
const RAM_BUDGET: u64 = 16 * 1024;
/// The bootloader's flash sector (sector 0 on both boards).
const BOOT_SECTOR: u64 = 16 * 1024;

/// Each board's package and its bootloader binary.
const BOARDS: [(&str, &str); 2] = [
    (bsp::QEMU_IMAGE, bsp::QEMU_BOOTLOADER),
    (bsp::PRODUCTION_IMAGE, bsp::PRODUCTION_BOOTLOADER),
];

/// What an image needs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footprint {
    /// Code, read-only data and the initial values of `.data`.
    pub(crate) flash: u64,
    /// `.data`, `.bss` and `.uninit`.
    pub(crate) statics: u64,
    /// The stack reserved by the linker script.
    pub(crate) stack: u64,
}

impl Footprint {
    /// Statics and stack.
    pub(crate) fn ram(&self) -> u64 {
        self.statics + self.stack
    }
}

/// Measures an image.
pub(crate) fn measure(elf: &Path) -> anyhow::Result<Footprint> {
    let data = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = ElfFile32::<Endianness>::parse(&*data)
        .with_context(|| format!("{} is not a 32-bit ELF file", elf.display()))?;
    let endian = file.endian();
    let sections = file
        .elf_header()
        .sections(endian, &*data)
        .with_context(|| format!("reading the section headers of {}", elf.display()))?;
    let (mut flash, mut statics) = (0, 0);
    for section in sections.iter() {
        let flags = u64::from(section.sh_flags(endian));
        if flags & u64::from(SHF_ALLOC) == 0 {
            continue;
        }
        let size = u64::from(section.sh_size(endian));
        let has_contents = section.sh_type(endian) != SHT_NOBITS;
        if has_contents {
            flash += size;
        }
        if flags & u64::from(SHF_WRITE) != 0 {
            statics += size;
        }
    }
    let (end, start) = stack_in(&file, elf)?;
    Ok(Footprint {
        flash,
        statics,
        stack: u64::from(start - end),
    })
}

/// The stack's bounds in an image: (`_stack_end`, `_stack_start`), lowest address first.
pub(crate) fn stack_bounds(elf: &Path) -> anyhow::Result<(u32, u32)> {
    let data = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = ElfFile32::<Endianness>::parse(&*data)
        .with_context(|| format!("{} is not a 32-bit ELF file", elf.display()))?;
    stack_in(&file, elf)
}

fn stack_in(file: &ElfFile32<'_, Endianness>, elf: &Path) -> anyhow::Result<(u32, u32)> {
    let symbol = |name: &str| {
        file.symbols()
            .find(|s| s.name() == Ok(name))
            .and_then(|s| u32::try_from(s.address()).ok())
            .with_context(|| format!("{} has no symbol {name}", elf.display()))
    };
    let (end, start) = (symbol("_stack_end")?, symbol("_stack_start")?);
    if start < end {
        bail!("{}: the stack ends above its start", elf.display());
    }
    Ok((end, start))
}

/// `cargo xtask firmware-size`: builds every program, prints its footprint, fails over budget.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    // Measured right after each build: the next build of the package overwrites its files.
    let mut rows = Vec::new();
    for (package, bootloader) in BOARDS {
        let bins = bsp::build_bins(root, package, &[], None)?;
        let boot = measure(&bsp::bin(&bins, bootloader)?)?;
        rows.push((bootloader.to_owned(), boot, true));
        rows.push((
            format!("{package} (slot A)"),
            measure(&bsp::bin(&bins, package)?)?,
            false,
        ));
        let bins = bsp::build_bins(root, package, &["slot-b"], None)?;
        rows.push((
            format!("{package} (slot B)"),
            measure(&bsp::bin(&bins, package)?)?,
            false,
        ));
    }
    println!(
        "{:<36} {:>22} {:>34}",
        "program", "flash (budget 64 KiB)", "RAM = statics + stack (16 KiB)"
    );
    let mut over = Vec::new();
    for (name, f, is_bootloader) in &rows {
        if *is_bootloader && f.flash > BOOT_SECTOR {
            over.push(format!(
                "{name}: flash {} > its 16 KiB sector",
                kib(f.flash)
            ));
        }
        println!(
            "{name:<36} {:>13} ({:>3.0} %) {:>10} + {:>8} = {:>8} ({:>3.0} %)",
            kib(f.flash),
            percent(f.flash, FLASH_BUDGET),
            kib(f.statics),
            kib(f.stack),
            kib(f.ram()),
            percent(f.ram(), RAM_BUDGET),
        );
        if f.flash > FLASH_BUDGET {
            over.push(format!("{name}: flash {} > 64 KiB", kib(f.flash)));
        }
        if f.ram() > RAM_BUDGET {
            over.push(format!("{name}: RAM {} > 16 KiB", kib(f.ram())));
        }
    }
    if !over.is_empty() {
        bail!("board programs over budget: {}", over.join("; "));
    }
    println!("firmware-size: every bootloader and image within budget");
    Ok(())
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn percent(part: u64, whole: u64) -> f64 {
    part as f64 * 100.0 / whole as f64
}
