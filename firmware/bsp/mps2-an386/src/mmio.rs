//! The MPS2 AN386 device registers the images touch, as QEMU models them.
//!
//! This is the only module with unsafe code: a register is a fixed address that Rust cannot
//! prove valid, so each access is a volatile read or write through a raw pointer. Every
//! address below is a 32-bit register of the AN386 memory map (QEMU `hw/arm/mps2.c`), always
//! mapped, word-aligned and owned by no Rust object, so touching it cannot break memory safety;
//! what a write *means* (keying a radio) is the business of the modules above.

/// One 32-bit device register.
#[derive(Debug, Clone, Copy)]
pub struct Reg(usize);

impl Reg {
    /// Reads the register.
    pub fn read(self) -> u32 {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` is one of the register addresses below (see the module doc).
        unsafe {
            core::ptr::read_volatile(self.0 as *const u32)
        }
    }

    /// Writes the register.
    pub fn write(self, value: u32) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` is one of the register addresses below (see the module doc).
        unsafe {
            core::ptr::write_volatile(self.0 as *mut u32, value)
        }
    }

    /// Sets the bits of `mask` to `on` and leaves the others.
    pub fn modify(self, mask: u32, on: bool) {
        let value = self.read();
        self.write(if on { value | mask } else { value & !mask });
    }
}

/// CMSDK APB UART0: the host link.
pub mod uart0 {
    use super::Reg;
    const BASE: usize = 0x4000_4000;
    /// Received byte (read) or byte to send (write).
    pub const DATA: Reg = Reg(BASE);
    /// Bit 0: transmit buffer full; bit 1: receive buffer full.
    pub const STATE: Reg = Reg(BASE + 0x04);
    /// Bit 0: transmit enable; bit 1: receive enable.
    pub const CTRL: Reg = Reg(BASE + 0x08);
    /// System clock cycles per bit (QEMU refuses to move bytes below 16).
    pub const BAUDDIV: Reg = Reg(BASE + 0x10);
}

/// CMSDK APB dual timer, timer 1: the monotonic clock.
pub mod timer1 {
    use super::Reg;
    const BASE: usize = 0x4000_2000;
    /// The value the counter starts from.
    pub const LOAD: Reg = Reg(BASE);
    /// The counter, counting down.
    pub const VALUE: Reg = Reg(BASE + 0x04);
    /// Enable (bit 7), mode (bit 6, 0 = free-running), prescale (bits 3:2), 32-bit (bit 1).
    pub const CONTROL: Reg = Reg(BASE + 0x08);
}

/// CMSDK APB dual timer, timer 2: one-shot waits (the update flash's erase time).
pub mod timer2 {
    use super::Reg;
    const BASE: usize = 0x4000_2020;
    /// The value the counter starts from.
    pub const LOAD: Reg = Reg(BASE);
    /// The counter, counting down; in one-shot mode it stops at 0.
    pub const VALUE: Reg = Reg(BASE + 0x04);
    /// Enable (bit 7), prescale (bits 3:2), 32-bit (bit 1), one-shot (bit 0).
    pub const CONTROL: Reg = Reg(BASE + 0x08);
}

/// The serial communication controller's configuration registers.
pub mod scc {
    use super::Reg;
    const BASE: usize = 0x4002_F000;
    /// CFG_REG1, bits 7:0: the eight MCC user LEDs.
    pub const LEDS: Reg = Reg(BASE + 0x04);
    /// CFG_REG3, bits 7:0: the MCC user switches (read-only; zero under QEMU).
    pub const SWITCHES: Reg = Reg(BASE + 0x0C);
}

/// CMSDK APB watchdog: counts down at the 25 MHz system clock; the first time it reaches zero
/// it raises its interrupt (wired to NMI on the AN386), the second time, with the interrupt
/// still pending, it resets the system.
pub mod watchdog {
    use super::Reg;
    const BASE: usize = 0x4000_8000;
    /// The value the counter reloads from.
    pub const LOAD: Reg = Reg(BASE);
    /// Bit 0: count and interrupt; bit 1: reset on the second expiry.
    pub const CONTROL: Reg = Reg(BASE + 0x08);
    /// Any write clears the interrupt and reloads the counter.
    pub const INTCLR: Reg = Reg(BASE + 0x0C);
    /// 0x1ACC_E551 unlocks the other registers for writing; anything else locks them.
    pub const LOCK: Reg = Reg(BASE + 0xC00);
}

/// The FPGA system control and I/O block.
pub mod fpgaio {
    use super::Reg;
    const BASE: usize = 0x4002_8000;
    /// LED0, bits 1:0: the two FPGA user LEDs.
    pub const LEDS: Reg = Reg(BASE);
}
