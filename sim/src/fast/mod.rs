//! The fast mode: a discrete-event run of a whole scenario in one process, in virtual time.
//!
//! Each site's gateway is the daemon's own [`SiteCore`](borderlink_gateway::site::SiteCore)
//! ([`site::FastSite`] adapts it to virtual time), the
//! world around them is the [`World`] (SwMIs, radios, field units, boards), and the IP paths
//! between sites are [`ImpairedLink`]s. Time jumps from one due event to the next, so a minute
//! of scenario runs in well under a second, and every random draw comes from the run's seed:
//! the same scenario and seed give the same report, byte for byte.
//!
//! Serial lines and loopback UDP take no time here: what one part writes, the other reads at
//! the same instant. A killed gateway is dropped with all its state and started afresh on
//! restart from its configuration and the patch state it last saved, as the daemon restores
//! its state file.

pub mod site;

use std::collections::BTreeMap;

use borderlink_gateway::engine::counters::{Counters, DropCause};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::SiteId;

use crate::net::impair::{ImpairedLink, Partition};
use crate::report::{GatewayReport, LinkReport, Report};
use crate::scenario::Scenario;
use crate::world::{Control, World, WorldOutput, derive_seed};
use borderlink_gateway::engine::patch::PatchSnapshot;
use site::{FastSite, SiteOutput};

/// The most steps the run takes at one instant before it declares a livelock.
const MAX_STEPS_PER_INSTANT: u32 = 100_000;

/// A fast run in progress.
#[derive(Debug)]
pub struct FastRun {
    scenario: Scenario,
    world: World,
    sites: Vec<Option<FastSite>>,
    links: BTreeMap<(u16, u16), ImpairedLink<Vec<u8>>>,
    /// Per site, its state file: the patch state its gateway last saved (restored at every
    /// restart).
    saved: Vec<Option<PatchSnapshot>>,
    /// Counters of gateways that were killed.
    retired: BTreeMap<u16, Counters>,
    clock_offsets: Vec<i64>,
    /// The (site, radio) PEI cables pulled out: nothing passes either way until plugged back.
    unplugged: Vec<(usize, usize)>,
    now: Instant,
}

/// Runs `scenario` with `seed` to its end; `live` prints the timeline as it goes.
pub fn run(scenario: &Scenario, seed: u64, live: bool) -> Report {
    let mut run = FastRun::new(scenario, seed, live);
    run.run_until(run.world.end());
    run.finish()
}

impl FastRun {
    /// Everything at time zero: gateways started, links idle.
    pub fn new(scenario: &Scenario, seed: u64, live: bool) -> FastRun {
        let world = World::new(scenario, seed, live);
        // Each site's clock may be off true time by up to the scenario's clock error, as NTP
        // leaves it; the error decides simultaneous key-ups between sites.
        let skew = scenario.gateway.clock_error.as_millis() as i64;
        let clock_offsets: Vec<i64> = (0..scenario.sites.len())
            .map(|i| {
                let draw = derive_seed(seed, 10 + i as u64) % (2 * skew as u64 + 1);
                draw as i64 - skew
            })
            .collect();
        let sites = (0..scenario.sites.len())
            .map(|i| {
                Some(FastSite::start(
                    scenario,
                    i,
                    Instant::ZERO,
                    clock_offsets[i],
                    None,
                ))
            })
            .collect();
        let mut links = BTreeMap::new();
        for a in &scenario.sites {
            for b in &scenario.sites {
                if a.id == b.id {
                    continue;
                }
                let stream = 1_000 + (u64::from(a.id) << 16) + u64::from(b.id);
                let config = scenario.links.link(a.id, b.id);
                // The scenario parser checked every probability.
                if let Ok(link) = ImpairedLink::new(config, derive_seed(seed, stream)) {
                    links.insert((a.id, b.id), link);
                }
            }
        }
        FastRun {
            scenario: scenario.clone(),
            world,
            sites,
            links,
            saved: vec![None; scenario.sites.len()],
            retired: BTreeMap::new(),
            clock_offsets,
            unplugged: Vec::new(),
            now: {
                crate::trace::set_now(Instant::ZERO);
                Instant::ZERO
            },
        }
    }

    /// The world (to inspect while stepping).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Whether site `site`'s gateway runs (it may have been killed).
    pub fn gateway_running(&self, site: usize) -> bool {
        self.sites.get(site).is_some_and(Option::is_some)
    }

    /// The names of the patches site `site`'s gateway holds, as its API lists them (empty
    /// while it is killed).
    pub fn gateway_patches(&mut self, site: usize) -> Vec<String> {
        let now = self.now;
        match self.sites.get_mut(site) {
            Some(Some(s)) => s.patch_names(now),
            _ => Vec::new(),
        }
    }

    /// Pulls out the PEI cable of site `site`'s radio `radio` (its serial port closes, as
    /// borderlinkd sees a USB adapter vanish), or plugs it back (`plugged`: the port opens).
    /// The radio itself keeps running.
    pub fn set_radio_cable(&mut self, site: usize, radio: usize, plugged: bool) {
        let now = self.now;
        self.unplugged.retain(|&k| k != (site, radio));
        if !plugged {
            self.unplugged.push((site, radio));
        }
        if let Some(s) = self.sites.get_mut(site).and_then(Option::as_mut) {
            s.radio_port(now, radio, plugged);
        }
        self.world.note(
            now,
            format!(
                "site {site}: radio {radio}'s PEI cable {}",
                if plugged {
                    "plugged back"
                } else {
                    "pulled out"
                }
            ),
        );
    }

    /// Resets site `site`'s board as its hardware watchdog would (see [`World::reset_board`]).
    pub fn reset_board(&mut self, site: usize) {
        self.world.reset_board(self.now, site);
    }

    /// Runs until `until` (virtual time).
    pub fn run_until(&mut self, until: Instant) {
        let mut steps_here = 0u32;
        loop {
            self.shuttle();
            let Some(next) = self.poll_timeout().filter(|t| *t <= until) else {
                self.now = self.now.max(until);
                crate::trace::set_now(self.now);
                return;
            };
            if next <= self.now {
                steps_here += 1;
                assert!(
                    steps_here < MAX_STEPS_PER_INSTANT,
                    "livelock at {} µs: a timer stays due after handling",
                    self.now.as_micros()
                );
            } else {
                steps_here = 0;
                self.now = next;
                crate::trace::set_now(next);
            }
            self.handle_timeout();
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let sites = self
            .sites
            .iter()
            .flatten()
            .filter_map(FastSite::poll_timeout);
        let links = self.links.values().filter_map(ImpairedLink::poll_timeout);
        sites.chain(links).chain(self.world.poll_timeout()).min()
    }

    fn handle_timeout(&mut self) {
        let now = self.now;
        if self.world.poll_timeout().is_some_and(|t| t <= now) {
            self.world.handle_timeout(now);
        }
        for site in self.sites.iter_mut().flatten() {
            if site.poll_timeout().is_some_and(|t| t <= now) {
                site.handle_timeout(now);
            }
        }
        for (&(from, to), link) in &mut self.links {
            while let Some(packet) = link.poll_deliver(now) {
                if let Some(site) = self
                    .sites
                    .iter_mut()
                    .flatten()
                    .find(|s| s.id() == SiteId(to))
                {
                    site.packet(now, SiteId(from), &packet);
                }
            }
        }
    }

    /// Moves what the world and the gateways have for each other until nothing is left.
    fn shuttle(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            while let Some(out) = self.world.poll_output() {
                moved = true;
                match out {
                    WorldOutput::Pei { site, radio, bytes } => {
                        if self.unplugged.contains(&(site, radio)) {
                            continue;
                        }
                        if let Some(s) = self.sites[site].as_mut() {
                            s.radio_bytes(now, radio, &bytes);
                        }
                    }
                    WorldOutput::Audio { site, radio, frame } => {
                        if let Some(s) = self.sites[site].as_mut() {
                            s.radio_audio(now, radio, &frame);
                        }
                    }
                    WorldOutput::Board { site, bytes } => {
                        if let Some(s) = self.sites[site].as_mut() {
                            s.board_bytes(now, &bytes);
                        }
                    }
                    WorldOutput::Control(c) => self.control(c),
                }
            }
            for si in 0..self.sites.len() {
                let Some(site) = self.sites[si].as_mut() else {
                    continue;
                };
                let from = site.id().0;
                while let Some(out) = site.poll_output() {
                    moved = true;
                    match out {
                        SiteOutput::Pei { radio, bytes } => {
                            if !self.unplugged.contains(&(si, radio)) {
                                self.world.from_gateway_pei(now, si, radio, &bytes);
                            }
                        }
                        SiteOutput::Audio { radio, frame } => {
                            self.world.from_gateway_audio(now, si, radio, &frame)
                        }
                        SiteOutput::Board(bytes) => self.world.from_gateway_board(now, si, &bytes),
                        SiteOutput::Packet { to, bytes } => {
                            if let Some(link) = self.links.get_mut(&(from, to.0)) {
                                link.send(now, bytes);
                            }
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn control(&mut self, control: Control) {
        let now = self.now;
        match control {
            Control::CreatePatch(def) => {
                for site in self.sites.iter_mut().flatten() {
                    if let Err(e) = site.create_patch(now, &def) {
                        let id = site.id().0;
                        self.world
                            .note(now, format!("site {id}: patch `{}` refused: {e}", def.name));
                    }
                }
            }
            Control::RemovePatch(name) => {
                for site in self.sites.iter_mut().flatten() {
                    let _ = site.remove_patch(now, &name);
                }
            }
            Control::Partition { a, b, until } => {
                for key in [(a, b), (b, a)] {
                    if let Some(link) = self.links.get_mut(&key) {
                        let _ = link.add_partition(Partition::new(now, until));
                    }
                }
            }
            Control::Kill { site } => {
                if let Some(s) = self.sites[site].take() {
                    // The state file keeps the last save (none yet: what an earlier run left).
                    if let Some(saved) = s.saved() {
                        self.saved[site] = Some(saved.clone());
                    }
                    let c = s.counters();
                    self.retired.entry(s.id().0).or_default().add(&c);
                }
                self.world.gateway_state(now, site, false);
            }
            Control::Restart { site } => {
                if self.sites[site].is_some() {
                    // A second daemon on the same ports would not start; the running one goes on.
                    self.world.note(
                        now,
                        format!("site {site}: restart ignored, the gateway runs"),
                    );
                    return;
                }
                // The state file outlives any number of restarts.
                let restored = self.saved[site].clone();
                let s = FastSite::start(
                    &self.scenario,
                    site,
                    now,
                    self.clock_offsets[site],
                    restored,
                );
                self.sites[site] = Some(s);
                self.world.gateway_state(now, site, true);
            }
        }
    }

    /// Ends the run with its report.
    pub fn finish(self) -> Report {
        let mut gateways = Vec::new();
        for (i, spec) in self.scenario.sites.iter().enumerate() {
            let mut c = self.retired.get(&spec.id).copied().unwrap_or_default();
            if let Some(site) = &self.sites[i] {
                c.add(&site.counters());
            }
            gateways.push(GatewayReport {
                site: spec.id,
                received: c.received,
                delivered: c.delivered,
                dropped: DropCause::ALL
                    .iter()
                    .filter(|cause| c.dropped(**cause) > 0)
                    .map(|cause| format!("{}={}", cause.label(), c.dropped(*cause)))
                    .collect(),
                concealed: c.concealed,
            });
        }
        let links = self
            .links
            .iter()
            .map(|(&(from, to), link)| {
                let s = link.stats();
                LinkReport {
                    from,
                    to,
                    sent: s.sent,
                    delivered: s.delivered,
                    lost: s.lost,
                    duplicated: s.duplicated,
                    reordered: s.reordered,
                    partitioned: s.dropped_by_partition,
                }
            })
            .collect();
        let mut report = self.world.finish(self.now, "fast");
        report.links = links;
        report.gateways = gateways;
        report
    }
}

#[cfg(test)]
mod tests;
