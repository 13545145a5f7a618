//! The site config file a daemon under test reads, built from what the test sets up (the
//! emulated radios' and board's pseudo-terminals, free loopback ports, the token and key files
//! in its temp dir) instead of written out by hand in every test. It writes the format of
//! `gateway/examples/one-box.toml`, only the keys the end-to-end tests use; a test about a
//! malformed file (`check_config.rs`) writes its own text.
//!
//! Each network is read from the identity's country code (ASTRID 206, C2000 204), as the
//! daemon itself checks it.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use borderlink_protocol::ids::{Network, Tsi};

use crate::audio::Audio;
use crate::border::{ASTRID_GROUP, ASTRID_RADIO, C2000_GROUP, C2000_RADIO, digits};

/// A whole site config: `SiteConfig::new(1, "test site").radio(..).patch(..).write(..)`.
#[derive(Clone, Debug)]
pub struct SiteConfig {
    id: u16,
    name: String,
    gateway_radios: Vec<Tsi>,
    radios: Vec<Radio>,
    board: Option<Board>,
    playout: Option<String>,
    network: Option<(SocketAddr, String)>,
    peers: Vec<Peer>,
    api: Option<Api>,
    state: Option<PathBuf>,
    patches: Vec<Patch>,
    aliases: Vec<(Tsi, String)>,
    triggers: Option<Triggers>,
    mirrors: Vec<Mirror>,
    sovereignty: Vec<(Network, Sovereignty)>,
}

impl SiteConfig {
    /// A site with its id and name and nothing else.
    pub fn new(id: u16, name: &str) -> SiteConfig {
        SiteConfig {
            id,
            name: name.to_owned(),
            gateway_radios: Vec::new(),
            radios: Vec::new(),
            board: None,
            playout: None,
            network: None,
            peers: Vec::new(),
            api: None,
            state: None,
            patches: Vec::new(),
            aliases: Vec::new(),
            triggers: None,
            mirrors: Vec::new(),
            sovereignty: Vec::new(),
        }
    }

    /// Another site's gateway radio: a call it talks on is that site relaying (loop rule).
    pub fn gateway_radio(mut self, issi: Tsi) -> Self {
        self.gateway_radios.push(issi);
        self
    }

    /// One more radio, in `[[radios]]` order.
    pub fn radio(mut self, radio: Radio) -> Self {
        self.radios.push(radio);
        self
    }

    /// The site's two gateway radios, `astrid` and `c2000` ([`crate::border`]'s identities on
    /// the border groups), their PEI on `astrid_serial` and `c2000_serial`, their audio on
    /// `a_audio` and `c_audio`.
    pub fn border_radios(
        self,
        (astrid_serial, a_audio): (&str, &Audio),
        (c2000_serial, c_audio): (&str, &Audio),
    ) -> Self {
        self.radio(
            Radio::new("astrid", ASTRID_RADIO, ASTRID_GROUP)
                .serial(astrid_serial)
                .audio(a_audio),
        )
        .radio(
            Radio::new("c2000", C2000_RADIO, C2000_GROUP)
                .serial(c2000_serial)
                .audio(c_audio),
        )
    }

    /// The interface board.
    pub fn board(mut self, board: Board) -> Self {
        self.board = Some(board);
        self
    }

    /// A fixed playout delay (`"200ms"`), instead of the adaptive one.
    pub fn playout_fixed(mut self, delay: &str) -> Self {
        self.playout = Some(delay.to_owned());
        self
    }

    /// The voice socket towards the peers and its keepalive interval (`"200ms"`).
    pub fn network(mut self, listen: SocketAddr, keepalive: &str) -> Self {
        self.network = Some((listen, keepalive.to_owned()));
        self
    }

    /// One more peer site.
    pub fn peer(mut self, peer: Peer) -> Self {
        self.peers.push(peer);
        self
    }

    /// The control API.
    pub fn api(mut self, api: Api) -> Self {
        self.api = Some(api);
        self
    }

    /// The file dynamic patches are saved in (replaces an earlier one).
    pub fn state(mut self, file: &Path) -> Self {
        self.state = Some(file.to_owned());
        self
    }

    /// One more static patch, in `[[patches]]` order.
    pub fn patch(mut self, patch: Patch) -> Self {
        self.patches.push(patch);
        self
    }

    /// A unit's call sign, as dispatch is shown it.
    pub fn alias(mut self, unit: Tsi, name: &str) -> Self {
        self.aliases.push((unit, name.to_owned()));
        self
    }

    /// The status values of semi-roaming.
    pub fn triggers(mut self, triggers: Triggers) -> Self {
        self.triggers = Some(triggers);
        self
    }

    /// One more roaming mirror.
    pub fn mirror(mut self, mirror: Mirror) -> Self {
        self.mirrors.push(mirror);
        self
    }

    /// `network`'s sovereignty rules.
    pub fn sovereignty(mut self, network: Network, rules: Sovereignty) -> Self {
        self.sovereignty.push((network, rules));
        self
    }

    /// Writes the file to `path` and returns the path.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path.to_owned()
    }
}

impl fmt::Display for SiteConfig {
    /// The TOML text; top-level keys come before the first table, as TOML requires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if !self.gateway_radios.is_empty() {
            let list: Vec<String> = self.gateway_radios.iter().map(|t| quoted_tsi(*t)).collect();
            writeln!(out, "gateway_radios = [{}]\n", list.join(", "))?;
        }
        writeln!(
            out,
            "[site]\nid = {}\nname = {}",
            self.id,
            quoted(&self.name)
        )?;
        for radio in &self.radios {
            write!(out, "\n{radio}")?;
        }
        if let Some(board) = &self.board {
            write!(out, "\n{board}")?;
        }
        if let Some(delay) = &self.playout {
            writeln!(out, "\n[playout]\nfixed = {}", quoted(delay))?;
        }
        if let Some((listen, keepalive)) = &self.network {
            writeln!(
                out,
                "\n[network]\nlisten = \"{listen}\"\nkeepalive = {}",
                quoted(keepalive)
            )?;
        }
        for peer in &self.peers {
            write!(out, "\n{peer}")?;
        }
        if let Some(api) = &self.api {
            write!(out, "\n{api}")?;
        }
        if let Some(state) = &self.state {
            writeln!(out, "\n[state]\nfile = {}", quoted_path(state))?;
        }
        for patch in &self.patches {
            write!(out, "\n{patch}")?;
        }
        if !self.aliases.is_empty() {
            writeln!(out, "\n[aliases]")?;
            for (unit, name) in &self.aliases {
                writeln!(out, "{} = {}", quoted_tsi(*unit), quoted(name))?;
            }
        }
        if let Some(triggers) = &self.triggers {
            write!(out, "\n{triggers}")?;
        }
        for mirror in &self.mirrors {
            write!(out, "\n{mirror}")?;
        }
        for (network, rules) in &self.sovereignty {
            writeln!(out, "\n[sovereignty.{network}]")?;
            write!(out, "{rules}")?;
        }
        f.write_str(&out)
    }
}

/// A `[[radios]]` entry.
#[derive(Clone, Debug)]
pub struct Radio {
    name: String,
    serial: Option<String>,
    issi: Tsi,
    group: Tsi,
    udp: Option<(SocketAddr, SocketAddr)>,
}

impl Radio {
    /// Radio `name` with identity `issi` on `group`; its network is the identity's. Without
    /// [`serial`](Self::serial) it has no PEI (the board alone drives it).
    pub fn new(name: &str, issi: Tsi, group: Tsi) -> Radio {
        Radio {
            name: name.to_owned(),
            serial: None,
            issi,
            group,
            udp: None,
        }
    }

    /// The PEI port (an emulated radio's pseudo-terminal).
    pub fn serial(mut self, path: &str) -> Self {
        self.serial = Some(path.to_owned());
        self
    }

    /// Audio over UDP (PCMA): the daemon listens on `listen` and plays to `peer`.
    pub fn udp(mut self, listen: SocketAddr, peer: SocketAddr) -> Self {
        self.udp = Some((listen, peer));
        self
    }

    /// Audio over UDP between the daemon and the test's end of `audio`.
    pub fn audio(self, audio: &Audio) -> Self {
        self.udp(audio.daemon, audio.addr())
    }
}

impl fmt::Display for Radio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[[radios]]\nname = {}", quoted(&self.name))?;
        writeln!(f, "network = \"{}\"", network_of(self.issi))?;
        if let Some(serial) = &self.serial {
            writeln!(f, "serial = {}", quoted(serial))?;
        }
        writeln!(f, "issi = {}", quoted_tsi(self.issi))?;
        writeln!(f, "group = {}", quoted_tsi(self.group))?;
        if let Some((listen, peer)) = self.udp {
            writeln!(
                f,
                "udp = {{ listen = \"{listen}\", peer = \"{peer}\", format = \"pcma\" }}"
            )?;
        }
        Ok(())
    }
}

/// The `[board]` table and its ports.
#[derive(Clone, Debug)]
pub struct Board {
    serial: String,
    ports: Vec<(usize, String, String)>,
}

impl Board {
    /// A board on `serial` (an emulated board's pseudo-terminal), no ports yet.
    pub fn new(serial: &str) -> Board {
        Board {
            serial: serial.to_owned(),
            ports: Vec::new(),
        }
    }

    /// Board port `port` drives radio `radio`, its PTT line of polarity `ptt`
    /// (`"active-low"`, `"active-high"`).
    pub fn port(mut self, port: usize, radio: &str, ptt: &str) -> Self {
        self.ports.push((port, radio.to_owned(), ptt.to_owned()));
        self
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[board]\nserial = {}", quoted(&self.serial))?;
        for (port, radio, ptt) in &self.ports {
            writeln!(
                f,
                "\n[[board.ports]]\nport = {port}\nradio = {}\nptt = {}",
                quoted(radio),
                quoted(ptt)
            )?;
        }
        Ok(())
    }
}

/// A `[[peers]]` entry: another site, reached over SRTP.
#[derive(Clone, Debug)]
pub struct Peer {
    site: u16,
    name: String,
    address: SocketAddr,
    key_file: PathBuf,
    suite: Option<String>,
}

impl Peer {
    /// Site `site` called `name`, whose voice socket is `address`, keys in `key_file`.
    pub fn new(site: u16, name: &str, address: SocketAddr, key_file: &Path) -> Peer {
        Peer {
            site,
            name: name.to_owned(),
            address,
            key_file: key_file.to_owned(),
            suite: None,
        }
    }

    /// The SRTP suite, instead of the default.
    pub fn suite(mut self, suite: &str) -> Self {
        self.suite = Some(suite.to_owned());
        self
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[[peers]]\nsite = {}\nname = {}\naddress = \"{}\"\nkey_file = {}",
            self.site,
            quoted(&self.name),
            self.address,
            quoted_path(&self.key_file)
        )?;
        if let Some(suite) = &self.suite {
            writeln!(f, "suite = {}", quoted(suite))?;
        }
        Ok(())
    }
}

/// The `[api]` table.
#[derive(Clone, Debug)]
pub struct Api {
    listen: SocketAddr,
    token_file: PathBuf,
    audit_log: Option<PathBuf>,
}

impl Api {
    /// The API on `listen`, its bearer tokens in `token_file`.
    pub fn new(listen: SocketAddr, token_file: &Path) -> Api {
        Api {
            listen,
            token_file: token_file.to_owned(),
            audit_log: None,
        }
    }

    /// Where changes and refusals are audited.
    pub fn audit_log(mut self, path: &Path) -> Self {
        self.audit_log = Some(path.to_owned());
        self
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[api]\nlisten = \"{}\"\ntoken_file = {}",
            self.listen,
            quoted_path(&self.token_file)
        )?;
        if let Some(audit) = &self.audit_log {
            writeln!(f, "audit_log = {}", quoted_path(audit))?;
        }
        Ok(())
    }
}

/// A `[[patches]]` entry: groups joined across the border.
#[derive(Clone, Debug)]
pub struct Patch {
    name: String,
    channels: Vec<(u16, Tsi)>,
}

impl Patch {
    /// Patch `name`, no channels yet.
    pub fn new(name: &str) -> Patch {
        Patch {
            name: name.to_owned(),
            channels: Vec::new(),
        }
    }

    /// The `border` patch: the ASTRID border group as site `astrid_site` reaches it, with the
    /// C2000 one as site `c2000_site` reaches it.
    pub fn border(astrid_site: u16, c2000_site: u16) -> Patch {
        Patch::new("border")
            .channel(astrid_site, ASTRID_GROUP)
            .channel(c2000_site, C2000_GROUP)
    }

    /// `group`, as reached by site `site`; its network is the group's.
    pub fn channel(mut self, site: u16, group: Tsi) -> Self {
        self.channels.push((site, group));
        self
    }
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[[patches]]\nname = {}\nchannels = [",
            quoted(&self.name)
        )?;
        for (site, group) in &self.channels {
            writeln!(f, "    {},", channel(*site, *group))?;
        }
        writeln!(f, "]")
    }
}

/// The `[triggers]` table: the status values a roaming unit sends and is answered with.
#[derive(Clone, Copy, Debug)]
pub struct Triggers {
    /// The status that asks for the unit's mirror.
    pub request: u16,
    /// The status that ends it.
    pub end: u16,
    /// How the gateway answers (`"status"`, `"text"`).
    pub reply: &'static str,
    /// The status value of an acknowledgement.
    pub ack: u16,
    /// The status value of a refusal.
    pub refuse: u16,
}

impl fmt::Display for Triggers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[triggers]\nrequest = {:#06x}\nend = {:#06x}\nreply = {}\nack = {:#06x}\nrefuse = {:#06x}",
            self.request,
            self.end,
            quoted(self.reply),
            self.ack,
            self.refuse
        )
    }
}

/// A `[[mirrors]]` entry: a home group and the group it is mirrored to while roaming.
#[derive(Clone, Debug)]
pub struct Mirror {
    name: String,
    home: (u16, Tsi),
    mirror: (u16, Tsi),
    mode: String,
}

impl Mirror {
    /// Mirror `name` of `home` onto `mirror` (each a site and a group), in `mode`
    /// (`"on-demand"`, `"permanent"`).
    pub fn new(name: &str, home: (u16, Tsi), mirror: (u16, Tsi), mode: &str) -> Mirror {
        Mirror {
            name: name.to_owned(),
            home,
            mirror,
            mode: mode.to_owned(),
        }
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[[mirrors]]\nname = {}\nhome = {}\nmirror = {}\nmode = {}",
            quoted(&self.name),
            channel(self.home.0, self.home.1),
            channel(self.mirror.0, self.mirror.1),
            quoted(&self.mode)
        )
    }
}

/// One network's `[sovereignty.NETWORK]` rules.
#[derive(Clone, Debug, Default)]
pub struct Sovereignty {
    allowed_groups: Vec<Tsi>,
    creators: Option<String>,
}

impl Sovereignty {
    /// Only these groups of the network may be patched.
    pub fn allowed_groups(mut self, groups: &[Tsi]) -> Self {
        self.allowed_groups = groups.to_vec();
        self
    }

    /// Whose dispatch may create patches on the network's groups (`"home"`).
    pub fn creators(mut self, creators: &str) -> Self {
        self.creators = Some(creators.to_owned());
        self
    }
}

impl fmt::Display for Sovereignty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.allowed_groups.is_empty() {
            let list: Vec<String> = self.allowed_groups.iter().map(|t| quoted_tsi(*t)).collect();
            writeln!(f, "allowed_groups = [{}]", list.join(", "))?;
        }
        if let Some(creators) = &self.creators {
            writeln!(f, "creators = {}", quoted(creators))?;
        }
        Ok(())
    }
}

/// An inline channel table: `{ site = 1, network = "ASTRID", group = "…" }`.
fn channel(site: u16, group: Tsi) -> String {
    format!(
        "{{ site = {site}, network = \"{}\", group = {} }}",
        network_of(group),
        quoted_tsi(group)
    )
}

fn network_of(tsi: Tsi) -> Network {
    tsi.network()
        .unwrap_or_else(|| panic!("{tsi} is on neither ASTRID nor C2000"))
}

fn quoted_tsi(tsi: Tsi) -> String {
    quoted(&digits(tsi))
}

fn quoted_path(path: &Path) -> String {
    quoted(&path.display().to_string())
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
