//! Firmware images for the interface board, as engineers handle them: signing keys and the
//! signed-image file.
//!
//! An engineer makes a key pair once (`borderlink firmware keygen --out KEY`), builds the
//! board firmware with the public half in it (`BORDERLINK_FIRMWARE_PUBLIC_KEY`), and signs
//! every release image with the private half (`borderlink firmware sign --key KEY --version
//! X.Y.Z IMAGE`). The signed file ([`SignedImage`]) is what `borderlink firmware flash` sends
//! through the daemon to the board, whose update path (`board::update`, the firmware's
//! `update` module) checks the signature again against its built-in key before it will boot
//! the image. Wire and file layouts: `docs/wire.md`, "Firmware update".

mod container;
mod key;

pub use container::{FORMAT, HEADER_LEN, ImageError, MAGIC, SignedImage};
pub use key::{
    KeyFileError, generate, public_key_hex, public_key_rust, read_private_key, write_private_key,
};
