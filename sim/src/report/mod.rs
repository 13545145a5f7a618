//! What a run found: per transmission who talked, where it came out, how late and how whole;
//! how long any transmitter was keyed; and whether anything got stuck, echoed or looped.
//!
//! The report is plain data with a text form for people ([`Report::text`]) and a JSON form for
//! tests ([`Report::json`]). Times are integer microseconds from the start of the run, so the
//! same run gives the same bytes. Every check the end-to-end tests make is on this report.

mod text;

pub(crate) use text::secs as text_secs;

use serde::Serialize;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// `fast` (in-process, virtual time) or `realtime` (real daemons).
    pub mode: String,
    /// The seed of the run.
    pub seed: u64,
    /// How long the run lasted, µs.
    pub duration_us: u64,
    /// Every key-up, in order.
    pub transmissions: Vec<TransmissionReport>,
    /// PTT holds.
    pub ptt: PttReport,
    /// Transmitters keyed too long or left keyed (empty: none).
    pub stuck_ptt: Vec<String>,
    /// Transmissions that came back out on their own network (empty: none).
    pub echoes: Vec<String>,
    /// Transmissions put on one group by two radios at once (empty: none).
    pub loops: Vec<String>,
    /// Patched groups a transmission never reached (empty: all reached).
    pub undelivered: Vec<String>,
    /// Gateways killed, and how soon their boards released PTT.
    pub kills: Vec<KillReport>,
    /// IP partitions, and how soon the radios transmitting across them were released.
    pub partitions: Vec<PartitionReport>,
    /// Frames gateways played into radios that were not transmitting, per radio.
    pub played_off_air: Vec<String>,
    /// The IP paths between sites, per direction.
    pub links: Vec<LinkReport>,
    /// The gateways' own counters (fast mode).
    pub gateways: Vec<GatewayReport>,
    /// What happened, in order.
    pub timeline: Vec<TimelineEntry>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// When, µs from the start.
    pub at_us: u64,
    /// What.
    pub text: String,
}

/// One key-up of a field unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransmissionReport {
    /// Its number in the run.
    pub number: u32,
    /// The unit's name.
    pub talker: String,
    /// The unit's identity.
    pub identity: String,
    /// The network it talked on.
    pub network: String,
    /// The group it talked on.
    pub group: String,
    /// Call priority (15: emergency).
    pub priority: u8,
    /// An emergency call.
    pub emergency: bool,
    /// PTT pressed, µs.
    pub pressed_us: u64,
    /// PTT let go, µs.
    pub released_us: u64,
    /// When its own network granted it, µs.
    pub granted_us: Option<u64>,
    /// What became of it on its own network.
    pub outcome: String,
    /// Frames spoken on air.
    pub spoken_frames: u32,
    /// The patched groups it should reach.
    pub expected: Vec<String>,
    /// Where it came out.
    pub paths: Vec<PathReport>,
}

impl TransmissionReport {
    /// Whether it reached every expected group, every frame in order, within its budget,
    /// losing at most `max_loss` (0 to 1) of its frames on each path.
    pub fn delivered_in_order(&self, max_loss: f64) -> bool {
        let reached = self
            .expected
            .iter()
            .all(|g| self.paths.iter().any(|p| &p.group == g));
        reached
            && self.paths.iter().all(|p| {
                p.in_order
                    && p.within_budget
                    && f64::from(p.lost) <= max_loss * f64::from(self.spoken_frames)
            })
    }
}

/// A transmission as it came out on one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathReport {
    /// The group it was transmitted on.
    pub group: String,
    /// Its network.
    pub network: String,
    /// The gateway radios that transmitted it (`site/radio`).
    pub radios: Vec<String>,
    /// Spoken frames that came out.
    pub heard: u32,
    /// Spoken frames that never came out.
    pub lost: u32,
    /// Frames that came out later than the budget allows.
    pub late: u32,
    /// Frames the gateway synthesised (concealment, comfort silence).
    pub concealed: u32,
    /// Frames that came out twice.
    pub duplicates: u32,
    /// Frames that came out after a later one.
    pub order_violations: u32,
    /// Mouth-to-ear latency of the first frame heard, µs (includes the grant wait).
    pub m2e_first_us: u64,
    /// Median mouth-to-ear latency, µs.
    pub m2e_p50_us: u64,
    /// 95th percentile mouth-to-ear latency, µs.
    pub m2e_p95_us: u64,
    /// Largest mouth-to-ear latency, µs.
    pub m2e_max_us: u64,
    /// How long the transmitting radio's grant came after the audio could have played, µs.
    pub grant_hold_us: u64,
    /// Air and IP transit the path cannot avoid, µs.
    pub path_us: u64,
    /// What the gateways added: p95 mouth-to-ear minus path and grant hold, µs.
    pub added_us: u64,
    /// The budget for `added_us`: jitter p95 of the IP path plus 40 ms.
    pub budget_us: u64,
    /// `added_us <= budget_us`.
    pub within_budget: bool,
    /// No order violation.
    pub in_order: bool,
}

/// PTT holds, from the boards' PTT lines and the radios' transmit state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PttReport {
    /// The longest hold of any line or radio, µs.
    pub longest_hold_us: u64,
    /// Which line or radio that was.
    pub longest_hold: String,
    /// Per board PTT line.
    pub board_lines: Vec<HoldReport>,
    /// Per gateway radio (transmit granted to ceased).
    pub radios: Vec<HoldReport>,
}

/// The holds of one line or radio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldReport {
    /// `site/radio` (and port for a board line).
    pub name: String,
    /// Times keyed.
    pub keyed: u32,
    /// Longest single hold, µs.
    pub longest_us: u64,
    /// Keyed when the run ended.
    pub keyed_at_end: bool,
}

/// A gateway killed during the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillReport {
    /// The site.
    pub site: u16,
    /// When, µs.
    pub at_us: u64,
    /// Board ports keyed at that moment.
    pub keyed_ports: Vec<usize>,
    /// How long after the kill the last of them was released, µs (`None`: never).
    pub released_after_us: Option<u64>,
    /// How long after the host's last bytes to the board they were released, µs: what the
    /// board's watchdog promises to keep within 500 ms.
    pub silence_to_release_us: Option<u64>,
    /// When it was restarted, µs.
    pub restarted_us: Option<u64>,
    /// The site's gateway radios on the air (as the SwMI saw them) at the kill.
    pub on_air: Vec<String>,
    /// How long after the kill the SwMI saw the last of them stop transmitting, µs (`None`:
    /// never). Radios keyed over PEI do not stop with their PTT line: the board has to switch
    /// them off.
    pub air_released_after_us: Option<u64>,
}

/// An IP partition between two sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    /// The two sites.
    pub sites: [u16; 2],
    /// When the cut began, µs.
    pub at_us: u64,
    /// Gateway radios transmitting when it began.
    pub keyed: Vec<String>,
    /// How long after the cut the last of them stopped, µs (`None`: one never did).
    pub released_after_us: Option<u64>,
}

/// One direction of an IP path between sites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// From site.
    pub from: u16,
    /// To site.
    pub to: u16,
    /// Packets offered.
    pub sent: u64,
    /// Packets delivered (copies included).
    pub delivered: u64,
    /// Lost by the loss model.
    pub lost: u64,
    /// Extra copies.
    pub duplicated: u64,
    /// Delivered after a packet sent later.
    pub reordered: u64,
    /// Dropped in a partition.
    pub partitioned: u64,
}

/// A gateway's own frame counters at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayReport {
    /// The site.
    pub site: u16,
    /// Frames received from radios, peers and consoles.
    pub received: u64,
    /// Frames played into radios.
    pub delivered: u64,
    /// Frames dropped, by cause (`cause=n`, only non-zero ones).
    pub dropped: Vec<String>,
    /// Frames synthesised.
    pub concealed: u64,
}

impl Report {
    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report for people (the timeline is printed while running, not here).
    pub fn text(&self) -> String {
        text::render(self)
    }

    /// Whether the run is clean: nothing stuck, echoed, looped or undelivered.
    pub fn clean(&self) -> bool {
        self.stuck_ptt.is_empty()
            && self.echoes.is_empty()
            && self.loops.is_empty()
            && self.undelivered.is_empty()
    }
}
