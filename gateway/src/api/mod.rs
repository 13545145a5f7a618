//! The control API: HTTP/JSON for dispatch centres and engineers, and `GET /metrics` for
//! monitoring. `docs/api.md` documents every route for its users.
//!
//! | Route | Method | Token | What |
//! |---|---|---|---|
//! | `/health` | GET | – | 200 while the main loop answers |
//! | `/api/v1/status` | GET | – | site, radios, board, peers, counters |
//! | `/api/v1/patches` | GET | – | every patch |
//! | `/api/v1/patches` | POST | yes | create a dynamic patch |
//! | `/api/v1/patches/{id}` | GET | – | one patch |
//! | `/api/v1/patches/{id}` | PUT | yes | replace a dynamic patch's definition |
//! | `/api/v1/patches/{id}` | DELETE | yes | remove a dynamic patch |
//! | `/api/v1/patches/{id}/release` | POST | yes | cut the transmission holding its floor |
//! | `/api/v1/talkers` | GET | – | who talks on each patch |
//! | `/api/v1/roaming` | GET | – | mirrors and the latest roaming events (who asked) |
//! | `/api/v1/board/firmware` | GET | – | the board's firmware and the last update |
//! | `/api/v1/board/firmware` | POST | yes | update the board with a signed image (the body) |
//! | `/metrics` | GET | – | Prometheus text |
//!
//! The HTTP side holds no voice state. Each request becomes a [`command::Request`] to the
//! daemon's main loop, which owns the engine; the answer comes back on a oneshot. Changes need
//! a bearer token ([`auth`]) and are written to the audit trail ([`audit`]) whether they
//! succeed or not. Every refusal is a JSON [`model::ErrorBody`] naming the field at fault.

pub mod audit;
pub mod auth;
pub mod body;
pub mod command;
pub mod error;
pub mod metrics;
pub mod model;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, MatchedPath, Path, Request as HttpRequest, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::{mpsc, oneshot};

use audit::{AuditLog, AuditRecord};
use auth::Tokens;
use command::{Command, Reply, Request};
use error::ApiError;
use metrics::ApiCounters;
use model::PatchBody;

/// How long a request waits for the main loop before answering 503: the loop answers in
/// microseconds unless it is stuck, and a client should hear about that.
const LOOP_TIMEOUT: StdDuration = StdDuration::from_secs(2);

/// The largest signed firmware image accepted: the board's update slot is smaller.
const MAX_IMAGE: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    requests: mpsc::Sender<Request>,
    tokens: Option<Arc<Tokens>>,
    audit: AuditLog,
    counters: ApiCounters,
}

impl ApiState {
    /// The API's state: the channel to the main loop, the accepted tokens (`None`: every
    /// change is refused) and the audit log.
    pub fn new(requests: mpsc::Sender<Request>, tokens: Option<Tokens>, audit: AuditLog) -> Self {
        ApiState {
            requests,
            tokens: tokens.map(Arc::new),
            audit,
            counters: ApiCounters::default(),
        }
    }

    async fn ask(&self, command: Command) -> Result<Reply, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { command, reply })
            .await
            .map_err(|_| ApiError::unavailable())?;
        match tokio::time::timeout(LOOP_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ApiError::unavailable()),
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the daemon's main loop did not answer within 2 s",
            )),
        }
    }

    /// The token holder, or a 401 that is also audited.
    async fn authorize(
        &self,
        headers: &HeaderMap,
        from: SocketAddr,
        action: &'static str,
    ) -> Result<String, ApiError> {
        let header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let verdict = match &self.tokens {
            None => Err("changes are disabled: the daemon has no [api] token_file"),
            Some(tokens) => tokens.authorize(header).map(str::to_owned),
        };
        match verdict {
            Ok(who) => Ok(who),
            Err(why) => {
                let mut record = AuditRecord::new("anonymous", from, "auth.refused");
                record.target = Some(action.to_owned());
                record.result = why.to_owned();
                self.audit.record(record).await;
                Err(ApiError::unauthorized(why))
            }
        }
    }
}

/// The router with every route; serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/status", get(status))
        .route("/api/v1/patches", get(list_patches).post(create_patch))
        .route(
            "/api/v1/patches/{id}",
            get(get_patch).put(modify_patch).delete(remove_patch),
        )
        .route("/api/v1/patches/{id}/release", post(release))
        .route("/api/v1/talkers", get(talkers))
        .route("/api/v1/roaming", get(roaming))
        .route(
            "/api/v1/board/firmware",
            get(firmware_status)
                .post(firmware_update)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMAGE)),
        )
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}

async fn count(State(state): State<ApiState>, request: HttpRequest, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.counters.count(&route, response.status().as_u16());
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see docs/api.md")
}

fn patch_id(text: &str) -> Result<u32, ApiError> {
    text.parse()
        .map_err(|_| ApiError::field("id", format!("`{text}` is not a patch id (a number)")))
}

async fn health(State(state): State<ApiState>) -> Response {
    match state.ask(Command::Status).await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn status(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::Status).await? {
        Reply::Status(s) => Ok(Json(s).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn list_patches(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::Patches).await? {
        Reply::Patches(p) => Ok(Json(p).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn get_patch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.ask(Command::Patch(patch_id(&id)?)).await? {
        Reply::Patch(p) => Ok(Json(p).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn talkers(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::Talkers).await? {
        Reply::Talkers(t) => Ok(Json(t).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn metrics_text(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::Metrics).await? {
        Reply::Metrics(m) => Ok((
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            metrics::render(&m, &state.counters),
        )
            .into_response()),
        other => Err(unexpected(&other)),
    }
}

/// A change: authorise, carry out, audit (also when refused), answer.
async fn change(
    state: &ApiState,
    headers: &HeaderMap,
    from: SocketAddr,
    action: &'static str,
    target: Option<String>,
    request: Option<serde_json::Value>,
    command: impl FnOnce(&str) -> Result<Command, ApiError>,
) -> Result<Reply, ApiError> {
    let who = state.authorize(headers, from, action).await?;
    let result = match command(&who) {
        Ok(command) => state.ask(command).await,
        Err(e) => Err(e),
    };
    let mut record = AuditRecord::new(&who, from, action);
    record.request = request;
    record.target = match (&result, target) {
        (Ok(Reply::Patch(p)), _) => Some(format!("patch {}", p.id)),
        (_, target) => target,
    };
    record.result = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("refused ({}): {}", e.status.as_u16(), e.body.error),
    };
    state.audit.record(record).await;
    result
}

fn body_value(bytes: &Bytes) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes).ok().or_else(|| {
        Some(serde_json::Value::String(
            String::from_utf8_lossy(bytes).into_owned(),
        ))
    })
}

async fn create_patch(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &headers,
        from,
        "patch.create",
        None,
        body_value(&bytes),
        |who| {
            Ok(Command::CreatePatch(
                body::json::<PatchBody>(&bytes)?.to_spec(who)?,
            ))
        },
    )
    .await?;
    match reply {
        Reply::Patch(p) => Ok((StatusCode::CREATED, Json(p)).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn modify_patch(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &headers,
        from,
        "patch.modify",
        Some(format!("patch {id}")),
        body_value(&bytes),
        |who| {
            let id = patch_id(&id)?;
            Ok(Command::ModifyPatch(
                id,
                body::json::<PatchBody>(&bytes)?.to_spec(who)?,
            ))
        },
    )
    .await?;
    match reply {
        Reply::Patch(p) => Ok(Json(p).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn remove_patch(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &headers,
        from,
        "patch.remove",
        Some(format!("patch {id}")),
        None,
        |_| Ok(Command::RemovePatch(patch_id(&id)?)),
    )
    .await?;
    match reply {
        Reply::Patch(p) => Ok(Json(p).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn release(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &headers,
        from,
        "floor.release",
        Some(format!("patch {id}")),
        None,
        |_| Ok(Command::Release(patch_id(&id)?)),
    )
    .await?;
    match reply {
        Reply::Released(r) => Ok(Json(r).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn roaming(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::Roaming).await? {
        Reply::Roaming(r) => Ok(Json(r).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn firmware_status(State(state): State<ApiState>) -> Result<Response, ApiError> {
    match state.ask(Command::FirmwareStatus).await? {
        Reply::Firmware(f) => Ok(Json(f).into_response()),
        other => Err(unexpected(&other)),
    }
}

async fn firmware_update(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let parsed = crate::firmware_image::SignedFile::parse(&bytes);
    let summary = match &parsed {
        Ok(file) => serde_json::json!({
            "version": file.version().to_string(),
            "variants": file.variants().iter().map(|v| serde_json::json!({
                "slot": v.slot.name(),
                "size": v.image.len(),
                "crc32": format!("{:08x}", v.image.crc32()),
            })).collect::<Vec<_>>(),
        }),
        Err(_) => serde_json::json!({ "bytes": bytes.len() }),
    };
    let reply = change(
        &state,
        &headers,
        from,
        "firmware.update",
        Some("board".to_owned()),
        Some(summary),
        |_| {
            let image = parsed.map_err(|e| {
                ApiError::field("body", format!("not a signed firmware image: {e}"))
            })?;
            Ok(Command::FirmwareStart(Box::new(image)))
        },
    )
    .await?;
    match reply {
        Reply::Firmware(f) => Ok((StatusCode::ACCEPTED, Json(f)).into_response()),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(reply: &Reply) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: unexpected answer {reply:?}"),
    )
}
