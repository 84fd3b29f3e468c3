//! The peer-to-peer network: WebSocket connections at `/p2p`, a handshake, relay of new
//! transactions and blocks by announcement, sync in bounded batches from a locator, address
//! gossip with a dialer, and misbehaviour scores with bans.
//!
//! ```text
//!   axum /p2p ──┐                      ┌── node events (new tx, new block) ──┐
//!   dialer ─────┼─▶ peer task (per     │                                     ▼
//!               │   connection):       │      Manager (one task, owns the peer set):
//!               │   hello, read loop ──┼─▶   register, known-item sets, relay,
//!               │   + writer task ◀────┴──── scores and bans, address book, dialing
//!   P2pHandle ──┴──────────────── Command over mpsc, answers over oneshot ───▶
//! ```
//! Peer tasks validate what they receive through the `Node`; the manager decides what goes to
//! which peer and never waits on validation.

mod book;
pub mod link;
mod outbound;
pub use session::Offence;
mod peer;
mod session;
mod verdict;
mod wire;

pub use book::{check_peer_url, valid_peer_url, BadPeerUrl};
pub use link::NodeLink;

use book::AddressBook;
use bytes::Bytes;
use ferro_shared::api::{Direction, PeerView};
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::p2p::{Hello, Message, WireBlock, MAX_ADDRS_PER_MESSAGE};
use ferro_shared::Block;
use link::{NodeEvent, Origin};
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// How the peer network behaves.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// The URL other nodes reach us at, if we accept peers.
    pub listen_url: Option<String>,
    pub max_inbound: usize,
    pub max_outbound: usize,
    pub ping_interval: Duration,
    /// A peer silent for this long is dropped.
    pub idle_timeout: Duration,
    pub handshake_timeout: Duration,
    pub ban_duration: Duration,
    /// How often the dialer looks for addresses to connect to.
    pub dial_interval: Duration,
    /// Whether to dial addresses learned from peers.
    pub discover: bool,
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen_url: None,
            max_inbound: 32,
            max_outbound: 8,
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            handshake_timeout: Duration::from_secs(10),
            ban_duration: Duration::from_secs(3600),
            dial_interval: Duration::from_secs(1),
            discover: true,
        }
    }
}

/// Why the peer set did not take a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Duplicate,
    Banned,
    Full,
    Stopping,
}

/// What a peer told us about itself in its handshake, and what we observed.
#[derive(Debug, Clone)]
pub(crate) struct PeerInfo {
    pub node_id: u64,
    pub direction: Direction,
    pub remote: SocketAddr,
    pub listen_url: Option<String>,
    pub best_height: u64,
    pub connected_at: Instant,
}

pub(crate) enum Command {
    Connect {
        url: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerView>>,
    },
    Register {
        info: PeerInfo,
        sender: outbound::Outbound,
        /// Dropped by the manager to end the connection.
        close: oneshot::Sender<()>,
        reply: oneshot::Sender<Result<u64, Refusal>>,
    },
    Closed {
        peer: u64,
    },
    DialFailed {
        url: String,
        permanent: bool,
    },
    KnownTxs {
        peer: u64,
        txids: Vec<Txid>,
    },
    KnownBlocks {
        peer: u64,
        hashes: Vec<BlockHash>,
        tip_height: u64,
    },
    PeerHeight {
        peer: u64,
        height: u64,
    },
    Misbehaved {
        peer: u64,
        offence: Offence,
        reason: String,
    },
    AddAddrs {
        peer: u64,
        urls: Vec<String>,
    },
    GetAddrs {
        peer: u64,
        reply: oneshot::Sender<Vec<String>>,
    },
    /// A block this node made, read back from the store, to relay.
    RelayBlock {
        hash: BlockHash,
        block: Option<Block>,
    },
}

/// What peer tasks share: the node, the way to the manager, our identity.
#[derive(Clone)]
pub(crate) struct Context {
    link: NodeLink,
    commands: mpsc::Sender<Command>,
    node_id: u64,
    config: Arc<P2pConfig>,
    tasks: TaskTracker,
}

impl Context {
    fn hello(&self) -> Hello {
        let tip = self.link.tip();
        Hello {
            version: ferro_shared::p2p::PROTOCOL_VERSION,
            network: self.link.network(),
            genesis: self.link.network().genesis_hash(),
            height: tip.height,
            tip: tip.hash,
            work: tip.work,
            listen_url: self.config.listen_url.clone(),
            node_id: self.node_id,
            agent: concat!("ferro/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// What the peer network reports about itself: how many peers, the best height among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerStats {
    pub peers: usize,
    pub best_height: u64,
}

/// Talks to the peer network. Cheap to clone. It does not own the node (the node owns it), so
/// the node can close its store once every task has ended.
#[derive(Clone)]
pub struct P2pHandle {
    link: NodeLink,
    commands: mpsc::Sender<Command>,
    stats: watch::Receiver<PeerStats>,
    node_id: u64,
    config: Arc<P2pConfig>,
    tasks: TaskTracker,
}

impl std::fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pHandle").field("node_id", &self.node_id).finish()
    }
}

impl P2pHandle {
    /// Dials `url` and waits for the handshake.
    pub async fn connect(&self, url: &str) -> Result<(), String> {
        if !valid_peer_url(url) {
            return Err(format!("{url:?} is not a peer URL like ws://host:port/p2p"));
        }
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Connect { url: url.to_string(), reply })
            .await
            .map_err(|_| "the peer network is stopped".to_string())?;
        answer.await.map_err(|_| "the peer network is stopped".to_string())?
    }

    /// The connected peers.
    pub async fn peers(&self) -> Vec<PeerView> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Peers { reply }).await.is_err() {
            return vec![];
        }
        answer.await.unwrap_or_default()
    }

    /// Runs an inbound WebSocket from `remote` as a peer connection.
    pub async fn accept(&self, socket: axum::extract::ws::WebSocket, remote: SocketAddr) {
        if self.tasks.is_closed() {
            return;
        }
        let ctx = Context {
            link: self.link.clone(),
            commands: self.commands.clone(),
            node_id: self.node_id,
            config: self.config.clone(),
            tasks: self.tasks.clone(),
        };
        let (sink, stream) = wire::from_axum(socket);
        self.tasks.track_future(peer::run(ctx, sink, stream, Direction::Inbound, remote, None)).await;
    }

    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// The peer count and best peer height, as of the last change.
    pub fn stats(&self) -> PeerStats {
        *self.stats.borrow()
    }
}

/// The largest WebSocket message the `/p2p` endpoint accepts.
pub const MAX_WS_MESSAGE: usize = ferro_shared::p2p::MAX_MESSAGE_BYTES;

struct PeerEntry {
    info: PeerInfo,
    sender: outbound::Outbound,
    _close: oneshot::Sender<()>,
    known_txs: LruCache<Txid, ()>,
    known_blocks: LruCache<BlockHash, ()>,
    score: u32,
}

/// Items remembered per peer as already known to it.
const KNOWN_TXS: usize = 32_768;
const KNOWN_BLOCKS: usize = 4_096;

struct Manager {
    ctx: Context,
    stats: watch::Sender<PeerStats>,
    peers: HashMap<u64, PeerEntry>,
    next_id: u64,
    book: AddressBook,
    bans: HashMap<String, Instant>,
    dialing: HashSet<String>,
    stopping: bool,
}

/// Starts the peer network of the node behind `link`: dials `initial` peers and remembered ones,
/// and runs until `shutdown` turns true. The returned task ends after every connection it
/// started has ended. Fails only when the node's store does (the node then stops).
pub async fn start(
    link: NodeLink,
    config: P2pConfig,
    initial: Vec<String>,
    shutdown: watch::Receiver<bool>,
) -> Result<(P2pHandle, JoinHandle<()>), link::Stopped> {
    let unix_now = link::unix_now();
    let saved_bans = link.saved_bans(unix_now).await?;
    let saved_peers = link.saved_peers().await?;
    let (commands, rx) = mpsc::channel(4096);
    let node_id = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    let tasks = TaskTracker::new();
    let config = Arc::new(config);
    let ctx = Context {
        link: link.clone(),
        commands: commands.clone(),
        node_id,
        config: config.clone(),
        tasks: tasks.clone(),
    };
    let (stats, stats_rx) = watch::channel(PeerStats::default());
    let handle = P2pHandle { link: link.clone(), commands, stats: stats_rx, node_id, config, tasks };
    let mut manager = Manager {
        ctx,
        stats,
        peers: HashMap::new(),
        next_id: 1,
        book: AddressBook::default(),
        bans: HashMap::new(),
        dialing: HashSet::new(),
        stopping: false,
    };
    let now = Instant::now();
    for (key, until) in saved_bans {
        manager.bans.insert(key, now + Duration::from_secs(until.saturating_sub(unix_now)));
    }
    for url in saved_peers {
        manager.book.mark_good(&url, now);
    }
    for url in initial {
        if valid_peer_url(&url) {
            manager.book.add(&url, now);
        } else {
            tracing::warn!(%url, "ignoring a peer URL that is not like ws://host:port/p2p");
        }
    }
    let events = link.subscribe();
    let task = tokio::spawn(async move { manager.run(rx, events, shutdown).await });
    Ok((handle, task))
}

impl Manager {
    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: broadcast::Receiver<NodeEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut dial_tick = tokio::time::interval(self.ctx.config.dial_interval);
        loop {
            tokio::select! {
                Some(command) = commands.recv() => self.on_command(command),
                event = events.recv() => match event {
                    Ok(event) => self.on_event(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "relay fell behind the node's events");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = dial_tick.tick() => self.dial_due(),
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        // Dropping every entry signals every connection to close; then wait for them all.
        self.stopping = true;
        self.peers.clear();
        self.publish_stats(PeerStats::default());
        self.ctx.tasks.close();
        drop(commands);
        if tokio::time::timeout(Duration::from_secs(5), self.ctx.tasks.wait()).await.is_err() {
            tracing::warn!("peer connections did not end within 5 seconds");
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::RelayBlock { hash, block } => self.relay_block(hash, Origin::Local, block),
            Command::Connect { url, reply } => {
                let now = Instant::now();
                self.book.add(&url, now);
                if self.peers.values().any(|p| p.info.listen_url.as_deref() == Some(&url)) {
                    let _ = reply.send(Ok(()));
                } else {
                    self.dial(url, Some(reply));
                }
            }
            Command::Peers { reply } => {
                let mut list: Vec<PeerView> = self
                    .peers
                    .values()
                    .map(|p| PeerView {
                        id: format!("{:016x}", p.info.node_id),
                        direction: p.info.direction,
                        address: p.info.remote.to_string(),
                        listen_url: p.info.listen_url.clone(),
                        best_height: p.info.best_height,
                        connected_secs: p.info.connected_at.elapsed().as_secs(),
                    })
                    .collect();
                list.sort_by(|a, b| a.address.cmp(&b.address));
                let _ = reply.send(list);
            }
            Command::Register { info, sender, close, reply } => {
                let result = self.register(info, sender, close);
                let _ = reply.send(result);
            }
            Command::Closed { peer } => {
                if let Some(entry) = self.peers.remove(&peer) {
                    if let (Direction::Outbound, Some(url)) = (entry.info.direction, &entry.info.listen_url) {
                        self.book.mark_failed(url, Instant::now());
                    }
                }
                self.report_stats();
            }
            Command::DialFailed { url, permanent } => {
                self.dialing.remove(&url);
                if permanent {
                    self.book.mark_never(&url);
                } else {
                    self.book.mark_failed(&url, Instant::now());
                }
            }
            Command::KnownTxs { peer, txids } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    for t in txids {
                        p.known_txs.put(t, ());
                    }
                }
            }
            Command::KnownBlocks { peer, hashes, tip_height } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    for h in hashes {
                        p.known_blocks.put(h, ());
                    }
                    p.info.best_height = p.info.best_height.max(tip_height);
                }
                self.report_stats();
            }
            Command::PeerHeight { peer, height } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.info.best_height = p.info.best_height.max(height);
                }
                self.report_stats();
            }
            Command::Misbehaved { peer, offence, reason } => self.misbehaved(peer, offence, &reason),
            Command::AddAddrs { peer, urls } => {
                let now = Instant::now();
                let own = self.ctx.config.listen_url.clone();
                let mut count = 0;
                for url in urls.into_iter().take(MAX_ADDRS_PER_MESSAGE) {
                    if !valid_peer_url(&url) {
                        count += 1;
                        continue;
                    }
                    if Some(&url) != own.as_ref() && self.ctx.config.discover {
                        let source = self.peers.get(&peer).map(|p| Self::source_key(&p.info));
                        if let Some(source) = source {
                            self.book.add_gossip(&url, &source, now);
                        }
                    }
                }
                if count > 0 {
                    self.misbehaved(peer, Offence::MalformedAddresses, "sent malformed addresses");
                }
            }
            Command::GetAddrs { peer, reply } => {
                let asker = self.peers.get(&peer).and_then(|p| p.info.listen_url.clone());
                let mut urls: Vec<String> = self
                    .peers
                    .values()
                    .filter_map(|p| p.info.listen_url.clone())
                    .filter(|u| Some(u) != asker.as_ref())
                    .collect();
                for url in self.book.shareable(MAX_ADDRS_PER_MESSAGE) {
                    if urls.len() >= MAX_ADDRS_PER_MESSAGE {
                        break;
                    }
                    if !urls.contains(&url) && Some(&url) != asker.as_ref() {
                        urls.push(url);
                    }
                }
                let _ = reply.send(urls);
            }
        }
    }

    /// The address group a peer's gossip is counted under: its /16 network (IPv4) or /32
    /// (IPv6), so one operator's many addresses count as one source; on loopback, where every
    /// node shares one address, its listen URL or its connection.
    fn source_key(info: &PeerInfo) -> String {
        match info.remote.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                info.listen_url.clone().unwrap_or_else(|| format!("loopback:{}", info.remote.port()))
            }
            IpAddr::V6(ip) if ip.is_loopback() => {
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

    /// The key a ban is kept under: the IP address, except on loopback where many nodes share
    /// one address and the peer's own listen URL names it instead.
    fn ban_key(info: &PeerInfo) -> Option<String> {
        match info.remote.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => info.listen_url.clone(),
            IpAddr::V6(ip) if ip.is_loopback() => info.listen_url.clone(),
            ip => Some(ip.to_string()),
        }
    }

    fn is_banned(&mut self, info: &PeerInfo) -> bool {
        let now = Instant::now();
        self.bans.retain(|_, until| *until > now);
        Self::ban_key(info).is_some_and(|k| self.bans.contains_key(&k))
    }

    fn register(
        &mut self,
        info: PeerInfo,
        sender: outbound::Outbound,
        close: oneshot::Sender<()>,
    ) -> Result<u64, Refusal> {
        if self.stopping {
            return Err(Refusal::Stopping);
        }
        if let Some(url) = &info.listen_url {
            self.dialing.remove(url);
        }
        if self.is_banned(&info) {
            return Err(Refusal::Banned);
        }
        if self.peers.values().any(|p| p.info.node_id == info.node_id) {
            return Err(Refusal::Duplicate);
        }
        let count = self.peers.values().filter(|p| p.info.direction == info.direction).count();
        let cap = match info.direction {
            Direction::Inbound => self.ctx.config.max_inbound,
            Direction::Outbound => self.ctx.config.max_outbound,
        };
        if count >= cap {
            return Err(Refusal::Full);
        }
        let id = self.next_id;
        self.next_id += 1;
        // A node that does not discover dials only what it was told to: an address a peer
        // advertises when it connects to us is neither remembered nor dialed back.
        let remember = self.ctx.config.discover || info.direction == Direction::Outbound;
        if let Some(url) = info.listen_url.as_ref().filter(|_| remember) {
            let now = Instant::now();
            let new = !self.book.contains(url);
            let evicted = self.book.mark_good(url, now);
            let (link, saved) = (self.ctx.link.clone(), url.clone());
            self.ctx.tasks.spawn(async move {
                if let Some(evicted) = evicted {
                    link.forget_peer(evicted).await?;
                }
                link.save_peer(saved).await
            });
            if new {
                // Tell the others about the newcomer, as they would tell us.
                let frame = Bytes::from(Message::Addrs(vec![url.clone()]).to_frame());
                for p in self.peers.values() {
                    let _ = p.sender.try_send(frame.clone());
                }
            }
        }
        self.peers.insert(
            id,
            PeerEntry {
                info,
                sender,
                _close: close,
                known_txs: LruCache::new(NonZeroUsize::new(KNOWN_TXS).expect("nonzero")),
                known_blocks: LruCache::new(NonZeroUsize::new(KNOWN_BLOCKS).expect("nonzero")),
                score: 0,
            },
        );
        self.report_stats();
        Ok(id)
    }

    fn misbehaved(&mut self, peer: u64, offence: Offence, reason: &str) {
        self.ctx.link.metrics().penalty(offence.label());
        let Some(entry) = self.peers.get_mut(&peer) else { return };
        entry.score = entry.score.saturating_add(offence.score());
        tracing::warn!(peer, remote = %entry.info.remote, score = entry.score, %reason, "peer misbehaved");
        if entry.score >= peer::BAN_SCORE {
            let entry = self.peers.remove(&peer).expect("present");
            if let Some(key) = Self::ban_key(&entry.info) {
                let duration = self.ctx.config.ban_duration;
                tracing::warn!(peer, %key, "banned peer for {duration:?}");
                // Kept in the store too, so that a restart does not lift it.
                let until = link::unix_now() + duration.as_secs();
                let (link, ban) = (self.ctx.link.clone(), key.clone());
                self.ctx.tasks.spawn(async move { link.save_ban(ban, until).await });
                self.bans.insert(key, Instant::now() + duration);
            }
            if let Some(url) = &entry.info.listen_url {
                self.book.mark_failed(url, Instant::now());
            }
            self.report_stats();
        }
    }

    fn report_stats(&self) {
        let queued: usize = self.peers.values().map(|p| p.sender.queued()).sum();
        self.ctx.link.metrics().p2p_queued_bytes.set(queued as i64);
        let best_height = self.peers.values().map(|p| p.info.best_height).max().unwrap_or(0);
        self.publish_stats(PeerStats { peers: self.peers.len(), best_height });
    }

    fn publish_stats(&self, stats: PeerStats) {
        self.ctx.link.metrics().peers.set(stats.peers as i64);
        self.stats.send_replace(stats);
    }

    /// Sends `frame` to every peer that lacks the item, except `origin`; drops peers too slow
    /// to keep up.
    fn relay(&mut self, origin: Origin, frame: Bytes, mut mark_known: impl FnMut(&mut PeerEntry) -> bool) {
        let mut slow = vec![];
        for (id, p) in self.peers.iter_mut() {
            if origin == Origin::Peer(*id) {
                mark_known(p);
                continue;
            }
            if !mark_known(p) {
                continue;
            }
            if let Err(outbound::Full::NoRoom) = p.sender.try_send(frame.clone()) {
                slow.push(*id);
            }
        }
        for id in slow {
            tracing::warn!(peer = id, "dropping a peer that does not keep up");
            self.peers.remove(&id);
        }
        if !self.peers.is_empty() {
            self.report_stats();
        }
    }

    fn on_event(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::Tx { txid, origin, .. } => {
                let frame = Bytes::from(Message::InvTxs(vec![txid]).to_frame());
                self.relay(origin, frame, |p| p.known_txs.put(txid, ()).is_none());
            }
            NodeEvent::Block { hash, origin, side_work, .. } => {
                // A block off the active chain: the tip may have moved on since it was stored,
                // and a branch with less work is never passed on.
                if side_work.is_some_and(|work| work < self.ctx.link.tip().work) {
                    return;
                }
                match origin {
                    // Mined (or submitted) here: read back from the store, off this task, to be
                    // pushed whole; it saves every peer a round trip.
                    Origin::Local => {
                        let (link, commands) = (self.ctx.link.clone(), self.ctx.commands.clone());
                        self.ctx.tasks.spawn(async move {
                            if let Ok(block) = link.block(hash).await {
                                let _ = commands.send(Command::RelayBlock { hash, block }).await;
                            }
                        });
                    }
                    Origin::Peer(_) => self.relay_block(hash, origin, None),
                }
            }
            NodeEvent::Tip { .. } => {}
        }
    }

    /// Announces a block to every peer that lacks it, or pushes it whole when given.
    fn relay_block(&mut self, hash: BlockHash, origin: Origin, whole: Option<Block>) {
        let frame = match whole {
            Some(block) => Message::NewBlock(WireBlock(block)).to_frame(),
            None => {
                let tip_height = self.ctx.link.tip().height;
                Message::InvBlocks { hashes: vec![hash], tip_height }.to_frame()
            }
        };
        self.relay(origin, Bytes::from(frame), |p| p.known_blocks.put(hash, ()).is_none());
    }

    fn outbound_count(&self) -> usize {
        self.peers.values().filter(|p| p.info.direction == Direction::Outbound).count()
    }

    fn dial_due(&mut self) {
        if self.stopping {
            return;
        }
        let connected: HashSet<String> =
            self.peers.values().filter_map(|p| p.info.listen_url.clone()).collect();
        let mut room =
            self.ctx.config.max_outbound.saturating_sub(self.outbound_count() + self.dialing.len());
        for url in self.book.due(Instant::now()) {
            if room == 0 {
                break;
            }
            if connected.contains(&url) || self.dialing.contains(&url) {
                continue;
            }
            if self.bans.get(&url).is_some_and(|until| *until > Instant::now()) {
                continue;
            }
            self.dial(url, None);
            room -= 1;
        }
    }

    fn dial(&mut self, url: String, reply: Option<oneshot::Sender<Result<(), String>>>) {
        if Some(&url) == self.ctx.config.listen_url.as_ref() {
            self.book.mark_never(&url);
            if let Some(reply) = reply {
                let _ = reply.send(Err("that is this node's own address".into()));
            }
            return;
        }
        self.dialing.insert(url.clone());
        // Keep the dialing entry from blocking retries forever: it clears on register or failure.
        self.book.mark_failed(&url, Instant::now());
        let ctx = self.ctx.clone();
        self.ctx.tasks.spawn(async move {
            let timeout = ctx.config.handshake_timeout;
            let attempt = tokio::time::timeout(
                timeout,
                tokio_tungstenite::connect_async_with_config(
                    url.as_str(),
                    Some(wire::client_config()),
                    false,
                ),
            )
            .await;
            let (socket, remote) = match attempt {
                Ok(Ok((socket, _))) => {
                    let remote = match socket.get_ref() {
                        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.peer_addr().ok(),
                        _ => None,
                    };
                    (socket, remote.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))))
                }
                Ok(Err(e)) => {
                    let reason = format!("cannot connect to {url}: {e}");
                    return fail(&ctx, url, reply, reason).await;
                }
                Err(_) => {
                    let reason = format!("connecting to {url} timed out");
                    return fail(&ctx, url, reply, reason).await;
                }
            };
            let (sink, stream) = wire::from_tungstenite(socket);
            peer::run(ctx, sink, stream, Direction::Outbound, remote, Some((url, reply))).await;
        });
    }
}

async fn fail(
    ctx: &Context,
    url: String,
    reply: Option<oneshot::Sender<Result<(), String>>>,
    reason: String,
) {
    tracing::debug!(%reason, "dial failed");
    if let Some(reply) = reply {
        let _ = reply.send(Err(reason));
    }
    let _ = ctx.commands.send(Command::DialFailed { url, permanent: false }).await;
}
