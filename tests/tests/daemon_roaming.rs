//! The real `borderlinkd` with semi-roaming configured, against two emulated radios on
//! pseudo-terminals: a unit's status request creates the cross-border patch (a call on the
//! home group then goes out on the mirror group) and the acknowledgement reaches the unit
//! through the radio that heard it, as `AT+CTSDS` and `AT+CMGS`.

use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use borderlink_protocol::ids::{PeiIdentity, Tsi};
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::{binary, sigterm};

const GRANT_DELAY: Duration = Duration::from_millis(200);

/// A viewer's token: dispatch reads the roaming events.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn tsi(mcc: u16, ssi: u32) -> Tsi {
    Tsi::from_parts(mcc, 1, ssi).expect("valid TSI")
}

struct Daemon {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback socket for a radio's audio, and a free address for the daemon's end.
fn audio_pair() -> (UdpSocket, std::net::SocketAddr) {
    let ours = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let probe = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let theirs = probe.local_addr().expect("addr");
    drop(probe);
    (ours, theirs)
}

#[test]
fn a_status_request_creates_the_patch_and_the_ack_reaches_the_radio() {
    let astrid = PtyRadio::start(tsi(206, 9_000_001), GRANT_DELAY);
    let c2000 = PtyRadio::start(tsi(204, 9_000_101), GRANT_DELAY);
    let (a_audio, a_daemon) = audio_pair();
    let (c_audio, c_daemon) = audio_pair();
    let dir = std::env::temp_dir().join(format!("borderlinkd-roaming-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let api_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let api = format!("http://127.0.0.1:{api_port}");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("wallboard viewer BE {TOKEN}\n")).expect("tokens");
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // No static patch: the two groups are a mirror, on demand.
    let config = format!(
        r#"
gateway_radios = []

[site]
id = 1
name = "test site"

[[radios]]
name = "astrid"
network = "ASTRID"
serial = "{a_path}"
issi = "02060000109000001"
group = "02060000102061001"
udp = {{ listen = "{a_daemon}", peer = "{a_peer}", format = "pcma" }}

[[radios]]
name = "c2000"
network = "C2000"
serial = "{c_path}"
issi = "02040000109000101"
group = "02040000102040551"
udp = {{ listen = "{c_daemon}", peer = "{c_peer}", format = "pcma" }}

[aliases]
"02060000100120012" = "BE-POL Turnhout 12"

[triggers]
request = 0x8001
end = 0x8003
reply = "status"
ack = 0x8101
refuse = 0x8102

[[mirrors]]
name = "Baarle police"
home = {{ site = 1, network = "ASTRID", group = "02060000102061001" }}
mirror = {{ site = 1, network = "C2000", group = "02040000102040551" }}
mode = "on-demand"

[api]
listen = "127.0.0.1:{api_port}"
token_file = "{tokens}"
"#,
        tokens = tokens.display(),
        a_path = astrid.path,
        c_path = c2000.path,
        a_peer = a_audio.local_addr().expect("addr"),
        c_peer = c_audio.local_addr().expect("addr"),
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, config).expect("write config");
    let mut daemon = Daemon {
        child: Command::new(binary("borderlinkd"))
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start borderlinkd"),
        dir,
    };
    for radio in [&astrid, &c2000] {
        assert!(
            radio.wait_for("AT+CSQ?", Duration::from_secs(20)),
            "radio not initialised: {:?}",
            radio.commands()
        );
    }

    // Before the request, a call on the home group goes nowhere.
    let talker = tsi(206, 1_234_567);
    let home = tsi(206, 2_061_001);
    let call = |n: u8| {
        let cc = {
            let mut radio = astrid.emulator.lock().expect("lock");
            let cc = radio.network_incoming_group_call(talker, home, 3);
            radio.network_talker(cc, talker);
            cc
        };
        for i in 0..n {
            let mut f = [0xaa; 160];
            f[0] = i;
            a_audio.send_to(&f, a_daemon).expect("send audio");
            std::thread::sleep(Duration::from_millis(20));
        }
        astrid
            .emulator
            .lock()
            .expect("lock")
            .network_talker_stopped(cc);
    };
    call(10);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")),
        "relayed without a patch: {:?}",
        c2000.commands()
    );

    // The Belgian unit, roaming on C2000, sends "request" to the C2000 gateway radio.
    let unit = tsi(206, 120_012);
    c2000.inject_status(unit, 0x8001);
    let ack = c2000
        .wait_for_sds(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply: {:?}", c2000.commands()));
    assert_eq!(ack.to, PeiIdentity::Tsi(unit), "to the unit, by full TSI");
    assert_eq!((ack.bits, ack.data.as_slice()), (16, &[0x81, 0x01][..]));
    let commands = c2000.commands();
    let select = commands
        .iter()
        .position(|c| c == "AT+CTSDS=13,1")
        .unwrap_or_else(|| panic!("{commands:?}"));
    assert!(
        commands[select + 1].starts_with("AT+CMGS=02060000100120012,16"),
        "{commands:?}"
    );

    // The patch is up: a call on the home group now goes out on the mirror group.
    call(10);
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && !c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        c2000.commands().iter().any(|c| c.starts_with("AT+CTXD")),
        "not relayed after the request: {:?}",
        c2000.commands()
    );

    // Dispatch sees who asked (call sign from the alias table), the mirror up, and the
    // talker's call sign on the patch.
    let out = Command::new(binary("borderlink"))
        .args(["status", "--api", &api])
        .env("BORDERLINK_TOKEN_FILE", &tokens)
        .output()
        .expect("borderlink");
    assert!(out.status.success(), "{out:?}");
    let body: serde_json::Value = {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(format!("{api}/api/v1/roaming"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .expect("GET /api/v1/roaming");
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON")
    };
    assert_eq!(body["mirrors"][0]["name"], "Baarle police", "{body}");
    assert!(body["mirrors"][0]["patch"].is_u64(), "mirror up: {body}");
    let events: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        events.iter().any(|e| e.starts_with("BE-POL Turnhout 12")
            && e.contains("Baarle police")
            && e.ends_with("done")),
        "{events:?}"
    );

    sigterm(&daemon.child);
    let status = daemon.child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
}
