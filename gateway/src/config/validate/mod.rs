//! From TOML text to a [`Config`]: parse with spans, read each section on its own (so a
//! broken radio does not hide a broken peer), check every value and every rule between values,
//! and collect every problem with its key path and line.
//!
//! The order of work: syntax (if the text is not TOML, nothing else is said), then the shape of
//! each top-level section and of each element of its arrays (`file.rs`), then
//! values and cross-references. A rule that refers to another section (a board port naming a
//! radio, a patch channel naming a site) is only checked when that section was read in full,
//! so one mistake does not echo as a second, misleading one.
//!
//! One file per part of the configuration: [`radios`] (and the board ports driving them),
//! [`timers`] (and playout), [`policy`], [`peers`] (and the other gateways' radios),
//! [`patches`] and [`api`] (the control API and the state file).

mod api;
mod patches;
mod peers;
mod policy;
mod radios;
mod roaming;
mod timers;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::net::SocketAddr;
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;

use borderlink_protocol::ids::{Network, PeiIdentity, Tsi};
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::{Priority, SiteId};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::duration::parse_duration;
use super::error::STANDARD_BAUDS;
use super::error::{ConfigError, Human, KeyPath, Location, Problem, ProblemKind, Problems, locate};
use super::file::{
    ApiFile, BoardFile, Digits, DurationText, MirrorFile, NetworkFile, PatchFile, PeerFile,
    PlayoutFile, PolicyFile, RadioFile, SiteFile, SovereigntyFile, StateFile, TimersFile,
    TriggersFile, ZoneFile,
};
use super::{Config, Site};

/// The top-level keys, in the order the examples use.
const SECTIONS: [&str; 17] = [
    "site",
    "radios",
    "board",
    "timers",
    "playout",
    "policy",
    "gateway_radios",
    "network",
    "peers",
    "patches",
    "api",
    "state",
    "aliases",
    "sovereignty",
    "triggers",
    "mirrors",
    "zones",
];

/// At most this many syntax errors are shown: after the first, a parser's guesses cascade.
const MAX_SYNTAX_ERRORS: usize = 10;

/// Parses and validates; see the [module documentation](self).
pub(super) fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    let mut report = Report {
        text,
        file,
        doc: doc.get_ref(),
        problems: Vec::new(),
    };
    if !syntax.is_empty() {
        report.syntax(syntax);
        return Err(report.into_error());
    }
    let raw = report.sections();
    let config = report.check(raw);
    match config {
        Some(config) if report.problems.is_empty() => Ok(config),
        Some(_) => Err(report.into_error()),
        None => {
            // Every `None` above comes with a problem; should one not, still refuse with
            // a message rather than an empty error.
            if report.problems.is_empty() {
                report.add(
                    KeyPath::root(),
                    None,
                    ProblemKind::BadValue("the configuration is incomplete".into()),
                );
            }
            Err(report.into_error())
        }
    }
}

/// The file's sections as read; an element of an array is `None` if it could not be read.
#[derive(Default)]
struct RawFile {
    site: Option<Spanned<SiteFile>>,
    radios: Section<RadioFile>,
    board: Option<Spanned<BoardFile>>,
    timers: Option<Spanned<TimersFile>>,
    playout: Option<Spanned<PlayoutFile>>,
    policy: Option<Spanned<PolicyFile>>,
    gateway_radios: Section<Digits>,
    network: Option<Spanned<NetworkFile>>,
    peers: Section<PeerFile>,
    patches: Section<PatchFile>,
    api: Option<Spanned<ApiFile>>,
    state: Option<Spanned<StateFile>>,
    aliases: Option<Spanned<std::collections::BTreeMap<String, Spanned<String>>>>,
    sovereignty: Option<Spanned<SovereigntyFile>>,
    triggers: Option<Spanned<TriggersFile>>,
    mirrors: Section<MirrorFile>,
    zones: Section<ZoneFile>,
}

/// An array section: its elements (`None` where unreadable), and whether all were read.
struct Section<T> {
    items: Vec<Option<Spanned<T>>>,
    complete: bool,
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section {
            items: Vec::new(),
            complete: true,
        }
    }
}

/// The problems found so far, and what is needed to place them.
struct Report<'a> {
    text: &'a str,
    file: &'a str,
    doc: &'a DeTable<'a>,
    problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    fn into_error(self) -> ConfigError {
        ConfigError::Invalid(Problems::new(self.problems))
    }

    fn add(&mut self, key: KeyPath, span: Option<Range<usize>>, kind: ProblemKind) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            location: span.map(|s| Location::of(self.text, s.start)),
            key,
            kind,
        });
    }

    /// `radios[0].name (line 5)`, to point back at a first use.
    fn place(&self, key: &KeyPath, span: Range<usize>) -> String {
        format!("{key} (line {})", Location::of(self.text, span.start).line)
    }

    fn syntax(&mut self, mut errors: Vec<toml::de::Error>) {
        // In file order, the first per line: the parser's recovery guesses at more on the
        // same line, and those are noise.
        errors.sort_by_key(|e| e.span().map_or(usize::MAX, |s| s.start));
        let mut last_line = None;
        for error in errors {
            let span = error.span();
            let line = span.as_ref().map(|s| Location::of(self.text, s.start).line);
            if line.is_some() && line == last_line {
                continue;
            }
            last_line = line;
            self.add(
                KeyPath::root(),
                span,
                ProblemKind::Syntax(error.message().to_owned()),
            );
            if self.problems.len() == MAX_SYNTAX_ERRORS {
                break;
            }
        }
    }

    /// Records a serde error at the key its span falls in.
    fn toml_error(&mut self, error: &toml::de::Error) {
        let span = error.span();
        let key = span
            .as_ref()
            .map_or_else(KeyPath::root, |s| locate(self.doc, s));
        let mut kind = ProblemKind::from_toml(error.message());
        // The commonest TOML slip: a top-level key written after a table header lands in
        // that table.
        if let ProblemKind::UnknownKey(message) = &mut kind
            && let Some(name) = message.split('`').nth(1)
            && SECTIONS.contains(&name)
        {
            let hint = format!(
                "; `{name}` is a top-level key: move it above the first [table] header \
                 (TOML puts a key after a header into that table)"
            );
            message.push_str(&hint);
        }
        self.add(key, span, kind);
    }

    fn read<T: for<'de> Deserialize<'de>>(
        &mut self,
        value: &Spanned<DeValue<'a>>,
    ) -> Option<Spanned<T>> {
        match T::deserialize(value.clone().into_deserializer()) {
            Ok(t) => Some(Spanned::new(value.span(), t)),
            Err(e) => {
                self.toml_error(&e);
                None
            }
        }
    }

    /// An array section, each element read on its own so that every broken one is reported.
    fn read_list<T: for<'de> Deserialize<'de>>(
        &mut self,
        value: &Spanned<DeValue<'a>>,
    ) -> Section<T> {
        let Some(array) = value.get_ref().as_array() else {
            // Not an array: let serde say so, in its words.
            if let Err(e) = Vec::<T>::deserialize(value.clone().into_deserializer()) {
                self.toml_error(&e);
            }
            return Section {
                items: Vec::new(),
                complete: false,
            };
        };
        let items: Vec<Option<Spanned<T>>> = array.iter().map(|v| self.read(v)).collect();
        let complete = items.iter().all(Option::is_some);
        Section { items, complete }
    }

    fn sections(&mut self) -> RawFile {
        let mut raw = RawFile::default();
        for (key, value) in self.doc.iter() {
            match key.get_ref().as_ref() {
                "site" => raw.site = self.read(value),
                "radios" => raw.radios = self.read_list(value),
                "board" => raw.board = self.read(value),
                "timers" => raw.timers = self.read(value),
                "playout" => raw.playout = self.read(value),
                "policy" => raw.policy = self.read(value),
                "gateway_radios" => raw.gateway_radios = self.read_list(value),
                "network" => raw.network = self.read(value),
                "peers" => raw.peers = self.read_list(value),
                "patches" => raw.patches = self.read_list(value),
                "api" => raw.api = self.read(value),
                "state" => raw.state = self.read(value),
                "aliases" => raw.aliases = self.read(value),
                "sovereignty" => raw.sovereignty = self.read(value),
                "triggers" => raw.triggers = self.read(value),
                "mirrors" => raw.mirrors = self.read_list(value),
                "zones" => raw.zones = self.read_list(value),
                other => {
                    let expected = SECTIONS
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.add(
                        KeyPath::root().key(other),
                        Some(key.span()),
                        ProblemKind::UnknownKey(format!(
                            "unknown key `{other}`, expected one of {expected}"
                        )),
                    );
                }
            }
        }
        raw
    }

    // ---- single values -------------------------------------------------------------------

    fn name(&mut self, key: KeyPath, value: &Spanned<String>) -> Option<String> {
        if value.get_ref().trim().is_empty() {
            self.add(key, Some(value.span()), ProblemKind::Blank);
            return None;
        }
        Some(value.get_ref().clone())
    }

    fn device(&mut self, key: KeyPath, value: &Spanned<String>) -> Option<PathBuf> {
        let text = value.get_ref();
        if text.trim().is_empty() {
            self.add(key, Some(value.span()), ProblemKind::Blank);
            return None;
        }
        if !text.starts_with('/') {
            self.add(
                key,
                Some(value.span()),
                ProblemKind::NotAbsolutePath(text.clone()),
            );
            return None;
        }
        Some(PathBuf::from(text))
    }

    fn int(
        &mut self,
        key: KeyPath,
        value: &Spanned<i64>,
        range: RangeInclusive<i64>,
        expected: &str,
    ) -> Option<i64> {
        let v = *value.get_ref();
        if range.contains(&v) {
            Some(v)
        } else {
            self.add(
                key,
                Some(value.span()),
                ProblemKind::OutOfRange {
                    value: v.to_string(),
                    expected: expected.to_owned(),
                },
            );
            None
        }
    }

    fn site_id(&mut self, key: KeyPath, value: &Spanned<i64>) -> Option<SiteId> {
        self.int(key, value, 0..=i64::from(u16::MAX), "a site id, 0-65535")
            .map(|v| SiteId(v as u16))
    }

    fn priority(&mut self, key: KeyPath, value: &Spanned<i64>) -> Option<Priority> {
        self.int(key, value, 0..=15, "a priority, 0-15")
            .and_then(|v| Priority::new(v as u8))
    }

    fn baud(&mut self, key: KeyPath, value: Option<&Spanned<i64>>, default: u32) -> Option<u32> {
        let Some(value) = value else {
            return Some(default);
        };
        let v = *value.get_ref();
        match STANDARD_BAUDS.iter().find(|b| i64::from(**b) == v) {
            Some(b) => Some(*b),
            None => {
                self.add(key, Some(value.span()), ProblemKind::Baud(v));
                None
            }
        }
    }

    /// A full TSI; with `network`, its MCC must be that network's, without, one of ours.
    fn tsi(
        &mut self,
        key: KeyPath,
        value: &Spanned<Digits>,
        network: Option<Network>,
    ) -> Option<Tsi> {
        let digits = &value.get_ref().0;
        let span = Some(value.span());
        let tsi = match PeiIdentity::parse(digits) {
            Ok(PeiIdentity::Tsi(tsi)) => tsi,
            Ok(PeiIdentity::Ssi(_)) => {
                self.add(key, span, ProblemKind::BareSsi(digits.clone()));
                return None;
            }
            Err(error) => {
                self.add(
                    key,
                    span,
                    ProblemKind::BadIdentity {
                        value: digits.clone(),
                        error,
                    },
                );
                return None;
            }
        };
        match network {
            Some(network) if tsi.network() != Some(network) => {
                self.add(
                    key,
                    span,
                    ProblemKind::NetworkMismatch {
                        identity: tsi,
                        network,
                    },
                );
                None
            }
            None if tsi.network().is_none() => {
                self.add(key, span, ProblemKind::ForeignNetwork(tsi));
                None
            }
            _ => Some(tsi),
        }
    }

    /// An optional duration within `range`, or `default` if absent.
    fn duration(
        &mut self,
        key: KeyPath,
        value: Option<&Spanned<DurationText>>,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Option<Duration> {
        let Some(value) = value else {
            return Some(default);
        };
        let d = self.any_duration(key.clone(), value)?;
        if range.contains(&d) {
            Some(d)
        } else {
            self.add(
                key,
                Some(value.span()),
                ProblemKind::DurationRange {
                    value: d,
                    expected: format!("{} to {}", Human(*range.start()), Human(*range.end())),
                },
            );
            None
        }
    }

    fn any_duration(&mut self, key: KeyPath, value: &Spanned<DurationText>) -> Option<Duration> {
        let text = &value.get_ref().0;
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(error) => {
                self.add(
                    key,
                    Some(value.span()),
                    ProblemKind::BadDuration {
                        value: text.clone(),
                        error,
                    },
                );
                None
            }
        }
    }

    fn socket_addr(&mut self, key: KeyPath, value: &Spanned<String>) -> Option<SocketAddr> {
        match value.get_ref().parse::<SocketAddr>() {
            Ok(addr) if addr.port() != 0 => Some(addr),
            _ => {
                self.add(
                    key,
                    Some(value.span()),
                    ProblemKind::BadAddress {
                        value: value.get_ref().clone(),
                        expected: "an IP address and a port 1-65535, e.g. \"127.0.0.1:5100\" or \"[::1]:5100\"",
                    },
                );
                None
            }
        }
    }

    fn host_port(&mut self, key: KeyPath, value: &Spanned<String>) -> Option<String> {
        if is_host_port(value.get_ref()) {
            return Some(value.get_ref().clone());
        }
        self.add(
            key,
            Some(value.span()),
            ProblemKind::BadAddress {
                value: value.get_ref().clone(),
                expected: "host:port with a port 1-65535, e.g. \"192.0.2.20:5200\", \"[2001:db8::20]:5200\" or \"site-b.example:5200\"",
            },
        );
        None
    }

    /// Records `value` in `seen`, or reports it as a duplicate of its first use.
    fn unique<K: Hash + Eq>(
        &mut self,
        seen: &mut HashMap<K, (KeyPath, Range<usize>)>,
        value: K,
        what: &'static str,
        shown: String,
        key: KeyPath,
        span: Range<usize>,
    ) -> bool {
        match seen.entry(value) {
            Entry::Vacant(slot) => {
                slot.insert((key, span));
                true
            }
            Entry::Occupied(first) => {
                let (first_key, first_span) = first.get();
                let first = self.place(first_key, first_span.clone());
                self.add(
                    key,
                    Some(span),
                    ProblemKind::Duplicate {
                        what,
                        value: shown,
                        first,
                    },
                );
                false
            }
        }
    }

    // ---- sections ------------------------------------------------------------------------

    /// Checks everything; `None` if a required part is missing or invalid.
    fn check(&mut self, raw: RawFile) -> Option<Config> {
        let site = self.site(raw.site.as_ref());
        let radios = self.radios(&raw.radios);
        let board = raw
            .board
            .as_ref()
            .map(|b| self.board(b, &raw.radios, &radios));
        let timers = self.timers(raw.timers.as_ref());
        let playout = self.playout(raw.playout.as_ref());
        let policy = self.policy(raw.policy.as_ref());
        let gateway_radios = self.gateway_radios(&raw.gateway_radios);
        let network = self.network(raw.network.as_ref());
        let peers = self.peers(&raw.peers, site.as_ref());
        let patches = self.patches(&raw, site.as_ref(), &radios, &peers);
        let api = raw.api.as_ref().map(|a| self.api(a));
        let state_file = raw.state.as_ref().map(|s| self.state(s));
        let roaming = self.roaming(&raw, site.as_ref(), &radios, &peers, patches.as_deref());
        // The sovereignty rules' floor limits are part of the policy every site must share.
        let policy = match (policy, roaming.as_ref()) {
            (Some(policy), Some(roaming)) => match roaming.sovereignty.floor_policy(policy) {
                Ok(policy) => Some(policy),
                Err(e) => {
                    self.add(
                        KeyPath::root().key("sovereignty"),
                        raw.sovereignty.as_ref().map(|s| s.span()),
                        ProblemKind::BadValue(e.to_string()),
                    );
                    None
                }
            },
            (policy, _) => policy,
        };

        let radios = radios.into_iter().collect::<Option<Vec<_>>>()?;
        let board = match board {
            Some(b) => Some(b?),
            None => None,
        };
        // A radio without PEI is keyed and heard through the board alone.
        for (index, radio) in radios.iter().enumerate() {
            let driven = board
                .as_ref()
                .is_some_and(|b| b.port_of(radio.id).is_some());
            if radio.serial.is_none() && !driven {
                let span = raw
                    .radios
                    .items
                    .get(index)
                    .and_then(|r| r.as_ref())
                    .map(|r| r.span());
                self.add(
                    KeyPath::root().key("radios").index(index),
                    span,
                    ProblemKind::NoControl(radio.name.clone()),
                );
            }
        }
        if !self.problems.is_empty() {
            return None;
        }
        Some(Config {
            site: site?,
            radios,
            board,
            timers: timers?,
            playout: playout?,
            policy: policy?,
            gateway_radios: gateway_radios?,
            network: network?,
            peers: peers.into_iter().collect::<Option<Vec<_>>>()?,
            patches: patches?,
            api: match api {
                Some(a) => Some(a?),
                None => None,
            },
            state_file: match state_file {
                Some(s) => Some(s?),
                None => None,
            },
            roaming: roaming?,
        })
    }

    fn site(&mut self, raw: Option<&Spanned<SiteFile>>) -> Option<Site> {
        let Some(raw) = raw else {
            self.add(
                KeyPath::root().key("site"),
                None,
                ProblemKind::MissingKey(
                    "missing table `[site]` with this box's `id` (0-65535) and `name`".into(),
                ),
            );
            return None;
        };
        let path = KeyPath::root().key("site");
        let site = raw.get_ref();
        let id = self.site_id(path.key("id"), &site.id);
        let name = self.name(path.key("name"), &site.name);
        Some(Site {
            id: id?,
            name: name?,
        })
    }

    /// A full TSI on any network (the caller checks the MCC).
    fn tsi_any(&mut self, key: KeyPath, value: &Spanned<Digits>) -> Option<Tsi> {
        let digits = &value.get_ref().0;
        match PeiIdentity::parse(digits) {
            Ok(PeiIdentity::Tsi(tsi)) => Some(tsi),
            Ok(PeiIdentity::Ssi(_)) => {
                self.add(
                    key,
                    Some(value.span()),
                    ProblemKind::BareSsi(digits.clone()),
                );
                None
            }
            Err(error) => {
                self.add(
                    key,
                    Some(value.span()),
                    ProblemKind::BadIdentity {
                        value: digits.clone(),
                        error,
                    },
                );
                None
            }
        }
    }
}

/// Whether `s` is `host:port`: an IP socket address, or a DNS name and a port 1-65535.
fn is_host_port(s: &str) -> bool {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return addr.port() != 0;
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
    // RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        // All-numeric labels would be a mistyped IPv4 address, not a name.
        && !host.split('.').all(|label| label.chars().all(|c| c.is_ascii_digit()));
    port_ok && host_ok
}
