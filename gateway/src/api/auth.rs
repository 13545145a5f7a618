//! Who may change the site: bearer tokens read from a file at start.
//!
//! The file holds one token per line, optionally named — `dispatch-be  3f9c…` — so the audit
//! log can say which dispatch centre or engineer made a change; a line without a name is
//! called `token-N` after its line number. Blank lines and `#` comments are skipped. A token is
//! at least [`MIN_TOKEN_LEN`] characters of printable ASCII without spaces. The file must not
//! be readable by group or others: a token anyone on the box can read is no token.
//!
//! Read-only routes (status, patches, talkers, metrics) need no token: the API listens on
//! loopback by default, and monitoring should not need a secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;
use thiserror::Error;

/// The shortest token accepted: 128 bits as hex.
pub const MIN_TOKEN_LEN: usize = 32;

/// Why the token file was refused.
#[derive(Debug, Error)]
pub enum TokenFileError {
    /// It could not be read.
    #[error("token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Group or others may read it.
    #[error(
        "token file {path}: mode {mode:o} lets group or others read it; `chmod 600 {path}` (owner only)"
    )]
    Readable {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line is not `[name] token`.
    #[error("token file {path}, line {line}: {problem}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// No token at all.
    #[error("token file {path} holds no token")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// The accepted tokens and their holders' names.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, even in a debug log.
        let names: Vec<&str> = self.entries.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Tokens").field("holders", &names).finish()
    }
}

impl Tokens {
    /// Reads and checks a token file.
    pub fn load(path: &Path) -> Result<Tokens, TokenFileError> {
        let read = |source| TokenFileError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(TokenFileError::Readable {
                path: path.to_owned(),
                mode: mode & 0o7777,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Tokens::parse(&text).map_err(|(line, problem)| match line {
            0 => TokenFileError::Empty {
                path: path.to_owned(),
            },
            line => TokenFileError::Line {
                path: path.to_owned(),
                line,
                problem,
            },
        })
    }

    /// Parses the file's text; an error is `(line, problem)`, line 0 for "no token".
    fn parse(text: &str) -> Result<Tokens, (usize, String)> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let number = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (name, token) = match fields.as_slice() {
                [token] => (format!("token-{number}"), *token),
                [name, token] => ((*name).to_owned(), *token),
                _ => {
                    return Err((
                        number,
                        "expected `token` or `name token`, found more fields".into(),
                    ));
                }
            };
            if token.len() < MIN_TOKEN_LEN {
                return Err((
                    number,
                    format!(
                        "token of `{name}` has {} characters, at least {MIN_TOKEN_LEN} are needed \
                         (e.g. `openssl rand -hex 16`)",
                        token.len()
                    ),
                ));
            }
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err((number, format!("token of `{name}` is not printable ASCII")));
            }
            if entries.iter().any(|(other, _)| *other == name) {
                return Err((number, format!("`{name}` is named twice")));
            }
            entries.push((name, token.as_bytes().to_vec()));
        }
        if entries.is_empty() {
            return Err((0, String::new()));
        }
        Ok(Tokens { entries })
    }

    /// The holder of `token`, comparing in constant time so a caller cannot learn a token
    /// byte by byte from response times.
    pub fn holder(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (name, secret) in &self.entries {
            if bool::from(secret.as_slice().ct_eq(token.as_bytes())) {
                found = Some(name.as_str());
            }
        }
        found
    }

    /// The holder named by an `Authorization` header value (`Bearer <token>`).
    pub fn authorize(&self, header: Option<&str>) -> Result<&str, &'static str> {
        let header =
            header.ok_or("this call changes the site: send `Authorization: Bearer <token>`")?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or("the Authorization header must be `Bearer <token>`")?;
        self.holder(token.trim())
            .ok_or("the bearer token is not accepted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn named_and_unnamed_tokens_find_their_holder() {
        let t = Tokens::parse(&format!("# comment\n\ndispatch-be {A}\n{B}\n")).unwrap();
        assert_eq!(t.holder(A), Some("dispatch-be"));
        assert_eq!(t.holder(B), Some("token-4"));
        assert_eq!(t.holder(&A[..31]), None);
        assert_eq!(t.holder(""), None);
    }

    #[test]
    fn authorization_needs_the_bearer_scheme_and_a_known_token() {
        let t = Tokens::parse(A).unwrap();
        assert_eq!(t.authorize(Some(&format!("Bearer {A}"))), Ok("token-1"));
        assert!(t.authorize(None).is_err());
        assert!(t.authorize(Some(A)).is_err());
        assert!(t.authorize(Some(&format!("Basic {A}"))).is_err());
        assert!(t.authorize(Some(&format!("Bearer {B}"))).is_err());
    }

    #[test]
    fn a_short_token_is_refused_with_its_line() {
        let e = Tokens::parse(&format!("{A}\nops short\n")).err().unwrap();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("at least 32"), "{}", e.1);
    }

    #[test]
    fn a_repeated_name_and_extra_fields_are_refused() {
        assert_eq!(Tokens::parse(&format!("x {A}\nx {B}")).err().unwrap().0, 2);
        assert_eq!(Tokens::parse(&format!("x {A} y")).err().unwrap().0, 1);
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert_eq!(Tokens::parse("# nothing\n").err().unwrap().0, 0);
    }

    #[test]
    fn a_file_readable_by_others_is_refused() {
        let dir = std::env::temp_dir().join(format!("bl-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens");
        std::fs::write(&path, A).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Tokens::load(&path).unwrap_err();
        assert!(
            matches!(e, TokenFileError::Readable { mode: 0o644, .. }),
            "{e}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Tokens::load(&path).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_output_shows_holders_not_secrets() {
        let t = Tokens::parse(&format!("ops {A}")).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains("ops") && !shown.contains(A), "{shown}");
    }
}
