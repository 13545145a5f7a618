//! What happens on the networks around the daemon's emulated radios
//! (`borderlink_sim::pty::radio::PtyRadio`): the daemon initialising them, and a field unit
//! keying up and letting go on a group a radio listens to.

use std::time::Duration;

use borderlink_protocol::ids::Tsi;
use borderlink_sim::pty::radio::PtyRadio;

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

/// The talker of call `cc` lets go.
pub fn field_call_ends(radio: &PtyRadio, cc: u16) {
    radio
        .emulator
        .lock()
        .expect("lock")
        .network_talker_stopped(cc);
}
