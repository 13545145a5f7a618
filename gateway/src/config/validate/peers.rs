//! `[network]`, `[[peers]]` and `gateway_radios`: the voice socket, the other sites and their
//! radios.

use std::collections::HashMap;
use std::path::PathBuf;

use borderlink_protocol::ids::Tsi;
use borderlink_protocol::time::Duration;
use toml::Spanned;

use super::{Report, Section};
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{Digits, NetworkFile, PeerFile};
use crate::config::{NetworkSettings, Peer, Site};
use crate::net::Suite;

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
            let key_file = self.key_file(path.key("key_file"), &p.key_file);
            let suite = p.suite.as_ref().map_or(Suite::default(), |s| s.get_ref().0);
            peers.push((|| {
                Some(Peer {
                    site: id?,
                    name: name?,
                    address: address?,
                    key_file: key_file?,
                    suite,
                })
            })());
        }
        peers
    }
}

impl Report<'_> {
    /// `[network]`, every key with its default.
    pub(super) fn network(
        &mut self,
        raw: Option<&Spanned<NetworkFile>>,
    ) -> Option<NetworkSettings> {
        let empty = NetworkFile::default();
        let n = raw.map_or(&empty, |r| r.get_ref());
        let path = KeyPath::root().key("network");
        let d = NetworkSettings::default();
        let listen = match &n.listen {
            Some(v) => self.socket_addr(path.key("listen"), v),
            None => Some(d.listen),
        };
        let keepalive = self.duration(
            path.key("keepalive"),
            n.keepalive.as_ref(),
            d.keepalive,
            Duration::from_millis(100)..=Duration::from_secs(60),
        );
        let down_after = match &n.down_after {
            Some(v) => self
                .int(
                    path.key("down_after"),
                    v,
                    2..=100,
                    "a number of keepalive intervals, 2-100",
                )
                .map(|v| v as u32),
            None => Some(d.down_after),
        };
        let dscp = match &n.dscp {
            Some(v) => self
                .int(
                    path.key("dscp"),
                    v,
                    0..=63,
                    "a DSCP code point, 0-63 (46 is EF)",
                )
                .map(|v| v as u8),
            None => Some(d.dscp),
        };
        let socket_buffer = match &n.socket_buffer {
            Some(v) => self
                .int(
                    path.key("socket_buffer"),
                    v,
                    65_536..=67_108_864,
                    "a size in bytes, 65536-67108864",
                )
                .map(|v| v as usize),
            None => Some(d.socket_buffer),
        };
        let max_streams_per_peer = match &n.max_streams_per_peer {
            Some(v) => self
                .int(
                    path.key("max_streams_per_peer"),
                    v,
                    1..=1024,
                    "a number of streams, 1-1024",
                )
                .map(|v| v as usize),
            None => Some(d.max_streams_per_peer),
        };
        Some(NetworkSettings {
            listen: listen?,
            keepalive: keepalive?,
            down_after: down_after?,
            dscp: dscp?,
            socket_buffer: socket_buffer?,
            max_streams_per_peer: max_streams_per_peer?,
        })
    }

    /// A peer's key file: an absolute path (the daemon reads it at start; its mode and
    /// content are checked then).
    fn key_file(&mut self, key: KeyPath, value: &Spanned<String>) -> Option<PathBuf> {
        let text = value.get_ref();
        if text.trim().is_empty() {
            self.add(key, Some(value.span()), ProblemKind::Blank);
            return None;
        }
        if !text.starts_with('/') {
            self.add(
                key,
                Some(value.span()),
                ProblemKind::BadValue(format!(
                    "`{text}` is not an absolute path: expected the key file's full path, e.g. \"/etc/borderlink/keys/site-b.key\""
                )),
            );
            return None;
        }
        Some(PathBuf::from(text))
    }
}
