//! The voice path of each radio. PEI carries control only: a radio's audio comes and goes on
//! its accessory audio lines, through an audio backend.
//!
//! - [`udp`]: 20 ms G.711 A-law frames over UDP, raw or as RTP, for external audio-over-IP
//!   interfaces and for the simulator's radio emulators.
//!
//! An ALSA backend for the board's USB audio codec sits behind a cargo feature so that the
//! default build needs no system library.

pub mod udp;
