//! `borderlink decode sds`: any short data a radio delivers in a `+CTSDSR` data line — a
//! status, LIP, text in any coding, a concatenated-text part, an SDS-TL report or
//! acknowledgement — explained line by line, as the daemon's decoder sees it.

use borderlink_protocol::sds::{self, SdsError, SdsKind, TlPdu, UserData};
use serde_json::json;

use super::{DecodeError, Decoded};

/// Decodes `bits` bits of user data (default: every bit of `bytes`) as `kind` (default: a
/// status when exactly 16 bits, type-4 otherwise, as [`sds::decode_user_data`] guesses).
pub(crate) fn decode(
    bytes: &[u8],
    bits: Option<u16>,
    kind: Option<SdsKind>,
) -> Result<Decoded, DecodeError> {
    let available = bytes.len().saturating_mul(8);
    let bits = match bits {
        Some(bits) => bits,
        None => u16::try_from(available)
            .map_err(|_| DecodeError::Sds(SdsError::TooLong { bits: available }.to_string()))?,
    };
    let data = match kind {
        Some(kind) => sds::decode(kind, bytes, bits),
        None => sds::decode_user_data(bytes, bits),
    }
    .map_err(|e| DecodeError::Sds(e.to_string()))?;
    let mut lines = vec![
        format!("{} ({bits} bits)", kind_name(&data)),
        data.to_string(),
    ];
    if let Some(detail) = detail(&data) {
        lines.push(detail);
    }
    let mut json = serde_json::to_value(data).map_err(|e| DecodeError::Json(e.to_string()))?;
    json["bits"] = json!(bits);
    json["summary"] = json!(data.to_string());
    if let UserData::Text(t) = &data
        && let Ok(chars) = t.chars()
    {
        json["text"] = json!(chars.collect::<String>());
    }
    if let UserData::UdhText(t) = &data
        && let Ok(chars) = borderlink_protocol::sds::TextChars::new(t.coding, t.text)
    {
        json["text"] = json!(chars.collect::<String>());
    }
    Ok(Decoded {
        text: lines.join("\n"),
        json,
    })
}

fn kind_name(data: &UserData<'_>) -> &'static str {
    match data {
        UserData::Status(_) => "status",
        UserData::Lip(_) => "LIP short location report",
        UserData::LipLong(_) => "LIP long location report",
        UserData::LipRequest(_) => "LIP immediate location report request",
        UserData::LipControl(pdu) => pdu.name(),
        UserData::Text(_) => "text message",
        UserData::UdhText(_) => "text with user data header",
        UserData::Tl {
            pdu: TlPdu::Report(_),
            ..
        } => "SDS-TL SDS-REPORT",
        UserData::Tl {
            pdu: TlPdu::Ack(_), ..
        } => "SDS-TL SDS-ACK",
        UserData::Tl {
            pdu: TlPdu::Transfer { .. },
            ..
        } => "SDS-TL SDS-TRANSFER",
        UserData::Other { .. } => "undecoded type-4 data",
    }
}

/// A second line for what the summary leaves out.
fn detail(data: &UserData<'_>) -> Option<String> {
    match data {
        UserData::Tl {
            pdu: TlPdu::Report(r),
            ..
        } => Some(format!(
            "status     class {}, {}",
            r.status.class(),
            if r.store_forward.is_some() {
                "store-and-forward fields present"
            } else {
                "no store-and-forward fields"
            }
        )),
        UserData::Text(t) => t.sds_tl.map(|tl| {
            format!(
                "sds-tl     report request {:?}, timestamp {}",
                tl.header.delivery_report,
                tl.timestamp
                    .map_or_else(|| "none".to_owned(), |ts| format!("0x{:06x}", ts.get()))
            )
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_explained() {
        let d = decode(&[0x82, 0x10, 0x4b, 0x07], None, None).unwrap();
        assert_eq!(
            d.text,
            "SDS-TL SDS-REPORT (32 bits)\n\
             SDS-REPORT (0x82 text messaging (SDS-TL)) on message reference 7: \
             0x4b destination not registered on system (data transfer failed)\n\
             status     class data transfer failed, no store-and-forward fields"
        );
        assert_eq!(d.json["type"], "tl");
        assert_eq!(d.json["data"]["pdu"]["pdu"], "report");
        assert_eq!(d.json["data"]["pdu"]["message_reference"], 7);
    }

    #[test]
    fn cyrillic_text_is_rendered() {
        // Simple text, coding 5 (ISO 8859-5): "Да".
        let d = decode(&[0x02, 0x05, 0xb4, 0xd0], None, None).unwrap();
        assert_eq!(d.json["text"], "Да");
        assert!(d.text.contains("text \"Да\" (ISO 8859-5)"), "{}", d.text);
    }

    #[test]
    fn sixteen_bits_can_be_forced_to_type4() {
        let d = decode(&[0xc3, 0x01], None, Some(SdsKind::Type4)).unwrap();
        assert!(d.text.starts_with("undecoded type-4 data"), "{}", d.text);
    }

    #[test]
    fn malformed_data_names_the_fault() {
        let err = decode(&[0x82, 0x10, 0x00], None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid short data: truncated: a 8-bit field at bit 24 but only 0 bits remain"
        );
    }
}
