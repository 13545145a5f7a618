//! An emulated TETRA radio on a pseudo-terminal: the daemon under test opens the pty's path as
//! the radio's PEI port, and a thread answers as a radio on a trunked network that connects
//! group calls at once and grants transmit after a fixed delay.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use borderlink_protocol::ids::Tsi;
use borderlink_sim::radio::{RadioAction, RadioEmulator};
use serialport::{SerialPort, TTYPort};

/// A radio on a pty; the emulator is shared with the test, which can drive its network side.
#[derive(Debug)]
pub struct PtyRadio {
    /// The radio, for the test to start calls and inspect what the daemon sent.
    pub emulator: Arc<Mutex<RadioEmulator>>,
    /// The path the daemon opens as the radio's serial port.
    pub path: String,
}

impl PtyRadio {
    /// Starts a radio with this identity whose network grants transmit after `grant_delay`.
    pub fn start(identity: Tsi, grant_delay: Duration) -> PtyRadio {
        let (mut master, slave) = TTYPort::pair().expect("pseudo-terminal pair");
        let path = slave.name().expect("slave name");
        // The daemon opens the slave by path; the master alone keeps the pair alive.
        drop(slave);
        master
            .set_timeout(Duration::from_millis(5))
            .expect("timeout");
        let emulator = Arc::new(Mutex::new(RadioEmulator::new(identity)));
        let shared = Arc::clone(&emulator);
        std::thread::spawn(move || {
            let mut grants: Vec<(Instant, u16)> = Vec::new();
            let mut buf = [0u8; 512];
            loop {
                // A read timeout is the pump's tick: it also lets due grants go out.
                let n = master.read(&mut buf).unwrap_or(0);
                let mut radio = shared.lock().expect("emulator lock");
                radio.handle_bytes(&buf[..n]);
                while let Some(action) = radio.poll_action() {
                    match action {
                        RadioAction::SetupGroupCall { cc, .. } => radio.network_call_connected(cc),
                        RadioAction::DemandTransmit { cc } => {
                            grants.push((Instant::now() + grant_delay, cc))
                        }
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
                // The daemon may be gone at the end of a test: a failed write ends the pump.
                if let Some(out) = radio.poll_transmit()
                    && master.write_all(&out).is_err()
                {
                    return;
                }
            }
        });
        PtyRadio { emulator, path }
    }

    /// Every command line the radio received, in order.
    pub fn commands(&self) -> Vec<String> {
        self.emulator
            .lock()
            .expect("emulator lock")
            .commands()
            .to_vec()
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
