//! # borderlink-gateway
//!
//! The Linux side of a border site: the edge daemon `borderlinkd`, which drives one TETRA
//! radio on each network and relays their voice over IP, and the engineer's CLI `borderlink`.
//! This crate holds the IO shell and the daemon's state machines; every wire format comes from
//! `borderlink-protocol`.
//!
//! - [`api`]: the HTTP control API for dispatch centres and engineers, and `GET /metrics`.
//! - [`engine`]: the relay engine (patches, floor control, the receive path), sans-IO.
//! - [`board`]: the link session with the interface board (PTT, COR, power, its watchdog).
//! - [`radio`]: the sans-IO PEI session of each TETRA radio (initialisation, keying, receive
//!   gating, short data).
//! - [`client`]: the CLI side of the control API (`borderlink status`, `patch`, ...).
//! - [`roaming`]: semi-roaming — mirror groups brought up by schedule, dispatch, a unit's
//!   status or its position in a border zone, under each country's sovereignty rules.
//! - [`config`]: the site's TOML configuration, validated at load with errors that name the
//!   file, line, column and key.
//! - [`audio`]: each radio's voice path (audio backends).
//! - [`daemon`]: `borderlinkd`'s IO shell: serial and audio tasks around one loop that owns
//!   the engine and the radio sessions.
//! - [`firmware_image`]: behind `borderlink firmware`, the signed firmware-image container and
//!   the engineers' signing keys.
//! - [`decode`]: behind `borderlink decode`, turns a captured RTP packet, board-link frame, LIP
//!   report or PEI transcript into what it means, for people and for scripts.

pub mod api;
pub mod audio;
pub mod board;
pub mod client;
mod clock;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod engine;
pub mod firmware_image;
pub mod net;
pub mod radio;
pub mod roaming;
pub mod site;
