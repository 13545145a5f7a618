//! Checking a scenario file: its shape through serde (`file.rs`), then every value and every
//! rule between values, collecting every problem with its line rather than stopping at the
//! first.

use std::collections::BTreeSet;
use std::ops::Range;

use borderlink_gateway::config::parse_duration;
use borderlink_gateway::engine::patch::Channel;
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::Duration;
use borderlink_protocol::voice::SiteId;
use toml::Spanned;

use super::file::{
    ChannelFile, EventFile, LinkFile, NetworkFile, PatchFile, RouteFile, ScenarioFile,
};
use super::{
    Action, Event, GatewaySettings, LinkPlan, PatchDef, Problem, RadioSpec, RouteSpec, Scenario,
    ScenarioError, SiteSpec, UnitSpec,
};
use crate::field::route::{Route, Waypoint};
use crate::net::impair::{Jitter, LinkConfig, Loss};
use crate::swmi::NetworkConfig;

/// An action option: its key, where the file gives it, and the actions it goes with.
type OptionUse<'a> = (&'a str, Option<Range<usize>>, &'a [&'a str]);

/// The most radios a board drives (its ports).
const BOARD_PORTS: usize = borderlink_protocol::link::PORTS;

struct Checker<'a> {
    text: &'a str,
    origin: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |n| before.len() - n - 1)
            + 1;
        (line, column)
    }

    fn problem(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.problems.push(Problem {
            file: self.origin.to_string(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn duration(&mut self, v: &Spanned<String>, key: &str) -> Option<Duration> {
        match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(
                    v.span(),
                    key,
                    format!("{e} (a duration such as \"500ms\", \"1.5s\", \"2min\")"),
                );
                None
            }
        }
    }

    fn opt_duration(
        &mut self,
        v: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        v.as_ref()
            .and_then(|v| self.duration(v, key))
            .unwrap_or(default)
    }

    fn network(&mut self, v: &Spanned<String>, key: &str) -> Option<Network> {
        match v.get_ref().as_str() {
            "ASTRID" => Some(Network::Astrid),
            "C2000" => Some(Network::C2000),
            other => {
                self.problem(
                    v.span(),
                    key,
                    format!("unknown network `{other}`: \"ASTRID\" or \"C2000\""),
                );
                None
            }
        }
    }

    fn tsi(&mut self, v: &Spanned<String>, key: &str, network: Option<Network>) -> Option<Tsi> {
        let tsi = match Tsi::parse_pei(v.get_ref()) {
            Ok(t) => t,
            Err(e) => {
                self.problem(
                    v.span(),
                    key,
                    format!("{e} (a full TSI in PEI digits, e.g. \"02060000102061001\")"),
                );
                return None;
            }
        };
        if let Some(n) = network
            && tsi.mcc() != n.mcc()
        {
            self.problem(
                v.span(),
                key,
                format!(
                    "identity {tsi} has MCC {}, but {n} identities have MCC {}",
                    tsi.mcc().get(),
                    n.mcc().get()
                ),
            );
            return None;
        }
        Some(tsi)
    }

    fn int(&mut self, v: &Spanned<i64>, key: &str, range: Range<i64>) -> Option<i64> {
        let x = *v.get_ref();
        if range.contains(&x) {
            Some(x)
        } else {
            self.problem(
                v.span(),
                key,
                format!("{x} is out of range {}..={}", range.start, range.end - 1),
            );
            None
        }
    }

    fn probability(&mut self, v: &Spanned<f64>, key: &str) -> f64 {
        let p = *v.get_ref();
        if (0.0..=1.0).contains(&p) {
            p
        } else {
            self.problem(v.span(), key, format!("{p} is not a probability (0 to 1)"));
            0.0
        }
    }

    fn nonempty(&mut self, v: &Spanned<String>, key: &str) -> String {
        if v.get_ref().trim().is_empty() {
            self.problem(v.span(), key, "must not be empty");
        }
        v.get_ref().clone()
    }
}

/// Turns serde's message into a problem with a line and, where it can be read off the line,
/// the key.
fn shape_problem(text: &str, origin: &str, err: &toml::de::Error) -> Problem {
    let mut c = Checker {
        text,
        origin,
        problems: Vec::new(),
    };
    let span = err.span().unwrap_or(0..0);
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |n| n + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |n| line_start + n);
    let line = &text[line_start..line_end];
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_start_matches('{').trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or("");
    c.problem(span, key, err.message().trim().replace('\n', " "));
    c.problems.remove(0)
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text)
        .map_err(|e| ScenarioError::Invalid(vec![shape_problem(text, origin, &e)]))?;
    let mut c = Checker {
        text,
        origin,
        problems: Vec::new(),
    };
    let name = c.nonempty(&file.name, "name");
    let description = file
        .description
        .as_ref()
        .map(|d| d.get_ref().clone())
        .unwrap_or_default();
    let seed = match &file.seed {
        Some(s) if *s.get_ref() >= 0 => *s.get_ref() as u64,
        Some(s) => {
            c.problem(s.span(), "seed", "must not be negative");
            0
        }
        None => 1,
    };
    let duration = c
        .duration(&file.duration, "duration")
        .unwrap_or(Duration::from_secs(1));
    if duration == Duration::ZERO {
        c.problem(file.duration.span(), "duration", "must be longer than 0");
    }

    let mut astrid = NetworkConfig::default();
    let mut c2000 = NetworkConfig::default();
    for (key, net) in &file.networks {
        let target = match key.as_str() {
            "ASTRID" => &mut astrid,
            "C2000" => &mut c2000,
            other => {
                c.problem(
                    net.span(),
                    &format!("networks.{other}"),
                    "unknown network: [networks.ASTRID] or [networks.C2000]",
                );
                continue;
            }
        };
        *target = network_config(&mut c, key, net.get_ref());
    }

    let gateway = match &file.gateway {
        Some(g) => {
            let g = g.get_ref();
            let d = GatewaySettings::default();
            GatewaySettings {
                hang_time: c.opt_duration(&g.hang_time, "gateway.hang_time", d.hang_time),
                tx_timeout: c.opt_duration(&g.tx_timeout, "gateway.tx_timeout", d.tx_timeout),
                block_time: c.opt_duration(&g.block_time, "gateway.block_time", d.block_time),
                grant_wait_bound: c.opt_duration(
                    &g.grant_wait_bound,
                    "gateway.grant_wait_bound",
                    d.grant_wait_bound,
                ),
                playout_fixed: g
                    .playout_fixed
                    .as_ref()
                    .and_then(|v| c.duration(v, "gateway.playout_fixed")),
                clock_error: c.opt_duration(&g.clock_error, "gateway.clock_error", d.clock_error),
            }
        }
        None => GatewaySettings::default(),
    };

    let sites = sites(&mut c, &file);
    let units = units(&mut c, &file);
    let site_ids: BTreeSet<u16> = sites.iter().map(|s| s.id).collect();

    let links = match file.network {
        Some(n) => {
            let (default, overrides) = n.into_inner().split();
            let mut plan = LinkPlan {
                default: link_config(&mut c, "network", default),
                overrides: Vec::new(),
            };
            for (i, o) in overrides.into_iter().enumerate() {
                let key = format!("network.links[{i}]");
                let span = o.span();
                let o = o.into_inner();
                let from = site_ref(&mut c, &o.from, &format!("{key}.from"), &site_ids);
                let to = site_ref(&mut c, &o.to, &format!("{key}.to"), &site_ids);
                if from.is_some() && from == to {
                    c.problem(span.clone(), &key, "a link joins two different sites");
                }
                let config = link_config(&mut c, &key, o.link());
                if let (Some(from), Some(to)) = (from, to) {
                    plan.overrides.push((from, to, config));
                }
            }
            plan
        }
        None => LinkPlan::default(),
    };

    let mut patch_names = BTreeSet::new();
    let mut patches = Vec::new();
    for (i, p) in file.patches.iter().enumerate() {
        if let Some(def) = patch(&mut c, p.get_ref(), &format!("patches[{i}]"), &sites) {
            if !patch_names.insert(def.name.clone()) {
                c.problem(
                    p.get_ref().name.span(),
                    &format!("patches[{i}].name"),
                    format!("a patch named `{}` exists already", def.name),
                );
            }
            patches.push(def);
        }
    }
    let mut events = Vec::new();
    for (i, e) in file.events.iter().enumerate() {
        let key = format!("events[{i}]");
        if let Some(ev) = event(&mut c, e, &key, duration, &units, &sites, &mut patch_names) {
            events.push(ev);
        }
    }
    // Time order; events at the same time keep the file's order.
    events.sort_by_key(|e| e.at);

    if c.problems.is_empty() {
        Ok(Scenario {
            name,
            description,
            origin: origin.to_string(),
            seed,
            duration,
            astrid,
            c2000,
            gateway,
            links,
            sites,
            units,
            patches,
            events,
        })
    } else {
        Err(ScenarioError::Invalid(c.problems))
    }
}

fn network_config(c: &mut Checker<'_>, name: &str, f: &NetworkFile) -> NetworkConfig {
    let key = |k: &str| format!("networks.{name}.{k}");
    let mut n = NetworkConfig::default();
    if let Some(g) = &f.grant_delay {
        match g.get_ref().as_slice() {
            [lo, hi] => {
                let lo = c.duration(lo, &key("grant_delay[0]"));
                let hi = c.duration(hi, &key("grant_delay[1]"));
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    if lo > hi {
                        c.problem(
                            g.span(),
                            &key("grant_delay"),
                            "the shortest delay comes first",
                        );
                    }
                    n.grant_delay_min = lo;
                    n.grant_delay_max = hi;
                }
            }
            _ => c.problem(
                g.span(),
                &key("grant_delay"),
                "two durations: the shortest and the longest, e.g. [\"150ms\", \"400ms\"]",
            ),
        }
    }
    n.call_hang = c.opt_duration(&f.call_hang, &key("call_hang"), n.call_hang);
    n.air_delay = c.opt_duration(&f.air_delay, &key("air_delay"), n.air_delay);
    n.max_transmission = f
        .max_transmission
        .as_ref()
        .and_then(|v| c.duration(v, &key("max_transmission")));
    n
}

fn link_config(c: &mut Checker<'_>, key: &str, f: LinkFile) -> LinkConfig {
    let k = |x: &str| format!("{key}.{x}");
    let mut l = LinkConfig::ideal(c.opt_duration(&f.delay, &k("delay"), Duration::ZERO));
    match (&f.jitter, &f.jitter_normal) {
        (Some(_), Some(n)) => c.problem(
            n.span(),
            &k("jitter_normal"),
            "give `jitter` (uniform) or `jitter_normal`, not both",
        ),
        (Some(j), None) => {
            if let Some(max) = c.duration(j, &k("jitter")) {
                l.jitter = Jitter::Uniform { max };
            }
        }
        (None, Some(n)) => {
            if let Some(std_dev) = c.duration(n, &k("jitter_normal")) {
                l.jitter = Jitter::Normal { std_dev };
            }
        }
        (None, None) => {}
    }
    match (&f.loss, &f.burst) {
        (Some(_), Some(b)) => c.problem(
            b.span(),
            &k("burst"),
            "give `loss` (random) or `burst` (Gilbert-Elliott), not both",
        ),
        (Some(p), None) => {
            l.loss = Loss::Bernoulli {
                p: c.probability(p, &k("loss")),
            }
        }
        (None, Some(b)) => {
            let b = b.get_ref();
            l.loss = Loss::GilbertElliott {
                p_good_to_bad: c.probability(&b.p_good_to_bad, &k("burst.p_good_to_bad")),
                p_bad_to_good: c.probability(&b.p_bad_to_good, &k("burst.p_bad_to_good")),
                loss_good: b
                    .loss_good
                    .as_ref()
                    .map_or(0.0, |p| c.probability(p, &k("burst.loss_good"))),
                loss_bad: b
                    .loss_bad
                    .as_ref()
                    .map_or(1.0, |p| c.probability(p, &k("burst.loss_bad"))),
            }
        }
        (None, None) => {}
    }
    if let Some(d) = &f.duplicate {
        l.duplicate = c.probability(d, &k("duplicate"));
    }
    l.fifo = f.fifo.as_ref().is_some_and(|f| *f.get_ref());
    l
}

fn site_ref(
    c: &mut Checker<'_>,
    v: &Spanned<i64>,
    key: &str,
    sites: &BTreeSet<u16>,
) -> Option<u16> {
    let id = c.int(v, key, 0..65_536)? as u16;
    if sites.contains(&id) {
        Some(id)
    } else {
        c.problem(v.span(), key, format!("no site {id} in [[sites]]"));
        None
    }
}

fn sites(c: &mut Checker<'_>, file: &ScenarioFile) -> Vec<SiteSpec> {
    let mut out: Vec<SiteSpec> = Vec::new();
    if file.sites.is_empty() {
        c.problem(0..0, "sites", "a scenario needs at least one [[sites]]");
    }
    for (i, s) in file.sites.iter().enumerate() {
        let key = format!("sites[{i}]");
        let s = s.get_ref();
        let id = c
            .int(&s.id, &format!("{key}.id"), 0..65_536)
            .map(|x| x as u16);
        if let Some(id) = id
            && out.iter().any(|o| o.id == id)
        {
            c.problem(
                s.id.span(),
                &format!("{key}.id"),
                format!("site {id} is listed twice"),
            );
        }
        let name = c.nonempty(&s.name, &format!("{key}.name"));
        let board = s.board.as_ref().is_some_and(|b| *b.get_ref());
        if board && s.radios.len() > BOARD_PORTS {
            c.problem(
                s.board.as_ref().map_or(0..0, |b| b.span()),
                &format!("{key}.board"),
                format!(
                    "a board has {BOARD_PORTS} ports; this site has {} radios",
                    s.radios.len()
                ),
            );
        }
        let mut radios: Vec<RadioSpec> = Vec::new();
        for (j, r) in s.radios.iter().enumerate() {
            let rk = format!("{key}.radios[{j}]");
            let r = r.get_ref();
            let rname = c.nonempty(&r.name, &format!("{rk}.name"));
            if radios.iter().any(|o| o.name == rname) {
                c.problem(
                    r.name.span(),
                    &format!("{rk}.name"),
                    format!("radio `{rname}` is listed twice"),
                );
            }
            let network = c.network(&r.network, &format!("{rk}.network"));
            let issi = c.tsi(&r.issi, &format!("{rk}.issi"), network);
            let group = c.tsi(&r.group, &format!("{rk}.group"), network);
            let dialect = match &r.dialect {
                None => Some(crate::radio::Dialect::Full),
                Some(d) => {
                    let found = crate::radio::Dialect::named(d.get_ref());
                    if found.is_none() {
                        c.problem(
                            d.span(),
                            &format!("{rk}.dialect"),
                            format!("unknown dialect `{}`; known: full, lean", d.get_ref()),
                        );
                    }
                    found
                }
            };
            let pei = r.pei.as_ref().is_none_or(|p| *p.get_ref());
            if !pei && !board {
                c.problem(
                    r.pei.as_ref().map_or(0..0, |p| p.span()),
                    &format!("{rk}.pei"),
                    "a radio without PEI is keyed by the interface board: set `board = true` on its site",
                );
            }
            if let (Some(network), Some(issi), Some(group), Some(dialect)) =
                (network, issi, group, dialect)
            {
                radios.push(RadioSpec {
                    name: rname,
                    network,
                    issi,
                    group,
                    dialect,
                    pei,
                });
            }
        }
        if let Some(id) = id {
            out.push(SiteSpec {
                id,
                name,
                board,
                radios,
            });
        }
    }
    out
}

fn units(c: &mut Checker<'_>, file: &ScenarioFile) -> Vec<UnitSpec> {
    let mut out: Vec<UnitSpec> = Vec::new();
    for (i, u) in file.units.iter().enumerate() {
        let key = format!("units[{i}]");
        let u = u.get_ref();
        let name = c.nonempty(&u.name, &format!("{key}.name"));
        if out.iter().any(|o| o.name == name) {
            c.problem(
                u.name.span(),
                &format!("{key}.name"),
                format!("unit `{name}` is listed twice"),
            );
        }
        let network = c.network(&u.network, &format!("{key}.network"));
        let issi = c.tsi(&u.issi, &format!("{key}.issi"), None);
        let group = c.tsi(&u.group, &format!("{key}.group"), network);
        let route = u
            .route
            .as_ref()
            .and_then(|r| route(c, r, &format!("{key}.route")));
        if let (Some(network), Some(issi), Some(group)) = (network, issi, group) {
            out.push(UnitSpec {
                name,
                issi,
                network,
                group,
                route,
            });
        }
    }
    out
}

fn route(c: &mut Checker<'_>, r: &Spanned<RouteFile>, key: &str) -> Option<RouteSpec> {
    let span = r.span();
    let r = r.get_ref();
    let start = c.opt_duration(&r.start, &format!("{key}.start"), Duration::ZERO);
    let speed_kmh = *r.speed_kmh.get_ref();
    if !(speed_kmh.is_finite() && speed_kmh > 0.0 && speed_kmh < 400.0) {
        c.problem(
            r.speed_kmh.span(),
            &format!("{key}.speed_kmh"),
            format!("{speed_kmh} is not a speed in km/h (above 0, below 400)"),
        );
    }
    let lip_interval = r
        .lip_interval
        .as_ref()
        .and_then(|v| c.duration(v, &format!("{key}.lip_interval")));
    if let (Some(i), Some(v)) = (lip_interval, &r.lip_interval)
        && i < Duration::from_secs(1)
    {
        c.problem(v.span(), &format!("{key}.lip_interval"), "at least 1s");
    }
    let lip_to = r
        .lip_to
        .as_ref()
        .and_then(|v| c.tsi(v, &format!("{key}.lip_to"), None));
    let mut waypoints = Vec::new();
    for (i, w) in r.waypoints.iter().enumerate() {
        let wk = format!("{key}.waypoints[{i}]");
        let w = w.get_ref();
        let (lat, lon) = (*w.lat.get_ref(), *w.lon.get_ref());
        if !(-90.0..90.0).contains(&lat) {
            c.problem(
                w.lat.span(),
                &format!("{wk}.lat"),
                format!("{lat} is not a latitude"),
            );
        }
        if !(-180.0..=180.0).contains(&lon) {
            c.problem(
                w.lon.span(),
                &format!("{wk}.lon"),
                format!("{lon} is not a longitude"),
            );
        }
        let speed = w.speed_kmh.as_ref().map(|s| *s.get_ref());
        if let (Some(s), Some(v)) = (speed, &w.speed_kmh)
            && !(s.is_finite() && s > 0.0 && s < 400.0)
        {
            c.problem(
                v.span(),
                &format!("{wk}.speed_kmh"),
                format!("{s} is not a speed in km/h"),
            );
        }
        let roam = w.roam.as_ref().and_then(|roam| {
            let roam = roam.get_ref();
            let network = c.network(&roam.network, &format!("{wk}.roam.network"));
            let group = c.tsi(&roam.group, &format!("{wk}.roam.group"), network);
            network.zip(group)
        });
        waypoints.push(Waypoint {
            lat,
            lon,
            name: w.name.as_ref().map(|n| n.get_ref().clone()),
            speed_kmh: speed,
            roam,
        });
    }
    if waypoints.len() < 2 {
        c.problem(
            span,
            &format!("{key}.waypoints"),
            "a route needs at least two waypoints",
        );
        return None;
    }
    // The same check the run makes, so a route that cannot be timed is reported here.
    Route::new(
        waypoints.clone(),
        borderlink_protocol::time::Instant::ZERO,
        speed_kmh,
    )?;
    Some(RouteSpec {
        start,
        speed_kmh,
        lip_interval,
        lip_to,
        waypoints,
    })
}

fn channels(
    c: &mut Checker<'_>,
    list: &[Spanned<ChannelFile>],
    key: &str,
    sites: &[SiteSpec],
) -> Option<Vec<Channel>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, ch) in list.iter().enumerate() {
        let ck = format!("{key}[{i}]");
        let f = ch.get_ref();
        let ids: BTreeSet<u16> = sites.iter().map(|s| s.id).collect();
        let site = site_ref(c, &f.site, &format!("{ck}.site"), &ids);
        let network = c.network(&f.network, &format!("{ck}.network"));
        let group = c.tsi(&f.group, &format!("{ck}.group"), network);
        match (site, network, group) {
            (Some(site), Some(network), Some(group)) => {
                let reached = sites.iter().find(|s| s.id == site).is_some_and(|s| {
                    s.radios
                        .iter()
                        .any(|r| r.network == network && r.group == group)
                });
                if !reached {
                    c.problem(
                        ch.span(),
                        &ck,
                        format!("site {site} has no {network} radio on group {group}"),
                    );
                    ok = false;
                }
                out.push(Channel {
                    site: SiteId(site),
                    network,
                    group,
                });
            }
            _ => ok = false,
        }
    }
    if list.len() < 2 {
        c.problem(0..0, key, "a patch joins at least two channels");
        ok = false;
    }
    ok.then_some(out)
}

fn patch(c: &mut Checker<'_>, p: &PatchFile, key: &str, sites: &[SiteSpec]) -> Option<PatchDef> {
    let name = c.nonempty(&p.name, &format!("{key}.name"));
    let channels = channels(c, &p.channels, &format!("{key}.channels"), sites)?;
    Some(PatchDef { name, channels })
}

fn event(
    c: &mut Checker<'_>,
    e: &Spanned<EventFile>,
    key: &str,
    duration: Duration,
    units: &[UnitSpec],
    sites: &[SiteSpec],
    patch_names: &mut BTreeSet<String>,
) -> Option<Event> {
    let span = e.span();
    let (line, _) = c.position(span.start);
    let f = e.get_ref();
    let at = c.duration(&f.at, &format!("{key}.at"))?;
    if at > duration {
        c.problem(
            f.at.span(),
            &format!("{key}.at"),
            "after the end of the run (`duration`)",
        );
    }
    let actions: Vec<&str> = [
        ("talk", f.talk.is_some()),
        ("patch", f.patch.is_some()),
        ("unpatch", f.unpatch.is_some()),
        ("partition", f.partition.is_some()),
        ("kill", f.kill.is_some()),
        ("status", f.status.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| name)
    .collect();
    let kind = match actions.as_slice() {
        [one] => *one,
        [] => {
            c.problem(
                span,
                key,
                "an event needs one of talk, patch, unpatch, partition, kill, status",
            );
            return None;
        }
        many => {
            c.problem(
                span,
                key,
                format!("one action per event, not {}", many.join(" and ")),
            );
            return None;
        }
    };
    // Options that belong to another action are mistakes worth naming.
    let options: [OptionUse<'_>; 8] = [
        (
            "for",
            f.for_.as_ref().map(|v| v.span()),
            &["talk", "partition"],
        ),
        ("priority", f.priority.as_ref().map(|v| v.span()), &["talk"]),
        (
            "emergency",
            f.emergency.as_ref().map(|v| v.span()),
            &["talk"],
        ),
        ("preempt", f.preempt.as_ref().map(|v| v.span()), &["talk"]),
        (
            "channels",
            f.channels
                .as_ref()
                .and_then(|v| v.first())
                .map(|v| v.span()),
            &["patch"],
        ),
        (
            "restart_after",
            f.restart_after.as_ref().map(|v| v.span()),
            &["kill"],
        ),
        ("value", f.value.as_ref().map(|v| v.span()), &["status"]),
        ("to", f.to.as_ref().map(|v| v.span()), &["status"]),
    ];
    for (name, span, allowed) in options {
        if let Some(span) = span
            && !allowed.contains(&kind)
        {
            c.problem(
                span,
                &format!("{key}.{name}"),
                format!(
                    "`{name}` goes with {}, not with {kind}",
                    allowed.join(" or ")
                ),
            );
        }
    }
    let unit_ref = |c: &mut Checker<'_>, v: &Spanned<String>, k: &str| -> Option<usize> {
        let found = units.iter().position(|u| &u.name == v.get_ref());
        if found.is_none() {
            c.problem(
                v.span(),
                k,
                format!("no unit named `{}` in [[units]]", v.get_ref()),
            );
        }
        found
    };
    let site_ids: BTreeSet<u16> = sites.iter().map(|s| s.id).collect();
    let action = match kind {
        "talk" => {
            let unit = f
                .talk
                .as_ref()
                .and_then(|v| unit_ref(c, v, &format!("{key}.talk")));
            let duration = match &f.for_ {
                Some(v) => c.duration(v, &format!("{key}.for")),
                None => {
                    c.problem(
                        span,
                        &format!("{key}.for"),
                        "how long the unit talks, e.g. for = \"4s\"",
                    );
                    None
                }
            };
            let priority = match &f.priority {
                Some(p) => c.int(p, &format!("{key}.priority"), 0..16).unwrap_or(0) as u8,
                None => 0,
            };
            let emergency = f.emergency.as_ref().is_some_and(|v| *v.get_ref());
            let preempt = f.preempt.as_ref().is_some_and(|v| *v.get_ref());
            Action::Talk {
                unit: unit?,
                duration: duration?,
                priority: if emergency { 15 } else { priority },
                emergency,
                preempt: preempt || emergency,
            }
        }
        "patch" => {
            let name = f
                .patch
                .as_ref()
                .map(|v| c.nonempty(v, &format!("{key}.patch")))?;
            let Some(list) = &f.channels else {
                c.problem(
                    span,
                    &format!("{key}.channels"),
                    "the channels the patch joins",
                );
                return None;
            };
            let channels = channels(c, list, &format!("{key}.channels"), sites)?;
            patch_names.insert(name.clone());
            Action::Patch(PatchDef { name, channels })
        }
        "unpatch" => {
            let v = f.unpatch.as_ref()?;
            if !patch_names.contains(v.get_ref()) {
                c.problem(
                    v.span(),
                    &format!("{key}.unpatch"),
                    format!("no patch named `{}` before this event", v.get_ref()),
                );
                return None;
            }
            Action::Unpatch(v.get_ref().clone())
        }
        "partition" => {
            let v = f.partition.as_ref()?;
            let pair: Vec<Option<u16>> = v
                .get_ref()
                .iter()
                .map(|s| site_ref(c, s, &format!("{key}.partition"), &site_ids))
                .collect();
            let duration = match &f.for_ {
                Some(d) => c.duration(d, &format!("{key}.for")),
                None => {
                    c.problem(
                        span,
                        &format!("{key}.for"),
                        "how long the link is cut, e.g. for = \"3s\"",
                    );
                    None
                }
            };
            match pair.as_slice() {
                [Some(a), Some(b)] if a != b => Action::Partition {
                    a: *a,
                    b: *b,
                    duration: duration?,
                },
                [Some(_), Some(_)] => {
                    c.problem(v.span(), &format!("{key}.partition"), "two different sites");
                    return None;
                }
                // A bad site id is reported already.
                [_, _] => return None,
                _ => {
                    c.problem(
                        v.span(),
                        &format!("{key}.partition"),
                        "two sites, e.g. [1, 2]",
                    );
                    return None;
                }
            }
        }
        "kill" => {
            let site = f
                .kill
                .as_ref()
                .and_then(|v| site_ref(c, v, &format!("{key}.kill"), &site_ids))?;
            let restart_after = f
                .restart_after
                .as_ref()
                .and_then(|v| c.duration(v, &format!("{key}.restart_after")));
            Action::Kill {
                site,
                restart_after,
            }
        }
        _ => {
            let unit = f
                .status
                .as_ref()
                .and_then(|v| unit_ref(c, v, &format!("{key}.status")));
            let value = match &f.value {
                Some(v) => c
                    .int(v, &format!("{key}.value"), 0..65_536)
                    .map(|x| x as u16),
                None => {
                    c.problem(span, &format!("{key}.value"), "the status value (0-65535)");
                    None
                }
            };
            let to =
                f.to.as_ref()
                    .and_then(|v| c.tsi(v, &format!("{key}.to"), None));
            Action::Status {
                unit: unit?,
                value: value?,
                to,
            }
        }
    };
    Some(Event { at, line, action })
}
