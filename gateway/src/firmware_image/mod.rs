//! Firmware images for the interface board, as engineers handle them: signing keys and the
//! signed-image file.
//!
//! An engineer makes a key pair once (`borderlink firmware keygen --out KEY`), builds the
//! board firmware with the public half in it (`BORDERLINK_FIRMWARE_PUBLIC_KEY`), and signs
//! every release image with the private half (`borderlink firmware sign --key KEY --version
//! X.Y.Z --security-version N IMAGE`, or `--slot-a A.bin --slot-b B.bin` for the two builds
//! of an execute-in-place release). The signed file ([`SignedFile`]) is what `borderlink firmware flash` sends to
//! the daemon, which picks the image for the slot the board is not running and sends that
//! [`SignedImage`] to the board, whose update path (`board::update`, the firmware's
//! `update` module) checks the signature again against its built-in key before it will boot
//! the image. Wire and file layouts: `docs/wire.md`, "Firmware update".

mod container;
mod key;
mod slot;

pub use container::{
    FORMAT, FORMAT_1, FORMAT_1_HEADER_LEN, FORMAT_2, FORMAT_2_HEADER_LEN, HEADER_LEN, ImageError,
    MAGIC, MAX_VARIANTS, SignedFile, SignedImage, VARIANT_HEADER_LEN, Variant, VariantError,
};
pub use key::{
    KeyFileError, generate, is_dev_key, public_key_hex, public_key_rust, read_private_key,
    write_private_key,
};
pub use slot::{ImageSlot, WrongSlot};
