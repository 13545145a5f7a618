//! The daemon's side of the interface board: the link-protocol session that keys radios,
//! reads their COR lines and switches their power through the board's MCU.
//!
//! The board sits between the edge box and the radios' accessory connectors, on a UART link
//! whose frames, sequence numbers, acks and timers are fixed by `docs/wire.md` ("Board link")
//! and encoded by [`borderlink_protocol::link`]. [`BoardSession`] is that link's host end as a
//! sans-IO state machine in the quinn-proto style: the daemon's serial task feeds it bytes and
//! time and writes out what it polls; the simulator drives the very same code against the real
//! firmware logic (`borderlink_firmware::responder`) in virtual time. The site core
//! (`crate::site`) sees only [`BoardEvent`]s — PTT confirmed or refused, COR, the link up or
//! down, faults — and turns them into the engine's radio events (for radios without PEI) and
//! its own rules (PTT following the grant, polarity, power cuts); it asks the session for PTT
//! and power states. The session makes sure a radio is keyed only on request and every release
//! reaches the board. [`UpdateDriver`] runs a firmware update of the board through the same
//! session ([`update`]).

mod command;
mod event;
mod session;
mod stats;
pub mod update;

#[cfg(test)]
mod tests;

pub use event::{BoardEvent, DownReason, PowerAction};
pub use session::{
    BoardSession, CommandError, DEFAULT_RETRY_BACKOFF, EVENT_CAPACITY, SessionConfig,
};
pub use stats::LinkStats;
pub use update::{UpdateDriver, UpdateProgress};
