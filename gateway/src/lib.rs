//! Edge daemon.
