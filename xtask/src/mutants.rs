//! `cargo xtask mutants [--base REF] [--minutes N]`: cargo-mutants over the safety- and
//! security-critical code that changed since `REF` (default `HEAD~1`), within N minutes
//! (default 20), so a change there leaves no surviving mutant unnoticed. Each mutant is tested with its package's unit tests (`--lib`): the end-to-end
//! suites start daemons and take minutes, and the critical code is unit-tested where it lives.
//!
//! The list of critical paths is [`CRITICAL`]. Survivors are printed by cargo-mutants (and kept
//! in `target/mutants/mutants.out/missed.txt`); each must be killed by a test or written down
//! as equivalent, with the reason, in `docs/security.md` ("Mutation testing").

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The safety- and security-critical code: peer links and SRTP, floor, policy and loop rules, jitter and
/// grant buffers, radio TX control and caps, the board session, the firmware's safety,
/// watchdog, PTT, COR and update modules, the config validator, LIP and the link codec, and the
/// site core.
pub(crate) const CRITICAL: &[&str] = &[
    "gateway/src/net/replay.rs",
    "gateway/src/net/srtp.rs",
    "gateway/src/net/epoch.rs",
    "gateway/src/net/links/mod.rs",
    "gateway/src/engine/floor",
    "gateway/src/engine/policy.rs",
    "gateway/src/engine/jitter",
    "gateway/src/engine/radio_tx.rs",
    "gateway/src/engine/relay/mod.rs",
    "gateway/src/engine/stream.rs",
    "gateway/src/engine/loops.rs",
    "gateway/src/radio/air_time.rs",
    "gateway/src/radio/session.rs",
    "gateway/src/board/session.rs",
    "gateway/src/site",
    "gateway/src/config/validate",
    "firmware/src/safety.rs",
    "firmware/src/watchdog.rs",
    "firmware/src/ptt.rs",
    "firmware/src/cor.rs",
    "firmware/src/update",
    "protocol/src/sds/lip",
    "protocol/src/link",
];

pub(crate) fn run(root: &Path, base: &str, minutes: u64) -> anyhow::Result<()> {
    let diff = Command::new("git")
        .args(["diff", "--unified=0", base, "--"])
        .args(CRITICAL)
        .current_dir(root)
        .output()
        .context("running git diff")?;
    if !diff.status.success() {
        bail!(
            "git diff {base} failed: {}",
            String::from_utf8_lossy(&diff.stderr)
        );
    }
    if diff.stdout.is_empty() {
        println!("mutants: no critical file changed since {base}");
        return Ok(());
    }
    let dir = root.join("target").join("mutants");
    std::fs::create_dir_all(&dir)?;
    let diff_file = dir.join("critical.diff");
    std::fs::write(&diff_file, &diff.stdout)?;
    // The site core's rules are tested where the world around a site exists: the simulator's
    // whole-site tests and soak. A change there runs those too, with every critical
    // package's own tests (`--test-package` replaces the default of the mutant's package).
    let diff_text = String::from_utf8_lossy(&diff.stdout);
    let site_changed = diff_text
        .lines()
        .any(|l| l.starts_with("+++ b/gateway/src/site"));
    let test_packages: &[&str] = if site_changed {
        &[
            "--test-package",
            "borderlink-protocol",
            "--test-package",
            "borderlink-firmware",
            "--test-package",
            "borderlink-gateway",
            "--test-package",
            "borderlink-sim",
        ]
    } else {
        &[]
    };
    let mut child = Command::new("cargo")
        .arg("mutants")
        .args(test_packages)
        .arg("--in-diff")
        .arg(&diff_file)
        .arg("--output")
        .arg(&dir)
        .args(["--timeout", "120", "--build-timeout", "600"])
        .args(["--minimum-test-timeout", "30"])
        .args(["--", "--lib"])
        .current_dir(root)
        .spawn()
        .context("running cargo mutants (install: cargo install cargo-mutants --locked)")?;
    // Bounded in time: a run that cannot finish is a failure, not a silent pass.
    let deadline = Instant::now() + Duration::from_secs(60 * minutes);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "cargo mutants did not finish within {minutes} minutes: give more with --minutes, \
                 or split the change"
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    if !status.success() {
        bail!(
            "surviving or untested mutants in critical code changed since {base}: see {}",
            dir.join("mutants.out").join("missed.txt").display()
        );
    }
    println!("mutants: every mutant of the critical code changed since {base} was caught");
    Ok(())
}
