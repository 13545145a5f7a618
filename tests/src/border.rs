//! The identities of the border the end-to-end tests run: Belgium's ASTRID (MCC 206) and the
//! Netherlands' C2000 (MCC 204), each with the site's gateway radio, the border group it
//! works on and a field unit that talks there. The site configs ([`crate::config`]) and the
//! emulated radios (`borderlink_sim::pty::radio`) are both written with these.

use borderlink_protocol::ids::{Tsi, TsiForm};

/// A TSI on network `mcc` (MNC 1), checked when the constant or call is evaluated.
pub const fn tsi(mcc: u16, ssi: u32) -> Tsi {
    match Tsi::from_parts(mcc, 1, ssi) {
        Ok(tsi) => tsi,
        Err(_) => panic!("invalid TSI"),
    }
}

/// A TSI as the config file and the API write it: 17 PEI digits.
pub fn digits(tsi: Tsi) -> String {
    tsi.pei(TsiForm::Long).to_string()
}

/// The site's gateway radio on ASTRID.
pub const ASTRID_RADIO: Tsi = tsi(206, 9_000_001);
/// The site's gateway radio on C2000.
pub const C2000_RADIO: Tsi = tsi(204, 9_000_101);
/// The border group on ASTRID, patched to [`C2000_GROUP`].
pub const ASTRID_GROUP: Tsi = tsi(206, 2_061_001);
/// The border group on C2000, patched to [`ASTRID_GROUP`].
pub const C2000_GROUP: Tsi = tsi(204, 2_040_551);
/// A field unit that talks on [`ASTRID_GROUP`].
pub const ASTRID_TALKER: Tsi = tsi(206, 1_234_567);
/// A field unit that talks on [`C2000_GROUP`].
pub const C2000_TALKER: Tsi = tsi(204, 2_040_123);
