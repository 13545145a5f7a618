//! The daemon's control API as a client sees it: raw HTTP requests (any method, any body,
//! with or without a bearer token) whose status and body the test asserts on, refusals
//! included.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

/// A client of one daemon's API.
pub struct ApiClient {
    base: String,
}

impl ApiClient {
    /// The API listening on `listen`.
    pub fn new(listen: SocketAddr) -> ApiClient {
        ApiClient {
            base: format!("http://{listen}"),
        }
    }

    /// `http://HOST:PORT`, as the CLI's `--api` takes it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The API's address, for raw sockets.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// `method path` with the token and a JSON body if given: the status and the body's text,
    /// whatever the status; an error only if no answer came (5 s).
    pub fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, String), ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(body.unwrap_or("").to_owned())
            .expect("request");
        let mut response = agent.run(request)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        Ok((status, text))
    }

    /// A request that must get an answer: (status, JSON body or the text as a JSON string).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let (status, text) = self
            .try_call(method, path, token, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// `GET path` with `token`, which must answer 200 with JSON.
    pub fn get_json(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.call("GET", path, Some(token), None);
        assert_eq!(status, 200, "GET {path}: {body}");
        assert!(!body.is_string(), "GET {path}: not JSON: {body}");
        body
    }
}
