//! `[[peers]]` and `gateway_radios`: the other sites and their radios.

use std::collections::HashMap;

use borderlink_protocol::ids::Tsi;

use super::{Report, Section};
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{Digits, PeerFile};
use crate::config::{Peer, Site};

impl Report<'_> {
    pub(super) fn gateway_radios(&mut self, raw: &Section<Digits>) -> Option<Vec<Tsi>> {
        let mut all = Vec::with_capacity(raw.items.len());
        let mut ok = raw.complete;
        for (index, item) in raw.items.iter().enumerate() {
            let Some(item) = item else { continue };
            match self.tsi(
                KeyPath::root().key("gateway_radios").index(index),
                item,
                None,
            ) {
                Some(tsi) => all.push(tsi),
                None => ok = false,
            }
        }
        ok.then_some(all)
    }

    pub(super) fn peers(
        &mut self,
        raw: &Section<PeerFile>,
        site: Option<&Site>,
    ) -> Vec<Option<Peer>> {
        let mut ids = HashMap::new();
        let mut names = HashMap::new();
        let mut addresses = HashMap::new();
        let mut peers = Vec::with_capacity(raw.items.len());
        for (index, item) in raw.items.iter().enumerate() {
            let Some(item) = item else {
                peers.push(None);
                continue;
            };
            let path = KeyPath::root().key("peers").index(index);
            let p = item.get_ref();
            let id = self.site_id(path.key("site"), &p.site);
            let id = id.filter(|id| {
                if site.is_some_and(|s| s.id == *id) {
                    self.add(
                        path.key("site"),
                        Some(p.site.span()),
                        ProblemKind::OwnSite(id.0),
                    );
                    return false;
                }
                self.unique(
                    &mut ids,
                    *id,
                    "peer site id",
                    id.0.to_string(),
                    path.key("site"),
                    p.site.span(),
                )
            });
            let name = self.name(path.key("name"), &p.name).filter(|n| {
                self.unique(
                    &mut names,
                    n.clone(),
                    "peer name",
                    n.clone(),
                    path.key("name"),
                    p.name.span(),
                )
            });
            let address = self.host_port(path.key("address"), &p.address).filter(|a| {
                self.unique(
                    &mut addresses,
                    a.to_ascii_lowercase(),
                    "peer address",
                    a.clone(),
                    path.key("address"),
                    p.address.span(),
                )
            });
            peers.push((|| {
                Some(Peer {
                    site: id?,
                    name: name?,
                    address: address?,
                })
            })());
        }
        peers
    }
}
