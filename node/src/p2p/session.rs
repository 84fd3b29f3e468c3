//! One peer connection's protocol logic as a plain state machine: an [`Input`] (a decoded
//! message, a timer tick, the answer to a question it asked the node) goes in with the time,
//! and a list of [`Effect`]s (send, ask the node, import, penalize, disconnect) comes out. No
//! sockets, no locks, no clock of its own: `peer.rs` moves bytes and carries the effects out,
//! and the table tests below drive it directly.
//!
//! ```text
//!   frame ─decode─▶ Input::Message ─┐                 ┌─▶ Send(message)       ─▶ socket
//!   timer ────────▶ Input::Tick ────┼─▶ Session ──────┼─▶ Serve(request)      ─▶ node, socket
//!   node answers ─▶ Input::Missing… ┘   (requests,    ├─▶ Ask(question)       ─▶ node ─┐
//!                   Input::Imported      scores,      ├─▶ Import / SubmitTx   ─▶ node ─┤
//!                   …                    sync state)  ├─▶ Tell(note)          ─▶ manager
//!                        ▲                            └─▶ Penalize / Disconnect        │
//!                        └──────────────────────── answers as inputs ◀─────────────────┘
//! ```

use super::download::SYNC_ID_BIT;
use super::link::{ChainError, CheckedHeaders, HeadersRefused};
use super::verdict::{self, Charge};
use crate::mempool::MempoolError;
use ferro_shared::block::BlockHeader;
use ferro_shared::consensus::tx::TxError;
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::keys::PublicKey;
use ferro_shared::p2p::{
    Hello, Message, WireBlock, WireHeader, WireTx, MAX_ITEMS_PER_MESSAGE, MIN_PROTOCOL_VERSION,
};
use ferro_shared::pow::Work;
use ferro_shared::{Block, Network, Transaction};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Misbehaviour that gets a peer disconnected and banned at once.
pub const BAN_SCORE: u32 = 100;
/// Headers an announcement may carry; more means the sender's chain is far ahead: it is
/// fetched by headers-first sync instead.
pub const MAX_ANNOUNCED_HEADERS: usize = 8;
/// Charged for unrequested transactions, blocks, headers or filters.
pub const UNREQUESTED_SCORE: u32 = 20;
/// Charged once a second in which a peer sent more than [`FLOOD_PER_SECOND`] messages.
pub const FLOOD_SCORE: u32 = 50;
pub const FLOOD_PER_SECOND: u32 = 5_000;
/// Blocks on branches with less work than the tip a peer may send per window for free: an
/// honest peer sends one now and then, when a competing tip loses the race on its way here.
pub const LOW_WORK_ALLOWANCE: u32 = 16;
pub const LOW_WORK_WINDOW: Duration = Duration::from_secs(600);
/// Charged for each one beyond the allowance: nothing is stored, but each costs validation.
pub const LOW_WORK_SCORE: u32 = 10;
/// Requests of ours a peer may have unanswered at once; beyond this, announcements it makes
/// are not fetched until it answers.
pub const MAX_PENDING_REQUESTS: usize = 64;

/// What a peer is penalized for; each has its score and a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offence {
    /// An undecodable, oversized or text frame, a second hello.
    Violation,
    InvalidBlock,
    InvalidTransaction,
    /// Transactions, blocks, headers or filters nobody asked it for.
    Unrequested,
    Flooding,
    /// Too many blocks on branches with less work than the tip.
    LowWork,
    MalformedAddresses,
}

impl Offence {
    pub const ALL: [Offence; 7] = [
        Offence::Violation,
        Offence::InvalidBlock,
        Offence::InvalidTransaction,
        Offence::Unrequested,
        Offence::Flooding,
        Offence::LowWork,
        Offence::MalformedAddresses,
    ];

    pub fn score(self) -> u32 {
        match self {
            Offence::Violation | Offence::InvalidBlock | Offence::InvalidTransaction => BAN_SCORE,
            Offence::Unrequested => UNREQUESTED_SCORE,
            Offence::Flooding => FLOOD_SCORE,
            Offence::LowWork => LOW_WORK_SCORE,
            Offence::MalformedAddresses => MALFORMED_ADDRESSES_SCORE,
        }
    }

    /// The `offence` label of `ferro_p2p_penalties_total`.
    pub fn label(self) -> &'static str {
        match self {
            Offence::Violation => "violation",
            Offence::InvalidBlock => "invalid_block",
            Offence::InvalidTransaction => "invalid_transaction",
            Offence::Unrequested => "unrequested",
            Offence::Flooding => "flooding",
            Offence::LowWork => "low_work",
            Offence::MalformedAddresses => "malformed_addresses",
        }
    }
}

/// Charged for addresses that are not peer URLs.
pub const MALFORMED_ADDRESSES_SCORE: u32 = 10;

/// Transactions that spent coins we did not know, kept to ask for again, at most.
pub const MAX_ORPHANS: usize = 5_000;
/// How often such a transaction is asked for again.
pub const ORPHAN_TRIES: usize = 2;

/// Announced transactions we want, waiting for a request slot, at most.
pub const MAX_DEFERRED_TXS: usize = 50_000;

/// A request of ours, unanswered (or answered in part).
#[derive(Debug)]
struct Pending {
    kind: Request,
    last_seen: Instant,
    /// For a transaction request, the txids still expected.
    txids: BTreeSet<Txid>,
}

/// Timers of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often to ping a connected peer.
    pub ping_interval: Duration,
    /// A peer silent for this long is dropped.
    pub idle_timeout: Duration,
    /// A request of ours unanswered for this long means the peer stalls: it is dropped.
    pub request_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloRefusal {
    #[error("peer is on network {network} with genesis {genesis}")]
    OtherNetwork { network: Network, genesis: BlockHash },
    #[error("protocol version {0} is too old")]
    TooOld(u32),
    #[error("connected to ourselves")]
    Ourselves,
    #[error("its proof of identity does not verify")]
    BadAuth,
}

impl HelloRefusal {
    /// Whether dialing that address again can never work.
    pub fn is_permanent(&self) -> bool {
        match self {
            HelloRefusal::OtherNetwork { .. } | HelloRefusal::Ourselves => true,
            HelloRefusal::TooOld(_) | HelloRefusal::BadAuth => false,
        }
    }
}

/// Checks the other side's hello against our network and identity.
pub fn check_hello(network: Network, our_key: &PublicKey, theirs: &Hello) -> Result<(), HelloRefusal> {
    if theirs.network != network || theirs.genesis != network.genesis_hash() {
        return Err(HelloRefusal::OtherNetwork { network: theirs.network, genesis: theirs.genesis });
    }
    if theirs.version < MIN_PROTOCOL_VERSION {
        return Err(HelloRefusal::TooOld(theirs.version));
    }
    if theirs.node_key == *our_key {
        return Err(HelloRefusal::Ourselves);
    }
    Ok(())
}

/// What a request of ours asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Txs,
    Blocks,
}

/// A request of the peer's, to be answered from the node's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serve {
    Txs { id: u64, txids: Vec<Txid> },
    Blocks { id: u64, hashes: Vec<BlockHash> },
    BlocksAfter { id: u64, locator: Vec<BlockHash>, limit: u32 },
    Headers { id: u64, locator: Vec<BlockHash>, limit: u32 },
    Filters { id: u64, from: u64, limit: u32 },
    Addrs,
}

/// A question to the node, whose answer comes back as an [`Input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Of these, the transactions we have neither pending nor confirmed → [`Input::MissingTxs`].
    MissingTxs(Vec<Txid>),
    /// Of these, the blocks we neither have nor know invalid → [`Input::MissingBlocks`].
    MissingBlocks(Vec<BlockHash>),
    /// Check announced headers against our chain → [`Input::HeadersJudged`].
    JudgeHeaders(Vec<BlockHeader>),
    /// Our pending txids, to announce → [`Input::Pending`].
    Pending,
}

/// What the peer manager is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    KnownTxs(Vec<Txid>),
    KnownBlocks {
        hashes: Vec<BlockHash>,
        tip_height: u64,
    },
    PeerHeight(u64),
    Addrs(Vec<String>),
    /// The peer has a chain we lack, up to at least this height: for headers-first sync.
    Behind(u64),
    /// An answer to a header request of the sync's (its id has [`SYNC_ID_BIT`]).
    SyncHeaders {
        id: u64,
        headers: Vec<BlockHeader>,
        tip_height: u64,
    },
    /// An answer to a block request of the sync's.
    SyncBlocks {
        id: u64,
        blocks: Vec<Block>,
    },
}

/// What the session wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Message),
    Serve(Serve),
    Ask(Ask),
    /// Hand blocks to the node; the result comes back as [`Input::Imported`].
    Import {
        blocks: Vec<Block>,
        kind: Option<Request>,
    },
    /// Hand a transaction to the node; the result comes back as [`Input::TxJudged`].
    SubmitTx(Transaction),
    Tell(Note),
    Penalize {
        offence: Offence,
        reason: String,
    },
    Disconnect {
        ending: Ending,
        reason: String,
    },
}

/// Why a connection ended: the `reason` label of `ferro_p2p_disconnects_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The peer closed it.
    ClosedByPeer,
    /// The socket failed.
    Failed,
    /// The peer did something no honest node does.
    Penalized,
    /// The peer went silent.
    Idle,
    /// The peer left a request of ours unanswered.
    Stalled,
    /// The peer did not read what it was sent.
    Slow,
    /// This node's peer manager ended it (banned by score, too slow for relay, stopping).
    ByNode,
    /// The node is stopping.
    Stopping,
}

impl Ending {
    pub fn label(self) -> &'static str {
        match self {
            Ending::ClosedByPeer => "closed_by_peer",
            Ending::Failed => "failed",
            Ending::Penalized => "penalized",
            Ending::Idle => "idle",
            Ending::Stalled => "stalled",
            Ending::Slow => "slow",
            Ending::ByNode => "by_node",
            Ending::Stopping => "stopping",
        }
    }
}

/// An input to the session.
#[derive(Debug)]
pub enum Input {
    Message(Message),
    /// A frame that was not a valid message (undecodable, oversized, text).
    Violation(String),
    Tick,
    MissingTxs(Vec<Txid>),
    MissingBlocks(Vec<BlockHash>),
    /// The node's verdict on announced headers, with our chain's work.
    HeadersJudged {
        result: Result<CheckedHeaders, HeadersRefused>,
        our_work: Work,
    },
    Pending(Vec<Txid>),
    /// The node's verdict on blocks this peer sent, whether they changed our chain, and our tip
    /// afterwards.
    Imported {
        kind: Option<Request>,
        result: Result<(), ChainError>,
        changed: bool,
        tip: (BlockHash, u64),
    },
    /// The node's verdict on a transaction this peer sent.
    TxJudged(Txid, Result<(), MempoolError>),
    /// Our chain's tip moved: transactions that spent coins we did not know yet may now fit.
    TipMoved,
}

/// What a session holds ([`Session::held`]).
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub pending: usize,
    pub deferred: usize,
    pub orphans: usize,
    pub retried: usize,
}

/// One connection's state after the handshake.
#[derive(Debug)]
pub struct Session {
    timing: Timing,
    /// Our unanswered requests: what each asked for, and when the peer last answered part of it
    /// (or when it was sent).
    pending: BTreeMap<u64, Pending>,
    /// Transactions the peer announced that we want but had no request slot for yet.
    deferred_txs: VecDeque<Txid>,
    /// Transactions it sent that spent coins we did not know, with how often they were tried.
    orphans: VecDeque<(Txid, usize)>,
    /// Transactions asked for again, oldest first: at most [`MAX_ORPHANS`] times
    /// [`ORPHAN_TRIES`], the oldest forgotten first.
    retried: VecDeque<Txid>,
    /// How often each transaction in `retried` is there.
    tries: BTreeMap<Txid, usize>,
    next_request: u64,
    peer_height: u64,
    last_heard: Instant,
    last_ping: Instant,
    flood_window: (Instant, u32),
    low_work_window: (Instant, u32),
}

impl Session {
    /// A session with a peer whose hello was `theirs`, at `now`: the session and what to do
    /// first. (Whether to sync from it is the download's call: see `download.rs`.)
    pub fn start(timing: Timing, theirs: &Hello, now: Instant) -> (Session, Vec<Effect>) {
        let session = Session {
            timing,
            pending: BTreeMap::new(),
            deferred_txs: VecDeque::new(),
            orphans: VecDeque::new(),
            retried: VecDeque::new(),
            tries: BTreeMap::new(),
            next_request: 1,
            peer_height: theirs.height,
            last_heard: now,
            last_ping: now,
            flood_window: (now, 0),
            low_work_window: (now, 0),
        };
        let mut effects = vec![Effect::Send(Message::GetAddrs)];
        // What is pending here is news to a peer that just arrived (or just came back).
        effects.push(Effect::Ask(Ask::Pending));
        (session, effects)
    }

    /// How much the session holds now, for limit checks.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn held(&self) -> Held {
        Held {
            pending: self.pending.len(),
            deferred: self.deferred_txs.len(),
            orphans: self.orphans.len(),
            retried: self.retried.len(),
        }
    }

    /// Handles one input at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        match input {
            Input::Message(message) => {
                self.last_heard = now;
                let mut effects = self.count_message(now);
                effects.extend(self.on_message(message, now));
                effects
            }
            Input::Violation(what) => ban(Offence::Violation, &format!("protocol violation: {what}")),
            Input::Tick => self.on_tick(now),
            Input::MissingTxs(wanted) => {
                for txid in wanted {
                    if self.deferred_txs.len() < MAX_DEFERRED_TXS {
                        self.deferred_txs.push_back(txid);
                    }
                }
                self.fetch_deferred_txs(now)
            }
            // Blocks announced by hash alone: their headers are fetched first.
            Input::MissingBlocks(wanted) if wanted.is_empty() => vec![],
            Input::MissingBlocks(_) => vec![self.behind()],
            Input::HeadersJudged { result, our_work } => self.on_headers_judged(result, our_work, now),
            Input::Pending(txids) if txids.is_empty() => vec![],
            Input::Pending(txids) => {
                let txids: Vec<Txid> = txids.into_iter().take(MAX_ITEMS_PER_MESSAGE).collect();
                vec![Effect::Tell(Note::KnownTxs(txids.clone())), Effect::Send(Message::InvTxs(txids))]
            }
            Input::Imported { kind, result, changed, tip } => {
                self.on_imported(kind, result, changed, tip, now)
            }
            Input::TxJudged(txid, result) => {
                if let Err(MempoolError::Invalid(
                    TxError::UnknownInput(_) | TxError::ImmatureCoinbase { .. },
                )) = &result
                {
                    self.orphan(txid);
                }
                match result.as_ref().map_err(verdict::for_transaction) {
                    Ok(()) | Err(Charge::Nothing | Charge::Sync | Charge::LowWork) => vec![],
                    Err(Charge::Ban(reason)) => ban(Offence::InvalidTransaction, &reason),
                }
            }
            Input::TipMoved if self.orphans.is_empty() => vec![],
            Input::TipMoved => {
                let retry: Vec<Txid> = self.orphans.drain(..).map(|(txid, _)| txid).collect();
                for txid in &retry {
                    self.retried.push_back(*txid);
                    *self.tries.entry(*txid).or_default() += 1;
                    if self.retried.len() > MAX_ORPHANS * ORPHAN_TRIES {
                        self.forget_oldest_retry();
                    }
                }
                vec![Effect::Ask(Ask::MissingTxs(retry))]
            }
        }
    }

    /// Remembers a transaction that spent coins we do not know (yet): asked for again when our
    /// tip moves, up to [`ORPHAN_TRIES`] times, at most [`MAX_ORPHANS`] at once.
    fn orphan(&mut self, txid: Txid) {
        let tries = self.tries.get(&txid).copied().unwrap_or(0);
        if tries >= ORPHAN_TRIES {
            return;
        }
        if self.orphans.len() >= MAX_ORPHANS {
            self.orphans.pop_front();
        }
        self.orphans.push_back((txid, tries));
    }

    fn forget_oldest_retry(&mut self) {
        let Some(old) = self.retried.pop_front() else { return };
        if let Some(n) = self.tries.get_mut(&old) {
            *n -= 1;
            if *n == 0 {
                self.tries.remove(&old);
            }
        }
    }

    fn behind(&self) -> Effect {
        Effect::Tell(Note::Behind(self.peer_height))
    }

    /// Announced headers judged: fetch the blocks of a branch with more work than ours when
    /// they connect; hand a branch that does not connect to headers-first sync.
    fn on_headers_judged(
        &mut self,
        result: Result<CheckedHeaders, HeadersRefused>,
        our_work: Work,
        now: Instant,
    ) -> Vec<Effect> {
        match result {
            Ok(checked) if checked.new.is_empty() || checked.tail.work() <= our_work => vec![],
            Ok(checked) => match self.request(Request::Blocks, BTreeSet::new(), now) {
                Some(id) => {
                    let hashes = checked.new.iter().map(|(hash, _)| *hash).collect();
                    vec![Effect::Send(Message::GetBlocks { id, hashes })]
                }
                None => vec![],
            },
            Err(HeadersRefused::Empty) => vec![],
            Err(HeadersRefused::Unconnected { .. }) => vec![self.behind()],
            Err(HeadersRefused::KnownInvalid(hash)) => {
                ban(Offence::InvalidBlock, &format!("announced a block on known-invalid block {hash}"))
            }
            Err(HeadersRefused::Invalid(error)) => match verdict::for_headers(&error) {
                Charge::Ban(reason) => ban(Offence::InvalidBlock, &reason),
                Charge::Nothing | Charge::Sync | Charge::LowWork => vec![],
            },
        }
    }

    /// Registers a request of ours; `None` when too many are unanswered.
    fn request(&mut self, kind: Request, txids: BTreeSet<Txid>, now: Instant) -> Option<u64> {
        if self.pending.len() >= MAX_PENDING_REQUESTS {
            return None;
        }
        let id = self.next_request;
        self.next_request += 1;
        self.pending.insert(id, Pending { kind, last_seen: now, txids });
        Some(id)
    }

    /// Asks for deferred transactions, as many requests as there are free slots.
    fn fetch_deferred_txs(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = vec![];
        while !self.deferred_txs.is_empty() && self.pending.len() < MAX_PENDING_REQUESTS {
            let n = self.deferred_txs.len().min(MAX_ITEMS_PER_MESSAGE);
            let txids: Vec<Txid> = self.deferred_txs.drain(..n).collect();
            let id = self.request(Request::Txs, txids.iter().copied().collect(), now).expect("a free slot");
            effects.push(Effect::Send(Message::GetTxs { id, txids }));
        }
        effects
    }

    fn count_message(&mut self, now: Instant) -> Vec<Effect> {
        let (start, count) = &mut self.flood_window;
        if now.duration_since(*start) >= Duration::from_secs(1) {
            (*start, *count) = (now, 0);
        }
        *count += 1;
        if *count == FLOOD_PER_SECOND {
            return vec![Effect::Penalize { offence: Offence::Flooding, reason: "flooding".into() }];
        }
        vec![]
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        if now.duration_since(self.last_heard) > self.timing.idle_timeout {
            return vec![Effect::Disconnect { ending: Ending::Idle, reason: "not answering".into() }];
        }
        let timeout = self.timing.request_timeout;
        if let Some(Pending { kind, .. }) =
            self.pending.values().find(|p| now.duration_since(p.last_seen) > timeout)
        {
            let reason = format!("stalled: a {kind:?} request unanswered for {timeout:?}");
            return vec![Effect::Disconnect { ending: Ending::Stalled, reason }];
        }
        if now.duration_since(self.last_ping) >= self.timing.ping_interval {
            self.last_ping = now;
            let nonce = now.duration_since(self.flood_window.0).as_nanos() as u64 ^ self.next_request;
            return vec![Effect::Send(Message::Ping(nonce))];
        }
        vec![]
    }

    fn set_height(&mut self, height: u64) -> Vec<Effect> {
        if height > self.peer_height {
            self.peer_height = height;
            return vec![Effect::Tell(Note::PeerHeight(height))];
        }
        vec![]
    }

    /// A part of the answer to transaction request `id`: each transaction we asked for goes
    /// to the node once; anything else is charged as unrequested and dropped.
    fn on_txs(&mut self, id: u64, txs: Vec<WireTx>, more: bool, now: Instant) -> Vec<Effect> {
        let mut effects = vec![];
        let Some(pending) = self.pending.get_mut(&id).filter(|p| p.kind == Request::Txs) else {
            effects.push(unrequested("transactions"));
            return effects;
        };
        pending.last_seen = now;
        let mut stray = false;
        for WireTx(tx) in txs {
            if pending.txids.remove(&tx.txid()) {
                effects.push(Effect::SubmitTx(tx));
            } else {
                stray = true;
            }
        }
        let done = !more || pending.txids.is_empty();
        if done {
            self.pending.remove(&id);
        }
        if stray {
            effects.push(unrequested("transactions"));
        }
        if done {
            effects.extend(self.fetch_deferred_txs(now));
        }
        effects
    }

    fn on_message(&mut self, message: Message, now: Instant) -> Vec<Effect> {
        match message {
            Message::Hello(_) => ban(Offence::Violation, "protocol violation: a second hello"),
            Message::Auth(_) => ban(Offence::Violation, "protocol violation: a second proof of identity"),
            Message::Ping(n) => vec![Effect::Send(Message::Pong(n))],
            Message::Pong(_) => vec![],
            Message::GetAddrs => vec![Effect::Serve(Serve::Addrs)],
            Message::Addrs(urls) => vec![Effect::Tell(Note::Addrs(urls))],
            Message::InvTxs(txids) => {
                vec![Effect::Tell(Note::KnownTxs(txids.clone())), Effect::Ask(Ask::MissingTxs(txids))]
            }
            Message::InvBlocks { hashes, tip_height } => {
                let mut effects = self.set_height(tip_height);
                effects.push(Effect::Tell(Note::KnownBlocks { hashes: hashes.clone(), tip_height }));
                effects.push(Effect::Ask(Ask::MissingBlocks(hashes)));
                effects
            }
            Message::GetTxs { id, txids } => vec![Effect::Serve(Serve::Txs { id, txids })],
            Message::Txs { id, txs, more } => self.on_txs(id, txs, more, now),
            Message::GetBlocks { id, hashes } => vec![Effect::Serve(Serve::Blocks { id, hashes })],
            Message::GetBlocksAfter { id, locator, limit } => {
                vec![Effect::Serve(Serve::BlocksAfter { id, locator, limit })]
            }
            Message::GetHeaders { id, locator, limit } => {
                vec![Effect::Serve(Serve::Headers { id, locator, limit })]
            }
            Message::GetFilters { id, from, limit } => {
                vec![Effect::Serve(Serve::Filters { id, from, limit })]
            }
            Message::Blocks { id, blocks, tip_height } if id & SYNC_ID_BIT != 0 => {
                let mut effects = self.set_height(tip_height);
                let blocks = blocks.into_iter().map(|WireBlock(b)| b).collect();
                effects.push(Effect::Tell(Note::SyncBlocks { id, blocks }));
                effects
            }
            Message::Blocks { id, blocks, tip_height } => self.on_blocks(id, blocks, tip_height),
            Message::NewBlock(WireBlock(block)) => {
                let (hash, height) = (block.hash(), block.header.height);
                vec![
                    Effect::Tell(Note::KnownBlocks { hashes: vec![hash], tip_height: height }),
                    Effect::Import { blocks: vec![block], kind: None },
                ]
            }
            // An announcement: new blocks by their headers (BIP130's `sendheaders`).
            Message::Headers { id: 0, headers, tip_height } => {
                let mut effects = self.set_height(tip_height);
                let headers: Vec<BlockHeader> = headers.into_iter().map(|WireHeader(h)| h).collect();
                let hashes = headers.iter().map(BlockHeader::hash).collect();
                effects.push(Effect::Tell(Note::KnownBlocks { hashes, tip_height }));
                if headers.len() > MAX_ANNOUNCED_HEADERS {
                    effects.push(self.behind());
                } else if !headers.is_empty() {
                    effects.push(Effect::Ask(Ask::JudgeHeaders(headers)));
                }
                effects
            }
            Message::Headers { id, headers, tip_height } if id & SYNC_ID_BIT != 0 => {
                let mut effects = self.set_height(tip_height);
                let headers = headers.into_iter().map(|WireHeader(h)| h).collect();
                effects.push(Effect::Tell(Note::SyncHeaders { id, headers, tip_height }));
                effects
            }
            // This node asks for no filters: they serve light clients.
            Message::Headers { .. } => vec![unrequested("headers")],
            Message::Filters { .. } => vec![unrequested("filters")],
        }
    }

    fn on_blocks(&mut self, id: u64, blocks: Vec<WireBlock>, tip_height: u64) -> Vec<Effect> {
        let mut effects = self.set_height(tip_height);
        let kind = match self.pending.remove(&id).map(|p| p.kind) {
            Some(kind @ Request::Blocks) => kind,
            Some(Request::Txs) | None => {
                effects.push(unrequested("blocks"));
                return effects;
            }
        };
        let blocks: Vec<Block> = blocks.into_iter().map(|WireBlock(b)| b).collect();
        if !blocks.is_empty() {
            effects.push(Effect::Import { blocks, kind: Some(kind) });
        }
        effects
    }

    fn on_imported(
        &mut self,
        kind: Option<Request>,
        result: Result<(), ChainError>,
        changed: bool,
        (tip_hash, tip_height): (BlockHash, u64),
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = vec![];
        match result.as_ref().map_err(verdict::for_block) {
            Ok(()) | Err(Charge::Nothing) => {}
            Err(Charge::Sync) => effects.push(self.behind()),
            Err(Charge::LowWork) if kind == Some(Request::Blocks) => {}
            Err(Charge::LowWork) => {
                let (start, count) = &mut self.low_work_window;
                if now.duration_since(*start) > LOW_WORK_WINDOW {
                    (*start, *count) = (now, 0);
                }
                *count += 1;
                if *count > LOW_WORK_ALLOWANCE {
                    let reason = "sent many blocks on branches with less work than the tip".into();
                    effects.push(Effect::Penalize { offence: Offence::LowWork, reason });
                }
            }
            Err(Charge::Ban(reason)) => return ban(Offence::InvalidBlock, &reason),
        }
        // Blocks a peer gave us are not announced back to it, so tell it where they took us:
        // it then shows our height as it is, not as it was when we met.
        if result.is_ok() && changed {
            effects.push(Effect::Send(Message::InvBlocks { hashes: vec![tip_hash], tip_height }));
        }
        effects
    }
}

fn ban(offence: Offence, reason: &str) -> Vec<Effect> {
    vec![
        Effect::Penalize { offence, reason: reason.to_string() },
        Effect::Disconnect { ending: Ending::Penalized, reason: reason.to_string() },
    ]
}

fn unrequested(what: &str) -> Effect {
    Effect::Penalize { offence: Offence::Unrequested, reason: format!("sent unrequested {what}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::consensus::block::BlockError;
    use ferro_shared::p2p::PROTOCOL_VERSION;

    const NET: Network = Network::Dev;

    fn key(seed: u8) -> PublicKey {
        ferro_shared::SecretKey::from_bytes(&[seed; 32]).unwrap().public_key()
    }

    fn work(n: u64) -> Work {
        let mut bytes = [0u8; 32];
        bytes[24..].copy_from_slice(&n.to_be_bytes());
        Work::from_be_bytes(bytes)
    }

    fn hello(height: u64, chain_work: u64) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            network: NET,
            genesis: NET.genesis_hash(),
            height,
            tip: BlockHash([1; 32]),
            work: work(chain_work),
            listen_url: None,
            node_key: key(7),
            nonce: [3; 32],
            agent: "test".into(),
        }
    }

    /// A session with a peer at height 10 whose chain has no more work than ours, started.
    fn session(t0: Instant) -> Session {
        Session::start(Timing::default(), &hello(10, 0), t0).0
    }

    fn msg(s: &mut Session, m: Message, now: Instant) -> Vec<Effect> {
        s.handle(Input::Message(m), now)
    }

    fn penalties(effects: &[Effect]) -> Vec<u32> {
        effects
            .iter()
            .filter_map(
                |e| if let Effect::Penalize { offence, .. } = e { Some(offence.score()) } else { None },
            )
            .collect()
    }

    fn disconnects(effects: &[Effect]) -> bool {
        effects.iter().any(|e| matches!(e, Effect::Disconnect { .. }))
    }

    /// The id of the request a `Send` among `effects` carries.
    fn sent_request(effects: &[Effect]) -> u64 {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Send(Message::GetTxs { id, .. } | Message::GetBlocks { id, .. })
                | Effect::Send(Message::GetBlocksAfter { id, .. }) => Some(*id),
                _ => None,
            })
            .expect("a request was sent")
    }

    fn block_at(height: u64) -> Block {
        let mut b = NET.genesis_block().clone();
        b.header.height = height;
        b
    }

    #[test]
    fn offences_have_distinct_labels_and_the_grave_ones_ban() {
        let labels: std::collections::BTreeSet<_> = Offence::ALL.iter().map(|o| o.label()).collect();
        assert_eq!(labels.len(), Offence::ALL.len());
        for offence in Offence::ALL {
            let grave =
                matches!(offence, Offence::Violation | Offence::InvalidBlock | Offence::InvalidTransaction);
            assert_eq!(offence.score() >= BAN_SCORE, grave, "{offence:?}");
        }
    }

    #[test]
    fn handshakes() {
        let ok = hello(0, 0);
        let mut other_genesis = ok.clone();
        other_genesis.genesis = Network::Test.genesis_hash();
        let mut other_network = ok.clone();
        other_network.network = Network::Test;
        let mut old = ok.clone();
        old.version = MIN_PROTOCOL_VERSION - 1;
        let cases = [
            (ok.clone(), 1, Ok(())),
            (ok.clone(), 7, Err(HelloRefusal::Ourselves)),
            (old, 1, Err(HelloRefusal::TooOld(MIN_PROTOCOL_VERSION - 1))),
            (
                other_genesis,
                1,
                Err(HelloRefusal::OtherNetwork { network: NET, genesis: Network::Test.genesis_hash() }),
            ),
            (
                other_network,
                1,
                Err(HelloRefusal::OtherNetwork { network: Network::Test, genesis: NET.genesis_hash() }),
            ),
        ];
        for (i, (theirs, our_id, want)) in cases.into_iter().enumerate() {
            assert_eq!(check_hello(NET, &key(our_id), &theirs), want, "case {i}");
        }
        assert!(HelloRefusal::Ourselves.is_permanent());
        assert!(!HelloRefusal::TooOld(1).is_permanent());
    }

    #[test]
    fn a_session_leaves_syncing_to_the_download() {
        let t0 = Instant::now();
        let (_, ahead) = Session::start(Timing::default(), &hello(10, 9), t0);
        assert_eq!(ahead, vec![Effect::Send(Message::GetAddrs), Effect::Ask(Ask::Pending)]);
    }

    #[test]
    fn pending_transactions_are_announced_at_most_one_message_at_a_time() {
        let t0 = Instant::now();
        let mut s = session(t0);
        assert_eq!(s.handle(Input::Pending(vec![]), t0), vec![]);
        let many: Vec<Txid> = (0..MAX_ITEMS_PER_MESSAGE as u32 + 10).map(|i| Txid([i as u8; 32])).collect();
        let effects = s.handle(Input::Pending(many), t0);
        let Effect::Send(Message::InvTxs(sent)) = &effects[1] else { panic!("{effects:?}") };
        assert_eq!(sent.len(), MAX_ITEMS_PER_MESSAGE);
    }

    #[test]
    fn announced_transactions_are_fetched_and_answers_in_parts_are_expected() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let (a, b) = (Txid([1; 32]), Txid([2; 32]));
        assert_eq!(
            msg(&mut s, Message::InvTxs(vec![a, b]), t0),
            vec![Effect::Tell(Note::KnownTxs(vec![a, b])), Effect::Ask(Ask::MissingTxs(vec![a, b]))]
        );
        // Nothing missing: nothing asked, nothing left pending.
        assert_eq!(s.handle(Input::MissingTxs(vec![]), t0), vec![]);
        assert!(s.pending.is_empty());
        let asked = s.handle(Input::MissingTxs(vec![b]), t0);
        let id = sent_request(&asked);
        assert_eq!(asked, vec![Effect::Send(Message::GetTxs { id, txids: vec![b] })]);
        // An answer in two parts is one answer; a third part is not.
        assert_eq!(
            penalties(&msg(&mut s, Message::Txs { id, txs: vec![], more: true }, t0)),
            Vec::<u32>::new()
        );
        assert_eq!(
            penalties(&msg(&mut s, Message::Txs { id, txs: vec![], more: false }, t0)),
            Vec::<u32>::new()
        );
        assert_eq!(
            penalties(&msg(&mut s, Message::Txs { id, txs: vec![], more: false }, t0)),
            vec![UNREQUESTED_SCORE]
        );
    }

    #[test]
    fn unrequested_answers_are_charged() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let genesis = NET.genesis_block().clone();
        let cases = vec![
            Message::Txs { id: 99, txs: vec![], more: false },
            Message::Blocks { id: 99, blocks: vec![WireBlock(genesis.clone())], tip_height: 0 },
            Message::Headers { id: 1, headers: vec![], tip_height: 0 },
            Message::Filters { id: 1, filters: vec![] },
        ];
        for m in cases {
            let kind = m.kind();
            let effects = msg(&mut s, m, t0);
            assert_eq!(penalties(&effects), vec![UNREQUESTED_SCORE], "{kind}");
            assert!(!effects.iter().any(|e| matches!(e, Effect::Import { .. })), "{kind}: nothing imported");
        }
        // An answer of the wrong kind is not the answer.
        let asked = s.handle(Input::MissingTxs(vec![Txid([3; 32])]), t0);
        let id = sent_request(&asked);
        let effects =
            msg(&mut s, Message::Blocks { id, blocks: vec![WireBlock(genesis)], tip_height: 0 }, t0);
        assert_eq!(penalties(&effects), vec![UNREQUESTED_SCORE]);
    }

    #[test]
    fn unanswered_requests_are_bounded() {
        let t0 = Instant::now();
        let mut s = session(t0);
        for i in 0..MAX_PENDING_REQUESTS {
            assert_eq!(s.handle(Input::MissingTxs(vec![Txid([i as u8; 32])]), t0).len(), 1);
        }
        assert_eq!(s.handle(Input::MissingTxs(vec![Txid([255; 32])]), t0), vec![]);
        assert_eq!(s.pending.len(), MAX_PENDING_REQUESTS);
        assert_eq!(s.deferred_txs.len(), 1, "what has no slot waits for one");
    }

    #[test]
    fn timers_ping_drop_the_silent_and_the_stalling() {
        let t0 = Instant::now();
        let timing = Timing::default();
        let mut s = session(t0);
        assert_eq!(s.handle(Input::Tick, t0 + Duration::from_secs(1)), vec![]);
        let ping = s.handle(Input::Tick, t0 + timing.ping_interval);
        assert!(matches!(ping[..], [Effect::Send(Message::Ping(_))]), "{ping:?}");
        // Silent past the idle timeout.
        assert!(disconnects(&s.handle(Input::Tick, t0 + timing.idle_timeout + Duration::from_secs(1))));

        // Talking, but not answering a request.
        let mut s = session(t0);
        let id = sent_request(&s.handle(Input::MissingTxs(vec![Txid([1; 32])]), t0));
        let later = t0 + timing.request_timeout + Duration::from_secs(1);
        assert!(msg(&mut s, Message::Ping(1), later - Duration::from_secs(2)).len() == 1);
        let stalled = s.handle(Input::Tick, later);
        assert!(disconnects(&stalled) && penalties(&stalled).is_empty(), "{stalled:?}");
        // Answered in time: no stall.
        let mut s = session(t0);
        let id2 = sent_request(&s.handle(Input::MissingTxs(vec![Txid([1; 32])]), t0));
        assert_eq!(id, id2);
        msg(&mut s, Message::Txs { id, txs: vec![], more: false }, t0 + Duration::from_secs(5));
        msg(&mut s, Message::Pong(1), later - Duration::from_secs(2));
        assert!(!disconnects(&s.handle(Input::Tick, later)));
    }

    /// A header on `parent` at `height` (not mined: the node's verdict is given by the test).
    fn header_at(height: u64, parent: BlockHash) -> BlockHeader {
        BlockHeader { height, prev: parent, ..block_at(height).header }
    }

    fn checked(headers: &[BlockHeader], total: u64) -> CheckedHeaders {
        let tail =
            ferro_shared::consensus::HeaderTail::new(NET.params(), headers.to_vec(), work(total)).unwrap();
        CheckedHeaders { fork: headers[0].prev, new: headers.iter().map(|h| (h.hash(), *h)).collect(), tail }
    }

    #[test]
    fn answers_to_the_download_go_to_the_manager() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let id = SYNC_ID_BIT | 7;
        let h = header_at(1, NET.genesis_hash());
        let effects = msg(&mut s, Message::Headers { id, headers: vec![WireHeader(h)], tip_height: 12 }, t0);
        assert_eq!(
            effects,
            vec![
                Effect::Tell(Note::PeerHeight(12)),
                Effect::Tell(Note::SyncHeaders { id, headers: vec![h], tip_height: 12 })
            ]
        );
        let b = block_at(1);
        let effects =
            msg(&mut s, Message::Blocks { id, blocks: vec![WireBlock(b.clone())], tip_height: 12 }, t0);
        assert_eq!(effects, vec![Effect::Tell(Note::SyncBlocks { id, blocks: vec![b] })]);
        // Without the bit, an answer to nothing is charged.
        let effects =
            msg(&mut s, Message::Headers { id: 7, headers: vec![WireHeader(h)], tip_height: 12 }, t0);
        assert_eq!(penalties(&effects), vec![UNREQUESTED_SCORE]);
    }

    #[test]
    fn announced_headers_are_judged_before_any_block_is_fetched() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let h1 = header_at(11, BlockHash([1; 32]));
        let h2 = header_at(12, h1.hash());
        let announce = |s: &mut Session, headers: Vec<BlockHeader>| {
            let headers = headers.into_iter().map(WireHeader).collect();
            msg(s, Message::Headers { id: 0, headers, tip_height: 12 }, t0)
        };
        let effects = announce(&mut s, vec![h1, h2]);
        assert_eq!(effects.last(), Some(&Effect::Ask(Ask::JudgeHeaders(vec![h1, h2]))), "{effects:?}");

        // They connect and carry more work than ours: their blocks are asked for.
        let more = Input::HeadersJudged { result: Ok(checked(&[h1, h2], 10)), our_work: work(5) };
        let effects = s.handle(more, t0);
        let id = sent_request(&effects);
        assert_eq!(
            effects,
            vec![Effect::Send(Message::GetBlocks { id, hashes: vec![h1.hash(), h2.hash()] })]
        );
        // As much work as ours, or nothing new: nothing is fetched.
        let same = Input::HeadersJudged { result: Ok(checked(&[h1, h2], 5)), our_work: work(5) };
        assert_eq!(s.handle(same, t0), vec![]);
        // They do not connect: headers-first sync takes over.
        let unconnected = Err(HeadersRefused::Unconnected { parent: BlockHash([1; 32]) });
        let effects = s.handle(Input::HeadersJudged { result: unconnected, our_work: work(5) }, t0);
        assert_eq!(effects, vec![Effect::Tell(Note::Behind(12))]);
        // More headers than an announcement carries: the same.
        let many: Vec<BlockHeader> =
            (0..=MAX_ANNOUNCED_HEADERS as u64).map(|i| header_at(i + 1, h1.hash())).collect();
        let effects = announce(&mut s, many);
        assert_eq!(effects.last(), Some(&Effect::Tell(Note::Behind(12))));
        // Headers that break the rules ban; one from a clock ahead of ours does not.
        let bad = |error| {
            Err(HeadersRefused::Invalid(ferro_shared::consensus::HeaderError::Invalid { index: 0, error }))
        };
        let pow = Input::HeadersJudged {
            result: bad(BlockError::InsufficientProofOfWork(h1.hash())),
            our_work: work(5),
        };
        assert_eq!(penalties(&s.handle(pow, t0)), vec![BAN_SCORE]);
        let early = Input::HeadersJudged {
            result: bad(BlockError::TimeTooNew { time: 2, max: 1 }),
            our_work: work(5),
        };
        assert_eq!(s.handle(early, t0), vec![]);
        // Blocks announced by hash alone are not fetched: their headers are.
        let effects = s.handle(Input::MissingBlocks(vec![h1.hash()]), t0);
        assert_eq!(effects, vec![Effect::Tell(Note::Behind(12))]);
    }

    #[test]
    fn an_orphan_block_starts_a_sync_and_an_invalid_one_a_ban() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let hash = BlockHash([4; 32]);
        let tip = (BlockHash([1; 32]), 3);
        let orphan = Err(ChainError::UnknownParent { hash, parent: hash });
        let effects = s.handle(Input::Imported { kind: None, result: orphan, changed: false, tip }, t0);
        assert_eq!(effects, vec![Effect::Tell(Note::Behind(10))]);
        let invalid = Err(ChainError::Invalid { hash, error: BlockError::BadMerkleRoot });
        let effects = s.handle(Input::Imported { kind: None, result: invalid, changed: false, tip }, t0);
        assert_eq!(penalties(&effects), vec![BAN_SCORE]);
        assert!(disconnects(&effects));
        let early = Err(ChainError::Invalid { hash, error: BlockError::TimeTooNew { time: 2, max: 1 } });
        assert_eq!(s.handle(Input::Imported { kind: None, result: early, changed: false, tip }, t0), vec![]);
    }

    #[test]
    fn low_work_blocks_are_free_until_they_are_many() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let tip = (BlockHash([1; 32]), 3);
        let low = || Err(ChainError::LowWork { hash: BlockHash([4; 32]) });
        for i in 0..LOW_WORK_ALLOWANCE {
            let effects = s.handle(Input::Imported { kind: None, result: low(), changed: false, tip }, t0);
            assert!(penalties(&effects).is_empty(), "block {i}");
        }
        let effects = s.handle(Input::Imported { kind: None, result: low(), changed: false, tip }, t0);
        assert_eq!(penalties(&effects), vec![LOW_WORK_SCORE]);
        // A new window forgives.
        let later = t0 + LOW_WORK_WINDOW + Duration::from_secs(1);
        let effects = s.handle(Input::Imported { kind: None, result: low(), changed: false, tip }, later);
        assert!(penalties(&effects).is_empty());
    }

    #[test]
    fn floods_violations_and_second_hellos() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let mut charged = vec![];
        for _ in 0..FLOOD_PER_SECOND + 10 {
            charged.extend(penalties(&msg(&mut s, Message::Pong(1), t0)));
        }
        assert_eq!(charged, vec![FLOOD_SCORE], "charged once per second of flooding");
        let effects = s.handle(Input::Violation("an oversized message".into()), t0);
        assert_eq!(penalties(&effects), vec![BAN_SCORE]);
        assert!(disconnects(&effects));
        let effects = msg(&mut s, Message::Hello(hello(1, 1)), t0);
        assert_eq!(penalties(&effects), vec![BAN_SCORE]);
    }

    #[test]
    fn transactions_judged_invalid_ban_their_sender_and_races_do_not() {
        use ferro_shared::tx::OutPoint;
        let t0 = Instant::now();
        let mut s = session(t0);
        let outpoint = OutPoint { txid: Txid([1; 32]), vout: 0 };
        let txid = Txid([2; 32]);
        assert_eq!(s.handle(Input::TxJudged(txid, Ok(())), t0), vec![]);
        let race = || Err(MempoolError::Invalid(TxError::UnknownInput(outpoint)));
        assert_eq!(s.handle(Input::TxJudged(txid, race()), t0), vec![]);
        // Spent a coin we did not know: asked for again when our tip moves, a bounded number
        // of times.
        for _ in 0..ORPHAN_TRIES {
            assert_eq!(s.handle(Input::TipMoved, t0), vec![Effect::Ask(Ask::MissingTxs(vec![txid]))]);
            assert_eq!(s.handle(Input::TxJudged(txid, race()), t0), vec![]);
        }
        assert_eq!(s.handle(Input::TipMoved, t0), vec![], "tried enough");
        let bad = Err(MempoolError::Invalid(TxError::DuplicateInput(outpoint)));
        let effects = s.handle(Input::TxJudged(txid, bad), t0);
        assert_eq!(penalties(&effects), vec![BAN_SCORE]);
        assert!(disconnects(&effects));
    }

    /// A peer asked for one transaction cannot push others under that request: strays are
    /// charged and dropped, and the request closes once what was asked for has come.
    #[test]
    fn an_answer_in_parts_carries_only_what_was_asked_for() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let wanted = Transaction::coinbase(
            1,
            vec![ferro_shared::TxOut {
                recipient: Default::default(),
                amount: ferro_shared::Amount::from_units(1),
            }],
        );
        let junk = Transaction::coinbase(2, wanted.outputs.clone());
        let id = sent_request(&s.handle(Input::MissingTxs(vec![wanted.txid()]), t0));
        let effects =
            msg(&mut s, Message::Txs { id, txs: vec![WireTx(junk.clone()); 1_000], more: true }, t0);
        assert_eq!(penalties(&effects), vec![UNREQUESTED_SCORE]);
        assert!(!effects.iter().any(|e| matches!(e, Effect::SubmitTx(_))));
        let effects = msg(&mut s, Message::Txs { id, txs: vec![WireTx(wanted.clone())], more: true }, t0);
        assert_eq!(effects, vec![Effect::SubmitTx(wanted.clone())]);
        // Everything asked for arrived: the request is closed, more parts are unrequested.
        let effects = msg(&mut s, Message::Txs { id, txs: vec![WireTx(wanted)], more: false }, t0);
        assert_eq!(penalties(&effects), vec![UNREQUESTED_SCORE]);
    }

    /// A peer answering in parts is answering: each part restarts the stall clock.
    #[test]
    fn a_peer_answering_in_parts_is_not_a_staller() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let id = sent_request(&s.handle(Input::MissingTxs(vec![Txid([1; 32]), Txid([2; 32])]), t0));
        for second in 1..=70 {
            let now = t0 + Duration::from_secs(second);
            msg(&mut s, Message::Txs { id, txs: vec![], more: true }, now);
            let effects = s.handle(Input::Tick, now);
            assert!(!disconnects(&effects), "cut off at {second} s while answering: {effects:?}");
        }
    }

    /// Announcements beyond the request slots wait for a slot instead of being dropped.
    #[test]
    fn announcements_beyond_the_request_slots_wait_their_turn() {
        let t0 = Instant::now();
        let mut s = session(t0);
        let mut ids = vec![];
        for i in 0..MAX_PENDING_REQUESTS as u32 + 10 {
            let effects = s.handle(Input::MissingTxs(vec![Txid([(i % 250) as u8; 32])]), t0);
            if !effects.is_empty() {
                ids.push(sent_request(&effects));
            }
        }
        assert_eq!(ids.len(), MAX_PENDING_REQUESTS);
        assert_eq!(s.deferred_txs.len(), 10);
        // One answered: the ten waiting go out in one request.
        let effects = msg(&mut s, Message::Txs { id: ids[0], txs: vec![], more: false }, t0);
        let Effect::Send(Message::GetTxs { txids, .. }) = &effects[0] else { panic!("{effects:?}") };
        assert_eq!(txids.len(), 10);
    }

    /// A peer that sends fresh transactions on coins we do not know before each move of our
    /// tip: what is kept to ask for them again stays bounded.
    #[test]
    fn orphan_retry_lists_stay_bounded() {
        use ferro_shared::tx::OutPoint;
        let t0 = Instant::now();
        let mut s = session(t0);
        let outpoint = OutPoint { txid: Txid([1; 32]), vout: 0 };
        let unknown = || Err(MempoolError::Invalid(TxError::UnknownInput(outpoint)));
        for round in 0..20u32 {
            for i in 0..MAX_ORPHANS as u32 {
                let mut id = [0u8; 32];
                id[..4].copy_from_slice(&round.to_be_bytes());
                id[4..8].copy_from_slice(&i.to_be_bytes());
                s.handle(Input::TxJudged(Txid(id), unknown()), t0);
            }
            s.handle(Input::TipMoved, t0);
        }
        assert!(s.orphans.len() <= MAX_ORPHANS);
        assert!(
            s.retried.len() <= MAX_ORPHANS * ORPHAN_TRIES,
            "{} txids kept as retried, more than {}",
            s.retried.len(),
            MAX_ORPHANS * ORPHAN_TRIES
        );
    }
}
