//! One border site's gateway in process: `borderlinkd`'s own [`SiteCore`], configured from the
//! very file the real-time mode writes for the daemon ([`site_toml`]), driven in virtual time.
//!
//! This is an adapter, not a copy of the daemon's wiring: every rule (capture gating and its
//! tail, the board's PTT following the grant, the board guarding radios keyed over PEI,
//! radios without PEI, patches and their persistence) is the core's. What stays here is what
//! the daemon's IO shell does around the core: the clocks (virtual time, and a wall clock off
//! true time by this site's NTP error), the serial ports opened at start, dispatch's patch
//! requests through the core's API door, and the state file (the last save the core asked
//! for, which a restarted gateway restores).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use borderlink_gateway::api::command::{Command, Reply};
use borderlink_gateway::api::model::SiteStatus;
use borderlink_gateway::config::Config;
use borderlink_gateway::engine::counters::Counters;
use borderlink_gateway::engine::endpoint::EndpointId;
use borderlink_gateway::engine::patch::{PatchKind, PatchSnapshot, PatchSpec};
use borderlink_gateway::roaming::Requester;
use borderlink_gateway::site::{Output, PortEvent, SiteCore, SiteOptions, Time};
use borderlink_protocol::ids::Network;
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::{FRAME_LEN, SiteId};

use crate::realtime::config::{ApiFiles, RadioPorts, SitePorts, patch_for_site, site_toml};
use crate::scenario::{PatchDef, Scenario};

/// The wall clock the sites' key-up times count from (a fixed date, so runs repeat).
const KEY_UP_EPOCH_MS: i64 = 1_750_000_000_000;

/// Who creates dispatch patches (the real-time mode's token holder).
const DISPATCHER: &str = "borderlink-sim";

/// What a site has for the world or the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteOutput {
    /// PEI bytes for one of its radios.
    Pei {
        /// Radio index.
        radio: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Audio to play into one of its radios.
    Audio {
        /// Radio index.
        radio: usize,
        /// The frame.
        frame: [u8; FRAME_LEN],
    },
    /// Link bytes for its board.
    Board(Vec<u8>),
    /// A voice packet for another site's gateway.
    Packet {
        /// The site.
        to: SiteId,
        /// The RTP datagram.
        bytes: Vec<u8>,
    },
}

/// One site's gateway; see the [module documentation](self).
pub struct FastSite {
    id: SiteId,
    core: SiteCore,
    /// Dispatch patches by name, with their id on this site.
    patches: BTreeMap<String, u32>,
    /// The patch state the core last asked to save: what a restart restores.
    saved: Option<PatchSnapshot>,
    /// This site's error against true time (an NTP-synchronised clock).
    clock_offset_ms: i64,
    /// `gateway{site=N}`, entered around every input so the core's logs say whose they are
    /// ([`crate::trace`]).
    span: tracing::Span,
}

impl std::fmt::Debug for FastSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastSite")
            .field("id", &self.id)
            .field("patches", &self.patches)
            .finish_non_exhaustive()
    }
}

/// Where a fast-mode site's ends would be: placeholders, since nothing is opened (the
/// core touches no IO), in the shape the real-time mode gives them.
fn placeholder_ports(scenario: &Scenario, site: usize) -> SitePorts {
    let addr = |port: usize| SocketAddr::from(([127, 0, 0, 1], port as u16));
    let spec = &scenario.sites[site];
    SitePorts {
        api: Some(ApiFiles {
            listen: addr(9),
            tokens: PathBuf::from("/nonexistent/borderlink-sim/tokens"),
            state: PathBuf::from(format!("/nonexistent/borderlink-sim/site{}.json", spec.id)),
        }),
        radios: (0..spec.radios.len())
            .map(|i| RadioPorts {
                serial: PathBuf::from(format!("/nonexistent/borderlink-sim/radio{i}")),
                listen: addr(10 + 2 * i),
                peer: addr(11 + 2 * i),
            })
            .collect(),
        board: spec
            .board
            .then(|| PathBuf::from("/nonexistent/borderlink-sim/board")),
        voice: Some(addr(7)),
        peers: scenario
            .sites
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != site)
            .map(|(other, s)| {
                (
                    s.id,
                    addr(100 + other),
                    PathBuf::from("/nonexistent/borderlink-sim/pair.key"),
                )
            })
            .collect(),
    }
}

/// The configuration `borderlinkd` of site `site` runs in the real-time mode, with the
/// scenario's static patches.
pub fn site_config(scenario: &Scenario, site: usize) -> Result<Config, String> {
    let text = site_toml(
        scenario,
        site,
        &placeholder_ports(scenario, site),
        &scenario.patches,
    );
    Config::parse(&text, "borderlink-sim.toml").map_err(|e| format!("{e}\n---\n{text}"))
}

impl FastSite {
    /// The gateway of site `index` of the scenario, started at `now` with its configuration
    /// and the patch state a previous run saved; its serial ports are open at once.
    ///
    /// # Panics
    /// If the scenario makes a configuration the daemon would refuse (the scenario parser
    /// prevents it; a test checks every built-in scenario).
    pub fn start(
        scenario: &Scenario,
        index: usize,
        now: Instant,
        clock_offset_ms: i64,
        restored: Option<PatchSnapshot>,
    ) -> Self {
        let config = site_config(scenario, index).unwrap_or_else(|e| panic!("{e}"));
        let id = config.site.id;
        let t = time(now, clock_offset_ms);
        let wall_secs = t.wall.as_second().max(0) as u32;
        let patches = restored
            .iter()
            .flat_map(|s| s.patches.iter())
            .map(|p| (p.spec.name.clone(), p.id.0))
            .collect();
        let options = SiteOptions {
            // As the daemon: above every stream id a previous run used.
            first_stream: wall_secs.wrapping_mul(256),
            // A restarted gateway must not repeat its predecessor's numbers.
            board_first_seq: (now.as_millis() as u16).wrapping_mul(7919),
            restored,
            audio_drops: Vec::new(),
        };
        let board = config.board.is_some();
        let pei: Vec<bool> = config.radios.iter().map(|r| r.serial.is_some()).collect();
        let span = tracing::info_span!("gateway", site = id.0);
        let core = span.in_scope(|| {
            SiteCore::new(Arc::new(config), t, options).unwrap_or_else(|e| panic!("{e}"))
        });
        let mut site = FastSite {
            id,
            core,
            patches,
            saved: None,
            clock_offset_ms,
            span,
        };
        let _in = site.span.clone().entered();
        for (radio, _) in pei.iter().enumerate().filter(|(_, p)| **p) {
            site.core.handle_radio_port(t, radio, PortEvent::Up);
        }
        if board {
            site.core.handle_board_port(t, PortEvent::Up);
        }
        site
    }

    /// The site's id.
    pub fn id(&self) -> SiteId {
        self.id
    }

    /// The engine's frame counters.
    pub fn counters(&self) -> Counters {
        self.core.counters()
    }

    /// The patch state the site last saved (what its restart restores).
    pub fn saved(&self) -> Option<&PatchSnapshot> {
        self.saved.as_ref()
    }

    fn time(&self, now: Instant) -> Time {
        time(now, self.clock_offset_ms)
    }

    /// Dispatch created a patch: this site's part of it, through the API's door, as the
    /// real-time mode's dispatcher does over HTTP. A patch that names none of this site's
    /// channels is not this site's business.
    pub fn create_patch(&mut self, now: Instant, def: &PatchDef) -> Result<(), String> {
        let _in = self.span.clone().entered();
        let Some(part) = patch_for_site(def, self.id.0) else {
            return Ok(());
        };
        let spec = PatchSpec {
            name: part.name.clone(),
            channels: part.channels.clone(),
            consoles: Vec::new(),
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Dynamic {
                created_by: DISPATCHER.to_owned(),
            },
        };
        let by = Requester::Dispatch {
            network: Network::Astrid,
            operator: DISPATCHER.to_owned(),
        };
        let answer = self
            .core
            .handle_api(self.time(now), Command::CreatePatch(spec, by), &[])
            .map_err(|e| e.to_string())?;
        if let Reply::Patch(view) = answer.reply {
            self.patches.insert(def.name.clone(), view.id);
        }
        Ok(())
    }

    /// Dispatch removed a patch.
    pub fn remove_patch(&mut self, now: Instant, name: &str) -> Result<(), String> {
        let _in = self.span.clone().entered();
        let id = self
            .patches
            .remove(name)
            .ok_or_else(|| format!("no patch `{name}`"))?;
        self.core
            .handle_api(self.time(now), Command::RemovePatch(id), &[])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The names of the patches the gateway holds, as its API lists them.
    pub fn patch_names(&mut self, now: Instant) -> Vec<String> {
        match self
            .core
            .handle_api(self.time(now), Command::Patches, &[])
            .map(|a| a.reply)
        {
            Ok(Reply::Patches(patches)) => patches.into_iter().map(|p| p.name).collect(),
            _ => Vec::new(),
        }
    }

    /// The site's status, as `GET /status` answers it.
    pub fn status(&mut self, now: Instant) -> Option<SiteStatus> {
        match self
            .core
            .handle_api(self.time(now), Command::Status, &[])
            .map(|a| a.reply)
        {
            Ok(Reply::Status(status)) => Some(*status),
            _ => None,
        }
    }

    /// The gateway is told to stop (SIGTERM): it releases every transmitter first, and
    /// relays nothing from then on.
    pub fn stop(&mut self, now: Instant) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core.release_everything(t);
    }

    // ---- inputs --------------------------------------------------------------------------

    /// PEI bytes from one of its radios.
    pub fn radio_bytes(&mut self, now: Instant, radio: usize, bytes: &[u8]) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core
            .handle_radio_port(t, radio, PortEvent::Bytes(bytes.to_vec()));
    }

    /// One of its radios' serial ports opened (`up`) or vanished.
    pub fn radio_port(&mut self, now: Instant, radio: usize, up: bool) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        let event = if up {
            PortEvent::Up
        } else {
            PortEvent::Down("the USB serial adapter went away".to_owned())
        };
        self.core.handle_radio_port(t, radio, event);
    }

    /// Audio captured from one of its radios (the radio's loudspeaker output).
    pub fn radio_audio(&mut self, now: Instant, radio: usize, frame: &[u8; FRAME_LEN]) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core.handle_audio(t, radio, frame);
    }

    /// Link bytes from its board.
    pub fn board_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core
            .handle_board_port(t, PortEvent::Bytes(bytes.to_vec()));
    }

    /// A voice packet from another site's gateway.
    pub fn packet(&mut self, now: Instant, from: SiteId, bytes: &[u8]) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core.handle_voice(t, from, bytes);
    }

    /// When [`FastSite::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _in = self.span.clone().entered();
        let t = self.time(now);
        self.core.handle_timeout(t);
    }

    /// The next output for the world or the network.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<SiteOutput> {
        loop {
            return Some(match self.core.poll_output()? {
                Output::Pei { radio, bytes } => SiteOutput::Pei { radio, bytes },
                Output::Audio { radio, frame } => SiteOutput::Audio { radio, frame },
                Output::Board(bytes) => SiteOutput::Board(bytes),
                Output::Peer(t) => match t.to {
                    EndpointId::Peer(to) => SiteOutput::Packet {
                        to,
                        bytes: t.packet().to_vec(),
                    },
                    _ => continue,
                },
                Output::Persist { patches, .. } => {
                    self.saved = Some(patches);
                    continue;
                }
                // The core restores only what it saved itself: it cannot fail here.
                Output::RestoreFailed { problem } => panic!("saved patch state refused: {problem}"),
            });
        }
    }
}

/// The time of an input at virtual `now`, for a site whose wall clock is off by `offset_ms`.
fn time(now: Instant, offset_ms: i64) -> Time {
    let ms = KEY_UP_EPOCH_MS + now.as_millis() as i64 + offset_ms;
    Time {
        now,
        wall: jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    }
}
