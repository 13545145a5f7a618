//! Bringing a radio into service: the initialisation script, the identity check and the
//! switch to ready.
//!
//! The script ([`Op::init_script`]) runs one command at a time: `AT` (is anyone there),
//! `ATE0`, `AT+CMEE=1`, `AT+CTOM=0` (trunked), the profile's vendor commands, `AT+CTSP` for
//! voice, status and LIP, `AT+GMI?`/`AT+GMM?`/`AT+GMR?`, `AT+CNUMF?` (the identity must be the
//! configured one), `AT+CNUMS?`, `AT+CREG?` and `AT+CTGS=1,<group>`. Which optional steps run
//! is the radio's [`PeiProfile`](super::PeiProfile). Optional steps are nice to have: a radio
//! that refuses them is used anyway, with a fault reported. Any other refusal, or silence,
//! takes the radio down and the script runs again after the backoff. A call instance the radio may still be transmitting on from before it
//! went down is ceased right after the probe.

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{NumType, NumberEntry, Registration, RegistrationState};
use borderlink_protocol::time::Instant;

use super::command::{Identification, Op};
use super::output::{CommandError, DownReason, RadioFault, RadioOutput};
use super::session::{LinkState, RadioIdentification, RadioSession};

impl RadioSession {
    /// Starts (again) from the top of the script.
    pub(super) fn start_init(&mut self) {
        self.state = LinkState::Initialising;
        self.echo_off = false;
        self.reported_identity = None;
        self.in_flight = None;
        self.queue.clear();
        self.queue
            .extend(Op::init_script(self.config.group, &self.config.profile));
        self.registration = None;
        self.registration_refused = false;
        self.identification = RadioIdentification::default();
        if let Some(cc) = self.owed_cease.take() {
            // Right after the probe: the radio answers, so stop whatever it may still be
            // transmitting before anything else.
            self.queue.insert(1, Op::Cease { cc });
        }
    }

    /// The answer to an initialisation step.
    pub(super) fn init_result(&mut self, now: Instant, op: Op, result: Result<(), CommandError>) {
        match result {
            Err(error) if op.is_essential() => self.fail(
                now,
                DownReason::InitRefused {
                    command: op.name(),
                    error,
                },
            ),
            Err(error) => {
                if op == Op::Registration {
                    // Asked again only after the next initialisation; until the radio says
                    // otherwise, it counts as registered.
                    self.registration_refused = true;
                }
                self.fault(RadioFault::Refused {
                    command: op.name(),
                    error,
                })
            }
            Ok(()) => match op {
                Op::EchoOff => self.echo_off = true,
                Op::OwnNumber => self.check_identity(now),
                Op::SelectGroup(_) => self.become_ready(now),
                _ => {}
            },
        }
    }

    /// One identity of the `AT+CNUMF?` answer: the first individual one is the radio's.
    pub(super) fn on_own_number(&mut self, entry: NumberEntry) {
        let asked = self.in_flight.is_some_and(|f| f.op == Op::OwnNumber);
        let individual = matches!(
            entry.num_type,
            NumType::Individual | NumType::IndividualExtended
        );
        if asked && individual && self.reported_identity.is_none() {
            self.reported_identity = Some(entry.identity);
        }
    }

    fn check_identity(&mut self, now: Instant) {
        let expected = self.config.identity;
        match self.reported_identity {
            None => self.fail(now, DownReason::NoIdentity),
            Some(got) if is_identity(expected, got) => self.identity = Some(self.resolve(got)),
            Some(got) => {
                self.emit(RadioOutput::IdentityMismatch { expected, got });
                self.go_down(DownReason::WrongIdentity { expected, got });
                // Another radio on this port stays unused; look again now and then in case
                // the right one is plugged in without the port closing.
                self.state = LinkState::Recovering {
                    retry_at: now + self.config.backoff_max,
                };
            }
        }
    }

    fn become_ready(&mut self, now: Instant) {
        self.state = LinkState::Ready;
        if self.is_registered() {
            self.reported_up = Some(true);
            let identity = self.identity.unwrap_or(self.config.identity);
            self.emit(RadioOutput::Ready { identity });
        } else {
            self.unregistered();
        }
        // Signal quality at once, for the status page, then periodically.
        self.queue.push_back(Op::SignalQuality);
        self.next_signal = Some(now + self.config.signal_interval);
    }
}

impl RadioSession {
    /// Whether the radio may be used as far as its registration goes: it said it is
    /// registered, or it has not said (not asked, or it refused the query).
    pub(super) fn is_registered(&self) -> bool {
        self.registration
            .is_none_or(RegistrationState::is_registered)
    }

    /// `+CREG`, an answer or unsolicited: a ready radio that loses its registration is down
    /// for the engine, and up again when it registers.
    pub(super) fn on_registration(&mut self, r: Registration) {
        self.registration = Some(r.state);
        if self.state != LinkState::Ready {
            return;
        }
        match (self.is_registered(), self.reported_up) {
            (false, Some(false)) | (true, Some(true)) => {}
            (false, _) => self.unregistered(),
            (true, _) => {
                self.reported_up = Some(true);
                let identity = self.identity.unwrap_or(self.config.identity);
                self.emit(RadioOutput::Ready { identity });
            }
        }
    }

    /// The serial link is fine but the network is not: stop receiving, cease and report any
    /// transmission, forget the call, and tell the engine the radio is down. Initialisation
    /// is not repeated: the radio keeps its settings and is asked again with every signal
    /// query.
    fn unregistered(&mut self) {
        if self.rx.take().is_some() {
            self.emit(RadioOutput::ReceiveEnd);
        }
        if let Some(k) = self.tx.take() {
            if let Some(cc) = k.owed_cease() {
                self.cease(cc);
            }
            if let Some(out) = k.down_output() {
                self.emit(out);
            }
        }
        self.call = None;
        self.reported_up = Some(false);
        let state = self.registration.unwrap_or(RegistrationState::NotKnown);
        self.emit(RadioOutput::Down {
            reason: DownReason::NotRegistered { state },
        });
    }

    /// A `+CNUMS` entry while `AT+CNUMS?` is in flight: the groups are kept.
    pub(super) fn on_static_identity(&mut self, entry: NumberEntry) {
        let asked = self.in_flight.is_some_and(|f| f.op == Op::StaticIdentities);
        let group = matches!(entry.num_type, NumType::Group | NumType::GroupExtended);
        if !asked || !group {
            return;
        }
        let tsi = self.resolve(entry.identity);
        let groups = &mut self.identification.groups;
        if !groups.contains(&tsi) && groups.len() < RadioIdentification::MAX_GROUPS {
            groups.push(tsi);
        }
    }

    /// `+GMI`, `+GMM` or `+GMR`: kept, cut to a bounded length.
    pub(super) fn on_identified(&mut self, kind: Identification, text: String) {
        let text: String = text.chars().take(RadioIdentification::MAX_TEXT).collect();
        let slot = match kind {
            Identification::Manufacturer => &mut self.identification.manufacturer,
            Identification::Model => &mut self.identification.model,
            Identification::Revision => &mut self.identification.revision,
        };
        *slot = Some(text);
    }
}

/// Whether the identity a radio printed is `expected`: a full TSI must match whole, a bare
/// SSI by its number.
fn is_identity(expected: Tsi, got: PeiIdentity) -> bool {
    match got {
        PeiIdentity::Tsi(t) => t == expected,
        PeiIdentity::Ssi(s) => s == expected.ssi(),
    }
}
