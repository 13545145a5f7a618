//! The keepalive parser (what SRTCP decrypts from a peer): never panics, and whatever parses
//! re-emits to the same 48 bytes (only the flag bits it does not know, which later versions
//! may use, are not kept), so no field is read loosely.
#![no_main]

use borderlink_gateway::net::keepalive::Keepalive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(keepalive) = Keepalive::parse(data) else {
        return;
    };
    let mut again = [0u8; Keepalive::LEN];
    keepalive.emit(&mut again);
    let mut expected = data.to_vec();
    expected[15] &= 1;
    assert_eq!(&again[..], &expected[..], "a parsed keepalive re-emits byte for byte");
    assert_eq!(Keepalive::parse(&again), Ok(keepalive));
});
