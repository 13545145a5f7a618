//! Each site's `borderlinkd` configuration, written from the scenario: the same TOML an
//! engineer writes (`gateway/examples/`), with the radios' PEI ports on pseudo-terminals, their
//! audio on loopback UDP (raw A-law) and the board on a pseudo-terminal.
//!
//! # Peers
//! Sites carry voice to each other over their SRTP peer links ([`PEERS`]): every site gets the
//! whole patch, its own voice socket in `[network]` and a `[[peers]]` entry per other site
//! pointing at that pair's [`UdpProxy`](crate::net::proxy::UdpProxy) address, with the pair's
//! key file. Keepalives run every 200 ms and a peer is down after 3 silent intervals, so a
//! partition ends a relayed call well within hang time + 1 s. With [`PEERS`] off (kept for
//! comparison runs) each site relays locally: a patch goes to the lowest-numbered site that
//! reaches at least two of its channels, with its local channels only.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use borderlink_protocol::ids::{Tsi, TsiForm};
use borderlink_protocol::time::Duration;

use crate::scenario::{PatchDef, Scenario};

/// Whether the sites carry voice to each other over peer links.
pub const PEERS: bool = true;

/// Where one radio's ends are.
#[derive(Debug, Clone)]
pub struct RadioPorts {
    /// The PEI port the daemon opens.
    pub serial: PathBuf,
    /// The daemon's audio socket.
    pub listen: SocketAddr,
    /// The radio's audio socket (the simulator's).
    pub peer: SocketAddr,
}

/// A site's control API and state file.
#[derive(Debug, Clone)]
pub struct ApiFiles {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// The token file (mode 0600).
    pub tokens: PathBuf,
    /// Where dynamic patches are kept across restarts.
    pub state: PathBuf,
}

/// Where a site's ends are.
#[derive(Debug, Clone)]
pub struct SitePorts {
    /// The control API, if the site serves one.
    pub api: Option<ApiFiles>,
    /// Per radio, in the scenario's order.
    pub radios: Vec<RadioPorts>,
    /// The board's port, if the site has one.
    pub board: Option<PathBuf>,
    /// The site's own voice socket (peer links).
    pub voice: Option<SocketAddr>,
    /// Per other site: the address this site sends its voice to (the proxy's facing side)
    /// and the pair's key file.
    pub peers: Vec<(u16, SocketAddr, PathBuf)>,
}

fn digits(t: Tsi) -> String {
    t.pei(TsiForm::Long).to_string()
}

fn duration(d: Duration) -> String {
    format!("{}us", d.as_micros())
}

fn quoted(text: &str) -> String {
    // TOML basic strings: escape what could end or break the string.
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => vec![' '],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

fn path(p: &Path) -> String {
    quoted(&p.to_string_lossy())
}

/// The part of a patch a site is given: the whole patch with peer links; without, the
/// patch's channels at this site if it is the one that relays the patch alone (see the
/// [module documentation](self)).
pub fn patch_for_site(patch: &PatchDef, site: u16) -> Option<PatchDef> {
    if PEERS {
        return patch
            .channels
            .iter()
            .any(|c| c.site.0 == site)
            .then(|| patch.clone());
    }
    let relay = patch
        .channels
        .iter()
        .map(|c| c.site.0)
        .filter(|s| patch.channels.iter().filter(|c| c.site.0 == *s).count() >= 2)
        .min()?;
    (relay == site).then(|| PatchDef {
        name: patch.name.clone(),
        channels: patch
            .channels
            .iter()
            .filter(|c| c.site.0 == site)
            .copied()
            .collect(),
    })
}

/// The patches a site configures.
pub fn site_patches(scenario: &Scenario, site: usize, patches: &[PatchDef]) -> Vec<PatchDef> {
    let id = scenario.sites[site].id;
    patches
        .iter()
        .filter_map(|p| patch_for_site(p, id))
        .collect()
}

/// The `[network]` section and `[[peers]]` entries of a site.
pub fn peers_toml(scenario: &Scenario, ports: &SitePorts) -> String {
    let mut o = String::new();
    let (true, Some(voice)) = (PEERS, ports.voice) else {
        return o;
    };
    let _ = writeln!(
        o,
        "\n[network]\nlisten = \"{voice}\"\nkeepalive = \"200ms\"\ndown_after = 3"
    );
    for (site, address, key) in &ports.peers {
        let name = scenario.site(*site).map_or("", |s| s.name.as_str());
        let _ = writeln!(o, "\n[[peers]]");
        let _ = writeln!(o, "site = {site}");
        let _ = writeln!(o, "name = {}", quoted(name));
        let _ = writeln!(o, "address = {}", quoted(&address.to_string()));
        let _ = writeln!(o, "key_file = {}", path(key));
    }
    o
}

/// A pair's key file: two lines of base64 key‖salt for AEAD_AES_128_GCM (16 + 12 bytes),
/// the lower site's direction first, drawn from `seed`.
pub fn pair_key_file(seed: u64) -> String {
    use base64::Engine as _;
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut line = || {
        let mut bytes = [0u8; 28];
        rng.fill(&mut bytes[..]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let (a, b) = (line(), line());
    format!("# borderlink-sim pair key (AEAD_AES_128_GCM)\n{a}\n{b}\n")
}

/// The configuration file of site `site`.
pub fn site_toml(
    scenario: &Scenario,
    site: usize,
    ports: &SitePorts,
    patches: &[PatchDef],
) -> String {
    let spec = &scenario.sites[site];
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Written by borderlink-sim for scenario `{}`, site {}.",
        scenario.name, spec.id
    );
    let others: Vec<String> = scenario
        .sites
        .iter()
        .filter(|s| s.id != spec.id)
        .flat_map(|s| s.radios.iter().map(|r| quoted(&digits(r.issi))))
        .collect();
    let _ = writeln!(o, "gateway_radios = [{}]", others.join(", "));
    let _ = writeln!(
        o,
        "\n[site]\nid = {}\nname = {}",
        spec.id,
        quoted(&spec.name)
    );
    for (r, p) in spec.radios.iter().zip(&ports.radios) {
        let _ = writeln!(o, "\n[[radios]]");
        let _ = writeln!(o, "name = {}", quoted(&r.name));
        let _ = writeln!(o, "network = \"{}\"", r.network);
        if r.pei {
            let _ = writeln!(o, "serial = {}", path(&p.serial));
        }
        let _ = writeln!(o, "issi = \"{}\"", digits(r.issi));
        let _ = writeln!(o, "group = \"{}\"", digits(r.group));
        let _ = writeln!(
            o,
            "udp = {{ listen = \"{}\", peer = \"{}\", format = \"pcma\" }}",
            p.listen, p.peer
        );
    }
    if let Some(board) = &ports.board {
        let _ = writeln!(o, "\n[board]\nserial = {}", path(board));
        for (i, r) in spec.radios.iter().enumerate() {
            let _ = writeln!(
                o,
                "\n[[board.ports]]\nport = {i}\nradio = {}\nptt = \"active-high\"",
                quoted(&r.name)
            );
        }
    }
    let g = scenario.gateway;
    let _ = writeln!(o, "\n[timers]");
    let _ = writeln!(o, "hang_time = \"{}\"", duration(g.hang_time));
    let _ = writeln!(o, "tx_timeout = \"{}\"", duration(g.tx_timeout));
    let _ = writeln!(o, "block_time = \"{}\"", duration(g.block_time));
    let _ = writeln!(o, "grant_wait_bound = \"{}\"", duration(g.grant_wait_bound));
    if let Some(fixed) = g.playout_fixed {
        let _ = writeln!(o, "\n[playout]\nfixed = \"{}\"", duration(fixed));
    }
    if let Some(api) = &ports.api {
        let _ = writeln!(
            o,
            "\n[api]\nlisten = \"{}\"\ntoken_file = {}",
            api.listen,
            path(&api.tokens)
        );
        let _ = writeln!(o, "\n[state]\nfile = {}", path(&api.state));
    }
    o.push_str(&peers_toml(scenario, ports));
    for p in site_patches(scenario, site, patches) {
        let _ = writeln!(o, "\n[[patches]]\nname = {}\nchannels = [", quoted(&p.name));
        for c in &p.channels {
            let _ = writeln!(
                o,
                "    {{ site = {}, network = \"{}\", group = \"{}\" }},",
                c.site.0,
                c.network,
                digits(c.group)
            );
        }
        let _ = writeln!(o, "]");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_gateway::config::Config;

    fn ports(scenario: &Scenario, site: usize) -> SitePorts {
        let n = scenario.sites[site].radios.len();
        SitePorts {
            api: Some(ApiFiles {
                listen: format!("127.0.0.1:{}", 42_000 + site).parse().unwrap(),
                tokens: PathBuf::from("/tmp/tokens"),
                state: PathBuf::from("/tmp/state.json"),
            }),
            radios: (0..n)
                .map(|i| RadioPorts {
                    serial: PathBuf::from(format!("/tmp/radio-{site}-{i}")),
                    listen: format!("127.0.0.1:{}", 40_000 + 10 * site + i)
                        .parse()
                        .unwrap(),
                    peer: format!("127.0.0.1:{}", 41_000 + 10 * site + i)
                        .parse()
                        .unwrap(),
                })
                .collect(),
            board: scenario.sites[site]
                .board
                .then(|| PathBuf::from(format!("/tmp/board \"{site}\""))),
            voice: Some(format!("127.0.0.1:{}", 43_000 + site).parse().unwrap()),
            peers: scenario
                .sites
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != site)
                .map(|(other, spec)| {
                    (
                        spec.id,
                        format!("127.0.0.1:{}", 44_000 + other).parse().unwrap(),
                        PathBuf::from("/tmp/pair.key"),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn pair_keys_are_two_distinct_gcm_lines_the_daemon_reads() {
        let text = pair_key_file(7);
        assert_eq!(text, pair_key_file(7), "same seed, same key");
        assert_ne!(text, pair_key_file(8));
        let keys = borderlink_gateway::net::PeerKeys::parse(
            &text,
            borderlink_gateway::net::Suite::default(),
        );
        assert!(keys.is_ok(), "{keys:?}");
    }

    /// The written file is one the daemon accepts, and carries the scenario's settings.
    #[test]
    fn every_site_of_the_border_scenario_gets_a_valid_config_with_its_settings() {
        let s = Scenario::border();
        let patches: Vec<PatchDef> = s
            .events
            .iter()
            .filter_map(|e| match &e.action {
                crate::scenario::Action::Patch(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        for site in 0..s.sites.len() {
            let text = site_toml(&s, site, &ports(&s, site), &patches);
            let config = Config::parse(&text, "generated.toml")
                .unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
            let engine = config.engine_config();
            assert_eq!(engine.site.0, s.sites[site].id);
            assert_eq!(engine.radios.len(), s.sites[site].radios.len());
            assert_eq!(engine.floor.hang_time, s.gateway.hang_time);
            assert_eq!(engine.floor.tx_timeout, s.gateway.tx_timeout);
            assert_eq!(engine.floor.block_time, s.gateway.block_time);
            assert_eq!(config.timers.grant_wait_bound, s.gateway.grant_wait_bound);
            assert_eq!(
                engine.gateway_identities.len(),
                s.gateway_identities().len(),
                "every gateway radio of the system is known"
            );
            assert!(config.board.is_some());
            assert!(config.state_file.is_some());
        }
    }

    /// The fast mode starts every site of every shipped scenario from the file the real-time
    /// mode writes: each must be one the daemon accepts.
    #[test]
    fn every_shipped_scenario_makes_a_config_the_daemon_accepts_for_every_site() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            for site in 0..scenario.sites.len() {
                if let Err(e) = crate::fast::site::site_config(&scenario, site) {
                    panic!("{}: site {site}: {e}", path.display());
                }
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} sites checked");
    }

    #[test]
    fn without_peers_one_site_relays_each_patch_with_its_local_channels() {
        let s = Scenario::border();
        let p = match &s.events[0].action {
            crate::scenario::Action::Patch(p) => p.clone(),
            other => panic!("{other:?}"),
        };
        let first = site_patches(&s, 0, std::slice::from_ref(&p));
        let second = site_patches(&s, 1, std::slice::from_ref(&p));
        if PEERS {
            assert_eq!((first.len(), second.len()), (1, 1));
        } else {
            assert_eq!(first.len(), 1);
            assert!(first[0].channels.iter().all(|c| c.site.0 == s.sites[0].id));
            assert!(second.is_empty(), "the second site stays out of it");
        }
    }
}
