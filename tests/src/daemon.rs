//! A `borderlinkd` under test whose logs (JSON, one record per line on stderr) are collected
//! as they come, so a test can wait for a record instead of sleeping, and read the counters
//! the daemon logs when it stops.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{binary, sigterm};

/// A daemon whose stderr (JSON logs) is collected line by line.
pub struct Daemon {
    /// The process.
    pub child: Child,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failing test shows what the daemon said, its counters at shutdown included.
        if std::thread::panicking() {
            sigterm(&self.child);
            let end = Instant::now() + Duration::from_secs(3);
            while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
            for v in self.log.lock().expect("log").iter() {
                eprintln!("{v}");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `borderlinkd --config CONFIG` with JSON logs at level info.
    pub fn start(config: &Path) -> Daemon {
        let mut child = Command::new(binary("borderlinkd"))
            .arg("--config")
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start borderlinkd");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock().expect("log").push(v);
                } else {
                    eprintln!("{line}");
                }
            }
        });
        Daemon { child, log }
    }

    /// The first log record whose message is `message` and that `matches`, waiting for it.
    pub fn wait_log(
        &self,
        message: &str,
        matches: impl Fn(&serde_json::Value) -> bool,
        timeout: Duration,
    ) -> Option<serde_json::Value> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(v) = self
                .log
                .lock()
                .expect("log")
                .iter()
                .find(|v| v["fields"]["message"] == message && matches(v))
            {
                return Some(v.clone());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// SIGTERM, and the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        sigterm(&self.child);
        self.child.wait().expect("wait")
    }
}
