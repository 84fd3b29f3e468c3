//! One peer connection's task: the handshake, then a reader that turns frames into inputs of
//! the connection's [`Session`] (the protocol logic, in `session.rs`) and carries out the effects
//! it returns, and a writer that drains a bounded outbound queue. Whichever of the two ends first
//! ends the other.

use super::budget::{Budget, LOOKUP_BYTES};
use super::link::{BlockOutcome, Origin, Stopped, SubmitBlockError, SubmitTxError, MAX_SIDE_BYTES};
use super::outbound::{self, Outbound, Queue, OUTBOUND_BYTES};
use super::session::{check_hello, Ask, Effect, Ending, HelloRefusal, Input, Note, Serve, Session, Timing};
use super::wire::{Frame, FrameSink, FrameStream};
use super::{Command, Context, PeerInfo, Refusal, SyncNote};
use bytes::Bytes;
use ferro_shared::api::Direction;
use ferro_shared::hash::Txid;
use ferro_shared::p2p::{
    auth_digest, BlocksFrame, Message, WireFilter, WireHeader, WireTx, FILTER_ANSWER_BYTES,
    MAX_BLOCKS_PER_MESSAGE, MAX_FILTERS_PER_MESSAGE, MAX_HEADERS_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE,
    MAX_MESSAGE_BYTES,
};
use ferro_shared::Transaction;
use futures_util::{SinkExt, StreamExt};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio::time::Instant;

/// How long a message may wait for room in a peer's full outbound queue before the peer is cut
/// off as one that does not read.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a session's timers are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Pending transactions looked up at once to answer a request: at most 25 × 100 kB (the
/// standard size limit) in memory per look-up.
const TXS_PER_LOOKUP: usize = 25;
/// Bytes of blocks put in one answer, below the message limit.
const ANSWER_BYTES: usize = MAX_MESSAGE_BYTES * 3 / 4;
// A sync batch that reorganizes is stored off the active chain until its last block connects:
// it must fit, with room to spare, in what a node keeps there.
const _: () = assert!(ANSWER_BYTES as u64 * 8 <= MAX_SIDE_BYTES);

/// Where a dialer hears whether the handshake worked.
pub(crate) type DialReport = oneshot::Sender<Result<(), String>>;

/// Runs a connection to the end. `dial` is the URL we dialed (outbound) and, when given, the
/// place to report whether the handshake worked.
pub(crate) async fn run(
    ctx: Context,
    sink: FrameSink,
    stream: FrameStream,
    direction: Direction,
    remote: SocketAddr,
    dial: Option<(String, Option<DialReport>)>,
    handshake_slot: Option<OwnedSemaphorePermit>,
) {
    let (url, mut report) = match dial {
        Some((url, report)) => (Some(url), report),
        None => (None, None),
    };
    let side = Side { direction, remote, dial_url: url.clone(), handshake_slot };
    let result = connect(ctx.clone(), sink, stream, side, &mut report).await;
    if let Err(failure) = result {
        let reason = failure.to_string();
        tracing::debug!(%remote, %reason, "peer connection ended before it was established");
        if let Some(report) = report.take() {
            let _ = report.send(Err(reason));
        }
        if let Some(url) = url {
            // Another network or ourselves will not change; anything else may.
            let permanent = matches!(&failure, SetupError::Refused(r) if r.is_permanent());
            let _ = ctx.commands.send(Command::DialFailed { url, permanent }).await;
        }
    }
}

/// Why a connection ended before it was established.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("refused: {0}")]
    Refused(HelloRefusal),
    #[error("{0}")]
    Other(String),
}

impl From<String> for SetupError {
    fn from(reason: String) -> Self {
        SetupError::Other(reason)
    }
}

/// Which side of a connection this node is, and what it knows of it before the handshake.
struct Side {
    direction: Direction,
    remote: SocketAddr,
    /// The URL we dialed, outbound.
    dial_url: Option<String>,
    /// An inbound caller's handshake slot, given back once the handshake is over.
    handshake_slot: Option<OwnedSemaphorePermit>,
}

async fn connect(
    ctx: Context,
    mut sink: FrameSink,
    mut stream: FrameStream,
    side: Side,
    report: &mut Option<DialReport>,
) -> Result<(), SetupError> {
    let Side { direction, remote, dial_url, handshake_slot } = side;
    // Both sides speak first: send our hello (with a fresh challenge), then expect theirs.
    let deadline = Instant::now() + ctx.config.handshake_timeout;
    let nonce = ctx.link.random_bytes();
    let our_key = ctx.node_key.public_key();
    sink.send(Bytes::from(Message::Hello(ctx.hello(nonce)).to_frame()))
        .await
        .map_err(|e| format!("send failed: {e}"))?;
    let theirs = match next_message(&ctx, &mut stream, deadline).await? {
        Message::Hello(h) => h,
        other => return Err(format!("first message was {}, not hello", other.kind()).into()),
    };
    let network = ctx.link.network();
    if let Err(refusal) = check_hello(network, &our_key, &theirs) {
        if let HelloRefusal::OtherNetwork { .. } = refusal {
            tracing::warn!(%remote, %refusal, "refused a peer of another network (ours is {network})");
        }
        return Err(SetupError::Refused(refusal));
    }
    // Each side proves it holds its node key by signing the other's challenge. The dialer goes
    // first; the accepting side answers only once the dialer's proof checks, so nobody can
    // obtain a node's signature to pass off as its own on another connection.
    let genesis = network.genesis_hash();
    let ours = Message::Auth(ctx.node_key.sign_digest(&auth_digest(
        &genesis,
        &theirs.nonce,
        &our_key,
        &theirs.node_key,
    )));
    if direction == Direction::Outbound {
        sink.send(Bytes::from(ours.to_frame())).await.map_err(|e| format!("send failed: {e}"))?;
    }
    let proof = match next_message(&ctx, &mut stream, deadline).await? {
        Message::Auth(signature) => signature,
        other => return Err(format!("second message was {}, not auth", other.kind()).into()),
    };
    let expected = auth_digest(&genesis, &nonce, &theirs.node_key, &our_key);
    if theirs.node_key.verify_digest(&expected, &proof).is_err() {
        return Err(SetupError::Refused(HelloRefusal::BadAuth));
    }
    let (out_tx, out_rx) = outbound::queue(OUTBOUND_BYTES);
    let info = PeerInfo {
        node_id: theirs.node_id(),
        direction,
        remote,
        listen_url: theirs.listen_url.clone().or(dial_url),
        best_height: theirs.height,
        work: theirs.work,
        connected_at: Instant::now(),
    };
    let (reply_tx, reply_rx) = oneshot::channel();
    let (close_tx, close_rx) = oneshot::channel();
    ctx.commands
        .send(Command::Register { info, sender: out_tx.clone(), close: close_tx, reply: reply_tx })
        .await
        .map_err(|_| "peer set stopped".to_string())?;
    let id = match reply_rx.await {
        Ok(Ok(id)) => id,
        Ok(Err(refusal)) => return Err(format!("refused: {refusal}").into()),
        Err(_) => return Err("peer set stopped".to_string().into()),
    };
    // The accepting side proves itself only once it has taken the connection: a dialer it
    // refuses (banned, no room) never gets a proof, so its connect fails rather than seem to
    // work.
    if direction == Direction::Inbound {
        if let Err(e) = sink.send(Bytes::from(ours.to_frame())).await {
            let _ = ctx.commands.send(Command::Closed { peer: id }).await;
            return Err(format!("send failed: {e}").into());
        }
    }
    // The handshake is over: its slot is free for the next caller.
    drop(handshake_slot);
    if let Some(report) = report.take() {
        let _ = report.send(Ok(()));
    }
    tracing::info!(peer = id, %remote, ?direction, height = theirs.height, "peer connected");

    let writer = tokio::spawn(write_loop(sink, out_rx));
    let timing = Timing {
        ping_interval: ctx.config.ping_interval,
        idle_timeout: ctx.config.idle_timeout,
        ..Timing::default()
    };
    let (session, first) = Session::start(timing, &theirs, Instant::now());
    let last_tip = ctx.link.tip().hash;
    let budget = Budget::new(Instant::now());
    let mut peer = Peer { ctx: ctx.clone(), id, out: out_tx, session, overflowed: false, last_tip, budget };
    let (ending, reason) = peer.read_loop(stream, first, close_rx).await;
    writer.abort();
    ctx.link.metrics().disconnect(ending.label());
    tracing::info!(peer = id, %remote, %reason, "peer disconnected");
    let _ = ctx.commands.send(Command::Closed { peer: id }).await;
    Ok(())
}

/// The next handshake message, before `deadline`.
async fn next_message(
    ctx: &Context,
    stream: &mut FrameStream,
    deadline: Instant,
) -> Result<Message, SetupError> {
    match tokio::time::timeout_at(deadline, stream.next()).await {
        Err(_) => Err(SetupError::Other("handshake not finished in time".into())),
        Ok(None) => Err(SetupError::Other("closed during handshake".into())),
        Ok(Some(Frame::Data(bytes))) => {
            ctx.link.metrics().p2p_bytes_received.inc_by(bytes.len() as u64);
            Message::from_frame(&bytes)
                .map_err(|e| SetupError::Other(format!("undecodable handshake message: {e}")))
        }
        Ok(Some(other)) => Err(format!("bad handshake frame: {other:?}").into()),
    }
}

async fn write_loop(mut sink: FrameSink, mut queue: Queue) {
    while let Some((frame, permit)) = queue.next().await {
        if sink.send(frame).await.is_err() {
            break;
        }
        // The frame is in the socket's hands: its bytes no longer count against the peer.
        drop(permit);
    }
    let _ = sink.close().await;
}

/// The task side of a connection: it owns the socket's outbound queue and carries out what the
/// [`Session`] decides.
struct Peer {
    ctx: Context,
    id: u64,
    out: Outbound,
    session: Session,
    /// A message could not be queued in time: the peer does not read.
    overflowed: bool,
    /// Our tip when the session was last told it moved.
    last_tip: ferro_shared::hash::BlockHash,
    /// What it may make this node do per second.
    budget: Budget,
}

/// How a connection ends, once an effect says so.
type Ended = (Ending, String);

impl Peer {
    async fn read_loop(
        &mut self,
        mut stream: FrameStream,
        first: Vec<Effect>,
        mut close: oneshot::Receiver<()>,
    ) -> Ended {
        if let Err(reason) = self.run_effects(first).await {
            return reason;
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // In a fixed order, so that one seed replays one run; a flood of frames cannot hold
            // off the close signal or the timers, which come first.
            let input = tokio::select! {
                biased;
                _ = &mut close => return (Ending::ByNode, "disconnected by this node".into()),
                _ = tick.tick() => {
                    let tip = self.ctx.link.tip().hash;
                    if tip != self.last_tip {
                        self.last_tip = tip;
                        let effects = self.session.handle(Input::TipMoved, Instant::now());
                        if let Err(reason) = self.run_effects(effects).await {
                            return reason;
                        }
                    }
                    Input::Tick
                }
                frame = stream.next() => match frame {
                    None => return (Ending::ClosedByPeer, "connection closed".into()),
                    Some(Frame::Data(bytes)) => {
                        self.ctx.link.metrics().p2p_bytes_received.inc_by(bytes.len() as u64);
                        match Message::from_frame(&bytes) {
                            Ok(message) => Input::Message(message),
                            Err(e) => Input::Violation(format!("invalid message: {e}")),
                        }
                    }
                    Some(Frame::Skip) => continue,
                    Some(Frame::Close) => return (Ending::ClosedByPeer, "closed by peer".into()),
                    Some(Frame::Text) => Input::Violation("a text frame".into()),
                    Some(Frame::Oversized) => Input::Violation("an oversized message".into()),
                    Some(Frame::Broken(e)) => return (Ending::Failed, format!("connection failed: {e}")),
                },
            };
            let effects = self.session.handle(input, Instant::now());
            if let Err(reason) = self.run_effects(effects).await {
                return reason;
            }
        }
    }

    /// Carries out effects in order; an answer the node gives goes back into the session at
    /// once, and what it decides runs before the rest.
    async fn run_effects(&mut self, effects: Vec<Effect>) -> Result<(), Ended> {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            if let Some(input) = self.run(effect).await? {
                for effect in self.session.handle(input, Instant::now()).into_iter().rev() {
                    queue.push_front(effect);
                }
            }
            if self.overflowed {
                return Err((Ending::Slow, "does not read what it asks for: outbound queue full".into()));
            }
        }
        Ok(())
    }

    /// Carries out one effect; returns the node's answer when the effect asked a question.
    async fn run(&mut self, effect: Effect) -> Result<Option<Input>, Ended> {
        let link = &self.ctx.link;
        Ok(match effect {
            Effect::Send(message) => {
                self.send(&message).await;
                None
            }
            Effect::Serve(request) => {
                self.serve(request).await?;
                None
            }
            Effect::Ask(Ask::MissingTxs(txids)) => {
                self.charge_lookups(txids.len()).await;
                let link = &self.ctx.link;
                Some(Input::MissingTxs(link.missing_txs(txids).await.map_err(stopping)?))
            }
            Effect::Ask(Ask::MissingBlocks(hashes)) => {
                self.charge_lookups(hashes.len()).await;
                let link = &self.ctx.link;
                Some(Input::MissingBlocks(link.missing_blocks(hashes).await.map_err(stopping)?))
            }
            Effect::Ask(Ask::JudgeHeaders(headers)) => {
                // Headers the node already has cost a look-up under the chain lock each, too.
                self.charge_lookups(headers.len()).await;
                let link = &self.ctx.link;
                let result = link.check_headers(headers).await.map_err(stopping)?;
                Some(Input::HeadersJudged { result, our_work: link.tip().work })
            }
            Effect::Ask(Ask::Pending) => {
                Some(Input::Pending(link.pending_txids(MAX_ITEMS_PER_MESSAGE).await.map_err(stopping)?))
            }
            Effect::Import { blocks, kind } => {
                let origin = Origin::Peer(self.id);
                let (result, changed) = if blocks.len() == 1 && kind.is_none() {
                    let block = blocks.into_iter().next().expect("one block");
                    match link.submit_block(block, origin).await {
                        Ok(outcome) => (
                            Ok(()),
                            matches!(outcome, BlockOutcome::NewTip { .. } | BlockOutcome::SideChain { .. }),
                        ),
                        Err(e) => (Err(e), false),
                    }
                } else {
                    let result = link.submit_blocks(blocks, origin, ferro_shared::pow::Work::ZERO).await;
                    let changed = result.is_ok();
                    (result, changed)
                };
                let result = match result {
                    Ok(()) => Ok(()),
                    Err(SubmitBlockError::Rejected(e)) => Err(e),
                    // The node's own machinery failed: nothing was judged.
                    Err(SubmitBlockError::Node(e)) => {
                        tracing::error!(error = %e, "could not process a peer's block");
                        return Ok(None);
                    }
                };
                if let Err(e) = &result {
                    tracing::debug!(peer = self.id, error = %e, "block not accepted");
                }
                let tip = link.tip();
                Some(Input::Imported { kind, result, changed, tip: (tip.hash, tip.height) })
            }
            Effect::SubmitTx(tx) => {
                let txid = tx.txid();
                match link.submit_transaction(tx, Origin::Peer(self.id)).await {
                    Ok(_) => Some(Input::TxJudged(txid, Ok(()))),
                    Err(SubmitTxError::Rejected(e)) => Some(Input::TxJudged(txid, Err(e))),
                    Err(SubmitTxError::Node(e)) => {
                        tracing::error!(error = %e, "could not process a peer's transaction");
                        None
                    }
                }
            }
            Effect::Tell(note) => {
                let command = match note {
                    Note::KnownTxs(txids) => Command::KnownTxs { peer: self.id, txids },
                    Note::KnownBlocks { hashes, tip_height } => {
                        Command::KnownBlocks { peer: self.id, hashes, tip_height }
                    }
                    Note::PeerHeight(height) => Command::PeerHeight { peer: self.id, height },
                    Note::Addrs(urls) => Command::AddAddrs { peer: self.id, urls },
                    Note::Behind(height) => Command::Sync { peer: self.id, note: SyncNote::Behind(height) },
                    Note::SyncHeaders { id, headers, tip_height } => {
                        Command::Sync { peer: self.id, note: SyncNote::Headers { id, headers, tip_height } }
                    }
                    Note::SyncBlocks { id, blocks } => {
                        Command::Sync { peer: self.id, note: SyncNote::Blocks { id, blocks } }
                    }
                };
                let _ = self.ctx.commands.send(command).await;
                None
            }
            Effect::Penalize { offence, reason } => {
                let _ = self.ctx.commands.send(Command::Misbehaved { peer: self.id, offence, reason }).await;
                None
            }
            Effect::Disconnect { ending, reason } => return Err((ending, reason)),
        })
    }

    /// Queues a message. While the peer's queue is full this waits, so a peer that does not
    /// read what it asks for is not served more; one that still has not made room after
    /// [`SEND_TIMEOUT`] is cut off.
    async fn send(&mut self, message: &Message) {
        self.send_bytes(Bytes::from(message.to_frame())).await;
    }

    async fn send_bytes(&mut self, frame: Bytes) {
        if self.overflowed {
            return;
        }
        self.charge(frame.len()).await;
        if self.out.send(frame, SEND_TIMEOUT).await.is_err() {
            self.overflowed = true;
        }
    }

    /// Charges the peer for `bytes` of work; one over its budget waits (and is not read from)
    /// until it is within it again.
    async fn charge(&mut self, bytes: usize) {
        let wait = self.budget.charge(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Charges the peer for `items` look-ups its message makes the node do, before they are done.
    async fn charge_lookups(&mut self, items: usize) {
        self.charge(items.saturating_mul(LOOKUP_BYTES)).await;
    }

    /// Answers a request of the peer's from the node's data, within the answer limits and the
    /// peer's budget: each look-up is charged before it is done, each answer as it is sent.
    async fn serve(&mut self, request: Serve) -> Result<(), Ended> {
        let link = self.ctx.link.clone();
        match request {
            Serve::Txs { id, txids } => {
                // Looked up a few at a time and sent part by part, so an answer holds at most one
                // part and one look-up besides what waits in the peer's queue, however many
                // transactions it names and however large the pool.
                let mut seen = HashSet::with_capacity(txids.len());
                let unique: Vec<Txid> = txids.into_iter().filter(|t| seen.insert(*t)).collect();
                let mut parts = Parts::new(ANSWER_BYTES);
                for chunk in unique.chunks(TXS_PER_LOOKUP) {
                    self.charge_lookups(chunk.len()).await;
                    for tx in link.pending_txs(chunk.to_vec()).await.map_err(stopping)? {
                        if let Some(full) = parts.push(tx) {
                            let txs = full.into_iter().map(WireTx).collect();
                            self.send(&Message::Txs { id, txs, more: true }).await;
                        }
                    }
                }
                let txs = parts.finish().into_iter().map(WireTx).collect();
                self.send(&Message::Txs { id, txs, more: false }).await;
            }
            Serve::Blocks { id, hashes } => {
                self.charge_lookups(hashes.len().min(MAX_BLOCKS_PER_MESSAGE)).await;
                let blocks =
                    link.block_bytes(hashes, MAX_BLOCKS_PER_MESSAGE, ANSWER_BYTES).await.map_err(stopping)?;
                self.send_blocks(id, &blocks).await;
            }
            Serve::BlocksAfter { id, locator, limit } => {
                let limit = (limit as usize).min(MAX_BLOCKS_PER_MESSAGE);
                self.charge_lookups(locator.len()).await;
                let hashes = link.hashes_after(locator, limit).await.map_err(stopping)?;
                let blocks =
                    link.block_bytes(hashes, MAX_BLOCKS_PER_MESSAGE, ANSWER_BYTES).await.map_err(stopping)?;
                self.send_blocks(id, &blocks).await;
            }
            Serve::Headers { id, locator, limit } => {
                let limit = (limit as usize).min(MAX_HEADERS_PER_MESSAGE);
                self.charge_lookups(locator.len()).await;
                let (headers, tip_height) = link.headers_after(locator, limit).await.map_err(stopping)?;
                let headers = headers.into_iter().map(WireHeader).collect();
                self.send(&Message::Headers { id, headers, tip_height }).await;
            }
            Serve::Filters { id, from, limit } => {
                let limit = (limit as usize).clamp(1, MAX_FILTERS_PER_MESSAGE);
                let found = link.filters(from, limit, FILTER_ANSWER_BYTES).await.map_err(stopping)?;
                // Building them read their blocks: that is what they cost.
                self.charge(found.iter().map(|f| f.block_size).sum()).await;
                let filters = found.into_iter().map(|f| (f.hash, WireFilter(f.filter))).collect();
                self.send(&Message::Filters { id, filters }).await;
            }
            Serve::Addrs => {
                let (reply, answer) = oneshot::channel();
                let _ = self.ctx.commands.send(Command::GetAddrs { peer: self.id, reply }).await;
                if let Ok(urls) = answer.await {
                    self.send(&Message::Addrs(urls)).await;
                }
            }
        }
        Ok(())
    }

    /// Sends stored blocks as they are stored: their canonical bytes are what goes on the wire.
    async fn send_blocks(&mut self, id: u64, blocks: &[Vec<u8>]) {
        let tip_height = self.ctx.link.tip().height;
        self.send_bytes(Bytes::from(BlocksFrame { id, blocks, tip_height }.to_frame())).await;
    }
}

/// Groups transactions into answer parts of at most `max_bytes` of transactions each (a larger
/// one goes alone).
struct Parts {
    max_bytes: usize,
    current: Vec<Transaction>,
    bytes: usize,
}

impl Parts {
    fn new(max_bytes: usize) -> Self {
        Parts { max_bytes, current: vec![], bytes: 0 }
    }

    /// Adds a transaction; returns a full part to send (another will follow) when it does not
    /// fit in the current one.
    fn push(&mut self, tx: Transaction) -> Option<Vec<Transaction>> {
        let size = tx.size();
        if !self.current.is_empty() && self.bytes + size > self.max_bytes {
            self.bytes = size;
            return Some(std::mem::replace(&mut self.current, vec![tx]));
        }
        self.current.push(tx);
        self.bytes += size;
        None
    }

    /// The last part (possibly empty: an answer that found nothing still says so).
    fn finish(self) -> Vec<Transaction> {
        self.current
    }
}

/// All parts of an answer, each with whether another follows.
#[cfg(test)]
fn answer_parts(txs: Vec<Transaction>, max_bytes: usize) -> Vec<(Vec<Transaction>, bool)> {
    let mut parts = Parts::new(max_bytes);
    let mut out = vec![];
    for tx in txs {
        out.extend(parts.push(tx).map(|full| (full, true)));
    }
    out.push((parts.finish(), false));
    out
}

/// A connection ends when the node stops.
fn stopping(_: Stopped) -> Ended {
    (Ending::Stopping, "the node is stopping".into())
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Duplicate => f.write_str("already connected to that node"),
            Refusal::Banned => f.write_str("banned"),
            Refusal::Full => f.write_str("no room for more peers"),
            Refusal::Stopping => f.write_str("shutting down"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::{Amount, TxOut};

    /// A transaction of `outputs` outputs (40 bytes each, 21 bytes besides).
    fn tx(outputs: usize, salt: u64) -> Transaction {
        let out = TxOut { recipient: Default::default(), amount: Amount::from_units(1) };
        Transaction::coinbase(salt, vec![out; outputs])
    }

    #[test]
    fn answers_split_into_parts_that_fit() {
        let sizes = |parts: &[(Vec<Transaction>, bool)]| -> Vec<(Vec<usize>, bool)> {
            parts.iter().map(|(p, more)| (p.iter().map(Transaction::size).collect(), *more)).collect()
        };
        let (a, b, c) = (tx(1, 1), tx(2, 2), tx(10, 3));
        assert_eq!((a.size(), b.size(), c.size()), (61, 101, 421));
        // Nothing found: one empty, final part.
        assert_eq!(sizes(&answer_parts(vec![], 100)), vec![(vec![], false)]);
        // All fit.
        assert_eq!(sizes(&answer_parts(vec![a.clone(), b.clone()], 1000)), vec![(vec![61, 101], false)]);
        // Split where the next would pass the limit; one larger than the limit goes alone.
        assert_eq!(
            sizes(&answer_parts(vec![a.clone(), b.clone(), c.clone(), a.clone()], 170)),
            vec![(vec![61, 101], true), (vec![421], true), (vec![61], false)]
        );
    }

    #[test]
    fn every_part_of_a_full_answer_fits_a_message() {
        // 5,000 transactions of 100 kB each (the most one request can name, each at the
        // standard size limit): 500 MB of answer, every part under the message limit.
        let big = tx(2_500, 0);
        let parts = answer_parts(vec![big; 50], ANSWER_BYTES);
        assert!(parts.len() > 1);
        for (part, _) in &parts {
            let frame = Message::Txs { id: 1, txs: part.iter().cloned().map(WireTx).collect(), more: true }
                .to_frame();
            assert!(frame.len() <= MAX_MESSAGE_BYTES, "{} bytes", frame.len());
        }
        assert_eq!(parts.iter().filter(|(_, more)| !more).count(), 1);
    }
}
