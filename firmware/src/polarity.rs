//! Which electrical level means "on" for a control line.
//!
//! Radio accessory connectors disagree: some key the transmitter when PTT is pulled to ground,
//! others when it is driven high, and COR outputs come both ways too (often through an
//! opto-coupler that inverts). Every line on the board therefore carries a [`Polarity`], and
//! the logic above speaks only of *active* and *inactive*, never of high and low.

use embedded_hal::digital::{InputPin, OutputPin, PinState};

/// Which level of a line means active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Polarity {
    /// High is active, low is inactive.
    #[default]
    ActiveHigh,
    /// Low is active, high is inactive (open-collector and opto-coupled lines).
    ActiveLow,
}

impl Polarity {
    /// The pin level that expresses `active` under this polarity.
    pub const fn level(self, active: bool) -> PinState {
        match (self, active) {
            (Polarity::ActiveHigh, true) | (Polarity::ActiveLow, false) => PinState::High,
            (Polarity::ActiveHigh, false) | (Polarity::ActiveLow, true) => PinState::Low,
        }
    }

    /// Drives `pin` to the level that means `active`.
    pub fn drive<P: OutputPin>(self, pin: &mut P, active: bool) -> Result<(), P::Error> {
        pin.set_state(self.level(active))
    }

    /// Reads `pin` and says whether it is at its active level.
    pub fn is_active<P: InputPin>(self, pin: &mut P) -> Result<bool, P::Error> {
        let high = pin.is_high()?;
        Ok(high == matches!(self, Polarity::ActiveHigh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    #[test]
    fn levels_follow_polarity() {
        assert_eq!(Polarity::ActiveHigh.level(true), PinState::High);
        assert_eq!(Polarity::ActiveHigh.level(false), PinState::Low);
        assert_eq!(Polarity::ActiveLow.level(true), PinState::Low);
        assert_eq!(Polarity::ActiveLow.level(false), PinState::High);
    }

    #[test]
    fn drive_and_read_use_the_level() {
        let mut out = Mock::new(&[T::set(State::Low), T::set(State::High)]);
        Polarity::ActiveLow.drive(&mut out, true).unwrap();
        Polarity::ActiveLow.drive(&mut out, false).unwrap();
        out.done();

        let mut inp = Mock::new(&[T::get(State::Low), T::get(State::High), T::get(State::High)]);
        assert!(Polarity::ActiveLow.is_active(&mut inp).unwrap());
        assert!(!Polarity::ActiveLow.is_active(&mut inp).unwrap());
        assert!(Polarity::ActiveHigh.is_active(&mut inp).unwrap());
        inp.done();
    }
}
