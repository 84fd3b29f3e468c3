//! The peer-to-peer network: WebSocket connections at `/p2p`, a handshake, relay of new
//! transactions and blocks by announcement, headers-first sync from several peers at once
//! (`download.rs`), address gossip with a dialer, and misbehaviour scores with bans.
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
mod budget;
mod download;
#[cfg(any(test, feature = "fuzzing"))]
pub mod drive;
pub mod link;
mod outbound;
mod peer_set;
pub use session::Offence;
mod peer;
mod session;
mod verdict;
mod wire;

pub use book::{check_peer_url, valid_peer_url, BadPeerUrl};
pub use download::MAX_BUFFERED_BYTES as MAX_SYNC_BUFFERED_BYTES;
pub use link::NodeLink;
pub use wire::{Dialed, Dialer, READ_BUFFER_BYTES};

use bytes::Bytes;
use download::Download;
use ferro_shared::api::{Direction, PeerView};
use ferro_shared::block::BlockHeader;
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::p2p::{Hello, Message, WireBlock, WireHeader};
use ferro_shared::pow::Work;
use ferro_shared::Block;
use link::{CheckedHeaders, HeadersRefused};
use link::{NodeEvent, Origin};
use peer_set::{Action, PeerSet};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
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
    /// How connections to peers are opened.
    pub dialer: wire::Dialer,
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
            dialer: wire::Dialer::tcp(),
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
    /// The work its hello claimed.
    pub work: Work,
    pub connected_at: Instant,
}

/// What a session passes on to headers-first sync.
#[derive(Debug)]
pub(crate) enum SyncNote {
    /// The peer has a chain we lack, up to at least this height.
    Behind(u64),
    Headers {
        id: u64,
        headers: Vec<BlockHeader>,
        tip_height: u64,
    },
    Blocks {
        id: u64,
        blocks: Vec<Block>,
    },
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
    Sync {
        peer: u64,
        note: SyncNote,
    },
    /// A message of the sync's, ready for a peer.
    SendTo {
        peer: u64,
        frame: Bytes,
    },
    HeadersChecked {
        peer: u64,
        result: Result<CheckedHeaders, HeadersRefused>,
        full: bool,
    },
    SyncImported {
        from: u64,
        result: Result<(), link::ChainError>,
    },
}

/// What peer tasks share: the node, the way to the manager, our identity.
#[derive(Clone)]
pub(crate) struct Context {
    link: NodeLink,
    commands: mpsc::Sender<Command>,
    /// This node's identity key.
    node_key: Arc<ferro_shared::SecretKey>,
    config: Arc<P2pConfig>,
    tasks: TaskTracker,
}

impl Context {
    /// Our hello, with a fresh `nonce` for the other side to sign.
    fn hello(&self, nonce: [u8; 32]) -> Hello {
        let tip = self.link.tip();
        Hello {
            version: ferro_shared::p2p::PROTOCOL_VERSION,
            network: self.link.network(),
            genesis: self.link.network().genesis_hash(),
            height: tip.height,
            tip: tip.hash,
            work: tip.work,
            listen_url: self.config.listen_url.clone(),
            node_key: self.node_key.public_key(),
            nonce,
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

/// A penalty this node gave a peer (see [`P2pHandle::recent_penalties`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub remote: SocketAddr,
    pub node_id: u64,
    pub offence: &'static str,
}

/// Penalties remembered for [`P2pHandle::recent_penalties`].
const RECENT_PENALTIES: usize = 1024;

/// The last [`RECENT_PENALTIES`] penalties, oldest first.
type Penalties = Arc<std::sync::Mutex<std::collections::VecDeque<Penalty>>>;

/// Talks to the peer network. Cheap to clone. It does not own the node (the node owns it), so
/// the node can close its store once every task has ended.
#[derive(Clone)]
pub struct P2pHandle {
    link: NodeLink,
    /// Slots for inbound handshakes in progress.
    handshakes: Arc<tokio::sync::Semaphore>,
    node_key: Arc<ferro_shared::SecretKey>,
    commands: mpsc::Sender<Command>,
    stats: watch::Receiver<PeerStats>,
    node_id: u64,
    config: Arc<P2pConfig>,
    tasks: TaskTracker,
    penalties: Penalties,
}

impl std::fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pHandle").field("node_id", &self.node_id).finish()
    }
}

impl P2pHandle {
    /// The latest penalties this node gave, oldest first (at most 1,024): who, and for what.
    pub fn recent_penalties(&self) -> Vec<Penalty> {
        self.penalties.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

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
            node_key: self.node_key.clone(),
            config: self.config.clone(),
            tasks: self.tasks.clone(),
        };
        // Callers still in their handshake hold a slot each: one that never finishes it holds
        // one for at most the handshake timeout, and there are only so many.
        let Ok(slot) = self.handshakes.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "too many handshakes in progress: connection dropped");
            return;
        };
        let (sink, stream) = wire::from_axum(socket);
        self.tasks
            .track_future(peer::run(ctx, sink, stream, Direction::Inbound, remote, None, Some(slot)))
            .await;
    }

    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// The peer count and best peer height, as of the last change.
    pub fn stats(&self) -> PeerStats {
        *self.stats.borrow()
    }
}

/// How a block is relayed: pushed whole (made here) or announced by its header.
enum Relay {
    Whole(Block),
    Header(BlockHeader),
}

/// How often the download's timers are looked at.
const SYNC_TICK: Duration = Duration::from_millis(500);

/// How often queued transaction announcements go out.
const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(100);

/// Inbound handshakes in progress at once, per inbound connection slot.
const MAX_HANDSHAKES_PER_INBOUND_SLOT: usize = 2;

/// The largest WebSocket message the `/p2p` endpoint accepts.
pub const MAX_WS_MESSAGE: usize = ferro_shared::p2p::MAX_MESSAGE_BYTES;

/// The manager task: it owns each connection's outbound queue and its close signal, and carries
/// out what the [`PeerSet`] decides.
struct Manager {
    ctx: Context,
    penalties: Penalties,
    stats: watch::Sender<PeerStats>,
    set: PeerSet,
    download: Download,
    connections: BTreeMap<u64, (outbound::Outbound, oneshot::Sender<()>)>,
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
    let unix_now = link.unix_now();
    let saved_bans = link.saved_bans(unix_now).await?;
    let saved_peers = link.saved_peers().await?;
    let (commands, rx) = mpsc::channel(4096);
    let node_key = Arc::new(link.node_key().await?);
    let node_id = ferro_shared::p2p::node_id(&node_key.public_key());
    let tasks = TaskTracker::new();
    let config = Arc::new(config);
    let ctx = Context {
        link: link.clone(),
        commands: commands.clone(),
        node_key,
        config: config.clone(),
        tasks: tasks.clone(),
    };
    let (stats, stats_rx) = watch::channel(PeerStats::default());
    let handle = P2pHandle {
        link: link.clone(),
        handshakes: Arc::new(tokio::sync::Semaphore::new(
            MAX_HANDSHAKES_PER_INBOUND_SLOT * config.max_inbound,
        )),
        node_key: ctx.node_key.clone(),
        commands,
        stats: stats_rx,
        node_id,
        config: config.clone(),
        tasks,
        penalties: Penalties::default(),
    };
    let mut set = PeerSet::new(peer_set::Limits {
        listen_url: config.listen_url.clone(),
        max_inbound: config.max_inbound,
        max_outbound: config.max_outbound,
        ban_duration: config.ban_duration,
        discover: config.discover,
    });
    let now = Instant::now();
    let bans = saved_bans.into_iter().map(|(key, until)| (key, until.saturating_sub(unix_now))).collect();
    set.restore(bans, saved_peers, now);
    for url in initial {
        if valid_peer_url(&url) {
            set.add_operator_address(&url, now);
        } else {
            tracing::warn!(%url, "ignoring a peer URL that is not like ws://host:port/p2p");
        }
    }
    let tip = link.tip();
    let download = Download::new(download::Timing::default(), tip.work, tip.height);
    let penalties = handle.penalties.clone();
    let mut manager = Manager { ctx, penalties, stats, set, download, connections: BTreeMap::new() };
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
        let mut announce_tick = tokio::time::interval(ANNOUNCE_INTERVAL);
        announce_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sync_tick = tokio::time::interval(SYNC_TICK);
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // In a fixed order, so that one seed replays one run: the rare ones first, then
            // commands and events, one event after every command so neither starves the other.
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => break,
                _ = announce_tick.tick() => {
                    let actions = self.set.flush_announcements();
                    self.carry_out(actions);
                }
                _ = sync_tick.tick() => self.sync(download::Input::Tick),
                _ = dial_tick.tick() => {
                    let actions = self.set.dial_due(Instant::now());
                    self.carry_out(actions);
                }
                Some(command) = commands.recv() => {
                    self.on_command(command);
                    match events.try_recv() {
                        Ok(event) => self.on_event(event),
                        Err(broadcast::error::TryRecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "relay fell behind the node's events");
                        }
                        Err(broadcast::error::TryRecvError::Closed) => break,
                        Err(broadcast::error::TryRecvError::Empty) => {}
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => self.on_event(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "relay fell behind the node's events");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        // Dropping every connection's close signal ends it; then wait for them all.
        let actions = self.set.stop();
        self.carry_out(actions);
        self.connections.clear();
        self.publish_stats();
        self.ctx.tasks.close();
        drop(commands);
        if tokio::time::timeout(Duration::from_secs(5), self.ctx.tasks.wait()).await.is_err() {
            tracing::warn!("peer connections did not end within 5 seconds");
        }
    }

    fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::RelayBlock { hash, block } => match block {
                Some(block) => self.relay_block(hash, Origin::Local, Relay::Whole(block)),
                None => tracing::warn!(%hash, "a block made here is not in the store: not relayed"),
            },
            Command::Connect { url, reply } => {
                self.set.add_operator_address(&url, now);
                if self.set.is_connected_to(&url) {
                    let _ = reply.send(Ok(()));
                } else {
                    match self.set.dial(url, now) {
                        Some(Action::Dial(url)) => self.dial(url, Some(reply)),
                        _ => {
                            let _ = reply.send(Err("that is this node's own address".into()));
                        }
                    }
                }
            }
            Command::Peers { reply } => {
                let _ = reply.send(self.set.views(now));
            }
            Command::Register { info, sender, close, reply } => {
                let (height, work) = (info.best_height, info.work);
                let outbound = info.direction == Direction::Outbound;
                match self.set.register(info, now) {
                    Ok((id, actions)) => {
                        self.connections.insert(id, (sender, close));
                        let _ = reply.send(Ok(id));
                        self.carry_out(actions);
                        self.publish_stats();
                        self.sync(download::Input::Joined { peer: id, height, work, outbound });
                    }
                    Err(refusal) => {
                        let _ = reply.send(Err(refusal));
                    }
                }
            }
            Command::Sync { peer, note } => {
                let input = match note {
                    SyncNote::Behind(height) => download::Input::Behind { peer, height },
                    SyncNote::Headers { id, headers, tip_height } => {
                        download::Input::Headers { peer, id, headers, tip_height }
                    }
                    SyncNote::Blocks { id, blocks } => download::Input::Blocks { peer, id, blocks },
                };
                self.sync(input);
            }
            Command::SendTo { peer, frame } => {
                self.carry_out(vec![Action::Send { peers: vec![peer], frame }])
            }
            Command::HeadersChecked { peer, result, full } => {
                self.sync(download::Input::Checked { peer, result, full })
            }
            Command::SyncImported { from, result } => {
                if result.is_ok() {
                    // Blocks a peer gave us are not announced back to it, so tell it where they
                    // took us: it then shows our height as it is, not as it was when we met.
                    let tip = self.ctx.link.tip();
                    let frame =
                        Message::InvBlocks { hashes: vec![tip.hash], tip_height: tip.height }.to_frame();
                    self.carry_out(vec![Action::Send { peers: vec![from], frame: Bytes::from(frame) }]);
                }
                self.sync(download::Input::Imported { result })
            }
            Command::Closed { peer } => {
                self.set.closed(peer, now);
                self.connections.remove(&peer);
                self.publish_stats();
                self.sync(download::Input::Left { peer });
            }
            Command::DialFailed { url, permanent } => self.set.dial_failed(&url, permanent, now),
            Command::KnownTxs { peer, txids } => self.set.known_txs(peer, txids),
            Command::KnownBlocks { peer, hashes, tip_height } => {
                self.set.known_blocks(peer, hashes, tip_height);
                self.publish_stats();
            }
            Command::PeerHeight { peer, height } => {
                self.set.peer_height(peer, height);
                self.publish_stats();
            }
            Command::Misbehaved { peer, offence, reason } => self.misbehaved(peer, offence, &reason),
            Command::AddAddrs { peer, urls } => {
                // Counted before the set acts on it, which may drop the peer.
                if urls.iter().take(ferro_shared::p2p::MAX_ADDRS_PER_MESSAGE).any(|url| !valid_peer_url(url))
                {
                    self.record_penalty(peer, Offence::MalformedAddresses);
                }
                let actions = self.set.addrs(peer, urls, now);
                self.carry_out(actions);
            }
            Command::GetAddrs { peer, reply } => {
                let _ = reply.send(self.set.addrs_for(peer));
            }
        }
    }

    /// Carries out what the peer set decided.
    fn carry_out(&mut self, actions: Vec<Action>) {
        let mut queue: std::collections::VecDeque<Action> = actions.into();
        let mut changed = false;
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Send { peers, frame } => {
                    for peer in peers {
                        let Some((out, _)) = self.connections.get(&peer) else { continue };
                        if let Err(outbound::Full::NoRoom) = out.try_send(frame.clone()) {
                            tracing::warn!(peer, "dropping a peer that does not keep up");
                            queue.extend(self.set.slow(peer));
                        }
                    }
                }
                Action::Disconnect(peer) => {
                    // Dropping its close signal ends the connection.
                    self.connections.remove(&peer);
                    changed = true;
                }
                Action::Dial(url) => self.dial(url, None),
                Action::SaveBan { key, until_secs_from_now } => {
                    let (link, until) =
                        (self.ctx.link.clone(), self.ctx.link.unix_now() + until_secs_from_now);
                    self.ctx.tasks.spawn(async move { link.save_ban(key, until).await });
                }
                Action::SavePeer(url) => {
                    let link = self.ctx.link.clone();
                    self.ctx.tasks.spawn(async move { link.save_peer(url).await });
                }
                Action::ForgetPeer(url) => {
                    let link = self.ctx.link.clone();
                    self.ctx.tasks.spawn(async move { link.forget_peer(url).await });
                }
            }
        }
        if changed {
            self.publish_stats();
        }
    }

    fn publish_stats(&self) {
        let stats = PeerStats { peers: self.set.len(), best_height: self.set.best_height() };
        let queued: usize = self.connections.values().map(|(out, _)| out.queued()).sum();
        let metrics = self.ctx.link.metrics();
        metrics.p2p_queued_bytes.set(queued as i64);
        metrics.peers.set(stats.peers as i64);
        self.stats.send_replace(stats);
    }

    fn on_event(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::Tx { txid, origin, .. } => {
                let actions = self.set.relay_tx(txid, origin);
                self.carry_out(actions);
            }
            NodeEvent::Block { hash, header, origin, side_work } => {
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
                    Origin::Peer(_) => self.relay_block(hash, origin, Relay::Header(header)),
                }
            }
            NodeEvent::Tip { tip, .. } => {
                self.sync(download::Input::Tip { work: tip.work, height: tip.height })
            }
        }
    }

    /// Announces a block by its header to every peer that lacks it, or pushes it whole.
    fn relay_block(&mut self, hash: BlockHash, origin: Origin, relay: Relay) {
        let frame = match relay {
            Relay::Whole(block) => Message::NewBlock(WireBlock(block)).to_frame(),
            Relay::Header(header) => {
                let tip_height = self.ctx.link.tip().height;
                Message::Headers { id: 0, headers: vec![WireHeader(header)], tip_height }.to_frame()
            }
        };
        let actions = self.set.relay_block(hash, origin, Bytes::from(frame));
        self.carry_out(actions);
    }

    fn misbehaved(&mut self, peer: u64, offence: Offence, reason: &str) {
        self.record_penalty(peer, offence);
        let actions = self.set.misbehaved(peer, offence, reason, Instant::now());
        self.carry_out(actions);
    }

    /// Counts a penalty to `peer` in the metrics and the recent penalties.
    fn record_penalty(&self, peer: u64, offence: Offence) {
        self.ctx.link.metrics().penalty(offence.label());
        if let Some(info) = self.set.peer(peer) {
            let mut recent = self.penalties.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() == RECENT_PENALTIES {
                recent.pop_front();
            }
            recent.push_back(Penalty {
                remote: info.remote,
                node_id: info.node_id,
                offence: offence.label(),
            });
        }
    }

    /// Feeds the download an input and carries out what it decides.
    fn sync(&mut self, input: download::Input) {
        let effects = self.download.handle(input, Instant::now());
        for effect in effects {
            self.sync_effect(effect);
        }
        self.ctx.link.metrics().p2p_sync_buffered_bytes.set(self.download.buffered_bytes() as i64);
    }

    fn sync_effect(&mut self, effect: download::Effect) {
        use download::Effect;
        let (link, commands) = (self.ctx.link.clone(), self.ctx.commands.clone());
        match effect {
            Effect::GetHeaders { peer, id, from } => {
                // Our locator is read off this task; the request goes out when it is ready.
                self.ctx.tasks.spawn(async move {
                    let Ok(ours) = link.locator().await else { return };
                    let locator: Vec<BlockHash> =
                        from.into_iter().chain(ours).take(ferro_shared::p2p::MAX_LOCATOR_HASHES).collect();
                    let limit = ferro_shared::p2p::MAX_HEADERS_PER_MESSAGE as u32;
                    let frame = Bytes::from(Message::GetHeaders { id, locator, limit }.to_frame());
                    let _ = commands.send(Command::SendTo { peer, frame }).await;
                });
            }
            Effect::GetBlocks { peer, id, hashes } => {
                let frame = Bytes::from(Message::GetBlocks { id, hashes }.to_frame());
                self.carry_out(vec![Action::Send { peers: vec![peer], frame }]);
            }
            Effect::CheckHeaders { peer, headers, after, full } => {
                self.ctx.tasks.spawn(async move {
                    let result = match after {
                        // On top of the run's end: the rules alone, no chain state.
                        Some(mut tail) => {
                            let (fork, now) = (tail.tip(), link.unix_now());
                            let checked = crate::env::blocking(move || {
                                let hashes = tail.extend(&headers, now)?;
                                let new = hashes.into_iter().zip(headers).collect();
                                Ok(link::CheckedHeaders { fork, new, tail })
                            })
                            .await;
                            match checked {
                                Ok(result) => result.map_err(link::HeadersRefused::Invalid),
                                Err(_) => return,
                            }
                        }
                        None => match link.check_headers(headers).await {
                            Ok(result) => result,
                            Err(_) => return,
                        },
                    };
                    let _ = commands.send(Command::HeadersChecked { peer, result, full }).await;
                });
            }
            Effect::Import { blocks, from, proven_after } => {
                self.ctx.tasks.spawn(async move {
                    let result = match link.submit_blocks(blocks, Origin::Peer(from), proven_after).await {
                        Ok(()) => Ok(()),
                        Err(link::SubmitBlockError::Rejected(e)) => Err(e),
                        // The node's own machinery failed: it is stopping.
                        Err(link::SubmitBlockError::Node(e)) => {
                            tracing::error!(error = %e, "could not import synced blocks");
                            return;
                        }
                    };
                    let _ = commands.send(Command::SyncImported { from, result }).await;
                });
            }
            Effect::Penalize { peer, offence, reason } => self.misbehaved(peer, offence, &reason),
            Effect::Disconnect { peer, ending, reason } => {
                tracing::info!(peer, %reason, ending = ending.label(), "dropping a peer");
                self.carry_out(vec![Action::Disconnect(peer)]);
            }
        }
    }

    /// Opens a connection to `url` on its own task.
    fn dial(&mut self, url: String, reply: Option<oneshot::Sender<Result<(), String>>>) {
        let ctx = self.ctx.clone();
        self.ctx.tasks.spawn(async move {
            let timeout = ctx.config.handshake_timeout;
            let attempt = tokio::time::timeout(timeout, ctx.config.dialer.dial(url.clone())).await;
            let (sink, stream, remote) = match attempt {
                Ok(Ok(dialed)) => dialed,
                Ok(Err(e)) => {
                    let reason = format!("cannot connect to {url}: {e}");
                    return fail(&ctx, url, reply, reason).await;
                }
                Err(_) => {
                    let reason = format!("connecting to {url} timed out");
                    return fail(&ctx, url, reply, reason).await;
                }
            };
            peer::run(ctx, sink, stream, Direction::Outbound, remote, Some((url, reply)), None).await;
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
