//! What the board tells about itself: who it is ([`BoardInfo`], the answer to the handshake) and
//! how it is doing ([`Telemetry`]).
//!
//! The board runs from one of two flash slots (A/B) so a firmware update never overwrites the
//! image that is running; the slot and version it booted from are part of both answers, so the
//! host sees at once whether an update took.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::port::PORTS;

/// A firmware version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FirmwareVersion {
    /// Incompatible changes.
    pub major: u8,
    /// Compatible additions.
    pub minor: u8,
    /// Fixes.
    pub patch: u8,
}

impl FirmwareVersion {
    /// A version from its three parts.
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        FirmwareVersion {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// One of the two firmware flash slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Slot {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl Slot {
    /// The slot an update writes while this one runs.
    pub const fn other(self) -> Self {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

/// Why the board last reset, as its reset-cause register tells.
///
/// Append-only: the position of a variant is its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResetCause {
    /// Power was applied.
    PowerOn,
    /// The supply dipped below the brown-out threshold.
    Brownout,
    /// The reset pin was pulled (a button or a debugger).
    Pin,
    /// The independent hardware watchdog fired: the firmware hung.
    Watchdog,
    /// The firmware reset itself, e.g. to boot a committed update.
    Software,
    /// A low-power-mode reset.
    LowPower,
    /// No flag set, or several that do not add up.
    Unknown,
}

/// The board's answer to [`crate::link::Message::Hello`]: identity and link limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BoardInfo {
    /// The running firmware.
    pub firmware: FirmwareVersion,
    /// The slot it runs from.
    pub slot: Slot,
    /// How many radio ports the board drives (equal to [`PORTS`] in this protocol version).
    pub ports: u8,
    /// The largest update chunk it accepts, in bytes (at most [`crate::link::MAX_CHUNK`]).
    pub max_chunk: u16,
    /// How many unacknowledged commands it accepts from the host (at most
    /// [`crate::link::WINDOW`]).
    pub window: u8,
    /// The ports whose PTT output is active-low (keyed = low). The polarity is the board's own
    /// (it must hold every line released from power-up, before any host speaks); the host
    /// compares it with its configuration and keys no port where the two disagree.
    pub ptt_active_low: crate::link::PortMask,
    /// The ports whose COR input is active-low.
    pub cor_active_low: crate::link::PortMask,
}

/// The board's health report, the answer to [`crate::link::Message::GetTelemetry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Telemetry {
    /// Seconds since the board last reset.
    pub uptime_s: u32,
    /// Why it last reset.
    pub reset_cause: ResetCause,
    /// The running firmware.
    pub firmware: FirmwareVersion,
    /// The slot it runs from.
    pub slot: Slot,
    /// Seconds each port's PTT has been keyed since reset, indexed by [`crate::link::Port::index`].
    pub ptt_seconds: [u32; PORTS],
    /// Frames from the host the board has rejected since reset (CRC, COBS, length, version or
    /// body errors).
    pub link_errors: u32,
}
