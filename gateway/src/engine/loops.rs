//! Loop prevention (invariant 3: a voice stream never returns to the network it came from,
//! whatever the number of gateways on the same groups).
//!
//! Four rules, applied by [`routing`](super::routing), the floor and the receive path:
//!
//! 1. **Never back to the origin network.** A stream is never transmitted by a radio on the
//!    network it came from ([`returns_to_origin`]). Joining two groups of the *same* network
//!    is the SwMI's own business (its dispatch patching); borderlink only bridges between
//!    networks, so within a network there is nothing for it to carry and every copy would
//!    be an echo.
//! 2. **Ignore other gateways' transmissions.** A call heard by a gateway radio whose talker is
//!    one of the system's gateway radios is another gateway relaying a stream already on IP;
//!    relaying it again would loop ([`GatewayIdentities`]).
//! 3. **Each destination group once.** When several sites have a radio on the same group,
//!    exactly one of them — the [`designated_forwarder`] — transmits into it, so the group
//!    does not hear the stream twice, and no second gateway radio keys up on it (which rule 2
//!    would have to catch). Together with split horizon on peer links (a stream from a peer
//!    is never sent to another peer, see [`routing`](super::routing)), a stream crosses IP at
//!    most once per site and reaches each group once.
//! 4. **Each over once.** Several gateways with a radio on the same group all capture the same
//!    over, each as a stream of its own. The lowest site's capture is the one relayed; the
//!    others repeat it ([`Claim::repeats`](super::stream::Claim::repeats)) and the floor bars
//!    them. A gateway holds its capture back while a lower site may still show its own (the
//!    engine's `capture_hold`, one per lower site), so a repeat never keys a transmitter, and
//!    sends its transmissions' first and last packets three times, so a short over still
//!    shows under loss.

use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::voice::SiteId;

use super::patch::Channel;

/// The identities (TSIs) of every gateway radio in the system, from the config; a call
/// whose talker is one of them is another gateway relaying, never a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayIdentities {
    /// Sorted and deduplicated, for an allocation-free binary search per call.
    sorted: Vec<Tsi>,
}

impl GatewayIdentities {
    /// The set of these identities (order and repeats do not matter).
    pub fn new(identities: impl IntoIterator<Item = Tsi>) -> Self {
        let mut sorted: Vec<Tsi> = identities.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        GatewayIdentities { sorted }
    }

    /// Whether a call with this talker must be ignored (loop rule 2). An unknown talker is
    /// not a gateway: the SwMI does not always send the talking party identity, and silence
    /// is worse than the echo rule 1 and rule 3 already prevent.
    pub fn is_gateway_talker(&self, talker: Option<Tsi>) -> bool {
        talker.is_some_and(|t| self.contains(t))
    }

    /// Whether this identity is a gateway radio's.
    pub fn contains(&self, tsi: Tsi) -> bool {
        self.sorted.binary_search(&tsi).is_ok()
    }

    /// Number of distinct identities.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no identity is known.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
}

impl FromIterator<Tsi> for GatewayIdentities {
    fn from_iter<I: IntoIterator<Item = Tsi>>(iter: I) -> Self {
        GatewayIdentities::new(iter)
    }
}

/// Whether transmitting on `network` would send a stream back to its origin network (loop
/// rule 1). A console's stream (`origin_network` `None`) has no origin network.
pub fn returns_to_origin(origin_network: Option<Network>, network: Network) -> bool {
    origin_network == Some(network)
}

/// The one site that transmits a stream into `(network, group)` (loop rule 3): the origin
/// site if it has a channel on that group in the patch — the stream is already there, no IP
/// hop needed — otherwise the lowest site id that has one. `None` if no channel of the patch
/// is on that group. Every site computes the same answer from the same patch definition,
/// without talking to the others. Allocation-free.
pub fn designated_forwarder(
    channels: &[Channel],
    origin_site: SiteId,
    network: Network,
    group: Tsi,
) -> Option<SiteId> {
    let mut lowest: Option<SiteId> = None;
    for c in channels
        .iter()
        .filter(|c| c.network == network && c.group == group)
    {
        if c.site == origin_site {
            return Some(origin_site);
        }
        lowest = Some(lowest.map_or(c.site, |l| l.min(c.site)));
    }
    lowest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsi(mcc: u16, ssi: u32) -> Tsi {
        Tsi::from_parts(mcc, 1, ssi).unwrap()
    }

    fn ch(site: u16, network: Network, group: Tsi) -> Channel {
        Channel {
            site: SiteId(site),
            network,
            group,
        }
    }

    #[test]
    fn gateway_talkers_are_recognised_and_unknown_talkers_are_not() {
        let a = tsi(206, 9_000_001);
        let b = tsi(204, 9_000_002);
        let ids = GatewayIdentities::new([b, a, b]);
        assert_eq!(ids.len(), 2);
        assert!(ids.is_gateway_talker(Some(a)));
        assert!(ids.is_gateway_talker(Some(b)));
        // Same SSI on the other network is a different radio.
        assert!(!ids.is_gateway_talker(Some(tsi(204, 9_000_001))));
        assert!(!ids.is_gateway_talker(Some(tsi(206, 1_234_567))));
        assert!(!ids.is_gateway_talker(None));
        assert!(!GatewayIdentities::default().is_gateway_talker(Some(a)));
        let collected: GatewayIdentities = [a].into_iter().collect();
        assert!(collected.contains(a) && !collected.contains(b));
    }

    #[test]
    fn only_the_origin_network_is_refused() {
        assert!(returns_to_origin(Some(Network::Astrid), Network::Astrid));
        assert!(!returns_to_origin(Some(Network::Astrid), Network::C2000));
        assert!(returns_to_origin(Some(Network::C2000), Network::C2000));
        assert!(!returns_to_origin(None, Network::Astrid));
        assert!(!returns_to_origin(None, Network::C2000));
    }

    #[test]
    fn forwarder_is_the_origin_site_if_it_has_the_group_else_the_lowest() {
        let x = tsi(206, 2_061_001);
        let y = tsi(204, 2_040_551);
        let channels = [
            ch(3, Network::Astrid, x),
            ch(2, Network::Astrid, x),
            ch(3, Network::C2000, y),
            ch(5, Network::C2000, y),
        ];
        let fwd = |origin, n, g| designated_forwarder(&channels, SiteId(origin), n, g);
        assert_eq!(fwd(3, Network::Astrid, x), Some(SiteId(3)));
        assert_eq!(fwd(5, Network::Astrid, x), Some(SiteId(2)));
        assert_eq!(fwd(5, Network::C2000, y), Some(SiteId(5)));
        assert_eq!(fwd(2, Network::C2000, y), Some(SiteId(3)));
        // A group outside the patch, or the right SSI on the wrong network, has none.
        assert_eq!(fwd(2, Network::C2000, tsi(204, 1)), None);
        assert_eq!(fwd(2, Network::Astrid, y), None);
    }
}
