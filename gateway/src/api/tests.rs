//! The API's router and server in-process, against a stand-in for the daemon's main loop:
//! what each hostile request gets, measured in the tokio clock where time matters.

use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request as HttpRequest, StatusCode};
use tokio::sync::mpsc;
use tower::ServiceExt;

use super::audit::AuditLog;
use super::auth::Tokens;
use super::{ApiOptions, ApiState, allow_rollback, router};

fn from() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("addr")
}

fn get(path: &str) -> HttpRequest<Body> {
    HttpRequest::get(path)
        .header("host", "127.0.0.1:8470")
        .extension(ConnectInfo(from()))
        .body(Body::empty())
        .expect("request")
}

#[tokio::test(start_paused = true)]
async fn a_stuck_main_loop_makes_health_answer_503_within_a_second() {
    // The loop's queue holds one request and nobody reads it: the loop is stuck.
    let (tx, _stuck) = mpsc::channel(1);
    let app = router(ApiState::new(
        tx,
        None,
        AuditLog::log_only(),
        ApiOptions::new("127.0.0.1:8470".parse().expect("addr")),
    ));
    for attempt in 0..3 {
        let started = tokio::time::Instant::now();
        let response = tokio::time::timeout(
            StdDuration::from_secs(10),
            app.clone().oneshot(get("/health")),
        )
        .await
        .unwrap_or_else(|_| panic!("health attempt {attempt} hung"))
        .expect("infallible");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() <= StdDuration::from_secs(1),
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
    }
}

const VIEWER: &str = "0123456789abcdef0123456789abcdef";
const DISPATCHER: &str = "fedcba9876543210fedcba9876543210";

/// An API whose main loop is never asked: the guard must answer on its own.
fn guarded() -> axum::Router {
    let (tx, _rx) = mpsc::channel(1);
    let tokens = Tokens::parse(&format!(
        "scraper viewer NL {VIEWER}\ndispatch-be dispatcher BE {DISPATCHER}\n"
    ))
    .expect("tokens");
    router(ApiState::new(
        tx,
        Some(tokens),
        AuditLog::log_only(),
        ApiOptions::new("127.0.0.1:8470".parse().expect("addr")),
    ))
}

fn post(path: &str, token: &str, body: Vec<u8>) -> HttpRequest<Body> {
    HttpRequest::post(path)
        .header("host", "127.0.0.1:8470")
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", body.len().to_string())
        .extension(ConnectInfo(from()))
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn a_viewer_token_cannot_patch_or_flash() {
    let app = guarded();
    let response = app
        .clone()
        .oneshot(post("/api/v1/patches", VIEWER, b"{}".to_vec()))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A dispatcher is not an engineer: the firmware body is refused before it is parsed.
    let response = app
        .oneshot(post("/api/v1/board/firmware", DISPATCHER, vec![0xa5; 1024]))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("engineer"), "{text}");
}

#[tokio::test]
async fn a_body_larger_than_the_route_takes_is_refused_by_its_length() {
    let response = guarded()
        .oneshot(post(
            "/api/v1/patches",
            DISPATCHER,
            vec![b' '; super::body::MAX_BODY + 1],
        ))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn the_rollback_override_is_only_ever_an_explicit_request() {
    assert!(!allow_rollback(None).unwrap());
    assert!(!allow_rollback(Some("")).unwrap());
    assert!(allow_rollback(Some("allow_rollback=true")).unwrap());
    assert!(allow_rollback(Some("allow_rollback=1")).unwrap());
    assert!(!allow_rollback(Some("allow_rollback=false")).unwrap());
    for bad in [
        "allow_rollback=yes",
        "allow_rollback",
        "rollback=true",
        "x=1",
    ] {
        let err = allow_rollback(Some(bad)).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(err.body.field.is_some(), "{bad}: the error names the field");
    }
}
