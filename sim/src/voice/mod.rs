//! Voice content for measurement: what simulated field units say, and what the listening end
//! makes of it.
//!
//! - [`marker`]: every 20 ms frame a unit speaks carries its talker, transmission, sequence
//!   number and send time;
//! - [`meter`]: the receiving end, per transmission and per radio that put it on air: order,
//!   loss, concealment, duplicates and mouth-to-ear latency of every frame.
pub mod marker;
pub mod meter;
