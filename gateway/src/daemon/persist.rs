//! Dynamic patches survive a restart: the main loop hands every new patch state to a writer
//! task that replaces the state file atomically (a fresh owner-only temporary file that never
//! follows a planted link, fsync, rename, fsync of the directory), so a crash or power cut at
//! any moment leaves either the old or the new file, never half of one. Each state handed over
//! has a generation, and the writer reports the generation it wrote and whether that failed,
//! so the API confirms a change only once it is on disk. At start the file is read back (at
//! most [`MAX_STATE_BYTES`]); a file that cannot be used is reported and renamed aside
//! (`patches.json.corrupt-<unix time>`) for an engineer to look at, never silently dropped or
//! overwritten.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::api::command::Saved;
use crate::engine::patch::PatchSnapshot;

/// The state file's format version.
const VERSION: u32 = 1;

/// The largest state file read back. A snapshot of a few thousand patches is well under a
/// megabyte; anything far larger is not ours, and reading it whole would let whoever put it
/// there make the daemon allocate without bound at start.
pub(super) const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateDocument {
    /// Format version.
    version: u32,
    /// The site that wrote it: a file copied from another box is not restored.
    site: u16,
    /// When it was written (RFC 3339), for people.
    saved_at: String,
    /// The dynamic patches.
    patches: PatchSnapshot,
}

/// Why a state file was not restored.
#[derive(Debug, Error)]
pub(super) enum StateError {
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// It is larger than any state file this daemon writes.
    #[error(
        "{path} holds {size} bytes, more than the {MAX_STATE_BYTES} bytes a state file may have: \
         it is not one this daemon wrote"
    )]
    TooLarge { path: PathBuf, size: u64 },
    /// It is not a state document.
    #[error("{path} is not a borderlinkd state file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Another format version.
    #[error("{path} has format version {got}, this daemon reads version {VERSION}")]
    Version { path: PathBuf, got: u32 },
    /// Written by another site.
    #[error("{path} was written by site {got}, this is site {expected}")]
    Site {
        path: PathBuf,
        got: u16,
        expected: u16,
    },
}

/// Reads the state file of `site`: `Ok(None)` if there is none yet.
pub(super) fn load(path: &Path, site: u16) -> Result<Option<PatchSnapshot>, StateError> {
    let read = |source| StateError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read(source)),
    };
    let size = file.metadata().map_err(read)?.len();
    if size > MAX_STATE_BYTES {
        return Err(StateError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    // The size is checked again while reading: the file may grow after the metadata call.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
        });
    }
    let doc: StateDocument =
        serde_json::from_slice(&bytes).map_err(|source| StateError::Parse {
            path: path.to_owned(),
            source,
        })?;
    if doc.version != VERSION {
        return Err(StateError::Version {
            path: path.to_owned(),
            got: doc.version,
        });
    }
    if doc.site != site {
        return Err(StateError::Site {
            path: path.to_owned(),
            got: doc.site,
            expected: site,
        });
    }
    Ok(Some(doc.patches))
}

/// Renames an unusable state file aside and says where it went.
pub(super) fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{secs}"));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

/// Writes `patches` to `path` atomically.
pub(super) fn write(path: &Path, site: u16, patches: &PatchSnapshot) -> std::io::Result<()> {
    let doc = StateDocument {
        version: VERSION,
        site,
        saved_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        patches: patches.clone(),
    };
    let json = serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temporary_name(path)?;
    let written = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(&json)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // Leave no half-written temporary file behind; the old state file is untouched.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is only durable once the directory entry is.
    std::fs::File::open(dir)?.sync_all()
}

/// A fresh temporary name beside `path` (same directory, so the rename is atomic): unique per
/// process, write and random draw, so nobody can plant a file or link there in advance.
fn temporary_name(path: &Path) -> std::io::Result<PathBuf> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        hex::encode(random)
    ));
    Ok(PathBuf::from(tmp))
}

/// Creates `path` for writing, owner-only (0600: the file names who patched what), failing
/// if anything already exists there. `create_new` is O_CREAT|O_EXCL, which never follows a
/// symbolic link; O_NOFOLLOW says so once more, should the flags ever be changed.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Reads the state file for the site core to restore; an unusable file is reported and set
/// aside, and the site starts without its dynamic patches.
pub(super) fn restore(path: &Path, site: u16) -> Option<PatchSnapshot> {
    match load(path, site) {
        Ok(None) => {
            info!(file = %path.display(), "no saved patch state yet");
            None
        }
        Ok(Some(snapshot)) => {
            info!(file = %path.display(), patches = snapshot.patches.len(), "saved patch state read");
            Some(snapshot)
        }
        Err(e) => {
            set_aside_after(path, &e.to_string());
            None
        }
    }
}

/// The saved state could not be used (`problem`): the file is set aside for inspection.
pub(super) fn set_aside_after(path: &Path, problem: &str) {
    match set_aside(path) {
        Ok(aside) => error!(
            %problem, set_aside = %aside.display(),
            "saved patch state NOT restored: the file was set aside for inspection; dynamic patches must be recreated"
        ),
        Err(e) => error!(
            %problem, cause = %e,
            "saved patch state NOT restored and could not be set aside"
        ),
    }
}

/// The main loop's end of the state writer: each published snapshot gets the next
/// generation, which the API waits on (see [`Saved`]).
#[derive(Debug)]
pub(super) struct StateHandle {
    tx: watch::Sender<(u64, PatchSnapshot)>,
}

impl StateHandle {
    /// Hands the site core's save `generation` to the writer.
    pub(super) fn publish(&mut self, generation: u64, snapshot: PatchSnapshot) {
        // The writer is gone only after shutdown began; nothing is left to save then.
        let _ = self.tx.send((generation, snapshot));
    }
}

/// The writer task: writes every state the main loop publishes, the last one included when
/// the sender is dropped at shutdown, and reports each write's outcome on the returned
/// [`Saved`] channel, so a change is only confirmed once it is on disk.
pub(super) fn spawn_writer(
    path: PathBuf,
    site: u16,
    generation: u64,
    initial: PatchSnapshot,
) -> (StateHandle, watch::Receiver<Saved>, JoinHandle<()>) {
    let (tx, mut rx) = watch::channel((generation, initial));
    // The first state is written at once.
    rx.mark_changed();
    let (saved_tx, saved_rx) = watch::channel(Saved::default());
    let handle = tokio::spawn(async move {
        loop {
            let closed = rx.changed().await.is_err();
            let (generation, snapshot) = rx.borrow_and_update().clone();
            let target = path.clone();
            let result = tokio::task::spawn_blocking(move || write(&target, site, &snapshot)).await;
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => {
                    error!(file = %path.display(), cause = %e,
                        "patch state NOT saved: dynamic patches will not survive a restart until this is fixed");
                    Some(format!("{}: {e}", path.display()))
                }
                Err(e) => {
                    error!(cause = %e, "patch state writer failed");
                    Some(format!("the writer failed: {e}"))
                }
            };
            let _ = saved_tx.send(Saved { generation, error });
            if closed {
                info!(file = %path.display(), "patch state saved");
                return;
            }
        }
    });
    (StateHandle { tx }, saved_rx, handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::patch::{Channel, PatchId, PatchKind, PatchRecord, PatchSpec};
    use borderlink_protocol::ids::{Network, PeiIdentity, Tsi};
    use borderlink_protocol::time::Duration;
    use borderlink_protocol::voice::SiteId;

    fn tsi(digits: &str) -> Tsi {
        match PeiIdentity::parse(digits).unwrap() {
            PeiIdentity::Tsi(t) => t,
            PeiIdentity::Ssi(_) => unreachable!(),
        }
    }

    fn snapshot() -> PatchSnapshot {
        PatchSnapshot {
            next_id: 8,
            patches: vec![PatchRecord {
                id: PatchId(7),
                spec: PatchSpec {
                    name: "Baarle".into(),
                    channels: vec![
                        Channel {
                            site: SiteId(1),
                            network: Network::Astrid,
                            group: tsi("02060000102061001"),
                        },
                        Channel {
                            site: SiteId(2),
                            network: Network::C2000,
                            group: tsi("02040000102040551"),
                        },
                    ],
                    consoles: vec![],
                    lifetime: Some(Duration::from_secs(3600)),
                    inactivity_timeout: None,
                    kind: PatchKind::Dynamic {
                        created_by: "dispatch-be".into(),
                    },
                },
                remaining_lifetime: Some(Duration::from_secs(1200)),
                remaining_inactivity: None,
            }],
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bl-persist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_written_state_reads_back_identically() {
        let d = dir("roundtrip");
        let path = d.join("patches.json");
        assert!(load(&path, 1).unwrap().is_none(), "no file yet");
        write(&path, 1, &snapshot()).unwrap();
        assert_eq!(load(&path, 1).unwrap(), Some(snapshot()));
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "patches.json")
            .collect();
        assert!(left.is_empty(), "temporary file left behind: {left:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_corrupt_file_is_refused_and_set_aside_intact() {
        let d = dir("corrupt");
        let path = d.join("patches.json");
        std::fs::write(&path, b"{\"version\":1,\"site\":1,").unwrap();
        let e = load(&path, 1).unwrap_err();
        assert!(matches!(e, StateError::Parse { .. }), "{e}");
        let aside = set_aside(&path).unwrap();
        assert!(!path.exists());
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            b"{\"version\":1,\"site\":1,"
        );
        assert!(aside.to_string_lossy().contains("patches.json.corrupt-"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn another_sites_file_or_version_is_refused() {
        let d = dir("site");
        let path = d.join("patches.json");
        write(&path, 2, &snapshot()).unwrap();
        assert!(matches!(
            load(&path, 1).unwrap_err(),
            StateError::Site {
                got: 2,
                expected: 1,
                ..
            }
        ));
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 9");
        std::fs::write(&path, text).unwrap();
        assert!(matches!(
            load(&path, 2).unwrap_err(),
            StateError::Version { got: 9, .. }
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symlink_planted_at_the_old_temporary_name_is_not_followed() {
        // Another local user who can write the state directory plants a link where the
        // writer used to put its temporary file, aiming at a file the daemon may write.
        let d = dir("symlink");
        let path = d.join("patches.json");
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("patches.json.tmp")).unwrap();
        write(&path, 1, &snapshot()).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(load(&path, 1).unwrap(), Some(snapshot()));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn another_local_user_cannot_read_the_state_file() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("mode");
        let path = d.join("patches.json");
        write(&path, 1, &snapshot()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "state file mode {mode:o}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_huge_state_file_is_refused_before_it_is_read() {
        let d = dir("huge");
        let path = d.join("patches.json");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_STATE_BYTES + 1).unwrap();
        let e = load(&path, 1).unwrap_err();
        assert!(matches!(e, StateError::TooLarge { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("patches.json") && text.contains("bytes"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_with_its_generation() {
        let d = dir("failed");
        let path = d.join("gone").join("patches.json");
        let (mut tx, mut saved, _handle) = spawn_writer(path, 1, 1, PatchSnapshot::default());
        let generation = 2;
        tx.publish(generation, snapshot());
        let outcome = saved
            .wait_for(|s| s.generation >= generation)
            .await
            .unwrap()
            .clone();
        let error = outcome.error.expect("the directory does not exist");
        assert!(error.contains("patches.json"), "{error}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[tokio::test]
    async fn the_writer_saves_the_last_state_when_closed() {
        let d = dir("writer");
        let path = d.join("patches.json");
        let (mut tx, mut saved, handle) =
            spawn_writer(path.clone(), 1, 1, PatchSnapshot::default());
        tx.publish(2, PatchSnapshot::default());
        let last = 3;
        tx.publish(last, snapshot());
        drop(tx);
        handle.await.unwrap();
        assert_eq!(load(&path, 1).unwrap(), Some(snapshot()));
        assert_eq!(
            *saved.borrow_and_update(),
            Saved {
                generation: last,
                error: None
            }
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
