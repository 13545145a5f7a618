//! Generates the production image's pin wiring from `hardware/pinout.toml`, and its memory map.
//!
//! `pinout.toml` is the single source of truth for the board's pins: `borderlink-pinout`
//! (`firmware/pinout/`, tested with the main workspace) checks it and writes `pinout.rs`, which
//! configures each pin at its safe level and gives the board logic its lines; a pinout the
//! image cannot drive stops the build with every problem listed. This script also writes the
//! linker's memory maps — one for the bootloader (sector 0), one for the firmware image in the
//! slot this build is for (feature `slot-b`, else slot A) — and the same figures as constants
//! in `memory.rs`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use borderlink_pinout::memory_map::{MemoryMap, Region};

const KIB: u32 = 1024;

/// The STM32F411's address space as the board uses it. Flash
/// sectors: 0-3 are 16 KiB, 4 is 64 KiB, 5-7 are 128 KiB (hardware/README.md, "Memory map").
const REGIONS: [Region; 7] = [
    Region {
        name: "BOOT",
        origin: 0x0800_0000,
        length: 16 * KIB,
        what: "the bootloader: flash sector 0, never written by an update",
    },
    Region {
        name: "STATE",
        origin: 0x0800_4000,
        length: 32 * KIB,
        what: "the boot-state record's two halves: flash sectors 1 and 2 (16 KiB each)",
    },
    Region {
        name: "SLOT_A",
        origin: 0x0802_0000,
        length: 128 * KIB,
        what: "firmware slot A: flash sector 5 (128 KiB)",
    },
    Region {
        name: "SLOT_B",
        origin: 0x0804_0000,
        length: 128 * KIB,
        what: "firmware slot B: flash sector 6 (128 KiB)",
    },
    Region {
        name: "STACK",
        origin: 0x2000_0000,
        length: 10 * KIB,
        what: "the image's stack, at the bottom of SRAM: an overflow faults instead of corrupting statics",
    },
    Region {
        name: "RAM",
        origin: 0x2000_2800,
        length: 118 * KIB,
        what: "the image's statics (.data, .bss): the rest of the 128 KiB SRAM",
    },
    Region {
        name: "BOOT_STACK",
        origin: 0x2000_0000,
        length: 4 * KIB,
        what: "the bootloader's stack (its RAM is the image's again once it has jumped)",
    },
];

/// The bootloader's RAM for statics, after its stack.
const BOOT_RAM: (u32, u32) = (0x2000_1000, 4 * KIB);

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let pinout_path = manifest.join("../../../hardware/pinout.toml");
    println!("cargo:rerun-if-changed={}", pinout_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let text = fs::read_to_string(&pinout_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", pinout_path.display()));
    let rust = borderlink_pinout::generate(&text).unwrap_or_else(|e| panic!("{e}"));
    fs::write(out.join("pinout.rs"), rust).expect("writing pinout.rs");
    write_memory_map(&out);
}

fn write_memory_map(out: &Path) {
    let map = MemoryMap {
        chip: "the STM32F411CE",
        regions: &REGIONS,
        boot_ram: BOOT_RAM,
    };
    let slot_b = env::var_os("CARGO_FEATURE_SLOT_B").is_some();
    let scripts = map.write(out, slot_b).unwrap_or_else(|e| panic!("{e}"));
    // Each binary finds its own memory.x (cortex-m-rt's link.x includes it by name).
    println!(
        "cargo:rustc-link-arg-bin=borderlink-bsp-stm32f411=-L{}",
        scripts.app.display()
    );
    println!(
        "cargo:rustc-link-arg-bin=borderlink-boot-stm32f411=-L{}",
        scripts.boot.display()
    );
}
