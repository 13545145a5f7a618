//! Writes the linker's memory maps — one for the bootloader, one for the firmware image in the
//! slot this build is for (feature `slot-b`, else slot A) — and the same figures as Rust
//! constants (`memory.rs`), from the one table below, so they cannot disagree (the writer is
//! `borderlink_pinout::memory_map`, shared with the production board).
//!
//! The update flash has the STM32F411's shape (hardware/README.md, "Memory map"), so the
//! emulated board exercises the production board's flash layout and logical erase: sector 0
//! (16 KiB) the bootloader, sectors 1 and 2 (16 KiB each) the boot-state halves, sector 5
//! (128 KiB) slot A, sector 6 (128 KiB) slot B. Under QEMU all of it is RAM (ZBT SSRAM1).

use std::env;
use std::path::PathBuf;

use borderlink_pinout::memory_map::{MemoryMap, Region};

const KIB: u32 = 1024;

/// The address space.
const REGIONS: [Region; 7] = [
    Region {
        name: "BOOT",
        origin: 0x0000_0000,
        length: 16 * KIB,
        what: "the bootloader (sector 0; QEMU loads it with -kernel)",
    },
    Region {
        name: "STATE",
        origin: 0x0000_4000,
        length: 32 * KIB,
        what: "the boot-state record's two halves (sectors 1 and 2; never loaded, survives a reset)",
    },
    Region {
        name: "SLOT_A",
        origin: 0x0002_0000,
        length: 128 * KIB,
        what: "firmware slot A (sector 5; the image a debug probe flashes, loaded by QEMU)",
    },
    Region {
        name: "SLOT_B",
        origin: 0x0004_0000,
        length: 128 * KIB,
        what: "firmware slot B (sector 6; written only by updates, survives a reset)",
    },
    Region {
        name: "STACK",
        origin: 0x2000_0000,
        length: 10 * KIB,
        what: "the image's stack, at the bottom of RAM: an overflow faults instead of corrupting statics",
    },
    Region {
        name: "RAM",
        origin: 0x2000_2800,
        length: 118 * KIB,
        what: "the image's statics (.data, .bss); the part of ZBT SSRAM2/3 it may use, as on the STM32F411",
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
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = MemoryMap {
        chip: "Arm MPS2 AN386 as QEMU models it",
        regions: &REGIONS,
        boot_ram: BOOT_RAM,
    };
    let slot_b = env::var_os("CARGO_FEATURE_SLOT_B").is_some();
    let scripts = map.write(&out, slot_b).unwrap_or_else(|e| panic!("{e}"));
    // Each binary finds its own memory.x (cortex-m-rt's link.x includes it by name).
    println!(
        "cargo:rustc-link-arg-bin=borderlink-bsp-mps2=-L{}",
        scripts.app.display()
    );
    println!(
        "cargo:rustc-link-arg-bin=borderlink-boot-mps2=-L{}",
        scripts.boot.display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
