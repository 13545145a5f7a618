//! Faults the board reports on its own: the times it had to act without being told, or saw the
//! link misbehave.
//!
//! Fault reports are not acknowledged. Losing one loses only the notice, not the state: the
//! board's periodic [`crate::link::Message::Status`] shows which PTTs are really keyed, and
//! [`crate::link::Telemetry`] counts link errors since reset.

use serde::{Deserialize, Serialize};

use super::error::BodyError;
use super::port::{Port, PortMask};

/// A fault the board reports in [`crate::link::Message::Fault`].
///
/// Append-only: the position of a variant is its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// The host was silent longer than [`crate::link::HOST_SILENCE_LIMIT`], so the board dropped
    /// PTT on these ports itself.
    HostSilence {
        /// The ports that were keyed and are now released.
        dropped: PortMask,
    },
    /// A port stayed keyed up to the board's own transmit cap (its backstop behind the daemon's
    /// TX timeout), so the board released it.
    TxCapReached {
        /// The port released.
        port: Port,
    },
    /// A power-cycle request came too soon after the last one and was refused.
    PowerCycleRateLimited {
        /// The port whose radio was not cycled.
        port: Port,
    },
    /// The board rejected frames from the host since the last such report; counts saturate.
    LinkErrors {
        /// Frames whose CRC did not match.
        crc: u16,
        /// Frames with bad COBS, too short, or longer than the board's buffer.
        framing: u16,
        /// Frames of another protocol version.
        version: u16,
        /// Frames whose body did not parse.
        body: u16,
    },
    /// The board switched off a radio the host had said was keyed over PEI
    /// ([`crate::link::Message::PeiKeyed`]): the only way it has to end a transmission it cannot
    /// unkey on a line. The radio is switched on again after the board's minimum off time.
    RadioPowerCut {
        /// The port whose radio was switched off.
        port: Port,
        /// Why.
        cause: PowerCutCause,
    },
}

/// Why the board cut a PEI-keyed radio's power ([`Fault::RadioPowerCut`]).
///
/// Append-only: the position of a variant is its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PowerCutCause {
    /// The host fell silent for [`crate::link::HOST_SILENCE_LIMIT`] (killed, hung, unplugged).
    HostSilence,
    /// The radio was keyed for the board's transmit cap.
    TxCap,
    /// A new session began (`Hello`): the host that keyed the radio lost track of it.
    NewSession,
}

impl Fault {
    /// Rejects ports and masks beyond the board's ports.
    pub(crate) const fn check(&self) -> Result<(), BodyError> {
        match self {
            Fault::HostSilence { dropped } => dropped.check(),
            Fault::TxCapReached { port }
            | Fault::PowerCycleRateLimited { port }
            | Fault::RadioPowerCut { port, .. } => port.check(),
            Fault::LinkErrors { .. } => Ok(()),
        }
    }
}
