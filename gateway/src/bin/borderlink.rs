//! `borderlink`: the engineer's command-line tool.
//!
//! `borderlink decode rtp|link|lip <hex>` explains a captured packet, frame or location report;
//! `borderlink decode pei < transcript` explains a radio's PEI traffic line by line. Output is
//! for people by default and JSON with `--json`. Malformed input exits with status 2 and a
//! message naming the offset or line.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
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
