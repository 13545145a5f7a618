//! The signed-image file as `borderlink firmware inspect|flash` and the daemon read it, from
//! any bytes. Parsing never panics; whatever parses keeps the slot rules (1 or 2 variants, no
//! slot twice, "any" alone), every variant verifies with the file's signer, the variant chosen
//! for a board in either slot is one that runs from the other, every variant has the file's
//! security version, and the file re-emits (format 3, or format 2 for legacy images) to bytes
//! that parse equal (byte-exactly, when the input was format 3 or 2).
#![no_main]

use borderlink_gateway::firmware_image::{FORMAT, FORMAT_2, ImageSlot, MAX_VARIANTS, SignedFile};
use borderlink_protocol::link::Slot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = SignedFile::parse(data) else {
        return;
    };
    let variants = file.variants();
    assert!((1..=MAX_VARIANTS).contains(&variants.len()));
    for (i, v) in variants.iter().enumerate() {
        assert!(v.image.is_signed_by(file.signer()), "variant {i} verifies");
        assert_eq!(v.image.version(), file.version());
        assert_eq!(v.image.security(), file.security());
        assert!(!v.image.is_empty());
        assert!(variants[..i].iter().all(|w| w.slot != v.slot), "slot twice");
        assert!(
            v.slot != ImageSlot::Any || variants.len() == 1,
            "any not alone"
        );
    }
    for running in [Slot::A, Slot::B] {
        match file.choose(running) {
            Ok(chosen) => assert!(chosen.slot.runs_from(running.other())),
            Err(_) => assert!(variants.iter().all(|v| !v.slot.runs_from(running.other()))),
        }
    }
    let bytes = file.to_bytes();
    assert_eq!(SignedFile::parse(&bytes).as_ref(), Ok(&file));
    if data.get(4) == Some(&FORMAT) || data.get(4) == Some(&FORMAT_2) {
        assert_eq!(bytes, data, "a format-3 or format-2 file re-emits byte-exactly");
    }
});
