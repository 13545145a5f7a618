//! The shape of `pinout.toml`: what serde reads, with unknown keys refused.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pinout {
    pub(crate) board: Board,
    pub(crate) host_uart: HostUart,
    pub(crate) debug: Debug,
    pub(crate) leds: Leds,
    pub(crate) port: Vec<Port>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Board {
    pub(crate) name: String,
    pub(crate) revision: String,
    pub(crate) mcu: String,
    pub(crate) package: String,
    pub(crate) hse_hz: u32,
    pub(crate) sysclk_hz: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostUart {
    pub(crate) peripheral: String,
    pub(crate) tx: String,
    pub(crate) rx: String,
    pub(crate) baud: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Debug {
    pub(crate) swdio: String,
    pub(crate) swclk: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Leds {
    pub(crate) fault: Line,
    pub(crate) run: Line,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Port {
    pub(crate) name: Option<String>,
    pub(crate) ptt: Line,
    pub(crate) cor: InputLine,
    pub(crate) power: Line,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Line {
    pub(crate) pin: String,
    pub(crate) polarity: Polarity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputLine {
    pub(crate) pin: String,
    pub(crate) polarity: Polarity,
    pub(crate) pull: Pull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Polarity {
    ActiveHigh,
    ActiveLow,
}

impl Polarity {
    pub(crate) fn rust(self) -> &'static str {
        match self {
            Polarity::ActiveHigh => "Polarity::ActiveHigh",
            Polarity::ActiveLow => "Polarity::ActiveLow",
        }
    }

    /// Whether the pin is high when the line is `active`.
    pub(crate) fn high(self, active: bool) -> bool {
        active == (self == Polarity::ActiveHigh)
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Pull {
    Up,
    Down,
    None,
}
