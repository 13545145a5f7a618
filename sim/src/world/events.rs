//! What the world does when a scenario event comes due, when a field unit acts, and when the
//! SwMI decides something.

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::pei::AiService;
use borderlink_protocol::sds::ShortLocationReport;
use borderlink_protocol::time::{Duration, Instant};
use rand::Rng;

use super::{Control, Kill, Tx, World, WorldOutput};
use crate::field::unit::UnitAction;
use crate::scenario::Action;
use crate::swmi::SwmiEvent;

/// A unit starts speaking this long after its grant (the talk-permit tone and a human's
/// reaction), drawn from the run's seed.
const REACTION_MIN_MS: u64 = 100;
const REACTION_MAX_MS: u64 = 250;

impl World {
    pub(super) fn scenario_event(&mut self, now: Instant, action: Action) {
        match action {
            Action::Talk {
                unit,
                duration,
                priority,
                emergency,
                preempt,
            } => self.talk(now, unit, duration, priority, emergency, preempt),
            Action::Patch(def) => {
                let names: Vec<String> = def
                    .channels
                    .iter()
                    .map(|c| format!("site {} {} {}", c.site.0, c.network, c.group.ssi().get()))
                    .collect();
                self.timeline.push(
                    now,
                    format!("dispatch: patch `{}` joins {}", def.name, names.join(", ")),
                );
                self.patches.insert(def.name.clone(), def.clone());
                self.out
                    .push_back(WorldOutput::Control(Control::CreatePatch(def)));
            }
            Action::Unpatch(name) => {
                self.timeline
                    .push(now, format!("dispatch: patch `{name}` removed"));
                self.patches.remove(&name);
                self.out
                    .push_back(WorldOutput::Control(Control::RemovePatch(name)));
            }
            Action::Partition { a, b, duration } => {
                let until = now + duration;
                self.timeline.push(
                    now,
                    format!(
                        "network: the IP path between sites {a} and {b} is cut for {} s",
                        crate::report::text_secs(duration.as_micros())
                    ),
                );
                self.partitions_end.push((until, a, b));
                let keyed = (0..self.outputs.len())
                    .filter(|o| self.outputs[*o].tx_since.is_some())
                    .map(|o| (o, None))
                    .collect();
                self.cuts.push(super::Cut {
                    a,
                    b,
                    at: now,
                    keyed,
                });
                self.out
                    .push_back(WorldOutput::Control(Control::Partition { a, b, until }));
            }
            Action::Kill {
                site,
                restart_after,
            } => {
                let Some(si) = self.sites.iter().position(|s| s.id == site) else {
                    return;
                };
                let keyed: Vec<usize> = (0..borderlink_protocol::link::PORTS)
                    .filter(|p| self.sites[si].line_since[*p].is_some())
                    .collect();
                self.timeline.push(
                    now,
                    format!(
                        "site {} ({}): gateway killed (-9){}",
                        site,
                        self.sites[si].name,
                        if keyed.is_empty() {
                            String::new()
                        } else {
                            format!(" with PTT keyed on board port(s) {keyed:?}")
                        }
                    ),
                );
                self.sites[si].alive = false;
                let on_air: Vec<usize> = (0..self.outputs.len())
                    .filter(|o| self.outputs[*o].site == si && self.outputs[*o].tx_since.is_some())
                    .collect();
                self.kills.push(Kill {
                    site: si,
                    at: now,
                    silent_since: None,
                    released: keyed.is_empty().then_some(now),
                    keyed,
                    restarted: None,
                    air_released: on_air.is_empty().then_some(now),
                    on_air,
                });
                if let Some(after) = restart_after {
                    self.restarts.push((now + after, si));
                }
                self.out
                    .push_back(WorldOutput::Control(Control::Kill { site: si }));
            }
            Action::Status { unit, value, to } => {
                let u = &self.units[unit];
                let to = to.unwrap_or(u.group);
                self.timeline
                    .push(now, format!("{}: status {value} to {to}", u.name));
                let terminal = u.terminal;
                self.swmi
                    .send_sds(terminal, to, AiService::Status, &value.to_be_bytes(), 16);
            }
        }
    }

    pub(super) fn due_restarts(&mut self, now: Instant) {
        let due: Vec<usize> = self
            .restarts
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|(_, s)| *s)
            .collect();
        self.restarts.retain(|(t, _)| *t > now);
        for si in due {
            self.timeline.push(
                now,
                format!(
                    "site {} ({}): gateway restarted",
                    self.sites[si].id, self.sites[si].name
                ),
            );
            self.sites[si].alive = true;
            if let Some(k) = self.kills.iter_mut().rev().find(|k| k.site == si) {
                k.restarted = Some(now);
            }
            self.out
                .push_back(WorldOutput::Control(Control::Restart { site: si }));
        }
        let ended: Vec<(u16, u16)> = self
            .partitions_end
            .iter()
            .filter(|(t, _, _)| *t <= now)
            .map(|(_, a, b)| (*a, *b))
            .collect();
        self.partitions_end.retain(|(t, _, _)| *t > now);
        for (a, b) in ended {
            self.timeline.push(
                now,
                format!("network: the IP path between sites {a} and {b} works again"),
            );
        }
    }

    fn talk(
        &mut self,
        now: Instant,
        unit: usize,
        duration: Duration,
        level: u8,
        emergency: bool,
        preempt: bool,
    ) {
        let number = self.next_tx;
        let u = &mut self.units[unit];
        if !u.press(number, now + duration) {
            let name = u.name.clone();
            self.timeline.push(
                now,
                format!("{name}: still holding PTT; this key-up is ignored"),
            );
            return;
        }
        self.next_tx += 1;
        let (network, group, terminal, name) = (u.network, u.group, u.terminal, u.name.clone());
        let expected = self.expected_groups(network, group);
        self.timeline.push(
            now,
            format!(
                "{name} keys up on {network} {} (#{number}, priority {level}{}{})",
                group.ssi().get(),
                if emergency { ", EMERGENCY" } else { "" },
                if preempt && !emergency {
                    ", pre-emptive"
                } else {
                    ""
                },
            ),
        );
        self.txs.insert(
            number,
            Tx {
                unit,
                network,
                group,
                level,
                emergency,
                pressed: now,
                release: now + duration,
                granted: None,
                outcome: "never granted".to_string(),
                expected,
            },
        );
        self.swmi.demand(now, terminal, level, preempt);
    }

    /// The groups of the other network that a patch joins with `group` now.
    fn expected_groups(&self, network: borderlink_protocol::ids::Network, group: Tsi) -> Vec<Tsi> {
        let mut out: Vec<Tsi> = self
            .patches
            .values()
            .filter(|p| {
                p.channels
                    .iter()
                    .any(|c| c.group == group && c.network == network)
            })
            .flat_map(|p| p.channels.iter())
            .filter(|c| c.network != network)
            .map(|c| c.group)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub(super) fn unit_action(&mut self, now: Instant, i: usize, action: UnitAction) {
        let terminal = self.units[i].terminal;
        match action {
            UnitAction::Speak(frame, marker) => {
                if self.swmi.speak(now, terminal, &frame) {
                    self.meter.spoke(&marker);
                }
            }
            UnitAction::Release => {
                let number = self.units[i].transmission();
                self.swmi.cease(now, terminal);
                if let Some(tx) = self.txs.get_mut(&number) {
                    tx.release = now;
                }
            }
            UnitAction::Lip(position) => {
                let Some(report) = position.lip() else {
                    return;
                };
                let mut buf = [0u8; 11];
                if report.emit(&mut buf).is_err() {
                    return;
                }
                let u = &self.units[i];
                let to = self.scenario.units[i]
                    .route
                    .as_ref()
                    .and_then(|r| r.lip_to)
                    .unwrap_or(u.group);
                self.timeline.push(
                    now,
                    format!(
                        "{}: LIP {:.5} N {:.5} E, {:.0} km/h, to {}",
                        u.name,
                        position.lat,
                        position.lon,
                        position.speed_kmh,
                        to.ssi().get()
                    ),
                );
                self.swmi.send_sds(
                    terminal,
                    to,
                    AiService::SdsType4,
                    &buf,
                    ShortLocationReport::BIT_LEN,
                );
            }
            UnitAction::Waypoint(index) => {
                let Some(w) = self.units[i]
                    .route()
                    .and_then(|r| r.waypoints().get(index))
                    .cloned()
                else {
                    return;
                };
                let name = self.units[i].name.clone();
                if let Some(place) = &w.name {
                    self.timeline.push(now, format!("{name} reaches {place}"));
                }
                if let Some((network, group)) = w.roam {
                    self.swmi.register(now, terminal, network, group);
                    let u = &mut self.units[i];
                    u.network = network;
                    u.group = group;
                    self.timeline.push(
                        now,
                        format!(
                            "{name} registers on {network} (semi-roaming, own identity kept) and selects group {}",
                            group.ssi().get()
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn swmi_event(&mut self, now: Instant, event: SwmiEvent) {
        match event {
            SwmiEvent::Granted {
                terminal, group, ..
            } => {
                if let Some(&o) = self.by_terminal.get(&terminal) {
                    let out = &mut self.outputs[o];
                    out.tx_since = Some(now);
                    out.tx_count += 1;
                    self.meter.granted(o as u32, now);
                    return;
                }
                let Some(&u) = self.unit_by_terminal.get(&terminal) else {
                    return;
                };
                let reaction =
                    Duration::from_millis(self.rng.random_range(REACTION_MIN_MS..=REACTION_MAX_MS));
                self.units[u].granted(now, reaction);
                let number = self.units[u].transmission();
                if let Some(tx) = self.txs.get_mut(&number) {
                    tx.granted = Some(now);
                    tx.outcome = "talked".to_string();
                    let wait = now.saturating_since(tx.pressed);
                    self.timeline.push(
                        now,
                        format!(
                            "{}: clear to talk on {} after {} ms",
                            self.units[u].name,
                            group.ssi().get(),
                            wait.as_millis()
                        ),
                    );
                }
            }
            SwmiEvent::Queued { terminal, .. } => {
                if let Some(&u) = self.unit_by_terminal.get(&terminal) {
                    self.timeline.push(
                        now,
                        format!("{}: queued (channel busy)", self.units[u].name),
                    );
                }
            }
            SwmiEvent::Refused { terminal } => {
                if let Some(&u) = self.unit_by_terminal.get(&terminal) {
                    self.units[u].cut();
                    let number = self.units[u].transmission();
                    if let Some(tx) = self.txs.get_mut(&number) {
                        tx.outcome = "refused by the network".to_string();
                    }
                }
            }
            SwmiEvent::Interrupted { terminal, by, .. } => {
                let by = by.map_or_else(
                    || "the network's transmission timer".to_string(),
                    |b| self.swmi.name(b).to_string(),
                );
                if let Some(&o) = self.by_terminal.get(&terminal) {
                    self.radio_over_ended(now, o);
                    self.outputs[o].cut_at = Some(now);
                    self.timeline.push(
                        now,
                        format!("{}: transmission interrupted by {by}", self.outputs[o].name),
                    );
                    return;
                }
                if let Some(&u) = self.unit_by_terminal.get(&terminal) {
                    self.units[u].cut();
                    let number = self.units[u].transmission();
                    if let Some(tx) = self.txs.get_mut(&number) {
                        let after = tx
                            .granted
                            .map_or(0, |g| now.saturating_since(g).as_millis());
                        tx.outcome = format!("pre-empted by {by} after {after} ms");
                    }
                    self.timeline
                        .push(now, format!("{}: pre-empted by {by}", self.units[u].name));
                }
            }
            SwmiEvent::Ceased { terminal, .. } => {
                if let Some(&o) = self.by_terminal.get(&terminal) {
                    self.radio_over_ended(now, o);
                }
            }
            SwmiEvent::CallSetUp { .. } => {}
            SwmiEvent::Released { group, cause } => {
                self.timeline.push(
                    now,
                    format!(
                        "{}: group call on {} released (cause {cause})",
                        group_network(group),
                        group.ssi().get()
                    ),
                );
            }
            SwmiEvent::SdsDelivered {
                reached, service, ..
            } => {
                let gateways: Vec<&str> = reached
                    .iter()
                    .filter_map(|t| self.by_terminal.get(t))
                    .map(|o| self.outputs[*o].name.as_str())
                    .collect();
                if service == AiService::Status || !gateways.is_empty() {
                    let what = if service == AiService::Status {
                        "status"
                    } else {
                        "LIP"
                    };
                    if gateways.is_empty() {
                        self.timeline
                            .push(now, format!("{what} reached no gateway radio"));
                    } else if service == AiService::Status {
                        self.timeline
                            .push(now, format!("{what} delivered to {}", gateways.join(", ")));
                    }
                }
            }
        }
    }

    fn radio_over_ended(&mut self, now: Instant, o: usize) {
        let out = &mut self.outputs[o];
        if let Some(since) = out.tx_since.take() {
            out.tx_longest = out.tx_longest.max(now.saturating_since(since));
        }
        self.meter.ended(o as u32);
        let outputs = &self.outputs;
        for kill in self.kills.iter_mut().filter(|k| k.air_released.is_none()) {
            if kill.on_air.iter().all(|&k| outputs[k].tx_since.is_none()) {
                kill.air_released = Some(now);
            }
        }
        for cut in &mut self.cuts {
            for (k, ended) in &mut cut.keyed {
                if *k == o && ended.is_none() {
                    *ended = Some(now);
                }
            }
        }
    }
}

fn group_network(group: Tsi) -> &'static str {
    group.network().map_or("?", |n| n.name())
}
