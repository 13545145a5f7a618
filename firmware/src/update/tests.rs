//! The updater and the boot decision together, on a strict RAM flash: images good and bad,
//! transfers interrupted, power cut at every flash operation, trials confirmed or rolled back.

use std::vec;
use std::vec::Vec;

use borderlink_protocol::link::{
    FirmwareVersion, NackReason, Signature, Slot, UpdatePhase, image_crc32, signed_prefix,
    signed_prefix_v2,
};

use super::boot::{self, BootKind, BootState};
use super::ram_flash::{FlashOp, RamFlash};
use super::*;

type Flash = RamFlash<Vec<u8>, 8, 1024>;

/// Two 8 KiB slots and a 2 KiB boot-state area (two 1 KiB halves).
const LAYOUT: FlashLayout = FlashLayout::new(0, 8192, 8192, 16384, 2048);

const NEW_VERSION: FirmwareVersion = FirmwareVersion::new(1, 1, 0);

fn keypair(seed: u8) -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]))
}

fn key() -> VerifyingKey {
    VerifyingKey::from_bytes(*keypair(1).pk)
}

/// Pseudo-random bytes, different per `salt`.
fn bytes(len: usize, salt: u8) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32 ^ u32::from(salt);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn sign(pair: &ed25519_compact::KeyPair, version: FirmwareVersion, image: &[u8]) -> Signature {
    let mut message = signed_prefix(version, image.len() as u32).to_vec();
    message.extend_from_slice(image);
    Signature::from_bytes(&pair.sk.sign(message, None))
}

/// An image and what the host announces for it.
#[derive(Debug, Clone)]
struct Image {
    bytes: Vec<u8>,
    version: FirmwareVersion,
    crc32: u32,
    signature: Signature,
}

fn image(len: usize, salt: u8) -> Image {
    let bytes = bytes(len, salt);
    Image {
        version: NEW_VERSION,
        crc32: image_crc32(&bytes),
        signature: sign(&keypair(1), NEW_VERSION, &bytes),
        bytes,
    }
}

/// A board flashed by a debug probe: a factory image in slot A, nothing else.
fn factory() -> (Flash, Vec<u8>) {
    let mut flash = RamFlash::new(vec![0; 18432]);
    let factory = bytes(5000, 0xfa);
    flash.bytes_mut()[..factory.len()].copy_from_slice(&factory);
    (flash, factory)
}

fn updater(flash: Flash, running: Slot) -> Updater<Flash> {
    Updater::new(flash, LAYOUT, key(), running).unwrap()
}

fn slot_bytes(u: &Updater<Flash>, slot: Slot, len: usize) -> Vec<u8> {
    let start = LAYOUT.slot(slot) as usize;
    u.flash().bytes()[start..start + len].to_vec()
}

/// Steps until the pending work is done.
fn finish(u: &mut Updater<Flash>) -> Result<Done, NackReason> {
    for _ in 0..10_000 {
        if let Some(outcome) = u.step() {
            return outcome;
        }
    }
    panic!("the updater's work never finished");
}

/// Begin, every chunk, verify: the image as a host sends it.
fn transfer(u: &mut Updater<Flash>, img: &Image, chunk: usize) -> Result<(), NackReason> {
    u.begin(img.bytes.len() as u32, img.crc32, img.version)?;
    assert_eq!(finish(u)?, Done::Erased);
    for (i, data) in img.bytes.chunks(chunk).enumerate() {
        u.chunk((i * chunk) as u32, data)?;
    }
    u.verify(&img.signature)?;
    assert_eq!(finish(u)?, Done::Verified);
    Ok(())
}

/// A reset: the bootloader decides from the flash, and the chosen image starts.
fn reboot(u: Updater<Flash>) -> (BootKind, Updater<Flash>) {
    let mut flash = u.into_flash();
    flash.restore_power();
    let selection = boot::boot(&mut flash, &LAYOUT);
    (selection.kind, updater(flash, selection.slot))
}

#[test]
fn a_good_image_goes_to_the_other_slot_boots_on_trial_and_confirms() {
    let (flash, factory) = factory();
    let mut u = updater(flash, Slot::A);
    assert_eq!(u.phase(), UpdatePhase::Idle);
    let img = image(6000, 1);
    transfer(&mut u, &img, 256).unwrap();
    assert_eq!(u.phase(), UpdatePhase::Verified);
    assert_eq!((u.received(), u.size()), (6000, 6000));
    assert_eq!(
        slot_bytes(&u, Slot::A, factory.len()),
        factory,
        "running slot untouched"
    );
    assert_eq!(slot_bytes(&u, Slot::B, 6000), img.bytes);
    u.commit().unwrap();
    assert!(u.is_committed());

    let (kind, mut u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Trial, Slot::B));
    assert!(u.is_trial());
    assert_eq!(u.phase(), UpdatePhase::Trial);
    assert_eq!(u.confirm(), Ok(true));
    assert_eq!(u.phase(), UpdatePhase::Idle);
    assert_eq!(u.confirm(), Ok(false), "once is enough");

    let (kind, mut u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::B));
    // The next update goes the other way, over the factory image.
    let next = image(3000, 2);
    transfer(&mut u, &next, 200).unwrap();
    assert_eq!(slot_bytes(&u, Slot::A, 3000), next.bytes);
    assert_eq!(slot_bytes(&u, Slot::B, 6000), img.bytes);
}

#[test]
fn chunks_of_any_length_are_written_whole_across_write_units() {
    for (len, chunk) in [(1001, 100), (1001, 7), (16, 16), (9, 1), (4096, 255)] {
        let (flash, _) = factory();
        let mut u = updater(flash, Slot::A);
        let img = image(len, len as u8);
        transfer(&mut u, &img, chunk).unwrap_or_else(|e| panic!("{len}/{chunk}: {e:?}"));
        assert_eq!(slot_bytes(&u, Slot::B, len), img.bytes);
    }
}

#[test]
fn a_wrong_crc_is_refused_with_the_computed_one_and_nothing_boots_it() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    let mut img = image(3000, 3);
    let actual = img.crc32;
    img.crc32 ^= 1;
    assert_eq!(
        transfer(&mut u, &img, 256),
        Err(NackReason::CrcMismatch { computed: actual })
    );
    assert_eq!(u.phase(), UpdatePhase::Idle);
    assert_eq!(u.commit(), Err(NackReason::NoUpdate));
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::A));
}

#[test]
fn an_image_damaged_in_flash_fails_the_read_back_crc() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    let img = image(3000, 4);
    u.begin(3000, img.crc32, img.version).unwrap();
    finish(&mut u).unwrap();
    for (i, data) in img.bytes.chunks(256).enumerate() {
        u.chunk((i * 256) as u32, data).unwrap();
    }
    // A bit flips in flash after it was written.
    u.flash_mut().bytes_mut()[8192 + 1234] ^= 0x08;
    u.verify(&img.signature).unwrap();
    assert!(matches!(
        finish(&mut u),
        Err(NackReason::CrcMismatch { .. })
    ));
}

#[test]
fn bad_signatures_are_refused() {
    let img = image(2000, 5);
    let other_key = sign(&keypair(2), img.version, &img.bytes);
    let other_version = sign(&keypair(1), FirmwareVersion::new(9, 9, 9), &img.bytes);
    let mut flipped = img.signature.to_bytes();
    flipped[10] ^= 1;
    let cases = [
        ("signed with another key", other_key),
        ("signed for another version", other_version),
        ("one bit flipped", Signature::from_bytes(&flipped)),
        ("all zero", Signature::from_bytes(&[0; 64])),
        ("non-canonical S", Signature::from_bytes(&[0xff; 64])),
    ];
    for (what, signature) in cases {
        let (flash, _) = factory();
        let mut u = updater(flash, Slot::A);
        let bad = Image {
            signature,
            ..img.clone()
        };
        assert_eq!(
            transfer(&mut u, &bad, 256),
            Err(NackReason::BadSignature),
            "{what}"
        );
        assert_eq!(u.phase(), UpdatePhase::Idle, "{what}");
        let (kind, u) = reboot(u);
        assert_eq!(
            (kind, u.running_slot()),
            (BootKind::Normal, Slot::A),
            "{what}"
        );
    }
}

#[test]
fn a_board_built_with_another_key_refuses_a_correctly_signed_image() {
    let (flash, _) = factory();
    let other = VerifyingKey::from_bytes(*keypair(7).pk);
    let mut u = Updater::new(flash, LAYOUT, other, Slot::A).unwrap();
    assert_eq!(
        transfer(&mut u, &image(1500, 6), 256),
        Err(NackReason::BadSignature)
    );
    // A key that is no curve point verifies nothing either.
    let (flash, _) = factory();
    let mut u = Updater::new(flash, LAYOUT, VerifyingKey::from_bytes([0xff; 32]), Slot::A).unwrap();
    assert_eq!(
        transfer(&mut u, &image(1500, 6), 256),
        Err(NackReason::BadSignature)
    );
}

#[test]
fn an_interrupted_transfer_changes_nothing_and_restarts_cleanly() {
    let (flash, factory) = factory();
    let mut u = updater(flash, Slot::A);
    let img = image(6000, 7);
    u.begin(6000, img.crc32, img.version).unwrap();
    finish(&mut u).unwrap();
    for (i, data) in img.bytes.chunks(256).take(10).enumerate() {
        u.chunk((i * 256) as u32, data).unwrap();
    }
    assert_eq!(u.received(), 2560);
    assert_eq!(
        u.begin(6000, img.crc32, img.version),
        Err(NackReason::UpdateInProgress)
    );
    assert_eq!(u.commit(), Err(NackReason::NotVerified));
    // The host went away: the board resets (or aborts); the half image is never booted.
    let (kind, mut u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::A));
    assert_eq!(slot_bytes(&u, Slot::A, factory.len()), factory);
    transfer(&mut u, &img, 256).unwrap();
    // And an abort mid-way works the same.
    u.abort();
    assert_eq!(u.phase(), UpdatePhase::Idle);
    transfer(&mut u, &img, 256).unwrap();
    u.commit().unwrap();
    let (kind, _) = reboot(u);
    assert_eq!(kind, BootKind::Trial);
}

#[test]
fn chunks_out_of_order_out_of_bounds_and_retransmitted() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    let img = image(1000, 8);
    assert_eq!(u.chunk(0, &img.bytes[..10]), Err(NackReason::NoUpdate));
    assert_eq!(u.verify(&img.signature), Err(NackReason::NoUpdate));
    u.begin(1000, img.crc32, img.version).unwrap();
    assert_eq!(
        u.chunk(0, &img.bytes[..10]),
        Err(NackReason::Busy),
        "still erasing"
    );
    finish(&mut u).unwrap();
    assert_eq!(
        u.chunk(256, &img.bytes[256..512]),
        Err(NackReason::OutOfOrder { expected: 0 })
    );
    u.chunk(0, &img.bytes[..256]).unwrap();
    let writes = u.flash().writes();
    u.chunk(0, &img.bytes[..256]).unwrap();
    u.chunk(100, &img.bytes[100..200]).unwrap();
    assert_eq!(
        u.flash().writes(),
        writes,
        "a retransmission is not written again"
    );
    assert_eq!(
        u.chunk(200, &img.bytes[200..400]),
        Err(NackReason::OutOfOrder { expected: 256 }),
        "overlapping the end is not a continuation"
    );
    assert_eq!(u.chunk(900, &[0; 200]), Err(NackReason::ChunkOutOfBounds));
    assert_eq!(
        u.chunk(u32::MAX - 10, &[0; 100]),
        Err(NackReason::ChunkOutOfBounds)
    );
    assert_eq!(
        u.verify(&img.signature),
        Err(NackReason::Incomplete { received: 256 })
    );
    assert_eq!(u.commit(), Err(NackReason::NotVerified));
    u.chunk(256, &img.bytes[256..]).unwrap();
    u.verify(&img.signature).unwrap();
    assert_eq!(
        u.chunk(0, &img.bytes[..10]),
        Err(NackReason::Busy),
        "verifying"
    );
    finish(&mut u).unwrap();
    u.chunk(744, &img.bytes[744..]).unwrap();
    assert_eq!(u.chunk(999, &[0; 2]), Err(NackReason::ChunkOutOfBounds));
    assert_eq!(slot_bytes(&u, Slot::B, 1000), img.bytes);
}

#[test]
fn sizes_the_slot_cannot_hold_are_refused() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    let v = NEW_VERSION;
    assert_eq!(
        u.begin(8193, 0, v),
        Err(NackReason::ImageTooLarge { max: 8192 })
    );
    assert_eq!(u.begin(0, 0, v), Err(NackReason::Malformed));
    assert!(!u.is_active());
    u.begin(8192, 0, v).unwrap();
    let mut none = Updater::unsupported(Slot::B);
    assert_eq!(
        none.begin(10, 0, v),
        Err(NackReason::ImageTooLarge { max: 0 })
    );
    assert_eq!(none.running_slot(), Slot::B);
    assert!(!none.is_trial());
}

#[test]
fn a_failing_flash_ends_the_update_with_a_flash_nack() {
    let img = image(3000, 9);
    for op in [FlashOp::Erase, FlashOp::Write, FlashOp::Read] {
        let (flash, _) = factory();
        let mut u = updater(flash, Slot::A);
        u.flash_mut().fail(op, true);
        let result = transfer(&mut u, &img, 256);
        assert_eq!(result, Err(NackReason::Flash), "{op:?}");
        assert_eq!(u.phase(), UpdatePhase::Idle, "{op:?}");
        u.flash_mut().fail(op, false);
        // A new attempt on a working flash succeeds: the board is not bricked.
        u.abort();
        transfer(&mut u, &img, 256).unwrap();
    }
}

#[test]
fn a_commit_that_cannot_be_recorded_is_refused_and_boots_nothing_new() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    transfer(&mut u, &image(2000, 10), 256).unwrap();
    u.flash_mut().fail(FlashOp::Write, true);
    assert_eq!(u.commit(), Err(NackReason::Flash));
    assert_eq!(u.phase(), UpdatePhase::Verified, "commit may be retried");
    u.flash_mut().fail(FlashOp::Write, false);
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::A));
}

#[test]
fn a_trial_that_never_confirms_rolls_back() {
    let (flash, factory) = factory();
    let mut u = updater(flash, Slot::A);
    transfer(&mut u, &image(4000, 11), 256).unwrap();
    u.commit().unwrap();
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Trial, Slot::B));
    // The new image hangs: the watchdog resets it before any host said Hello.
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::RolledBack, Slot::A));
    assert!(!u.is_trial());
    assert_eq!(u.phase(), UpdatePhase::Idle);
    assert_eq!(slot_bytes(&u, Slot::A, factory.len()), factory);
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::A));
}

#[test]
fn an_update_begun_on_a_trial_image_confirms_it_before_erasing_its_fallback() {
    let (flash, factory) = factory();
    let mut u = updater(flash, Slot::A);
    transfer(&mut u, &image(4000, 12), 256).unwrap();
    u.commit().unwrap();
    let (_, mut u) = reboot(u);
    assert!(u.is_trial());
    // Confirming fails: the fallback (slot A) must survive, so the update is refused.
    u.flash_mut().fail(FlashOp::Write, true);
    let next = image(1000, 13);
    assert_eq!(
        u.begin(1000, next.crc32, next.version),
        Err(NackReason::Flash)
    );
    assert_eq!(slot_bytes(&u, Slot::A, factory.len()), factory);
    u.flash_mut().fail(FlashOp::Write, false);
    transfer(&mut u, &next, 256).unwrap();
    assert_eq!(u.boot_state(), BootState::confirmed(Slot::B));
}

#[test]
fn a_new_update_cancels_a_commit_that_never_booted() {
    // A board reset without its bootloader (or a host that began again before the reset):
    // the record says "try B", and B is about to be erased.
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    transfer(&mut u, &image(4000, 14), 256).unwrap();
    u.commit().unwrap();
    let flash = u.into_flash();
    let mut u = updater(flash, Slot::A);
    let next = image(3000, 15);
    u.begin(3000, next.crc32, next.version).unwrap();
    assert_eq!(u.boot_state(), BootState::confirmed(Slot::A));
    // Power fails mid-erase: B is half erased, and nobody tries to boot it.
    u.flash_mut().cut_power_after(0);
    assert_eq!(finish(&mut u), Err(NackReason::Flash));
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, Slot::A));
}

/// Counts the flash operations (erases and writes) a whole update takes: transfer, commit,
/// the bootloader's trial record, the confirmation.
fn whole_update(flash: Flash, img: &Image) -> Result<Flash, Flash> {
    let mut u = updater(flash, Slot::A);
    if transfer(&mut u, img, 256).is_err() || u.commit().is_err() {
        return Err(u.into_flash());
    }
    let mut flash = u.into_flash();
    let selection = boot::boot(&mut flash, &LAYOUT);
    if flash.power_lost() {
        return Err(flash);
    }
    let mut u = updater(flash, selection.slot);
    if u.confirm().is_err() {
        return Err(u.into_flash());
    }
    Ok(u.into_flash())
}

#[test]
fn power_lost_at_any_flash_operation_never_boots_a_bad_image_nor_bricks() {
    let img = image(3000, 16);
    let (flash, factory) = factory();
    let ops = {
        let done = whole_update(flash.clone(), &img).unwrap();
        done.writes() + done.erases()
    };
    assert!(ops > 10, "{ops}");
    let mut outcomes = [0u32; 3];
    for cut in 0..ops {
        let mut flash = flash.clone();
        flash.cut_power_after(cut);
        let flash = match whole_update(flash, &img) {
            Ok(flash) => flash,
            Err(flash) => flash,
        };
        let (kind, u) = reboot(updater_after_power_loss(flash));
        let slot = u.running_slot();
        // Whatever boots is a whole, good image.
        match slot {
            Slot::A => assert_eq!(slot_bytes(&u, Slot::A, factory.len()), factory, "cut {cut}"),
            Slot::B => assert_eq!(
                slot_bytes(&u, Slot::B, img.bytes.len()),
                img.bytes,
                "cut {cut}"
            ),
        }
        outcomes[match kind {
            BootKind::Normal => 0,
            BootKind::Trial => 1,
            BootKind::RolledBack => 2,
        }] += 1;
        // And the board can still be updated from there.
        let mut u = u;
        if u.is_trial() {
            u.confirm().unwrap();
        }
        let again = image(2500, 17);
        transfer(&mut u, &again, 256).unwrap_or_else(|e| panic!("cut {cut}: {e:?}"));
        u.commit().unwrap();
        let (kind, u) = reboot(u);
        assert_eq!(kind, BootKind::Trial, "cut {cut}");
        assert_eq!(
            slot_bytes(&u, u.running_slot(), 2500),
            again.bytes,
            "cut {cut}"
        );
    }
    // Cuts before the commit record boot A; a cut after it (in the bootloader's record or the
    // confirmation) still boots or rolls back cleanly.
    assert!(
        outcomes[0] > 0 && outcomes[1] + outcomes[2] > 0,
        "{outcomes:?}"
    );
}

/// The flash as a board finds it after power comes back.
fn updater_after_power_loss(mut flash: Flash) -> Updater<Flash> {
    flash.restore_power();
    // The slot the board ran from before the cut does not matter to the bootloader.
    updater(flash, Slot::A)
}

#[test]
fn layouts_that_do_not_fit_the_flash_are_refused() {
    let check = |l: FlashLayout| l.check::<Flash>(18432);
    assert_eq!(check(LAYOUT), Ok(()));
    assert_eq!(check(FlashLayout::EMPTY), Ok(()));
    assert_eq!(
        check(FlashLayout::new(100, 8192, 8192, 16384, 2048)),
        Err(LayoutError::Unaligned {
            region: "slot A",
            erase_size: 1024
        })
    );
    assert_eq!(
        check(FlashLayout::new(0, 4096, 8192, 16384, 2048)),
        Err(LayoutError::Overlap {
            a: "slot A",
            b: "slot B"
        })
    );
    assert_eq!(
        check(FlashLayout::new(0, 8192, 8192, 17408, 2048)),
        Err(LayoutError::OutOfBounds {
            region: "boot state",
            capacity: 18432
        })
    );
    assert_eq!(
        check(FlashLayout::new(0, 8192, 8192, 16384, 1024)),
        Err(LayoutError::Unaligned {
            region: "boot state",
            erase_size: 1024
        }),
        "each half must be whole erase units"
    );
    assert_eq!(
        LAYOUT.check::<RamFlash<Vec<u8>, 64, 1024>>(18432),
        Err(LayoutError::Granularity {
            write_size: 64,
            read_size: 1
        })
    );
    let unaligned = FlashLayout::new(100, 8192, 8192, 16384, 2048);
    assert!(Updater::new(factory().0, unaligned, key(), Slot::A).is_err());
}

// ---- Anti-rollback: security versions and the floor -------------------------------------

/// An image signed with a security version (`UpdateBeginSecure`'s signed message).
fn secure_image(len: usize, salt: u8, version: FirmwareVersion, security: u32) -> Image {
    let bytes = bytes(len, salt);
    let mut message = signed_prefix_v2(version, security, len as u32).to_vec();
    message.extend_from_slice(&bytes);
    Image {
        version,
        crc32: image_crc32(&bytes),
        signature: Signature::from_bytes(&keypair(1).sk.sign(message, None)),
        bytes,
    }
}

/// Begin (with a security version), every chunk, verify.
fn transfer_secure(
    u: &mut Updater<Flash>,
    img: &Image,
    security: u32,
    allow_rollback: bool,
) -> Result<(), NackReason> {
    u.begin_secure(
        img.bytes.len() as u32,
        img.crc32,
        img.version,
        Some(security),
        allow_rollback,
    )?;
    assert_eq!(finish(u)?, Done::Erased);
    for (i, data) in img.bytes.chunks(256).enumerate() {
        u.chunk((i * 256) as u32, data)?;
    }
    u.verify(&img.signature)?;
    assert_eq!(finish(u)?, Done::Verified);
    Ok(())
}

/// Transfers, commits, reboots into the trial and confirms it (the host's `Hello`).
fn install(u: Updater<Flash>, img: &Image, security: u32, allow_rollback: bool) -> Updater<Flash> {
    let mut u = u;
    transfer_secure(&mut u, img, security, allow_rollback).unwrap();
    u.commit().unwrap();
    let (kind, mut u) = reboot(u);
    assert_eq!(kind, BootKind::Trial);
    assert_eq!(u.confirm(), Ok(true));
    let (kind, u) = reboot(u);
    assert_eq!(kind, BootKind::Normal);
    u
}

const V1_0: FirmwareVersion = FirmwareVersion::new(1, 0, 0);
const V1_2: FirmwareVersion = FirmwareVersion::new(1, 2, 0);

#[test]
fn an_older_signed_release_is_refused_as_a_rollback() {
    let (flash, _) = factory();
    let u = updater(flash, Slot::A);
    // The fleet goes to 1.2.0, which fixes a vulnerability: security version 2.
    let u = install(u, &secure_image(3000, 20, V1_2, 2), 2, false);
    assert_eq!(u.security().floor, 2);
    let running = u.running_slot();
    let mut u = u;
    // An attacker with the link replays 1.0.0 (security version 1), genuinely signed.
    let old = secure_image(2500, 21, V1_0, 1);
    assert_eq!(
        u.begin_secure(2500, old.crc32, V1_0, Some(1), false),
        Err(NackReason::Rollback { floor: 2 })
    );
    assert!(!u.is_active(), "nothing erased, nothing begun");
    // And a release from before security versions existed (legacy signature: version 0).
    let legacy = image(2000, 22);
    assert_eq!(
        transfer(&mut u, &legacy, 256),
        Err(NackReason::Rollback { floor: 2 })
    );
    let (kind, u) = reboot(u);
    assert_eq!((kind, u.running_slot()), (BootKind::Normal, running));
}

#[test]
fn a_relabelled_security_version_fails_the_signature() {
    let (flash, _) = factory();
    let u = updater(flash, Slot::A);
    let mut u = install(u, &secure_image(3000, 30, V1_2, 2), 2, false);
    // 1.0.0 is signed as security version 1; announcing it as 5 gets it past the floor
    // check, but not past the signature, which covers the security version.
    let old = secure_image(2500, 31, V1_0, 1);
    assert_eq!(
        transfer_secure(&mut u, &old, 5, false),
        Err(NackReason::BadSignature)
    );
    // A legacy-signed image announced with a security version fails the same way.
    let legacy = image(2000, 32);
    assert_eq!(
        transfer_secure(&mut u, &legacy, 3, false),
        Err(NackReason::BadSignature)
    );
    assert_eq!(u.security().floor, 2);
}

#[test]
fn the_floor_rises_only_when_a_trial_image_confirms() {
    let (flash, _) = factory();
    let mut u = updater(flash, Slot::A);
    assert_eq!(u.security().floor, 0);
    let img = secure_image(3000, 40, V1_2, 3);
    transfer_secure(&mut u, &img, 3, false).unwrap();
    u.commit().unwrap();
    assert_eq!(u.security().floor, 0, "committed is not confirmed");
    let (_, u) = reboot(u);
    assert_eq!(u.security().floor, 0, "on trial is not confirmed");
    // It never confirms: rolled back, and the floor stays.
    let (kind, u) = reboot(u);
    assert_eq!(kind, BootKind::RolledBack);
    assert_eq!(u.security().floor, 0);
    // The same release, confirmed this time.
    let u = install(u, &img, 3, false);
    assert_eq!(u.security().floor, 3);
    // An equal security version is no rollback (a rebuild, a release without a fix).
    let u = install(u, &secure_image(2000, 41, V1_2, 3), 3, false);
    assert_eq!(u.security().floor, 3);
}

#[test]
fn the_override_also_takes_a_legacy_release_signed_before_security_versions() {
    let (flash, _) = factory();
    let u = updater(flash, Slot::A);
    let mut u = install(u, &secure_image(3000, 45, V1_2, 1), 1, false);
    let legacy = image(2000, 46);
    let len = legacy.bytes.len() as u32;
    assert_eq!(
        u.begin_secure(len, legacy.crc32, legacy.version, None, false),
        Err(NackReason::Rollback { floor: 1 })
    );
    u.begin_secure(len, legacy.crc32, legacy.version, None, true)
        .unwrap();
    assert_eq!(finish(&mut u), Ok(Done::Erased));
    for (i, data) in legacy.bytes.chunks(256).enumerate() {
        u.chunk((i * 256) as u32, data).unwrap();
    }
    u.verify(&legacy.signature).unwrap();
    assert_eq!(finish(&mut u), Ok(Done::Verified));
}

#[test]
fn the_engineers_override_installs_an_older_release_and_the_floor_never_falls() {
    let (flash, _) = factory();
    let u = updater(flash, Slot::A);
    let u = install(u, &secure_image(3000, 50, V1_2, 4), 4, false);
    let old = secure_image(2500, 51, V1_0, 2);
    // Only with the flag set.
    let u = install(u, &old, 2, true);
    assert_eq!(u.running_slot(), Slot::A);
    assert_eq!(
        u.security().floor,
        4,
        "the override does not lower the floor"
    );
    // Without the flag the board still refuses anything below 4.
    let mut u = u;
    assert_eq!(
        u.begin_secure(2500, old.crc32, V1_0, Some(2), false),
        Err(NackReason::Rollback { floor: 4 })
    );
}

#[test]
fn the_floor_survives_power_cuts_while_a_confirmation_is_recorded() {
    // Cut power at each flash operation of the confirmation: afterwards the board boots the
    // old or the new image, and the floor is the old one or the new one with it.
    for cut in 0..4 {
        let (flash, _) = factory();
        let u = updater(flash, Slot::A);
        let mut u = install(u, &secure_image(3000, 60, V1_2, 2), 2, false);
        transfer_secure(&mut u, &secure_image(2000, 61, V1_2, 3), 3, false).unwrap();
        u.commit().unwrap();
        let (_, mut u) = reboot(u);
        u.flash_mut().cut_power_after(cut);
        // Whatever it returns, the flash decides what the next boot does.
        let _ = u.confirm();
        let (kind, u) = reboot(u);
        let floor = u.security().floor;
        match (kind, u.running_slot()) {
            (BootKind::Normal, Slot::A) => assert_eq!(floor, 3, "cut {cut}"),
            (BootKind::RolledBack, Slot::B) => assert_eq!(floor, 2, "cut {cut}"),
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

#[test]
fn an_update_begun_on_a_trial_image_is_held_to_the_floor_that_image_brings() {
    let (flash, _) = factory();
    let u = updater(flash, Slot::A);
    let mut u = install(u, &secure_image(3000, 70, V1_0, 3), 3, false);
    transfer_secure(&mut u, &secure_image(2000, 71, V1_2, 5), 5, false).unwrap();
    u.commit().unwrap();
    // On trial (security version 5), not yet confirmed: the floor is still 3...
    let (_, mut u) = reboot(u);
    assert!(u.is_trial());
    assert_eq!(u.security().floor, 3);
    // ...but a new update confirms it first, so 4 would be a rollback from 5.
    let older = secure_image(2000, 72, V1_0, 4);
    assert_eq!(
        u.begin_secure(2000, older.crc32, V1_0, Some(4), false),
        Err(NackReason::Rollback { floor: 5 })
    );
    assert!(u.is_trial(), "a refused begin confirms nothing");
    transfer_secure(&mut u, &secure_image(2000, 73, V1_2, 5), 5, false).unwrap();
    assert_eq!(u.security().floor, 5);
}
