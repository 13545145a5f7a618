//! An emulated TETRA radio's PEI: what a gateway's serial port talks to when there is no radio.
//!
//! The emulator reads the AT commands a gateway sends and answers the way a trunked-mode radio
//! does (`OK`, `ERROR`, information lines), and it reports what happens on its network as the
//! radio's unsolicited results (`+CTICN`, `+CTCC`, `+CTXG`, `+CDTXC`, `+CTCR`, `+CTXI`,
//! `+CTSDSR` with its data line). Every line it writes is produced by
//! [`borderlink_protocol::pei::Event::emit`], the same code the gateway's parser is tested
//! against, so the two cannot drift apart.
//!
//! It is sans-IO like everything in the simulator: feed it the gateway's bytes with
//! [`RadioEmulator::handle_bytes`], drain [`RadioEmulator::poll_transmit`] (bytes for the
//! gateway) and [`RadioEmulator::poll_action`] (requests for the emulated network: set up a
//! group call, demand or cease transmit, send an SDS); tell it what the network decided with
//! the `network_*` methods. Everything it received is kept in [`RadioEmulator::commands`] so a
//! test can assert on exactly what a gateway asked, and in which order.

use std::collections::VecDeque;

use borderlink_protocol::ids::{PeiIdentity, Tsi, TsiForm};
use borderlink_protocol::pei::{
    AiMode, AiService, CallConnected, CallReleased, CallStatus, CmeError, CommsType,
    DisconnectCause, Encryption, Event, Hook, IdentityType, IncomingCall, NumType, NumberEntry,
    Registration, RegistrationState, SdsHeader, SdsReceived, SignalQuality, Simplex, TxCeased,
    TxGrant, TxGranted, TxInterrupted, TxRequestPermission, UserData,
};

/// `+CME ERROR` numbers the emulator uses (EN 300 392-5).
mod cme {
    /// Operation not allowed.
    pub(super) const NOT_ALLOWED: u16 = 3;
    /// Operation not supported: what a terminal answers to a command it lacks.
    pub(super) const NOT_SUPPORTED: u16 = 4;
    /// Invalid characters in a string or a malformed command.
    pub(super) const SYNTAX: u16 = 35;
}

/// Which PEI a radio speaks. Terminals differ in the commands they implement and in the
/// values they print; a gateway must work with all of them on its default profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Everything the gateway's standard profile asks: identification (`+GMI`, `+GMM`,
    /// `+GMR`), static identities (`+CNUMS`) and registration (`+CREG`), numeric errors.
    #[default]
    Full,
    /// A terminal with a smaller command set: it answers `+CME ERROR: 4` (not supported) to
    /// numeric errors, identification, static identities and registration, and marks group
    /// calls with a vendor `<comms type>` (5) that no table lists.
    Lean,
}

impl Dialect {
    /// The dialect of a scenario name.
    pub fn named(name: &str) -> Option<Dialect> {
        match name {
            "full" => Some(Dialect::Full),
            "lean" => Some(Dialect::Lean),
            _ => None,
        }
    }

    /// The `<comms type>` of group calls this dialect prints.
    fn group_comms_type(self) -> CommsType {
        match self {
            Dialect::Full => CommsType::PointToMultipoint,
            Dialect::Lean => CommsType::Unknown(5),
        }
    }
}

/// What the radio asks of its (emulated) network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioAction {
    /// Set up a group call on `group` (after `ATD`); answer with
    /// [`RadioEmulator::network_call_connected`].
    SetupGroupCall {
        /// Call instance the radio chose.
        cc: u16,
        /// The group.
        group: Tsi,
        /// Call priority 0–15 from the last `AT+CTSDC`.
        level: u8,
    },
    /// Demand transmit in call `cc` (`AT+CTXD`); answer with a grant, a refusal or a queue.
    DemandTransmit {
        /// Call instance.
        cc: u16,
        /// The level the demand claims: 15 for an emergency demand, else the priority of the
        /// last `AT+CTSDC`.
        level: u8,
        /// The demand priority is pre-emptive or emergency (`AT+CTXD=<cc>,2` or `,3`): the
        /// SwMI may interrupt a lower-level talker for it.
        preemptive: bool,
    },
    /// Cease transmit in call `cc` (`AT+CUTXC`).
    CeaseTransmit {
        /// Call instance.
        cc: u16,
    },
    /// Hang up call `cc` (`ATH`).
    HangUp {
        /// Call instance.
        cc: u16,
    },
    /// Send an SDS (`AT+CMGS` and its data).
    SendSds {
        /// Destination.
        to: PeiIdentity,
        /// Length in bits.
        bits: u16,
        /// User data.
        data: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Call {
    cc: u16,
    group: Tsi,
    transmitting: bool,
    /// Transmit was demanded over the PEI (`AT+CTXD`): only a PEI cease, the network or a
    /// loss of power ends it, not the accessory PTT line.
    over_pei: bool,
}

/// An emulated radio; see the [module documentation](self).
#[derive(Debug)]
pub struct RadioEmulator {
    identity: Tsi,
    echo: bool,
    mode: AiMode,
    selected: Option<Tsi>,
    rssi: u8,
    line: Vec<u8>,
    /// `AT+CMGS` waiting for its data: destination and bits.
    sds_pending: Option<(PeiIdentity, u16)>,
    call: Option<Call>,
    next_cc: u16,
    out: VecDeque<u8>,
    actions: VecDeque<RadioAction>,
    commands: Vec<String>,
    /// Whether the radio answers at all (an unplugged cable or a radio that is off).
    powered: bool,
    /// Call priority of the last `AT+CTSDC`.
    call_level: u8,
    dialect: Dialect,
    /// The groups programmed into it (`+CNUMS`).
    static_groups: Vec<Tsi>,
    /// Registered on the network (`+CREG`).
    registration: RegistrationState,
}

impl RadioEmulator {
    /// A radio of this dialect.
    pub fn with_dialect(identity: Tsi, dialect: Dialect) -> Self {
        RadioEmulator {
            dialect,
            ..RadioEmulator::new(identity)
        }
    }

    /// Its dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The groups programmed into it, which `AT+CNUMS?` lists.
    pub fn set_static_groups(&mut self, groups: Vec<Tsi>) {
        self.static_groups = groups;
    }

    /// The network (de)registers the radio; a full-dialect radio says so unsolicited
    /// (`+CREG`), a lean one only in what it can no longer do.
    pub fn network_registration(&mut self, state: RegistrationState) {
        self.registration = state;
        if self.dialect == Dialect::Full && self.powered {
            self.emit(&Event::Registration(Registration {
                state,
                location_area: None,
                network: None,
            }));
        }
    }

    /// A radio with this identity, powered and in trunked mode, with no group selected.
    pub fn new(identity: Tsi) -> Self {
        RadioEmulator {
            identity,
            echo: true,
            mode: AiMode::Trunked,
            selected: None,
            rssi: 20,
            line: Vec::with_capacity(128),
            sds_pending: None,
            call: None,
            next_cc: 1,
            out: VecDeque::new(),
            actions: VecDeque::new(),
            commands: Vec::new(),
            powered: true,
            call_level: 0,
            dialect: Dialect::Full,
            static_groups: Vec::new(),
            registration: RegistrationState::RegisteredHome,
        }
    }

    /// The radio's identity.
    pub fn identity(&self) -> Tsi {
        self.identity
    }

    /// The group selected with `AT+CTGS`.
    pub fn selected_group(&self) -> Option<Tsi> {
        self.selected
    }

    /// The call instance of the group call the radio is in, if any.
    pub fn call_instance(&self) -> Option<u16> {
        self.call.map(|c| c.cc)
    }

    /// Whether the radio is transmitting now.
    pub fn is_transmitting(&self) -> bool {
        self.call.is_some_and(|c| c.transmitting)
    }

    /// Every command line received, in order (without the line end).
    pub fn commands(&self) -> &[String] {
        &self.commands
    }

    /// Sets the signal strength reported by `AT+CSQ?` (0–31, 99 unknown).
    pub fn set_rssi(&mut self, rssi: u8) {
        self.rssi = rssi;
    }

    /// Switches the radio off (it stops answering and forgets its state) or on (as after a
    /// reboot: echo on, no group, no call).
    pub fn set_powered(&mut self, on: bool) {
        if !on {
            self.call = None;
            self.selected = None;
            self.echo = true;
            self.line.clear();
            self.sds_pending = None;
            self.out.clear();
        }
        self.powered = on;
    }

    /// Bytes from the gateway.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if !self.powered {
            return;
        }
        for &b in bytes {
            match b {
                // Ctrl-Z ends the user data of AT+CMGS.
                0x1a if self.sds_pending.is_some() => {
                    let line = std::mem::take(&mut self.line);
                    self.finish_sds(&line);
                }
                b'\r' | b'\n' if self.sds_pending.is_none() => {
                    if !self.line.is_empty() {
                        let line = std::mem::take(&mut self.line);
                        self.command_line(&line);
                    }
                }
                _ => {
                    // A radio's line buffer is finite; a runaway line is dropped, not grown.
                    if self.line.len() < 1024 {
                        self.line.push(b);
                    }
                }
            }
        }
    }

    /// Bytes for the gateway.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            return None;
        }
        Some(self.out.drain(..).collect())
    }

    /// The next request for the emulated network.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<RadioAction> {
        self.actions.pop_front()
    }

    fn emit(&mut self, event: &Event<'_>) {
        let mut buf = [0u8; 1200];
        // Every event the emulator builds fits; a failure here is a bug worth seeing in tests.
        let n = event
            .emit_with(TsiForm::Long, &mut buf)
            .expect("emulator events fit their buffer");
        self.out.extend(&buf[..n]);
    }

    fn ok(&mut self) {
        self.emit(&Event::Ok);
    }

    fn cme(&mut self, code: u16) {
        self.emit(&Event::CmeError(CmeError(code)));
    }

    fn command_line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw).trim().to_string();
        if self.echo {
            self.out.extend(text.as_bytes());
            self.out.extend(b"\r\n");
        }
        self.commands.push(text.clone());
        let upper = text.to_ascii_uppercase();
        let Some(body) = upper.strip_prefix("AT") else {
            self.emit(&Event::Error);
            return;
        };
        match body {
            "" => self.ok(),
            "E0" => {
                self.echo = false;
                self.ok();
            }
            "E1" => {
                self.echo = true;
                self.ok();
            }
            "+CMEE=1" | "+CMEE=0" if self.dialect == Dialect::Full => self.ok(),
            "+CMEE=1" | "+CMEE=0" | "+GMI?" | "+GMM?" | "+GMR?" | "+CNUMS?" | "+CREG?"
                if self.dialect == Dialect::Lean =>
            {
                self.cme(cme::NOT_SUPPORTED)
            }
            "+GMI?" => {
                self.emit(&Event::Manufacturer("borderlink-sim"));
                self.ok();
            }
            "+GMM?" => {
                self.emit(&Event::Model("emulated TMO radio"));
                self.ok();
            }
            "+GMR?" => {
                self.emit(&Event::Revision(env!("CARGO_PKG_VERSION")));
                self.ok();
            }
            "+CNUMS?" => {
                self.emit(&Event::StaticIdentity(NumberEntry {
                    num_type: NumType::Individual,
                    identity: PeiIdentity::Tsi(self.identity),
                }));
                for group in self.static_groups.clone() {
                    self.emit(&Event::StaticIdentity(NumberEntry {
                        num_type: NumType::Group,
                        identity: PeiIdentity::Tsi(group),
                    }));
                }
                self.ok();
            }
            "+CREG?" => {
                self.emit(&Event::Registration(Registration {
                    state: self.registration,
                    location_area: Some(1),
                    network: Some(
                        u32::from(self.identity.mcc().get()) * 100_000
                            + u32::from(self.identity.mnc().get()),
                    ),
                }));
                self.ok();
            }
            "+CTOM?" => {
                self.emit(&Event::OperatingMode(self.mode));
                self.ok();
            }
            "+CNUMF?" => {
                let entry = NumberEntry {
                    num_type: NumType::Individual,
                    identity: PeiIdentity::Tsi(self.identity),
                };
                self.emit(&Event::OwnNumber(entry));
                self.ok();
            }
            "+CSQ?" | "+CSQ" => {
                self.emit(&Event::SignalQuality(SignalQuality {
                    rssi: self.rssi,
                    ber: 99,
                }));
                self.ok();
            }
            "H" => match self.call.take() {
                Some(call) => {
                    self.actions.push_back(RadioAction::HangUp { cc: call.cc });
                    self.ok();
                }
                None => self.ok(),
            },
            _ => self.parameter_command(body),
        }
    }

    fn parameter_command(&mut self, body: &str) {
        if let Some(v) = body.strip_prefix("+CTOM=") {
            // A real radio refuses a mode it does not have.
            match v
                .parse::<u16>()
                .ok()
                .map(AiMode::from_code)
                .filter(|m| m.is_known())
            {
                Some(mode) => {
                    self.mode = mode;
                    self.ok();
                }
                None => self.cme(cme::SYNTAX),
            }
        } else if let Some(v) = body.strip_prefix("+CTSDC=") {
            // The tenth parameter is the call priority of the next `ATD`.
            match v.split(',').nth(9).map(|p| p.trim().parse::<u8>()) {
                Some(Ok(level)) if level <= 15 => {
                    self.call_level = level;
                    self.ok();
                }
                Some(_) => self.cme(cme::SYNTAX),
                None => self.ok(),
            }
        } else if body.starts_with("+CTSP=") || body.starts_with("+CTSDS=") {
            // Service routing and call parameters: accepted as given.
            self.ok();
        } else if let Some(v) = body.strip_prefix("+CTGS=") {
            let group = v
                .split_once(',')
                .and_then(|(_, id)| parse_tsi(id, self.identity));
            match group {
                Some(g) => {
                    self.selected = Some(g);
                    self.ok();
                }
                None => self.cme(cme::SYNTAX),
            }
        } else if let Some(v) = body.strip_prefix('D') {
            match parse_tsi(v.trim_end_matches(';'), self.identity) {
                Some(group) if self.mode == AiMode::Trunked => {
                    // Dialling the group of the call the radio is in joins that call.
                    let cc = match self.call {
                        Some(call) if call.group == group => call.cc,
                        _ => self.new_cc(),
                    };
                    self.call = Some(Call {
                        cc,
                        group,
                        transmitting: false,
                        over_pei: false,
                    });
                    self.ok();
                    self.actions.push_back(RadioAction::SetupGroupCall {
                        cc,
                        group,
                        level: self.call_level,
                    });
                }
                Some(_) => self.cme(cme::NOT_ALLOWED),
                None => self.cme(cme::SYNTAX),
            }
        } else if let Some(v) = body.strip_prefix("+CTXD=") {
            let mut fields = v.split(',');
            let cc = fields.next().and_then(|c| c.parse::<u16>().ok());
            let demand = fields
                .next()
                .map_or(Some(0), |d| d.trim().parse::<u8>().ok());
            match (cc, demand, self.call.as_mut()) {
                (Some(cc), Some(demand @ 0..=3), Some(call)) if call.cc == cc => {
                    call.over_pei = true;
                    self.ok();
                    let level = if demand == 3 { 15 } else { self.call_level };
                    self.actions.push_back(RadioAction::DemandTransmit {
                        cc,
                        level,
                        preemptive: demand >= 2,
                    });
                }
                _ => self.cme(cme::NOT_ALLOWED),
            }
        } else if let Some(v) = body.strip_prefix("+CUTXC=") {
            match (v.parse::<u16>().ok(), self.call.as_mut()) {
                (Some(cc), Some(call)) if call.cc == cc => {
                    call.transmitting = false;
                    self.ok();
                    self.actions.push_back(RadioAction::CeaseTransmit { cc });
                }
                _ => self.cme(cme::NOT_ALLOWED),
            }
        } else if let Some(v) = body.strip_prefix("+CMGS=") {
            let parsed = v.split_once(',').and_then(|(dest, bits)| {
                let dest = PeiIdentity::parse(dest).ok()?;
                Some((dest, bits.parse::<u16>().ok()?))
            });
            match parsed {
                Some(p) => {
                    self.sds_pending = Some(p);
                    self.emit(&Event::Prompt);
                }
                None => self.cme(cme::SYNTAX),
            }
        } else {
            self.emit(&Event::Error);
        }
    }

    fn finish_sds(&mut self, hex: &[u8]) {
        let Some((to, bits)) = self.sds_pending.take() else {
            return;
        };
        let text: String = String::from_utf8_lossy(hex)
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        let data: Option<Vec<u8>> = (0..text.len() / 2 * 2)
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
        match data {
            Some(data) if data.len() * 8 >= usize::from(bits) => {
                self.commands
                    .push(format!("<sds {} bits to {to}: {text}>", bits));
                self.actions
                    .push_back(RadioAction::SendSds { to, bits, data });
                self.ok();
            }
            _ => self.cme(cme::SYNTAX),
        }
    }

    fn new_cc(&mut self) -> u16 {
        let cc = self.next_cc;
        self.next_cc = if self.next_cc >= 255 {
            1
        } else {
            self.next_cc + 1
        };
        cc
    }

    /// The group set on the radio's front panel (a radio without PEI: nothing selects one over
    /// the PEI).
    pub fn preselect_group(&mut self, group: Tsi) {
        self.selected = Some(group);
    }

    /// The radio's accessory PTT line was pressed (a radio keyed by the interface board,
    /// without PEI): it joins the call on its group, or sets one up, and asks to transmit.
    pub fn ptt_line_pressed(&mut self) {
        let Some(group) = self.selected else {
            return;
        };
        let cc = match self.call {
            Some(call) if call.group == group => call.cc,
            _ => {
                let cc = self.new_cc();
                self.call = Some(Call {
                    cc,
                    group,
                    transmitting: false,
                    over_pei: false,
                });
                self.actions.push_back(RadioAction::SetupGroupCall {
                    cc,
                    group,
                    level: self.call_level,
                });
                cc
            }
        };
        self.actions.push_back(RadioAction::DemandTransmit {
            cc,
            level: self.call_level,
            preemptive: false,
        });
    }

    /// The radio's accessory PTT line was released while it transmitted (the interface board
    /// dropped it): a transmission keyed by the line ends as if its user let go of the PTT
    /// key, and the radio tells the network; nothing is said on the PEI. A transmission
    /// demanded over the PEI (`AT+CTXD`) does not end: as on real radios, the line cannot undo
    /// what the PEI keyed (only `AT+CUTXC`, the network's timeout or a loss of power can).
    /// Returns whether the transmission ended.
    pub fn ptt_line_released(&mut self) -> bool {
        match self.call.as_mut() {
            Some(call) if call.transmitting && !call.over_pei => {
                call.transmitting = false;
                let cc = call.cc;
                self.actions.push_back(RadioAction::CeaseTransmit { cc });
                true
            }
            _ => false,
        }
    }

    // ---- what the network tells the radio -------------------------------------------------

    /// The group call the radio set up is connected.
    pub fn network_call_connected(&mut self, cc: u16) {
        if self.call.is_some_and(|c| c.cc == cc) {
            self.emit_connected(cc);
        }
    }

    fn emit_connected(&mut self, cc: u16) {
        self.emit(&Event::CallConnected(CallConnected {
            cc,
            hook: Some(Hook::Direct),
            simplex: Some(Simplex::Simplex),
            ai_service: Some(AiService::Speech),
            encrypted: Some(Encryption::Clear),
            comms_type: Some(self.dialect.group_comms_type()),
            slots_codec: Some(1),
        }));
    }

    /// Another unit started a group call on the selected group: the radio joins it. Returns
    /// the call instance.
    pub fn network_incoming_group_call(&mut self, calling: Tsi, group: Tsi, priority: u8) -> u16 {
        let cc = match self.call {
            Some(call) if call.group == group => call.cc,
            _ => self.new_cc(),
        };
        self.call = Some(Call {
            cc,
            group,
            transmitting: false,
            over_pei: false,
        });
        self.emit(&Event::IncomingCall(IncomingCall {
            cc,
            status: CallStatus::Continue,
            ai_service: AiService::Speech,
            calling_type: Some(IdentityType::Tsi),
            calling: Some(PeiIdentity::Tsi(calling)),
            hook: Some(Hook::Direct),
            simplex: Some(Simplex::Simplex),
            encrypted: Some(Encryption::Clear),
            comms_type: Some(self.dialect.group_comms_type()),
            slots_codec: Some(1),
            called_type: Some(IdentityType::Tsi),
            called: Some(PeiIdentity::Tsi(group)),
            priority: Some(priority),
        }));
        self.emit_connected(cc);
        cc
    }

    /// The network granted this radio's transmit demand.
    pub fn network_grant(&mut self, cc: u16) {
        if let Some(call) = self.call.as_mut().filter(|c| c.cc == cc) {
            call.transmitting = true;
            self.emit_grant(cc, TxGrant::Granted, None);
        }
    }

    /// The network refused this radio's transmit demand.
    pub fn network_refuse(&mut self, cc: u16) {
        self.emit_grant(cc, TxGrant::NotGranted, None);
    }

    /// The network queued this radio's transmit demand.
    pub fn network_queue(&mut self, cc: u16) {
        self.emit_grant(cc, TxGrant::Queued, None);
    }

    /// Another party talks in call `cc` (the radio receives).
    pub fn network_talker(&mut self, cc: u16, talker: Tsi) {
        if let Some(call) = self.call.as_mut().filter(|c| c.cc == cc) {
            call.transmitting = false;
        }
        self.emit_grant(cc, TxGrant::GrantedToAnother, Some(talker));
    }

    fn emit_grant(&mut self, cc: u16, grant: TxGrant, talker: Option<Tsi>) {
        self.emit(&Event::TxGranted(TxGranted {
            cc,
            grant,
            permission: TxRequestPermission::Allowed,
            encrypted: Encryption::Clear,
            talker_type: talker.map(|_| IdentityType::Tsi),
            talker: talker.map(PeiIdentity::Tsi),
        }));
    }

    /// The other party stopped talking in call `cc`.
    pub fn network_talker_stopped(&mut self, cc: u16) {
        self.emit(&Event::TxCeased(TxCeased {
            cc,
            permission: TxRequestPermission::Allowed,
        }));
    }

    /// This radio's transmission was interrupted.
    pub fn network_interrupt(&mut self, cc: u16) {
        if let Some(call) = self.call.as_mut().filter(|c| c.cc == cc) {
            call.transmitting = false;
        }
        self.emit(&Event::TxInterrupted(TxInterrupted {
            cc,
            permission: Some(TxRequestPermission::Allowed),
            encrypted: Some(Encryption::Clear),
        }));
    }

    /// Call `cc` was released by the network, with a disconnect cause (0–39; 9 pre-emption,
    /// 13 timer expiry, 14 SwMI disconnect).
    pub fn network_release(&mut self, cc: u16, cause: u8) {
        if self.call.is_some_and(|c| c.cc == cc) {
            self.call = None;
        }
        self.emit(&Event::CallReleased(CallReleased {
            cc,
            cause: DisconnectCause::from_code(u16::from(cause)),
        }));
    }

    /// An SDS arrived for this radio: `service` is [`AiService::Status`] for a 16-bit status
    /// or [`AiService::SdsType4`] for type-4 user data (LIP, text…).
    pub fn network_sds(&mut self, from: Tsi, service: AiService, data: &[u8], bits: u16) {
        let header = SdsHeader {
            ai_service: service,
            calling: Some(PeiIdentity::Tsi(from)),
            calling_type: Some(IdentityType::Tsi),
            called: PeiIdentity::Tsi(self.identity),
            called_type: Some(IdentityType::Tsi),
            bits,
            encrypted: None,
        };
        self.emit(&Event::SdsReceived(SdsReceived {
            header,
            data: UserData(data),
        }));
    }
}

/// A TSI from PEI digits; a bare SSI is completed with the radio's own MCC and MNC.
fn parse_tsi(digits: &str, own: Tsi) -> Option<Tsi> {
    PeiIdentity::parse(digits.trim())
        .ok()
        .map(|id| id.resolve(own.mcc(), own.mnc()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use borderlink_protocol::pei::{PeiParser, TxGrant};

    fn radio() -> RadioEmulator {
        RadioEmulator::new(Tsi::from_parts(206, 1, 9_000_001).unwrap())
    }

    fn group() -> Tsi {
        Tsi::from_parts(206, 1, 2_061_001).unwrap()
    }

    fn send(r: &mut RadioEmulator, line: &str) -> String {
        r.handle_bytes(line.as_bytes());
        r.handle_bytes(b"\r");
        String::from_utf8(r.poll_transmit().unwrap_or_default()).unwrap()
    }

    /// Parses the emulator's output with the gateway's own parser.
    fn events(bytes: &str) -> Vec<String> {
        let mut p = PeiParser::<1024>::new();
        let mut input = bytes.as_bytes();
        let mut out = Vec::new();
        loop {
            let (used, e) = p.push(input);
            input = &input[used..];
            match e {
                Some(Ok(e)) => out.push(format!("{e:?}")),
                Some(Err(e)) => panic!("the gateway's parser rejects the emulator: {e}"),
                None => break,
            }
        }
        out
    }

    #[test]
    fn init_sequence_answers_like_a_radio() {
        let mut r = radio();
        assert_eq!(send(&mut r, "AT"), "AT\r\nOK\r\n");
        assert_eq!(send(&mut r, "ATE0"), "ATE0\r\nOK\r\n");
        assert_eq!(send(&mut r, "AT+CTOM=0"), "OK\r\n");
        assert_eq!(send(&mut r, "AT+CTSP=2,0,0"), "OK\r\n");
        assert_eq!(
            send(&mut r, "AT+CNUMF?"),
            "+CNUMF: 0,02060000109000001\r\nOK\r\n"
        );
        assert_eq!(send(&mut r, "AT+CTGS=1,02060000102061001"), "OK\r\n");
        assert_eq!(r.selected_group(), Some(group()));
        assert_eq!(send(&mut r, "AT+CSQ?"), "+CSQ: 20,99\r\nOK\r\n");
        assert_eq!(r.commands().len(), 7);
    }

    #[test]
    fn a_gateway_keys_a_group_call() {
        let mut r = radio();
        send(&mut r, "ATE0");
        assert_eq!(send(&mut r, "AT+CTSDC=0,0,0,1,1,0,1,1,0,0,0"), "OK\r\n");
        assert_eq!(send(&mut r, "ATD2061001"), "OK\r\n");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::SetupGroupCall {
                cc: 1,
                group: group(),
                level: 0,
            })
        );
        r.network_call_connected(1);
        let out = String::from_utf8(r.poll_transmit().unwrap()).unwrap();
        assert!(events(&out)[0].starts_with("CallConnected"), "{out}");
        assert_eq!(send(&mut r, "AT+CTXD=1,1"), "OK\r\n");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::DemandTransmit {
                cc: 1,
                level: 0,
                preemptive: false
            })
        );
        r.network_grant(1);
        let out = String::from_utf8(r.poll_transmit().unwrap()).unwrap();
        assert_eq!(out, "+CTXG: 1,0,0,0\r\n");
        assert!(r.is_transmitting());
        assert_eq!(send(&mut r, "AT+CUTXC=1"), "OK\r\n");
        assert_eq!(r.poll_action(), Some(RadioAction::CeaseTransmit { cc: 1 }));
        assert!(!r.is_transmitting());
    }

    #[test]
    fn call_priority_and_emergency_demand_reach_the_network() {
        let mut r = radio();
        send(&mut r, "ATE0");
        assert_eq!(send(&mut r, "AT+CTSDC=0,0,0,1,1,0,1,1,0,7,0"), "OK\r\n");
        send(&mut r, "ATD2061001");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::SetupGroupCall {
                cc: 1,
                group: group(),
                level: 7
            })
        );
        send(&mut r, "AT+CTXD=1,1");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::DemandTransmit {
                cc: 1,
                level: 7,
                preemptive: false
            })
        );
        send(&mut r, "AT+CTXD=1,3");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::DemandTransmit {
                cc: 1,
                level: 15,
                preemptive: true
            })
        );
        assert_eq!(send(&mut r, "AT+CTXD=1,9"), "+CME ERROR: 3\r\n");
        assert_eq!(
            send(&mut r, "AT+CTSDC=0,0,0,1,1,0,1,1,0,16,0"),
            "+CME ERROR: 35\r\n"
        );
    }

    #[test]
    fn a_released_ptt_line_does_not_end_a_transmission_keyed_over_pei() {
        let mut r = radio();
        send(&mut r, "ATE0");
        send(&mut r, "ATD2061001");
        let _ = r.poll_action();
        send(&mut r, "AT+CTXD=1,1");
        let _ = r.poll_action();
        assert!(!r.ptt_line_released(), "not transmitting yet");
        r.network_grant(1);
        let _ = r.poll_transmit();
        assert!(!r.ptt_line_released(), "the line cannot undo AT+CTXD");
        assert!(r.is_transmitting());
        assert_eq!(r.poll_action(), None);
        // Losing power does: the transmission ends and the radio answers nothing until it is
        // back, when it starts afresh.
        r.set_powered(false);
        assert!(!r.is_transmitting());
        assert_eq!(r.call_instance(), None);
        r.handle_bytes(b"AT\r");
        assert_eq!(r.poll_transmit(), None, "an unpowered radio is silent");
        r.set_powered(true);
        assert_eq!(
            r.selected_group(),
            None,
            "registered afresh, nothing selected"
        );
    }

    #[test]
    fn dialling_the_group_of_the_current_call_joins_it() {
        let mut r = radio();
        send(&mut r, "ATE0");
        let talker = Tsi::from_parts(206, 1, 1_234_567).unwrap();
        let cc = r.network_incoming_group_call(talker, group(), 0);
        let _ = r.poll_transmit();
        send(&mut r, "ATD2061001");
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::SetupGroupCall {
                cc,
                group: group(),
                level: 0
            })
        );
        assert_eq!(send(&mut r, &format!("AT+CTXD={cc},1")), "OK\r\n");
    }

    #[test]
    fn demand_without_a_call_is_refused() {
        let mut r = radio();
        send(&mut r, "ATE0");
        assert_eq!(send(&mut r, "AT+CTXD=4,1"), "+CME ERROR: 3\r\n");
        assert_eq!(r.poll_action(), None);
    }

    #[test]
    fn incoming_call_and_talker_parse_in_the_gateway() {
        let mut r = radio();
        let talker = Tsi::from_parts(204, 1, 2_040_123).unwrap();
        let cc = r.network_incoming_group_call(talker, group(), 3);
        r.network_talker(cc, talker);
        r.network_talker_stopped(cc);
        r.network_release(cc, 9);
        let out = String::from_utf8(r.poll_transmit().unwrap()).unwrap();
        let ev = events(&out);
        assert_eq!(ev.len(), 5, "{ev:?}");
        assert!(ev[0].starts_with("IncomingCall"));
        assert!(ev[2].contains(&format!("{:?}", TxGrant::GrantedToAnother)));
        assert!(ev[2].contains("2040123"));
        assert!(ev[3].starts_with("TxCeased"));
        assert!(
            ev[4].contains("PreEmption") || ev[4].contains("9"),
            "{}",
            ev[4]
        );
    }

    #[test]
    fn sds_round_trip_through_prompt_and_ctrl_z() {
        let mut r = radio();
        send(&mut r, "ATE0");
        assert_eq!(send(&mut r, "AT+CMGS=2040123,16"), "> ");
        r.handle_bytes(b"8003\x1a");
        assert_eq!(
            String::from_utf8(r.poll_transmit().unwrap()).unwrap(),
            "OK\r\n"
        );
        assert_eq!(
            r.poll_action(),
            Some(RadioAction::SendSds {
                to: PeiIdentity::parse("2040123").unwrap(),
                bits: 16,
                data: vec![0x80, 0x03]
            })
        );
    }

    #[test]
    fn a_received_lip_report_reaches_the_gateway_parser() {
        let mut r = radio();
        let lip = [
            0x0a, 0x00, 0x38, 0x14, 0xc2, 0x49, 0x4b, 0xb1, 0x58, 0x88, 0x10,
        ];
        r.network_sds(
            Tsi::from_parts(206, 1, 1_234_567).unwrap(),
            AiService::SdsType4,
            &lip,
            84,
        );
        let out = String::from_utf8(r.poll_transmit().unwrap()).unwrap();
        let ev = events(&out);
        assert_eq!(ev.len(), 1, "{out}");
        assert!(ev[0].starts_with("SdsReceived"), "{}", ev[0]);
    }

    #[test]
    fn garbage_and_unknown_commands_get_error_not_a_crash() {
        let mut r = radio();
        send(&mut r, "ATE0");
        assert_eq!(send(&mut r, "hello"), "ERROR\r\n");
        assert_eq!(send(&mut r, "AT+FOO=1"), "ERROR\r\n");
        assert_eq!(send(&mut r, "AT+CTOM=9"), "+CME ERROR: 35\r\n");
        r.handle_bytes(&[0xff; 5000]);
        r.handle_bytes(b"\r");
        assert!(r.poll_transmit().is_some());
    }

    #[test]
    fn a_radio_that_is_off_says_nothing_and_reboots_fresh() {
        let mut r = radio();
        send(&mut r, "ATE0");
        send(&mut r, "AT+CTGS=1,2061001");
        r.set_powered(false);
        r.handle_bytes(b"AT\r");
        assert_eq!(r.poll_transmit(), None);
        r.set_powered(true);
        assert_eq!(
            send(&mut r, "AT"),
            "AT\r\nOK\r\n",
            "echo is back on after a reboot"
        );
        assert_eq!(r.selected_group(), None);
    }

    /// Runs a gateway's radio session against an emulator until neither has anything to
    /// say; returns what the session reported.
    fn converse(
        session: &mut borderlink_gateway::radio::RadioSession,
        radio: &mut RadioEmulator,
    ) -> Vec<borderlink_gateway::radio::RadioOutput> {
        let now = borderlink_protocol::time::Instant::ZERO;
        let mut reported = Vec::new();
        for _ in 0..200 {
            let mut quiet = true;
            while let Some(t) = session.poll_transmit() {
                radio.handle_bytes(t.bytes());
                quiet = false;
            }
            while let Some(bytes) = radio.poll_transmit() {
                session.handle_bytes(now, &bytes);
                quiet = false;
            }
            reported.extend(std::iter::from_fn(|| session.poll_event()));
            if quiet {
                return reported;
            }
        }
        panic!("the conversation never settled");
    }

    /// Both dialects come up on the gateway's standard profile: the lean one with its
    /// refusals reported, the full one with its maker, groups and registration known.
    #[test]
    fn a_gateway_on_its_default_profile_brings_up_both_dialects() {
        use borderlink_gateway::radio::{RadioOutput, RadioSession, RadioSessionConfig};
        for dialect in [Dialect::Full, Dialect::Lean] {
            let mut radio = RadioEmulator::with_dialect(radio().identity(), dialect);
            radio.set_static_groups(vec![group()]);
            let mut session =
                RadioSession::new(RadioSessionConfig::new(radio.identity(), group())).unwrap();
            session.link_up(borderlink_protocol::time::Instant::ZERO);
            let reported = converse(&mut session, &mut radio);
            assert!(
                reported
                    .iter()
                    .any(|o| matches!(o, RadioOutput::Ready { .. })),
                "{dialect:?}: {reported:?}"
            );
            let refusals = reported
                .iter()
                .filter(|o| matches!(o, RadioOutput::Fault(_)))
                .count();
            let id = session.identification();
            match dialect {
                Dialect::Full => {
                    assert_eq!(refusals, 0);
                    assert_eq!(id.manufacturer.as_deref(), Some("borderlink-sim"));
                    assert_eq!(id.groups, [group()]);
                    assert_eq!(
                        session.status().registration,
                        Some(RegistrationState::RegisteredHome)
                    );
                }
                Dialect::Lean => {
                    // AT+CMEE=1, AT+GMI?, AT+GMM?, AT+GMR?, AT+CNUMS?, AT+CREG?
                    assert_eq!(refusals, 6, "{reported:?}");
                    assert_eq!(id.manufacturer, None);
                    assert_eq!(session.status().registration, None);
                }
            }
            assert!(session.status().usable());

            // An incoming group call with the dialect's comms type is played all the same.
            radio.network_incoming_group_call(
                Tsi::from_parts(206, 1, 1_234_567).unwrap(),
                group(),
                0,
            );
            let cc = radio.call_instance().unwrap();
            radio.network_talker(cc, Tsi::from_parts(206, 1, 1_234_567).unwrap());
            let reported = converse(&mut session, &mut radio);
            assert!(
                reported
                    .iter()
                    .any(|o| matches!(o, RadioOutput::ReceiveStart { .. })),
                "{dialect:?}: {reported:?}"
            );
        }
    }

    #[test]
    fn a_full_radio_says_when_it_loses_its_registration() {
        let mut r = radio();
        assert_eq!(
            send(&mut r, "AT+CREG?"),
            "AT+CREG?\r\n+CREG: 1,1,20600001\r\nOK\r\n"
        );
        r.network_registration(RegistrationState::Searching);
        let out: Vec<u8> = std::iter::from_fn(|| r.poll_transmit()).flatten().collect();
        assert_eq!(String::from_utf8(out).unwrap(), "+CREG: 2\r\n");
        let mut lean = RadioEmulator::with_dialect(r.identity(), Dialect::Lean);
        assert_eq!(send(&mut lean, "AT+CREG?"), "AT+CREG?\r\n+CME ERROR: 4\r\n");
    }
}
