//! Radio ports: the board's numbered radio connectors, and sets of them.
//!
//! Each port carries one radio's PTT output, COR input and power relay. The number of ports is a
//! property of the board (and of the protocol version): messages that name a port beyond it are
//! rejected when parsed, so the firmware never indexes past its pin tables.

use serde::{Deserialize, Serialize};

use super::error::BodyError;

/// How many radio ports the board has; ports are numbered `0..PORTS`.
pub const PORTS: usize = 4;

/// One radio port, `0..PORTS`.
///
/// Values decoded from the wire are checked by [`crate::link::Message::validate`]; build ports
/// with [`Port::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Port(u8);

impl Port {
    /// Every port, in order.
    pub const ALL: [Port; PORTS] = {
        let mut all = [Port(0); PORTS];
        let mut i = 0;
        while i < PORTS {
            all[i] = Port(i as u8);
            i += 1;
        }
        all
    };

    /// A port, or `None` if the board has no such port.
    pub const fn new(number: u8) -> Option<Self> {
        if (number as usize) < PORTS {
            Some(Port(number))
        } else {
            None
        }
    }

    /// The port number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The port number as an index into per-port tables such as
    /// [`crate::link::Telemetry::ptt_seconds`].
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The port's bit in a [`PortMask`]; none for a number a deserialiser let through
    /// unchecked, so such a value can never shift out of range.
    const fn bit(self) -> u8 {
        if (self.0 as usize) < PORTS {
            1 << self.0
        } else {
            0
        }
    }

    /// Rejects a number beyond the board's ports (only values decoded from a bad frame have one).
    pub(crate) const fn check(self) -> Result<(), BodyError> {
        if (self.0 as usize) < PORTS {
            Ok(())
        } else {
            Err(BodyError::PortOutOfRange { port: self.0 })
        }
    }
}

/// A set of ports as a bitmask: bit `n` stands for port `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PortMask(u8);

impl PortMask {
    /// No port.
    pub const EMPTY: PortMask = PortMask(0);
    /// Every port.
    pub const ALL: PortMask = PortMask(((1u16 << PORTS) - 1) as u8);

    /// A mask from raw bits, or `None` if a bit names a port the board does not have.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        if bits & !Self::ALL.0 == 0 {
            Some(PortMask(bits))
        } else {
            None
        }
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether `port` is in the set.
    pub const fn contains(self, port: Port) -> bool {
        self.0 & port.bit() != 0
    }

    /// The set with `port` added.
    #[must_use]
    pub const fn with(self, port: Port) -> Self {
        PortMask(self.0 | port.bit())
    }

    /// The set with `port` removed.
    #[must_use]
    pub const fn without(self, port: Port) -> Self {
        PortMask(self.0 & !port.bit())
    }

    /// Whether no port is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ports in the set, in ascending order.
    pub fn iter(self) -> impl Iterator<Item = Port> {
        Port::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Rejects bits beyond the board's ports (only values decoded from a bad frame have them).
    pub(crate) const fn check(self) -> Result<(), BodyError> {
        if self.0 & !Self::ALL.0 == 0 {
            Ok(())
        } else {
            Err(BodyError::PortMaskOutOfRange { mask: self.0 })
        }
    }
}

impl FromIterator<Port> for PortMask {
    fn from_iter<I: IntoIterator<Item = Port>>(iter: I) -> Self {
        iter.into_iter().fold(PortMask::EMPTY, PortMask::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_stop_at_the_board_count() {
        assert_eq!(Port::new(0).map(Port::get), Some(0));
        assert_eq!(Port::new(PORTS as u8 - 1).map(Port::index), Some(PORTS - 1));
        assert_eq!(Port::new(PORTS as u8), None);
        assert_eq!(Port::new(u8::MAX), None);
        assert_eq!(Port::ALL.map(Port::get), [0, 1, 2, 3]);
    }

    #[test]
    fn masks_reject_bits_beyond_the_ports() {
        assert_eq!(PortMask::ALL.bits(), 0b1111);
        assert_eq!(
            PortMask::from_bits(0b1010).map(PortMask::bits),
            Some(0b1010)
        );
        assert_eq!(PortMask::from_bits(0b1_0000), None);
        assert_eq!(
            PortMask(0x80).check(),
            Err(BodyError::PortMaskOutOfRange { mask: 0x80 })
        );
        assert_eq!(Port(4).check(), Err(BodyError::PortOutOfRange { port: 4 }));
        assert_eq!(Port(3).check(), Ok(()));
        // An unchecked out-of-range port is in no mask and changes none.
        assert!(!PortMask(0xFF).contains(Port(200)));
        assert_eq!(PortMask::EMPTY.with(Port(8)), PortMask::EMPTY);
        assert_eq!(PortMask::ALL.without(Port(255)), PortMask::ALL);
    }

    #[test]
    fn mask_set_operations() {
        let p1 = Port::new(1).unwrap();
        let p3 = Port::new(3).unwrap();
        let m = PortMask::EMPTY.with(p1).with(p3);
        assert_eq!(m.bits(), 0b1010);
        assert!(m.contains(p1) && !m.contains(Port::ALL[0]));
        assert_eq!(m.without(p1).bits(), 0b1000);
        let listed: PortMask = m.iter().collect();
        assert_eq!(listed, m);
        assert_eq!(m.iter().count(), 2);
        assert!(PortMask::EMPTY.is_empty() && !m.is_empty());
    }
}
