//! The board link: the framed serial protocol between the Linux daemon (the *host*) and the
//! interface board (the *board*) that keys the radios' PTT lines, reads their COR inputs and
//! switches their power.
//!
//! Both ends use this module: the daemon's `board` driver and the no-allocator firmware. The
//! link runs over a UART at 115 200 baud and has to be trustworthy, since a corrupted "key"
//! puts a radio on the air: every frame is CRC-checked, sequence-numbered and versioned, every
//! command is acknowledged, and the board drops PTT on its own if the host falls silent for
//! [`HOST_SILENCE_LIMIT`].
//!
//! Layers, from the wire up:
//! - COBS and the 0x00 delimiter: [`encode`] and [`decode_wire`] for one frame, and
//!   [`FrameDecoder`] for a byte stream;
//! - the frame, `version | seq | body | crc16`: [`Frame`] and [`FrameRepr`];
//! - the body: the postcard-encoded [`Message`] catalogue and its rules, with the messages of
//!   each direction as [`HostMessage`] (host to board) and [`BoardMessage`] (board to host);
//! - the session rules: heartbeats, silence limits, ack timeouts, the command [`WINDOW`].
//!
//! Parsing never panics and allocates nothing; update chunk data is borrowed from the decoder's
//! buffer. `parse` and `emit` round-trip:
//!
//! ```
//! use borderlink_protocol::link::{decode_wire, encode, FrameRepr, Message, Port, MAX_WIRE_LEN, MAX_FRAME_LEN};
//!
//! let repr = FrameRepr { seq: 7, message: Message::SetPtt { port: Port::new(2).unwrap(), keyed: true } };
//! let mut wire = [0u8; MAX_WIRE_LEN];
//! let n = encode(&repr, &mut wire).unwrap();
//! assert_eq!(&wire[..n], &[0x03, 0x02, 0x07, 0x06, 0x02, 0x02, 0x01, 0xa7, 0xfa, 0x00]);
//! let mut scratch = [0u8; MAX_FRAME_LEN];
//! assert_eq!(decode_wire(&wire[..n], &mut scratch), Ok(repr));
//! ```
//!
//! The full wire description (message catalogue, handshake, retry and update rules, worked
//! examples) is in `docs/wire.md`.

mod ack;
mod checksum;
mod decoder;
mod error;
mod fault;
mod frame;
mod message;
mod port;
mod telemetry;
mod timing;
mod update;
mod wire;

#[cfg(test)]
mod strategy;

pub use ack::{AckResult, NackReason};
pub use checksum::{FRAME_CRC, IMAGE_CRC, frame_crc, image_crc32};
pub use decoder::FrameDecoder;
pub use error::{BodyError, EmitError, LinkError};
pub use fault::{Fault, PowerCutCause};
pub use frame::{
    CRC_LEN, Frame, FrameRepr, HEADER_LEN, MAX_BODY_LEN, MAX_CHUNK, MAX_FRAME_LEN, MAX_WIRE_LEN,
    VERSION,
};
pub use message::{BoardMessage, HostMessage, Message, Sender};
pub use port::{PORTS, Port, PortMask};
pub use telemetry::{BoardInfo, FirmwareVersion, ResetCause, Slot, Telemetry};
pub use timing::{
    ACK_TIMEOUT, BOARD_SILENCE_LIMIT, ERASE_ACK_TIMEOUT, HEARTBEAT_INTERVAL, HOST_SILENCE_LIMIT,
    MAX_RETRIES, MIN_TX_BREAK, VERIFY_ACK_TIMEOUT, WINDOW,
};
pub use update::{
    SIGNATURE_DOMAIN, SIGNATURE_DOMAIN_V2, SIGNATURE_LEN, SIGNED_PREFIX_LEN, SIGNED_PREFIX_V2_LEN,
    Signature, UpdatePhase, signed_prefix, signed_prefix_v2,
};
pub use wire::{decode_wire, encode};
