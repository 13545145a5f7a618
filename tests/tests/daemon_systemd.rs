//! `borderlinkd` under systemd's notification protocol, against a fake notify socket: it says
//! `READY=1` once its main loop runs and, with `WATCHDOG_USEC` set, pings `WATCHDOG=1` at half
//! that interval from the main loop; `STOPPING=1` on SIGTERM. (That only the main loop pings,
//! so a hung loop gets the daemon killed, is the notifier's unit test.)

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use borderlink_tests::border::{ASTRID_GROUP, ASTRID_RADIO};
use borderlink_tests::config::{Radio, SiteConfig};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::free_udp;
use borderlink_tests::sigterm;
use borderlink_tests::temp::TempDir;

/// The next notification, or `None` once `deadline` has passed.
fn next(socket: &UnixDatagram, deadline: Instant) -> Option<String> {
    let left = deadline.checked_duration_since(Instant::now())?;
    socket
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .expect("timeout");
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn under_systemd_it_says_ready_pings_the_watchdog_from_its_loop_and_says_stopping() {
    let dir = TempDir::new("systemd");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("fake notify socket");
    // A radio whose port does not exist: the daemon runs (and retries the port) all the same.
    let config = SiteConfig::new(1, "systemd test")
        .radio(
            Radio::new("astrid", ASTRID_RADIO, ASTRID_GROUP)
                .serial("/dev/borderlink-test-no-such-port")
                .udp(free_udp(), "127.0.0.1:9".parse().expect("address")),
        )
        .write(&dir.join("site.toml"));
    let mut command = Daemon::command(&config);
    command
        .env("NOTIFY_SOCKET", &socket_path)
        // 400 ms: a ping every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID");
    let daemon = Daemon::spawn(command);
    let start = Instant::now();
    let first = next(&socket, start + Duration::from_secs(20)).expect("READY=1");
    assert_eq!(first, "READY=1");
    let ready = Instant::now();
    let mut pings = 0;
    while let Some(message) = next(&socket, ready + Duration::from_millis(1_100)) {
        assert_eq!(message, "WATCHDOG=1");
        pings += 1;
    }
    // One at once, then every 200 ms: about 6 in 1.1 s; a loaded machine may delay a few.
    assert!(pings >= 3, "{pings} watchdog pings in 1.1 s");
    sigterm(&daemon.child);
    let stop = next(&socket, Instant::now() + Duration::from_secs(3));
    assert_eq!(stop.as_deref(), Some("STOPPING=1"));
}
