//! Scenarios: what happens in a simulated run, as a TOML data file.
//!
//! A scenario names the border sites (each a gateway with its radios and board), the field
//! units (with routes across the border), how the two trunked networks and the IP paths
//! between sites behave, the static patches, and a timed list of events: units keying up,
//! dispatch creating and removing patches, link partitions, a gateway killed and restarted,
//! status messages. `docs/simulator.md` documents every key; `sim/scenarios/` holds the
//! default border scenario and the ones the end-to-end tests run.
//!
//! [`Scenario::load`] and [`Scenario::parse`] check the whole file and report every problem as
//! `file:line:column: key: message`, like the daemon's configuration.

mod error;
mod file;
mod parse;

use borderlink_gateway::engine::patch::Channel;
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::Duration;

pub use error::{Problem, ScenarioError};

use crate::field::route::Waypoint;
use crate::net::impair::{Jitter, LinkConfig};
use crate::swmi::NetworkConfig;

/// The default border scenario, `sim/scenarios/border.toml`, built into the simulator.
pub const BORDER: &str = include_str!("../../scenarios/border.toml");

/// A scenario, checked; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Where it was read from (for messages).
    pub origin: String,
    /// The seed of every random draw, unless the command line gives another.
    pub seed: u64,
    /// How long the run lasts (simulation time).
    pub duration: Duration,
    /// How ASTRID behaves.
    pub astrid: NetworkConfig,
    /// How C2000 behaves.
    pub c2000: NetworkConfig,
    /// The gateways' timers.
    pub gateway: GatewaySettings,
    /// The IP paths between sites.
    pub links: LinkPlan,
    /// The border sites.
    pub sites: Vec<SiteSpec>,
    /// The field units.
    pub units: Vec<UnitSpec>,
    /// Patches configured at every site from the start.
    pub patches: Vec<PatchDef>,
    /// What happens, in time order.
    pub events: Vec<Event>,
}

/// The gateways' timers (the `[timers]` and `[playout]` of every site's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Hang time after an over.
    pub hang_time: Duration,
    /// Longest single over.
    pub tx_timeout: Duration,
    /// Wait imposed on a talker who hit the TX timeout.
    pub block_time: Duration,
    /// Audio held while a radio waits for its grant.
    pub grant_wait_bound: Duration,
    /// A fixed playout delay instead of the adaptive one.
    pub playout_fixed: Option<Duration>,
    /// Each site's wall clock is off by up to this much (drawn per site from the seed); it
    /// stamps key-up times, so it decides simultaneous key-ups. Fast mode only: real daemons
    /// share the host's clock.
    pub clock_error: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            hang_time: Duration::from_millis(1_500),
            tx_timeout: Duration::from_secs(120),
            block_time: Duration::from_secs(10),
            grant_wait_bound: Duration::from_secs(1),
            playout_fixed: None,
            clock_error: Duration::ZERO,
        }
    }
}

/// The IP paths between sites: one configuration for every direction, and overrides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkPlan {
    /// Every direction not overridden.
    pub default: LinkConfig,
    /// `(from site, to site, configuration)`.
    pub overrides: Vec<(u16, u16, LinkConfig)>,
}

impl LinkPlan {
    /// The configuration of the path from one site to another.
    pub fn link(&self, from: u16, to: u16) -> LinkConfig {
        self.overrides
            .iter()
            .find(|(f, t, _)| (*f, *t) == (from, to))
            .map_or_else(|| self.default.clone(), |(_, _, c)| c.clone())
    }

    /// The 95th percentile of the path's jitter (the delay above its base), as the report's
    /// latency budget counts it.
    pub fn jitter_p95(&self, from: u16, to: u16) -> Duration {
        let us = match self.link(from, to).jitter {
            Jitter::None => 0.0,
            Jitter::Uniform { max } => 0.95 * max.as_micros() as f64,
            // Only the positive half counts: a normal jitter below the base is no delay.
            Jitter::Normal { std_dev } => 1.645 * std_dev.as_micros() as f64,
        };
        Duration::from_micros(us.round() as u64)
    }
}

/// A border site: one gateway, its radios and (optionally) an interface board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSpec {
    /// Site id (unique, 0–65535).
    pub id: u16,
    /// Its name.
    pub name: String,
    /// Whether an interface board keys the radios (radio `n` on board port `n`).
    pub board: bool,
    /// The gateway's radios.
    pub radios: Vec<RadioSpec>,
}

/// A gateway radio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadioSpec {
    /// Its name at the site.
    pub name: String,
    /// The network it is registered on.
    pub network: Network,
    /// Its ITSI.
    pub issi: Tsi,
    /// The talkgroup it selects.
    pub group: Tsi,
    /// Which PEI its emulator speaks (`dialect = "full" | "lean"`, full by default).
    pub dialect: crate::radio::Dialect,
    /// Whether the gateway has its PEI port (`pei = false`: the board keys it by its PTT line
    /// and hears it on its COR line; its group is set on its front panel).
    pub pei: bool,
}

/// A field unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSpec {
    /// Its name.
    pub name: String,
    /// Its ITSI (kept when it roams onto the other network).
    pub issi: Tsi,
    /// The network it starts on.
    pub network: Network,
    /// The group it starts on.
    pub group: Tsi,
    /// The route it drives, if it moves.
    pub route: Option<RouteSpec>,
}

/// A unit's route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    /// When it leaves the first waypoint.
    pub start: Duration,
    /// Speed where a waypoint sets none, km/h.
    pub speed_kmh: f64,
    /// LIP reports this often while driving.
    pub lip_interval: Option<Duration>,
    /// Where LIP reports go (default: the unit's current group).
    pub lip_to: Option<Tsi>,
    /// The points it drives through.
    pub waypoints: Vec<Waypoint>,
}

/// A patch definition, the same at every site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchDef {
    /// Its name.
    pub name: String,
    /// The talkgroups it joins, each at a site.
    pub channels: Vec<Channel>,
}

/// Something that happens at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When, from the start of the run.
    pub at: Duration,
    /// Its line in the scenario file.
    pub line: usize,
    /// What.
    pub action: Action,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A unit presses PTT for a while.
    Talk {
        /// The unit's index in [`Scenario::units`].
        unit: usize,
        /// How long it holds PTT.
        duration: Duration,
        /// Call priority 0–15.
        priority: u8,
        /// An emergency call (priority 15, pre-emptive).
        emergency: bool,
        /// A pre-emptive demand: it may interrupt a lower-priority talker.
        preempt: bool,
    },
    /// Dispatch creates a patch at every site.
    Patch(PatchDef),
    /// Dispatch removes a patch.
    Unpatch(String),
    /// The IP path between two sites is cut both ways for a while.
    Partition {
        /// One site.
        a: u16,
        /// The other.
        b: u16,
        /// How long.
        duration: Duration,
    },
    /// A gateway is killed outright (`kill -9`), and restarted later if said.
    Kill {
        /// The site.
        site: u16,
        /// Restarted after this long.
        restart_after: Option<Duration>,
    },
    /// A unit sends a pre-coded status message.
    Status {
        /// The unit's index.
        unit: usize,
        /// The 16-bit status value.
        value: u16,
        /// Destination (default: the unit's current group).
        to: Option<Tsi>,
    },
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
            file: origin.clone(),
            message: e.to_string(),
        })?;
        Scenario::parse(&text, &origin)
    }

    /// Checks scenario text; errors name `origin` as the file.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        parse::parse(text, origin)
    }

    /// The default border scenario.
    pub fn border() -> Scenario {
        match Scenario::parse(BORDER, "sim/scenarios/border.toml") {
            Ok(s) => s,
            // A test keeps the built-in file valid; this cannot happen in a released binary.
            Err(e) => panic!("the built-in border scenario is invalid:\n{e}"),
        }
    }

    /// The site with this id.
    pub fn site(&self, id: u16) -> Option<&SiteSpec> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// Every gateway radio identity in the system (for each site's loop prevention).
    pub fn gateway_identities(&self) -> Vec<Tsi> {
        self.sites
            .iter()
            .flat_map(|s| s.radios.iter().map(|r| r.issi))
            .collect()
    }
}

#[cfg(test)]
mod tests;
