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
use super::{ApiState, router};

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
    let app = router(ApiState::new(tx, None, AuditLog::log_only()));
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
