//! The control API: HTTP/JSON for dispatch centres and engineers, and `GET /metrics` for
//! monitoring. `docs/api.md` documents every route for its users.
//!
//! | Route | Method | Role | What |
//! |---|---|---|---|
//! | `/health` | GET | – | 200 while the main loop answers, 503 within a second otherwise |
//! | `/api/v1/status` | GET | viewer | site, radios, board, peers, counters |
//! | `/api/v1/patches` | GET | viewer | every patch |
//! | `/api/v1/patches` | POST | dispatcher | create a dynamic patch |
//! | `/api/v1/patches/{id}` | GET | viewer | one patch |
//! | `/api/v1/patches/{id}` | PUT | dispatcher | replace a dynamic patch's definition |
//! | `/api/v1/patches/{id}` | DELETE | dispatcher | remove a dynamic patch |
//! | `/api/v1/patches/{id}/release` | POST | dispatcher | cut the transmission holding its floor |
//! | `/api/v1/talkers` | GET | viewer | who talks on each patch |
//! | `/api/v1/roaming` | GET | viewer | mirrors and the latest roaming events (who asked) |
//! | `/api/v1/board/firmware` | GET | viewer | the board's firmware and the last update |
//! | `/api/v1/board/firmware` | POST | engineer | update the board with a signed image (the body); `?allow_rollback=true` lets the board take a release below its security-version floor (audited as `firmware.update.allow_rollback`) |
//! | `/metrics` | GET | viewer (or none, by config) | Prometheus text |
//!
//! The HTTP side holds no voice state. Each request becomes a [`command::Request`] to the
//! daemon's main loop, which owns the engine; the answer comes back on a oneshot, and the
//! whole exchange has a deadline, so a stuck loop is a 503, never a hung client. The
//! [`guard`] checks `Host`, token and role before a handler or a body reader runs; [`server`]
//! bounds connections and their timeouts. Changes are written to the audit trail ([`audit`])
//! whether they succeed or not, and a change of the patches is answered only once the state
//! file holds it. Every refusal is a JSON [`model::ErrorBody`] naming the field at fault.

pub mod audit;
pub mod auth;
pub mod body;
pub mod command;
pub mod error;
pub mod guard;
pub mod metrics;
pub mod model;
pub mod server;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::extract::{
    ConnectInfo, Extension, MatchedPath, Path, RawQuery, Request as HttpRequest, State,
};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::{mpsc, oneshot, watch};

use audit::{AuditLog, AuditRecord};
use auth::{Holder, Tokens};
use body::LimitedBody;
use command::{Answer, Command, Reply, Request, Saved};
use error::ApiError;
use guard::AllowedHosts;
use metrics::ApiCounters;
use model::PatchBody;
pub use server::{Limits, serve};

use crate::roaming::Requester;

/// How long a request waits for the main loop before answering 503: the loop answers in
/// microseconds unless it is stuck, and a client should hear about that.
const LOOP_TIMEOUT: StdDuration = StdDuration::from_secs(2);

/// `/health`'s deadline: a watchdog or load balancer must hear "stuck" within a second.
const HEALTH_TIMEOUT: StdDuration = StdDuration::from_millis(800);

/// How long a change waits for the state file to hold it; a disk that takes longer is
/// treated as failed, and the change is taken back.
const SAVE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// The largest signed firmware image accepted: the board's update slot is smaller.
const MAX_IMAGE: usize = 1024 * 1024;

/// The API's settings from `[api]`, and the server's limits.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// The listen address, which a `Host` header may always name.
    pub listen: SocketAddr,
    /// Further names a `Host` header may give (`[api] hosts`).
    pub hosts: Vec<String>,
    /// `GET /metrics` without a token (`[api] metrics_without_token`).
    pub metrics_without_token: bool,
    /// Timeouts and the connection limit.
    pub limits: Limits,
}

impl ApiOptions {
    /// The options for an API listening on `listen` with the defaults: no other host name,
    /// metrics behind a token, the default limits.
    pub fn new(listen: SocketAddr) -> Self {
        ApiOptions {
            listen,
            hosts: Vec::new(),
            metrics_without_token: false,
            limits: Limits::default(),
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    requests: mpsc::Sender<Request>,
    tokens: Option<Arc<Tokens>>,
    audit: AuditLog,
    counters: ApiCounters,
    options: Arc<ApiOptions>,
    hosts: Arc<AllowedHosts>,
    saves: Option<watch::Receiver<Saved>>,
}

impl ApiState {
    /// The API's state: the channel to the main loop, the accepted tokens (`None`: every
    /// request but `/health` is refused), the audit log and the options.
    pub fn new(
        requests: mpsc::Sender<Request>,
        tokens: Option<Tokens>,
        audit: AuditLog,
        options: ApiOptions,
    ) -> Self {
        ApiState {
            requests,
            tokens: tokens.map(Arc::new),
            audit,
            counters: ApiCounters::default(),
            hosts: Arc::new(AllowedHosts::new(options.listen, options.hosts.clone())),
            options: Arc::new(options),
            saves: None,
        }
    }

    /// Answers changes of the patches only once the state writer reports them saved.
    pub fn with_saves(mut self, saves: watch::Receiver<Saved>) -> Self {
        self.saves = Some(saves);
        self
    }

    /// Sends a command and waits for its answer, the whole exchange within `deadline`: a
    /// stuck loop fills the queue, and then even the send would wait forever.
    async fn exchange(&self, command: Command, deadline: StdDuration) -> Result<Answer, ApiError> {
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            self.requests
                .send(Request { command, reply })
                .await
                .map_err(|_| ApiError::unavailable())?;
            answer.await.map_err(|_| ApiError::unavailable())?
        };
        match tokio::time::timeout(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the daemon's main loop did not answer within {} s",
                    deadline.as_secs_f32()
                ),
            )),
        }
    }

    async fn ask(&self, command: Command) -> Result<Reply, ApiError> {
        Ok(self.exchange(command, LOOP_TIMEOUT).await?.reply)
    }

    /// Carries out a change and answers once it is durable; if the state file cannot hold
    /// it, the change is taken back and the answer is 503 (see `docs/api.md`).
    async fn change(&self, command: Command) -> Result<Reply, ApiError> {
        let answer = self.exchange(command, LOOP_TIMEOUT).await?;
        let (Some(pending), Some(saves)) = (answer.pending, self.saves.clone()) else {
            return Ok(answer.reply);
        };
        let why = match wait_saved(saves, pending.generation).await {
            Ok(()) => return Ok(answer.reply),
            Err(why) => why,
        };
        let undone = match self.ask(Command::Undo(pending.undo)).await {
            Ok(_) => "it was taken back, so what is in force is what survives a restart".to_owned(),
            Err(e) => format!(
                "and taking it back failed too ({}): check the patches",
                e.body.error
            ),
        };
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the change was not saved to the state file ({why}); {undone}"),
        ))
    }

    /// The holder of the request's token, or a 401; refusals are counted, and audited within
    /// the audit log's rate limit.
    async fn authorize(
        &self,
        headers: &HeaderMap,
        from: SocketAddr,
        target: &str,
    ) -> Result<Holder, ApiError> {
        let header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let verdict = match &self.tokens {
            None => Err("the daemon has no [api] token_file, so it accepts no token"),
            Some(tokens) => tokens.authorize(header).cloned(),
        };
        match verdict {
            Ok(holder) => Ok(holder),
            Err(why) => {
                self.counters.auth_refused();
                let mut record = AuditRecord::new("anonymous", from, "auth.refused");
                record.target = Some(target.to_owned());
                record.result = why.to_owned();
                // Within the rate limit the record is on disk before the answer; past it the
                // refusal is only counted, and returns at once.
                self.audit.refusal(record).await;
                Err(ApiError::unauthorized(why))
            }
        }
    }
}

/// Waits for the state writer to have written `generation` (or a later one, which holds it
/// too); `Err` says why it is not on disk.
async fn wait_saved(mut saves: watch::Receiver<Saved>, generation: u64) -> Result<(), String> {
    let outcome =
        tokio::time::timeout(SAVE_TIMEOUT, saves.wait_for(|s| s.generation >= generation)).await;
    match outcome {
        Ok(Ok(saved)) => match &saved.error {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        },
        Ok(Err(_)) => Err("the state writer has stopped".to_owned()),
        Err(_) => Err(format!(
            "the write took longer than {} s",
            SAVE_TIMEOUT.as_secs()
        )),
    }
}

/// The router with every route; [`serve`] serves it.
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
            get(firmware_status).post(firmware_update),
        )
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
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
    match state.exchange(Command::Status, HEALTH_TIMEOUT).await {
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

/// A change by an authorised holder: carry out, audit (also when refused), answer.
async fn change(
    state: &ApiState,
    who: &Holder,
    from: SocketAddr,
    action: &'static str,
    target: Option<String>,
    request: Option<serde_json::Value>,
    command: impl FnOnce(&Holder) -> Result<Command, ApiError>,
) -> Result<Reply, ApiError> {
    let result = match command(who) {
        Ok(command) => state.change(command).await,
        Err(e) => Err(e),
    };
    let mut record = AuditRecord::new(&who.name, from, action);
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

fn body_value(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes).ok().or_else(|| {
        Some(serde_json::Value::String(
            String::from_utf8_lossy(bytes).into_owned(),
        ))
    })
}

/// Who asks, as sovereignty sees it: a dispatcher of the token's country.
fn requester(who: &Holder) -> Requester {
    Requester::Dispatch {
        network: who.country.network(),
        operator: who.name.clone(),
    }
}

async fn create_patch(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Extension(who): Extension<Holder>,
    LimitedBody(bytes): LimitedBody<{ body::MAX_BODY }>,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &who,
        from,
        "patch.create",
        None,
        body_value(&bytes),
        |who| {
            Ok(Command::CreatePatch(
                body::json::<PatchBody>(&bytes)?.to_spec(&who.name)?,
                requester(who),
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
    Extension(who): Extension<Holder>,
    Path(id): Path<String>,
    LimitedBody(bytes): LimitedBody<{ body::MAX_BODY }>,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &who,
        from,
        "patch.modify",
        Some(format!("patch {id}")),
        body_value(&bytes),
        |who| {
            let id = patch_id(&id)?;
            Ok(Command::ModifyPatch(
                id,
                body::json::<PatchBody>(&bytes)?.to_spec(&who.name)?,
                requester(who),
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
    Extension(who): Extension<Holder>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &who,
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
    Extension(who): Extension<Holder>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let reply = change(
        &state,
        &who,
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

/// `?allow_rollback=true|false` (absent: false), or a 400 naming the parameter.
fn allow_rollback(query: Option<&str>) -> Result<bool, ApiError> {
    let mut allow = false;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("allow_rollback", "true" | "1")) => allow = true,
            Some(("allow_rollback", "false" | "0")) => allow = false,
            Some(("allow_rollback", other)) => {
                return Err(ApiError::field(
                    "allow_rollback",
                    format!("{other:?} is neither true nor false"),
                ));
            }
            _ => {
                return Err(ApiError::field(
                    "query",
                    format!("unknown parameter {pair:?}; this route takes allow_rollback"),
                ));
            }
        }
    }
    Ok(allow)
}

async fn firmware_update(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    Extension(who): Extension<Holder>,
    LimitedBody(bytes): LimitedBody<MAX_IMAGE>,
) -> Result<Response, ApiError> {
    let allow = allow_rollback(query.as_deref());
    // Parsed (CRC and signature checked) only now that the guard let an engineer through.
    let parsed = crate::firmware_image::SignedFile::parse(&bytes);
    let mut summary = match &parsed {
        Ok(file) => serde_json::json!({
            "version": file.version().to_string(),
            "security_version": file.security_version(),
            "variants": file.variants().iter().map(|v| serde_json::json!({
                "slot": v.slot.name(),
                "size": v.image.len(),
                "crc32": format!("{:08x}", v.image.crc32()),
            })).collect::<Vec<_>>(),
        }),
        Err(_) => serde_json::json!({ "bytes": bytes.len() }),
    };
    // The override gets an action of its own, so an audit search for rollbacks finds it
    // whatever became of it; the record names the token holder who asked.
    let action = if allow.as_ref().is_ok_and(|&a| a) {
        summary["allow_rollback"] = serde_json::Value::Bool(true);
        "firmware.update.allow_rollback"
    } else {
        "firmware.update"
    };
    let reply = change(
        &state,
        &who,
        from,
        action,
        Some("board".to_owned()),
        Some(summary),
        |_who| {
            // The route is for engineers only (the guard checked the role before the body
            // was read), so only an engineer can ask for the override; it is audited.
            let allow_rollback = allow?;
            let file = parsed.map_err(|e| {
                ApiError::field("body", format!("not a signed firmware image: {e}"))
            })?;
            Ok(Command::FirmwareStart {
                file: Box::new(file),
                allow_rollback,
            })
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
