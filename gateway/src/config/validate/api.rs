//! `[api]` (the control API) and `[state]` (where dynamic patches are kept).

use std::path::PathBuf;

use toml::Spanned;

use super::Report;
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{ApiFile, StateFile};
use crate::config::{Api, DEFAULT_API_LISTEN};

impl Report<'_> {
    pub(super) fn api(&mut self, raw: &Spanned<ApiFile>) -> Option<Api> {
        let path = KeyPath::root().key("api");
        let a = raw.get_ref();
        let listen = match &a.listen {
            Some(v) => self.socket_addr(path.key("listen"), v),
            None => DEFAULT_API_LISTEN.parse().ok(),
        };
        let token_file = self.optional_path(path.key("token_file"), a.token_file.as_ref());
        let audit_log = self.optional_path(path.key("audit_log"), a.audit_log.as_ref());
        let mut hosts = Vec::new();
        let mut hosts_ok = true;
        for (index, host) in a.hosts.iter().flatten().enumerate() {
            match host_name(host.get_ref()) {
                Some(name) => hosts.push(name),
                None => {
                    self.add(
                        path.key("hosts").index(index),
                        Some(host.span()),
                        ProblemKind::BadValue(format!(
                            "`{}` is not a host name: give a DNS name such as \
                             \"gw-baarle.astrid.example\", without scheme, port or path",
                            host.get_ref()
                        )),
                    );
                    hosts_ok = false;
                }
            }
        }
        Some(Api {
            listen: listen?,
            token_file: token_file?,
            audit_log: audit_log?,
            hosts: hosts_ok.then_some(hosts)?,
            metrics_without_token: a
                .metrics_without_token
                .as_ref()
                .is_some_and(|m| *m.get_ref()),
        })
    }

    pub(super) fn state(&mut self, raw: &Spanned<StateFile>) -> Option<PathBuf> {
        self.device(
            KeyPath::root().key("state").key("file"),
            &raw.get_ref().file,
        )
    }

    /// An absent path is fine (`Some(None)`); a present one must be absolute.
    fn optional_path(
        &mut self,
        key: KeyPath,
        value: Option<&Spanned<String>>,
    ) -> Option<Option<PathBuf>> {
        match value {
            None => Some(None),
            Some(v) => self.device(key, v).map(Some),
        }
    }
}

/// A DNS name as a `Host` header gives it, lower case; `None` if it is not one.
fn host_name(text: &str) -> Option<String> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (!name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)).then_some(name)
}
