//! The address book: listen URLs of other nodes, when to try them again, and which proved good.
//!
//! Two tables, as Bitcoin Core's address manager keeps them, so that gossip cannot push out the
//! addresses a node has reason to trust:
//!
//! ```text
//!   operator (--peer, POST /api/peers)  ──▶ kept, never evicted
//!   gossip (Addrs from a peer)          ──▶ new table: at most MAX_NEW, at most MAX_PER_SOURCE
//!                                           from one source; full → the worst address of the
//!                                           source holding the most is evicted
//!   handshake completed                 ──▶ tried table: at most MAX_TRIED; full → the worst
//!                                           tried address is evicted (and forgotten on disk)
//! ```
//!
//! A peer that gossips junk can only displace addresses that came from itself (or, once the new
//! table is full, from whichever source holds the most), never one the operator gave or one
//! that proved good.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Longest wait between two attempts at one address.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Addresses learned from gossip, at most.
pub const MAX_NEW: usize = 1024;
/// Addresses learned from one source, at most.
pub const MAX_PER_SOURCE: usize = 64;
/// Addresses that completed a handshake, at most (also the most remembered across restarts).
pub const MAX_TRIED: usize = 256;
/// The longest peer URL accepted.
pub const MAX_URL_LEN: usize = 200;

/// Where an address came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// The node's operator: never evicted.
    Operator,
    /// Gossip, from the source with this key (the telling peer's address group).
    Gossip(String),
}

#[derive(Debug, Clone)]
struct Entry {
    origin: Origin,
    failures: u32,
    next_try: Instant,
    /// The address led to a completed handshake (it is in the tried table).
    good: bool,
    /// Never dial: it is this node, or a node of another network.
    never: bool,
    added: Instant,
}

impl Entry {
    /// Eviction order: the worse an entry, the greater this key.
    fn badness(&self) -> (u32, std::cmp::Reverse<Instant>) {
        (self.failures, std::cmp::Reverse(self.added))
    }
}

/// Known peer addresses with retry backoff.
#[derive(Debug, Default)]
pub struct AddressBook {
    entries: BTreeMap<String, Entry>,
}

impl AddressBook {
    /// Adds an address the operator gave; returns whether it was new.
    pub fn add(&mut self, url: &str, now: Instant) -> bool {
        match self.entries.get_mut(url) {
            Some(e) => {
                e.origin = Origin::Operator;
                false
            }
            None => {
                self.insert(url, Origin::Operator, now);
                true
            }
        }
    }

    /// Adds an address a peer gossiped, `source` naming that peer's address group; returns
    /// whether it was new. May evict another gossiped address (see the module's rules).
    pub fn add_gossip(&mut self, url: &str, source: &str, now: Instant) -> bool {
        if self.entries.contains_key(url) {
            return false;
        }
        let from_source = self.gossip_from(source).count();
        if from_source >= MAX_PER_SOURCE {
            self.evict_worst_new(|s| s == source);
        } else if self.new_count() >= MAX_NEW {
            let largest = self.largest_source();
            self.evict_worst_new(|s| Some(s) == largest.as_deref());
        }
        self.insert(url, Origin::Gossip(source.to_string()), now);
        true
    }

    fn insert(&mut self, url: &str, origin: Origin, now: Instant) {
        let entry = Entry { origin, failures: 0, next_try: now, good: false, never: false, added: now };
        self.entries.insert(url.to_string(), entry);
    }

    fn gossip_from<'a>(&'a self, source: &'a str) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
        self.entries
            .iter()
            .filter(move |(_, e)| !e.good && matches!(&e.origin, Origin::Gossip(s) if s == source))
    }

    fn new_count(&self) -> usize {
        self.entries.values().filter(|e| !e.good && matches!(e.origin, Origin::Gossip(_))).count()
    }

    fn largest_source(&self) -> Option<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in self.entries.values().filter(|e| !e.good) {
            if let Origin::Gossip(s) = &e.origin {
                *counts.entry(s).or_default() += 1;
            }
        }
        counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))).map(|(s, _)| s.to_string())
    }

    /// Evicts the worst untried gossiped address whose source matches.
    fn evict_worst_new(&mut self, source_matches: impl Fn(&str) -> bool) {
        let worst = self
            .entries
            .iter()
            .filter(|(_, e)| !e.good && matches!(&e.origin, Origin::Gossip(s) if source_matches(s)))
            .max_by(|a, b| a.1.badness().cmp(&b.1.badness()).then(a.0.cmp(b.0)))
            .map(|(url, _)| url.clone());
        if let Some(url) = worst {
            self.entries.remove(&url);
        }
    }

    pub fn contains(&self, url: &str) -> bool {
        self.entries.contains_key(url)
    }

    /// An address remembered as good from an earlier run: tried, but evictable.
    pub fn restore_good(&mut self, url: &str, now: Instant) {
        if !self.entries.contains_key(url) {
            self.insert(url, Origin::Gossip("remembered".into()), now);
        }
        self.mark_good(url, now);
    }

    /// We dialed `url` and the handshake completed: it joins the tried table. Returns the tried
    /// address evicted to make room, which the caller forgets on disk too.
    pub fn mark_good(&mut self, url: &str, now: Instant) -> Option<String> {
        if !self.entries.contains_key(url) {
            self.insert(url, Origin::Gossip("dialed".into()), now);
        }
        let already = self.entries.get(url).is_some_and(|e| e.good);
        let mut evicted = None;
        if !already && self.entries.values().filter(|e| e.good).count() >= MAX_TRIED {
            evicted = self
                .entries
                .iter()
                .filter(|(u, e)| e.good && *u != url && e.origin != Origin::Operator)
                .max_by(|a, b| a.1.badness().cmp(&b.1.badness()).then(a.0.cmp(b.0)))
                .map(|(u, _)| u.clone());
            if let Some(u) = &evicted {
                self.entries.remove(u);
            }
        }
        if let Some(e) = self.entries.get_mut(url) {
            e.failures = 0;
            e.good = true;
        }
        evicted
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
            self.insert(url, Origin::Operator, Instant::now());
            if let Some(e) = self.entries.get_mut(url) {
                e.never = true;
            }
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

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Why a string is not a peer URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPeerUrl {
    #[error("it is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    #[error("it is not a URL")]
    NotAUrl,
    #[error("the scheme must be ws or wss")]
    Scheme,
    #[error("it names no host")]
    NoHost,
    #[error("it names no path")]
    NoPath,
    #[error("credentials, queries and fragments are not allowed")]
    Extras,
}

/// Checks that `url` is a peer endpoint: `ws://` or `wss://`, a host, an optional port, a path
/// (like `/p2p`), nothing else, at most [`MAX_URL_LEN`] bytes. Applied to every address before
/// it is stored, dialed or passed on.
pub fn check_peer_url(url: &str) -> Result<reqwest::Url, BadPeerUrl> {
    if url.len() > MAX_URL_LEN {
        return Err(BadPeerUrl::TooLong);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| BadPeerUrl::NotAUrl)?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(BadPeerUrl::Scheme);
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(BadPeerUrl::NoHost);
    }
    if parsed.path().len() <= 1 {
        return Err(BadPeerUrl::NoPath);
    }
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(BadPeerUrl::Extras);
    }
    // The URL as given must be the URL as parsed, so one node has one spelling in the book.
    if parsed.as_str() != url {
        return Err(BadPeerUrl::NotAUrl);
    }
    Ok(parsed)
}

/// Whether `url` is a peer endpoint (see [`check_peer_url`]).
pub fn valid_peer_url(url: &str) -> bool {
    check_peer_url(url).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(i: usize) -> String {
        format!("ws://10.0.{}.{}:8080/p2p", i / 250, i % 250)
    }

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
    fn one_source_only_displaces_its_own_addresses() {
        let now = Instant::now();
        let mut book = AddressBook::default();
        book.add("ws://operator/p2p", now);
        book.add_gossip("ws://honest/p2p", "honest-group", now);
        // A spammer sends far more than its share.
        for i in 0..10 * MAX_PER_SOURCE {
            book.add_gossip(&url(i), "spam-group", now + Duration::from_millis(i as u64));
        }
        assert_eq!(book.gossip_from("spam-group").count(), MAX_PER_SOURCE);
        assert!(book.contains("ws://operator/p2p") && book.contains("ws://honest/p2p"));
        // The newest of its addresses stay; the oldest went first.
        assert!(book.contains(&url(10 * MAX_PER_SOURCE - 1)) && !book.contains(&url(0)));
    }

    #[test]
    fn a_full_new_table_evicts_from_the_largest_source() {
        let now = Instant::now();
        let mut book = AddressBook::default();
        let sources = MAX_NEW / MAX_PER_SOURCE;
        let mut n = 0;
        for s in 0..sources {
            for _ in 0..MAX_PER_SOURCE - (s % 2) {
                book.add_gossip(&url(n), &format!("group-{s}"), now);
                n += 1;
            }
        }
        book.add_gossip("ws://small/p2p", "small-group", now);
        book.add_gossip("ws://small2/p2p", "small-group", now);
        assert!(book.new_count() <= MAX_NEW, "{}", book.new_count());
        assert!(book.contains("ws://small/p2p") && book.contains("ws://small2/p2p"));
        // Keep adding from many sources: never more than the bound.
        for i in 0..3 * MAX_NEW {
            book.add_gossip(&format!("ws://x{i}/p2p"), &format!("other-{}", i % 37), now);
        }
        assert!(book.new_count() <= MAX_NEW);
        assert!(book.len() <= MAX_NEW + MAX_TRIED + 1);
    }

    #[test]
    fn tried_addresses_are_bounded_and_gossip_never_displaces_them() {
        let now = Instant::now();
        let mut book = AddressBook::default();
        let mut evicted = vec![];
        for i in 0..MAX_TRIED + 5 {
            book.add_gossip(&url(i), &format!("g{i}"), now);
            if i == 0 {
                book.mark_failed(&url(0), now);
            }
            evicted.extend(book.mark_good(&url(i), now + Duration::from_secs(i as u64)));
        }
        assert_eq!(book.entries.values().filter(|e| e.good).count(), MAX_TRIED);
        assert_eq!(evicted.len(), 5);
        for i in 0..2 * MAX_NEW {
            book.add_gossip(&format!("ws://junk{i}/p2p"), "junk", now);
        }
        assert_eq!(book.entries.values().filter(|e| e.good).count(), MAX_TRIED);
    }

    #[test]
    fn peer_urls() {
        let cases = [
            ("ws://127.0.0.1:8080/p2p", Ok(())),
            ("wss://node.example/p2p", Ok(())),
            ("http://127.0.0.1:8080/p2p", Err(BadPeerUrl::Scheme)),
            ("ws:///p2p", Err(BadPeerUrl::NoPath)),
            ("ws://a b/p2p", Err(BadPeerUrl::NotAUrl)),
            ("ws://127.0.0.1:8080", Err(BadPeerUrl::NoPath)),
            ("ws://u:p@127.0.0.1:8080/p2p", Err(BadPeerUrl::Extras)),
            ("ws://127.0.0.1:8080/p2p?x=1", Err(BadPeerUrl::Extras)),
            ("ws://127.0.0.1:99999/p2p", Err(BadPeerUrl::NotAUrl)),
            ("ws://LOCALHOST:8080/p2p", Err(BadPeerUrl::NotAUrl)),
        ];
        for (url, want) in cases {
            assert_eq!(check_peer_url(url).map(|_| ()), want, "{url}");
        }
        let long = format!("ws://{}/p2p", "a".repeat(MAX_URL_LEN));
        assert_eq!(check_peer_url(&long).map(|_| ()), Err(BadPeerUrl::TooLong));
    }
}
