//! `[timers]` and `[playout]`: each duration within its range, and the rules between them.

use borderlink_protocol::link::MIN_TX_BREAK;
use borderlink_protocol::time::Duration;
use toml::Spanned;

use super::Report;
use crate::config::error::{KeyPath, ProblemKind};
use crate::config::file::{PlayoutFile, TimersFile};
use crate::config::{BOARD_TX_CAP, Timers};
use crate::engine::jitter::playout::MAX_PLAYOUT_DELAY;
use crate::engine::jitter::{DelayConfig, PlayoutMode};

impl Report<'_> {
    pub(super) fn timers(&mut self, raw: Option<&Spanned<TimersFile>>) -> Option<Timers> {
        let empty = TimersFile::default();
        let t = raw.map_or(&empty, |r| r.get_ref());
        let path = KeyPath::root().key("timers");
        let d = Timers::default();
        let hang_time = self.duration(
            path.key("hang_time"),
            t.hang_time.as_ref(),
            d.hang_time,
            Duration::ZERO..=Duration::from_secs(10),
        );
        let tx_timeout = self.duration(
            path.key("tx_timeout"),
            t.tx_timeout.as_ref(),
            d.tx_timeout,
            Duration::from_secs(1)..=BOARD_TX_CAP,
        );
        let block_time = self.duration(
            path.key("block_time"),
            t.block_time.as_ref(),
            d.block_time,
            Duration::ZERO..=Duration::from_secs(600),
        );
        let grant_wait_bound = self.duration(
            path.key("grant_wait_bound"),
            t.grant_wait_bound.as_ref(),
            d.grant_wait_bound,
            Duration::from_millis(20)..=Duration::from_secs(5),
        );
        let heartbeat = self.duration(
            path.key("heartbeat"),
            t.heartbeat.as_ref(),
            d.heartbeat,
            Duration::from_millis(10)..=d.heartbeat,
        );
        let max_continuous = self.duration(
            path.key("max_continuous"),
            t.max_continuous.as_ref(),
            d.max_continuous,
            Duration::from_secs(1)..=BOARD_TX_CAP,
        );
        let forced_gap = self.duration(
            path.key("forced_gap"),
            t.forced_gap.as_ref(),
            d.forced_gap,
            MIN_TX_BREAK..=Duration::from_secs(60),
        );
        if let (Some(tx), Some(hang)) = (tx_timeout, hang_time)
            && tx + hang > BOARD_TX_CAP
        {
            // Point at whichever of the two the file sets (the defaults fit the cap).
            let (key, span) = match (&t.tx_timeout, &t.hang_time) {
                (Some(v), _) => (path.key("tx_timeout"), Some(v.span())),
                (None, Some(v)) => (path.key("hang_time"), Some(v.span())),
                (None, None) => (path.key("tx_timeout"), None),
            };
            self.add(
                key,
                span,
                ProblemKind::BeyondBoardCap {
                    tx_timeout: tx,
                    hang_time: hang,
                    cap: BOARD_TX_CAP,
                },
            );
            return None;
        }
        // Unset, the continuous cap is never shorter than one over and its hang time.
        let max_continuous = match (&t.max_continuous, tx_timeout, hang_time, max_continuous) {
            (None, Some(tx), Some(hang), Some(max)) => Some(max.max(tx + hang)),
            (_, _, _, max) => max,
        };
        if let (Some(tx), Some(hang), Some(max)) = (tx_timeout, hang_time, max_continuous)
            && max < tx + hang
        {
            let (key, span) = match (&t.max_continuous, &t.tx_timeout, &t.hang_time) {
                (Some(v), _, _) => (path.key("max_continuous"), Some(v.span())),
                (None, Some(v), _) => (path.key("tx_timeout"), Some(v.span())),
                (None, None, Some(v)) => (path.key("hang_time"), Some(v.span())),
                (None, None, None) => (path.key("max_continuous"), None),
            };
            self.add(
                key,
                span,
                ProblemKind::ContinuousBelowOver {
                    max_continuous: max,
                    tx_timeout: tx,
                    hang_time: hang,
                },
            );
            return None;
        }
        Some(Timers {
            hang_time: hang_time?,
            tx_timeout: tx_timeout?,
            block_time: block_time?,
            grant_wait_bound: grant_wait_bound?,
            heartbeat: heartbeat?,
            max_continuous: max_continuous?,
            forced_gap: forced_gap?,
        })
    }

    pub(super) fn playout(&mut self, raw: Option<&Spanned<PlayoutFile>>) -> Option<DelayConfig> {
        let empty = PlayoutFile::default();
        let p = raw.map_or(&empty, |r| r.get_ref());
        let path = KeyPath::root().key("playout");
        let d = DelayConfig::default();
        let quantile = match &p.quantile {
            Some(q) if !(*q.get_ref() > 0.0 && *q.get_ref() <= 1.0) => {
                self.add(
                    path.key("quantile"),
                    Some(q.span()),
                    ProblemKind::OutOfRange {
                        value: q.get_ref().to_string(),
                        expected: "a share of frames in (0, 1], e.g. 0.95".into(),
                    },
                );
                None
            }
            Some(q) => Some(*q.get_ref()),
            None => Some(d.quantile),
        };
        let range = Duration::ZERO..=MAX_PLAYOUT_DELAY;
        let initial = self.duration(
            path.key("initial"),
            p.initial.as_ref(),
            d.initial,
            range.clone(),
        );
        let min = self.duration(path.key("min"), p.min.as_ref(), d.min, range.clone());
        let max = self.duration(path.key("max"), p.max.as_ref(), d.max, range.clone());
        let fixed = match &p.fixed {
            Some(f) => self
                .duration(path.key("fixed"), Some(f), Duration::ZERO, range)
                .map(PlayoutMode::Fixed),
            None => Some(PlayoutMode::Adaptive),
        };
        let (initial, min, max) = (initial?, min?, max?);
        if !(min <= initial && initial <= max) {
            let given = [(&p.min, "min"), (&p.initial, "initial"), (&p.max, "max")]
                .into_iter()
                .find_map(|(v, k)| v.as_ref().map(|v| (path.key(k), Some(v.span()))));
            let (key, span) = given.unwrap_or((path.clone(), None));
            self.add(key, span, ProblemKind::PlayoutOrder { min, initial, max });
            return None;
        }
        let config = DelayConfig {
            mode: fixed?,
            quantile: quantile?,
            initial,
            min,
            max,
            ..d
        };
        // Backstop: the engine's own rules, should they grow beyond the checks above.
        if let Err(e) = config.validate() {
            self.add(
                path,
                raw.map(|r| r.span()),
                ProblemKind::BadValue(e.to_string()),
            );
            return None;
        }
        Some(config)
    }
}
