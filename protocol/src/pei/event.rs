//! What a radio says on the PEI, as typed events, and the exact lines it says them with.
//!
//! The parameter lists follow EN 300 392-5 §6.15 (call control) and §6.13 (SDS) as quoted in
//! SvxLink's TetraLogic and ftl/tetra-pei, checked against radio traces published with them.
//! Trailing optional parameters are `Option`s; a radio that leaves them out and one that
//! prints them empty yield the same event. [`Event::emit`] writes the canonical line: no
//! spaces after commas, empty optional parameters only where a later one is present, and CRLF
//! at the end (the `> ` prompt has none, as on a real radio).

use core::fmt::{self, Write};

use heapless::Vec;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::ids::{PeiIdentity, TsiForm};

use super::cause::DisconnectCause;
use super::error::EmitError;
use super::param::{
    AiMode, AiService, CallStatus, CommsType, Encryption, GroupType, Hook, IdentityType, NumType,
    RegistrationState, Simplex, TxGrant, TxRequestPermission,
};
use super::sink::{Digits, Params, emit_into, measure};
use super::user_data::{MAX_USER_DATA_BITS, UserData, bytes_for};

/// Highest call priority level (`<priority level>`, 4 bits).
pub(crate) const MAX_PRIORITY: u8 = 15;

/// An `+CME ERROR: <n>` final result: the command failed for reason `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CmeError(pub u16);

impl CmeError {
    /// The standard's meaning of the number, for the codes EN 300 392-5 defines (0–44).
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "unable to send the data over the air",
            1 => "no reliable communication with the TE",
            2 => "PEI link already in use",
            3 => "command not allowed in the current state",
            4 => "command not supported",
            5 => "SIM PIN needed before any command",
            10 => "SIM absent",
            11 => "SIM PIN1 required",
            12 => "SIM PIN1 unblocking required",
            13 => "SIM access failed",
            14 => "SIM not ready",
            15 => "SIM not recognised",
            16 => "wrong SIM PIN",
            17 => "SIM PIN2 required",
            18 => "SIM PIN2 unblocking required",
            20 => "message stack full",
            21 => "message index does not exist",
            22 => "message index holds no message",
            23 => "message stack access failed",
            24 => "status text too long",
            25 => "status text has invalid characters",
            26 => "dial string longer than 25 digits",
            27 => "dial string has invalid characters",
            30 => "out of service",
            31 => "no layer 2 acknowledgement from the SwMI",
            32 => "user data decoding failed",
            33 => "parameter of the wrong type",
            34 => "parameter out of range",
            35 => "syntax error",
            36 => "user data without AT+CMGS",
            37 => "timeout waiting for the user data of AT+CMGS",
            38 => "protocol identifier already registered",
            39 => "SDS-TL registration table full",
            40 => "service not available in DMO",
            41 => "transmit inhibit mode",
            42 => "busy with another signalling transaction",
            43 => "service not available in V+D",
            44 => "unknown parameters handled",
            _ => return None,
        })
    }
}

/// `+CTICN`: a call is coming in (for a gateway, usually a group call on the selected group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IncomingCall {
    /// Call instance the radio will use for this call in later results and commands.
    pub cc: u16,
    /// Progress of the set-up.
    pub status: CallStatus,
    /// Service of the call (speech for voice calls).
    pub ai_service: AiService,
    /// How to read `calling`.
    pub calling_type: Option<IdentityType>,
    /// Who calls; absent when withheld.
    pub calling: Option<PeiIdentity>,
    /// Whether the call rings or is put straight through.
    pub hook: Option<Hook>,
    /// Simplex (group calls) or duplex.
    pub simplex: Option<Simplex>,
    /// End-to-end encrypted.
    pub encrypted: Option<Encryption>,
    /// Individual, group or broadcast.
    pub comms_type: Option<CommsType>,
    /// `<slots/codec>`, kept as the radio's number.
    pub slots_codec: Option<u8>,
    /// How to read `called`.
    pub called_type: Option<IdentityType>,
    /// Who is called: for a group call, the group.
    pub called: Option<PeiIdentity>,
    /// Call priority, 0–15.
    pub priority: Option<u8>,
}

/// `+CTCC`: a call set up by this radio is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CallConnected {
    /// Call instance.
    pub cc: u16,
    /// Hook signalling or direct.
    pub hook: Option<Hook>,
    /// Simplex or duplex.
    pub simplex: Option<Simplex>,
    /// Service of the call.
    pub ai_service: Option<AiService>,
    /// End-to-end encrypted.
    pub encrypted: Option<Encryption>,
    /// Individual, group or broadcast.
    pub comms_type: Option<CommsType>,
    /// `<slots/codec>`, kept as the radio's number.
    pub slots_codec: Option<u8>,
}

/// `+CTXG`: the SwMI decided who talks on a call.
///
/// `grant` [`TxGrant::Granted`] is the gateway's "clear to talk": only then may it play the
/// audio it has been holding since the transmit demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TxGranted {
    /// Call instance.
    pub cc: u16,
    /// Who may transmit.
    pub grant: TxGrant,
    /// Whether this radio may ask to transmit.
    pub permission: TxRequestPermission,
    /// End-to-end encrypted.
    pub encrypted: Encryption,
    /// How to read `talker`.
    pub talker_type: Option<IdentityType>,
    /// The talking party identity (TPI), when someone else talks.
    pub talker: Option<PeiIdentity>,
}

/// `+CDTXC`: the other party stopped talking (down transmission ceased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TxCeased {
    /// Call instance.
    pub cc: u16,
    /// Whether this radio may now ask to transmit.
    pub permission: TxRequestPermission,
}

/// `+CTCR`: a call was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CallReleased {
    /// Call instance.
    pub cc: u16,
    /// Why.
    pub cause: DisconnectCause,
}

/// `+CTXI`: this radio's transmission was interrupted (e.g. by a higher-priority talker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TxInterrupted {
    /// Call instance.
    pub cc: u16,
    /// Whether this radio may ask again.
    pub permission: Option<TxRequestPermission>,
    /// End-to-end encrypted.
    pub encrypted: Option<Encryption>,
}

/// `+CTXW`: the radio must wait before transmitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TxWait {
    /// Call instance.
    pub cc: u16,
    /// Whether this radio may ask to transmit.
    pub permission: Option<TxRequestPermission>,
}

/// The header line of a received SDS:
/// `+CTSDSR: <AI service>,[<calling>],[<calling type>],<called>,[<called type>],<length>[,<e2e>]`.
///
/// Identities come *before* their types here, unlike in `+CTICN`. Besides the full form, the
/// three- and four-parameter forms `<AI service>,<called>[,<called type>],<length>` are read
/// (ftl/tetra-pei meets them in the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsHeader {
    /// SDS type 1–4 or status.
    pub ai_service: AiService,
    /// Sender.
    pub calling: Option<PeiIdentity>,
    /// How to read `calling`.
    pub calling_type: Option<IdentityType>,
    /// Addressee: this radio or one of its groups.
    pub called: PeiIdentity,
    /// How to read `called`.
    pub called_type: Option<IdentityType>,
    /// Length of the user data in bits, at most [`MAX_USER_DATA_BITS`].
    pub bits: u16,
    /// End-to-end encrypted.
    pub encrypted: Option<Encryption>,
}

/// A received SDS: the `+CTSDSR` header and the user data of the hex line after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsReceived<'a> {
    /// The header line.
    pub header: SdsHeader,
    /// `header.bits` of user data, in whole bytes.
    pub data: UserData<'a>,
}

/// `+CMGS`: result of sending an SDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsSendResult {
    /// SDS instance, to match later reports.
    pub instance: u16,
    /// `<SDS status>`; SvxLink reads 4 as sent and 5 as failed.
    pub status: Option<u8>,
    /// SDS-TL message reference.
    pub reference: Option<u8>,
}

/// `+CSQ`: received signal strength and bit error rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SignalQuality {
    /// 0–31, or 99 when unknown.
    pub rssi: u8,
    /// 0–7, or 99 when unknown.
    pub ber: u8,
}

impl SignalQuality {
    /// The value that means "not known".
    pub const UNKNOWN: u8 = 99;

    /// Received signal strength in dBm (−113 + 2·rssi), or `None` when unknown.
    pub const fn dbm(self) -> Option<i16> {
        if self.rssi <= 31 {
            Some(-113 + 2 * self.rssi as i16)
        } else {
            None
        }
    }

    pub(crate) const fn is_valid(self) -> bool {
        (self.rssi <= 31 || self.rssi == Self::UNKNOWN)
            && (self.ber <= 7 || self.ber == Self::UNKNOWN)
    }
}

/// One identity the radio reports about itself (`+CNUMF: <num type>,<identity>`).
///
/// `AT+CNUMF?` answers with one `+CNUMF:` line whose further entries may follow on bare
/// `<num type>,<identity>` lines (as in a published trace: `+CNUMF: 0,2620100108280651`, then
/// `2,16777184`); the streaming parser yields one event per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct NumberEntry {
    /// What the identity is.
    pub num_type: NumType,
    /// The identity; for [`NumType::Individual`], the radio's own ISSI/ITSI.
    pub identity: PeiIdentity,
}

/// One group of a `+CTGS` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct GroupEntry {
    /// Selected or scanned; may be absent in direct mode.
    pub group_type: Option<GroupType>,
    /// The group.
    pub identity: PeiIdentity,
}

/// The groups of a `+CTGS` answer, in the radio's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupList(pub Vec<GroupEntry, { GroupList::CAPACITY }>);

impl GroupList {
    /// Most groups one line is read with.
    pub const CAPACITY: usize = 8;

    /// The groups.
    pub fn entries(&self) -> &[GroupEntry] {
        &self.0
    }

    /// The selected group, if one is listed as selected.
    pub fn selected(&self) -> Option<PeiIdentity> {
        self.0
            .iter()
            .find(|e| e.group_type == Some(GroupType::Select))
            .map(|e| e.identity)
    }
}

impl Serialize for GroupList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for e in &self.0 {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

/// `+CREG: <reg stat>[,<LA>[,<MNI>]]`: whether the radio is registered, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Registration {
    /// Registered or not.
    pub state: RegistrationState,
    /// The location area the radio is registered in (14 bits on the air; kept as printed).
    pub location_area: Option<u32>,
    /// The network (MCC and MNC digits), as the radio printed it; leading zeros are not kept.
    pub network: Option<u32>,
}

/// Something the radio said: one line, or for a received SDS, the header and its data line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Event<'a> {
    /// `OK`: the last command succeeded.
    Ok,
    /// `ERROR`: the last command failed (numeric errors off).
    Error,
    /// `+CME ERROR: <n>`: the last command failed for reason `n`.
    CmeError(CmeError),
    /// `> `: the radio waits for the user data of `AT+CMGS` (sent without a line end).
    Prompt,
    /// A line starting with `AT`: the radio echoing a command (echo on, `ATE1`).
    Echo(&'a str),
    /// `+CTICN`.
    IncomingCall(IncomingCall),
    /// `+CTCC`.
    CallConnected(CallConnected),
    /// `+CTXG`.
    TxGranted(TxGranted),
    /// `+CDTXC`.
    TxCeased(TxCeased),
    /// `+CTCR`.
    CallReleased(CallReleased),
    /// `+CTXI`.
    TxInterrupted(TxInterrupted),
    /// `+CTXW`.
    TxWait(TxWait),
    /// A `+CTSDSR` header on its own. Only [`super::parse_line`] yields this; the streaming
    /// parser joins the header with its data line into [`Event::SdsReceived`].
    SdsHeader(SdsHeader),
    /// `+CTSDSR` and its hex data line.
    SdsReceived(SdsReceived<'a>),
    /// `+CMGS`.
    SdsSent(SdsSendResult),
    /// `+CSQ`.
    SignalQuality(SignalQuality),
    /// `+CNUMF`, or a bare entry line right after one.
    OwnNumber(NumberEntry),
    /// `+CTOM`.
    OperatingMode(AiMode),
    /// `+CTGS`.
    Groups(GroupList),
    /// `+CREG`: the answer to `AT+CREG?`, or unsolicited when the registration changes.
    Registration(Registration),
    /// `+CNUMS`, or a bare entry line right after one: a static identity of the radio, such
    /// as a group it holds.
    StaticIdentity(NumberEntry),
    /// `+GMI: <manufacturer>`, the text as printed.
    Manufacturer(&'a str),
    /// `+GMM: <model>`, the text as printed.
    Model(&'a str),
    /// `+GMR: <revision>`: the radio's software revision, the text as printed.
    Revision(&'a str),
    /// Any other line, trimmed of surrounding blanks.
    Unrecognised(&'a str),
}

/// A line of free text (echo, unrecognised) that re-parses to itself.
fn is_plain_text(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(['\r', '\n'])
        && s.trim_matches([' ', '\t']).len() == s.len()
        && !s.starts_with('>')
}

fn is_echo(s: &str) -> bool {
    s.as_bytes()
        .get(..2)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
}

fn check(ok: bool, what: &'static str) -> Result<(), EmitError> {
    if ok {
        Ok(())
    } else {
        Err(EmitError::InvalidValue { what })
    }
}

impl Event<'_> {
    /// Whether this is free text (an echo, an unrecognised line, a maker, model or revision):
    /// the only events [`Event::emit`] may refuse, when the text cannot be one line again.
    pub const fn is_free_text(&self) -> bool {
        matches!(
            self,
            Event::Echo(_)
                | Event::Unrecognised(_)
                | Event::Manufacturer(_)
                | Event::Model(_)
                | Event::Revision(_)
        )
    }

    /// Whether this ends the answer to a command (`OK`, `ERROR`, `+CME ERROR`), so a driver
    /// may send the next one.
    pub const fn is_final_result(&self) -> bool {
        matches!(self, Event::Ok | Event::Error | Event::CmeError(_))
    }

    /// Writes the line(s) a radio sends for this event, TSIs in the 17-digit form.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        self.emit_with(TsiForm::Long, out)
    }

    /// Writes the line(s) a radio sends for this event, TSIs in the given form.
    pub fn emit_with(&self, form: TsiForm, out: &mut [u8]) -> Result<usize, EmitError> {
        self.validate()?;
        emit_into(out, |w| self.write(w, form))
    }

    /// How many bytes [`Event::emit_with`] writes, or why it would refuse.
    pub fn buffer_len(&self, form: TsiForm) -> Result<usize, EmitError> {
        self.validate()?;
        Ok(measure(|w| self.write(w, form)))
    }

    /// Refuses values that would not parse back to this event.
    fn validate(&self) -> Result<(), EmitError> {
        match self {
            Event::Echo(s) => check(is_plain_text(s) && is_echo(s), "echo text"),
            Event::Manufacturer(s) | Event::Model(s) | Event::Revision(s) => {
                check(is_plain_text(s), "identification text")
            }
            Event::Unrecognised(s) => check(is_plain_text(s), "unrecognised line text"),
            Event::SdsHeader(h) => check(h.bits <= MAX_USER_DATA_BITS, "SDS length"),
            Event::SdsReceived(s) => {
                check(s.header.bits <= MAX_USER_DATA_BITS, "SDS length")?;
                if s.data.0.len() == bytes_for(s.header.bits) {
                    Ok(())
                } else {
                    Err(EmitError::UserDataLength {
                        bits: s.header.bits,
                        bytes: s.data.0.len(),
                    })
                }
            }
            Event::SignalQuality(q) => check(q.is_valid(), "signal quality"),
            Event::Groups(g) => check(!g.0.is_empty(), "empty group list"),
            _ => Ok(()),
        }
    }

    fn write(&self, w: &mut dyn Write, form: TsiForm) -> fmt::Result {
        let id = |i: PeiIdentity| Digits(i, form);
        match self {
            Event::Ok => w.write_str("OK")?,
            Event::Error => w.write_str("ERROR")?,
            Event::CmeError(e) => write!(w, "+CME ERROR: {}", e.0)?,
            // The radio prompts and waits: no line end follows.
            Event::Prompt => return w.write_str("> "),
            Event::Echo(s) | Event::Unrecognised(s) => w.write_str(s)?,
            Event::IncomingCall(c) => {
                w.write_str("+CTICN: ")?;
                let mut p = Params::new(w);
                p.put(c.cc)?;
                p.put(c.status.code())?;
                p.put(c.ai_service.code())?;
                p.opt(c.calling_type.map(IdentityType::code))?;
                p.opt(c.calling.map(id))?;
                p.opt(c.hook.map(Hook::code))?;
                p.opt(c.simplex.map(Simplex::code))?;
                p.opt(c.encrypted.map(Encryption::code))?;
                p.opt(c.comms_type.map(CommsType::code))?;
                p.opt(c.slots_codec)?;
                p.opt(c.called_type.map(IdentityType::code))?;
                p.opt(c.called.map(id))?;
                p.opt(c.priority)?;
            }
            Event::CallConnected(c) => {
                w.write_str("+CTCC: ")?;
                let mut p = Params::new(w);
                p.put(c.cc)?;
                p.opt(c.hook.map(Hook::code))?;
                p.opt(c.simplex.map(Simplex::code))?;
                p.opt(c.ai_service.map(AiService::code))?;
                p.opt(c.encrypted.map(Encryption::code))?;
                p.opt(c.comms_type.map(CommsType::code))?;
                p.opt(c.slots_codec)?;
            }
            Event::TxGranted(g) => {
                w.write_str("+CTXG: ")?;
                let mut p = Params::new(w);
                p.put(g.cc)?;
                p.put(g.grant.code())?;
                p.put(g.permission.code())?;
                p.put(g.encrypted.code())?;
                p.opt(g.talker_type.map(IdentityType::code))?;
                p.opt(g.talker.map(id))?;
            }
            Event::TxCeased(c) => write!(w, "+CDTXC: {},{}", c.cc, c.permission.code())?,
            Event::CallReleased(r) => write!(w, "+CTCR: {},{}", r.cc, r.cause.code())?,
            Event::TxInterrupted(i) => {
                w.write_str("+CTXI: ")?;
                let mut p = Params::new(w);
                p.put(i.cc)?;
                p.opt(i.permission.map(TxRequestPermission::code))?;
                p.opt(i.encrypted.map(Encryption::code))?;
            }
            Event::TxWait(t) => {
                w.write_str("+CTXW: ")?;
                let mut p = Params::new(w);
                p.put(t.cc)?;
                p.opt(t.permission.map(TxRequestPermission::code))?;
            }
            Event::SdsHeader(h) => write_sds_header(w, h, form)?,
            Event::SdsReceived(s) => {
                write_sds_header(w, &s.header, form)?;
                // A zero-length SDS has no data line to wait for or to print.
                if !s.data.0.is_empty() {
                    write!(w, "\r\n{}", s.data)?;
                }
            }
            Event::SdsSent(r) => {
                w.write_str("+CMGS: ")?;
                let mut p = Params::new(w);
                p.put(r.instance)?;
                p.opt(r.status)?;
                p.opt(r.reference)?;
            }
            Event::SignalQuality(q) => write!(w, "+CSQ: {},{}", q.rssi, q.ber)?,
            Event::OwnNumber(n) => write!(w, "+CNUMF: {},{}", n.num_type.code(), id(n.identity))?,
            Event::OperatingMode(m) => write!(w, "+CTOM: {}", m.code())?,
            Event::Registration(r) => {
                w.write_str("+CREG: ")?;
                let mut p = Params::new(w);
                p.put(r.state.code())?;
                p.opt(r.location_area)?;
                p.opt(r.network)?;
            }
            Event::StaticIdentity(n) => {
                write!(w, "+CNUMS: {},{}", n.num_type.code(), id(n.identity))?
            }
            Event::Manufacturer(s) => write!(w, "+GMI: {s}")?,
            Event::Model(s) => write!(w, "+GMM: {s}")?,
            Event::Revision(s) => write!(w, "+GMR: {s}")?,
            Event::Groups(g) => {
                w.write_str("+CTGS: ")?;
                let mut p = Params::new(w);
                for e in &g.0 {
                    p.opt(e.group_type.map(GroupType::code))?;
                    p.put(id(e.identity))?;
                }
            }
        }
        w.write_str("\r\n")
    }
}

fn write_sds_header(w: &mut dyn Write, h: &SdsHeader, form: TsiForm) -> fmt::Result {
    w.write_str("+CTSDSR: ")?;
    let mut p = Params::new(w);
    p.put(h.ai_service.code())?;
    p.opt(h.calling.map(|i| Digits(i, form)))?;
    p.opt(h.calling_type.map(IdentityType::code))?;
    p.put(Digits(h.called, form))?;
    p.opt(h.called_type.map(IdentityType::code))?;
    p.put(h.bits)?;
    p.opt(h.encrypted.map(Encryption::code))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ids::{Ssi, Tsi};

    fn emit(e: &Event<'_>, form: TsiForm) -> std::string::String {
        let mut out = [0xa5u8; 700];
        let n = e.emit_with(form, &mut out).unwrap();
        assert!(
            out[n..].iter().all(|&b| b == 0xa5),
            "bytes written past the reported length"
        );
        assert_eq!(e.buffer_len(form), Ok(n));
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    fn tsi(mcc: u16, mnc: u16, ssi: u32) -> PeiIdentity {
        PeiIdentity::Tsi(Tsi::from_parts(mcc, mnc, ssi).unwrap())
    }

    fn ssi(v: u32) -> PeiIdentity {
        PeiIdentity::Ssi(Ssi::new(v).unwrap())
    }

    #[test]
    fn grant_with_talker_in_both_tsi_forms() {
        let e = Event::TxGranted(TxGranted {
            cc: 1,
            grant: TxGrant::GrantedToAnother,
            permission: TxRequestPermission::Allowed,
            encrypted: Encryption::Clear,
            talker_type: Some(IdentityType::Tsi),
            talker: Some(tsi(206, 1, 2_061_234)),
        });
        assert_eq!(
            emit(&e, TsiForm::Long),
            "+CTXG: 1,3,0,0,1,02060000102061234\r\n"
        );
        assert_eq!(
            emit(&e, TsiForm::Short),
            "+CTXG: 1,3,0,0,1,2060000102061234\r\n"
        );
    }

    #[test]
    fn trailing_absent_parameters_are_left_out() {
        let e = Event::TxGranted(TxGranted {
            cc: 2,
            grant: TxGrant::Granted,
            permission: TxRequestPermission::Allowed,
            encrypted: Encryption::Clear,
            talker_type: None,
            talker: None,
        });
        assert_eq!(emit(&e, TsiForm::Long), "+CTXG: 2,0,0,0\r\n");
    }

    #[test]
    fn sds_emits_header_and_data_line() {
        let data = [0x82, 0x04, 0x08, 0x01];
        let e = Event::SdsReceived(SdsReceived {
            header: SdsHeader {
                ai_service: AiService::SdsType4,
                calling: Some(ssi(2_040_123)),
                calling_type: Some(IdentityType::Ssi),
                called: ssi(2_040_551),
                called_type: Some(IdentityType::Ssi),
                bits: 32,
                encrypted: None,
            },
            data: UserData(&data),
        });
        assert_eq!(
            emit(&e, TsiForm::Long),
            "+CTSDSR: 12,2040123,0,2040551,0,32\r\n82040801\r\n"
        );
    }

    #[test]
    fn final_results_end_a_command() {
        assert!(Event::Ok.is_final_result());
        assert!(Event::CmeError(CmeError(3)).is_final_result());
        assert!(!Event::Prompt.is_final_result());
        assert!(!Event::OperatingMode(AiMode::Trunked).is_final_result());
    }

    #[test]
    fn prompt_has_no_line_end() {
        assert_eq!(emit(&Event::Prompt, TsiForm::Long), "> ");
    }

    #[test]
    fn values_that_would_not_parse_back_are_refused() {
        let mut out = [0u8; 64];
        let bad_csq = Event::SignalQuality(SignalQuality { rssi: 40, ber: 0 });
        assert_eq!(
            bad_csq.emit(&mut out),
            Err(EmitError::InvalidValue {
                what: "signal quality"
            })
        );
        assert!(Event::Unrecognised("two\r\nlines").emit(&mut out).is_err());
        assert!(Event::Echo("OK").emit(&mut out).is_err());
        let data = [1u8, 2];
        let short = Event::SdsReceived(SdsReceived {
            header: SdsHeader {
                ai_service: AiService::Status,
                calling: None,
                calling_type: None,
                called: ssi(1),
                called_type: None,
                bits: 24,
                encrypted: None,
            },
            data: UserData(&data),
        });
        assert_eq!(
            short.emit(&mut out),
            Err(EmitError::UserDataLength { bits: 24, bytes: 2 })
        );
    }

    #[test]
    fn signal_quality_in_dbm() {
        assert_eq!(SignalQuality { rssi: 0, ber: 0 }.dbm(), Some(-113));
        assert_eq!(SignalQuality { rssi: 20, ber: 0 }.dbm(), Some(-73));
        assert_eq!(SignalQuality { rssi: 31, ber: 0 }.dbm(), Some(-51));
        assert_eq!(SignalQuality { rssi: 99, ber: 99 }.dbm(), None);
    }

    #[test]
    fn cme_descriptions_cover_the_table_only() {
        assert_eq!(CmeError(35).description(), Some("syntax error"));
        assert_eq!(CmeError(6).description(), None);
        assert_eq!(CmeError(45).description(), None);
    }
}
