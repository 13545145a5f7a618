//! Scripted radio transcripts in virtual time: every byte the session writes is asserted, and
//! the radio's side is fed as the lines a real radio prints.

use borderlink_protocol::ids::{PeiIdentity, Ssi, Tsi, TsiForm};
use borderlink_protocol::pei::{AiService, CmeError, DisconnectCause, ErrorKind};
use borderlink_protocol::sds::{DeliveryStatus, ReportForm, ResultCode, Status};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::Priority;
use proptest::prelude::*;

use super::*;
use crate::engine::radio_tx::RadioEvent;

const IDENTITY_DIGITS: &str = "02040000102040123";
const SELECT_GROUP: &str = "AT+CTGS=1,02040000102040551\r";
const GROUP_CALL: &str = "AT+CTSDC=0,0,0,1,1,0,1,1,0,0,0\r";
const DIAL: &str = "ATD2040551\r";
/// `+CTICN` of a group call on our group from 2040999, call instance 2, priority 0.
const INCOMING: &str = "\r\n+CTICN: 2,0,0,1,02040000102040999,1,1,0,1,1,1,02040000102040551,0\r\n";

fn identity() -> Tsi {
    Tsi::from_parts(204, 1, 2_040_123).unwrap()
}

fn group() -> Tsi {
    Tsi::from_parts(204, 1, 2_040_551).unwrap()
}

fn unit(ssi: u32) -> Tsi {
    Tsi::from_parts(204, 1, ssi).unwrap()
}

fn prio(level: u8) -> Priority {
    Priority::new(level).unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A session, its virtual clock, and everything it wrote and reported.
struct Rig {
    radio: RadioSession,
    now: Instant,
    sent: Vec<(u64, String)>,
    events: Vec<RadioOutput>,
}

/// The script most transcripts here are written against: the standard profile without the
/// identification, static-identity and registration queries (tested on their own below).
fn classic() -> PeiProfile {
    PeiProfile {
        identification: false,
        registration: false,
        static_identities: false,
        ..PeiProfile::STANDARD
    }
}

impl Rig {
    fn new() -> Self {
        let mut config = RadioSessionConfig::new(identity(), group());
        config.profile = classic();
        Self::with(config)
    }

    fn with(config: RadioSessionConfig) -> Self {
        Rig {
            radio: RadioSession::new(config).unwrap(),
            now: Instant::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A radio taken through initialisation and its first signal query.
    fn ready() -> Self {
        let mut rig = Self::new();
        rig.init();
        rig
    }

    fn init(&mut self) {
        self.up();
        for _ in 0..7 {
            self.ok();
        }
        self.feed(&format!("\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n\r\nOK\r\n"));
        self.ok();
        self.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
        assert_eq!(self.radio.status().state, LinkState::Ready);
        self.sent.clear();
        self.events.clear();
    }

    fn drain(&mut self) {
        while let Some(t) = self.radio.poll_transmit() {
            let text = String::from_utf8(t.bytes().to_vec()).unwrap();
            self.sent.push((self.now.as_millis(), text));
        }
        while let Some(e) = self.radio.poll_event() {
            self.events.push(e);
        }
    }

    fn up(&mut self) {
        self.radio.link_up(self.now);
        self.drain();
    }

    fn down(&mut self) {
        self.radio.link_down(self.now);
        self.drain();
    }

    fn feed(&mut self, text: &str) {
        self.feed_bytes(text.as_bytes());
    }

    fn feed_bytes(&mut self, bytes: &[u8]) {
        self.radio.handle_bytes(self.now, bytes);
        self.drain();
    }

    fn ok(&mut self) {
        self.feed("\r\nOK\r\n");
    }

    fn key(&mut self) {
        self.radio.key(self.now, group(), prio(0), false);
        self.drain();
    }

    fn unkey(&mut self) {
        self.radio.unkey(self.now);
        self.drain();
    }

    /// Moves the clock to `now + d`, firing every timer on the way at its own deadline.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..10_000 {
            match self.radio.poll_timeout() {
                Some(due) if due <= end => {
                    self.now = self.now.max(due);
                    self.radio.handle_timeout(self.now);
                    self.drain();
                    if let Some(next) = self.radio.poll_timeout() {
                        assert!(
                            next > self.now,
                            "timer at {next:?} not moved past {:?}",
                            self.now
                        );
                    }
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("timers never settle: livelock");
    }

    fn sent(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent)
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    fn events(&mut self) -> Vec<RadioOutput> {
        std::mem::take(&mut self.events)
    }

    /// Key on a group with no call: set-up, connect on `cc`, demand, grant.
    fn key_granted(&mut self, cc: u16) {
        self.key();
        self.ok();
        self.ok();
        self.feed(&format!("\r\n+CTCC: {cc},1,1,0,0,1,1\r\n"));
        self.ok();
        self.feed(&format!("\r\n+CTXG: {cc},0,0,0\r\n"));
        assert_eq!(self.events(), [RadioOutput::TxGranted]);
        assert_eq!(
            self.sent(),
            [GROUP_CALL, DIAL, &format!("AT+CTXD={cc},1\r")]
        );
    }
}

#[test]
fn init_transcript_is_exact_and_signal_is_polled() {
    let mut rig = Rig::new();
    assert_eq!(rig.radio.status().state, LinkState::Disconnected);
    assert_eq!(rig.radio.poll_timeout(), None);
    rig.up();
    // The radio still echoes until ATE0 takes effect; echoes are not answers.
    rig.feed("AT\r\r\nOK\r\n");
    rig.feed("ATE0\r\r\nOK\r\n");
    for _ in 0..5 {
        rig.ok();
    }
    assert!(rig.events().is_empty());
    rig.feed(&format!(
        "\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n2,16777184\r\n\r\nOK\r\n"
    ));
    rig.ok();
    assert_eq!(
        rig.events(),
        [RadioOutput::Ready {
            identity: identity()
        }]
    );
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::SignalQuality { dbm: Some(-73) }]
    );
    let all: String = rig.sent().concat();
    assert_eq!(
        all,
        [
            "AT\r",
            "ATE0\r",
            "AT+CMEE=1\r",
            "AT+CTOM=0\r",
            "AT+CTSP=2,0,0\r",
            "AT+CTSP=1,2,20\r",
            "AT+CTSP=1,3,10\r",
            "AT+CNUMF?\r",
            SELECT_GROUP,
            "AT+CSQ?\r",
        ]
        .concat()
    );
    let status = rig.radio.status();
    assert_eq!(status.identity, Some(identity()));
    assert_eq!(status.signal_dbm, Some(-73));
    // Then every 10 s.
    rig.advance(secs(9));
    assert!(rig.sent().is_empty());
    rig.advance(secs(1));
    assert_eq!(rig.sent, [(10_000, "AT+CSQ?\r".to_string())]);
}

#[test]
fn short_tsi_form_is_used_for_the_group() {
    let mut config = RadioSessionConfig::new(identity(), group());
    config.profile = classic();
    config.tsi_form = TsiForm::Short;
    let mut rig = Rig::with(config);
    rig.up();
    for _ in 0..7 {
        rig.ok();
    }
    // The radio answers in its short form; the identity still matches.
    rig.feed("\r\n+CNUMF: 0,2040000102040123\r\n\r\nOK\r\n");
    assert_eq!(rig.sent().last().unwrap(), "AT+CTGS=1,2040000102040551\r");
}

#[test]
fn bare_ssi_identity_is_completed_with_the_home_network() {
    let mut rig = Rig::new();
    rig.up();
    for _ in 0..7 {
        rig.ok();
    }
    rig.feed("\r\n+CNUMF: 0,2040123\r\n\r\nOK\r\n");
    rig.ok();
    assert_eq!(
        rig.events(),
        [RadioOutput::Ready {
            identity: identity()
        }]
    );
}

#[test]
fn identity_mismatch_keeps_the_radio_out_of_service() {
    let mut rig = Rig::new();
    rig.up();
    for _ in 0..7 {
        rig.ok();
    }
    rig.sent.clear();
    rig.feed("\r\n+CNUMF: 0,02040000102049999\r\n\r\nOK\r\n");
    let got = PeiIdentity::Tsi(unit(2_049_999));
    assert_eq!(
        rig.events(),
        [
            RadioOutput::IdentityMismatch {
                expected: identity(),
                got
            },
            RadioOutput::Down {
                reason: DownReason::WrongIdentity {
                    expected: identity(),
                    got
                }
            },
        ]
    );
    assert_eq!(rig.events.len(), 0);
    assert!(
        rig.sent().is_empty(),
        "no group selected on a foreign radio"
    );
    assert_eq!(
        rig.radio.status().state,
        LinkState::Recovering {
            retry_at: Instant::ZERO + secs(30)
        }
    );
    rig.key();
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::NotReady
        }]
    );
    assert!(rig.sent().is_empty());
    // Looked at again after the longest backoff, in case the right radio is plugged in.
    rig.advance(secs(29));
    assert!(rig.sent().is_empty());
    rig.advance(secs(1));
    assert_eq!(rig.sent(), ["AT\r"]);
}

#[test]
fn a_foreign_ssi_is_a_mismatch_too() {
    let mut rig = Rig::new();
    rig.up();
    for _ in 0..7 {
        rig.ok();
    }
    rig.feed("\r\n+CNUMF: 0,2040124\r\n\r\nOK\r\n");
    assert!(matches!(
        rig.events().first(),
        Some(RadioOutput::IdentityMismatch { .. })
    ));
}

#[test]
fn no_individual_identity_is_a_failure() {
    let mut rig = Rig::new();
    rig.up();
    for _ in 0..7 {
        rig.ok();
    }
    // Only a group entry: not the radio's own identity.
    rig.feed("\r\n+CNUMF: 1,2040551\r\n\r\nOK\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::NoIdentity
        }]
    );
}

#[test]
fn silent_radio_is_retried_then_down_then_reinitialised_with_backoff() {
    let mut rig = Rig::new();
    rig.up();
    rig.advance(secs(25));
    let times: Vec<u64> = rig.sent.iter().map(|(t, _)| *t).collect();
    assert!(rig.sent.iter().all(|(_, s)| s == "AT\r"));
    // Three sendings 2 s apart, then down; again after 1 s, then after 2 s, then 4 s.
    assert_eq!(
        times,
        [
            0, 2_000, 4_000, 7_000, 9_000, 11_000, 15_000, 17_000, 19_000, 25_000
        ]
    );
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::NotResponding {
                command: "AT",
                attempts: 3
            }
        }],
        "down is reported once per outage"
    );
    assert_eq!(
        rig.events
            .iter()
            .filter_map(RadioOutput::engine_event)
            .count(),
        0
    );
}

#[test]
fn backoff_doubles_up_to_its_ceiling() {
    let mut rig = Rig::new();
    rig.up();
    rig.advance(secs(200));
    let starts: Vec<u64> = rig
        .sent
        .iter()
        .map(|(t, _)| *t)
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| c[0])
        .collect();
    let waits: Vec<u64> = starts
        .windows(2)
        .map(|w| (w[1] - w[0] - 6_000) / 1_000)
        .collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
}

#[test]
fn a_stable_radio_starts_the_backoff_afresh() {
    let mut rig = Rig::new();
    rig.up();
    // Two failed rounds push the backoff to 4 s.
    rig.advance(secs(13));
    rig.advance(secs(2));
    rig.sent.clear();
    rig.events.clear();
    assert_eq!(rig.radio.status().state, LinkState::Initialising);
    rig.init();
    // The signal query goes unanswered: down after its retries, back after 1 s, not 4 s.
    rig.advance(secs(10));
    rig.advance(secs(6));
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::NotResponding {
                command: "AT+CSQ?",
                attempts: 3
            }
        }]
    );
    let failed_at = rig.now;
    rig.sent.clear();
    rig.advance(secs(1));
    assert_eq!(
        rig.sent,
        [((failed_at + secs(1)).as_millis(), "AT\r".to_string())]
    );
}

#[test]
fn a_late_answer_counts_for_the_retry() {
    let mut rig = Rig::new();
    rig.up();
    rig.advance(secs(2));
    assert_eq!(rig.sent(), ["AT\r", "AT\r"]);
    rig.ok();
    assert_eq!(rig.sent(), ["ATE0\r"]);
    assert!(rig.events().is_empty());
}

#[test]
fn stray_final_results_are_ignored() {
    let mut rig = Rig::ready();
    rig.feed("\r\nOK\r\n\r\nERROR\r\n\r\n+CME ERROR: 3\r\n");
    assert!(rig.sent().is_empty());
    assert!(rig.events().is_empty());
    assert_eq!(rig.radio.status().state, LinkState::Ready);
}

#[test]
fn an_essential_step_refused_takes_the_radio_down() {
    let mut rig = Rig::new();
    rig.up();
    rig.ok();
    rig.ok();
    rig.ok();
    rig.sent.clear();
    rig.feed("\r\n+CME ERROR: 30\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::InitRefused {
                command: "AT+CTOM=0",
                error: CommandError::Cme(CmeError(30))
            }
        }]
    );
    assert!(rig.sent().is_empty());
    rig.advance(secs(1));
    assert_eq!(rig.sent(), ["AT\r"]);
}

#[test]
fn plain_error_on_an_essential_step_takes_the_radio_down() {
    let mut rig = Rig::new();
    rig.up();
    for _ in 0..4 {
        rig.ok();
    }
    rig.feed("\r\nERROR\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::InitRefused {
                command: "AT+CTSP (voice)",
                error: CommandError::Error
            }
        }]
    );
}

#[test]
fn optional_steps_refused_are_reported_and_skipped() {
    let mut rig = Rig::new();
    rig.up();
    rig.ok();
    rig.ok();
    rig.sent.clear();
    rig.feed("\r\nERROR\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Fault(RadioFault::Refused {
            command: "AT+CMEE=1",
            error: CommandError::Error
        })]
    );
    assert_eq!(rig.sent(), ["AT+CTOM=0\r"]);
    rig.ok();
    rig.ok();
    rig.feed("\r\n+CME ERROR: 4\r\n");
    rig.feed("\r\n+CME ERROR: 4\r\n");
    assert_eq!(rig.events().len(), 2);
    assert_eq!(
        rig.sent(),
        [
            "AT+CTSP=2,0,0\r",
            "AT+CTSP=1,2,20\r",
            "AT+CTSP=1,3,10\r",
            "AT+CNUMF?\r"
        ]
    );
    rig.feed(&format!("\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n\r\nOK\r\n"));
    rig.ok();
    assert!(matches!(rig.events()[..], [RadioOutput::Ready { .. }]));
}

#[test]
fn key_sets_up_the_call_demands_and_is_granted() {
    let mut rig = Rig::ready();
    rig.key();
    assert_eq!(rig.sent(), [GROUP_CALL]);
    rig.ok();
    assert_eq!(rig.sent(), [DIAL]);
    rig.ok();
    assert!(rig.sent().is_empty(), "waits for +CTCC to learn the call");
    rig.feed("\r\n+CTCC: 1,1,1,0,0,1,1\r\n");
    assert_eq!(rig.sent(), ["AT+CTXD=1,1\r"]);
    rig.ok();
    assert!(rig.events().is_empty());
    assert!(rig.radio.status().transmitting);
    rig.feed("\r\n+CTXG: 1,0,0,0\r\n");
    let events = rig.events();
    assert_eq!(events, [RadioOutput::TxGranted]);
    assert_eq!(events[0].engine_event(), Some(RadioEvent::TxGranted));
    rig.unkey();
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"]);
    rig.ok();
    assert!(rig.events().is_empty());
    assert!(!rig.radio.status().transmitting);
    // The call stays up for the network's hang time: the next key joins it.
    rig.key();
    assert_eq!(rig.sent(), ["AT+CTXD=1,1\r"]);
}

#[test]
fn emergency_and_priority_go_into_the_call_and_the_demand() {
    let mut rig = Rig::ready();
    rig.radio.key(rig.now, group(), prio(5), true);
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDC=0,0,0,1,1,0,1,1,0,15,0\r"]);
    rig.ok();
    rig.ok();
    rig.feed("\r\n+CTCC: 7,1,1,0,0,1,1\r\n");
    assert_eq!(rig.sent(), [DIAL, "AT+CTXD=7,3\r"]);

    let mut rig = Rig::ready();
    rig.radio.key(rig.now, group(), prio(5), false);
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDC=0,0,0,1,1,0,1,1,0,5,0\r"]);
}

#[test]
fn key_joins_a_call_already_up_on_the_group() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
    rig.ok();
    rig.feed("\r\n+CTXG: 2,0,0,0\r\n");
    assert_eq!(rig.events(), [RadioOutput::TxGranted]);
}

#[test]
fn a_call_on_another_group_is_not_joined() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTICN: 2,0,0,1,02040000102040999,1,1,0,1,1,1,02040000102040777,0\r\n");
    rig.key();
    assert_eq!(rig.sent(), [GROUP_CALL]);
}

#[test]
fn refusal_is_reported_and_leaves_nothing_to_cease() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.ok();
    rig.feed("\r\n+CTXG: 2,1,0,0\r\n");
    let events = rig.events();
    assert_eq!(
        events,
        [RadioOutput::TxRefused {
            reason: TxFailure::NotGranted
        }]
    );
    assert_eq!(events[0].engine_event(), Some(RadioEvent::TxRefused));
    rig.unkey();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
}

#[test]
fn demand_refused_with_an_error_is_a_refusal() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.feed("\r\n+CME ERROR: 3\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::Rejected {
                command: "AT+CTXD",
                error: CommandError::Cme(CmeError(3))
            }
        }]
    );
    assert_eq!(rig.radio.status().state, LinkState::Ready);
}

#[test]
fn dial_refused_is_a_refusal_and_nothing_more_is_sent() {
    let mut rig = Rig::ready();
    rig.key();
    rig.ok();
    rig.feed("\r\nERROR\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::Rejected {
                command: "ATD",
                error: CommandError::Error
            }
        }]
    );
    assert_eq!(rig.sent(), [GROUP_CALL, DIAL]);
    rig.unkey();
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
}

#[test]
fn queued_then_granted() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.ok();
    rig.feed("\r\n+CTXG: 2,2,0,0\r\n");
    rig.advance(secs(3));
    assert!(rig.events().is_empty());
    rig.feed("\r\n+CTXG: 2,0,0,0\r\n");
    assert_eq!(rig.events(), [RadioOutput::TxGranted]);
    // Granted: the grant wait (5 s from the key) no longer applies.
    rig.advance(secs(4));
    assert!(rig.events().is_empty());
    assert!(rig.radio.status().transmitting);
}

#[test]
fn queued_too_long_is_withdrawn_and_refused() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.ok();
    rig.feed("\r\n+CTXG: 2,2,0,0\r\n");
    rig.sent.clear();
    rig.advance(secs(5));
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::GrantTimeout
        }]
    );
    assert_eq!(rig.sent, [(5_000, "AT+CUTXC=2\r".to_string())]);
}

#[test]
fn connect_that_never_comes_is_refused_at_the_grant_wait() {
    let mut rig = Rig::ready();
    rig.key();
    rig.ok();
    rig.ok();
    rig.advance(secs(5));
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::GrantTimeout
        }]
    );
    // If the call connects after all, with the grant, it is handed back at once.
    rig.sent.clear();
    rig.feed("\r\n+CTCC: 4,1,1,0,0,1,1\r\n+CTXG: 4,0,0,0\r\n");
    assert_eq!(rig.sent(), ["AT+CUTXC=4\r"]);
    assert!(rig.events().is_empty());
}

#[test]
fn pre_emption_release_loses_the_grant() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.feed("\r\n+CTCR: 1,9\r\n");
    let events = rig.events();
    assert_eq!(
        events,
        [RadioOutput::TxLost {
            reason: TxFailure::Released(DisconnectCause::PreEmption)
        }]
    );
    assert_eq!(events[0].engine_event(), Some(RadioEvent::TxLost));
    // The call is gone: nothing to cease, and the next key sets up a new one.
    rig.unkey();
    assert!(rig.sent().is_empty());
    rig.key();
    assert_eq!(rig.sent(), [GROUP_CALL]);
}

#[test]
fn any_release_while_transmitting_loses_the_grant() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.feed("\r\n+CTCR: 1,14\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxLost {
            reason: TxFailure::Released(DisconnectCause::SwmiDisconnect)
        }]
    );
}

#[test]
fn interruption_loses_the_grant_and_withdraws_the_demand() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.feed("\r\n+CTXI: 1,0,0\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxLost {
            reason: TxFailure::Interrupted
        }]
    );
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"]);
    rig.unkey();
    assert!(rig.sent().is_empty(), "ceased once");
}

#[test]
fn another_talker_granted_mid_transmission_loses_the_grant_and_starts_receive() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.feed("\r\n+CTXG: 1,3,0,0,1,02040000102040777\r\n");
    assert_eq!(
        rig.events(),
        [
            RadioOutput::TxLost {
                reason: TxFailure::TakenByOther
            },
            RadioOutput::ReceiveStart {
                talker: Some(unit(2_040_777)),
                group: Some(group()),
                priority: prio(0),
                emergency: false
            },
        ]
    );
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"]);
}

#[test]
fn wait_while_transmitting_loses_the_grant_but_not_while_waiting() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.ok();
    rig.feed("\r\n+CTXW: 2,0\r\n");
    assert!(rig.events().is_empty());
    rig.feed("\r\n+CTXG: 2,0,0,0\r\n+CTXW: 2,0\r\n");
    assert_eq!(
        rig.events(),
        [
            RadioOutput::TxGranted,
            RadioOutput::TxLost {
                reason: TxFailure::Wait
            }
        ]
    );
}

#[test]
fn a_grant_before_the_set_up_went_out_cancels_the_set_up() {
    let mut rig = Rig::ready();
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
    rig.key();
    assert!(rig.sent().is_empty(), "behind the query");
    rig.feed("\r\n+CTXG: 8,0,0,0\r\n");
    assert_eq!(rig.events(), [RadioOutput::TxGranted]);
    rig.ok();
    assert!(rig.sent().is_empty(), "no ATD while transmitting");
    rig.unkey();
    assert_eq!(rig.sent(), ["AT+CUTXC=8\r"]);
}

#[test]
fn unkey_mid_setup_ceases_once_the_call_is_known() {
    let mut rig = Rig::ready();
    rig.key();
    rig.ok();
    assert_eq!(rig.sent(), [GROUP_CALL, DIAL]);
    rig.unkey();
    assert!(rig.sent().is_empty(), "the call instance is not known yet");
    rig.ok();
    rig.feed("\r\n+CTCC: 3,1,1,0,0,1,1\r\n");
    assert_eq!(rig.sent(), ["AT+CUTXC=3\r"]);
    // A grant that comes with the connect is handed back as well, never reported.
    rig.ok();
    rig.feed("\r\n+CTXG: 3,0,0,0\r\n");
    assert_eq!(rig.sent(), ["AT+CUTXC=3\r"]);
    assert!(rig.events().is_empty());
}

#[test]
fn unkey_while_the_demand_is_in_flight_ceases_after_its_answer() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
    rig.unkey();
    assert!(rig.sent().is_empty(), "one command in flight");
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CUTXC=2\r"]);
    rig.feed("\r\n+CTXG: 2,0,0,0\r\n");
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CUTXC=2\r"], "a late grant is handed back");
    assert!(rig.events().is_empty());
}

#[test]
fn a_cease_is_pending_until_the_radio_has_answered_it() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    assert!(!rig.radio.cease_pending());
    rig.key();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
    assert!(rig.radio.cease_pending(), "keying under way");
    rig.unkey();
    assert!(
        rig.radio.cease_pending(),
        "the cease waits behind the demand in flight"
    );
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CUTXC=2\r"]);
    assert!(rig.radio.cease_pending(), "the cease is not answered yet");
    rig.ok();
    assert!(!rig.radio.cease_pending());
}

#[test]
fn a_refusal_withdraws_a_demand_queued_by_a_second_key() {
    // Found by `any_input_keeps_the_session_sound`: key, unkey, key again while the first
    // demand is still in flight, then the network refuses.
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
    rig.unkey();
    rig.key();
    rig.feed("\r\n+CTXG: 2,1,0,0\r\n");
    assert!(
        rig.radio.queue.iter().all(|op| !op.is_keying()),
        "{:?}",
        rig.radio.queue
    );
    rig.unkey();
    rig.ok();
    rig.ok();
    rig.ok();
    assert!(
        rig.sent().iter().all(|c| !c.starts_with("AT+CTXD")),
        "no demand after the refusal and the unkey"
    );
}

#[test]
fn unkey_before_anything_keying_went_out_sends_nothing() {
    let mut rig = Rig::ready();
    rig.key();
    rig.unkey();
    rig.ok();
    assert_eq!(rig.sent(), [GROUP_CALL], "ATD withdrawn while queued");
    // A demand queued behind a signal query is withdrawn too.
    rig.feed(INCOMING);
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
    rig.key();
    rig.unkey();
    rig.ok();
    assert!(rig.sent().is_empty());
}

/// Wherever the unkey falls in the keying exchange, once `ATD` or `AT+CTXD` has gone out the
/// last keying command the radio receives is a cease of the right call.
#[test]
fn unkey_at_any_point_leaves_the_radio_unkeyed() {
    let script = [
        "\r\nOK\r\n",
        "\r\nOK\r\n",
        "\r\n+CTCC: 5,1,1,0,0,1,1\r\n",
        "\r\nOK\r\n",
        "\r\n+CTXG: 5,2,0,0\r\n",
        "\r\n+CTXG: 5,0,0,0\r\n",
    ];
    for cut in 0..=script.len() {
        let mut rig = Rig::ready();
        rig.key();
        for line in &script[..cut] {
            rig.feed(line);
        }
        rig.unkey();
        // The radio goes on as it would: answers and the rest of the exchange.
        for line in &script[cut..] {
            rig.feed(line);
        }
        for _ in 0..4 {
            rig.ok();
        }
        let sent = rig.sent();
        let keyed = sent.iter().any(|s| s == DIAL || s.starts_with("AT+CTXD"));
        let last = sent.iter().rev().find(|s| {
            s.starts_with("ATD") || s.starts_with("AT+CTXD") || s.starts_with("AT+CUTXC")
        });
        if keyed {
            assert_eq!(
                last.map(String::as_str),
                Some("AT+CUTXC=5\r"),
                "cut {cut}: {sent:?}"
            );
        }
        assert!(
            !sent
                .iter()
                .skip_while(|s| !s.starts_with("AT+CUTXC"))
                .any(|s| s.starts_with("AT+CTXD")),
            "cut {cut}: demanded after ceasing: {sent:?}"
        );
        let reported: Vec<_> = rig
            .events()
            .iter()
            .filter_map(RadioOutput::engine_event)
            .collect();
        assert!(
            reported.iter().all(|e| *e == RadioEvent::TxGranted),
            "cut {cut}: {reported:?}"
        );
    }
}

#[test]
fn a_joined_call_released_under_the_demand_is_set_up_afresh() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.key();
    rig.ok();
    rig.feed("\r\n+CTCR: 2,13\r\n");
    assert!(rig.events().is_empty());
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r", GROUP_CALL]);
    rig.ok();
    rig.ok();
    rig.feed("\r\n+CTCC: 4,1,1,0,0,1,1\r\n");
    rig.ok();
    rig.feed("\r\n+CTXG: 4,0,0,0\r\n");
    assert_eq!(rig.sent(), [DIAL, "AT+CTXD=4,1\r"]);
    assert_eq!(rig.events(), [RadioOutput::TxGranted]);
}

#[test]
fn a_set_up_call_released_before_connect_is_a_refusal() {
    let mut rig = Rig::ready();
    rig.key();
    rig.ok();
    rig.ok();
    rig.feed("\r\n+CTCR: 6,5\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::Released(DisconnectCause::NetworkCongestion)
        }]
    );
}

#[test]
fn key_while_down_is_refused_at_once() {
    let mut rig = Rig::new();
    rig.key();
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::NotReady
        }]
    );
    assert!(rig.sent().is_empty());
    rig.up();
    rig.sent.clear();
    rig.key();
    assert_eq!(rig.events().len(), 1, "still initialising");
    assert!(rig.sent().is_empty());
}

#[test]
fn receive_is_bracketed_with_the_talker() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    // First over without a talking party identity: the caller talks.
    rig.feed("\r\n+CTXG: 2,3,0,0\r\n");
    let start = |talker| RadioOutput::ReceiveStart {
        talker,
        group: Some(group()),
        priority: prio(0),
        emergency: false,
    };
    assert_eq!(rig.events(), [start(Some(unit(2_040_999)))]);
    assert!(rig.radio.status().receiving);
    rig.feed("\r\n+CDTXC: 2,0\r\n");
    assert_eq!(rig.events(), [RadioOutput::ReceiveEnd]);
    rig.feed("\r\n+CTXG: 2,3,0,0,1,02040000102040777\r\n");
    // A repeated grant for the same talker is the same over.
    rig.feed("\r\n+CTXG: 2,3,0,0,1,02040000102040777\r\n");
    assert_eq!(rig.events(), [start(Some(unit(2_040_777)))]);
    // A new talker without an end in between: end, then start.
    rig.feed("\r\n+CTXG: 2,3,0,0,0,2040888\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::ReceiveEnd, start(Some(unit(2_040_888)))]
    );
    rig.feed("\r\n+CTCR: 2,13\r\n");
    assert_eq!(rig.events(), [RadioOutput::ReceiveEnd]);
    assert!(!rig.radio.status().receiving);
    assert!(rig.sent().is_empty());
}

#[test]
fn receive_on_an_unannounced_call_and_an_emergency_call() {
    let mut rig = Rig::ready();
    // Late entry: no +CTICN seen, the grant alone starts the receive.
    rig.feed("\r\n+CTXG: 9,3,0,0\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::ReceiveStart {
            talker: None,
            group: None,
            priority: prio(0),
            emergency: false
        }]
    );
    rig.feed("\r\n+CTICN: 3,0,0,1,02040000102040999,1,1,0,1,1,1,02040000102040551,15\r\n");
    assert_eq!(rig.events(), [RadioOutput::ReceiveEnd]);
    rig.feed("\r\n+CTXG: 3,3,0,0,1,02040000102040999\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::ReceiveStart {
            talker: Some(unit(2_040_999)),
            group: Some(group()),
            priority: prio(15),
            emergency: true
        }]
    );
}

/// Values outside the PEI's tables reach the session now (issue 19): a priority above the
/// 4-bit range is not trusted as an emergency, an unknown comms type still plays the call, and
/// an unknown grant code keys nothing.
#[test]
fn out_of_table_values_neither_escalate_nor_lose_the_call() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTICN: 3,0,0,1,02040000102040999,1,1,0,9,1,1,02040000102040551,31\r\n");
    rig.feed("\r\n+CTXG: 3,3,0,0,1,02040000102040999\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::ReceiveStart {
            talker: Some(unit(2_040_999)),
            group: Some(group()),
            priority: prio(0),
            emergency: false
        }]
    );
    rig.feed("\r\n+CTXG: 3,7,0,0\r\n");
    assert!(rig.events().is_empty());
    assert!(rig.radio.status().receiving);
    assert!(!rig.radio.status().transmitting);
    assert!(rig.sent().is_empty());
}

#[test]
fn own_grant_ends_a_receive() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.feed("\r\n+CTXG: 2,3,0,0\r\n");
    rig.key();
    rig.ok();
    rig.events.clear();
    rig.feed("\r\n+CTXG: 2,0,0,0\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::ReceiveEnd, RadioOutput::TxGranted]
    );
}

#[test]
fn unsolicited_lines_are_handled_while_a_command_is_in_flight() {
    let mut rig = Rig::ready();
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
    rig.feed(INCOMING);
    rig.feed("\r\n+CTXG: 2,3,0,0\r\n+CSQ: 25,0\r\n");
    assert!(matches!(
        rig.events()[..],
        [
            RadioOutput::ReceiveStart { .. },
            RadioOutput::SignalQuality { dbm: Some(-63) }
        ]
    ));
    // The key waits for the query's answer, then goes first.
    rig.key();
    assert!(rig.sent().is_empty());
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CTXD=2,1\r"]);
}

#[test]
fn lip_sds_is_a_location() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,84\r\n0A003814C2494BB1588810\r\n");
    let events = rig.events();
    let [RadioOutput::Location { from, report }] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*from, Some(unit(2_040_999)));
    let position = report.position.unwrap();
    assert!((position.latitude().degrees() - 51.4420).abs() < 1e-5);
    assert!((position.longitude().degrees() - 4.9290).abs() < 1e-5);
}

#[test]
fn long_lip_sds_is_a_location_even_without_a_fix() {
    let mut rig = Rig::ready();
    // A 52-bit long report with no shape (no fix), in the nibble-exact form: 13 digits.
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,52\r\n0A4C010AB0851\r\n");
    let events = rig.events();
    let [RadioOutput::Location { from, report }] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*from, Some(unit(2_040_999)));
    assert_eq!(report.form, ReportForm::Long);
    assert_eq!(report.position, None);
    assert_eq!(report.result, Some(ResultCode::POSITION_METHOD_FAILURE));
}

#[test]
fn status_sds_is_a_status() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTSDSR: 13,02040000102040999,1,2040123,0,16\r\n8003\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Status {
            from: Some(unit(2_040_999)),
            value: Status::new(0x8003)
        }]
    );
}

#[test]
fn text_in_any_defined_coding_is_rendered() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,48\r\n82042A014F4B\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Text {
            from: Some(unit(2_040_999)),
            text: "OK".into(),
            parts: 1
        }]
    );
    // Simple text, ISO 8859-15: "5 €".
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,40\r\n020D3520A4\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Text {
            from: Some(unit(2_040_999)),
            text: "5 €".into(),
            parts: 1
        }]
    );
}

/// Part `part` of 2 of concatenated text 0x42 (protocol 0x8A, Latin-1, SDS-TL reference
/// `part`), carrying `text`.
fn udh_part(part: u8, text: &str) -> String {
    let mut bytes = vec![0x8a, 0x00, part, 0x01, 0x05, 0x00, 0x03, 0x42, 0x02, part];
    bytes.extend(text.bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "\r\n+CTSDSR: 12,2040999,0,2040123,0,{}\r\n{hex}\r\n",
        bytes.len() * 8
    )
}

#[test]
fn concatenated_text_is_reported_once_whole() {
    let mut rig = Rig::ready();
    // The second part first: nothing to report yet.
    rig.feed(&udh_part(2, "active"));
    assert_eq!(rig.events(), []);
    assert!(rig.radio.poll_timeout().is_some());
    rig.feed(&udh_part(2, "active"));
    assert_eq!(rig.events(), [], "a repeated part is ignored");
    rig.feed(&udh_part(1, "Patch "));
    assert_eq!(
        rig.events(),
        [RadioOutput::Text {
            from: Some(unit(2_040_999)),
            text: "Patch active".into(),
            parts: 2
        }]
    );
}

#[test]
fn a_concatenated_text_missing_a_part_is_dropped_after_its_timeout() {
    let mut rig = Rig::ready();
    let start = rig.now;
    rig.feed(&udh_part(1, "Patch "));
    assert_eq!(rig.events(), []);
    let due = start + TEXT_PARTS_TIMEOUT;
    assert!(rig.radio.poll_timeout().is_some_and(|t| t <= due));
    rig.now = due;
    rig.radio.handle_timeout(rig.now);
    assert_eq!(rig.radio.texts.in_progress(), 0);
    assert_eq!(rig.radio.texts.expired(), 1);
    // The late second part starts a new message of its own.
    rig.feed(&udh_part(2, "active"));
    assert_eq!(rig.events(), []);
}

#[test]
fn other_sds_is_passed_on_raw_and_broken_sds_too() {
    let mut rig = Rig::ready();
    // SDS-TL text in reserved coding 64: not rendered, passed on as it came.
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,48\r\n82042A404F4B\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Sds {
            from: Some(unit(2_040_999)),
            ai_service: AiService::SdsType4,
            bits: 48,
            data: vec![0x82, 0x04, 0x2a, 0x40, 0x4f, 0x4b]
        }]
    );
    // A LIP PDU cut short: reported as a fault, and kept raw.
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,16\r\n0A00\r\n");
    let events = rig.events();
    assert!(matches!(
        events[..],
        [
            RadioOutput::Fault(RadioFault::Sds { .. }),
            RadioOutput::Sds { bits: 16, .. }
        ]
    ));
    let RadioOutput::Fault(fault) = &events[0] else {
        panic!("{events:?}");
    };
    assert!(
        fault
            .to_string()
            .starts_with("SDS from 204-1-2040999 does not decode")
    );
    // A status that is not 16 bits.
    rig.feed("\r\n+CTSDSR: 13,2040999,0,2040123,0,8\r\n80\r\n");
    assert!(matches!(
        rig.events()[..],
        [
            RadioOutput::Fault(RadioFault::Sds { .. }),
            RadioOutput::Sds { .. }
        ]
    ));
}

#[test]
fn garbage_and_overlong_lines_do_not_break_the_session() {
    let mut rig = Rig::new();
    rig.up();
    rig.sent.clear();
    let mut junk = vec![b'x'; 3_000];
    junk.extend_from_slice(
        b"\r\n\xff\xfe\xfd\r\n+CTXG: x\r\n+CTSDSR: 12,1,0,2,0,16\r\nZZZZ\r\n\0\0\0\r\n",
    );
    rig.feed_bytes(&junk);
    let faults: Vec<_> = rig.events().into_iter().collect();
    assert!(
        faults
            .iter()
            .all(|e| matches!(e, RadioOutput::Fault(RadioFault::Line(_))))
    );
    assert!(faults.iter().any(|e| matches!(
        e,
        RadioOutput::Fault(RadioFault::Line(p)) if matches!(p.kind, ErrorKind::LineTooLong { .. })
    )));
    assert!(faults.iter().any(|e| matches!(
        e,
        RadioOutput::Fault(RadioFault::Line(p)) if matches!(p.kind, ErrorKind::NotUtf8 { .. })
    )));
    assert!(rig.sent().is_empty());
    // The probe's answer still correlates, and initialisation carries on.
    rig.ok();
    assert_eq!(rig.sent(), ["ATE0\r"]);
    assert_eq!(rig.radio.status().state, LinkState::Initialising);
}

#[test]
fn a_flood_of_bad_lines_is_counted_not_queued() {
    let mut rig = Rig::ready();
    let flood = "+CTXG: x\r\n".repeat(100);
    rig.radio.handle_bytes(rig.now, flood.as_bytes());
    let mut faults = 0;
    while let Some(e) = rig.radio.poll_event() {
        assert!(matches!(e, RadioOutput::Fault(_)));
        faults += 1;
    }
    assert_eq!(faults, 32);
    assert_eq!(rig.radio.status().faults_suppressed, 68);
    // Draining makes room again.
    rig.feed("+CTXG: x\r\n");
    assert_eq!(rig.events().len(), 1);
}

#[test]
fn echo_coming_back_mid_call_is_a_reboot() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
    // A radio that rebooted echoes again (V.250 default) and has forgotten the call.
    rig.feed("AT+CSQ?\r\r\n+CSQ: 18,99\r\n\r\nOK\r\n");
    let events = rig.events();
    assert_eq!(
        events,
        [
            RadioOutput::Down {
                reason: DownReason::Rebooted {
                    evidence: "command echo is back on"
                }
            },
            RadioOutput::TxLost {
                reason: TxFailure::RadioDown
            },
            RadioOutput::SignalQuality { dbm: Some(-77) },
        ]
    );
    let engine: Vec<_> = events
        .iter()
        .filter_map(RadioOutput::engine_event)
        .collect();
    assert_eq!(engine, [RadioEvent::Down, RadioEvent::TxLost]);
    // Re-initialised after the backoff; the call it was keyed on is ceased right after the
    // probe, whatever the radio makes of it.
    rig.advance(secs(1));
    assert_eq!(rig.sent(), ["AT\r"]);
    rig.feed("AT\r\r\nOK\r\n");
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"]);
    rig.feed("AT+CUTXC=1\r\r\n+CME ERROR: 10\r\n");
    assert_eq!(rig.sent(), ["ATE0\r"]);
    rig.ok();
    for _ in 0..5 {
        rig.ok();
    }
    rig.feed(&format!("\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n\r\nOK\r\n"));
    rig.ok();
    assert!(matches!(
        rig.events()[..],
        [
            RadioOutput::Fault(RadioFault::Refused {
                command: "AT+CUTXC",
                ..
            }),
            RadioOutput::Ready { .. }
        ]
    ));
    // And a key works again.
    rig.feed("\r\n+CSQ: 18,99\r\n\r\nOK\r\n");
    rig.sent.clear();
    rig.key();
    assert_eq!(rig.sent(), [GROUP_CALL]);
}

#[test]
fn link_lost_mid_call_ends_receive_and_transmit_and_recovers_on_link_up() {
    let mut rig = Rig::ready();
    rig.feed(INCOMING);
    rig.feed("\r\n+CTXG: 2,3,0,0\r\n");
    rig.events.clear();
    rig.down();
    assert_eq!(
        rig.events(),
        [
            RadioOutput::ReceiveEnd,
            RadioOutput::Down {
                reason: DownReason::LinkLost
            }
        ]
    );
    assert_eq!(
        rig.radio.poll_timeout(),
        None,
        "nothing to do without a port"
    );
    // Bytes that somehow arrive without a port are dropped.
    rig.feed("\r\n+CTXG: 2,3,0,0\r\n");
    assert!(rig.events().is_empty());
    rig.advance(secs(100));
    assert!(rig.sent().is_empty());
    rig.up();
    assert_eq!(rig.sent(), ["AT\r"], "initialised at once on link up");
    rig.sent.clear();
    rig.init();
    rig.key_granted(1);
    rig.down();
    assert_eq!(
        rig.events(),
        [
            RadioOutput::Down {
                reason: DownReason::LinkLost
            },
            RadioOutput::TxLost {
                reason: TxFailure::RadioDown
            }
        ]
    );
    rig.up();
    rig.ok();
    assert_eq!(rig.sent(), ["AT\r", "AT+CUTXC=1\r"]);
}

#[test]
fn configured_banner_is_a_reboot() {
    let mut config = RadioSessionConfig::new(identity(), group());
    config.profile = classic();
    config.reboot_banners = vec!["+SYSSTART".to_string()];
    let mut rig = Rig::with(config);
    rig.init();
    rig.feed("\r\n+SYSSTART: 1\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::Rebooted {
                evidence: "start-up banner"
            }
        }]
    );
    // Unconfigured vendor lines are ignored.
    let mut rig = Rig::ready();
    rig.feed("\r\n+SYSSTART: 1\r\n");
    assert!(rig.events().is_empty());
}

#[test]
fn link_up_without_link_down_starts_afresh() {
    let mut rig = Rig::ready();
    rig.up();
    assert_eq!(
        rig.events(),
        [RadioOutput::Down {
            reason: DownReason::LinkLost
        }]
    );
    assert_eq!(rig.sent(), ["AT\r"]);
}

#[test]
fn bad_settings_are_named() {
    let base = RadioSessionConfig::new(identity(), group());
    let mut c = base.clone();
    c.command_timeout = Duration::ZERO;
    assert_eq!(
        RadioSession::new(c).unwrap_err().to_string(),
        "radio setting `command_timeout` must be longer than zero"
    );
    let mut c = base.clone();
    c.backoff_max = secs(0);
    assert!(matches!(
        RadioSession::new(c).unwrap_err(),
        ConfigError::BackoffOrder { .. }
    ));
    let mut c = base.clone();
    c.command_retries = 11;
    assert_eq!(
        RadioSession::new(c).unwrap_err(),
        ConfigError::TooManyRetries(11)
    );
    let mut c = base;
    c.reboot_banners = vec![String::new()];
    assert_eq!(
        RadioSession::new(c).unwrap_err(),
        ConfigError::EmptyBanner { index: 0 }
    );
}

#[test]
fn messages_say_what_and_where() {
    assert_eq!(
        DownReason::NotResponding {
            command: "AT+CSQ?",
            attempts: 3
        }
        .to_string(),
        "radio did not answer AT+CSQ? (3 attempts)"
    );
    assert_eq!(
        TxFailure::Rejected {
            command: "AT+CTXD",
            error: CommandError::Cme(CmeError(3))
        }
        .to_string(),
        "AT+CTXD answered +CME ERROR: 3 (command not allowed in the current state)"
    );
    assert_eq!(
        DownReason::WrongIdentity {
            expected: identity(),
            got: PeiIdentity::Ssi(Ssi::new(7).unwrap())
        }
        .to_string(),
        "radio reports identity 7, configured is 204-1-2040123"
    );
}

/// Lines a radio may send, good and bad, for the property tests.
fn radio_line() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop_oneof![
        Just(&b"\r\nOK\r\n"[..]),
        Just(&b"\r\nERROR\r\n"[..]),
        Just(&b"\r\n+CME ERROR: 3\r\n"[..]),
        Just(INCOMING.as_bytes()),
        Just(&b"\r\n+CTCC: 1,1,1,0,0,1,1\r\n"[..]),
        Just(&b"\r\n+CTXG: 1,0,0,0\r\n"[..]),
        Just(&b"\r\n+CTXG: 2,1,0,0\r\n"[..]),
        Just(&b"\r\n+CTXG: 2,2,0,0\r\n"[..]),
        Just(&b"\r\n+CTXG: 2,3,0,0,1,02040000102040777\r\n"[..]),
        Just(&b"\r\n+CDTXC: 2,0\r\n"[..]),
        Just(&b"\r\n+CTCR: 1,9\r\n"[..]),
        Just(&b"\r\n+CTCR: 2,13\r\n"[..]),
        Just(&b"\r\n+CTXI: 1,0,0\r\n"[..]),
        Just(&b"\r\n+CTXW: 2,0\r\n"[..]),
        Just(&b"\r\n+CNUMF: 0,02040000102040123\r\n"[..]),
        Just(&b"\r\n+CSQ: 20,99\r\n"[..]),
        Just(&b"\r\n+CTSDSR: 12,2040999,0,2040123,0,84\r\n0A003814C2494BB1588810\r\n"[..]),
        Just(&b"AT+CSQ?\r"[..]),
        Just(&b"\r\n+CTXG: x\r\n"[..]),
    ]
    .prop_map(<[u8]>::to_vec);
    prop_oneof![
        4 => fixed,
        1 => proptest::collection::vec(any::<u8>(), 0..80),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Bytes(Vec<u8>),
    Key,
    Unkey,
    Wait(u64),
    LinkDown,
    LinkUp,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => radio_line().prop_map(Step::Bytes),
        2 => Just(Step::Key),
        2 => Just(Step::Unkey),
        2 => (0u64..8_000).prop_map(Step::Wait),
        1 => Just(Step::LinkDown),
        1 => Just(Step::LinkUp),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the radio sends and the engine asks, the session never panics, its timers
    /// always move forward, and it never holds more than one command in flight.
    #[test]
    fn any_input_keeps_the_session_sound(steps in proptest::collection::vec(step(), 0..60)) {
        let mut rig = Rig::ready();
        for s in steps {
            match s {
                Step::Bytes(b) => rig.feed_bytes(&b),
                Step::Key => rig.key(),
                Step::Unkey => rig.unkey(),
                Step::Wait(ms) => rig.advance(Duration::from_millis(ms)),
                Step::LinkDown => rig.down(),
                Step::LinkUp => rig.up(),
            }
            prop_assert!(rig.radio.in_flight.is_some() || rig.radio.queue.is_empty()
                || !matches!(rig.radio.status().state, LinkState::Initialising | LinkState::Ready));
            prop_assert!(rig.radio.queue.len() <= 16);
        }
        // However it ended, after an unkey nothing is wanted and no keying command is left
        // to go out.
        rig.unkey();
        prop_assert!(!rig.radio.status().transmitting);
        prop_assert!(rig.radio.queue.iter().all(|op| !op.is_keying()));
    }
}

// ---- outgoing short data -----------------------------------------------------------------

#[test]
fn status_to_an_own_network_unit_is_addressed_by_ssi() {
    let mut rig = Rig::ready();
    rig.radio
        .send_status(rig.now, unit(2_040_777), Status::new(0x8002))
        .unwrap();
    rig.drain();
    // One command at a time: the service first, the message once it is accepted.
    assert_eq!(rig.sent(), ["AT+CTSDS=13,0\r"]);
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CMGS=2040777,16\r8002\u{1a}"]);
    // Some radios print the prompt and a +CMGS result before the final OK.
    rig.feed("\r\n> \r\n+CMGS: 0,4,1\r\n\r\nOK\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::SdsSent {
            to: unit(2_040_777),
            result: Ok(())
        }]
    );
}

#[test]
fn text_to_a_visiting_unit_uses_its_full_tsi() {
    let mut rig = Rig::ready();
    let belgian = Tsi::from_parts(206, 1, 2_069_001).unwrap();
    rig.radio.send_text(rig.now, belgian, "OK patch").unwrap();
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDS=12,1\r"]);
    rig.ok();
    // Simple text messaging (0x02), fill bit, Latin-1 (1), then the text.
    let expected = format!(
        "AT+CMGS=02060000102069001,80\r0201{}\u{1a}",
        "OK patch"
            .bytes()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    );
    assert_eq!(rig.sent(), [expected]);
    rig.ok();
    assert_eq!(
        rig.events(),
        [RadioOutput::SdsSent {
            to: belgian,
            result: Ok(())
        }]
    );
}

#[test]
fn tracked_text_goes_as_sds_tl_asking_for_a_receipt_report() {
    let mut rig = Rig::ready();
    rig.radio
        .send_tracked_text(rig.now, unit(2_040_777), "OK", 0x2a)
        .unwrap();
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDS=12,0\r"]);
    rig.ok();
    // 0x82 text messaging; SDS-TRANSFER, report on receipt (0x04); reference 0x2A; Latin-1.
    assert_eq!(rig.sent(), ["AT+CMGS=2040777,48\r82042A014F4B\u{1a}"]);
    rig.ok();
    assert_eq!(
        rig.events(),
        [RadioOutput::SdsSent {
            to: unit(2_040_777),
            result: Ok(())
        }]
    );
    let longest = "y".repeat(MAX_TEXT_LEN);
    rig.radio
        .send_tracked_text(rig.now, unit(1), &longest, 1)
        .unwrap();
    assert_eq!(
        rig.radio
            .send_tracked_text(rig.now, unit(1), &"y".repeat(MAX_TEXT_LEN + 1), 1),
        Err(SendError::TooLong(MAX_TEXT_LEN + 1))
    );
}

#[test]
fn sds_report_is_a_delivery_report() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,32\r\n8210002A\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::DeliveryReport {
            from: Some(unit(2_040_999)),
            reference: 0x2a,
            status: DeliveryStatus::RECEIVED,
            via: ReportPdu::Report,
        }]
    );
    // A failure (0x4B, destination not registered), with the acknowledgement-required bit.
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,32\r\n82184B07\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::DeliveryReport {
            from: Some(unit(2_040_999)),
            reference: 7,
            status: DeliveryStatus::new(0x4b),
            via: ReportPdu::Report,
        }]
    );
}

#[test]
fn sds_ack_is_a_delivery_report() {
    let mut rig = Rig::ready();
    rig.feed("\r\n+CTSDSR: 12,2040999,0,2040123,0,32\r\n8220002A\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::DeliveryReport {
            from: Some(unit(2_040_999)),
            reference: 0x2a,
            status: DeliveryStatus::RECEIVED,
            via: ReportPdu::Ack,
        }]
    );
}

#[test]
fn short_report_status_is_a_delivery_report_not_a_status() {
    let mut rig = Rig::ready();
    // 0x7E2A: 011111, type 2 (message received), reference 0x2A.
    rig.feed("\r\n+CTSDSR: 13,2040999,0,2040123,0,16\r\n7E2A\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::DeliveryReport {
            from: Some(unit(2_040_999)),
            reference: 0x2a,
            status: DeliveryStatus::RECEIVED,
            via: ReportPdu::ShortReport,
        }]
    );
    // Type 1: destination memory full.
    rig.feed("\r\n+CTSDSR: 13,2040999,0,2040123,0,16\r\n7D05\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::DeliveryReport {
            from: Some(unit(2_040_999)),
            reference: 5,
            status: DeliveryStatus::MEMORY_FULL_DISCARDED,
            via: ReportPdu::ShortReport,
        }]
    );
}

#[test]
fn a_refused_service_selection_withdraws_its_message() {
    let mut rig = Rig::ready();
    rig.radio
        .send_status(rig.now, unit(2_040_777), Status::new(0x8003))
        .unwrap();
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDS=13,0\r"]);
    rig.feed("\r\n+CME ERROR: 3\r\n");
    assert_eq!(
        rig.sent(),
        Vec::<String>::new(),
        "no AT+CMGS after a refusal"
    );
    assert_eq!(
        rig.events(),
        [RadioOutput::SdsSent {
            to: unit(2_040_777),
            result: Err(CommandError::Cme(CmeError(3)))
        }]
    );
    assert!(rig.radio.queue.is_empty());
}

#[test]
fn sds_is_refused_before_the_radio_is_ready_and_bad_texts_are_refused() {
    let mut rig = Rig::new();
    assert_eq!(
        rig.radio.send_status(rig.now, unit(1), Status::new(0x8002)),
        Err(SendError::NotReady)
    );
    let mut rig = Rig::ready();
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    assert_eq!(
        rig.radio.send_text(rig.now, unit(1), &long),
        Err(SendError::TooLong(MAX_TEXT_LEN + 1))
    );
    assert_eq!(
        rig.radio.send_text(rig.now, unit(1), "patch \u{2713}"),
        Err(SendError::NotLatin1)
    );
    // The longest text fits the session's command buffer.
    let longest = "y".repeat(MAX_TEXT_LEN);
    rig.radio.send_text(rig.now, unit(1), &longest).unwrap();
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDS=12,0\r"]);
    rig.ok();
    let sent = rig.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].ends_with('\u{1a}'), "{sent:?}");
    assert!(sent[0].len() > 2 * MAX_TEXT_LEN, "{sent:?}");
}

#[test]
fn a_reply_waits_behind_call_control() {
    let mut rig = Rig::ready();
    rig.key();
    rig.radio
        .send_status(rig.now, unit(2_040_777), Status::new(0x8002))
        .unwrap();
    rig.drain();
    assert_eq!(rig.sent(), [GROUP_CALL]);
    rig.ok();
    assert_eq!(rig.sent(), [DIAL]);
}

#[test]
fn call_control_overtakes_a_queued_reply() {
    let mut rig = Rig::ready();
    rig.radio
        .send_status(rig.now, unit(2_040_777), Status::new(0x8002))
        .unwrap();
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTSDS=13,0\r"]);
    rig.key();
    rig.ok();
    // The set-up goes before the message waiting behind the service selection.
    assert_eq!(rig.sent(), [GROUP_CALL]);
    rig.ok();
    assert_eq!(rig.sent(), [DIAL]);
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CMGS=2040777,16\r8002\u{1a}"]);
}

#[test]
fn a_radio_switched_off_by_the_board_mid_transmission_is_down_then_initialised_afresh() {
    let mut rig = Rig::ready();
    rig.key_granted(1);
    rig.radio.power_lost(rig.now);
    rig.drain();
    assert_eq!(
        rig.events(),
        [
            RadioOutput::Down {
                reason: DownReason::Rebooted {
                    evidence: "its power was switched off by the interface board"
                }
            },
            RadioOutput::TxLost {
                reason: TxFailure::RadioDown
            }
        ]
    );
    assert!(
        !rig.radio.cease_pending(),
        "a radio without power owes no cease"
    );
    rig.advance(secs(1));
    // Initialised afresh once back, with no cease for a call the power cut ended.
    assert_eq!(rig.sent(), ["AT\r"]);
    rig.ok();
    assert!(!rig.sent().contains(&"AT+CUTXC=1\r".to_string()));
}

#[test]
fn a_radio_kept_on_the_air_past_the_continuous_cap_is_ceased_and_refused_for_the_forced_gap() {
    let mut config = RadioSessionConfig::new(identity(), group());
    config.profile = classic();
    config.air_time = crate::engine::radio_tx::AirTimeLimit {
        max_continuous: secs(10),
        forced_gap: secs(2),
    };
    let mut rig = Rig::with(config);
    rig.init();
    let start = rig.now;
    rig.key_granted(1);
    // Overs chained without a real break (released and keyed again within the gap) are one
    // stretch: the engine never let go for 2 s.
    rig.unkey();
    rig.ok();
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"]);
    rig.advance(Duration::from_millis(500));
    rig.radio.key(rig.now, group(), prio(0), false);
    rig.drain();
    assert_eq!(rig.sent(), ["AT+CTXD=1,1\r"]);
    rig.ok();
    rig.feed("\r\n+CTXG: 1,0,0,0\r\n");
    rig.events();
    rig.advance(start + secs(10) - Duration::from_millis(1) - rig.now);
    assert!(rig.sent().is_empty(), "within the cap");
    rig.advance(Duration::from_millis(1));
    assert_eq!(rig.sent(), ["AT+CUTXC=1\r"], "ceased at the cap");
    assert_eq!(
        rig.events(),
        [RadioOutput::TxLost {
            reason: TxFailure::AirTimeCap
        }]
    );
    rig.ok();
    // Refused for the forced gap, then keyed as usual.
    rig.advance(secs(1));
    rig.radio.key(rig.now, group(), prio(0), false);
    rig.drain();
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::AirTimeCap
        }]
    );
    let demands = |sent: Vec<String>| {
        sent.into_iter()
            .filter(|s| s.starts_with("AT+CTXD"))
            .count()
    };
    assert_eq!(demands(rig.sent()), 0);
    rig.advance(secs(1));
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    rig.sent();
    rig.radio.key(rig.now, group(), prio(0), false);
    rig.drain();
    assert_eq!(demands(rig.sent()), 1, "keyed again after the gap");
}

/// A rig with the standard profile (and one vendor command), taken up to the registration
/// query; `creg` is the radio's answer line to it.
fn standard_rig_until_registration(creg: &str) -> Rig {
    let mut config = RadioSessionConfig::new(identity(), group());
    config.profile.extra = vec!["AT+MCDNTF=1".to_owned()];
    let mut rig = Rig::with(config);
    rig.up();
    for _ in 0..4 {
        rig.ok();
    }
    // The vendor command is refused: reported, and the script goes on.
    rig.feed("\r\n+CME ERROR: 4\r\n");
    for _ in 0..3 {
        rig.ok();
    }
    rig.feed("\r\n+GMI: Sepura plc\r\n\r\nOK\r\n");
    rig.feed("\r\n+GMM: SRG3900, mobile\r\n\r\nOK\r\n");
    rig.feed("\r\n+GMR: 9.2.1\r\n\r\nOK\r\n");
    rig.feed(&format!("\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n\r\nOK\r\n"));
    rig.feed("\r\n+CNUMS: 1,02040000102040551\r\n1,02040000102040777\r\n0,02040000102040123\r\n\r\nOK\r\n");
    rig.feed(&format!("\r\n{creg}\r\n\r\nOK\r\n"));
    rig
}

#[test]
fn the_standard_profile_asks_maker_groups_and_registration() {
    let mut rig = standard_rig_until_registration("+CREG: 1,17,2041");
    rig.ok();
    assert_eq!(
        rig.sent(),
        [
            "AT\r",
            "ATE0\r",
            "AT+CMEE=1\r",
            "AT+CTOM=0\r",
            "AT+MCDNTF=1\r",
            "AT+CTSP=2,0,0\r",
            "AT+CTSP=1,2,20\r",
            "AT+CTSP=1,3,10\r",
            "AT+GMI?\r",
            "AT+GMM?\r",
            "AT+GMR?\r",
            "AT+CNUMF?\r",
            "AT+CNUMS?\r",
            "AT+CREG?\r",
            SELECT_GROUP,
            "AT+CSQ?\r",
        ]
    );
    assert_eq!(
        rig.events(),
        [
            RadioOutput::Fault(RadioFault::Refused {
                command: "a vendor command of the profile",
                error: CommandError::Cme(CmeError(4)),
            }),
            RadioOutput::Ready {
                identity: identity()
            },
        ]
    );
    let status = rig.radio.status();
    assert_eq!(
        status.registration,
        Some(borderlink_protocol::pei::RegistrationState::RegisteredHome)
    );
    assert!(status.usable());
    assert_eq!(
        rig.radio.identification(),
        &RadioIdentification {
            manufacturer: Some("Sepura plc".into()),
            model: Some("SRG3900, mobile".into()),
            revision: Some("9.2.1".into()),
            // Only the group entries, the continuation lines included.
            groups: vec![group(), unit(2_040_777)],
        }
    );
    // Registration is asked again with every signal query.
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    rig.advance(secs(10));
    assert_eq!(rig.sent(), ["AT+CSQ?\r"]);
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    assert_eq!(rig.sent(), ["AT+CREG?\r"]);
}

/// A radio that answers its PEI but is not registered on its network cannot carry calls: it
/// is down for the engine, refuses keying, and comes up when it registers (unsolicited
/// `+CREG`); losing the registration mid-over loses the grant and ceases.
#[test]
fn a_radio_not_registered_on_its_network_is_down_until_it_registers() {
    let mut rig = standard_rig_until_registration("+CREG: 2");
    rig.ok();
    let reason = DownReason::NotRegistered {
        state: borderlink_protocol::pei::RegistrationState::Searching,
    };
    assert_eq!(rig.radio.status().state, LinkState::Ready);
    assert!(!rig.radio.status().usable());
    assert!(rig.events().contains(&RadioOutput::Down {
        reason: reason.clone()
    }));
    rig.key();
    assert_eq!(
        rig.events(),
        [RadioOutput::TxRefused {
            reason: TxFailure::NotReady
        }]
    );
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    rig.sent.clear();
    rig.events.clear();

    rig.feed("\r\n+CREG: 1,17,2041\r\n");
    assert_eq!(
        rig.events(),
        [RadioOutput::Ready {
            identity: identity()
        }]
    );
    rig.feed("\r\n+CREG: 5,17,2041\r\n");
    assert!(rig.events().is_empty(), "still registered: nothing to say");

    rig.key_granted(4);
    rig.sent.clear();
    rig.events.clear();
    rig.feed("\r\n+CREG: 3\r\n");
    let events = rig.events();
    assert!(events.contains(&RadioOutput::TxLost {
        reason: TxFailure::RadioDown
    }));
    assert!(events.contains(&RadioOutput::Down {
        reason: DownReason::NotRegistered {
            state: borderlink_protocol::pei::RegistrationState::Denied,
        }
    }));
    assert_eq!(rig.sent(), ["AT+CUTXC=4\r"]);
    assert!(!rig.radio.status().transmitting);
    // The engine hears it down exactly once.
    rig.feed("\r\n+CREG: 0\r\n");
    assert!(rig.events().is_empty());
}

#[test]
fn a_refused_registration_query_is_not_asked_again_and_counts_as_registered() {
    let mut config = RadioSessionConfig::new(identity(), group());
    config.profile = PeiProfile {
        registration: true,
        ..PeiProfile::MINIMAL
    };
    let mut rig = Rig::with(config);
    rig.up();
    rig.ok();
    rig.ok();
    rig.ok();
    rig.feed(&format!("\r\n+CNUMF: 0,{IDENTITY_DIGITS}\r\n\r\nOK\r\n"));
    rig.feed("\r\nERROR\r\n");
    rig.ok();
    assert_eq!(
        rig.sent(),
        [
            "AT\r",
            "ATE0\r",
            "AT+CTSP=2,0,0\r",
            "AT+CNUMF?\r",
            "AT+CREG?\r",
            SELECT_GROUP,
            "AT+CSQ?\r"
        ]
    );
    assert!(rig.events().contains(&RadioOutput::Ready {
        identity: identity()
    }));
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    rig.advance(secs(10));
    rig.feed("\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    assert_eq!(rig.sent(), ["AT+CSQ?\r"], "AT+CREG? is not asked again");
    assert!(rig.radio.status().usable());
}

/// The radio reports whether a call is end-to-end encrypted in `+CTICN`, `+CTCC` and `+CTXG`;
/// the status shows it for the call the radio is in, and nothing once the call is gone.
#[test]
fn the_status_shows_the_encryption_the_radio_reports_for_its_call() {
    use borderlink_protocol::pei::Encryption;
    let mut rig = Rig::ready();
    assert_eq!(rig.radio.status().call_encryption, None);
    rig.feed(INCOMING);
    assert_eq!(rig.radio.status().call_encryption, Some(Encryption::Clear));
    rig.feed("\r\n+CTXG: 2,3,0,1,1,02040000102040999\r\n");
    assert_eq!(
        rig.radio.status().call_encryption,
        Some(Encryption::EndToEnd)
    );
    rig.feed("\r\n+CTCR: 2,1\r\n");
    assert_eq!(rig.radio.status().call_encryption, None);
    // A grant on a call never announced (late entry) starts it with that grant's flag.
    rig.feed("\r\n+CTXG: 7,3,0,1\r\n");
    assert_eq!(
        rig.radio.status().call_encryption,
        Some(Encryption::EndToEnd)
    );
}
