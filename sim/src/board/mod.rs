//! The interface board, emulated: the firmware's own board logic
//! ([`borderlink_firmware::responder::Responder`] over [`Safety`]) compiled for the host, with
//! pins that the simulator can watch.
//!
//! It speaks the same link protocol and runs the same host-silence watchdog and TX cap as the
//! board in the field, because it *is* that code; only the pins are emulated. Every change of a
//! PTT line is recorded with its time ([`PttChange`]), so a run can prove that no radio was
//! keyed longer than it should have been, and that a dead host's radios were released by the
//! board within 500 ms.
//!
//! It also takes firmware updates as the board does: a flash in RAM holds two image slots and
//! the boot-state record, the firmware's updater writes and verifies a signed image against the
//! key built into the firmware crate (the development key unless `BORDERLINK_FIRMWARE_PUBLIC_KEY`
//! says otherwise), and after the commit the emulator resets and boots what the boot selector
//! picks, as a bootloader would. The firmware version an emulated board reports is the first
//! three bytes of the image it boots (major, minor, patch); the factory image is 1.0.0.
//!
//! Sans-IO like the rest of the simulator: feed the host's bytes with
//! [`BoardEmulator::handle_bytes`], send [`BoardEmulator::poll_transmit`] back, and call
//! [`BoardEmulator::handle_timeout`] when [`BoardEmulator::poll_timeout`] is due.
//! [`pty::PtyBoard`] runs one on a pseudo-terminal in real time.

pub mod pty;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use borderlink_firmware::cor::{CorConfig, CorInput};
use borderlink_firmware::polarity::Polarity;
use borderlink_firmware::ptt::{MAX_TX_CAP, PttConfig, PttOutput};
use borderlink_firmware::responder::{Responder, ResponderConfig};
use borderlink_firmware::safety::{Safety, SafetyConfig};
use borderlink_firmware::update::boot;
use borderlink_firmware::update::ram_flash::RamFlash;
use borderlink_firmware::update::{FIRMWARE_KEY, FlashLayout, Updater};
use borderlink_protocol::link::{
    Fault, FirmwareVersion, MAX_FRAME_LEN, MAX_WIRE_LEN, Message, PORTS, ResetCause, Slot,
    decode_wire,
};
use borderlink_protocol::time::{Duration, Instant};
use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

/// One emulated pin: its level, readable from any thread.
#[derive(Debug, Clone, Default)]
pub struct Pin(Arc<AtomicBool>);

impl Pin {
    /// Whether the pin is high.
    pub fn is_high(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Drives the pin (for inputs such as COR).
    pub fn set(&self, high: bool) {
        self.0.store(high, Ordering::SeqCst);
    }
}

impl ErrorType for Pin {
    type Error = core::convert::Infallible;
}

impl OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.set(true);
        Ok(())
    }
}

impl InputPin for Pin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(Pin::is_high(self))
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!Pin::is_high(self))
    }
}

/// The emulated board's flash: 8-byte writes, 2 KiB erase pages.
pub type Flash = RamFlash<Vec<u8>, 8, 2048>;

/// Two 64 KiB image slots and a 4 KiB boot-state area.
pub const LAYOUT: FlashLayout = FlashLayout::new(0, 0x1_0000, 0x1_0000, 0x2_0000, 0x1000);

/// The image the emulated board leaves the factory with, in slot A.
pub const FACTORY: FirmwareVersion = FirmwareVersion::new(1, 0, 0);

type Firmware = Responder<Pin, Pin, Pin, Pin, Flash, PORTS>;

/// How the emulated board is wired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoardConfig {
    /// Which level of each PTT output keys its radio.
    pub ptt: [Polarity; PORTS],
    /// The board's own TX cap per over.
    pub tx_cap: Duration,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            ptt: [Polarity::ActiveHigh; PORTS],
            tx_cap: MAX_TX_CAP,
        }
    }
}

/// A PTT line changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PttChange {
    /// When.
    pub at: Instant,
    /// Which port (0–3).
    pub port: usize,
    /// Keyed now.
    pub keyed: bool,
}

/// A radio's power relay switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerChange {
    /// When.
    pub at: Instant,
    /// Which port (0–3).
    pub port: usize,
    /// Powered now.
    pub on: bool,
}

/// The emulated board; see the [module documentation](self).
pub struct BoardEmulator {
    firmware: Firmware,
    config: BoardConfig,
    ptt: [Pin; PORTS],
    cor: [Pin; PORTS],
    /// The power relays (active-high: high powers the radio).
    power: [Pin; PORTS],
    keyed: [bool; PORTS],
    powered: [bool; PORTS],
    changes: VecDeque<PttChange>,
    power_changes: VecDeque<PowerChange>,
    host_silence: Vec<u8>,
    /// When the host last sent anything.
    last_host: Option<Instant>,
    /// Boots so far, power-up included.
    boots: u32,
    /// The version of the image running.
    version: FirmwareVersion,
}

impl core::fmt::Debug for BoardEmulator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BoardEmulator")
            .field("keyed", &self.keyed)
            .field("host_silence", &self.host_silence)
            .finish_non_exhaustive()
    }
}

impl BoardEmulator {
    /// A board that has just powered up at `now`: every PTT released, waiting for its host.
    pub fn new(config: BoardConfig, now: Instant) -> Self {
        let ptt: [Pin; PORTS] = Default::default();
        let cor: [Pin; PORTS] = Default::default();
        let power: [Pin; PORTS] = Default::default();
        let flash = Self::factory_flash();
        let (firmware, version) =
            Self::boot(&config, &ptt, &cor, &power, flash, ResetCause::PowerOn, now);
        // The firmware powers every radio at boot.
        let powered = core::array::from_fn(|port| power[port].is_high());
        let mut board = BoardEmulator {
            firmware,
            config,
            ptt,
            cor,
            power,
            keyed: [false; PORTS],
            powered,
            changes: VecDeque::new(),
            power_changes: VecDeque::new(),
            host_silence: Vec::new(),
            last_host: None,
            boots: 1,
            version,
        };
        board.sample(now);
        board
    }

    /// Starts the firmware from `flash`, in the slot the boot selector picks.
    fn boot(
        config: &BoardConfig,
        ptt: &[Pin; PORTS],
        cor: &[Pin; PORTS],
        power: &[Pin; PORTS],
        mut flash: Flash,
        reset_cause: ResetCause,
        now: Instant,
    ) -> (Firmware, FirmwareVersion) {
        let outputs = core::array::from_fn(|port| {
            let polarity = config.ptt[port];
            let line = PttConfig::new(polarity).with_tx_cap(config.tx_cap);
            match PttOutput::new(ptt[port].clone(), line) {
                Ok(output) => output,
                // Emulated pins cannot fail.
                Err(_) => unreachable!("an emulated pin never fails"),
            }
        });
        let inputs = cor
            .clone()
            .map(|pin| CorInput::new(pin, CorConfig::new(Polarity::ActiveHigh)));
        let safety = Safety::new(
            outputs,
            inputs,
            Pin::default(),
            // COR is driven from the emulated radio's receive state, which lags the daemon's
            // own view by a PEI line; refusing PTT on it would refuse every relayed over.
            SafetyConfig::new().with_refuse_while_cor(false),
            now,
        );
        let selection = boot::boot(&mut flash, &LAYOUT);
        let start = LAYOUT.slot(selection.slot) as usize;
        let version = match flash.bytes().get(start..start + 3) {
            Some(&[major, minor, patch]) => FirmwareVersion::new(major, minor, patch),
            _ => FACTORY,
        };
        let updater = match Updater::new(flash, LAYOUT, FIRMWARE_KEY, selection.slot) {
            Ok(updater) => updater,
            Err(_) => unreachable!("LAYOUT fits the flash it was sized for"),
        };
        let firmware_config = ResponderConfig::new(version, reset_cause);
        let firmware = Responder::new(safety, power.clone(), firmware_config, updater, now);
        (firmware, version)
    }

    /// A flash as the board leaves the factory: erased, slot A holding [`FACTORY`].
    fn factory_flash() -> Flash {
        let mut flash: Flash = RamFlash::new(vec![0; (LAYOUT.state + LAYOUT.state_size) as usize]);
        let factory = [FACTORY.major, FACTORY.minor, FACTORY.patch];
        flash.bytes_mut()[..3].copy_from_slice(&factory);
        flash
    }

    /// Resets the board's MCU for `cause` (after a committed update: `Software`; a hung
    /// firmware: `Watchdog`; a supply dip: `Brownout`): PTT lines fall with the reset, and the
    /// firmware starts again from the slot the boot selector picks and says so to its host.
    pub fn reset(&mut self, now: Instant, cause: ResetCause) {
        for pin in &self.ptt {
            // A reset MCU's outputs float to the released level of each line's polarity.
            pin.set(false);
        }
        // The firmware owns the flash: swap in a stand-in to take it back out.
        let (stand_in, _) = Self::boot(
            &self.config,
            &self.ptt,
            &self.cor,
            &self.power,
            Self::factory_flash(),
            cause,
            now,
        );
        let old = core::mem::replace(&mut self.firmware, stand_in);
        let flash = old.into_updater().into_flash();
        let (firmware, version) = Self::boot(
            &self.config,
            &self.ptt,
            &self.cor,
            &self.power,
            flash,
            cause,
            now,
        );
        self.firmware = firmware;
        self.version = version;
        self.boots += 1;
        self.sample(now);
    }

    /// Sets the level that keys port `port`'s radio (a jumper on the board): the firmware reads
    /// it, and reports it to its host, from its next boot.
    pub fn strap_ptt(&mut self, port: usize, polarity: Polarity) {
        if let Some(p) = self.config.ptt.get_mut(port) {
            *p = polarity;
        }
    }

    /// How many times the board has booted (1 at power-up).
    pub fn boots(&self) -> u32 {
        self.boots
    }

    /// The firmware version the board runs.
    pub fn firmware_version(&self) -> FirmwareVersion {
        self.version
    }

    /// The first `len` bytes of image slot `slot` as the flash holds them now (what an
    /// update wrote there, or what an erase left).
    pub fn slot_bytes(&self, slot: Slot, len: usize) -> Vec<u8> {
        let start = LAYOUT.slot(slot) as usize;
        let flash = self.firmware.updater().flash().bytes();
        flash
            .get(start..start + len.min(LAYOUT.slot_size as usize))
            .unwrap_or_default()
            .to_vec()
    }

    /// Bytes from the host.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.last_host = Some(now);
        }
        let mut used = 0;
        while used < bytes.len() {
            let n = self.firmware.push(now, &bytes[used..]);
            if n == 0 {
                break;
            }
            used += n;
        }
        self.sample(now);
    }

    /// Runs the board's timers (watchdog, TX cap, COR sampling) due at `now`.
    ///
    /// A PTT change a timer makes is recorded at the timer's deadline: on the board a timer
    /// interrupt fires on time, while the emulator, sharing a loaded host in real time, may get
    /// to it a little late.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = self.firmware.poll_timeout();
        if due <= now {
            self.firmware.handle_timeout(now);
        }
        self.sample(due.min(now));
    }

    /// When [`BoardEmulator::handle_timeout`] must next run.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.firmware.poll_timeout()
    }

    /// The next wire frame for the host.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let mut out = [0u8; MAX_WIRE_LEN];
        let Some(len) = self.firmware.poll_transmit(now, &mut out) else {
            // The commit's ack is out: the board resets into the new image.
            if self.firmware.wants_reset() {
                self.reset(now, ResetCause::Software);
            }
            return None;
        };
        let mut scratch = [0u8; MAX_FRAME_LEN];
        if let Ok(frame) = decode_wire(&out[..len], &mut scratch)
            && let Message::Fault(Fault::HostSilence { dropped }) = frame.message
        {
            self.host_silence.push(dropped.bits());
        }
        self.sample(now);
        Some(out[..len].to_vec())
    }

    /// Whether the PTT line of `port` keys its radio now.
    pub fn keyed(&self, port: usize) -> bool {
        self.keyed.get(port).copied().unwrap_or(false)
    }

    /// Whether the radio on `port` is powered now.
    pub fn powered(&self, port: usize) -> bool {
        self.powered.get(port).copied().unwrap_or(false)
    }

    /// The next recorded power change, oldest first.
    #[must_use]
    pub fn poll_power_change(&mut self) -> Option<PowerChange> {
        self.power_changes.pop_front()
    }

    /// The next recorded PTT change, oldest first.
    #[must_use]
    pub fn poll_ptt_change(&mut self) -> Option<PttChange> {
        self.changes.pop_front()
    }

    /// The port masks of every `HostSilence` fault the board reported: the ports its watchdog
    /// had to release because the host went quiet (0: nothing was keyed).
    pub fn host_silence_reports(&self) -> &[u8] {
        &self.host_silence
    }

    /// When the host last sent anything: where its silence starts.
    pub fn last_host_bytes(&self) -> Option<Instant> {
        self.last_host
    }

    /// Drives a radio's COR ("call active") input.
    pub fn set_cor(&mut self, port: usize, active: bool) {
        if let Some(pin) = self.cor.get(port) {
            pin.set(active);
        }
    }

    /// Records every PTT line and power relay that changed since the last look.
    fn sample(&mut self, now: Instant) {
        for port in 0..PORTS {
            let on = self.power[port].is_high();
            if on != self.powered[port] {
                self.powered[port] = on;
                self.power_changes
                    .push_back(PowerChange { at: now, port, on });
            }
            let high = self.ptt[port].is_high();
            let keyed = match self.config.ptt[port] {
                Polarity::ActiveHigh => high,
                Polarity::ActiveLow => !high,
            };
            if keyed != self.keyed[port] {
                self.keyed[port] = keyed;
                self.changes.push_back(PttChange {
                    at: now,
                    port,
                    keyed,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_gateway::board::{BoardEvent, BoardSession, SessionConfig};
    use borderlink_protocol::link::Port;

    /// Drives a host session and the emulated board against each other until `until`.
    fn run(
        host: &mut Option<BoardSession>,
        board: &mut BoardEmulator,
        mut now: Instant,
        until: Instant,
    ) -> Instant {
        while now < until {
            for _ in 0..64 {
                let mut moved = false;
                if let Some(h) = host.as_mut() {
                    while let Some(bytes) = h.poll_transmit(now) {
                        board.handle_bytes(now, &bytes);
                        moved = true;
                    }
                }
                while let Some(bytes) = board.poll_transmit(now) {
                    if let Some(h) = host.as_mut() {
                        h.handle_bytes(now, &bytes);
                    }
                    moved = true;
                }
                if let Some(h) = host.as_mut() {
                    while h.poll_event().is_some() {}
                }
                if !moved {
                    break;
                }
            }
            let mut next = board.poll_timeout().min(until);
            if let Some(t) = host.as_ref().and_then(|h| h.poll_timeout()) {
                next = next.min(t);
            }
            now = next.max(now + Duration::from_micros(1));
            board.handle_timeout(now);
            if let Some(h) = host.as_mut()
                && h.poll_timeout().is_some_and(|t| t <= now)
            {
                h.handle_timeout(now);
            }
        }
        now
    }

    #[test]
    fn host_keys_ptt_and_a_dead_host_is_released_by_the_watchdog() {
        let start = Instant::ZERO;
        let mut board = BoardEmulator::new(BoardConfig::default(), start);
        let mut host = Some(BoardSession::new(start, SessionConfig::default()));
        let now = run(&mut host, &mut board, start, Instant::from_millis(500));
        let port = Port::new(1).unwrap();
        let h = host.as_mut().unwrap();
        assert!(h.is_up(), "handshake done");
        while h
            .poll_event()
            .is_some_and(|e| !matches!(e, BoardEvent::Up { .. }))
        {}
        h.set_ptt(now, port, true);
        let now = run(&mut host, &mut board, now, Instant::from_millis(1_000));
        assert!(board.keyed(1));
        let keyed_at = board.poll_ptt_change().expect("recorded");
        assert!(keyed_at.keyed && keyed_at.port == 1);
        // The host dies (kill -9): nothing more comes from it.
        let died = now;
        host = None;
        run(&mut host, &mut board, now, Instant::from_millis(3_000));
        let released = board.poll_ptt_change().expect("released");
        assert!(!released.keyed && released.port == 1);
        let after = released.at.saturating_since(died);
        assert!(
            after <= Duration::from_millis(500),
            "released {} ms after the host died",
            after.as_millis()
        );
        assert_eq!(board.host_silence_reports(), [1 << 1]);
    }
}
