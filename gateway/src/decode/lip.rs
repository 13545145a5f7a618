//! `borderlink decode lip`: a LIP PDU (SDS type-4 user data whose first byte is protocol id
//! 0x0A) as a radio delivers it in a `+CTSDSR` data line: a short or long location report, an
//! immediate location report request, or a basic location parameters or location reporting
//! enable/disable request or response.
//!
//! The length in bits decides what is read, as on the PEI (`protocol::pei`, which accepts both
//! the whole-byte and the nibble-exact hex of a length that is not a multiple of 8): 84 bits
//! may be given as 22 digits or as 21, the last digit then the high half of the last byte.
//! Without `--bits` the length is the number of digits × 4.

use borderlink_protocol::sds::{LipPdu, SdsError};
use serde_json::json;

use super::{DecodeError, Decoded};

/// Decodes a LIP PDU from `bytes` (`digits` hex digits) of `bits` bits (default: digits × 4).
pub(crate) fn decode(
    bytes: &[u8],
    digits: usize,
    bits: Option<u16>,
) -> Result<Decoded, DecodeError> {
    let available = digits.saturating_mul(4);
    let bits = match bits {
        Some(bits) => {
            // The PEI's rule: an odd digit count is only the nibble-exact form of the length.
            let nibbles = usize::from(bits).div_ceil(4);
            if digits % 2 == 1 && digits != nibbles {
                return Err(DecodeError::Lip(format!(
                    "{digits} hex digits: an odd count must be exactly the {nibbles} nibbles of \
                     {bits} bits"
                )));
            }
            bits
        }
        None => u16::try_from(available)
            .map_err(|_| DecodeError::Lip(SdsError::TooLong { bits: available }.to_string()))?,
    };
    let pdu = LipPdu::parse(bytes, bits).map_err(|e| DecodeError::Lip(e.to_string()))?;
    let pdu_name = match pdu {
        LipPdu::Short(_) => "short",
        LipPdu::Long(_) => "long",
        LipPdu::ImmediateRequest(_) => "immediate_request",
        LipPdu::BasicParametersRequest(_) => "basic_parameters_request",
        LipPdu::BasicParametersResponse(_) => "basic_parameters_response",
        LipPdu::ReportingEnableRequest(_) => "reporting_enable_request",
        LipPdu::ReportingEnableResponse(_) => "reporting_enable_response",
    };
    let mut text = format!("{} ({bits} bits)\n", pdu.name());
    let report = pdu.report();
    match report.and_then(|r| r.position) {
        Some(p) => text.push_str(&format!(
            "position   {:.5}, {:.5}\n",
            p.latitude().degrees(),
            p.longitude().degrees()
        )),
        None if report.is_some() => text.push_str("position   none (no fix)\n"),
        None => {}
    }
    let (label, body) = match &pdu {
        LipPdu::Short(r) => ("report", r.to_string()),
        LipPdu::Long(r) => ("report", r.to_string()),
        LipPdu::ImmediateRequest(r) => ("request", r.to_string()),
        LipPdu::BasicParametersRequest(r) => ("request", r.to_string()),
        LipPdu::BasicParametersResponse(r) => ("response", r.to_string()),
        LipPdu::ReportingEnableRequest(r) => ("request", r.to_string()),
        LipPdu::ReportingEnableResponse(r) => ("response", r.to_string()),
    };
    text.push_str(&format!("{label:<10} {body}"));
    let fields = match &pdu {
        LipPdu::Short(r) => serde_json::to_value(r),
        LipPdu::Long(r) => serde_json::to_value(r),
        LipPdu::ImmediateRequest(r) => serde_json::to_value(r),
        LipPdu::BasicParametersRequest(r) => serde_json::to_value(r),
        LipPdu::BasicParametersResponse(r) => serde_json::to_value(r),
        LipPdu::ReportingEnableRequest(r) => serde_json::to_value(r),
        LipPdu::ReportingEnableResponse(r) => serde_json::to_value(r),
    };
    let mut json = fields.map_err(|e| DecodeError::Json(e.to_string()))?;
    json["kind"] = json!("lip");
    json["pdu"] = json!(pdu_name);
    json["bits"] = json!(bits);
    if let Some(report) = report {
        json["position"] =
            serde_json::to_value(report.position).map_err(|e| DecodeError::Json(e.to_string()))?;
    }
    Ok(Decoded { text, json })
}

#[cfg(test)]
mod tests {
    use crate::decode::lip_hex;
    use borderlink_protocol::sds::{HorizontalVelocity, LongLocationReport, Velocity};

    #[test]
    fn nibble_exact_and_whole_byte_forms_decode_alike() {
        // The 84-bit short report: 21 digits (Sepura) and 22 (Motorola).
        let odd = lip_hex("0A003814C2494BB158881", None).unwrap();
        let even = lip_hex("0A003814C2494BB1588810", Some(84)).unwrap();
        assert_eq!(odd, even);
        assert_eq!(odd.json["bits"], 84);
        assert_eq!(lip_hex("0A003814C2494BB158881", Some(84)).unwrap(), even);
        assert!(
            odd.text
                .starts_with("LIP short location report (84 bits)\nposition   51.44200, 4.92900")
        );
    }

    #[test]
    fn an_odd_count_that_is_not_the_nibble_count_is_refused() {
        let err = lip_hex("0A003814C2494BB158881", Some(80)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid LIP report: 21 hex digits: an odd count must be exactly the 20 nibbles of 80 bits"
        );
    }

    #[test]
    fn unknown_heading_is_null_in_json_and_said_in_text() {
        // The WEST vector of the protocol's tests: speed unknown, direction code 15.
        let d = lip_hex("0A3FE38E3A44444FFFE020", Some(84)).unwrap();
        assert_eq!(d.json["direction_deg"], serde_json::Value::Null);
        assert_eq!(d.json["direction_raw"], 15);
        assert!(
            d.text.contains("speed unknown, heading unknown"),
            "{}",
            d.text
        );
        assert_eq!(d.json["position"]["heading_deg"], serde_json::Value::Null);
    }

    #[test]
    fn long_report_without_a_fix() {
        let d = lip_hex("0A4C010AB0851", None).unwrap();
        assert_eq!(d.json["pdu"], "long");
        assert_eq!(d.json["bits"], 52);
        assert_eq!(d.json["position"], serde_json::Value::Null);
        assert!(d.text.contains("position   none (no fix)"), "{}", d.text);
        assert!(
            d.text.contains("result: position method failure (81)"),
            "{}",
            d.text
        );
    }

    #[test]
    fn long_report_with_a_circle() {
        let d = lip_hex("0A4D080E05309252EC4D5880409882A0", Some(124)).unwrap();
        assert_eq!(d.json["pdu"], "long");
        assert_eq!(d.json["location"]["extent"]["circle"]["uncertainty"], 9);
        assert!((d.json["position"]["error_m"].as_f64().unwrap() - 21.68).abs() < 0.01);
        assert!(d.text.contains("heading 90.0°"), "{}", d.text);
    }

    #[test]
    fn long_report_without_a_direction_has_a_null_heading() {
        // The circle report with velocity type 1 (speed only): 124 − 8 = 116 bits.
        let mut report = LongLocationReport::parse(
            &[
                0x0a, 0x4d, 0x08, 0x0e, 0x05, 0x30, 0x92, 0x52, 0xec, 0x4d, 0x58, 0x80, 0x40, 0x98,
                0x82, 0xa0,
            ],
            124,
        )
        .unwrap();
        report.velocity = Some(Velocity::Horizontal {
            horizontal: HorizontalVelocity::from_km_h(50.8),
        });
        let mut buf = vec![0u8; report.buffer_len()];
        report.emit(&mut buf).unwrap();
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        let d = lip_hex(&hex, Some(116)).unwrap();
        assert_eq!(d.json["position"]["heading_deg"], serde_json::Value::Null);
        assert!((d.json["position"]["speed_km_h"].as_f64().unwrap() - 50.84).abs() < 0.01);
        assert!(d.text.contains("50.8 km/h, heading unknown"), "{}", d.text);
    }

    #[test]
    fn immediate_request() {
        let d = lip_hex("0A44988070", Some(36)).unwrap();
        // 36 bits are 9 nibbles: the nibble-exact form reads the same.
        assert_eq!(lip_hex("0A 44 98 80 7", None).unwrap(), d);
        assert_eq!(d.json["pdu"], "immediate_request");
        assert_eq!(d.json["report_type"], "long_with_time_elapsed");
        assert!(
            d.text
                .starts_with("LIP immediate location report request (36 bits)\nrequest")
        );
    }

    #[test]
    fn basic_parameters_response() {
        let d = lip_hex("0A5631001B", Some(40)).unwrap();
        assert_eq!(d.json["pdu"], "basic_parameters_response");
        assert_eq!(d.json["result"], 24);
        assert_eq!(d.json["flags"], 0x80);
        assert_eq!(d.json["report_type"], "short");
        assert_eq!(d.json.get("position"), None);
        assert_eq!(
            d.text,
            "LIP basic location parameters response (40 bits)\nresponse   result: accepted (24), \
             reporting enabled, backlog disabled, minimum reporting interval code 6, short report"
        );
    }

    #[test]
    fn reporting_enable_request() {
        let d = lip_hex("0A69C0", None).unwrap();
        assert_eq!(d.json["pdu"], "reporting_enable_request");
        assert_eq!(d.json["acknowledgement_requested"], true);
        assert!(
            d.text.starts_with(
                "LIP location reporting enable/disable request (24 bits)\nrequest    reporting \
                 enabled, backlog enabled"
            ),
            "{}",
            d.text
        );
    }

    #[test]
    fn acknowledgement_is_refused_by_name() {
        let err = lip_hex("0A500000", None).unwrap_err();
        assert!(
            err.to_string().contains("location report acknowledgement"),
            "{err}"
        );
    }
}
