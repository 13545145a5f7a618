//! systemd's service notification protocol (`sd_notify(3)`), in the few lines it takes: one
//! datagram per state change on the Unix socket named by `NOTIFY_SOCKET`.
//!
//! The daemon says `READY=1` once its main loop runs, `STOPPING=1` when it starts releasing its
//! transmitters, and — when the unit has `WatchdogSec=` (systemd then sets `WATCHDOG_USEC`) —
//! `WATCHDOG=1` at half that interval, **from the main loop only**. That is the point: a loop
//! that hangs (a blocking call, a livelock) stops the pings, systemd kills the daemon
//! (`SIGABRT`, then `SIGKILL`), and the interface board, no longer hearing its host, drops every
//! PTT line and switches off the radios keyed over PEI (see `docs/wire.md`, "PEI power guard").
//! A ping from another thread would keep a hung daemon alive, its radios on the air.
//!
//! Without `NOTIFY_SOCKET` (not under systemd, or `Type=simple`) nothing is sent. Send errors
//! are logged, never fatal: the service manager's absence must not stop the radios.

use std::os::unix::net::UnixDatagram;

use borderlink_protocol::time::{Duration, Instant};
use tracing::{info, warn};

/// The notification socket and, if the unit asked for one, the watchdog's ping schedule.
#[derive(Debug)]
pub(super) struct Notifier {
    socket: UnixDatagram,
    target: std::os::unix::net::SocketAddr,
    /// Half the watchdog interval: how often the main loop pings.
    ping_every: Option<Duration>,
    next_ping: Option<Instant>,
}

impl Notifier {
    /// The notifier the environment asks for, if any: `NOTIFY_SOCKET` (a path, or `@name` in
    /// the abstract namespace), and `WATCHDOG_USEC` when it is meant for this process
    /// (`WATCHDOG_PID` unset or ours).
    pub(super) fn from_env(now: Instant) -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let target = match socket_addr(&path) {
            Ok(addr) => addr,
            Err(e) => {
                warn!(cause = %e, socket = ?path, "NOTIFY_SOCKET unusable: systemd is not told how the daemon is");
                return None;
            }
        };
        let socket = match UnixDatagram::unbound() {
            Ok(socket) => socket,
            Err(e) => {
                warn!(cause = %e, "cannot open a socket for systemd notifications");
                return None;
            }
        };
        let ours = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|pid| pid.trim() == std::process::id().to_string());
        let ping_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.trim().parse::<u64>().ok())
            .filter(|&usec| usec > 0 && ours)
            .map(|usec| Duration::from_micros(usec / 2));
        if let Some(every) = ping_every {
            info!(
                ping_ms = every.as_millis(),
                "systemd watchdog: pinged from the main loop"
            );
        }
        Some(Notifier {
            socket,
            target,
            ping_every,
            next_ping: ping_every.map(|_| now),
        })
    }

    /// The main loop runs: `READY=1` (and a first ping).
    pub(super) fn ready(&mut self, now: Instant) {
        self.send("READY=1");
        self.ping_if_due(now);
    }

    /// Shutdown has begun.
    pub(super) fn stopping(&mut self) {
        self.send("STOPPING=1");
    }

    /// When the main loop must next call [`ping_if_due`](Self::ping_if_due).
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.next_ping
    }

    /// `WATCHDOG=1` if a ping is due at `now`. Called by the main loop, after the work of each
    /// turn, so only a loop that still turns keeps the daemon alive.
    pub(super) fn ping_if_due(&mut self, now: Instant) {
        let (Some(every), Some(next)) = (self.ping_every, self.next_ping) else {
            return;
        };
        if now < next {
            return;
        }
        self.send("WATCHDOG=1");
        self.next_ping = Some(now + every);
    }

    fn send(&self, state: &str) {
        if let Err(e) = self.socket.send_to_addr(state.as_bytes(), &self.target) {
            warn!(cause = %e, state, "systemd notification not sent");
        }
    }
}

/// The address `NOTIFY_SOCKET` names: a filesystem path, or `@name` for Linux's abstract
/// namespace.
fn socket_addr(path: &std::ffi::OsStr) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
        }
        None => std::os::unix::net::SocketAddr::from_pathname(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long a test waits for a notification.
    const TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

    fn notifier(dir: &std::path::Path, every: Option<Duration>) -> (Notifier, UnixDatagram) {
        let path = dir.join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(TEST_WAIT)).unwrap();
        let notifier = Notifier {
            socket: UnixDatagram::unbound().unwrap(),
            target: std::os::unix::net::SocketAddr::from_pathname(&path).unwrap(),
            ping_every: every,
            next_ping: every.map(|_| Instant::ZERO),
        };
        (notifier, listener)
    }

    fn recv(listener: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn pings_only_when_the_main_loop_turns_at_half_the_interval() {
        let dir = tempdir();
        let (mut n, listener) = notifier(&dir, Some(Duration::from_millis(500)));
        n.ready(Instant::ZERO);
        assert_eq!(recv(&listener), "READY=1");
        assert_eq!(recv(&listener), "WATCHDOG=1");
        assert_eq!(n.poll_timeout(), Some(Instant::from_millis(500)));
        // A loop that does not come back sends nothing: nothing here runs by itself.
        listener.set_nonblocking(true).unwrap();
        n.ping_if_due(Instant::from_millis(499));
        let mut buf = [0u8; 16];
        assert!(listener.recv(&mut buf).is_err(), "not due yet");
        n.ping_if_due(Instant::from_millis(500));
        listener.set_nonblocking(false).unwrap();
        assert_eq!(recv(&listener), "WATCHDOG=1");
        n.stopping();
        assert_eq!(recv(&listener), "STOPPING=1");
    }

    #[test]
    fn without_a_watchdog_only_states_are_sent() {
        let dir = tempdir();
        let (mut n, listener) = notifier(&dir, None);
        n.ready(Instant::ZERO);
        assert_eq!(recv(&listener), "READY=1");
        assert_eq!(n.poll_timeout(), None);
        n.ping_if_due(Instant::from_millis(10_000));
        n.stopping();
        assert_eq!(recv(&listener), "STOPPING=1");
    }

    #[test]
    fn an_abstract_socket_name_is_understood() {
        let addr = socket_addr(std::ffi::OsStr::new("@borderlink-test")).unwrap();
        use std::os::linux::net::SocketAddrExt;
        assert_eq!(addr.as_abstract_name(), Some(&b"borderlink-test"[..]));
        let path = socket_addr(std::ffi::OsStr::new("/run/systemd/notify")).unwrap();
        assert_eq!(
            path.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
    }

    fn tempdir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "borderlink-notify-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
