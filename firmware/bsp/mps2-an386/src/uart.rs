//! The host link on CMSDK UART0, polled.
//!
//! The UART holds one received byte; QEMU hands it the next only once the image has read it, so
//! no byte is lost however long the main loop takes (on silicon this would need the FIFO-less
//! UART's interrupt, as the production board does).

use borderlink_bsp_mps2::mmio::uart0;

/// The link's bit rate (`docs/wire.md`, "Board link").
const BAUD: u32 = 115_200;
/// The UART's clock, the AN386 system clock.
const PCLK_HZ: u32 = 25_000_000;

const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;
const TX_ENABLE: u32 = 1 << 0;
const RX_ENABLE: u32 = 1 << 1;

/// UART0, enabled at 115 200 baud.
#[derive(Debug)]
pub(crate) struct Uart;

impl Uart {
    /// Sets the bit rate and enables both directions; call once.
    pub(crate) fn take() -> Self {
        uart0::BAUDDIV.write(PCLK_HZ / BAUD);
        uart0::CTRL.write(TX_ENABLE | RX_ENABLE);
        // QEMU stops reading the host's socket while the receiver is disabled and only looks
        // again when the data register is read: read it once, or bytes the host sent before
        // this point (and every byte after) would wait forever.
        let _ = uart0::DATA.read();
        Uart
    }

    /// The next received byte, if one has arrived.
    pub(crate) fn read(&mut self) -> Option<u8> {
        // The data register holds the byte in bits 7:0.
        (uart0::STATE.read() & RX_FULL != 0).then(|| uart0::DATA.read() as u8)
    }

    /// Whether everything written has gone.
    pub(crate) fn is_idle(&self) -> bool {
        uart0::STATE.read() & TX_FULL == 0
    }

    /// Sends `byte` if the transmitter can take it; `false` if it is busy.
    pub(crate) fn try_write(&mut self, byte: u8) -> bool {
        if uart0::STATE.read() & TX_FULL != 0 {
            return false;
        }
        uart0::DATA.write(u32::from(byte));
        true
    }
}
