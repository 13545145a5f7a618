//! # borderlink-pinout
//!
//! `hardware/pinout.toml` is the single source of truth for the production interface board's
//! pins. The board image's build script (`firmware/bsp/stm32f411/build.rs`) hands the file to
//! [`generate`], which checks it against what the STM32F411CE in its 48-pin package can do and
//! writes the Rust that configures every pin at its safe level and gives the board logic its
//! lines. A pinout that cannot be right stops the build with every problem listed:
//!
//! - a pin the package does not have, or one used twice;
//! - the SWD pins, the crystal pins or BOOT1 used for anything else;
//! - a PTT or power output on PC13–PC15, which sink only 3 mA;
//! - power relays of mixed polarity (the board logic drives them all alike);
//! - host UART pins that are not USART1's;
//! - any key the format does not know.
//!
//! It lives in the main workspace so `cargo test --workspace` checks these rules on the host.
//!
//! [`memory_map`] writes both board programs' linker scripts and memory constants from one table
//! (used by both boards' build scripts).

pub mod memory_map;
mod model;
mod pin;
mod wiring;

use std::fmt;

/// Why a pinout was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file is not TOML of the expected shape; the parser's message, with line and column.
    Parse(String),
    /// The file is well formed but describes pins the image cannot drive, one line each.
    Invalid(Vec<String>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse(message) => {
                write!(f, "hardware/pinout.toml is not a valid pinout:\n{message}")
            }
            Error::Invalid(problems) => write!(
                f,
                "hardware/pinout.toml does not describe a board this image can drive:\n  - {}",
                problems.join("\n  - ")
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Checks a `pinout.toml` and returns the Rust source of the image's `pinout` module.
pub fn generate(toml_text: &str) -> Result<String, Error> {
    let pinout: model::Pinout =
        toml::from_str(toml_text).map_err(|e| Error::Parse(e.to_string()))?;
    wiring::generate(&pinout).map_err(Error::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The board's own pinout, as checked in.
    const BOARD: &str = include_str!("../../../hardware/pinout.toml");

    fn problems(toml_text: &str) -> Vec<String> {
        match generate(toml_text) {
            Err(Error::Invalid(problems)) => problems,
            other => panic!("expected the pinout to be refused, got {other:?}"),
        }
    }

    /// The board's pinout with one line replaced.
    fn edited(from: &str, to: &str) -> String {
        assert!(BOARD.contains(from), "pinout.toml has no {from:?}");
        BOARD.replacen(from, to, 1)
    }

    #[test]
    fn the_boards_pinout_generates_its_wiring() {
        let rust = generate(BOARD).unwrap();
        assert!(rust.contains("pub(crate) const PORTS: usize = 4;"));
        // Active-high PTT on PB12..PB15: released is low, so the panic handler writes the
        // reset half of GPIOB's BSRR (0x4002_0418), bits 28..31.
        assert!(rust.contains(
            "PTT_RELEASE: [(usize, u32); PORTS] = [(0x40020418, 0x10000000), (0x40020418, 0x20000000), (0x40020418, 0x40000000), (0x40020418, 0x80000000)];"
        ));
        // Every PTT line starts released, every power relay starts powered (active-low: low).
        assert!(rust.contains("gpiob.pb12.into_push_pull_output_in_state(PinState::Low).erase()"));
        assert!(rust.contains("gpiob.pb6.into_push_pull_output_in_state(PinState::Low).erase()"));
        assert!(rust.contains("gpioa.pa0.into_pull_up_input().erase()"));
        assert!(rust.contains("pub(crate) const POWER_POLARITY: Polarity = Polarity::ActiveLow;"));
        assert!(rust.contains("host_tx: gpioa.pa9,"));
    }

    #[test]
    fn active_low_ptt_starts_high_and_is_released_high() {
        let rust = generate(&edited(
            r#"ptt = { pin = "PB13", polarity = "active-high" }"#,
            r#"ptt = { pin = "PB13", polarity = "active-low" }"#,
        ))
        .unwrap();
        assert!(rust.contains("gpiob.pb13.into_push_pull_output_in_state(PinState::High).erase()"));
        // Set half of BSRR, bit 13.
        assert!(rust.contains("(0x40020418, 0x00002000)"));
    }

    #[test]
    fn a_pin_used_twice_names_both_uses() {
        let found = problems(&edited(r#"pin = "PA1""#, r#"pin = "PA0""#));
        assert_eq!(found, ["port 1 cor: PA0 is already used by port 0 cor"]);
    }

    #[test]
    fn a_pin_the_package_lacks_is_refused() {
        let found = problems(&edited(r#"pin = "PB15""#, r#"pin = "PB11""#));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("port 3 ptt: \"PB11\" is not a pin"),
            "{found:?}"
        );
    }

    #[test]
    fn swd_pins_stay_free() {
        let found = problems(&edited(r#"pin = "PB14""#, r#"pin = "PA13""#));
        assert!(
            found.contains(
                &"port 2 ptt: PA13 is reserved for SWDIO, the debug probe's data line".to_owned()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn radio_outputs_are_not_on_low_drive_pins() {
        let found = problems(&edited(r#"pin = "PB9""#, r#"pin = "PC14""#));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("port 3 power: PC14 can sink only 3 mA"),
            "{found:?}"
        );
    }

    #[test]
    fn power_relays_share_one_polarity() {
        let found = problems(&edited(
            r#"power = { pin = "PB8", polarity = "active-low" }"#,
            r#"power = { pin = "PB8", polarity = "active-high" }"#,
        ));
        assert_eq!(
            found,
            ["port: every power relay must have the same polarity"]
        );
    }

    #[test]
    fn host_uart_pins_belong_to_usart1() {
        let found = problems(&edited(r#"tx = "PA9""#, r#"tx = "PA2""#));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("host_uart: USART1 transmits on"),
            "{found:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = edited(r#"pin = "PB15""#, r#"pin = "PB11""#);
        let text = text.replacen(r#"pin = "PA1""#, r#"pin = "PA0""#, 1);
        assert_eq!(problems(&text).len(), 2);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_place() {
        let text = edited("hse_hz = 25_000_000", "hse_hz = 25_000_000\nhse_mhz = 25");
        match generate(&text) {
            Err(Error::Parse(message)) => {
                assert!(message.contains("hse_mhz"), "{message}");
                assert!(message.contains("line"), "{message}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
