//! The radios and the board ports that drive them: names, devices, identities and audio
//! backends each used once, and every port naming a radio that exists.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use borderlink_protocol::link::{PORTS, Port};
use borderlink_protocol::time::Duration;
use toml::Spanned;

use super::{Report, Section};
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{BoardFile, RadioFile, UdpFile};
use crate::config::{
    Audio, Board, BoardPort, DEFAULT_BOARD_BAUD, DEFAULT_PEI_BAUD, Radio, UdpAudio,
};
use crate::engine::endpoint::RadioId;
use crate::radio::{MAX_EXTRA, PeiProfile};

impl Report<'_> {
    pub(super) fn radios(&mut self, raw: &Section<RadioFile>) -> Vec<Option<Radio>> {
        if raw.items.is_empty() && raw.complete {
            self.add(KeyPath::root().key("radios"), None, ProblemKind::NoRadios);
        }
        let mut names = HashMap::new();
        let mut serials = HashMap::new();
        let mut identities = HashMap::new();
        let mut selected = HashMap::new();
        let mut alsa_devices = HashMap::new();
        let mut listens = HashMap::new();
        let mut radios = Vec::with_capacity(raw.items.len());
        for (index, item) in raw.items.iter().enumerate() {
            let Some(item) = item else {
                radios.push(None);
                continue;
            };
            let path = KeyPath::root().key("radios").index(index);
            let r = item.get_ref();
            let network = r.network.get_ref().0;

            let name = self.name(path.key("name"), &r.name);
            let name = name.filter(|n| {
                self.unique(
                    &mut names,
                    n.clone(),
                    "radio name",
                    n.clone(),
                    path.key("name"),
                    r.name.span(),
                )
            });
            let serial = match &r.serial {
                None => Some(None),
                Some(raw) => self
                    .device(path.key("serial"), raw)
                    .filter(|s| {
                        self.unique(
                            &mut serials,
                            s.clone(),
                            "serial device",
                            s.display().to_string(),
                            path.key("serial"),
                            raw.span(),
                        )
                    })
                    .map(Some),
            };
            let baud = self.baud(path.key("baud"), r.baud.as_ref(), DEFAULT_PEI_BAUD);
            let identity = self.tsi(path.key("issi"), &r.issi, Some(network));
            let identity = identity.filter(|t| {
                self.unique(
                    &mut identities,
                    *t,
                    "radio identity",
                    t.to_string(),
                    path.key("issi"),
                    r.issi.span(),
                )
            });
            let group = self.tsi(path.key("group"), &r.group, Some(network));
            // Two radios of one site on one group would both transmit every relayed call.
            let group = group.filter(|g| {
                self.unique(
                    &mut selected,
                    *g,
                    "talkgroup",
                    format!("{network} {g}"),
                    path.key("group"),
                    r.group.span(),
                )
            });
            let mut groups = Vec::new();
            let mut groups_ok = true;
            for (i, g) in r.groups.iter().enumerate() {
                match self.tsi(path.key("groups").index(i), g, Some(network)) {
                    Some(g) => groups.push(g),
                    None => groups_ok = false,
                }
            }
            let audio = match (&r.alsa, &r.udp) {
                (Some(alsa), None) => self
                    .name(path.key("alsa"), alsa)
                    .filter(|device| {
                        self.unique(
                            &mut alsa_devices,
                            device.clone(),
                            "ALSA device",
                            device.clone(),
                            path.key("alsa"),
                            alsa.span(),
                        )
                    })
                    .map(AudioPart::Alsa),
                (None, Some(udp)) => self.udp(&path.key("udp"), udp, &mut listens),
                (None, None) => {
                    self.add(path.clone(), Some(item.span()), ProblemKind::NoAudio);
                    None
                }
                (Some(_), Some(udp)) => {
                    self.add(path.key("udp"), Some(udp.span()), ProblemKind::TwoAudio);
                    None
                }
            }
            .map(|a| match a {
                AudioPart::Alsa(device) => Audio::Alsa { device },
                AudioPart::Udp(udp) => Audio::Udp(udp),
            });

            let pei = self.pei_profile(&path.key("pei"), r);

            let radio = (|| {
                let group = group?;
                if !groups_ok {
                    return None;
                }
                // `group` first, then the others once each.
                let mut all = vec![group];
                for g in groups {
                    if !all.contains(&g) {
                        all.push(g);
                    }
                }
                Some(Radio {
                    id: RadioId(u16::try_from(index).ok()?),
                    name: name?,
                    network,
                    serial: serial?,
                    baud: baud?,
                    identity: identity?,
                    group,
                    groups: all,
                    audio: audio?,
                    pei: pei?,
                })
            })();
            radios.push(radio);
        }
        radios
    }

    /// `[radios.pei]`: a named profile (`standard` by default) with single steps switched
    /// on or off and the vendor commands the model needs.
    fn pei_profile(&mut self, path: &KeyPath, r: &RadioFile) -> Option<PeiProfile> {
        let Some(raw) = &r.pei else {
            return Some(PeiProfile::STANDARD);
        };
        if r.serial.is_none() {
            self.add(
                path.clone(),
                Some(raw.span()),
                ProblemKind::BadValue(
                    "a radio without `serial` has no PEI to initialise; remove `[radios.pei]`"
                        .into(),
                ),
            );
            return None;
        }
        let p = raw.get_ref();
        let mut ok = true;
        let mut profile = match &p.profile {
            None => PeiProfile::STANDARD,
            Some(name) => PeiProfile::named(name.get_ref()).unwrap_or_else(|| {
                self.add(
                    path.key("profile"),
                    Some(name.span()),
                    ProblemKind::BadValue(format!(
                        "unknown PEI profile `{}`; known: {}",
                        name.get_ref(),
                        PeiProfile::NAMES.join(", ")
                    )),
                );
                ok = false;
                PeiProfile::STANDARD
            }),
        };
        let steps = [
            (&p.numeric_errors, &mut profile.numeric_errors),
            (&p.trunked_mode, &mut profile.trunked_mode),
            (&p.route_status, &mut profile.route_status),
            (&p.route_lip, &mut profile.route_lip),
            (&p.identification, &mut profile.identification),
            (&p.registration, &mut profile.registration),
            (&p.static_identities, &mut profile.static_identities),
        ];
        for (value, slot) in steps {
            if let Some(v) = value {
                *slot = *v.get_ref();
            }
        }
        let extra = p.extra.as_deref().unwrap_or_default();
        if extra.len() > MAX_EXTRA {
            self.add(
                path.key("extra"),
                extra.get(MAX_EXTRA).map(Spanned::span),
                ProblemKind::BadValue(format!(
                    "{} vendor commands; at most {MAX_EXTRA} are sent",
                    extra.len()
                )),
            );
            ok = false;
        }
        for (i, command) in extra.iter().enumerate() {
            match PeiProfile::check_extra(command.get_ref()) {
                Ok(()) => profile.extra.push(command.get_ref().clone()),
                Err(why) => {
                    self.add(
                        path.key("extra").index(i),
                        Some(command.span()),
                        ProblemKind::BadValue(format!("`{}`: {why}", command.get_ref())),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(profile)
    }

    fn udp(
        &mut self,
        path: &KeyPath,
        udp: &Spanned<UdpFile>,
        listens: &mut HashMap<SocketAddr, (KeyPath, Range<usize>)>,
    ) -> Option<AudioPart> {
        let u = udp.get_ref();
        let listen = self.socket_addr(path.key("listen"), &u.listen);
        let listen = listen.filter(|l| {
            self.unique(
                listens,
                *l,
                "UDP listen address",
                l.to_string(),
                path.key("listen"),
                u.listen.span(),
            )
        });
        let peer = self.socket_addr(path.key("peer"), &u.peer);
        Some(AudioPart::Udp(UdpAudio {
            listen: listen?,
            peer: peer?,
            format: u.format.get_ref().0,
        }))
    }

    pub(super) fn board(
        &mut self,
        raw: &Spanned<BoardFile>,
        raw_radios: &Section<RadioFile>,
        radios: &[Option<Radio>],
    ) -> Option<Board> {
        let path = KeyPath::root().key("board");
        let b = raw.get_ref();
        let serial = self.device(path.key("serial"), &b.serial);
        // The board's device must not be a radio's too.
        let serial = serial.filter(|s| {
            let clash = raw_radios.items.iter().enumerate().find_map(|(i, r)| {
                let serial = r.as_ref()?.get_ref().serial.as_ref()?;
                (Path::new(serial.get_ref()) == s.as_path()).then(|| {
                    (
                        KeyPath::root().key("radios").index(i).key("serial"),
                        serial.span(),
                    )
                })
            });
            match clash {
                Some((key, span)) => {
                    let first = self.place(&key, span);
                    self.add(
                        path.key("serial"),
                        Some(b.serial.span()),
                        ProblemKind::Duplicate {
                            what: "serial device",
                            value: s.display().to_string(),
                            first,
                        },
                    );
                    false
                }
                None => true,
            }
        });
        let baud = self.baud(path.key("baud"), b.baud.as_ref(), DEFAULT_BOARD_BAUD);
        let by_name: HashMap<&str, usize> = raw_radios
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((r.as_ref()?.get_ref().name.get_ref().as_str(), i)))
            .collect();
        let known = raw_radios
            .items
            .iter()
            .flatten()
            .map(|r| format!("`{}`", r.get_ref().name.get_ref()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut port_numbers = HashMap::new();
        let mut driven = HashMap::new();
        let mut ports = Vec::with_capacity(b.ports.len());
        let mut ports_ok = true;
        for (index, item) in b.ports.iter().enumerate() {
            let path = path.key("ports").index(index);
            let p = item.get_ref();
            let last = PORTS as i64 - 1;
            let port = self
                .int(
                    path.key("port"),
                    &p.port,
                    0..=last,
                    &format!("a board port, 0-{last}"),
                )
                .and_then(|n| Port::new(n as u8))
                .filter(|port| {
                    self.unique(
                        &mut port_numbers,
                        *port,
                        "board port",
                        port.get().to_string(),
                        path.key("port"),
                        p.port.span(),
                    )
                });
            let name = p.radio.get_ref();
            let radio = match by_name.get(name.as_str()) {
                Some(&i) => Some(i),
                None => {
                    // A radio that failed to read may be the one meant: say nothing more.
                    if raw_radios.complete {
                        self.add(
                            path.key("radio"),
                            Some(p.radio.span()),
                            ProblemKind::UnknownRadio {
                                name: name.clone(),
                                known: known.clone(),
                            },
                        );
                    }
                    None
                }
            };
            let radio = radio.filter(|i| {
                self.unique(
                    &mut driven,
                    *i,
                    "radio",
                    name.clone(),
                    path.key("radio"),
                    p.radio.span(),
                )
            });
            let with_pei = radio.and_then(|i| radios.get(i)?.as_ref().map(|r| r.serial.is_some()));
            if let (Some(true), Some(delay)) = (with_pei, p.grant_delay.as_ref()) {
                self.add(
                    path.key("grant_delay"),
                    Some(delay.span()),
                    ProblemKind::BadValue(format!(
                        "radio `{name}` has a PEI port, which reports its grant: grant_delay is for a radio without PEI"
                    )),
                );
                ports_ok = false;
            }
            let grant_delay = self.duration(
                path.key("grant_delay"),
                p.grant_delay.as_ref(),
                crate::config::DEFAULT_LINE_GRANT_DELAY,
                Duration::ZERO..=Duration::from_secs(2),
            );
            let radio = radio.and_then(|i| radios.get(i)?.as_ref().map(|r| r.id));
            match (port, radio, grant_delay) {
                (Some(port), Some(radio), Some(grant_delay)) => ports.push(BoardPort {
                    port,
                    radio,
                    ptt: p.ptt.as_ref().map(|v| v.get_ref().0).unwrap_or_default(),
                    cor: p.cor.as_ref().map(|v| v.get_ref().0).unwrap_or_default(),
                    grant_delay,
                }),
                _ => ports_ok = false,
            }
        }
        if !ports_ok {
            return None;
        }
        Some(Board {
            serial: serial?,
            baud: baud?,
            ports,
        })
    }
}

/// An audio backend before it is known whether the rest of the radio is valid.
enum AudioPart {
    Alsa(String),
    Udp(UdpAudio),
}
