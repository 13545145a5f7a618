//! The relay engine: the heart of the gateway, as pure state machines.
//!
//! The engine decides who may talk in each patch, which endpoints hear a transmission, and
//! when each frame plays out; it owns no socket, no clock and no task (the quinn-proto split).
//! The daemon's IO tasks and the simulator feed it the same inputs — voice packets, radio
//! events, the time — and drain the same outputs, so what the simulator proves in virtual
//! time is what the daemon does.
//!
//! - [`endpoint`]: who audio comes from and goes to.
//! - [`stream`]: the identity of a transmission and its claim to the floor.
//! - [`counters`]: every undelivered frame, counted by cause.
//! - [`jitter`]: the per-stream receive path: reorder and jitter buffer, adaptive playout
//!   delay, concealment, end detection, and holding audio until a radio's transmit grant.
//! - [`policy`]: what each source may claim, and the rank that orders claims the same way at
//!   every site.
//! - [`floor`]: one talker per patch — pre-emption, late entry, hang time, TX timeout and block.
//! - [`patch`]: the patches (which groups and consoles form one conversation), their expiry and
//!   inactivity timeouts, and their persistence form.
//! - [`routing`]: the destinations of a frame in a patch, as seen from one site.
//! - [`loops`]: loop prevention (origin network, gateway talkers, one forwarder per group).
//! - [`radio_tx`]: each local radio's transmitter: demand, grant, hang time, hard cap.
//! - [`relay`]: the [`Engine`](relay::Engine) that ties them together; start reading there.

pub mod counters;
pub mod endpoint;
pub mod floor;
pub mod jitter;
pub mod loops;
pub mod patch;
pub mod policy;
pub mod radio_tx;
pub mod relay;
pub mod routing;
pub mod stream;
