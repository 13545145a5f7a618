//! PEI identity strings: parsing never panics, and every accepted identity prints back to
//! digits that parse to the same identity.
#![no_main]

use borderlink_protocol::ids::{PeiIdentity, Tsi, TsiForm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    match PeiIdentity::parse(s) {
        Ok(PeiIdentity::Tsi(tsi)) => {
            for form in [TsiForm::Long, TsiForm::Short] {
                let printed = tsi.pei(form).to_string();
                assert_eq!(Tsi::parse_pei(&printed), Ok(tsi), "{printed}");
            }
            assert_eq!(Tsi::from_bytes(tsi.to_bytes()), tsi);
        }
        Ok(PeiIdentity::Ssi(ssi)) => {
            assert_eq!(PeiIdentity::parse(&ssi.to_string()), Ok(PeiIdentity::Ssi(ssi)));
        }
        Err(_) => {}
    }
});
