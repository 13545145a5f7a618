//! How long a firmware update takes over the board's 115 200-baud UART, against the wire time
//! of the image: the real update driver, board session and board firmware (responder,
//! updater, boot decision) in virtual time over a simulated serial line (8N1: 10 bits a byte).
//! Figures are exact for the model (no flash program time: a few ms per KiB on a real part)
//! and repeatable. `cargo bench -p borderlink-gateway --bench firmware_update`; the figures
//! are recorded in docs/benchmarks.md.

#[path = "../tests/support/serial_board.rs"]
mod serial_board;

use borderlink_gateway::board::update::UpdateConfig;
use borderlink_gateway::board::{UpdateDriver, UpdateProgress};
use borderlink_protocol::link::FirmwareVersion;
use borderlink_protocol::time::Duration;
use serial_board::{BAUD, Rig};

fn main() {
    println!("firmware update, 115200 baud 8N1, window 4, 256-byte chunks");
    println!(
        "{:>9} {:>10} {:>8} {:>10} {:>11} {:>8} {:>10} {:>11}",
        "image",
        "latency",
        "erase",
        "wire time",
        "to verified",
        "ratio",
        "link bytes",
        "to confirmed"
    );
    // The erase column: how long the board's core stands still for the slot's erase; 2 s is
    // the STM32F411's typical 128 KiB sector erase at the HAL's x8 parallelism.
    for (kib, latency_ms, erase_ms) in [
        (32, 0, 0),
        (32, 16, 0),
        (32, 0, 2_000),
        (32, 16, 2_000),
        (16, 0, 0),
        (8, 0, 0),
    ] {
        let mut rig = Rig::new(Duration::from_millis(latency_ms));
        rig.erase_stall = Duration::from_millis(erase_ms);
        let len = kib * 1024;
        let image = rig.signed(FirmwareVersion::new(1, 1, 0), len);
        let start = rig.now;
        let sent_before = rig.h2b.bytes;
        let mut driver =
            UpdateDriver::start(start, &mut rig.session, image, UpdateConfig::default())
                .expect("start");
        let progress = rig.update(&mut driver, Duration::from_secs(120));
        let at = |want: fn(&UpdateProgress) -> bool| {
            progress
                .iter()
                .find(|(_, p)| want(p))
                .map(|(t, _)| *t - start)
                .expect("reached")
        };
        let verified = at(|p| *p == UpdateProgress::Committing);
        let done = at(|p| matches!(p, UpdateProgress::Done { .. }));
        let wire = rig.h2b.time_for(len as u64);
        println!(
            "{:>6}KiB {:>8}ms {:>6}ms {:>8.3} s {:>9.3} s {:>7.3}x {:>10} {:>10.3} s",
            kib,
            latency_ms,
            erase_ms,
            secs(wire),
            secs(verified),
            secs(verified) / secs(wire),
            rig.h2b.bytes - sent_before,
            secs(done),
        );
    }
    println!(
        "(wire time = image bytes x 10 bits / {BAUD} baud; to confirmed includes a 300 ms reboot)"
    );
}

fn secs(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e6
}
