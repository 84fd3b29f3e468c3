//! The run's event log: what happened, when, in simulated time. Its hash is the run's
//! fingerprint (one seed, one hash); its tail is the timeline a failure prints.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

#[derive(Debug, Default)]
pub struct Log {
    events: Vec<(u64, String)>,
    hasher: Sha256,
}

/// The prefix of the periodic lines listing every node's tip: in the fingerprint, but only the
/// last one in a timeline.
pub const TIPS: &str = "tips ";

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

    /// Every event, one per line.
    pub fn all(&self) -> String {
        self.lines((0..self.events.len()).collect())
    }

    /// The last `n` events (of the tip lines, the last only), one per line, with their time.
    pub fn timeline(&self, n: usize) -> String {
        let last_tips = self.events.iter().rposition(|(_, what)| what.starts_with(TIPS));
        let mut picked: Vec<usize> = (0..self.events.len())
            .rev()
            .filter(|i| !self.events[*i].1.starts_with(TIPS) || Some(*i) == last_tips)
            .take(n)
            .collect();
        picked.reverse();
        self.lines(picked)
    }

    /// Every event that names one of the short ids (12 hex digits) found in `text`.
    pub fn mentioning(&self, text: &str) -> String {
        let ids: Vec<&str> = text
            .split(|c: char| !c.is_ascii_hexdigit())
            .filter(|w| w.len() == 12 && w.chars().any(|c| c.is_ascii_digit()))
            .collect();
        if ids.is_empty() {
            return String::new();
        }
        let picked = (0..self.events.len())
            .filter(|i| {
                !self.events[*i].1.starts_with(TIPS) && ids.iter().any(|id| self.events[*i].1.contains(id))
            })
            .collect();
        self.lines(picked)
    }

    fn lines(&self, picked: Vec<usize>) -> String {
        let mut out = String::new();
        for i in picked {
            let (millis, what) = &self.events[i];
            let _ = writeln!(out, "  {:>8.3}s  {what}", *millis as f64 / 1000.0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_keeps_the_last_tips_line_and_events_naming_an_id() {
        let mut log = Log::default();
        log.record(1, "tips 1:aaaaaa".into());
        log.record(2, "n0 pays 1 FRC to n1: 0123456789ab".into());
        log.record(3, "tips 2:bbbbbb".into());
        log.record(4, "n1 mined 2 ffffffffffff".into());
        let timeline = log.timeline(10);
        assert!(!timeline.contains("1:aaaaaa") && timeline.contains("2:bbbbbb"), "{timeline}");
        assert_eq!(log.timeline(1).lines().count(), 1);
        let about = log.mentioning("payment 0123456789ab was lost");
        assert!(about.contains("n0 pays") && !about.contains("mined"), "{about}");
        let before = log.fingerprint();
        log.record(5, "x".into());
        assert_ne!(before, log.fingerprint());
    }
}
