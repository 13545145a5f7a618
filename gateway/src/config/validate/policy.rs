//! `[policy]`: per-origin priority caps and emergency handling, per-site overrides, and the
//! home network (country) of each site's dispatch consoles.

use std::collections::HashMap;

use toml::Spanned;

use super::Report;
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{LimitsFile, PolicyFile};
use crate::engine::policy::{FloorPolicy, SiteRule, SourceKind, SourceLimits};

impl Report<'_> {
    fn limits(&mut self, path: KeyPath, raw: Option<&Spanned<LimitsFile>>) -> Option<SourceLimits> {
        let Some(raw) = raw else {
            return Some(SourceLimits::UNLIMITED);
        };
        let l = raw.get_ref();
        let max_priority = match &l.max_priority {
            Some(p) => self.priority(path.key("max_priority"), p)?,
            None => SourceLimits::UNLIMITED.max_priority,
        };
        Some(SourceLimits::new(
            max_priority,
            l.honour_emergency
                .unwrap_or(SourceLimits::UNLIMITED.honour_emergency),
        ))
    }

    pub(super) fn policy(&mut self, raw: Option<&Spanned<PolicyFile>>) -> Option<FloorPolicy> {
        let empty = PolicyFile::default();
        let p = raw.map_or(&empty, |r| r.get_ref());
        let path = KeyPath::root().key("policy");
        let astrid = self.limits(path.key("ASTRID"), p.astrid.as_ref());
        let c2000 = self.limits(path.key("C2000"), p.c2000.as_ref());
        let dispatch = self.limits(path.key("dispatch"), p.dispatch.as_ref());
        let mut seen = HashMap::new();
        let mut rules = Vec::with_capacity(p.sites.len());
        let mut homes = Vec::new();
        let mut rules_ok = true;
        for (index, item) in p.sites.iter().enumerate() {
            let path = path.key("sites").index(index);
            let r = item.get_ref();
            let site = self.site_id(path.key("site"), &r.site);
            let kind: SourceKind = r.source.get_ref().0;
            let site = site.filter(|s| {
                self.unique(
                    &mut seen,
                    (*s, kind),
                    "site rule",
                    format!("site {} {kind}", s.0),
                    path.clone(),
                    item.span(),
                )
            });
            if let Some(home) = &r.home {
                if kind == SourceKind::Dispatch {
                    if let Some(site) = site {
                        homes.push((site, home.get_ref().0));
                    }
                } else {
                    self.add(
                        path.key("home"),
                        Some(home.span()),
                        ProblemKind::BadValue(format!(
                            "`home` says which country a site's dispatch consoles belong to; \
                             it is only valid with source = \"dispatch\", not \"{kind}\""
                        )),
                    );
                    rules_ok = false;
                }
                // A rule that only declares the home sets no limits of its own.
                if r.max_priority.is_none() && r.honour_emergency.is_none() {
                    continue;
                }
            }
            let max_priority = match &r.max_priority {
                Some(v) => self.priority(path.key("max_priority"), v),
                None => Some(SourceLimits::UNLIMITED.max_priority),
            };
            match (site, max_priority) {
                (Some(site), Some(max_priority)) => rules.push(SiteRule {
                    site,
                    kind,
                    limits: SourceLimits::new(
                        max_priority,
                        r.honour_emergency
                            .unwrap_or(SourceLimits::UNLIMITED.honour_emergency),
                    ),
                }),
                _ => rules_ok = false,
            }
        }
        let policy = FloorPolicy::new(astrid?, c2000?, dispatch?);
        if !rules_ok {
            return None;
        }
        match policy
            .with_site_rules(rules)
            .and_then(|p| p.with_dispatch_homes(homes))
        {
            Ok(policy) => Some(policy),
            Err(e) => {
                // Unreachable after the duplicate check above; kept so a new rule in the
                // engine still surfaces as a config error, not a panic.
                self.add(
                    path.key("sites"),
                    raw.map(|r| r.span()),
                    ProblemKind::BadValue(e.to_string()),
                );
                None
            }
        }
    }
}
