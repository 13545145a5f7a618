//! What every request passes before its handler: the `Host` check, then the token and the role
//! the route needs. Both run before the body is read, so a stranger's request costs a header
//! parse and nothing more — no 1 MiB firmware body read, CRC-checked and signature-checked for
//! someone who may not flash.
//!
//! **Host.** A browser on the box (or on the dispatch LAN) will send a page's requests to
//! whatever address the page's name resolves to; a page whose name an attacker rebinds to
//! 127.0.0.1 would reach the API as a same-origin page (DNS rebinding). The browser still
//! sends the page's name in `Host`, so a name other than the listen address or a name in
//! `[api] hosts` is answered 421. An IP literal is accepted when it is the listen address (or
//! any, when listening on every address): no rebinding gives a page an IP-literal origin.
//!
//! **Roles.** `/health` is open; `/metrics` is open when `[api] metrics_without_token` says so;
//! every other read needs a viewer's token, patch changes and releases a dispatcher's,
//! firmware updates an engineer's.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::audit::AuditRecord;
use super::auth::Role;
use super::error::ApiError;

/// Which `Host` headers the API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    listen: SocketAddr,
    names: Vec<String>,
}

impl AllowedHosts {
    /// The listen address and these extra names (lower case, from `[api] hosts`).
    pub fn new(listen: SocketAddr, names: Vec<String>) -> Self {
        AllowedHosts { listen, names }
    }

    /// Whether a `Host` header value names this API. The port is not checked: a proxy may
    /// forward from another, and rebinding is about names, not ports.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let name = match host.strip_prefix('[') {
            // `[::1]:8470`
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => match host.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
                _ => host,
            },
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = name.parse::<IpAddr>() {
            return self.listen.ip().is_unspecified() || ip == self.listen.ip();
        }
        (name == "localhost" && self.listen.ip().is_loopback()) || self.names.contains(&name)
    }
}

/// What a route needs, and the audit trail's name for it.
struct Rule {
    role: Option<Role>,
    action: &'static str,
}

fn rule(method: &Method, route: Option<&str>, metrics_without_token: bool) -> Rule {
    let need = |role, action| Rule {
        role: Some(role),
        action,
    };
    match (method, route) {
        (_, Some("/health")) => Rule {
            role: None,
            action: "health",
        },
        (&Method::GET, Some("/metrics")) if metrics_without_token => Rule {
            role: None,
            action: "read",
        },
        // An unknown route answers 404 and reveals nothing.
        (_, None) => Rule {
            role: None,
            action: "unknown",
        },
        (&Method::GET | &Method::HEAD, Some(_)) => need(Role::Viewer, "read"),
        (&Method::POST, Some("/api/v1/patches")) => need(Role::Dispatcher, "patch.create"),
        (&Method::PUT, Some("/api/v1/patches/{id}")) => need(Role::Dispatcher, "patch.modify"),
        (&Method::DELETE, Some("/api/v1/patches/{id}")) => need(Role::Dispatcher, "patch.remove"),
        (&Method::POST, Some("/api/v1/patches/{id}/release")) => {
            need(Role::Dispatcher, "floor.release")
        }
        (&Method::POST, Some("/api/v1/board/firmware")) => need(Role::Engineer, "firmware.update"),
        // A method the route does not take (405): nothing happens, but only for a holder.
        (_, Some(_)) => need(Role::Viewer, "read"),
    }
}

/// The middleware: checks `Host`, then the token and role; the handler finds the
/// [`Holder`](super::auth::Holder) in the request's extensions.
pub(super) async fn guard(
    State(state): State<ApiState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !state.hosts.allows(host) {
        let shown = if host.is_empty() { "(none)" } else { host };
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host `{shown}` is neither this API's address ({}) nor a name in `[api] hosts`: \
                 refused, so that a web page whose name points at this box cannot use the API; \
                 if this is the name of the box or of its proxy, add it to `[api] hosts`",
                state.hosts.listen
            ),
        )
        .into_response();
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let rule = rule(
        request.method(),
        route.as_deref(),
        state.options.metrics_without_token,
    );
    let Some(role) = rule.role else {
        return next.run(request).await;
    };
    let target = format!("{} {}", request.method(), request.uri().path());
    let holder = match state.authorize(request.headers(), from, &target).await {
        Ok(holder) => holder,
        Err(e) => return e.into_response(),
    };
    if holder.role < role {
        let error = ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "`{}` holds a {} token; {target} needs a {role}'s (roles: viewer reads, \
                 dispatcher patches and releases, engineer also updates firmware)",
                holder.name, holder.role
            ),
        );
        let mut record = AuditRecord::new(&holder.name, from, rule.action);
        record.target = Some(target);
        record.result = format!("refused (403): {}", error.body.error);
        state.audit.record(record).await;
        return error.into_response();
    }
    request.extensions_mut().insert(holder);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listen_address_and_configured_names_are_hosts() {
        let hosts = AllowedHosts::new(
            "127.0.0.1:8470".parse().unwrap(),
            vec!["gw-baarle.example".into()],
        );
        for ok in [
            "127.0.0.1:8470",
            "127.0.0.1",
            "localhost:8470",
            "LOCALHOST",
            "gw-baarle.example",
            "GW-Baarle.example.:443",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "",
            "evil.example",
            "evil.example:8470",
            "127.0.0.2:8470",
            "[::1]:8470",
            "gw-baarle.example.evil.example",
            "127.0.0.1.nip.io",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        let any = AllowedHosts::new("0.0.0.0:8470".parse().unwrap(), vec![]);
        assert!(any.allows("10.1.2.3:8470") && any.allows("[fe80::1]:8470"));
        assert!(!any.allows("localhost") && !any.allows("evil.example"));
    }

    #[test]
    fn each_route_needs_its_role() {
        let role = |m: Method, r: &str, open: bool| rule(&m, Some(r), open).role;
        assert_eq!(role(Method::GET, "/health", false), None);
        assert_eq!(role(Method::GET, "/metrics", false), Some(Role::Viewer));
        assert_eq!(role(Method::GET, "/metrics", true), None);
        assert_eq!(
            role(Method::GET, "/api/v1/talkers", true),
            Some(Role::Viewer)
        );
        assert_eq!(
            role(Method::GET, "/api/v1/roaming", false),
            Some(Role::Viewer)
        );
        assert_eq!(
            role(Method::POST, "/api/v1/patches", false),
            Some(Role::Dispatcher)
        );
        assert_eq!(
            role(Method::POST, "/api/v1/patches/{id}/release", false),
            Some(Role::Dispatcher)
        );
        assert_eq!(
            role(Method::POST, "/api/v1/board/firmware", false),
            Some(Role::Engineer)
        );
        assert_eq!(
            role(Method::GET, "/api/v1/board/firmware", false),
            Some(Role::Viewer)
        );
    }
}
