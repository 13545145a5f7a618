//! What happens on the networks around the daemon's emulated radios
//! (`borderlink_sim::pty::radio::PtyRadio`): the daemon initialising them, and a field unit
//! keying up and letting go on a group a radio listens to.

use std::time::Duration;

use borderlink_protocol::ids::Tsi;
use borderlink_sim::pty::radio::PtyRadio;

use crate::daemon::Daemon;

/// Waits until the daemon has initialised every radio (group selected, first signal query
/// sent); panics with the radio's commands after 20 s.
pub fn wait_initialised(radios: &[&PtyRadio]) {
    for radio in radios {
        assert!(
            radio.wait_for("AT+CSQ?", Duration::from_secs(20)),
            "radio not initialised: {:?}",
            radio.commands()
        );
    }
}

/// A field unit `talker` keys up on `group` (priority 3): `radio` reports the incoming group
/// call and its talker. Returns the call's instance, for [`field_call_ends`].
pub fn field_call(radio: &PtyRadio, talker: Tsi, group: Tsi) -> u16 {
    let mut emulator = radio.emulator.lock().expect("lock");
    let cc = emulator.network_incoming_group_call(talker, group, 3);
    emulator.network_talker(cc, talker);
    cc
}

/// [`field_call`] on the daemon's radio named `name`, then waits until the daemon has seen the
/// call (its "receiving a call" log in that radio's span): every frame spoken after it is
/// captured, with no sleep standing in for the wait. Panics after 10 s.
pub fn field_call_seen(
    daemon: &Daemon,
    radio: &PtyRadio,
    name: &str,
    talker: Tsi,
    group: Tsi,
) -> u16 {
    let on_radio = |v: &serde_json::Value| v["span"]["radio"] == name;
    let before = daemon.count_log("receiving a call", on_radio);
    let cc = field_call(radio, talker, group);
    assert!(
        daemon.wait_log_count(
            "receiving a call",
            on_radio,
            before + 1,
            Duration::from_secs(10)
        ),
        "the daemon never saw the call on its radio {name}"
    );
    cc
}

/// The talker of call `cc` lets go.
pub fn field_call_ends(radio: &PtyRadio, cc: u16) {
    radio
        .emulator
        .lock()
        .expect("lock")
        .network_talker_stopped(cc);
}
