//! The engineers' signing keys: made by `borderlink firmware keygen`, used by `sign`.
//!
//! A private key is stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the format OpenSSL
//! writes with `openssl genpkey -algorithm ed25519`, so keys can be made, kept and inspected
//! with common tools (and in an HSM's export format). New key files are created readable by
//! their owner only (mode 0600) and never overwrite an existing file. The public half goes
//! into the firmware build: `BORDERLINK_FIRMWARE_PUBLIC_KEY=<hex>` (see
//! `borderlink_firmware::update`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Why a key file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be written (it exists, the folder is missing or not writable).
    #[error("cannot create key file {path}: {cause}")]
    Create {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read key file {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: std::io::Error,
    },
    /// The file is not an ed25519 private key in PKCS#8 PEM.
    #[error(
        "{path} is not an ed25519 private key in PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\"): {reason}"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// A new signing key from the operating system's random source.
pub fn generate() -> Result<SigningKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes `key` to a new file at `path`, readable and writable by its owner only.
pub fn write_private_key(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let create = |cause| KeyFileError::Create {
        path: path.to_owned(),
        cause,
    };
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| create(std::io::Error::other(e.to_string())))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(create)?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(create)
}

/// Reads a private key written by [`write_private_key`] or by OpenSSL.
pub fn read_private_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|cause| KeyFileError::Read {
        path: path.to_owned(),
        cause,
    })?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyFileError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// A public key as 64 hex digits, the form `BORDERLINK_FIRMWARE_PUBLIC_KEY` takes.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// The development key's public half, which boards built without
/// `BORDERLINK_FIRMWARE_PUBLIC_KEY` accept; its private half is in the repository.
const DEV_PUBLIC_KEY_HEX: &str = include_str!("../../../firmware/keys/dev-public-key.hex");

/// Whether `key` is the development key: anyone with the repository can sign with it, so a
/// file it signed is for bench boards only.
pub fn is_dev_key(key: &VerifyingKey) -> bool {
    public_key_hex(key) == DEV_PUBLIC_KEY_HEX.trim()
}

/// A public key as a Rust constant, for firmware that embeds it directly.
pub fn public_key_rust(key: &VerifyingKey) -> String {
    let bytes: Vec<String> = key
        .as_bytes()
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect();
    format!(
        "pub const FIRMWARE_PUBLIC_KEY: [u8; 32] = [\n    {},\n];",
        bytes
            .chunks(8)
            .map(|row| row.join(", "))
            .collect::<Vec<_>>()
            .join(",\n    ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("borderlink-key-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_written_key_reads_back_and_is_private() {
        let dir = scratch("roundtrip");
        let path = dir.join("key.pem");
        let key = generate().unwrap();
        write_private_key(&path, &key).unwrap();
        assert_eq!(read_private_key(&path).unwrap().to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Never over an existing file.
        let err = write_private_key(&path, &generate().unwrap()).unwrap_err();
        assert!(matches!(err, KeyFileError::Create { .. }), "{err}");
        assert_eq!(read_private_key(&path).unwrap().to_bytes(), key.to_bytes());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_checked_in_dev_key_matches_the_firmware_dev_public_key() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/keys");
        let key = read_private_key(&root.join("dev-signing-key.pem")).unwrap();
        let public = std::fs::read_to_string(root.join("dev-public-key.hex")).unwrap();
        assert_eq!(public_key_hex(&key.verifying_key()), public.trim());
        assert!(is_dev_key(&key.verifying_key()));
        assert!(!is_dev_key(
            &SigningKey::from_bytes(&[1; 32]).verifying_key()
        ));
    }

    #[test]
    fn other_files_are_refused_with_their_name() {
        let dir = scratch("bad");
        let path = dir.join("notakey.pem");
        std::fs::write(&path, "hello").unwrap();
        let err = read_private_key(&path).unwrap_err().to_string();
        assert!(
            err.contains("notakey.pem") && err.contains("PKCS#8"),
            "{err}"
        );
        let missing = read_private_key(&dir.join("missing.pem")).unwrap_err();
        assert!(matches!(missing, KeyFileError::Read { .. }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn public_key_forms() {
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let hex = public_key_hex(&key);
        assert_eq!(hex.len(), 64);
        let rust = public_key_rust(&key);
        assert!(rust.starts_with("pub const FIRMWARE_PUBLIC_KEY: [u8; 32] = ["));
        assert_eq!(rust.matches("0x").count(), 32);
        assert!(rust.contains(&format!("0x{}", &hex[..2])));
    }
}
