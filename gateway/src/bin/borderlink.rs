//! `borderlink`: the engineer's command-line tool.
//!
//! `borderlink decode rtp|link|lip <hex>` explains a captured packet, frame or location report;
//! `borderlink decode pei < transcript` explains a radio's PEI traffic line by line. Output is
//! for people by default and JSON with `--json`. Malformed input exits with status 2 and a
//! message naming the offset or line.
//!
//! `borderlink status`, `patch ls|add|rm`, `talkers` and `release` talk to a running
//! `borderlinkd` over its control API (`--api`, `BORDERLINK_API`); changes need a bearer token
//! (`--token-file`, `BORDERLINK_TOKEN_FILE`). A refused request exits with status 1 and the
//! API's message.

use std::io::{Read, Write};
use std::process::ExitCode;

use std::path::PathBuf;

use anyhow::Context;
use borderlink_gateway::api::model::PatchBody;
use borderlink_gateway::client::{self, Client, ClientError};
use borderlink_gateway::decode::{self, Decoded};
use clap::{Args, Parser, Subcommand};

/// borderlink engineer's tool.
#[derive(Debug, Parser)]
#[command(name = "borderlink", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain a captured item: an RTP voice packet, a board-link frame, a LIP report or a PEI
    /// transcript.
    #[command(subcommand)]
    Decode(DecodeCommand),
    /// The site's radios, board, peers and counters (from a running borderlinkd).
    Status(ApiArgs),
    /// List, create or remove patches.
    #[command(subcommand)]
    Patch(PatchCommand),
    /// Who holds the floor of each patch.
    Talkers(ApiArgs),
    /// Cut the transmission holding a patch's floor (a dispatcher's force-release).
    Release {
        /// The patch's id (see `borderlink patch ls`).
        patch: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// Where the daemon's API is and how to print its answer.
#[derive(Debug, Args)]
struct ApiArgs {
    /// The daemon's control API.
    #[arg(long, env = "BORDERLINK_API", default_value = client::DEFAULT_API_URL)]
    api: String,
    /// File holding the bearer token for changes (the daemon's token file works as is).
    #[arg(long, env = "BORDERLINK_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl ApiArgs {
    fn client(&self) -> Result<Client, ClientError> {
        let token = self
            .token_file
            .as_deref()
            .map(Client::read_token)
            .transpose()?;
        Ok(Client::new(&self.api, token))
    }
}

#[derive(Debug, Subcommand)]
enum PatchCommand {
    /// List every patch with its channels, timers and talker.
    Ls(ApiArgs),
    /// Create a dynamic patch.
    Add {
        /// The name dispatchers see.
        #[arg(long)]
        name: String,
        /// A talkgroup to join, SITE:NETWORK:GROUP (e.g. 1:ASTRID:02060000102061001); repeat.
        #[arg(long = "channel", required = true)]
        channels: Vec<String>,
        /// A dispatch console to join, SITE:CONSOLE; repeat.
        #[arg(long = "console")]
        consoles: Vec<String>,
        /// Dissolve this long after creation (e.g. 2h, 30min).
        #[arg(long)]
        lifetime: Option<String>,
        /// Dissolve after this long without traffic.
        #[arg(long)]
        inactivity_timeout: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Remove a dynamic patch.
    Rm {
        /// The patch's id.
        id: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, Subcommand)]
enum DecodeCommand {
    /// An RTP voice datagram (UDP payload), as hex.
    Rtp(HexInput),
    /// A frame from the host <-> interface-board serial link (COBS bytes, 0x00 optional), as hex.
    Link(HexInput),
    /// A radio's PEI transcript from standard input, one event per line.
    Pei {
        /// Print JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A LIP short location report: SDS type-4 user data starting with protocol id 0x0A, as hex.
    Lip {
        #[command(flatten)]
        input: HexInput,
        /// Length of the user data in bits, as the radio's +CTSDSR line gives it (84 for a
        /// short report); by default every bit of the hex.
        #[arg(long)]
        bits: Option<u16>,
    },
}

#[derive(Debug, Args)]
struct HexInput {
    /// Hex bytes; spaces and colons allowed; `-` or nothing reads standard input.
    hex: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl HexInput {
    fn text(&self) -> anyhow::Result<String> {
        if self.hex.is_empty() || self.hex == ["-"] {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading hex from standard input")?;
            Ok(s)
        } else {
            Ok(self.hex.join(" "))
        }
    }
}

/// Writes one line of output. A reader that went away (`borderlink decode pei | head`) is
/// not an error worth a panic: the caller stops writing and exits normally.
fn out(line: impl std::fmt::Display) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// Whether an output error just means the reader closed the pipe.
fn reader_gone(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::BrokenPipe
}

fn print(decoded: &Decoded, json: bool) -> std::io::Result<()> {
    if json {
        out(&decoded.json)
    } else {
        out(&decoded.text)
    }
}

/// Prints every event of a transcript; errors go to stderr and make the exit status 2.
fn decode_pei(json: bool) -> anyhow::Result<ExitCode> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading the PEI transcript from standard input")?;
    let mut failed = false;
    for line in decode::decode_transcript(&bytes) {
        failed |= line.is_error;
        let written = match (json, line.is_error) {
            (true, _) => out(&line.json),
            (false, false) => out(format_args!("line {:>4}: {}", line.line, line.text)),
            (false, true) => {
                eprintln!("borderlink: {}", line.text);
                Ok(())
            }
        };
        match written {
            Ok(()) => {}
            Err(err) if reader_gone(&err) => break,
            Err(err) => return Err(err).context("writing to standard output"),
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a value as JSON or through its table.
fn show<T: serde::Serialize>(
    value: &T,
    json: bool,
    table: impl Fn(&T) -> String,
) -> std::io::Result<()> {
    if json {
        out(serde_json::to_string_pretty(value).map_err(std::io::Error::other)?)
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(table(value).as_bytes())?;
        stdout.flush()
    }
}

/// Runs an API command; a refusal prints the API's message and exits 1.
fn api_command(command: &Command) -> ExitCode {
    let result: Result<std::io::Result<()>, ClientError> = (|| {
        Ok(match command {
            Command::Status(a) => show(&a.client()?.status()?, a.json, client::render_status),
            Command::Talkers(a) => show(&a.client()?.talkers()?, a.json, |t| {
                client::render_talkers(t)
            }),
            Command::Release { patch, api } => {
                let released = api.client()?.release(*patch)?;
                show(&released, api.json, |r| match &r.released {
                    Some(t) => format!(
                        "patch {}: released {}\n",
                        r.patch,
                        t.alias
                            .clone()
                            .or_else(|| t.talker.clone())
                            .unwrap_or_else(|| "the talker".into())
                    ),
                    None => format!("patch {}: nobody was talking\n", r.patch),
                })
            }
            Command::Patch(PatchCommand::Ls(a)) => show(&a.client()?.patches()?, a.json, |p| {
                client::render_patches(p)
            }),
            Command::Patch(PatchCommand::Add {
                name,
                channels,
                consoles,
                lifetime,
                inactivity_timeout,
                api,
            }) => {
                let body = PatchBody {
                    name: name.clone(),
                    channels: channels
                        .iter()
                        .map(|c| client::parse_channel(c))
                        .collect::<Result<_, _>>()?,
                    consoles: consoles
                        .iter()
                        .map(|c| client::parse_console(c))
                        .collect::<Result<_, _>>()?,
                    lifetime: lifetime.clone(),
                    inactivity_timeout: inactivity_timeout.clone(),
                };
                let patch = api.client()?.create_patch(&body)?;
                show(&patch, api.json, |p| {
                    format!("created patch {} '{}'\n", p.id, p.name)
                })
            }
            Command::Patch(PatchCommand::Rm { id, api }) => {
                let patch = api.client()?.remove_patch(*id)?;
                show(&patch, api.json, |p| {
                    format!("removed patch {} '{}'\n", p.id, p.name)
                })
            }
            Command::Decode(_) => Ok(()),
        })
    })();
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) if reader_gone(&err) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("borderlink: writing to standard output: {err}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("borderlink: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Status(_) | Command::Patch(_) | Command::Talkers(_) | Command::Release { .. } => {
            return api_command(&cli.command);
        }
        Command::Decode(DecodeCommand::Rtp(input)) => input
            .text()
            .map(|text| (decode::rtp_hex(&text), input.json)),
        Command::Decode(DecodeCommand::Link(input)) => input
            .text()
            .map(|text| (decode::link_hex(&text), input.json)),
        Command::Decode(DecodeCommand::Pei { json }) => {
            return decode_pei(*json).unwrap_or_else(|err| {
                eprintln!("borderlink: {err:#}");
                ExitCode::FAILURE
            });
        }
        Command::Decode(DecodeCommand::Lip { input, bits }) => input
            .text()
            .map(|text| (decode::lip_hex(&text, *bits), input.json)),
    };
    match result {
        Ok((Ok(decoded), json)) => match print(&decoded, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) if reader_gone(&err) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("borderlink: writing to standard output: {err}");
                ExitCode::FAILURE
            }
        },
        Ok((Err(err), _)) => {
            eprintln!("borderlink: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("borderlink: {err:#}");
            ExitCode::FAILURE
        }
    }
}
