//! # borderlink-protocol
//!
//! Every wire format borderlink speaks, in one `no_std` crate that the edge daemon, the
//! interface-board firmware and the simulator all share:
//!
//! - [`ids`]: TETRA identities (MCC/MNC/SSI/TSI) and the two networks, ASTRID and C2000.
//! - [`voice`]: RTP (RFC 3550) voice packets with borderlink's RFC 8285 radio header extension.
//! - [`link`]: the COBS-framed, CRC-checked host↔interface-board protocol.
//! - [`pei`]: AT commands to TETRA radios and a streaming parser for what they answer.
//! - [`sds`]: TETRA status messages, SDS type-4 user data and LIP location reports.
//! - [`time`]: a microsecond `Instant`/`Duration` so state machines take time as an argument.
//!
//! ## The parsing contract
//! Every parser here takes a caller-owned byte slice, allocates nothing and **never panics**,
//! whatever the input (each has a fuzz target in `fuzz/` that checks it). Where input arrives
//! as a stream (PEI lines, board-link frames), a parser tells *incomplete* input (read more
//! bytes and call again) apart from *invalid* input (skip it and say why). Wire formats follow
//! the smoltcp shape: a zero-copy `Packet<T: AsRef<[u8]>>` view with a checked constructor, and
//! a plain `Repr` whose `parse` and `emit` round-trip and whose `buffer_len` says how many bytes
//! `emit` writes. Error types are small `Copy` enums that name the precise cause.
//!
//! The `std` feature adds nothing to the wire formats; it lets dependencies use `std` and adds
//! conveniences that allocate.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

pub mod ids;
pub mod link;
pub mod pei;
pub mod sds;
pub mod time;
pub mod voice;
