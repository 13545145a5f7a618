//! Test rigs shared by the integration tests (and the benches).
pub(crate) mod serial_board;
