//! The host's board session against the real board firmware, back to back in virtual time.
//!
//! A [`Pair`] joins a [`BoardSession`] and a `borderlink_firmware::responder::Responder` (with
//! its safety core) by two one-way wires that can be cut, can corrupt chosen frames, can
//! rewrite the protocol version, or can flip random bytes from a seeded generator. The clock
//! jumps from one wake-up of either side to the next; every exchange is bounded, so a livelock
//! fails the test instead of hanging it.

use std::cell::Cell;
use std::rc::Rc;

use borderlink_firmware::cor::{CorConfig, CorInput};
use borderlink_firmware::polarity::Polarity;
use borderlink_firmware::ptt::{PttConfig, PttOutput};
use borderlink_firmware::responder::{Responder, ResponderConfig};
use borderlink_firmware::safety::{Safety, SafetyConfig};
use borderlink_firmware::update::{NoFlash, Updater};
use borderlink_gateway::board::{BoardEvent, BoardSession, DownReason, PowerAction, SessionConfig};
use borderlink_protocol::link::{
    BOARD_SILENCE_LIMIT, BoardInfo, Fault, FirmwareVersion, FrameDecoder, HOST_SILENCE_LIMIT,
    MAX_FRAME_LEN, MAX_WIRE_LEN, Message, NackReason, PORTS, Port, PortMask, ResetCause, Slot,
    VERSION, WINDOW, frame_crc,
};
use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const FIRMWARE: FirmwareVersion = FirmwareVersion::new(1, 2, 0);

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn port(n: u8) -> Port {
    Port::new(n).unwrap()
}

/// A pin shared by the board and the test, counting the board's writes.
#[derive(Debug, Clone, Default)]
struct Line {
    high: Rc<Cell<bool>>,
    lows: Rc<Cell<u32>>,
    highs: Rc<Cell<u32>>,
}

impl Line {
    fn is_high(&self) -> bool {
        self.high.get()
    }
}

impl ErrorType for Line {
    type Error = core::convert::Infallible;
}

impl OutputPin for Line {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high.set(false);
        self.lows.set(self.lows.get() + 1);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.high.set(true);
        self.highs.set(self.highs.get() + 1);
        Ok(())
    }
}

impl InputPin for Line {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.high.get())
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.high.get())
    }
}

type Board = Responder<Line, Line, Line, Line, NoFlash, PORTS>;

/// The board's lines: PTT active-low (keyed = low), COR and power active-high.
#[derive(Debug, Clone, Default)]
struct Lines {
    ptt: [Line; PORTS],
    cor: [Line; PORTS],
    power: [Line; PORTS],
}

impl Lines {
    fn keyed(&self, n: u8) -> bool {
        !self.ptt[usize::from(n)].is_high()
    }

    fn any_keyed(&self) -> bool {
        (0..PORTS as u8).any(|n| self.keyed(n))
    }
}

/// Boots a board on `lines` at `now` (a reset is a new board on the same lines).
fn boot(lines: &Lines, now: Instant) -> Board {
    let ptt_config = PttConfig::new(Polarity::ActiveLow).with_tx_cap(Duration::from_secs(60));
    let safety = Safety::new(
        lines
            .ptt
            .clone()
            .map(|l| PttOutput::new(l, ptt_config).unwrap()),
        lines
            .cor
            .clone()
            .map(|l| CorInput::new(l, CorConfig::new(Polarity::ActiveHigh))),
        Line::default(),
        SafetyConfig::new().with_refuse_while_cor(false),
        now,
    );
    let config = ResponderConfig::new(FIRMWARE, ResetCause::PowerOn)
        .with_power_cycle_interval(Duration::from_secs(30));
    let updater = Updater::unsupported(Slot::A);
    Responder::new(safety, lines.power.clone(), config, updater, now)
}

/// Picks frames by their message.
type FrameFilter = fn(&Message<'_>) -> bool;

/// What a wire does to the bytes it carries.
#[derive(Default)]
struct Wire {
    /// Carries nothing.
    cut: bool,
    /// Flips a bit in the next `n` frames whose message matches.
    corrupt: Option<(FrameFilter, usize)>,
    /// Rewrites the version byte of every intact frame (`from` → `to` and back), as if the
    /// board on the far side spoke `to`.
    swap_version: Option<(u8, u8)>,
    /// Flips a random bit of a byte with this probability.
    noise: Option<(SmallRng, f64)>,
}

impl Wire {
    fn carry(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.cut {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(bytes.len());
        // Frame by frame (every 0x00 ends one), so frames can be recognised and rewritten.
        for chunk in bytes.split_inclusive(|&b| b == 0) {
            let mut chunk = chunk.to_vec();
            if let Some((from, to)) = self.swap_version {
                chunk = swap_version(&chunk, from, to);
            }
            if let Some((matches, left)) = &mut self.corrupt
                && *left > 0
                && decode(&chunk).is_some_and(|m| matches(&m))
            {
                *left -= 1;
                // Flip a bit of the CRC, not of a COBS length byte: a clean CRC failure.
                let at = chunk.len() - 2;
                chunk[at] ^= 0x04;
            }
            out.extend(chunk);
        }
        if let Some((rng, p)) = &mut self.noise {
            for b in &mut out {
                if rng.random_bool(*p) {
                    *b ^= 1 << rng.random_range(0..8);
                }
            }
        }
        out
    }
}

/// The message of a whole wire frame, if it is one (test-side decoding, owned by debug text).
fn decode(chunk: &[u8]) -> Option<Message<'static>> {
    let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
    let mut rest = chunk;
    while !rest.is_empty() {
        let (used, outcome) = decoder.push(rest);
        rest = &rest[used..];
        if let Some(Ok(frame)) = outcome {
            return Some(match frame.message {
                Message::SetPtt { port, keyed } => Message::SetPtt { port, keyed },
                Message::PowerCycle { port, off_ms } => Message::PowerCycle { port, off_ms },
                Message::Ack { seq, result } => Message::Ack { seq, result },
                Message::Hello => Message::Hello,
                Message::Heartbeat => Message::Heartbeat,
                _ => Message::GetTelemetry, // stands for "some other message"
            });
        }
    }
    None
}

fn cobs_decode(wire: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < wire.len() && wire[i] != 0 {
        let code = usize::from(wire[i]);
        out.extend_from_slice(wire.get(i + 1..i + code)?);
        i += code;
        if code < 0xff && i < wire.len() && wire[i] != 0 {
            out.push(0);
        }
    }
    Some(out)
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
            if out.len() - code_at == 0xff {
                out[code_at] = 0xff;
                code_at = out.len();
                out.push(0);
            }
        }
    }
    out[code_at] = (out.len() - code_at) as u8;
    out.push(0);
    out
}

/// Swaps version `from` and `to` in an intact frame, fixing its CRC; anything else is left
/// as it is.
fn swap_version(chunk: &[u8], from: u8, to: u8) -> Vec<u8> {
    let body = chunk.strip_suffix(&[0]).unwrap_or(chunk);
    let Some(mut frame) = cobs_decode(body).filter(|f| f.len() >= 5) else {
        return chunk.to_vec();
    };
    let n = frame.len();
    if frame_crc(&frame[..n - 2]).to_le_bytes() != frame[n - 2..] {
        return chunk.to_vec();
    }
    frame[0] = match frame[0] {
        v if v == from => to,
        v if v == to => from,
        v => v,
    };
    let crc = frame_crc(&frame[..n - 2]);
    frame[n - 2..].copy_from_slice(&crc.to_le_bytes());
    cobs_encode(&frame)
}

/// The session and the board, joined back to back.
struct Pair {
    host: BoardSession,
    board: Board,
    lines: Lines,
    now: Instant,
    to_board: Wire,
    to_host: Wire,
    events: Vec<(Instant, BoardEvent)>,
}

impl Pair {
    fn new() -> Self {
        let lines = Lines::default();
        let board = boot(&lines, ms(0));
        Pair {
            host: BoardSession::new(ms(0), SessionConfig::default()),
            board,
            lines,
            now: ms(0),
            to_board: Wire::default(),
            to_host: Wire::default(),
            events: Vec::new(),
        }
    }

    /// A pair already up, its handshake events cleared.
    fn up() -> Self {
        let mut pair = Pair::new();
        pair.run_for(Duration::from_millis(20));
        assert!(pair.host.is_up(), "{:?}", pair.events);
        pair.events.clear();
        pair
    }

    /// Moves every byte both ways at the current instant until both sides are quiet.
    fn exchange(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            while let Some(bytes) = self.host.poll_transmit(self.now) {
                moved = true;
                let carried = self.to_board.carry(&bytes);
                self.feed_board(&carried);
            }
            moved |= self.drain_board();
            while let Some(event) = self.host.poll_event() {
                self.events.push((self.now, event));
            }
            if !moved {
                return;
            }
        }
        panic!("livelock: the two sides never fall quiet");
    }

    fn feed_board(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        for _ in 0..10_000 {
            if rest.is_empty() {
                return;
            }
            let n = self.board.push(self.now, rest);
            rest = &rest[n..];
            self.drain_board();
        }
        panic!("the board never takes its input");
    }

    fn drain_board(&mut self) -> bool {
        let mut moved = false;
        let mut buf = [0u8; MAX_WIRE_LEN + 1];
        while let Some(n) = self.board.poll_transmit(self.now, &mut buf) {
            moved = true;
            let carried = self.to_host.carry(&buf[..n]);
            self.host.handle_bytes(self.now, &carried);
        }
        moved
    }

    /// Runs both sides' timers until `to`.
    fn run_until(&mut self, to: Instant) {
        for _ in 0..1_000_000 {
            self.exchange();
            let next = self
                .host
                .poll_timeout()
                .map_or(self.board.poll_timeout(), |h| {
                    h.min(self.board.poll_timeout())
                });
            if next > to {
                self.now = to;
                self.host.handle_timeout(to);
                self.board.handle_timeout(to);
                self.exchange();
                return;
            }
            self.now = self.now.max(next);
            self.host.handle_timeout(self.now);
            self.board.handle_timeout(self.now);
        }
        panic!("run_until never reaches {to:?}");
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    fn set_ptt(&mut self, n: u8, on: bool) {
        self.host.set_ptt(self.now, port(n), on);
        self.exchange();
    }

    /// Events so far without the periodic Status, and forgets them.
    fn take_events(&mut self) -> Vec<BoardEvent> {
        std::mem::take(&mut self.events)
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| !matches!(e, BoardEvent::Status { .. }))
            .collect()
    }

    fn saw(&self, wanted: &BoardEvent) -> Option<Instant> {
        self.events
            .iter()
            .find(|(_, e)| e == wanted)
            .map(|(t, _)| *t)
    }
}

#[test]
fn handshake_brings_the_link_up_with_everything_released() {
    let mut p = Pair::new();
    p.run_for(Duration::from_millis(20));
    let events = p.take_events();
    assert_eq!(
        events[0],
        BoardEvent::Up {
            info: BoardInfo {
                firmware: FIRMWARE,
                slot: Slot::A,
                ports: PORTS as u8,
                max_chunk: 256,
                window: WINDOW as u8,
                // The board's own wiring: every PTT active-low, every COR active-high.
                ptt_active_low: borderlink_protocol::link::PortMask::ALL,
                cor_active_low: borderlink_protocol::link::PortMask::EMPTY,
            }
        }
    );
    for n in 0..PORTS as u8 {
        assert!(events.contains(&BoardEvent::PttConfirmed {
            port: port(n),
            on: false
        }));
    }
    assert!(p.board.is_session_open());
    assert!(!p.lines.any_keyed());
    assert!(p.lines.power.iter().all(Line::is_high));
    let stats = p.host.stats();
    assert_eq!(
        stats.bad_crc + stats.framing_errors + stats.board_frames_lost,
        0
    );
}

#[test]
fn ptt_on_is_acked_confirmed_and_keys_the_pin_at_its_polarity() {
    let mut p = Pair::up();
    p.set_ptt(2, true);
    assert_eq!(
        p.take_events(),
        [BoardEvent::PttConfirmed {
            port: port(2),
            on: true
        }]
    );
    assert!(p.lines.keyed(2));
    assert!(!p.lines.ptt[2].is_high(), "active-low: keyed is low");
    assert!(!p.lines.keyed(0) && !p.lines.keyed(1) && !p.lines.keyed(3));
    // Stays keyed for as long as the host is there.
    p.run_for(Duration::from_secs(5));
    assert!(p.lines.keyed(2));
    assert!(p.host.is_up());
    p.set_ptt(2, false);
    assert!(!p.lines.keyed(2));
    assert!(p.lines.ptt[2].is_high());
}

#[test]
fn host_silence_drops_ptt_within_500_ms_and_the_host_hears_why() {
    let mut p = Pair::up();
    p.set_ptt(0, true);
    p.run_for(Duration::from_millis(50));
    p.take_events();
    // The host's transmit line breaks; the board still talks.
    p.to_board.cut = true;
    let cut = p.now;
    // The last frame the board heard went out at most one heartbeat before the cut.
    p.run_until(cut + HOST_SILENCE_LIMIT - HEARTBEAT_MARGIN);
    assert!(p.lines.keyed(0), "not before the silence limit");
    p.run_until(cut + HOST_SILENCE_LIMIT);
    assert!(!p.lines.keyed(0), "dropped within 500 ms of silence");
    let dropped: PortMask = [port(0)].into_iter().collect();
    let events = p.take_events();
    assert_eq!(
        events,
        [
            BoardEvent::Fault {
                fault: Fault::HostSilence { dropped }
            },
            BoardEvent::PttDropped { port: port(0) },
            BoardEvent::Down {
                reason: DownReason::HostSilence
            }
        ]
    );
    // The host keeps knocking; nothing is keyed while its frames do not arrive.
    p.run_for(Duration::from_secs(3));
    assert!(!p.lines.any_keyed());
    assert!(!p.host.is_up());
    // Repaired: up again, and the dropped port stays released until asked again.
    p.to_board.cut = false;
    p.run_for(Duration::from_secs(2));
    assert!(p.host.is_up());
    assert!(!p.lines.keyed(0));
}

/// How far before a silence deadline a side may still have heard its last frame.
const HEARTBEAT_MARGIN: Duration = Duration::from_millis(100);

#[test]
fn a_silent_board_is_down_after_the_limit_and_cannot_keep_a_radio_keyed() {
    let mut p = Pair::up();
    p.set_ptt(3, true);
    p.take_events();
    // The board's transmit line breaks; it still hears the host.
    p.to_host.cut = true;
    let cut = p.now;
    p.run_until(cut + BOARD_SILENCE_LIMIT - HEARTBEAT_MARGIN);
    assert!(p.host.is_up());
    p.run_until(cut + BOARD_SILENCE_LIMIT);
    assert!(!p.host.is_up());
    assert_eq!(
        p.take_events(),
        [BoardEvent::Down {
            reason: DownReason::BoardSilent
        }]
    );
    // The host's frames still feed the board's watchdog, but its new Hello releases
    // everything: a radio is not left keyed behind a link the host has given up on.
    p.run_for(Duration::from_millis(10));
    assert!(!p.lines.keyed(3));
}

#[test]
fn both_directions_dead_the_board_drops_and_the_host_goes_down() {
    let mut p = Pair::up();
    p.set_ptt(1, true);
    p.to_board.cut = true;
    p.to_host.cut = true;
    let cut = p.now;
    p.run_until(cut + Duration::from_millis(500));
    assert!(!p.lines.keyed(1));
    assert!(!p.host.is_up());
}

#[test]
fn a_corrupted_command_is_retried_and_runs_exactly_once() {
    let mut p = Pair::up();
    let power = p.lines.power[1].clone();
    let offs_before = power.lows.get();
    // The command is corrupted on its way to the board, and then the board's ack on its way
    // back: the board sees the command once intact and once as a duplicate.
    p.to_board.corrupt = Some((|m| matches!(m, Message::PowerCycle { .. }), 1));
    p.to_host.corrupt = Some((
        |m| {
            matches!(
                m,
                Message::Ack {
                    result: borderlink_protocol::link::AckResult::Ok,
                    ..
                }
            )
        },
        1,
    ));
    p.host.power_cycle(p.now, port(1), 600).unwrap();
    p.run_for(Duration::from_millis(2_000));
    assert_eq!(
        power.lows.get() - offs_before,
        1,
        "switched off exactly once"
    );
    assert!(power.is_high(), "and on again");
    let events = p.take_events();
    let confirmed = BoardEvent::PowerConfirmed {
        port: port(1),
        action: PowerAction::Cycle { off_ms: 600 },
    };
    assert_eq!(events.iter().filter(|e| **e == confirmed).count(), 1);
    assert!(
        !events.iter().any(|e| matches!(
            e,
            BoardEvent::PowerRefused { .. }
                | BoardEvent::Fault {
                    fault: Fault::PowerCycleRateLimited { .. }
                }
        )),
        "{events:?}"
    );
    // The board reported the frame it rejected.
    assert!(events.contains(&BoardEvent::Fault {
        fault: Fault::LinkErrors {
            crc: 1,
            framing: 0,
            version: 0,
            body: 0
        }
    }));
    assert!(p.host.stats().retransmissions >= 2);
    assert!(p.board.link_errors_total() >= 1);
    assert!(p.host.is_up());
}

#[test]
fn a_corrupted_key_is_retried_and_confirmed() {
    let mut p = Pair::up();
    p.to_board.corrupt = Some((|m| matches!(m, Message::SetPtt { keyed: true, .. }), 1));
    p.set_ptt(0, true);
    assert!(!p.lines.keyed(0), "the corrupted frame did nothing");
    p.run_for(Duration::from_millis(300));
    assert!(p.lines.keyed(0));
    assert!(
        p.saw(&BoardEvent::PttConfirmed {
            port: port(0),
            on: true
        })
        .is_some()
    );
}

#[test]
fn a_cor_change_on_the_board_reaches_the_host() {
    let mut p = Pair::up();
    p.lines.cor[2].high.set(true);
    let start = p.now;
    p.run_for(Duration::from_millis(100));
    let at = p
        .saw(&BoardEvent::Cor {
            port: port(2),
            active: true,
        })
        .expect("a Cor event");
    // Debounce (20 ms) plus a sampling interval or two.
    assert!(
        at - start <= Duration::from_millis(25),
        "after {:?}",
        at - start
    );
    p.lines.cor[2].high.set(false);
    p.run_for(Duration::from_millis(100));
    let events = p.take_events();
    assert_eq!(
        events,
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
fn a_board_reset_mid_session_is_noticed_and_ptt_restated_released() {
    let mut p = Pair::up();
    p.set_ptt(1, true);
    p.set_ptt(2, true);
    p.run_for(Duration::from_millis(200));
    p.take_events();
    // The board resets: a new firmware instance on the same lines (releasing PTT as it boots).
    p.board = boot(&p.lines, p.now);
    assert!(!p.lines.any_keyed());
    p.run_for(Duration::from_millis(500));
    let events = p.take_events();
    let down = events
        .iter()
        .position(|e| {
            matches!(
                e,
                BoardEvent::Down {
                    reason: DownReason::BoardReset { .. }
                }
            )
        })
        .unwrap_or_else(|| panic!("no BoardReset in {events:?}"));
    let up = events
        .iter()
        .position(|e| matches!(e, BoardEvent::Up { .. }))
        .expect("up again");
    assert!(up > down);
    assert!(events.contains(&BoardEvent::PttDropped { port: port(1) }));
    for n in 0..PORTS as u8 {
        assert!(
            events[up..].contains(&BoardEvent::PttConfirmed {
                port: port(n),
                on: false
            }),
            "port {n} restated released: {events:?}"
        );
    }
    assert!(p.board.is_session_open());
    assert!(!p.lines.any_keyed());
    // And it works as before.
    p.set_ptt(1, true);
    assert!(p.lines.keyed(1));
}

#[test]
fn a_board_of_another_version_is_reported_and_nothing_is_keyed() {
    let mut p = Pair::new();
    // The far side speaks version 1 (a board from before the PEI power guard): every intact
    // frame has its version swapped on the way.
    p.to_board.swap_version = Some((VERSION, 1));
    p.to_host.swap_version = Some((VERSION, 1));
    p.host.set_ptt(p.now, port(0), true);
    p.run_for(Duration::from_secs(5));
    let events = p.take_events();
    assert_eq!(events, [BoardEvent::WrongVersion { got: 1 }]);
    assert!(!p.host.is_up());
    assert!(!p.board.is_session_open());
    assert_eq!(
        p.lines.ptt[0].lows.get(),
        0,
        "never keyed, not even briefly"
    );
    assert!(p.board.link_errors_total() >= 4, "every Hello was nacked");
}

#[test]
fn telemetry_counts_keyed_seconds_through_the_link() {
    let mut p = Pair::up();
    p.set_ptt(3, true);
    p.run_for(Duration::from_secs(2));
    p.set_ptt(3, false);
    p.host.request_telemetry(p.now).unwrap();
    p.exchange();
    let telemetry = p
        .take_events()
        .into_iter()
        .find_map(|e| match e {
            BoardEvent::Telemetry { telemetry } => Some(telemetry),
            _ => None,
        })
        .expect("telemetry");
    assert_eq!(telemetry.ptt_seconds, [0, 0, 0, 2]);
    assert_eq!(telemetry.uptime_s, 2);
    assert_eq!(telemetry.reset_cause, ResetCause::PowerOn);
}

#[test]
fn a_power_cycle_too_soon_is_refused_with_the_wait() {
    let mut p = Pair::up();
    p.host.power_cycle(p.now, port(0), 500).unwrap();
    p.run_for(Duration::from_secs(10));
    p.take_events();
    p.host.power_cycle(p.now, port(0), 500).unwrap();
    p.exchange();
    assert_eq!(
        p.take_events(),
        [
            BoardEvent::Fault {
                fault: Fault::PowerCycleRateLimited { port: port(0) }
            },
            BoardEvent::PowerRefused {
                port: port(0),
                action: PowerAction::Cycle { off_ms: 500 },
                reason: NackReason::RateLimited { retry_after_s: 20 }
            }
        ]
    );
}

/// Under random bit errors both ways, a radio is keyed only while (or shortly after) the engine
/// wants it, and once the line is clean the board ends in the requested state.
#[test]
fn random_bit_errors_never_key_an_unwanted_radio_and_state_converges() {
    for seed in 0..12u64 {
        let mut p = Pair::new();
        p.to_board.noise = Some((SmallRng::seed_from_u64(seed), 0.02));
        p.to_host.noise = Some((SmallRng::seed_from_u64(seed ^ 0xb0a2d), 0.02));
        let mut rng = SmallRng::seed_from_u64(seed.wrapping_mul(7919));
        let mut wanted = [false; PORTS];
        // When each port was last wanted keyed (None: never).
        let mut last_wanted: [Option<Instant>; PORTS] = [None; PORTS];
        let end = ms(20_000);
        while p.now < end {
            let step = Duration::from_millis(rng.random_range(1..150));
            let to = p.now + step;
            // Check the invariant at every wake-up on the way.
            while p.now < to {
                let next = (p.now + Duration::from_millis(2)).min(to);
                p.run_until(next);
                for n in 0..PORTS {
                    if wanted[n] {
                        last_wanted[n] = Some(p.now);
                    }
                    if p.lines.keyed(n as u8) {
                        let since = last_wanted[n].map(|t| p.now - t);
                        assert!(
                            since.is_some_and(|d| d <= RELEASE_BOUND),
                            "seed {seed}: port {n} keyed at {:?}, last wanted {since:?} before",
                            p.now
                        );
                    }
                }
            }
            let n = rng.random_range(0..PORTS);
            let on = rng.random_bool(0.5);
            wanted[n] = on;
            if on {
                last_wanted[n] = Some(p.now);
            }
            p.host.set_ptt(p.now, port(n as u8), on);
        }
        // A clean line from here: whatever was wanted and not refused or dropped is keyed,
        // and everything else is released.
        p.to_board.noise = None;
        p.to_host.noise = None;
        p.run_for(Duration::from_secs(3));
        assert!(p.host.is_up(), "seed {seed}");
        for n in 0..PORTS as u8 {
            assert_eq!(
                p.lines.keyed(n),
                p.host.ptt_requested(port(n)),
                "seed {seed}: port {n}"
            );
            if !wanted[usize::from(n)] {
                assert!(!p.lines.keyed(n), "seed {seed}: port {n} keyed unwanted");
            }
        }
    }
}

/// The longest a board may keep a port keyed after the engine stopped wanting it, on a noisy
/// line: a release lost in every retry (4 × 250 ms) is followed by a new handshake whose Hello
/// releases everything, and a host whose frames all get lost is cut off by the board's
/// watchdog at 500 ms.
const RELEASE_BOUND: Duration = Duration::from_millis(1_500);
