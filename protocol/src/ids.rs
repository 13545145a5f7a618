//! TETRA identities: country and network codes, short subscriber identities and the 48-bit
//! TETRA subscriber identity (TSI), as they appear on the PEI and in borderlink's own headers.
//!
//! A TSI is MCC (10 bits) + MNC (14 bits) + SSI (24 bits) (ETSI EN 300 392-1 §7). The SSI of a
//! radio is an ISSI, the SSI of a talkgroup a GSSI; the number alone does not say which, so the
//! kind travels beside it where it matters ([`IdentityKind`]).
//!
//! Radios print a full TSI on the PEI as a digit string. Two forms are in the field and both
//! are accepted: the long form of 17 digits (4-digit MCC, 5-digit MNC, 8-digit SSI) and a
//! short form of 16 digits with a 3-digit MCC. A string of at most 8 digits is a bare SSI.
//!
//! ```
//! use borderlink_protocol::ids::{Tsi, TsiForm, Network, PeiIdentity};
//! let tsi = Tsi::parse_pei("02060000102061001").unwrap();
//! assert_eq!(tsi.mcc().get(), 206);
//! assert_eq!(tsi.network(), Some(Network::Astrid));
//! assert_eq!(tsi.ssi().get(), 2_061_001);
//! assert_eq!(tsi.pei(TsiForm::Short).to_string(), "2060000102061001");
//! assert_eq!(PeiIdentity::parse("2061001").unwrap(), PeiIdentity::Ssi(tsi.ssi()));
//! ```

use core::fmt;

use serde::{Deserialize, Serialize};

/// Why a TETRA identity could not be parsed or built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdError {
    /// The digit string was empty.
    Empty,
    /// A character that is not an ASCII digit, at this byte offset.
    NotDigit {
        /// Byte offset of the offending character.
        offset: usize,
    },
    /// The number of digits fits neither a bare SSI (1–8) nor a TSI (16 or 17).
    BadLength {
        /// How many digits were given.
        len: usize,
    },
    /// The MCC does not fit in 10 bits (0–1023).
    MccOutOfRange,
    /// The MNC does not fit in 14 bits (0–16383).
    MncOutOfRange,
    /// The SSI does not fit in 24 bits (0–16777215).
    SsiOutOfRange,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => f.write_str("empty identity"),
            IdError::NotDigit { offset } => write!(f, "non-digit character at offset {offset}"),
            IdError::BadLength { len } => write!(
                f,
                "{len} digits: expected 1-8 (SSI), 16 (3+5+8 TSI) or 17 (4+5+8 TSI)"
            ),
            IdError::MccOutOfRange => f.write_str("MCC above 1023 (10 bits)"),
            IdError::MncOutOfRange => f.write_str("MNC above 16383 (14 bits)"),
            IdError::SsiOutOfRange => f.write_str("SSI above 16777215 (24 bits)"),
        }
    }
}

impl core::error::Error for IdError {}

/// Mobile country code, 10 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Mcc(u16);

impl Mcc {
    /// Largest valid MCC.
    pub const MAX: u16 = (1 << 10) - 1;

    /// An MCC, or `None` above 10 bits.
    pub const fn new(value: u16) -> Option<Self> {
        if value <= Self::MAX {
            Some(Mcc(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// Mobile network code, 14 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Mnc(u16);

impl Mnc {
    /// Largest valid MNC.
    pub const MAX: u16 = (1 << 14) - 1;

    /// An MNC, or `None` above 14 bits.
    pub const fn new(value: u16) -> Option<Self> {
        if value <= Self::MAX {
            Some(Mnc(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// Short subscriber identity (an ISSI or a GSSI), 24 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ssi(u32);

impl Ssi {
    /// Largest valid SSI.
    pub const MAX: u32 = (1 << 24) - 1;

    /// An SSI, or `None` above 24 bits.
    pub const fn new(value: u32) -> Option<Self> {
        if value <= Self::MAX {
            Some(Ssi(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Parses a bare SSI of 1 to 8 decimal digits.
    pub fn parse_pei(digits: &str) -> Result<Self, IdError> {
        let bytes = digits.as_bytes();
        check_digits(bytes)?;
        if bytes.len() > 8 {
            return Err(IdError::BadLength { len: bytes.len() });
        }
        let value = decimal(bytes) as u32;
        Ssi::new(value).ok_or(IdError::SsiOutOfRange)
    }
}

impl fmt::Display for Ssi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether an SSI names a radio or a talkgroup; the number itself does not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    /// An individual radio (ISSI / ITSI).
    Individual,
    /// A talkgroup (GSSI / GTSI).
    Group,
}

/// The two national TETRA networks borderlink bridges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Network {
    /// Belgium's ASTRID network, MCC 206.
    #[serde(rename = "ASTRID")]
    Astrid,
    /// The Netherlands' C2000 network, MCC 204.
    #[serde(rename = "C2000")]
    C2000,
}

impl Network {
    /// Both networks, in a fixed order.
    pub const ALL: [Network; 2] = [Network::Astrid, Network::C2000];

    /// The country code the network's identities carry.
    pub const fn mcc(self) -> Mcc {
        match self {
            Network::Astrid => Mcc(206),
            Network::C2000 => Mcc(204),
        }
    }

    /// The network whose country code this is, if it is one of ours.
    pub const fn from_mcc(mcc: Mcc) -> Option<Self> {
        match mcc.0 {
            206 => Some(Network::Astrid),
            204 => Some(Network::C2000),
            _ => None,
        }
    }

    /// The network's name as operators write it.
    pub const fn name(self) -> &'static str {
        match self {
            Network::Astrid => "ASTRID",
            Network::C2000 => "C2000",
        }
    }

    /// The other network.
    pub const fn other(self) -> Self {
        match self {
            Network::Astrid => Network::C2000,
            Network::C2000 => Network::Astrid,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a TSI is printed as PEI digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsiForm {
    /// 17 digits: 4-digit MCC, 5-digit MNC, 8-digit SSI.
    Long,
    /// 16 digits: 3-digit MCC, 5-digit MNC, 8-digit SSI.
    Short,
}

/// A full TETRA subscriber identity: MCC + MNC + SSI (48 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "TsiFields")]
pub struct Tsi {
    mcc: Mcc,
    mnc: Mnc,
    ssi: Ssi,
}

impl Tsi {
    /// Number of bytes of the packed 48-bit form.
    pub const PACKED_LEN: usize = 6;

    /// A TSI from its parts.
    pub const fn new(mcc: Mcc, mnc: Mnc, ssi: Ssi) -> Self {
        Tsi { mcc, mnc, ssi }
    }

    /// A TSI from raw numbers, checking each range.
    pub const fn from_parts(mcc: u16, mnc: u16, ssi: u32) -> Result<Self, IdError> {
        let Some(mcc) = Mcc::new(mcc) else {
            return Err(IdError::MccOutOfRange);
        };
        let Some(mnc) = Mnc::new(mnc) else {
            return Err(IdError::MncOutOfRange);
        };
        let Some(ssi) = Ssi::new(ssi) else {
            return Err(IdError::SsiOutOfRange);
        };
        Ok(Tsi { mcc, mnc, ssi })
    }

    /// Country code.
    pub const fn mcc(self) -> Mcc {
        self.mcc
    }

    /// Network code.
    pub const fn mnc(self) -> Mnc {
        self.mnc
    }

    /// Short subscriber identity.
    pub const fn ssi(self) -> Ssi {
        self.ssi
    }

    /// The bridged network this identity belongs to, by its MCC.
    pub const fn network(self) -> Option<Network> {
        Network::from_mcc(self.mcc)
    }

    /// The 48-bit value: MCC in the top 10 bits, then MNC, then SSI.
    pub const fn to_u64(self) -> u64 {
        ((self.mcc.0 as u64) << 38) | ((self.mnc.0 as u64) << 24) | self.ssi.0 as u64
    }

    /// The TSI of a 48-bit value; `None` if bits above 48 are set.
    pub const fn from_u64(value: u64) -> Option<Self> {
        if value >> 48 != 0 {
            return None;
        }
        Some(Tsi {
            mcc: Mcc(((value >> 38) & Mcc::MAX as u64) as u16),
            mnc: Mnc(((value >> 24) & Mnc::MAX as u64) as u16),
            ssi: Ssi((value & Ssi::MAX as u64) as u32),
        })
    }

    /// The packed 6-byte big-endian form used in borderlink's voice header.
    pub const fn to_bytes(self) -> [u8; 6] {
        let v = self.to_u64().to_be_bytes();
        [v[2], v[3], v[4], v[5], v[6], v[7]]
    }

    /// The TSI of a packed 6-byte big-endian form (every 48-bit value is a valid TSI).
    pub const fn from_bytes(b: [u8; 6]) -> Self {
        let v = u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]);
        match Tsi::from_u64(v) {
            Some(tsi) => tsi,
            // Unreachable: six bytes never set bits above 48.
            None => Tsi {
                mcc: Mcc(0),
                mnc: Mnc(0),
                ssi: Ssi(0),
            },
        }
    }

    /// Parses a full TSI of 16 or 17 PEI digits.
    pub fn parse_pei(digits: &str) -> Result<Self, IdError> {
        match PeiIdentity::parse(digits)? {
            PeiIdentity::Tsi(tsi) => Ok(tsi),
            PeiIdentity::Ssi(_) => Err(IdError::BadLength { len: digits.len() }),
        }
    }

    /// Prints the TSI as PEI digits in the given form.
    pub const fn pei(self, form: TsiForm) -> PeiDigits {
        PeiDigits { tsi: self, form }
    }
}

impl fmt::Display for Tsi {
    /// Human form `MCC-MNC-SSI`, e.g. `206-1-2061001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.mcc.0, self.mnc.0, self.ssi.0)
    }
}

/// The unchecked fields of a TSI as they arrive from a config or state file; converting
/// checks each range, so a deserialised [`Tsi`] is always valid.
#[derive(Deserialize)]
struct TsiFields {
    mcc: u16,
    mnc: u16,
    ssi: u32,
}

impl TryFrom<TsiFields> for Tsi {
    type Error = IdError;

    fn try_from(f: TsiFields) -> Result<Self, IdError> {
        Tsi::from_parts(f.mcc, f.mnc, f.ssi)
    }
}

/// A TSI printed as PEI digits; see [`Tsi::pei`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeiDigits {
    tsi: Tsi,
    form: TsiForm,
}

impl fmt::Display for PeiDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Tsi { mcc, mnc, ssi } = self.tsi;
        match self.form {
            TsiForm::Long => write!(f, "{:04}{:05}{:08}", mcc.0, mnc.0, ssi.0),
            // An MCC above 999 cannot be written in three digits; fall back to the long form
            // rather than print an identity that parses back to something else.
            TsiForm::Short if mcc.0 > 999 => {
                write!(f, "{:04}{:05}{:08}", mcc.0, mnc.0, ssi.0)
            }
            TsiForm::Short => write!(f, "{:03}{:05}{:08}", mcc.0, mnc.0, ssi.0),
        }
    }
}

/// An identity as a radio prints it on the PEI: a full TSI or a bare SSI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeiIdentity {
    /// A full TSI (16 or 17 digits).
    Tsi(Tsi),
    /// A bare SSI (1 to 8 digits), to be read in the radio's own network.
    Ssi(Ssi),
}

impl PeiIdentity {
    /// Parses a PEI identity digit string of 1–8, 16 or 17 digits.
    pub fn parse(digits: &str) -> Result<Self, IdError> {
        let b = digits.as_bytes();
        check_digits(b)?;
        match b.len() {
            1..=8 => Ok(PeiIdentity::Ssi(Ssi::parse_pei(digits)?)),
            16 => split_tsi(&b[..3], &b[3..8], &b[8..]).map(PeiIdentity::Tsi),
            17 => split_tsi(&b[..4], &b[4..9], &b[9..]).map(PeiIdentity::Tsi),
            len => Err(IdError::BadLength { len }),
        }
    }

    /// The SSI, whichever form was given.
    pub const fn ssi(self) -> Ssi {
        match self {
            PeiIdentity::Tsi(t) => t.ssi,
            PeiIdentity::Ssi(s) => s,
        }
    }

    /// The full TSI, completing a bare SSI with the home network's MCC and MNC.
    pub const fn resolve(self, home_mcc: Mcc, home_mnc: Mnc) -> Tsi {
        match self {
            PeiIdentity::Tsi(t) => t,
            PeiIdentity::Ssi(ssi) => Tsi {
                mcc: home_mcc,
                mnc: home_mnc,
                ssi,
            },
        }
    }
}

impl fmt::Display for PeiIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeiIdentity::Tsi(t) => t.pei(TsiForm::Long).fmt(f),
            PeiIdentity::Ssi(s) => s.fmt(f),
        }
    }
}

fn check_digits(b: &[u8]) -> Result<(), IdError> {
    if b.is_empty() {
        return Err(IdError::Empty);
    }
    match b.iter().position(|c| !c.is_ascii_digit()) {
        Some(offset) => Err(IdError::NotDigit { offset }),
        None => Ok(()),
    }
}

/// Value of at most 8 ASCII digits (callers check digits and length first).
fn decimal(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0'))
}

fn split_tsi(mcc: &[u8], mnc: &[u8], ssi: &[u8]) -> Result<Tsi, IdError> {
    let mcc =
        Mcc::new(decimal(mcc).min(u64::from(u16::MAX)) as u16).ok_or(IdError::MccOutOfRange)?;
    let mnc =
        Mnc::new(decimal(mnc).min(u64::from(u16::MAX)) as u16).ok_or(IdError::MncOutOfRange)?;
    let ssi =
        Ssi::new(decimal(ssi).min(u64::from(u32::MAX)) as u32).ok_or(IdError::SsiOutOfRange)?;
    Ok(Tsi { mcc, mnc, ssi })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn long_form_parses_each_field() {
        let t = Tsi::parse_pei("02040000116777215").unwrap();
        assert_eq!(
            (t.mcc().get(), t.mnc().get(), t.ssi().get()),
            (204, 1, 16_777_215)
        );
        assert_eq!(t.network(), Some(Network::C2000));
    }

    #[test]
    fn short_form_parses_each_field() {
        let t = Tsi::parse_pei("2060001202061001").unwrap();
        assert_eq!(
            (t.mcc().get(), t.mnc().get(), t.ssi().get()),
            (206, 12, 2_061_001)
        );
    }

    #[test]
    fn both_forms_print_back() {
        let t = Tsi::from_parts(206, 12, 2_061_001).unwrap();
        assert_eq!(t.pei(TsiForm::Long).to_string(), "02060001202061001");
        assert_eq!(t.pei(TsiForm::Short).to_string(), "2060001202061001");
        assert_eq!(t.to_string(), "206-12-2061001");
    }

    #[test]
    fn bare_ssi() {
        assert_eq!(
            PeiIdentity::parse("2040551"),
            Ok(PeiIdentity::Ssi(Ssi::new(2_040_551).unwrap()))
        );
        assert_eq!(Ssi::parse_pei("16777216"), Err(IdError::SsiOutOfRange));
        assert_eq!(
            Ssi::parse_pei("123456789"),
            Err(IdError::BadLength { len: 9 })
        );
    }

    #[test]
    fn hostile_strings_name_the_fault() {
        assert_eq!(PeiIdentity::parse(""), Err(IdError::Empty));
        assert_eq!(
            PeiIdentity::parse("12a4"),
            Err(IdError::NotDigit { offset: 2 })
        );
        assert_eq!(
            PeiIdentity::parse("123456789012"),
            Err(IdError::BadLength { len: 12 })
        );
        assert_eq!(
            PeiIdentity::parse("99990000100000001"),
            Err(IdError::MccOutOfRange)
        );
        assert_eq!(
            PeiIdentity::parse("02069999900000001"),
            Err(IdError::MncOutOfRange)
        );
        assert_eq!(
            PeiIdentity::parse("02060000199999999"),
            Err(IdError::SsiOutOfRange)
        );
        assert_eq!(
            PeiIdentity::parse("20-0001202061001"),
            Err(IdError::NotDigit { offset: 2 })
        );
        // Non-ASCII input is reported at its first byte, never split mid-character.
        assert_eq!(
            PeiIdentity::parse("2é"),
            Err(IdError::NotDigit { offset: 1 })
        );
    }

    #[test]
    fn bare_ssi_resolves_in_home_network() {
        let id = PeiIdentity::parse("2061001").unwrap();
        let t = id.resolve(Network::Astrid.mcc(), Mnc::new(1).unwrap());
        assert_eq!(t, Tsi::from_parts(206, 1, 2_061_001).unwrap());
    }

    #[test]
    fn packed_form_is_big_endian_48_bits() {
        let t = Tsi::from_parts(206, 1, 2_061_001).unwrap();
        // 206 << 38 | 1 << 24 | 2061001 = 0x3380_011F_72C9
        assert_eq!(t.to_bytes(), [0x33, 0x80, 0x01, 0x1f, 0x72, 0xc9]);
        assert_eq!(Tsi::from_bytes(t.to_bytes()), t);
        assert_eq!(Tsi::from_u64(1 << 48), None);
    }

    #[test]
    fn deserialising_checks_every_range() {
        let tsi = Tsi::from_parts(204, 1, 2_040_551).unwrap();
        let mut buf = [0u8; 16];
        let bytes = postcard::to_slice(&tsi, &mut buf).unwrap();
        assert_eq!(postcard::from_bytes::<Tsi>(bytes), Ok(tsi));
        // The same three fields with an MCC of 2000 (11 bits) must not become a Tsi.
        let mut buf = [0u8; 16];
        let bad = postcard::to_slice(&(2000u16, 1u16, 5u32), &mut buf).unwrap();
        assert!(postcard::from_bytes::<Tsi>(bad).is_err());
    }

    fn any_tsi() -> impl Strategy<Value = Tsi> {
        (0..=Mcc::MAX, 0..=Mnc::MAX, 0..=Ssi::MAX)
            .prop_map(|(a, b, c)| Tsi::from_parts(a, b, c).unwrap())
    }

    proptest! {
        #[test]
        fn long_form_round_trips(t in any_tsi()) {
            prop_assert_eq!(Tsi::parse_pei(&t.pei(TsiForm::Long).to_string()), Ok(t));
        }

        #[test]
        fn short_form_round_trips(t in any_tsi()) {
            prop_assert_eq!(Tsi::parse_pei(&t.pei(TsiForm::Short).to_string()), Ok(t));
        }

        #[test]
        fn packed_round_trips(t in any_tsi()) {
            prop_assert_eq!(Tsi::from_bytes(t.to_bytes()), t);
            prop_assert_eq!(Tsi::from_u64(t.to_u64()), Some(t));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,40}") {
            let _ = PeiIdentity::parse(&s);
        }
    }
}
