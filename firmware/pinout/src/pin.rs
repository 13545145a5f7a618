//! Pin names and what the STM32F411CE in UFQFPN48 has, reserves and wires where.

/// A parsed pin name such as `PB12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pin {
    pub(crate) port: char,
    pub(crate) number: u8,
}

impl Pin {
    pub(crate) fn parse(name: &str) -> Option<Pin> {
        let rest = name.strip_prefix('P')?;
        let port = rest.chars().next()?;
        let number = rest.get(1..)?.parse().ok()?;
        port.is_ascii_uppercase().then_some(Pin { port, number })
    }

    /// The field of the HAL's `gpiox::Parts`, e.g. `gpiob.pb12`.
    pub(crate) fn parts_field(self) -> String {
        let port = self.port.to_ascii_lowercase();
        format!("gpio{port}.p{port}{}", self.number)
    }

    /// The address of the port's bit set/reset register (GPIOx_BSRR).
    pub(crate) fn bsrr(self) -> u32 {
        let index = match self.port {
            'H' => 7,
            p => u32::from(p) - u32::from('A'),
        };
        0x4002_0000 + 0x400 * index + 0x18
    }

    /// The BSRR word that drives the pin high or low.
    pub(crate) fn bsrr_word(self, high: bool) -> u32 {
        1 << (u32::from(self.number) + if high { 0 } else { 16 })
    }
}

/// The pins of the STM32F411 in its 48-pin UFQFPN package (no PB11, no port D or E).
pub(crate) fn exists(pin: &Pin) -> bool {
    match pin.port {
        'A' => pin.number <= 15,
        'B' => pin.number <= 15 && pin.number != 11,
        'C' => (13..=15).contains(&pin.number),
        'H' => pin.number <= 1,
        _ => false,
    }
}

/// Pins the board must not use for anything else, and why.
pub(crate) const RESERVED: [(&str, &str); 5] = [
    ("PA13", "SWDIO, the debug probe's data line"),
    ("PA14", "SWCLK, the debug probe's clock"),
    ("PH0", "the 25 MHz crystal"),
    ("PH1", "the 25 MHz crystal"),
    ("PB2", "BOOT1, sampled at reset"),
];

/// USART1's transmit and receive pins on the STM32F411 (alternate function 7).
pub(crate) const USART1_TX: [&str; 3] = ["PA9", "PA15", "PB6"];
pub(crate) const USART1_RX: [&str; 3] = ["PA10", "PB3", "PB7"];
