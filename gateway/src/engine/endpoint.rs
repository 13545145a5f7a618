//! Who audio comes from and goes to: local radios, peer gateways, dispatch consoles.

use borderlink_protocol::voice::SiteId;
use serde::{Deserialize, Serialize};

/// A radio attached to this gateway (one per network, usually), by its index in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RadioId(pub u16);

/// A dispatch console connected to this gateway over IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConsoleId(pub u16);

/// Any endpoint the engine exchanges voice with. A peer gateway is named by its site id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EndpointId {
    /// A local radio.
    Radio(RadioId),
    /// The gateway of another border site.
    Peer(SiteId),
    /// A dispatch console.
    Console(ConsoleId),
}
