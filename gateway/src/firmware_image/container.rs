//! The signed-image file: one firmware image with its version, CRC, signer and signature.
//!
//! `borderlink firmware sign` writes it, `borderlink firmware flash` (through the daemon) sends
//! its parts to the board: the version, size and CRC-32 in `UpdateBegin`, the image in chunks,
//! the signature in `UpdateVerify`. Layout, all integers little-endian:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `BLFI` |
//! | 4 | 1 | container format, 1 |
//! | 5 | 3 | firmware version: major, minor, patch |
//! | 8 | 4 | image length in bytes |
//! | 12 | 4 | CRC-32/ISO-HDLC of the image |
//! | 16 | 32 | the signer's ed25519 public key |
//! | 48 | 64 | ed25519 signature over `"BLFW" · major · minor · patch · length · image` |
//! | 112 | length | the image |
//!
//! The signed message is the one the board checks (`link::signed_prefix` and the image), so
//! the file adds nothing the board would have to trust. The signer's key is in the file so a
//! damaged or tampered file is caught before anything is sent, and so the tools can say
//! which key signed it; whether the board accepts that key is the board's decision alone.

use borderlink_protocol::link::{
    FirmwareVersion, SIGNATURE_LEN, Signature, image_crc32, signed_prefix,
};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"BLFI";

/// The container format this code writes and reads.
pub const FORMAT: u8 = 1;

/// Length of the header before the image.
pub const HEADER_LEN: usize = 112;

/// Why a file is not a usable signed image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Shorter than the header.
    #[error("file is {len} bytes, shorter than the {HEADER_LEN}-byte signed-image header")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// Not a signed image at all (a raw binary, an ELF file).
    #[error(
        "not a signed borderlink image: starts with {found:02x?}, expected \"BLFI\" (sign raw images with `borderlink firmware sign`)"
    )]
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A container format this tool does not know.
    #[error("signed-image format {format} is not supported (this tool reads format {FORMAT})")]
    UnsupportedFormat {
        /// The format byte.
        format: u8,
    },
    /// The header's length and the bytes after it disagree (a truncated copy).
    #[error("header says the image is {declared} bytes, but {actual} follow it")]
    LengthMismatch {
        /// The length in the header.
        declared: u32,
        /// The bytes after the header.
        actual: usize,
    },
    /// The image bytes are not those that were signed (damaged in transit or storage).
    #[error("image CRC-32 is {computed:#010x}, header says {declared:#010x}: the file is damaged")]
    CrcMismatch {
        /// The CRC in the header.
        declared: u32,
        /// The CRC of the image bytes.
        computed: u32,
    },
    /// The signer key in the header is not a valid ed25519 key.
    #[error("the signer key in the header is not a valid ed25519 public key")]
    BadSignerKey,
    /// The signature does not verify with the signer key in the header.
    #[error(
        "the signature does not verify with the signer key in the header: the file was altered"
    )]
    BadSignature,
    /// An empty image.
    #[error("the image is empty")]
    Empty,
    /// An image of 4 GiB or more.
    #[error("the image is {len} bytes; images are limited to 4 GiB")]
    TooLarge {
        /// Its length.
        len: usize,
    },
}

/// A firmware image, signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedImage {
    version: FirmwareVersion,
    image: Vec<u8>,
    signer: VerifyingKey,
    signature: Signature,
}

impl std::fmt::Debug for SignedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedImage")
            .field("version", &self.version)
            .field("len", &self.image.len())
            .field("crc32", &format_args!("{:#010x}", self.crc32()))
            .field("signer", &hex::encode(self.signer.as_bytes()))
            .finish()
    }
}

impl SignedImage {
    /// Signs `image` as firmware `version` with `key`.
    pub fn sign(
        key: &SigningKey,
        version: FirmwareVersion,
        image: Vec<u8>,
    ) -> Result<Self, ImageError> {
        if image.is_empty() {
            return Err(ImageError::Empty);
        }
        let len =
            u32::try_from(image.len()).map_err(|_| ImageError::TooLarge { len: image.len() })?;
        let signature = key.sign(&signed_message(version, len, &image));
        Ok(SignedImage {
            version,
            image,
            signer: key.verifying_key(),
            signature: Signature::from_bytes(&signature.to_bytes()),
        })
    }

    /// Reads a signed-image file, checking everything a file can prove about itself: its
    /// length, its CRC and its signature with the signer key it names.
    pub fn parse(file: &[u8]) -> Result<Self, ImageError> {
        let (header, image) = file
            .split_at_checked(HEADER_LEN)
            .ok_or(ImageError::TooShort { len: file.len() })?;
        let field = |range: std::ops::Range<usize>| header.get(range).unwrap_or_default();
        let u32_at =
            |at: usize| u32::from_le_bytes(field(at..at + 4).try_into().unwrap_or_default());
        let magic: [u8; 4] = field(0..4).try_into().unwrap_or_default();
        if magic != MAGIC {
            return Err(ImageError::BadMagic { found: magic });
        }
        let format = header.get(4).copied().unwrap_or_default();
        if format != FORMAT {
            return Err(ImageError::UnsupportedFormat { format });
        }
        let version = match *field(5..8) {
            [major, minor, patch] => FirmwareVersion::new(major, minor, patch),
            _ => return Err(ImageError::TooShort { len: file.len() }),
        };
        let declared = u32_at(8);
        if usize::try_from(declared).ok() != Some(image.len()) {
            return Err(ImageError::LengthMismatch {
                declared,
                actual: image.len(),
            });
        }
        if image.is_empty() {
            return Err(ImageError::Empty);
        }
        let declared_crc = u32_at(12);
        let computed = image_crc32(image);
        if computed != declared_crc {
            return Err(ImageError::CrcMismatch {
                declared: declared_crc,
                computed,
            });
        }
        let signer_bytes: [u8; 32] = field(16..48).try_into().unwrap_or_default();
        let signer =
            VerifyingKey::from_bytes(&signer_bytes).map_err(|_| ImageError::BadSignerKey)?;
        let signature_bytes: [u8; SIGNATURE_LEN] = field(48..112).try_into().unwrap_or([0; 64]);
        let signed = SignedImage {
            version,
            image: image.to_vec(),
            signer,
            signature: Signature::from_bytes(&signature_bytes),
        };
        if !signed.is_signed_by(&signer) {
            return Err(ImageError::BadSignature);
        }
        Ok(signed)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.image.len());
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT);
        out.extend_from_slice(&[self.version.major, self.version.minor, self.version.patch]);
        out.extend_from_slice(&self.len().to_le_bytes());
        out.extend_from_slice(&self.crc32().to_le_bytes());
        out.extend_from_slice(self.signer.as_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out.extend_from_slice(&self.image);
        out
    }

    /// Whether the signature verifies with `key` (strictly: no malleable signatures, no
    /// weak keys), as a board built with that key will check it.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature.to_bytes());
        let message = signed_message(self.version, self.len(), &self.image);
        key.verify_strict(&message, &signature).is_ok()
    }

    /// The firmware version.
    pub fn version(&self) -> FirmwareVersion {
        self.version
    }

    /// The image.
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    /// The image length.
    pub fn len(&self) -> u32 {
        // `sign` and `parse` both refuse images that do not fit a u32.
        u32::try_from(self.image.len()).unwrap_or(u32::MAX)
    }

    /// Never true: empty images are refused.
    pub fn is_empty(&self) -> bool {
        self.image.is_empty()
    }

    /// The image's CRC-32/ISO-HDLC.
    pub fn crc32(&self) -> u32 {
        image_crc32(&self.image)
    }

    /// The signer's public key.
    pub fn signer(&self) -> &VerifyingKey {
        &self.signer
    }

    /// The signature.
    pub fn signature(&self) -> Signature {
        self.signature
    }
}

fn signed_message(version: FirmwareVersion, len: u32, image: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(image.len() + 11);
    message.extend_from_slice(&signed_prefix(version, len));
    message.extend_from_slice(image);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn signed() -> SignedImage {
        SignedImage::sign(
            &key(1),
            FirmwareVersion::new(1, 2, 3),
            b"firmware!".to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn the_header_is_laid_out_as_documented_and_round_trips() {
        let image = signed();
        let bytes = image.to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 9);
        assert_eq!(&bytes[..8], b"BLFI\x01\x01\x02\x03");
        assert_eq!(&bytes[8..12], &9u32.to_le_bytes());
        assert_eq!(&bytes[12..16], &image_crc32(b"firmware!").to_le_bytes());
        assert_eq!(&bytes[16..48], key(1).verifying_key().as_bytes());
        assert_eq!(&bytes[112..], b"firmware!");
        assert_eq!(SignedImage::parse(&bytes), Ok(image.clone()));
        assert!(image.is_signed_by(&key(1).verifying_key()));
        assert!(!image.is_signed_by(&key(2).verifying_key()));
    }

    #[test]
    fn the_signature_is_the_one_the_board_checks() {
        let image = signed();
        let mut message = signed_prefix(image.version(), 9).to_vec();
        message.extend_from_slice(b"firmware!");
        let sig = ed25519_dalek::Signature::from_bytes(&image.signature().to_bytes());
        key(1)
            .verifying_key()
            .verify_strict(&message, &sig)
            .unwrap();
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let good = signed().to_bytes();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            SignedImage::parse(&b)
        };
        assert_eq!(
            SignedImage::parse(&good[..50]),
            Err(ImageError::TooShort { len: 50 })
        );
        assert_eq!(
            with(&|b| b[0] = b'X'),
            Err(ImageError::BadMagic { found: *b"XLFI" })
        );
        assert_eq!(
            with(&|b| b[4] = 9),
            Err(ImageError::UnsupportedFormat { format: 9 })
        );
        assert_eq!(
            with(&|b| {
                b.pop();
            }),
            Err(ImageError::LengthMismatch {
                declared: 9,
                actual: 8
            })
        );
        assert!(matches!(
            with(&|b| b[115] ^= 1),
            Err(ImageError::CrcMismatch { .. })
        ));
        // A relabelled version: CRC fine, signature not.
        assert_eq!(with(&|b| b[5] = 2), Err(ImageError::BadSignature));
        assert_eq!(with(&|b| b[60] ^= 1), Err(ImageError::BadSignature));
        // Another key in the header.
        assert_eq!(
            with(&|b| b[16..48].copy_from_slice(key(2).verifying_key().as_bytes())),
            Err(ImageError::BadSignature)
        );
        assert_eq!(
            with(&|b| {
                b.truncate(HEADER_LEN);
                b[8..12].copy_from_slice(&[0; 4]);
            }),
            Err(ImageError::Empty)
        );
        assert_eq!(
            SignedImage::sign(&key(1), FirmwareVersion::new(1, 0, 0), Vec::new()),
            Err(ImageError::Empty)
        );
        let msg = with(&|b| b[0] = 0x7f).unwrap_err().to_string();
        assert!(msg.contains("not a signed borderlink image"), "{msg}");
    }
}
