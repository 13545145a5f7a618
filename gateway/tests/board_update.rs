//! Firmware update end to end: the host's update driver and board session against the real
//! board firmware (responder, updater, boot decision) over a simulated 115 200-baud UART, in
//! virtual time.

mod support;

use borderlink_gateway::board::update::{UpdateConfig, UpdateError, UpdateStep};
use borderlink_gateway::board::{BoardEvent, UpdateDriver, UpdateProgress};
use borderlink_gateway::firmware_image::SignedImage;
use borderlink_protocol::link::{Fault, FirmwareVersion, NackReason, Port, Slot};
use borderlink_protocol::time::{Duration, Instant};
use ed25519_dalek::SigningKey;
use support::serial_board::{FACTORY, Rig, Timed, image_bytes};

const NEW: FirmwareVersion = FirmwareVersion::new(1, 1, 0);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn outcome(progress: &[Timed]) -> UpdateProgress {
    progress.last().expect("some progress").1
}

fn when(progress: &[Timed], f: impl Fn(&UpdateProgress) -> bool) -> Instant {
    progress
        .iter()
        .find(|(_, p)| f(p))
        .unwrap_or_else(|| panic!("no such progress in {progress:?}"))
        .0
}

#[test]
fn a_32_kib_image_goes_over_near_wire_time_and_the_board_comes_back_confirmed() {
    let mut rig = Rig::new(Duration::ZERO);
    assert_eq!(rig.running(), Some((Slot::A, FACTORY)));
    let (start, progress) = update_to_slot_b(&mut rig);
    assert_eq!(rig.running(), Some((Slot::B, NEW)));
    // Every chunk was reported, in order, up to the whole image.
    let acked: Vec<u32> = progress
        .iter()
        .filter_map(|(_, p)| match p {
            UpdateProgress::Sending { acked, .. } => Some(*acked),
            _ => None,
        })
        .collect();
    assert_eq!(acked.len(), 128);
    assert!(acked.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(acked.last(), Some(&(32 * 1024)));
    // In virtual time, so exact and repeatable: begin to verified within 1.2 x the wire time
    // of the image's bytes (`cargo bench --bench firmware_update` prints the figures).
    let verified = when(&progress, |p| *p == UpdateProgress::Committing);
    let wire = rig.h2b.time_for(32 * 1024);
    let took = verified - start;
    assert!(
        took.as_micros() * 10 <= wire.as_micros() * 12,
        "took {took:?} against {wire:?} of wire time"
    );
    assert!(!rig.ever_keyed, "no PTT during the update");
}

#[test]
fn an_update_is_refused_while_a_ptt_is_requested() {
    let mut rig = Rig::new(Duration::ZERO);
    let port = Port::new(1).unwrap();
    rig.session.set_ptt(rig.now, port, true);
    let image = rig.signed(NEW, 4096);
    let err = UpdateDriver::start(
        rig.now,
        &mut rig.session,
        image.clone(),
        UpdateConfig::default(),
    )
    .unwrap_err();
    assert_eq!(err, UpdateError::PttActive { port: 1 });
    // Still refused once the board has keyed it.
    rig.run_until(rig.now + Duration::from_millis(100));
    assert!(rig.ever_keyed);
    assert!(
        UpdateDriver::start(
            rig.now,
            &mut rig.session,
            image.clone(),
            UpdateConfig::default()
        )
        .is_err()
    );
    rig.session.set_ptt(rig.now, port, false);
    rig.run_until(rig.now + Duration::from_millis(100));
    assert!(UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).is_ok());
}

#[test]
fn a_ptt_asked_for_during_an_update_is_refused_by_the_board() {
    let mut rig = Rig::new(Duration::ZERO);
    let image = rig.signed(NEW, 16 * 1024);
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let port = Port::new(0).unwrap();
    let mut progress = Vec::new();
    // Halfway through the transfer the engine wants to transmit.
    let mid = rig.now + Duration::from_millis(700);
    rig.run_while(
        Some(&mut driver),
        &mut progress,
        |r| r.now < mid,
        mid + secs(1),
    );
    rig.session.set_ptt(rig.now, port, true);
    progress.extend(rig.update(&mut driver, secs(60)));
    assert!(rig.events.iter().any(|(_, e)| matches!(
        e,
        BoardEvent::PttRefused {
            reason: NackReason::UpdateInProgress,
            ..
        }
    )));
    assert!(!rig.ever_keyed);
    assert!(matches!(outcome(&progress), UpdateProgress::Done { .. }));
}

#[test]
fn an_image_signed_with_another_key_is_refused_and_the_board_runs_on() {
    let mut rig = Rig::new(Duration::ZERO);
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let image = SignedImage::sign(&stranger, NEW, 1, image_bytes(NEW, 8192)).unwrap();
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(30));
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::Refused {
            step: UpdateStep::Verify,
            reason: NackReason::BadSignature
        })
    );
    rig.run_until(rig.now + secs(3));
    assert_eq!(rig.running(), Some((Slot::A, FACTORY)));
    assert_eq!(rig.boots.len(), 1, "never reset");
    // Radios can be keyed again at once.
    let port = Port::new(2).unwrap();
    rig.session.set_ptt(rig.now, port, true);
    rig.run_until(rig.now + Duration::from_millis(100));
    assert_eq!(rig.session.board_ptt(port), Some(true));
}

#[test]
fn a_chunk_lost_on_the_wire_is_sent_again() {
    let mut rig = Rig::new(Duration::from_millis(16));
    rig.h2b.corrupt_long_write = Some(40);
    let image = rig.signed(NEW, 32 * 1024);
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(60));
    assert!(
        matches!(outcome(&progress), UpdateProgress::Done { .. }),
        "{progress:?}"
    );
    assert!(rig.session.stats().retransmissions >= 1);
}

#[test]
fn a_link_lost_mid_transfer_fails_cleanly_and_a_new_attempt_succeeds() {
    let mut rig = Rig::new(Duration::ZERO);
    let image = rig.signed(NEW, 32 * 1024);
    let mut driver = UpdateDriver::start(
        rig.now,
        &mut rig.session,
        image.clone(),
        UpdateConfig::default(),
    )
    .unwrap();
    let mut progress = Vec::new();
    let mid = rig.now + secs(1);
    rig.run_while(
        Some(&mut driver),
        &mut progress,
        |r| r.now < mid,
        mid + secs(1),
    );
    rig.h2b.cut = true;
    let back = rig.now + secs(2);
    rig.run_while(
        Some(&mut driver),
        &mut progress,
        |r| r.now < back,
        back + secs(1),
    );
    rig.h2b.cut = false;
    progress.extend(rig.update(&mut driver, secs(30)));
    assert!(
        matches!(
            outcome(&progress),
            UpdateProgress::Failed(UpdateError::LinkDown(_))
        ),
        "{progress:?}"
    );
    // The link comes back; the board abandoned the half update at the handshake.
    let up = rig.now + secs(5);
    rig.run_while(None, &mut Vec::new(), |r| !r.session.is_up(), up);
    assert_eq!(rig.running(), Some((Slot::A, FACTORY)));
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(60));
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Done {
            version: NEW,
            slot: Slot::B
        }
    );
}

#[test]
fn a_new_image_that_never_confirms_is_rolled_back_and_reported() {
    let mut rig = Rig::new(Duration::ZERO);
    rig.trial_hangs = true;
    let image = rig.signed(NEW, 8192);
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(60));
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::RolledBack {
            running: FACTORY,
            slot: Slot::A
        })
    );
    use borderlink_firmware::update::boot::BootKind;
    let kinds: Vec<BootKind> = rig.boots.iter().map(|(_, k)| *k).collect();
    assert_eq!(
        kinds,
        [BootKind::Normal, BootKind::Trial, BootKind::RolledBack]
    );
    assert_eq!(rig.running(), Some((Slot::A, FACTORY)));
}

#[test]
fn a_second_update_goes_back_to_the_first_slot() {
    let mut rig = Rig::new(Duration::ZERO);
    for (version, slot) in [(NEW, Slot::B), (FirmwareVersion::new(1, 2, 0), Slot::A)] {
        let image = rig.signed(version, 10_000);
        let mut driver =
            UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
        let progress = rig.update(&mut driver, secs(60));
        assert_eq!(outcome(&progress), UpdateProgress::Done { version, slot });
    }
    // A board that reset on its own keeps the confirmed image.
    assert_eq!(
        rig.running(),
        Some((Slot::A, FirmwareVersion::new(1, 2, 0)))
    );
}

#[test]
fn too_large_an_image_is_refused_at_begin() {
    let mut rig = Rig::new(Duration::ZERO);
    let image = rig.signed(NEW, 40 * 1024);
    let mut driver =
        UpdateDriver::start(rig.now, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(30));
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::Refused {
            step: UpdateStep::Begin,
            reason: NackReason::ImageTooLarge { max: 32 * 1024 }
        })
    );
}

#[test]
fn an_update_goes_through_the_production_boards_erase_stall() {
    // The STM32F411's core stands still for the 2 s of a 128 KiB sector erase: it sends
    // nothing, not even Status, and the host's heartbeats are lost. The link must neither go
    // down nor restart the handshake (which would abandon the update), and the board must not
    // report its own deafness as host silence.
    let mut rig = Rig::new(Duration::ZERO);
    rig.erase_stall = secs(2);
    let (start, progress) = update_to_slot_b(&mut rig);
    assert!(
        rig.lost_in_stall > 0,
        "the host's bytes during the stall were lost"
    );
    // The link goes down only for the reboot into the new image, after the commit.
    let committing = when(&progress, |p| *p == UpdateProgress::Committing);
    let early_down = rig
        .events
        .iter()
        .find(|(at, e)| *at < committing && matches!(e, BoardEvent::Down { .. }));
    assert!(early_down.is_none(), "the link went down: {early_down:?}");
    let silence_reported = rig.events.iter().any(|(_, e)| {
        matches!(
            e,
            BoardEvent::Fault {
                fault: Fault::HostSilence { .. }
            }
        )
    });
    assert!(
        !silence_reported,
        "the board reported its own stall as host silence"
    );
    // The erase shows in the time: begin to verified is the wire time plus the stall.
    let verified = when(&progress, |p| *p == UpdateProgress::Committing);
    let took = verified - start;
    assert!(
        took >= secs(2) + rig.h2b.time_for(32 * 1024),
        "took {took:?}"
    );
    assert!(!rig.ever_keyed);
}

#[test]
fn an_older_signed_release_is_refused_as_a_rollback() {
    let mut rig = Rig::new(Duration::ZERO);
    // The board is on 1.1.0, security version 3 (it fixed a vulnerability).
    let image = rig.signed_with(NEW, 3, 8192);
    install(&mut rig, image, false);
    let old = FirmwareVersion::new(1, 0, 5);
    let boots = rig.boots.len();
    // The old, vulnerable release, genuinely signed: security version 2...
    let image = rig.signed_with(old, 2, 8192);
    let progress = try_install(&mut rig, image, false);
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::Rollback {
            security_version: 2,
            floor: 3
        })
    );
    // ...or from before security versions, signed the legacy way.
    let image = rig.signed_legacy(old, 8192);
    let progress = try_install(&mut rig, image, false);
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::Rollback {
            security_version: 0,
            floor: 3
        })
    );
    rig.run_until(rig.now + secs(3));
    assert_eq!(rig.running(), Some((Slot::B, NEW)));
    assert_eq!(rig.boots.len(), boots, "never reset");
}

#[test]
fn the_override_installs_an_older_release_only_when_asked_and_the_floor_stays() {
    let mut rig = Rig::new(Duration::ZERO);
    let image = rig.signed_with(NEW, 3, 8192);
    install(&mut rig, image, false);
    let old = FirmwareVersion::new(1, 0, 5);
    // A legacy release too: only UpdateBeginSecure carries the override for it.
    let image = rig.signed_legacy(old, 8192);
    install(&mut rig, image, true);
    assert_eq!(rig.running(), Some((Slot::A, old)));
    // The floor did not fall: without the override, 2 is still refused.
    let image = rig.signed_with(old, 2, 8192);
    let progress = try_install(&mut rig, image, false);
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Failed(UpdateError::Rollback {
            security_version: 2,
            floor: 3
        })
    );
}

fn try_install(rig: &mut Rig, image: SignedImage, allow_rollback: bool) -> Vec<Timed> {
    let config = UpdateConfig {
        allow_rollback,
        ..UpdateConfig::default()
    };
    let mut driver = UpdateDriver::start(rig.now, &mut rig.session, image, config).unwrap();
    rig.update(&mut driver, secs(60))
}

fn install(rig: &mut Rig, image: SignedImage, allow_rollback: bool) {
    let version = image.version();
    let progress = try_install(rig, image, allow_rollback);
    assert!(
        matches!(outcome(&progress), UpdateProgress::Done { version: v, .. } if v == version),
        "{progress:?}"
    );
}

/// Sends a 32 KiB image of [`NEW`] to a board running slot A, to the end; it must come back
/// confirmed in slot B. Returns when it started and every progress report.
fn update_to_slot_b(rig: &mut Rig) -> (Instant, Vec<Timed>) {
    let image = rig.signed(NEW, 32 * 1024);
    let start = rig.now;
    let mut driver =
        UpdateDriver::start(start, &mut rig.session, image, UpdateConfig::default()).unwrap();
    let progress = rig.update(&mut driver, secs(60));
    assert_eq!(
        outcome(&progress),
        UpdateProgress::Done {
            version: NEW,
            slot: Slot::B
        }
    );
    (start, progress)
}
