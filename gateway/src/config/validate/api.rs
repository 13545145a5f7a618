//! `[api]` (the control API) and `[state]` (where dynamic patches are kept).

use std::path::PathBuf;

use toml::Spanned;

use super::Report;
use crate::config::error::KeyPath;
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
        Some(Api {
            listen: listen?,
            token_file: token_file?,
            audit_log: audit_log?,
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
