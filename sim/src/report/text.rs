//! The report as people read it at the end of a run.

use std::fmt::Write as _;

use super::Report;

/// Microseconds as milliseconds with one decimal.
pub(crate) fn ms(us: u64) -> String {
    format!("{}.{}", us / 1_000, (us % 1_000) / 100)
}

/// Microseconds as seconds with three decimals.
pub(crate) fn secs(us: u64) -> String {
    format!("{}.{:03}", us / 1_000_000, (us % 1_000_000) / 1_000)
}

fn verdict(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join("; ")
    }
}

pub(super) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "== borderlink-sim report: scenario `{}`, {} mode, seed {}, {} s ==",
        r.scenario,
        r.mode,
        r.seed,
        secs(r.duration_us)
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "Transmissions");
    for t in &r.transmissions {
        let _ = writeln!(
            o,
            "  #{:<3} {} ({}) on {} {}, priority {}{}, keyed {}–{} s: {}, {} frames spoken",
            t.number,
            t.talker,
            t.identity,
            t.network,
            t.group,
            t.priority,
            if t.emergency { " EMERGENCY" } else { "" },
            secs(t.pressed_us),
            secs(t.released_us),
            t.outcome,
            t.spoken_frames
        );
        if t.paths.is_empty() {
            let why = if t.expected.is_empty() {
                "not relayed (no patch joins its group)"
            } else {
                "NOT RELAYED"
            };
            let _ = writeln!(o, "        {why}");
        }
        for p in &t.paths {
            let _ = writeln!(
                o,
                "        -> {} {} via {}: {} heard, {} lost, {} late, {} concealed, {} dup, {} out of order",
                p.network,
                p.group,
                p.radios.join(" + "),
                p.heard,
                p.lost,
                p.late,
                p.concealed,
                p.duplicates,
                p.order_violations
            );
            let _ = writeln!(
                o,
                "           mouth-to-ear first {} ms, p50 {} ms, p95 {} ms, max {} ms; grant wait {} ms; gateway added {} ms (budget {} ms){}",
                ms(p.m2e_first_us),
                ms(p.m2e_p50_us),
                ms(p.m2e_p95_us),
                ms(p.m2e_max_us),
                ms(p.grant_hold_us),
                ms(p.added_us),
                ms(p.budget_us),
                if p.within_budget { "" } else { " OVER BUDGET" }
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Longest PTT hold: {} s ({})",
        secs(r.ptt.longest_hold_us),
        if r.ptt.longest_hold.is_empty() {
            "nothing was keyed"
        } else {
            &r.ptt.longest_hold
        }
    );
    for k in &r.kills {
        let released = match (k.keyed_ports.is_empty(), k.released_after_us) {
            (true, _) => "nothing was keyed".to_string(),
            (false, Some(us)) => format!(
                "board released PTT {} ms after the kill{}",
                ms(us),
                k.silence_to_release_us
                    .map(|s| format!(", {} ms after the host's last frame", ms(s)))
                    .unwrap_or_default()
            ),
            (false, None) => "PTT NEVER RELEASED".to_string(),
        };
        let air = match (k.on_air.is_empty(), k.air_released_after_us) {
            (true, _) => String::new(),
            (false, Some(us)) => format!(
                "; its transmission ({}) ended on the network {} ms after the kill",
                k.on_air.join(", "),
                ms(us)
            ),
            (false, None) => format!("; {} NEVER STOPPED TRANSMITTING", k.on_air.join(", ")),
        };
        let _ = writeln!(
            o,
            "Gateway of site {} killed (-9) at {} s: {released}{air}{}",
            k.site,
            secs(k.at_us),
            k.restarted_us
                .map(|t| format!("; restarted at {} s", secs(t)))
                .unwrap_or_default()
        );
    }
    for p in &r.partitions {
        let released = match (p.keyed.is_empty(), p.released_after_us) {
            (true, _) => "no radio was transmitting".to_string(),
            (false, Some(us)) => format!("{} released {} ms later", p.keyed.join(" + "), ms(us)),
            (false, None) => format!("{} NEVER RELEASED", p.keyed.join(" + ")),
        };
        let _ = writeln!(
            o,
            "IP path between sites {} and {} cut at {} s: {released}",
            p.sites[0],
            p.sites[1],
            secs(p.at_us)
        );
    }
    let _ = writeln!(o, "Stuck PTT: {}", verdict(&r.stuck_ptt));
    let _ = writeln!(o, "Echo: {}", verdict(&r.echoes));
    let _ = writeln!(o, "Loops: {}", verdict(&r.loops));
    let _ = writeln!(o, "Undelivered: {}", verdict(&r.undelivered));
    if !r.played_off_air.is_empty() {
        let _ = writeln!(
            o,
            "Played while not transmitting: {}",
            r.played_off_air.join("; ")
        );
    }
    if !r.links.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "IP paths");
        for l in &r.links {
            let _ = writeln!(
                o,
                "  site {} -> {}: {} sent, {} delivered, {} lost, {} duplicated, {} reordered, {} cut by partition",
                l.from, l.to, l.sent, l.delivered, l.lost, l.duplicated, l.reordered, l.partitioned
            );
        }
    }
    if !r.gateways.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Gateways");
        for g in &r.gateways {
            let _ = writeln!(
                o,
                "  site {}: {} frames in, {} played, {} concealed, dropped: {}",
                g.site,
                g.received,
                g.delivered,
                g.concealed,
                if g.dropped.is_empty() {
                    "none".to_string()
                } else {
                    g.dropped.join(", ")
                }
            );
        }
    }
    o
}
