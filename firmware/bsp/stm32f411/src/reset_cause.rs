//! Why the MCU last reset, from the reset and clock controller's flags.

use borderlink_protocol::link::ResetCause;
use stm32f4xx_hal::pac::RCC;

/// Reads the reset flags and clears them, so the next reset reports only its own cause.
pub(crate) fn take(rcc: &RCC) -> ResetCause {
    let csr = rcc.csr().read();
    // A power-on also sets the pin and brown-out flags: the most specific cause wins.
    let cause = if csr.wdgrstf().bit_is_set() || csr.wwdgrstf().bit_is_set() {
        ResetCause::Watchdog
    } else if csr.lpwrrstf().bit_is_set() {
        ResetCause::LowPower
    } else if csr.sftrstf().bit_is_set() {
        ResetCause::Software
    } else if csr.porrstf().bit_is_set() {
        ResetCause::PowerOn
    } else if csr.borrstf().bit_is_set() {
        ResetCause::Brownout
    } else if csr.padrstf().bit_is_set() {
        ResetCause::Pin
    } else {
        ResetCause::Unknown
    };
    rcc.csr().modify(|_, w| w.rmvf().set_bit());
    cause
}
