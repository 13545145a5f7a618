//! Runs every fuzz target in `fuzz/` with cargo-fuzz (nightly) for a bounded time, seeded with
//! the checked-in corpus. New inputs that libFuzzer finds go to a scratch corpus so the
//! checked-in one only grows on purpose (`--keep` merges them back).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

pub(crate) fn run(root: &Path, seconds: u64, keep: bool) -> anyhow::Result<()> {
    let fuzz_dir = root.join("fuzz");
    let list = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(&fuzz_dir)
        .output()
        .context("running cargo +nightly fuzz list (install: cargo install cargo-fuzz)")?;
    if !list.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&list.stderr)
        );
    }
    let targets: Vec<String> = String::from_utf8(list.stdout)?
        .lines()
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!("no fuzz targets found in {}", fuzz_dir.display());
    }
    for target in &targets {
        let seeds = fuzz_dir.join("corpus").join(target);
        let scratch = root.join("target").join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch)?;
        // libFuzzer writes new inputs into the first corpus directory and reads all of them.
        let first = if keep { &seeds } else { &scratch };
        let second = if keep { &scratch } else { &seeds };
        println!("fuzz: {target} for {seconds} s");
        let status = Command::new("cargo")
            .args(["+nightly", "fuzz", "run", "--release", target])
            .arg(first)
            .arg(second)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1")
            .current_dir(&fuzz_dir)
            .status()
            .with_context(|| format!("running fuzz target {target}"))?;
        if !status.success() {
            bail!("fuzz target {target} failed: see the crash input under fuzz/artifacts/{target}");
        }
    }
    println!(
        "fuzz: {} targets ran {seconds} s each without a failure",
        targets.len()
    );
    Ok(())
}
