//! `cargo xtask mutants [--base REF] [--minutes N] [--ci]`: cargo-mutants over the safety- and
//! security-critical code that changed since `REF`, within N minutes, so a change there leaves
//! no surviving mutant unnoticed. `REF` defaults to the commit named in `.ci/landed` (the last
//! submission that landed), else `HEAD~1`. Each mutant is tested with its package's unit tests
//! (`--lib`): the end-to-end suites start daemons and take minutes, and the critical code is
//! unit-tested where it lives.
//!
//! Two modes:
//! - the full run (default, N = 20): every mutant of the changed lines, in a copy of the tree;
//!   running out of time is a failure;
//! - `--ci` (N = 5): in place (the checkout is CI's own and already built), one mutant at a
//!   time, starting at a place chosen by the commit so successive submissions sample different
//!   mutants, until the budget is spent (at least one mutant, which runs to its verdict). It
//!   fails on a survivor and says how many mutants it reached; the rest are the developer's
//!   full run, recorded in `docs/testing.md`.
//!
//! The list of critical paths is [`CRITICAL`], the equivalent mutants [`EQUIVALENT`]. Survivors
//! are printed by cargo-mutants (and kept in `target/mutants/mutants.out/missed.txt`); each
//! must be killed by a test or written down as equivalent, with the reason, here and in
//! `docs/security.md` ("Mutation testing").

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

/// Mutants that no test can tell from the real code, with the reason (also in
/// `docs/security.md`). Each is named by its file, cargo-mutants' description and a piece of
/// the source line it changes, so it stays named when lines move and is not confused with the
/// other mutants of the same function.
pub(crate) const EQUIVALENT: &[Equivalent] = &[
    Equivalent {
        file: "gateway/src/net/links/mod.rs",
        mutation: "replace > with >= in PeerLinks::receive_rtp",
        line: "if age > 0 {",
        // The branch only runs when |age| > STALE_AFTER, so age is never 0 there.
    },
    Equivalent {
        file: "gateway/src/engine/relay/mod.rs",
        mutation: "replace && with || in Engine::rekey_for_live_over",
        line: "s.has_floor && !s.ended && s.buffer.is_some()",
        // For a stream listing a local radio the buffer exists exactly while the stream holds
        // the floor, and an ended stream has released it: the three terms are equal there.
    },
    Equivalent {
        file: "gateway/src/engine/relay/mod.rs",
        mutation: "replace && with || in Engine::handle_radio",
        line: "event == RadioEvent::Up && r.playing.is_none() && !r.tx.is_active()",
        // An idle radio that plays nothing gets no event but Down and Up, `RadioTx::key` keys
        // nothing while it is down, and right after a refusal it is in the forced gap.
    },
    Equivalent {
        file: "gateway/src/engine/relay/mod.rs",
        mutation: "replace > with >= in Engine::handle_capture",
        line: "if lower > 0 {",
        // With no lower site the hold is zero long, and `hold` ends a hold due now in the same
        // call: the frame is relayed as if never held.
    },
];

/// One equivalent mutant: see [`EQUIVALENT`].
pub(crate) struct Equivalent {
    file: &'static str,
    mutation: &'static str,
    line: &'static str,
}

/// A mutant as `cargo mutants --list` names it: `file:line:col: description`.
struct Mutant {
    name: String,
    file: String,
    line: usize,
    mutation: String,
}

impl Mutant {
    fn parse(name: &str) -> Option<Self> {
        let mut parts = name.splitn(4, ':');
        let file = parts.next()?.to_owned();
        let line = parts.next()?.parse().ok()?;
        let _col = parts.next()?;
        let mutation = parts.next()?.trim().to_owned();
        Some(Self {
            name: name.to_owned(),
            file,
            line,
            mutation,
        })
    }

    fn is_equivalent(&self, root: &Path) -> bool {
        let source = std::fs::read_to_string(root.join(&self.file)).unwrap_or_default();
        let line = source
            .lines()
            .nth(self.line.saturating_sub(1))
            .unwrap_or("");
        EQUIVALENT
            .iter()
            .any(|e| e.file == self.file && e.mutation == self.mutation && line.contains(e.line))
    }
}

/// The commit the submission is compared with: `.ci/landed` if it names a commit this clone
/// has, else `HEAD~1`.
pub(crate) fn default_base(root: &Path) -> String {
    let landed = std::fs::read_to_string(root.join(".ci").join("landed")).unwrap_or_default();
    let landed = landed.trim();
    let known = !landed.is_empty()
        && Command::new("git")
            .args(["cat-file", "-e", &format!("{landed}^{{commit}}")])
            .current_dir(root)
            .status()
            .is_ok_and(|s| s.success());
    if known {
        landed.to_owned()
    } else {
        "HEAD~1".to_owned()
    }
}

/// What to run, from the change: the diff of the critical files and the test packages.
struct Change {
    diff_file: std::path::PathBuf,
    test_packages: Vec<&'static str>,
}

fn change(root: &Path, base: &str, dir: &Path) -> anyhow::Result<Option<Change>> {
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
        return Ok(None);
    }
    std::fs::create_dir_all(dir)?;
    let diff_file = dir.join("critical.diff");
    std::fs::write(&diff_file, &diff.stdout)?;
    // The site core's rules are tested where the world around a site exists: the simulator's
    // whole-site tests and soak. A change there runs those too, with every critical
    // package's own tests (`--test-package` replaces the default of the mutant's package).
    let site_changed = String::from_utf8_lossy(&diff.stdout)
        .lines()
        .any(|l| l.starts_with("+++ b/gateway/src/site"));
    let test_packages = if site_changed {
        [
            "borderlink-protocol",
            "borderlink-firmware",
            "borderlink-gateway",
            "borderlink-sim",
        ]
        .iter()
        .flat_map(|p| ["--test-package", p])
        .collect()
    } else {
        Vec::new()
    };
    Ok(Some(Change {
        diff_file,
        test_packages,
    }))
}

pub(crate) fn run(root: &Path, base: &str, minutes: u64, ci: bool) -> anyhow::Result<()> {
    let dir = root.join("target").join("mutants");
    let Some(change) = change(root, base, &dir)? else {
        println!("mutants: no critical file changed since {base}");
        return Ok(());
    };
    let deadline = Instant::now() + Duration::from_secs(60 * minutes);
    if ci {
        let clean = Command::new("git")
            .args(["diff", "--quiet", "HEAD", "--"])
            .args(CRITICAL)
            .current_dir(root)
            .status()
            .context("running git diff")?;
        if !clean.success() {
            bail!(
                "--ci mutates the critical files in place and restores them from git: commit \
                 or stash their changes first"
            );
        }
        sample(root, base, &dir, &change, deadline, minutes)
    } else {
        full(root, base, &dir, &change, deadline, minutes)
    }
}

fn cargo_mutants(root: &Path, dir: &Path, change: &Change) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("mutants")
        .args(&change.test_packages)
        .arg("--in-diff")
        .arg(&change.diff_file)
        .arg("--output")
        .arg(dir)
        .args(["--timeout", "120", "--build-timeout", "600"])
        .args(["--minimum-test-timeout", "30"])
        .current_dir(root);
    command
}

/// Starts cargo-mutants in a process group of its own, so that the deadline stops the tests
/// it started too (a killed cargo-mutants leaves a hung test binary running otherwise).
fn spawn(command: &mut Command) -> anyhow::Result<std::process::Child> {
    use std::os::unix::process::CommandExt as _;
    command
        .process_group(0)
        .spawn()
        .context("running cargo mutants (install: cargo install cargo-mutants --locked)")
}

/// Waits for cargo-mutants; `Ok(None)` when the deadline came first (its whole process group
/// is killed).
fn wait(
    mut child: std::process::Child,
    deadline: Instant,
) -> anyhow::Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn full(
    root: &Path,
    base: &str,
    dir: &Path,
    change: &Change,
    deadline: Instant,
    minutes: u64,
) -> anyhow::Result<()> {
    let child = spawn(cargo_mutants(root, dir, change).args(["--", "--lib"]))?;
    // Bounded in time: a run that cannot finish is a failure, not a silent pass.
    let Some(status) = wait(child, deadline)? else {
        bail!(
            "cargo mutants did not finish within {minutes} minutes: give more with --minutes, \
             or split the change"
        );
    };
    if !status.success() {
        bail!(
            "surviving or untested mutants in critical code changed since {base}: see {} \
             (equivalent ones are listed in xtask/src/mutants.rs EQUIVALENT)",
            dir.join("mutants.out").join("missed.txt").display()
        );
    }
    println!("mutants: every mutant of the critical code changed since {base} was caught");
    Ok(())
}

/// Longer than cargo-mutants' own limits for one mutant (`--build-timeout 600`, `--timeout
/// 120`): only a hang outlasts it.
const ONE_MUTANT_AT_MOST: Duration = Duration::from_secs(15 * 60);

/// cargo-mutants' exit codes (its documentation, "Exit codes").
const FOUND_PROBLEMS: i32 = 2;
const TIMEOUTS: i32 = 3;

fn sample(
    root: &Path,
    base: &str,
    dir: &Path,
    change: &Change,
    deadline: Instant,
    minutes: u64,
) -> anyhow::Result<()> {
    let list = cargo_mutants(root, dir, change)
        .arg("--list")
        .output()
        .context("running cargo mutants --list (install: cargo install cargo-mutants --locked)")?;
    if !list.status.success() {
        bail!(
            "cargo mutants --list failed: {}",
            String::from_utf8_lossy(&list.stderr)
        );
    }
    let mutants: Vec<Mutant> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(Mutant::parse)
        .collect();
    let count = mutants.len();
    if count == 0 {
        println!("mutants: the critical lines changed since {base} have no mutants");
        return Ok(());
    }
    // Start where the commit says, so that one submission after another samples different
    // mutants rather than always the first few.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .context("running git rev-parse")?;
    let start = u64::from_str_radix(
        String::from_utf8_lossy(&head.stdout)
            .get(..12)
            .unwrap_or("0"),
        16,
    )
    .unwrap_or(0) as usize
        % count;
    println!(
        "mutants: {count} mutants in the critical lines changed since {base}; testing them one \
         at a time from #{start} for {minutes} minutes"
    );
    let (mut caught, mut missed, mut equivalent, mut reached) = (0, Vec::new(), 0, 0);
    for i in (0..count).map(|k| (start + k) % count) {
        // The budget decides whether another mutant starts; one that started runs to its
        // verdict (cargo-mutants' own build and test timeouts bound it), so a budget shorter
        // than one mutant still tests one.
        if reached > 0 && Instant::now() >= deadline {
            break;
        }
        let mutant = &mutants[i];
        if mutant.is_equivalent(root) {
            equivalent += 1;
            reached += 1;
            continue;
        }
        let started = Instant::now();
        let child = spawn(
            cargo_mutants(root, dir, change)
                .args([
                    "--in-place",
                    "--baseline",
                    "skip",
                    "--sharding",
                    "round-robin",
                ])
                .args(["--shard", &format!("{i}/{count}")])
                .args(["--", "--lib"])
                .stdout(std::process::Stdio::null()),
        )?;
        let Some(status) = wait(child, started + ONE_MUTANT_AT_MOST)? else {
            // Past cargo-mutants' own timeouts: something hangs. Put the source back as
            // cargo-mutants would have, and fail.
            restore(root, &mutant.file)?;
            bail!(
                "cargo mutants ran {} for more than {} minutes",
                mutant.name,
                ONE_MUTANT_AT_MOST.as_secs() / 60
            );
        };
        reached += 1;
        let verdict = match status.code() {
            Some(0) => "caught or unviable",
            // The tests hung with the mutant in: they noticed it.
            Some(TIMEOUTS) => "caught (the tests hung)",
            Some(FOUND_PROBLEMS) => {
                missed.push(mutant.name.clone());
                "MISSED"
            }
            _ => bail!("cargo mutants failed on {}: {status}", mutant.name),
        };
        if verdict != "MISSED" {
            caught += 1;
        }
        println!(
            "mutants: {verdict}: {} ({} s)",
            mutant.name,
            started.elapsed().as_secs()
        );
    }
    println!(
        "mutants: reached {reached} of {count} within {minutes} minutes: {caught} caught or \
         unviable, {equivalent} equivalent, {} missed",
        missed.len()
    );
    if !missed.is_empty() {
        bail!(
            "surviving mutants in critical code changed since {base}:\n  {}\nkill each with a \
             test, or list it in xtask/src/mutants.rs EQUIVALENT with the reason",
            missed.join("\n  ")
        );
    }
    Ok(())
}

/// Undoes an in-place mutant that was cut off by the deadline.
fn restore(root: &Path, file: &str) -> anyhow::Result<()> {
    let status = Command::new("git")
        .args(["checkout", "--", file])
        .current_dir(root)
        .status()
        .context("running git checkout")?;
    if !status.success() {
        bail!("could not restore {file} after an interrupted mutant");
    }
    Ok(())
}
