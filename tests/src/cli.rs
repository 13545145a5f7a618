//! The `borderlink` CLI as dispatch and engineers run it against a daemon under test: its API
//! from `BORDERLINK_API`, its token from `BORDERLINK_TOKEN_FILE` (or none at all).

use std::path::Path;
use std::process::{Command, Output};

use crate::binary;

/// Runs `borderlink ARGS` against the API at `api` with the token file, if any, and returns
/// what it printed and how it exited.
pub fn cli(args: &[&str], api: &str, token_file: Option<&Path>) -> Output {
    let mut cmd = Command::new(binary("borderlink"));
    cmd.args(args).env("BORDERLINK_API", api);
    match token_file {
        Some(file) => cmd.env("BORDERLINK_TOKEN_FILE", file),
        None => cmd.env_remove("BORDERLINK_TOKEN_FILE"),
    };
    cmd.output().expect("run borderlink")
}
