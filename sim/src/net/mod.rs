//! The simulated IP network between edge boxes and dispatch consoles.
//!
//! In the field, borderlink's voice and control traffic crosses the public internet or a
//! police backbone between border sites, with the delay, jitter, loss and outages that come
//! with it. The simulator reproduces those in virtual time so every scenario runs the real
//! daemon code against them, the same way on every run:
//!
//! - [`impair`]: one direction of a path, as a seeded, sans-IO impaired packet link (the
//!   fast mode puts one between every pair of sites);
//! - [`proxy`]: the same links as a real UDP proxy on loopback, between real daemons.
pub mod impair;
pub mod proxy;
