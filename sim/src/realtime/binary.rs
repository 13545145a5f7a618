//! Finding the `borderlinkd` executable the real-time mode starts.
//!
//! In order:
//! 1. `--daemon PATH` on the command line (or the `BORDERLINKD` environment variable);
//! 2. when the simulator was started by cargo (`cargo run -p borderlink-sim`), cargo builds
//!    `borderlinkd` in the simulator's own profile and target directory first (a no-op when it
//!    is up to date), so the daemon never lags behind the source;
//! 3. otherwise `borderlinkd` next to the simulator's own executable (an installed pair).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The executable's name.
const NAME: &str = "borderlinkd";

/// The directory holding the simulator's executable, and the cargo profile directory it sits
/// in (a test executable sits one level down, in `deps/`).
fn profile_dir(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    if dir.file_name().is_some_and(|d| d == "deps") {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}

/// The path of `borderlinkd`, built first when cargo started us; see the
/// [module documentation](self).
pub fn borderlinkd(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("BORDERLINKD") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("the simulator's own path")?;
    let profile = profile_dir(&exe).context("the simulator's directory")?;
    let beside = profile.join(format!("{NAME}{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        let target = profile
            .parent()
            .context("the target directory above the profile directory")?;
        let release = profile.file_name().is_some_and(|p| p == "release");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "--package",
            "borderlink-gateway",
            "--bin",
            NAME,
        ])
        .arg("--target-dir")
        .arg(target);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .context("running cargo build for borderlinkd")?;
        if !status.success() {
            bail!("cargo build of {NAME} failed");
        }
    }
    if beside.exists() {
        return Ok(beside);
    }
    bail!(
        "{NAME} not found next to {} (build it with `cargo build --release --bin {NAME}`, or give \
         --daemon PATH)",
        exe.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_executable_looks_in_its_profile_directory() {
        assert_eq!(
            profile_dir(Path::new("/t/release/deps/sim-1234")),
            Some(PathBuf::from("/t/release"))
        );
        assert_eq!(
            profile_dir(Path::new("/t/release/borderlink-sim")),
            Some(PathBuf::from("/t/release"))
        );
    }
}
