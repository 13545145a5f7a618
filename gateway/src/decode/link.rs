//! `borderlink decode link`: one frame captured on the host ↔ interface-board serial link.

use borderlink_protocol::link::{MAX_FRAME_LEN, Sender, decode_wire};
use serde_json::json;

use super::{DecodeError, Decoded};

/// Decodes one COBS-encoded frame, with or without its trailing 0x00.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut scratch = [0u8; MAX_FRAME_LEN];
    let frame = decode_wire(bytes, &mut scratch).map_err(|e| DecodeError::Link(e.to_string()))?;
    let message = &frame.message;
    let direction = match message.sender() {
        Sender::Host => "host → board",
        Sender::Board => "board → host",
    };
    let acked = if message.needs_ack() {
        "a command, acknowledged"
    } else {
        "not acknowledged"
    };
    let text = format!(
        "link frame v{} seq {} (CRC ok)\nmessage    {} ({direction}, {acked})\nfields     {message:?}",
        borderlink_protocol::link::VERSION,
        frame.seq,
        message.name(),
    );
    let mut json = serde_json::to_value(frame).map_err(|e| DecodeError::Json(e.to_string()))?;
    json["kind"] = json!("link");
    json["name"] = json!(message.name());
    json["needs_ack"] = json!(message.needs_ack());
    Ok(Decoded { text, json })
}
