//! Where a frame goes: the destinations of a stream in a patch, as seen from one site.
//!
//! Every site runs the same rules on the same patch definition, so the sites agree on who
//! transmits where without talking to each other:
//!
//! - **Never back to the source** endpoint.
//! - **Local radios** transmit a stream only into a group of this site's channels, only on the
//!   network the stream did not come from (loop rule 1: joining groups of the same network is
//!   the SwMI's job), and only where this site is the [`designated_forwarder`] for the group
//!   (loop rule 3), so a group shared by several sites hears the stream once system-wide.
//! - **Peers** (split horizon): a stream whose source is local — a local radio or a local
//!   console — goes to every other site that has a channel or a console in the patch, once
//!   per site. A stream received from a peer is never forwarded to another peer. This assumes
//!   the sites sharing a patch form a **full mesh** of peer links: the origin site reaches every
//!   other site directly, and nothing is relayed through a third site. A stream received from a
//!   peer that says it originated here is an echo and goes nowhere ([`RouteVerdict::Loop`]).
//! - **Consoles**: every console of the patch at this site, except the source.
//!
//! [`route`] writes into a caller-owned buffer and allocates nothing as long as the buffer has
//! [`max_destinations`] capacity; the engine reserves that when a stream starts.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::{Origin, SiteId};

use super::endpoint::{EndpointId, RadioId};
use super::loops::{designated_forwarder, returns_to_origin};
use super::patch::{Channel, PatchSpec};

/// A radio of this site and the talkgroup it is attached to: that is how it serves a
/// [`Channel`] of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalRadio {
    /// The radio's id.
    pub id: RadioId,
    /// The network it is registered on.
    pub network: Network,
    /// The group it has selected (listens and transmits on).
    pub group: Tsi,
}

/// This site and its radios, as routing needs them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalSite {
    /// This site's id.
    pub site: SiteId,
    /// The radios attached to this gateway, in config order (the first radio on a group
    /// serves it when two are on the same one).
    pub radios: Vec<LocalRadio>,
}

impl LocalSite {
    /// A radio by id.
    pub fn radio(&self, id: RadioId) -> Option<&LocalRadio> {
        self.radios.iter().find(|r| r.id == id)
    }
}

/// What [`route`] decided about a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum RouteVerdict {
    /// Relay to the destinations written into the buffer (possibly none).
    Relay,
    /// A peer sent back a stream that originated at this site: a loop somewhere. Nothing was
    /// written; the engine counts the frame as [`DropCause::Loop`](super::counters::DropCause::Loop).
    Loop,
}

/// The most destinations [`route`] can write for this patch at this site: reserve this much
/// in the buffer and routing never allocates.
pub fn max_destinations(patch: &PatchSpec, local: &LocalSite) -> usize {
    local
        .radios
        .len()
        .saturating_add(patch.channels.len())
        .saturating_add(patch.consoles.len())
}

/// Writes into `out` (cleared first) the endpoints this site sends a frame to: a frame of a
/// stream in `patch`, received from `source`, that entered the system at `origin`.
///
/// `source` is a local radio or console for a stream this site puts on IP (then
/// `origin.site` is this site), or `Peer(site)` for a copy received from that site.
pub fn route(
    patch: &PatchSpec,
    local: &LocalSite,
    source: EndpointId,
    origin: Origin,
    out: &mut Vec<EndpointId>,
) -> RouteVerdict {
    out.clear();
    let from_peer = matches!(source, EndpointId::Peer(_));
    if from_peer && origin.site == local.site {
        return RouteVerdict::Loop;
    }

    for (index, radio) in local.radios.iter().enumerate() {
        let endpoint = EndpointId::Radio(radio.id);
        let channel = Channel {
            site: local.site,
            network: radio.network,
            group: radio.group,
        };
        let serves = endpoint != source
            && !returns_to_origin(origin.network, radio.network)
            && patch.has_channel(&channel)
            && designated_forwarder(&patch.channels, origin.site, radio.network, radio.group)
                == Some(local.site)
            // Two radios on one group would put the stream on the air twice.
            && !local.radios[..index]
                .iter()
                .any(|r| r.network == radio.network && r.group == radio.group);
        if serves {
            out.push(endpoint);
        }
    }

    if !from_peer {
        let sites = patch
            .channels
            .iter()
            .map(|c| c.site)
            .chain(patch.consoles.iter().map(|c| c.site));
        for site in sites {
            let peer = EndpointId::Peer(site);
            if site != local.site && !out.contains(&peer) {
                out.push(peer);
            }
        }
    }

    for console in patch.consoles.iter().filter(|c| c.site == local.site) {
        let endpoint = EndpointId::Console(console.console);
        if endpoint != source {
            out.push(endpoint);
        }
    }
    RouteVerdict::Relay
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::engine::endpoint::ConsoleId;
    use crate::engine::patch::{PatchKind, SiteConsole};

    fn astrid(ssi: u32) -> Tsi {
        Tsi::from_parts(206, 1, ssi).unwrap()
    }

    fn c2000(ssi: u32) -> Tsi {
        Tsi::from_parts(204, 1, ssi).unwrap()
    }

    fn group(network: Network, index: u32) -> Tsi {
        match network {
            Network::Astrid => astrid(2_061_000 + index),
            Network::C2000 => c2000(2_040_000 + index),
        }
    }

    fn ch(site: u16, network: Network, group: Tsi) -> Channel {
        Channel {
            site: SiteId(site),
            network,
            group,
        }
    }

    fn console(site: u16, id: u16) -> SiteConsole {
        SiteConsole {
            site: SiteId(site),
            console: ConsoleId(id),
        }
    }

    fn spec(channels: Vec<Channel>, consoles: Vec<SiteConsole>) -> PatchSpec {
        PatchSpec {
            name: "test".into(),
            channels,
            consoles,
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Static,
        }
    }

    fn radio(id: u16, network: Network, group: Tsi) -> LocalRadio {
        LocalRadio {
            id: RadioId(id),
            network,
            group,
        }
    }

    /// Where one stream went in the whole system.
    #[derive(Debug, Default)]
    struct Delivery {
        /// Per site, what `route` wrote there (origin site first in `order`).
        at: BTreeMap<SiteId, Vec<EndpointId>>,
        /// Groups put on the air: (site, network, group).
        on_air: Vec<(SiteId, Network, Tsi)>,
        /// Consoles that played the stream.
        consoles: Vec<SiteConsole>,
        /// Sites that received a copy over IP.
        peer_copies: Vec<SiteId>,
    }

    /// Runs a stream through the system: the origin site routes the local capture, then each
    /// peer it sent a copy to routes that copy. Checks the buffer never grows and peer copies
    /// are never forwarded.
    fn simulate(
        patch: &PatchSpec,
        sites: &[LocalSite],
        source: EndpointId,
        origin: Origin,
    ) -> Delivery {
        let site_of = |id: SiteId| sites.iter().find(|s| s.site == id).unwrap();
        let mut delivery = Delivery::default();
        let run = |local: &LocalSite, source: EndpointId, delivery: &mut Delivery| {
            let cap = max_destinations(patch, local);
            let mut out = Vec::with_capacity(cap);
            let reserved = out.capacity();
            assert_eq!(
                route(patch, local, source, origin, &mut out),
                RouteVerdict::Relay
            );
            assert_eq!(out.capacity(), reserved, "route grew the buffer");
            assert!(out.len() <= cap);
            assert!(
                !out.contains(&source),
                "sent back to its source at {:?}",
                local.site
            );
            for &ep in &out {
                match ep {
                    EndpointId::Radio(id) => {
                        let r = local.radio(id).unwrap();
                        delivery.on_air.push((local.site, r.network, r.group));
                    }
                    EndpointId::Console(c) => delivery.consoles.push(SiteConsole {
                        site: local.site,
                        console: c,
                    }),
                    EndpointId::Peer(_) => {}
                }
            }
            delivery.at.insert(local.site, out.clone());
            out
        };
        let first = run(site_of(origin.site), source, &mut delivery);
        for ep in first {
            if let EndpointId::Peer(peer) = ep {
                delivery.peer_copies.push(peer);
                let out = run(site_of(peer), EndpointId::Peer(origin.site), &mut delivery);
                assert!(
                    !out.iter().any(|e| matches!(e, EndpointId::Peer(_))),
                    "site {peer:?} forwarded a peer's stream to another peer"
                );
            }
        }
        delivery
    }

    const X: u32 = 2_061_001;
    const Y: u32 = 2_040_551;

    /// Sites 1, 2, 3 each with an ASTRID radio on X and a C2000 radio on Y, a console at site
    /// 3, and a dispatch centre (site 9, no radio) with a console; one patch joins them all.
    fn three_sites() -> (PatchSpec, Vec<LocalSite>) {
        let mut channels = Vec::new();
        let mut sites = Vec::new();
        for s in 1..=3 {
            channels.push(ch(s, Network::Astrid, astrid(X)));
            channels.push(ch(s, Network::C2000, c2000(Y)));
            sites.push(LocalSite {
                site: SiteId(s),
                radios: vec![
                    radio(0, Network::Astrid, astrid(X)),
                    radio(1, Network::C2000, c2000(Y)),
                ],
            });
        }
        sites.push(LocalSite {
            site: SiteId(9),
            radios: vec![],
        });
        (spec(channels, vec![console(3, 0), console(9, 0)]), sites)
    }

    fn count_on_air(d: &Delivery, network: Network, group: Tsi) -> usize {
        d.on_air
            .iter()
            .filter(|(_, n, g)| *n == network && *g == group)
            .count()
    }

    #[test]
    fn three_gateways_on_the_same_pair_of_groups() {
        use EndpointId::{Console as C, Peer as P, Radio as R};
        let (patch, sites) = three_sites();
        let (rx, ry) = (R(RadioId(0)), R(RadioId(1)));
        let c0 = C(ConsoleId(0));
        let s = SiteId;
        struct Case {
            what: &'static str,
            site: u16,
            source: EndpointId,
            network: Option<Network>,
            expect: Vec<(u16, Vec<EndpointId>)>,
            // Which site puts X and Y on the air (None: nobody).
            x_by: Option<u16>,
            y_by: Option<u16>,
        }
        let cases = [
            Case {
                what: "ASTRID talker at site 2",
                site: 2,
                source: rx,
                network: Some(Network::Astrid),
                expect: vec![
                    (2, vec![ry, P(s(1)), P(s(3)), P(s(9))]),
                    (1, vec![]),
                    (3, vec![c0]),
                    (9, vec![c0]),
                ],
                x_by: None,
                y_by: Some(2),
            },
            Case {
                what: "C2000 talker at site 3",
                site: 3,
                source: ry,
                network: Some(Network::C2000),
                expect: vec![
                    (3, vec![rx, P(s(1)), P(s(2)), P(s(9)), c0]),
                    (1, vec![]),
                    (2, vec![]),
                    (9, vec![c0]),
                ],
                x_by: Some(3),
                y_by: None,
            },
            Case {
                what: "console at site 3, which has both groups",
                site: 3,
                source: c0,
                network: None,
                expect: vec![
                    (3, vec![rx, ry, P(s(1)), P(s(2)), P(s(9))]),
                    (1, vec![]),
                    (2, vec![]),
                    (9, vec![c0]),
                ],
                x_by: Some(3),
                y_by: Some(3),
            },
            Case {
                what: "console at the dispatch centre, which has no group",
                site: 9,
                source: c0,
                network: None,
                expect: vec![
                    (9, vec![P(s(1)), P(s(2)), P(s(3))]),
                    (1, vec![rx, ry]),
                    (2, vec![]),
                    (3, vec![c0]),
                ],
                x_by: Some(1),
                y_by: Some(1),
            },
        ];
        for case in cases {
            let origin = Origin {
                site: SiteId(case.site),
                network: case.network,
            };
            let d = simulate(&patch, &sites, case.source, origin);
            let expect: BTreeMap<SiteId, Vec<EndpointId>> = case
                .expect
                .into_iter()
                .map(|(site, eps)| (SiteId(site), eps))
                .collect();
            assert_eq!(d.at, expect, "{}", case.what);
            for (network, g, by) in [
                (Network::Astrid, astrid(X), case.x_by),
                (Network::C2000, c2000(Y), case.y_by),
            ] {
                let on_air: Vec<SiteId> = d
                    .on_air
                    .iter()
                    .filter(|(_, n, gg)| *n == network && *gg == g)
                    .map(|(site, _, _)| *site)
                    .collect();
                assert_eq!(
                    on_air,
                    by.map(SiteId).into_iter().collect::<Vec<_>>(),
                    "{}: {network}",
                    case.what
                );
            }
        }
    }

    #[test]
    fn origin_without_the_destination_group_leaves_it_to_the_lowest_site_that_has_it() {
        // X at sites 1 and 2, Y at sites 3 and 4 only.
        let patch = spec(
            vec![
                ch(2, Network::Astrid, astrid(X)),
                ch(1, Network::Astrid, astrid(X)),
                ch(4, Network::C2000, c2000(Y)),
                ch(3, Network::C2000, c2000(Y)),
            ],
            vec![],
        );
        let sites: Vec<LocalSite> = (1..=4)
            .map(|s| LocalSite {
                site: SiteId(s),
                radios: vec![
                    radio(0, Network::Astrid, astrid(X)),
                    radio(1, Network::C2000, c2000(Y)),
                ],
            })
            .collect();
        let origin = Origin {
            site: SiteId(2),
            network: Some(Network::Astrid),
        };
        let d = simulate(&patch, &sites, EndpointId::Radio(RadioId(0)), origin);
        assert_eq!(d.on_air, vec![(SiteId(3), Network::C2000, c2000(Y))]);
        assert_eq!(d.peer_copies, vec![SiteId(1), SiteId(4), SiteId(3)]);
        // Back the other way: Y at site 4 goes to X once, at site 1.
        let origin = Origin {
            site: SiteId(4),
            network: Some(Network::C2000),
        };
        let d = simulate(&patch, &sites, EndpointId::Radio(RadioId(1)), origin);
        assert_eq!(d.on_air, vec![(SiteId(1), Network::Astrid, astrid(X))]);
        assert_eq!(count_on_air(&d, Network::C2000, c2000(Y)), 0);
    }

    #[test]
    fn radios_outside_the_patch_and_second_radios_on_a_group_stay_silent() {
        let patch = spec(
            vec![
                ch(1, Network::Astrid, astrid(X)),
                ch(1, Network::C2000, c2000(Y)),
            ],
            vec![],
        );
        let local = LocalSite {
            site: SiteId(1),
            radios: vec![
                radio(0, Network::Astrid, astrid(X)),
                radio(1, Network::C2000, c2000(Y + 1)), // another group
                radio(2, Network::C2000, c2000(Y)),
                radio(3, Network::C2000, c2000(Y)), // same group again
                radio(4, Network::Astrid, c2000(Y)), // inconsistent: wrong network
            ],
        };
        let mut out = Vec::with_capacity(max_destinations(&patch, &local));
        let origin = Origin {
            site: SiteId(1),
            network: Some(Network::Astrid),
        };
        let verdict = route(
            &patch,
            &local,
            EndpointId::Radio(RadioId(0)),
            origin,
            &mut out,
        );
        assert_eq!(verdict, RouteVerdict::Relay);
        assert_eq!(out, vec![EndpointId::Radio(RadioId(2))]);
    }

    #[test]
    fn another_group_of_the_origin_network_is_left_to_the_swmi() {
        // Two ASTRID groups and a C2000 group at one site: ASTRID X reaches C2000 Y only;
        // C2000 Y reaches both ASTRID groups.
        let patch = spec(
            vec![
                ch(1, Network::Astrid, astrid(X)),
                ch(1, Network::Astrid, astrid(X + 1)),
                ch(1, Network::C2000, c2000(Y)),
            ],
            vec![],
        );
        let local = LocalSite {
            site: SiteId(1),
            radios: vec![
                radio(0, Network::Astrid, astrid(X)),
                radio(1, Network::Astrid, astrid(X + 1)),
                radio(2, Network::C2000, c2000(Y)),
            ],
        };
        let mut out = Vec::with_capacity(max_destinations(&patch, &local));
        let from = |network| Origin {
            site: SiteId(1),
            network: Some(network),
        };
        let _ = route(
            &patch,
            &local,
            EndpointId::Radio(RadioId(0)),
            from(Network::Astrid),
            &mut out,
        );
        assert_eq!(out, vec![EndpointId::Radio(RadioId(2))]);
        let _ = route(
            &patch,
            &local,
            EndpointId::Radio(RadioId(2)),
            from(Network::C2000),
            &mut out,
        );
        assert_eq!(
            out,
            vec![EndpointId::Radio(RadioId(0)), EndpointId::Radio(RadioId(1))]
        );
    }

    #[test]
    fn console_hears_everything_but_itself_and_the_buffer_is_cleared() {
        let patch = spec(
            vec![ch(1, Network::Astrid, astrid(X))],
            vec![console(1, 0), console(1, 1)],
        );
        let local = LocalSite {
            site: SiteId(1),
            radios: vec![radio(0, Network::Astrid, astrid(X))],
        };
        let mut out = vec![EndpointId::Peer(SiteId(77))];
        let origin = Origin {
            site: SiteId(1),
            network: None,
        };
        let _ = route(
            &patch,
            &local,
            EndpointId::Console(ConsoleId(1)),
            origin,
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                EndpointId::Radio(RadioId(0)),
                EndpointId::Console(ConsoleId(0))
            ]
        );
    }

    #[test]
    fn own_stream_back_from_a_peer_is_a_loop() {
        let (patch, sites) = three_sites();
        let mut out = vec![EndpointId::Peer(SiteId(77))];
        let origin = Origin {
            site: SiteId(1),
            network: Some(Network::Astrid),
        };
        let verdict = route(
            &patch,
            &sites[0],
            EndpointId::Peer(SiteId(2)),
            origin,
            &mut out,
        );
        assert_eq!(verdict, RouteVerdict::Loop);
        assert!(out.is_empty());
    }

    const SITES: u16 = 4;
    const DISPATCH: u16 = 5;

    /// A random patch over sites 1–4 (each with radios on groups 0–2 of both networks; the
    /// patch uses groups 0 and 1) and consoles at sites 1–5, plus which endpoint talks.
    fn any_layout() -> impl Strategy<Value = (PatchSpec, usize)> {
        (any::<u16>(), 0u16..1 << (2 * DISPATCH), any::<usize>())
            .prop_map(|(chmask, comask, pick)| {
                let mut channels = Vec::new();
                for bit in 0..16 {
                    if chmask & (1 << bit) != 0 {
                        let site = bit / 4 + 1;
                        let network = Network::ALL[usize::from(bit / 2 % 2)];
                        channels.push(ch(site, network, group(network, u32::from(bit % 2))));
                    }
                }
                let consoles = (0..2 * DISPATCH)
                    .filter(|bit| comask & (1 << bit) != 0)
                    .map(|bit| console(bit / 2 + 1, bit % 2))
                    .collect();
                (spec(channels, consoles), pick)
            })
            .prop_filter("a patch joins two endpoints", |(p, _)| {
                p.endpoint_count() >= 2
            })
    }

    fn all_sites() -> Vec<LocalSite> {
        let mut sites: Vec<LocalSite> = (1..=SITES)
            .map(|s| {
                let mut radios = Vec::new();
                for network in Network::ALL {
                    for g in 0..3 {
                        let id = u16::try_from(radios.len()).unwrap();
                        radios.push(radio(id, network, group(network, g)));
                    }
                }
                LocalSite {
                    site: SiteId(s),
                    radios,
                }
            })
            .collect();
        sites.push(LocalSite {
            site: SiteId(DISPATCH),
            radios: vec![],
        });
        sites
    }

    proptest! {
        #[test]
        fn every_other_network_group_hears_a_stream_exactly_once((patch, pick) in any_layout()) {
            let sites = all_sites();
            let endpoints = patch.endpoint_count();
            let pick = pick % endpoints;
            let (source, origin, source_console) = if let Some(c) = patch.channels.get(pick) {
                let local = sites.iter().find(|s| s.site == c.site).unwrap();
                let r = local.radios.iter().find(|r| r.network == c.network && r.group == c.group).unwrap();
                (EndpointId::Radio(r.id), Origin { site: c.site, network: Some(c.network) }, None)
            } else {
                let c = patch.consoles[pick - patch.channels.len()];
                (EndpointId::Console(c.console), Origin { site: c.site, network: None }, Some(c))
            };
            let d = simulate(&patch, &sites, source, origin);

            // Each group of the patch: once, unless it is on the origin network.
            for c in &patch.channels {
                let expected = usize::from(origin.network != Some(c.network));
                prop_assert_eq!(count_on_air(&d, c.network, c.group), expected, "{}", c);
            }
            for &(site, network, g) in &d.on_air {
                prop_assert!(origin.network != Some(network), "back on the origin network");
                prop_assert!(patch.has_channel(&ch(site.0, network, g)), "radio outside the patch");
            }
            // Each console but the source: once.
            for &c in &patch.consoles {
                let n = d.consoles.iter().filter(|&&x| x == c).count();
                prop_assert_eq!(n, usize::from(Some(c) != source_console), "{}", c);
            }
            // Each other site of the patch: one copy over IP.
            for s in 1..=DISPATCH {
                let site = SiteId(s);
                let n = d.peer_copies.iter().filter(|&&p| p == site).count();
                let expected = usize::from(site != origin.site && patch.touches_site(site));
                prop_assert_eq!(n, expected, "copies to site {}", s);
            }
        }
    }
}
