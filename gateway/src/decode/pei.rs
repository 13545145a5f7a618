//! `borderlink decode pei`: a radio's PEI transcript (what a serial logger captured on the
//! radio's AT-command port), explained one event per line.
//!
//! Every result the gateway acts on is spelled out (who talks, why a call ended, where a unit
//! is); anything else is shown as parsed. SDS user data is decoded further: a status number or
//! a LIP position appears as such, not as hex.

use std::fmt::Write as _;

use borderlink_protocol::ids::PeiIdentity;
use borderlink_protocol::pei::{AiService, Event, PeiParser, TxGrant};
use borderlink_protocol::sds::{self, SdsKind};
use serde_json::{Value, json};

use super::rtp::describe_tsi;

/// Lines longer than this are reported and skipped; real PEI lines are far shorter, but a
/// +CTSDSR data line of 2047 bits is 512 hex digits.
const LINE_CAPACITY: usize = 1024;

/// One event of a transcript, or the error that a line produced.
#[derive(Debug, Clone, PartialEq)]
pub struct PeiLine {
    /// 1-based line number in the transcript.
    pub line: u32,
    /// The human rendering, or the error message.
    pub text: String,
    /// The JSON rendering: `{"line", "event"}` or `{"line", "error"}`.
    pub json: Value,
    /// Whether this line is an error.
    pub is_error: bool,
}

/// Parses a whole transcript; errors are returned in line order among the events.
///
/// Line numbers are those `grep -n` shows: lines end at LF (or at CR in a transcript that has
/// no LF at all). The parser's own count differs where a radio echoes `AT…<CR><CR><LF>`.
pub fn decode_transcript(bytes: &[u8]) -> Vec<PeiLine> {
    let terminator = if bytes.contains(&b'\n') { b'\n' } else { b'\r' };
    let mut parser = PeiParser::<LINE_CAPACITY>::new();
    let mut out = Vec::new();
    let mut offset = 0;
    let mut line = 1u32;
    // A transcript may end without a final line end; one more CR completes the last line.
    let mut tail: &[u8] = b"\r";
    loop {
        let at_end = offset == bytes.len();
        let chunk = if at_end { tail } else { &bytes[offset..] };
        let (used, item) = parser.push(chunk);
        // Render before anything else touches the parser: the event borrows it.
        let rendered = match item {
            Some(Ok(event)) => Some(Ok((describe(&event), json!(event)))),
            Some(Err(err)) => Some(Err(err.kind.to_string())),
            None => None,
        };
        // The item ends at the last byte consumed; number it by the line that byte is on.
        let consumed = &chunk[..used];
        let before_last = consumed.len().saturating_sub(1);
        let item_line = line + count(&consumed[..before_last], terminator);
        line += count(consumed, terminator);
        if at_end {
            tail = &tail[used..];
        } else {
            offset += used;
        }
        match rendered {
            Some(Ok((text, event))) => out.push(PeiLine {
                line: item_line,
                text,
                json: json!({ "line": item_line, "event": event }),
                is_error: false,
            }),
            Some(Err(message)) => out.push(PeiLine {
                line: item_line,
                text: format!("line {item_line}: {message}"),
                json: json!({ "line": item_line, "error": message }),
                is_error: true,
            }),
            None if at_end && tail.is_empty() => break,
            None => {}
        }
    }
    out
}

fn count(bytes: &[u8], terminator: u8) -> u32 {
    bytes.iter().filter(|&&b| b == terminator).count() as u32
}

fn who(id: Option<PeiIdentity>) -> String {
    match id {
        Some(PeiIdentity::Tsi(tsi)) => describe_tsi(tsi),
        Some(PeiIdentity::Ssi(ssi)) => format!("SSI {ssi}"),
        None => "an unknown party".into(),
    }
}

/// One event in words.
fn describe(event: &Event<'_>) -> String {
    match event {
        Event::Ok => "OK".into(),
        Event::Error => "ERROR: the last command failed".into(),
        Event::CmeError(e) => match e.description() {
            Some(d) => format!("+CME ERROR {}: {d}", e.0),
            None => format!("+CME ERROR {}", e.0),
        },
        Event::Prompt => "prompt: the radio waits for SDS user data".into(),
        Event::Echo(cmd) => format!("command {cmd} (sent to the radio, or echoed by it)"),
        Event::IncomingCall(c) => {
            let mut s = format!(
                "incoming call {}: {:?} from {}",
                c.cc,
                c.ai_service,
                who(c.calling)
            );
            if let Some(called) = c.called {
                let _ = write!(s, " to {}", who(Some(called)));
            }
            if let Some(comms) = c.comms_type {
                let _ = write!(s, ", comms type {comms}");
            }
            if let Some(p) = c.priority {
                let _ = write!(s, ", priority {p}");
            }
            s
        }
        Event::CallConnected(c) => format!("call {} connected", c.cc),
        Event::TxGranted(g) => match g.grant {
            TxGrant::Granted => format!(
                "call {}: transmit granted to this radio, clear to talk",
                g.cc
            ),
            TxGrant::NotGranted => format!("call {}: transmit NOT granted", g.cc),
            TxGrant::Queued => format!("call {}: transmit request queued", g.cc),
            TxGrant::GrantedToAnother => {
                format!("call {}: {} is talking", g.cc, who(g.talker))
            }
            TxGrant::Unknown(code) => {
                format!(
                    "call {}: transmit grant code {code}, not in the table",
                    g.cc
                )
            }
        },
        Event::TxCeased(t) => format!("call {}: the other party stopped talking", t.cc),
        Event::CallReleased(r) => format!("call {} released: {}", r.cc, r.cause),
        Event::TxInterrupted(t) => format!("call {}: transmission interrupted", t.cc),
        Event::TxWait(t) => format!("call {}: transmission waiting", t.cc),
        Event::SdsReceived(sds_in) => {
            let h = &sds_in.header;
            let kind = if h.ai_service == AiService::Status {
                SdsKind::Status
            } else {
                SdsKind::Type4
            };
            let content = match sds::decode(kind, sds_in.data.as_bytes(), h.bits) {
                Ok(data) => data.to_string(),
                Err(e) => format!("undecodable user data ({e}): {}", sds_in.data),
            };
            format!(
                "SDS from {} to {} ({} bits): {content}",
                who(h.calling),
                who(Some(h.called)),
                h.bits
            )
        }
        Event::SignalQuality(q) => match q.dbm() {
            Some(dbm) => format!(
                "signal {dbm} dBm (CSQ {}), bit error rate code {}",
                q.rssi, q.ber
            ),
            None => "signal strength unknown".into(),
        },
        Event::OwnNumber(n) => format!("own identity {} ({:?})", who(Some(n.identity)), n.num_type),
        Event::OperatingMode(mode) => format!("operating mode {mode:?}"),
        Event::Registration(r) => {
            let mut s = if r.state.is_registered() {
                format!("registered on the network ({})", r.state)
            } else {
                format!("NOT registered on the network ({})", r.state)
            };
            if let Some(la) = r.location_area {
                let _ = write!(s, ", location area {la}");
            }
            if let Some(net) = r.network {
                let _ = write!(s, ", network {net}");
            }
            s
        }
        Event::StaticIdentity(n) => {
            format!(
                "static identity {} ({:?})",
                who(Some(n.identity)),
                n.num_type
            )
        }
        Event::Manufacturer(text) => format!("manufacturer: {text}"),
        Event::Model(text) => format!("model: {text}"),
        Event::Revision(text) => format!("software revision: {text}"),
        Event::Unrecognised(line) => format!("unrecognised line: {line}"),
        other => format!("{other:?}"),
    }
}
