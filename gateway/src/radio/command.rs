//! The commands a session sends, one at a time, and the bytes they become.
//!
//! An [`Op`] is a command together with what its answer means to the session: an
//! initialisation step, the periodic signal query, or a call-control step. It is `Copy` so
//! the one in flight can be sent again on a timeout.

use borderlink_protocol::ids::{PeiIdentity, Tsi, TsiForm};
use borderlink_protocol::pei::{
    AiMode, AiService, CircuitService, Command, IdentityType, SdsSend, ServiceProfile,
    ServiceRoute, TxDemandPriority, UserData,
};

use super::profile::PeiProfile;
use super::sds::OutgoingSds;

/// Longest command line a session writes: `AT+CMGS=` with a 17-digit TSI and a length, then
/// [`MAX_SDS_BYTES`](super::sds::MAX_SDS_BYTES) of user data in hex and Ctrl-Z is 164 bytes.
const MAX_COMMAND_LEN: usize = 192;

/// Bytes to write to the radio's serial port: one command line.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    len: usize,
    buf: [u8; MAX_COMMAND_LEN],
}

impl Transmit {
    /// The bytes, ending in CR.
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Transmit")
            .field(&String::from_utf8_lossy(self.bytes()))
            .finish()
    }
}

/// A command the session sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// `AT`: is anyone there.
    Probe,
    /// `ATE0`.
    EchoOff,
    /// `AT+CMEE=1`.
    NumericErrors,
    /// `AT+CTOM=0`.
    TrunkedMode,
    /// `AT+CTSP=…`.
    Route(ServiceRoute),
    /// `AT+CNUMF?`.
    OwnNumber,
    /// `AT+CTGS=1,<group>`.
    SelectGroup(Tsi),
    /// `AT+CSQ?`.
    SignalQuality,
    /// `AT+CTSDC=…`.
    DefineCall(CircuitService),
    /// `ATD<GSSI>`.
    Dial(Tsi),
    /// `AT+CTXD=<cc>,<priority>`.
    Demand {
        /// Call instance.
        cc: u16,
        /// Demand priority.
        priority: TxDemandPriority,
    },
    /// `AT+CUTXC=<cc>`.
    Cease {
        /// Call instance.
        cc: u16,
    },
    /// `AT+CTSDS=<AI service>,<called party type>`: the service of the `AT+CMGS` after it.
    SelectSds {
        /// Status or SDS type 4.
        service: AiService,
        /// How the addressee is written.
        called_type: IdentityType,
    },
    /// `AT+CMGS=<to>,<bits>`, the user data in hex and Ctrl-Z.
    SendSds(OutgoingSds),
    /// The profile's vendor command with this index (`[radios.pei] extra`).
    Extra(u8),
    /// `AT+GMI?`, `AT+GMM?` or `AT+GMR?`.
    Identify(Identification),
    /// `AT+CREG?`.
    Registration,
    /// `AT+CNUMS?`.
    StaticIdentities,
}

/// Which identification a radio is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Identification {
    /// `AT+GMI?`.
    Manufacturer,
    /// `AT+GMM?`.
    Model,
    /// `AT+GMR?`.
    Revision,
}

impl Op {
    /// The initialisation script for a profile, in order; the radio is ready when the last
    /// step (the group selection) succeeds.
    pub(super) fn init_script(group: Tsi, profile: &PeiProfile) -> Vec<Op> {
        let mut script = vec![Op::Probe, Op::EchoOff];
        if profile.numeric_errors {
            script.push(Op::NumericErrors);
        }
        if profile.trunked_mode {
            script.push(Op::TrunkedMode);
        }
        // Vendor commands after the mode switch (some undo routing) and before the routing.
        let extra = profile.extra.len().min(super::profile::MAX_EXTRA);
        script.extend((0..extra).filter_map(|i| u8::try_from(i).ok().map(Op::Extra)));
        // Voice to radio and PEI alike: the radio keeps playing calls on its audio lines,
        // which is where the gateway captures them.
        script.push(Op::Route(ServiceRoute::Voice(ServiceProfile::MtAndTe)));
        if profile.route_status {
            script.push(Op::Route(ServiceRoute::Status(ServiceProfile::Te)));
        }
        if profile.route_lip {
            script.push(Op::Route(ServiceRoute::Lip(ServiceProfile::Te)));
        }
        if profile.identification {
            script.extend([
                Op::Identify(Identification::Manufacturer),
                Op::Identify(Identification::Model),
                Op::Identify(Identification::Revision),
            ]);
        }
        script.push(Op::OwnNumber);
        if profile.static_identities {
            script.push(Op::StaticIdentities);
        }
        if profile.registration {
            script.push(Op::Registration);
        }
        script.push(Op::SelectGroup(group));
        script
    }

    /// The command, or `None` for a vendor command (sent as written, see [`Op::encode`]).
    fn command(&self) -> Option<Command<'_>> {
        Some(match *self {
            Op::Probe => Command::Attention,
            Op::EchoOff => Command::SetEcho(false),
            Op::NumericErrors => Command::NumericErrors,
            Op::TrunkedMode => Command::SetOperatingMode(AiMode::Trunked),
            Op::Route(r) => Command::RouteService(r),
            Op::OwnNumber => Command::QueryOwnNumber,
            Op::SelectGroup(g) => Command::SelectGroup(PeiIdentity::Tsi(g)),
            Op::SignalQuality => Command::QuerySignalQuality,
            Op::DefineCall(s) => Command::DefineCircuitService(s),
            // The group is on the radio's own network, where its GSSI alone names it.
            Op::Dial(g) => Command::Dial(PeiIdentity::Ssi(g.ssi())),
            Op::Demand { cc, priority } => Command::DemandTransmit { cc, priority },
            Op::Cease { cc } => Command::CeaseTransmit { cc },
            Op::SelectSds {
                service,
                called_type,
            } => Command::SelectSdsService {
                ai_service: service,
                called_type,
            },
            Op::SendSds(ref sds) => Command::SendSds(SdsSend {
                to: sds.to,
                bits: sds.bits,
                data: UserData(sds.data()),
            }),
            Op::Identify(Identification::Manufacturer) => Command::QueryManufacturer,
            Op::Identify(Identification::Model) => Command::QueryModel,
            Op::Identify(Identification::Revision) => Command::QueryRevision,
            Op::Registration => Command::QueryRegistration,
            Op::StaticIdentities => Command::QueryStaticIdentities,
            Op::Extra(_) => return None,
        })
    }

    /// The command as the log names it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Op::Probe => "AT",
            Op::EchoOff => "ATE0",
            Op::NumericErrors => "AT+CMEE=1",
            Op::TrunkedMode => "AT+CTOM=0",
            Op::Route(ServiceRoute::Voice(_)) => "AT+CTSP (voice)",
            Op::Route(ServiceRoute::Status(_)) => "AT+CTSP (status)",
            Op::Route(ServiceRoute::Lip(_)) => "AT+CTSP (LIP)",
            Op::Route(ServiceRoute::SdsType4 { .. }) => "AT+CTSP (SDS type 4)",
            Op::OwnNumber => "AT+CNUMF?",
            Op::SelectGroup(_) => "AT+CTGS",
            Op::SignalQuality => "AT+CSQ?",
            Op::DefineCall(_) => "AT+CTSDC",
            Op::Dial(_) => "ATD",
            Op::Demand { .. } => "AT+CTXD",
            Op::Cease { .. } => "AT+CUTXC",
            Op::SelectSds { .. } => "AT+CTSDS",
            Op::SendSds(_) => "AT+CMGS",
            Op::Extra(_) => "a vendor command of the profile",
            Op::Identify(Identification::Manufacturer) => "AT+GMI?",
            Op::Identify(Identification::Model) => "AT+GMM?",
            Op::Identify(Identification::Revision) => "AT+GMR?",
            Op::Registration => "AT+CREG?",
            Op::StaticIdentities => "AT+CNUMS?",
        }
    }

    /// Whether the gateway cannot work without this initialisation step; the others (error
    /// format, status and LIP routing, identification, registration, static identities,
    /// vendor commands) are reported and skipped when a radio refuses them.
    pub(super) fn is_essential(self) -> bool {
        !matches!(
            self,
            Op::NumericErrors
                | Op::Route(ServiceRoute::Status(_))
                | Op::Route(ServiceRoute::Lip(_))
                | Op::Route(ServiceRoute::SdsType4 { .. })
                | Op::Extra(_)
                | Op::Identify(_)
                | Op::Registration
                | Op::StaticIdentities
        )
    }

    /// Whether this is part of the initialisation script.
    pub(super) fn is_init(self) -> bool {
        matches!(
            self,
            Op::Probe
                | Op::EchoOff
                | Op::NumericErrors
                | Op::TrunkedMode
                | Op::Route(_)
                | Op::OwnNumber
                | Op::SelectGroup(_)
                | Op::Extra(_)
                | Op::Identify(_)
                | Op::Registration
                | Op::StaticIdentities
        )
    }

    /// Whether this sets up a call or demands transmission (withdrawn on unkey while unsent).
    pub(super) fn is_keying(self) -> bool {
        matches!(self, Op::DefineCall(_) | Op::Dial(_) | Op::Demand { .. })
    }

    /// The command line, or `None` if a value cannot be written; `extra` are the profile's
    /// vendor commands.
    pub(super) fn encode(self, form: TsiForm, extra: &[String]) -> Option<Transmit> {
        let mut buf = [0u8; MAX_COMMAND_LEN];
        let len = match self.command() {
            Some(command) => command.emit_with(form, &mut buf).ok()?,
            None => {
                let Op::Extra(index) = self else { return None };
                let line = extra.get(usize::from(index))?.as_bytes();
                // Checked when the config was read; kept total here.
                let end = line
                    .len()
                    .checked_add(1)
                    .filter(|&n| n <= MAX_COMMAND_LEN)?;
                buf.get_mut(..line.len())?.copy_from_slice(line);
                *buf.get_mut(line.len())? = b'\r';
                end
            }
        };
        Some(Transmit { len, buf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_fits_the_transmit_buffer() {
        let gtsi = Tsi::from_parts(1023, 16383, 16_777_215).unwrap();
        let ops = [
            Op::SelectGroup(gtsi),
            Op::Dial(gtsi),
            Op::DefineCall(CircuitService {
                priority: 15,
                area: 15,
                slots_codec: 255,
                clir: 255,
                ..CircuitService::GROUP_SPEECH
            }),
            Op::Demand {
                cc: u16::MAX,
                priority: TxDemandPriority::Emergency,
            },
            Op::Cease { cc: u16::MAX },
        ];
        for op in ops {
            for form in [TsiForm::Long, TsiForm::Short] {
                let t = op.encode(form, &[]).expect("fits");
                assert_eq!(t.bytes().last(), Some(&b'\r'), "{op:?}");
            }
        }
    }

    #[test]
    fn out_of_range_values_are_not_sent() {
        let bad = Op::DefineCall(CircuitService {
            priority: 16,
            ..CircuitService::GROUP_SPEECH
        });
        assert_eq!(bad.encode(TsiForm::Long, &[]), None);
    }

    #[test]
    fn vendor_commands_are_sent_as_written_and_the_profile_decides_the_script() {
        let extra = ["AT+CTSP=1,3,130".to_owned()];
        let t = Op::Extra(0).encode(TsiForm::Long, &extra).unwrap();
        assert_eq!(t.bytes(), b"AT+CTSP=1,3,130\r");
        assert_eq!(Op::Extra(1).encode(TsiForm::Long, &extra), None);
        assert!(!Op::Extra(0).is_essential());

        let group = Tsi::from_parts(204, 1, 2_040_551).unwrap();
        let names = |p: &PeiProfile| -> Vec<&str> {
            Op::init_script(group, p)
                .into_iter()
                .map(Op::name)
                .collect()
        };
        assert_eq!(
            names(&PeiProfile::MINIMAL),
            ["AT", "ATE0", "AT+CTSP (voice)", "AT+CNUMF?", "AT+CTGS"]
        );
        let mut standard = PeiProfile::STANDARD;
        standard.extra = extra.to_vec();
        assert_eq!(
            names(&standard),
            [
                "AT",
                "ATE0",
                "AT+CMEE=1",
                "AT+CTOM=0",
                "a vendor command of the profile",
                "AT+CTSP (voice)",
                "AT+CTSP (status)",
                "AT+CTSP (LIP)",
                "AT+GMI?",
                "AT+GMM?",
                "AT+GMR?",
                "AT+CNUMF?",
                "AT+CNUMS?",
                "AT+CREG?",
                "AT+CTGS",
            ]
        );
        // Whatever the profile, only the steps the gateway cannot do without are essential.
        let essential: Vec<&str> = Op::init_script(group, &standard)
            .into_iter()
            .filter(|op| op.is_essential())
            .map(Op::name)
            .collect();
        assert_eq!(
            essential,
            [
                "AT",
                "ATE0",
                "AT+CTOM=0",
                "AT+CTSP (voice)",
                "AT+CNUMF?",
                "AT+CTGS"
            ]
        );
    }
}
