//! Key epochs: every run of a site protects what it sends under SRTP keys of its own, derived
//! from the peer key file and a random 64-bit *epoch* drawn at start, so no two runs ever use
//! the same key.
//!
//! Why: SRTP's keystream (AES-CM) and nonce (AES-GCM) are functions of the key, the SSRC and
//! the packet index. Under one static key for years, a restart whose clock was set back, a box
//! that boots before NTP, or the wrap of a time-derived SSRC repeats (SSRC, index) pairs:
//! two plaintexts under one keystream, and with GCM the authentication key exposed, so
//! packets can be forged (RFC 3711 §9.1, RFC 7714 §14; issue 13, finding 3). With a fresh key
//! per run, reuse needs two runs to draw the same 64-bit epoch.
//!
//! The epoch travels in the clear as the last [`EPOCH_LEN`] bytes of every SRTP and SRTCP
//! datagram on a peer link (the *epoch trailer*, `docs/wire.md`). It needs no secrecy and no
//! authentication of its own: a changed epoch derives another key, and the packet fails
//! authentication. The receiver derives the sender's key for each epoch it meets
//! ([`derive`]) and keeps the contexts of the few most recent ones that authenticated.

use hkdf::Hkdf;
use sha2::Sha256;

use super::keys::MasterKey;

/// Bytes of the epoch trailer.
pub const EPOCH_LEN: usize = 8;

/// The HKDF `info` string: binds the derived keys to this use and this version.
const INFO: &[u8] = b"borderlink srtp key epoch v1";

/// The epoch of one run of a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyEpoch(pub [u8; EPOCH_LEN]);

impl KeyEpoch {
    /// A new epoch from the operating system's random source.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; EPOCH_LEN];
        getrandom::fill(&mut bytes)?;
        Ok(KeyEpoch(bytes))
    }

    /// The epoch trailer of a datagram and the datagram without it, if it is long enough.
    pub fn split(datagram: &[u8]) -> Option<(&[u8], KeyEpoch)> {
        let at = datagram.len().checked_sub(EPOCH_LEN)?;
        let (body, trailer) = datagram.split_at(at);
        let mut bytes = [0u8; EPOCH_LEN];
        bytes.copy_from_slice(trailer);
        Some((body, KeyEpoch(bytes)))
    }
}

/// The master key and salt one run protects with: HKDF-SHA256 (RFC 5869) with the key file's
/// master key and salt as input keying material, the epoch as salt, and [`INFO`], expanded to
/// the suite's key and salt lengths.
pub fn derive(master: &MasterKey, epoch: KeyEpoch) -> MasterKey {
    let suite = master.suite();
    let mut ikm = Vec::with_capacity(master.key().len() + master.salt().len());
    ikm.extend_from_slice(master.key());
    ikm.extend_from_slice(master.salt());
    let hk = Hkdf::<Sha256>::new(Some(&epoch.0), &ikm);
    let mut okm = vec![0u8; suite.key_len() + suite.salt_len()];
    // At most 30 bytes, far under HKDF-SHA256's 8,160-byte limit.
    hk.expand(INFO, &mut okm)
        .expect("an SRTP key and salt fit one HKDF expansion");
    MasterKey::new(suite, &okm).expect("lengths come from the suite")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::keys::Suite;

    fn master(suite: Suite) -> MasterKey {
        let len = suite.key_len() + suite.salt_len();
        MasterKey::new(suite, &vec![0x5a; len]).unwrap()
    }

    #[test]
    fn each_epoch_derives_its_own_key_and_the_same_epoch_the_same_key() {
        for suite in [Suite::AeadAes128Gcm, Suite::AesCm128HmacSha1_80] {
            let m = master(suite);
            let a = derive(&m, KeyEpoch([1; 8]));
            let b = derive(&m, KeyEpoch([2; 8]));
            assert_ne!(a, b);
            assert_ne!(a, m, "the key file's key is never used as is");
            assert_eq!(a, derive(&m, KeyEpoch([1; 8])));
            assert_eq!(a.suite(), suite);
        }
    }

    /// A vector computed independently (Python's hmac/hashlib, RFC 5869's two steps), so the
    /// derivation is pinned and a libsrtp peer can do the same.
    #[test]
    fn derivation_matches_rfc_5869_computed_elsewhere() {
        let m = master(Suite::AeadAes128Gcm);
        let k = derive(&m, KeyEpoch(*b"epoch-01"));
        let hex: String = k
            .key()
            .iter()
            .chain(k.salt())
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, EXPECTED_GCM);
    }

    const EXPECTED_GCM: &str = "52f3dfcfc20a08c9a2bf818407f7536d756795b71c0db168ce84bb74";

    #[test]
    fn the_trailer_splits_off_and_short_datagrams_have_none() {
        let (body, epoch) = KeyEpoch::split(b"abcdefghij01234567").unwrap();
        assert_eq!(body, b"abcdefghij");
        assert_eq!(epoch, KeyEpoch(*b"01234567"));
        assert!(KeyEpoch::split(b"short").is_none());
        assert_eq!(KeyEpoch::split(b"01234567").unwrap().0, b"");
    }

    #[test]
    fn random_epochs_differ() {
        assert_ne!(KeyEpoch::random().unwrap(), KeyEpoch::random().unwrap());
    }
}
