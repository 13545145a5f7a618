//! Who may use the API: bearer tokens read from a file at start, each with its holder's name,
//! role and country.
//!
//! The file holds one token per line: `name role country token` — `dispatch-be dispatcher BE
//! 3f9c…` — so the audit log can say which dispatch centre or engineer acted, each route can ask
//! for a role, and sovereignty's `creators = "home"` can tell a Belgian dispatcher from a Dutch
//! one. Roles are ranked: a [`Role::Viewer`] reads, a [`Role::Dispatcher`] also patches and
//! releases, a [`Role::Engineer`] also updates the board's firmware. Blank lines and `#`
//! comments are skipped. A token is at least [`MIN_TOKEN_LEN`] characters of printable ASCII
//! without spaces. The file must not be readable by group or others: a token anyone on the box
//! can read is no token. A line in the old `[name] token` form is refused with the fix.
//!
//! Every route but `/health` needs at least a viewer's token: talkers' identities and units'
//! positions are operational data, and a loopback listener is reachable by every local process
//! and, through DNS rebinding, by every browser on the box.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use borderlink_protocol::ids::Network;
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
    /// A line is not `name role country token`.
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

/// What a token holder may do; each role may do what the roles before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads status, patches, talkers, roaming, firmware state and metrics.
    Viewer,
    /// Also creates, modifies and removes dynamic patches and cuts transmissions.
    Dispatcher,
    /// Also updates the board's firmware.
    Engineer,
}

impl Role {
    /// The word used in the token file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Dispatcher => "dispatcher",
            Role::Engineer => "engineer",
        }
    }

    fn parse(word: &str) -> Option<Role> {
        match word {
            "viewer" => Some(Role::Viewer),
            "dispatcher" => Some(Role::Dispatcher),
            "engineer" => Some(Role::Engineer),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The country a token holder acts for, which is the network its dispatch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Country {
    /// Belgium: ASTRID.
    Be,
    /// The Netherlands: C2000.
    Nl,
}

impl Country {
    /// The network this country's dispatch runs, as sovereignty rules name it.
    pub fn network(self) -> Network {
        match self {
            Country::Be => Network::Astrid,
            Country::Nl => Network::C2000,
        }
    }

    fn parse(word: &str) -> Option<Country> {
        match word.to_ascii_uppercase().as_str() {
            "BE" => Some(Country::Be),
            "NL" => Some(Country::Nl),
            _ => None,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Country::Be => "BE",
            Country::Nl => "NL",
        })
    }
}

/// Who holds a token: the name the audit trail shows, the role and the country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The name given in the token file.
    pub name: String,
    /// What the holder may do.
    pub role: Role,
    /// For whom.
    pub country: Country,
}

/// The accepted tokens and their holders.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(Holder, Vec<u8>)>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, even in a debug log.
        let names: Vec<&str> = self.entries.iter().map(|(h, _)| h.name.as_str()).collect();
        f.debug_struct("Tokens").field("holders", &names).finish()
    }
}

/// How a line must look, for error messages.
const LINE_FORM: &str = "`name role country token`, e.g. `dispatch-be dispatcher BE <token>` \
     (roles: viewer, dispatcher, engineer; countries: BE, NL)";

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
    pub(crate) fn parse(text: &str) -> Result<Tokens, (usize, String)> {
        let mut entries: Vec<(Holder, Vec<u8>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let number = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (name, role, country, token) = match fields.as_slice() {
                [name, role, country, token] => (*name, *role, *country, *token),
                // The format before roles: say what changed and how to fix the line, without
                // echoing the secret.
                [_] | [_, _] => {
                    return Err((
                        number,
                        format!(
                            "this line is in the old `[name] token` form; since tokens carry a \
                             role and a country, each line is {LINE_FORM}: add the holder's role \
                             and country before the token (see docs/api.md)"
                        ),
                    ));
                }
                _ => {
                    return Err((
                        number,
                        format!("expected {LINE_FORM}, found {} fields", fields.len()),
                    ));
                }
            };
            let role = Role::parse(role).ok_or_else(|| {
                (
                    number,
                    format!(
                        "`{role}` (the role of `{name}`) is not a role: viewer, dispatcher or \
                         engineer"
                    ),
                )
            })?;
            let country = Country::parse(country).ok_or_else(|| {
                (
                    number,
                    format!("`{country}` (the country of `{name}`) is not a country: BE or NL"),
                )
            })?;
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
            if entries.iter().any(|(other, _)| other.name == name) {
                return Err((number, format!("`{name}` is named twice")));
            }
            if entries
                .iter()
                .any(|(_, secret)| secret.as_slice() == token.as_bytes())
            {
                return Err((
                    number,
                    format!("the token of `{name}` is also another holder's: give each its own"),
                ));
            }
            entries.push((
                Holder {
                    name: name.to_owned(),
                    role,
                    country,
                },
                token.as_bytes().to_vec(),
            ));
        }
        if entries.is_empty() {
            return Err((0, String::new()));
        }
        Ok(Tokens { entries })
    }

    /// The holder of `token`, comparing in constant time so a caller cannot learn a token
    /// byte by byte from response times.
    pub fn holder(&self, token: &str) -> Option<&Holder> {
        let mut found = None;
        for (holder, secret) in &self.entries {
            if bool::from(secret.as_slice().ct_eq(token.as_bytes())) {
                found = Some(holder);
            }
        }
        found
    }

    /// The holder named by an `Authorization` header value (`Bearer <token>`).
    pub fn authorize(&self, header: Option<&str>) -> Result<&Holder, &'static str> {
        let header =
            header.ok_or("this call needs a token: send `Authorization: Bearer <token>`")?;
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
    fn each_token_finds_its_holder_role_and_country() {
        let t = Tokens::parse(&format!(
            "# comment\n\ndispatch-be dispatcher BE {A}\nscraper viewer nl {B}\n"
        ))
        .unwrap();
        let be = t.holder(A).unwrap();
        assert_eq!(
            (be.name.as_str(), be.role, be.country),
            ("dispatch-be", Role::Dispatcher, Country::Be)
        );
        assert_eq!(be.country.network(), Network::Astrid);
        assert_eq!(t.holder(B).unwrap().role, Role::Viewer);
        assert_eq!(t.holder(B).unwrap().country, Country::Nl);
        assert!(t.holder(&A[..31]).is_none());
        assert!(t.holder("").is_none());
        assert!(Role::Viewer < Role::Dispatcher && Role::Dispatcher < Role::Engineer);
    }

    #[test]
    fn authorization_needs_the_bearer_scheme_and_a_known_token() {
        let t = Tokens::parse(&format!("ops engineer NL {A}")).unwrap();
        assert_eq!(
            t.authorize(Some(&format!("Bearer {A}")))
                .map(|h| h.name.as_str()),
            Ok("ops")
        );
        assert!(t.authorize(None).is_err());
        assert!(t.authorize(Some(A)).is_err());
        assert!(t.authorize(Some(&format!("Basic {A}"))).is_err());
        assert!(t.authorize(Some(&format!("Bearer {B}"))).is_err());
    }

    #[test]
    fn an_old_format_line_is_refused_with_the_fix() {
        for old in [A.to_owned(), format!("dispatch-be {A}")] {
            let (line, problem) = Tokens::parse(&format!("# tokens\n{old}\n")).err().unwrap();
            assert_eq!(line, 2);
            assert!(problem.contains("old"), "{problem}");
            assert!(problem.contains("name role country token"), "{problem}");
            assert!(!problem.contains(A), "the secret is echoed: {problem}");
        }
    }

    #[test]
    fn an_unknown_role_or_country_is_named() {
        let (line, problem) = Tokens::parse(&format!("x admin BE {A}")).err().unwrap();
        assert_eq!(line, 1);
        assert!(
            problem.contains("`admin`") && problem.contains("viewer"),
            "{problem}"
        );
        let (_, problem) = Tokens::parse(&format!("x viewer DE {A}")).err().unwrap();
        assert!(
            problem.contains("`DE`") && problem.contains("BE or NL"),
            "{problem}"
        );
    }

    #[test]
    fn a_short_token_is_refused_with_its_line() {
        let e = Tokens::parse(&format!("a viewer BE {A}\nops viewer BE short\n"))
            .err()
            .unwrap();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("at least 32"), "{}", e.1);
    }

    #[test]
    fn a_repeated_name_or_token_and_extra_fields_are_refused() {
        let line = |t: &str| Tokens::parse(t).err().unwrap().0;
        assert_eq!(line(&format!("x viewer BE {A}\nx viewer BE {B}")), 2);
        assert_eq!(line(&format!("x viewer BE {A}\ny engineer NL {A}")), 2);
        assert_eq!(line(&format!("x viewer BE {A} y")), 1);
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
        std::fs::write(&path, format!("ops viewer BE {A}")).unwrap();
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
        let t = Tokens::parse(&format!("ops viewer BE {A}")).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains("ops") && !shown.contains(A), "{shown}");
    }
}
