//! Board session rules in virtual time, against a scripted board: the test reads every frame
//! the session writes and answers with frames it builds itself.

use borderlink_protocol::link::{
    ACK_TIMEOUT, AckResult, BOARD_SILENCE_LIMIT, BoardInfo, ERASE_ACK_TIMEOUT, Fault,
    FirmwareVersion, FrameDecoder, FrameRepr, HEARTBEAT_INTERVAL, MAX_FRAME_LEN, MAX_RETRIES,
    MAX_WIRE_LEN, Message, NackReason, Port, PortMask, ResetCause, Slot, Telemetry, VERSION,
    WINDOW, encode, frame_crc,
};
use borderlink_protocol::time::{Duration, Instant};

use super::*;

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn port(n: u8) -> Port {
    Port::new(n).unwrap()
}

const INFO: BoardInfo = BoardInfo {
    firmware: FirmwareVersion::new(1, 0, 3),
    slot: Slot::A,
    ports: 4,
    max_chunk: 256,
    window: 4,
    ptt_active_low: PortMask::EMPTY,
    cor_active_low: PortMask::EMPTY,
};

/// A host frame as the scripted board read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    seq: u16,
    message: Message<'static>,
    /// The bytes as written, delimiter included (and the 0x00 prefix, if any).
    bytes: Vec<u8>,
}

fn host_message(message: Message<'_>) -> Message<'static> {
    match message {
        Message::Hello => Message::Hello,
        Message::Heartbeat => Message::Heartbeat,
        Message::SetPtt { port, keyed } => Message::SetPtt { port, keyed },
        Message::SetPower { port, on } => Message::SetPower { port, on },
        Message::PowerCycle { port, off_ms } => Message::PowerCycle { port, off_ms },
        Message::PeiKeyed { port, keyed } => Message::PeiKeyed { port, keyed },
        Message::GetTelemetry => Message::GetTelemetry,
        Message::UpdateBegin {
            size,
            crc32,
            version,
        } => Message::UpdateBegin {
            size,
            crc32,
            version,
        },
        Message::UpdateBeginSecure {
            size,
            crc32,
            version,
            security_version,
            allow_rollback,
        } => Message::UpdateBeginSecure {
            size,
            crc32,
            version,
            security_version,
            allow_rollback,
        },
        other => panic!("the session sent {other:?}"),
    }
}

/// A session and the scripted board facing it.
struct Rig {
    host: BoardSession,
    now: Instant,
    board_seq: u16,
    /// The seq of the last Hello the session wrote.
    last_hello: Option<u16>,
}

impl Rig {
    fn new() -> Self {
        Rig {
            host: BoardSession::new(ms(0), SessionConfig::default()),
            now: ms(0),
            board_seq: 0,
            last_hello: None,
        }
    }

    /// Everything the session writes now, one entry per frame.
    fn sent(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        let mut guard = 0;
        while let Some(bytes) = self.host.poll_transmit(self.now) {
            guard += 1;
            assert!(guard < 100, "poll_transmit never returns None");
            let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
            let mut rest = &bytes[..];
            let mut frames = 0;
            while !rest.is_empty() {
                let (used, outcome) = decoder.push(rest);
                rest = &rest[used..];
                if let Some(result) = outcome {
                    let frame = result.expect("the session writes valid frames");
                    frames += 1;
                    if frame.message == Message::Hello {
                        self.last_hello = Some(frame.seq);
                    }
                    out.push(Sent {
                        seq: frame.seq,
                        message: host_message(frame.message),
                        bytes: bytes.clone(),
                    });
                }
            }
            assert_eq!(frames, 1, "one frame per transmit");
        }
        out
    }

    /// Messages written now, heartbeats left out.
    fn commands(&mut self) -> Vec<Message<'static>> {
        self.sent()
            .into_iter()
            .map(|s| s.message)
            .filter(|m| *m != Message::Heartbeat)
            .collect()
    }

    fn board(&mut self, message: Message<'_>) {
        let mut wire = [0u8; MAX_WIRE_LEN];
        let n = encode(
            &FrameRepr {
                seq: self.board_seq,
                message,
            },
            &mut wire,
        )
        .unwrap();
        self.board_seq = self.board_seq.wrapping_add(1);
        self.host.handle_bytes(self.now, &wire[..n]);
    }

    fn ack(&mut self, seq: u16, result: AckResult) {
        self.board(Message::Ack { seq, result });
    }

    fn events(&mut self) -> Vec<BoardEvent> {
        std::iter::from_fn(|| self.host.poll_event()).collect()
    }

    /// Events without the periodic Status.
    fn events_but_status(&mut self) -> Vec<BoardEvent> {
        self.events()
            .into_iter()
            .filter(|e| !matches!(e, BoardEvent::Status { .. }))
            .collect()
    }

    /// Moves time to `to`, running the session's timers on the way; the board stays silent.
    fn advance(&mut self, to: Instant) -> Vec<Sent> {
        let mut sent = Vec::new();
        loop {
            sent.extend(self.sent());
            match self.host.poll_timeout() {
                Some(t) if t <= to => {
                    self.now = self.now.max(t);
                    self.host.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = to;
        self.host.handle_timeout(to);
        sent.extend(self.sent());
        sent
    }

    /// Runs the handshake and acks the restated PTT releases; returns with the link up.
    fn up(&mut self) {
        self.sent();
        let seq = self.last_hello.expect("a Hello");
        self.board(Message::BoardInfo(INFO));
        self.ack(seq, AckResult::Ok);
        assert_eq!(self.events(), [BoardEvent::Up { info: INFO }]);
        self.ack_all();
        self.events();
    }

    /// Acks every command written now with Ok; returns them.
    fn ack_all(&mut self) -> Vec<Sent> {
        let mut all = Vec::new();
        loop {
            let sent: Vec<Sent> = self
                .sent()
                .into_iter()
                .filter(|s| s.message != Message::Heartbeat)
                .collect();
            if sent.is_empty() {
                return all;
            }
            for s in &sent {
                self.ack(s.seq, AckResult::Ok);
            }
            all.extend(sent);
        }
    }

    fn status(&mut self, ptt: &[u8], cor: &[u8]) {
        let mask = |l: &[u8]| l.iter().map(|&n| port(n)).collect::<PortMask>();
        self.board(Message::Status {
            ptt: mask(ptt),
            cor: mask(cor),
            power: PortMask::ALL,
        });
    }
}

fn set_ptt(n: u8, keyed: bool) -> Message<'static> {
    Message::SetPtt {
        port: port(n),
        keyed,
    }
}

#[test]
fn opens_with_a_lone_zero_and_hello_then_heartbeats() {
    let mut r = Rig::new();
    let sent = r.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, Message::Hello);
    assert_eq!(
        sent[0].bytes[0], 0,
        "a lone 0x00 ends any half-frame on the board"
    );
    assert_eq!(sent[0].seq, 0);
    assert!(r.advance(ms(99)).is_empty());
    let sent = r.advance(ms(100));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, Message::Heartbeat);
    assert_ne!(
        sent[0].bytes[0], 0,
        "only the first frame of a handshake is prefixed"
    );
    assert_eq!(sent[0].seq, 1, "heartbeats take sequence numbers too");
}

#[test]
fn handshake_comes_up_and_restates_every_ptt_released() {
    let mut r = Rig::new();
    let hello = r.sent();
    r.board(Message::BoardInfo(INFO));
    r.ack(hello[0].seq, AckResult::Ok);
    assert!(r.host.is_up());
    assert_eq!(r.events(), [BoardEvent::Up { info: INFO }]);
    assert_eq!(r.host.board_info(), Some(INFO));
    let mut restated = r.commands();
    restated.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(
        restated,
        [
            set_ptt(0, false),
            set_ptt(1, false),
            set_ptt(2, false),
            set_ptt(3, false)
        ]
    );
}

#[test]
fn a_hello_acked_without_board_info_is_asked_again() {
    let mut r = Rig::new();
    let hello = r.sent();
    r.ack(hello[0].seq, AckResult::Ok);
    assert!(!r.host.is_up());
    let again = r.sent();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message, Message::Hello);
    assert_ne!(again[0].seq, hello[0].seq, "a new handshake has a new seq");
}

#[test]
fn an_unanswered_hello_is_retried_with_the_same_bytes_then_started_afresh() {
    let mut r = Rig::new();
    let first = r.sent().remove(0);
    let mut retries = Vec::new();
    for i in 1..=u64::from(MAX_RETRIES) {
        let sent = r.advance(ms(250 * i));
        retries.extend(sent.into_iter().filter(|s| s.message == Message::Hello));
    }
    assert_eq!(retries.len(), usize::from(MAX_RETRIES));
    for retry in &retries {
        assert_eq!(retry.seq, first.seq);
        assert_eq!(retry.bytes[..], first.bytes[1..], "same bytes, no prefix");
    }
    // ACK_TIMEOUT × (1 + MAX_RETRIES): no board. Knock again, afresh.
    let sent = r.advance(ms(1_000));
    let hello: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.message == Message::Hello)
        .collect();
    assert_eq!(hello.len(), 1);
    assert_ne!(hello[0].seq, first.seq);
    assert_eq!(hello[0].bytes[0], 0);
    assert!(r.events().is_empty(), "never up, so never down");
    assert_eq!(r.host.stats().handshakes, 2);
}

#[test]
fn ptt_requested_before_up_is_sent_only_after_the_handshake() {
    let mut r = Rig::new();
    r.host.set_ptt(ms(0), port(1), true);
    let sent = r.sent();
    assert_eq!(sent.len(), 1, "only the Hello: {sent:?}");
    r.board(Message::BoardInfo(INFO));
    r.ack(sent[0].seq, AckResult::Ok);
    let restated = r.commands();
    assert_eq!(restated.len(), 4);
    assert_eq!(restated[3], set_ptt(1, true), "releases go first");
    assert!(!restated[..3].contains(&set_ptt(1, true)));
}

#[test]
fn key_is_confirmed_by_its_ack() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(2), true);
    let sent = r.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, set_ptt(2, true));
    assert!(r.events().is_empty(), "nothing confirmed before the ack");
    r.ack(sent[0].seq, AckResult::Ok);
    assert_eq!(
        r.events(),
        [BoardEvent::PttConfirmed {
            port: port(2),
            on: true
        }]
    );
    assert_eq!(r.host.board_ptt(port(2)), Some(true));
    // Asking again for what is already keyed sends nothing.
    r.host.set_ptt(r.now, port(2), true);
    assert!(r.commands().is_empty());
}

#[test]
fn a_refused_key_clears_the_request() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    let sent = r.sent();
    r.ack(sent[0].seq, AckResult::Nack(NackReason::TxCapLockout));
    assert_eq!(
        r.events(),
        [BoardEvent::PttRefused {
            port: port(0),
            on: true,
            reason: NackReason::TxCapLockout
        }]
    );
    assert!(!r.host.ptt_requested(port(0)));
}

#[test]
fn at_most_a_window_of_commands_is_unacknowledged() {
    let mut r = Rig::new();
    r.up();
    for n in 0..4 {
        r.host.set_ptt(r.now, port(n), true);
    }
    r.host.set_power(r.now, port(0), false);
    let sent = r.commands();
    assert_eq!(sent.len(), WINDOW);
    assert!(!sent.contains(&Message::SetPower {
        port: port(0),
        on: false
    }));
    let first = r
        .sent()
        .into_iter()
        .find(|s| s.message != Message::Heartbeat);
    assert!(first.is_none(), "the window is full");
    // One ack frees one slot.
    let seq = r.host.stats().frames_sent as u16 - 1;
    r.ack(seq, AckResult::Ok);
    assert_eq!(
        r.commands(),
        [Message::SetPower {
            port: port(0),
            on: false
        }]
    );
}

#[test]
fn an_unacknowledged_command_is_resent_with_the_same_bytes_then_the_link_goes_down() {
    let mut r = Rig::new();
    r.up();
    let start = r.now;
    r.host.set_power(r.now, port(3), true);
    let first = r.sent().remove(0);
    assert_eq!(
        first.message,
        Message::SetPower {
            port: port(3),
            on: true
        }
    );
    let mut resent = 0;
    let mut t = start;
    for _ in 0..MAX_RETRIES {
        t += ACK_TIMEOUT;
        // Keep the board audible so only the retries are at stake.
        r.advance(t - Duration::from_millis(1));
        r.status(&[], &[]);
        for s in r.advance(t) {
            if s.message != Message::Heartbeat {
                assert_eq!(s.bytes, first.bytes, "same seq, same bytes");
                resent += 1;
            }
        }
    }
    assert_eq!(resent, MAX_RETRIES);
    r.events();
    r.advance(t + ACK_TIMEOUT - Duration::from_millis(1));
    r.status(&[], &[]);
    let sent = r.advance(t + ACK_TIMEOUT);
    assert_eq!(
        r.events_but_status(),
        [BoardEvent::Down {
            reason: DownReason::NoAck {
                command: "SetPower",
                seq: first.seq
            }
        }]
    );
    assert!(!r.host.is_up());
    assert!(
        sent.iter()
            .any(|s| s.message == Message::Hello && s.bytes[0] == 0)
    );
    // The wanted power state is restated once up again.
    r.up_with_restate(&[Message::SetPower {
        port: port(3),
        on: true,
    }]);
}

impl Rig {
    /// Like [`Rig::up`], and checks that `extra` commands are among the restated ones.
    fn up_with_restate(&mut self, extra: &[Message<'static>]) {
        self.sent();
        let seq = self.last_hello.expect("a Hello");
        self.board(Message::BoardInfo(INFO));
        self.ack(seq, AckResult::Ok);
        let restated: Vec<Message<'static>> =
            self.ack_all().into_iter().map(|s| s.message).collect();
        for m in extra {
            assert!(restated.contains(m), "{m:?} not restated in {restated:?}");
        }
        self.events();
    }
}

#[test]
fn board_silence_takes_the_link_down_and_closes_cor() {
    let mut r = Rig::new();
    r.up();
    r.status(&[], &[1]);
    assert_eq!(
        r.events_but_status(),
        [BoardEvent::Cor {
            port: port(1),
            active: true
        }]
    );
    let heard = r.now;
    r.advance(heard + BOARD_SILENCE_LIMIT - Duration::from_millis(1));
    assert!(r.host.is_up());
    let sent = r.advance(heard + BOARD_SILENCE_LIMIT);
    assert_eq!(
        r.events(),
        [
            BoardEvent::Down {
                reason: DownReason::BoardSilent
            },
            BoardEvent::Cor {
                port: port(1),
                active: false
            }
        ]
    );
    assert!(sent.iter().any(|s| s.message == Message::Hello));
    assert_eq!(r.host.stats().link_downs, 1);
}

#[test]
fn no_session_mid_session_means_the_board_reset_so_handshake_and_restate() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    let key = r.sent().remove(0);
    r.ack(key.seq, AckResult::Ok);
    r.events();
    r.host.set_power(r.now, port(2), false);
    let power = r.sent().remove(0);
    r.ack(power.seq, AckResult::Nack(NackReason::NoSession));
    assert_eq!(
        r.events(),
        [BoardEvent::Down {
            reason: DownReason::BoardReset {
                command: "SetPower",
                seq: power.seq
            }
        }]
    );
    // The key is forgotten with the link (the engine asks again if its over is live).
    r.up_with_restate(&[
        set_ptt(0, false),
        set_ptt(1, false),
        Message::SetPower {
            port: port(2),
            on: false,
        },
    ]);
}

#[test]
fn a_release_supersedes_an_unacknowledged_key_which_is_never_resent() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(1), true);
    let key = r.sent().remove(0);
    r.host.set_ptt(r.now, port(1), false);
    let release = r.sent().remove(0);
    assert_eq!(release.message, set_ptt(1, false));
    // The key's timeout passes: only the release may be resent, never the key.
    let start = r.now;
    r.status(&[], &[]);
    let later = r.advance(start + ACK_TIMEOUT);
    assert!(later.iter().all(|s| s.message != set_ptt(1, true)));
    assert!(later.iter().any(|s| s.bytes == release.bytes));
    // A late ack of the key is ignored and counted.
    r.ack(key.seq, AckResult::Ok);
    assert_eq!(r.host.stats().unknown_acks, 1);
    assert!(r.events_but_status().is_empty());
}

#[test]
fn a_release_goes_ahead_of_queued_commands() {
    let mut r = Rig::new();
    r.up();
    for n in 0..4 {
        r.host.set_power(r.now, port(n), true);
    }
    r.host.set_power(r.now, port(0), false);
    r.host.set_ptt(r.now, port(3), false);
    let sent = r.commands();
    assert_eq!(sent[0], set_ptt(3, false));
}

#[test]
fn status_showing_an_unwanted_key_gets_a_release() {
    let mut r = Rig::new();
    r.up();
    r.status(&[2], &[]);
    assert_eq!(r.commands(), [set_ptt(2, false)]);
    // Not repeated while that release is unanswered.
    r.status(&[2], &[]);
    assert!(r.commands().is_empty());
}

#[test]
fn the_board_dropping_a_key_is_reported_and_the_request_cleared() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    let key = r.sent().remove(0);
    // A Status from before the key was carried out changes nothing.
    r.status(&[], &[]);
    r.ack(key.seq, AckResult::Ok);
    r.status(&[0], &[]);
    r.events();
    r.board(Message::Fault(Fault::TxCapReached { port: port(0) }));
    assert_eq!(
        r.events(),
        [
            BoardEvent::Fault {
                fault: Fault::TxCapReached { port: port(0) }
            },
            BoardEvent::PttDropped { port: port(0) }
        ]
    );
    assert!(!r.host.ptt_requested(port(0)));
    // The release that ends the board's lockout.
    assert_eq!(r.commands(), [set_ptt(0, false)]);
}

#[test]
fn host_silence_reported_by_the_board_takes_the_link_down() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(3), true);
    let key = r.sent().remove(0);
    r.ack(key.seq, AckResult::Ok);
    r.events();
    let dropped: PortMask = [port(3)].into_iter().collect();
    r.board(Message::Fault(Fault::HostSilence { dropped }));
    assert_eq!(
        r.events(),
        [
            BoardEvent::Fault {
                fault: Fault::HostSilence { dropped }
            },
            BoardEvent::PttDropped { port: port(3) },
            BoardEvent::Down {
                reason: DownReason::HostSilence
            }
        ]
    );
    // Back up: the dropped port is restated released.
    r.up_with_restate(&[set_ptt(3, false)]);
}

#[test]
fn a_wrong_version_board_is_reported_once_and_retried_after_a_backoff() {
    let mut r = Rig::new();
    let hello = r.sent().remove(0);
    // An old board's nack, framed in its own version 1 (before the PEI power guard).
    let nack = wrong_version_frame(1, hello.seq);
    r.host.handle_bytes(r.now, &nack);
    assert_eq!(r.events(), [BoardEvent::WrongVersion { got: 1 }]);
    assert_eq!(r.host.incompatible_version(), Some(1));
    assert_eq!(
        DownReason::WrongVersion { got: 1 }.to_string(),
        "board link: the board speaks protocol version 1, this host speaks 2"
    );
    // Nothing at all is sent while waiting: a board of another version would nack even
    // heartbeats. A PTT request is kept but not sent.
    r.host.set_ptt(r.now, port(0), true);
    assert!(r.advance(ms(999)).is_empty());
    let sent = r.advance(ms(1_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, Message::Hello);
    r.host
        .handle_bytes(r.now, &wrong_version_frame(1, sent[0].seq));
    assert!(r.events().is_empty(), "the same version is reported once");
    assert_eq!(r.host.stats().wrong_version, 2);
    assert!(!r.host.is_up());
}

/// An Ack frame with another version byte and a correct CRC, COBS-encoded.
fn wrong_version_frame(version: u8, seq: u16) -> Vec<u8> {
    let mut wire = [0u8; MAX_WIRE_LEN];
    let n = encode(
        &FrameRepr {
            seq: 0,
            message: Message::Ack {
                seq,
                result: AckResult::Nack(NackReason::UnsupportedVersion { supported: version }),
            },
        },
        &mut wire,
    )
    .unwrap();
    let mut scratch = [0u8; MAX_FRAME_LEN];
    let mut frame = cobs_decode(&wire[..n], &mut scratch).to_vec();
    assert_eq!(frame[0], VERSION);
    frame[0] = version;
    let len = frame.len();
    let crc = frame_crc(&frame[..len - 2]);
    frame[len - 2..].copy_from_slice(&crc.to_le_bytes());
    cobs_encode(&frame)
}

fn cobs_decode<'a>(wire: &[u8], out: &'a mut [u8]) -> &'a [u8] {
    let mut n = 0;
    let mut i = 0;
    while i < wire.len() && wire[i] != 0 {
        let code = usize::from(wire[i]);
        for &b in &wire[i + 1..i + code] {
            out[n] = b;
            n += 1;
        }
        i += code;
        if code < 0xff && i < wire.len() && wire[i] != 0 {
            out[n] = 0;
            n += 1;
        }
    }
    &out[..n]
}

fn cobs_encode(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut code_at = 0;
    for &b in frame {
        if b == 0 {
            out[code_at] = (out.len() - code_at) as u8;
            code_at = out.len();
            out.push(0);
        } else {
            out.push(b);
        }
    }
    out[code_at] = (out.len() - code_at) as u8;
    out.push(0);
    out
}

#[test]
fn a_refused_hello_waits_for_the_backoff() {
    let mut r = Rig::new();
    let hello = r.sent().remove(0);
    r.ack(hello.seq, AckResult::Nack(NackReason::Busy));
    assert_eq!(
        r.events(),
        [BoardEvent::Refused {
            command: "Hello",
            reason: NackReason::Busy
        }]
    );
    assert_eq!(r.host.poll_timeout(), Some(ms(1_000)));
    assert!(r.advance(ms(999)).is_empty());
    assert_eq!(r.advance(ms(1_000))[0].message, Message::Hello);
}

#[test]
fn echoed_host_frames_are_not_a_board() {
    let mut r = Rig::new();
    let hello = r.sent().remove(0);
    // A loopback plug: the session hears its own Hello. That must not count as a board.
    r.host.handle_bytes(r.now, &hello.bytes);
    assert_eq!(r.host.stats().not_from_board, 1);
    assert!(!r.host.is_up());
    // Nor keep a session alive.
    r.up();
    let heard = r.now;
    for t in (100..=500).step_by(100) {
        r.advance(heard + Duration::from_millis(t));
        r.host.handle_bytes(r.now, &hello.bytes);
    }
    assert!(!r.host.is_up());
}

#[test]
fn cor_is_reported_on_change_only_from_events_and_status() {
    let mut r = Rig::new();
    r.up();
    r.board(Message::CorChanged {
        port: port(2),
        active: true,
    });
    r.status(&[], &[2]);
    r.status(&[], &[]); // the CorChanged for the end was lost; Status tells
    r.board(Message::CorChanged {
        port: port(2),
        active: false,
    });
    assert_eq!(
        r.events_but_status(),
        [
            BoardEvent::Cor {
                port: port(2),
                active: true
            },
            BoardEvent::Cor {
                port: port(2),
                active: false
            }
        ]
    );
}

#[test]
fn telemetry_and_power_cycle_need_the_link_up() {
    let mut r = Rig::new();
    assert_eq!(
        r.host.request_telemetry(r.now),
        Err(CommandError::NotUp {
            command: "GetTelemetry"
        })
    );
    assert_eq!(
        r.host
            .power_cycle(r.now, port(0), 1_000)
            .unwrap_err()
            .to_string(),
        "board link is not up: PowerCycle not sent"
    );
    r.sent();
    r.up();
    r.host.request_telemetry(r.now).unwrap();
    r.host.power_cycle(r.now, port(0), 1_000).unwrap();
    let sent = r.sent();
    assert_eq!(sent[0].message, Message::GetTelemetry);
    let telemetry = Telemetry {
        uptime_s: 12,
        reset_cause: ResetCause::Pin,
        firmware: INFO.firmware,
        slot: INFO.slot,
        ptt_seconds: [1, 2, 3, 4],
        link_errors: 0,
    };
    r.board(Message::Telemetry(telemetry));
    r.ack(sent[0].seq, AckResult::Ok);
    r.ack(
        sent[1].seq,
        AckResult::Nack(NackReason::RateLimited { retry_after_s: 30 }),
    );
    assert_eq!(
        r.events(),
        [
            BoardEvent::Telemetry { telemetry },
            BoardEvent::PowerRefused {
                port: port(0),
                action: PowerAction::Cycle { off_ms: 1_000 },
                reason: NackReason::RateLimited { retry_after_s: 30 }
            }
        ]
    );
}

#[test]
fn hostile_bytes_are_counted_and_change_nothing() {
    let mut r = Rig::new();
    r.up();
    let mut wire = [0u8; MAX_WIRE_LEN];
    let n = encode(
        &FrameRepr {
            seq: 9,
            message: Message::Status {
                ptt: PortMask::ALL,
                cor: PortMask::ALL,
                power: PortMask::ALL,
            },
        },
        &mut wire,
    )
    .unwrap();
    let mut bad = wire[..n].to_vec();
    bad[n - 2] ^= 0x10;
    r.host.handle_bytes(r.now, &bad);
    r.host.handle_bytes(r.now, &[0x05, 0x01, 0x00, 0x00, 0x00]);
    r.host.handle_bytes(r.now, &[0xff; 600]);
    r.host.handle_bytes(r.now, &[0x00]);
    assert!(r.events().is_empty());
    assert!(
        r.commands().is_empty(),
        "a corrupted 'all keyed' triggers nothing"
    );
    let stats = r.host.stats();
    assert_eq!(stats.bad_crc, 1);
    assert!(stats.framing_errors >= 2);
}

#[test]
fn reconnect_reports_down_and_handshakes_with_a_zero_first() {
    let mut r = Rig::new();
    r.up();
    r.host.reconnect(r.now);
    assert_eq!(
        r.events(),
        [BoardEvent::Down {
            reason: DownReason::Reconnected
        }]
    );
    let sent = r.sent();
    assert_eq!(sent[0].message, Message::Hello);
    assert_eq!(sent[0].bytes[0], 0);
}

#[test]
fn poll_timeout_names_the_earliest_deadline() {
    let mut r = Rig::new();
    r.sent();
    // The Hello's ack timeout is later than the next heartbeat.
    assert_eq!(r.host.poll_timeout(), Some(ms(0) + HEARTBEAT_INTERVAL));
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    r.sent();
    assert_eq!(r.host.poll_timeout(), Some(r.now + HEARTBEAT_INTERVAL));
    assert_eq!(
        DownReason::BoardSilent.to_string(),
        "board link: no valid frame from the board for 500 ms"
    );
}

#[test]
fn release_all_releases_every_port_first() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    r.host.set_ptt(r.now, port(1), true);
    r.ack_all();
    r.events();
    r.host.release_all(r.now);
    let mut sent = r.commands();
    sent.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(
        sent,
        [
            set_ptt(0, false),
            set_ptt(1, false),
            set_ptt(2, false),
            set_ptt(3, false)
        ]
    );
    assert!(Port::ALL.iter().all(|&p| !r.host.ptt_requested(p)));
}

#[test]
fn an_erase_under_way_covers_board_silence_until_its_ack_is_due() {
    // A flash erase stops the production board's core for seconds: it sends nothing, not even
    // Status. The link must not go down (and handshake, which abandons the update) before the
    // erase's own ack deadline.
    let mut r = Rig::new();
    r.up();
    let sent = begin_update(&mut r);
    let begin_seq = sent
        .iter()
        .find(|s| matches!(s.message, Message::UpdateBeginSecure { .. }))
        .map(|s| s.seq)
        .expect("UpdateBeginSecure sent");
    let heard = r.now;
    // An ordinary command sent meanwhile goes unanswered too: it must not count against the
    // board either.
    r.host.set_power(r.now, port(2), false);
    assert!(r.sent().iter().any(|s| s.message
        == Message::SetPower {
            port: port(2),
            on: false
        }));
    // Well past the ordinary silence limit and the ordinary command's retries: still up, no
    // Hello sent.
    let sent = r.advance(heard + Duration::from_secs(4));
    assert!(r.host.is_up(), "an erase of 4 s took the link down");
    assert!(!sent.iter().any(|s| s.message == Message::Hello));
    assert_eq!(r.host.stats().link_downs, 0);
    // The board comes back: its core was stopped, so it reports that it did not hear the
    // host, with nothing dropped (nothing is keyed during an update). Expected: no handshake.
    r.board(Message::Fault(Fault::HostSilence {
        dropped: PortMask::EMPTY,
    }));
    assert!(
        r.host.is_up(),
        "a host-silence report after an erase took the link down"
    );
    // It acks the erase: ordinary silence rules again from its last frame.
    r.ack(begin_seq, AckResult::Ok);
    let back = r.now;
    r.advance(back + BOARD_SILENCE_LIMIT - Duration::from_millis(1));
    assert!(r.host.is_up());
    r.advance(back + BOARD_SILENCE_LIMIT);
    assert!(
        !r.host.is_up(),
        "after the erase, 500 ms of silence is silence again"
    );
}

#[test]
fn a_board_silent_past_the_erase_deadline_is_down() {
    let mut r = Rig::new();
    r.up();
    begin_update(&mut r);
    let sent_at = r.now;
    // The board never answers at all: busy for at most the erase's ack deadline, then silent
    // (gone), not given the retries' time too.
    r.advance(sent_at + ERASE_ACK_TIMEOUT - Duration::from_millis(1));
    assert!(r.host.is_up());
    r.advance(sent_at + ERASE_ACK_TIMEOUT);
    assert!(
        !r.host.is_up(),
        "a dead board was still up at the erase's ack deadline"
    );
    assert_eq!(r.host.stats().link_downs, 1);
}

/// Queues an `UpdateBegin` (the board then erases) and returns what the session wrote.
fn begin_update(r: &mut Rig) -> Vec<Sent> {
    let begin = update::UpdateCommand::Begin {
        size: 32 * 1024,
        crc32: 0x1234_5678,
        version: FirmwareVersion::new(1, 2, 3),
        security: Some(1),
        allow_rollback: false,
    };
    r.host.send_update(r.now, begin).unwrap();
    r.sent()
}

/// Runs the scripted board's answers through an update driver; returns its last report.
fn driver_outcome(
    r: &mut Rig,
    driver: &mut update::UpdateDriver,
) -> Option<update::UpdateProgress> {
    for event in r.events() {
        driver.handle_board_event(r.now, &mut r.host, &event);
    }
    std::iter::from_fn(|| driver.poll_event()).last()
}

fn signed(security: Option<u32>) -> crate::firmware_image::SignedImage {
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let version = FirmwareVersion::new(1, 1, 0);
    match security {
        Some(n) => crate::firmware_image::SignedImage::sign(&key, version, n, vec![1; 1000]),
        None => crate::firmware_image::SignedImage::sign_legacy(&key, version, vec![1; 1000]),
    }
    .unwrap()
}

#[test]
fn a_board_of_before_security_versions_is_named_when_it_cannot_read_the_secure_begin() {
    let mut r = Rig::new();
    r.up();
    let mut driver = update::UpdateDriver::start(
        r.now,
        &mut r.host,
        signed(Some(2)),
        update::UpdateConfig::default(),
    )
    .unwrap();
    let begin = r
        .sent()
        .into_iter()
        .find(|s| matches!(s.message, Message::UpdateBeginSecure { .. }))
        .expect("UpdateBeginSecure sent");
    // An old board cannot parse tag 21: a bad body, nacked Malformed.
    r.ack(begin.seq, AckResult::Nack(NackReason::Malformed));
    assert_eq!(
        driver_outcome(&mut r, &mut driver),
        Some(update::UpdateProgress::Failed(
            update::UpdateError::BoardTooOld
        ))
    );
}

#[test]
fn a_legacy_image_goes_in_the_begin_every_board_reads_unless_the_override_is_asked() {
    for (allow_rollback, secure) in [(false, false), (true, true)] {
        let mut r = Rig::new();
        r.up();
        let config = update::UpdateConfig {
            allow_rollback,
            ..update::UpdateConfig::default()
        };
        let _driver =
            update::UpdateDriver::start(r.now, &mut r.host, signed(None), config).unwrap();
        let sent = r.sent();
        let begin = sent
            .iter()
            .find(|s| {
                matches!(
                    s.message,
                    Message::UpdateBegin { .. } | Message::UpdateBeginSecure { .. }
                )
            })
            .expect("a begin sent");
        if secure {
            assert!(matches!(
                begin.message,
                Message::UpdateBeginSecure {
                    security_version: None,
                    allow_rollback: true,
                    ..
                }
            ));
        } else {
            assert!(matches!(begin.message, Message::UpdateBegin { .. }));
        }
    }
}

#[test]
fn a_rollback_refusal_names_both_security_versions() {
    let mut r = Rig::new();
    r.up();
    let mut driver = update::UpdateDriver::start(
        r.now,
        &mut r.host,
        signed(Some(2)),
        update::UpdateConfig::default(),
    )
    .unwrap();
    let begin = r
        .sent()
        .into_iter()
        .find(|s| matches!(s.message, Message::UpdateBeginSecure { .. }))
        .expect("UpdateBeginSecure sent");
    r.ack(
        begin.seq,
        AckResult::Nack(NackReason::Rollback { floor: 5 }),
    );
    let outcome = driver_outcome(&mut r, &mut driver);
    assert_eq!(
        outcome,
        Some(update::UpdateProgress::Failed(
            update::UpdateError::Rollback {
                security_version: 2,
                floor: 5
            }
        ))
    );
}

#[test]
fn a_board_only_radio_is_not_rekeyed_for_an_ended_over_when_the_link_returns() {
    let mut r = Rig::new();
    r.up();
    r.host.set_ptt(r.now, port(0), true);
    let key = r.sent().remove(0);
    r.ack(key.seq, AckResult::Ok);
    r.events();
    // The board falls silent mid-over: the link goes down.
    let heard = r.now;
    r.advance(heard + BOARD_SILENCE_LIMIT);
    assert!(r.events().contains(&BoardEvent::Down {
        reason: DownReason::BoardSilent
    }));
    assert!(
        !r.host.ptt_requested(port(0)),
        "a lost link forgets every wanted PTT"
    );
    // The over ended meanwhile; the link returns: port 0 is stated released, never keyed.
    let seq = r.last_hello.expect("a Hello");
    r.board(Message::BoardInfo(INFO));
    r.ack(seq, AckResult::Ok);
    let restated: Vec<Message<'static>> = r.ack_all().into_iter().map(|s| s.message).collect();
    assert!(restated.contains(&set_ptt(0, false)), "{restated:?}");
    assert!(!restated.contains(&set_ptt(0, true)), "{restated:?}");
}

#[test]
fn every_way_of_losing_the_link_forgets_the_wanted_ptt() {
    // Board reset (NoSession), host silence reported by the board, a reopened port.
    for way in 0..3 {
        let mut r = Rig::new();
        r.up();
        r.host.set_ptt(r.now, port(1), true);
        let key = r.sent().remove(0);
        r.ack(key.seq, AckResult::Ok);
        r.events();
        match way {
            0 => {
                r.host.set_power(r.now, port(2), true);
                let power = r.sent().remove(0);
                r.ack(power.seq, AckResult::Nack(NackReason::NoSession));
            }
            1 => r.board(Message::Fault(Fault::HostSilence {
                dropped: [port(1)].into_iter().collect(),
            })),
            _ => r.host.reconnect(r.now),
        }
        assert!(!r.host.is_up(), "way {way}");
        assert!(!r.host.ptt_requested(port(1)), "way {way}");
        r.up_with_restate(&[set_ptt(1, false)]);
        assert!(!r.host.ptt_requested(port(1)), "way {way}");
    }
}

#[test]
fn a_radio_keyed_over_pei_is_announced_to_the_board_ahead_of_everything() {
    let mut r = Rig::new();
    r.up();
    r.host.set_power(r.now, port(3), true);
    r.host.set_pei_keyed(r.now, port(1), true);
    let sent = r.commands();
    assert_eq!(
        sent[0],
        Message::PeiKeyed {
            port: port(1),
            keyed: true
        },
        "{sent:?}"
    );
    assert!(r.host.pei_keyed(port(1)));
    // Repeating the same state sends nothing.
    r.ack_all();
    r.host.set_pei_keyed(r.now, port(1), true);
    assert!(r.commands().is_empty());
    r.host.set_pei_keyed(r.now, port(1), false);
    assert_eq!(
        r.commands(),
        [Message::PeiKeyed {
            port: port(1),
            keyed: false
        }]
    );
}

#[test]
fn a_pei_key_made_while_the_link_is_down_is_announced_once_up_and_a_lost_link_forgets_it() {
    let mut r = Rig::new();
    r.host.set_pei_keyed(r.now, port(2), true);
    r.up_with_restate(&[Message::PeiKeyed {
        port: port(2),
        keyed: true,
    }]);
    r.host.reconnect(r.now);
    assert!(!r.host.pei_keyed(port(2)), "the new Hello switches it off");
    let seq = {
        r.sent();
        r.last_hello.expect("a Hello")
    };
    r.board(Message::BoardInfo(INFO));
    r.ack(seq, AckResult::Ok);
    let restated: Vec<Message<'static>> = r.ack_all().into_iter().map(|s| s.message).collect();
    assert!(
        !restated
            .iter()
            .any(|m| matches!(m, Message::PeiKeyed { .. })),
        "{restated:?}"
    );
}

#[test]
fn a_power_cut_or_a_refusal_ends_the_pei_guard() {
    let mut r = Rig::new();
    r.up();
    r.host.set_pei_keyed(r.now, port(0), true);
    let arm = r.sent().remove(0);
    r.ack(arm.seq, AckResult::Nack(NackReason::PoweredOff));
    assert!(!r.host.pei_keyed(port(0)));
    assert_eq!(
        r.events(),
        [BoardEvent::Refused {
            command: "PeiKeyed",
            reason: NackReason::PoweredOff
        }]
    );
    r.host.set_pei_keyed(r.now, port(1), true);
    let arm = r.sent().remove(0);
    r.ack(arm.seq, AckResult::Ok);
    r.board(Message::Fault(Fault::RadioPowerCut {
        port: port(1),
        cause: borderlink_protocol::link::PowerCutCause::TxCap,
    }));
    assert!(!r.host.pei_keyed(port(1)));
}
