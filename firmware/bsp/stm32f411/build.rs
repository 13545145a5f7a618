//! Generates the production image's pin wiring from `hardware/pinout.toml`, and its memory map.
//!
//! `pinout.toml` is the single source of truth for the board's pins: this script checks it
//! (every pin exists on the package, none is used twice, SWD and crystal pins stay free, radio
//! outputs are not on the 3 mA pins, one polarity for all power relays, the host UART's pins
//! belong to its USART) and writes `pinout.rs`, which configures each pin at its safe level
//! and gives the board logic its lines. It also writes `memory.x` for the linker and the same
//! figures as constants in `memory.rs`.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

const KIB: u32 = 1024;

/// The STM32F411's address space as this image uses it: (name, origin, length, what).
const REGIONS: [(&str, u32, u32, &str); 4] = [
    (
        "FLASH",
        0x0800_0000,
        128 * KIB,
        "the running image: flash sectors 0-4 (4 x 16 KiB and 64 KiB)",
    ),
    (
        "UPDATE",
        0x0802_0000,
        384 * KIB,
        "NorFlash region for firmware updates: sectors 5-7 (128 KiB each), nothing linked here",
    ),
    (
        "STACK",
        0x2000_0000,
        7 * KIB,
        "the stack, at the bottom of SRAM: an overflow faults instead of corrupting statics",
    ),
    (
        "RAM",
        0x2000_1C00,
        121 * KIB,
        "statics (.data, .bss): the rest of the 128 KiB SRAM",
    ),
];

/// The pins of the STM32F411 in its 48-pin UFQFPN package (no PB11, no port D or E).
fn exists(pin: &Pin) -> bool {
    match pin.port {
        'A' => pin.number <= 15,
        'B' => pin.number <= 15 && pin.number != 11,
        'C' => (13..=15).contains(&pin.number),
        'H' => pin.number <= 1,
        _ => false,
    }
}

/// Pins the board must not use for anything else, and why.
const RESERVED: [(&str, &str); 5] = [
    ("PA13", "SWDIO, the debug probe's data line"),
    ("PA14", "SWCLK, the debug probe's clock"),
    ("PH0", "the 25 MHz crystal"),
    ("PH1", "the 25 MHz crystal"),
    ("PB2", "BOOT1, sampled at reset"),
];

/// USART1's transmit and receive pins on the STM32F411 (alternate function 7).
const USART1_TX: [&str; 3] = ["PA9", "PA15", "PB6"];
const USART1_RX: [&str; 3] = ["PA10", "PB3", "PB7"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pinout {
    board: Board,
    host_uart: HostUart,
    debug: Debug,
    leds: Leds,
    port: Vec<Port>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Board {
    name: String,
    revision: String,
    mcu: String,
    package: String,
    hse_hz: u32,
    sysclk_hz: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostUart {
    peripheral: String,
    tx: String,
    rx: String,
    baud: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Debug {
    swdio: String,
    swclk: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Leds {
    fault: Line,
    run: Line,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Port {
    name: Option<String>,
    ptt: Line,
    cor: InputLine,
    power: Line,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    pin: String,
    polarity: Polarity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    pin: String,
    polarity: Polarity,
    pull: Pull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Polarity {
    ActiveHigh,
    ActiveLow,
}

impl Polarity {
    fn rust(self) -> &'static str {
        match self {
            Polarity::ActiveHigh => "Polarity::ActiveHigh",
            Polarity::ActiveLow => "Polarity::ActiveLow",
        }
    }

    /// Whether the pin is high when the line is `active`.
    fn high(self, active: bool) -> bool {
        active == (self == Polarity::ActiveHigh)
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Pull {
    Up,
    Down,
    None,
}

/// A parsed pin name such as `PB12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pin {
    port: char,
    number: u8,
}

impl Pin {
    fn parse(name: &str) -> Option<Pin> {
        let rest = name.strip_prefix('P')?;
        let port = rest.chars().next()?;
        let number = rest.get(1..)?.parse().ok()?;
        port.is_ascii_uppercase().then_some(Pin { port, number })
    }

    /// The field of the HAL's `gpiox::Parts`, e.g. `gpiob.pb12`.
    fn parts_field(self) -> String {
        let port = self.port.to_ascii_lowercase();
        format!("gpio{port}.p{port}{}", self.number)
    }

    /// The address of the port's bit set/reset register (GPIOx_BSRR).
    fn bsrr(self) -> u32 {
        let index = match self.port {
            'H' => 7,
            p => u32::from(p) - u32::from('A'),
        };
        0x4002_0000 + 0x400 * index + 0x18
    }

    /// The BSRR word that drives the pin high or low.
    fn bsrr_word(self, high: bool) -> u32 {
        1 << (u32::from(self.number) + if high { 0 } else { 16 })
    }
}

/// Collects every problem with the file, so one build reports them all.
#[derive(Default)]
struct Checker {
    used: BTreeMap<Pin, String>,
    problems: Vec<String>,
}

impl Checker {
    fn pin(&mut self, name: &str, role: &str) -> Pin {
        let Some(pin) = Pin::parse(name).filter(exists) else {
            self.problems.push(format!(
                "{role}: {name:?} is not a pin of the STM32F411 in UFQFPN48 (PA0-PA15, PB0-PB10, PB12-PB15, PC13-PC15, PH0-PH1)"
            ));
            return Pin {
                port: 'A',
                number: 0,
            };
        };
        if let Some((_, why)) = RESERVED.iter().find(|(r, _)| *r == name)
            && !role.starts_with("debug")
        {
            self.problems
                .push(format!("{role}: {name} is reserved for {why}"));
        }
        if let Some(other) = self.used.insert(pin, role.to_owned()) {
            self.problems
                .push(format!("{role}: {name} is already used by {other}"));
        }
        pin
    }

    fn output(&mut self, name: &str, role: &str) -> Pin {
        let pin = self.pin(name, role);
        if pin.port == 'C' && !role.contains("LED") {
            self.problems.push(format!(
                "{role}: {name} can sink only 3 mA (PC13-PC15): too weak to drive an opto-coupler or relay driver"
            ));
        }
        pin
    }
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let pinout_path = manifest.join("../../../hardware/pinout.toml");
    println!("cargo:rerun-if-changed={}", pinout_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let text = fs::read_to_string(&pinout_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", pinout_path.display()));
    let pinout: Pinout = toml::from_str(&text)
        .unwrap_or_else(|e| panic!("hardware/pinout.toml is not a valid pinout:\n{e}"));
    let rust = generate(&pinout).unwrap_or_else(|problems| {
        panic!(
            "hardware/pinout.toml does not describe a board this image can drive:\n  - {}",
            problems.join("\n  - ")
        )
    });
    fs::write(out.join("pinout.rs"), rust).expect("writing pinout.rs");
    write_memory_map(&out);
}

/// The Rust wiring for `pinout`, or every problem found in it.
fn generate(pinout: &Pinout) -> Result<String, Vec<String>> {
    let mut check = Checker::default();
    let board = &pinout.board;
    if board.mcu != "STM32F411CEU6" || board.package != "UFQFPN48" {
        check.problems.push(format!(
            "board: this image is for the STM32F411CEU6 in UFQFPN48, not the {} in {}",
            board.mcu, board.package
        ));
    }
    let swdio = check.pin(&pinout.debug.swdio, "debug swdio");
    let swclk = check.pin(&pinout.debug.swclk, "debug swclk");
    if (swdio, swclk) != (Pin::parse("PA13").unwrap(), Pin::parse("PA14").unwrap()) {
        check
            .problems
            .push("debug: SWD is fixed in silicon at PA13 (SWDIO) and PA14 (SWCLK)".to_owned());
    }

    let uart = &pinout.host_uart;
    if uart.peripheral != "USART1" {
        check.problems.push(format!(
            "host_uart: the image's receive interrupt is USART1's, not {}'s",
            uart.peripheral
        ));
    }
    let tx = check.pin(&uart.tx, "host_uart tx");
    let rx = check.pin(&uart.rx, "host_uart rx");
    if !USART1_TX.contains(&uart.tx.as_str()) || !USART1_RX.contains(&uart.rx.as_str()) {
        check.problems.push(format!(
            "host_uart: USART1 transmits on {USART1_TX:?} and receives on {USART1_RX:?}, not {} and {}",
            uart.tx, uart.rx
        ));
    }

    let fault = check.output(&pinout.leds.fault.pin, "fault LED");
    let run = check.output(&pinout.leds.run.pin, "run LED");

    let ports: Vec<(Pin, Pin, Pin)> = pinout
        .port
        .iter()
        .enumerate()
        .map(|(i, port)| {
            (
                check.output(&port.ptt.pin, &format!("port {i} ptt")),
                check.pin(&port.cor.pin, &format!("port {i} cor")),
                check.output(&port.power.pin, &format!("port {i} power")),
            )
        })
        .collect();
    let power_polarity = pinout.port.first().map(|p| p.power.polarity);
    if pinout
        .port
        .iter()
        .any(|p| Some(p.power.polarity) != power_polarity)
    {
        check
            .problems
            .push("port: every power relay must have the same polarity".to_owned());
    }
    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    let power_polarity = power_polarity.unwrap_or(Polarity::ActiveHigh);

    let mut r = String::new();
    let w = &mut r;
    let n = ports.len();
    let _ = writeln!(
        w,
        "// Generated by build.rs from hardware/pinout.toml: edit that file, not this one."
    );
    let _ = writeln!(w, "use borderlink_firmware::polarity::Polarity;");
    let _ = writeln!(
        w,
        "use stm32f4xx_hal::gpio::{{self, ErasedPin, Input, Output, PinState}};\n"
    );
    let _ = writeln!(w, "// {} rev {}\n", board.name, board.revision);
    let _ = writeln!(
        w,
        "/// Radio ports on the board.\npub(crate) const PORTS: usize = {n};"
    );
    let _ = writeln!(
        w,
        "/// The crystal's frequency.\npub(crate) const HSE_HZ: u32 = {};",
        board.hse_hz
    );
    let _ = writeln!(
        w,
        "/// The core clock.\npub(crate) const SYSCLK_HZ: u32 = {};",
        board.sysclk_hz
    );
    let _ = writeln!(
        w,
        "/// The host link's bit rate.\npub(crate) const HOST_BAUD: u32 = {};",
        uart.baud
    );
    let list = |f: &dyn Fn(&Port) -> Polarity| {
        pinout
            .port
            .iter()
            .map(|p| f(p).rust())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        w,
        "/// Each port's PTT polarity.\npub(crate) const PTT_POLARITY: [Polarity; PORTS] = [{}];",
        list(&|p| p.ptt.polarity)
    );
    let _ = writeln!(
        w,
        "/// Each port's COR polarity.\npub(crate) const COR_POLARITY: [Polarity; PORTS] = [{}];",
        list(&|p| p.cor.polarity)
    );
    let _ = writeln!(
        w,
        "/// The power relays' polarity.\npub(crate) const POWER_POLARITY: Polarity = {};",
        power_polarity.rust()
    );
    let _ = writeln!(
        w,
        "/// The fault LED's polarity.\npub(crate) const FAULT_LED_POLARITY: Polarity = {};",
        pinout.leds.fault.polarity.rust()
    );
    let _ = writeln!(
        w,
        "/// The run LED's polarity.\npub(crate) const RUN_LED_POLARITY: Polarity = {};",
        pinout.leds.run.polarity.rust()
    );
    let release: Vec<String> = ports
        .iter()
        .zip(&pinout.port)
        .map(|((ptt, _, _), port)| {
            format!(
                "({:#010x}, {:#010x})",
                ptt.bsrr(),
                ptt.bsrr_word(port.ptt.polarity.high(false))
            )
        })
        .collect();
    let _ = writeln!(
        w,
        "/// Each PTT line's GPIOx_BSRR address and the word that drives it released.\n\
         pub(crate) const PTT_RELEASE: [(usize, u32); PORTS] = [{}];",
        release.join(", ")
    );
    let _ = writeln!(
        w,
        "/// The fault LED's GPIOx_BSRR address and the word that lights it.\n\
         pub(crate) const FAULT_LED_ON: (usize, u32) = ({:#010x}, {:#010x});\n",
        fault.bsrr(),
        fault.bsrr_word(pinout.leds.fault.polarity.high(true))
    );

    let _ = writeln!(w, "/// Every pin the image uses, configured.");
    let _ = writeln!(w, "pub(crate) struct Pins {{");
    let _ = writeln!(w, "    /// PTT outputs, port 0 first, released.");
    let _ = writeln!(w, "    pub(crate) ptt: [ErasedPin<Output>; PORTS],");
    let _ = writeln!(w, "    /// COR inputs, port 0 first.");
    let _ = writeln!(w, "    pub(crate) cor: [ErasedPin<Input>; PORTS],");
    let _ = writeln!(
        w,
        "    /// Power relay outputs, port 0 first, radios powered."
    );
    let _ = writeln!(w, "    pub(crate) power: [ErasedPin<Output>; PORTS],");
    let _ = writeln!(
        w,
        "    /// The fault LED, lit.\n    pub(crate) fault_led: ErasedPin<Output>,"
    );
    let _ = writeln!(
        w,
        "    /// The run LED, dark.\n    pub(crate) run_led: ErasedPin<Output>,"
    );
    let _ = writeln!(
        w,
        "    /// The host UART's transmit pin.\n    pub(crate) host_tx: gpio::P{}{},",
        tx.port, tx.number
    );
    let _ = writeln!(
        w,
        "    /// The host UART's receive pin.\n    pub(crate) host_rx: gpio::P{}{},",
        rx.port, rx.number
    );
    let _ = writeln!(w, "}}\n");
    let state = |high: bool| {
        if high {
            "PinState::High"
        } else {
            "PinState::Low"
        }
    };
    let output = |pin: Pin, high: bool| {
        format!(
            "{}.into_push_pull_output_in_state({}).erase()",
            pin.parts_field(),
            state(high)
        )
    };
    let _ = writeln!(
        w,
        "/// Configures every pin at its safe level: PTT released, radios powered, the fault LED lit\n\
         /// and the run LED dark. The first thing the image does after the clocks.\n\
         pub(crate) fn split(gpioa: gpio::gpioa::Parts, gpiob: gpio::gpiob::Parts, gpioc: gpio::gpioc::Parts) -> Pins {{"
    );
    let _ = writeln!(w, "    let _ = &gpioc;");
    let _ = writeln!(w, "    Pins {{");
    let _ = writeln!(w, "        ptt: [");
    for ((ptt, _, _), port) in ports.iter().zip(&pinout.port) {
        let name = port.name.as_deref().unwrap_or("");
        let _ = writeln!(w, "            // {name}");
        let _ = writeln!(
            w,
            "            {},",
            output(*ptt, port.ptt.polarity.high(false))
        );
    }
    let _ = writeln!(w, "        ],\n        cor: [");
    for ((_, cor, _), port) in ports.iter().zip(&pinout.port) {
        let mode = match port.cor.pull {
            Pull::Up => "into_pull_up_input",
            Pull::Down => "into_pull_down_input",
            Pull::None => "into_floating_input",
        };
        let _ = writeln!(w, "            {}.{mode}().erase(),", cor.parts_field());
    }
    let _ = writeln!(w, "        ],\n        power: [");
    for (_, _, power) in &ports {
        let _ = writeln!(
            w,
            "            {},",
            output(*power, power_polarity.high(true))
        );
    }
    let _ = writeln!(w, "        ],");
    let _ = writeln!(
        w,
        "        fault_led: {},",
        output(fault, pinout.leds.fault.polarity.high(true))
    );
    let _ = writeln!(
        w,
        "        run_led: {},",
        output(run, pinout.leds.run.polarity.high(false))
    );
    let _ = writeln!(w, "        host_tx: {},", tx.parts_field());
    let _ = writeln!(w, "        host_rx: {},", rx.parts_field());
    let _ = writeln!(w, "    }}\n}}");
    Ok(r)
}

fn write_memory_map(out: &Path) {
    for pair in REGIONS.windows(2) {
        let ((a, origin, length, _), (b, next, _, _)) = (pair[0], pair[1]);
        assert!(
            origin + length <= next || next < origin,
            "memory regions {a} and {b} overlap"
        );
    }
    let mut memory_x = String::from(
        "/* Generated by build.rs from its REGIONS table: the STM32F411CE as this image uses it. */\nMEMORY\n{\n",
    );
    let mut memory_rs = String::from("// Generated by build.rs from its REGIONS table.\n");
    for (name, origin, length, what) in REGIONS {
        let _ = write!(
            memory_x,
            "  /* {what} */\n  {name} : ORIGIN = {origin:#010x}, LENGTH = {length:#x}\n"
        );
        let _ = write!(
            memory_rs,
            "/// Start of {what}.\n#[allow(dead_code)]\npub(crate) const {name}_START: u32 = {origin:#010x};\n\
             /// Length of {what}.\n#[allow(dead_code)]\npub(crate) const {name}_LEN: u32 = {length:#x};\n"
        );
    }
    memory_x.push_str(
        "}\n\n/* cortex-m-rt puts the stack at the top of RAM unless told otherwise. */\n\
         _stack_end = ORIGIN(STACK);\n_stack_start = ORIGIN(STACK) + LENGTH(STACK);\n",
    );
    fs::write(out.join("memory.x"), memory_x).expect("writing memory.x");
    fs::write(out.join("memory.rs"), memory_rs).expect("writing memory.rs");
    println!("cargo:rustc-link-search={}", out.display());
}
