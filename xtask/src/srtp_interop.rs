//! libsrtp interoperability: a libsrtp-based peer (Python's pylibsrtp, in a venv made here)
//! and a real borderlinkd exchange SRTP both ways, for both suites. The check itself is the
//! `srtp_interop` test of `borderlink-tests`; this prepares the venv and runs it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The pylibsrtp release the check is known to work with (its wheels bundle libsrtp 2).
const PYLIBSRTP: &str = "pylibsrtp==1.0.0";

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let venv = root.join("target").join("xtask").join("srtp-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("running python3 -m venv (is python3 installed?)")?;
        if !status.success() {
            bail!(
                "srtp-interop: `python3 -m venv {}` failed; install python3-venv (apt-get install python3-venv)",
                venv.display()
            );
        }
    }
    let imported = Command::new(&python)
        .args(["-c", "import pylibsrtp"])
        .output()
        .context("running the venv's python")?;
    if !imported.status.success() {
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", PYLIBSRTP])
            .status()
            .context("running pip")?;
        if !status.success() {
            bail!(
                "srtp-interop: `pip install {PYLIBSRTP}` failed (no network to PyPI, or no pip in the venv?)"
            );
        }
    }
    let status = Command::new("cargo")
        .args([
            "test",
            "--package",
            "borderlink-tests",
            "--test",
            "srtp_interop",
        ])
        .env("BORDERLINK_SRTP_PYTHON", &python)
        .current_dir(root)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!(
            "srtp-interop: borderlinkd and libsrtp do not interoperate (see the test output above)"
        );
    }
    println!(
        "srtp-interop: libsrtp decrypts borderlinkd's SRTP/SRTCP and borderlinkd accepts libsrtp's, both suites"
    );
    Ok(())
}
