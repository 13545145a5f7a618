//! Firmware update of the interface board, from the host's side.
//!
//! [`UpdateDriver`] runs one update (`docs/wire.md`, "Firmware update") through the
//! [`BoardSession`](super::BoardSession) that owns the link: it sends the signed image's
//! `UpdateBegin`, its chunks pipelined within the board's window, `UpdateVerify` and
//! `UpdateCommit`, follows the board through its reset, and reports progress and the outcome as
//! [`UpdateProgress`]. It refuses to start while a radio may be on the air, and aborts the
//! update on the board when anything goes wrong. The daemon's control API and `borderlink
//! firmware flash` sit on top of it; the session's [`UpdateCommand`]s are its vocabulary.

mod command;
mod driver;

pub use command::{ChunkData, UpdateCommand, UpdateStep};
pub use driver::{
    DEFAULT_REBOOT_TIMEOUT, REBOOT_POLL, UpdateConfig, UpdateDriver, UpdateError, UpdateProgress,
};
