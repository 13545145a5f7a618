//! `borderlink decode lip`: a LIP short location report (SDS type-4 user data whose first
//! byte is protocol id 0x0A), as a radio delivers it in a `+CTSDSR` data line.

use borderlink_protocol::sds::{SdsError, ShortLocationReport};
use serde_json::json;

use super::{DecodeError, Decoded};

/// Decodes a LIP report of `bits` bits (default: every bit of `bytes`).
pub(crate) fn decode(bytes: &[u8], bits: Option<u16>) -> Result<Decoded, DecodeError> {
    let available = bytes.len().saturating_mul(8);
    let bits = match bits {
        Some(bits) => bits,
        None => u16::try_from(available)
            .map_err(|_| DecodeError::Lip(SdsError::TooLong { bits: available }.to_string()))?,
    };
    let report =
        ShortLocationReport::parse(bytes, bits).map_err(|e| DecodeError::Lip(e.to_string()))?;
    let text = format!(
        "LIP short location report ({bits} bits)\nposition   {:.5}, {:.5}\nreport     {report}",
        report.latitude.degrees(),
        report.longitude.degrees()
    );
    let mut json = serde_json::to_value(report).map_err(|e| DecodeError::Json(e.to_string()))?;
    json["kind"] = json!("lip");
    json["bits"] = json!(bits);
    Ok(Decoded { text, json })
}
