//! The run's event log: what happened, when, in simulated time. Its hash is the run's
//! fingerprint (one seed, one hash); its tail is the timeline a failure prints.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

#[derive(Debug, Default)]
pub struct Log {
    events: Vec<(u64, String)>,
    hasher: Sha256,
}

impl Log {
    /// Records `what` at `millis` of simulated time.
    pub fn record(&mut self, millis: u64, what: String) {
        self.hasher.update(millis.to_le_bytes());
        self.hasher.update((what.len() as u64).to_le_bytes());
        self.hasher.update(what.as_bytes());
        self.events.push((millis, what));
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The hash of every event so far, in hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The last `n` events, one per line, with their time.
    pub fn timeline(&self, n: usize) -> String {
        let mut out = String::new();
        for (millis, what) in &self.events[self.events.len().saturating_sub(n)..] {
            let _ = writeln!(out, "  {:>8.3}s  {what}", *millis as f64 / 1000.0);
        }
        out
    }
}
