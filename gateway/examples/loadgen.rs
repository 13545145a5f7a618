//! Load generator for the peer-link path: N voice streams from an emulated peer site, through
//! the daemon's real socket task (recvmmsg, SRTP authentication and decryption, replay window,
//! statistics) and the real relay engine, and out again (SRTP encryption, sendmmsg) to a sink,
//! all on loopback. The daemon side runs on one thread, a current-thread tokio runtime: one
//! core. It prints packets forwarded per second, the latency the daemon side adds per packet
//! (p50/p99/p99.9), its CPU use and the process's RSS.
//!
//! ```text
//! cargo run --release -p borderlink-gateway --example loadgen -- --streams 1000 --rate 10000 --seconds 10
//! cargo run --release -p borderlink-gateway --example loadgen -- --streams 1000 --rate 0 --seconds 10   # flat out
//! ```
//!
//! Each stream is a transmission from site 2 in its own patch (one talker per patch), relayed
//! to a dispatch console of this site; the console's packets are sent to a sink peer (site 3)
//! over SRTP, as the daemon sends to any peer. The sink reads the clear RTP header only
//! (sequence number and SSRC), so its own cost stays small.
//!
//! The sender paces its packets evenly at the offered rate (a thread sleep between sends, so
//! whatever fell due goes out together: usually one packet at 10,000/s); `--burst N` sends N
//! back to back every N/rate seconds instead, as streams that happen to share a phase would.
//!
//! *Added latency* is measured two ways, each against the same path without the daemon
//! (sender straight to sink, measured first; its median is subtracted):
//! - to the moment the forwarded datagram is queued at the sink's socket, from the kernel's
//!   receive timestamp (`SO_TIMESTAMPNS`): what putting the daemon in the path adds — its
//!   wake-up, its work and its second trip through the loopback — without the sink's own
//!   wake-up, which a receiver pays with or without the daemon;
//! - to the moment the sink's thread reads it, its wake-up included in both paths.
//!
//! Bounded: at most 4096 streams, 1,000,000 packets/s and 60 s; loopback only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use borderlink_gateway::engine::endpoint::{ConsoleId, EndpointId};
use borderlink_gateway::engine::loops::GatewayIdentities;
use borderlink_gateway::engine::patch::{Channel, PatchKind, PatchSpec, SiteConsole};
use borderlink_gateway::engine::relay::{Engine, EngineConfig};
use borderlink_gateway::net::driver::{self, NetSnapshot, ToEngine};
use borderlink_gateway::net::epoch::{KeyEpoch, derive};
use borderlink_gateway::net::socket::{PeerSocket, SocketOptions};
use borderlink_gateway::net::srtp::SrtpSend;
use borderlink_gateway::net::{LinkConfig, MasterKey, PeerLinks, PeerSpec, Suite};
use borderlink_protocol::ids::{Network, Tsi};
use borderlink_protocol::time::{Duration, Instant};
use borderlink_protocol::voice::{
    KeyUpTime, MAX_PACKET_LEN, Origin, Priority, RadioHeader, SiteId, StreamId, TxState, VoiceRepr,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const HERE: SiteId = SiteId(1);
const SENDER: SiteId = SiteId(2);
const SINK: SiteId = SiteId(3);
/// Send times kept per stream, by sequence number modulo this.
const SLOTS: usize = 256;

struct Args {
    streams: usize,
    rate: u64,
    seconds: u64,
    suite: Suite,
    batch: bool,
    /// Packets sent back to back at a time (1: evenly paced).
    burst: u64,
}

fn args() -> Args {
    let mut a = Args {
        streams: 1000,
        rate: 10_000,
        seconds: 10,
        suite: Suite::AeadAes128Gcm,
        batch: true,
        burst: 1,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let value = |i: usize| -> u64 {
        argv.get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage(&format!("{} needs a number", argv[i])))
    };
    while i < argv.len() {
        match argv[i].as_str() {
            "--streams" => a.streams = value(i) as usize,
            "--rate" => a.rate = value(i),
            "--seconds" => a.seconds = value(i),
            "--burst" => a.burst = value(i).clamp(1, 32),
            "--suite" => {
                a.suite = match argv.get(i + 1).map(String::as_str) {
                    Some("gcm") => Suite::AeadAes128Gcm,
                    Some("cm") => Suite::AesCm128HmacSha1_80,
                    _ => usage("--suite is gcm or cm"),
                }
            }
            "--no-batch" => {
                a.batch = false;
                i += 1;
                continue;
            }
            other => usage(&format!("unknown argument {other}")),
        }
        i += 2;
    }
    if !(1..=4096).contains(&a.streams) || a.rate > 1_000_000 || !(1..=60).contains(&a.seconds) {
        usage("bounds: 1-4096 streams, rate 0 (flat out)-1000000 packets/s, 1-60 s");
    }
    a
}

fn usage(why: &str) -> ! {
    eprintln!(
        "loadgen: {why}\nusage: loadgen [--streams N] [--rate PACKETS_PER_S|0] [--seconds S] [--suite gcm|cm] [--no-batch] [--burst N]"
    );
    std::process::exit(2)
}

fn key(suite: Suite, byte: u8) -> MasterKey {
    MasterKey::new(suite, &vec![byte; suite.key_len() + suite.salt_len()]).expect("key length")
}

fn group(n: usize) -> Tsi {
    Tsi::from_parts(204, 1, 3_000_000 + n as u32).expect("valid TSI")
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn engine(streams: usize) -> Engine {
    let mut config = EngineConfig::new(HERE, vec![], GatewayIdentities::default());
    config.floor.tx_timeout = Duration::from_secs(100_000);
    config.max_streams = streams;
    // Every stream comes from the one sending peer.
    config.max_streams_per_peer = streams;
    let mut e = Engine::new(config);
    for n in 0..streams {
        let spec = PatchSpec {
            name: format!("p{n}"),
            channels: vec![Channel {
                site: SENDER,
                network: Network::C2000,
                group: group(n),
            }],
            consoles: vec![SiteConsole {
                site: HERE,
                console: ConsoleId(0),
            }],
            lifetime: None,
            inactivity_timeout: None,
            kind: PatchKind::Static,
        };
        e.create_patch(Instant::ZERO, spec).expect("valid patch");
    }
    e
}

/// The daemon side: the real socket task and the engine, on one thread.
fn daemon(
    args: &Args,
    listen: SocketAddr,
    sender: SocketAddr,
    sink: SocketAddr,
    ready: std::sync::mpsc::Sender<()>,
    stop: CancellationToken,
    cpu: Arc<AtomicU64>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let streams = args.streams;
    let suite = args.suite;
    let batch = args.batch;
    rt.block_on(async move {
        let (socket, _) = PeerSocket::bind(SocketOptions {
            listen,
            dscp: 46,
            buffer: 4 << 20,
            batch,
        })
        .expect("daemon socket");
        let links = PeerLinks::new(
            Instant::ZERO,
            LinkConfig {
                site: HERE,
                keepalive: Duration::from_secs(1),
                down_after: 5,
                keepalive_ssrc: 0x1111_0001,
                epoch: KeyEpoch::random().expect("random source"),
            },
            vec![
                PeerSpec {
                    site: SENDER,
                    name: "sender".into(),
                    address: sender.to_string(),
                    send: key(suite, 0x12),
                    receive: key(suite, 0x21),
                },
                PeerSpec {
                    site: SINK,
                    name: "sink".into(),
                    address: sink.to_string(),
                    send: key(suite, 0x13),
                    receive: key(suite, 0x31),
                },
            ],
        );
        let (out_tx, out_rx) = mpsc::channel(8192);
        let (in_tx, mut in_rx) = mpsc::channel::<ToEngine>(4096);
        let snapshot = Arc::new(std::sync::Mutex::new(NetSnapshot::default()));
        let net = tokio::spawn(driver::run(
            links,
            socket,
            out_rx,
            in_tx,
            |m| m,
            Arc::clone(&snapshot),
            stop.clone(),
        ));
        let mut e = engine(streams);
        let mut inbox = Vec::with_capacity(256);
        let mut queue_full = 0u64;
        // Both peers resolved (the snapshot says so, within a second) before the load starts.
        for _ in 0..300 {
            let resolved = snapshot.lock().is_ok_and(|s| {
                s.peers.len() == 2 && s.peers.iter().all(|p| p.resolved.is_some())
            });
            if resolved {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        let _ = ready.send(());
        let start = tokio::time::Instant::now();
        let now = || Instant::ZERO + Duration::from(start.elapsed());
        loop {
            let deadline = e
                .poll_timeout()
                .map(|t| start + StdDuration::from_micros(t.as_micros()));
            tokio::select! {
                _ = stop.cancelled() => break,
                // Everything waiting, then the engine's timers once: its poll_timeout looks at
                // every stream and patch.
                count = in_rx.recv_many(&mut inbox, 256) => {
                    if count == 0 {
                        break;
                    }
                    let t = now();
                    for msg in inbox.drain(..) {
                        if let ToEngine::Voice(d) = msg
                            && let Ok(repr) = VoiceRepr::parse(&d.packet)
                        {
                            e.handle_packet(t, EndpointId::Peer(d.site), &repr);
                        }
                    }
                    if e.poll_timeout().is_some_and(|due| due <= t) {
                        e.handle_timeout(t);
                    }
                }
                _ = async {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => e.handle_timeout(now()),
            }
            while let Some(mut t) = e.poll_transmit() {
                // The console's packets go to the sink, as packets for a peer. Never waiting
                // on the socket task, as the daemon's main loop does not (the two wait on
                // each other otherwise): a full queue drops, counted.
                t.to = EndpointId::Peer(SINK);
                if out_tx.try_send(t).is_err() {
                    queue_full += 1;
                }
            }
            while e.poll_event().is_some() {}
        }
        println!("  packets for the sink dropped at a full socket-task queue: {queue_full}");
        drop(out_tx);
        drop(in_rx);
        let _ = net.await;
        let s = snapshot.lock().expect("snapshot").clone();
        for p in &s.peers {
            let c = &p.counters;
            println!(
                "  peer {:<6} voice in {:>9}  out {:>9}  auth_failed {}  replay {}  duplicate {}  lost {}",
                p.name, c.voice_in, c.voice_out, c.auth_failed, c.replay, c.duplicate, c.lost
            );
        }
    });
    cpu.store(thread_cpu_us(), Ordering::Relaxed);
}

/// CPU time of the calling thread, µs (utime + stime from /proc, in clock ticks of 10 ms).
fn thread_cpu_us() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields after the command: state is 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) * 10_000
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sends `rate` packets/s (0: as fast as it can) round-robin over the streams to `to` for
/// `seconds`, recording each packet's send time.
fn send(
    args: &Args,
    suite_key: Option<MasterKey>,
    from: SocketAddr,
    to: SocketAddr,
    times: &[AtomicU64],
    seconds: u64,
) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (socket, _) = PeerSocket::bind(SocketOptions {
            listen: from,
            dscp: 0,
            buffer: 4 << 20,
            batch: args.batch,
        })
        .expect("sender socket");
        // The sender's run: keys derived from its key file key, the epoch trailer on each
        // datagram, as a peer site sends.
        let epoch = KeyEpoch::random().expect("random source");
        let mut srtp = suite_key.map(|k| SrtpSend::new(derive(&k, epoch)));
        let key_up = KeyUpTime(wall_ms());
        let frame = [0x55u8; 160];
        let mut plain = [0u8; MAX_PACKET_LEN];
        let mut wire: Vec<Vec<u8>> = (0..32).map(|_| Vec::with_capacity(256)).collect();
        let start = StdInstant::now();
        let end = start + StdDuration::from_secs(seconds);
        let mut k: u64 = 0;
        while StdInstant::now() < end {
            let due = if args.rate == 0 {
                k + 32
            } else {
                let paced = (start.elapsed().as_secs_f64() * args.rate as f64) as u64;
                paced - paced % args.burst
            };
            if due <= k {
                // Paced, not in bursts: a thread sleep (Linux high-resolution timers, some
                // 60-100 µs here) rather than tokio's millisecond timer, which would send 10
                // packets at once every millisecond. Whatever fell due meanwhile goes in one
                // batch.
                std::thread::sleep(StdDuration::from_micros(50));
                continue;
            }
            let count = (due - k).min(32) as usize;
            let first = k;
            for out in wire.iter_mut().take(count) {
                let n = (k % args.streams as u64) as usize;
                let seq = (k / args.streams as u64) as u16;
                let repr = VoiceRepr {
                    sequence: seq,
                    timestamp: u32::from(seq).wrapping_mul(160),
                    ssrc: 0x0200_0000 | n as u32,
                    radio: RadioHeader {
                        tx: if seq == 0 {
                            TxState::Start
                        } else {
                            TxState::Continue
                        },
                        squelch_open: true,
                        emergency: false,
                        priority: Priority::new(3).expect("priority"),
                        talker: Some(Tsi::from_parts(204, 1, 100_000 + n as u32).expect("TSI")),
                        talkgroup: group(n),
                        origin: Origin {
                            site: SENDER,
                            network: Some(Network::C2000),
                        },
                        stream: StreamId(n as u32 + 1),
                        started: key_up,
                    },
                    payload: &frame,
                };
                let len = repr.emit(&mut plain).expect("emit");
                out.clear();
                match srtp.as_mut() {
                    Some(s) => {
                        s.protect_rtp(Instant::ZERO, &plain[..len], out)
                            .expect("protect");
                        out.extend_from_slice(&epoch.0);
                    }
                    None => out.extend_from_slice(&plain[..len]),
                }
                k += 1;
            }
            // Stamped once the batch is built, just before it is sent.
            let stamp = wall_ns();
            for k in first..k {
                let n = (k % args.streams as u64) as usize;
                let seq = (k / args.streams as u64) as u16;
                times[n * SLOTS + usize::from(seq) % SLOTS].store(stamp, Ordering::Relaxed);
            }
            let datagrams: Vec<(SocketAddr, &[u8])> =
                wire.iter().take(count).map(|w| (to, &w[..])).collect();
            let _ = socket.send(&datagrams).await;
        }
        k
    })
}

/// Where a sink listens and how it reads what arrives.
#[derive(Clone, Copy)]
struct SinkSpec {
    listen: SocketAddr,
    streams: usize,
    /// Packets come from the engine (its SSRCs), not straight from the sender.
    engine_ssrc: bool,
}

/// One packet's latency at the sink, ns from the sender's stamp (taken just before its
/// `sendmmsg`): to the kernel's receive timestamp on the sink's socket (`SO_TIMESTAMPNS`,
/// when it was queued there), and to the sink's thread reading it.
#[derive(Clone, Copy)]
struct Latency {
    queued: u64,
    read: u64,
}

/// The wall clock in ns: the clock of `SO_TIMESTAMPNS`, so sender stamps compare with it.
fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Receives until `stop`, in batches (`recvmmsg`); the kernel stamps each datagram as it is
/// queued, so the sink's own speed and wake-up are not in [`Latency::queued`].
fn sink(
    spec: SinkSpec,
    ready: std::sync::mpsc::Sender<()>,
    times: &[AtomicU64],
    stop: &AtomicBool,
) -> Vec<Latency> {
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, setsockopt, sockopt,
    };
    use nix::sys::time::TimeSpec;

    const BATCH: usize = 64;
    let SinkSpec {
        listen,
        streams,
        engine_ssrc,
    } = spec;
    let socket = std::net::UdpSocket::bind(listen).expect("sink socket");
    // Blocks for the first datagram of a batch at most this long, then looks at `stop`.
    socket
        .set_read_timeout(Some(StdDuration::from_millis(100)))
        .expect("sink timeout");
    setsockopt(&socket, sockopt::ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS");
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(4 << 20)
        .expect("sink buffer");
    let _ = ready.send(());
    let mut lat = Vec::with_capacity(1 << 20);
    let mut bufs = vec![[0u8; 2048]; BATCH];
    let mut headers =
        MultiHeaders::<SockaddrStorage>::preallocate(BATCH, Some(nix::cmsg_space!(TimeSpec)));
    let mut got: Vec<(usize, Option<u64>)> = Vec::with_capacity(BATCH);
    while !stop.load(Ordering::Relaxed) {
        got.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> =
                bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            let Ok(results) = recvmmsg(
                socket.as_raw_fd(),
                &mut headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) else {
                continue; // the read timeout
            };
            for r in results {
                let queued = r.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => {
                            Some(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
                        }
                        _ => None,
                    })
                });
                got.push((r.bytes, queued));
            }
        }
        let read = wall_ns();
        for (buf, &(len, queued)) in bufs.iter().zip(&got) {
            let b = &buf[..len];
            let Some(queued) = queued else { continue };
            if b.len() < 12 || b[1] & 0x7f != 8 {
                continue; // keepalives
            }
            let seq = u16::from_be_bytes([b[2], b[3]]);
            let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
            // The engine's SSRC of stream id s from site 2 is (2 << 20) ^ s.
            let n = if engine_ssrc {
                ((ssrc ^ (u32::from(SENDER.0) << 20)) as usize).wrapping_sub(1)
            } else {
                (ssrc & 0xffff) as usize
            };
            if n < streams && lat.len() < 4 << 20 {
                let sent = times[n * SLOTS + usize::from(seq) % SLOTS].load(Ordering::Relaxed);
                lat.push(Latency {
                    queued: queued.saturating_sub(sent),
                    read: read.saturating_sub(sent),
                });
            }
        }
    }
    lat
}

/// Latencies at the sink, each kind sorted.
struct Sorted {
    queued: Vec<u64>,
    read: Vec<u64>,
}

impl Sorted {
    fn new(lat: &[Latency]) -> Self {
        let mut queued: Vec<u64> = lat.iter().map(|l| l.queued).collect();
        let mut read: Vec<u64> = lat.iter().map(|l| l.read).collect();
        queued.sort_unstable();
        read.sort_unstable();
        Sorted { queued, read }
    }

    fn len(&self) -> usize {
        self.queued.len()
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn free_addr() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free loopback port")
}

/// Starts a sink thread on `listen` and waits until it is bound.
fn start_sink(
    args: &Args,
    listen: SocketAddr,
    engine_ssrc: bool,
    times: &Arc<Vec<AtomicU64>>,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Latency>> {
    let (ready, bound) = std::sync::mpsc::channel();
    let (t, s) = (Arc::clone(times), Arc::clone(stop));
    let spec = SinkSpec {
        listen,
        streams: args.streams,
        engine_ssrc,
    };
    let handle = std::thread::Builder::new()
        .name("sink".into())
        .spawn(move || sink(spec, ready, &t, &s))
        .expect("sink thread");
    bound.recv().expect("sink bound");
    handle
}

fn main() {
    let args = args();
    let slots = || -> Arc<Vec<AtomicU64>> {
        Arc::new(
            (0..args.streams * SLOTS)
                .map(|_| AtomicU64::new(0))
                .collect(),
        )
    };

    // Baseline: sender straight to the sink (plain RTP, no daemon), 2 s at the same rate.
    let baseline = {
        let times = slots();
        let stop = Arc::new(AtomicBool::new(false));
        let sink_addr = free_addr();
        let receiver = start_sink(&args, sink_addr, false, &times, &stop);
        let baseline_args = Args {
            rate: if args.rate == 0 { 50_000 } else { args.rate },
            ..args
        };
        send(&baseline_args, None, free_addr(), sink_addr, &times, 2);
        std::thread::sleep(StdDuration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        Sorted::new(&receiver.join().expect("sink"))
    };

    // The run: sender -> daemon side -> sink.
    let times = slots();
    let (daemon_addr, sink_addr, sender_addr) = (free_addr(), free_addr(), free_addr());
    let stop_sink = Arc::new(AtomicBool::new(false));
    let receiver = start_sink(&args, sink_addr, true, &times, &stop_sink);
    let stop_daemon = CancellationToken::new();
    let cpu = Arc::new(AtomicU64::new(0));
    let daemon_thread = {
        let (stop, cpu) = (stop_daemon.clone(), Arc::clone(&cpu));
        let a = Args { ..args };
        let (ready, bound) = std::sync::mpsc::channel();
        // Named, so a profiler can tell the daemon side from the sender and the sink.
        let handle = std::thread::Builder::new()
            .name("daemon".into())
            .spawn(move || {
                daemon(&a, daemon_addr, sender_addr, sink_addr, ready, stop, cpu);
            });
        let handle = handle.expect("daemon thread");
        bound.recv().expect("daemon bound");
        handle
    };
    let rss_idle = rss_kib("VmRSS:");
    let sender_key = key(args.suite, 0x21);
    let sent = send(
        &args,
        Some(sender_key),
        sender_addr,
        daemon_addr,
        &times,
        args.seconds,
    );
    std::thread::sleep(StdDuration::from_millis(300));
    let rss = rss_kib("VmRSS:");
    let hwm = rss_kib("VmHWM:");
    stop_sink.store(true, Ordering::Relaxed);
    let lat = Sorted::new(&receiver.join().expect("sink"));
    stop_daemon.cancel();
    daemon_thread.join().expect("daemon");
    let cpu_share = cpu.load(Ordering::Relaxed) as f64 / (args.seconds as f64 * 1e6 + 300_000.0);
    println!(
        "loadgen: {} streams, {} for {} s, {}, {}",
        args.streams,
        if args.rate == 0 {
            "flat out".to_owned()
        } else {
            format!("{} packets/s offered", args.rate)
        },
        args.seconds,
        args.suite.name(),
        if args.batch {
            "recvmmsg/sendmmsg"
        } else {
            "one system call per datagram"
        }
    );
    println!(
        "  sent {} ({:.0}/s), forwarded {} ({:.0}/s, {:.1} %)",
        sent,
        sent as f64 / args.seconds as f64,
        lat.len(),
        lat.len() as f64 / args.seconds as f64,
        100.0 * lat.len() as f64 / sent.max(1) as f64
    );
    let us = |ns: u64| ns as f64 / 1000.0;
    let added = |lat: &[u64], base: &[u64], p: f64| {
        us(percentile(lat, p).saturating_sub(percentile(base, 0.5)))
    };
    println!(
        "  added latency µs: p50 {:.1}  p99 {:.1}  p99.9 {:.1}  (sender's send to the datagram queued at the sink's socket, kernel timestamp; the direct path's median subtracted)",
        added(&lat.queued, &baseline.queued, 0.5),
        added(&lat.queued, &baseline.queued, 0.99),
        added(&lat.queued, &baseline.queued, 0.999),
    );
    println!(
        "  the same to the sink's thread reading it (its wake-up in both paths): p50 {:.1}  p99 {:.1}  p99.9 {:.1}",
        added(&lat.read, &baseline.read, 0.5),
        added(&lat.read, &baseline.read, 0.99),
        added(&lat.read, &baseline.read, 0.999),
    );
    println!(
        "  direct path, no daemon, µs: queued p50 {:.1} p99 {:.1}; read p50 {:.1} p99 {:.1}",
        us(percentile(&baseline.queued, 0.5)),
        us(percentile(&baseline.queued, 0.99)),
        us(percentile(&baseline.read, 0.5)),
        us(percentile(&baseline.read, 0.99)),
    );
    let cpu_s = cpu.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "  forwarded per CPU-second of the daemon thread: {:.0} packets (its capacity on one core)",
        lat.len() as f64 / cpu_s.max(0.01)
    );
    println!(
        "  daemon thread CPU: {:.0} % of one core; RSS {:.1} MB before sending, {:.1} MB at the end, peak {:.1} MB (whole process)",
        100.0 * cpu_share,
        rss_idle as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    // The sink keeps one record per forwarded packet for the percentiles: memory of the
    // measurement, not of the daemon side.
    println!(
        "  of that, the sink's latency records: {:.1} MB",
        (lat.len() * std::mem::size_of::<Latency>()) as f64 / (1024.0 * 1024.0)
    );
}
