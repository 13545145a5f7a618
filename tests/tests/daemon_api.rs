//! The control API of the real `borderlinkd`: every route answered, every refusal a 4xx with
//! a JSON error naming the field, changes only with a bearer token and always audited, the
//! Prometheus page, the CLI on top of it, a force-release cutting a live transmission, and
//! dynamic patches surviving a restart (a corrupt state file set aside, never used).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_sim::pty::radio::PtyRadio;
use borderlink_tests::api::ApiClient;
use borderlink_tests::audio::Audio;
use borderlink_tests::border::{
    ASTRID_GROUP, ASTRID_RADIO, ASTRID_TALKER, C2000_GROUP, C2000_RADIO, digits, tsi,
};
use borderlink_tests::cli::cli;
use borderlink_tests::config::{Api, Mirror, Patch, Radio, SiteConfig, Sovereignty};
use borderlink_tests::daemon::Daemon;
use borderlink_tests::loopback::{free_tcp, free_udp};
use borderlink_tests::radio::{field_call, field_call_ends};
use borderlink_tests::secrets::{Token, token_file};
use borderlink_tests::temp::TempDir;
use serde_json::{Value, json};

/// Belgian dispatch's token (`dispatch-be dispatcher BE`).
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// Dutch dispatch's token (`dispatch-nl dispatcher NL`).
const NL_TOKEN: &str = "1123456789abcdef0123456789abcdef";
/// A read-only token (`wallboard viewer BE`).
const VIEWER_TOKEN: &str = "2123456789abcdef0123456789abcdef";
/// The second pair of groups, each with a radio of its own, for dynamic patches.
const OTHER_ASTRID_GROUP: Tsi = tsi(206, 2_061_002);
const OTHER_C2000_GROUP: Tsi = tsi(204, 2_040_552);

/// A site directory with config, token file, audit log and state file, and its radios.
struct Site {
    /// The daemon while it runs.
    daemon: Option<Daemon>,
    /// What the config file holds, for a test to change and write again.
    config: SiteConfig,
    config_path: PathBuf,
    tokens: PathBuf,
    api: ApiClient,
    astrid: PtyRadio,
    c2000: PtyRadio,
    /// The radios on the second pair of groups, for dynamic patches.
    _others: [PtyRadio; 2],
    a_audio: Audio,
    _c_audio: Audio,
    dir: TempDir,
}

impl Site {
    fn new(name: &str) -> Site {
        Site::with(name, |config| config)
    }

    /// A site whose config `extra` adds to (sovereignty rules, mirrors).
    fn with(name: &str, extra: impl FnOnce(SiteConfig) -> SiteConfig) -> Site {
        let dir = TempDir::new(&format!("api-{name}"));
        let tokens = token_file(
            dir.path(),
            &[
                Token {
                    name: "dispatch-be",
                    role: "dispatcher",
                    country: "BE",
                    secret: TOKEN,
                },
                Token {
                    name: "dispatch-nl",
                    role: "dispatcher",
                    country: "NL",
                    secret: NL_TOKEN,
                },
                Token {
                    name: "wallboard",
                    role: "viewer",
                    country: "BE",
                    secret: VIEWER_TOKEN,
                },
            ],
        );
        let grant_delay = Duration::from_millis(150);
        let astrid = PtyRadio::start(ASTRID_RADIO, grant_delay);
        let c2000 = PtyRadio::start(C2000_RADIO, grant_delay);
        let (astrid_2, c2000_2) = (tsi(206, 9_000_002), tsi(204, 9_000_102));
        let others = [
            PtyRadio::start(astrid_2, grant_delay),
            PtyRadio::start(c2000_2, grant_delay),
        ];
        let (a_audio, c_audio) = (Audio::new(), Audio::new());
        let (a2_daemon, c2_daemon) = (free_udp(), free_udp());
        let listen = free_tcp();
        let config = SiteConfig::new(1, "Baarle-Hertog")
            .radio(
                Radio::new("astrid", ASTRID_RADIO, ASTRID_GROUP)
                    .serial(&astrid.path)
                    .audio(&a_audio),
            )
            .radio(
                Radio::new("astrid-2", astrid_2, OTHER_ASTRID_GROUP)
                    .serial(&others[0].path)
                    .udp(a2_daemon, a2_daemon),
            )
            .radio(
                Radio::new("c2000-2", c2000_2, OTHER_C2000_GROUP)
                    .serial(&others[1].path)
                    .udp(c2_daemon, c2_daemon),
            )
            .radio(
                Radio::new("c2000", C2000_RADIO, C2000_GROUP)
                    .serial(&c2000.path)
                    .audio(&c_audio),
            )
            .patch(Patch::border(1, 1))
            .api(Api::new(listen, &tokens).audit_log(&dir.join("audit.log")))
            .state(&dir.join("patches.json"));
        let config = extra(config);
        let config_path = config.write(&dir.join("site.toml"));
        Site {
            daemon: None,
            config,
            config_path,
            tokens,
            api: ApiClient::new(listen),
            astrid,
            c2000,
            _others: others,
            a_audio,
            _c_audio: c_audio,
            dir,
        }
    }

    /// Changes the config file, for the next start.
    fn rewrite(&mut self, change: impl FnOnce(SiteConfig) -> SiteConfig) {
        self.config = change(self.config.clone());
        self.config.write(&self.config_path);
    }

    fn start(&mut self) {
        self.daemon = Some(Daemon::start(&self.config_path));
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, _)) = self.try_call("GET", "/health", None, None) {
                break;
            }
            assert!(Instant::now() < end, "the API did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        let status = self.daemon.take().expect("running").stop();
        assert!(status.success(), "{status:?}");
    }

    /// Kills the daemon outright (SIGKILL): nothing it has not saved yet survives.
    fn kill(&mut self) {
        self.daemon.take().expect("running").kill();
    }

    fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, String), ureq::Error> {
        self.api.try_call(method, path, token, body)
    }

    /// The API's address, for raw sockets.
    fn addr(&self) -> &str {
        self.api.addr()
    }

    /// Sends `request` as raw bytes and reads until the daemon closes the connection or
    /// `deadline` passes; the text read and whether the daemon closed it.
    fn raw(&self, request: &[u8], deadline: Duration) -> (String, bool) {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(self.addr()).expect("connect");
        stream.write_all(request).expect("send");
        read_until_closed(&mut stream, deadline)
    }

    /// A request that must get an answer: (status, JSON body or the text as a JSON string).
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        self.api.call(method, path, token, body)
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    fn cli(&self, args: &[&str], token: bool) -> std::process::Output {
        cli(
            args,
            self.api.base(),
            token.then_some(self.tokens.as_path()),
        )
    }
}

/// Reads from `stream` until the peer closes it or `deadline` passes: what was read, and
/// whether the peer closed.
fn read_until_closed(stream: &mut std::net::TcpStream, deadline: Duration) -> (String, bool) {
    use std::io::Read;
    let end = Instant::now() + deadline;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&text).into_owned(), false);
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&text).into_owned(), true),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (String::from_utf8_lossy(&text).into_owned(), false);
            }
            // A reset is the daemon closing too.
            Err(_) => return (String::from_utf8_lossy(&text).into_owned(), true),
        }
    }
}

fn patch_body(name: &str) -> String {
    json!({
        "name": name,
        "channels": [
            {"site": 1, "network": "ASTRID", "group": digits(OTHER_ASTRID_GROUP)},
            {"site": 1, "network": "C2000", "group": digits(OTHER_C2000_GROUP)},
        ],
        "lifetime": "2h",
    })
    .to_string()
}

fn error_field(v: &Value) -> Option<&str> {
    v["field"].as_str()
}

#[test]
fn every_route_answers_and_every_refusal_names_what_is_wrong() {
    let mut site = Site::new("routes");
    site.start();

    // Status: the site, both radios (initialised by now or soon), no board.
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let (code, status) = site.call("GET", "/api/v1/status", Some(TOKEN), None);
        assert_eq!(code, 200, "{status}");
        if status["radios"]
            .as_array()
            .is_some_and(|r| r.iter().all(|r| r["state"] == "ready"))
        {
            break status;
        }
        assert!(Instant::now() < end, "radios not ready: {status}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status["site"], 1);
    assert_eq!(status["name"], "Baarle-Hertog");
    assert_eq!(status["radios"][0]["name"], "astrid");
    // Frames dropped outside the engine, by cause: none on an idle site, but shown.
    assert_eq!(
        status["radios"][0]["frames_dropped"],
        json!({ "capture_queue_full": 0, "playback_queue_full": 0, "no_call": 0 })
    );
    let c2000 = status["radios"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "c2000"))
        .expect("c2000 listed");
    assert_eq!(c2000["identity"], "02040000109000101");
    assert_eq!(c2000["network"], "C2000");
    assert_eq!(status["patches"], 1);

    // The static patch is listed and cannot be changed through the API.
    let (code, patches) = site.call("GET", "/api/v1/patches", Some(TOKEN), None);
    assert_eq!(code, 200);
    assert_eq!(patches[0]["name"], "border");
    assert_eq!(patches[0]["kind"], "static");
    let static_id = patches[0]["id"].as_u64().expect("id");

    // Changes without a token, with another scheme, or with a wrong token: 401.
    let body = patch_body("Baarle pursuit");
    for token in [None, Some("ffffffffffffffffffffffffffffffff")] {
        let (code, e) = site.call("POST", "/api/v1/patches", token, Some(&body));
        assert_eq!(code, 401, "{e}");
        assert!(e["error"].as_str().is_some(), "{e}");
    }

    // Bad bodies: each names its field.
    let cases: [(String, u16, Option<&str>); 8] = [
        (
            body.replace("\"site\":1}]", "\"site\":\"two\"}]"),
            400,
            Some("channels[1].site"),
        ),
        // A site that is neither this one nor a peer.
        (
            body.replace("\"site\":1}]", "\"site\":7}]"),
            400,
            Some("channels[1].site"),
        ),
        // A group of this site that none of its radios works on.
        (
            body.replace(&digits(OTHER_ASTRID_GROUP), "02060000102069999"),
            400,
            Some("channels[0]"),
        ),
        (
            body.replace(&digits(OTHER_C2000_GROUP), "0204x"),
            400,
            Some("channels[1].group"),
        ),
        (body.replace("\"2h\"", "\"soon\""), 400, Some("lifetime")),
        (
            body.replace("\"name\":\"Baarle pursuit\"", "\"name\":\" \""),
            400,
            Some("name"),
        ),
        ("{\"name\":\"x\"".to_owned(), 400, None),
        // The group is in the static patch already: a conflict, on the channel.
        (
            body.replace(&digits(OTHER_ASTRID_GROUP), &digits(ASTRID_GROUP)),
            409,
            Some("channels[0]"),
        ),
    ];
    for (bad, code, field) in &cases {
        let (got, e) = site.call("POST", "/api/v1/patches", Some(TOKEN), Some(bad));
        assert_eq!(got, *code, "{bad}: {e}");
        assert_eq!(error_field(&e), *field, "{bad}: {e}");
    }
    let (code, e) = site.call(
        "POST",
        "/api/v1/patches",
        Some(TOKEN),
        Some(&body.replace("\"lifetime\"", "\"lifetyme\"")),
    );
    assert_eq!(code, 400);
    assert!(
        e["error"].as_str().expect("error").contains("lifetyme"),
        "{e}"
    );

    // Create, read, modify, release (nobody talks), remove.
    let (code, created) = site.call("POST", "/api/v1/patches", Some(TOKEN), Some(&body));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["kind"], "dynamic");
    assert_eq!(created["created_by"], "dispatch-be");
    let expires = created["expires_in_s"].as_f64().expect("lifetime");
    assert!((7190.0..=7200.0).contains(&expires), "{created}");
    let id = created["id"].as_u64().expect("id");
    let (code, got) = site.call("GET", &format!("/api/v1/patches/{id}"), Some(TOKEN), None);
    assert_eq!((code, &got["name"]), (200, &json!("Baarle pursuit")));
    let (code, e) = site.call("GET", "/api/v1/patches/999", Some(TOKEN), None);
    assert_eq!(code, 404, "{e}");
    let (code, e) = site.call("GET", "/api/v1/patches/abc", Some(TOKEN), None);
    assert_eq!((code, error_field(&e)), (400, Some("id")), "{e}");
    let renamed = body.replace("Baarle pursuit", "Baarle pursuit (A16)");
    let (code, modified) = site.call(
        "PUT",
        &format!("/api/v1/patches/{id}"),
        Some(TOKEN),
        Some(&renamed),
    );
    assert_eq!(
        (code, &modified["name"]),
        (200, &json!("Baarle pursuit (A16)")),
        "{modified}"
    );
    let (code, e) = site.call(
        "DELETE",
        &format!("/api/v1/patches/{static_id}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(code, 409, "{e}");
    assert!(
        e["error"].as_str().expect("error").contains("config file"),
        "{e}"
    );
    let (code, released) = site.call(
        "POST",
        &format!("/api/v1/patches/{id}/release"),
        Some(TOKEN),
        None,
    );
    assert_eq!(code, 200, "{released}");
    assert_eq!(released["released"], Value::Null);
    let (code, talkers) = site.call("GET", "/api/v1/talkers", Some(TOKEN), None);
    assert_eq!(code, 200);
    assert_eq!(talkers.as_array().expect("list").len(), 2, "{talkers}");
    let (code, removed) = site.call(
        "DELETE",
        &format!("/api/v1/patches/{id}"),
        Some(TOKEN),
        None,
    );
    assert_eq!((code, &removed["id"]), (200, &json!(id)));
    let (code, _) = site.call(
        "DELETE",
        &format!("/api/v1/patches/{id}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(code, 404);
    let (code, e) = site.call("GET", "/api/v1/nothing", None, None);
    assert_eq!(code, 404);
    assert!(e["error"].is_string(), "{e}");

    // Metrics: engine, radios and the API's own counter.
    let (code, text) = site
        .try_call("GET", "/metrics", Some(TOKEN), None)
        .expect("metrics");
    assert_eq!(code, 200);
    assert!(text.contains("borderlink_frames_received_total"), "{text}");
    assert!(
        text.contains("borderlink_radio_up{radio=\"astrid\",network=\"ASTRID\"} 1"),
        "{text}"
    );
    for cause in ["capture_queue_full", "playback_queue_full", "no_call"] {
        assert!(
            text.contains(&format!(
                "borderlink_radio_frames_dropped_total{{radio=\"astrid\",network=\"ASTRID\",cause=\"{cause}\"}} 0"
            )),
            "{text}"
        );
    }
    assert!(
        text.contains("borderlink_api_requests_total{route=\"/api/v1/patches\",status=\"401\"} 2"),
        "{text}"
    );

    // The audit trail: refused tokens, refused bodies and each change, with who and what.
    let audit = site.audit();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["who"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("auth.refused", "anonymous"))
            .count(),
        2,
        "{actions:?}"
    );
    for action in [
        "patch.create",
        "patch.modify",
        "patch.remove",
        "floor.release",
    ] {
        assert!(
            audit
                .iter()
                .any(|r| r["action"] == action && r["who"] == "dispatch-be" && r["result"] == "ok"),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(
        audit.iter().any(|r| r["action"] == "patch.create"
            && r["result"]
                .as_str()
                .is_some_and(|s| s.starts_with("refused (409)"))),
        "a refused change is audited too: {audit:?}"
    );
    site.stop();
}

#[test]
fn a_dispatcher_cuts_a_live_transmission() {
    let mut site = Site::new("release");
    site.start();
    assert!(site.c2000.wait_for("AT+CSQ?", Duration::from_secs(20)));
    assert!(site.astrid.wait_for("AT+CSQ?", Duration::from_secs(20)));
    // A field unit talks on ASTRID: the patch relays it to C2000.
    let cc = field_call(&site.astrid, ASTRID_TALKER, ASTRID_GROUP);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let socket = site.a_audio.socket.try_clone().expect("clone");
        let to = site.a_audio.daemon;
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            // Until the test says stop; the bound only keeps a failed test from leaking the
            // thread, and is long enough for a CLI build on a loaded machine.
            let end = Instant::now() + Duration::from_secs(60);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < end {
                let _ = socket.send_to(&[0xaa; 160], to);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let end = Instant::now() + Duration::from_secs(10);
    let patch = loop {
        let (_, talkers) = site.call("GET", "/api/v1/talkers", Some(TOKEN), None);
        if let Some(p) = talkers
            .as_array()
            .and_then(|t| t.iter().find(|p| !p["talker"].is_null()))
        {
            break p.clone();
        }
        assert!(Instant::now() < end, "no talker shown: {talkers}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(patch["talker"]["talker"], "02060000101234567", "{patch}");
    assert_eq!(patch["talker"]["network"], "ASTRID");
    assert!(
        site.c2000.wait_for("AT+CTXD=", Duration::from_secs(5)),
        "{:?}",
        site.c2000.commands()
    );

    // The CLI cuts it: the C2000 radio ceases transmit while the unit still talks.
    let id = patch["patch"].as_u64().expect("id").to_string();
    let out = site.cli(&["release", &id], true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("released 02060000101234567"), "{text}");
    assert!(
        site.c2000.wait_for("AT+CUTXC=", Duration::from_secs(5)),
        "{:?}",
        site.c2000.commands()
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    sender.join().expect("sender");
    field_call_ends(&site.astrid, cc);
    site.stop();
}

#[test]
fn the_cli_lists_adds_and_removes_patches() {
    let mut site = Site::new("cli");
    site.start();
    let out = site.cli(&["status"], true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("site 1 \"Baarle-Hertog\""), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("astrid") && l.contains("ASTRID")),
        "{text}"
    );

    let add = [
        "patch",
        "add",
        "--name",
        "pursuit",
        "--channel",
        &format!("1:ASTRID:{}", digits(OTHER_ASTRID_GROUP)),
        "--channel",
        &format!("1:C2000:{}", digits(OTHER_C2000_GROUP)),
        "--inactivity-timeout",
        "30min",
    ];
    let refused = site.cli(&add, false);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--token-file"),
        "{refused:?}"
    );

    let out = site.cli(&add, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("created patch"),
        "{out:?}"
    );

    let out = site.cli(&["patch", "ls", "--json"], true);
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON list");
    let pursuit = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["name"] == "pursuit")
        .expect("listed")
        .clone();
    assert_eq!(pursuit["created_by"], "dispatch-be");

    let out = site.cli(&["patch", "ls"], true);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("pursuit") && l.contains("dynamic (dispatch-be)")),
        "{table}"
    );

    // A bad channel is the API's refusal, printed with its field.
    let bad = site.cli(
        &[
            "patch",
            "add",
            "--name",
            "x",
            "--channel",
            "1:ASTRID:0206",
            "--channel",
            "2:C2000:1",
        ],
        true,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("channels[0].group"),
        "{bad:?}"
    );

    let id = pursuit["id"].to_string();
    let out = site.cli(&["patch", "rm", &id], true);
    assert!(out.status.success(), "{out:?}");
    let out = site.cli(&["patch", "rm", &id], true);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{out:?}"
    );
    site.stop();
}

fn dynamic_names(site: &Site) -> Vec<(u64, String)> {
    let (_, patches) = site.call("GET", "/api/v1/patches", Some(TOKEN), None);
    patches
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["kind"] == "dynamic")
        .map(|p| {
            (
                p["id"].as_u64().expect("id"),
                p["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect()
}

#[test]
fn dynamic_patches_survive_a_restart_and_a_corrupt_state_is_set_aside() {
    let mut site = Site::new("restart");
    site.start();
    let (code, created) = site.call(
        "POST",
        "/api/v1/patches",
        Some(TOKEN),
        Some(&patch_body("pursuit")),
    );
    assert_eq!(code, 201, "{created}");
    let id = created["id"].as_u64().expect("id");
    site.stop();
    let with_pursuit: Value =
        serde_json::from_slice(&std::fs::read(site.dir.join("patches.json")).expect("state"))
            .expect("json");

    site.start();
    assert_eq!(dynamic_names(&site), vec![(id, "pursuit".to_owned())]);
    let (_, again) = site.call("GET", &format!("/api/v1/patches/{id}"), Some(TOKEN), None);
    assert_eq!(again["created_by"], "dispatch-be");
    assert!(again["expires_in_s"].as_f64().expect("lifetime kept") <= 7200.0);
    // A restart also keeps static patches as they are: one of each.
    assert_eq!(
        site.call("GET", "/api/v1/status", Some(TOKEN), None).1["patches"],
        2
    );
    site.stop();

    // The config file wins: a new static patch on the dynamic patch's group replaces it.
    site.rewrite(|config| {
        config.patch(
            Patch::new("second")
                .channel(1, OTHER_ASTRID_GROUP)
                .channel(1, OTHER_C2000_GROUP),
        )
    });
    site.start();
    assert!(dynamic_names(&site).is_empty());
    let (_, patches) = site.call("GET", "/api/v1/patches", Some(TOKEN), None);
    let names: Vec<&str> = patches
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["border", "second"]);
    site.stop();
    // The state file no longer holds it either.
    let saved: Value =
        serde_json::from_slice(&std::fs::read(site.dir.join("patches.json")).expect("state"))
            .expect("json");
    assert_eq!(saved["patches"]["patches"], json!([]), "{saved}");

    // A damaged file: the daemon starts without it and keeps it aside for an engineer.
    let state = site.dir.join("patches.json");
    std::fs::write(&state, b"{\"version\": 1, \"site\": 1, \"pat").expect("damage");
    site.start();
    assert!(dynamic_names(&site).is_empty());
    let aside: Vec<PathBuf> = std::fs::read_dir(site.dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains("patches.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).expect("kept"),
        b"{\"version\": 1, \"site\": 1, \"pat"
    );
    site.stop();

    // A well-formed file the engine refuses (one patch listed twice): set aside intact too
    // (the daemon does it before its state writer starts, so the writer cannot replace it
    // first).
    let mut twice = with_pursuit.clone();
    let record = twice["patches"]["patches"][0].clone();
    twice["patches"]["patches"]
        .as_array_mut()
        .expect("records")
        .push(record);
    let text = serde_json::to_vec(&twice).expect("json");
    std::fs::write(&state, &text).expect("refused state");
    site.start();
    assert!(dynamic_names(&site).is_empty());
    let aside: Vec<PathBuf> = std::fs::read_dir(site.dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains("patches.json.corrupt-"))
        .filter(|p| std::fs::read(p).is_ok_and(|kept| kept == text))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the refused file kept as written: {aside:?}"
    );
    site.stop();
}

/// Issue 20: with the save after an API delete removed, a deleted patch came back after a
/// restart and no test noticed. The answer to the delete comes only once it is saved, so a
/// daemon killed right after the answer starts without the patch.
#[test]
fn a_deleted_patch_stays_deleted_after_a_restart() {
    let mut site = Site::new("delete-restart");
    site.start();
    let mut ids = Vec::new();
    for name in ["first", "second"] {
        let (code, created) = site.call(
            "POST",
            "/api/v1/patches",
            Some(TOKEN),
            Some(&patch_body(name)),
        );
        assert_eq!(code, 201, "{created}");
        ids.push(created["id"].as_u64().expect("id"));
        // The two patches join the same groups: the first is deleted before the second.
        if name == "first" {
            let (code, _) = site.call(
                "DELETE",
                &format!("/api/v1/patches/{}", ids[0]),
                Some(TOKEN),
                None,
            );
            assert_eq!(code, 200);
        }
    }
    // Killed, not stopped: a stop saves the state on the way out and would hide a delete that
    // was answered before it was saved.
    site.kill();

    site.start();
    assert_eq!(dynamic_names(&site), vec![(ids[1], "second".to_owned())]);
    let (code, _) = site.call(
        "DELETE",
        &format!("/api/v1/patches/{}", ids[1]),
        Some(TOKEN),
        None,
    );
    assert_eq!(code, 200);
    site.kill();

    site.start();
    assert!(
        dynamic_names(&site).is_empty(),
        "a deleted patch came back: {:?}",
        dynamic_names(&site)
    );
    site.stop();
    let saved: Value =
        serde_json::from_slice(&std::fs::read(site.dir.join("patches.json")).expect("state"))
            .expect("json");
    assert_eq!(saved["patches"]["patches"], json!([]), "{saved}");
}

// ---- Security findings (issue 13, control API) ------------------------------------------

/// Sovereignty rules that forbid the second ASTRID group to be patched at all.
fn forbid_other_astrid(config: SiteConfig) -> SiteConfig {
    config.sovereignty(
        Network::Astrid,
        Sovereignty::default().allowed_groups(&[ASTRID_GROUP]),
    )
}

#[test]
fn a_dispatcher_cannot_patch_a_group_its_country_forbids() {
    let mut site = Site::with("forbidden", forbid_other_astrid);
    site.start();
    let (code, e) = site.call(
        "POST",
        "/api/v1/patches",
        Some(TOKEN),
        Some(&patch_body("forbidden")),
    );
    assert_eq!(code, 403, "{e}");
    assert_eq!(error_field(&e), Some("channels[0].group"), "{e}");
    assert!(
        e["error"]
            .as_str()
            .expect("error")
            .contains("may not be patched"),
        "{e}"
    );
    assert!(dynamic_names(&site).is_empty());
    site.stop();
}

/// A permanent mirror of the second pair of groups: roaming owns its patch.
fn mirror(config: SiteConfig) -> SiteConfig {
    config.mirror(Mirror::new(
        "Baarle police",
        (1, OTHER_ASTRID_GROUP),
        (1, OTHER_C2000_GROUP),
        "permanent",
    ))
}

#[test]
fn a_dispatcher_cannot_rewrite_or_remove_a_mirror_patch() {
    let mut site = Site::with("mirror", mirror);
    site.start();
    let end = Instant::now() + Duration::from_secs(10);
    let id = loop {
        if let Some((id, _)) = dynamic_names(&site).first() {
            break *id;
        }
        assert!(Instant::now() < end, "the mirror's patch did not come up");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Rewriting it would join the mirror group to anything, past the sovereignty checks
    // roaming made when it brought the mirror up.
    let (code, e) = site.call(
        "PUT",
        &format!("/api/v1/patches/{id}"),
        Some(TOKEN),
        Some(&patch_body("hijacked")),
    );
    assert_eq!(code, 409, "{e}");
    assert!(
        e["error"].as_str().expect("error").contains("mirror"),
        "{e}"
    );
    let (code, e) = site.call(
        "DELETE",
        &format!("/api/v1/patches/{id}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(code, 409, "{e}");
    assert_eq!(dynamic_names(&site).len(), 1);
    site.stop();
}

#[test]
fn reads_without_a_token_reveal_nothing() {
    let mut site = Site::new("reads");
    site.start();
    for path in [
        "/api/v1/status",
        "/api/v1/patches",
        "/api/v1/patches/1",
        "/api/v1/talkers",
        "/api/v1/roaming",
        "/api/v1/board/firmware",
        "/metrics",
    ] {
        let (code, body) = site.call("GET", path, None, None);
        assert_eq!(code, 401, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
        let (code, body) = site.call("GET", path, Some(TOKEN), None);
        assert_eq!(code, 200, "{path} with a token: {body}");
    }
    // Health stays open: a load balancer or systemd's watchdog has no token.
    assert_eq!(site.call("GET", "/health", None, None).0, 200);
    site.stop();
}

#[test]
fn a_browser_page_of_another_host_name_cannot_read_the_api() {
    // DNS rebinding: a page of evil.example, whose name now resolves to 127.0.0.1, asks the
    // daemon with the browser's Host header (and, here, a token it stole or guessed).
    let mut site = Site::new("rebinding");
    site.start();
    let request = format!(
        "GET /api/v1/talkers HTTP/1.1\r\nHost: evil.example:{}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n",
        site.addr().rsplit(':').next().expect("port")
    );
    let (answer, _) = site.raw(request.as_bytes(), Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    assert!(answer.contains("evil.example"), "{answer}");
    let request = b"GET /health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
    let (answer, _) = site.raw(request, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    // The listen address itself is fine.
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        site.addr()
    );
    let (answer, _) = site.raw(request.as_bytes(), Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    site.stop();
}

#[test]
fn a_half_sent_header_does_not_hold_a_connection_open() {
    let mut site = Site::new("slowloris");
    site.start();
    let started = Instant::now();
    let (_, closed) = site.raw(
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        Duration::from_secs(15),
    );
    assert!(closed, "the daemon kept a half-sent request open for 15 s");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    site.stop();
}

#[test]
fn many_half_open_connections_do_not_starve_a_new_client() {
    let mut site = Site::new("flood");
    site.start();
    let mut held = Vec::new();
    for _ in 0..200 {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(site.addr()).expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .expect("send");
        held.push(s);
    }
    // A new client is answered at once: served, or told the API is full.
    let started = Instant::now();
    let (code, body) = site.call("GET", "/health", None, None);
    assert!(code == 200 || code == 503, "{code}: {body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // And served once the half-open connections are cut (bounded by the header timeout).
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, _) = site.call("GET", "/health", None, None);
        if code == 200 {
            break;
        }
        assert!(
            Instant::now() < end,
            "still refused after the header timeout"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, closed) = read_until_closed(&mut held[0], Duration::from_secs(15));
    assert!(closed, "a half-open connection was never cut");
    site.stop();
}

#[test]
fn an_idle_connection_does_not_delay_shutdown() {
    let mut site = Site::new("idle");
    site.start();
    use std::io::Write;
    let mut idle = std::net::TcpStream::connect(site.addr()).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("send");
    let mut half = std::net::TcpStream::connect(site.addr()).expect("connect");
    half.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .expect("send");
    // The first connection got its answer and now idles in keep-alive.
    let end = Instant::now() + Duration::from_secs(5);
    let mut seen = String::new();
    while !seen.contains("\"ok\"") {
        assert!(Instant::now() < end, "no answer: {seen}");
        use std::io::Read;
        let mut buf = [0u8; 1024];
        idle.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let n = idle.read(&mut buf).expect("read");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let mut daemon = site.daemon.take().expect("running");
    let started = Instant::now();
    let status = daemon.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_change_that_cannot_be_saved_is_not_reported_as_made() {
    let mut site = Site::new("unsaved");
    // The state file in a directory of its own, which disappears under the daemon (a full
    // or failed disk, an fd limit: the write fails).
    let state_dir = site.dir.join("state");
    std::fs::create_dir_all(&state_dir).expect("state dir");
    site.rewrite(|config| config.state(&state_dir.join("patches.json")));
    site.start();
    std::fs::remove_dir_all(&state_dir).expect("remove state dir");
    let (code, e) = site.call(
        "POST",
        "/api/v1/patches",
        Some(TOKEN),
        Some(&patch_body("pursuit")),
    );
    assert_eq!(code, 503, "{e}");
    assert!(
        e["error"].as_str().expect("error").contains("not saved"),
        "{e}"
    );
    // Not left in force either: what a dispatcher was told did not happen did not happen.
    assert!(
        dynamic_names(&site).is_empty(),
        "{:?}",
        dynamic_names(&site)
    );
    site.stop();
}

#[test]
fn an_unauthenticated_firmware_upload_is_refused_before_its_body_is_read() {
    let mut site = Site::new("fwbody");
    site.start();
    // Headers announcing a 1 MiB image, and no body: the refusal must not wait for it.
    let request = format!(
        "POST /api/v1/board/firmware HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n",
        site.addr()
    );
    let (answer, _) = site.raw(request.as_bytes(), Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    site.stop();
}

#[test]
fn a_flood_of_wrong_tokens_does_not_flood_the_audit_log() {
    let mut site = Site::new("auditflood");
    site.start();
    for _ in 0..200 {
        let (code, _) = site.call(
            "DELETE",
            "/api/v1/patches/1",
            Some("ffffffffffffffffffffffffffffffff"),
            None,
        );
        assert_eq!(code, 401);
    }
    let refused = site
        .audit()
        .iter()
        .filter(|r| r["action"] == "auth.refused")
        .count();
    assert!(
        (1..=25).contains(&refused),
        "{refused} audit lines for 200 refusals"
    );
    // Every refusal is still counted.
    let (code, text) = site
        .try_call("GET", "/metrics", Some(TOKEN), None)
        .expect("metrics");
    assert_eq!(code, 200);
    assert!(
        text.contains("borderlink_api_auth_refused_total 200"),
        "{text}"
    );
    site.stop();
}

#[test]
fn a_token_of_the_other_country_cannot_patch_a_home_only_group() {
    let mut site = Site::with("creators", |config| {
        config.sovereignty(Network::Astrid, Sovereignty::default().creators("home"))
    });
    site.start();
    let body = patch_body("pursuit");
    let (code, e) = site.call("POST", "/api/v1/patches", Some(NL_TOKEN), Some(&body));
    assert_eq!(code, 403, "{e}");
    assert_eq!(error_field(&e), Some("channels[0].group"), "{e}");
    assert!(
        e["error"]
            .as_str()
            .expect("error")
            .contains("only ASTRID dispatch"),
        "{e}"
    );
    assert!(dynamic_names(&site).is_empty());
    // Belgian dispatch may; and a Dutch rewrite of the Belgian patch is refused alike.
    let (code, created) = site.call("POST", "/api/v1/patches", Some(TOKEN), Some(&body));
    assert_eq!(code, 201, "{created}");
    let id = created["id"].as_u64().expect("id");
    let (code, e) = site.call(
        "PUT",
        &format!("/api/v1/patches/{id}"),
        Some(NL_TOKEN),
        Some(&body.replace("pursuit", "renamed")),
    );
    assert_eq!(code, 403, "{e}");
    let audit = site.audit();
    assert!(
        audit.iter().any(|r| r["action"] == "patch.create"
            && r["who"] == "dispatch-nl"
            && r["result"]
                .as_str()
                .is_some_and(|s| s.starts_with("refused (403)"))),
        "{audit:?}"
    );
    site.stop();
}

#[test]
fn a_viewer_token_reads_but_cannot_patch_release_or_flash() {
    let mut site = Site::new("roles");
    site.start();
    assert_eq!(
        site.call("GET", "/api/v1/patches", Some(VIEWER_TOKEN), None)
            .0,
        200
    );
    let (code, e) = site.call(
        "POST",
        "/api/v1/patches",
        Some(VIEWER_TOKEN),
        Some(&patch_body("x")),
    );
    assert_eq!(code, 403, "{e}");
    assert!(
        e["error"].as_str().expect("error").contains("viewer"),
        "{e}"
    );
    let (code, _) = site.call(
        "POST",
        "/api/v1/patches/1/release",
        Some(VIEWER_TOKEN),
        None,
    );
    assert_eq!(code, 403);
    // Only an engineer flashes firmware; a dispatcher is refused before the body is parsed.
    for token in [VIEWER_TOKEN, TOKEN] {
        let (code, e) = site.call(
            "POST",
            "/api/v1/board/firmware",
            Some(token),
            Some("not an image"),
        );
        assert_eq!(code, 403, "{e}");
    }
    assert!(dynamic_names(&site).is_empty());
    site.stop();
}
