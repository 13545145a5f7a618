//! # borderlink-tests
//!
//! Black-box tests that start borderlink's real binaries (the CLI, the daemon, the simulator)
//! and assert on what a user would see: output, exit status, logs, the API's answers and what
//! reaches the radios. This library is their one harness: it builds those binaries, writes a
//! site's config ([`config::SiteConfig`]) from what a test set up, hands out loopback ports,
//! temp dirs and private token and key files, drives the radios' audio and the field calls
//! around them, and runs the daemon ([`daemon::Daemon`]). The emulated radios and boards the
//! daemon opens on pseudo-terminals live in the simulator (`borderlink_sim::pty`,
//! `borderlink_sim::board::pty`).

pub mod api;
pub mod audio;
pub mod border;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod loopback;
pub mod radio;
pub mod secrets;
pub mod temp;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Which package builds each binary the tests start.
const BINARIES: &[(&str, &str)] = &[
    ("borderlink", "borderlink-gateway"),
    ("borderlinkd", "borderlink-gateway"),
];

/// Serialises builds: parallel tests asking for the same binary build it once.
static BUILD: Mutex<()> = Mutex::new(());

/// Path of a workspace binary, built first (in the test's own profile and target directory)
/// so a test never runs a stale executable.
///
/// Panics with a readable message if the binary is unknown or does not build: in a test, that
/// is the failure to report.
pub fn binary(name: &str) -> PathBuf {
    let package = BINARIES
        .iter()
        .find(|(bin, _)| *bin == name)
        .map(|(_, package)| *package)
        .unwrap_or_else(|| panic!("unknown binary {name}; add it to BINARIES"));
    // Test executables live in <target>/<profile>/deps; binaries in <target>/<profile>.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable is inside <target>/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir
        .parent()
        .expect("profile dir is inside the target dir");
    let release = profile_dir.file_name().is_some_and(|p| p == "release");
    let _guard = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--package", package, "--bin", name])
        .arg("--target-dir")
        .arg(target_dir);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "cargo build of {name} failed");
    profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Sends SIGTERM to a child process, as systemd does when stopping the service.
pub fn sigterm(child: &std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
}

/// Polls `done` every 20 ms until it holds; panics naming `what` after 10 s (only a hang
/// takes that long: the wait ends on the event).
pub fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
