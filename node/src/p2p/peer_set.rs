//! The peer manager's logic as a plain state machine: who is connected, what each peer is known
//! to have, scores and bans, the address book and whom to dial. Each operation takes the time
//! and returns [`Action`]s (send frames to peers, cut a peer off, dial, save or forget on disk);
//! the manager task in `mod.rs` owns the sockets' queues and carries them out.

use super::book::{valid_peer_url, AddressBook};
use super::link::Origin;
use super::session::{Offence, BAN_SCORE};
use super::{PeerInfo, Refusal};
use bytes::Bytes;
use ferro_shared::api::{Direction, PeerView};
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::p2p::{Message, MAX_ADDRS_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE};
use lru::LruCache;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::time::Duration;
use tokio::time::Instant;

/// Inbound connections taken from one IP address (loopback excepted, where every local node
/// shares one), so one machine cannot fill every inbound slot.
pub const MAX_INBOUND_PER_ADDRESS: usize = 4;

/// Items remembered per peer as already known to it.
pub const KNOWN_TXS: usize = 32_768;
pub const KNOWN_BLOCKS: usize = 4_096;

/// The limits a peer set keeps.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Our own listen URL: never dialed, never gossiped back to us.
    pub listen_url: Option<String>,
    pub max_inbound: usize,
    pub max_outbound: usize,
    pub ban_duration: Duration,
    /// Whether addresses peers tell us about are dialed.
    pub discover: bool,
}

/// What the peer set wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Queue `frame` for each of `peers`; a peer whose queue has no room is reported back
    /// through [`PeerSet::slow`].
    Send {
        peers: Vec<u64>,
        frame: Bytes,
    },
    /// End the connection to `peer` (it is already out of the set).
    Disconnect(u64),
    Dial(String),
    /// Keep a ban on disk until `until` (Unix seconds) so a restart does not lift it.
    SaveBan {
        key: String,
        until_secs_from_now: u64,
    },
    SavePeer(String),
    ForgetPeer(String),
}

#[derive(Debug)]
struct Peer {
    info: PeerInfo,
    known_txs: LruCache<Txid, ()>,
    known_blocks: LruCache<BlockHash, ()>,
    score: u32,
}

/// The connected peers and everything decided about them.
#[derive(Debug)]
pub struct PeerSet {
    limits: Limits,
    peers: BTreeMap<u64, Peer>,
    next_id: u64,
    book: AddressBook,
    bans: BTreeMap<String, Instant>,
    dialing: BTreeSet<String>,
    stopping: bool,
    /// Transaction ids waiting to be announced to each peer, sent together by
    /// [`PeerSet::flush_announcements`] (or as soon as one message is full), so a burst of
    /// transactions is a few messages, not one per transaction.
    announcements: BTreeMap<u64, Vec<Txid>>,
}

impl PeerSet {
    pub fn new(limits: Limits) -> Self {
        PeerSet {
            limits,
            peers: BTreeMap::new(),
            next_id: 1,
            book: AddressBook::default(),
            bans: BTreeMap::new(),
            dialing: BTreeSet::new(),
            stopping: false,
            announcements: BTreeMap::new(),
        }
    }

    /// Restores what the store remembers: bans with the seconds they have left, good peers.
    pub fn restore(&mut self, bans: Vec<(String, u64)>, good: Vec<String>, now: Instant) {
        for (key, secs_left) in bans {
            self.bans.insert(key, now + Duration::from_secs(secs_left));
        }
        for url in good {
            self.book.restore_good(&url, now);
        }
    }

    /// An address the operator gave (at start or through the API).
    pub fn add_operator_address(&mut self, url: &str, now: Instant) {
        self.book.add(url, now);
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// What is known of a connected peer.
    pub fn peer(&self, peer: u64) -> Option<&PeerInfo> {
        self.peers.get(&peer).map(|p| &p.info)
    }

    /// The best height any peer has shown.
    pub fn best_height(&self) -> u64 {
        self.peers.values().map(|p| p.info.best_height).max().unwrap_or(0)
    }

    pub fn ids(&self) -> Vec<u64> {
        self.peers.keys().copied().collect()
    }

    /// The peer set is closing: nothing more is taken, everyone leaves.
    pub fn stop(&mut self) -> Vec<Action> {
        self.stopping = true;
        std::mem::take(&mut self.peers).into_keys().map(Action::Disconnect).collect()
    }

    /// Whether a connection to `url` exists.
    pub fn is_connected_to(&self, url: &str) -> bool {
        self.peers.values().any(|p| p.info.listen_url.as_deref() == Some(url))
    }

    /// The gossip source a peer counts as: its /16 (IPv4) or /32 (IPv6) network, so one
    /// operator's many addresses count as one; on loopback, where every node shares an address,
    /// its listen URL or its connection.
    fn source_key(info: &PeerInfo) -> String {
        match info.remote.ip().to_canonical() {
            ip if ip.is_loopback() => {
                info.listen_url.clone().unwrap_or_else(|| format!("loopback:{}", info.remote.port()))
            }
            IpAddr::V4(ip) => {
                let [a, b, ..] = ip.octets();
                format!("{a}.{b}/16")
            }
            IpAddr::V6(ip) => {
                let s = ip.segments();
                format!("{:x}:{:x}/32", s[0], s[1])
            }
        }
    }

    /// The key a ban is kept under: the IP address (an IPv6 /64, which one host usually
    /// holds whole), except on loopback, where every local node (and, behind a reverse proxy on
    /// the same host, every peer) shares one address: there the peer's proven node key. Never
    /// a URL a peer declares, which would let it get another node banned.
    fn ban_key(info: &PeerInfo) -> String {
        match info.remote.ip().to_canonical() {
            ip if ip.is_loopback() => format!("node:{:016x}", info.node_id),
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }

    fn is_banned(&mut self, info: &PeerInfo, now: Instant) -> bool {
        self.bans.retain(|_, until| *until > now);
        self.bans.contains_key(&Self::ban_key(info))
    }

    /// A connection finished its handshake: takes it (with its new id) or refuses it.
    pub fn register(&mut self, info: PeerInfo, now: Instant) -> Result<(u64, Vec<Action>), Refusal> {
        if self.stopping {
            return Err(Refusal::Stopping);
        }
        if let Some(url) = &info.listen_url {
            self.dialing.remove(url);
        }
        if self.is_banned(&info, now) {
            return Err(Refusal::Banned);
        }
        if self.peers.values().any(|p| p.info.node_id == info.node_id) {
            return Err(Refusal::Duplicate);
        }
        let count = self.peers.values().filter(|p| p.info.direction == info.direction).count();
        let cap = match info.direction {
            Direction::Inbound => self.limits.max_inbound,
            Direction::Outbound => self.limits.max_outbound,
        };
        if count >= cap {
            return Err(Refusal::Full);
        }
        let ip = info.remote.ip().to_canonical();
        if info.direction == Direction::Inbound && !ip.is_loopback() {
            let same = self
                .peers
                .values()
                .filter(|p| p.info.direction == Direction::Inbound && p.info.remote.ip().to_canonical() == ip)
                .count();
            if same >= MAX_INBOUND_PER_ADDRESS {
                return Err(Refusal::Full);
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut actions = vec![];
        if let Some(url) = &info.listen_url {
            let new = !self.book.contains(url);
            match info.direction {
                // We dialed it and it proved its key: a good address.
                Direction::Outbound => {
                    if let Some(evicted) = self.book.mark_good(url, now) {
                        actions.push(Action::ForgetPeer(evicted));
                    }
                    actions.push(Action::SavePeer(url.clone()));
                }
                // What a caller says its address is, nobody has checked: it is gossip from
                // that caller (and a node that does not discover keeps no gossip).
                Direction::Inbound if self.limits.discover => {
                    self.book.add_gossip(url, &Self::source_key(&info), now);
                }
                Direction::Inbound => {}
            }
            if new && (self.limits.discover || info.direction == Direction::Outbound) {
                // Tell the others about the newcomer, as they would tell us.
                let frame = Bytes::from(Message::Addrs(vec![url.clone()]).to_frame());
                actions.push(Action::Send { peers: self.ids(), frame });
            }
        }
        let known_txs = LruCache::new(NonZeroUsize::new(KNOWN_TXS).expect("nonzero"));
        let known_blocks = LruCache::new(NonZeroUsize::new(KNOWN_BLOCKS).expect("nonzero"));
        self.peers.insert(id, Peer { info, known_txs, known_blocks, score: 0 });
        Ok((id, actions))
    }

    /// A connection ended.
    pub fn closed(&mut self, peer: u64, now: Instant) {
        if let Some(p) = self.peers.remove(&peer) {
            if let (Direction::Outbound, Some(url)) = (p.info.direction, &p.info.listen_url) {
                self.book.mark_failed(url, now);
            }
        }
    }

    /// A peer's queue had no room for what was relayed to it: it does not keep up.
    pub fn slow(&mut self, peer: u64) -> Vec<Action> {
        match self.peers.remove(&peer) {
            Some(_) => vec![Action::Disconnect(peer)],
            None => vec![],
        }
    }

    pub fn dial_failed(&mut self, url: &str, permanent: bool, now: Instant) {
        self.dialing.remove(url);
        if permanent {
            self.book.mark_never(url);
        } else {
            self.book.mark_failed(url, now);
        }
    }

    pub fn known_txs(&mut self, peer: u64, txids: Vec<Txid>) {
        if let Some(p) = self.peers.get_mut(&peer) {
            for t in txids {
                p.known_txs.put(t, ());
            }
        }
    }

    pub fn known_blocks(&mut self, peer: u64, hashes: Vec<BlockHash>, tip_height: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            for h in hashes {
                p.known_blocks.put(h, ());
            }
            p.info.best_height = p.info.best_height.max(tip_height);
        }
    }

    pub fn peer_height(&mut self, peer: u64, height: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.info.best_height = p.info.best_height.max(height);
        }
    }

    /// Charges `peer` for `offence`; at [`BAN_SCORE`] it is cut off and banned.
    pub fn misbehaved(&mut self, peer: u64, offence: Offence, reason: &str, now: Instant) -> Vec<Action> {
        let Some(entry) = self.peers.get_mut(&peer) else { return vec![] };
        entry.score = entry.score.saturating_add(offence.score());
        tracing::warn!(peer, remote = %entry.info.remote, score = entry.score, %reason, "peer misbehaved");
        if entry.score < BAN_SCORE {
            return vec![];
        }
        let entry = self.peers.remove(&peer).expect("present");
        let mut actions = vec![Action::Disconnect(peer)];
        let key = Self::ban_key(&entry.info);
        let duration = self.limits.ban_duration;
        tracing::warn!(peer, %key, "banned peer for {duration:?}");
        actions.push(Action::SaveBan { key: key.clone(), until_secs_from_now: duration.as_secs() });
        self.bans.insert(key, now + duration);
        // An address we dialed is the peer's own; one it declared may be anyone's.
        if let (Direction::Outbound, Some(url)) = (entry.info.direction, &entry.info.listen_url) {
            self.book.mark_failed(url, now);
        }
        actions
    }

    /// Addresses a peer told us about.
    pub fn addrs(&mut self, peer: u64, urls: Vec<String>, now: Instant) -> Vec<Action> {
        let mut malformed = 0;
        let source = self.peers.get(&peer).map(|p| Self::source_key(&p.info));
        for url in urls.into_iter().take(MAX_ADDRS_PER_MESSAGE) {
            if !valid_peer_url(&url) {
                malformed += 1;
                continue;
            }
            if Some(&url) != self.limits.listen_url.as_ref() && self.limits.discover {
                if let Some(source) = &source {
                    self.book.add_gossip(&url, source, now);
                }
            }
        }
        if malformed > 0 {
            return self.misbehaved(peer, Offence::MalformedAddresses, "sent malformed addresses", now);
        }
        vec![]
    }

    /// Addresses to tell `peer` about: connected peers first, then the book's best.
    pub fn addrs_for(&self, peer: u64) -> Vec<String> {
        let asker = self.peers.get(&peer).and_then(|p| p.info.listen_url.clone());
        let mut urls: Vec<String> = self
            .peers
            .values()
            .filter_map(|p| p.info.listen_url.clone())
            .filter(|u| Some(u) != asker.as_ref())
            .take(MAX_ADDRS_PER_MESSAGE)
            .collect();
        for url in self.book.shareable(MAX_ADDRS_PER_MESSAGE) {
            if urls.len() >= MAX_ADDRS_PER_MESSAGE {
                break;
            }
            if !urls.contains(&url) && Some(&url) != asker.as_ref() {
                urls.push(url);
            }
        }
        urls
    }

    /// Queues the announcement of a new transaction to every peer not known to have it, except
    /// where it came from; a peer whose queue fills a message gets it at once.
    pub fn relay_tx(&mut self, txid: Txid, origin: Origin) -> Vec<Action> {
        let mut actions = vec![];
        for (id, p) in self.peers.iter_mut() {
            let new = p.known_txs.put(txid, ()).is_none();
            if !new || origin == Origin::Peer(*id) {
                continue;
            }
            let queue = self.announcements.entry(*id).or_default();
            queue.push(txid);
            if queue.len() >= MAX_ITEMS_PER_MESSAGE {
                let txids = std::mem::take(queue);
                actions.push(Action::Send {
                    peers: vec![*id],
                    frame: Bytes::from(Message::InvTxs(txids).to_frame()),
                });
            }
        }
        actions
    }

    /// Sends every queued transaction announcement.
    pub fn flush_announcements(&mut self) -> Vec<Action> {
        let mut actions: Vec<Action> = std::mem::take(&mut self.announcements)
            .into_iter()
            .filter(|(id, txids)| !txids.is_empty() && self.peers.contains_key(id))
            .map(|(id, txids)| Action::Send {
                peers: vec![id],
                frame: Bytes::from(Message::InvTxs(txids).to_frame()),
            })
            .collect();
        actions.sort_by_key(|a| if let Action::Send { peers, .. } = a { peers.clone() } else { vec![] });
        actions
    }

    /// Relays a block (announced or whole) to every peer not known to have it.
    pub fn relay_block(&mut self, hash: BlockHash, origin: Origin, frame: Bytes) -> Vec<Action> {
        self.relay(origin, frame, |p| p.known_blocks.put(hash, ()).is_none())
    }

    fn relay(
        &mut self,
        origin: Origin,
        frame: Bytes,
        mut mark_known: impl FnMut(&mut Peer) -> bool,
    ) -> Vec<Action> {
        let mut peers = vec![];
        for (id, p) in self.peers.iter_mut() {
            // Marked known either way: the origin has it, and a peer sent it once has it.
            let new = mark_known(p);
            if new && origin != Origin::Peer(*id) {
                peers.push(*id);
            }
        }
        peers.sort_unstable();
        if peers.is_empty() {
            return vec![];
        }
        vec![Action::Send { peers, frame }]
    }

    /// Addresses to dial now: due in the book, not connected, not being dialed, not banned,
    /// as many as the outbound room allows.
    pub fn dial_due(&mut self, now: Instant) -> Vec<Action> {
        if self.stopping {
            return vec![];
        }
        let connected: BTreeSet<String> =
            self.peers.values().filter_map(|p| p.info.listen_url.clone()).collect();
        let outbound = self.peers.values().filter(|p| p.info.direction == Direction::Outbound).count();
        let mut room = self.limits.max_outbound.saturating_sub(outbound + self.dialing.len());
        let mut actions = vec![];
        for url in self.book.due(now) {
            if room == 0 {
                break;
            }
            if connected.contains(&url) || self.dialing.contains(&url) {
                continue;
            }
            if self.bans.get(&url).is_some_and(|until| *until > now) {
                continue;
            }
            if let Some(action) = self.dial(url, now) {
                actions.push(action);
                room -= 1;
            }
        }
        actions
    }

    /// Dials `url` (as the operator asks, or when due); `None` when it is our own address.
    pub fn dial(&mut self, url: String, now: Instant) -> Option<Action> {
        if Some(&url) == self.limits.listen_url.as_ref() {
            self.book.mark_never(&url);
            return None;
        }
        self.dialing.insert(url.clone());
        // Keep the dialing entry from blocking retries forever: it clears on register or failure.
        self.book.mark_failed(&url, now);
        Some(Action::Dial(url))
    }

    /// The peers as the API lists them.
    pub fn views(&self, now: Instant) -> Vec<PeerView> {
        let mut list: Vec<PeerView> = self
            .peers
            .values()
            .map(|p| PeerView {
                id: format!("{:016x}", p.info.node_id),
                direction: p.info.direction,
                address: p.info.remote.to_string(),
                listen_url: p.info.listen_url.clone(),
                best_height: p.info.best_height,
                connected_secs: now.saturating_duration_since(p.info.connected_at).as_secs(),
            })
            .collect();
        list.sort_by(|a, b| a.address.cmp(&b.address));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn limits() -> Limits {
        Limits {
            listen_url: Some("ws://127.0.0.1:1/p2p".into()),
            max_inbound: 2,
            max_outbound: 2,
            ban_duration: Duration::from_secs(3600),
            discover: true,
        }
    }

    fn info(node_id: u64, ip: [u8; 4], direction: Direction, listen: Option<&str>, now: Instant) -> PeerInfo {
        PeerInfo {
            node_id,
            direction,
            remote: SocketAddr::from((ip, 5000 + node_id as u16)),
            listen_url: listen.map(str::to_string),
            best_height: 0,
            work: ferro_shared::pow::Work::ZERO,
            connected_at: now,
        }
    }

    fn sends(actions: &[Action]) -> Vec<Vec<u64>> {
        actions
            .iter()
            .filter_map(|a| if let Action::Send { peers, .. } = a { Some(peers.clone()) } else { None })
            .collect()
    }

    #[test]
    fn registration_refuses_duplicates_the_banned_and_the_full() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set.register(info(1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        assert_eq!(
            set.register(info(1, [10, 0, 0, 2], Direction::Inbound, None, t0), t0).err(),
            Some(Refusal::Duplicate)
        );
        set.register(info(2, [10, 0, 0, 2], Direction::Inbound, None, t0), t0).unwrap();
        assert_eq!(
            set.register(info(3, [10, 0, 0, 3], Direction::Inbound, None, t0), t0).err(),
            Some(Refusal::Full)
        );
        // Outbound room is separate.
        assert!(set.register(info(4, [10, 0, 0, 4], Direction::Outbound, None, t0), t0).is_ok());
        // A ban keeps its address out, then expires.
        let actions = set.misbehaved(a, Offence::InvalidBlock, "bad block", t0);
        assert!(actions.contains(&Action::Disconnect(a)));
        assert!(actions.iter().any(|x| matches!(x, Action::SaveBan { key, .. } if key == "10.0.0.1")));
        let again = info(5, [10, 0, 0, 1], Direction::Inbound, None, t0);
        assert_eq!(set.register(again.clone(), t0).err(), Some(Refusal::Banned));
        assert!(set.register(again, t0 + Duration::from_secs(3601)).is_ok());
        set.stop();
        assert_eq!(
            set.register(info(6, [10, 0, 0, 6], Direction::Inbound, None, t0), t0).err(),
            Some(Refusal::Stopping)
        );
    }

    #[test]
    fn one_address_cannot_take_every_inbound_slot() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(Limits { max_inbound: 32, ..limits() });
        for id in 0..MAX_INBOUND_PER_ADDRESS as u64 {
            set.register(info(id + 1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        }
        let one_more = info(99, [10, 0, 0, 1], Direction::Inbound, None, t0);
        assert_eq!(set.register(one_more, t0).err(), Some(Refusal::Full));
        // Another address, loopback, or an outbound connection to that address: taken.
        assert!(set.register(info(100, [10, 0, 0, 2], Direction::Inbound, None, t0), t0).is_ok());
        for id in 0..6 {
            assert!(set.register(info(200 + id, [127, 0, 0, 1], Direction::Inbound, None, t0), t0).is_ok());
        }
        assert!(set.register(info(300, [10, 0, 0, 1], Direction::Outbound, None, t0), t0).is_ok());
    }

    #[test]
    fn scores_add_up_to_a_ban() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set.register(info(1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        for _ in 0..4 {
            assert_eq!(set.misbehaved(a, Offence::Unrequested, "x", t0), vec![]);
        }
        assert!(set.misbehaved(a, Offence::Unrequested, "x", t0).contains(&Action::Disconnect(a)));
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn relay_skips_the_origin_and_who_has_it() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set.register(info(1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        let (b, _) = set.register(info(2, [10, 0, 0, 2], Direction::Inbound, None, t0), t0).unwrap();
        let (c, _) = set.register(info(3, [10, 0, 0, 3], Direction::Outbound, None, t0), t0).unwrap();
        let tx = Txid([7; 32]);
        set.known_txs(c, vec![tx]);
        let frame = Bytes::from_static(b"inv");
        assert_eq!(set.relay_tx(tx, Origin::Peer(a)), vec![]);
        assert_eq!(sends(&set.flush_announcements()), vec![vec![b]]);
        // Never twice.
        assert_eq!(set.relay_tx(tx, Origin::Local), vec![]);
        assert_eq!(set.flush_announcements(), vec![]);
        let block = BlockHash([8; 32]);
        assert_eq!(sends(&set.relay_block(block, Origin::Local, frame)), vec![vec![a, b, c]]);
        // A peer too slow for the relay is dropped.
        assert_eq!(set.slow(b), vec![Action::Disconnect(b)]);
        assert_eq!(set.slow(b), vec![]);
    }

    #[test]
    fn gossip_is_checked_and_follows_the_discover_setting() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set
            .register(info(1, [10, 0, 0, 1], Direction::Inbound, Some("ws://10.0.0.1:8/p2p"), t0), t0)
            .unwrap();
        let urls = vec!["ws://10.0.0.9:8/p2p".to_string(), "ws://127.0.0.1:1/p2p".to_string()];
        assert_eq!(set.addrs(a, urls, t0), vec![]);
        assert!(set.book.contains("ws://10.0.0.9:8/p2p"));
        assert!(!set.book.contains("ws://127.0.0.1:1/p2p"), "our own address is not kept");
        let charged = set.addrs(a, vec!["http://x/p2p".into()], t0);
        assert_eq!(charged, vec![], "10 points: below a ban");
        assert_eq!(set.peers[&a].score, Offence::MalformedAddresses.score());

        let mut quiet = PeerSet::new(Limits { discover: false, ..limits() });
        let (b, actions) = quiet
            .register(info(2, [10, 0, 0, 2], Direction::Inbound, Some("ws://10.0.0.2:8/p2p"), t0), t0)
            .unwrap();
        assert!(actions.is_empty(), "{actions:?}");
        quiet.addrs(b, vec!["ws://10.0.0.9:8/p2p".into()], t0);
        assert!(!quiet.book.contains("ws://10.0.0.9:8/p2p") && !quiet.book.contains("ws://10.0.0.2:8/p2p"));
    }

    #[test]
    fn a_newcomer_is_announced_to_the_others_and_remembered() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set.register(info(1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        let url = "ws://10.0.0.2:8/p2p";
        let (b, actions) =
            set.register(info(2, [10, 0, 0, 2], Direction::Outbound, Some(url), t0), t0).unwrap();
        assert!(actions.contains(&Action::SavePeer(url.into())));
        assert_eq!(sends(&actions), vec![vec![a]]);
        assert_eq!(set.addrs_for(a), vec![url.to_string()]);
        assert!(set.addrs_for(b).is_empty(), "not told its own address");
    }

    #[test]
    fn dialing_fills_the_outbound_room_and_skips_the_banned_and_connected() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        for url in
            ["ws://10.0.0.1:8/p2p", "ws://10.0.0.2:8/p2p", "ws://10.0.0.3:8/p2p", "ws://127.0.0.1:1/p2p"]
        {
            set.add_operator_address(url, t0);
        }
        set.bans.insert("ws://10.0.0.1:8/p2p".into(), t0 + Duration::from_secs(60));
        let dials = set.dial_due(t0);
        assert_eq!(
            dials,
            vec![Action::Dial("ws://10.0.0.2:8/p2p".into()), Action::Dial("ws://10.0.0.3:8/p2p".into())]
        );
        // Both are being dialed: no room, nothing more.
        assert_eq!(set.dial_due(t0 + Duration::from_secs(5)), vec![]);
        // One failed: after its backoff it is due again.
        set.dial_failed("ws://10.0.0.2:8/p2p", false, t0);
        assert_eq!(
            set.dial_due(t0 + Duration::from_secs(10)),
            vec![Action::Dial("ws://10.0.0.2:8/p2p".into())]
        );
        // Another network: never again; the ban on the first one has run out meanwhile (the
        // third is still being dialed).
        set.dial_failed("ws://10.0.0.2:8/p2p", true, t0);
        let later = set.dial_due(t0 + Duration::from_secs(1000));
        assert_eq!(later, vec![Action::Dial("ws://10.0.0.1:8/p2p".into())]);
    }

    /// Listen URLs that callers declare are gossip, not proof: 300 strangers calling in under
    /// 300 URLs neither evict an address that proved good nor grow the tried table, and none
    /// of their URLs is saved to disk.
    #[test]
    fn inbound_strangers_cannot_evict_or_grow_the_tried_table() {
        use super::super::book::MAX_TRIED;
        let t0 = Instant::now();
        let mut set = PeerSet::new(Limits { max_inbound: 1000, max_outbound: 8, ..limits() });
        let genuine = "ws://10.9.9.9:8080/p2p";
        set.book.add_gossip(genuine, "10.9/16", t0);
        let (g, _) =
            set.register(info(1, [10, 9, 9, 9], Direction::Outbound, Some(genuine), t0), t0).unwrap();
        set.closed(g, t0);
        let mut saved = 0;
        for i in 0..300u64 {
            let url = format!("ws://203.0.{}.{}:8080/p2p", i / 250, i % 250);
            let who = info(100 + i, [198, 51, 100, (i % 4) as u8], Direction::Inbound, Some(&url), t0);
            let (id, actions) = set.register(who, t0).unwrap();
            saved +=
                actions.iter().filter(|a| matches!(a, Action::SavePeer(_) | Action::ForgetPeer(_))).count();
            set.closed(id, t0);
        }
        assert_eq!(saved, 0);
        assert!(set.book.contains(genuine));
        assert!(set.book.shareable(usize::MAX).len() <= MAX_TRIED + 1 + super::super::book::MAX_PER_SOURCE);
    }

    /// On loopback (local nodes, or every peer behind a reverse proxy on the same host) a ban
    /// falls on the misbehaving node's key, never on a URL it declared, and also holds for a
    /// peer that declares none.
    #[test]
    fn loopback_bans_fall_on_the_node_key() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let honest = "ws://127.0.0.1:7001/p2p";
        let (m, _) = set.register(info(9, [127, 0, 0, 1], Direction::Inbound, Some(honest), t0), t0).unwrap();
        set.misbehaved(m, Offence::InvalidBlock, "bad block", t0);
        set.add_operator_address(honest, t0);
        let dials = set.dial_due(t0 + Duration::from_secs(600));
        assert!(dials.contains(&Action::Dial(honest.into())), "{dials:?}");
        assert!(set.register(info(10, [127, 0, 0, 1], Direction::Outbound, Some(honest), t0), t0).is_ok());
        // The same key comes back, with or without a listen URL: refused.
        assert_eq!(
            set.register(info(9, [127, 0, 0, 1], Direction::Inbound, None, t0), t0).err(),
            Some(Refusal::Banned)
        );
    }

    /// A dual-stack listener sees IPv4 peers as IPv4-mapped IPv6 addresses: they are grouped,
    /// banned and limited by their IPv4 address.
    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        let t0 = Instant::now();
        let mapped = |ip: [u8; 4], id: u64| {
            let v6 = std::net::Ipv4Addr::from(ip).to_ipv6_mapped();
            PeerInfo { remote: SocketAddr::from((v6, 5000)), ..info(id, ip, Direction::Inbound, None, t0) }
        };
        assert_eq!(PeerSet::source_key(&mapped([1, 2, 3, 4], 1)), "1.2/16");
        assert_eq!(PeerSet::source_key(&mapped([127, 0, 0, 1], 1)), "loopback:5000");
        assert_eq!(PeerSet::ban_key(&mapped([9, 8, 7, 6], 1)), "9.8.7.6");
        assert_eq!(
            PeerSet::ban_key(&info(7, [127, 0, 0, 1], Direction::Inbound, None, t0)),
            "node:0000000000000007"
        );
    }

    /// A burst of transactions is announced in a few full messages, not one per transaction,
    /// so an honest node relaying a burst never looks like a flood.
    #[test]
    fn a_burst_of_transactions_is_announced_in_full_messages() {
        let t0 = Instant::now();
        let mut set = PeerSet::new(limits());
        let (a, _) = set.register(info(1, [10, 0, 0, 1], Direction::Inbound, None, t0), t0).unwrap();
        let mut messages = vec![];
        for i in 0..12_000u32 {
            let mut txid = [0u8; 32];
            txid[..4].copy_from_slice(&i.to_le_bytes());
            messages.extend(set.relay_tx(Txid(txid), Origin::Local));
        }
        messages.extend(set.flush_announcements());
        let counts: Vec<usize> = messages
            .iter()
            .map(|m| match m {
                Action::Send { peers, frame } => {
                    assert_eq!(peers, &vec![a]);
                    match Message::from_frame(frame).unwrap() {
                        Message::InvTxs(txids) => txids.len(),
                        other => panic!("{}", other.kind()),
                    }
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(counts, vec![MAX_ITEMS_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE, 2_000]);
    }
}
