//! `borderlink decode rtp`: a voice packet as Wireshark would show it, plus the radio header.

use std::fmt::Write as _;

use borderlink_protocol::ids::{Tsi, TsiForm};
use borderlink_protocol::voice::{FRAME_LEN, RtpPacket, VoiceRepr};
use serde_json::json;

use super::{DecodeError, Decoded};

/// Decodes one RTP datagram carrying borderlink voice.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let repr = VoiceRepr::parse(bytes).map_err(|e| DecodeError::Rtp(e.to_string()))?;
    let rtp = RtpPacket::new_checked(bytes).map_err(|e| DecodeError::Rtp(e.to_string()))?;
    let r = &repr.radio;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "RTP        v{} pt {} (G.711 A-law) seq {} ts {} ssrc {:#010x} marker {}",
        rtp.version(),
        rtp.payload_type(),
        repr.sequence,
        repr.timestamp,
        repr.ssrc,
        if rtp.marker() { "set" } else { "clear" }
    );
    let _ = writeln!(
        text,
        "radio      tx {:?}, squelch {}, emergency {}, priority {}",
        r.tx,
        if r.squelch_open { "open" } else { "closed" },
        if r.emergency { "YES" } else { "no" },
        r.priority.get()
    );
    let _ = writeln!(
        text,
        "talker     {}",
        r.talker.map_or("unknown".into(), describe_tsi)
    );
    let _ = writeln!(text, "talkgroup  {}", describe_tsi(r.talkgroup));
    let _ = writeln!(
        text,
        "origin     site {}, {}",
        r.origin.site.0,
        r.origin
            .network
            .map_or("IP (dispatch)".into(), |n| n.to_string())
    );
    let _ = writeln!(text, "stream     {:#010x}", r.stream.0);
    let _ = writeln!(
        text,
        "key-up     {} ms (origin clock, mod 2^32)",
        r.started.0
    );
    let audio = if repr.payload.len() == FRAME_LEN {
        "one 20 ms G.711 A-law frame"
    } else {
        "no audio"
    };
    let _ = write!(text, "payload    {} bytes ({audio})", repr.payload.len());
    let mut value = serde_json::to_value(repr).map_err(|e| DecodeError::Json(e.to_string()))?;
    value["kind"] = json!("rtp");
    value["marker"] = json!(rtp.marker());
    Ok(Decoded { text, json: value })
}

/// `206-1-2061001 (ASTRID, PEI 02060000102061001)`.
pub(crate) fn describe_tsi(tsi: Tsi) -> String {
    let network = tsi
        .network()
        .map_or("foreign network".into(), |n| n.to_string());
    format!("{tsi} ({network}, PEI {})", tsi.pei(TsiForm::Long))
}
