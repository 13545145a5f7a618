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
//! (sequence number and SSRC), so its own cost stays small. *Added latency* is a packet's time
//! from the sender's `sendmmsg` to the sink's `recvmmsg`, minus the median of the same path
//! without the daemon (measured first, sender straight to sink).
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
}

fn args() -> Args {
    let mut a = Args {
        streams: 1000,
        rate: 10_000,
        seconds: 10,
        suite: Suite::AeadAes128Gcm,
        batch: true,
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
        "loadgen: {why}\nusage: loadgen [--streams N] [--rate PACKETS_PER_S|0] [--seconds S] [--suite gcm|cm] [--no-batch]"
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
    epoch: StdInstant,
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
        let mut srtp = suite_key.map(SrtpSend::new);
        let key_up = KeyUpTime(wall_ms() as u32);
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
                (start.elapsed().as_secs_f64() * args.rate as f64) as u64
            };
            if due <= k {
                tokio::time::sleep(StdDuration::from_micros(200)).await;
                continue;
            }
            let count = (due - k).min(32) as usize;
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
                    Some(s) => s
                        .protect_rtp(Instant::ZERO, &plain[..len], out)
                        .expect("protect"),
                    None => out.extend_from_slice(&plain[..len]),
                }
                times[n * SLOTS + usize::from(seq) % SLOTS]
                    .store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
                k += 1;
            }
            let datagrams: Vec<(SocketAddr, &[u8])> =
                wire.iter().take(count).map(|w| (to, &w[..])).collect();
            let _ = socket.send(&datagrams).await;
        }
        k
    })
}

/// Receives until `stop`, returning per-packet latencies in ns.
/// Where a sink listens and how it reads what arrives.
#[derive(Clone, Copy)]
struct SinkSpec {
    listen: SocketAddr,
    batch: bool,
    streams: usize,
    /// Packets come from the engine (its SSRCs), not straight from the sender.
    engine_ssrc: bool,
}

fn sink(
    spec: SinkSpec,
    ready: std::sync::mpsc::Sender<()>,
    times: &[AtomicU64],
    epoch: StdInstant,
    stop: &AtomicBool,
) -> Vec<u64> {
    let SinkSpec {
        listen,
        batch,
        streams,
        engine_ssrc,
    } = spec;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (mut socket, _) = PeerSocket::bind(SocketOptions {
            listen,
            dscp: 0,
            buffer: 4 << 20,
            batch,
        })
        .expect("sink socket");
        let _ = ready.send(());
        let mut lat = Vec::with_capacity(1 << 20);
        while !stop.load(Ordering::Relaxed) {
            let Ok(Ok(n)) =
                tokio::time::timeout(StdDuration::from_millis(100), socket.recv()).await
            else {
                continue;
            };
            let now = epoch.elapsed().as_nanos() as u64;
            for i in 0..n {
                let (_, b) = socket.datagram(i);
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
                    lat.push(now.saturating_sub(sent));
                }
            }
        }
        lat
    })
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
    epoch: StdInstant,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u64>> {
    let (ready, bound) = std::sync::mpsc::channel();
    let (t, s) = (Arc::clone(times), Arc::clone(stop));
    let spec = SinkSpec {
        listen,
        batch: args.batch,
        streams: args.streams,
        engine_ssrc,
    };
    let handle = std::thread::spawn(move || sink(spec, ready, &t, epoch, &s));
    bound.recv().expect("sink bound");
    handle
}

fn main() {
    let args = args();
    let epoch = StdInstant::now();
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
        let receiver = start_sink(&args, sink_addr, false, &times, epoch, &stop);
        let baseline_args = Args {
            rate: if args.rate == 0 { 50_000 } else { args.rate },
            ..args
        };
        send(
            &baseline_args,
            None,
            free_addr(),
            sink_addr,
            &times,
            epoch,
            2,
        );
        std::thread::sleep(StdDuration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        let mut lat = receiver.join().expect("sink");
        lat.sort_unstable();
        (percentile(&lat, 0.5), percentile(&lat, 0.99))
    };
    let (baseline, baseline_p99) = baseline;

    // The run: sender -> daemon side -> sink.
    let times = slots();
    let (daemon_addr, sink_addr, sender_addr) = (free_addr(), free_addr(), free_addr());
    let stop_sink = Arc::new(AtomicBool::new(false));
    let receiver = start_sink(&args, sink_addr, true, &times, epoch, &stop_sink);
    let stop_daemon = CancellationToken::new();
    let cpu = Arc::new(AtomicU64::new(0));
    let daemon_thread = {
        let (stop, cpu) = (stop_daemon.clone(), Arc::clone(&cpu));
        let a = Args { ..args };
        let (ready, bound) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            daemon(&a, daemon_addr, sender_addr, sink_addr, ready, stop, cpu);
        });
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
        epoch,
        args.seconds,
    );
    std::thread::sleep(StdDuration::from_millis(300));
    let rss = rss_kib("VmRSS:");
    let hwm = rss_kib("VmHWM:");
    stop_sink.store(true, Ordering::Relaxed);
    let mut lat = receiver.join().expect("sink");
    stop_daemon.cancel();
    daemon_thread.join().expect("daemon");
    lat.sort_unstable();
    let added = |p: f64| percentile(&lat, p).saturating_sub(baseline) as f64 / 1000.0;
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
    println!(
        "  added latency µs: p50 {:.1}  p99 {:.1}  p99.9 {:.1}  (loopback baseline p50 {:.1} µs subtracted; baseline p99 {:.1} µs)",
        added(0.5),
        added(0.99),
        added(0.999),
        baseline as f64 / 1000.0,
        baseline_p99 as f64 / 1000.0
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
}
