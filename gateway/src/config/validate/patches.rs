//! `[[patches]]`: each static patch as the engine's `PatchSpec`, checked by the engine's own
//! rules and by the rules this file adds (a local channel needs a local radio, every site is
//! known, a talkgroup is in one patch).

use std::collections::HashMap;
use std::ops::Range;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::voice::SiteId;
use toml::Spanned;

use super::{RawFile, Report};
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{ChannelFile, ConsoleFile, PatchFile};
use crate::config::{Peer, Radio, Site};
use crate::engine::endpoint::ConsoleId;
use crate::engine::patch::{Channel, PatchError, PatchKind, PatchSpec, SiteConsole};

impl Report<'_> {
    pub(super) fn patches(
        &mut self,
        raw: &RawFile,
        site: Option<&Site>,
        radios: &[Option<Radio>],
        peers: &[Option<Peer>],
    ) -> Option<Vec<PatchSpec>> {
        // Which sites a channel or console may name, when that is known for certain.
        let known_sites: Option<Vec<SiteId>> = match site {
            Some(site) if raw.peers.complete && peers.iter().all(Option::is_some) => Some(
                std::iter::once(site.id)
                    .chain(peers.iter().flatten().map(|p| p.site))
                    .collect(),
            ),
            _ => None,
        };
        let radios_known = raw.radios.complete && radios.iter().all(Option::is_some);
        let mut names = HashMap::new();
        let mut groups: HashMap<Tsi, (usize, String)> = HashMap::new();
        let mut specs = Vec::with_capacity(raw.patches.items.len());
        let mut ok = raw.patches.complete;
        for (index, item) in raw.patches.items.iter().enumerate() {
            let Some(item) = item else { continue };
            let path = KeyPath::root().key("patches").index(index);
            let p = item.get_ref();
            let name = self.name(path.key("name"), &p.name).filter(|n| {
                self.unique(
                    &mut names,
                    n.clone(),
                    "patch name",
                    n.clone(),
                    path.key("name"),
                    p.name.span(),
                )
            });
            let mut channels = Vec::with_capacity(p.channels.len());
            for (i, c) in p.channels.iter().enumerate() {
                channels.push(self.channel(&path.key("channels").index(i), c));
            }
            let mut consoles = Vec::with_capacity(p.consoles.len());
            for (i, c) in p.consoles.iter().enumerate() {
                consoles.push(self.console(&path.key("consoles").index(i), c));
            }
            let lifetime = p
                .lifetime
                .as_ref()
                .map(|d| self.any_duration(path.key("lifetime"), d));
            let inactivity_timeout = p
                .inactivity_timeout
                .as_ref()
                .map(|d| self.any_duration(path.key("inactivity_timeout"), d));

            // Rules this file adds to the engine's: a local channel needs a local radio, a
            // site must be known, and a group belongs to one patch.
            for (i, channel) in channels.iter().enumerate() {
                let Some(channel) = channel else { continue };
                let raw_channel = p.channels[i].get_ref();
                let channel_path = path.key("channels").index(i);
                if let Some(site) = site
                    && channel.site == site.id
                    && radios_known
                    && !radios
                        .iter()
                        .flatten()
                        .any(|r| r.network == channel.network && r.group == channel.group)
                {
                    self.add(
                        channel_path.clone(),
                        Some(p.channels[i].span()),
                        ProblemKind::ChannelNotServed(*channel),
                    );
                }
                self.known_site(
                    known_sites.as_deref(),
                    site,
                    channel.site,
                    channel_path.key("site"),
                    raw_channel.site.span(),
                );
                if let Some(name) = &name {
                    match groups.get(&channel.group) {
                        Some((other, other_name)) if *other != index => {
                            self.add(
                                channel_path.key("group"),
                                Some(raw_channel.group.span()),
                                ProblemKind::GroupInTwoPatches {
                                    group: channel.group,
                                    other: other_name.clone(),
                                },
                            );
                        }
                        Some(_) => {}
                        None => {
                            groups.insert(channel.group, (index, name.clone()));
                        }
                    }
                }
            }
            for (i, console) in consoles.iter().enumerate() {
                let Some(console) = console else { continue };
                self.known_site(
                    known_sites.as_deref(),
                    site,
                    console.site,
                    path.key("consoles").index(i).key("site"),
                    p.consoles[i].get_ref().site.span(),
                );
            }

            let spec = (|| {
                Some(PatchSpec {
                    name: name?,
                    channels: channels.into_iter().collect::<Option<Vec<_>>>()?,
                    consoles: consoles.into_iter().collect::<Option<Vec<_>>>()?,
                    lifetime: lifetime.map_or(Some(None), |d| d.map(Some))?,
                    inactivity_timeout: inactivity_timeout.map_or(Some(None), |d| d.map(Some))?,
                    kind: PatchKind::Static,
                })
            })();
            let Some(spec) = spec else {
                ok = false;
                continue;
            };
            match spec.validate() {
                Ok(()) => specs.push(spec),
                Err(error) => {
                    let (key, span) = patch_error_place(&path, item, &error);
                    self.add(key, Some(span), ProblemKind::Patch(error));
                    ok = false;
                }
            }
        }
        ok.then_some(specs)
    }

    pub(super) fn channel(
        &mut self,
        path: &KeyPath,
        raw: &Spanned<ChannelFile>,
    ) -> Option<Channel> {
        let c = raw.get_ref();
        let site = self.site_id(path.key("site"), &c.site);
        // The MCC is checked against the network by PatchSpec::validate.
        let group = self.tsi_any(path.key("group"), &c.group);
        Some(Channel {
            site: site?,
            network: c.network.get_ref().0,
            group: group?,
        })
    }

    pub(super) fn console(
        &mut self,
        path: &KeyPath,
        raw: &Spanned<ConsoleFile>,
    ) -> Option<SiteConsole> {
        let c = raw.get_ref();
        let site = self.site_id(path.key("site"), &c.site);
        let console = self.int(
            path.key("console"),
            &c.console,
            0..=i64::from(u16::MAX),
            "a console id, 0-65535",
        );
        Some(SiteConsole {
            site: site?,
            console: ConsoleId(console? as u16),
        })
    }

    pub(super) fn known_site(
        &mut self,
        known: Option<&[SiteId]>,
        own: Option<&Site>,
        site: SiteId,
        key: KeyPath,
        span: Range<usize>,
    ) {
        if let (Some(known), Some(own)) = (known, own)
            && !known.contains(&site)
        {
            self.add(
                key,
                Some(span),
                ProblemKind::UnknownSite {
                    site: site.0,
                    own: own.id.0,
                },
            );
        }
    }
}

/// The key and span a patch definition error belongs to.
fn patch_error_place(
    path: &KeyPath,
    raw: &Spanned<PatchFile>,
    error: &PatchError,
) -> (KeyPath, Range<usize>) {
    let p = raw.get_ref();
    let whole = (path.clone(), raw.span());
    let channel = |index: usize, group: bool| {
        p.channels.get(index).map_or(whole.clone(), |c| {
            let key = path.key("channels").index(index);
            if group {
                (key.key("group"), c.get_ref().group.span())
            } else {
                (key, c.span())
            }
        })
    };
    match error {
        PatchError::EmptyName => (path.key("name"), p.name.span()),
        PatchError::GroupNotInNetwork { index, .. } => channel(*index, true),
        PatchError::DuplicateChannel { index, .. } | PatchError::ChannelInUse { index, .. } => {
            channel(*index, false)
        }
        PatchError::DuplicateConsole { index, .. } => {
            p.consoles.get(*index).map_or(whole.clone(), |c| {
                (path.key("consoles").index(*index), c.span())
            })
        }
        PatchError::ZeroLifetime { .. } => p
            .lifetime
            .as_ref()
            .map_or(whole.clone(), |d| (path.key("lifetime"), d.span())),
        PatchError::ZeroInactivityTimeout { .. } => {
            p.inactivity_timeout.as_ref().map_or(whole.clone(), |d| {
                (path.key("inactivity_timeout"), d.span())
            })
        }
        _ => whole,
    }
}
