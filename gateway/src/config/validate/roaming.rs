//! `[[mirrors]]`, `[[zones]]`, `[triggers]`, `[sovereignty]` and `[aliases]`: semi-roaming, as
//! the [`Roaming`](crate::roaming::Roaming) state machine's configuration and the sovereignty
//! limits folded into the floor policy.
//!
//! Rules checked here beyond each value's own: a mirror joins the two networks; a channel at
//! this site needs a radio on its group; a talkgroup is in one mirror and not also in a static
//! patch; a scheduled mirror has windows and only a scheduled one does; a zone names mirrors
//! that exist; a mirror's groups are allowed by sovereignty (a group not allowed is never
//! patched, so a mirror of one is a mistake worth stopping on); status values come from the
//! range the standard leaves to networks and mean one thing each.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::sds::Status;
use borderlink_protocol::time::Duration;
use toml::Spanned;

use super::{RawFile, Report, Section};
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{
    Digits, GroupRuleFile, MirrorFile, ModeWord, PolygonFile, ReplyWord, SideFile, SovereigntyFile,
    TriggerWord, TriggersFile, ZoneFile,
};
use crate::config::{Peer, Radio, Site};
use crate::engine::patch::PatchSpec;
use crate::engine::policy::{EmergencyRule, SourceLimits};
use crate::roaming::geo::{Area, GeoError, LatLon, Polygon, Ring};
use crate::roaming::schedule::{Schedule, TimeWindow};
use crate::roaming::{
    Aliases, GroupRules, Mirror, MirrorId, MirrorMode, NetworkRules, ReplyStyle, Sovereignty,
    StatusTriggers, Triggers, Zone,
};

/// One activation's default length.
const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 60);
/// Default inactivity timeout of a lapsing mirror.
const DEFAULT_INACTIVITY: Duration = Duration::from_secs(5 * 60);
/// Default hysteresis margin.
const DEFAULT_EXIT_MARGIN_M: f64 = 100.0;
/// Default minimum stay in a zone.
const DEFAULT_MIN_DWELL: Duration = Duration::from_secs(30);
/// Longest call sign shown.
const MAX_CALL_SIGN: usize = 32;

/// The `(network, group)` pairs of the static patches, to keep mirrors off them.
type PatchGroups = HashMap<Tsi, String>;

impl Report<'_> {
    /// Every roaming section; `None` if one is broken.
    pub(super) fn roaming(
        &mut self,
        raw: &RawFile,
        site: Option<&Site>,
        radios: &[Option<Radio>],
        peers: &[Option<Peer>],
        patches: Option<&[PatchSpec]>,
    ) -> Option<crate::roaming::RoamingConfig> {
        let sovereignty = self.sovereignty(raw.sovereignty.as_ref());
        if let (Some(sovereignty), Some(patches)) = (sovereignty.as_ref(), patches) {
            self.static_patches_allowed(raw, patches, sovereignty);
        }
        let mirrors = self.mirrors(raw, site, radios, peers, patches, sovereignty.as_ref());
        let zones = self.zones(&raw.zones, mirrors.as_deref());
        let triggers = self.triggers(raw.triggers.as_ref());
        let aliases = self.aliases(raw.aliases.as_ref());
        Some(crate::roaming::RoamingConfig {
            mirrors: mirrors?,
            zones: zones?,
            triggers: triggers?,
            sovereignty: sovereignty?,
            aliases: aliases?,
            max_units: crate::roaming::RoamingConfig::DEFAULT_MAX_UNITS,
        })
    }

    /// A group a country does not allow is never patched: not by roaming, not by dispatch, and
    /// not by the config file either (the file is the site's agreement with its neighbours, and
    /// this rule is part of that agreement). `creators` does not apply here: the file is both
    /// countries' word, not one dispatcher's.
    fn static_patches_allowed(
        &mut self,
        raw: &RawFile,
        patches: &[PatchSpec],
        sovereignty: &Sovereignty,
    ) {
        // `patches` is complete only when every raw item was valid, so the indices agree.
        for (index, (spec, item)) in patches.iter().zip(&raw.patches.items).enumerate() {
            let Some(item) = item else { continue };
            for (i, (channel, raw_channel)) in spec
                .channels
                .iter()
                .zip(&item.get_ref().channels)
                .enumerate()
            {
                if !sovereignty.allows_group(channel.network, channel.group) {
                    self.add(
                        KeyPath::root()
                            .key("patches")
                            .index(index)
                            .key("channels")
                            .index(i)
                            .key("group"),
                        Some(raw_channel.get_ref().group.span()),
                        ProblemKind::GroupNotAllowed {
                            group: channel.group,
                            network: channel.network,
                        },
                    );
                }
            }
        }
    }

    // ---- [sovereignty] -------------------------------------------------------------------

    fn sovereignty(&mut self, raw: Option<&Spanned<SovereigntyFile>>) -> Option<Sovereignty> {
        let empty = SovereigntyFile::default();
        let s = raw.map_or(&empty, |r| r.get_ref());
        let path = KeyPath::root().key("sovereignty");
        let rule = s
            .emergencies
            .as_ref()
            .map_or(EmergencyRule::FirstHolds, |r| r.get_ref().0);
        let astrid = self.side(path.key("ASTRID"), Network::Astrid, s.astrid.as_ref());
        let c2000 = self.side(path.key("C2000"), Network::C2000, s.c2000.as_ref());
        let mut seen = HashMap::new();
        let mut groups = Vec::with_capacity(s.groups.len());
        let mut ok = true;
        for (index, item) in s.groups.iter().enumerate() {
            let path = path.key("groups").index(index);
            match self.group_rule(&path, item.get_ref()) {
                Some(rule) => {
                    if self.unique(
                        &mut seen,
                        rule.group,
                        "group rule",
                        rule.group.to_string(),
                        path.key("group"),
                        item.get_ref().group.span(),
                    ) {
                        groups.push(rule);
                    } else {
                        ok = false;
                    }
                }
                None => ok = false,
            }
        }
        let (astrid, c2000) = (astrid?, c2000?);
        ok.then(|| Sovereignty::new(astrid, c2000, groups, rule))
    }

    fn side(
        &mut self,
        path: KeyPath,
        network: Network,
        raw: Option<&Spanned<SideFile>>,
    ) -> Option<NetworkRules> {
        let Some(raw) = raw else {
            return Some(NetworkRules::default());
        };
        let s = raw.get_ref();
        let allowed = match &s.allowed_groups {
            None => Some(None),
            Some(list) => {
                let key = path.key("allowed_groups");
                let groups: Vec<Option<Tsi>> = list
                    .iter()
                    .enumerate()
                    .map(|(i, g)| self.tsi(key.index(i), g, Some(network)))
                    .collect();
                groups
                    .into_iter()
                    .collect::<Option<BTreeSet<Tsi>>>()
                    .map(Some)
            }
        };
        let foreign = self.foreign(&path, s.foreign_max_priority.as_ref(), s.foreign_emergency);
        Some(NetworkRules {
            allowed_groups: allowed?,
            foreign: foreign?.unwrap_or(SourceLimits::UNLIMITED),
            creators: s
                .creators
                .as_ref()
                .map_or_else(Default::default, |c| c.get_ref().0),
            field_triggers: s.field_triggers.unwrap_or(true),
        })
    }

    /// Foreign limits from `foreign_max_priority` and `foreign_emergency`, `None` inside if
    /// neither is given.
    fn foreign(
        &mut self,
        path: &KeyPath,
        priority: Option<&Spanned<i64>>,
        emergency: Option<bool>,
    ) -> Option<Option<SourceLimits>> {
        let max_priority = match priority {
            Some(p) => Some(self.priority(path.key("foreign_max_priority"), p)?),
            None => None,
        };
        if max_priority.is_none() && emergency.is_none() {
            return Some(None);
        }
        Some(Some(SourceLimits::new(
            max_priority.unwrap_or(SourceLimits::UNLIMITED.max_priority),
            emergency.unwrap_or(true),
        )))
    }

    fn group_rule(&mut self, path: &KeyPath, g: &GroupRuleFile) -> Option<GroupRules> {
        let group = self.tsi(path.key("group"), &g.group, None);
        let foreign = self.foreign(path, g.foreign_max_priority.as_ref(), g.foreign_emergency);
        Some(GroupRules {
            group: group?,
            foreign: foreign?,
            creators: g.creators.as_ref().map(|c| c.get_ref().0),
            field_triggers: g.field_triggers,
        })
    }

    // ---- [[mirrors]] ---------------------------------------------------------------------

    fn mirrors(
        &mut self,
        raw: &RawFile,
        site: Option<&Site>,
        radios: &[Option<Radio>],
        peers: &[Option<Peer>],
        patches: Option<&[PatchSpec]>,
        sovereignty: Option<&Sovereignty>,
    ) -> Option<Vec<Mirror>> {
        let known_sites: Option<Vec<_>> = match site {
            Some(site) if raw.peers.complete && peers.iter().all(Option::is_some) => Some(
                std::iter::once(site.id)
                    .chain(peers.iter().flatten().map(|p| p.site))
                    .collect(),
            ),
            _ => None,
        };
        let radios_known = raw.radios.complete && radios.iter().all(Option::is_some);
        let patch_groups: Option<PatchGroups> = patches.map(|ps| {
            ps.iter()
                .flat_map(|p| p.channels.iter().map(move |c| (c.group, p.name.clone())))
                .collect()
        });
        let mut names = HashMap::new();
        let mut groups: HashMap<Tsi, String> = HashMap::new();
        let mut mirrors = Vec::with_capacity(raw.mirrors.items.len());
        let mut ok = raw.mirrors.complete;
        for (index, item) in raw.mirrors.items.iter().enumerate() {
            let Some(item) = item else { continue };
            let path = KeyPath::root().key("mirrors").index(index);
            let m = item.get_ref();
            let name = self.name(path.key("name"), &m.name).filter(|n| {
                self.unique(
                    &mut names,
                    n.clone(),
                    "mirror name",
                    n.clone(),
                    path.key("name"),
                    m.name.span(),
                )
            });
            let home = self.channel(&path.key("home"), &m.home);
            let mirror = self.channel(&path.key("mirror"), &m.mirror);
            let mut consoles = Vec::with_capacity(m.consoles.len());
            for (i, c) in m.consoles.iter().enumerate() {
                consoles.push(self.console(&path.key("consoles").index(i), c));
            }
            let mut channels_ok = true;
            for (key, raw_channel, channel) in
                [("home", &m.home, home), ("mirror", &m.mirror, mirror)]
            {
                let Some(channel) = channel else { continue };
                let cpath = path.key(key);
                let c = raw_channel.get_ref();
                if channel.group.network() != Some(channel.network) {
                    self.add(
                        cpath.key("group"),
                        Some(c.group.span()),
                        ProblemKind::NetworkMismatch {
                            identity: channel.group,
                            network: channel.network,
                        },
                    );
                    channels_ok = false;
                    continue;
                }
                if let Some(site) = site
                    && channel.site == site.id
                    && radios_known
                    && !radios
                        .iter()
                        .flatten()
                        .any(|r| r.network == channel.network && r.group == channel.group)
                {
                    self.add(
                        cpath.clone(),
                        Some(raw_channel.span()),
                        ProblemKind::ChannelNotServed(channel),
                    );
                }
                self.known_site(
                    known_sites.as_deref(),
                    site,
                    channel.site,
                    cpath.key("site"),
                    c.site.span(),
                );
                if let Some(s) = sovereignty
                    && !s.allows_group(channel.network, channel.group)
                {
                    self.add(
                        cpath.key("group"),
                        Some(c.group.span()),
                        ProblemKind::GroupNotAllowed {
                            group: channel.group,
                            network: channel.network,
                        },
                    );
                }
                if let Some(other) = patch_groups.as_ref().and_then(|p| p.get(&channel.group)) {
                    self.add(
                        cpath.key("group"),
                        Some(c.group.span()),
                        ProblemKind::GroupInTwoPatches {
                            group: channel.group,
                            other: other.clone(),
                        },
                    );
                }
                if let Some(name) = &name {
                    match groups.get(&channel.group) {
                        Some(other) if other != name => self.add(
                            cpath.key("group"),
                            Some(c.group.span()),
                            ProblemKind::GroupInTwoPatches {
                                group: channel.group,
                                other: format!("mirror {other}"),
                            },
                        ),
                        _ => {
                            groups.insert(channel.group, name.clone());
                        }
                    }
                }
            }
            if let (Some(h), Some(mi)) = (home, mirror)
                && h.network == mi.network
            {
                self.add(
                    path.key("mirror").key("network"),
                    Some(m.mirror.get_ref().network.span()),
                    ProblemKind::MirrorSameNetwork(h.network),
                );
                channels_ok = false;
            }
            let mode = self.mode(&path, m);
            let triggers = match &m.triggers {
                None => Triggers::ALL,
                Some(list) => {
                    let mut t = Triggers {
                        status: false,
                        position: false,
                        dispatch: false,
                    };
                    for word in list.get_ref() {
                        match word.get_ref().0 {
                            TriggerWord::Status => t.status = true,
                            TriggerWord::Position => t.position = true,
                            TriggerWord::Dispatch => t.dispatch = true,
                        }
                    }
                    t
                }
            };
            let window = self.duration(
                path.key("window"),
                m.window.as_ref(),
                DEFAULT_WINDOW,
                Duration::from_secs(60)..=Duration::from_secs(24 * 3600),
            );
            let inactivity = self.duration(
                path.key("inactivity_timeout"),
                m.inactivity_timeout.as_ref(),
                DEFAULT_INACTIVITY,
                Duration::from_secs(10)..=Duration::from_secs(24 * 3600),
            );
            let built = (|| {
                Some(Mirror {
                    name: name?,
                    home: home?,
                    mirror: mirror?,
                    consoles: consoles.into_iter().collect::<Option<Vec<_>>>()?,
                    mode: mode?,
                    triggers,
                    window: window?,
                    inactivity_timeout: inactivity?,
                })
            })();
            match built {
                Some(mirror) if channels_ok => mirrors.push(mirror),
                _ => ok = false,
            }
        }
        ok.then_some(mirrors)
    }

    fn mode(&mut self, path: &KeyPath, m: &MirrorFile) -> Option<MirrorMode> {
        let word = m.mode.get_ref().0;
        match (word, m.schedule.is_empty()) {
            (ModeWord::Scheduled, true) => {
                self.add(
                    path.key("schedule"),
                    Some(m.mode.span()),
                    ProblemKind::MissingKey(
                        "a scheduled mirror needs `schedule = [\"Mon-Fri 07:00-19:00\", ...]` (local time, CET/CEST)".into(),
                    ),
                );
                None
            }
            (ModeWord::Scheduled, false) => {
                let windows: Vec<Option<TimeWindow>> = m
                    .schedule
                    .iter()
                    .enumerate()
                    .map(|(i, w)| match TimeWindow::parse(w.get_ref()) {
                        Ok(w) => Some(w),
                        Err(e) => {
                            self.add(
                                path.key("schedule").index(i),
                                Some(w.span()),
                                ProblemKind::BadValue(format!("`{}`: {e}", w.get_ref())),
                            );
                            None
                        }
                    })
                    .collect();
                let windows = windows.into_iter().collect::<Option<Vec<_>>>()?;
                Some(MirrorMode::Scheduled(Schedule::new(windows)))
            }
            (other, false) => {
                let first = &m.schedule[0];
                self.add(
                    path.key("schedule"),
                    Some(first.span()),
                    ProblemKind::BadValue(format!(
                        "a schedule only applies to `mode = \"scheduled\"`, this mirror is {}",
                        match other {
                            ModeWord::Permanent => "permanent",
                            _ => "on-demand",
                        }
                    )),
                );
                None
            }
            (ModeWord::Permanent, true) => Some(MirrorMode::Permanent),
            (ModeWord::OnDemand, true) => Some(MirrorMode::OnDemand),
        }
    }

    // ---- [[zones]] -----------------------------------------------------------------------

    fn zones(&mut self, raw: &Section<ZoneFile>, mirrors: Option<&[Mirror]>) -> Option<Vec<Zone>> {
        let mut names = HashMap::new();
        let mut zones = Vec::with_capacity(raw.items.len());
        let mut ok = raw.complete;
        for (index, item) in raw.items.iter().enumerate() {
            let Some(item) = item else { continue };
            let path = KeyPath::root().key("zones").index(index);
            let z = item.get_ref();
            let name = self.name(path.key("name"), &z.name).filter(|n| {
                self.unique(
                    &mut names,
                    n.clone(),
                    "zone name",
                    n.clone(),
                    path.key("name"),
                    z.name.span(),
                )
            });
            let mut ids = Vec::with_capacity(z.mirrors.len());
            let mut ids_ok = true;
            for (i, m) in z.mirrors.iter().enumerate() {
                match mirrors {
                    Some(list) => match list.iter().position(|x| x.name == *m.get_ref()) {
                        Some(at) => ids.push(MirrorId(u16::try_from(at).unwrap_or(u16::MAX))),
                        None => {
                            let known = list
                                .iter()
                                .map(|x| format!("`{}`", x.name))
                                .collect::<Vec<_>>()
                                .join(", ");
                            self.add(
                                path.key("mirrors").index(i),
                                Some(m.span()),
                                ProblemKind::UnknownMirror {
                                    name: m.get_ref().clone(),
                                    known: if known.is_empty() {
                                        "none is configured".into()
                                    } else {
                                        format!("one of {known}")
                                    },
                                },
                            );
                            ids_ok = false;
                        }
                    },
                    // A broken mirror section is reported there; do not echo it here.
                    None => ids_ok = false,
                }
            }
            if z.mirrors.is_empty() {
                self.add(
                    path.key("mirrors"),
                    Some(item.span()),
                    ProblemKind::BadValue(
                        "a zone activates at least one mirror: `mirrors = [\"name\"]`".into(),
                    ),
                );
                ids_ok = false;
            }
            let area = self.area(&path, item, &z.polygons);
            let exit_margin = match &z.exit_margin_m {
                None => Some(DEFAULT_EXIT_MARGIN_M),
                Some(v) if (0.0..=5_000.0).contains(v.get_ref()) => Some(*v.get_ref()),
                Some(v) => {
                    self.add(
                        path.key("exit_margin_m"),
                        Some(v.span()),
                        ProblemKind::OutOfRange {
                            value: v.get_ref().to_string(),
                            expected: "metres, 0-5000".into(),
                        },
                    );
                    None
                }
            };
            let min_dwell = self.duration(
                path.key("min_dwell"),
                z.min_dwell.as_ref(),
                DEFAULT_MIN_DWELL,
                Duration::ZERO..=Duration::from_secs(3_600),
            );
            let max_error = match &z.max_position_error_m {
                None => Some(None),
                Some(v) => self
                    .int(
                        path.key("max_position_error_m"),
                        v,
                        2..=200_000,
                        "metres, 2-200000 (a LIP error class: 2, 20, 200, 2000, 20000, 200000)",
                    )
                    .map(|v| Some(v as u32)),
            };
            let zone = (|| {
                Some(Zone {
                    name: name?,
                    area: area?,
                    mirrors: ids,
                    exit_margin_m: exit_margin?,
                    min_dwell: min_dwell?,
                    max_position_error_m: max_error?,
                })
            })();
            match zone {
                Some(zone) if ids_ok => zones.push(zone),
                _ => ok = false,
            }
        }
        ok.then_some(zones)
    }

    fn area(
        &mut self,
        path: &KeyPath,
        zone: &Spanned<ZoneFile>,
        polygons: &[PolygonFile],
    ) -> Option<Area> {
        if polygons.is_empty() {
            self.add(
                path.key("polygons"),
                Some(zone.span()),
                ProblemKind::Geometry(format!(
                    "{}; expected `polygons = [[ [[lon, lat], ...] ]]`: per polygon an outer ring, then its holes",
                    GeoError::Empty
                )),
            );
            return None;
        }
        let mut out = Vec::with_capacity(polygons.len());
        let mut ok = true;
        for (p, polygon) in polygons.iter().enumerate() {
            let ppath = path.key("polygons").index(p);
            if polygon.get_ref().is_empty() {
                self.add(
                    ppath,
                    Some(polygon.span()),
                    ProblemKind::Geometry("a polygon needs an outer ring".into()),
                );
                ok = false;
                continue;
            }
            let mut rings = Vec::with_capacity(polygon.get_ref().len());
            for (r, ring) in polygon.get_ref().iter().enumerate() {
                let rpath = ppath.index(r);
                let mut vertices = Vec::with_capacity(ring.get_ref().len());
                let mut ring_ok = true;
                for (v, vertex) in ring.get_ref().iter().enumerate() {
                    let point = match vertex.get_ref().as_slice() {
                        [lon, lat] => LatLon::new(*lat, *lon).map_err(|e| e.to_string()),
                        other => Err(format!(
                            "a vertex is [longitude, latitude], got {} number(s)",
                            other.len()
                        )),
                    };
                    match point {
                        Ok(p) => vertices.push(p),
                        Err(message) => {
                            self.add(
                                rpath.index(v),
                                Some(vertex.span()),
                                ProblemKind::Geometry(message),
                            );
                            ring_ok = false;
                        }
                    }
                }
                if !ring_ok {
                    ok = false;
                    continue;
                }
                match Ring::new(vertices) {
                    Ok(ring) => rings.push(ring),
                    Err(e) => {
                        self.add(
                            rpath,
                            Some(ring.span()),
                            ProblemKind::Geometry(e.to_string()),
                        );
                        ok = false;
                    }
                }
            }
            if ok && !rings.is_empty() {
                let exterior = rings.remove(0);
                out.push(Polygon::new(exterior, rings));
            }
        }
        if !ok {
            return None;
        }
        Area::new(out).ok()
    }

    // ---- [triggers] ----------------------------------------------------------------------

    fn triggers(&mut self, raw: Option<&Spanned<TriggersFile>>) -> Option<StatusTriggers> {
        let Some(raw) = raw else {
            return Some(StatusTriggers::default());
        };
        let t = raw.get_ref();
        let path = KeyPath::root().key("triggers");
        let mut seen = HashMap::new();
        let mut ok = true;
        let mut status = |report: &mut Self, key: &str, value: Option<&Spanned<i64>>| {
            let value = value?;
            let v = report.int(
                path.key(key),
                value,
                i64::from(Status::USER_FIRST)..=i64::from(u16::MAX),
                "a status value 0x8000-0xFFFF (32768-65535), the range the standard leaves to networks",
            );
            let Some(v) = v else {
                ok = false;
                return None;
            };
            if !report.unique(
                &mut seen,
                v,
                "status value",
                format!("{v:#06x}"),
                path.key(key),
                value.span(),
            ) {
                ok = false;
            }
            Some(Status::new(v as u16))
        };
        let request = status(self, "request", t.request.as_ref());
        let extend = status(self, "extend", t.extend.as_ref());
        let end = status(self, "end", t.end.as_ref());
        let ack = status(self, "ack", t.ack.as_ref());
        let refuse = status(self, "refuse", t.refuse.as_ref());
        let reply = match t.reply.as_ref().map(|r| r.get_ref().0) {
            None | Some(ReplyWord::None) => ReplyStyle::None,
            Some(ReplyWord::Text) => ReplyStyle::Text,
            Some(ReplyWord::Status) => match (ack, refuse) {
                (Some(ack), Some(refuse)) => ReplyStyle::Status { ack, refuse },
                _ => {
                    if t.ack.is_none() || t.refuse.is_none() {
                        self.add(
                            path.key("reply"),
                            t.reply.as_ref().map(|r| r.span()),
                            ProblemKind::MissingKey(
                                "`reply = \"status\"` needs the `ack` and `refuse` status values"
                                    .into(),
                            ),
                        );
                    }
                    ok = false;
                    ReplyStyle::None
                }
            },
        };
        ok.then_some(StatusTriggers {
            request,
            extend,
            end,
            reply,
        })
    }

    // ---- [aliases] -----------------------------------------------------------------------

    fn aliases(
        &mut self,
        raw: Option<&Spanned<BTreeMap<String, Spanned<String>>>>,
    ) -> Option<Aliases> {
        let Some(raw) = raw else {
            return Some(Aliases::new());
        };
        let path = KeyPath::root().key("aliases");
        let mut aliases = Aliases::new();
        let mut ok = true;
        for (key, name) in raw.get_ref() {
            let kpath = path.key(key);
            let digits = Spanned::new(name.span(), Digits(key.clone()));
            let tsi = self.tsi(kpath.clone(), &digits, None);
            let call_sign = name.get_ref().trim();
            if call_sign.is_empty() {
                self.add(kpath.clone(), Some(name.span()), ProblemKind::Blank);
                ok = false;
            } else if call_sign.chars().count() > MAX_CALL_SIGN {
                self.add(
                    kpath.clone(),
                    Some(name.span()),
                    ProblemKind::OutOfRange {
                        value: format!("{} characters", call_sign.chars().count()),
                        expected: format!("a call sign of at most {MAX_CALL_SIGN} characters"),
                    },
                );
                ok = false;
            }
            match tsi {
                Some(tsi) => {
                    aliases.insert(tsi, call_sign);
                }
                None => ok = false,
            }
        }
        ok.then_some(aliases)
    }
}
