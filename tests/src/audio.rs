//! A radio's audio as the daemon sees it: 160-byte PCMA frames over loopback UDP. The test
//! holds the radio's end (what the radio captured goes out of it, what the daemon plays
//! arrives on it); the daemon listens on the other address. Frames are marked by their first
//! byte, the rest `0xaa`, so what plays out can be told apart from anything else and checked
//! for order and loss.

use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::loopback::free_udp;

/// One frame's length and duration.
const FRAME_LEN: usize = 160;
const FRAME_TIME: Duration = Duration::from_millis(20);

/// Frame number `n`: `n`, then `0xaa`.
pub fn frame(n: u8) -> [u8; FRAME_LEN] {
    let mut f = [0xaa; FRAME_LEN];
    f[0] = n;
    f
}

/// One radio's audio link: the test's socket and the daemon's address.
pub struct Audio {
    /// The radio's end, held by the test (read timeout 50 ms).
    pub socket: UdpSocket,
    /// Where the daemon listens for this radio's audio.
    pub daemon: SocketAddr,
}

impl Audio {
    /// A bound socket for the test's end and a free address for the daemon's.
    pub fn new() -> Audio {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        Audio {
            socket,
            daemon: free_udp(),
        }
    }

    /// The test's end, where the daemon plays the radio's audio.
    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("addr")
    }

    /// Sends frame `n` to the daemon, as the radio captured it.
    pub fn send(&self, n: u8) {
        self.socket
            .send_to(&frame(n), self.daemon)
            .expect("send audio");
    }

    /// A talker's frames at the pace of an audio interface: frame k of `frames` at start +
    /// k × 20 ms, so a late wake-up on a loaded machine does not add up into a stream slower
    /// than its timestamps; returns when the last frame's 20 ms are over.
    pub fn talk(&self, frames: Range<u8>) {
        let count = u32::try_from(frames.len()).expect("few frames");
        let start = Instant::now();
        for (k, n) in (0..).zip(frames) {
            let due = start + FRAME_TIME * k;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            self.send(n);
        }
        let end = start + FRAME_TIME * count;
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
    }

    /// The numbers of the frames the daemon plays into this radio, until `count` have come or
    /// `timeout` has passed.
    pub fn heard(&self, count: usize, timeout: Duration) -> Vec<u8> {
        let mut heard = Vec::new();
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 400];
        while Instant::now() < end && heard.len() < count {
            if let Ok(n) = self.socket.recv(&mut buf)
                && n == FRAME_LEN
                && buf[1..FRAME_LEN].iter().all(|&b| b == 0xaa)
            {
                heard.push(buf[0]);
            }
        }
        heard
    }
}

impl Default for Audio {
    fn default() -> Self {
        Audio::new()
    }
}
