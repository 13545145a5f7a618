//! Parsing one PEI line into an [`Event`].
//!
//! A line is classified by how it starts: `OK`, `ERROR`, the `>` prompt, an `AT` echo, or a
//! result code borderlink knows followed by a colon. Anything else is
//! [`Event::Unrecognised`]: radios print vendor results borderlink has no use for, and those
//! must not look like faults. A known result code with bad parameters is an error that names
//! the parameter, because a garbled `+CTXG` or `+CTCR` means the gateway may have missed a
//! floor change and an operator should see it.
//!
//! Parameters are separated by commas; blanks around them are ignored, identities may be
//! quoted, and parameters beyond those listed for a code are ignored (vendors append
//! proprietary ones, e.g. an eighth `+CTCC` parameter).

use crate::ids::PeiIdentity;

use super::cause::DisconnectCause;
use super::error::{ErrorKind, FieldFault, PeiError, ResultCode};
use super::event::{
    CallConnected, CallReleased, CmeError, Event, GroupEntry, GroupList, IncomingCall, NumberEntry,
    Registration, SdsHeader, SdsSendResult, SignalQuality, TxCeased, TxGranted, TxInterrupted,
    TxWait,
};
use super::param::{
    AiMode, AiService, CallStatus, CommsType, Encryption, GroupType, Hook, IdentityType, NumType,
    RegistrationState, Simplex, TxGrant, TxRequestPermission,
};
use super::user_data::MAX_USER_DATA_BITS;

/// Parses one line, without its line end (trailing CR/LF and blanks are ignored).
///
/// Errors report line 1. A `+CTSDSR` line gives [`Event::SdsHeader`]; only the streaming
/// [`super::PeiParser`] can join it with the data line that follows.
pub fn parse_line(line: &str) -> Result<Event<'_>, PeiError> {
    parse(line).map_err(|kind| PeiError { line: 1, kind })
}

/// Blanks a radio may put around a line or a parameter.
const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];

pub(crate) fn parse(line: &str) -> Result<Event<'_>, ErrorKind> {
    let line = line.trim_matches(BLANKS);
    match line {
        "OK" => return Ok(Event::Ok),
        "ERROR" => return Ok(Event::Error),
        ">" => return Ok(Event::Prompt),
        _ => {}
    }
    if line
        .as_bytes()
        .get(..2)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
    {
        return Ok(Event::Echo(line));
    }
    for code in ResultCode::ALL {
        if let Some(rest) = line
            .strip_prefix(code.name())
            .and_then(|r| r.strip_prefix(':'))
        {
            return parse_result(code, rest);
        }
    }
    Ok(Event::Unrecognised(line))
}

/// A bare `<num type>,<identity>` line, as radios continue a `+CNUMF` or `+CNUMS` answer.
pub(crate) fn parse_number_entry(line: &str) -> Option<NumberEntry> {
    let line = line.trim_matches(BLANKS);
    let f = Fields::split(ResultCode::Cnumf, line);
    if f.count != 2 {
        return None;
    }
    number_entry(&f).ok()
}

/// Most parameters read from one line; `+CTGS` with its full list of groups needs 16.
const MAX_FIELDS: usize = 2 * GroupList::CAPACITY;

/// The parameters of one result line.
struct Fields<'a> {
    code: ResultCode,
    parts: [&'a str; MAX_FIELDS],
    /// How many parameters the line has, even beyond the ones kept.
    count: usize,
}

type Field<T> = Result<T, ErrorKind>;

impl<'a> Fields<'a> {
    fn split(code: ResultCode, rest: &'a str) -> Self {
        let mut parts = [""; MAX_FIELDS];
        let mut count = 0usize;
        for (slot, part) in rest.split(',').enumerate() {
            if let Some(p) = parts.get_mut(slot) {
                *p = part.trim_matches(BLANKS);
            }
            count = count.saturating_add(1);
        }
        Fields { code, parts, count }
    }

    fn fault(&self, index: usize, name: &'static str, fault: FieldFault) -> ErrorKind {
        ErrorKind::Field {
            code: self.code,
            index: u8::try_from(index).unwrap_or(u8::MAX),
            name,
            fault,
        }
    }

    /// The parameter's text, `None` when absent or empty.
    fn text(&self, index: usize) -> Option<&'a str> {
        self.parts.get(index).copied().filter(|s| !s.is_empty())
    }

    fn number(&self, index: usize, name: &'static str, max: u32) -> Field<Option<u32>> {
        let Some(s) = self.text(index) else {
            return Ok(None);
        };
        let mut value: u32 = 0;
        for (offset, c) in s.bytes().enumerate() {
            if !c.is_ascii_digit() {
                return Err(self.fault(index, name, FieldFault::NotNumber { offset }));
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u32::from(c - b'0')))
                .ok_or_else(|| self.fault(index, name, FieldFault::OutOfRange))?;
        }
        if value > max {
            return Err(self.fault(index, name, FieldFault::OutOfRange));
        }
        Ok(Some(value))
    }

    fn required<T>(&self, index: usize, name: &'static str, v: Option<T>) -> Field<T> {
        v.ok_or_else(|| self.fault(index, name, FieldFault::Missing))
    }

    fn opt_u8(&self, index: usize, name: &'static str, max: u8) -> Field<Option<u8>> {
        // `number` checks against `max`, so the value fits.
        Ok(self.number(index, name, u32::from(max))?.map(|v| v as u8))
    }

    fn opt_u16(&self, index: usize, name: &'static str) -> Field<Option<u16>> {
        Ok(self
            .number(index, name, u32::from(u16::MAX))?
            .map(|v| v as u16))
    }

    fn u16(&self, index: usize, name: &'static str) -> Field<u16> {
        let v = self.opt_u16(index, name)?;
        self.required(index, name, v)
    }

    /// A coded parameter: any number up to 65535 yields a value, one outside the table as its
    /// `Unknown(n)`; only a parameter that is not a number is a fault.
    fn opt_coded<T>(
        &self,
        index: usize,
        name: &'static str,
        from_code: fn(u16) -> T,
    ) -> Field<Option<T>> {
        Ok(self.opt_u16(index, name)?.map(from_code))
    }

    fn coded<T>(&self, index: usize, name: &'static str, from_code: fn(u16) -> T) -> Field<T> {
        let v = self.opt_coded(index, name, from_code)?;
        self.required(index, name, v)
    }

    fn opt_identity(&self, index: usize, name: &'static str) -> Field<Option<PeiIdentity>> {
        let Some(s) = self.text(index) else {
            return Ok(None);
        };
        let s = s
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(s);
        PeiIdentity::parse(s)
            .map(Some)
            .map_err(|e| self.fault(index, name, FieldFault::Identity(e)))
    }

    fn identity(&self, index: usize, name: &'static str) -> Field<PeiIdentity> {
        let v = self.opt_identity(index, name)?;
        self.required(index, name, v)
    }
}

// Parameter names as EN 300 392-5 writes them, for error messages.
const CC: &str = "<CC instance>";
const AI_SERVICE: &str = "<AI service>";
const HOOK: &str = "<hook>";
const SIMPLEX: &str = "<simplex>";
const E2E: &str = "<end to end encryption>";
const COMMS: &str = "<comms type>";
const SLOTS: &str = "<slots/codec>";
const RQ: &str = "<TxRqPrmsn>";
const CALLED: &str = "<called party identity>";
const CALLED_TYPE: &str = "<called party identity type>";
const CALLING: &str = "<calling party identity>";
const CALLING_TYPE: &str = "<calling party identity type>";
const LENGTH: &str = "<length>";

fn parse_result(code: ResultCode, rest: &str) -> Result<Event<'_>, ErrorKind> {
    let f = Fields::split(code, rest);
    Ok(match code {
        ResultCode::CmeError => {
            Event::CmeError(CmeError(f.u16(0, "<extended error report code>")?))
        }
        ResultCode::Cticn => Event::IncomingCall(IncomingCall {
            cc: f.u16(0, CC)?,
            status: f.coded(1, "<call status>", CallStatus::from_code)?,
            ai_service: f.coded(2, AI_SERVICE, AiService::from_code)?,
            calling_type: f.opt_coded(3, CALLING_TYPE, IdentityType::from_code)?,
            calling: f.opt_identity(4, CALLING)?,
            hook: f.opt_coded(5, HOOK, Hook::from_code)?,
            simplex: f.opt_coded(6, SIMPLEX, Simplex::from_code)?,
            encrypted: f.opt_coded(7, E2E, Encryption::from_code)?,
            comms_type: f.opt_coded(8, COMMS, CommsType::from_code)?,
            slots_codec: f.opt_u8(9, SLOTS, u8::MAX)?,
            called_type: f.opt_coded(10, CALLED_TYPE, IdentityType::from_code)?,
            called: f.opt_identity(11, CALLED)?,
            // Levels 0–15 are the standard's; a higher one is kept as sent, not refused.
            priority: f.opt_u8(12, "<priority level>", u8::MAX)?,
        }),
        ResultCode::Ctcc => Event::CallConnected(CallConnected {
            cc: f.u16(0, CC)?,
            hook: f.opt_coded(1, HOOK, Hook::from_code)?,
            simplex: f.opt_coded(2, SIMPLEX, Simplex::from_code)?,
            ai_service: f.opt_coded(3, AI_SERVICE, AiService::from_code)?,
            encrypted: f.opt_coded(4, E2E, Encryption::from_code)?,
            comms_type: f.opt_coded(5, COMMS, CommsType::from_code)?,
            slots_codec: f.opt_u8(6, SLOTS, u8::MAX)?,
        }),
        ResultCode::Ctxg => Event::TxGranted(TxGranted {
            cc: f.u16(0, CC)?,
            grant: f.coded(1, "<TxGrant>", TxGrant::from_code)?,
            permission: f.coded(2, RQ, TxRequestPermission::from_code)?,
            encrypted: f.coded(3, E2E, Encryption::from_code)?,
            talker_type: f.opt_coded(4, "<TPI type>", IdentityType::from_code)?,
            talker: f.opt_identity(5, "<TPI>")?,
        }),
        ResultCode::Cdtxc => Event::TxCeased(TxCeased {
            cc: f.u16(0, CC)?,
            permission: f.coded(1, RQ, TxRequestPermission::from_code)?,
        }),
        ResultCode::Ctcr => Event::CallReleased(CallReleased {
            cc: f.u16(0, CC)?,
            cause: {
                let code = f.opt_u16(1, "<disconnect cause>")?;
                DisconnectCause::from_code(f.required(1, "<disconnect cause>", code)?)
            },
        }),
        ResultCode::Ctxi => Event::TxInterrupted(TxInterrupted {
            cc: f.u16(0, CC)?,
            permission: f.opt_coded(1, RQ, TxRequestPermission::from_code)?,
            encrypted: f.opt_coded(2, E2E, Encryption::from_code)?,
        }),
        ResultCode::Ctxw => Event::TxWait(TxWait {
            cc: f.u16(0, CC)?,
            permission: f.opt_coded(1, RQ, TxRequestPermission::from_code)?,
        }),
        ResultCode::Ctsdsr => Event::SdsHeader(sds_header(&f)?),
        ResultCode::Cmgs => Event::SdsSent(SdsSendResult {
            instance: f.u16(0, "<SDS instance>")?,
            status: f.opt_u8(1, "<SDS status>", u8::MAX)?,
            reference: f.opt_u8(2, "<message reference>", u8::MAX)?,
        }),
        ResultCode::Csq => {
            let rssi = f.opt_u8(0, "<rssi>", SignalQuality::UNKNOWN)?;
            let rssi = f.required(0, "<rssi>", rssi)?;
            let ber = f.opt_u8(1, "<ber>", SignalQuality::UNKNOWN)?;
            let ber = f.required(1, "<ber>", ber)?;
            let q = SignalQuality { rssi, ber };
            if !(rssi <= 31 || rssi == SignalQuality::UNKNOWN) {
                return Err(f.fault(0, "<rssi>", FieldFault::OutOfRange));
            }
            if !q.is_valid() {
                return Err(f.fault(1, "<ber>", FieldFault::OutOfRange));
            }
            Event::SignalQuality(q)
        }
        ResultCode::Cnumf => Event::OwnNumber(number_entry(&f)?),
        ResultCode::Ctom => Event::OperatingMode(f.coded(0, "<AI mode>", AiMode::from_code)?),
        ResultCode::Ctgs => Event::Groups(groups(&f)?),
        ResultCode::Creg => Event::Registration(Registration {
            state: f.coded(0, "<reg stat>", RegistrationState::from_code)?,
            location_area: f.number(1, "<LA>", u32::MAX)?,
            network: f.number(2, "<MNI>", u32::MAX)?,
        }),
        ResultCode::Cnums => Event::StaticIdentity(number_entry(&f)?),
        // Free text: commas are part of it, so the whole rest of the line is the value.
        ResultCode::Gmi => Event::Manufacturer(free_text(&f, rest, "<manufacturer>")?),
        ResultCode::Gmm => Event::Model(free_text(&f, rest, "<model>")?),
        ResultCode::Gmr => Event::Revision(free_text(&f, rest, "<revision>")?),
    })
}

/// The text of a `+GMI`/`+GMM`/`+GMR` answer, trimmed; an empty one is missing.
fn free_text<'a>(f: &Fields<'_>, rest: &'a str, name: &'static str) -> Field<&'a str> {
    let text = rest.trim_matches(BLANKS);
    if text.is_empty() {
        Err(f.fault(0, name, FieldFault::Missing))
    } else {
        Ok(text)
    }
}

fn number_entry(f: &Fields<'_>) -> Field<NumberEntry> {
    Ok(NumberEntry {
        num_type: f.coded(0, "<num type>", NumType::from_code)?,
        identity: f.identity(1, "<identity>")?,
    })
}

/// `+CTGS: [<group type>],<called party identity>[,[<group type>],<identity>]…`; a lone
/// identity (direct mode leaves the group type out) is read as a list of one.
fn groups(f: &Fields<'_>) -> Field<GroupList> {
    let mut list = GroupList::default();
    if f.count == 1 {
        let identity = f.identity(0, CALLED)?;
        // A fresh list has room for one entry.
        let _ = list.0.push(GroupEntry {
            group_type: None,
            identity,
        });
        return Ok(list);
    }
    if f.count > MAX_FIELDS {
        return Err(f.fault(
            MAX_FIELDS,
            "<group type>",
            FieldFault::TooManyEntries {
                capacity: GroupList::CAPACITY,
            },
        ));
    }
    let mut index = 0;
    while index < f.count {
        let group_type = f.opt_coded(index, "<group type>", GroupType::from_code)?;
        let identity = f.identity(index + 1, CALLED)?;
        let entry = GroupEntry {
            group_type,
            identity,
        };
        if list.0.push(entry).is_err() {
            return Err(f.fault(
                index,
                "<group type>",
                FieldFault::TooManyEntries {
                    capacity: GroupList::CAPACITY,
                },
            ));
        }
        index += 2;
    }
    Ok(list)
}

fn sds_header(f: &Fields<'_>) -> Field<SdsHeader> {
    let ai_service = f.coded(0, AI_SERVICE, AiService::from_code)?;
    let bits_at = |index: usize| -> Field<u16> {
        let bits = f.number(index, LENGTH, u32::from(MAX_USER_DATA_BITS))?;
        Ok(f.required(index, LENGTH, bits)? as u16)
    };
    match f.count {
        0 | 1 => Err(f.fault(1, CALLED, FieldFault::Missing)),
        2 => Err(f.fault(2, LENGTH, FieldFault::Missing)),
        // The short forms some radios use: no calling party.
        3 | 4 => {
            let called = f.identity(1, CALLED)?;
            let (called_type, bits) = if f.count == 3 {
                (None, bits_at(2)?)
            } else {
                (
                    f.opt_coded(2, CALLED_TYPE, IdentityType::from_code)?,
                    bits_at(3)?,
                )
            };
            Ok(SdsHeader {
                ai_service,
                calling: None,
                calling_type: None,
                called,
                called_type,
                bits,
                encrypted: None,
            })
        }
        5 => Err(f.fault(5, LENGTH, FieldFault::Missing)),
        _ => Ok(SdsHeader {
            ai_service,
            calling: f.opt_identity(1, CALLING)?,
            calling_type: f.opt_coded(2, CALLING_TYPE, IdentityType::from_code)?,
            called: f.identity(3, CALLED)?,
            called_type: f.opt_coded(4, CALLED_TYPE, IdentityType::from_code)?,
            bits: bits_at(5)?,
            encrypted: f.opt_coded(6, E2E, Encryption::from_code)?,
        }),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ids::{IdError, Ssi, Tsi};

    fn tsi(mcc: u16, mnc: u16, ssi: u32) -> PeiIdentity {
        PeiIdentity::Tsi(Tsi::from_parts(mcc, mnc, ssi).unwrap())
    }

    fn ssi(v: u32) -> PeiIdentity {
        PeiIdentity::Ssi(Ssi::new(v).unwrap())
    }

    fn field_err(line: &str) -> (ResultCode, u8, &'static str, FieldFault) {
        match parse_line(line) {
            Err(PeiError {
                line: 1,
                kind:
                    ErrorKind::Field {
                        code,
                        index,
                        name,
                        fault,
                    },
            }) => (code, index, name, fault),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn final_results() {
        assert_eq!(parse_line("OK"), Ok(Event::Ok));
        assert_eq!(parse_line("ERROR\r\n"), Ok(Event::Error));
        assert_eq!(
            parse_line("+CME ERROR: 35"),
            Ok(Event::CmeError(CmeError(35)))
        );
        assert_eq!(parse_line("+CME ERROR:3"), Ok(Event::CmeError(CmeError(3))));
    }

    #[test]
    fn prompt_and_echo() {
        assert_eq!(parse_line("> "), Ok(Event::Prompt));
        assert_eq!(parse_line("AT+CTGS?"), Ok(Event::Echo("AT+CTGS?")));
        assert_eq!(parse_line("at+csq?"), Ok(Event::Echo("at+csq?")));
    }

    #[test]
    fn incoming_group_call_with_17_digit_tsis() {
        // SvxLink's TetraLogic quotes this line from a Motorola radio.
        let e = parse_line("+CTICN: 1,0,0,5,09011638300023404,1,1,0,1,1,5,09011638300000001,0");
        assert_eq!(
            e,
            Ok(Event::IncomingCall(IncomingCall {
                cc: 1,
                status: CallStatus::Progressing,
                ai_service: AiService::Speech,
                calling_type: Some(IdentityType::ExtendedTsi),
                calling: Some(tsi(901, 16383, 23_404)),
                hook: Some(Hook::Direct),
                simplex: Some(Simplex::Simplex),
                encrypted: Some(Encryption::Clear),
                comms_type: Some(CommsType::PointToMultipoint),
                slots_codec: Some(1),
                called_type: Some(IdentityType::ExtendedTsi),
                called: Some(tsi(901, 16383, 1)),
                priority: Some(0),
            }))
        );
    }

    #[test]
    fn incoming_call_with_bare_ssis_and_16_digit_tsi() {
        let Ok(Event::IncomingCall(c)) =
            parse_line("+CTICN: 4,0,0,0,2061234,1,1,0,1,1,0,2061001,3")
        else {
            panic!()
        };
        assert_eq!(
            (c.calling, c.called, c.priority),
            (Some(ssi(2_061_234)), Some(ssi(2_061_001)), Some(3))
        );
        let Ok(Event::IncomingCall(c)) =
            parse_line("+CTICN: 4,0,0,1,2040000102040123,1,1,0,1,1,1,2040000102040551,0")
        else {
            panic!()
        };
        assert_eq!(c.calling, Some(tsi(204, 1, 2_040_123)));
        assert_eq!(c.called, Some(tsi(204, 1, 2_040_551)));
    }

    #[test]
    fn incoming_call_with_withheld_caller() {
        let Ok(Event::IncomingCall(c)) = parse_line("+CTICN: 2,0,0,,,1,1,0,1,1,0,2061001") else {
            panic!()
        };
        assert_eq!((c.calling_type, c.calling, c.priority), (None, None, None));
        assert_eq!(c.called, Some(ssi(2_061_001)));
    }

    #[test]
    fn call_connected_ignores_proprietary_tail() {
        assert_eq!(
            parse_line("+CTCC:0,1,1,0,0,1,1,3"),
            Ok(Event::CallConnected(CallConnected {
                cc: 0,
                hook: Some(Hook::Direct),
                simplex: Some(Simplex::Simplex),
                ai_service: Some(AiService::Speech),
                encrypted: Some(Encryption::Clear),
                comms_type: Some(CommsType::PointToMultipoint),
                slots_codec: Some(1),
            }))
        );
    }

    #[test]
    fn transmission_grant_to_self_and_to_another() {
        assert_eq!(
            parse_line("+CTXG: 1,0,0,0"),
            Ok(Event::TxGranted(TxGranted {
                cc: 1,
                grant: TxGrant::Granted,
                permission: TxRequestPermission::Allowed,
                encrypted: Encryption::Clear,
                talker_type: None,
                talker: None,
            }))
        );
        let Ok(Event::TxGranted(g)) = parse_line("+CTXG: 1,3,0,0,3,09011638300023404") else {
            panic!()
        };
        assert_eq!(g.grant, TxGrant::GrantedToAnother);
        assert_eq!(g.talker_type, Some(IdentityType::Pabx));
        assert_eq!(g.talker, Some(tsi(901, 16383, 23_404)));
        let Ok(Event::TxGranted(g)) = parse_line("+CTXG: 0,3,0,0,0,255") else {
            panic!()
        };
        assert_eq!(g.talker, Some(ssi(255)));
    }

    #[test]
    fn down_transmission_ceased() {
        assert_eq!(
            parse_line("+CDTXC: 1,0"),
            Ok(Event::TxCeased(TxCeased {
                cc: 1,
                permission: TxRequestPermission::Allowed
            }))
        );
    }

    #[test]
    fn call_released_names_known_causes_and_keeps_others() {
        let rel = |cc, cause| Ok(Event::CallReleased(CallReleased { cc, cause }));
        assert_eq!(
            parse_line("+CTCR: 1,13"),
            rel(1, DisconnectCause::TimerExpiry)
        );
        assert_eq!(
            parse_line("+CTCR: 2,9"),
            rel(2, DisconnectCause::PreEmption)
        );
        assert_eq!(
            parse_line("+CTCR: 2,14"),
            rel(2, DisconnectCause::SwmiDisconnect)
        );
        assert_eq!(
            parse_line("+CTCR: 3,27"),
            rel(3, DisconnectCause::Other(27))
        );
        assert_eq!(
            parse_line("+CTCR: 3,256"),
            rel(3, DisconnectCause::Other(256))
        );
        assert_eq!(
            field_err("+CTCR: 3,65536"),
            (
                ResultCode::Ctcr,
                1,
                "<disconnect cause>",
                FieldFault::OutOfRange
            )
        );
    }

    #[test]
    fn interrupt_and_wait() {
        assert_eq!(
            parse_line("+CTXI: 1,1,0"),
            Ok(Event::TxInterrupted(TxInterrupted {
                cc: 1,
                permission: Some(TxRequestPermission::NotAllowed),
                encrypted: Some(Encryption::Clear),
            }))
        );
        assert_eq!(
            parse_line("+CTXI: 1"),
            Ok(Event::TxInterrupted(TxInterrupted {
                cc: 1,
                permission: None,
                encrypted: None
            }))
        );
        assert_eq!(
            parse_line("+CTXW: 5,0"),
            Ok(Event::TxWait(TxWait {
                cc: 5,
                permission: Some(TxRequestPermission::Allowed)
            }))
        );
    }

    #[test]
    fn sds_header_full_and_short_forms() {
        let full = parse_line("+CTSDSR: 12,23404,0,23401,0,112");
        assert_eq!(
            full,
            Ok(Event::SdsHeader(SdsHeader {
                ai_service: AiService::SdsType4,
                calling: Some(ssi(23_404)),
                calling_type: Some(IdentityType::Ssi),
                called: ssi(23_401),
                called_type: Some(IdentityType::Ssi),
                bits: 112,
                encrypted: None,
            }))
        );
        let Ok(Event::SdsHeader(h)) =
            parse_line("+CTSDSR: 13,02040000102040123,1,02040000102040551,1,16,0")
        else {
            panic!()
        };
        assert_eq!(
            (h.ai_service, h.calling, h.bits, h.encrypted),
            (
                AiService::Status,
                Some(tsi(204, 1, 2_040_123)),
                16,
                Some(Encryption::Clear)
            )
        );
        let Ok(Event::SdsHeader(h)) = parse_line("+CTSDSR: 12,2040551,0,84") else {
            panic!()
        };
        assert_eq!(
            (h.calling, h.called, h.called_type, h.bits),
            (None, ssi(2_040_551), Some(IdentityType::Ssi), 84)
        );
        let Ok(Event::SdsHeader(h)) = parse_line("+CTSDSR: 13,2040551,16") else {
            panic!()
        };
        assert_eq!(
            (h.called, h.called_type, h.bits),
            (ssi(2_040_551), None, 16)
        );
        assert_eq!(
            field_err("+CTSDSR: 12,1,0,2,0"),
            (ResultCode::Ctsdsr, 5, LENGTH, FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CTSDSR: 12,1,0,2,0,2048"),
            (ResultCode::Ctsdsr, 5, LENGTH, FieldFault::OutOfRange)
        );
    }

    #[test]
    fn sds_send_result() {
        assert_eq!(
            parse_line("+CMGS: 0,4,65"),
            Ok(Event::SdsSent(SdsSendResult {
                instance: 0,
                status: Some(4),
                reference: Some(65)
            }))
        );
        assert_eq!(
            parse_line("+CMGS: 3"),
            Ok(Event::SdsSent(SdsSendResult {
                instance: 3,
                status: None,
                reference: None
            }))
        );
    }

    #[test]
    fn signal_quality() {
        assert_eq!(
            parse_line("+CSQ: 20,99"),
            Ok(Event::SignalQuality(SignalQuality { rssi: 20, ber: 99 }))
        );
        assert_eq!(
            field_err("+CSQ: 32,0"),
            (ResultCode::Csq, 0, "<rssi>", FieldFault::OutOfRange)
        );
        assert_eq!(
            field_err("+CSQ: 31,8"),
            (ResultCode::Csq, 1, "<ber>", FieldFault::OutOfRange)
        );
    }

    #[test]
    fn own_number() {
        // From a published trace of a German BOS radio (16-digit TSI, MCC 262).
        assert_eq!(
            parse_line("+CNUMF: 0,2620100108280651"),
            Ok(Event::OwnNumber(NumberEntry {
                num_type: NumType::Individual,
                identity: tsi(262, 1001, 8_280_651)
            }))
        );
        assert_eq!(
            parse_line("+CNUMF: 6,09011638300023401"),
            Ok(Event::OwnNumber(NumberEntry {
                num_type: NumType::IndividualExtended,
                identity: tsi(901, 16383, 23_401)
            }))
        );
        assert_eq!(
            parse_number_entry("2,16777184"),
            Some(NumberEntry {
                num_type: NumType::PstnGateway,
                identity: ssi(16_777_184)
            })
        );
        assert_eq!(parse_number_entry("OK"), None);
    }

    #[test]
    fn operating_mode_and_groups() {
        assert_eq!(
            parse_line("+CTOM: 0"),
            Ok(Event::OperatingMode(AiMode::Trunked))
        );
        assert_eq!(
            parse_line("+CTOM: 1"),
            Ok(Event::OperatingMode(AiMode::Direct))
        );
        let Ok(Event::Groups(g)) = parse_line("+CTGS: 1,02060000102061001,2,2061002") else {
            panic!()
        };
        assert_eq!(g.entries().len(), 2);
        assert_eq!(g.selected(), Some(tsi(206, 1, 2_061_001)));
        assert_eq!(
            g.entries()[1],
            GroupEntry {
                group_type: Some(GroupType::Scan1),
                identity: ssi(2_061_002)
            }
        );
        let Ok(Event::Groups(g)) = parse_line("+CTGS: 2061001") else {
            panic!()
        };
        assert_eq!(
            g.entries(),
            &[GroupEntry {
                group_type: None,
                identity: ssi(2_061_001)
            }]
        );
        let Ok(Event::Groups(g)) = parse_line("+CTGS: ,\"2061001\"") else {
            panic!()
        };
        assert_eq!(
            g.entries(),
            &[GroupEntry {
                group_type: None,
                identity: ssi(2_061_001)
            }]
        );
    }

    #[test]
    fn too_many_groups_are_reported() {
        let mut line = std::string::String::from("+CTGS: ");
        for i in 0..9 {
            if i > 0 {
                line.push(',');
            }
            line.push_str("2,2061001");
        }
        assert_eq!(
            field_err(&line),
            (
                ResultCode::Ctgs,
                16,
                "<group type>",
                FieldFault::TooManyEntries { capacity: 8 }
            )
        );
        assert_eq!(
            field_err("+CTGS: 1,2061001,2"),
            (ResultCode::Ctgs, 3, CALLED, FieldFault::Missing)
        );
    }

    #[test]
    fn other_lines_are_unrecognised_not_errors() {
        assert_eq!(
            parse_line("+CBC: 1,2"),
            Ok(Event::Unrecognised("+CBC: 1,2"))
        );
        assert_eq!(
            parse_line("+CTXGX: 1"),
            Ok(Event::Unrecognised("+CTXGX: 1"))
        );
        assert_eq!(
            parse_line("+CTXG 1,0,0,0"),
            Ok(Event::Unrecognised("+CTXG 1,0,0,0"))
        );
        assert_eq!(
            parse_line("  NO CARRIER "),
            Ok(Event::Unrecognised("NO CARRIER"))
        );
        assert_eq!(
            parse_line("0A0088BD4247F737FFE810"),
            Ok(Event::Unrecognised("0A0088BD4247F737FFE810"))
        );
    }

    /// The field report: a radio's `+CTICN` with a `<comms type>` outside the table (9) was
    /// refused as a whole, so the gateway never learnt of the call. It is delivered now, the
    /// value kept; so is every other coded parameter out of its table.
    #[test]
    fn values_outside_a_table_are_kept_and_the_event_delivered() {
        let Ok(Event::IncomingCall(c)) =
            parse_line("+CTICN: 1,0,0,5,09011638300023404,1,1,0,9,1,5,09011638300023401,0")
        else {
            panic!("the call is lost")
        };
        assert_eq!(c.comms_type, Some(CommsType::Unknown(9)));
        assert_eq!(c.called, Some(tsi(901, 16383, 23401)));
        assert_eq!(
            parse_line("+CTXG: 1,7,0,2"),
            Ok(Event::TxGranted(TxGranted {
                cc: 1,
                grant: TxGrant::Unknown(7),
                permission: TxRequestPermission::Allowed,
                encrypted: Encryption::Unknown(2),
                talker_type: None,
                talker: None,
            }))
        );
        let Ok(Event::IncomingCall(c)) = parse_line("+CTICN: 2,12,20,9,,3,4,5,6,7,8,,31") else {
            panic!("the call is lost")
        };
        assert_eq!(
            (c.status, c.ai_service, c.calling_type, c.hook, c.simplex),
            (
                CallStatus::Unknown(12),
                AiService::Unknown(20),
                Some(IdentityType::Unknown(9)),
                Some(Hook::Unknown(3)),
                Some(Simplex::Unknown(4))
            )
        );
        assert_eq!(
            (c.encrypted, c.comms_type, c.called_type, c.priority),
            (
                Some(Encryption::Unknown(5)),
                Some(CommsType::Unknown(6)),
                Some(IdentityType::Unknown(8)),
                Some(31)
            )
        );
        assert_eq!(
            parse_line("+CTOM: 5"),
            Ok(Event::OperatingMode(AiMode::Unknown(5)))
        );
        assert_eq!(
            parse_line("+CNUMF: 9,2040123"),
            Ok(Event::OwnNumber(NumberEntry {
                num_type: NumType::Unknown(9),
                identity: ssi(2_040_123),
            }))
        );
    }

    #[test]
    fn registration_state_and_radio_identification() {
        assert_eq!(
            parse_line("+CREG: 1,1234,2041"),
            Ok(Event::Registration(Registration {
                state: RegistrationState::RegisteredHome,
                location_area: Some(1234),
                network: Some(2041),
            }))
        );
        let Ok(Event::Registration(r)) = parse_line("+CREG: 2") else {
            panic!()
        };
        assert_eq!(
            (r.state, r.location_area, r.network),
            (RegistrationState::Searching, None, None)
        );
        assert!(!r.state.is_registered());
        let Ok(Event::Registration(r)) = parse_line("+CREG: 5,17,2062") else {
            panic!()
        };
        assert!(r.state.is_registered());
        let Ok(Event::Registration(r)) = parse_line("+CREG: 9") else {
            panic!()
        };
        assert_eq!(r.state, RegistrationState::Unknown(9));
        assert!(
            !r.state.is_registered(),
            "an unknown state is not registered"
        );
        assert_eq!(
            field_err("+CREG: "),
            (ResultCode::Creg, 0, "<reg stat>", FieldFault::Missing)
        );

        // Free text keeps its commas and inner blanks.
        assert_eq!(
            parse_line("+GMI: Sepura, plc "),
            Ok(Event::Manufacturer("Sepura, plc"))
        );
        assert_eq!(parse_line("+GMM: MTM5400"), Ok(Event::Model("MTM5400")));
        assert_eq!(
            parse_line("+GMR: R20.5.2 build 7"),
            Ok(Event::Revision("R20.5.2 build 7"))
        );
        assert_eq!(
            field_err("+GMM:  "),
            (ResultCode::Gmm, 0, "<model>", FieldFault::Missing)
        );
        assert_eq!(
            parse_line("+CNUMS: 1,09011638300000201"),
            Ok(Event::StaticIdentity(NumberEntry {
                num_type: NumType::Group,
                identity: tsi(901, 16383, 201),
            }))
        );
    }

    #[test]
    fn malformed_known_line_names_code_and_parameter() {
        assert_eq!(
            field_err("+CTXG: x"),
            (ResultCode::Ctxg, 0, CC, FieldFault::NotNumber { offset: 0 })
        );
        assert_eq!(
            field_err("+CTXG: 1,x7,0,0"),
            (
                ResultCode::Ctxg,
                1,
                "<TxGrant>",
                FieldFault::NotNumber { offset: 0 }
            )
        );
        assert_eq!(
            field_err("+CTXG: 1,0,0"),
            (ResultCode::Ctxg, 3, E2E, FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CTXG: 1,99999,0,0"),
            (ResultCode::Ctxg, 1, "<TxGrant>", FieldFault::OutOfRange)
        );
        assert_eq!(
            field_err("+CTXG: 1,0,0,0,1,123456789012"),
            (
                ResultCode::Ctxg,
                5,
                "<TPI>",
                FieldFault::Identity(IdError::BadLength { len: 12 })
            )
        );
        assert_eq!(
            field_err("+CTICN: 1,0,0,5,0901163830002340X"),
            (
                ResultCode::Cticn,
                4,
                CALLING,
                FieldFault::Identity(IdError::NotDigit { offset: 16 })
            )
        );
        assert_eq!(
            field_err("+CTOM: 5x"),
            (
                ResultCode::Ctom,
                0,
                "<AI mode>",
                FieldFault::NotNumber { offset: 1 }
            )
        );
        assert_eq!(
            field_err("+CTICN: 1,0,0,0,1,1,1,0,1,1,0,2,256"),
            (
                ResultCode::Cticn,
                12,
                "<priority level>",
                FieldFault::OutOfRange
            )
        );
    }

    #[test]
    fn empty_parameters() {
        assert_eq!(
            field_err("+CTXG: "),
            (ResultCode::Ctxg, 0, CC, FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CTXG: 1,,0,0"),
            (ResultCode::Ctxg, 1, "<TxGrant>", FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CTXG: ,,,"),
            (ResultCode::Ctxg, 0, CC, FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CSQ:"),
            (ResultCode::Csq, 0, "<rssi>", FieldFault::Missing)
        );
        assert_eq!(
            field_err("+CTCR: 1,"),
            (
                ResultCode::Ctcr,
                1,
                "<disconnect cause>",
                FieldFault::Missing
            )
        );
        assert_eq!(
            field_err("+CME ERROR: "),
            (
                ResultCode::CmeError,
                0,
                "<extended error report code>",
                FieldFault::Missing
            )
        );
        assert_eq!(
            field_err("+CTSDSR:"),
            (ResultCode::Ctsdsr, 0, AI_SERVICE, FieldFault::Missing)
        );
    }

    #[test]
    fn cme_error_numbers_out_of_range() {
        assert_eq!(
            parse_line("+CME ERROR: 65535"),
            Ok(Event::CmeError(CmeError(65535)))
        );
        let code = "<extended error report code>";
        assert_eq!(
            field_err("+CME ERROR: 65536"),
            (ResultCode::CmeError, 0, code, FieldFault::OutOfRange)
        );
        assert_eq!(
            field_err("+CME ERROR: 99999999999999999999"),
            (ResultCode::CmeError, 0, code, FieldFault::OutOfRange)
        );
        assert_eq!(
            field_err("+CME ERROR: -1"),
            (
                ResultCode::CmeError,
                0,
                code,
                FieldFault::NotNumber { offset: 0 }
            )
        );
        assert_eq!(
            field_err("+CME ERROR: 3 5"),
            (
                ResultCode::CmeError,
                0,
                code,
                FieldFault::NotNumber { offset: 1 }
            )
        );
    }
}
