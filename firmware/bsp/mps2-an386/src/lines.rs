//! The board's control lines on the MPS2's LEDs and switches.
//!
//! The AN386 image has no general-purpose I/O that QEMU models (its GPIO blocks are
//! unimplemented), but it has LED registers that read back what was written: the eight MCC
//! user LEDs in the SCC's CFG_REG1 and the two FPGA user LEDs. Each radio line is one bit of
//! those, so the host can watch PTT from outside the image (QEMU's monitor reads the register)
//! while the image believes it is driving a pin. Every line is active-high.
//!
//! | line | register | bits |
//! |---|---|---|
//! | PTT, ports 0–3 | SCC CFG_REG1 (0x4002_F004) | 0–3 |
//! | power relay, ports 0–3 | SCC CFG_REG1 | 4–7 |
//! | fault LED | FPGAIO LED0 (0x4002_8000) | 0 |
//! | run LED | FPGAIO LED0 | 1 |
//! | COR, ports 0–3 | SCC CFG_REG3 (0x4002_F00C), the MCC user switches | 0–3 |

use core::convert::Infallible;

use borderlink_protocol::link::PORTS;
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

use borderlink_bsp_mps2::mmio::{Reg, fpgaio, scc};

/// The SCC CFG_REG1 bits of the PTT lines, ports 0 to 3.
pub(crate) const PTT_MASK: u32 = 0x0F;

/// The FPGAIO LED0 bit of the fault LED.
const FAULT_LED_MASK: u32 = 1 << 0;

/// One bit of an LED register, driven as an output pin.
#[derive(Debug)]
pub(crate) struct LedBit {
    reg: Reg,
    mask: u32,
}

impl ErrorType for LedBit {
    type Error = Infallible;
}

impl OutputPin for LedBit {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.reg.modify(self.mask, false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.reg.modify(self.mask, true);
        Ok(())
    }
}

/// One bit of a switch register, read as an input pin.
#[derive(Debug)]
pub(crate) struct SwitchBit {
    reg: Reg,
    mask: u32,
}

impl ErrorType for SwitchBit {
    type Error = Infallible;
}

impl InputPin for SwitchBit {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.reg.read() & self.mask != 0)
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        self.is_high().map(|high| !high)
    }
}

/// Every line the board logic drives or reads.
#[derive(Debug)]
pub(crate) struct Lines {
    /// PTT outputs, ports 0 to 3.
    pub(crate) ptt: [LedBit; PORTS],
    /// COR inputs, ports 0 to 3.
    pub(crate) cor: [SwitchBit; PORTS],
    /// Power relay outputs, ports 0 to 3.
    pub(crate) power: [LedBit; PORTS],
    /// The fault LED.
    pub(crate) fault_led: LedBit,
}

impl Lines {
    /// Takes the board logic's lines and the run LED; call once.
    pub(crate) fn take() -> (Self, LedBit) {
        let lines = Lines {
            ptt: core::array::from_fn(|i| LedBit {
                reg: scc::LEDS,
                mask: 1 << i,
            }),
            cor: core::array::from_fn(|i| SwitchBit {
                reg: scc::SWITCHES,
                mask: 1 << i,
            }),
            power: core::array::from_fn(|i| LedBit {
                reg: scc::LEDS,
                mask: 1 << (PORTS + i),
            }),
            fault_led: LedBit {
                reg: fpgaio::LEDS,
                mask: FAULT_LED_MASK,
            },
        };
        let run_led = LedBit {
            reg: fpgaio::LEDS,
            mask: 1 << 1,
        };
        (lines, run_led)
    }
}

/// Releases every PTT line at once, owning nothing: for the panic and fault handlers, which
/// cannot reach the board logic.
pub(crate) fn release_all_ptt() {
    scc::LEDS.modify(PTT_MASK, false);
}

/// Lights the fault LED, owning nothing: for the panic and fault handlers.
pub(crate) fn light_fault_led() {
    fpgaio::LEDS.modify(FAULT_LED_MASK, true);
}
