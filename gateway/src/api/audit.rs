//! The audit trail: every change made through the API — and every change refused, including
//! a refused token — as one JSON line: when, who, from where, what, and the outcome.
//!
//! Lines are appended to the configured file and synced before the API answers, so a change a
//! dispatcher was told about is on disk; the same record also goes to the log (target
//! `audit`), so a site without an audit file still has the trail in its journal.
//!
//! Refused tokens are the one kind of record anyone who can reach the port can cause, as
//! fast as they can send: at most [`REFUSALS_LISTED`] of them are written per
//! [`REFUSAL_WINDOW`], and the next one written says how many were left out. Each one is
//! still counted in `borderlink_api_auth_refused_total`, so nothing goes unseen.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tracing::{error, info};

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// Wall-clock time, RFC 3339 UTC.
    pub time: String,
    /// The token holder, or `anonymous` when no token was accepted.
    pub who: String,
    /// The client's address.
    pub from: String,
    /// `patch.create`, `patch.modify`, `patch.remove`, `floor.release`, `firmware.update`,
    /// `firmware.update.allow_rollback` (the engineer's anti-rollback override), `auth.refused`.
    pub action: &'static str,
    /// What it acted on (`patch 3`).
    pub target: Option<String>,
    /// The request body, when there was one.
    pub request: Option<serde_json::Value>,
    /// `ok`, or why it was refused.
    pub result: String,
    /// Refused tokens not written since the last record of one (the rate limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusals_not_listed: Option<u64>,
}

/// Refused-token records written per [`REFUSAL_WINDOW`]: enough to see who tries and from
/// where, too few for a flood to fill the disk or bury the changes in the trail.
pub const REFUSALS_LISTED: u32 = 10;

/// The window [`REFUSALS_LISTED`] counts in.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(10);

/// How many refused-token records the current window has written, and how many it left out.
#[derive(Debug)]
struct RefusalWindow {
    started: Option<Instant>,
    listed: u32,
    not_listed: u64,
}

impl RefusalWindow {
    /// Whether a refusal at `now` is written; if so, how many were left out before it.
    fn admit(&mut self, now: Instant) -> Option<u64> {
        if self
            .started
            .is_none_or(|start| now.saturating_duration_since(start) >= REFUSAL_WINDOW)
        {
            self.started = Some(now);
            self.listed = 0;
        }
        if self.listed < REFUSALS_LISTED {
            self.listed += 1;
            Some(std::mem::take(&mut self.not_listed))
        } else {
            self.not_listed += 1;
            None
        }
    }
}

impl AuditRecord {
    /// A record stamped now.
    pub fn new(who: &str, from: SocketAddr, action: &'static str) -> Self {
        AuditRecord {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            who: who.to_owned(),
            from: from.to_string(),
            action,
            target: None,
            request: None,
            result: String::new(),
            refusals_not_listed: None,
        }
    }
}

/// Where records go.
#[derive(Debug, Clone)]
pub struct AuditLog {
    file: Option<Arc<Mutex<File>>>,
    path: Option<PathBuf>,
    refusals: Arc<Mutex<RefusalWindow>>,
}

fn refusal_window() -> Arc<Mutex<RefusalWindow>> {
    Arc::new(Mutex::new(RefusalWindow {
        started: None,
        listed: 0,
        not_listed: 0,
    }))
}

impl AuditLog {
    /// An audit log that only writes to the tracing log.
    pub fn log_only() -> Self {
        AuditLog {
            file: None,
            path: None,
            refusals: refusal_window(),
        }
    }

    /// Opens (creating if needed, mode 0600) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(AuditLog {
            file: Some(Arc::new(Mutex::new(file))),
            path: Some(path.to_owned()),
            refusals: refusal_window(),
        })
    }

    /// Writes the record of a refused token, unless this window has written its share
    /// (see the [module documentation](self)); the caller counts every refusal.
    pub async fn refusal(&self, mut record: AuditRecord) {
        let admitted = self
            .refusals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .admit(Instant::now());
        if let Some(not_listed) = admitted {
            record.refusals_not_listed = (not_listed > 0).then_some(not_listed);
            self.record(record).await;
        }
    }

    /// Writes a record and syncs it to disk (off the async workers).
    pub async fn record(&self, record: AuditRecord) {
        let line = match serde_json::to_string(&record) {
            Ok(line) => line,
            Err(e) => {
                error!(target: "audit", cause = %e, "audit record not serialisable");
                return;
            }
        };
        info!(target: "audit", "{line}");
        let Some(file) = self.file.clone() else {
            return;
        };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            file.write_all(line.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_data()
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                error!(target: "audit", file = ?path, cause = %e, "audit record not written")
            }
            Err(e) => error!(target: "audit", cause = %e, "audit writer failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_is_listed_in_part_and_the_rest_counted() {
        let mut w = RefusalWindow {
            started: None,
            listed: 0,
            not_listed: 0,
        };
        let t0 = Instant::now();
        let admitted: Vec<Option<u64>> = (0..200).map(|_| w.admit(t0)).collect();
        assert_eq!(
            admitted.iter().filter(|a| a.is_some()).count(),
            REFUSALS_LISTED as usize
        );
        // The first record of the next window says how many the last one left out.
        assert_eq!(w.admit(t0 + REFUSAL_WINDOW), Some(190));
        assert_eq!(w.admit(t0 + REFUSAL_WINDOW), Some(0));
    }

    #[tokio::test]
    async fn records_are_appended_as_json_lines() {
        let dir = std::env::temp_dir().join(format!("bl-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path).unwrap();
        let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        for action in ["patch.create", "patch.remove"] {
            let mut r = AuditRecord::new("dispatch-be", from, action);
            r.target = Some("patch 1".into());
            r.result = "ok".into();
            log.record(r).await;
        }
        // A second writer (a restart) appends rather than truncates.
        let again = AuditLog::open(&path).unwrap();
        again
            .record(AuditRecord::new("anonymous", from, "auth.refused"))
            .await;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["action"], "patch.create");
        assert_eq!(lines[1]["who"], "dispatch-be");
        assert_eq!(lines[2]["action"], "auth.refused");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "audit log readable by others: {mode:o}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
