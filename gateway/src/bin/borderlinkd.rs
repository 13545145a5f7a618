//! `borderlinkd`: the border-site edge daemon.
//!
//! `borderlinkd --config site.toml` runs the site: it drives the radios over their PEI ports,
//! relays voice between them through the relay engine, and releases every transmitter when it
//! stops. `borderlinkd --check-config site.toml` validates a configuration file and exits: 0 if
//! it is valid, 2 with one line per problem (`file:line:col: key: message`) if not.
//!
//! SIGTERM or SIGINT stops the daemon: every radio is sent its cease-transmit command first,
//! and the process exits within 2 s. Logs go to stderr; `RUST_LOG` sets the levels (default
//! `info`), `--log-format json` makes them machine-readable.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use borderlink_gateway::config::Config;
use borderlink_gateway::daemon;
use clap::{Parser, ValueEnum};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// borderlink edge daemon.
#[derive(Debug, Parser)]
#[command(name = "borderlinkd", version, about, long_about = None)]
struct Cli {
    /// The site's configuration file.
    #[arg(long, value_name = "FILE", required_unless_present = "check_config")]
    config: Option<PathBuf>,
    /// Validate this configuration file and exit (status 2 if it is invalid).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    check_config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The most time shutdown may take, as the issue and operators expect.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.check_config {
        return match Config::load(path) {
            Ok(config) => {
                println!(
                    "{}: valid: site {} ({}), {} radios, {} static patches",
                    path.display(),
                    config.site.id.0,
                    config.site.name,
                    config.radios.len(),
                    config.patches.len()
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{err}");
                ExitCode::from(2)
            }
        };
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    let Some(path) = cli.config else {
        eprintln!("borderlinkd: --config FILE is required");
        return ExitCode::from(2);
    };
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            eprintln!("borderlinkd: refusing to start with an invalid configuration");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("borderlinkd: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("signal received: releasing every transmitter and stopping");
            signals.cancel();
        });
        let mut daemon = tokio::spawn(daemon::run(config, shutdown.clone()));
        let result = tokio::select! {
            result = &mut daemon => result,
            _ = shutdown.cancelled() => match tokio::time::timeout(SHUTDOWN_LIMIT, &mut daemon).await {
                Ok(result) => result,
                Err(_) => {
                    error!("shutdown took longer than {SHUTDOWN_LIMIT:?}; exiting anyway");
                    return ExitCode::FAILURE;
                }
            },
        };
        match result {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(err)) => {
                error!(cause = %err, "borderlinkd stopped");
                ExitCode::FAILURE
            }
            Err(err) => {
                error!(cause = %err, "borderlinkd crashed");
                ExitCode::FAILURE
            }
        }
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon still stops on its own errors; say so loudly.
        error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
