//! # borderlink-sim
//!
//! The simulator that lets the whole of borderlink run and be tested on one machine, with no
//! radio, no interface board and no border. It plays everything around the edge daemon
//! through the same doors the real world uses (serial ports, UDP sockets, the control API), so
//! the daemon cannot tell it from the field:
//!
//! - emulated SwMIs for ASTRID and C2000 ([`swmi`]): groups, radios, group calls, floor,
//!   pre-emption, the grant delay of a trunked network, short data;
//! - emulated TETRA radios speaking PEI ([`radio`]), in memory and on pseudo-terminals
//!   ([`pty`]);
//! - the interface-board firmware's own logic as an emulated board ([`board`]);
//! - an impaired IP network between gateways ([`net`]): delay, jitter, loss, duplication,
//!   reordering and partitions, in virtual time or as a real UDP proxy;
//! - field units that talk with marked voice ([`voice`]) and drive routes across the border
//!   emitting LIP ([`field`]), and dispatch actions, all from scenario files ([`scenario`]).
//!
//! A run ([`world`]) is either a discrete-event simulation in virtual time that drives the
//! daemon's own state machines in process ([`fast`]: same seed, same report, byte for byte) or
//! a real-time run of real `borderlinkd` processes ([`realtime`]). Both produce the same
//! [`report`], as text for people and JSON for tests.

pub mod board;
pub mod fast;
pub mod field;
pub mod net;
pub mod pty;
pub mod radio;
pub mod realtime;
pub mod report;
pub mod scenario;
pub mod soak;
pub mod swmi;
pub mod trace;
pub mod voice;
pub mod world;
