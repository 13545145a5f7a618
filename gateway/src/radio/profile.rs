//! Which PEI commands a radio is initialised and watched with: the per-model profile.
//!
//! Terminals of different makers accept different subsets of EN 300 392-5, and answer what
//! they lack with `ERROR` or `+CME ERROR: 4` ("operation not supported"). The gateway needs
//! little from a radio: an answer to `AT`, echo off, voice routed to the PEI, its identity and
//! its group selected. Everything else — numeric errors, trunked mode, status and LIP routing,
//! identification, registration and static identities, vendor commands — is *optional*: a
//! radio that refuses it is used anyway, the refusal reported once and the command not asked
//! again until the radio is initialised afresh. A profile only says what to ask; it never
//! makes a refusal fatal.
//!
//! [`PeiProfile::STANDARD`] asks for everything the standard defines (the default);
//! [`PeiProfile::MINIMAL`] asks only for what the gateway cannot work without, for a radio
//! that misbehaves on the rest. A site overrides single steps, and adds the vendor commands a
//! model needs, in `[radios.pei]` (docs/wire.md, "PEI initialisation profiles").

/// Longest vendor command accepted in a profile; the PEI's command line limit is far above.
pub const MAX_EXTRA_LEN: usize = 120;

/// Most vendor commands in one profile.
pub const MAX_EXTRA: usize = 16;

/// What the session asks of one radio beyond the steps it cannot work without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeiProfile {
    /// `AT+CMEE=1`: numeric `+CME ERROR` codes instead of a bare `ERROR`.
    pub numeric_errors: bool,
    /// `AT+CTOM=0`: switch to trunked mode (a radio locked to TMO may refuse it).
    pub trunked_mode: bool,
    /// `AT+CTSP` for status messages to the PEI (a unit's patch request).
    pub route_status: bool,
    /// `AT+CTSP` for LIP to the PEI (roaming follows units by position).
    pub route_lip: bool,
    /// `AT+GMI?`, `AT+GMM?`, `AT+GMR?` at initialisation: maker, model and software.
    pub identification: bool,
    /// `AT+CREG?` at initialisation and with every signal query: a radio that is not
    /// registered on its network is down for the gateway, whatever its serial link says.
    pub registration: bool,
    /// `AT+CNUMS?` at initialisation: the groups the radio holds.
    pub static_identities: bool,
    /// Vendor commands sent after the mode switch and before the routing, in order. Each
    /// is a whole command line without its CR, e.g. `AT+CTSP=1,3,130`.
    pub extra: Vec<String>,
}

impl PeiProfile {
    /// Everything EN 300 392-5 defines that the gateway uses: the default.
    pub const STANDARD: PeiProfile = PeiProfile {
        numeric_errors: true,
        trunked_mode: true,
        route_status: true,
        route_lip: true,
        identification: true,
        registration: true,
        static_identities: true,
        extra: Vec::new(),
    };

    /// Only what the gateway cannot work without.
    pub const MINIMAL: PeiProfile = PeiProfile {
        numeric_errors: false,
        trunked_mode: false,
        route_status: false,
        route_lip: false,
        identification: false,
        registration: false,
        static_identities: false,
        extra: Vec::new(),
    };

    /// The profile of a name in the config, or `None` for an unknown name.
    pub fn named(name: &str) -> Option<PeiProfile> {
        match name {
            "standard" => Some(PeiProfile::STANDARD),
            "minimal" => Some(PeiProfile::MINIMAL),
            _ => None,
        }
    }

    /// The names [`PeiProfile::named`] knows, for error messages.
    pub const NAMES: &'static [&'static str] = &["standard", "minimal"];

    /// Why a vendor command cannot be sent as a command line, if it cannot.
    pub fn check_extra(command: &str) -> Result<(), &'static str> {
        let bytes = command.as_bytes();
        if !bytes
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
        {
            return Err("a PEI command starts with AT");
        }
        if bytes.len() > MAX_EXTRA_LEN {
            return Err("longer than 120 characters");
        }
        if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err("only printable ASCII: the line end is added by the gateway");
        }
        Ok(())
    }
}

impl Default for PeiProfile {
    fn default() -> Self {
        PeiProfile::STANDARD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_vendor_commands() {
        assert_eq!(PeiProfile::named("standard"), Some(PeiProfile::STANDARD));
        assert_eq!(PeiProfile::named("minimal"), Some(PeiProfile::MINIMAL));
        assert_eq!(PeiProfile::named("motorola"), None);
        assert_eq!(PeiProfile::default(), PeiProfile::STANDARD);
        assert_eq!(PeiProfile::check_extra("AT+CTSP=1,3,130"), Ok(()));
        assert_eq!(PeiProfile::check_extra("at+mcdntf=1"), Ok(()));
        assert!(PeiProfile::check_extra("+CTSP=1").is_err());
        assert!(PeiProfile::check_extra("AT+X\r").is_err());
        assert!(PeiProfile::check_extra(&format!("AT{}", "X".repeat(119))).is_err());
        assert!(PeiProfile::check_extra(&format!("AT{}", "X".repeat(118))).is_ok());
    }
}
