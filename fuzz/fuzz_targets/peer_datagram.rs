//! The peer-link receive path as an attacker at a peer's address meets it: epoch trailer,
//! header checks, replay window, SRTP/SRTCP authentication under the epoch's derived key,
//! voice or keepalive parse, origin and freshness. It never panics, and it never delivers what
//! the peer did not protect: the input is either sent as it is (which cannot authenticate) or
//! used to damage a genuine packet of the peer's, and any delivery must then be that packet's
//! plaintext, byte for byte.
#![no_main]

use std::net::SocketAddr;

use borderlink_gateway::net::epoch::{KeyEpoch, derive};
use borderlink_gateway::net::srtp::SrtpSend;
use borderlink_gateway::net::{LinkConfig, MasterKey, PeerLinks, PeerSpec, Suite};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{
    KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState,
    VoiceRepr,
};
use libfuzzer_sys::fuzz_target;

const WALL_MS: u64 = 1_765_000_000_000;
const PEER: SiteId = SiteId(2);

fn key(suite: Suite, byte: u8) -> MasterKey {
    MasterKey::new(suite, &vec![byte; suite.key_len() + suite.salt_len()]).unwrap()
}

fn peer_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5202))
}

fn plain_voice() -> Vec<u8> {
    let frame = [0x55u8; 160];
    let repr = VoiceRepr {
        sequence: 3,
        timestamp: 480,
        ssrc: 0x0020_0009,
        radio: RadioHeader {
            tx: TxState::Start,
            squelch_open: true,
            emergency: false,
            priority: Priority::new(3).unwrap(),
            talker: Some(Tsi::from_parts(204, 1, 2_040_123).unwrap()),
            talkgroup: Tsi::from_parts(204, 1, 2_040_551).unwrap(),
            origin: Origin {
                site: PEER,
                network: Some(Network::C2000),
            },
            stream: StreamId(9),
            started: KeyUpTime(WALL_MS - 1_000),
        },
        payload: &frame,
    };
    let mut buf = [0u8; MAX_PACKET_LEN];
    let len = repr.emit(&mut buf).unwrap();
    buf[..len].to_vec()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let suite = if mode & 1 == 0 {
        Suite::AeadAes128Gcm
    } else {
        Suite::AesCm128HmacSha1_80
    };
    let now = Instant::from_millis(10_000);
    let mut links = PeerLinks::new(
        now,
        LinkConfig {
            site: SiteId(1),
            keepalive: Duration::from_secs(1),
            down_after: 5,
            keepalive_ssrc: 1,
            epoch: KeyEpoch([1; 8]),
        },
        vec![PeerSpec {
            site: PEER,
            name: "peer".into(),
            address: peer_addr().to_string(),
            send: key(suite, 0x12),
            receive: key(suite, 0x21),
        }],
    );
    let _ = links.poll_resolve(now);
    links.set_addresses(now, PEER, vec![peer_addr()]);

    let plain = plain_voice();
    let datagram = if mode & 2 == 0 {
        // As it is: nothing can authenticate without the key.
        rest.to_vec()
    } else {
        // A genuine packet of the peer's run, damaged by (position, xor) pairs from the input.
        let epoch = KeyEpoch([7; 8]);
        let mut out = Vec::new();
        SrtpSend::new(derive(&key(suite, 0x21), epoch))
            .protect_rtp(now, &plain, &mut out)
            .unwrap();
        out.extend_from_slice(&epoch.0);
        for pair in rest.chunks_exact(2) {
            let at = usize::from(pair[0]) % out.len();
            out[at] ^= pair[1];
        }
        if let Some(&cut) = rest.last().filter(|_| rest.len() % 2 == 1) {
            out.truncate(out.len().saturating_sub(usize::from(cut)));
        }
        out
    };
    for _ in 0..2 {
        if let Some(delivery) = links.handle_datagram(now, WALL_MS, peer_addr(), &datagram) {
            assert_eq!(delivery.site, PEER);
            assert_eq!(
                &delivery.packet[..],
                &plain[..],
                "delivered something the peer never protected"
            );
        }
    }
    // The same datagram twice is one delivery at most: the second is a duplicate.
    let counters = links.status(now)[0].counters;
    assert!(counters.voice_in <= 1, "{counters:?}");
});
