//! The main loop's side of the control API: each [`Command`] carried out on the state the
//! loop owns, between two inputs, and answered with the API's JSON documents.
//!
//! Only dynamic patches may be changed or removed through the API; static ones belong to the
//! config file, which is the site's contract with its neighbours. Every successful change is
//! followed by a save of the patch state (see `persist`).

use borderlink_protocol::ids::TsiForm;
use borderlink_protocol::time::{Duration, Instant};
use tracing::info;

use super::Site;
use crate::api::command::{
    BoardFigures, Command, MetricsSnapshot, PeerFigures, PlayoutFigures, RadioFigures, Reply,
};
use crate::api::error::ApiError;
use crate::api::model::{
    BoardPortView, BoardView, ChannelBody, ConsoleBody, FrameCounters, MirrorStateView,
    PatchTalkers, PatchView, PeerView, RadioView, Released, RoamingView, SiteStatus, TalkerView,
};
use crate::engine::counters::DropCause;
use crate::engine::endpoint::EndpointId;
use crate::engine::patch::{Patch, PatchError, PatchId, PatchKind, PatchSpec};
use crate::engine::stream::Claim;
use crate::radio::{LinkState, RadioStatus};

fn seconds(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e6
}

impl Site {
    /// Carries out one API command.
    pub(super) fn handle_api(&mut self, now: Instant, command: Command) -> Result<Reply, ApiError> {
        match command {
            Command::Status => Ok(Reply::Status(Box::new(self.status(now)))),
            Command::Patches => Ok(Reply::Patches(
                self.engine
                    .patches()
                    .iter()
                    .map(|p| self.patch_view(now, p))
                    .collect(),
            )),
            Command::Patch(id) => Ok(Reply::Patch(Box::new(self.find_patch(now, id)?))),
            Command::CreatePatch(spec) => {
                self.served_here(&spec)?;
                let name = spec.name.clone();
                let id = self
                    .engine
                    .create_patch(now, spec)
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id.0, %name, "patch created through the API");
                self.save_patches(now);
                Ok(Reply::Patch(Box::new(self.find_patch(now, id.0)?)))
            }
            Command::ModifyPatch(id, spec) => {
                self.dynamic(id)?;
                self.served_here(&spec)?;
                self.engine
                    .modify_patch(now, PatchId(id), spec)
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id, "patch modified through the API");
                self.save_patches(now);
                Ok(Reply::Patch(Box::new(self.find_patch(now, id)?)))
            }
            Command::RemovePatch(id) => {
                self.dynamic(id)?;
                let view = self.find_patch(now, id)?;
                self.engine
                    .remove_patch(now, PatchId(id))
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id, "patch removed through the API");
                self.save_patches(now);
                Ok(Reply::Patch(Box::new(view)))
            }
            Command::Talkers => Ok(Reply::Talkers(
                self.engine
                    .patches()
                    .iter()
                    .map(|p| PatchTalkers {
                        patch: p.id().0,
                        name: p.spec().name.clone(),
                        talker: self.talker(p.id()),
                    })
                    .collect(),
            )),
            Command::Release(id) => {
                self.find_patch(now, id)?;
                let released = self.talker(PatchId(id));
                let key = self.engine.force_release(now, PatchId(id));
                info!(patch = id, ?key, "floor released through the API");
                Ok(Reply::Released(Released {
                    patch: id,
                    released: key.and(released),
                }))
            }
            Command::Metrics => Ok(Reply::Metrics(Box::new(self.metrics(now)))),
            Command::FirmwareStart {
                file,
                allow_rollback,
            } => self
                .firmware_start(now, *file, allow_rollback)
                .map(Reply::Firmware),
            Command::FirmwareStatus => Ok(Reply::Firmware(self.firmware_view())),
            Command::Roaming => Ok(Reply::Roaming(Box::new(RoamingView {
                mirrors: self
                    .roaming
                    .mirrors()
                    .into_iter()
                    .map(|m| MirrorStateView {
                        name: m.name,
                        patch: m.patch.map(|p| p.0),
                        held: m.held,
                        units_in_zone: m.units_in_zone,
                        forbidden: m.forbidden.map(|r| r.to_string()),
                    })
                    .collect(),
                events: self.roaming_log.iter().cloned().collect(),
            }))),
        }
    }

    /// Refuses a channel at this site that none of its radios works on: the patch would look
    /// in force while nothing reaches that group (the config file has the same rule).
    fn served_here(&self, spec: &PatchSpec) -> Result<(), ApiError> {
        let site = self.config.site.id;
        for (index, channel) in spec.channels.iter().enumerate() {
            if channel.site != site && !self.config.peers.iter().any(|p| p.site == channel.site) {
                return Err(ApiError::field(
                    format!("channels[{index}].site"),
                    format!(
                        "site {} is neither this site ({}) nor one of its [[peers]]",
                        channel.site.0, site.0
                    ),
                ));
            }
            let served = self
                .config
                .radios
                .iter()
                .any(|r| r.network == channel.network && r.group == channel.group);
            if channel.site == site && !served {
                return Err(ApiError::field(
                    format!("channels[{index}]"),
                    format!(
                        "no radio of this site (site {}) works on {} group {}; a channel at \
                         this site needs a radio with that network and group",
                        site.0,
                        channel.network,
                        channel.group.pei(TsiForm::Long)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Refuses changes to static patches: they come from the config file.
    fn dynamic(&self, id: u32) -> Result<(), ApiError> {
        match self.engine.patches().get(PatchId(id)) {
            None => Err(ApiError::from(PatchError::UnknownPatch(PatchId(id)))),
            Some(p) if p.spec().kind == PatchKind::Static => Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "patch {id} ('{}') is static: it comes from the config file; change it there",
                    p.spec().name
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    fn find_patch(&self, now: Instant, id: u32) -> Result<PatchView, ApiError> {
        self.engine
            .patches()
            .get(PatchId(id))
            .map(|p| self.patch_view(now, p))
            .ok_or_else(|| ApiError::from(PatchError::UnknownPatch(PatchId(id))))
    }

    fn patch_view(&self, now: Instant, p: &Patch) -> PatchView {
        let spec = p.spec();
        let (kind, created_by) = match &spec.kind {
            PatchKind::Static => ("static", None),
            PatchKind::Dynamic { created_by } => ("dynamic", Some(created_by.clone())),
        };
        PatchView {
            id: p.id().0,
            name: spec.name.clone(),
            kind: kind.to_owned(),
            created_by,
            channels: spec
                .channels
                .iter()
                .map(ChannelBody::from_channel)
                .collect(),
            consoles: spec
                .consoles
                .iter()
                .map(ConsoleBody::from_console)
                .collect(),
            expires_in_s: p.expires_at().map(|t| seconds(t.saturating_since(now))),
            inactive_in_s: p.inactive_at().map(|t| seconds(t.saturating_since(now))),
            talker: self.talker(p.id()),
        }
    }

    fn talker(&self, id: PatchId) -> Option<TalkerView> {
        let claim: &Claim = self.engine.floor(id)?.holder_claim()?;
        Some(TalkerView {
            talker: claim.talker.map(|t| t.pei(TsiForm::Long).to_string()),
            alias: claim
                .talker
                .and_then(|t| self.roaming.aliases().call_sign(t))
                .map(str::to_owned),
            network: claim.origin_network.map(|n| n.to_string()),
            origin_site: claim.key.site.0,
            priority: claim.priority.get(),
            emergency: claim.emergency,
        })
    }

    /// Publishes the dynamic patches to the state writer.
    pub(super) fn save_patches(&mut self, now: Instant) {
        if let Some(state) = &self.state {
            let _ = state.send(self.engine.dynamic_patches(now));
        }
    }

    fn radio_ptt(&self, index: usize, now: Instant) -> Duration {
        let r = &self.radios[index];
        r.ptt_total
            + r.keyed_since
                .map_or(Duration::ZERO, |t| now.saturating_since(t))
    }

    /// A radio's status: from its PEI session, or for a radio without PEI from the board
    /// that drives it.
    fn radio_status(&self, index: usize) -> RadioStatus {
        let r = &self.radios[index];
        match &r.pei {
            Some(pei) => pei.session.status(),
            None => RadioStatus {
                state: if self.board.as_ref().is_some_and(|b| b.session.is_up()) {
                    LinkState::Ready
                } else {
                    LinkState::Disconnected
                },
                identity: None,
                signal_dbm: None,
                transmitting: r.keyed_since.is_some(),
                receiving: r.receiving.is_some(),
                faults_suppressed: 0,
            },
        }
    }

    fn status(&self, now: Instant) -> SiteStatus {
        let config = &self.config;
        let radios = self
            .radios
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let status = self.radio_status(i);
                let cfg = &config.radios[i];
                RadioView {
                    name: r.name.clone(),
                    network: cfg.network.to_string(),
                    state: match status.state {
                        LinkState::Disconnected => "disconnected",
                        LinkState::Initialising => "initialising",
                        LinkState::Ready => "ready",
                        LinkState::Recovering { .. } => "recovering",
                    }
                    .to_owned(),
                    identity: status.identity.map(|t| t.pei(TsiForm::Long).to_string()),
                    group: cfg.group.pei(TsiForm::Long).to_string(),
                    signal_dbm: status.signal_dbm,
                    transmitting: status.transmitting,
                    receiving: status.receiving,
                    ptt_seconds: seconds(self.radio_ptt(i, now)),
                    frames_dropped: r.drops.counts(),
                }
            })
            .collect();
        let board = self.board.as_ref().map(|b| {
            let stats = b.session.stats();
            BoardView {
                up: b.session.is_up(),
                firmware: b.session.board_info().map(|i| {
                    let v = i.firmware;
                    format!("{}.{}.{} (slot {:?})", v.major, v.minor, v.patch, i.slot)
                }),
                ports: config
                    .board
                    .iter()
                    .flat_map(|c| c.ports.iter())
                    .map(|p| BoardPortView {
                        port: p.port.get(),
                        radio: config
                            .radio(p.radio)
                            .map_or_else(String::new, |r| r.name.clone()),
                        ptt_requested: b.session.ptt_requested(p.port),
                        ptt: b.session.board_ptt(p.port),
                        polarity_mismatch: b.mismatched.contains(p.port),
                    })
                    .collect(),
                link_errors: stats.bad_crc + stats.framing_errors,
                retransmissions: stats.retransmissions,
            }
        });
        let peers = self
            .peer_status()
            .into_iter()
            .map(|p| PeerView {
                site: p.site.0,
                name: p.name,
                address: p.address,
                state: match p.state {
                    crate::net::PeerState::Up => "up",
                    crate::net::PeerState::Down => "down",
                }
                .to_owned(),
                rtt_ms: p.rtt_ms,
                counters: p
                    .counters
                    .fields()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            })
            .collect();
        let c = self.engine.counters();
        SiteStatus {
            site: config.site.id.0,
            name: config.site.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_s: now.saturating_since(self.started).as_micros() / 1_000_000,
            radios,
            board,
            peers,
            patches: self.engine.patches().len(),
            frames: FrameCounters {
                received: c.received,
                delivered: c.delivered,
                concealed: c.concealed,
                dropped: DropCause::ALL
                    .iter()
                    .map(|cause| (cause.label().to_owned(), c.dropped(*cause)))
                    .collect(),
            },
        }
    }

    fn metrics(&self, now: Instant) -> MetricsSnapshot {
        let playout = self
            .engine
            .playout_estimates(0.95)
            .map(|(source, jitter, target)| PlayoutFigures {
                source: match source {
                    EndpointId::Peer(site) => format!("peer-{}", site.0),
                    EndpointId::Console(c) => format!("console-{}", c.0),
                    EndpointId::Radio(r) => format!("radio-{}", r.0),
                },
                jitter_p95_s: jitter.map(seconds),
                target_delay_s: seconds(target),
            })
            .collect();
        let radios = self
            .radios
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let status = self.radio_status(i);
                RadioFigures {
                    name: r.name.clone(),
                    network: self.config.radios[i].network.to_string(),
                    up: status.state == LinkState::Ready,
                    transmitting: r.keyed_since.is_some(),
                    ptt_seconds: seconds(self.radio_ptt(i, now)),
                    transmissions: r.transmissions,
                    signal_dbm: status.signal_dbm,
                    frames_dropped: r.drops.counts(),
                }
            })
            .collect();
        let board = self.board.as_ref().map(|b| {
            let s = b.session.stats();
            BoardFigures {
                up: b.session.is_up(),
                frames_received: s.frames_received,
                bad_crc: s.bad_crc,
                framing_errors: s.framing_errors,
                retransmissions: s.retransmissions,
                link_downs: s.link_downs,
            }
        });
        let peers = self
            .peer_status()
            .into_iter()
            .map(|p| PeerFigures {
                name: p.name,
                site: p.site.0,
                up: p.state == crate::net::PeerState::Up,
                rtt_s: p.rtt_ms.map(|ms| ms / 1e3),
                counters: p
                    .counters
                    .fields()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            })
            .collect();
        MetricsSnapshot {
            frames: self.engine.counters(),
            streams: self.engine.stream_count(),
            patches: self.engine.patches().len(),
            playout,
            radios,
            board,
            peers,
        }
    }
}

fn patch_error(e: crate::engine::relay::EngineError) -> PatchError {
    match e {
        crate::engine::relay::EngineError::Patch(p) => p,
    }
}
