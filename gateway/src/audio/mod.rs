//! The voice path of each radio. PEI carries control only: a radio's audio comes and goes on
//! its accessory audio lines, through an audio backend.
//!
//! - [`udp`]: 20 ms G.711 A-law frames over UDP, raw or as RTP, for external audio-over-IP
//!   interfaces and for the simulator's radio emulators.
//!
//! - `alsa` (with the `alsa` cargo feature): a sound device, normally the interface board's
//!   USB audio codec. It links the system's libasound, so the default build leaves it out.
//!
//! - [`drops`]: the frames dropped on the way between a backend and the engine, by cause.

#[cfg(feature = "alsa")]
pub mod alsa;
pub mod drops;
pub mod udp;
