//! Interface-board logic.
#![no_std]
