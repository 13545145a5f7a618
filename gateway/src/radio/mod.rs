//! One TETRA radio driven over its PEI: the sans-IO session between the engine and a serial
//! port.
//!
//! Each ASTRID or C2000 radio of a border site hangs on an RS-232 line that carries AT
//! commands (ETSI EN 300 392-5). A [`RadioSession`] is everything the daemon does on that line,
//! as a state machine in the quinn-proto style: the tokio-serial driver only moves bytes and
//! time in and out of it, and the simulator drives the very same code against its radio
//! emulators in virtual time. Commands are built and lines parsed by
//! [`borderlink_protocol::pei`]; short data is decoded by [`borderlink_protocol::sds`].
//!
//! What the session does:
//! - **Initialisation** (`init.rs`) on link up and after every failure: probe, echo off, numeric
//!   errors, trunked mode, the profile's vendor commands, service routing (voice, status, LIP),
//!   maker, model and software, the identity check against the configured ITSI, static
//!   identities, registration, group selection; then signal quality and registration every
//!   [`signal_interval`](RadioSessionConfig::signal_interval). Which optional steps are asked
//!   is the radio's [`PeiProfile`]; refusing one never takes a radio down.
//! - **Registration**: a radio that says it is not registered on its network (`+CREG`,
//!   asked or unsolicited) is down for the engine until it registers again.
//! - **One command at a time**, correlated with its final result (`OK`, `ERROR`,
//!   `+CME ERROR`) and the information lines before it, with a timeout and bounded retries.
//!   A radio that stays silent, refuses an essential step or shows it rebooted (command echo
//!   back on, a configured start-up banner) is reported [`RadioOutput::Down`] and initialised
//!   again after a backoff (1 s doubling to 30 s by default). Unsolicited lines are handled
//!   whenever they arrive, a command in flight or not.
//! - **Keying** (`call.rs`): join or set up the group call, demand transmission, report the
//!   grant, a refusal or a loss to the engine, and cease on unkey, always.
//! - **Receiving**: `ReceiveStart`/`ReceiveEnd` bracket the time another party talks, which is
//!   when the driver captures the radio's audio for the engine.
//! - **Short data**: status messages, LIP short reports and other SDS, decoded; and the
//!   gateway's own replies to units (`sds.rs`): a status or a text, sent with `AT+CTSDS`
//!   and `AT+CMGS`.
//!
//! ```
//! use borderlink_gateway::radio::{RadioOutput, RadioSession, RadioSessionConfig};
//! use borderlink_protocol::ids::Tsi;
//! use borderlink_protocol::time::Instant;
//!
//! let identity = Tsi::from_parts(204, 1, 2_040_123).unwrap();
//! let group = Tsi::from_parts(204, 1, 2_040_551).unwrap();
//! let mut radio = RadioSession::new(RadioSessionConfig::new(identity, group)).unwrap();
//! let now = Instant::ZERO;
//! radio.link_up(now);
//! assert_eq!(radio.poll_transmit().unwrap().bytes(), b"AT\r");
//! radio.handle_bytes(now, b"AT\r\r\nOK\r\n");
//! assert_eq!(radio.poll_transmit().unwrap().bytes(), b"ATE0\r");
//! // A key request before the radio is ready is refused at once.
//! radio.key(now, group, borderlink_protocol::voice::Priority::new(0).unwrap(), false);
//! assert!(matches!(radio.poll_event(), Some(RadioOutput::TxRefused { .. })));
//! ```

mod air_time;
mod call;
pub mod capture;
mod command;
mod config;
mod init;
mod line;
mod output;
mod profile;
mod sds;
mod session;

#[cfg(test)]
mod tests;

pub use command::Transmit;
pub use config::{ConfigError, MAX_RETRIES, RadioSessionConfig};
pub use output::{CommandError, DownReason, RadioFault, RadioOutput, ReportPdu, TxFailure};
pub use profile::{MAX_EXTRA, MAX_EXTRA_LEN, PeiProfile};
pub use sds::{MAX_SDS_BYTES, MAX_TEXT_LEN, SendError};
pub use session::{LinkState, RadioIdentification, RadioSession, RadioStatus, TEXT_PARTS_TIMEOUT};
