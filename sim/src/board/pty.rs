//! An emulated board on a pseudo-terminal in real time, for tests that start `borderlinkd`
//! on their own: the daemon opens a symlink to the pty as it opens `/dev/ttyACM0` in the field,
//! and a thread runs the [`BoardEmulator`] against it. The cable can be pulled and plugged in
//! again; unplugged, the board runs on, and its watchdog is what keeps the air safe.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration as StdDuration;

use borderlink_protocol::time::Instant;

use super::{BoardConfig, BoardEmulator, PowerChange, PttChange};
use crate::pty::{Master, pty};
use crate::radio::RadioEmulator;

/// A radio whose supply runs through one of the board's power relays.
type Wired = (usize, Arc<Mutex<RadioEmulator>>);

/// A board on a pty behind a symlink; see the [module documentation](self).
#[derive(Debug)]
pub struct PtyBoard {
    board: Arc<Mutex<BoardEmulator>>,
    /// Every PTT change so far (the emulator's record, drained by the thread).
    changes: Arc<Mutex<Vec<PttChange>>>,
    /// Every power change so far.
    power_changes: Arc<Mutex<Vec<PowerChange>>>,
    /// Radios to wire to the power relays (taken by the thread).
    wiring: mpsc::Sender<Wired>,
    /// The symlink the daemon opens.
    pub path: String,
    link: PathBuf,
    cable: mpsc::Sender<Option<Master>>,
    start: std::time::Instant,
}

impl PtyBoard {
    /// Starts a board wired as `config` behind the symlink `link`.
    pub fn start(link: &Path, config: BoardConfig) -> PtyBoard {
        let (master, pts) = pty();
        let link = link.to_path_buf();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&pts, &link).expect("symlink to the board's pty");
        let start = std::time::Instant::now();
        let board = Arc::new(Mutex::new(BoardEmulator::new(config, Instant::ZERO)));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let power_changes = Arc::new(Mutex::new(Vec::new()));
        let (cable, plugs) = mpsc::channel::<Option<Master>>();
        let (wiring, wires) = mpsc::channel::<Wired>();
        let shared = Arc::clone(&board);
        let record = Arc::clone(&changes);
        let power_record = Arc::clone(&power_changes);
        std::thread::spawn(move || {
            let now = move || Instant::from_micros(start.elapsed().as_micros() as u64);
            let mut port = Some(master);
            let mut wired: Vec<Wired> = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                match plugs.try_recv() {
                    Ok(new) => port = new,
                    Err(mpsc::TryRecvError::Empty) => {}
                    // The handle is gone: the board is no longer wanted.
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
                let n = match port.as_mut() {
                    Some(master) => master.read(&mut buf),
                    None => {
                        std::thread::sleep(StdDuration::from_millis(2));
                        0
                    }
                };
                let mut board = shared.lock().expect("board lock");
                board.handle_bytes(now(), &buf[..n]);
                board.handle_timeout(now());
                while let Some(frame) = board.poll_transmit(now()) {
                    // With the host gone the pty may refuse writes; the board carries on.
                    if let Some(master) = port.as_mut() {
                        let _ = master.write_all(&frame);
                    }
                }
                let mut record = record.lock().expect("record lock");
                while let Some(change) = board.poll_ptt_change() {
                    record.push(change);
                }
                wired.extend(wires.try_iter());
                let mut power_record = power_record.lock().expect("record lock");
                while let Some(change) = board.poll_power_change() {
                    power_record.push(change);
                    // The relay is the radio's supply: without it the radio is off, its
                    // transmission over and its registration gone until it is back.
                    for (_, radio) in wired.iter().filter(|(p, _)| *p == change.port) {
                        radio.lock().expect("radio lock").set_powered(change.on);
                    }
                }
            }
        });
        PtyBoard {
            board,
            changes,
            power_changes,
            wiring,
            path: link.to_string_lossy().into_owned(),
            link,
            cable,
            start,
        }
    }

    /// Wires `radio`'s supply through the power relay of `port`: when the board switches the
    /// relay off, the radio loses power (its transmission ends, it answers nothing), and it
    /// boots afresh when the relay is on again.
    pub fn wire_power(&self, port: usize, radio: Arc<Mutex<RadioEmulator>>) {
        self.wiring.send((port, radio)).expect("board running");
    }

    /// Whether the radio on `port` is powered now.
    pub fn powered(&self, port: usize) -> bool {
        self.board.lock().expect("board lock").powered(port)
    }

    /// Every power change so far, times counted from [`PtyBoard::start`].
    pub fn power_changes(&self) -> Vec<PowerChange> {
        self.power_changes.lock().expect("record lock").clone()
    }

    /// Pulls the host cable (and the symlink with it, so the daemon opens nothing meanwhile).
    pub fn unplug(&self) {
        let _ = std::fs::remove_file(&self.link);
        self.cable.send(None).expect("board running");
    }

    /// Plugs the host cable back in, on a new pty behind the same symlink.
    pub fn plug_in(&self) {
        let (master, pts) = pty();
        let tmp = self.link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&pts, &tmp).expect("symlink");
        // Rename is atomic: the daemon finds the old link or the new one, never none.
        std::fs::rename(&tmp, &self.link).expect("re-point symlink");
        self.cable.send(Some(master)).expect("board running");
    }

    /// The firmware version the board runs.
    pub fn firmware_version(&self) -> borderlink_protocol::link::FirmwareVersion {
        self.board.lock().expect("board lock").firmware_version()
    }

    /// How many times the board has booted (1 at power-up; one more per committed update).
    pub fn boots(&self) -> u32 {
        self.board.lock().expect("board lock").boots()
    }

    /// The first `len` bytes of image slot `slot` in the board's flash.
    pub fn slot_bytes(&self, slot: borderlink_protocol::link::Slot, len: usize) -> Vec<u8> {
        self.board.lock().expect("board lock").slot_bytes(slot, len)
    }

    /// Drives a radio's COR ("call active") input.
    pub fn set_cor(&self, port: usize, active: bool) {
        self.board.lock().expect("board lock").set_cor(port, active);
    }

    /// Whether the PTT line of `port` keys its radio now.
    pub fn keyed(&self, port: usize) -> bool {
        self.board.lock().expect("board lock").keyed(port)
    }

    /// The port masks of the board's `HostSilence` reports so far.
    pub fn silence_masks(&self) -> Vec<u8> {
        self.board
            .lock()
            .expect("board lock")
            .host_silence_reports()
            .to_vec()
    }

    /// Every PTT change so far, times counted from [`PtyBoard::start`].
    pub fn ptt_changes(&self) -> Vec<PttChange> {
        self.changes.lock().expect("record lock").clone()
    }

    /// The board's clock now (the time base of [`PtyBoard::ptt_changes`]).
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Waits until `cond` holds; panics naming `what` after `timeout`.
    pub fn wait(&self, what: &str, timeout: StdDuration, cond: impl Fn(&PtyBoard) -> bool) {
        let end = std::time::Instant::now() + timeout;
        while !cond(self) {
            assert!(
                std::time::Instant::now() < end,
                "timed out waiting for {what}"
            );
            std::thread::sleep(StdDuration::from_millis(5));
        }
    }
}
