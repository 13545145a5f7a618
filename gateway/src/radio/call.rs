//! Group-call control: keying the radio for the engine, and gating audio capture while
//! another party talks.
//!
//! # Keying (half duplex)
//! If the radio is already in a call on the group (its call instance known from `+CTICN` or
//! `+CTCC`), [`RadioSession::key`] demands transmission on it with `AT+CTXD=<cc>,1`.
//! Otherwise it sets the call up with `AT+CTSDC=…` and `ATD<GSSI>`, waits for `+CTCC` to learn
//! the call instance, then demands. `+CTXG` grant 0 is the grant; grant 1 a refusal; grant 2
//! (queued) keeps waiting, up to the grant wait counted from the key request. A joined call
//! released before the grant (its hang time ran out under the demand) is set up afresh, once.
//!
//! A transmission is lost on `+CTXI`, `+CTXW`, another party's grant or any `+CTCR` of the
//! call. [`RadioSession::unkey`] ceases with `AT+CUTXC=<cc>` whenever `ATD` or `AT+CTXD` has
//! gone out, after the command in flight, even mid-set-up: then the cease waits for `+CTCC`
//! to name the call. The call itself is left to the network's hang time and release. A grant
//! nobody is waiting for, and a demand withdrawn on a refusal path, are ceased too, so the
//! radio is never left keyed by the session.
//!
//! # Receiving
//! `+CTXG` grant 3 on a call the radio plays starts a receive with its talking party
//! identity; `+CDTXC`, `+CTCR`, this radio's own grant or the radio going down end it.

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{
    CallConnected, CallReleased, CircuitService, CommsType, Encryption, IncomingCall, TxCeased,
    TxDemandPriority, TxGrant, TxGranted, TxInterrupted, TxWait,
};
use borderlink_protocol::time::Instant;
use borderlink_protocol::voice::Priority;

use super::command::Op;
use super::output::{CommandError, RadioFault, RadioOutput, TxFailure};
use super::session::{LinkState, RadioSession, call_priority};

/// The priority TETRA reserves for emergency calls.
const EMERGENCY_LEVEL: u8 = 15;

/// How far a key request has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// `AT+CTSDC` and `ATD` queued or sent, waiting for `+CTCC`.
    Setup,
    /// `AT+CTXD` queued or sent.
    Demand,
    /// `AT+CTXD` accepted, waiting for `+CTXG` (possibly queued by the SwMI).
    AwaitGrant,
    /// Clear to talk.
    Granted,
}

/// A key request and what the radio has been asked so far.
#[derive(Debug, Clone, Copy)]
pub(super) struct Keying {
    group: Tsi,
    /// Priority of the call set up for it.
    level: u8,
    demand: TxDemandPriority,
    /// The grant must come by then.
    deadline: Instant,
    cc: Option<u16>,
    stage: Stage,
    /// `false` after an unkey mid-set-up: only the cease is still to be sent.
    wanted: bool,
    /// `ATD` or `AT+CTXD` has gone out, so the radio may transmit: a cease is owed.
    sent: bool,
    /// Demanding on a call that existed before the key request.
    joined: bool,
    /// The joined call was released and this is the fresh set-up.
    resetup: bool,
}

impl Keying {
    /// Whether the engine still wants transmission.
    pub(super) fn is_wanted(&self) -> bool {
        self.wanted
    }

    /// The call instance to cease if the radio goes away now.
    pub(super) fn owed_cease(&self) -> Option<u16> {
        self.cc
            .filter(|_| self.sent || self.stage == Stage::Granted)
    }

    /// What the engine hears about this request when the radio goes down.
    pub(super) fn down_output(&self) -> Option<RadioOutput> {
        let reason = TxFailure::RadioDown;
        if self.stage == Stage::Granted {
            Some(RadioOutput::TxLost { reason })
        } else if self.wanted {
            Some(RadioOutput::TxRefused { reason })
        } else {
            None
        }
    }
}

/// The group call the radio is in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call {
    cc: u16,
    /// The group, when known.
    group: Option<Tsi>,
    /// Who set the call up (`+CTICN`).
    caller: Option<Tsi>,
    /// Call priority.
    level: u8,
    /// A receive has started on it: the caller is no longer a safe guess for the talker.
    heard: bool,
    /// End-to-end encryption as the radio last reported it for this call.
    encryption: Option<Encryption>,
}

impl Call {
    /// End-to-end encryption as the radio last reported it for this call.
    pub(super) fn encryption(&self) -> Option<Encryption> {
        self.encryption
    }

    fn new(cc: u16) -> Self {
        Call {
            cc,
            group: None,
            caller: None,
            level: 0,
            heard: false,
            encryption: None,
        }
    }
}

/// Another party is talking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rx {
    cc: u16,
    talker: Option<Tsi>,
}

impl RadioSession {
    /// Set up or join the group call on `group` and demand transmission (the engine's
    /// `RadioCommand::Key`). A radio that is not ready refuses at once.
    pub fn key(&mut self, now: Instant, group: Tsi, priority: Priority, emergency: bool) {
        if self.state != LinkState::Ready || !self.is_registered() {
            self.emit(RadioOutput::TxRefused {
                reason: TxFailure::NotReady,
            });
            return;
        }
        if self.in_forced_gap(now) && self.tx.is_none() {
            self.emit(RadioOutput::TxRefused {
                reason: TxFailure::AirTimeCap,
            });
            return;
        }
        let deadline = now + self.config.grant_wait;
        if let Some(k) = &mut self.tx {
            if !k.wanted {
                // Unkeyed mid-set-up and keyed again: the set-up still under way will do.
                k.wanted = true;
                k.deadline = deadline;
            }
            return;
        }
        let level = if emergency {
            EMERGENCY_LEVEL
        } else {
            priority.get()
        };
        let demand = if emergency {
            TxDemandPriority::Emergency
        } else {
            TxDemandPriority::High
        };
        let configured = self.config.group;
        // A call whose group the radio did not name is on its selected group.
        let existing = self
            .call
            .filter(|c| c.group.unwrap_or(configured) == group)
            .map(|c| c.cc);
        let mut k = Keying {
            group,
            level,
            demand,
            deadline,
            cc: existing,
            stage: Stage::Demand,
            wanted: true,
            sent: false,
            joined: existing.is_some(),
            resetup: false,
        };
        match existing {
            Some(cc) => self.enqueue_urgent(Op::Demand {
                cc,
                priority: demand,
            }),
            None => {
                k.stage = Stage::Setup;
                self.enqueue_setup(group, level);
            }
        }
        self.tx = Some(k);
        self.pump(now);
    }

    /// Cease transmission (the engine's `RadioCommand::Unkey`): `AT+CUTXC` after the command
    /// in flight if anything that may key the radio has gone out; otherwise the request is
    /// simply withdrawn.
    pub fn unkey(&mut self, now: Instant) {
        // Whatever happened before, no command that may key the radio goes out after this.
        self.queue.retain(|op| !op.is_keying());
        let Some(mut k) = self.tx.take() else {
            return;
        };
        match (k.stage, k.cc) {
            // `ATD` is out but the call instance is not known yet: cease on `+CTCC`.
            (Stage::Setup, _) if k.sent => {
                k.wanted = false;
                self.tx = Some(k);
            }
            (_, Some(cc)) if k.sent || k.stage == Stage::Granted => self.cease(cc),
            _ => {}
        }
        self.pump(now);
    }

    fn enqueue_setup(&mut self, group: Tsi, level: u8) {
        let service = CircuitService {
            priority: level,
            ..CircuitService::GROUP_SPEECH
        };
        self.enqueue_urgent(Op::DefineCall(service));
        self.enqueue_urgent(Op::Dial(group));
    }

    /// Marks the key request once `ATD` or `AT+CTXD` is written.
    pub(super) fn note_sent(&mut self, op: Op) {
        if let Some(k) = &mut self.tx {
            match op {
                Op::Dial(_) if k.stage == Stage::Setup => k.sent = true,
                Op::Demand { cc, .. } if k.cc == Some(cc) => k.sent = true,
                _ => {}
            }
        }
    }

    /// Whether a result about call instance `cc` concerns the key request: its call, or a
    /// call being dialled whose instance is not known yet (and is not another known call).
    fn is_ours(&self, cc: u16) -> bool {
        match self.tx {
            Some(k) if k.cc == Some(cc) => true,
            Some(k) => {
                k.cc.is_none()
                    && k.stage == Stage::Setup
                    && k.sent
                    && self.call.is_none_or(|c| c.cc != cc)
            }
            None => false,
        }
    }

    /// The request failed before a grant: tell the engine if it still wanted it.
    fn refuse(&mut self, reason: TxFailure) {
        // The request is over: a demand still queued for it (keyed again while its first
        // attempt was being answered) must never go out with nobody wanting it.
        self.queue.retain(|op| !op.is_keying());
        if let Some(k) = self.tx.take()
            && k.wanted
        {
            self.emit(RadioOutput::TxRefused { reason });
        }
    }

    /// The grant is gone.
    fn lose(&mut self, reason: TxFailure) {
        self.queue.retain(|op| !op.is_keying());
        self.tx = None;
        self.emit(RadioOutput::TxLost { reason });
    }

    /// The answer to a call-control command.
    pub(super) fn call_result(&mut self, op: Op, result: Result<(), CommandError>) {
        let command = op.name();
        match op {
            Op::DefineCall(_) | Op::Dial(_) => {
                if let Err(error) = result
                    && self.tx.is_some_and(|k| k.stage == Stage::Setup)
                {
                    self.queue.retain(|op| !op.is_keying());
                    self.refuse(TxFailure::Rejected { command, error });
                }
            }
            Op::Demand { cc, .. } => {
                let stage = self.tx.filter(|k| k.cc == Some(cc)).map(|k| k.stage);
                match (stage, result) {
                    (Some(Stage::Demand), Ok(())) => {
                        if let Some(k) = &mut self.tx {
                            k.stage = Stage::AwaitGrant;
                        }
                    }
                    (Some(Stage::Demand | Stage::AwaitGrant), Err(error)) => {
                        self.refuse(TxFailure::Rejected { command, error });
                    }
                    (None, Err(error)) => self.fault(RadioFault::Refused { command, error }),
                    _ => {}
                }
            }
            // Ceasing a call that is already over is refused by some radios: nothing to do.
            _ => {
                if let Err(error) = result {
                    self.fault(RadioFault::Refused { command, error });
                }
            }
        }
    }

    /// Withdraws a request whose grant did not come in time.
    pub(super) fn call_timeout(&mut self, now: Instant) {
        let Some(k) = self.tx else { return };
        if k.stage == Stage::Granted || now < k.deadline {
            return;
        }
        self.tx = None;
        self.queue.retain(|op| !op.is_keying());
        if k.wanted {
            self.emit(RadioOutput::TxRefused {
                reason: TxFailure::GrantTimeout,
            });
        }
        if let Some(cc) = k.owed_cease() {
            self.cease(cc);
        }
    }

    /// When the grant wait of the key request runs out.
    pub(super) fn call_deadline(&self) -> Option<Instant> {
        self.tx
            .filter(|k| k.stage != Stage::Granted)
            .map(|k| k.deadline)
    }

    /// `+CTICN`: a group call comes in; remember its instance, group, caller and priority.
    pub(super) fn on_incoming(&mut self, c: IncomingCall) {
        if c.comms_type == Some(CommsType::PointToPoint) {
            // An individual call: nothing the gateway relays.
            return;
        }
        if self.rx.is_some_and(|r| r.cc != c.cc) {
            self.receive_end();
        }
        self.call = Some(Call {
            cc: c.cc,
            group: c.called.map(|g| self.resolve(g)),
            caller: c.calling.map(|id| self.resolve(id)),
            // A level outside the 4-bit range is no table's: carried as 0 (undefined), never
            // promoted to an emergency.
            level: c.priority.filter(|&p| p <= EMERGENCY_LEVEL).unwrap_or(0),
            heard: false,
            encryption: c.encrypted,
        });
    }

    /// `+CTCC`: a call this radio set up is connected; demand on it, or cease if the request
    /// was withdrawn meanwhile.
    pub(super) fn on_connected(&mut self, c: CallConnected) {
        let cc = c.cc;
        let Some(mut k) = self.tx.filter(|k| k.stage == Stage::Setup && k.sent) else {
            if self.call.is_none_or(|x| x.cc != cc) {
                self.call = Some(Call::new(cc));
            }
            if let Some(call) = self.call.as_mut()
                && c.encrypted.is_some()
            {
                call.encryption = c.encrypted;
            }
            return;
        };
        self.call = Some(Call {
            group: Some(k.group),
            level: k.level,
            encryption: c.encrypted,
            ..Call::new(cc)
        });
        k.cc = Some(cc);
        if k.wanted {
            k.stage = Stage::Demand;
            self.tx = Some(k);
            self.enqueue_urgent(Op::Demand {
                cc,
                priority: k.demand,
            });
        } else {
            self.tx = None;
            self.cease(cc);
        }
    }

    /// `+CTXG`.
    pub(super) fn on_grant(&mut self, g: TxGranted) {
        let cc = g.cc;
        self.act_on_grant(g);
        // After the grant is handled: it may have started a new call on this instance.
        if let Some(call) = self.call.as_mut().filter(|c| c.cc == cc) {
            call.encryption = Some(g.encrypted);
        }
    }

    /// What a grant means for this radio's keying and receiving.
    fn act_on_grant(&mut self, g: TxGranted) {
        let cc = g.cc;
        match g.grant {
            TxGrant::Granted => self.on_granted(cc),
            TxGrant::NotGranted if self.is_ours(cc) => {
                if self.tx.is_some_and(|k| k.stage == Stage::Granted) {
                    self.lose(TxFailure::NotGranted);
                } else {
                    self.refuse(TxFailure::NotGranted);
                }
            }
            TxGrant::NotGranted => {}
            TxGrant::Queued => {
                if self.is_ours(cc)
                    && let Some(k) = &mut self.tx
                    && k.stage == Stage::Demand
                {
                    k.stage = Stage::AwaitGrant;
                }
            }
            TxGrant::GrantedToAnother => {
                if self.is_ours(cc) && self.tx.is_some_and(|k| k.stage == Stage::Granted) {
                    self.lose(TxFailure::TakenByOther);
                    self.cease(cc);
                }
                self.receive_start(cc, g.talker);
            }
            // A code no table lists (a vendor's or a newer edition's) is not a grant: nothing is
            // keyed on it and nothing keyed is dropped for it; a demand still waiting is ended
            // by its own timer, a granted over by the radio's next `+CTXG` or `+CTCR`.
            TxGrant::Unknown(_) => {}
        }
    }

    fn on_granted(&mut self, cc: u16) {
        match self.tx {
            Some(k) if k.wanted && k.stage != Stage::Granted => {
                // Whichever instance the radio grants on, it is answering this request: a
                // grant only comes after a demand or a set-up.
                self.tx = Some(Keying {
                    cc: Some(cc),
                    stage: Stage::Granted,
                    ..k
                });
                // Whatever set-up or demand is still queued is moot now.
                self.queue.retain(|op| !op.is_keying());
                if self.rx.is_some() {
                    // Half duplex: the radio cannot play another party while it transmits.
                    self.receive_end();
                }
                self.emit(RadioOutput::TxGranted);
            }
            Some(k) if k.wanted && k.cc == Some(cc) => {}
            Some(k) if !k.wanted => {
                self.tx = None;
                self.cease(cc);
            }
            // Nobody asked for this grant (a late one after an unkey, or on another call):
            // give it back rather than leave the radio keyed.
            _ => self.cease(cc),
        }
    }

    /// `+CDTXC`: the other party stopped talking.
    pub(super) fn on_tx_ceased(&mut self, c: TxCeased) {
        if self.rx.is_some_and(|r| r.cc == c.cc) {
            self.receive_end();
        }
    }

    /// `+CTCR`: the call is over.
    pub(super) fn on_released(&mut self, r: CallReleased) {
        let ours = self.is_ours(r.cc);
        if self.rx.is_some_and(|x| x.cc == r.cc) {
            self.receive_end();
        }
        if self.call.is_some_and(|c| c.cc == r.cc) {
            self.call = None;
        }
        let Some(k) = self.tx.filter(|_| ours) else {
            return;
        };
        let reason = TxFailure::Released(r.cause);
        if k.stage == Stage::Granted {
            self.lose(reason);
        } else if !k.wanted {
            self.tx = None;
        } else if k.joined && !k.resetup {
            // The call ended under the demand (its hang time ran out): set up a fresh one
            // within the same grant wait.
            self.queue.retain(|op| !op.is_keying());
            self.tx = Some(Keying {
                cc: None,
                stage: Stage::Setup,
                sent: false,
                joined: false,
                resetup: true,
                ..k
            });
            self.enqueue_setup(k.group, k.level);
        } else {
            self.refuse(reason);
        }
    }

    /// `+CTXI`: this radio's transmission was interrupted.
    pub(super) fn on_interrupted(&mut self, i: TxInterrupted) {
        if !self.is_ours(i.cc) {
            return;
        }
        if self.tx.is_some_and(|k| k.stage == Stage::Granted) {
            self.lose(TxFailure::Interrupted);
        } else {
            self.refuse(TxFailure::Interrupted);
        }
        // Withdraw any demand the SwMI may keep queued for the radio.
        self.cease(i.cc);
    }

    /// `+CTXW`: transmission must wait. While waiting for the grant that changes nothing;
    /// while transmitting, the audio can no longer go out.
    pub(super) fn on_wait(&mut self, w: TxWait) {
        if self.is_ours(w.cc) && self.tx.is_some_and(|k| k.stage == Stage::Granted) {
            self.lose(TxFailure::Wait);
            self.cease(w.cc);
        }
    }

    /// Another party talks on call `cc`.
    fn receive_start(&mut self, cc: u16, tpi: Option<PeiIdentity>) {
        if self.state != LinkState::Ready {
            return;
        }
        let mut call = self.call.filter(|c| c.cc == cc).unwrap_or(Call::new(cc));
        let talker = match tpi {
            Some(id) => Some(self.resolve(id)),
            // Without a talking party identity, the caller is the talker of the first over.
            None if !call.heard => call.caller,
            None => None,
        };
        if let Some(rx) = self.rx {
            if rx == (Rx { cc, talker }) {
                return;
            }
            self.receive_end();
        }
        call.heard = true;
        self.call = Some(call);
        self.rx = Some(Rx { cc, talker });
        self.emit(RadioOutput::ReceiveStart {
            talker,
            group: call.group,
            priority: call_priority(call.level),
            emergency: call.level == EMERGENCY_LEVEL,
        });
    }

    fn receive_end(&mut self) {
        if self.rx.take().is_some() {
            self.emit(RadioOutput::ReceiveEnd);
        }
    }
}
