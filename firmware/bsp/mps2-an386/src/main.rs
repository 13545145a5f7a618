//! # borderlink-bsp-mps2
//!
//! The interface board's firmware on the Arm MPS2 with the AN386 FPGA image (a Cortex-M4F),
//! as QEMU emulates it (`qemu-system-arm -M mps2-an386`), so CI boots the very image logic the
//! production board runs and talks the board link to it over an emulated UART.
//!
//! What is board-specific here is thin: the host link is CMSDK UART0 ([`uart`]), the
//! monotonic clock is a CMSDK dual timer ([`clock`]), and the radio lines are bits of the
//! board's LED and switch registers ([`lines`]), which QEMU lets the host read back from
//! outside. [`board`] builds the board logic from `borderlink-firmware`, with a real updater
//! over the update flash ([`borderlink_bsp_mps2::flash`]); the main loop feeds it received
//! bytes, calls its timeouts, sends what it has to say, blinks the run LED, feeds the watchdog
//! the bootloader started, and resets the board once a committed update's ack is out.
//!
//! The image is linked for one slot: slot A by default, slot B with the `slot-b` feature (the
//! bootloader, `src/bin/boot.rs`, starts whichever the boot-state record says). Its version is
//! `BORDERLINK_FIRMWARE_VERSION` (MAJOR.MINOR.PATCH) at build time, else the crate's.
//!
//! A panic or a hard fault releases every PTT line before anything else, lights the fault LED,
//! reports itself through semihosting (QEMU prints it) and halts until the watchdog resets the
//! board; the watchdog's early-warning NMI does the same for a hang. The `panic-drill` feature
//! makes the image panic once port 3 has been keyed for 300 ms, and `hang-drill` makes it hang
//! before it serves the link, which `cargo xtask qemu` uses to check exactly that.
#![no_std]
#![no_main]

mod clock;
mod lines;
mod uart;

use core::panic::PanicInfo;

use borderlink_bsp_mps2::{flash, watchdog};
use borderlink_firmware::cor::{CorConfig, CorInput};
use borderlink_firmware::polarity::Polarity;
use borderlink_firmware::ptt::{PttConfig, PttOutput};
use borderlink_firmware::responder::{Responder, ResponderConfig};
use borderlink_firmware::safety::{Safety, SafetyConfig};
use borderlink_firmware::update::{FIRMWARE_KEY, Updater, parse_version};
use borderlink_protocol::link::{FirmwareVersion, MAX_WIRE_LEN, PORTS, ResetCause, Slot};
use borderlink_protocol::time::{Duration, Instant};
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::hprintln;
use embedded_hal::digital::OutputPin;
use static_cell::StaticCell;

use crate::clock::Clock;
use crate::lines::{LedBit, Lines, SwitchBit};
use crate::uart::Uart;

/// The board logic on this board's lines.
type Board = Responder<LedBit, SwitchBit, LedBit, LedBit, flash::Flash, PORTS>;

/// This image's version: `BORDERLINK_FIRMWARE_VERSION` at build time, else the crate's.
const FIRMWARE: FirmwareVersion = parse_version(match option_env!("BORDERLINK_FIRMWARE_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
});

/// The slot this image is linked for.
const SLOT: Slot = if cfg!(feature = "slot-b") {
    Slot::B
} else {
    Slot::A
};

/// How often the run LED changes state.
const BLINK: Duration = Duration::from_millis(500);

/// The board logic lives in a static, so its size shows in the image's RAM figures rather than
/// hiding in the stack.
static BOARD: StaticCell<Board> = StaticCell::new();

/// Builds the board logic into its static, in a frame of its own: construction moves a few
/// kilobytes around, and that stack is free again before the main loop starts.
#[inline(never)]
fn init(lines: Lines, now: Instant) -> &'static mut Board {
    BOARD.uninit().write(board(lines, now))
}

/// Builds the board logic from the lines: every line active-high, the strictest safety
/// settings, and an updater over the update flash that accepts images signed for
/// [`FIRMWARE_KEY`]. The one place the board logic is constructed.
fn board(lines: Lines, now: Instant) -> Board {
    let ptt = lines.ptt.map(|pin| {
        PttOutput::new(pin, PttConfig::new(Polarity::ActiveHigh))
            .unwrap_or_else(|_| unreachable!("an LED register bit cannot fail"))
    });
    let cor = lines
        .cor
        .map(|pin| CorInput::new(pin, CorConfig::new(Polarity::ActiveHigh)));
    let safety = Safety::new(ptt, cor, lines.fault_led, SafetyConfig::new(), now);
    let config = ResponderConfig::new(FIRMWARE, ResetCause::PowerOn);
    let updater = match Updater::new(flash::take(), flash::LAYOUT, FIRMWARE_KEY, SLOT) {
        Ok(updater) => updater,
        // The layout is a constant of this board: only a broken build gets here, and the
        // panic handler leaves every line released.
        Err(e) => panic!("the update flash layout does not fit: {e}"),
    };
    Responder::new(safety, lines.power, config, updater, now)
}

#[entry]
fn main() -> ! {
    // Started by the bootloader already; started again with a full period in case this image
    // was loaded without it (a debugger).
    watchdog::start();
    if cfg!(feature = "hang-drill") {
        hang();
    }
    let mut clock = Clock::start();
    let uart = Uart::take();
    let (lines, run_led) = Lines::take();
    let board = init(lines, clock.now());
    serve(board, clock, uart, run_led)
}

/// The `hang-drill` image's start-up: a trial image that hangs before it gets as far as the
/// host (every line still as reset left it, released). Only the watchdog gets it out.
fn hang() -> ! {
    loop {
        cortex_m::asm::nop();
    }
}

/// The main loop: received bytes in, timeouts, frames out, the run LED, the watchdog, and the
/// reset into a committed update. Not inlined into `main`, so its frame and [`init`]'s are
/// never on the stack together.
#[inline(never)]
fn serve(board: &mut Board, mut clock: Clock, mut uart: Uart, mut run_led: LedBit) -> ! {
    // The frame being sent, and how much of it has gone.
    let mut out = [0u8; MAX_WIRE_LEN + 1];
    let (mut out_len, mut out_sent) = (0, 0);
    // A received byte the board logic could not take yet (its outgoing queue was full).
    let mut held: Option<u8> = None;
    let mut run_on = false;
    let mut next_blink = clock.now();

    loop {
        watchdog::feed();
        let now = clock.now();
        while let Some(byte) = held.take().or_else(|| uart.read()) {
            if board.push(now, &[byte]) == 0 {
                held = Some(byte);
                break;
            }
        }
        if now >= board.poll_timeout() {
            board.handle_timeout(now);
        }
        // Long enough after keying for the host to see the ack and the line.
        #[cfg(feature = "panic-drill")]
        if board
            .safety()
            .ptt(3)
            .and_then(|ptt| ptt.keyed_since())
            .is_some_and(|since| now.saturating_since(since) >= Duration::from_millis(300))
        {
            panic!("panic drill: port 3 keyed for 300 ms");
        }
        if out_sent == out_len {
            (out_len, out_sent) = (board.poll_transmit(now, &mut out).unwrap_or(0), 0);
        }
        while out_sent < out_len && uart.try_write(out[out_sent]) {
            out_sent += 1;
        }
        // The commit's ack has left the board logic, the last of its bytes the UART: boot the
        // new image (every PTT line is released: no keying during an update).
        if board.wants_reset() && out_sent == out_len && uart.is_idle() {
            cortex_m::peripheral::SCB::sys_reset();
        }
        if now >= next_blink {
            run_on = !run_on;
            let _ = run_led.set_state(run_on.into());
            next_blink = now + BLINK;
        }
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    // First and unconditionally: no radio stays keyed.
    lines::release_all_ptt();
    lines::light_fault_led();
    hprintln!("borderlink-bsp-mps2 panicked: {}", info);
    halt()
}

// cortex-m-rt wants the hard-fault handler declared `unsafe fn`; its body does nothing unsafe.
#[allow(unsafe_code)]
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    lines::release_all_ptt();
    lines::light_fault_led();
    hprintln!("borderlink-bsp-mps2: hard fault at pc {:#010x}", frame.pc());
    halt()
}

// The watchdog's early warning: the main loop stopped feeding it. Release every line now; the
// reset follows one more half period later. cortex-m-rt wants NMI handlers declared `unsafe
// fn`; this one does nothing unsafe.
#[allow(unsafe_code)]
#[exception]
unsafe fn NonMaskableInt() {
    lines::release_all_ptt();
    lines::light_fault_led();
    halt()
}

/// Stops until the watchdog resets the board, leaving the lines as the handler set them (QEMU
/// keeps running, so they can be read from outside meanwhile).
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
