//! An emulated TETRA radio on a pseudo-terminal: the daemon under test opens the pty's path as
//! the radio's PEI port, and a thread answers as a radio on a trunked network that connects
//! group calls at once and grants transmit after a fixed delay. A radio started behind a
//! symlink can have its cable pulled and plugged in again. A test can have a unit send the
//! radio a status message ([`PtyRadio::inject_status`]) and read the short data the daemon
//! sent out through it ([`PtyRadio::sent_sds`]).

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::pty::{Master, pty};
use crate::radio::{RadioAction, RadioEmulator};
use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_protocol::pei::AiService;

/// An SDS the daemon sent through the radio (`AT+CMGS` and its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSds {
    /// The addressee as the daemon wrote it.
    pub to: PeiIdentity,
    /// Length in bits.
    pub bits: u16,
    /// User data.
    pub data: Vec<u8>,
}

/// A radio on a pty; the emulator is shared with the test, which can drive its network side.
#[derive(Debug)]
pub struct PtyRadio {
    /// The radio, for the test to start calls and inspect what the daemon sent.
    pub emulator: Arc<Mutex<RadioEmulator>>,
    /// The path the daemon opens as the radio's serial port.
    pub path: String,
    /// Cable control for the pump thread: `None` unplugs, `Some(port)` plugs in a new pty.
    cable: mpsc::Sender<Option<Master>>,
    /// For a radio behind a symlink (see [`PtyRadio::start_linked`]): the link.
    link: Option<PathBuf>,
    /// Every SDS the daemon sent, in order.
    sds: Arc<Mutex<Vec<SentSds>>>,
}

impl PtyRadio {
    /// Starts a radio with this identity whose network grants transmit after `grant_delay`.
    pub fn start(identity: Tsi, grant_delay: Duration) -> PtyRadio {
        let (master, path) = pty();
        let emulator = Arc::new(Mutex::new(RadioEmulator::new(identity)));
        let shared = Arc::clone(&emulator);
        let (cable, plugs) = mpsc::channel::<Option<Master>>();
        let sds = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::clone(&sds);
        std::thread::spawn(move || {
            let mut port = Some(master);
            let mut grants: Vec<(Instant, u16)> = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                match plugs.try_recv() {
                    Ok(new) => port = new,
                    Err(mpsc::TryRecvError::Empty) => {}
                    // The test let go of the handle: the radio stays as it is.
                    Err(mpsc::TryRecvError::Disconnected) => {}
                }
                let Some(master) = port.as_mut() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                // A read timeout is the pump's tick: it also lets due grants go out.
                let n = master.read(&mut buf);
                let mut radio = shared.lock().expect("emulator lock");
                radio.handle_bytes(&buf[..n]);
                while let Some(action) = radio.poll_action() {
                    match action {
                        RadioAction::SetupGroupCall { cc, .. } => radio.network_call_connected(cc),
                        RadioAction::DemandTransmit { cc, .. } => {
                            grants.push((Instant::now() + grant_delay, cc))
                        }
                        RadioAction::SendSds { to, bits, data } => sent
                            .lock()
                            .expect("sds lock")
                            .push(SentSds { to, bits, data }),
                        _ => {}
                    }
                }
                let now = Instant::now();
                grants.retain(|(at, cc)| {
                    let due = *at <= now;
                    if due {
                        radio.network_grant(*cc);
                    }
                    !due
                });
                if let Some(out) = radio.poll_transmit() {
                    // With the daemon's end closed the write fails; the radio carries on and
                    // is heard again when the daemon reopens the port.
                    let _ = master.write_all(&out);
                }
            }
        });
        PtyRadio {
            emulator,
            path,
            cable,
            link: None,
            sds,
        }
    }

    /// A unit sends this radio a pre-coded status (`+CTSDSR` with AI service 13 and 16 bits).
    pub fn inject_status(&self, from: Tsi, value: u16) {
        self.emulator.lock().expect("emulator lock").network_sds(
            from,
            AiService::Status,
            &value.to_be_bytes(),
            16,
        );
    }

    /// Every SDS the daemon sent through the radio so far.
    pub fn sent_sds(&self) -> Vec<SentSds> {
        self.sds.lock().expect("sds lock").clone()
    }

    /// Waits until the daemon has sent an SDS; `None` after `timeout`.
    pub fn wait_for_sds(&self, timeout: Duration) -> Option<SentSds> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(first) = self.sent_sds().into_iter().next() {
                return Some(first);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Like [`PtyRadio::start`], but the daemon opens `link`, a symlink to the pty, as it opens a
    /// udev symlink such as `/dev/radio-c2000` in the field; such a radio can be unplugged and
    /// plugged in again.
    pub fn start_linked(identity: Tsi, grant_delay: Duration, link: PathBuf) -> PtyRadio {
        let mut radio = PtyRadio::start(identity, grant_delay);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&radio.path, &link).expect("symlink");
        radio.path = link.to_string_lossy().into_owned();
        radio.link = Some(link);
        radio
    }

    /// Pulls the cable: the pty goes away and the daemon's port fails. The symlink goes too,
    /// so the daemon cannot open a pty that the system hands to someone else meanwhile.
    pub fn unplug(&self) {
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
        self.cable.send(None).expect("pump running");
    }

    /// Plugs the radio back in, on a new pty behind the same symlink.
    pub fn plug_in(&self) {
        let link = self.link.as_ref().expect("plug_in needs start_linked");
        let (master, path) = pty();
        let tmp = link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&path, &tmp).expect("symlink");
        // Rename is atomic: the daemon finds the old link or the new one, never none.
        std::fs::rename(&tmp, link).expect("re-point symlink");
        self.cable.send(Some(master)).expect("pump running");
    }

    /// Every command line the radio received, in order.
    pub fn commands(&self) -> Vec<String> {
        self.emulator
            .lock()
            .expect("emulator lock")
            .commands()
            .to_vec()
    }

    /// How many times the daemon sent exactly this command (initialisations, say).
    pub fn count(&self, command: &str) -> usize {
        self.commands().iter().filter(|c| *c == command).count()
    }

    /// Waits until a command starting with `prefix` has arrived; `false` after `timeout`.
    pub fn wait_for(&self, prefix: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.commands().iter().any(|c| c.starts_with(prefix)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Whether the daemon has initialised the radio (its first signal query comes last).
    pub fn initialised(&self) -> bool {
        self.commands().iter().any(|c| c == "AT+CSQ?")
    }
}
