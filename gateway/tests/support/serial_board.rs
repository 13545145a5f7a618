//! The host's board session and update driver against the real firmware (responder, updater,
//! boot decision) over a simulated UART, in virtual time.
//!
//! Each direction of the [`Wire`] carries one byte per 10 bit times (8N1) at the configured
//! baud rate, in order, with an optional fixed latency (a USB serial adapter's); writes queue
//! behind each other as in a UART's transmit buffer. The board's flash is a strict RAM flash
//! holding a factory image in slot A; when the board asks to reset, it is down for a boot
//! delay, then the bootloader's decision (`update::boot::boot`) picks the slot and a new board
//! starts from it. A trial image can be made to hang, so the watchdog resets it and the next
//! boot rolls back. Shared by `tests/board_update.rs` and `benches/firmware_update.rs`.
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use borderlink_firmware::cor::{CorConfig, CorInput};
use borderlink_firmware::polarity::Polarity;
use borderlink_firmware::ptt::{PttConfig, PttOutput};
use borderlink_firmware::responder::{Responder, ResponderConfig};
use borderlink_firmware::safety::{Safety, SafetyConfig};
use borderlink_firmware::update::boot::{self, BootKind};
use borderlink_firmware::update::ram_flash::RamFlash;
use borderlink_firmware::update::{FlashLayout, Updater, VerifyingKey};
use borderlink_gateway::board::{
    BoardEvent, BoardSession, SessionConfig, UpdateDriver, UpdateProgress,
};
use borderlink_gateway::firmware_image::SignedImage;
use borderlink_protocol::link::{FirmwareVersion, MAX_WIRE_LEN, PORTS, ResetCause, Slot};
use borderlink_protocol::time::{Duration, Instant};
use ed25519_dalek::SigningKey;
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

/// The link's baud rate.
pub(crate) const BAUD: u64 = 115_200;

/// The board's flash: 8-byte write unit, 2 KiB erase unit (an STM32L4/G4-like part).
pub(crate) type Flash = RamFlash<Vec<u8>, 8, 2048>;

/// Two 32 KiB slots and a 4 KiB boot-state area.
pub(crate) const LAYOUT: FlashLayout = FlashLayout::new(0, 0x8000, 0x8000, 0x1_0000, 0x1000);

/// What the debug probe flashed into slot A.
pub(crate) const FACTORY: FirmwareVersion = FirmwareVersion::new(1, 0, 0);

/// A pin shared by the board and the test.
#[derive(Debug, Clone, Default)]
pub(crate) struct Line {
    high: Rc<Cell<bool>>,
}

impl Line {
    pub(crate) fn is_high(&self) -> bool {
        self.high.get()
    }
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

pub(crate) type Board = Responder<Line, Line, Line, Line, Flash, PORTS>;

/// One direction of the serial line.
#[derive(Debug)]
pub(crate) struct Wire {
    baud: u64,
    latency: Duration,
    busy_until: Instant,
    queue: VecDeque<(Instant, Vec<u8>)>,
    /// Writes are dropped (cable pulled).
    pub(crate) cut: bool,
    /// Flip a byte in the write of at least 200 bytes with this index (a chunk frame).
    pub(crate) corrupt_long_write: Option<u64>,
    long_writes: u64,
    /// Bytes carried so far.
    pub(crate) bytes: u64,
}

impl Wire {
    pub(crate) fn new(baud: u64, latency: Duration) -> Self {
        Wire {
            baud,
            latency,
            busy_until: Instant::ZERO,
            queue: VecDeque::new(),
            cut: false,
            corrupt_long_write: None,
            long_writes: 0,
            bytes: 0,
        }
    }

    /// Time on the wire for `len` bytes, rounded up to the microsecond.
    pub(crate) fn time_for(&self, len: u64) -> Duration {
        Duration::from_micros((len * 10 * 1_000_000).div_ceil(self.baud))
    }

    fn send(&mut self, now: Instant, bytes: &[u8]) {
        if self.cut {
            return;
        }
        let mut bytes = bytes.to_vec();
        if bytes.len() >= 200 {
            if self.corrupt_long_write == Some(self.long_writes) {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x5a;
            }
            self.long_writes += 1;
        }
        let start = now.max(self.busy_until);
        self.busy_until = start + self.time_for(bytes.len() as u64);
        self.bytes += bytes.len() as u64;
        self.queue
            .push_back((self.busy_until + self.latency, bytes));
    }

    fn take_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.front().is_some_and(|(at, _)| *at <= now) {
            self.queue.pop_front().map(|(_, b)| b)
        } else {
            None
        }
    }

    fn next(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }
}

/// Deterministic pseudo-random bytes.
pub(crate) fn noise(len: usize, salt: u32) -> Vec<u8> {
    let mut x = 0x2545_f491u32 ^ salt.wrapping_mul(0x9e37_79b9);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A test image: its version in the first three bytes (so a booted slot tells its version),
/// then noise.
pub(crate) fn image_bytes(version: FirmwareVersion, len: usize) -> Vec<u8> {
    let mut bytes = noise(
        len,
        u32::from(version.minor) << 8 | u32::from(version.patch),
    );
    bytes[..3].copy_from_slice(&[version.major, version.minor, version.patch]);
    bytes
}

/// The board's signing key in these tests.
pub(crate) fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// A progress report and when it came.
pub(crate) type Timed = (Instant, UpdateProgress);

/// The rig.
pub(crate) struct Rig {
    pub(crate) now: Instant,
    pub(crate) session: BoardSession,
    pub(crate) board: Option<Board>,
    /// The flash while the board is down.
    flash: Option<Flash>,
    board_up_at: Option<Instant>,
    pub(crate) ptt: [Line; PORTS],
    pub(crate) h2b: Wire,
    pub(crate) b2h: Wire,
    pub(crate) events: Vec<(Instant, BoardEvent)>,
    pub(crate) boot_delay: Duration,
    /// A trial image hangs at boot; the watchdog resets it after `watchdog`.
    pub(crate) trial_hangs: bool,
    pub(crate) watchdog: Duration,
    pub(crate) boots: Vec<(Slot, BootKind)>,
    /// Set when any PTT line was ever driven to keyed.
    pub(crate) ever_keyed: bool,
    /// How long the board's core stands still for the first erase of an update (the
    /// STM32F411 erasing a 128 KiB sector); bytes from the host are lost meanwhile, as in a
    /// USART that nobody reads.
    pub(crate) erase_stall: Duration,
    stalled_until: Option<Instant>,
    stalled_this_update: bool,
    /// Bytes from the host lost during stalls.
    pub(crate) lost_in_stall: u64,
}

impl Rig {
    /// A board fresh from the probe (factory image in slot A) and a host with `latency` each
    /// way, handshaken.
    pub(crate) fn new(latency: Duration) -> Self {
        let mut flash: Flash = RamFlash::new(vec![0; 0x1_1000]);
        let factory = image_bytes(FACTORY, 20_000);
        flash.bytes_mut()[..factory.len()].copy_from_slice(&factory);
        let mut rig = Rig {
            now: Instant::ZERO,
            session: BoardSession::new(Instant::ZERO, SessionConfig::default()),
            board: None,
            flash: Some(flash),
            board_up_at: Some(Instant::ZERO),
            ptt: Default::default(),
            h2b: Wire::new(BAUD, latency),
            b2h: Wire::new(BAUD, latency),
            events: Vec::new(),
            boot_delay: Duration::from_millis(300),
            trial_hangs: false,
            watchdog: Duration::from_secs(2),
            boots: Vec::new(),
            ever_keyed: false,
            erase_stall: Duration::ZERO,
            stalled_until: None,
            stalled_this_update: false,
            lost_in_stall: 0,
        };
        let deadline = rig.now + Duration::from_secs(5);
        rig.run_while(None, &mut Vec::new(), |r| !r.session.is_up(), deadline);
        rig
    }

    /// Signs an image of `len` bytes for `version` with the board's key (security version 1).
    pub(crate) fn signed(&self, version: FirmwareVersion, len: usize) -> SignedImage {
        self.signed_with(version, 1, len)
    }

    /// Signs an image of `len` bytes for `version` and `security_version` with the board's key.
    pub(crate) fn signed_with(
        &self,
        version: FirmwareVersion,
        security_version: u32,
        len: usize,
    ) -> SignedImage {
        SignedImage::sign(
            &signing_key(),
            version,
            security_version,
            image_bytes(version, len),
        )
        .expect("sign")
    }

    /// Signs an image the way releases were signed before security versions.
    pub(crate) fn signed_legacy(&self, version: FirmwareVersion, len: usize) -> SignedImage {
        SignedImage::sign_legacy(&signing_key(), version, image_bytes(version, len)).expect("sign")
    }

    /// The slot the running board reports.
    pub(crate) fn running(&self) -> Option<(Slot, FirmwareVersion)> {
        self.session.board_info().map(|i| (i.slot, i.firmware))
    }

    /// The flash, wherever it is.
    pub(crate) fn flash(&self) -> &Flash {
        match (&self.board, &self.flash) {
            (Some(board), _) => board.updater().flash(),
            (None, Some(flash)) => flash,
            (None, None) => unreachable!("the flash is always somewhere"),
        }
    }

    fn boot(&mut self) {
        let Some(mut flash) = self.flash.take() else {
            return;
        };
        self.board_up_at = None;
        let selection = boot::boot(&mut flash, &LAYOUT);
        self.boots.push((selection.slot, selection.kind));
        if selection.kind == BootKind::Trial && self.trial_hangs {
            // It never gets to its main loop; the watchdog resets it.
            self.flash = Some(flash);
            self.board_up_at = Some(self.now + self.watchdog);
            return;
        }
        let start = LAYOUT.slot(selection.slot) as usize;
        let header = &flash.bytes()[start..start + 3];
        let version = FirmwareVersion::new(header[0], header[1], header[2]);
        let key = VerifyingKey::from_bytes(signing_key().verifying_key().to_bytes());
        let updater = Updater::new(flash, LAYOUT, key, selection.slot).expect("layout");
        let ptt_config = PttConfig::new(Polarity::ActiveLow).with_tx_cap(Duration::from_secs(60));
        let cor: [Line; PORTS] = Default::default();
        let safety = Safety::new(
            self.ptt
                .clone()
                .map(|l| PttOutput::new(l, ptt_config).expect("pin")),
            cor.map(|l| CorInput::new(l, CorConfig::new(Polarity::ActiveHigh))),
            Line::default(),
            SafetyConfig::new().with_refuse_while_cor(false),
            self.now,
        );
        let power: [Line; PORTS] = Default::default();
        let config = ResponderConfig::new(version, ResetCause::Software);
        self.board = Some(Responder::new(safety, power, config, updater, self.now));
    }

    fn board_push(&mut self, bytes: &[u8]) {
        let now = self.now;
        let Some(board) = self.board.as_mut() else {
            return;
        };
        let mut rest = bytes;
        let mut buf = [0u8; MAX_WIRE_LEN + 1];
        while !rest.is_empty() {
            let n = board.push(now, rest);
            rest = &rest[n..];
            while let Some(len) = board.poll_transmit(now, &mut buf) {
                self.b2h.send(now, &buf[..len]);
            }
        }
    }

    /// One turn of everything at `self.now`, then the clock jumps to the next wake-up.
    fn turn(&mut self, mut driver: Option<&mut UpdateDriver>, out: &mut Vec<Timed>) {
        let now = self.now;
        if self.board.is_none() && self.board_up_at.is_some_and(|t| now >= t) {
            self.boot();
        }
        let stalled = self.stalled_until.is_some_and(|t| now < t);
        if !stalled {
            self.stalled_until = None;
        }
        while let Some(bytes) = self.h2b.take_due(now) {
            if stalled {
                self.lost_in_stall += bytes.len() as u64;
            } else {
                self.board_push(&bytes);
            }
        }
        while let Some(bytes) = self.b2h.take_due(now) {
            self.session.handle_bytes(now, &bytes);
        }
        if let Some(board) = self.board.as_mut()
            && !stalled
            && board.poll_timeout() <= now
        {
            let erasing = board.updater().is_erasing();
            board.handle_timeout(now);
            if !board.updater().is_active() {
                self.stalled_this_update = false;
            }
            if erasing && !self.stalled_this_update && self.erase_stall > Duration::ZERO {
                // What that step queued goes out when the core runs again.
                self.stalled_this_update = true;
                self.stalled_until = Some(now + self.erase_stall);
            }
        }
        let stalled = self.stalled_until.is_some_and(|t| now < t);
        self.session.handle_timeout(now);
        if let Some(d) = driver.as_deref_mut()
            && d.poll_timeout().is_some_and(|t| t <= now)
        {
            d.handle_timeout(now, &mut self.session);
        }
        while let Some(event) = self.session.poll_event() {
            if let Some(d) = driver.as_deref_mut() {
                d.handle_board_event(now, &mut self.session, &event);
            }
            self.events.push((now, event));
        }
        if let Some(d) = driver.as_deref_mut() {
            while let Some(p) = d.poll_event() {
                out.push((now, p));
            }
        }
        while let Some(bytes) = self.session.poll_transmit(now) {
            self.h2b.send(now, &bytes);
        }
        if let Some(board) = self.board.as_mut().filter(|_| !stalled) {
            let mut buf = [0u8; MAX_WIRE_LEN + 1];
            while let Some(len) = board.poll_transmit(now, &mut buf) {
                self.b2h.send(now, &buf[..len]);
            }
            if board.wants_reset() {
                let board = self.board.take().expect("board");
                self.flash = Some(board.into_updater().into_flash());
                self.board_up_at = Some(now + self.boot_delay);
            }
        }
        self.ever_keyed |= self.ptt.iter().any(|l| !l.is_high()) && self.board.is_some();
        let next = [
            self.h2b.next(),
            self.b2h.next(),
            self.board
                .as_ref()
                .map(Board::poll_timeout)
                .map(|t| self.stalled_until.map_or(t, |s| t.max(s))),
            self.stalled_until,
            self.session.poll_timeout(),
            driver.as_deref().and_then(UpdateDriver::poll_timeout),
            self.board_up_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + Duration::from_millis(10));
        self.now = next.max(now);
    }

    /// Runs while `cond` holds, up to `deadline` (a test that gets there fails).
    pub(crate) fn run_while(
        &mut self,
        mut driver: Option<&mut UpdateDriver>,
        out: &mut Vec<Timed>,
        cond: impl Fn(&Rig) -> bool,
        deadline: Instant,
    ) {
        let mut turns = 0u64;
        while cond(self) {
            assert!(self.now < deadline, "not done by {deadline:?}");
            turns += 1;
            assert!(turns < 5_000_000, "livelock at {:?}", self.now);
            self.turn(driver.as_deref_mut(), out);
        }
    }

    /// Runs until `to`.
    pub(crate) fn run_until(&mut self, to: Instant) {
        let mut out = Vec::new();
        self.run_while(None, &mut out, |r| r.now < to, to + Duration::from_secs(1));
    }

    /// Runs an update to its end; returns every progress report with its time.
    pub(crate) fn update(&mut self, driver: &mut UpdateDriver, limit: Duration) -> Vec<Timed> {
        let mut out = Vec::new();
        let deadline = self.now + limit;
        let mut turns = 0u64;
        // Reports made by `start` come out at the first turn.
        while !driver.is_finished() || turns == 0 {
            assert!(
                self.now < deadline,
                "update not over by {deadline:?}: {out:?}"
            );
            turns += 1;
            assert!(turns < 5_000_000, "livelock at {:?}", self.now);
            self.turn(Some(driver), &mut out);
        }
        while let Some(p) = driver.poll_event() {
            out.push((self.now, p));
        }
        out
    }
}
