//! The board's link responder (with its updater on a RAM flash) fed arbitrary host bytes: it
//! never panics, everything it sends decodes, and no PTT line is ever driven keyed unless the
//! bytes delivered so far held a CRC-valid `Hello` and then a CRC-valid `SetPtt { keyed: true }`
//! (since the board last reset, as a committed update resets it).
//!
//! Input: one byte seeding how the rest is cut into pieces (1-64 bytes, 3 ms apart, the board's
//! timers run between them), then the host's byte stream. Seeds (`fuzz/corpus/responder`) come
//! from `cargo run -p borderlink-firmware --example responder_seeds -- fuzz/corpus/responder`,
//! including a complete update signed with the key below.
#![no_main]

use std::cell::Cell;
use std::rc::Rc;

use borderlink_firmware::cor::{CorConfig, CorInput};
use borderlink_firmware::polarity::Polarity;
use borderlink_firmware::ptt::{PttConfig, PttOutput};
use borderlink_firmware::responder::{Responder, ResponderConfig};
use borderlink_firmware::safety::{Safety, SafetyConfig};
use borderlink_firmware::update::boot;
use borderlink_firmware::update::ram_flash::RamFlash;
use borderlink_firmware::update::{FlashLayout, Updater, VerifyingKey};
use borderlink_protocol::link::{
    FirmwareVersion, FrameDecoder, MAX_FRAME_LEN, MAX_WIRE_LEN, Message, ResetCause,
};
use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};
use libfuzzer_sys::fuzz_target;

/// The fuzz key's seed (the example that writes the seeds signs with it).
const KEY_SEED: [u8; 32] = [0xf2; 32];
const LAYOUT: FlashLayout = FlashLayout::new(0, 4096, 4096, 8192, 2048);
const PORTS: usize = 4;

type Flash = RamFlash<Vec<u8>, 8, 1024>;
type Board = Responder<Line, Line, Line, Line, Flash, PORTS>;

#[derive(Debug, Clone, Default)]
struct Line {
    high: Rc<Cell<bool>>,
    ever_high: Rc<Cell<bool>>,
}

impl ErrorType for Line {
    type Error = core::convert::Infallible;
}

impl OutputPin for Line {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.high.set(true);
        self.ever_high.set(true);
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

fn boot_board(mut flash: Flash, ptt: &[Line; PORTS], now: Instant) -> Board {
    let selection = boot::boot(&mut flash, &LAYOUT);
    let key = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(KEY_SEED));
    let updater = Updater::new(
        flash,
        LAYOUT,
        VerifyingKey::from_bytes(*key.pk),
        selection.slot,
    )
    .expect("layout");
    // Active high: keyed is high, so `ever_high` records every keying.
    let config = PttConfig::new(Polarity::ActiveHigh).with_tx_cap(Duration::from_secs(10));
    let cor: [Line; PORTS] = Default::default();
    let safety = Safety::new(
        ptt.clone().map(|l| PttOutput::new(l, config).expect("pin")),
        cor.map(|l| CorInput::new(l, CorConfig::new(Polarity::ActiveHigh))),
        Line::default(),
        SafetyConfig::new().with_refuse_while_cor(false),
        now,
    );
    let power: [Line; PORTS] = Default::default();
    let config = ResponderConfig::new(FirmwareVersion::new(1, 0, 0), ResetCause::PowerOn);
    Responder::new(safety, power, config, updater, now)
}

/// Sends whatever the board has queued; every frame must decode.
fn drain(board: &mut Board, now: Instant, rx: &mut FrameDecoder<MAX_FRAME_LEN>) {
    let mut buf = [0u8; MAX_WIRE_LEN + 1];
    while let Some(n) = board.poll_transmit(now, &mut buf) {
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (used, frame) = rx.push(rest);
            rest = &rest[used..];
            if let Some(Err(e)) = frame {
                panic!("the board sent a bad frame: {e}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let ptt: [Line; PORTS] = Default::default();
    let mut now = Instant::ZERO;
    let mut board = boot_board(RamFlash::new(vec![0; 10 * 1024]), &ptt, now);
    let mut rx = FrameDecoder::<MAX_FRAME_LEN>::new();
    let mut oracle = FrameDecoder::<MAX_FRAME_LEN>::new();
    let (mut hello_seen, mut may_key) = (false, false);
    let mut cut = u32::from(seed) | 1;
    let mut pos = 0;
    while pos < stream.len() {
        cut = cut.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let len = 1 + (cut >> 16) as usize % 64;
        let piece = &stream[pos..stream.len().min(pos + len)];
        pos += piece.len();
        let mut rest = piece;
        while !rest.is_empty() {
            let (used, frame) = oracle.push(rest);
            rest = &rest[used..];
            if let Some(Ok(frame)) = frame {
                match frame.message {
                    Message::Hello => hello_seen = true,
                    Message::SetPtt { keyed: true, .. } if hello_seen => may_key = true,
                    _ => {}
                }
            }
        }
        let mut rest = piece;
        let mut rounds = 0;
        while !rest.is_empty() {
            let n = board.push(now, rest);
            rest = &rest[n..];
            drain(&mut board, now, &mut rx);
            rounds += 1;
            assert!(rounds < 1_000, "push never takes the rest");
        }
        now = now + Duration::from_millis(3);
        let mut steps = 0;
        while board.poll_timeout() <= now {
            board.handle_timeout(now);
            steps += 1;
            assert!(steps < 100_000, "the board's timers never settle");
        }
        drain(&mut board, now, &mut rx);
        if !may_key {
            assert!(
                !ptt.iter().any(|l| l.ever_high.get()),
                "PTT keyed without a valid Hello and SetPtt"
            );
        }
        if board.wants_reset() {
            // The committed update boots; the new board starts with every PTT released and
            // needs its own Hello and SetPtt.
            let flash = board.into_updater().into_flash();
            for line in &ptt {
                line.ever_high.set(false);
            }
            board = boot_board(flash, &ptt, now);
            assert!(!ptt.iter().any(|l| l.high.get()));
            (hello_seen, may_key) = (false, false);
            rx = FrameDecoder::new();
        }
    }
});
