//! The voice socket: one UDP socket per site, made with socket2 so that its options are set
//! before it binds, and datagram IO in batches (`recvmmsg`/`sendmmsg`) on Linux.
//!
//! - **Dual stack.** Bound to `[::]:port` it takes IPv6 and IPv4 (IPv4 peers appear as
//!   `::ffff:a.b.c.d` and are sent to the same way); bound to an IPv4 address, IPv4 only.
//! - **DSCP.** Every packet leaves marked with the configured code point (EF, 46, by default:
//!   the per-hop behaviour for voice, RFC 3246/RFC 4594), through `IP_TOS` and `IPV6_TCLASS`.
//! - **Buffers.** `SO_RCVBUF`/`SO_SNDBUF` are asked for; the kernel caps them at
//!   `net.core.rmem_max`/`wmem_max`, so what was granted is read back and reported.
//! - **Batches.** One `recvmmsg` takes up to [`BATCH`] datagrams, one `sendmmsg` sends as
//!   many; under load that divides the system calls by up to 32 (`docs/benchmarks.md`).

use std::io;
use std::net::{SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams per batched system call.
pub const BATCH: usize = 32;

/// Largest datagram read; anything longer is truncated and then refused as malformed.
pub const MAX_DATAGRAM: usize = 1500;

/// How to open the voice socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// Address to bind.
    pub listen: SocketAddr,
    /// DSCP code point for every packet sent (0-63).
    pub dscp: u8,
    /// Receive and send buffer sizes to ask for.
    pub buffer: usize,
    /// Use `recvmmsg`/`sendmmsg` (Linux); otherwise one system call per datagram.
    pub batch: bool,
}

/// What the kernel granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// The bound address (with the port, if 0 was asked for).
    pub local: SocketAddr,
    /// Receive buffer, bytes (Linux reports twice what it uses for data).
    pub recv_buffer: usize,
    /// Send buffer, bytes.
    pub send_buffer: usize,
}

/// The voice socket.
#[derive(Debug)]
pub struct PeerSocket {
    io: UdpSocket,
    /// Bound to IPv6: IPv4 destinations are written as IPv4-mapped addresses.
    v6: bool,
    /// IPv6 only: IPv4 peers cannot be reached.
    v6_only: bool,
    batch: bool,
    bufs: Vec<[u8; MAX_DATAGRAM]>,
    received: Vec<(usize, SocketAddr)>,
}

impl PeerSocket {
    /// Opens and binds the socket; must be called within a tokio runtime.
    pub fn bind(options: SocketOptions) -> io::Result<(PeerSocket, Granted)> {
        let listen = options.listen;
        let socket = Socket::new(
            Domain::for_address(listen),
            Type::DGRAM,
            Some(Protocol::UDP),
        )?;
        let v6 = listen.is_ipv6();
        let v6_only = v6 && !listen.ip().is_unspecified();
        if v6 {
            socket.set_only_v6(v6_only)?;
        }
        let tos = u32::from(options.dscp) << 2;
        if v6 {
            socket.set_tclass_v6(tos)?;
            // IPv4 packets leaving a dual-stack socket take IP_TOS; Linux accepts it there.
            if !v6_only {
                let _ = socket.set_tos_v4(tos);
            }
        } else {
            socket.set_tos_v4(tos)?;
        }
        // A smaller grant is not fatal: it is reported, and the kernel's cap is the fix.
        let _ = socket.set_recv_buffer_size(options.buffer);
        let _ = socket.set_send_buffer_size(options.buffer);
        socket.set_nonblocking(true)?;
        socket.bind(&listen.into())?;
        let granted = Granted {
            local: socket
                .local_addr()?
                .as_socket()
                .ok_or_else(|| io::Error::other("bound address is not an IP address"))?,
            recv_buffer: socket.recv_buffer_size()?,
            send_buffer: socket.send_buffer_size()?,
        };
        let io = UdpSocket::from_std(socket.into())?;
        Ok((
            PeerSocket {
                io,
                v6,
                v6_only,
                batch: options.batch && cfg!(target_os = "linux"),
                bufs: vec![[0; MAX_DATAGRAM]; BATCH],
                received: Vec::with_capacity(BATCH),
            },
            granted,
        ))
    }

    /// Whether `addr` can be reached from this socket (an IPv4 peer needs an IPv4 or a
    /// dual-stack socket, an IPv6 peer an IPv6 one).
    pub fn reaches(&self, addr: &SocketAddr) -> bool {
        match addr {
            SocketAddr::V4(_) => !self.v6_only,
            SocketAddr::V6(_) => self.v6,
        }
    }

    fn destination(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V4(v4) if self.v6 => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            other => other,
        }
    }

    /// Waits for datagrams and reads as many as are there (up to [`BATCH`]); read them with
    /// [`PeerSocket::datagram`].
    pub async fn recv(&mut self) -> io::Result<usize> {
        loop {
            self.io.readable().await?;
            let batch = self.batch;
            let (io, bufs, received) = (&self.io, &mut self.bufs, &mut self.received);
            let result = io.try_io(Interest::READABLE, || {
                received.clear();
                if batch {
                    recv_batch(io, bufs, received)
                } else {
                    let (n, from) = io.try_recv_from(&mut bufs[0])?;
                    received.push((n, from));
                    Ok(1)
                }
            });
            match result {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The `i`th datagram of the last [`PeerSocket::recv`]: its source and bytes.
    pub fn datagram(&self, i: usize) -> (SocketAddr, &[u8]) {
        let (len, from) = self.received[i];
        (from, &self.bufs[i][..len.min(MAX_DATAGRAM)])
    }

    /// Sends datagrams, in batches where the platform allows; returns, for each one the
    /// operating system refused, its index and the error.
    pub async fn send(&self, datagrams: &[(SocketAddr, &[u8])]) -> Vec<(usize, io::Error)> {
        let mut failed = Vec::new();
        let mut at = 0;
        while at < datagrams.len() {
            let end = (at + BATCH).min(datagrams.len());
            let chunk = &datagrams[at..end];
            let result = if self.batch {
                self.io
                    .try_io(Interest::WRITABLE, || send_batch(self, chunk))
            } else {
                let (to, bytes) = chunk[0];
                self.io.try_send_to(bytes, self.destination(to)).map(|_| 1)
            };
            match result {
                Ok(sent) => at += sent.max(1).min(end - at),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.io.writable().await.is_err() {
                        at += 1;
                    }
                }
                Err(e) => {
                    // One datagram the kernel refuses (no route, unreachable) must not hold
                    // back the others: count it and go on with the next.
                    failed.push((at, e));
                    at += 1;
                }
            }
        }
        failed
    }
}

#[cfg(target_os = "linux")]
fn recv_batch(
    io: &UdpSocket,
    bufs: &mut [[u8; MAX_DATAGRAM]],
    received: &mut Vec<(usize, SocketAddr)>,
) -> io::Result<usize> {
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};

    let mut slices: Vec<[IoSliceMut<'_>; 1]> =
        bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(slices.len(), None);
    let results = recvmmsg(
        io.as_raw_fd(),
        &mut headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(io::Error::from)?;
    for r in results {
        let from = r.address.and_then(|a| {
            if let Some(v4) = a.as_sockaddr_in() {
                Some(SocketAddr::V4((*v4).into()))
            } else {
                a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
            }
        });
        // A datagram without an IP source cannot be from a peer; keep the slot so indices
        // match, with an address no peer has.
        let from = from.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        received.push((r.bytes, from));
    }
    Ok(received.len())
}

#[cfg(not(target_os = "linux"))]
fn recv_batch(
    io: &UdpSocket,
    bufs: &mut [[u8; MAX_DATAGRAM]],
    received: &mut Vec<(usize, SocketAddr)>,
) -> io::Result<usize> {
    let (n, from) = io.try_recv_from(&mut bufs[0])?;
    received.push((n, from));
    Ok(1)
}

#[cfg(target_os = "linux")]
fn send_batch(socket: &PeerSocket, chunk: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};

    let slices: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(_, b)| [IoSlice::new(b)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = chunk
        .iter()
        .map(|(to, _)| Some(SockaddrStorage::from(socket.destination(*to))))
        .collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(chunk.len(), None);
    let cmsgs: [ControlMessage<'_>; 0] = [];
    let results = sendmmsg(
        socket.io.as_raw_fd(),
        &mut headers,
        slices.iter(),
        addrs,
        cmsgs,
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    Ok(results.count())
}

#[cfg(not(target_os = "linux"))]
fn send_batch(socket: &PeerSocket, chunk: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
    let (to, bytes) = chunk[0];
    socket
        .io
        .try_send_to(bytes, socket.destination(to))
        .map(|_| 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(listen: &str, batch: bool) -> SocketOptions {
        SocketOptions {
            listen: listen.parse().unwrap(),
            dscp: 46,
            buffer: 1 << 20,
            batch,
        }
    }

    #[tokio::test]
    async fn marks_ef_and_moves_batches_both_ways() {
        for batch in [true, false] {
            let (a, ga) = PeerSocket::bind(options("127.0.0.1:0", batch)).unwrap();
            let (mut b, gb) = PeerSocket::bind(options("127.0.0.1:0", batch)).unwrap();
            // The TOS byte: DSCP 46 in its upper six bits.
            let tos = socket2::SockRef::from(&a.io).tos_v4().unwrap();
            assert_eq!(tos, 46 << 2);
            assert!(ga.recv_buffer > 0 && gb.send_buffer > 0);
            let payloads: Vec<Vec<u8>> = (0..40u8).map(|n| vec![n; 100 + usize::from(n)]).collect();
            let datagrams: Vec<(SocketAddr, &[u8])> =
                payloads.iter().map(|p| (gb.local, &p[..])).collect();
            assert!(a.send(&datagrams).await.is_empty());
            let mut got = Vec::new();
            while got.len() < 40 {
                let n = b.recv().await.unwrap();
                for i in 0..n {
                    let (from, bytes) = b.datagram(i);
                    assert_eq!(from, ga.local);
                    got.push(bytes.to_vec());
                }
            }
            assert_eq!(got, payloads, "batch {batch}");
        }
    }

    #[tokio::test]
    async fn dual_stack_reaches_ipv4_peers() {
        let (mut v6, g6) = PeerSocket::bind(options("[::]:0", true)).unwrap();
        let (mut v4, g4) = PeerSocket::bind(options("127.0.0.1:0", true)).unwrap();
        assert!(v6.reaches(&g4.local));
        assert!(!v4.reaches(&"[::1]:5".parse().unwrap()));
        let tclass = socket2::SockRef::from(&v6.io).tclass_v6().unwrap();
        assert_eq!(tclass, 46 << 2);
        let to_v6 = SocketAddr::from(([127, 0, 0, 1], g6.local.port()));
        assert!(v4.send(&[(to_v6, b"hello")]).await.is_empty());
        assert_eq!(v6.recv().await.unwrap(), 1);
        let (from, bytes) = v6.datagram(0);
        assert_eq!(bytes, b"hello");
        assert_eq!(from.ip().to_canonical(), g4.local.ip());
        assert!(v6.send(&[(g4.local, b"back")]).await.is_empty());
        assert_eq!(v4.recv().await.unwrap(), 1);
        assert_eq!(v4.datagram(0).1, b"back");
    }
}
