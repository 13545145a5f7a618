//! `GET /metrics`: the daemon's figures in the Prometheus text format.
//!
//! The voice path's state lives in the main loop, so a scrape asks it for a
//! [`MetricsSnapshot`] and renders that; only the API's own request counter lives here. Every
//! metric is prefixed `borderlink_`, and labels name the radio, peer, cause or source.

use std::fmt::Write as _;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::command::MetricsSnapshot;
use crate::audio::drops::AudioDropCause;
use crate::engine::counters::DropCause;

/// Labels as name/value pairs.
type Labels = Vec<(String, String)>;

/// The API's own counters: requests by route and status code, refused tokens, connections
/// turned away.
#[derive(Debug, Clone, Default)]
pub struct ApiCounters {
    requests: Family<Labels, Counter>,
    /// Every refused token, also those the audit trail summarises instead of listing.
    auth_refused: Counter,
    /// Connections refused because the API had its most open connections.
    connections_refused: Counter,
}

impl ApiCounters {
    /// Counts one answered request.
    pub fn count(&self, route: &str, status: u16) {
        self.requests
            .get_or_create(&vec![
                ("route".to_owned(), route.to_owned()),
                ("status".to_owned(), status.to_string()),
            ])
            .inc();
    }

    /// Counts one refused token (missing, malformed or unknown).
    pub fn auth_refused(&self) {
        self.auth_refused.inc();
    }

    /// Counts one connection turned away at the connection limit.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

fn gauge(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

/// Renders a snapshot and the API counters as Prometheus text.
pub fn render(snapshot: &MetricsSnapshot, api: &ApiCounters) -> String {
    let mut r = Registry::with_prefix("borderlink");
    let f = &snapshot.frames;
    r.register(
        "frames_received",
        "Voice frames that entered the relay engine",
        counter(f.received),
    );
    r.register(
        "frames_delivered",
        "Voice frames handed on to a radio, a peer or a console",
        counter(f.delivered),
    );
    r.register(
        "frames_concealed",
        "Gaps filled for a listener (lost or late frames)",
        counter(f.concealed),
    );
    let drops = Family::<Labels, Counter>::default();
    for cause in DropCause::ALL {
        drops
            .get_or_create(&labels(&[("cause", cause.label())]))
            .inc_by(f.dropped(cause));
    }
    r.register("frames_dropped", "Voice frames dropped, by cause", drops);
    r.register(
        "streams",
        "Voice streams tracked now",
        gauge(i64::try_from(snapshot.streams).unwrap_or(i64::MAX)),
    );
    r.register(
        "patches",
        "Patches in force",
        gauge(i64::try_from(snapshot.patches).unwrap_or(i64::MAX)),
    );

    let jitter = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let delay = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    for p in &snapshot.playout {
        let l = labels(&[("source", &p.source)]);
        if let Some(j) = p.jitter_p95_s {
            jitter.get_or_create(&l).set(j);
        }
        delay.get_or_create(&l).set(p.target_delay_s);
    }
    r.register(
        "jitter_p95_seconds",
        "Estimated interarrival jitter (95th percentile) per source of voice",
        jitter,
    );
    r.register(
        "playout_delay_seconds",
        "Playout delay the jitter buffer targets per source of voice",
        delay,
    );

    let up = Family::<Labels, Gauge>::default();
    let keyed = Family::<Labels, Gauge>::default();
    let ptt = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let transmissions = Family::<Labels, Counter>::default();
    let signal = Family::<Labels, Gauge>::default();
    let radio_drops = Family::<Labels, Counter>::default();
    let registered = Family::<Labels, Gauge>::default();
    let info = Family::<Labels, Gauge>::default();
    for radio in &snapshot.radios {
        let l = labels(&[("radio", &radio.name), ("network", &radio.network)]);
        if let Some(reg) = radio.registered {
            registered.get_or_create(&l).set(i64::from(reg));
        }
        if let Some(id) = &radio.identification {
            let text = |t: &Option<String>| t.clone().unwrap_or_default();
            info.get_or_create(&labels(&[
                ("radio", &radio.name),
                ("network", &radio.network),
                ("manufacturer", &text(&id.manufacturer)),
                ("model", &text(&id.model)),
                ("revision", &text(&id.revision)),
            ]))
            .set(1);
        }
        for cause in AudioDropCause::ALL {
            radio_drops
                .get_or_create(&labels(&[
                    ("radio", &radio.name),
                    ("network", &radio.network),
                    ("cause", cause.label()),
                ]))
                .inc_by(radio.frames_dropped.get(cause));
        }
        up.get_or_create(&l).set(i64::from(radio.up));
        keyed.get_or_create(&l).set(i64::from(radio.transmitting));
        ptt.get_or_create(&l).set(radio.ptt_seconds);
        transmissions.get_or_create(&l).inc_by(radio.transmissions);
        if let Some(dbm) = radio.signal_dbm {
            signal.get_or_create(&l).set(i64::from(dbm));
        }
    }
    r.register(
        "radio_up",
        "1 if the radio is initialised, answering and not known to be unregistered",
        up,
    );
    r.register(
        "radio_registered",
        "1 if the radio last said it is registered on its network (+CREG), 0 if not",
        registered,
    );
    r.register(
        "radio_info",
        "The radio's maker, model and software as it reported them (+GMI, +GMM, +GMR)",
        info,
    );
    r.register("radio_transmitting", "1 if the radio is keyed now", keyed);
    // A float that only grows: exposed as a gauge because the text format's counters are
    // integers in this client.
    r.register(
        "radio_ptt_seconds",
        "Seconds the radio has been keyed since the daemon started",
        ptt,
    );
    r.register(
        "radio_transmissions",
        "Transmissions granted to the radio since start",
        transmissions,
    );
    r.register(
        "radio_signal_dbm",
        "Last signal strength the radio reported",
        signal,
    );
    r.register(
        "radio_frames_dropped",
        "Audio frames dropped between a radio's audio backend and the engine, by cause",
        radio_drops,
    );

    if let Some(b) = &snapshot.board {
        r.register(
            "board_up",
            "1 if the board link is up",
            gauge(i64::from(b.up)),
        );
        let link = Family::<Labels, Counter>::default();
        for (name, v) in [
            ("frames_received", b.frames_received),
            ("bad_crc", b.bad_crc),
            ("framing_errors", b.framing_errors),
            ("retransmissions", b.retransmissions),
            ("link_downs", b.link_downs),
        ] {
            link.get_or_create(&labels(&[("event", name)])).inc_by(v);
        }
        r.register("board_link", "Board link events, by kind", link);
    }

    let peer_up = Family::<Labels, Gauge>::default();
    let rtt = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let peer_counters = Family::<Labels, Counter>::default();
    for peer in &snapshot.peers {
        let site = peer.site.to_string();
        let l = labels(&[("peer", &peer.name), ("site", &site)]);
        peer_up.get_or_create(&l).set(i64::from(peer.up));
        if let Some(s) = peer.rtt_s {
            rtt.get_or_create(&l).set(s);
        }
        for (name, v) in &peer.counters {
            peer_counters
                .get_or_create(&labels(&[
                    ("peer", &peer.name),
                    ("site", &site),
                    ("event", name),
                ]))
                .inc_by(*v);
        }
    }
    r.register("peer_up", "1 if the peer answers keepalives", peer_up);
    r.register("peer_rtt_seconds", "Last round-trip time to the peer", rtt);
    r.register(
        "peer_packets",
        "Peer link packet events, by kind",
        peer_counters,
    );

    r.register(
        "api_requests",
        "Control API requests answered, by route and status",
        api.requests.clone(),
    );
    r.register(
        "api_auth_refused",
        "Control API requests refused for a missing, malformed or unknown token",
        api.auth_refused.clone(),
    );
    r.register(
        "api_connections_refused",
        "Control API connections turned away because the most open connections were open",
        api.connections_refused.clone(),
    );

    let mut text = String::new();
    if encode(&mut text, &r).is_err() {
        // Encoding into a String cannot fail short of a bug in the client library; say so in
        // the scrape rather than answer with half a page.
        text.clear();
        let _ = writeln!(text, "# metrics could not be encoded");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::command::{PeerFigures, PlayoutFigures, RadioFigures};

    fn value_of(text: &str, line_start: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn every_figure_appears_with_its_labels() {
        let mut s = MetricsSnapshot::default();
        s.frames.received = 1500;
        s.frames.drop_n(DropCause::Late, 7);
        s.patches = 2;
        s.playout.push(PlayoutFigures {
            source: "peer-2".into(),
            jitter_p95_s: Some(0.012),
            target_delay_s: 0.04,
        });
        s.radios.push(RadioFigures {
            name: "astrid".into(),
            network: "ASTRID".into(),
            up: true,
            transmitting: false,
            ptt_seconds: 12.5,
            transmissions: 3,
            signal_dbm: Some(-71),
            frames_dropped: crate::audio::drops::AudioDropCounts {
                capture_queue_full: 5,
                playback_queue_full: 2,
                no_call: 7,
            },
            registered: Some(false),
            identification: Some(crate::api::model::RadioIdentView {
                manufacturer: Some("Sepura".into()),
                model: Some("SRG3900".into()),
                revision: None,
                groups: vec![],
            }),
        });
        s.peers.push(PeerFigures {
            name: "nl".into(),
            site: 2,
            up: true,
            rtt_s: Some(0.0042),
            counters: vec![("auth_failed".into(), 4)],
        });
        let api = ApiCounters::default();
        api.count("/api/v1/patches", 201);
        api.count("/api/v1/patches", 201);
        let text = render(&s, &api);
        assert_eq!(
            value_of(&text, "borderlink_frames_received_total "),
            Some(1500.0)
        );
        assert_eq!(
            value_of(&text, "borderlink_frames_dropped_total{cause=\"late\"}"),
            Some(7.0)
        );
        assert_eq!(value_of(&text, "borderlink_patches "), Some(2.0));
        assert_eq!(
            value_of(&text, "borderlink_jitter_p95_seconds{source=\"peer-2\"}"),
            Some(0.012)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_ptt_seconds{radio=\"astrid\",network=\"ASTRID\"}"
            ),
            Some(12.5)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_frames_dropped_total{radio=\"astrid\",network=\"ASTRID\",cause=\"capture_queue_full\"}"
            ),
            Some(5.0)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_frames_dropped_total{radio=\"astrid\",network=\"ASTRID\",cause=\"playback_queue_full\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_frames_dropped_total{radio=\"astrid\",network=\"ASTRID\",cause=\"no_call\"}"
            ),
            Some(7.0)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_registered{radio=\"astrid\",network=\"ASTRID\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_radio_info{radio=\"astrid\",network=\"ASTRID\",manufacturer=\"Sepura\",model=\"SRG3900\",revision=\"\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value_of(&text, "borderlink_peer_rtt_seconds{peer=\"nl\",site=\"2\"}"),
            Some(0.0042)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_peer_packets_total{peer=\"nl\",site=\"2\",event=\"auth_failed\"}"
            ),
            Some(4.0)
        );
        assert_eq!(
            value_of(
                &text,
                "borderlink_api_requests_total{route=\"/api/v1/patches\",status=\"201\"}"
            ),
            Some(2.0)
        );
        assert!(
            text.contains("# TYPE borderlink_frames_dropped counter"),
            "{text}"
        );
    }
}
