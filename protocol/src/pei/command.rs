//! The AT commands borderlink's edge daemon sends to a radio.
//!
//! A gateway drives a radio through a short script: trunked mode, route voice and SDS to the
//! PEI, select the talkgroup, set up a group call, then demand and cease transmission as the
//! bridged audio comes and goes. Each [`Command`] writes one command line ending in CR (the
//! V.250 command line terminator); `AT+CMGS` also writes its user data and Ctrl-Z.
//!
//! Syntax from EN 300 392-5 §6.11 (V.250 basic commands), §6.13 (SDS) and §6.14–6.15 (TETRA
//! call control), as used by SvxLink's TetraLogic and ftl/tetra-pei. Call release is `ATH`:
//! the PEI takes hook control from V.250 and has no `+CHUP`, which is a 3GPP TS 27.007
//! command.

use core::fmt::{self, Write};

use serde::Serialize;

use crate::ids::{PeiIdentity, TsiForm};

use super::error::EmitError;
use super::event::MAX_PRIORITY;
use super::param::{
    AiMode, AiService, CommsType, Hook, IdentityType, ServiceProfile, Simplex, TxDemandPriority,
};
use super::sink::{Digits, emit_into, measure};
use super::user_data::{MAX_USER_DATA_BITS, UserData, bytes_for};

/// Ctrl-Z, which ends the user data of `AT+CMGS`.
const CTRL_Z: char = '\u{1a}';

/// Highest area selection (`<area>`, 4 bits).
const MAX_AREA: u8 = 15;

/// A service routed to the PEI with `AT+CTSP=<profile>,<layer 1>,<layer 2>`.
///
/// The layer values follow SvxLink's TetraLogic: voice is call control (0) / speech (0),
/// status is SDS (2) / status (20), and SDS type 4 is SDS-TL (3) with the protocol
/// identifier as layer 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ServiceRoute {
    /// Group and individual speech calls: `<profile>,0,0`.
    Voice(ServiceProfile),
    /// Status messages: `<profile>,2,20`.
    Status(ServiceProfile),
    /// SDS type 4 with this protocol identifier: `<profile>,3,<pid>`. SvxLink also uses
    /// layer 2 values 24 and 25 for "every PID 0–127" and "every PID 128–255".
    SdsType4 {
        /// Where to deliver.
        profile: ServiceProfile,
        /// Protocol identifier (EN 300 392-2 §29.4.3.9).
        protocol_id: u8,
    },
    /// Location Information Protocol reports (SDS type 4, protocol identifier 10).
    Lip(ServiceProfile),
}

impl ServiceRoute {
    /// SDS-TL protocol identifier of LIP.
    pub const LIP_PROTOCOL_ID: u8 = 0x0a;

    /// `(profile, layer 1, layer 2)` as written on the line.
    pub const fn parameters(self) -> (ServiceProfile, u8, u8) {
        match self {
            ServiceRoute::Voice(p) => (p, 0, 0),
            ServiceRoute::Status(p) => (p, 2, 20),
            ServiceRoute::SdsType4 {
                profile,
                protocol_id,
            } => (profile, 3, protocol_id),
            ServiceRoute::Lip(p) => (p, 3, Self::LIP_PROTOCOL_ID),
        }
    }
}

/// The circuit-mode service the next `ATD` uses (`AT+CTSDC`).
///
/// [`CircuitService::GROUP_SPEECH`] is the customary `AT+CTSDC=0,0,0,1,1,0,1,1,0,0,0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CircuitService {
    /// Service of the call.
    pub ai_service: AiService,
    /// How the radio reads the dialled identity.
    pub called_type: IdentityType,
    /// Area selection, 0–15 (0: the SwMI decides).
    pub area: u8,
    /// Hook signalling or direct.
    pub hook: Hook,
    /// Simplex or duplex.
    pub simplex: Simplex,
    /// End-to-end encryption requested.
    pub encrypted: bool,
    /// Individual, group or broadcast.
    pub comms_type: CommsType,
    /// `<slots/codec>`, written as given.
    pub slots_codec: u8,
    /// `<RqTx>`: request transmission with the set-up.
    pub request_transmit: bool,
    /// Call priority, 0–15.
    pub priority: u8,
    /// `<CLIR control>`, written as given.
    pub clir: u8,
}

impl CircuitService {
    /// A simplex speech group call to a GSSI: `0,0,0,1,1,0,1,1,0,0,0`.
    pub const GROUP_SPEECH: CircuitService = CircuitService {
        ai_service: AiService::Speech,
        called_type: IdentityType::Ssi,
        area: 0,
        hook: Hook::Direct,
        simplex: Simplex::Simplex,
        encrypted: false,
        comms_type: CommsType::PointToMultipoint,
        slots_codec: 1,
        request_transmit: false,
        priority: 0,
        clir: 0,
    };
}

/// `AT+CMGS=<called party identity>,<length>`, then the user data in hex and Ctrl-Z.
///
/// Many radios answer the command line with a `> ` prompt and only then read the data: a
/// driver that waits for [`super::Event::Prompt`] sends [`SdsSend::emit_command`], waits, then
/// sends [`SdsSend::emit_user_data`]. [`Command::SendSds`] writes both at once. The AI service
/// is chosen beforehand with [`Command::SelectSdsService`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SdsSend<'a> {
    /// Addressee.
    pub to: PeiIdentity,
    /// Length of the user data in bits, at most [`MAX_USER_DATA_BITS`].
    pub bits: u16,
    /// Exactly `bits.div_ceil(8)` bytes.
    pub data: UserData<'a>,
}

impl SdsSend<'_> {
    fn validate(&self) -> Result<(), EmitError> {
        if self.bits > MAX_USER_DATA_BITS {
            return Err(EmitError::InvalidValue { what: "SDS length" });
        }
        if self.data.0.len() != bytes_for(self.bits) {
            return Err(EmitError::UserDataLength {
                bits: self.bits,
                bytes: self.data.0.len(),
            });
        }
        Ok(())
    }

    fn write_command(&self, w: &mut dyn Write, form: TsiForm) -> fmt::Result {
        write!(w, "AT+CMGS={},{}\r", Digits(self.to, form), self.bits)
    }

    fn write_user_data(&self, w: &mut dyn Write) -> fmt::Result {
        write!(w, "{}", self.data)?;
        w.write_char(CTRL_Z)
    }

    /// Writes the command line `AT+CMGS=<to>,<bits>` and CR, TSIs in the 17-digit form.
    pub fn emit_command(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        self.emit_command_with(TsiForm::Long, out)
    }

    /// Writes the command line, TSIs in the given form.
    pub fn emit_command_with(&self, form: TsiForm, out: &mut [u8]) -> Result<usize, EmitError> {
        self.validate()?;
        emit_into(out, |w| self.write_command(w, form))
    }

    /// Writes the user data as upper-case hex followed by Ctrl-Z (0x1A).
    pub fn emit_user_data(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        self.validate()?;
        emit_into(out, |w| self.write_user_data(w))
    }
}

/// A command line to the radio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Command<'a> {
    /// `AT`: is the radio there (answers `OK`).
    Attention,
    /// `ATE0` / `ATE1`: command echo off or on.
    SetEcho(bool),
    /// `AT+CMEE=1`: report failures as `+CME ERROR: <n>` rather than bare `ERROR`.
    NumericErrors,
    /// `AT+CTOM=<mode>`: trunked (0) or direct (1) mode.
    SetOperatingMode(AiMode),
    /// `AT+CTOM?`: answered by `+CTOM: <mode>`.
    QueryOperatingMode,
    /// `AT+CTSP=…`: route a service to the PEI.
    RouteService(ServiceRoute),
    /// `AT+CTGS=1,<group>`: select the talkgroup outgoing calls use.
    SelectGroup(PeiIdentity),
    /// `AT+CTGS?`: answered by `+CTGS: …`.
    QueryGroups,
    /// `AT+CTSDC=…`: the service of the next call.
    DefineCircuitService(CircuitService),
    /// `ATD<identity>`: set up a call, a group call when the service says so.
    Dial(PeiIdentity),
    /// `AT+CTXD=<cc>,<priority>`: ask to transmit on call instance `cc`.
    DemandTransmit {
        /// Call instance.
        cc: u16,
        /// Priority of the demand; gateways customarily send [`TxDemandPriority::High`].
        priority: TxDemandPriority,
    },
    /// `AT+CUTXC=<cc>`: stop transmitting on call instance `cc`.
    CeaseTransmit {
        /// Call instance.
        cc: u16,
    },
    /// `ATH`: release the call.
    HangUp,
    /// `AT+CTSDS=<AI service>,<called party identity type>`: the service of the next
    /// `AT+CMGS`, e.g. `13,0` for status messages to an SSI.
    SelectSdsService {
        /// SDS type or status.
        ai_service: AiService,
        /// How the radio reads the addressee.
        called_type: IdentityType,
    },
    /// `AT+CMGS=…`, user data and Ctrl-Z in one go.
    SendSds(SdsSend<'a>),
    /// `AT+CSQ?`: answered by `+CSQ: <rssi>,<ber>`.
    QuerySignalQuality,
    /// `AT+CNUMF?`: answered by `+CNUMF: <num type>,<identity>` lines.
    QueryOwnNumber,
    /// `AT+CREG?`: is the radio registered on its network.
    QueryRegistration,
    /// `AT+CNUMS?`: the radio's static identities (its groups).
    QueryStaticIdentities,
    /// `AT+GMI?`: the manufacturer.
    QueryManufacturer,
    /// `AT+GMM?`: the model.
    QueryModel,
    /// `AT+GMR?`: the software revision.
    QueryRevision,
}

impl Command<'_> {
    /// Writes the command, TSIs in the 17-digit form; returns the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EmitError> {
        self.emit_with(TsiForm::Long, out)
    }

    /// Writes the command, TSIs in the given form (radios are configured for one or the
    /// other).
    pub fn emit_with(&self, form: TsiForm, out: &mut [u8]) -> Result<usize, EmitError> {
        self.validate()?;
        emit_into(out, |w| self.write(w, form))
    }

    /// How many bytes [`Command::emit_with`] writes, or why it would refuse.
    pub fn buffer_len(&self, form: TsiForm) -> Result<usize, EmitError> {
        self.validate()?;
        Ok(measure(|w| self.write(w, form)))
    }

    fn validate(&self) -> Result<(), EmitError> {
        match self {
            Command::DefineCircuitService(s) if s.priority > MAX_PRIORITY => {
                Err(EmitError::InvalidValue {
                    what: "call priority",
                })
            }
            Command::DefineCircuitService(s) if s.area > MAX_AREA => Err(EmitError::InvalidValue {
                what: "area selection",
            }),
            Command::SendSds(s) => s.validate(),
            _ => Ok(()),
        }
    }

    fn write(&self, w: &mut dyn Write, form: TsiForm) -> fmt::Result {
        match self {
            Command::Attention => w.write_str("AT")?,
            Command::SetEcho(on) => write!(w, "ATE{}", u8::from(*on))?,
            Command::NumericErrors => w.write_str("AT+CMEE=1")?,
            Command::SetOperatingMode(m) => write!(w, "AT+CTOM={}", m.code())?,
            Command::QueryOperatingMode => w.write_str("AT+CTOM?")?,
            Command::RouteService(r) => {
                let (profile, l1, l2) = r.parameters();
                write!(w, "AT+CTSP={},{l1},{l2}", profile.code())?
            }
            Command::SelectGroup(g) => write!(w, "AT+CTGS=1,{}", Digits(*g, form))?,
            Command::QueryGroups => w.write_str("AT+CTGS?")?,
            Command::DefineCircuitService(s) => write!(
                w,
                "AT+CTSDC={},{},{},{},{},{},{},{},{},{},{}",
                s.ai_service.code(),
                s.called_type.code(),
                s.area,
                s.hook.code(),
                s.simplex.code(),
                u8::from(s.encrypted),
                s.comms_type.code(),
                s.slots_codec,
                u8::from(s.request_transmit),
                s.priority,
                s.clir,
            )?,
            Command::Dial(to) => write!(w, "ATD{}", Digits(*to, form))?,
            Command::DemandTransmit { cc, priority } => {
                write!(w, "AT+CTXD={cc},{}", priority.code())?
            }
            Command::CeaseTransmit { cc } => write!(w, "AT+CUTXC={cc}")?,
            Command::HangUp => w.write_str("ATH")?,
            Command::SelectSdsService {
                ai_service,
                called_type,
            } => write!(w, "AT+CTSDS={},{}", ai_service.code(), called_type.code())?,
            // The command line carries its own CR; the data ends in Ctrl-Z, not CR.
            Command::SendSds(s) => {
                s.write_command(w, form)?;
                return s.write_user_data(w);
            }
            Command::QuerySignalQuality => w.write_str("AT+CSQ?")?,
            Command::QueryOwnNumber => w.write_str("AT+CNUMF?")?,
            Command::QueryRegistration => w.write_str("AT+CREG?")?,
            Command::QueryStaticIdentities => w.write_str("AT+CNUMS?")?,
            Command::QueryManufacturer => w.write_str("AT+GMI?")?,
            Command::QueryModel => w.write_str("AT+GMM?")?,
            Command::QueryRevision => w.write_str("AT+GMR?")?,
        }
        w.write_char('\r')
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ids::{Ssi, Tsi};

    fn bytes(c: &Command<'_>, form: TsiForm) -> std::vec::Vec<u8> {
        let mut out = [0xa5u8; 600];
        let n = c.emit_with(form, &mut out).unwrap();
        assert!(
            out[n..].iter().all(|&b| b == 0xa5),
            "bytes written past the reported length"
        );
        assert_eq!(c.buffer_len(form), Ok(n));
        out[..n].to_vec()
    }

    fn long(c: Command<'_>) -> std::vec::Vec<u8> {
        bytes(&c, TsiForm::Long)
    }

    fn gssi(v: u32) -> PeiIdentity {
        PeiIdentity::Ssi(Ssi::new(v).unwrap())
    }

    fn gtsi() -> PeiIdentity {
        PeiIdentity::Tsi(Tsi::from_parts(206, 1, 2_061_001).unwrap())
    }

    #[test]
    fn basic_commands() {
        assert_eq!(long(Command::Attention), b"AT\r");
        assert_eq!(long(Command::SetEcho(false)), b"ATE0\r");
        assert_eq!(long(Command::SetEcho(true)), b"ATE1\r");
        assert_eq!(long(Command::NumericErrors), b"AT+CMEE=1\r");
        assert_eq!(long(Command::HangUp), b"ATH\r");
    }

    #[test]
    fn operating_mode() {
        assert_eq!(
            long(Command::SetOperatingMode(AiMode::Trunked)),
            b"AT+CTOM=0\r"
        );
        assert_eq!(
            long(Command::SetOperatingMode(AiMode::Direct)),
            b"AT+CTOM=1\r"
        );
        assert_eq!(long(Command::QueryOperatingMode), b"AT+CTOM?\r");
    }

    #[test]
    fn service_routing() {
        use ServiceProfile::*;
        assert_eq!(
            long(Command::RouteService(ServiceRoute::Voice(MtAndTe))),
            b"AT+CTSP=2,0,0\r"
        );
        assert_eq!(
            long(Command::RouteService(ServiceRoute::Status(Te))),
            b"AT+CTSP=1,2,20\r"
        );
        assert_eq!(
            long(Command::RouteService(ServiceRoute::Lip(Te))),
            b"AT+CTSP=1,3,10\r"
        );
        assert_eq!(
            long(Command::RouteService(ServiceRoute::SdsType4 {
                profile: Te,
                protocol_id: 130
            })),
            b"AT+CTSP=1,3,130\r"
        );
        assert_eq!(
            long(Command::RouteService(ServiceRoute::Voice(Mt))),
            b"AT+CTSP=0,0,0\r"
        );
    }

    #[test]
    fn group_selection_in_every_identity_form() {
        assert_eq!(
            long(Command::SelectGroup(gtsi())),
            b"AT+CTGS=1,02060000102061001\r"
        );
        assert_eq!(
            bytes(&Command::SelectGroup(gtsi()), TsiForm::Short),
            b"AT+CTGS=1,2060000102061001\r"
        );
        assert_eq!(
            long(Command::SelectGroup(gssi(2_040_551))),
            b"AT+CTGS=1,2040551\r"
        );
        assert_eq!(long(Command::QueryGroups), b"AT+CTGS?\r");
    }

    #[test]
    fn group_call_setup() {
        assert_eq!(
            long(Command::DefineCircuitService(CircuitService::GROUP_SPEECH)),
            b"AT+CTSDC=0,0,0,1,1,0,1,1,0,0,0\r"
        );
        let emergency = CircuitService {
            priority: 15,
            request_transmit: true,
            ..CircuitService::GROUP_SPEECH
        };
        assert_eq!(
            long(Command::DefineCircuitService(emergency)),
            b"AT+CTSDC=0,0,0,1,1,0,1,1,1,15,0\r"
        );
        assert_eq!(long(Command::Dial(gssi(2_061_001))), b"ATD2061001\r");
        assert_eq!(long(Command::Dial(gtsi())), b"ATD02060000102061001\r");
    }

    #[test]
    fn transmit_demand_and_cease() {
        assert_eq!(
            long(Command::DemandTransmit {
                cc: 1,
                priority: TxDemandPriority::High
            }),
            b"AT+CTXD=1,1\r"
        );
        assert_eq!(
            long(Command::DemandTransmit {
                cc: 12,
                priority: TxDemandPriority::Emergency
            }),
            b"AT+CTXD=12,3\r"
        );
        assert_eq!(long(Command::CeaseTransmit { cc: 1 }), b"AT+CUTXC=1\r");
    }

    #[test]
    fn sds_service_and_queries() {
        assert_eq!(
            long(Command::SelectSdsService {
                ai_service: AiService::Status,
                called_type: IdentityType::Ssi
            }),
            b"AT+CTSDS=13,0\r"
        );
        assert_eq!(
            long(Command::SelectSdsService {
                ai_service: AiService::SdsType4,
                called_type: IdentityType::Tsi
            }),
            b"AT+CTSDS=12,1\r"
        );
        assert_eq!(long(Command::QuerySignalQuality), b"AT+CSQ?\r");
        assert_eq!(long(Command::QueryOwnNumber), b"AT+CNUMF?\r");
        assert_eq!(long(Command::QueryRegistration), b"AT+CREG?\r");
        assert_eq!(long(Command::QueryStaticIdentities), b"AT+CNUMS?\r");
        assert_eq!(long(Command::QueryManufacturer), b"AT+GMI?\r");
        assert_eq!(long(Command::QueryModel), b"AT+GMM?\r");
        assert_eq!(long(Command::QueryRevision), b"AT+GMR?\r");
    }

    #[test]
    fn sds_send_in_one_go_and_in_two_steps() {
        let data = [0x80, 0x03];
        let send = SdsSend {
            to: gssi(2_040_551),
            bits: 16,
            data: UserData(&data),
        };
        assert_eq!(
            long(Command::SendSds(send)),
            b"AT+CMGS=2040551,16\r8003\x1a"
        );
        let mut out = [0xa5u8; 32];
        let n = send.emit_command(&mut out).unwrap();
        assert_eq!(&out[..n], b"AT+CMGS=2040551,16\r");
        out.fill(0xa5);
        let n = send.emit_user_data(&mut out).unwrap();
        assert_eq!(&out[..n], b"8003\x1a");
        assert_eq!(out[n], 0xa5);
        let to_tsi = SdsSend { to: gtsi(), ..send };
        let n = to_tsi.emit_command_with(TsiForm::Short, &mut out).unwrap();
        assert_eq!(&out[..n], b"AT+CMGS=2060000102061001,16\r");
    }

    #[test]
    fn sds_of_part_bytes_sends_whole_bytes() {
        let data = [
            0x0a, 0x11, 0x28, 0x53, 0xa9, 0xff, 0x4d, 0x4f, 0xff, 0xe8, 0x10,
        ];
        let send = SdsSend {
            to: gssi(9999),
            bits: 84,
            data: UserData(&data),
        };
        assert_eq!(
            long(Command::SendSds(send)),
            b"AT+CMGS=9999,84\r0A112853A9FF4D4FFFE810\x1a"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let mut out = [0u8; 64];
        let data = [1u8, 2, 3];
        let send = SdsSend {
            to: gssi(1),
            bits: 16,
            data: UserData(&data),
        };
        assert_eq!(
            Command::SendSds(send).emit(&mut out),
            Err(EmitError::UserDataLength { bits: 16, bytes: 3 })
        );
        let huge = SdsSend {
            to: gssi(1),
            bits: 2048,
            data: UserData(&[0; 256]),
        };
        assert_eq!(
            huge.emit_command(&mut out),
            Err(EmitError::InvalidValue { what: "SDS length" })
        );
        let bad = CircuitService {
            priority: 16,
            ..CircuitService::GROUP_SPEECH
        };
        assert_eq!(
            Command::DefineCircuitService(bad).emit(&mut out),
            Err(EmitError::InvalidValue {
                what: "call priority"
            })
        );
        let mut tiny = [0xa5u8; 5];
        assert_eq!(
            Command::QueryOwnNumber.emit(&mut tiny),
            Err(EmitError::BufferTooSmall {
                needed: 10,
                available: 5
            })
        );
        assert_eq!(tiny, [0xa5; 5]);
    }
}
