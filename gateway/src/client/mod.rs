//! The `borderlink` CLI's side of the control API: `status`, `patch ls|add|rm`, `talkers` and
//! `release`, each one HTTP request to a daemon, printed as a table for people or as the
//! API's JSON for scripts.
//!
//! The daemon is found with `--api URL` or `BORDERLINK_API` (default the local daemon's
//! loopback address); every request sends the bearer token read from `--token-file` or
//! `BORDERLINK_TOKEN_FILE`. A refusal prints the API's message and the field it names, and the
//! CLI exits with status 1.

mod table;

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::api::model::{
    ChannelBody, ConsoleBody, ErrorBody, FirmwareView, PatchBody, PatchTalkers, PatchView,
    Released, SiteStatus,
};
pub use table::{render_patches, render_status, render_talkers};

/// The daemon's API when neither `--api` nor `BORDERLINK_API` says otherwise.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8470";

/// Why a CLI request failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The daemon could not be reached.
    #[error("cannot reach the daemon at {url}: {cause}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        cause: String,
    },
    /// The daemon refused the request.
    #[error("{status}: {}{}", body.error, body.field.as_ref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's error document.
        body: ErrorBody,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from {url}: {cause}")]
    BadAnswer {
        /// The URL.
        url: String,
        /// What was wrong.
        cause: String,
    },
    /// The token file could not be used.
    #[error("token file {path}: {cause}")]
    Token {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// A command-line argument is malformed.
    #[error("{0}")]
    Usage(String),
}

/// A client of one daemon's API.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the API at `base` (`http://host:port`), with a token for changes.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// Reads a token file: the token is the last field of the first line that is not blank or
    /// a comment, so the daemon's `name role country token` lines work as they are.
    pub fn read_token(path: &Path) -> Result<String, ClientError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ClientError::Token {
            path: shown.clone(),
            cause: e.to_string(),
        })?;
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .and_then(|l| l.split_whitespace().last())
            .map(str::to_owned)
            .ok_or(ClientError::Token {
                path: shown,
                cause: "no token in the file".into(),
            })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn answer<T: DeserializeOwned>(
        &self,
        url: String,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut response = result.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            cause: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::BadAnswer {
                url: url.clone(),
                cause: e.to_string(),
            })?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
                error: text,
                field: None,
            });
            return Err(ClientError::Refused { status, body });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::BadAnswer {
            url,
            cause: e.to_string(),
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.url(path);
        let result = self
            .agent
            .get(&url)
            .header("Authorization", &self.bearer()?)
            .call();
        self.answer(url, result)
    }

    /// The `Authorization` header: every route the CLI uses needs a token (a viewer's for
    /// reading, a dispatcher's for patches, an engineer's for firmware).
    fn bearer(&self) -> Result<String, ClientError> {
        self.token
            .as_ref()
            .map(|t| format!("Bearer {t}"))
            .ok_or_else(|| {
                ClientError::Usage(
                    "the daemon answers only token holders: give --token-file or \
                     BORDERLINK_TOKEN_FILE (a file whose first line ends with the token, such \
                     as the daemon's token file)"
                        .into(),
                )
            })
    }

    /// `GET /api/v1/status`.
    pub fn status(&self) -> Result<SiteStatus, ClientError> {
        self.get("/api/v1/status")
    }

    /// `GET /api/v1/patches`.
    pub fn patches(&self) -> Result<Vec<PatchView>, ClientError> {
        self.get("/api/v1/patches")
    }

    /// `GET /api/v1/talkers`.
    pub fn talkers(&self) -> Result<Vec<PatchTalkers>, ClientError> {
        self.get("/api/v1/talkers")
    }

    /// `POST /api/v1/patches`.
    pub fn create_patch(&self, body: &PatchBody) -> Result<PatchView, ClientError> {
        let url = self.url("/api/v1/patches");
        let result = self
            .agent
            .post(&url)
            .header("Authorization", &self.bearer()?)
            .send_json(body);
        self.answer(url, result)
    }

    /// `DELETE /api/v1/patches/{id}`.
    pub fn remove_patch(&self, id: u32) -> Result<PatchView, ClientError> {
        let url = self.url(&format!("/api/v1/patches/{id}"));
        let result = self
            .agent
            .delete(&url)
            .header("Authorization", &self.bearer()?)
            .call();
        self.answer(url, result)
    }

    /// `GET /api/v1/board/firmware`.
    pub fn firmware(&self) -> Result<FirmwareView, ClientError> {
        self.get("/api/v1/board/firmware")
    }

    /// `POST /api/v1/board/firmware` with a signed image file's bytes; `allow_rollback` asks the
    /// board to take a release below its security-version floor (audited by the daemon).
    pub fn firmware_update(
        &self,
        image: &[u8],
        allow_rollback: bool,
    ) -> Result<FirmwareView, ClientError> {
        let url = if allow_rollback {
            self.url("/api/v1/board/firmware?allow_rollback=true")
        } else {
            self.url("/api/v1/board/firmware")
        };
        let result = self
            .agent
            .post(&url)
            .header("Authorization", &self.bearer()?)
            .header("Content-Type", "application/octet-stream")
            .send(image);
        self.answer(url, result)
    }

    /// `POST /api/v1/patches/{id}/release`.
    pub fn release(&self, id: u32) -> Result<Released, ClientError> {
        let url = self.url(&format!("/api/v1/patches/{id}/release"));
        let result = self
            .agent
            .post(&url)
            .header("Authorization", &self.bearer()?)
            .send_empty();
        self.answer(url, result)
    }
}

/// Parses `SITE:NETWORK:GROUP` (`1:ASTRID:02060000102061001`) for `patch add --channel`.
pub fn parse_channel(text: &str) -> Result<ChannelBody, ClientError> {
    let usage = || {
        ClientError::Usage(format!(
            "--channel `{text}`: expected SITE:NETWORK:GROUP, e.g. 1:ASTRID:02060000102061001"
        ))
    };
    let mut parts = text.split(':');
    let (Some(site), Some(network), Some(group), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(usage());
    };
    Ok(ChannelBody {
        site: site.parse().map_err(|_| usage())?,
        network: network.to_ascii_uppercase(),
        group: group.to_owned(),
    })
}

/// Parses `SITE:CONSOLE` (`1:3`) for `patch add --console`.
pub fn parse_console(text: &str) -> Result<ConsoleBody, ClientError> {
    let usage = || {
        ClientError::Usage(format!(
            "--console `{text}`: expected SITE:CONSOLE, e.g. 1:3"
        ))
    };
    let (site, console) = text.split_once(':').ok_or_else(usage)?;
    Ok(ConsoleBody {
        site: site.parse().map_err(|_| usage())?,
        console: console.parse().map_err(|_| usage())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_consoles_parse_from_the_command_line() {
        let c = parse_channel("2:c2000:02040000102040551").unwrap();
        assert_eq!(
            (c.site, c.network.as_str(), c.group.as_str()),
            (2, "C2000", "02040000102040551")
        );
        assert!(parse_channel("2:C2000").is_err());
        assert!(parse_channel("x:C2000:1").is_err());
        assert!(parse_channel("1:C2000:1:extra").is_err());
        let k = parse_console("1:3").unwrap();
        assert_eq!((k.site, k.console), (1, 3));
        assert!(parse_console("1").is_err());
        assert!(parse_console("1:x").is_err());
    }

    #[test]
    fn a_token_is_the_last_field_of_the_first_line() {
        let dir = std::env::temp_dir().join(format!("bl-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(
            &path,
            "# ops\n\ndispatch-be dispatcher BE abcdef\nother viewer NL 123\n",
        )
        .unwrap();
        assert_eq!(Client::read_token(&path).unwrap(), "abcdef");
        std::fs::write(&path, "# only a comment\n").unwrap();
        assert!(Client::read_token(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
