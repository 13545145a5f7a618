//! The end of a run: the meter's records, the transmissions and the PTT holds turned into the
//! [`Report`].

use std::collections::{BTreeMap, BTreeSet};

use borderlink_protocol::ids::Network;
use borderlink_protocol::link::PORTS;
use borderlink_protocol::time::{Duration, Instant};

use super::World;
use crate::report::{
    HoldReport, KillReport, PartitionReport, PathReport, PttReport, Report, TransmissionReport,
};
use crate::voice::meter::Reception;

/// What a gateway may add on top of the IP path's jitter (the budget: jitter p95 +
/// 40 ms).
const GATEWAY_ALLOWANCE: Duration = Duration::from_millis(40);

/// A line or radio still keyed at the end is stuck if nothing was said for this long beyond
/// the hang time.
const QUIET_MARGIN: Duration = Duration::from_secs(2);

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub(super) fn report(w: &World, now: Instant, mode: &str) -> Report {
    let mut transmissions = Vec::new();
    let mut echoes = Vec::new();
    let mut loops = Vec::new();
    let mut undelivered = Vec::new();
    let mut contended: Vec<(u32, u32)> = Vec::new();
    let spoken = w.meter.spoken();
    for (&number, tx) in &w.txs {
        let unit = &w.units[tx.unit];
        let s = spoken.get(&number);
        let frames = s.map_or(0, |s| s.frames);
        // Receptions grouped by the group they went out on.
        let mut by_group: BTreeMap<
            (Network, borderlink_protocol::ids::Tsi),
            Vec<(usize, &Reception)>,
        > = BTreeMap::new();
        if let Some(s) = s {
            for (&o, r) in &s.receptions {
                let out = &w.outputs[o as usize];
                by_group
                    .entry((out.network, out.group))
                    .or_default()
                    .push((o as usize, r));
            }
        }
        let mut paths = Vec::new();
        for ((network, group), receptions) in &by_group {
            let radios: Vec<String> = receptions
                .iter()
                .map(|(o, _)| w.outputs[*o].name.clone())
                .collect();
            if *network == tx.network {
                echoes.push(format!(
                    "#{number} from {} on {} came back out on {network} via {}",
                    unit.name,
                    tx.network,
                    radios.join(" + ")
                ));
            }
            // Two radios playing the same frames onto one group: a double transmission. A
            // radio taking over from another (a gateway failing over) plays other frames.
            for (i, (oa, ra)) in receptions.iter().enumerate() {
                for (ob, rb) in &receptions[i + 1..] {
                    if ra.seqs.intersection(&rb.seqs).next().is_some() {
                        loops.push(format!(
                            "#{number} from {} transmitted twice on {network} {} by {} and {}",
                            unit.name,
                            group.ssi().get(),
                            w.outputs[*oa].name,
                            w.outputs[*ob].name
                        ));
                    }
                }
            }
            paths.push(path(w, tx, s, receptions, *network, *group, radios));
        }
        // A transmission that overlapped another in the same patch may have lost the floor
        // to it: that is floor control doing its job, not a delivery failure.
        let rival = w.txs.iter().find(|(n, o)| {
            **n != number
                && o.pressed < tx.release
                && tx.pressed < o.release
                && (o.group == tx.group
                    || tx.expected.contains(&o.group)
                    || o.expected.contains(&tx.group))
        });
        for g in &tx.expected {
            if frames > 0 && !by_group.keys().any(|(_, group)| group == g) {
                match rival {
                    Some((n, _)) => contended.push((number, *n)),
                    None => undelivered.push(format!(
                        "#{number} from {} never reached {} {}",
                        unit.name,
                        g.network().map_or("?", |n| n.name()),
                        g.ssi().get()
                    )),
                }
            }
        }
        transmissions.push(TransmissionReport {
            number,
            talker: unit.name.clone(),
            identity: unit.identity.to_string(),
            network: tx.network.to_string(),
            group: tx.group.ssi().get().to_string(),
            priority: tx.level,
            emergency: tx.emergency,
            pressed_us: tx.pressed.as_micros(),
            released_us: tx.release.as_micros(),
            granted_us: tx.granted.map(Instant::as_micros),
            outcome: match contended.iter().find(|(n, _)| *n == number) {
                Some((_, rival)) => format!(
                    "{}; overlapped #{rival} in its patch and lost the floor",
                    tx.outcome
                ),
                None => tx.outcome.clone(),
            },
            spoken_frames: frames,
            expected: tx
                .expected
                .iter()
                .filter(|_| frames > 0)
                .map(|g| g.ssi().get().to_string())
                .collect(),
            paths,
        });
    }

    let (ptt, stuck) = holds(w, now);
    let kills = w
        .kills
        .iter()
        .map(|k| KillReport {
            site: w.sites[k.site].id,
            at_us: k.at.as_micros(),
            keyed_ports: k.keyed.clone(),
            released_after_us: k.released.map(|r| r.saturating_since(k.at).as_micros()),
            silence_to_release_us: k
                .released
                .zip(k.silent_since)
                .map(|(r, s)| r.saturating_since(s).as_micros()),
            restarted_us: k.restarted.map(Instant::as_micros),
            on_air: k
                .on_air
                .iter()
                .map(|&o| w.outputs[o].name.clone())
                .collect(),
            air_released_after_us: k.air_released.map(|r| r.saturating_since(k.at).as_micros()),
        })
        .collect();
    let partitions = w
        .cuts
        .iter()
        .map(|c| PartitionReport {
            sites: [c.a, c.b],
            at_us: c.at.as_micros(),
            keyed: c
                .keyed
                .iter()
                .map(|(o, _)| w.outputs[*o].name.clone())
                .collect(),
            released_after_us: c
                .keyed
                .iter()
                .map(|(_, e)| e.map(|e| e.saturating_since(c.at).as_micros()))
                .try_fold(0u64, |acc, e| e.map(|e| acc.max(e))),
        })
        .collect();
    let played_off_air = w
        .outputs
        .iter()
        .filter(|o| o.off_air > 0)
        .map(|o| format!("{}: {} frames", o.name, o.off_air))
        .collect();
    Report {
        scenario: w.scenario.name.clone(),
        mode: mode.to_string(),
        seed: w.seed,
        duration_us: now.as_micros(),
        transmissions,
        ptt,
        stuck_ptt: stuck,
        echoes,
        loops,
        undelivered,
        kills,
        partitions,
        played_off_air,
        links: Vec::new(),
        gateways: Vec::new(),
        timeline: w.timeline.entries().to_vec(),
    }
}

fn path(
    w: &World,
    tx: &super::Tx,
    spoken: Option<&crate::voice::meter::Spoken>,
    receptions: &[(usize, &Reception)],
    network: Network,
    group: borderlink_protocol::ids::Tsi,
    radios: Vec<String>,
) -> PathReport {
    let frames = spoken.map_or(0, |s| s.frames);
    let first_sent = spoken.and_then(|s| s.first_sent).unwrap_or(tx.pressed);
    let heard: BTreeSet<u16> = receptions
        .iter()
        .flat_map(|(_, r)| r.seqs.iter().copied())
        .collect();
    let mut latencies: Vec<u64> = receptions
        .iter()
        .flat_map(|(_, r)| r.latencies.iter().map(|(_, l)| *l))
        .collect();
    let first = receptions
        .iter()
        .filter_map(|(_, r)| r.latencies.first().map(|(_, l)| *l))
        .min()
        .unwrap_or(0);
    latencies.sort_unstable();
    // The path that cannot be avoided: both networks' air delay, and the IP path if the
    // transmission had to cross it (no radio at the transmitting site hears its group).
    let out_site = receptions.first().map(|(o, _)| w.outputs[*o].site);
    let air_in = w.swmi.network_config(tx.network).air_delay;
    let air_out = w.swmi.network_config(network).air_delay;
    let (net, jitter) = match out_site {
        Some(si)
            if !w
                .outputs
                .iter()
                .any(|o| o.site == si && o.group == tx.group) =>
        {
            // The nearest site that hears the talker's group carries it over IP.
            let to = w.sites[si].id;
            w.outputs
                .iter()
                .filter(|o| o.group == tx.group)
                .map(|o| {
                    let from = w.sites[o.site].id;
                    let link = w.scenario.links.link(from, to);
                    (link.base_delay, w.scenario.links.jitter_p95(from, to))
                })
                .min()
                .unwrap_or((Duration::ZERO, Duration::ZERO))
        }
        _ => (Duration::ZERO, Duration::ZERO),
    };
    let path = air_in + net + air_out;
    let reachable = first_sent + air_in + net;
    // Each radio's own grant wait: a radio taking over from a failed gateway has its own.
    let holds: Vec<u64> = receptions
        .iter()
        .map(|(_, r)| {
            r.granted_at
                .map_or(0, |g| g.saturating_since(reachable).as_micros())
        })
        .collect();
    let budget = jitter + GATEWAY_ALLOWANCE;
    let mut added_all: Vec<u64> = receptions
        .iter()
        .zip(&holds)
        .flat_map(|((_, r), hold)| {
            let fixed = path.as_micros() + hold;
            r.latencies
                .iter()
                .map(move |(_, l)| l.saturating_sub(fixed))
        })
        .collect();
    added_all.sort_unstable();
    let p95 = percentile(&latencies, 0.95);
    let added = percentile(&added_all, 0.95);
    let late = added_all
        .iter()
        .filter(|a| **a > budget.as_micros())
        .count() as u32;
    let hold = holds.first().copied().unwrap_or(0);
    let order_violations: u32 = receptions.iter().map(|(_, r)| r.order_violations).sum();
    PathReport {
        group: group.ssi().get().to_string(),
        network: network.to_string(),
        radios,
        heard: heard.len() as u32,
        lost: frames.saturating_sub(heard.len() as u32),
        late,
        concealed: receptions.iter().map(|(_, r)| r.concealed).sum(),
        duplicates: receptions.iter().map(|(_, r)| r.duplicates).sum(),
        order_violations,
        m2e_first_us: first,
        m2e_p50_us: percentile(&latencies, 0.5),
        m2e_p95_us: p95,
        m2e_max_us: latencies.last().copied().unwrap_or(0),
        grant_hold_us: hold,
        path_us: path.as_micros(),
        added_us: added,
        budget_us: budget.as_micros(),
        within_budget: added <= budget.as_micros(),
        in_order: order_violations == 0,
    }
}

/// The longest holds, and what was stuck.
fn holds(w: &World, now: Instant) -> (PttReport, Vec<String>) {
    let limit = w.scenario.gateway.tx_timeout + w.scenario.gateway.hang_time;
    let last_activity = w
        .txs
        .values()
        .map(|t| t.release)
        .max()
        .unwrap_or(Instant::ZERO);
    let quiet = now.saturating_since(last_activity)
        > w.scenario.gateway.hang_time + w.scenario.gateway.grant_wait_bound + QUIET_MARGIN;
    let mut report = PttReport::default();
    let mut stuck = Vec::new();
    let mut consider = |name: String,
                        longest: Duration,
                        since: Option<Instant>,
                        count: u32,
                        list: &mut Vec<HoldReport>| {
        let current = since.map_or(Duration::ZERO, |s| now.saturating_since(s));
        let longest = longest.max(current);
        if longest > limit {
            stuck.push(format!(
                "{name} keyed for {} s (limit {} s)",
                crate::report::text_secs(longest.as_micros()),
                crate::report::text_secs(limit.as_micros())
            ));
        } else if since.is_some() && quiet {
            stuck.push(format!(
                "{name} still keyed at the end, long after the last over"
            ));
        }
        if longest.as_micros() > report.longest_hold_us {
            report.longest_hold_us = longest.as_micros();
            report.longest_hold = name.clone();
        }
        list.push(HoldReport {
            name,
            keyed: count,
            longest_us: longest.as_micros(),
            keyed_at_end: since.is_some(),
        });
    };
    let mut lines = Vec::new();
    for (si, site) in w.sites.iter().enumerate() {
        if site.board.is_none() {
            continue;
        }
        for port in 0..PORTS {
            let radio = w.outputs.iter().find(|o| o.site == si && o.radio == port);
            let Some(radio) = radio else { continue };
            consider(
                format!("{} PTT line (board port {port})", radio.name),
                site.line_longest[port],
                site.line_since[port],
                site.line_count[port],
                &mut lines,
            );
        }
    }
    let mut radios = Vec::new();
    for o in &w.outputs {
        consider(
            format!("{} transmitter", o.name),
            o.tx_longest,
            o.tx_since,
            o.tx_count,
            &mut radios,
        );
    }
    report.board_lines = lines;
    report.radios = radios;
    (report, stuck)
}
