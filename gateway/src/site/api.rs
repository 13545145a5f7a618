//! The main loop's side of the control API: each [`Command`] carried out on the state the
//! loop owns, between two inputs, and answered with the API's JSON documents.
//!
//! Only dynamic patches may be changed or removed through the API; static ones belong to the
//! config file, which is the site's contract with its neighbours, and mirrors' patches belong
//! to roaming. Patches made through the API obey the sovereignty rules (`allowed_groups`,
//! `creators`) for the token holder's country. Every successful change is followed by a save
//! of the patch state (see `persist`), which the API waits on before it answers, and which it
//! takes back with [`Command::Undo`] if the save failed.

use axum::http::StatusCode;
use borderlink_protocol::ids::TsiForm;
use borderlink_protocol::time::{Duration, Instant};
use tracing::{info, warn};

use super::SiteCore;
use crate::api::command::{
    Answer, BoardFigures, Command, MetricsSnapshot, PeerFigures, PendingSave, PlayoutFigures,
    RadioFigures, Reply, Undo,
};
use crate::api::error::ApiError;
use crate::api::model::{
    BoardPortView, BoardView, ChannelBody, ConsoleBody, ErrorBody, FrameCounters, MirrorStateView,
    PatchTalkers, PatchView, PeerView, RadioIdentView, RadioView, Released, RoamingView,
    SiteStatus, TalkerView,
};
use crate::engine::counters::DropCause;
use crate::engine::endpoint::EndpointId;
use crate::engine::patch::{
    Patch, PatchError, PatchId, PatchKind, PatchRecord, PatchSnapshot, PatchSpec,
};
use crate::engine::stream::Claim;
use crate::net::PeerStatus;
use crate::radio::{LinkState, RadioIdentification, RadioStatus};
use crate::roaming::{Refusal, Requester};

/// A registration state as the API spells it.
fn registration_name(state: borderlink_protocol::pei::RegistrationState) -> String {
    use borderlink_protocol::pei::RegistrationState as R;
    match state {
        R::NotRegistered => "not_registered".to_owned(),
        R::RegisteredHome => "registered_home".to_owned(),
        R::Searching => "searching".to_owned(),
        R::Denied => "denied".to_owned(),
        R::NotKnown => "unknown".to_owned(),
        R::RegisteredRoaming => "registered_roaming".to_owned(),
        R::Unknown(code) => format!("code_{code}"),
    }
}

/// What a radio said about itself, for the API and metrics.
fn identification_view(id: &RadioIdentification) -> RadioIdentView {
    RadioIdentView {
        manufacturer: id.manufacturer.clone(),
        model: id.model.clone(),
        revision: id.revision.clone(),
        groups: id
            .groups
            .iter()
            .map(|g| g.pei(TsiForm::Long).to_string())
            .collect(),
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e6
}

impl SiteCore {
    /// Carries out one API command; a change of the patches comes with the save it waits on.
    ///
    /// `peers` is the peer links' latest status, as the socket task reports it, for the
    /// status and the metrics. What the command changes moves on before this returns
    /// ([`SiteCore::poll_output`] has it).
    pub fn handle_api(
        &mut self,
        t: super::Time,
        command: Command,
        peers: &[PeerStatus],
    ) -> Result<Answer, ApiError> {
        self.set_time(t);
        let now = t.now;
        let answer = self.carry_out(now, command, peers);
        if self.stopping {
            self.flush_radios(now);
        } else {
            self.pump(now);
        }
        answer
    }

    fn carry_out(
        &mut self,
        now: Instant,
        command: Command,
        peers: &[PeerStatus],
    ) -> Result<Answer, ApiError> {
        match command {
            Command::CreatePatch(spec, by) => {
                self.served_here(&spec)?;
                self.sovereign(&spec, &by)?;
                let name = spec.name.clone();
                let id = self
                    .engine
                    .create_patch(now, spec)
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id.0, %name, %by, "patch created through the API");
                let undo = Undo {
                    remove: Some(id.0),
                    restore: None,
                };
                self.changed(now, id.0, undo)
            }
            Command::ModifyPatch(id, spec, by) => {
                self.dynamic(id)?;
                self.served_here(&spec)?;
                self.sovereign(&spec, &by)?;
                let before = self.record(now, id);
                self.engine
                    .modify_patch(now, PatchId(id), spec)
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id, %by, "patch modified through the API");
                let undo = Undo {
                    remove: Some(id),
                    restore: before,
                };
                self.changed(now, id, undo)
            }
            Command::RemovePatch(id) => {
                self.dynamic(id)?;
                let view = self.find_patch(now, id)?;
                let before = self.record(now, id);
                self.engine
                    .remove_patch(now, PatchId(id))
                    .map_err(|e| ApiError::from(patch_error(e)))?;
                info!(patch = id, "patch removed through the API");
                let pending = self.save_patches(now).map(|generation| PendingSave {
                    generation,
                    undo: Undo {
                        remove: None,
                        restore: before,
                    },
                });
                Ok(Answer {
                    reply: Reply::Patch(Box::new(view)),
                    pending,
                })
            }
            Command::Undo(undo) => self.undo(now, undo).map(Answer::from),
            other => self.handle_read(now, other, peers).map(Answer::from),
        }
    }

    /// A change is made: save it, and answer with the patch once that save is done.
    fn changed(&mut self, now: Instant, id: u32, undo: Undo) -> Result<Answer, ApiError> {
        let pending = self
            .save_patches(now)
            .map(|generation| PendingSave { generation, undo });
        Ok(Answer {
            reply: Reply::Patch(Box::new(self.find_patch(now, id)?)),
            pending,
        })
    }

    /// A dynamic patch as the state file would hold it, to put it back by [`Self::undo`].
    fn record(&self, now: Instant, id: u32) -> Option<PatchRecord> {
        self.engine
            .dynamic_patches(now)
            .patches
            .into_iter()
            .find(|r| r.id == PatchId(id))
    }

    /// Takes back a change whose save failed: what is in force again matches the state file.
    fn undo(&mut self, now: Instant, undo: Undo) -> Result<Reply, ApiError> {
        if let Some(id) = undo.remove {
            // Already gone (it expired meanwhile) is as good as removed.
            let _ = self.engine.remove_patch(now, PatchId(id));
        }
        let restored = match undo.restore {
            Some(record) => {
                let id = record.id.0;
                let snapshot = PatchSnapshot {
                    next_id: 0,
                    patches: vec![record],
                };
                self.engine
                    .restore_patches(now, &snapshot)
                    .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))
                    .map(|()| Some(id))
            }
            None => Ok(None),
        };
        warn!(removed = ?undo.remove, restored = ?restored, "a change through the API was taken back: the state file could not hold it");
        self.save_patches(now);
        restored.map(|_| Reply::Undone)
    }

    /// The reads: nothing changes.
    fn handle_read(
        &mut self,
        now: Instant,
        command: Command,
        peers: &[PeerStatus],
    ) -> Result<Reply, ApiError> {
        match command {
            Command::Status => Ok(Reply::Status(Box::new(self.status(now, peers)))),
            Command::Patches => Ok(Reply::Patches(
                self.engine
                    .patches()
                    .iter()
                    .map(|p| self.patch_view(now, p))
                    .collect(),
            )),
            Command::Patch(id) => Ok(Reply::Patch(Box::new(self.find_patch(now, id)?))),
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
            Command::Metrics => Ok(Reply::Metrics(Box::new(self.metrics(now, peers)))),
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
            // `handle_api` takes every change before it gets here; a refusal is safer than a
            // panic in the loop that owns the radios, should that ever change.
            change @ (Command::CreatePatch(..)
            | Command::ModifyPatch(..)
            | Command::RemovePatch(_)
            | Command::Undo(_)) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {change:?} reached the reads"),
            )),
        }
    }

    /// Refuses a patch the sovereignty rules forbid to this requester: a group its country
    /// does not allow at all, or a group only its own country's dispatch may patch
    /// (`docs/roaming.md`: such a group is never patched, by roaming or dispatch).
    fn sovereign(&self, spec: &PatchSpec, by: &Requester) -> Result<(), ApiError> {
        let rules = &self.roaming.config().sovereignty;
        for (index, channel) in spec.channels.iter().enumerate() {
            if let Err(refusal) = rules.check(std::slice::from_ref(channel), by) {
                let why = match refusal {
                    Refusal::GroupNotAllowed { network, .. } => {
                        format!("{refusal}: it is not in `sovereignty.{network}.allowed_groups`")
                    }
                    Refusal::HomeDispatchOnly { .. } => {
                        format!("{refusal} (`creators = \"home\"`); the token is {by}'s")
                    }
                    Refusal::NoFieldTriggers { .. } => refusal.to_string(),
                };
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    body: ErrorBody {
                        error: why,
                        field: Some(format!("channels[{index}].group")),
                    },
                });
            }
        }
        Ok(())
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

    /// Refuses changes to static patches (they come from the config file) and to mirrors'
    /// patches (roaming brings them up under the sovereignty rules and owns them: a rewrite
    /// would join a mirror group to anything).
    fn dynamic(&self, id: u32) -> Result<(), ApiError> {
        match self.engine.patches().get(PatchId(id)) {
            None => Err(ApiError::from(PatchError::UnknownPatch(PatchId(id)))),
            Some(p) if p.spec().kind == PatchKind::Static => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "patch {id} ('{}') is static: it comes from the config file; change it there",
                    p.spec().name
                ),
            )),
            Some(p) => match self
                .roaming
                .mirrors()
                .into_iter()
                .find(|m| m.patch == Some(PatchId(id)))
            {
                Some(mirror) => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "patch {id} ('{}') is the patch of mirror `{}`: roaming brings it up and \
                         down under the sovereignty rules, so it cannot be changed or removed \
                         through the API; end the mirror, or change its [[mirrors]] entry",
                        p.spec().name,
                        mirror.name
                    ),
                )),
                None => Ok(()),
            },
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
            Some(pei) => pei.status(),
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
                registration: None,
                call_encryption: None,
            },
        }
    }

    fn status(&self, now: Instant, peers: &[PeerStatus]) -> SiteStatus {
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
                    registration: status.registration.map(registration_name),
                    call_encryption: status.call_encryption.map(|e| match e {
                        borderlink_protocol::pei::Encryption::Clear => "clear".to_owned(),
                        borderlink_protocol::pei::Encryption::EndToEnd => "end_to_end".to_owned(),
                        borderlink_protocol::pei::Encryption::Unknown(code) => {
                            format!("code_{code}")
                        }
                    }),
                    identification: r
                        .pei
                        .as_ref()
                        .map(|p| identification_view(p.identification())),
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
        let peers = peers
            .iter()
            .cloned()
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

    fn metrics(&self, now: Instant, peers: &[PeerStatus]) -> MetricsSnapshot {
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
                    up: status.usable(),
                    registered: status.registration.map(|s| s.is_registered()),
                    identification: r
                        .pei
                        .as_ref()
                        .map(|p| identification_view(p.identification())),
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
        let peers = peers
            .iter()
            .cloned()
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
