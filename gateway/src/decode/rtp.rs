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
        "key-up     {} ms since 1970 ({}, origin clock)",
        r.started.0,
        i64::try_from(r.started.0)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or("after the year 9999".into(), |t| format!("{t:.3}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example's header with its key-up time replaced by `key_up`.
    fn packet(key_up: u64) -> Vec<u8> {
        let mut p = hex::decode(
            "900800070000046001020304bede000910a32533800112d687353380011f72c942000c01530000cafe77",
        )
        .unwrap();
        p.extend_from_slice(&key_up.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p
    }

    #[test]
    fn any_key_up_time_is_described_without_a_panic() {
        for (key_up, shown) in [
            (1_765_000_000_000, "2025-12-06T05:46:40.000Z"),
            (0, "1970-01-01T00:00:00.000Z"),
            (u64::MAX, "after the year 9999"),
            (i64::MAX as u64 + 1, "after the year 9999"),
        ] {
            let decoded = decode(&packet(key_up)).expect("a valid packet");
            assert!(decoded.text.contains(shown), "{key_up}: {}", decoded.text);
        }
    }
}
