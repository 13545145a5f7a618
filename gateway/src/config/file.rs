//! The configuration file as serde reads it: every table and key the file may hold, with each
//! value kept in its TOML form and wrapped in [`Spanned`] so that the checks in
//! [`validate`](super::validate) can name its line.
//!
//! Only the shape is checked here: unknown keys (`deny_unknown_fields` everywhere), missing
//! required keys, TOML types and keywords. Numbers stay `i64`, identities and durations stay
//! strings, so a value out of range gets a message that says the range rather than serde's
//! "expected u16", and so that all such problems are reported together instead of only the
//! first one serde meets.

use core::fmt;
use core::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

/// `[site]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteFile {
    pub(super) id: Spanned<i64>,
    pub(super) name: Spanned<String>,
}

/// One `[[radios]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RadioFile {
    pub(super) name: Spanned<String>,
    pub(super) network: Spanned<NetworkName>,
    pub(super) serial: Option<Spanned<String>>,
    pub(super) baud: Option<Spanned<i64>>,
    pub(super) issi: Spanned<Digits>,
    pub(super) group: Spanned<Digits>,
    #[serde(default)]
    pub(super) groups: Vec<Spanned<Digits>>,
    pub(super) alsa: Option<Spanned<String>>,
    pub(super) udp: Option<Spanned<UdpFile>>,
    pub(super) pei: Option<Spanned<PeiFile>>,
}

/// `[radios.pei]`: the PEI initialisation profile of a radio.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeiFile {
    pub(super) profile: Option<Spanned<String>>,
    pub(super) numeric_errors: Option<Spanned<bool>>,
    pub(super) trunked_mode: Option<Spanned<bool>>,
    pub(super) route_status: Option<Spanned<bool>>,
    pub(super) route_lip: Option<Spanned<bool>>,
    pub(super) identification: Option<Spanned<bool>>,
    pub(super) registration: Option<Spanned<bool>>,
    pub(super) static_identities: Option<Spanned<bool>>,
    pub(super) extra: Option<Vec<Spanned<String>>>,
}

/// `udp = { listen, peer, format }` of a radio.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UdpFile {
    pub(super) listen: Spanned<String>,
    pub(super) peer: Spanned<String>,
    pub(super) format: Spanned<UdpFormatName>,
}

/// `[board]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardFile {
    pub(super) serial: Spanned<String>,
    pub(super) baud: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) ports: Vec<Spanned<BoardPortFile>>,
}

/// One `[[board.ports]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardPortFile {
    pub(super) port: Spanned<i64>,
    pub(super) radio: Spanned<String>,
    pub(super) ptt: Option<Spanned<PolarityName>>,
    pub(super) cor: Option<Spanned<PolarityName>>,
    pub(super) grant_delay: Option<Spanned<DurationText>>,
}

/// `[api]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiFile {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) token_file: Option<Spanned<String>>,
    pub(super) audit_log: Option<Spanned<String>>,
    pub(super) hosts: Option<Vec<Spanned<String>>>,
    pub(super) metrics_without_token: Option<Spanned<bool>>,
}

/// `[state]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateFile {
    pub(super) file: Spanned<String>,
}

/// `[timers]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TimersFile {
    pub(super) hang_time: Option<Spanned<DurationText>>,
    pub(super) tx_timeout: Option<Spanned<DurationText>>,
    pub(super) block_time: Option<Spanned<DurationText>>,
    pub(super) grant_wait_bound: Option<Spanned<DurationText>>,
    pub(super) heartbeat: Option<Spanned<DurationText>>,
    pub(super) max_continuous: Option<Spanned<DurationText>>,
    pub(super) forced_gap: Option<Spanned<DurationText>>,
}

/// `[playout]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlayoutFile {
    pub(super) quantile: Option<Spanned<f64>>,
    pub(super) initial: Option<Spanned<DurationText>>,
    pub(super) min: Option<Spanned<DurationText>>,
    pub(super) max: Option<Spanned<DurationText>>,
    pub(super) fixed: Option<Spanned<DurationText>>,
}

/// `[policy]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    #[serde(rename = "ASTRID")]
    pub(super) astrid: Option<Spanned<LimitsFile>>,
    #[serde(rename = "C2000")]
    pub(super) c2000: Option<Spanned<LimitsFile>>,
    pub(super) dispatch: Option<Spanned<LimitsFile>>,
    #[serde(default)]
    pub(super) sites: Vec<Spanned<SiteRuleFile>>,
}

/// `[policy.ASTRID]`, `[policy.C2000]`, `[policy.dispatch]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    pub(super) max_priority: Option<Spanned<i64>>,
    pub(super) honour_emergency: Option<bool>,
}

/// One `[[policy.sites]]` table: limits for one source kind entering at one site.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteRuleFile {
    pub(super) site: Spanned<i64>,
    pub(super) source: Spanned<SourceName>,
    pub(super) max_priority: Option<Spanned<i64>>,
    pub(super) honour_emergency: Option<bool>,
    /// With `source = "dispatch"`: the network whose country the site's consoles belong to.
    pub(super) home: Option<Spanned<NetworkName>>,
}

/// One `[[peers]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeerFile {
    pub(super) site: Spanned<i64>,
    pub(super) name: Spanned<String>,
    pub(super) address: Spanned<String>,
    pub(super) key_file: Spanned<String>,
    pub(super) suite: Option<Spanned<SuiteName>>,
}

/// `[network]`: the voice socket peers talk to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkFile {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) keepalive: Option<Spanned<DurationText>>,
    pub(super) down_after: Option<Spanned<i64>>,
    pub(super) dscp: Option<Spanned<i64>>,
    pub(super) socket_buffer: Option<Spanned<i64>>,
    pub(super) max_streams_per_peer: Option<Spanned<i64>>,
}

/// One `[[patches]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatchFile {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) channels: Vec<Spanned<ChannelFile>>,
    #[serde(default)]
    pub(super) consoles: Vec<Spanned<ConsoleFile>>,
    pub(super) lifetime: Option<Spanned<DurationText>>,
    pub(super) inactivity_timeout: Option<Spanned<DurationText>>,
}

/// `{ site, network, group }` in a patch's `channels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelFile {
    pub(super) site: Spanned<i64>,
    pub(super) network: Spanned<NetworkName>,
    pub(super) group: Spanned<Digits>,
}

/// `{ site, console }` in a patch's `consoles`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsoleFile {
    pub(super) site: Spanned<i64>,
    pub(super) console: Spanned<i64>,
}

/// A string that should be a PEI identity; parsed (and its errors reported) later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Digits(pub(super) String);

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor(
            "a TETRA identity as a string of PEI digits, e.g. \"02060000102061001\"",
        ))
        .map(Digits)
    }
}

/// A string that should be a human duration; parsed (and its errors reported) later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DurationText(pub(super) String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor(
            "a duration string with a unit, e.g. \"1.5s\", \"500ms\" or \"2min\"",
        ))
        .map(DurationText)
    }
}

/// Accepts a string only, and says what it should be when given anything else.
struct TextVisitor(&'static str);

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

/// A value written as one of a fixed set of words.
pub(super) trait Keyword: Sized + Copy + 'static {
    /// Every word and its value.
    const WORDS: &'static [(&'static str, Self)];
}

/// Deserialises a [`Keyword`], listing the accepted words in both the wrong-type and the
/// wrong-word message.
struct KeywordVisitor<K>(PhantomData<K>);

impl<K: Keyword> Visitor<'_> for KeywordVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of ")?;
        for (i, (word, _)) in K::WORDS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "\"{word}\"")?;
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<K, E> {
        K::WORDS
            .iter()
            .find(|(word, _)| *word == v)
            .map(|(_, value)| *value)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

macro_rules! keyword {
    ($(#[$doc:meta])* $name:ident($target:ty) { $($word:literal => $value:expr),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) struct $name(pub(super) $target);

        impl Keyword for $name {
            const WORDS: &'static [(&'static str, Self)] = &[$(($word, $name($value))),+];
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(KeywordVisitor::<$name>(PhantomData))
            }
        }
    };
}

keyword! {
    /// `"ASTRID"` or `"C2000"`.
    NetworkName(borderlink_protocol::ids::Network) {
        "ASTRID" => borderlink_protocol::ids::Network::Astrid,
        "C2000" => borderlink_protocol::ids::Network::C2000,
    }
}

keyword! {
    /// `"active-high"` or `"active-low"`.
    PolarityName(super::Polarity) {
        "active-high" => super::Polarity::ActiveHigh,
        "active-low" => super::Polarity::ActiveLow,
    }
}

keyword! {
    /// `"pcma"` or `"rtp"`.
    UdpFormatName(super::UdpFormat) {
        "pcma" => super::UdpFormat::Pcma,
        "rtp" => super::UdpFormat::Rtp,
    }
}

keyword! {
    /// `"AEAD_AES_128_GCM"` or `"AES_CM_128_HMAC_SHA1_80"` (the RFC 7714 / RFC 4568 names).
    SuiteName(crate::net::Suite) {
        "AEAD_AES_128_GCM" => crate::net::Suite::AeadAes128Gcm,
        "AES_CM_128_HMAC_SHA1_80" => crate::net::Suite::AesCm128HmacSha1_80,
    }
}

keyword! {
    /// `"ASTRID"`, `"C2000"` or `"dispatch"`.
    SourceName(crate::engine::policy::SourceKind) {
        "ASTRID" => crate::engine::policy::SourceKind::Astrid,
        "C2000" => crate::engine::policy::SourceKind::C2000,
        "dispatch" => crate::engine::policy::SourceKind::Dispatch,
    }
}

// ---- roaming ----------------------------------------------------------------------------

/// One `[[mirrors]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MirrorFile {
    pub(super) name: Spanned<String>,
    pub(super) home: Spanned<ChannelFile>,
    pub(super) mirror: Spanned<ChannelFile>,
    #[serde(default)]
    pub(super) consoles: Vec<Spanned<ConsoleFile>>,
    pub(super) mode: Spanned<MirrorModeName>,
    #[serde(default)]
    pub(super) schedule: Vec<Spanned<String>>,
    pub(super) triggers: Option<Spanned<Vec<Spanned<TriggerName>>>>,
    pub(super) window: Option<Spanned<DurationText>>,
    pub(super) inactivity_timeout: Option<Spanned<DurationText>>,
}

/// `[lon, lat]` of one vertex.
pub(super) type VertexFile = Spanned<Vec<f64>>;
/// A ring of vertices.
pub(super) type RingFile = Spanned<Vec<VertexFile>>;
/// A polygon: its outer ring, then its holes.
pub(super) type PolygonFile = Spanned<Vec<RingFile>>;

/// One `[[zones]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ZoneFile {
    pub(super) name: Spanned<String>,
    pub(super) mirrors: Vec<Spanned<String>>,
    pub(super) polygons: Vec<PolygonFile>,
    pub(super) exit_margin_m: Option<Spanned<f64>>,
    pub(super) min_dwell: Option<Spanned<DurationText>>,
    pub(super) max_position_error_m: Option<Spanned<i64>>,
}

/// `[triggers]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TriggersFile {
    pub(super) request: Option<Spanned<i64>>,
    pub(super) extend: Option<Spanned<i64>>,
    pub(super) end: Option<Spanned<i64>>,
    pub(super) reply: Option<Spanned<ReplyName>>,
    pub(super) ack: Option<Spanned<i64>>,
    pub(super) refuse: Option<Spanned<i64>>,
}

/// `[sovereignty]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SovereigntyFile {
    pub(super) emergencies: Option<Spanned<EmergencyRuleName>>,
    #[serde(rename = "ASTRID")]
    pub(super) astrid: Option<Spanned<SideFile>>,
    #[serde(rename = "C2000")]
    pub(super) c2000: Option<Spanned<SideFile>>,
    #[serde(default)]
    pub(super) groups: Vec<Spanned<GroupRuleFile>>,
}

/// `[sovereignty.ASTRID]`, `[sovereignty.C2000]`: a network's rules for its groups.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SideFile {
    pub(super) allowed_groups: Option<Vec<Spanned<Digits>>>,
    pub(super) foreign_max_priority: Option<Spanned<i64>>,
    pub(super) foreign_emergency: Option<bool>,
    pub(super) creators: Option<Spanned<CreatorsName>>,
    pub(super) field_triggers: Option<bool>,
}

/// One `[[sovereignty.groups]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupRuleFile {
    pub(super) group: Spanned<Digits>,
    pub(super) foreign_max_priority: Option<Spanned<i64>>,
    pub(super) foreign_emergency: Option<bool>,
    pub(super) creators: Option<Spanned<CreatorsName>>,
    pub(super) field_triggers: Option<bool>,
}

/// A mirror's `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) enum ModeWord {
    Permanent,
    Scheduled,
    OnDemand,
}

/// One of a mirror's `triggers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) enum TriggerWord {
    Status,
    Position,
    Dispatch,
}

/// `triggers.reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::config) enum ReplyWord {
    Status,
    Text,
    None,
}

keyword! {
    /// `"permanent"`, `"scheduled"` or `"on-demand"`.
    MirrorModeName(ModeWord) {
        "permanent" => ModeWord::Permanent,
        "scheduled" => ModeWord::Scheduled,
        "on-demand" => ModeWord::OnDemand,
    }
}

keyword! {
    /// `"status"`, `"position"` or `"dispatch"`.
    TriggerName(TriggerWord) {
        "status" => TriggerWord::Status,
        "position" => TriggerWord::Position,
        "dispatch" => TriggerWord::Dispatch,
    }
}

keyword! {
    /// `"status"`, `"text"` or `"none"`.
    ReplyName(ReplyWord) {
        "status" => ReplyWord::Status,
        "text" => ReplyWord::Text,
        "none" => ReplyWord::None,
    }
}

keyword! {
    /// `"first-holds"` or `"by-priority"`.
    EmergencyRuleName(crate::engine::policy::EmergencyRule) {
        "first-holds" => crate::engine::policy::EmergencyRule::FirstHolds,
        "by-priority" => crate::engine::policy::EmergencyRule::ByPriority,
    }
}

keyword! {
    /// `"home"` or `"both"`.
    CreatorsName(crate::roaming::Creators) {
        "home" => crate::roaming::Creators::Home,
        "both" => crate::roaming::Creators::Both,
    }
}
