//! Bringing a radio into service: the initialisation script, the identity check and the
//! switch to ready.
//!
//! The script ([`Op::init_script`]) runs one command at a time: `AT` (is anyone there),
//! `ATE0`, `AT+CMEE=1`, `AT+CTOM=0` (trunked), `AT+CTSP` for voice, status and LIP,
//! `AT+CNUMF?` (the identity must be the configured one) and `AT+CTGS=1,<group>`. Error format,
//! status and LIP routing are nice to have: a radio that refuses them is used anyway, with a
//! fault reported. Any other refusal, or silence, takes the radio down and the script runs again
//! after the backoff. A call instance the radio may still be transmitting on from before it
//! went down is ceased right after the probe.

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::{NumType, NumberEntry};
use borderlink_protocol::time::Instant;

use super::command::Op;
use super::output::{CommandError, DownReason, RadioFault, RadioOutput};
use super::session::{LinkState, RadioSession};

impl RadioSession {
    /// Starts (again) from the top of the script.
    pub(super) fn start_init(&mut self) {
        self.state = LinkState::Initialising;
        self.echo_off = false;
        self.reported_identity = None;
        self.in_flight = None;
        self.queue.clear();
        self.queue.extend(Op::init_script(self.config.group));
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
            Err(error) => self.fault(RadioFault::Refused {
                command: op.name(),
                error,
            }),
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
        self.reported_up = Some(true);
        let identity = self.identity.unwrap_or(self.config.identity);
        self.emit(RadioOutput::Ready { identity });
        // Signal quality at once, for the status page, then periodically.
        self.queue.push_back(Op::SignalQuality);
        self.next_signal = Some(now + self.config.signal_interval);
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
