//! Why a call ended: the `<disconnect cause>` of `+CTCR` (EN 300 392-5 §6.17.18).
//!
//! The gateway reacts differently to a pre-emption (9), a timer expiry (13) or the SwMI
//! clearing the call (14), so the causes are named. Causes 0–39 are the standard's table;
//! 40 ("security parameter mismatch") appears in later editions and in SvxLink's copy of the
//! table. Causes 23–30 are reserved and, like any number above 40, are kept as
//! [`DisconnectCause::Other`] rather than rejected: a release is too important to drop over an
//! unfamiliar cause.

use core::fmt;

use serde::Serialize;

/// The reason a circuit-mode call was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DisconnectCause {
    /// 0: not defined or unknown.
    Unknown,
    /// 1: user request.
    UserRequest,
    /// 2: called party busy.
    CalledPartyBusy,
    /// 3: called party not reachable.
    CalledPartyNotReachable,
    /// 4: called party does not support encryption.
    CalledPartyNoEncryption,
    /// 5: network congestion.
    NetworkCongestion,
    /// 6: not allowed traffic.
    NotAllowedTraffic,
    /// 7: incompatible traffic.
    IncompatibleTraffic,
    /// 8: service not available.
    ServiceNotAvailable,
    /// 9: pre-emption.
    PreEmption,
    /// 10: invalid call identifier.
    InvalidCallIdentifier,
    /// 11: called party rejection.
    CalledPartyRejection,
    /// 12: no idle CC entity.
    NoIdleCcEntity,
    /// 13: timer expiry.
    TimerExpiry,
    /// 14: SwMI disconnect.
    SwmiDisconnect,
    /// 15: no acknowledgement.
    NoAcknowledgement,
    /// 16: unknown TETRA identity.
    UnknownTetraIdentity,
    /// 17: supplementary-service dependent.
    SupplementaryService,
    /// 18: unknown external subscriber number.
    UnknownExternalNumber,
    /// 19: call restoration failed.
    CallRestorationFailed,
    /// 20: called party requires encryption.
    CalledPartyRequiresEncryption,
    /// 21: concurrent set-up not supported.
    ConcurrentSetupNotSupported,
    /// 22: called party is under the same DM-GATE as the calling party.
    SameDmGate,
    /// 31: called party offered unacceptable service.
    UnacceptableService,
    /// 32: pre-emption by late-entering gateway.
    PreEmptionByLateGateway,
    /// 33: link to DM-REP not established or failed.
    DmRepLinkFailed,
    /// 34: link to gateway failed.
    GatewayLinkFailed,
    /// 35: call rejected by gateway.
    RejectedByGateway,
    /// 36: V+D call set-up failure.
    TrunkedSetupFailure,
    /// 37: V+D resource lost or call timer expired.
    TrunkedResourceLost,
    /// 38: transmit authorisation lost.
    TransmitAuthorisationLost,
    /// 39: channel has become occupied by other users.
    ChannelOccupied,
    /// 40: security parameter mismatch (later editions).
    SecurityParameterMismatch,
    /// A reserved or unknown cause, kept as its number; never one of the named codes.
    Other(u16),
}

impl DisconnectCause {
    /// The cause of a PEI code; every code maps to something.
    pub const fn from_code(code: u16) -> Self {
        use DisconnectCause::*;
        match code {
            0 => Unknown,
            1 => UserRequest,
            2 => CalledPartyBusy,
            3 => CalledPartyNotReachable,
            4 => CalledPartyNoEncryption,
            5 => NetworkCongestion,
            6 => NotAllowedTraffic,
            7 => IncompatibleTraffic,
            8 => ServiceNotAvailable,
            9 => PreEmption,
            10 => InvalidCallIdentifier,
            11 => CalledPartyRejection,
            12 => NoIdleCcEntity,
            13 => TimerExpiry,
            14 => SwmiDisconnect,
            15 => NoAcknowledgement,
            16 => UnknownTetraIdentity,
            17 => SupplementaryService,
            18 => UnknownExternalNumber,
            19 => CallRestorationFailed,
            20 => CalledPartyRequiresEncryption,
            21 => ConcurrentSetupNotSupported,
            22 => SameDmGate,
            31 => UnacceptableService,
            32 => PreEmptionByLateGateway,
            33 => DmRepLinkFailed,
            34 => GatewayLinkFailed,
            35 => RejectedByGateway,
            36 => TrunkedSetupFailure,
            37 => TrunkedResourceLost,
            38 => TransmitAuthorisationLost,
            39 => ChannelOccupied,
            40 => SecurityParameterMismatch,
            other => Other(other),
        }
    }

    /// The code as the PEI prints it.
    pub const fn code(self) -> u16 {
        use DisconnectCause::*;
        match self {
            Unknown => 0,
            UserRequest => 1,
            CalledPartyBusy => 2,
            CalledPartyNotReachable => 3,
            CalledPartyNoEncryption => 4,
            NetworkCongestion => 5,
            NotAllowedTraffic => 6,
            IncompatibleTraffic => 7,
            ServiceNotAvailable => 8,
            PreEmption => 9,
            InvalidCallIdentifier => 10,
            CalledPartyRejection => 11,
            NoIdleCcEntity => 12,
            TimerExpiry => 13,
            SwmiDisconnect => 14,
            NoAcknowledgement => 15,
            UnknownTetraIdentity => 16,
            SupplementaryService => 17,
            UnknownExternalNumber => 18,
            CallRestorationFailed => 19,
            CalledPartyRequiresEncryption => 20,
            ConcurrentSetupNotSupported => 21,
            SameDmGate => 22,
            UnacceptableService => 31,
            PreEmptionByLateGateway => 32,
            DmRepLinkFailed => 33,
            GatewayLinkFailed => 34,
            RejectedByGateway => 35,
            TrunkedSetupFailure => 36,
            TrunkedResourceLost => 37,
            TransmitAuthorisationLost => 38,
            ChannelOccupied => 39,
            SecurityParameterMismatch => 40,
            Other(code) => code,
        }
    }

    /// The standard's wording of the cause.
    pub const fn description(self) -> &'static str {
        use DisconnectCause::*;
        match self {
            Unknown => "not defined or unknown",
            UserRequest => "user request",
            CalledPartyBusy => "called party busy",
            CalledPartyNotReachable => "called party not reachable",
            CalledPartyNoEncryption => "called party does not support encryption",
            NetworkCongestion => "network congestion",
            NotAllowedTraffic => "not allowed traffic",
            IncompatibleTraffic => "incompatible traffic",
            ServiceNotAvailable => "service not available",
            PreEmption => "pre-emption",
            InvalidCallIdentifier => "invalid call identifier",
            CalledPartyRejection => "called party rejection",
            NoIdleCcEntity => "no idle CC entity",
            TimerExpiry => "timer expiry",
            SwmiDisconnect => "SwMI disconnect",
            NoAcknowledgement => "no acknowledgement",
            UnknownTetraIdentity => "unknown TETRA identity",
            SupplementaryService => "supplementary service dependent",
            UnknownExternalNumber => "unknown external subscriber number",
            CallRestorationFailed => "call restoration failed",
            CalledPartyRequiresEncryption => "called party requires encryption",
            ConcurrentSetupNotSupported => "concurrent set-up not supported",
            SameDmGate => "called party is under the same DM-GATE as the calling party",
            UnacceptableService => "called party offered unacceptable service",
            PreEmptionByLateGateway => "pre-emption by late entering gateway",
            DmRepLinkFailed => "link to DM-REP not established or failed",
            GatewayLinkFailed => "link to gateway failed",
            RejectedByGateway => "call rejected by gateway",
            TrunkedSetupFailure => "V+D call set-up failure",
            TrunkedResourceLost => "V+D resource lost or call timer expired",
            TransmitAuthorisationLost => "transmit authorisation lost",
            ChannelOccupied => "channel has become occupied by other users",
            SecurityParameterMismatch => "security parameter mismatch",
            Other(_) => "reserved or unknown cause",
        }
    }
}

impl fmt::Display for DisconnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description(), self.code())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=u16::MAX {
            assert_eq!(DisconnectCause::from_code(code).code(), code);
        }
    }

    #[test]
    fn gateway_relevant_causes_are_named() {
        assert_eq!(DisconnectCause::from_code(9), DisconnectCause::PreEmption);
        assert_eq!(DisconnectCause::from_code(13), DisconnectCause::TimerExpiry);
        assert_eq!(
            DisconnectCause::from_code(14),
            DisconnectCause::SwmiDisconnect
        );
        assert_eq!(
            DisconnectCause::from_code(39),
            DisconnectCause::ChannelOccupied
        );
    }

    #[test]
    fn reserved_and_unknown_causes_keep_their_number() {
        assert_eq!(DisconnectCause::from_code(23), DisconnectCause::Other(23));
        assert_eq!(DisconnectCause::from_code(30), DisconnectCause::Other(30));
        assert_eq!(DisconnectCause::from_code(41), DisconnectCause::Other(41));
        assert_eq!(
            DisconnectCause::Other(200).to_string(),
            "reserved or unknown cause (200)"
        );
        assert_eq!(DisconnectCause::PreEmption.to_string(), "pre-emption (9)");
    }
}
