//! Coded parameter values of the PEI (EN 300 392-5 §6.17, "parameter descriptions").
//!
//! Each is a small number on the wire. The tables follow the standard's parameter lists as
//! reproduced in SvxLink's TetraLogic (`TetraLib.h`) and ftl/tetra-pei; where a table is only
//! inferred from radio traces, its doc says so.
//!
//! Radios send values no table lists: vendor extensions, codes of newer editions. A code
//! outside a table is kept as `Unknown(n)` and the event carrying it is still delivered — an
//! incoming call must never be lost over one unfamiliar parameter. Only a line whose structure
//! is broken (a parameter that is not a number, a missing one) is refused. Code that acts on a
//! value matches the codes it knows and treats `Unknown` as the safe choice (an unknown
//! `<TxGrant>` is not a grant).

use core::fmt;

use serde::Serialize;

/// Declares a coded parameter enum with `from_code`/`code`, an `Unknown(n)` variant for codes
/// outside its table, and a `Display` that prints the code (and says when it is unknown).
macro_rules! coded {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code the table does not define, kept as sent.
            Unknown(u16),
        }

        impl $name {
            /// Every defined value, in code order.
            pub const ALL: &'static [$name] = &[$( $name::$variant ),+];

            /// The value of a PEI code; a code the table does not define is
            /// [`Self::Unknown`].
            pub const fn from_code(code: u16) -> Self {
                match code {
                    $( $code => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }

            /// The code as the PEI prints it.
            pub const fn code(self) -> u16 {
                match self {
                    $( $name::$variant => $code, )+
                    $name::Unknown(code) => code,
                }
            }

            /// Whether the code is one the table defines.
            pub const fn is_known(self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $name::Unknown(code) => write!(f, "{code} (not in the table)"),
                    known => write!(f, "{:?} ({})", known, known.code()),
                }
            }
        }
    };
}

coded! {
    /// Air-interface service of a call or SDS (§6.17.3 "AI service").
    AiService {
        /// TETRA speech.
        Speech = 0,
        /// 7,2 kbit/s unprotected data.
        Data7k2 = 1,
        /// Low protection 4,8 kbit/s, short interleaving (depth 1).
        Data4k8Short = 2,
        /// Low protection 4,8 kbit/s, medium interleaving (depth 4).
        Data4k8Medium = 3,
        /// Low protection 4,8 kbit/s, long interleaving (depth 8).
        Data4k8Long = 4,
        /// High protection 2,4 kbit/s, short interleaving (depth 1).
        Data2k4Short = 5,
        /// High protection 2,4 kbit/s, medium interleaving (depth 4).
        Data2k4Medium = 6,
        /// High protection 2,4 kbit/s, long interleaving (depth 8).
        Data2k4Long = 7,
        /// Packet data (V+D only).
        PacketData = 8,
        /// SDS type 1 (16 bits).
        SdsType1 = 9,
        /// SDS type 2 (32 bits).
        SdsType2 = 10,
        /// SDS type 3 (64 bits).
        SdsType3 = 11,
        /// SDS type 4 (0 to 2047 bits), which carries SDS-TL, text and LIP.
        SdsType4 = 12,
        /// Status message (16 bits).
        Status = 13,
    }
}

coded! {
    /// Operating mode of the radio (§6.17.4 "AI mode"), set with `AT+CTOM`.
    ///
    /// Code 5 has no agreed meaning in the public tables and is kept as `Unknown(5)`.
    AiMode {
        /// Trunked mode (V+D, "TMO").
        Trunked = 0,
        /// Direct mode (DMO).
        Direct = 1,
        /// Trunked with dual watch of direct mode.
        TrunkedDualWatch = 2,
        /// Direct with dual watch of trunked mode.
        DirectDualWatch = 3,
        /// Trunked and direct, used with `+CTSP`.
        TrunkedAndDirect = 4,
        /// Direct-mode repeater.
        DirectRepeater = 6,
    }
}

coded! {
    /// Progress of a circuit-mode call set-up (§6.17.8 "call status").
    CallStatus {
        /// Call progressing.
        Progressing = 0,
        /// Call queued.
        Queued = 1,
        /// Called party paged.
        CalledPartyPaged = 2,
        /// Call continue.
        Continue = 3,
        /// Hang time expired.
        HangTimeExpired = 4,
    }
}

coded! {
    /// How to read the identity next to it (§6.17.11 "called party identity type"; the
    /// calling-party and talking-party identity types use the same table).
    IdentityType {
        /// Short subscriber identity.
        Ssi = 0,
        /// TETRA subscriber identity.
        Tsi = 1,
        /// Short number address (V+D only).
        Sna = 2,
        /// PABX external subscriber number.
        Pabx = 3,
        /// PSTN external subscriber number.
        Pstn = 4,
        /// Extended TSI.
        ExtendedTsi = 5,
    }
}

coded! {
    /// Whether a call is put straight through or rings first (§6.17 "hook").
    ///
    /// The PEI code is the reverse of the air-interface bit (EN 300 392-2 §14.8.27): group
    /// calls, which are always put straight through, carry 1 in radio traces
    /// (`+CTICN: 1,0,0,5,…,1,1,0,1,1,5,…`) and in the customary `AT+CTSDC=0,0,0,1,1,…`.
    Hook {
        /// Hook on/hook off signalling: the called party answers.
        Signalling = 0,
        /// No hook signalling: the call is put straight through.
        Direct = 1,
    }
}

coded! {
    /// Simplex or duplex traffic (§6.17 "simplex"); group calls are simplex (code 1).
    Simplex {
        /// Duplex.
        Duplex = 0,
        /// Simplex: one talker at a time, with transmission grants.
        Simplex = 1,
    }
}

coded! {
    /// End-to-end encryption of a call or SDS (§6.17 "end to end encryption").
    Encryption {
        /// Clear: not end-to-end encrypted.
        Clear = 0,
        /// End-to-end encrypted.
        EndToEnd = 1,
    }
}

coded! {
    /// Who a call reaches (§6.17.13 "comms type").
    CommsType {
        /// Point to point (individual call).
        PointToPoint = 0,
        /// Point to multipoint (group call).
        PointToMultipoint = 1,
        /// Point to multipoint, acknowledged.
        PointToMultipointAcknowledged = 2,
        /// Broadcast.
        Broadcast = 3,
    }
}

coded! {
    /// The SwMI's answer to a transmit demand (`<TxGrant>`, EN 300 392-2 §14.8.42).
    TxGrant {
        /// Transmission granted to this radio: clear to talk.
        Granted = 0,
        /// Transmission not granted.
        NotGranted = 1,
        /// Transmission queued.
        Queued = 2,
        /// Transmission granted to another party: someone else is talking.
        GrantedToAnother = 3,
    }
}

coded! {
    /// Whether this radio may ask to transmit now (`<TxRqPrmsn>`).
    TxRequestPermission {
        /// Allowed to request transmission.
        Allowed = 0,
        /// Not allowed to request transmission.
        NotAllowed = 1,
    }
}

coded! {
    /// Priority of a transmit demand (`AT+CTXD`, EN 300 392-2 "TX demand priority").
    TxDemandPriority {
        /// Low.
        Low = 0,
        /// High; what gateways customarily send (`AT+CTXD=<cc>,1`).
        High = 1,
        /// Pre-emptive.
        PreEmptive = 2,
        /// Emergency.
        Emergency = 3,
    }
}

coded! {
    /// Role of a group in the radio (§6.17.25 "group type", `AT+CTGS`).
    GroupType {
        /// None: detach the group.
        None = 0,
        /// Selected: outgoing calls use this group.
        Select = 1,
        /// Scanned at priority 1.
        Scan1 = 2,
        /// Scanned at priority 2.
        Scan2 = 3,
        /// Scanned at priority 3.
        Scan3 = 4,
        /// Scanned at priority 4.
        Scan4 = 5,
        /// Scanned at priority 5.
        Scan5 = 6,
        /// Scanned at priority 6.
        Scan6 = 7,
    }
}

coded! {
    /// Kind of an identity the radio reports about itself (§6.17.38 "num type", `+CNUMF`).
    NumType {
        /// Individual (ISSI or ITSI): the radio's own identity.
        Individual = 0,
        /// Group (GSSI or GTSI).
        Group = 1,
        /// PSTN gateway (ISSI or ITSI).
        PstnGateway = 2,
        /// PABX gateway (ISSI or ITSI).
        PabxGateway = 3,
        /// Service centre (ISSI or ITSI).
        ServiceCentre = 4,
        /// Service centre (E.164 number).
        ServiceCentreE164 = 5,
        /// Individual, extended TSI.
        IndividualExtended = 6,
        /// Group, extended TSI.
        GroupExtended = 7,
    }
}

coded! {
    /// Whether the radio is registered on its network (`<reg stat>` of `+CREG`, EN 300 392-5
    /// "network registration"; the values are those of the V.250 family of `+CREG` tables).
    RegistrationState {
        /// Not registered, and not looking for a network.
        NotRegistered = 0,
        /// Registered on its home network.
        RegisteredHome = 1,
        /// Not registered, looking for a network.
        Searching = 2,
        /// The network refused the registration.
        Denied = 3,
        /// The radio does not know (code 4; `Unknown(n)` is a code outside the table).
        NotKnown = 4,
        /// Registered on a network other than its home one (migrated).
        RegisteredRoaming = 5,
    }
}

impl RegistrationState {
    /// Whether the radio can make and receive calls on a network: registered at home or
    /// migrated. Anything else, an unknown code included, is not registered.
    pub const fn is_registered(self) -> bool {
        matches!(
            self,
            RegistrationState::RegisteredHome | RegistrationState::RegisteredRoaming
        )
    }
}

coded! {
    /// Where the radio delivers a service (`<service profile>` of `AT+CTSP`).
    ///
    /// Inferred from SvxLink's TetraLogic, which routes voice with profile 2 (the radio keeps
    /// playing it) and SDS with profile 1 (only the PEI sees them).
    ServiceProfile {
        /// The radio (MT) alone.
        Mt = 0,
        /// The PEI (TE) alone.
        Te = 1,
        /// Both the radio and the PEI.
        MtAndTe = 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_gaps_are_kept_as_unknown() {
        for &s in AiService::ALL {
            assert_eq!(AiService::from_code(s.code()), s);
            assert!(s.is_known());
        }
        assert_eq!(AiService::from_code(14), AiService::Unknown(14));
        assert!(!AiService::Unknown(14).is_known());
        assert_eq!(AiService::Unknown(14).code(), 14);
        assert_eq!(AiMode::from_code(5), AiMode::Unknown(5));
        assert_eq!(AiMode::from_code(6), AiMode::DirectRepeater);
        assert_eq!(TxGrant::from_code(3), TxGrant::GrantedToAnother);
        assert_eq!(GroupType::from_code(8), GroupType::Unknown(8));
        assert_eq!(IdentityType::ALL.len(), 6);
        assert_eq!(NumType::from_code(6), NumType::IndividualExtended);
        assert_eq!(CommsType::from_code(900), CommsType::Unknown(900));
    }

    #[test]
    fn every_code_maps_back_to_itself() {
        for code in 0..=u16::MAX {
            assert_eq!(CommsType::from_code(code).code(), code);
            assert_eq!(TxGrant::from_code(code).code(), code);
            assert_eq!(AiService::from_code(code).code(), code);
        }
    }

    #[test]
    fn display_names_the_value_and_flags_unknown_codes() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            CommsType::PointToMultipoint.to_string(),
            "PointToMultipoint (1)"
        );
        assert_eq!(CommsType::Unknown(9).to_string(), "9 (not in the table)");
    }
}
