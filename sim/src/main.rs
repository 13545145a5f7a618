//! `borderlink-sim`: runs a scenario (the default border scenario when none is given) in the
//! simulated world, printing the timeline as it happens and the report at the end.
//!
//! ```text
//! borderlink-sim                          # the border scenario with real borderlinkd daemons
//! borderlink-sim --fast                   # the same in virtual time, in process
//! borderlink-sim --seed 7 my.toml         # another scenario and seed
//! borderlink-sim --fast --json report.json
//! borderlink-sim --check my.toml          # validate a scenario file only
//! borderlink-sim --soak 10000 --seed 3    # the chaos soak: 10,000 calls in virtual time
//! ```
//!
//! Exit status: 0 when the run is clean (nothing stuck, echoed, looped or undelivered), 1 when
//! the report found a problem or the run failed, 2 for a bad scenario file.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use borderlink_sim::fast;
use borderlink_sim::realtime::{self, Options};
use borderlink_sim::report::Report;
use borderlink_sim::scenario::Scenario;
use clap::Parser;

/// Runs a borderlink scenario: emulated ASTRID and C2000 networks, field units, interface
/// boards and an impaired IP network around the gateways.
#[derive(Debug, Parser)]
#[command(name = "borderlink-sim", version)]
struct Args {
    /// The scenario file (default: the built-in border scenario, sim/scenarios/border.toml).
    scenario: Option<PathBuf>,
    /// Run in virtual time, in process (the gateways' own state machines), instead of with real
    /// borderlinkd processes. Same seed, same report.
    #[arg(long)]
    fast: bool,
    /// The seed of every random draw (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the report as JSON to this file (`-` for stdout, instead of the text report).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Do not print the timeline while running.
    #[arg(long, short)]
    quiet: bool,
    /// Only check the scenario file and exit.
    #[arg(long)]
    check: bool,
    /// The borderlinkd to run (real-time mode; default: built by cargo, or next to this program).
    #[arg(long, value_name = "PATH")]
    daemon: Option<PathBuf>,
    /// Where the daemons' configurations and logs go (real-time mode).
    #[arg(long, value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// Run the chaos soak instead of a scenario: this many random calls through three sites in
    /// virtual time, with loss, duplication, reordering, partitions, gateway kills, PEI cables
    /// pulled and board resets, checking the invariants as it goes (`--seed`, default 1).
    #[arg(long, value_name = "CALLS", conflicts_with_all = ["scenario", "check", "json"])]
    soak: Option<u32>,
    /// Print the gateways' own logs (debug and above, per site, stamped with virtual time)
    /// while the virtual time is within FROM..TO seconds: to see what a fast run or a soak
    /// failure went through (fast mode and soak only).
    #[arg(long, value_name = "FROM..TO")]
    trace: Option<borderlink_sim::trace::Window>,
}

/// Runs the soak and prints its figures; exit 1 with the seed and what broke on a violation.
fn soak(calls: u32, seed: u64) -> ExitCode {
    let started = std::time::Instant::now();
    match borderlink_sim::soak::run(calls, seed) {
        Ok(o) => {
            let run_s = started.elapsed().as_secs_f64();
            let virtual_s = o.report.duration_us as f64 / 1e6;
            println!(
                "soak seed {seed}: {calls} calls, {} transmissions, {:.0} s virtual in {run_s:.1} s run time (one thread): {:.0} calls/s, {:.0}x real time; {} invariant checks, {} gateway restarts with the patch restored, {} partitions, {} split-brain double relays, {} PEI cables pulled, {} board resets; no violation",
                o.report.transmissions.len(),
                virtual_s,
                f64::from(calls) / run_s,
                virtual_s / run_s,
                o.checks,
                o.restarts,
                o.report.partitions.len(),
                o.split_brain,
                o.unplugs,
                o.board_resets,
            );
            for g in &o.report.gateways {
                println!(
                    "  site {}: {} frames received, {} delivered, {} concealed; dropped: {}",
                    g.site,
                    g.received,
                    g.delivered,
                    g.concealed,
                    if g.dropped.is_empty() {
                        "none".to_owned()
                    } else {
                        g.dropped.join(", ")
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(v) => {
            eprintln!("soak FAILED: {v}");
            let at = v.at.as_millis() / 1_000;
            eprintln!(
                "the gateways' own logs around it: borderlink-sim --soak {calls} --seed {seed} --trace {}..{}",
                at.saturating_sub(5),
                at + 10
            );
            ExitCode::from(1)
        }
    }
}

fn load(args: &Args) -> Result<Scenario, String> {
    match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string()),
        None => Ok(Scenario::border()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(window) = &args.trace {
        if args.soak.is_none() && !args.fast {
            eprintln!("--trace: only the fast mode and the soak run the gateways in this process");
            return ExitCode::from(2);
        }
        if let Err(e) = borderlink_sim::trace::install(window.clone()) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    if let Some(calls) = args.soak {
        return soak(calls, args.seed.unwrap_or(1));
    }
    let scenario = match load(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        println!(
            "{}: ok ({} sites, {} units, {} events)",
            scenario.origin,
            scenario.sites.len(),
            scenario.units.len(),
            scenario.events.len()
        );
        return ExitCode::SUCCESS;
    }
    match run(&args, &scenario) {
        Ok(report) if report.clean() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("borderlink-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args, scenario: &Scenario) -> anyhow::Result<Report> {
    let seed = args.seed.unwrap_or(scenario.seed);
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let live = !args.quiet && !json_to_stdout;
    if live {
        println!(
            "borderlink-sim: scenario `{}` ({}), {} mode, seed {seed}",
            scenario.name,
            scenario.description,
            if args.fast { "fast" } else { "real-time" }
        );
    }
    let report = if args.fast {
        fast::run(scenario, seed, live)
    } else {
        let options = Options {
            live,
            daemon: args.daemon.clone(),
            run_dir: args.run_dir.clone(),
            log: None,
        };
        realtime::run(scenario, seed, &options)?
    };
    let mut out = std::io::stdout().lock();
    match &args.json {
        Some(p) if p.as_os_str() == "-" => {
            let _ = writeln!(out, "{}", report.json());
        }
        Some(p) => {
            std::fs::write(p, report.json()).with_context(|| format!("writing {}", p.display()))?;
            let _ = write!(out, "\n{}", report.text());
        }
        None => {
            let _ = write!(out, "\n{}", report.text());
        }
    }
    Ok(report)
}
