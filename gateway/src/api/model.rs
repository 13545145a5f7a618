//! The JSON documents of the control API, shared by the daemon that serves them and the
//! `borderlink` CLI that reads them, so the two cannot drift apart.
//!
//! Identities are written as PEI digit strings (`"02060000102061001"`), the form engineers
//! copy from radio programming tools and the config file; times as seconds from now, because
//! the daemon's monotonic clock means nothing to a client.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/status`: the whole site at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStatus {
    /// This site's id.
    pub site: u16,
    /// This site's name.
    pub name: String,
    /// The daemon's version.
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
    /// Every radio of the site, in config order.
    pub radios: Vec<RadioView>,
    /// The interface board, if the site has one.
    pub board: Option<BoardView>,
    /// The other border sites.
    pub peers: Vec<PeerView>,
    /// Patches in force.
    pub patches: usize,
    /// Relay counters since start.
    pub frames: FrameCounters,
}

/// One radio's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RadioView {
    /// Its name in the config.
    pub name: String,
    /// `ASTRID` or `C2000`.
    pub network: String,
    /// `disconnected`, `initialising`, `ready` or `recovering`.
    pub state: String,
    /// The identity the radio reported (PEI digits), once checked.
    pub identity: Option<String>,
    /// The group it works on (PEI digits).
    pub group: String,
    /// Last reported signal strength in dBm.
    pub signal_dbm: Option<i16>,
    /// Transmit demanded or granted.
    pub transmitting: bool,
    /// Receiving a call another party talks on.
    pub receiving: bool,
    /// Seconds this radio has been keyed since the daemon started.
    pub ptt_seconds: f64,
    /// Audio frames dropped between the radio's audio backend and the engine since the
    /// daemon started, by cause (the engine's own drops are in `frames`).
    #[serde(default)]
    pub frames_dropped: crate::audio::drops::AudioDropCounts,
    /// Its registration on the network as it last said (`registered_home`,
    /// `registered_roaming`, `not_registered`, `searching`, `denied`, `unknown`, or `code_<n>`
    /// for a code outside the table); absent when not asked or not answered. A radio that is
    /// not registered is down whatever `state` says.
    #[serde(default)]
    pub registration: Option<String>,
    /// What the radio said about itself at initialisation (radios with a PEI).
    #[serde(default)]
    pub identification: Option<RadioIdentView>,
    /// End-to-end encryption of the call the radio is in, as it reported it: `clear`,
    /// `end_to_end`, or `code_<n>` for a value outside the table; absent when in no call.
    #[serde(default)]
    pub call_encryption: Option<String>,
}

/// A radio's maker, model, software and groups as it reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadioIdentView {
    /// `+GMI`.
    pub manufacturer: Option<String>,
    /// `+GMM`.
    pub model: Option<String>,
    /// `+GMR`.
    pub revision: Option<String>,
    /// The groups among its static identities (`+CNUMS`), PEI digits.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The interface board's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardView {
    /// The link to the board is up (handshake done, heartbeats answered).
    pub up: bool,
    /// The board's firmware version, once known.
    pub firmware: Option<String>,
    /// Per configured port: which radio, PTT asked for and PTT the board reports.
    pub ports: Vec<BoardPortView>,
    /// Frames with a bad CRC or framing since start.
    pub link_errors: u64,
    /// Commands resent after an ack timeout since start.
    pub retransmissions: u64,
}

/// One board port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardPortView {
    /// The port number.
    pub port: u8,
    /// The radio it drives.
    pub radio: String,
    /// The daemon wants PTT on.
    pub ptt_requested: bool,
    /// What the board last reported (`None` until it did).
    pub ptt: Option<bool>,
    /// The board reports another PTT or COR polarity than the config: the port is never keyed.
    pub polarity_mismatch: bool,
}

/// Another border site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerView {
    /// Its site id.
    pub site: u16,
    /// Its name.
    pub name: String,
    /// Its voice address as configured.
    pub address: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// Last measured round-trip time in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Counters of the link, by name.
    pub counters: std::collections::BTreeMap<String, u64>,
}

/// The relay engine's frame counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameCounters {
    /// Voice frames that entered the engine.
    pub received: u64,
    /// Frames handed on (to a radio, a peer or a console).
    pub delivered: u64,
    /// Gaps filled for the listener.
    pub concealed: u64,
    /// Frames dropped, by cause (`late`, `duplicate`, ...).
    pub dropped: std::collections::BTreeMap<String, u64>,
}

/// A patch as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchView {
    /// The patch's id, for `PUT`/`DELETE /api/v1/patches/{id}`.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// `static` (config file) or `dynamic` (API).
    pub kind: String,
    /// Who created a dynamic patch.
    pub created_by: Option<String>,
    /// The talkgroups joined.
    pub channels: Vec<ChannelBody>,
    /// The dispatch consoles joined.
    pub consoles: Vec<ConsoleBody>,
    /// Seconds until it expires, if it has a lifetime.
    pub expires_in_s: Option<f64>,
    /// Seconds until it dissolves for inactivity, if it has a timeout.
    pub inactive_in_s: Option<f64>,
    /// Who holds its floor now, if anyone.
    pub talker: Option<TalkerView>,
}

/// A patch definition in a request: `POST /api/v1/patches`, `PUT /api/v1/patches/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The name dispatchers see; not blank.
    pub name: String,
    /// The talkgroups to join, each at one site.
    pub channels: Vec<ChannelBody>,
    /// The dispatch consoles to join.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consoles: Vec<ConsoleBody>,
    /// The patch dissolves this long after creation or the last change (`"2h"`, `"30min"`);
    /// absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<String>,
    /// The patch dissolves after this long without traffic; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_timeout: Option<String>,
}

/// A talkgroup at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// The site whose gateway has a radio on the group.
    pub site: u16,
    /// `ASTRID` or `C2000`.
    pub network: String,
    /// The group's GTSI as PEI digits.
    pub group: String,
}

/// A dispatch console at a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleBody {
    /// The site the console is connected to.
    pub site: u16,
    /// The console's id at that site.
    pub console: u16,
}

/// Who holds a patch's floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TalkerView {
    /// The talker's identity (PEI digits), when the radio said.
    pub talker: Option<String>,
    /// The talker's call sign from the alias table, if any.
    pub alias: Option<String>,
    /// `ASTRID`, `C2000`, or `None` for a dispatch console.
    pub network: Option<String>,
    /// The site the transmission entered the system at.
    pub origin_site: u16,
    /// The call's priority, 0-15.
    pub priority: u8,
    /// An emergency call.
    pub emergency: bool,
}

/// `GET /api/v1/talkers`: the floor of every patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchTalkers {
    /// The patch's id.
    pub patch: u32,
    /// Its name.
    pub name: String,
    /// The holder, if anyone talks.
    pub talker: Option<TalkerView>,
}

/// `POST /api/v1/patches/{id}/release`: what was cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Released {
    /// The patch.
    pub patch: u32,
    /// The transmission that lost the floor, if one held it.
    pub released: Option<TalkerView>,
}

/// `GET /api/v1/board/firmware`: the board's firmware and the last update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareView {
    /// What the board runs, once the link is up (`1.2.0 (slot A)`).
    pub running: Option<String>,
    /// `idle` (no update since start), `running`, `done` or `failed`.
    pub state: String,
    /// The version being (or last) installed.
    pub target: Option<String>,
    /// Which of the file's images is being (or was last) sent: the slot it is linked for,
    /// `A`, `B` or `any`.
    #[serde(default)]
    pub variant: Option<String>,
    /// The security version of the image being (or last) installed (0 for a legacy file).
    #[serde(default)]
    pub security_version: Option<u32>,
    /// Whether that update carried the engineer's anti-rollback override.
    #[serde(default)]
    pub allow_rollback: bool,
    /// The last step reported: `erasing`, `sending`, `verifying`, `committing`, `rebooting`,
    /// `done`, `failed`.
    pub step: Option<String>,
    /// Image bytes the board has acknowledged.
    pub acked: u32,
    /// Image size.
    pub size: u32,
    /// Why it failed.
    pub error: Option<String>,
}

/// `GET /api/v1/roaming`: the mirrors and the latest roaming events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoamingView {
    /// Every configured mirror.
    pub mirrors: Vec<MirrorStateView>,
    /// The latest events, oldest first (requests with who asked, mirrors up and down,
    /// emergencies).
    pub events: Vec<RoamingEventView>,
}

/// One mirror's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorStateView {
    /// Its name.
    pub name: String,
    /// Its patch's id while up.
    pub patch: Option<u32>,
    /// Something (a schedule, a request, a unit in a zone) holds it up.
    pub held: bool,
    /// Units inside one of its zones.
    pub units_in_zone: usize,
    /// The sovereignty rule that forbids it, if one does.
    pub forbidden: Option<String>,
}

/// One roaming event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoamingEventView {
    /// Wall-clock time, RFC 3339 UTC.
    pub time: String,
    /// What happened, for people.
    pub event: String,
    /// For a report on a text reply to a unit: what became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<ReplyDeliveryView>,
}

/// What became of a text reply to a unit (an SDS-TL delivery report, or none in time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyDeliveryView {
    /// The unit's TSI.
    pub unit: String,
    /// Its call sign, if the alias table has one.
    pub call_sign: Option<String>,
    /// The reply's SDS-TL message reference.
    pub reference: u8,
    /// `delivered`, `stored` (the network keeps it for later), `failed` or `not_confirmed`.
    pub outcome: String,
    /// The delivery status octet (EN 300 392-2 table 29.16), when a report came.
    pub status: Option<u8>,
    /// The status explained.
    pub status_text: Option<String>,
}

/// Every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What is wrong, in words.
    pub error: String,
    /// The request field at fault (`channels[1].group`), when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
