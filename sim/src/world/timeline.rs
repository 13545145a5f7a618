//! The readable timeline of a run: one line per thing that happened, printed as it happens
//! when the run is live, and kept for the report.

use std::io::Write as _;

use borderlink_protocol::time::Instant;

use crate::report::TimelineEntry;

/// The timeline; see the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: Vec<TimelineEntry>,
    live: bool,
}

impl Timeline {
    /// A timeline that prints each entry to stdout as it comes if `live`.
    pub fn new(live: bool) -> Self {
        Timeline {
            entries: Vec::new(),
            live,
        }
    }

    /// Adds an entry.
    pub fn push(&mut self, at: Instant, text: impl Into<String>) {
        let entry = TimelineEntry {
            at_us: at.as_micros(),
            text: text.into(),
        };
        if self.live {
            let mut out = std::io::stdout().lock();
            // A closed pipe ends the printing, not the run.
            let _ = writeln!(out, "{}", line(&entry));
        }
        self.entries.push(entry);
    }

    /// Every entry so far.
    pub fn entries(&self) -> &[TimelineEntry] {
        &self.entries
    }
}

/// One entry as printed: `[  12.345 s] text`.
pub fn line(e: &TimelineEntry) -> String {
    format!(
        "[{:>4}.{:03} s] {}",
        e.at_us / 1_000_000,
        (e.at_us % 1_000_000) / 1_000,
        e.text
    )
}
