//! Peer keys: the SRTP protection profile and the master key and salt shared with a peer,
//! read from a file only the daemon's user may read.
//!
//! # Key file format
//! Two lines of base64 (RFC 4648, with padding), each an SRTP master key followed by its
//! master salt: the `inline:` key of an RFC 4568 SDES `a=crypto` line, which is also what
//! libsrtp's tools and SIP phones print. The **first line keys what the site with the lower
//! site id sends, the second what the higher one sends**; both boxes of a pair hold the same
//! file. Two keys rather than one because the two directions choose their SSRCs
//! independently: with one key, a stream of each side could meet on the same SSRC and
//! sequence number and encrypt two packets with the same keystream (RFC 3711 §9.1).
//! Blank lines and lines starting with `#` are ignored, and an `inline:` prefix is accepted.
//!
//! | suite | key | salt | base64 of key‖salt, per line |
//! |---|---|---|---|
//! | `AEAD_AES_128_GCM` (RFC 7714) | 16 bytes | 12 bytes | 28 bytes, 40 characters |
//! | `AES_CM_128_HMAC_SHA1_80` (RFC 3711) | 16 bytes | 14 bytes | 30 bytes, 40 characters |
//!
//! Generate one on either box and copy it to the other over a secure channel:
//!
//! ```text
//! umask 077; for d in 1 2; do head -c 28 /dev/urandom | base64; done > /etc/borderlink/keys/a-b.key   # GCM
//! umask 077; for d in 1 2; do head -c 30 /dev/urandom | base64; done > /etc/borderlink/keys/a-b.key   # AES-CM
//! ```
//!
//! The daemon refuses to start if the file can be read, written or executed by group or
//! others, if its two keys are the same, or if two peers use one file (or the same keys).
//! The file's keys are never used directly: each run protects under keys derived from them
//! and a random epoch ([`super::epoch`]).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use borderlink_protocol::voice::SiteId;
use serde::Serialize;
use thiserror::Error;
use webrtc_srtp::protection_profile::ProtectionProfile;

/// An SRTP protection profile a peer link may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Suite {
    /// AES-128 in Galois/Counter Mode (RFC 7714): encryption and a 16-byte tag in one pass.
    #[default]
    #[serde(rename = "AEAD_AES_128_GCM")]
    AeadAes128Gcm,
    /// AES-128 counter mode with an 80-bit HMAC-SHA1 tag (RFC 3711's mandatory suite).
    #[serde(rename = "AES_CM_128_HMAC_SHA1_80")]
    AesCm128HmacSha1_80,
}

impl Suite {
    /// The name used in configuration files and SDES (`AEAD_AES_128_GCM`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Suite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        }
    }

    /// Master key length in bytes.
    pub const fn key_len(self) -> usize {
        16
    }

    /// Master salt length in bytes.
    pub const fn salt_len(self) -> usize {
        match self {
            Suite::AeadAes128Gcm => 12,
            Suite::AesCm128HmacSha1_80 => 14,
        }
    }

    /// Bytes an SRTP packet carries after its (encrypted) payload: the authentication tag.
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AeadAes128Gcm => 16,
            Suite::AesCm128HmacSha1_80 => 10,
        }
    }

    /// Bytes an SRTCP packet carries after its (encrypted) body: E flag and index (4), and
    /// the tag.
    pub const fn rtcp_trailer_len(self) -> usize {
        match self {
            Suite::AeadAes128Gcm => 16 + 4,
            Suite::AesCm128HmacSha1_80 => 4 + 10,
        }
    }

    /// Where the 4-byte E flag and SRTCP index start, counted back from the packet's end.
    pub(crate) const fn rtcp_index_from_end(self) -> usize {
        match self {
            // RFC 7714 §9.1: the index follows the tag.
            Suite::AeadAes128Gcm => 4,
            // RFC 3711 §3.4: the index precedes the tag.
            Suite::AesCm128HmacSha1_80 => 14,
        }
    }

    pub(crate) const fn profile(self) -> ProtectionProfile {
        match self {
            Suite::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
            Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        }
    }
}

/// An SRTP master key and salt. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    suite: Suite,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.suite.name())
    }
}

impl MasterKey {
    /// A key from key‖salt bytes; `None` if the length is not the suite's.
    pub fn new(suite: Suite, key_and_salt: &[u8]) -> Option<Self> {
        (key_and_salt.len() == suite.key_len() + suite.salt_len()).then(|| MasterKey {
            suite,
            bytes: key_and_salt.to_vec(),
        })
    }

    /// The suite the key is for.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The master key.
    pub fn key(&self) -> &[u8] {
        &self.bytes[..self.suite.key_len()]
    }

    /// The master salt.
    pub fn salt(&self) -> &[u8] {
        &self.bytes[self.suite.key_len()..]
    }

    /// Parses one line of a key file: base64 of key and salt.
    fn parse_line(line: usize, value: &str, suite: Suite) -> Result<Self, String> {
        let value = value.strip_prefix("inline:").unwrap_or(value);
        // An SDES inline key may carry `|lifetime|MKI:len` after the key: not supported.
        if value.contains('|') {
            return Err(format!(
                "line {line}: lifetime and MKI parameters (`|...`) are not supported"
            ));
        }
        let bytes = STANDARD
            .decode(value)
            .map_err(|e| format!("line {line}: not base64: {e}"))?;
        let expected = suite.key_len() + suite.salt_len();
        MasterKey::new(suite, &bytes).ok_or_else(|| {
            format!(
                "line {line}: {} bytes, but {} needs {expected} ({} key + {} salt); generate two with `for d in 1 2; do head -c {expected} /dev/urandom | base64; done`",
                bytes.len(),
                suite.name(),
                suite.key_len(),
                suite.salt_len()
            )
        })
    }
}

/// The two keys of a peer link, one per direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerKeys {
    /// Keys what the site with the lower id sends.
    pub lower_sends: MasterKey,
    /// Keys what the site with the higher id sends.
    pub higher_sends: MasterKey,
}

impl PeerKeys {
    /// The key this site sends with and the key it receives with, on its link to `peer`.
    pub fn for_link(&self, own: SiteId, peer: SiteId) -> (MasterKey, MasterKey) {
        if own.0 < peer.0 {
            (self.lower_sends.clone(), self.higher_sends.clone())
        } else {
            (self.higher_sends.clone(), self.lower_sends.clone())
        }
    }

    /// Reads a key file (see the [module documentation](self)), refusing one that group or
    /// others may access.
    pub fn load(path: &Path, suite: Suite) -> Result<Self, KeyError> {
        let file = path.to_owned();
        let meta = fs::metadata(path).map_err(|source| KeyError::Read {
            file: file.clone(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Exposed { file, mode });
        }
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, suite).map_err(|message| KeyError::Format { file, message })
    }

    /// Parses the text of a key file.
    pub fn parse(text: &str, suite: Suite) -> Result<Self, String> {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let [(l1, v1), (l2, v2)] = lines[..] else {
            return Err(format!(
                "{} key lines, expected 2: the key of the lower site id's direction, then the higher's",
                lines.len()
            ));
        };
        let lower_sends = MasterKey::parse_line(l1, v1, suite)?;
        let higher_sends = MasterKey::parse_line(l2, v2, suite)?;
        if lower_sends == higher_sends {
            return Err(format!(
                "lines {l1} and {l2} hold the same key; each direction needs its own"
            ));
        }
        Ok(PeerKeys {
            lower_sends,
            higher_sends,
        })
    }
}

/// Why a peer's key could not be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("key file {}: cannot read it: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may access the file.
    #[error(
        "key file {}: mode {mode:04o} lets group or others access it; refusing to use it (chmod 600 {})",
        file.display(),
        file.display()
    )]
    Exposed {
        /// The file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The content is not a key for the suite.
    #[error("key file {}: {message}", file.display())]
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str, mode: u32) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("borderlink-keys-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    const GCM_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="; // bytes 0..28
    const GCM_2: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fw=="; // bytes 100..128

    fn two() -> String {
        format!("# site A (1) <-> site B (2)\n\n{GCM_1}\n{GCM_2}\n")
    }

    #[test]
    fn reads_a_private_key_file_and_picks_each_direction() {
        let path = temp("ok.key", &two(), 0o600);
        let keys = PeerKeys::load(&path, Suite::AeadAes128Gcm).unwrap();
        assert_eq!(keys.lower_sends.key(), &(0u8..16).collect::<Vec<_>>()[..]);
        assert_eq!(keys.lower_sends.salt(), &(16u8..28).collect::<Vec<_>>()[..]);
        let (a_sends, a_receives) = keys.for_link(SiteId(1), SiteId(2));
        let (b_sends, b_receives) = keys.for_link(SiteId(2), SiteId(1));
        assert_eq!((&a_sends, &a_receives), (&b_receives, &b_sends));
        assert_ne!(a_sends, b_sends);
        assert!(!format!("{keys:?}").contains("AAEC"));
    }

    #[test]
    fn refuses_a_file_others_can_read_naming_file_and_mode() {
        let path = temp("open.key", &two(), 0o644);
        let err = PeerKeys::load(&path, Suite::AeadAes128Gcm).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, KeyError::Exposed { mode: 0o644, .. }),
            "{text}"
        );
        assert!(text.contains("open.key") && text.contains("0644"), "{text}");
        let path = temp("group.key", &two(), 0o640);
        assert!(matches!(
            PeerKeys::load(&path, Suite::AeadAes128Gcm),
            Err(KeyError::Exposed { mode: 0o640, .. })
        ));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err =
            PeerKeys::load(Path::new("/nonexistent/peer.key"), Suite::AeadAes128Gcm).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/peer.key"), "{err}");
    }

    #[test]
    fn wrong_length_names_the_suite_and_the_fix() {
        // 28 bytes is a GCM key; AES-CM needs 30.
        let err = PeerKeys::parse(&two(), Suite::AesCm128HmacSha1_80).unwrap_err();
        assert!(
            err.contains("line 3: 28 bytes") && err.contains("needs 30"),
            "{err}"
        );
        assert!(err.contains("head -c 30"), "{err}");
    }

    #[test]
    fn hostile_contents_are_errors() {
        for (text, fragment) in [
            ("", "0 key lines"),
            ("# only a comment\n", "0 key lines"),
            (GCM_1, "1 key lines"),
            (&format!("{GCM_1}\n{GCM_2}\n{GCM_1}")[..], "3 key lines"),
            (&format!("!!!!\n{GCM_2}")[..], "line 1: not base64"),
            (&format!("{GCM_1}\n{GCM_1}")[..], "the same key"),
            (&format!("inline:{GCM_1}|2^20|1:4\n{GCM_2}")[..], "MKI"),
        ] {
            let err = PeerKeys::parse(text, Suite::AeadAes128Gcm).unwrap_err();
            assert!(err.contains(fragment), "{text:?}: {err}");
        }
        assert!(PeerKeys::parse(&format!("inline:{GCM_1}\n{GCM_2}"), Suite::AeadAes128Gcm).is_ok());
    }
}
