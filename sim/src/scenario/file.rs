//! The scenario file as serde reads it: every key a file may hold, each value wrapped in
//! [`Spanned`] so the checks in `parse.rs` can name its line. Only the shape is checked here
//! (unknown keys, TOML types); numbers stay `i64`/`f64` and durations and identities stay
//! strings, so a bad value gets a message that says what was expected.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: Option<Spanned<String>>,
    pub(super) seed: Option<Spanned<i64>>,
    pub(super) duration: Spanned<String>,
    #[serde(default)]
    pub(super) networks: BTreeMap<String, Spanned<NetworkFile>>,
    pub(super) gateway: Option<Spanned<GatewayFile>>,
    pub(super) network: Option<Spanned<LinksFile>>,
    #[serde(default)]
    pub(super) sites: Vec<Spanned<SiteFile>>,
    #[serde(default)]
    pub(super) units: Vec<Spanned<UnitFile>>,
    #[serde(default)]
    pub(super) patches: Vec<Spanned<PatchFile>>,
    #[serde(default)]
    pub(super) events: Vec<Spanned<EventFile>>,
}

/// `[networks.ASTRID]`, `[networks.C2000]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkFile {
    pub(super) grant_delay: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) call_hang: Option<Spanned<String>>,
    pub(super) max_transmission: Option<Spanned<String>>,
    pub(super) air_delay: Option<Spanned<String>>,
}

/// `[gateway]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayFile {
    pub(super) hang_time: Option<Spanned<String>>,
    pub(super) tx_timeout: Option<Spanned<String>>,
    pub(super) block_time: Option<Spanned<String>>,
    pub(super) grant_wait_bound: Option<Spanned<String>>,
    pub(super) playout_fixed: Option<Spanned<String>>,
    pub(super) clock_error: Option<Spanned<String>>,
}

/// The keys of one IP path, in `[network]` and in each `[[network.links]]`.
#[derive(Debug, Default)]
pub(super) struct LinkFile {
    pub(super) delay: Option<Spanned<String>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) jitter_normal: Option<Spanned<String>>,
    pub(super) loss: Option<Spanned<f64>>,
    pub(super) burst: Option<Spanned<BurstFile>>,
    pub(super) duplicate: Option<Spanned<f64>>,
    pub(super) fifo: Option<Spanned<bool>>,
}

/// `[network]`: the default path plus overrides. (The path keys are repeated rather than
/// flattened: serde's `flatten` would lose the spans.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinksFile {
    pub(super) delay: Option<Spanned<String>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) jitter_normal: Option<Spanned<String>>,
    pub(super) loss: Option<Spanned<f64>>,
    pub(super) burst: Option<Spanned<BurstFile>>,
    pub(super) duplicate: Option<Spanned<f64>>,
    pub(super) fifo: Option<Spanned<bool>>,
    #[serde(default)]
    pub(super) links: Vec<Spanned<LinkOverrideFile>>,
}

/// One `[[network.links]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkOverrideFile {
    pub(super) from: Spanned<i64>,
    pub(super) to: Spanned<i64>,
    pub(super) delay: Option<Spanned<String>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) jitter_normal: Option<Spanned<String>>,
    pub(super) loss: Option<Spanned<f64>>,
    pub(super) burst: Option<Spanned<BurstFile>>,
    pub(super) duplicate: Option<Spanned<f64>>,
    pub(super) fifo: Option<Spanned<bool>>,
}

impl LinksFile {
    /// The default path's keys and the overrides.
    pub(super) fn split(self) -> (LinkFile, Vec<Spanned<LinkOverrideFile>>) {
        let links = self.links;
        let default = LinkFile {
            delay: self.delay,
            jitter: self.jitter,
            jitter_normal: self.jitter_normal,
            loss: self.loss,
            burst: self.burst,
            duplicate: self.duplicate,
            fifo: self.fifo,
        };
        (default, links)
    }
}

impl LinkOverrideFile {
    /// The path's keys.
    pub(super) fn link(self) -> LinkFile {
        LinkFile {
            delay: self.delay,
            jitter: self.jitter,
            jitter_normal: self.jitter_normal,
            loss: self.loss,
            burst: self.burst,
            duplicate: self.duplicate,
            fifo: self.fifo,
        }
    }
}

/// `burst = { … }`: Gilbert–Elliott loss.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BurstFile {
    pub(super) p_good_to_bad: Spanned<f64>,
    pub(super) p_bad_to_good: Spanned<f64>,
    pub(super) loss_good: Option<Spanned<f64>>,
    pub(super) loss_bad: Option<Spanned<f64>>,
}

/// One `[[sites]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteFile {
    pub(super) id: Spanned<i64>,
    pub(super) name: Spanned<String>,
    pub(super) board: Option<Spanned<bool>>,
    pub(super) radios: Vec<Spanned<RadioFile>>,
}

/// A site's radio.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RadioFile {
    pub(super) name: Spanned<String>,
    pub(super) network: Spanned<String>,
    pub(super) issi: Spanned<String>,
    pub(super) group: Spanned<String>,
    pub(super) dialect: Option<Spanned<String>>,
    pub(super) pei: Option<Spanned<bool>>,
}

/// One `[[units]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnitFile {
    pub(super) name: Spanned<String>,
    pub(super) issi: Spanned<String>,
    pub(super) network: Spanned<String>,
    pub(super) group: Spanned<String>,
    pub(super) route: Option<Spanned<RouteFile>>,
}

/// A unit's `route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteFile {
    pub(super) start: Option<Spanned<String>>,
    pub(super) speed_kmh: Spanned<f64>,
    pub(super) lip_interval: Option<Spanned<String>>,
    pub(super) lip_to: Option<Spanned<String>>,
    pub(super) waypoints: Vec<Spanned<WaypointFile>>,
}

/// A waypoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WaypointFile {
    pub(super) lat: Spanned<f64>,
    pub(super) lon: Spanned<f64>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) speed_kmh: Option<Spanned<f64>>,
    pub(super) roam: Option<Spanned<RoamFile>>,
}

/// `roam = { network, group }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoamFile {
    pub(super) network: Spanned<String>,
    pub(super) group: Spanned<String>,
}

/// A patch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatchFile {
    pub(super) name: Spanned<String>,
    pub(super) channels: Vec<Spanned<ChannelFile>>,
}

/// A patch's channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelFile {
    pub(super) site: Spanned<i64>,
    pub(super) network: Spanned<String>,
    pub(super) group: Spanned<String>,
}

/// One `[[events]]`: `at` and exactly one action key with its options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventFile {
    pub(super) at: Spanned<String>,
    pub(super) talk: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub(super) for_: Option<Spanned<String>>,
    pub(super) priority: Option<Spanned<i64>>,
    pub(super) emergency: Option<Spanned<bool>>,
    pub(super) preempt: Option<Spanned<bool>>,
    pub(super) patch: Option<Spanned<String>>,
    pub(super) channels: Option<Vec<Spanned<ChannelFile>>>,
    pub(super) unpatch: Option<Spanned<String>>,
    pub(super) partition: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(super) kill: Option<Spanned<i64>>,
    pub(super) restart_after: Option<Spanned<String>>,
    pub(super) status: Option<Spanned<String>>,
    pub(super) value: Option<Spanned<i64>>,
    pub(super) to: Option<Spanned<String>>,
}
