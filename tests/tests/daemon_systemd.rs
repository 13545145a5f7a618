//! `borderlinkd` under systemd's notification protocol, against a fake notify socket: it says
//! `READY=1` once its main loop runs and, with `WATCHDOG_USEC` set, pings `WATCHDOG=1` at half
//! that interval from the main loop; `STOPPING=1` on SIGTERM. (That only the main loop pings,
//! so a hung loop gets the daemon killed, is the notifier's unit test.)

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use borderlink_tests::{binary, sigterm};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    let dir = std::env::temp_dir().join(format!("borderlinkd-systemd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("fake notify socket");
    let config = dir.join("site.toml");
    // A radio whose port does not exist: the daemon runs (and retries the port) all the same.
    let listen = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port");
    std::fs::write(
        &config,
        format!(
            r#"
[site]
id = 1
name = "systemd test"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "/dev/borderlink-test-no-such-port"
issi = "02060000109000001"
group = "02060000102061001"
udp = {{ listen = "{listen}", peer = "127.0.0.1:9", format = "pcma" }}
"#
        ),
    )
    .expect("config");
    let daemon = Daemon(
        Command::new(binary("borderlinkd"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .env("NOTIFY_SOCKET", &socket_path)
            // 400 ms: a ping every 200 ms.
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start borderlinkd"),
    );
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
    sigterm(&daemon.0);
    let stop = next(&socket, Instant::now() + Duration::from_secs(3));
    assert_eq!(stop.as_deref(), Some("STOPPING=1"));
}
