//! # borderlink-firmware
//!
//! The logic of the interface board that sits between the edge box's Linux host and the
//! radios' accessory connectors. The board drives each radio's PTT line, reads its COR
//! ("call active") line and lights the status LEDs; above all it keeps the air safe on its own,
//! because the host is an ordinary computer that can crash, hang or lose its cable while a
//! radio is transmitting.
//!
//! Everything here is `no_std`, allocation-free and generic over embedded-hal 1.0 pin traits,
//! so the same code runs on the board's Cortex-M, inside the simulator, and in host tests
//! against mock pins. No code reads a clock: time comes in as an
//! [`Instant`](borderlink_protocol::time::Instant) and each state machine says when it next
//! needs to be called.
//!
//! - [`polarity`]: which level of a line means active.
//! - [`ptt`]: one PTT output: released at construction, hard TX cap, post-cap lockout.
//! - [`cor`]: one COR input, debounced in time.
//! - [`watchdog`]: the host-silence watchdog (500 ms at most).
//! - [`safety`]: all ports, the watchdog and the fault LED in one state machine that drops
//!   every PTT when the host falls silent and reports faults as events.
//! - [`responder`]: the board's end of the host link (`docs/wire.md`, "Board link"): frames
//!   in, commands acknowledged and carried out on the safety core and the power relays,
//!   `Status`, COR changes and faults out.
//! - [`update`]: signed A/B firmware updates over the link, the boot-state record and the
//!   bootloader's choice of slot.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod cor;
pub mod polarity;
pub mod ptt;
pub mod responder;
pub mod safety;
pub mod update;
pub mod watchdog;
