//! How the real-time mode carries out a dispatcher's patch changes on the running daemons:
//! through each site's control API ([`HttpApi`]), as a dispatch centre does
//! (`docs/api.md`). The scenario's static patches go into the configuration files.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use borderlink_protocol::ids::TsiForm;

use crate::scenario::PatchDef;

/// Patch changes on the running gateways.
pub trait Dispatch {
    /// Creates a patch at every site it concerns; `Err` says why it could not be done.
    fn create(&mut self, patch: &PatchDef) -> Result<(), String>;
    /// Removes a patch where it was created.
    fn remove(&mut self, name: &str) -> Result<(), String>;
}

/// One site's API.
#[derive(Debug, Clone)]
pub struct SiteApi {
    /// The site id.
    pub site: u16,
    /// Where its API listens.
    pub listen: SocketAddr,
    /// A token from its token file.
    pub token: String,
}

/// The dispatcher of the real-time mode: HTTP requests to each site's control API.
#[derive(Debug)]
pub struct HttpApi {
    sites: Vec<SiteApi>,
    /// Which sites each patch was created at, with its id there.
    created: BTreeMap<String, Vec<(usize, u32)>>,
    /// Which of a patch's channels a site gets (all of them with peer links).
    select: fn(&PatchDef, u16) -> Option<PatchDef>,
    agent: ureq::Agent,
}

impl HttpApi {
    /// A dispatcher for these sites; `select` says what part of a patch each site gets.
    pub fn new(sites: Vec<SiteApi>, select: fn(&PatchDef, u16) -> Option<PatchDef>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(StdDuration::from_secs(2)))
            .build()
            .into();
        HttpApi {
            sites,
            created: BTreeMap::new(),
            select,
            agent,
        }
    }

    fn call(
        &self,
        site: &SiteApi,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        let url = format!("http://{}{path}", site.listen);
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", format!("Bearer {}", site.token));
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(body.unwrap_or_default())
            .map_err(|e| e.to_string())?;
        // A daemon that has just started may not listen yet: a few quick retries.
        let mut last = String::new();
        for _ in 0..10 {
            match self.agent.run(request.clone()) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let text = response
                        .body_mut()
                        .read_to_string()
                        .map_err(|e| e.to_string())?;
                    return Ok((status, text));
                }
                Err(e) => {
                    last = e.to_string();
                    std::thread::sleep(StdDuration::from_millis(50));
                }
            }
        }
        Err(format!("site {} API {url}: {last}", site.site))
    }
}

/// A patch as the API's JSON body.
fn body(patch: &PatchDef) -> String {
    let channels: Vec<serde_json::Value> = patch
        .channels
        .iter()
        .map(|c| {
            serde_json::json!({
                "site": c.site.0,
                "network": c.network.name(),
                "group": c.group.pei(TsiForm::Long).to_string(),
            })
        })
        .collect();
    serde_json::json!({ "name": patch.name, "channels": channels }).to_string()
}

impl Dispatch for HttpApi {
    fn create(&mut self, patch: &PatchDef) -> Result<(), String> {
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for (i, site) in self.sites.iter().enumerate() {
            let Some(part) = (self.select)(patch, site.site) else {
                continue;
            };
            match self.call(site, "POST", "/api/v1/patches", Some(body(&part))) {
                Ok((201, text)) => {
                    let id = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
                    match id {
                        Some(id) => done.push((i, id as u32)),
                        None => errors.push(format!("site {}: no id in {text}", site.site)),
                    }
                }
                Ok((status, text)) => errors.push(format!("site {}: {status} {text}", site.site)),
                Err(e) => errors.push(e),
            }
        }
        self.created.insert(patch.name.clone(), done);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn remove(&mut self, name: &str) -> Result<(), String> {
        let Some(created) = self.created.remove(name) else {
            return Err("it was never created".to_string());
        };
        let mut errors = Vec::new();
        for (i, id) in created {
            let site = &self.sites[i];
            match self.call(site, "DELETE", &format!("/api/v1/patches/{id}"), None) {
                Ok((200..=299, _)) => {}
                Ok((status, text)) => errors.push(format!("site {}: {status} {text}", site.site)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn the_body_names_groups_in_pei_digits_and_networks_by_name() {
        let s = Scenario::border();
        let patch = match &s.events[0].action {
            crate::scenario::Action::Patch(p) => p.clone(),
            other => panic!("{other:?}"),
        };
        let v: serde_json::Value = serde_json::from_str(&body(&patch)).unwrap();
        assert_eq!(v["name"], "Hazeldonk pursuit");
        assert_eq!(v["channels"][1]["network"], "C2000");
        assert_eq!(v["channels"][1]["group"], "02040000102040551");
        assert_eq!(v["channels"][2]["site"], 2);
    }
}
