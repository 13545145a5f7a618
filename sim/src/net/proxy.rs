//! The impaired network as a real UDP proxy on loopback, for the real-time mode: two
//! `borderlinkd` processes send their voice to the proxy instead of to each other, and the proxy
//! forwards each datagram through an [`ImpairedLink`] per direction (delay, jitter, random and
//! bursty loss, duplication, reordering, partitions).
//!
//! Each side gets its own socket, and the proxy forwards *from the other side's socket*, so
//! every daemon sees its peer's traffic come from the one address it was configured with, and
//! a daemon that checks the source of its peer's packets is satisfied:
//!
//! ```text
//!   site A ──▶ a_facing ──[A→B link]──▶ (sent from b_facing) ──▶ site B
//!   site A ◀── (sent from a_facing) ◀──[B→A link]── b_facing ◀── site B
//! ```
//!
//! Configure site A with `a_facing()` as site B's address, and site B with `b_facing()` as site
//! A's. Loss, duplication and jitter draws depend only on the seed and the order of the
//! datagrams, so the same traffic meets the same fate on every run; the delivery times follow
//! the wall clock.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Instant as StdInstant;

use borderlink_protocol::time::Instant;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::impair::{ConfigError, ImpairedLink, LinkConfig, LinkStats, Partition};

/// The longest the proxy thread sleeps between looks at its control channel.
const TICK_MS: u8 = 5;

enum Command {
    Partition(Partition),
    Stop,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A socket could not be bound.
    #[error("proxy socket: {0}")]
    Io(#[from] io::Error),
    /// A link configuration is invalid.
    #[error("proxy link: {0}")]
    Config(#[from] ConfigError),
}

/// A running proxy between two sites; see the [module documentation](self).
#[derive(Debug)]
pub struct UdpProxy {
    a_facing: SocketAddr,
    b_facing: SocketAddr,
    stats: Arc<Mutex<[LinkStats; 2]>>,
    control: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
    epoch: StdInstant,
}

impl UdpProxy {
    /// Starts a proxy between `a` and `b` (each site's own voice address). `epoch` is the
    /// run's start: partitions are given in time since then.
    pub fn start(
        a: SocketAddr,
        b: SocketAddr,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
        seed: u64,
        epoch: StdInstant,
    ) -> Result<UdpProxy, ProxyError> {
        let sa = UdpSocket::bind("127.0.0.1:0")?;
        let sb = UdpSocket::bind("127.0.0.1:0")?;
        sa.set_nonblocking(true)?;
        sb.set_nonblocking(true)?;
        let (a_facing, b_facing) = (sa.local_addr()?, sb.local_addr()?);
        let ab = ImpairedLink::new(a_to_b, seed)?;
        let ba = ImpairedLink::new(b_to_a, seed.rotate_left(17) ^ 0x5bd1_e995)?;
        let stats = Arc::new(Mutex::new([LinkStats::default(); 2]));
        let (control, commands) = mpsc::channel();
        let shared = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("udp-proxy".into())
            .spawn(move || {
                let mut pump = Pump {
                    sa,
                    sb,
                    a,
                    b,
                    ab,
                    ba,
                    epoch,
                };
                pump.run(&commands, &shared);
            })?;
        Ok(UdpProxy {
            a_facing,
            b_facing,
            stats,
            control,
            thread: Some(thread),
            epoch,
        })
    }

    /// The address site A must use for site B.
    pub fn a_facing(&self) -> SocketAddr {
        self.a_facing
    }

    /// The address site B must use for site A.
    pub fn b_facing(&self) -> SocketAddr {
        self.b_facing
    }

    /// Cuts both directions from now until `until` (time since the epoch).
    pub fn partition(&self, until: Instant) {
        let now = Instant::from_micros(self.epoch.elapsed().as_micros() as u64);
        if until > now {
            let _ = self
                .control
                .send(Command::Partition(Partition::new(now, until)));
        }
    }

    /// What each direction did so far: `[A→B, B→A]`.
    pub fn stats(&self) -> [LinkStats; 2] {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        let _ = self.control.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Pump {
    sa: UdpSocket,
    sb: UdpSocket,
    a: SocketAddr,
    b: SocketAddr,
    ab: ImpairedLink<Vec<u8>>,
    ba: ImpairedLink<Vec<u8>>,
    epoch: StdInstant,
}

impl Pump {
    fn now(&self) -> Instant {
        Instant::from_micros(self.epoch.elapsed().as_micros() as u64)
    }

    fn run(&mut self, commands: &mpsc::Receiver<Command>, stats: &Mutex<[LinkStats; 2]>) {
        let mut buf = [0u8; 2048];
        loop {
            loop {
                match commands.try_recv() {
                    Ok(Command::Partition(p)) => {
                        let _ = self.ab.add_partition(p);
                        let _ = self.ba.add_partition(p);
                    }
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let now = self.now();
            let next = [self.ab.poll_timeout(), self.ba.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let wait_ms = next.map_or(u64::from(TICK_MS), |t| {
                t.saturating_since(now).as_micros().div_ceil(1_000)
            });
            let timeout = PollTimeout::from(wait_ms.min(u64::from(TICK_MS)) as u8);
            let mut fds = [
                PollFd::new(self.sa.as_fd_ref(), PollFlags::POLLIN),
                PollFd::new(self.sb.as_fd_ref(), PollFlags::POLLIN),
            ];
            let _ = poll(&mut fds, timeout);
            let now = self.now();
            while let Ok((n, from)) = self.sa.recv_from(&mut buf) {
                if from == self.a {
                    self.ab.send(now, buf[..n].to_vec());
                }
            }
            while let Ok((n, from)) = self.sb.recv_from(&mut buf) {
                if from == self.b {
                    self.ba.send(now, buf[..n].to_vec());
                }
            }
            let now = self.now();
            while let Some(p) = self.ab.poll_deliver(now) {
                let _ = self.sb.send_to(&p, self.b);
            }
            while let Some(p) = self.ba.poll_deliver(now) {
                let _ = self.sa.send_to(&p, self.a);
            }
            if let Ok(mut s) = stats.lock() {
                *s = [self.ab.stats(), self.ba.stats()];
            }
        }
    }
}

/// `UdpSocket` as a borrowed fd for `poll`.
trait AsFdRef {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_>;
}

impl AsFdRef for UdpSocket {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::impair::Loss;
    use borderlink_protocol::time::Duration;
    use std::time::Duration as StdDuration;

    fn receive_all(socket: &UdpSocket, expect_at_most: usize) -> Vec<u16> {
        socket
            .set_read_timeout(Some(StdDuration::from_millis(300)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < expect_at_most {
            match socket.recv_from(&mut buf) {
                Ok((n, _)) if n >= 2 => got.push(u16::from_be_bytes([buf[0], buf[1]])),
                _ => break,
            }
        }
        got
    }

    #[test]
    fn forwards_both_ways_from_the_configured_addresses_with_the_delay() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let link = LinkConfig::ideal(Duration::from_millis(30));
        let proxy = UdpProxy::start(
            a.local_addr().unwrap(),
            b.local_addr().unwrap(),
            link.clone(),
            link,
            1,
            StdInstant::now(),
        )
        .unwrap();
        let sent = StdInstant::now();
        a.send_to(&7u16.to_be_bytes(), proxy.a_facing()).unwrap();
        b.set_read_timeout(Some(StdDuration::from_secs(2))).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert!(sent.elapsed() >= StdDuration::from_millis(30));
        assert_eq!(
            (&buf[..n], from),
            (&7u16.to_be_bytes()[..], proxy.b_facing())
        );
        b.send_to(&8u16.to_be_bytes(), proxy.b_facing()).unwrap();
        a.set_read_timeout(Some(StdDuration::from_secs(2))).unwrap();
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&8u16.to_be_bytes()[..], proxy.a_facing())
        );
        assert_eq!(proxy.stats()[0].delivered, 1);
    }

    #[test]
    fn the_same_seed_loses_the_same_datagrams_as_the_virtual_link() {
        let config = LinkConfig {
            loss: Loss::GilbertElliott {
                p_good_to_bad: 0.05,
                p_bad_to_good: 0.3,
                loss_good: 0.01,
                loss_bad: 0.9,
            },
            fifo: true,
            ..LinkConfig::ideal(Duration::from_millis(1))
        };
        // What the virtual-time link decides for 300 datagrams with seed 42.
        let mut reference = ImpairedLink::new(config.clone(), 42).unwrap();
        for n in 0..300u16 {
            reference.send(Instant::ZERO, n);
        }
        let mut expected = Vec::new();
        while let Some(t) = reference.poll_timeout() {
            expected.push(reference.poll_deliver(t).unwrap());
        }
        assert!(
            expected.len() < 300 && expected.len() > 200,
            "{}",
            expected.len()
        );

        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let proxy = UdpProxy::start(
            a.local_addr().unwrap(),
            b.local_addr().unwrap(),
            config,
            LinkConfig::default(),
            42,
            StdInstant::now(),
        )
        .unwrap();
        // Read while sending: a burst would overflow the receiving socket's buffer.
        let want = expected.len();
        let reader = std::thread::spawn(move || receive_all(&b, want));
        for n in 0..300u16 {
            a.send_to(&n.to_be_bytes(), proxy.a_facing()).unwrap();
            if n % 20 == 19 {
                std::thread::sleep(StdDuration::from_millis(2));
            }
        }
        let got = reader.join().unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_partition_cuts_both_directions_until_it_ends() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let epoch = StdInstant::now();
        let link = LinkConfig::ideal(Duration::ZERO);
        let proxy = UdpProxy::start(
            a.local_addr().unwrap(),
            b.local_addr().unwrap(),
            link.clone(),
            link,
            3,
            epoch,
        )
        .unwrap();
        let until = Instant::from_micros(epoch.elapsed().as_micros() as u64 + 400_000);
        proxy.partition(until);
        // Wait until the proxy has taken the partition in (it drops what is sent inside it).
        let deadline = StdInstant::now() + StdDuration::from_secs(2);
        loop {
            a.send_to(&1u16.to_be_bytes(), proxy.a_facing()).unwrap();
            std::thread::sleep(StdDuration::from_millis(10));
            if proxy.stats()[0].dropped_by_partition > 0 || StdInstant::now() > deadline {
                break;
            }
        }
        assert!(proxy.stats()[0].dropped_by_partition > 0);
        b.send_to(&2u16.to_be_bytes(), proxy.b_facing()).unwrap();
        // After the partition, traffic flows again.
        while epoch.elapsed() < StdDuration::from_micros(until.as_micros()) {
            std::thread::sleep(StdDuration::from_millis(10));
        }
        b.send_to(&3u16.to_be_bytes(), proxy.b_facing()).unwrap();
        let got = receive_all(&a, 1);
        assert_eq!(
            got,
            [3],
            "the datagram sent during the cut never arrives; the one after does"
        );
    }
}
