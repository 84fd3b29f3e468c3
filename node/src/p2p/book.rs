//! The address book: listen URLs of other nodes, when to try them again, and which proved good.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Longest wait between two attempts at one address.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    next_try: Instant,
    /// The address led to a completed handshake at least once.
    good: bool,
    /// Never dial: it is this node, or a node of another network.
    never: bool,
}

/// Known peer addresses with retry backoff.
#[derive(Debug, Default)]
pub struct AddressBook {
    entries: HashMap<String, Entry>,
}

/// Most addresses remembered.
const MAX_ADDRESSES: usize = 1000;

impl AddressBook {
    /// Adds an address to try; returns whether it was new.
    pub fn add(&mut self, url: &str, now: Instant) -> bool {
        if self.entries.contains_key(url) || self.entries.len() >= MAX_ADDRESSES {
            return false;
        }
        self.entries.insert(url.to_string(), Entry { failures: 0, next_try: now, good: false, never: false });
        true
    }

    pub fn contains(&self, url: &str) -> bool {
        self.entries.contains_key(url)
    }

    /// The handshake with `url` completed.
    pub fn mark_good(&mut self, url: &str, now: Instant) {
        self.add(url, now);
        if let Some(e) = self.entries.get_mut(url) {
            e.failures = 0;
            e.good = true;
        }
    }

    /// Dialing `url` failed (or the connection dropped): try again later, exponentially.
    pub fn mark_failed(&mut self, url: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(url) {
            e.failures = e.failures.saturating_add(1);
            let backoff = Duration::from_secs(1u64 << e.failures.min(9)).min(MAX_BACKOFF);
            e.next_try = now + backoff;
        }
    }

    /// Never dial `url` again (it is ourselves, or another network).
    pub fn mark_never(&mut self, url: &str) {
        if let Some(e) = self.entries.get_mut(url) {
            e.never = true;
        } else {
            self.entries.insert(
                url.to_string(),
                Entry { failures: 0, next_try: Instant::now(), good: false, never: true },
            );
        }
    }

    /// Addresses whose retry time has come, good ones first.
    pub fn due(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<(&String, &Entry)> =
            self.entries.iter().filter(|(_, e)| !e.never && e.next_try <= now).collect();
        due.sort_by_key(|(url, e)| (!e.good, e.failures, (*url).clone()));
        due.into_iter().map(|(u, _)| u.clone()).collect()
    }

    /// Addresses worth sharing with peers: good ones first, at most `limit`.
    pub fn shareable(&self, limit: usize) -> Vec<String> {
        let mut list: Vec<(&String, &Entry)> = self.entries.iter().filter(|(_, e)| !e.never).collect();
        list.sort_by_key(|(url, e)| (!e.good, e.failures, (*url).clone()));
        list.into_iter().take(limit).map(|(u, _)| u.clone()).collect()
    }
}

/// Whether `url` looks like a peer endpoint: `ws://` or `wss://`, a host, a path.
pub fn valid_peer_url(url: &str) -> bool {
    let rest = match url.strip_prefix("ws://").or_else(|| url.strip_prefix("wss://")) {
        Some(rest) => rest,
        None => return false,
    };
    let host = rest.split('/').next().unwrap_or("");
    !host.is_empty() && url.len() <= 200 && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_and_priorities() {
        let now = Instant::now();
        let mut book = AddressBook::default();
        assert!(book.add("ws://a/p2p", now));
        assert!(!book.add("ws://a/p2p", now));
        book.add("ws://b/p2p", now);
        book.mark_good("ws://b/p2p", now);
        assert_eq!(book.due(now), vec!["ws://b/p2p".to_string(), "ws://a/p2p".to_string()]);
        book.mark_failed("ws://a/p2p", now);
        assert_eq!(book.due(now), vec!["ws://b/p2p".to_string()]);
        assert_eq!(book.due(now + Duration::from_secs(3)).len(), 2);
        book.mark_never("ws://b/p2p");
        assert_eq!(book.due(now + Duration::from_secs(3)), vec!["ws://a/p2p".to_string()]);
        assert_eq!(book.shareable(10), vec!["ws://a/p2p".to_string()]);
    }

    #[test]
    fn peer_urls() {
        assert!(valid_peer_url("ws://127.0.0.1:8080/p2p"));
        assert!(valid_peer_url("wss://node.example/p2p"));
        assert!(!valid_peer_url("http://127.0.0.1:8080/p2p"));
        assert!(!valid_peer_url("ws:///p2p"));
        assert!(!valid_peer_url("ws://a b/p2p"));
    }
}
