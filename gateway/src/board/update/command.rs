//! The update commands the session sends for the update driver, and how their outcomes are
//! reported.

use borderlink_protocol::link::{FirmwareVersion, MAX_CHUNK, Message, Signature};
use serde::Serialize;

/// Up to [`MAX_CHUNK`] image bytes, held inline so a queued command stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChunkData {
    len: u16,
    bytes: [u8; MAX_CHUNK],
}

impl ChunkData {
    /// A copy of `data`, `None` if longer than [`MAX_CHUNK`].
    pub fn new(data: &[u8]) -> Option<Self> {
        let mut bytes = [0; MAX_CHUNK];
        bytes.get_mut(..data.len())?.copy_from_slice(data);
        Some(ChunkData {
            len: u16::try_from(data.len()).ok()?,
            bytes,
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl std::fmt::Debug for ChunkData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkData({} bytes)", self.len)
    }
}

/// A firmware-update command (`docs/wire.md`, "Firmware update").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateCommand {
    /// `UpdateBeginSecure` (or `UpdateBegin`, for a legacy image without the override, which
    /// boards of before security versions take too): the board erases the slot not running,
    /// then acks.
    Begin {
        /// Image size.
        size: u32,
        /// Image CRC-32.
        crc32: u32,
        /// Image version.
        version: FirmwareVersion,
        /// The image's signed security version, `None` for a legacy image.
        security: Option<u32>,
        /// The engineer's override: take an image below the board's floor.
        allow_rollback: bool,
    },
    /// `UpdateChunk`.
    Chunk {
        /// Offset in the image.
        offset: u32,
        /// The bytes.
        data: ChunkData,
    },
    /// `UpdateVerify`.
    Verify {
        /// The image signature.
        signature: Signature,
    },
    /// `UpdateCommit`: the board acks and resets into the new image.
    Commit,
    /// `UpdateAbort`.
    Abort,
    /// `GetUpdateStatus`, answered by [`super::super::BoardEvent::UpdateStatus`].
    Status,
}

impl UpdateCommand {
    /// The message.
    pub fn message(&self) -> Message<'_> {
        match self {
            UpdateCommand::Begin {
                size,
                crc32,
                version,
                security: None,
                allow_rollback: false,
            } => Message::UpdateBegin {
                size: *size,
                crc32: *crc32,
                version: *version,
            },
            UpdateCommand::Begin {
                size,
                crc32,
                version,
                security,
                allow_rollback,
            } => Message::UpdateBeginSecure {
                size: *size,
                crc32: *crc32,
                version: *version,
                security_version: *security,
                allow_rollback: *allow_rollback,
            },
            UpdateCommand::Chunk { offset, data } => Message::UpdateChunk {
                offset: *offset,
                data: data.as_slice(),
            },
            UpdateCommand::Verify { signature } => Message::UpdateVerify {
                signature: *signature,
            },
            UpdateCommand::Commit => Message::UpdateCommit,
            UpdateCommand::Abort => Message::UpdateAbort,
            UpdateCommand::Status => Message::GetUpdateStatus,
        }
    }

    /// What the command was, without its data, as events report it.
    pub fn step(&self) -> UpdateStep {
        match self {
            UpdateCommand::Begin { .. } => UpdateStep::Begin,
            UpdateCommand::Chunk { offset, data } => UpdateStep::Chunk {
                offset: *offset,
                len: data.len,
            },
            UpdateCommand::Verify { .. } => UpdateStep::Verify,
            UpdateCommand::Commit => UpdateStep::Commit,
            UpdateCommand::Abort => UpdateStep::Abort,
            UpdateCommand::Status => UpdateStep::Status,
        }
    }
}

/// An update command as [`super::super::BoardEvent::UpdateAcked`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStep {
    /// `UpdateBegin`.
    Begin,
    /// `UpdateChunk` at `offset`, `len` bytes.
    Chunk {
        /// Offset in the image.
        offset: u32,
        /// Bytes.
        len: u16,
    },
    /// `UpdateVerify`.
    Verify,
    /// `UpdateCommit`.
    Commit,
    /// `UpdateAbort`.
    Abort,
    /// `GetUpdateStatus`.
    Status,
}
