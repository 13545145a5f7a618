//! Free addresses on loopback for the sockets a daemon under test binds (its audio, voice and
//! API ports). The probe socket is closed before the address is handed out, so another
//! process could take it in between; on a test machine that race has not been seen.

use std::net::{SocketAddr, TcpListener, UdpSocket};

/// A UDP address on 127.0.0.1 that nothing is bound to.
pub fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free UDP port")
}

/// A TCP address on 127.0.0.1 that nothing listens on.
pub fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free TCP port")
}
