//! A `borderlinkd` under test whose logs (JSON, one record per line on stderr) are collected
//! as they come, so a test can wait for a record instead of sleeping, and read the counters
//! the daemon logs when it stops. It is stopped as systemd stops it (SIGTERM) or killed
//! outright (`kill -9`), and never outlives its test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
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
            if matches!(self.child.try_wait(), Ok(None)) {
                sigterm(&self.child);
            }
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
        Daemon::spawn(Daemon::command(config))
    }

    /// The command [`start`](Self::start) runs, for a test to add to (environment variables)
    /// before [`spawn`](Self::spawn).
    pub fn command(config: &Path) -> Command {
        let mut cmd = Command::new(binary("borderlinkd"));
        cmd.arg("--config")
            .arg(config)
            .args(["--log-format", "json"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts `cmd` (from [`command`](Self::command)) and collects its logs.
    pub fn spawn(mut cmd: Command) -> Daemon {
        let mut child = cmd.spawn().expect("start borderlinkd");
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

    /// How many log records so far have message `message` and match `matches`.
    pub fn count_log(&self, message: &str, matches: impl Fn(&serde_json::Value) -> bool) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|v| v["fields"]["message"] == message && matches(v))
            .count()
    }

    /// Waits until at least `count` log records have message `message` and match `matches`;
    /// false if `timeout` passes first.
    pub fn wait_log_count(
        &self,
        message: &str,
        matches: impl Fn(&serde_json::Value) -> bool,
        count: usize,
        timeout: Duration,
    ) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.count_log(message, &matches) >= count {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, and the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        sigterm(&self.child);
        self.child.wait().expect("wait")
    }

    /// `kill -9`, and waits until it is gone: nothing the daemon had not done yet is done.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("status").is_none()
    }

    /// The exit status once the process has exited, or `None` if it still runs after
    /// `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("status") {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
