//! What is wrong with a configuration file, and where: every problem names the file, the key
//! path (`radios[1].issi`), the line and column, and what was expected.
//!
//! The TOML parser and serde report byte spans; [`Location::of`] turns a span into a line and
//! column and [`locate`] into the key path of the deepest key or value that holds it, so a
//! syntax, type or unknown-key error and a semantic error read the same way:
//!
//! ```text
//! site.toml:14:8: radios[1].issi: identity 204-1-9000002 has MCC 204, but the radio is on ASTRID (MCC 206)
//! ```

use core::fmt;
use core::ops::Range;

/// The serial rates a port may be set to.
pub(super) const STANDARD_BAUDS: [u32; 11] = [
    1_200, 2_400, 4_800, 9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

/// [`STANDARD_BAUDS`] in words, for messages.
pub(super) const STANDARD_BAUDS_TEXT: &str =
    "1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600";

use borderlink_protocol::ids::{IdError, Network, Tsi};
use borderlink_protocol::time::Duration;
use thiserror::Error;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::duration::DurationError;
use crate::engine::patch::{Channel, PatchError};

/// Why a configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration: {source}")]
    Read {
        /// The path as given.
        file: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{0}")]
    Invalid(Problems),
}

impl ConfigError {
    /// The problems found, if the file was read; empty for a read error.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid(problems) => problems.as_slice(),
        }
    }
}

/// Every problem found in one file, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Problems sorted by position (those without one last), keeping the order found between
    /// problems at the same position.
    pub(super) fn new(mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| p.location.map_or((usize::MAX, 0), |l| (l.line, l.column)));
        Problems(problems)
    }

    /// The problems, in file order.
    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            problem.fmt(f)?;
        }
        Ok(())
    }
}

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file (or other origin) the text came from.
    pub file: String,
    /// Where in the file, if the problem has a place (a missing table has none).
    pub location: Option<Location>,
    /// The key it concerns, e.g. `radios[1].issi`; empty for a syntax error between keys.
    pub key: KeyPath,
    /// What is wrong and what was expected.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    /// `file:line:column: key: message`, leaving out what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(Location { line, column }) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// A position in a file, both counted from 1; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number.
    pub line: usize,
    /// Column number.
    pub column: usize,
}

impl Location {
    /// The position of byte `offset` in `text` (clamped to the text, and to a character
    /// boundary, so a span from anywhere never panics).
    pub fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// The path of a key in the file, written as TOML readers expect: `radios[1].issi`,
/// `board.ports[0].radio`, `"odd key"` quoted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(String);

impl KeyPath {
    /// The document root (an empty path).
    pub fn root() -> Self {
        KeyPath::default()
    }

    /// This path followed by a table key.
    pub fn key(&self, key: &str) -> Self {
        let bare = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let mut path = self.0.clone();
        if !path.is_empty() {
            path.push('.');
        }
        if bare {
            path.push_str(key);
        } else {
            path.push_str(&format!("{key:?}"));
        }
        KeyPath(path)
    }

    /// This path followed by an array index.
    pub fn index(&self, index: usize) -> Self {
        KeyPath(format!("{}[{index}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong, and what was expected. Each variant is one class of error.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProblemKind {
    /// The text is not TOML.
    #[error("TOML syntax: {0}")]
    Syntax(String),
    /// A key the configuration does not have (often a typo).
    #[error("{0}")]
    UnknownKey(String),
    /// A required key is missing.
    #[error("{0}")]
    MissingKey(String),
    /// A value of the wrong TOML type.
    #[error("{0}")]
    WrongType(String),
    /// A value the schema refuses for another reason (an unknown keyword, a number too big
    /// for its type).
    #[error("{0}")]
    BadValue(String),
    /// A name or device that is empty.
    #[error("must not be empty")]
    Blank,
    /// A serial device or a file that is not an absolute path.
    #[error(
        "`{0}` is not an absolute path (e.g. \"/dev/ttyUSB0\" for a port, \"/var/lib/borderlink/state.json\" for a file)"
    )]
    NotAbsolutePath(String),
    /// A baud rate that is not a standard serial rate.
    #[error("{0} baud is not a standard rate: expected one of {list}", list = STANDARD_BAUDS_TEXT)]
    Baud(i64),
    /// A number outside its range.
    #[error("{value} is out of range: expected {expected}")]
    OutOfRange {
        /// The value given.
        value: String,
        /// The accepted range, in words.
        expected: String,
    },
    /// A digit string that is not a TETRA identity.
    #[error(
        "`{value}` is not a TETRA identity: {error}; expected the full TSI as PEI digits, e.g. \"02060000102061001\""
    )]
    BadIdentity {
        /// The string given.
        value: String,
        /// Why it does not parse.
        error: IdError,
    },
    /// A bare SSI where the full TSI is needed.
    #[error(
        "`{0}` is a bare SSI; write the full TSI (MCC, MNC and SSI as 16 or 17 PEI digits) so its network is known"
    )]
    BareSsi(String),
    /// An identity whose country code is not the declared network's.
    #[error(
        "identity {identity} has MCC {}, but {network} identities have MCC {}",
        identity.mcc().get(), network.mcc().get()
    )]
    NetworkMismatch {
        /// The identity.
        identity: Tsi,
        /// The network declared for it.
        network: Network,
    },
    /// An identity on neither bridged network.
    #[error(
        "identity {tsi} has MCC {mcc}, which is neither ASTRID's (206) nor C2000's (204)",
        tsi = .0, mcc = .0.mcc().get()
    )]
    ForeignNetwork(Tsi),
    /// A duration string that does not parse.
    #[error(
        "`{value}` is not a duration: {error}; expected a number and a unit, e.g. \"1.5s\", \"500ms\", \"2min\""
    )]
    BadDuration {
        /// The string given.
        value: String,
        /// Why it does not parse.
        error: DurationError,
    },
    /// A duration outside its range.
    #[error("{} is out of range: expected {expected}", Human(*.value))]
    DurationRange {
        /// The value given.
        value: Duration,
        /// The accepted range, in words.
        expected: String,
    },
    /// A network address that does not parse.
    #[error("`{value}` is not a valid address: expected {expected}")]
    BadAddress {
        /// The string given.
        value: String,
        /// The expected form.
        expected: &'static str,
    },
    /// Something that must be unique is used twice.
    #[error("{what} `{value}` is already used by {first}")]
    Duplicate {
        /// What it is (radio name, serial device, …).
        what: &'static str,
        /// The value.
        value: String,
        /// Where it was first used (key path and line).
        first: String,
    },
    /// A radio with no audio backend.
    #[error(
        "no audio backend: give `alsa = \"hw:1,0\"` or `udp = {{ listen = \"127.0.0.1:5100\", peer = \"127.0.0.1:5101\", format = \"rtp\" }}`"
    )]
    NoAudio,
    /// A radio with no PEI port and no board port: nothing could key it or hear it.
    #[error(
        "this radio has no `serial` (PEI) port, so it must be driven by the interface board: \
         add a [[board.ports]] entry with `radio = \"{0}\"` (its PTT and COR lines), or give `serial`"
    )]
    NoControl(String),
    /// A radio with two audio backends.
    #[error("both `alsa` and `udp` given: a radio has exactly one audio backend")]
    TwoAudio,
    /// A reference to a radio that is not configured.
    #[error("no radio is named `{name}`: expected one of {known}")]
    UnknownRadio {
        /// The name given.
        name: String,
        /// The configured names.
        known: String,
    },
    /// A channel at this site that no local radio can carry.
    #[error(
        "no radio of this site selects {network} group {group} (a channel at this site needs a radio with that `network` and `group`)",
        network = .0.network, group = .0.group
    )]
    ChannelNotServed(Channel),
    /// A site id that is neither this site nor a peer.
    #[error("site {site} is neither this site ({own}) nor a configured peer")]
    UnknownSite {
        /// The site id given.
        site: u16,
        /// This site's id.
        own: u16,
    },
    /// A peer with this site's own id.
    #[error("peer site id {0} is this site's own id (`site.id`)")]
    OwnSite(u16),
    /// A static patch the engine refuses.
    #[error("{0}")]
    Patch(PatchError),
    /// A talkgroup in two static patches.
    #[error(
        "{} group {group} is already in patch `{other}`: a talkgroup can be in one patch only",
        .group.network().map_or("the", |n| n.name())
    )]
    GroupInTwoPatches {
        /// The group.
        group: Tsi,
        /// The patch that has it first.
        other: String,
    },
    /// Timers that let the radio transmit past the board's own cap.
    #[error(
        "tx_timeout ({}) + hang_time ({}) exceed the board's {} PTT cap: the daemon must release a radio before the board does",
        Human(*.tx_timeout), Human(*.hang_time), Human(*.cap)
    )]
    BeyondBoardCap {
        /// `timers.tx_timeout`.
        tx_timeout: Duration,
        /// `timers.hang_time`.
        hang_time: Duration,
        /// The board's cap.
        cap: Duration,
    },
    /// A continuous air-time cap shorter than one over and its hang time.
    #[error(
        "max_continuous ({}) is shorter than tx_timeout ({}) + hang_time ({}): one over would be cut by the continuous cap before its own TX timeout; raise max_continuous or lower tx_timeout",
        Human(*.max_continuous), Human(*.tx_timeout), Human(*.hang_time)
    )]
    ContinuousBelowOver {
        /// `timers.max_continuous`.
        max_continuous: Duration,
        /// `timers.tx_timeout`.
        tx_timeout: Duration,
        /// `timers.hang_time`.
        hang_time: Duration,
    },
    /// Playout-delay bounds out of order.
    #[error(
        "playout delay bounds must satisfy min <= initial <= max, got {}, {}, {}",
        Human(*.min), Human(*.initial), Human(*.max)
    )]
    PlayoutOrder {
        /// `playout.min`.
        min: Duration,
        /// `playout.initial`.
        initial: Duration,
        /// `playout.max`.
        max: Duration,
    },
    /// A mirror whose home and mirror groups are on the same network.
    #[error(
        "home and mirror are both on {0}: a mirror joins a group on ASTRID with one on C2000 (patching two groups of one network is the SwMI's job)"
    )]
    MirrorSameNetwork(Network),
    /// A group a sovereignty rule does not allow to be patched.
    #[error(
        "{network} group {group} is not in `sovereignty.{network}.allowed_groups`: a group not allowed is never patched"
    )]
    GroupNotAllowed {
        /// The group.
        group: Tsi,
        /// Its network.
        network: Network,
    },
    /// A zone naming a mirror that is not configured.
    #[error("no mirror is named `{name}`: expected {known}")]
    UnknownMirror {
        /// The name given.
        name: String,
        /// The configured names, in words.
        known: String,
    },
    /// A zone shape that cannot be used.
    #[error("{0}")]
    Geometry(String),
    /// No radio at all.
    #[error("no radio configured: a border site drives at least one (add a `[[radios]]` table)")]
    NoRadios,
}

/// A duration as people write it in the file: `180 s`, `1500 ms`, `250 us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Human(pub(super) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us.is_multiple_of(1_000_000) {
            write!(f, "{} s", us / 1_000_000)
        } else if us.is_multiple_of(1_000) {
            write!(f, "{} ms", us / 1_000)
        } else {
            write!(f, "{us} us")
        }
    }
}

impl ProblemKind {
    /// Sorts a TOML/serde message into its class, rewording serde's "field" as "key".
    pub(super) fn from_toml(message: &str) -> Self {
        if let Some(rest) = message.strip_prefix("unknown field") {
            ProblemKind::UnknownKey(format!("unknown key{rest}"))
        } else if let Some(rest) = message.strip_prefix("missing field") {
            ProblemKind::MissingKey(format!("missing key{rest}"))
        } else if message.starts_with("invalid type") || message.starts_with("wanted ") {
            ProblemKind::WrongType(message.to_owned())
        } else {
            ProblemKind::BadValue(message.to_owned())
        }
    }
}

/// The key path of the deepest key or value in `root` whose span holds `span.start`; the
/// root path if none does.
pub(super) fn locate(root: &DeTable<'_>, span: &Range<usize>) -> KeyPath {
    let mut path = KeyPath::root();
    locate_in_table(root, span.start, &mut path);
    path
}

fn holds(span: Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end
}

fn locate_in_table(table: &DeTable<'_>, offset: usize, path: &mut KeyPath) -> bool {
    for (key, value) in table.iter() {
        let inner = path.key(key.get_ref());
        if holds(key.span(), offset) {
            *path = inner;
            return true;
        }
        let mut deeper = inner.clone();
        if locate_in_value(value, offset, &mut deeper) {
            *path = deeper;
            return true;
        }
        if holds(value.span(), offset) {
            *path = inner;
            return true;
        }
    }
    false
}

fn locate_in_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut KeyPath) -> bool {
    match value.get_ref() {
        DeValue::Table(table) => locate_in_table(table, offset, path),
        DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                let mut inner = path.index(index);
                // An array-of-tables element's own span is its `[[header]]` only; its keys
                // lie after it, so look inside before looking at the span.
                if locate_in_value(element, offset, &mut inner) || holds(element.span(), offset) {
                    *path = inner;
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}
