//! How the real-time mode carries out a dispatcher's patch changes on the running daemons.
//!
//! The daemon's control API (HTTP on 127.0.0.1) is not there yet, so [`ConfigOnly`] writes
//! every patch a scenario will ever create into the configuration from the start and cannot
//! remove one. When the API lands, an implementation of [`Dispatch`] that sends the create and
//! remove requests to each site takes its place in `realtime::run`; nothing else changes.

use crate::scenario::PatchDef;

/// Patch changes on the running gateways.
pub trait Dispatch {
    /// Creates a patch at every site; `Err` says why it could not be done.
    fn create(&mut self, patch: &PatchDef) -> Result<(), String>;
    /// Removes a patch at every site.
    fn remove(&mut self, name: &str) -> Result<(), String>;
    /// The patches to write into the configuration files at start.
    fn configured(&self) -> Vec<PatchDef>;
}

/// No control API: every patch is in the configuration from the start.
#[derive(Debug, Clone)]
pub struct ConfigOnly {
    patches: Vec<PatchDef>,
}

impl ConfigOnly {
    /// All the patches the run will create (static and dispatched).
    pub fn new(patches: Vec<PatchDef>) -> Self {
        ConfigOnly { patches }
    }
}

impl Dispatch for ConfigOnly {
    fn create(&mut self, _patch: &PatchDef) -> Result<(), String> {
        // Already configured at start; the gateways relay it from then on.
        Ok(())
    }

    fn remove(&mut self, _name: &str) -> Result<(), String> {
        Err("no control API yet: the patch stays configured until the run ends".to_string())
    }

    fn configured(&self) -> Vec<PatchDef> {
        self.patches.clone()
    }
}
