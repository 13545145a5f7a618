//! The API's connection loop: HTTP/1.1 over the listener, with the limits a control API that
//! faces a dispatch network needs — every open connection costs a task and a descriptor, and
//! the box's radios must not lose their daemon to a slow or hostile client.
//!
//! - a request's head must arrive within [`Limits::header_timeout`], and a keep-alive
//!   connection that sends nothing for as long is closed (hyper's header-read timer covers
//!   both);
//! - a request body must arrive within [`Limits::body_timeout`] (see [`super::body::LimitedBody`]);
//! - at most [`Limits::max_connections`] connections are served at once; one more is answered
//!   `503` at once and closed, so a new client hears why instead of hanging, and
//!   `borderlink_api_connections_refused_total` counts it;
//! - at shutdown idle connections close at once and a request in progress gets
//!   [`Limits::shutdown_grace`] to finish: an open connection never holds up the release of
//!   the radios.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

use super::ApiState;

/// The server's limits; [`Limits::default`] is what the daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest a request head may take to arrive, and a keep-alive connection may idle.
    pub header_timeout: Duration,
    /// The longest a request body may take to arrive once its head is read.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a request in progress may still take once shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// A few dispatch positions, an engineer and a scraper need a handful of connections; the
    /// timeouts are long for a LAN and short for a held socket.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_connections: 64,
            shutdown_grace: Duration::from_millis(500),
        }
    }
}

/// How long the answer to a connection over the limit may take to write.
const TURN_AWAY_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves the API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = state.options.limits;
    let counters = state.counters.clone();
    let app = super::router(state);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        // Reap the tasks of connections that ended, so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (stream, from) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or memory: the listener stays, and a pause keeps the loop
                // from spinning until some are freed.
                warn!(cause = %e, "control API: a connection could not be accepted");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            counters.connection_refused();
            connections.spawn(turn_away(stream, limits.max_connections));
            continue;
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service(app.clone(), from));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                debug!(%from, cause = %e, "control API connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            "control API: requests still in progress at shutdown were cut after {:?}",
            limits.shutdown_grace
        );
    }
    connections.abort_all();
    Ok(())
}

/// The router as a hyper service for one connection, which gives every request its client's
/// address (the audit trail's `from`).
fn service(
    app: Router,
    from: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(from));
        app.clone().oneshot(request.map(axum::body::Body::new))
    })
}

/// Answers a connection over the limit with a 503 that says why, and closes it.
async fn turn_away(mut stream: TcpStream, max: usize) {
    let body = serde_json::json!({
        "error": format!(
            "the control API serves at most {max} connections at once and all are in use; try again shortly"
        )
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(TURN_AWAY_TIMEOUT, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent before closing: closing with unread bytes makes the
        // kernel send a reset, which can destroy the answer before the client reads it.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}
