//! # borderlink-sim
//!
//! The simulator that lets the whole of borderlink run and be tested on one machine, with no
//! radio, no interface board and no border. It plays everything around the edge daemon
//! through the same doors the real world uses (serial ports, UDP sockets, the control API), so
//! the daemon cannot tell it from the field:
//!
//! - emulated SwMIs for ASTRID and C2000: groups, radios, group calls, floor, pre-emption and
//!   the grant delay of a trunked network;
//! - emulated TETRA radios speaking PEI ([`radio`]), in memory and on pseudo-terminals;
//! - the interface-board firmware's own logic (`borderlink-firmware`) as an emulated board;
//! - an impaired IP network between gateways ([`net`]): delay, jitter, loss, duplication,
//!   reordering and partitions;
//! - dispatch actions and moving units whose routes cross the border and emit LIP reports.
//!
//! Everything runs as a discrete-event simulation in virtual time from one seed, so a run is
//! reproducible: scenarios are data files, and each run produces a report (and optionally a
//! trace) that tests assert on.
//!
//! The impaired network and the PEI radio emulator exist so far.

pub mod net;
pub mod radio;
