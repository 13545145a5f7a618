//! Plain-text tables for the CLI: columns padded to their widest cell, one header line, no
//! colour, so the output reads the same in a terminal, a log and an email to the other side
//! of the border.

use std::fmt::Write as _;

use crate::api::model::{PatchTalkers, PatchView, SiteStatus, TalkerView};

/// Lays out rows under a header.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let _ = write!(text, "{cell:<width$}", width = widths[i]);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &mut header.iter().copied());
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn talker(t: &Option<TalkerView>) -> String {
    match t {
        None => "-".to_owned(),
        Some(t) => {
            let who = t
                .alias
                .clone()
                .or_else(|| t.talker.clone())
                .unwrap_or_else(|| "unknown".to_owned());
            let from = t.network.clone().unwrap_or_else(|| "dispatch".to_owned());
            let emergency = if t.emergency { " EMERGENCY" } else { "" };
            format!(
                "{who} ({from}, site {}, prio {}){emergency}",
                t.origin_site, t.priority
            )
        }
    }
}

fn remaining(s: Option<f64>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) => {
            let s = s.round() as u64;
            if s >= 3600 {
                format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
            } else if s >= 60 {
                format!("{}m{:02}s", s / 60, s % 60)
            } else {
                format!("{s}s")
            }
        }
    }
}

/// `borderlink status`.
pub fn render_status(s: &SiteStatus) -> String {
    let mut out = format!(
        "site {} \"{}\"  borderlinkd {}  up {}  patches {}\n\n",
        s.site,
        s.name,
        s.version,
        remaining(Some(s.uptime_s as f64)),
        s.patches
    );
    let radios: Vec<Vec<String>> = s
        .radios
        .iter()
        .map(|r| {
            // A radio that answers but is not registered on its network is down: say so.
            let state = match r.registration.as_deref() {
                Some(reg) if !reg.starts_with("registered") => {
                    format!("{} ({reg})", r.state)
                }
                _ => r.state.clone(),
            };
            let model = r.identification.as_ref().map(|id| {
                [&id.manufacturer, &id.model]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            vec![
                r.name.clone(),
                r.network.clone(),
                state,
                opt(model.filter(|m| !m.is_empty())),
                opt(r.identity.clone()),
                r.group.clone(),
                opt(r.signal_dbm.map(|d| format!("{d} dBm"))),
                if r.transmitting {
                    "TX"
                } else if r.receiving {
                    "RX"
                } else {
                    "idle"
                }
                .to_owned(),
                format!("{:.1}s", r.ptt_seconds),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "RADIO", "NETWORK", "STATE", "MODEL", "IDENTITY", "GROUP", "SIGNAL", "ACTIVITY", "PTT",
        ],
        &radios,
    ));
    if let Some(b) = &s.board {
        let _ = writeln!(
            out,
            "\nboard: {}  firmware {}  link errors {}  retransmissions {}",
            if b.up { "up" } else { "DOWN" },
            opt(b.firmware.clone()),
            b.link_errors,
            b.retransmissions
        );
        let ports: Vec<Vec<String>> = b
            .ports
            .iter()
            .map(|p| {
                vec![
                    p.port.to_string(),
                    p.radio.clone(),
                    if p.ptt_requested { "on" } else { "off" }.to_owned(),
                    opt(p.ptt.map(|on| if on { "on" } else { "off" })),
                    if p.polarity_mismatch {
                        "MISMATCH: not keyed"
                    } else {
                        "ok"
                    }
                    .to_owned(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["PORT", "RADIO", "PTT ASKED", "PTT BOARD", "POLARITY"],
            &ports,
        ));
    }
    if !s.peers.is_empty() {
        out.push('\n');
        let peers: Vec<Vec<String>> = s
            .peers
            .iter()
            .map(|p| {
                vec![
                    p.site.to_string(),
                    p.name.clone(),
                    p.address.clone(),
                    p.state.clone(),
                    opt(p.rtt_ms.map(|r| format!("{r:.1} ms"))),
                ]
            })
            .collect();
        out.push_str(&table(&["PEER", "NAME", "ADDRESS", "STATE", "RTT"], &peers));
    }
    let f = &s.frames;
    let dropped: Vec<String> = f
        .dropped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(cause, n)| format!("{cause} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "\nframes: received {}  delivered {}  concealed {}  dropped: {}",
        f.received,
        f.delivered,
        f.concealed,
        if dropped.is_empty() {
            "none".to_owned()
        } else {
            dropped.join(", ")
        }
    );
    out
}

/// `borderlink patch ls`.
pub fn render_patches(patches: &[PatchView]) -> String {
    if patches.is_empty() {
        return "no patches\n".to_owned();
    }
    let rows: Vec<Vec<String>> = patches
        .iter()
        .map(|p| {
            let channels: Vec<String> = p
                .channels
                .iter()
                .map(|c| format!("{}:{}:{}", c.site, c.network, c.group))
                .chain(
                    p.consoles
                        .iter()
                        .map(|c| format!("console {}:{}", c.site, c.console)),
                )
                .collect();
            vec![
                p.id.to_string(),
                p.name.clone(),
                match &p.created_by {
                    Some(who) => format!("{} ({who})", p.kind),
                    None => p.kind.clone(),
                },
                channels.join(" "),
                remaining(p.expires_in_s),
                remaining(p.inactive_in_s),
                talker(&p.talker),
            ]
        })
        .collect();
    table(
        &[
            "ID", "NAME", "KIND", "CHANNELS", "EXPIRES", "IDLE-OUT", "TALKER",
        ],
        &rows,
    )
}

/// `borderlink talkers`.
pub fn render_talkers(talkers: &[PatchTalkers]) -> String {
    if talkers.is_empty() {
        return "no patches\n".to_owned();
    }
    let rows: Vec<Vec<String>> = talkers
        .iter()
        .map(|t| vec![t.patch.to_string(), t.name.clone(), talker(&t.talker)])
        .collect();
    table(&["PATCH", "NAME", "TALKER"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let t = table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "Baarle border".into()],
                vec!["12".into(), "x".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines, ["ID  NAME", "1   Baarle border", "12  x"]);
    }

    #[test]
    fn a_talker_shows_alias_network_site_and_emergency() {
        let t = Some(TalkerView {
            talker: Some("02060000100012345".into()),
            alias: Some("BRAVO-12".into()),
            network: Some("ASTRID".into()),
            origin_site: 1,
            priority: 15,
            emergency: true,
        });
        assert_eq!(talker(&t), "BRAVO-12 (ASTRID, site 1, prio 15) EMERGENCY");
        assert_eq!(talker(&None), "-");
    }

    #[test]
    fn remaining_times_read_like_a_clock() {
        assert_eq!(remaining(Some(7260.0)), "2h01m");
        assert_eq!(remaining(Some(95.0)), "1m35s");
        assert_eq!(remaining(Some(4.4)), "4s");
        assert_eq!(remaining(None), "-");
    }
}
