//! The files of secrets a daemon reads: the control API's token file and a peer link's SRTP
//! key file. The daemon refuses either when group or others may read it, so they are written
//! owner-only unless a test asks for another mode.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One line of a token file: who holds the token, their role, their country, the token.
#[derive(Clone, Copy, Debug)]
pub struct Token<'a> {
    /// The holder's name, as the audit log records it.
    pub name: &'a str,
    /// `viewer`, `dispatcher` or `engineer`.
    pub role: &'a str,
    /// The holder's country (`BE`, `NL`).
    pub country: &'a str,
    /// The bearer token itself.
    pub secret: &'a str,
}

/// Writes `dir/tokens` holding `tokens`, mode 0600, and returns its path.
pub fn token_file(dir: &Path, tokens: &[Token<'_>]) -> PathBuf {
    let mut text = String::from("# name role country token\n");
    for t in tokens {
        text.push_str(&format!(
            "{} {} {} {}\n",
            t.name, t.role, t.country, t.secret
        ));
    }
    write_private(&dir.join("tokens"), &text, 0o600)
}

/// Writes a peer link's key file `dir/name` (one base64 line per direction) with `mode`, and
/// returns its path.
pub fn key_file(dir: &Path, name: &str, lines: &[&str; 2], mode: u32) -> PathBuf {
    let text = format!("# test pair\n{}\n{}\n", lines[0], lines[1]);
    write_private(&dir.join(name), &text, mode)
}

fn write_private(path: &Path, text: &str, mode: u32) -> PathBuf {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.to_owned()
}
