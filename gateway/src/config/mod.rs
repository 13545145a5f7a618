//! The daemon's configuration: one TOML file per border-site box, validated as a whole when it
//! is loaded, so that `borderlinkd` refuses to start on a file it would misread and
//! `borderlinkd --check-config FILE` can tell an engineer everything that is wrong at once.
//!
//! The file says which site this box is ([`Site`]), which radios it drives over PEI and how
//! their audio reaches it ([`Radio`]), which interface-board port keys which radio
//! ([`Board`]), the timers ([`Timers`]) and playout-delay bounds, the floor [`policy`]
//! (identical at every site), the identities of the other gateway radios in the system (for
//! loop prevention), the peer boxes ([`Peer`]), the static patches, and semi-roaming (mirror
//! groups, border zones, status triggers, sovereignty rules, aliases; see `docs/roaming.md`).
//! Everything a site rarely changes has a default; `gateway/examples/*.toml` are commented,
//! complete examples.
//!
//! # Errors
//! Loading reads the TOML keeping the span of every value (`file.rs`), checks each value and
//! every rule between values (`validate.rs`), and collects every problem it finds rather than
//! stopping at the first. Each [`Problem`] names the file, the key path, the line and column, and what was
//! expected; [`ConfigError`]'s `Display` prints one problem per line:
//!
//! ```text
//! site.toml:14:8: radios[1].issi: identity 204-1-9000002 has MCC 204, but ASTRID identities have MCC 206
//! site.toml:31:9: board.ports[1].radio: radio `astrid` is already used by board.ports[0].radio (line 27)
//! ```
//!
//! The configuration is pure data: it opens no device and resolves no host name. The daemon
//! turns it into the engine's settings with [`Config::engine_config`] and
//! [`Config::static_patches`].
//!
//! [`policy`]: Config::policy

mod duration;
mod error;
mod file;
mod validate;

#[cfg(test)]
mod roaming_tests;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::link::{HEARTBEAT_INTERVAL, Port};
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::SiteId;

use crate::engine::endpoint::RadioId;
use crate::engine::jitter::{DelayConfig, FRAME_DURATION};
use crate::engine::loops::GatewayIdentities;
use crate::engine::patch::PatchSpec;
use crate::engine::policy::FloorPolicy;
use crate::engine::relay::{EngineConfig, RadioConfig};
use crate::roaming::RoamingConfig;

pub use duration::{DurationError, parse_duration};
pub use error::{ConfigError, KeyPath, Location, Problem, ProblemKind, Problems};

/// Baud rate of a radio's PEI port when the file gives none.
///
/// PEI ports are found at 9600, 38 400 and 115 200 baud (8N1), set in the radio's
/// programming. 38 400 is the rate open PEI tools for Motorola terminals use, and Motorola
/// terminals are common in both the ASTRID and the C2000 fleet; 9600 is the conservative
/// setting some installations keep. The faster rate is the default because the grant wait
/// feels it: at 9600 a 40-byte `+CTXG` line alone takes 42 ms on the wire, at 38 400 about 10 ms.
/// A radio set otherwise is a `baud = …` away.
pub const DEFAULT_PEI_BAUD: u32 = 38_400;

/// Baud rate of the interface-board link when the file gives none: the link protocol's rate
/// (`docs/wire.md`).
pub const DEFAULT_BOARD_BAUD: u32 = 115_200;

/// The longest a board keeps a radio keyed, whatever the host says (the firmware's
/// `MAX_TX_CAP`). The daemon's own limits must release a radio before it.
pub const BOARD_TX_CAP: Duration = Duration::from_secs(180);

/// A validated site configuration; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Config {
    /// This box's site.
    pub site: Site,
    /// The radios it drives, in file order; a radio's [`RadioId`] is its index here.
    pub radios: Vec<Radio>,
    /// The interface board, if the box has one (without it, radios are keyed over PEI only).
    pub board: Option<Board>,
    /// Floor, grant and board-link timers.
    pub timers: Timers,
    /// Playout-delay settings of the receive path.
    pub playout: DelayConfig,
    /// What each origin may claim on the floor; must be identical at every site.
    pub policy: FloorPolicy,
    /// The identities of every *other* gateway radio in the system (this site's radios are
    /// added by [`Config::gateway_identities`]).
    pub gateway_radios: Vec<Tsi>,
    /// The voice socket the peers talk to.
    pub network: NetworkSettings,
    /// The peer boxes at other sites.
    pub peers: Vec<Peer>,
    /// The static patches, with [`PatchKind::Static`](crate::engine::patch::PatchKind::Static).
    pub patches: Vec<PatchSpec>,
    /// `[api]`: the control API; `None`: no API is served.
    pub api: Option<Api>,
    /// `[state] file`: where dynamic patches are kept across restarts; `None`: they are not.
    pub state_file: Option<PathBuf>,
    /// Semi-roaming: mirrors, border zones, status triggers, sovereignty rules and aliases
    /// (`[[mirrors]]`, `[[zones]]`, `[triggers]`, `[sovereignty]`, `[aliases]`). The
    /// sovereignty rules' floor limits are already folded into [`Config::policy`].
    pub roaming: RoamingConfig,
}

/// `[api]`: the control API and metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Address and port to listen on (default [`DEFAULT_API_LISTEN`], loopback only).
    pub listen: SocketAddr,
    /// Bearer tokens allowed to change the site; `None`: every change is refused.
    pub token_file: Option<PathBuf>,
    /// Append-only audit trail of changes; `None`: the trail goes to the log only.
    pub audit_log: Option<PathBuf>,
    /// Names besides the listen address that a request's `Host` header may give (a TLS
    /// proxy's, a DNS name of the box), lower case; any other name is refused, so a web page
    /// whose name was rebound to this box cannot read it.
    pub hosts: Vec<String>,
    /// `GET /metrics` without a token, for a Prometheus scraper that cannot send one.
    pub metrics_without_token: bool,
}

/// Where the control API listens when `[api]` gives no `listen`: loopback, so a site exposes
/// it to a dispatch network only by choice.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8470";

/// `[site]`: which border site this box is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The site id carried in every voice header this site originates.
    pub id: SiteId,
    /// A name for people and logs.
    pub name: String,
}

/// One `[[radios]]` entry: a TETRA radio on a serial PEI port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Radio {
    /// Its id in the engine (its index in [`Config::radios`]).
    pub id: RadioId,
    /// Unique name, used by `[[board.ports]]` and in logs.
    pub name: String,
    /// The network it is registered on.
    pub network: Network,
    /// The PEI serial device; `None` for a radio without PEI, which the interface board
    /// drives alone: PTT keys it (the board's acknowledgement is its grant) and its COR line
    /// gates what is captured from it.
    pub serial: Option<PathBuf>,
    /// The PEI baud rate.
    pub baud: u32,
    /// The radio's own identity (ITSI), which the daemon checks against `AT+CNUMF?`. It is a
    /// gateway radio identity: calls it talks on are never relayed back.
    pub identity: Tsi,
    /// The talkgroup (GTSI) it selects at start.
    pub group: Tsi,
    /// The talkgroups it may be moved to, `group` included (first).
    pub groups: Vec<Tsi>,
    /// Where its audio comes from and goes to.
    pub audio: Audio,
    /// Which optional PEI commands it is initialised and watched with (`[radios.pei]`).
    pub pei: crate::radio::PeiProfile,
}

/// A radio's audio backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audio {
    /// An ALSA capture/playback device such as `hw:1,0` (the board's USB codec).
    Alsa {
        /// The ALSA device name.
        device: String,
    },
    /// Audio over UDP, from an external audio-over-IP interface or a radio emulator.
    Udp(UdpAudio),
}

/// `udp = { listen, peer, format }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpAudio {
    /// Where the daemon receives the radio's audio.
    pub listen: SocketAddr,
    /// Where the daemon sends audio for the radio to transmit.
    pub peer: SocketAddr,
    /// How the audio is framed.
    pub format: UdpFormat,
}

/// How audio is framed on a radio's UDP backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UdpFormat {
    /// Raw G.711 A-law, one 20 ms frame (160 bytes) per datagram.
    Pcma,
    /// RTP (RFC 3550) carrying G.711 A-law, payload type 8.
    Rtp,
}

/// `[board]`: the interface board and which of its ports drives which radio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// The board's serial device.
    pub serial: PathBuf,
    /// Its baud rate.
    pub baud: u32,
    /// The ports in use, in file order.
    pub ports: Vec<BoardPort>,
}

impl Board {
    /// The port that drives a radio, if any.
    pub fn port_of(&self, radio: RadioId) -> Option<&BoardPort> {
        self.ports.iter().find(|p| p.radio == radio)
    }
}

/// One `[[board.ports]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardPort {
    /// The board port.
    pub port: Port,
    /// The radio its PTT output and COR input are wired to.
    pub radio: RadioId,
    /// Which level of the PTT line keys the radio.
    pub ptt: Polarity,
    /// Which level of the COR line means a call is active.
    pub cor: Polarity,
    /// For a radio without PEI: how long after the board confirms its PTT line the network
    /// is taken to have granted it. Nothing reports that grant, so the relayed audio waits
    /// this long in the engine's grant queue rather than be spoken into a radio still asking
    /// to transmit (its first syllable lost).
    pub grant_delay: Duration,
}

/// The default [`BoardPort::grant_delay`]: above the 150–400 ms a TETRA network typically
/// takes to grant a group call's transmit demand.
pub const DEFAULT_LINE_GRANT_DELAY: Duration = Duration::from_millis(400);

/// Which electrical level of a control line means "on".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Polarity {
    /// High is active (the board firmware's default).
    #[default]
    ActiveHigh,
    /// Low is active (open-collector and opto-coupled lines).
    ActiveLow,
}

/// `[timers]`, each with its default and accepted range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// How long a talk direction keeps the floor after its talker ends: 1.5 s, 0–10 s.
    pub hang_time: Duration,
    /// Longest single transmission: 120 s, 1–180 s, and with `hang_time` within the board's
    /// 180 s cap.
    pub tx_timeout: Duration,
    /// How long a talker who hit the TX timeout is refused: 10 s, 0–600 s.
    pub block_time: Duration,
    /// Audio held for a radio waiting for its transmit grant before silence is dropped: 1 s,
    /// 20 ms–5 s (whole 20 ms frames, rounded up).
    pub grant_wait_bound: Duration,
    /// Interval of the host's heartbeat to the board: 100 ms, 10–100 ms (the link protocol
    /// requires at least one frame per 100 ms; the board drops PTT after 500 ms of silence).
    pub heartbeat: Duration,
    /// Longest a radio stays on the air across overs that follow each other in hang time (or
    /// after breaks shorter than `forced_gap`): 170 s (or `tx_timeout` + `hang_time` if that is
    /// longer), from `tx_timeout` + `hang_time` to the board's 180 s cap (the daemon must
    /// release before the board does).
    pub max_continuous: Duration,
    /// The break a radio gets after `max_continuous`: 2 s, 1–60 s (the board counts breaks
    /// shorter than 1 s as the same transmission).
    pub forced_gap: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            hang_time: Duration::from_millis(1_500),
            tx_timeout: Duration::from_secs(120),
            block_time: Duration::from_secs(10),
            grant_wait_bound: Duration::from_secs(1),
            heartbeat: HEARTBEAT_INTERVAL,
            max_continuous: Duration::from_secs(170),
            forced_gap: Duration::from_secs(2),
        }
    }
}

/// One `[[peers]]` entry: the box at another border site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its site id.
    pub site: SiteId,
    /// A name for people and logs.
    pub name: String,
    /// `host:port` of its voice socket (a name is resolved by the daemon, not here).
    pub address: String,
    /// The file holding the SRTP master key and salt shared with it (read by the daemon,
    /// which refuses a file that group or others may read).
    pub key_file: PathBuf,
    /// The SRTP protection profile.
    pub suite: crate::net::Suite,
}

/// `[network]`: the UDP socket that carries voice and keepalives to and from the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSettings {
    /// Where the socket binds: `0.0.0.0:5200` by default; `[::]:5200` takes IPv6 and IPv4.
    pub listen: SocketAddr,
    /// Interval between keepalives to each peer: 1 s, 100 ms-60 s.
    pub keepalive: Duration,
    /// A peer silent for this many keepalive intervals is down: 5, 2-100.
    pub down_after: u32,
    /// DSCP code point on every packet sent: 46 (EF, expedited forwarding), 0-63.
    pub dscp: u8,
    /// Receive and send buffer size asked of the kernel, in bytes: 1 MiB, 64 KiB-64 MiB.
    pub socket_buffer: usize,
    /// The most streams one peer may have open in the relay engine at once: 256, 1-1024
    /// (the engine's total). One peer, however authenticated, cannot take every slot.
    pub max_streams_per_peer: usize,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 5200)),
            keepalive: Duration::from_secs(1),
            down_after: 5,
            dscp: 46,
            socket_buffer: 1 << 20,
            max_streams_per_peer: 256,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file; errors name `path` as the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Config::parse(&text, &file)
    }

    /// Validates configuration text; errors name `origin` as the file.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        validate::parse(text, origin)
    }

    /// The radio with this id.
    pub fn radio(&self, id: RadioId) -> Option<&Radio> {
        self.radios.get(usize::from(id.0))
    }

    /// The identities of every gateway radio in the system: this site's and the others'.
    pub fn gateway_identities(&self) -> GatewayIdentities {
        self.radios
            .iter()
            .map(|r| r.identity)
            .chain(self.gateway_radios.iter().copied())
            .collect()
    }

    /// The relay engine's settings: site, radios, gateway identities, timers, policy and the
    /// receive path sized for the configured playout and grant-wait bounds.
    pub fn engine_config(&self) -> EngineConfig {
        let radios = self
            .radios
            .iter()
            .map(|r| RadioConfig {
                id: r.id,
                network: r.network,
                group: r.group,
                identity: r.identity,
            })
            .collect();
        let mut engine = EngineConfig::new(self.site.id, radios, self.gateway_identities());
        engine.floor.hang_time = self.timers.hang_time;
        engine.floor.tx_timeout = self.timers.tx_timeout;
        engine.floor.block_time = self.timers.block_time;
        engine.air_time = crate::engine::radio_tx::AirTimeLimit {
            max_continuous: self.timers.max_continuous,
            forced_gap: self.timers.forced_gap,
        };
        engine.policy = self.policy.clone();
        engine.delay = self.playout;
        engine.max_streams_per_peer = self.network.max_streams_per_peer;
        // The jitter buffer must hold a playout delay's frames twice over plus the one
        // playing (JitterConfig::validate); grow it for a long configured maximum.
        let delay_frames = frames(self.playout.max_delay());
        engine.jitter.capacity = engine.jitter.capacity.max(2 * delay_frames + 1);
        let backlog = frames(self.timers.grant_wait_bound).max(1);
        engine.grant.max_backlog = backlog;
        // Room beyond the bound for the catch-up rule to work in, as the default has.
        engine.grant.capacity = engine.grant.capacity.max(3 * backlog);
        engine
    }

    /// The static patches, for [`Engine::create_patch`](crate::engine::relay::Engine::create_patch)
    /// at start.
    pub fn static_patches(&self) -> Vec<PatchSpec> {
        self.patches.clone()
    }
}

/// Whole 20 ms frames in `d`, rounded up.
fn frames(d: Duration) -> usize {
    usize::try_from(d.as_micros().div_ceil(FRAME_DURATION.as_micros())).unwrap_or(usize::MAX)
}
