//! A seeded, deterministic, virtual-time packet link with the faults of a real IP path between
//! two border sites: delay, jitter, loss (independent or in bursts), duplication, reordering
//! and partitions.
//!
//! The simulator puts one [`ImpairedLink`] per direction between every pair of gateways, so the
//! jitter buffer, loss accounting and floor control of the real daemon meet the network it
//! will meet in the field, reproducibly. It is sans-IO like the rest of borderlink: nothing here
//! reads a clock or owns a socket. The driver
//! 1. hands every packet to [`send`](ImpairedLink::send) with the virtual time it was sent;
//! 2. advances virtual time to [`poll_timeout`](ImpairedLink::poll_timeout), the next delivery;
//! 3. takes every packet due with [`poll_deliver`](ImpairedLink::poll_deliver) until `None`.
//!
//! What happens to one packet, in order:
//! - sent inside a [`Partition`] window: dropped (counted as `dropped_by_partition`). A
//!   partition cuts the path at the sender; packets already in flight still arrive.
//! - otherwise the [`Loss`] model decides whether it is lost;
//! - a surviving packet is delivered after `base_delay` plus a [`Jitter`] draw, and with
//!   probability `duplicate` once more after an independent draw;
//! - reordering is not configured on its own: it is what jitter does when a later packet draws
//!   a shorter delay than an earlier one, as on a real multi-path or queueing network. With
//!   `fifo` set, a packet is never delivered before one sent earlier (a single queue), and
//!   jitter shows only as bunching.
//!
//! Same seed, same configuration and same calls give the same deliveries at the same times,
//! on a given platform and `rand` version (`SmallRng` is not portable across either).
//!
//! ```
//! use borderlink_protocol::time::{Duration, Instant};
//! use borderlink_sim::net::impair::{ImpairedLink, Jitter, LinkConfig, Loss};
//!
//! let config = LinkConfig {
//!     jitter: Jitter::Uniform { max: Duration::from_millis(30) },
//!     loss: Loss::Bernoulli { p: 0.01 },
//!     ..LinkConfig::ideal(Duration::from_millis(20))
//! };
//! let mut link = ImpairedLink::new(config, 7).unwrap();
//! link.send(Instant::ZERO, b"hello".to_vec());
//! while let Some(at) = link.poll_timeout() {
//!     let packet = link.poll_deliver(at).unwrap();
//!     assert!(at >= Instant::from_millis(20) && at <= Instant::from_millis(50));
//!     assert_eq!(packet, b"hello");
//! }
//! assert_eq!(link.stats().sent, 1);
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use borderlink_protocol::time::{Duration, Instant};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Normal jitter is cut off at this many standard deviations.
///
/// The tails of a true normal are unbounded; a cut-off gives every configuration a worst-case
/// delay that a test can reason about, and at 3σ it removes only 0.27 % of draws.
pub const NORMAL_CUTOFF_SIGMAS: f64 = 3.0;

/// How the delay of each packet varies around the base delay.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// Every packet takes exactly the base delay.
    #[default]
    None,
    /// An extra delay drawn uniformly from `0..=max`.
    ///
    /// Queueing only ever adds delay, so the base delay stays the floor, and the worst case is
    /// exactly `base_delay + max`: the right model to check that a jitter buffer of a given
    /// depth never underruns, and the one whose reordering is easiest to provoke.
    Uniform {
        /// The largest extra delay.
        max: Duration,
    },
    /// A delay of `base_delay + N(0, std_dev)`, cut off at ±[`NORMAL_CUTOFF_SIGMAS`] and
    /// never below zero.
    ///
    /// This is what `tc netem delay BASE JITTER distribution normal` does, so scenarios can
    /// reuse figures measured and tuned with netem on real links.
    Normal {
        /// The standard deviation before the cut-off.
        std_dev: Duration,
    },
}

/// How packets are lost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// No packet is lost.
    #[default]
    None,
    /// Each packet is lost independently with probability `p`.
    Bernoulli {
        /// Loss probability, 0 to 1.
        p: f64,
    },
    /// The Gilbert–Elliott two-state model: loss comes in bursts, as on a congested or
    /// radio-backhauled link.
    ///
    /// The channel is *good* or *bad*; each packet is lost with the current state's loss
    /// probability, then the state moves on. In the long run the share of time spent bad is
    /// `p_good_to_bad / (p_good_to_bad + p_bad_to_good)` and a bad spell lasts
    /// `1 / p_bad_to_good` packets on average.
    GilbertElliott {
        /// Probability of moving from good to bad after a packet.
        p_good_to_bad: f64,
        /// Probability of moving from bad to good after a packet.
        p_bad_to_good: f64,
        /// Loss probability in the good state (often 0).
        loss_good: f64,
        /// Loss probability in the bad state (often 1).
        loss_bad: f64,
    },
}

/// A window of virtual time in which every packet sent is dropped: `start` inclusive, `end`
/// exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partition {
    /// First instant of the cut.
    pub start: Instant,
    /// First instant after the cut.
    pub end: Instant,
}

impl Partition {
    /// A partition from `start` (inclusive) to `end` (exclusive).
    pub const fn new(start: Instant, end: Instant) -> Self {
        Partition { start, end }
    }

    /// Whether a packet sent at `t` falls inside the cut.
    pub fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }
}

/// Everything an [`ImpairedLink`] does to the packets it carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkConfig {
    /// The delay every packet takes at least (propagation plus fixed processing).
    pub base_delay: Duration,
    /// How the delay varies.
    pub jitter: Jitter,
    /// How packets are lost.
    pub loss: Loss,
    /// Probability that a delivered packet is delivered a second time.
    pub duplicate: f64,
    /// Never deliver a packet before one sent earlier.
    pub fifo: bool,
    /// Windows during which everything sent is dropped.
    pub partitions: Vec<Partition>,
}

impl LinkConfig {
    /// A link that only delays, by exactly `base_delay`.
    pub fn ideal(base_delay: Duration) -> Self {
        LinkConfig {
            base_delay,
            ..LinkConfig::default()
        }
    }

    /// Checks every probability and partition.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn probability(field: &'static str, value: f64) -> Result<(), ConfigError> {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Probability { field, value })
            }
        }
        probability("duplicate", self.duplicate)?;
        match self.loss {
            Loss::None => {}
            Loss::Bernoulli { p } => probability("loss.p", p)?,
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                probability("loss.p_good_to_bad", p_good_to_bad)?;
                probability("loss.p_bad_to_good", p_bad_to_good)?;
                probability("loss.loss_good", loss_good)?;
                probability("loss.loss_bad", loss_bad)?;
            }
        }
        for (index, p) in self.partitions.iter().enumerate() {
            validate_partition(index, p)?;
        }
        Ok(())
    }
}

fn validate_partition(index: usize, p: &Partition) -> Result<(), ConfigError> {
    if p.start < p.end {
        Ok(())
    } else {
        Err(ConfigError::EmptyPartition { index })
    }
}

/// Why a [`LinkConfig`] was rejected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A probability outside 0..=1 (or NaN).
    #[error("{field} = {value}: a probability must be between 0 and 1")]
    Probability {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A partition whose end is not after its start.
    #[error("partition {index}: end must be after start")]
    EmptyPartition {
        /// Its position in the list.
        index: usize,
    },
}

/// What an [`ImpairedLink`] has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkStats {
    /// Packets handed to [`ImpairedLink::send`].
    pub sent: u64,
    /// Packets handed out by [`ImpairedLink::poll_deliver`], duplicates included.
    pub delivered: u64,
    /// Packets lost by the loss model.
    pub lost: u64,
    /// Extra copies scheduled by duplication.
    pub duplicated: u64,
    /// Packets (not copies) delivered after a packet that was sent later.
    pub reordered: u64,
    /// Packets dropped because they were sent inside a partition.
    pub dropped_by_partition: u64,
}

/// A packet waiting for its delivery time.
#[derive(Debug)]
struct Scheduled<T> {
    at: Instant,
    /// Breaks ties between equal delivery times: first scheduled, first delivered.
    order: u64,
    /// Send sequence number, shared by a packet and its copy.
    seq: u64,
    copy: bool,
    packet: T,
}

impl<T> PartialEq for Scheduled<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Scheduled<T> {}

impl<T> PartialOrd for Scheduled<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Scheduled<T> {
    // Reversed: `BinaryHeap` is a max-heap and the earliest delivery must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

/// One direction of an impaired network path, carrying packets of type `T`.
#[derive(Debug)]
pub struct ImpairedLink<T> {
    config: LinkConfig,
    rng: SmallRng,
    queue: BinaryHeap<Scheduled<T>>,
    next_order: u64,
    next_seq: u64,
    /// The Gilbert–Elliott channel state; starts good.
    bad: bool,
    /// The latest delivery time scheduled so far, which FIFO mode must not undercut.
    last_at: Instant,
    highest_delivered_seq: Option<u64>,
    stats: LinkStats,
}

impl<T: Clone> ImpairedLink<T> {
    /// A link with this configuration whose random draws all come from `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(ImpairedLink {
            config,
            rng: SmallRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            next_order: 0,
            next_seq: 0,
            bad: false,
            last_at: Instant::ZERO,
            highest_delivered_seq: None,
            stats: LinkStats::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Adds a partition, e.g. one a scenario starts while running.
    pub fn add_partition(&mut self, partition: Partition) -> Result<(), ConfigError> {
        validate_partition(self.config.partitions.len(), &partition)?;
        self.config.partitions.push(partition);
        Ok(())
    }

    /// Hands a packet to the link at `now`; it is dropped, lost or scheduled for delivery.
    pub fn send(&mut self, now: Instant, packet: T) {
        self.stats.sent += 1;
        let seq = self.next_seq;
        self.next_seq += 1;

        if self.config.partitions.iter().any(|p| p.contains(now)) {
            self.stats.dropped_by_partition += 1;
            return;
        }
        if self.draw_loss() {
            self.stats.lost += 1;
            return;
        }
        let duplicate = self.config.duplicate > 0.0 && self.rng.random_bool(self.config.duplicate);
        if duplicate {
            self.stats.duplicated += 1;
            self.schedule(now, seq, false, packet.clone());
            self.schedule(now, seq, true, packet);
        } else {
            self.schedule(now, seq, false, packet);
        }
    }

    /// The next packet due at or before `now`, if any.
    #[must_use]
    pub fn poll_deliver(&mut self, now: Instant) -> Option<T> {
        if self.queue.peek()?.at > now {
            return None;
        }
        let s = self.queue.pop()?;
        self.stats.delivered += 1;
        match self.highest_delivered_seq {
            Some(highest) if s.seq < highest => {
                if !s.copy {
                    self.stats.reordered += 1;
                }
            }
            _ => self.highest_delivered_seq = Some(s.seq),
        }
        Some(s.packet)
    }

    /// When the next packet is due, or `None` if nothing is in flight.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.at)
    }

    /// How many packets (copies included) are in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// The counters so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    fn schedule(&mut self, now: Instant, seq: u64, copy: bool, packet: T) {
        let mut at = now + self.draw_delay();
        if self.config.fifo {
            at = at.max(self.last_at);
        }
        self.last_at = self.last_at.max(at);
        let order = self.next_order;
        self.next_order += 1;
        self.queue.push(Scheduled {
            at,
            order,
            seq,
            copy,
            packet,
        });
    }

    fn draw_loss(&mut self) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Bernoulli { p } => self.rng.random_bool(p),
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let lost = self
                    .rng
                    .random_bool(if self.bad { loss_bad } else { loss_good });
                let flip = self.rng.random_bool(if self.bad {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                });
                self.bad ^= flip;
                lost
            }
        }
    }

    fn draw_delay(&mut self) -> Duration {
        let base = self.config.base_delay;
        match self.config.jitter {
            Jitter::None => base,
            Jitter::Uniform { max } => {
                base + Duration::from_micros(self.rng.random_range(0..=max.as_micros()))
            }
            Jitter::Normal { std_dev } => {
                let z = self
                    .standard_normal()
                    .clamp(-NORMAL_CUTOFF_SIGMAS, NORMAL_CUTOFF_SIGMAS);
                let us = base.as_micros() as f64 + z * std_dev.as_micros() as f64;
                // `as` saturates: a negative delay becomes zero.
                Duration::from_micros(us.round() as u64)
            }
        }
    }

    /// One draw from N(0, 1) by the Box–Muller transform, which needs nothing beyond `rand`.
    fn standard_normal(&mut self) -> f64 {
        // 1 - [0, 1) is (0, 1]: ln never sees zero.
        let u1: f64 = 1.0 - self.rng.random::<f64>();
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    /// Sends `count` packets numbered from 0, one every `spacing`, then drains the link;
    /// returns (delivery time, packet number) in delivery order.
    fn run(link: &mut ImpairedLink<u64>, count: u64, spacing: Duration) -> Vec<(Instant, u64)> {
        let mut out = Vec::new();
        let mut next_send = Instant::ZERO;
        let mut n = 0;
        loop {
            // Advance virtual time to whichever comes first: a send or a delivery.
            let send_due = (n < count).then_some(next_send);
            let now = match (send_due, link.poll_timeout()) {
                (Some(s), Some(d)) => s.min(d),
                (Some(s), None) => s,
                (None, Some(d)) => d,
                (None, None) => break,
            };
            while let Some(p) = link.poll_deliver(now) {
                out.push((now, p));
            }
            if send_due == Some(now) {
                link.send(now, n);
                n += 1;
                next_send = now + spacing;
            }
        }
        out
    }

    fn messy() -> LinkConfig {
        LinkConfig {
            jitter: Jitter::Normal {
                std_dev: Duration::from_millis(15),
            },
            loss: Loss::GilbertElliott {
                p_good_to_bad: 0.02,
                p_bad_to_good: 0.3,
                loss_good: 0.01,
                loss_bad: 0.8,
            },
            duplicate: 0.05,
            ..LinkConfig::ideal(Duration::from_millis(40))
        }
    }

    #[test]
    fn same_seed_gives_the_same_schedule() {
        let a = run(
            &mut ImpairedLink::new(messy(), 42).unwrap(),
            2_000,
            Duration::from_millis(20),
        );
        let b = run(
            &mut ImpairedLink::new(messy(), 42).unwrap(),
            2_000,
            Duration::from_millis(20),
        );
        let c = run(
            &mut ImpairedLink::new(messy(), 43).unwrap(),
            2_000,
            Duration::from_millis(20),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ideal_link_delivers_in_order_at_exactly_the_base_delay() {
        let base = Duration::from_millis(35);
        let mut link = ImpairedLink::new(LinkConfig::ideal(base), 1).unwrap();
        for i in 0..100 {
            link.send(ms(i * 7), i);
        }
        for i in 0..100 {
            let due = ms(i * 7) + base;
            assert_eq!(link.poll_timeout(), Some(due));
            assert_eq!(link.poll_deliver(due - Duration::from_micros(1)), None);
            assert_eq!(link.poll_deliver(due), Some(i));
        }
        assert_eq!(link.poll_timeout(), None);
        let stats = link.stats();
        assert_eq!((stats.sent, stats.delivered), (100, 100));
        assert_eq!(
            stats,
            LinkStats {
                sent: 100,
                delivered: 100,
                ..LinkStats::default()
            }
        );
    }

    #[test]
    fn packets_due_at_the_same_instant_come_out_in_send_order() {
        let mut link = ImpairedLink::new(LinkConfig::ideal(Duration::ZERO), 1).unwrap();
        for i in 0..5 {
            link.send(ms(10), i);
        }
        assert_eq!(link.in_flight(), 5);
        let got: Vec<u64> = std::iter::from_fn(|| link.poll_deliver(ms(10))).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn bernoulli_loss_rate_matches_configuration() {
        let config = LinkConfig {
            loss: Loss::Bernoulli { p: 0.05 },
            ..LinkConfig::ideal(Duration::from_millis(1))
        };
        let mut link = ImpairedLink::new(config, 2024).unwrap();
        for i in 0..100_000 {
            link.send(ms(i), i);
        }
        let stats = link.stats();
        // One standard deviation is 0.069 %; ±0.5 % is over seven.
        let rate = stats.lost as f64 / 100_000.0;
        assert!((0.045..=0.055).contains(&rate), "loss rate {rate}");
        assert_eq!(stats.lost + link.in_flight() as u64, 100_000);
    }

    #[test]
    fn gilbert_elliott_loses_in_bursts_at_the_stationary_rate() {
        let config = LinkConfig {
            loss: Loss::GilbertElliott {
                p_good_to_bad: 0.01,
                p_bad_to_good: 0.25,
                loss_good: 0.0,
                loss_bad: 1.0,
            },
            ..LinkConfig::ideal(Duration::ZERO)
        };
        let mut link = ImpairedLink::new(config, 99).unwrap();
        let mut lost_flags = Vec::with_capacity(100_000);
        for i in 0..100_000 {
            let before = link.stats().lost;
            link.send(ms(i), i);
            lost_flags.push(link.stats().lost > before);
            while link.poll_deliver(ms(i)).is_some() {}
        }
        // Stationary loss 0.01 / 0.26 = 3.85 %; bursts make it noisier than Bernoulli
        // (one standard deviation is about 0.17 %).
        let rate = link.stats().lost as f64 / 100_000.0;
        assert!((0.032..=0.045).contains(&rate), "loss rate {rate}");
        // Mean burst length 1 / 0.25 = 4 packets.
        let bursts = lost_flags.windows(2).filter(|w| !w[0] && w[1]).count() as f64;
        let mean_burst = link.stats().lost as f64 / bursts;
        assert!((3.5..=4.5).contains(&mean_burst), "mean burst {mean_burst}");
    }

    #[test]
    fn partition_drops_exactly_the_packets_sent_inside_it() {
        let config = LinkConfig {
            partitions: vec![Partition::new(ms(200), ms(400))],
            ..LinkConfig::ideal(Duration::from_millis(50))
        };
        let mut link = ImpairedLink::new(config, 3).unwrap();
        let delivered = run(&mut link, 100, Duration::from_millis(10));
        let numbers: Vec<u64> = delivered.iter().map(|&(_, n)| n).collect();
        // Packets 20..=39 were sent at 200..=390 ms; 19 (sent at 190, arriving at 240, inside
        // the window) and 40 (sent at 400, the first instant after it) get through.
        let expected: Vec<u64> = (0..20).chain(40..100).collect();
        assert_eq!(numbers, expected);
        assert_eq!(link.stats().dropped_by_partition, 20);
        assert_eq!(link.stats().lost, 0);
    }

    #[test]
    fn partition_added_while_running_applies_from_then_on() {
        let mut link = ImpairedLink::new(LinkConfig::ideal(Duration::ZERO), 3).unwrap();
        link.send(ms(0), 0);
        link.add_partition(Partition::new(ms(5), ms(10))).unwrap();
        link.send(ms(5), 1);
        link.send(ms(10), 2);
        assert_eq!(link.poll_deliver(ms(10)), Some(0));
        assert_eq!(link.poll_deliver(ms(10)), Some(2));
        assert_eq!(link.stats().dropped_by_partition, 1);
        assert_eq!(link.config().partitions.len(), 1);
        assert_eq!(
            link.add_partition(Partition::new(ms(5), ms(5))),
            Err(ConfigError::EmptyPartition { index: 1 })
        );
    }

    fn jittery(fifo: bool) -> LinkConfig {
        LinkConfig {
            jitter: Jitter::Uniform {
                max: Duration::from_millis(60),
            },
            fifo,
            ..LinkConfig::ideal(Duration::from_millis(20))
        }
    }

    #[test]
    fn jitter_reorders_only_when_fifo_is_off() {
        let spacing = Duration::from_millis(20);
        let mut free = ImpairedLink::new(jittery(false), 11).unwrap();
        let out = run(&mut free, 1_000, spacing);
        let in_order = out.windows(2).all(|w| w[0].1 < w[1].1);
        assert!(!in_order);
        assert!(free.stats().reordered > 50, "{:?}", free.stats());
        // Uniform jitter never goes below the base delay nor above base + max.
        for &(at, n) in &out {
            let sent = Instant::ZERO + spacing.saturating_mul(n);
            assert!(
                at - sent >= Duration::from_millis(20) && at - sent <= Duration::from_millis(80)
            );
        }

        let mut fifo = ImpairedLink::new(jittery(true), 11).unwrap();
        let out = run(&mut fifo, 1_000, spacing);
        let numbers: Vec<u64> = out.iter().map(|&(_, n)| n).collect();
        assert_eq!(numbers, (0..1_000).collect::<Vec<_>>());
        assert_eq!(fifo.stats().reordered, 0);
        for &(at, n) in &out {
            let sent = Instant::ZERO + spacing.saturating_mul(n);
            assert!(at - sent >= Duration::from_millis(20));
        }
    }

    #[test]
    fn duplicates_are_counted_and_delivered() {
        let config = LinkConfig {
            duplicate: 0.1,
            ..LinkConfig::ideal(Duration::from_millis(5))
        };
        let mut link = ImpairedLink::new(config, 5).unwrap();
        let out = run(&mut link, 10_000, Duration::from_millis(1));
        let stats = link.stats();
        assert!((900..=1_100).contains(&stats.duplicated), "{stats:?}");
        assert_eq!(stats.delivered, 10_000 + stats.duplicated);
        assert_eq!(out.len() as u64, stats.delivered);
        // Without jitter a copy follows its original at once: nothing is reordered.
        assert_eq!(stats.reordered, 0);
        let mut seen = vec![0u32; 10_000];
        out.iter().for_each(|&(_, n)| seen[n as usize] += 1);
        assert_eq!(
            seen.iter().filter(|&&c| c == 2).count() as u64,
            stats.duplicated
        );
        assert!(seen.iter().all(|&c| c == 1 || c == 2));
    }

    #[test]
    fn normal_jitter_is_centred_on_the_base_and_cut_off_at_three_sigma() {
        let config = LinkConfig {
            jitter: Jitter::Normal {
                std_dev: Duration::from_millis(10),
            },
            ..LinkConfig::ideal(Duration::from_millis(50))
        };
        let mut link = ImpairedLink::new(config, 8).unwrap();
        let delays: Vec<f64> = (0..20_000u64)
            .map(|i| {
                let now = ms(i * 1_000);
                link.send(now, i);
                let at = link.poll_timeout().unwrap();
                assert_eq!(link.poll_deliver(at), Some(i));
                (at - now).as_micros() as f64 / 1_000.0
            })
            .collect();
        let n = delays.len() as f64;
        let mean = delays.iter().sum::<f64>() / n;
        let sd = (delays.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((49.7..=50.3).contains(&mean), "mean {mean}");
        assert!((9.6..=10.2).contains(&sd), "sd {sd}");
        assert!(delays.iter().all(|&d| (20.0..=80.0).contains(&d)));
    }

    #[test]
    fn normal_jitter_larger_than_the_base_never_goes_negative() {
        let config = LinkConfig {
            jitter: Jitter::Normal {
                std_dev: Duration::from_millis(10),
            },
            ..LinkConfig::ideal(Duration::from_millis(1))
        };
        let mut link = ImpairedLink::new(config, 8).unwrap();
        let mut zero = 0;
        for i in 0..1_000 {
            let now = ms(1_000 + i * 100);
            link.send(now, i);
            let at = link.poll_timeout().unwrap();
            assert!(at >= now);
            zero += u32::from(at == now);
            let _ = link.poll_deliver(at);
        }
        assert!(zero > 300, "{zero}");
    }

    #[test]
    fn bad_configurations_are_rejected_with_the_field_named() {
        let bad_dup = LinkConfig {
            duplicate: 1.5,
            ..LinkConfig::default()
        };
        assert_eq!(
            ImpairedLink::<u8>::new(bad_dup, 0).unwrap_err().to_string(),
            "duplicate = 1.5: a probability must be between 0 and 1"
        );
        let nan_loss = LinkConfig {
            loss: Loss::GilbertElliott {
                p_good_to_bad: 0.1,
                p_bad_to_good: f64::NAN,
                loss_good: 0.0,
                loss_bad: 1.0,
            },
            ..LinkConfig::default()
        };
        assert!(matches!(
            nan_loss.validate(),
            Err(ConfigError::Probability {
                field: "loss.p_bad_to_good",
                ..
            })
        ));
        let negative = LinkConfig {
            loss: Loss::Bernoulli { p: -0.1 },
            ..LinkConfig::default()
        };
        assert!(negative.validate().is_err());
        let backwards = LinkConfig {
            partitions: vec![Partition::new(ms(0), ms(1)), Partition::new(ms(10), ms(5))],
            ..LinkConfig::default()
        };
        assert_eq!(
            backwards.validate(),
            Err(ConfigError::EmptyPartition { index: 1 })
        );
        assert!(messy().validate().is_ok());
    }
}
