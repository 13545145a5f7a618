//! One task per serial port (a radio's PEI, the board link): it opens the port, reconnects
//! with backoff when the port fails or disappears, forwards what it reads, and writes what the
//! daemon sends. It holds no protocol state; the sans-IO sessions do.

use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_serial::SerialPortBuilderExt;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

pub(crate) use crate::site::PortEvent;

/// Backoff between attempts to open a port: 250 ms doubling to 5 s. A radio cable plugged back
/// in is in use again within 5 s.
const BACKOFF_MIN_MS: u64 = 250;
const BACKOFF_MAX_MS: u64 = 5_000;

/// Starts the task for `path`; it reports to `events`, each event wrapped by `wrap` (which
/// names the port to the daemon's loop). Writes sent on the returned channel go out in order;
/// when the channel closes, the task writes what is queued and ends. `shutdown` stops
/// reconnecting.
pub(crate) fn spawn<T, W>(
    path: PathBuf,
    baud: u32,
    events: mpsc::Sender<T>,
    wrap: W,
    shutdown: CancellationToken,
) -> (mpsc::Sender<Vec<u8>>, tokio::task::JoinHandle<()>)
where
    T: Send + 'static,
    W: Fn(PortEvent) -> T + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    let handle = tokio::spawn(run(path, baud, Reporter { events, wrap }, rx, shutdown));
    (tx, handle)
}

/// Where a serial task's events go.
struct Reporter<T, W> {
    events: mpsc::Sender<T>,
    wrap: W,
}

impl<T, W: Fn(PortEvent) -> T> Reporter<T, W> {
    async fn send(&self, event: PortEvent) {
        // The loop is gone only when the daemon stops; the task notices through `writes`.
        let _ = self.events.send((self.wrap)(event)).await;
    }
}

async fn run<T, W: Fn(PortEvent) -> T>(
    path: PathBuf,
    baud: u32,
    events: Reporter<T, W>,
    mut writes: mpsc::Receiver<Vec<u8>>,
    shutdown: CancellationToken,
) {
    let mut backoff = BACKOFF_MIN_MS;
    let mut reported_down = false;
    loop {
        let port = tokio_serial::new(path.to_string_lossy(), baud).open_native_async();
        let mut port = match port {
            Ok(port) => port,
            Err(err) => {
                if !reported_down {
                    events
                        .send(PortEvent::Down(format!(
                            "cannot open {}: {err}",
                            path.display()
                        )))
                        .await;
                    reported_down = true;
                }
                // Writes meant for a port that is not there are dropped: the session re-sends
                // what matters (its init, an owed cease) when the port is back.
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(backoff)) => {}
                    more = writes.recv() => if more.is_none() { return },
                }
                if shutdown.is_cancelled() {
                    return;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX_MS);
                continue;
            }
        };
        backoff = BACKOFF_MIN_MS;
        debug!(port = %path.display(), "open");
        events.send(PortEvent::Up).await;
        let mut buf = [0u8; 1024];
        let failure = loop {
            tokio::select! {
                read = port.read(&mut buf) => match read {
                    Ok(0) => break "end of file".to_string(),
                    Ok(n) => {
                        events.send(PortEvent::Bytes(buf[..n].to_vec())).await;
                    }
                    Err(err) => break err.to_string(),
                },
                write = writes.recv() => match write {
                    Some(bytes) => {
                        if let Err(err) = port.write_all(&bytes).await {
                            break err.to_string();
                        }
                    }
                    None => {
                        // The daemon is done: everything queued has been written.
                        let _ = port.flush().await;
                        return;
                    }
                },
            }
        };
        warn!(port = %path.display(), cause = %failure, "serial port lost");
        events.send(PortEvent::Down(failure)).await;
        reported_down = true;
        if shutdown.is_cancelled() {
            return;
        }
    }
}
