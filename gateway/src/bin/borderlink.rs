//! `borderlink`: the engineer's command-line tool.
//!
//! `borderlink decode rtp|link|lip|sds <hex>` explains a captured packet, frame or location report;
//! `borderlink decode pei < transcript` explains a radio's PEI traffic line by line. Output is
//! for people by default and JSON with `--json`. Malformed input exits with status 2 and a
//! message naming the offset or line.
//!
//! `borderlink status`, `patch ls|add|rm`, `talkers` and `release` talk to a running
//! `borderlinkd` over its control API (`--api`, `BORDERLINK_API`); every request sends a bearer token
//! (`--token-file`, `BORDERLINK_TOKEN_FILE`). A refused request exits with status 1 and the
//! API's message.
//!
//! `borderlink firmware keygen|sign|inspect` makes signing keys and signed board-firmware
//! images (`borderlink_gateway::firmware_image`); a bad key or image file exits with status 2.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use borderlink_gateway::api::model::PatchBody;
use borderlink_gateway::client::{self, Client, ClientError};
use borderlink_gateway::decode::{self, Decoded};
use borderlink_gateway::firmware_image::{self, ImageSlot, SignedFile};
use borderlink_protocol::link::FirmwareVersion;
use borderlink_protocol::sds::SdsKind;
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
    /// Interface-board firmware: signing keys and signed images.
    #[command(subcommand)]
    Firmware(FirmwareCommand),
}

/// Where the daemon's API is and how to print its answer.
#[derive(Debug, Args)]
struct ApiArgs {
    /// The daemon's control API.
    #[arg(long, env = "BORDERLINK_API", default_value = client::DEFAULT_API_URL)]
    api: String,
    /// File holding the bearer token every request sends (the daemon's token file works as is).
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
enum FirmwareCommand {
    /// Make a signing key: writes the private key (PKCS#8 PEM, mode 0600, never over an
    /// existing file) and prints the public key to build into the firmware.
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign raw firmware images (`objcopy -O binary` output) into a signed-image file: one
    /// image that runs from any slot, or the release's builds for slot A and slot B (`flash`
    /// then sends the one for the slot the board is not running).
    Sign {
        /// The private key file (from `keygen`, or `openssl genpkey -algorithm ed25519`).
        #[arg(long)]
        key: PathBuf,
        /// The images' firmware version, MAJOR.MINOR.PATCH (each 0-255).
        #[arg(long = "version", value_name = "X.Y.Z", value_parser = parse_version)]
        version: FirmwareVersion,
        /// The release's security version, signed with the images: raise it in every release
        /// that fixes a vulnerability. A board refuses a release below the highest security
        /// version it has confirmed (unless `flash --allow-rollback`).
        #[arg(
            long = "security-version",
            value_name = "N",
            required_unless_present = "legacy",
            conflicts_with = "legacy"
        )]
        security_version: Option<u32>,
        /// Sign without a security version, as releases were signed before (a format-2 file,
        /// security version 0): only for boards whose firmware predates security versions,
        /// which cannot take anything else.
        #[arg(long)]
        legacy: bool,
        /// The raw image, if it runs from either slot.
        #[arg(
            required_unless_present_any = ["slot_a", "slot_b"],
            conflicts_with_all = ["slot_a", "slot_b"]
        )]
        image: Option<PathBuf>,
        /// The raw image linked for slot A (the board firmware built without `slot-b`).
        #[arg(long = "slot-a", value_name = "A.bin")]
        slot_a: Option<PathBuf>,
        /// The raw image linked for slot B (the board firmware built with `slot-b`).
        #[arg(long = "slot-b", value_name = "B.bin")]
        slot_b: Option<PathBuf>,
        /// The signed file to write; by default IMAGE with `.blfw` appended (required with
        /// `--slot-a`/`--slot-b`).
        #[arg(short, long, required_unless_present = "image")]
        out: Option<PathBuf>,
    },
    /// Update the interface board through the running borderlinkd: sends the signed image,
    /// shows the progress, and waits until the board runs it and has confirmed it.
    Flash {
        /// The signed-image file (from `sign`).
        file: PathBuf,
        /// Engineers only: let the board take a release whose security version is below the
        /// highest it has confirmed (an older, possibly vulnerable, release). The request says
        /// so explicitly and the daemon's audit log records who asked.
        #[arg(long = "allow-rollback")]
        allow_rollback: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Check a signed-image file and print what it holds.
    Inspect {
        /// The signed file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_version(text: &str) -> Result<FirmwareVersion, String> {
    let parts: Vec<&str> = text.split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(format!("\"{text}\" is not MAJOR.MINOR.PATCH"));
    };
    let part = |p: &str| {
        p.parse::<u8>()
            .map_err(|_| format!("\"{p}\" in \"{text}\" is not a number from 0 to 255"))
    };
    Ok(FirmwareVersion::new(
        part(major)?,
        part(minor)?,
        part(patch)?,
    ))
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
    /// A LIP PDU (short or long location report, immediate location report request): SDS type-4
    /// user data starting with protocol id 0x0A, as hex; an odd digit count is the nibble-exact
    /// form.
    Lip {
        #[command(flatten)]
        input: HexInput,
        /// Length of the user data in bits, as the radio's +CTSDSR line gives it (84 for a
        /// short report); by default the hex digits × 4.
        #[arg(long)]
        bits: Option<u16>,
    },
    /// Any SDS user data from a +CTSDSR data line (status, LIP, text in any coding,
    /// concatenated-text part, SDS-TL report or acknowledgement), as hex.
    Sds {
        #[command(flatten)]
        input: HexInput,
        /// Length of the user data in bits, as the +CTSDSR line gives it; by default every bit.
        #[arg(long)]
        bits: Option<u16>,
        /// Read as a status (`status`) or type-4 data (`type4`), as the +CTSDSR AI service
        /// says; by default 16 bits is a status and anything else type-4.
        #[arg(long, value_parser = parse_sds_kind)]
        kind: Option<SdsKind>,
    },
}

fn parse_sds_kind(text: &str) -> Result<SdsKind, String> {
    match text {
        "status" => Ok(SdsKind::Status),
        "type4" => Ok(SdsKind::Type4),
        other => Err(format!("\"{other}\" is neither status nor type4")),
    }
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
            Command::Decode(_) | Command::Firmware(_) => Ok(()),
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

/// A firmware command's failure: bad input (exit status 2) or the system (1).
enum FirmwareFailure {
    Input(anyhow::Error),
    System(anyhow::Error),
}

fn keygen(out: &Path) -> Result<(), FirmwareFailure> {
    let key = firmware_image::generate().map_err(|e| FirmwareFailure::System(e.into()))?;
    firmware_image::write_private_key(out, &key).map_err(|e| FirmwareFailure::Input(e.into()))?;
    let public = key.verifying_key();
    let hex = firmware_image::public_key_hex(&public);
    let text = format!(
        "private key written to {} (keep it secret; it signs firmware every board with this \
         public key will boot)\n\npublic key: {hex}\n\nbuild the firmware with it:\n  \
         BORDERLINK_FIRMWARE_PUBLIC_KEY={hex} cargo build --release ...\n\nor as a Rust constant:\n{}",
        out.display(),
        firmware_image::public_key_rust(&public)
    );
    out_line(text)
}

/// The raw image at `path`, refused if it is an ELF file.
fn read_raw_image(path: &Path) -> Result<Vec<u8>, FirmwareFailure> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read image {}", path.display()))
        .map_err(FirmwareFailure::Input)?;
    if bytes.starts_with(b"\x7fELF") {
        return Err(FirmwareFailure::Input(anyhow::anyhow!(
            "{} is an ELF file; sign the raw image (objcopy -O binary)",
            path.display()
        )));
    }
    Ok(bytes)
}

/// What to sign: the slot each image is for and its file.
struct SignInputs<'a> {
    any: Option<&'a Path>,
    slot_a: Option<&'a Path>,
    slot_b: Option<&'a Path>,
}

fn sign(
    key: &Path,
    version: FirmwareVersion,
    security_version: Option<u32>,
    inputs: &SignInputs<'_>,
    out: Option<&Path>,
) -> Result<(), FirmwareFailure> {
    let key =
        firmware_image::read_private_key(key).map_err(|e| FirmwareFailure::Input(e.into()))?;
    let sources: Vec<(ImageSlot, &Path)> = [
        (ImageSlot::Any, inputs.any),
        (ImageSlot::A, inputs.slot_a),
        (ImageSlot::B, inputs.slot_b),
    ]
    .into_iter()
    .filter_map(|(slot, path)| path.map(|p| (slot, p)))
    .collect();
    let images = sources
        .iter()
        .map(|&(slot, path)| read_raw_image(path).map(|bytes| (slot, bytes)))
        .collect::<Result<Vec<_>, _>>()?;
    // clap requires --security-version unless --legacy.
    let signed = match security_version {
        Some(security_version) => SignedFile::sign(&key, version, security_version, images),
        None => SignedFile::sign_legacy(&key, version, images),
    }
    .context("cannot sign")
    .map_err(FirmwareFailure::Input)?;
    let out = match (out, inputs.any) {
        (Some(out), _) => out.to_path_buf(),
        (None, Some(image)) => {
            let mut name = image.as_os_str().to_owned();
            name.push(".blfw");
            PathBuf::from(name)
        }
        // clap requires --out unless IMAGE is given.
        (None, None) => {
            return Err(FirmwareFailure::Input(anyhow::anyhow!(
                "--out is required with --slot-a/--slot-b"
            )));
        }
    };
    std::fs::write(&out, signed.to_bytes())
        .with_context(|| format!("cannot write {}", out.display()))
        .map_err(FirmwareFailure::System)?;
    let mut text = format!(
        "signed version {}, {}, with key {}",
        signed.version(),
        security_text(signed.security()),
        firmware_image::public_key_hex(signed.signer())
    );
    for (variant, (_, path)) in signed.variants().iter().zip(&sources) {
        text.push_str(&format!(
            "\n  {:<8} {} ({} bytes, CRC-32 {:#010x})",
            variant.slot,
            path.display(),
            variant.image.len(),
            variant.image.crc32()
        ));
    }
    text.push_str(&format!("\nwrote {}", out.display()));
    out_line(text)
}

/// How the tools name a file's security version.
fn security_text(security: Option<u32>) -> String {
    match security {
        Some(n) => format!("security version {n}"),
        None => "security version 0 (legacy: signed without one)".to_owned(),
    }
}

fn inspect(file: &Path, json: bool) -> Result<(), FirmwareFailure> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .map_err(FirmwareFailure::Input)?;
    // Every variant's CRC and signature are checked here: a file that parses is valid.
    let signed = SignedFile::parse(&bytes)
        .with_context(|| format!("{}", file.display()))
        .map_err(FirmwareFailure::Input)?;
    let signer = firmware_image::public_key_hex(signed.signer());
    let dev = firmware_image::is_dev_key(signed.signer());
    if json {
        let variants: Vec<serde_json::Value> = signed
            .variants()
            .iter()
            .map(|v| {
                serde_json::json!({
                    "slot": v.slot.name(),
                    "size": v.image.len(),
                    "crc32": format!("{:08x}", v.image.crc32()),
                    "signature": "valid",
                })
            })
            .collect();
        out_line(serde_json::json!({
            "version": signed.version().to_string(),
            "security_version": signed.security_version(),
            "legacy": signed.security().is_none(),
            "signer": signer,
            "dev_key": dev,
            "signature": "valid",
            "variants": variants,
        }))
    } else {
        let mut text = format!(
            "signed firmware file, version {}, {} image(s)\nsecurity   {}\nsigner     {signer}{}",
            signed.version(),
            signed.variants().len(),
            security_text(signed.security()),
            if dev {
                " (the development key: bench boards only)"
            } else {
                ""
            }
        );
        for v in signed.variants() {
            text.push_str(&format!(
                "\n{:<10} {} bytes, crc32 {:#010x}, signature valid for that key",
                v.slot,
                v.image.len(),
                v.image.crc32()
            ));
        }
        out_line(text)
    }
}

/// How long `firmware flash` waits for an update: 32 KiB take about 3 s at 115200 baud, a
/// board's reboot and confirmation a few more; a large image at a slow rate stays well inside.
const FLASH_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

fn flash(file: &Path, allow_rollback: bool, api: &ApiArgs) -> Result<(), FirmwareFailure> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .map_err(FirmwareFailure::Input)?;
    // Checked here too, so a wrong file is named before anything is sent.
    let image = SignedFile::parse(&bytes)
        .with_context(|| format!("{}", file.display()))
        .map_err(FirmwareFailure::Input)?;
    let client = api.client().map_err(|e| FirmwareFailure::Input(e.into()))?;
    let failed = |e: ClientError| FirmwareFailure::System(e.into());
    let start = std::time::Instant::now();
    if allow_rollback {
        eprintln!(
            "borderlink: --allow-rollback: the board may take this release even if its {} is \
             below the board's floor; the daemon's audit log records the request",
            security_text(image.security())
        );
    }
    let mut view = client
        .firmware_update(&bytes, allow_rollback)
        .map_err(failed)?;
    // The daemon picked the image for the slot the board is not running.
    let sent = image
        .variants()
        .iter()
        .find(|v| view.variant.as_deref() == Some(v.slot.name()));
    eprintln!(
        "borderlink: updating the board to {}{}{}",
        image.version(),
        sent.map(|v| format!(
            " with the image for {} ({} bytes, CRC-32 {:#010x})",
            v.slot,
            v.image.len(),
            v.image.crc32()
        ))
        .unwrap_or_default(),
        view.running
            .as_ref()
            .map(|r| format!(", now running {r}"))
            .unwrap_or_default()
    );
    let mut shown = String::new();
    while view.state == "running" {
        let line = match view.step.as_deref() {
            Some("sending") if view.size > 0 => {
                let pct = u64::from(view.acked) * 100 / u64::from(view.size);
                let bar = "#".repeat((pct / 5) as usize);
                format!(
                    "sending   [{bar:<20}] {pct:>3}% {}/{} bytes",
                    view.acked, view.size
                )
            }
            Some(step) => step.to_owned(),
            None => "starting".to_owned(),
        };
        if line != shown {
            eprintln!("  {line}");
            shown = line;
        }
        if start.elapsed() > FLASH_LIMIT {
            return Err(FirmwareFailure::System(anyhow::anyhow!(
                "no result after {} s; see `curl {}/api/v1/board/firmware`",
                FLASH_LIMIT.as_secs(),
                api.api
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        view = client.firmware().map_err(failed)?;
    }
    if api.json {
        return out_line(serde_json::to_string_pretty(&view).unwrap_or_default());
    }
    match view.state.as_str() {
        "done" => out_line(format!(
            "board updated in {:.1} s: now running {}",
            start.elapsed().as_secs_f64(),
            view.running
                .unwrap_or_else(|| view.target.unwrap_or_default())
        )),
        _ => Err(FirmwareFailure::System(anyhow::anyhow!(
            "update failed: {}",
            view.error.unwrap_or_else(|| view.state.clone())
        ))),
    }
}

fn out_line(line: impl std::fmt::Display) -> Result<(), FirmwareFailure> {
    match out(line) {
        Ok(()) => Ok(()),
        Err(err) if reader_gone(&err) => Ok(()),
        Err(err) => Err(FirmwareFailure::System(err.into())),
    }
}

fn firmware(command: &FirmwareCommand) -> ExitCode {
    let result = match command {
        FirmwareCommand::Keygen { out } => keygen(out),
        FirmwareCommand::Sign {
            key,
            version,
            security_version,
            legacy: _,
            image,
            slot_a,
            slot_b,
            out,
        } => sign(
            key,
            *version,
            *security_version,
            &SignInputs {
                any: image.as_deref(),
                slot_a: slot_a.as_deref(),
                slot_b: slot_b.as_deref(),
            },
            out.as_deref(),
        ),
        FirmwareCommand::Inspect { file, json } => inspect(file, *json),
        FirmwareCommand::Flash {
            file,
            allow_rollback,
            api,
        } => flash(file, *allow_rollback, api),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(FirmwareFailure::Input(err)) => {
            eprintln!("borderlink: {err:#}");
            ExitCode::from(2)
        }
        Err(FirmwareFailure::System(err)) => {
            eprintln!("borderlink: {err:#}");
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
        Command::Firmware(command) => return firmware(command),
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
        Command::Decode(DecodeCommand::Sds { input, bits, kind }) => input
            .text()
            .map(|text| (decode::sds_hex(&text, *bits, *kind), input.json)),
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
