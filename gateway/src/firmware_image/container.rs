//! The signed-image file: the images of one firmware release, one per flash slot, each with
//! its CRC and signature.
//!
//! `borderlink firmware sign` writes it, `borderlink firmware flash` sends it to the daemon,
//! which picks the image linked for the slot the board is not running ([`SignedFile::choose`])
//! and sends its parts to the board: the version, security version, size and CRC-32 in
//! `UpdateBeginSecure`, the image in chunks, the signature in `UpdateVerify`. Format 3, all
//! integers little-endian:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `BLFI` |
//! | 4 | 1 | container format, 3 |
//! | 5 | 3 | firmware version: major, minor, patch |
//! | 8 | 4 | security version (u32): the board refuses a release below its floor |
//! | 12 | 32 | the signer's ed25519 public key |
//! | 44 | 1 | number of variants, 1 or 2 |
//! | 45 | … | the variants, one after the other |
//!
//! Each variant:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 1 | the slot it is linked for: 0 any, 1 A, 2 B |
//! | 1 | 4 | image length in bytes |
//! | 5 | 4 | CRC-32/ISO-HDLC of the image |
//! | 9 | 64 | ed25519 signature over `"BLF2" · major · minor · patch · security version · length · image` |
//! | 73 | length | the image |
//!
//! No two variants are for the same slot, an "any" variant is the only one, and nothing
//! follows the last. The security version is in the signed message, so it cannot be raised
//! to slip an old release past a board's floor without the key. Formats 2 and 1 are still
//! read; their images were signed without a security version (`"BLFW" · major · minor · patch
//! · length · image`), which the board takes as security version 0 (legacy). Format 2 is
//! format 3 without the security version (header 41 bytes, variants at 41); format 1 holds
//! one image for any slot:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `BLFI` |
//! | 4 | 1 | container format, 1 |
//! | 5 | 3 | firmware version |
//! | 8 | 4 | image length |
//! | 12 | 4 | CRC-32 of the image |
//! | 16 | 32 | signer's public key |
//! | 48 | 64 | signature |
//! | 112 | length | the image |
//!
//! Each signed message is the one the board checks (`link::signed_prefix_v2` or
//! `link::signed_prefix`, and the image), so the file adds nothing the board would have to
//! trust; the slot label is not signed, and a wrong label costs what a wrong file costs today
//! (the bootloader rejects the image and the board rolls back). The signer's key is in the
//! file so a damaged or tampered file is caught before anything is sent, and so the tools can
//! say which key signed it; whether the board accepts that key is the board's decision alone.
//!
//! Parsing never panics and never reads past the input, whatever the bytes (`fuzz/`, target
//! `signed_file`).

use borderlink_protocol::link::{
    FirmwareVersion, SIGNATURE_LEN, Signature, Slot, image_crc32, signed_prefix, signed_prefix_v2,
};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use super::slot::{ImageSlot, WrongSlot, choose};

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"BLFI";

/// The container format this code writes.
pub const FORMAT: u8 = 3;

/// The format before security versions (per-slot images, legacy signatures), still read, and
/// written for legacy images.
pub const FORMAT_2: u8 = 2;

/// The older single-image format, still read.
pub const FORMAT_1: u8 = 1;

/// Length of the format-3 header before the first variant.
pub const HEADER_LEN: usize = 45;

/// Length of the format-2 header before the first variant.
pub const FORMAT_2_HEADER_LEN: usize = 41;

/// Length of a format-2 variant's header before its image.
pub const VARIANT_HEADER_LEN: usize = 73;

/// Length of the format-1 header before the image.
pub const FORMAT_1_HEADER_LEN: usize = 112;

/// The most variants a file holds: one per slot.
pub const MAX_VARIANTS: usize = 2;

/// Why one image of a file is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VariantError {
    /// The file ends inside the variant's header.
    #[error("the file ends {available} bytes into the variant's {VARIANT_HEADER_LEN}-byte header")]
    HeaderTruncated {
        /// The bytes left for it.
        available: usize,
    },
    /// The file ends before the image does (a truncated copy).
    #[error("the header says the image is {declared} bytes, but the file holds {available}")]
    Truncated {
        /// The length in the header.
        declared: u32,
        /// The bytes left for it.
        available: usize,
    },
    /// Format 1: the header's length and the bytes after it disagree.
    #[error("the header says the image is {declared} bytes, but {actual} follow it")]
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

/// Why a file is not a usable signed-image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Shorter than its header.
    #[error("file is {len} bytes, shorter than the {header}-byte signed-image header")]
    TooShort {
        /// The file's length.
        len: usize,
        /// The header's length.
        header: usize,
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
    #[error(
        "signed-image format {format} is not supported (this tool reads formats {FORMAT_1} to {FORMAT}; a newer borderlink wrote it?)"
    )]
    UnsupportedFormat {
        /// The format byte.
        format: u8,
    },
    /// The signer key in the header is not a valid ed25519 key.
    #[error("the signer key in the header is not a valid ed25519 public key")]
    BadSignerKey,
    /// A variant count other than 1 or 2.
    #[error("the header declares {count} image variants; a file holds 1 or 2")]
    VariantCount {
        /// The count in the header.
        count: usize,
    },
    /// The file ends where a declared variant should start.
    #[error(
        "the header declares {declared} image variants, but the file ends before variant {index}"
    )]
    MissingVariant {
        /// The variant, from 1.
        index: usize,
        /// The count in the header.
        declared: usize,
    },
    /// A slot byte other than 0, 1, 2.
    #[error("variant {index}: slot byte {byte} is none of 0 (any), 1 (A), 2 (B)")]
    UnknownSlot {
        /// The variant, from 1.
        index: usize,
        /// Its slot byte.
        byte: u8,
    },
    /// Two images for one slot: which should be sent would be a guess.
    #[error(
        "variants {first} and {second} are both linked for {slot}; a file holds one image per slot"
    )]
    DuplicateSlot {
        /// The slot.
        slot: ImageSlot,
        /// The first variant for it, from 1.
        first: usize,
        /// The second, from 1.
        second: usize,
    },
    /// An image for any slot alongside another.
    #[error(
        "variant {index} runs from any slot, so it must be the file's only image, but the file holds {count}"
    )]
    AnyNotAlone {
        /// The "any" variant, from 1.
        index: usize,
        /// The variants in the file.
        count: usize,
    },
    /// One image is unusable.
    #[error("variant {index} ({slot}): {cause}")]
    Variant {
        /// The variant, from 1.
        index: usize,
        /// The slot it is linked for.
        slot: ImageSlot,
        /// What is wrong with it.
        cause: VariantError,
    },
    /// Bytes after the last variant (a damaged file, or two files joined).
    #[error("{count} bytes follow the last image variant: the file is damaged")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// A firmware image, signed: what one update sends to the board.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedImage {
    version: FirmwareVersion,
    /// The signed security version, `None` for a legacy image (signed without one: version 0).
    security: Option<u32>,
    image: Vec<u8>,
    signer: VerifyingKey,
    signature: Signature,
}

impl std::fmt::Debug for SignedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedImage")
            .field("version", &self.version)
            .field("security", &self.security)
            .field("len", &self.image.len())
            .field("crc32", &format_args!("{:#010x}", self.crc32()))
            .field("signer", &hex::encode(self.signer.as_bytes()))
            .finish()
    }
}

impl SignedImage {
    /// Signs `image` as firmware `version` with security version `security_version` with
    /// `key`: the board refuses it once it has confirmed a higher security version.
    pub fn sign(
        key: &SigningKey,
        version: FirmwareVersion,
        security_version: u32,
        image: Vec<u8>,
    ) -> Result<Self, VariantError> {
        Self::sign_as(key, version, Some(security_version), image)
    }

    /// Signs `image` the way releases were signed before security versions (the board takes
    /// it as security version 0): what an old release file holds, for tests and tools that
    /// must produce one.
    pub fn sign_legacy(
        key: &SigningKey,
        version: FirmwareVersion,
        image: Vec<u8>,
    ) -> Result<Self, VariantError> {
        Self::sign_as(key, version, None, image)
    }

    fn sign_as(
        key: &SigningKey,
        version: FirmwareVersion,
        security: Option<u32>,
        image: Vec<u8>,
    ) -> Result<Self, VariantError> {
        if image.is_empty() {
            return Err(VariantError::Empty);
        }
        let len =
            u32::try_from(image.len()).map_err(|_| VariantError::TooLarge { len: image.len() })?;
        let signature = key.sign(&signed_message(version, security, len, &image));
        Ok(SignedImage {
            version,
            security,
            image,
            signer: key.verifying_key(),
            signature: Signature::from_bytes(&signature.to_bytes()),
        })
    }

    /// Whether the signature verifies with `key` (strictly: no malleable signatures, no
    /// weak keys), as a board built with that key will check it.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature.to_bytes());
        let message = signed_message(self.version, self.security, self.len(), &self.image);
        key.verify_strict(&message, &signature).is_ok()
    }

    /// The signed security version, `None` for a legacy image (which the board takes as 0).
    pub fn security(&self) -> Option<u32> {
        self.security
    }

    /// The security version the board compares with its floor: 0 for a legacy image.
    pub fn security_version(&self) -> u32 {
        self.security.unwrap_or(0)
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

/// One image of a file and the slot it is linked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The slot it is linked for.
    pub slot: ImageSlot,
    /// The signed image.
    pub image: SignedImage,
}

/// A signed-image file: one release's images, one per slot (or one for any slot), all of one
/// version and signed by one key. Every variant's CRC and signature have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFile {
    variants: Vec<Variant>,
}

impl SignedFile {
    /// Signs each `(slot, image)` as firmware `version` with security version
    /// `security_version` with `key`.
    pub fn sign(
        key: &SigningKey,
        version: FirmwareVersion,
        security_version: u32,
        images: Vec<(ImageSlot, Vec<u8>)>,
    ) -> Result<Self, ImageError> {
        Self::sign_as(key, version, Some(security_version), images)
    }

    /// Signs each `(slot, image)` the way releases were signed before security versions (a
    /// format-2 file): see [`SignedImage::sign_legacy`].
    pub fn sign_legacy(
        key: &SigningKey,
        version: FirmwareVersion,
        images: Vec<(ImageSlot, Vec<u8>)>,
    ) -> Result<Self, ImageError> {
        Self::sign_as(key, version, None, images)
    }

    fn sign_as(
        key: &SigningKey,
        version: FirmwareVersion,
        security: Option<u32>,
        images: Vec<(ImageSlot, Vec<u8>)>,
    ) -> Result<Self, ImageError> {
        let slots: Vec<ImageSlot> = images.iter().map(|(slot, _)| *slot).collect();
        check_slots(&slots)?;
        let variants = images
            .into_iter()
            .enumerate()
            .map(|(i, (slot, image))| {
                SignedImage::sign_as(key, version, security, image)
                    .map(|image| Variant { slot, image })
                    .map_err(|cause| ImageError::Variant {
                        index: i + 1,
                        slot,
                        cause,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(SignedFile { variants })
    }

    /// A file of one image for any slot.
    pub fn any(image: SignedImage) -> Self {
        SignedFile {
            variants: vec![Variant {
                slot: ImageSlot::Any,
                image,
            }],
        }
    }

    /// Reads a signed-image file of format 3, 2 or 1, checking everything a file can prove
    /// about itself: its layout, the slots, and each image's length, CRC and signature (over
    /// the security version too, for format 3) with the signer key it names.
    pub fn parse(file: &[u8]) -> Result<Self, ImageError> {
        let too_short = |header| ImageError::TooShort {
            len: file.len(),
            header,
        };
        let (magic, rest) = file.split_first_chunk::<4>().ok_or(too_short(HEADER_LEN))?;
        if *magic != MAGIC {
            return Err(ImageError::BadMagic { found: *magic });
        }
        match rest.first().copied() {
            Some(FORMAT) => parse_variants(file, true),
            Some(FORMAT_2) => parse_variants(file, false),
            Some(FORMAT_1) => parse_format_1(file),
            Some(format) => Err(ImageError::UnsupportedFormat { format }),
            None => Err(too_short(HEADER_LEN)),
        }
    }

    /// The file's bytes: format 3, or format 2 for legacy images (signed without a security
    /// version, which format 3 cannot hold).
    pub fn to_bytes(&self) -> Vec<u8> {
        let security = self.first().security;
        let header = if security.is_some() {
            HEADER_LEN
        } else {
            FORMAT_2_HEADER_LEN
        };
        let len = header
            + self
                .variants
                .iter()
                .map(|v| VARIANT_HEADER_LEN + v.image.image.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MAGIC);
        out.push(if security.is_some() { FORMAT } else { FORMAT_2 });
        let version = self.version();
        out.extend_from_slice(&[version.major, version.minor, version.patch]);
        if let Some(security) = security {
            out.extend_from_slice(&security.to_le_bytes());
        }
        out.extend_from_slice(self.signer().as_bytes());
        // At most MAX_VARIANTS: `sign` and `parse` refuse more.
        out.push(u8::try_from(self.variants.len()).unwrap_or(u8::MAX));
        for variant in &self.variants {
            out.push(variant.slot.to_byte());
            out.extend_from_slice(&variant.image.len().to_le_bytes());
            out.extend_from_slice(&variant.image.crc32().to_le_bytes());
            out.extend_from_slice(&variant.image.signature.to_bytes());
            out.extend_from_slice(&variant.image.image);
        }
        out
    }

    /// The variants, in file order.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The variant to send to a board running from `running`: the one linked for the other
    /// slot, or the one for any slot.
    pub fn choose(&self, running: Slot) -> Result<&Variant, WrongSlot> {
        let slots: Vec<ImageSlot> = self.variants.iter().map(|v| v.slot).collect();
        let index = choose(&slots, running)?;
        // `choose` returns an index into `slots`, which has one entry per variant.
        self.variants.get(index).ok_or(WrongSlot { running })
    }

    /// The release's firmware version (every variant's).
    pub fn version(&self) -> FirmwareVersion {
        self.first().version
    }

    /// The release's signed security version (every variant's), `None` for a legacy file.
    pub fn security(&self) -> Option<u32> {
        self.first().security
    }

    /// The security version a board compares with its floor: 0 for a legacy file.
    pub fn security_version(&self) -> u32 {
        self.first().security_version()
    }

    /// The key that signed every variant.
    pub fn signer(&self) -> &VerifyingKey {
        &self.first().signer
    }

    fn first(&self) -> &SignedImage {
        // Never empty: `sign` and `parse` refuse files without a variant, `any` makes one.
        match self.variants.first() {
            Some(v) => &v.image,
            None => unreachable!("a SignedFile holds at least one variant"),
        }
    }
}

/// The slot rules a file's variants keep: 1 or 2 of them, no slot twice, "any" alone.
fn check_slots(slots: &[ImageSlot]) -> Result<(), ImageError> {
    if slots.is_empty() || slots.len() > MAX_VARIANTS {
        return Err(ImageError::VariantCount { count: slots.len() });
    }
    for (i, &slot) in slots.iter().enumerate() {
        check_slot(slots.get(..i).unwrap_or_default(), slot, slots.len())?;
    }
    Ok(())
}

/// Checks that the variant for `slot`, after those for `before`, may join a file of `count`.
fn check_slot(before: &[ImageSlot], slot: ImageSlot, count: usize) -> Result<(), ImageError> {
    let index = before.len() + 1;
    if slot == ImageSlot::Any && count > 1 {
        return Err(ImageError::AnyNotAlone { index, count });
    }
    if let Some(first) = before.iter().position(|&s| s == slot) {
        return Err(ImageError::DuplicateSlot {
            slot,
            first: first + 1,
            second: index,
        });
    }
    Ok(())
}

/// Formats 3 (`secure`: with the security version) and 2, which differ only in it.
fn parse_variants(file: &[u8], secure: bool) -> Result<SignedFile, ImageError> {
    let header_len = if secure {
        HEADER_LEN
    } else {
        FORMAT_2_HEADER_LEN
    };
    let (header, mut rest) = file
        .split_at_checked(header_len)
        .ok_or(ImageError::TooShort {
            len: file.len(),
            header: header_len,
        })?;
    let version = FirmwareVersion::new(header[5], header[6], header[7]);
    let (security, key_at) = if secure {
        (Some(u32_at(header, 8)), 12)
    } else {
        (None, 8)
    };
    let signer = signer_key(&header[key_at..key_at + 32])?;
    let count = usize::from(header[key_at + 32]);
    if count == 0 || count > MAX_VARIANTS {
        return Err(ImageError::VariantCount { count });
    }
    let mut variants: Vec<Variant> = Vec::with_capacity(count);
    for index in 1..=count {
        let Some((&byte, _)) = rest.split_first() else {
            return Err(ImageError::MissingVariant {
                index,
                declared: count,
            });
        };
        let slot = ImageSlot::from_byte(byte).ok_or(ImageError::UnknownSlot { index, byte })?;
        let before: Vec<ImageSlot> = variants.iter().map(|v| v.slot).collect();
        check_slot(&before, slot, count)?;
        let in_variant = |cause| ImageError::Variant { index, slot, cause };
        let (head, after) = rest
            .split_first_chunk::<VARIANT_HEADER_LEN>()
            .ok_or(in_variant(VariantError::HeaderTruncated {
                available: rest.len(),
            }))?;
        let declared = u32_at(head, 1);
        let (image, after) = usize::try_from(declared)
            .ok()
            .and_then(|len| after.split_at_checked(len))
            .ok_or(in_variant(VariantError::Truncated {
                declared,
                available: after.len(),
            }))?;
        let image = checked_image(
            version,
            security,
            signer,
            image,
            u32_at(head, 5),
            signature_at(head, 9),
        )
        .map_err(in_variant)?;
        variants.push(Variant { slot, image });
        rest = after;
    }
    if !rest.is_empty() {
        return Err(ImageError::TrailingBytes { count: rest.len() });
    }
    Ok(SignedFile { variants })
}

fn parse_format_1(file: &[u8]) -> Result<SignedFile, ImageError> {
    let (header, image) =
        file.split_first_chunk::<FORMAT_1_HEADER_LEN>()
            .ok_or(ImageError::TooShort {
                len: file.len(),
                header: FORMAT_1_HEADER_LEN,
            })?;
    let version = FirmwareVersion::new(header[5], header[6], header[7]);
    let in_variant = |cause| ImageError::Variant {
        index: 1,
        slot: ImageSlot::Any,
        cause,
    };
    let declared = u32_at(header, 8);
    if usize::try_from(declared).ok() != Some(image.len()) {
        return Err(in_variant(VariantError::LengthMismatch {
            declared,
            actual: image.len(),
        }));
    }
    let signer = signer_key(&header[16..48])?;
    let image = checked_image(
        version,
        None,
        signer,
        image,
        u32_at(header, 12),
        signature_at(header, 48),
    )
    .map_err(in_variant)?;
    Ok(SignedFile::any(image))
}

/// The image, once its CRC and signature are proved.
fn checked_image(
    version: FirmwareVersion,
    security: Option<u32>,
    signer: VerifyingKey,
    image: &[u8],
    declared_crc: u32,
    signature: Signature,
) -> Result<SignedImage, VariantError> {
    if image.is_empty() {
        return Err(VariantError::Empty);
    }
    let computed = image_crc32(image);
    if computed != declared_crc {
        return Err(VariantError::CrcMismatch {
            declared: declared_crc,
            computed,
        });
    }
    let signed = SignedImage {
        version,
        security,
        image: image.to_vec(),
        signer,
        signature,
    };
    if !signed.is_signed_by(&signer) {
        return Err(VariantError::BadSignature);
    }
    Ok(signed)
}

fn signer_key(bytes: &[u8]) -> Result<VerifyingKey, ImageError> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| ImageError::BadSignerKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| ImageError::BadSignerKey)
}

/// The little-endian u32 at `at` of a fixed-size header (callers pass offsets inside it).
fn u32_at(header: &[u8], at: usize) -> u32 {
    let bytes = header.get(at..at + 4).and_then(|b| b.try_into().ok());
    u32::from_le_bytes(bytes.unwrap_or_default())
}

/// The signature at `at` of a fixed-size header (callers pass offsets inside it).
fn signature_at(header: &[u8], at: usize) -> Signature {
    let bytes = header
        .get(at..at + SIGNATURE_LEN)
        .and_then(|b| b.try_into().ok());
    Signature::from_bytes(&bytes.unwrap_or([0; SIGNATURE_LEN]))
}

/// The message the board verifies: over the security version if there is one.
fn signed_message(
    version: FirmwareVersion,
    security: Option<u32>,
    len: u32,
    image: &[u8],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(image.len() + 15);
    match security {
        Some(security) => message.extend_from_slice(&signed_prefix_v2(version, security, len)),
        None => message.extend_from_slice(&signed_prefix(version, len)),
    }
    message.extend_from_slice(image);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: FirmwareVersion = FirmwareVersion::new(1, 2, 3);

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn two() -> SignedFile {
        SignedFile::sign_legacy(
            &key(1),
            V,
            vec![
                (ImageSlot::A, b"for slot A".to_vec()),
                (ImageSlot::B, b"slot B!".to_vec()),
            ],
        )
        .unwrap()
    }

    /// The format-1 file an older `borderlink firmware sign` wrote for `image`.
    fn format_1(image: &SignedImage) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"BLFI\x01");
        out.extend_from_slice(&[
            image.version.major,
            image.version.minor,
            image.version.patch,
        ]);
        out.extend_from_slice(&image.len().to_le_bytes());
        out.extend_from_slice(&image.crc32().to_le_bytes());
        out.extend_from_slice(image.signer.as_bytes());
        out.extend_from_slice(&image.signature.to_bytes());
        out.extend_from_slice(&image.image);
        out
    }

    #[test]
    fn two_variants_are_laid_out_as_documented_and_round_trip() {
        let file = two();
        let bytes = file.to_bytes();
        assert_eq!(
            bytes.len(),
            FORMAT_2_HEADER_LEN + 2 * VARIANT_HEADER_LEN + 10 + 7
        );
        assert_eq!(&bytes[..8], b"BLFI\x02\x01\x02\x03");
        assert_eq!(&bytes[8..40], key(1).verifying_key().as_bytes());
        assert_eq!(bytes[40], 2);
        let a = &bytes[FORMAT_2_HEADER_LEN..];
        assert_eq!(a[0], 1);
        assert_eq!(&a[1..5], &10u32.to_le_bytes());
        assert_eq!(&a[5..9], &image_crc32(b"for slot A").to_le_bytes());
        assert_eq!(&a[73..83], b"for slot A");
        let b = &a[83..];
        assert_eq!(b[0], 2);
        assert_eq!(&b[73..], b"slot B!");
        let parsed = SignedFile::parse(&bytes).unwrap();
        assert_eq!(parsed, file);
        assert_eq!(parsed.version(), V);
        assert_eq!(parsed.signer(), &key(1).verifying_key());
        let slots: Vec<ImageSlot> = parsed.variants().iter().map(|v| v.slot).collect();
        assert_eq!(slots, [ImageSlot::A, ImageSlot::B]);
        assert_eq!(parsed.variants()[1].image.image(), b"slot B!");
    }

    #[test]
    fn one_variant_round_trips() {
        for slot in [ImageSlot::Any, ImageSlot::A, ImageSlot::B] {
            let file = SignedFile::sign_legacy(&key(3), V, vec![(slot, b"one".to_vec())]).unwrap();
            let bytes = file.to_bytes();
            assert_eq!(bytes.len(), FORMAT_2_HEADER_LEN + VARIANT_HEADER_LEN + 3);
            assert_eq!(bytes[FORMAT_2_HEADER_LEN], slot.to_byte());
            assert_eq!(SignedFile::parse(&bytes), Ok(file));
        }
    }

    #[test]
    fn every_signature_is_the_one_the_board_checks() {
        for variant in two().variants() {
            let image = &variant.image;
            let mut message = signed_prefix(V, image.len()).to_vec();
            message.extend_from_slice(image.image());
            let sig = ed25519_dalek::Signature::from_bytes(&image.signature().to_bytes());
            key(1)
                .verifying_key()
                .verify_strict(&message, &sig)
                .unwrap();
            assert!(image.is_signed_by(&key(1).verifying_key()));
            assert!(!image.is_signed_by(&key(2).verifying_key()));
        }
    }

    #[test]
    fn a_format_1_file_is_read_as_one_variant_for_any_slot() {
        let image = SignedImage::sign_legacy(&key(1), V, b"firmware!".to_vec()).unwrap();
        let bytes = format_1(&image);
        assert_eq!(bytes.len(), FORMAT_1_HEADER_LEN + 9);
        let file = SignedFile::parse(&bytes).unwrap();
        assert_eq!(file, SignedFile::any(image.clone()));
        assert_eq!(file.variants()[0].slot, ImageSlot::Any);
        // Written back, it is format 2 with the same image and signature.
        let again = SignedFile::parse(&file.to_bytes()).unwrap();
        assert_eq!(again.variants()[0].image, image);

        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.clone();
            f(&mut b);
            SignedFile::parse(&b)
        };
        let v1 = |cause| {
            Err(ImageError::Variant {
                index: 1,
                slot: ImageSlot::Any,
                cause,
            })
        };
        assert_eq!(
            SignedFile::parse(&bytes[..50]),
            Err(ImageError::TooShort {
                len: 50,
                header: FORMAT_1_HEADER_LEN
            })
        );
        assert_eq!(
            with(&|b| {
                b.pop();
            }),
            v1(VariantError::LengthMismatch {
                declared: 9,
                actual: 8
            })
        );
        assert!(matches!(
            with(&|b| b[115] ^= 1),
            Err(ImageError::Variant {
                cause: VariantError::CrcMismatch { .. },
                ..
            })
        ));
        assert_eq!(with(&|b| b[5] = 2), v1(VariantError::BadSignature));
        assert_eq!(with(&|b| b[60] ^= 1), v1(VariantError::BadSignature));
        assert_eq!(
            with(&|b| b[16..48].copy_from_slice(key(2).verifying_key().as_bytes())),
            v1(VariantError::BadSignature)
        );
        assert_eq!(
            with(&|b| {
                b.truncate(FORMAT_1_HEADER_LEN);
                b[8..12].copy_from_slice(&[0; 4]);
            }),
            v1(VariantError::Empty)
        );
    }

    #[test]
    fn a_file_that_is_not_a_signed_image_is_named() {
        let good = two().to_bytes();
        assert_eq!(
            SignedFile::parse(b"BLF"),
            Err(ImageError::TooShort {
                len: 3,
                header: HEADER_LEN
            })
        );
        assert_eq!(
            SignedFile::parse(&good[..30]),
            Err(ImageError::TooShort {
                len: 30,
                header: FORMAT_2_HEADER_LEN
            })
        );
        let mut elf = good.clone();
        elf[..4].copy_from_slice(b"\x7fELF");
        let err = SignedFile::parse(&elf).unwrap_err();
        assert_eq!(err, ImageError::BadMagic { found: *b"\x7fELF" });
        assert!(
            err.to_string().contains("not a signed borderlink image"),
            "{err}"
        );
        let mut future = good.clone();
        future[4] = 9;
        assert_eq!(
            SignedFile::parse(&future),
            Err(ImageError::UnsupportedFormat { format: 9 })
        );
    }

    #[test]
    fn every_kind_of_damage_to_a_format_2_file_is_named_with_its_variant() {
        let good = two().to_bytes();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            SignedFile::parse(&b)
        };
        // Offsets: variant 1 (slot A, 10 bytes) at 41, variant 2 (slot B, 7 bytes) at 124.
        let (v1, v2) = (
            FORMAT_2_HEADER_LEN,
            FORMAT_2_HEADER_LEN + VARIANT_HEADER_LEN + 10,
        );
        let in_b = |cause| {
            Err(ImageError::Variant {
                index: 2,
                slot: ImageSlot::B,
                cause,
            })
        };
        // Tampered: an image byte (CRC), a signature byte, the version, the signer.
        let err = with(&|b| b[v2 + 73] ^= 1).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Variant {
                    index: 2,
                    slot: ImageSlot::B,
                    cause: VariantError::CrcMismatch { .. }
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("variant 2 (slot B): image CRC-32"),
            "{err}"
        );
        assert_eq!(with(&|b| b[v2 + 20] ^= 1), in_b(VariantError::BadSignature));
        assert_eq!(
            with(&|b| b[5] = 7),
            Err(ImageError::Variant {
                index: 1,
                slot: ImageSlot::A,
                cause: VariantError::BadSignature
            })
        );
        assert_eq!(
            with(&|b| b[8..40].copy_from_slice(key(2).verifying_key().as_bytes())),
            Err(ImageError::Variant {
                index: 1,
                slot: ImageSlot::A,
                cause: VariantError::BadSignature
            })
        );
        // A signer key that is no curve point.
        let bad = (0u8..=255)
            .map(|i| [i; 32])
            .find(|b| VerifyingKey::from_bytes(b).is_err())
            .unwrap();
        assert_eq!(
            with(&|b| b[8..40].copy_from_slice(&bad)),
            Err(ImageError::BadSignerKey)
        );
        // Truncated: inside the last image, inside its header, before it, and the header.
        assert_eq!(
            SignedFile::parse(&good[..good.len() - 1]),
            in_b(VariantError::Truncated {
                declared: 7,
                available: 6
            })
        );
        assert_eq!(
            SignedFile::parse(&good[..v2 + 10]),
            in_b(VariantError::HeaderTruncated { available: 10 })
        );
        assert_eq!(
            SignedFile::parse(&good[..v2]),
            Err(ImageError::MissingVariant {
                index: 2,
                declared: 2
            })
        );
        // A length past the end of the file, even u32::MAX.
        assert_eq!(
            with(&|b| b[v2 + 1..v2 + 5].copy_from_slice(&u32::MAX.to_le_bytes())),
            in_b(VariantError::Truncated {
                declared: u32::MAX,
                available: 7
            })
        );
        // Extra bytes, and a variant count that leaves bytes over.
        assert_eq!(
            with(&|b| b.push(0)),
            Err(ImageError::TrailingBytes { count: 1 })
        );
        assert_eq!(
            with(&|b| b[40] = 1),
            Err(ImageError::TrailingBytes {
                count: VARIANT_HEADER_LEN + 7
            })
        );
        // Counts and slots.
        for count in [0, 3, 255] {
            assert_eq!(
                with(&|b| b[40] = count),
                Err(ImageError::VariantCount {
                    count: count.into()
                })
            );
        }
        assert_eq!(
            with(&|b| b[v2] = 1),
            Err(ImageError::DuplicateSlot {
                slot: ImageSlot::A,
                first: 1,
                second: 2
            })
        );
        assert_eq!(
            with(&|b| b[v1] = 0),
            Err(ImageError::AnyNotAlone { index: 1, count: 2 })
        );
        assert_eq!(
            with(&|b| b[v2] = 3),
            Err(ImageError::UnknownSlot { index: 2, byte: 3 })
        );
        // An empty image, in a file otherwise well formed.
        let mut empty = good[..v2].to_vec();
        empty[40] = 1;
        empty[v1 + 1..v1 + 5].copy_from_slice(&0u32.to_le_bytes());
        empty.truncate(v1 + VARIANT_HEADER_LEN);
        assert_eq!(
            SignedFile::parse(&empty),
            Err(ImageError::Variant {
                index: 1,
                slot: ImageSlot::A,
                cause: VariantError::Empty
            })
        );
    }

    #[test]
    fn signing_keeps_the_slot_rules() {
        let sign = |images: Vec<(ImageSlot, Vec<u8>)>| SignedFile::sign_legacy(&key(1), V, images);
        assert_eq!(sign(vec![]), Err(ImageError::VariantCount { count: 0 }));
        assert_eq!(
            sign(vec![(ImageSlot::B, vec![1]), (ImageSlot::B, vec![2])]),
            Err(ImageError::DuplicateSlot {
                slot: ImageSlot::B,
                first: 1,
                second: 2
            })
        );
        assert_eq!(
            sign(vec![(ImageSlot::A, vec![1]), (ImageSlot::Any, vec![2])]),
            Err(ImageError::AnyNotAlone { index: 2, count: 2 })
        );
        assert_eq!(
            sign(vec![(ImageSlot::A, vec![1]), (ImageSlot::B, vec![])]),
            Err(ImageError::Variant {
                index: 2,
                slot: ImageSlot::B,
                cause: VariantError::Empty
            })
        );
        assert_eq!(
            sign(vec![
                (ImageSlot::A, vec![1]),
                (ImageSlot::B, vec![2]),
                (ImageSlot::Any, vec![3])
            ]),
            Err(ImageError::VariantCount { count: 3 })
        );
    }

    #[test]
    fn the_variant_for_the_other_slot_is_chosen() {
        let file = two();
        assert_eq!(file.choose(Slot::A).unwrap().slot, ImageSlot::B);
        assert_eq!(file.choose(Slot::B).unwrap().slot, ImageSlot::A);
        let only_a = SignedFile::sign_legacy(&key(1), V, vec![(ImageSlot::A, vec![1])]).unwrap();
        assert_eq!(only_a.choose(Slot::B).unwrap().slot, ImageSlot::A);
        assert_eq!(only_a.choose(Slot::A), Err(WrongSlot { running: Slot::A }));
    }

    #[test]
    fn a_format_3_file_carries_its_signed_security_version() {
        let file = SignedFile::sign(
            &key(1),
            V,
            7,
            vec![
                (ImageSlot::A, b"A".to_vec()),
                (ImageSlot::B, b"BB".to_vec()),
            ],
        )
        .unwrap();
        let bytes = file.to_bytes();
        assert_eq!(&bytes[..12], b"BLFI\x03\x01\x02\x03\x07\x00\x00\x00");
        assert_eq!(&bytes[12..44], key(1).verifying_key().as_bytes());
        assert_eq!(bytes[44], 2);
        assert_eq!(bytes.len(), HEADER_LEN + 2 * VARIANT_HEADER_LEN + 3);
        let back = SignedFile::parse(&bytes).unwrap();
        assert_eq!(back, file);
        assert_eq!((back.security(), back.security_version()), (Some(7), 7));
        // Each signature is the one the board checks for UpdateBeginSecure.
        for variant in back.variants() {
            let image = &variant.image;
            let mut message = signed_prefix_v2(V, 7, image.len()).to_vec();
            message.extend_from_slice(image.image());
            let signature = ed25519_dalek::Signature::from_bytes(&image.signature().to_bytes());
            key(1)
                .verifying_key()
                .verify_strict(&message, &signature)
                .unwrap();
        }
    }

    #[test]
    fn a_raised_security_version_in_the_header_fails_every_signature() {
        // An old, vulnerable release relabelled to get past a board's floor.
        let mut bytes = SignedFile::sign(&key(1), V, 1, vec![(ImageSlot::B, b"old".to_vec())])
            .unwrap()
            .to_bytes();
        bytes[8] = 9;
        assert_eq!(
            SignedFile::parse(&bytes),
            Err(ImageError::Variant {
                index: 1,
                slot: ImageSlot::B,
                cause: VariantError::BadSignature
            })
        );
        // Nor does a legacy signature pass for a format-3 one, or the other way round.
        let legacy = SignedFile::sign_legacy(&key(1), V, vec![(ImageSlot::B, b"old".to_vec())])
            .unwrap()
            .to_bytes();
        let mut as_3 = legacy[..8].to_vec();
        as_3[4] = FORMAT;
        as_3.extend_from_slice(&0u32.to_le_bytes());
        as_3.extend_from_slice(&legacy[8..]);
        assert!(matches!(
            SignedFile::parse(&as_3),
            Err(ImageError::Variant {
                cause: VariantError::BadSignature,
                ..
            })
        ));
    }

    #[test]
    fn legacy_files_read_as_security_version_0_and_are_written_back_as_format_2() {
        let file = two();
        assert_eq!((file.security(), file.security_version()), (None, 0));
        let bytes = file.to_bytes();
        assert_eq!(bytes[4], FORMAT_2);
        assert_eq!(SignedFile::parse(&bytes).unwrap(), file);
    }
}
