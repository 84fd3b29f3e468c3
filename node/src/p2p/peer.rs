//! One peer connection: the handshake, then a reader that handles the peer's messages (validating
//! what it sends through the node) and a writer that drains a bounded outbound queue. Whichever
//! of the two ends first ends the other.

use super::link::{
    BlockOutcome, ChainError, Origin, Stopped, SubmitBlockError, SubmitTxError, MAX_SIDE_BYTES,
};
use super::wire::{Frame, FrameSink, FrameStream};
use super::{Command, Context, PeerInfo, Refusal};
use bytes::Bytes;
use ferro_shared::api::Direction;
use ferro_shared::hash::{BlockHash, Txid};
use ferro_shared::p2p::{
    BlocksFrame, Hello, Message, WireBlock, WireFilter, WireHeader, WireTx, FILTER_ANSWER_BYTES,
    MAX_BLOCKS_PER_MESSAGE, MAX_FILTERS_PER_MESSAGE, MAX_HEADERS_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE,
    MAX_MESSAGE_BYTES, MIN_PROTOCOL_VERSION,
};
use ferro_shared::{Block, Transaction};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Misbehaviour that gets a peer disconnected and banned at once.
pub const BAN_SCORE: u32 = 100;
/// Outbound messages queued for one peer before it counts as too slow and is dropped.
pub const OUTBOUND_QUEUE: usize = 1024;
/// How long a message may wait for room in a peer's full outbound queue before the peer is cut
/// off as one that does not read.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Blocks asked for per sync round trip.
pub const SYNC_BATCH: u32 = 250;
/// Bytes of blocks put in one answer, below the message limit.
const ANSWER_BYTES: usize = MAX_MESSAGE_BYTES * 3 / 4;
// A sync batch that reorganizes is stored off the active chain until its last block connects:
// it must fit, with room to spare, in what a node keeps there.
const _: () = assert!(ANSWER_BYTES as u64 * 8 <= MAX_SIDE_BYTES);
/// Messages per second above which a peer is flooding.
const FLOOD_PER_SECOND: u32 = 5_000;
/// Blocks on branches with less work than the tip a peer may send per window for free: an
/// honest peer sends one now and then, when a competing tip loses the race on its way here.
const LOW_WORK_ALLOWANCE: u32 = 16;
const LOW_WORK_WINDOW: Duration = Duration::from_secs(600);
/// Charged for each one beyond the allowance: nothing is stored, but each costs validation.
const LOW_WORK_SCORE: u32 = 10;

/// Where a dialer hears whether the handshake worked.
pub(crate) type DialReport = oneshot::Sender<Result<(), String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Txs,
    Blocks,
    Sync,
}

/// Runs a connection to the end. `dial` is the URL we dialed (outbound) and, when given, the
/// place to report whether the handshake worked.
pub(crate) async fn run(
    ctx: Context,
    sink: FrameSink,
    stream: FrameStream,
    direction: Direction,
    remote: SocketAddr,
    dial: Option<(String, Option<DialReport>)>,
) {
    let (url, mut report) = match dial {
        Some((url, report)) => (Some(url), report),
        None => (None, None),
    };
    let result = connect(ctx.clone(), sink, stream, direction, remote, url.clone(), &mut report).await;
    if let Err(reason) = result {
        tracing::debug!(%remote, %reason, "peer connection ended before it was established");
        if let Some(report) = report.take() {
            let _ = report.send(Err(reason.clone()));
        }
        if let Some(url) = url {
            // Another network or ourselves will not change; anything else may.
            let permanent = reason.starts_with("refused: peer is on network")
                || reason.starts_with("refused: connected to ourselves");
            let _ = ctx.commands.send(Command::DialFailed { url, permanent }).await;
        }
    }
}

async fn connect(
    ctx: Context,
    mut sink: FrameSink,
    mut stream: FrameStream,
    direction: Direction,
    remote: SocketAddr,
    dial_url: Option<String>,
    report: &mut Option<DialReport>,
) -> Result<(), String> {
    // Both sides speak first: send our hello, then expect theirs before anything else.
    let ours = ctx.hello();
    sink.send(Bytes::from(Message::Hello(ours).to_frame())).await.map_err(|e| format!("send failed: {e}"))?;
    let theirs = match tokio::time::timeout(ctx.config.handshake_timeout, stream.next()).await {
        Err(_) => return Err("no hello in time".into()),
        Ok(None) => return Err("closed during handshake".into()),
        Ok(Some(Frame::Data(bytes))) => {
            ctx.link.metrics().p2p_bytes_received.inc_by(bytes.len() as u64);
            match Message::from_frame(&bytes) {
                Ok(Message::Hello(h)) => h,
                Ok(other) => return Err(format!("first message was {}, not hello", other.kind())),
                Err(e) => return Err(format!("undecodable hello: {e}")),
            }
        }
        Ok(Some(other)) => return Err(format!("bad first frame: {other:?}")),
    };
    check_hello(&ctx, &theirs, remote)?;

    let (out_tx, out_rx) = mpsc::channel::<Bytes>(OUTBOUND_QUEUE);
    let info = PeerInfo {
        node_id: theirs.node_id,
        direction,
        remote,
        listen_url: theirs.listen_url.clone().or(dial_url),
        best_height: theirs.height,
        connected_at: Instant::now(),
    };
    let (reply_tx, reply_rx) = oneshot::channel();
    let (close_tx, close_rx) = oneshot::channel();
    ctx.commands
        .send(Command::Register {
            info: info.clone(),
            sender: out_tx.clone(),
            close: close_tx,
            reply: reply_tx,
        })
        .await
        .map_err(|_| "peer set stopped".to_string())?;
    let id = match reply_rx.await {
        Ok(Ok(id)) => id,
        Ok(Err(refusal)) => return Err(format!("refused: {refusal}")),
        Err(_) => return Err("peer set stopped".into()),
    };
    if let Some(report) = report.take() {
        let _ = report.send(Ok(()));
    }
    tracing::info!(peer = id, %remote, ?direction, height = theirs.height, "peer connected");

    let writer = tokio::spawn(write_loop(sink, out_rx));
    let mut peer = Peer {
        ctx: ctx.clone(),
        id,
        out: out_tx,
        pending: HashMap::new(),
        next_request: 1,
        syncing: false,
        peer_height: theirs.height,
        window_start: Instant::now(),
        window_count: 0,
        low_work_start: Instant::now(),
        low_work_count: 0,
        overflowed: std::sync::atomic::AtomicBool::new(false),
    };
    let reason = peer.read_loop(stream, &theirs, close_rx).await;
    writer.abort();
    tracing::info!(peer = id, %remote, %reason, "peer disconnected");
    let _ = ctx.commands.send(Command::Closed { peer: id }).await;
    Ok(())
}

fn check_hello(ctx: &Context, hello: &Hello, remote: SocketAddr) -> Result<(), String> {
    let network = ctx.link.network();
    if hello.network != network || hello.genesis != network.genesis_hash() {
        tracing::warn!(
            %remote,
            their_network = %hello.network,
            their_genesis = %hello.genesis,
            "refused peer of another network (ours is {network}, genesis {})",
            network.genesis_hash()
        );
        return Err(format!("refused: peer is on network {} with genesis {}", hello.network, hello.genesis));
    }
    if hello.version < MIN_PROTOCOL_VERSION {
        return Err(format!("refused: protocol version {} is too old", hello.version));
    }
    if hello.node_id == ctx.node_id {
        return Err("refused: connected to ourselves".into());
    }
    Ok(())
}

async fn write_loop(mut sink: FrameSink, mut queue: mpsc::Receiver<Bytes>) {
    while let Some(frame) = queue.recv().await {
        if sink.send(frame).await.is_err() {
            break;
        }
    }
    let _ = sink.close().await;
}

struct Peer {
    ctx: Context,
    id: u64,
    out: mpsc::Sender<Bytes>,
    pending: HashMap<u64, Request>,
    next_request: u64,
    syncing: bool,
    peer_height: u64,
    window_start: Instant,
    window_count: u32,
    /// Blocks refused as `LowWork` since `low_work_start`.
    low_work_start: Instant,
    low_work_count: u32,
    /// A message could not be queued: the peer does not keep up.
    overflowed: std::sync::atomic::AtomicBool,
}

impl Peer {
    async fn read_loop(
        &mut self,
        mut stream: FrameStream,
        hello: &Hello,
        mut close: oneshot::Receiver<()>,
    ) -> String {
        self.send(&Message::GetAddrs).await;
        if hello.work > self.ctx.link.tip().work && self.request_sync().await.is_err() {
            return "the node is stopping".into();
        }
        // What is pending here is news to a peer that just arrived (or just came back).
        let Ok(pending) = self.ctx.link.pending_txids(MAX_ITEMS_PER_MESSAGE).await else {
            return "the node is stopping".into();
        };
        if !pending.is_empty() {
            let _ = self.ctx.commands.send(Command::KnownTxs { peer: self.id, txids: pending.clone() }).await;
            self.send(&Message::InvTxs(pending)).await;
        }
        let mut ping = tokio::time::interval(self.ctx.config.ping_interval);
        ping.tick().await;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                frame = stream.next() => {
                    let Some(frame) = frame else { return "connection closed".into() };
                    last_heard = Instant::now();
                    match frame {
                        Frame::Data(bytes) => {
                            self.ctx.link.metrics().p2p_bytes_received.inc_by(bytes.len() as u64);
                            if let Err(reason) = self.on_frame(&bytes).await {
                                return reason;
                            }
                            if self.overflowed.load(Ordering::Relaxed) {
                                return "does not read what it asks for: outbound queue full".into();
                            }
                        }
                        Frame::Skip => {}
                        Frame::Close => return "closed by peer".into(),
                        Frame::Text => {
                            self.misbehaved(BAN_SCORE, "sent a text frame").await;
                            return "protocol violation: text frame".into();
                        }
                        Frame::Oversized => {
                            self.misbehaved(BAN_SCORE, "sent an oversized message").await;
                            return "protocol violation: oversized message".into();
                        }
                        Frame::Broken(e) => return format!("connection failed: {e}"),
                    }
                }
                _ = &mut close => return "disconnected by this node".into(),
                _ = ping.tick() => {
                    if last_heard.elapsed() > self.ctx.config.idle_timeout {
                        return "not answering".into();
                    }
                    self.send(&Message::Ping(rand_core::RngCore::next_u64(&mut rand_core::OsRng))).await;
                    if self.overflowed.load(Ordering::Relaxed) {
                        return "does not read what it asks for: outbound queue full".into();
                    }
                }
            }
        }
    }

    /// Queues a message. While the peer's queue is full this waits, so a peer that does not
    /// read what it asks for is not served more; one that still has not made room after
    /// [`SEND_TIMEOUT`] is cut off (see `read_loop`).
    async fn send(&self, message: &Message) {
        self.send_bytes(Bytes::from(message.to_frame())).await;
    }

    async fn send_bytes(&self, frame: Bytes) {
        if self.overflowed.load(Ordering::Relaxed) {
            return;
        }
        if !matches!(tokio::time::timeout(SEND_TIMEOUT, self.out.send(frame)).await, Ok(Ok(()))) {
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    async fn misbehaved(&self, score: u32, reason: &str) {
        let _ = self
            .ctx
            .commands
            .send(Command::Misbehaved { peer: self.id, score, reason: reason.to_string() })
            .await;
    }

    fn request(&mut self, kind: Request) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.pending.insert(id, kind);
        id
    }

    async fn request_sync(&mut self) -> Result<(), Stopped> {
        if self.syncing {
            return Ok(());
        }
        let locator = self.ctx.link.locator().await?;
        self.syncing = true;
        let id = self.request(Request::Sync);
        self.send(&Message::GetBlocksAfter { id, locator, limit: SYNC_BATCH }).await;
        Ok(())
    }

    async fn on_frame(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.count_message().await?;
        let message = match Message::from_frame(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.misbehaved(BAN_SCORE, &format!("sent an invalid message: {e}")).await;
                return Err(format!("protocol violation: {e}"));
            }
        };
        match message {
            Message::Hello(_) => {
                self.misbehaved(BAN_SCORE, "sent a second hello").await;
                return Err("protocol violation: second hello".into());
            }
            Message::Ping(n) => self.send(&Message::Pong(n)).await,
            Message::Pong(_) => {}
            Message::GetAddrs => {
                let (reply, answer) = oneshot::channel();
                let _ = self.ctx.commands.send(Command::GetAddrs { peer: self.id, reply }).await;
                if let Ok(urls) = answer.await {
                    self.send(&Message::Addrs(urls)).await;
                }
            }
            Message::Addrs(urls) => {
                let _ = self.ctx.commands.send(Command::AddAddrs { peer: self.id, urls }).await;
            }
            Message::InvTxs(txids) => self.on_inv_txs(txids).await?,
            Message::InvBlocks { hashes, tip_height } => self.on_inv_blocks(hashes, tip_height).await?,
            Message::GetTxs { id, txids } => self.answer_txs(id, txids).await?,
            Message::Txs { id, txs, more } => {
                let requested = if more { self.pending.get(&id).copied() } else { self.pending.remove(&id) };
                if requested != Some(Request::Txs) {
                    self.misbehaved(20, "sent unrequested transactions").await;
                }
                for WireTx(tx) in txs {
                    self.on_tx(tx).await?;
                }
            }
            Message::GetBlocks { id, hashes } => self.answer_blocks(id, hashes).await?,
            Message::GetBlocksAfter { id, locator, limit } => {
                self.answer_blocks_after(id, locator, limit).await?
            }
            Message::Blocks { id, blocks, tip_height } => {
                self.set_height(tip_height).await;
                let Some(kind) = self.pending.remove(&id) else {
                    self.misbehaved(20, "sent unrequested blocks").await;
                    return Ok(());
                };
                let blocks: Vec<Block> = blocks.into_iter().map(|WireBlock(b)| b).collect();
                // Answers are capped by count and by bytes: the peer has more when its tip is
                // beyond the last block it sent.
                let more = blocks.last().is_some_and(|b| tip_height > b.header.height);
                let mut next_requested = false;
                if kind == Request::Sync {
                    self.syncing = false;
                    if let (true, Some(last)) = (more, blocks.last()) {
                        // Ask for the next batch, located from the end of this one, before
                        // validating this one: the transfer overlaps the validation.
                        let mut locator = vec![last.hash()];
                        locator
                            .extend(self.ctx.link.locator().await.map_err(stopping)?.into_iter().take(100));
                        let id = self.request(Request::Sync);
                        self.syncing = true;
                        self.send(&Message::GetBlocksAfter { id, locator, limit: SYNC_BATCH }).await;
                        next_requested = true;
                    }
                }
                let result = self.ctx.link.submit_blocks(blocks, Origin::Peer(self.id)).await;
                let accepted = result.is_ok();
                self.after_block(result).await?;
                if accepted {
                    // Also after a sync batch: the serving peer then shows our progress.
                    self.report_tip().await;
                }
                if kind == Request::Sync && !next_requested && tip_height > self.ctx.link.tip().height {
                    self.request_sync().await.map_err(stopping)?;
                }
            }
            Message::GetHeaders { id, locator, limit } => self.answer_headers(id, locator, limit).await?,
            Message::GetFilters { id, from, limit } => self.answer_filters(id, from, limit).await?,
            // This node asks for neither: they serve light clients.
            Message::Headers { .. } => self.misbehaved(20, "sent unrequested headers").await,
            Message::Filters { .. } => self.misbehaved(20, "sent unrequested filters").await,
            Message::NewBlock(WireBlock(block)) => {
                let height = block.header.height;
                let _ = self
                    .ctx
                    .commands
                    .send(Command::KnownBlocks {
                        peer: self.id,
                        hashes: vec![block.hash()],
                        tip_height: height,
                    })
                    .await;
                self.on_block(block).await?;
            }
        }
        Ok(())
    }

    async fn count_message(&mut self) -> Result<(), String> {
        if self.window_start.elapsed() >= Duration::from_secs(1) {
            self.window_start = Instant::now();
            self.window_count = 0;
        }
        self.window_count += 1;
        if self.window_count == FLOOD_PER_SECOND {
            self.misbehaved(50, "flooding").await;
        }
        Ok(())
    }

    async fn set_height(&mut self, height: u64) {
        if height > self.peer_height {
            self.peer_height = height;
            let _ = self.ctx.commands.send(Command::PeerHeight { peer: self.id, height }).await;
        }
    }

    async fn on_inv_txs(&mut self, txids: Vec<Txid>) -> Result<(), String> {
        let _ = self.ctx.commands.send(Command::KnownTxs { peer: self.id, txids: txids.clone() }).await;
        let wanted = self.ctx.link.missing_txs(txids).await.map_err(stopping)?;
        if !wanted.is_empty() {
            let id = self.request(Request::Txs);
            self.send(&Message::GetTxs { id, txids: wanted }).await;
        }
        Ok(())
    }

    async fn on_inv_blocks(&mut self, hashes: Vec<BlockHash>, tip_height: u64) -> Result<(), String> {
        self.set_height(tip_height).await;
        let _ = self
            .ctx
            .commands
            .send(Command::KnownBlocks { peer: self.id, hashes: hashes.clone(), tip_height })
            .await;
        let wanted = self.ctx.link.missing_blocks(hashes).await.map_err(stopping)?;
        if !wanted.is_empty() {
            let id = self.request(Request::Blocks);
            self.send(&Message::GetBlocks { id, hashes: wanted }).await;
        }
        Ok(())
    }

    async fn on_tx(&mut self, tx: ferro_shared::Transaction) -> Result<(), String> {
        match self.ctx.link.submit_transaction(tx, Origin::Peer(self.id)).await {
            Ok(_) => Ok(()),
            Err(SubmitTxError::Rejected(e)) if e.is_bad_transaction() => {
                self.misbehaved(BAN_SCORE, &format!("sent an invalid transaction: {e}")).await;
                Err(format!("invalid transaction: {e}"))
            }
            Err(SubmitTxError::Rejected(_)) => Ok(()),
            Err(SubmitTxError::Node(e)) => {
                tracing::error!(error = %e, "could not process a peer's transaction");
                Ok(())
            }
        }
    }

    async fn on_block(&mut self, block: Block) -> Result<(), String> {
        let result = self.ctx.link.submit_block(block, Origin::Peer(self.id)).await;
        // A block we had already changes nothing worth telling.
        let changed = matches!(result, Ok(BlockOutcome::NewTip { .. } | BlockOutcome::SideChain { .. }));
        self.after_block(result.map(|_| ())).await?;
        if changed {
            self.report_tip().await;
        }
        Ok(())
    }

    /// Blocks a peer gave us are not announced back to it, so tell it where they took us: it
    /// then shows our height as it is, not as it was when we met.
    async fn report_tip(&self) {
        let tip = self.ctx.link.tip();
        self.send(&Message::InvBlocks { hashes: vec![tip.hash], tip_height: tip.height }).await;
    }

    /// Acts on what the node said of blocks this peer sent: a missing parent starts a sync, an
    /// invalid block ends the connection.
    async fn after_block(&mut self, result: Result<(), SubmitBlockError>) -> Result<(), String> {
        match result {
            Ok(()) => Ok(()),
            Err(SubmitBlockError::Rejected(ChainError::UnknownParent { .. })) => {
                self.request_sync().await.map_err(stopping)
            }
            Err(SubmitBlockError::Rejected(ChainError::LowWork { .. })) => {
                let now = Instant::now();
                if now.duration_since(self.low_work_start) > LOW_WORK_WINDOW {
                    (self.low_work_start, self.low_work_count) = (now, 0);
                }
                self.low_work_count += 1;
                if self.low_work_count > LOW_WORK_ALLOWANCE {
                    let reason = "sent many blocks on branches with less work than the tip";
                    self.misbehaved(LOW_WORK_SCORE, reason).await;
                }
                Ok(())
            }
            Err(SubmitBlockError::Rejected(e)) if e.is_peer_fault() => {
                self.misbehaved(BAN_SCORE, &format!("sent an invalid block: {e}")).await;
                Err(format!("invalid block: {e}"))
            }
            Err(SubmitBlockError::Rejected(e)) => {
                tracing::debug!(peer = self.id, error = %e, "block not accepted");
                Ok(())
            }
            Err(SubmitBlockError::Node(e)) => {
                tracing::error!(error = %e, "could not process a peer's block");
                Ok(())
            }
        }
    }

    async fn answer_txs(&self, id: u64, txids: Vec<Txid>) -> Result<(), String> {
        let txs = self.ctx.link.pending_txs(txids).await.map_err(stopping)?;
        for (part, more) in answer_parts(txs, ANSWER_BYTES) {
            self.send(&Message::Txs { id, txs: part.into_iter().map(WireTx).collect(), more }).await;
        }
        Ok(())
    }

    async fn answer_blocks(&self, id: u64, hashes: Vec<BlockHash>) -> Result<(), String> {
        let blocks = self
            .ctx
            .link
            .block_bytes(hashes, MAX_BLOCKS_PER_MESSAGE, ANSWER_BYTES)
            .await
            .map_err(stopping)?;
        self.send_blocks(id, &blocks).await;
        Ok(())
    }

    async fn answer_blocks_after(&self, id: u64, locator: Vec<BlockHash>, limit: u32) -> Result<(), String> {
        let limit = (limit as usize).min(MAX_BLOCKS_PER_MESSAGE);
        let hashes = self.ctx.link.hashes_after(locator, limit).await.map_err(stopping)?;
        self.answer_blocks(id, hashes).await
    }

    async fn answer_headers(&self, id: u64, locator: Vec<BlockHash>, limit: u32) -> Result<(), String> {
        let limit = (limit as usize).min(MAX_HEADERS_PER_MESSAGE);
        let (headers, tip_height) = self.ctx.link.headers_after(locator, limit).await.map_err(stopping)?;
        let headers = headers.into_iter().map(WireHeader).collect();
        self.send(&Message::Headers { id, headers, tip_height }).await;
        Ok(())
    }

    async fn answer_filters(&self, id: u64, from: u64, limit: u32) -> Result<(), String> {
        let limit = (limit as usize).clamp(1, MAX_FILTERS_PER_MESSAGE);
        let found = self.ctx.link.filters(from, limit, FILTER_ANSWER_BYTES).await.map_err(stopping)?;
        let filters = found.into_iter().map(|f| (f.hash, WireFilter(f.filter))).collect();
        self.send(&Message::Filters { id, filters }).await;
        Ok(())
    }

    /// Sends stored blocks as they are stored: their canonical bytes are what goes on the wire.
    async fn send_blocks(&self, id: u64, blocks: &[Vec<u8>]) {
        let tip_height = self.ctx.link.tip().height;
        self.send_bytes(Bytes::from(BlocksFrame { id, blocks, tip_height }.to_frame())).await;
    }
}

/// Splits transactions into answer parts of at most `max_bytes` of transactions each (a larger
/// one goes alone), each with whether another part follows. Always at least one part, so an
/// answer that found nothing still says so.
fn answer_parts(txs: Vec<Transaction>, max_bytes: usize) -> Vec<(Vec<Transaction>, bool)> {
    let mut parts: Vec<Vec<Transaction>> = vec![vec![]];
    let mut bytes = 0;
    for tx in txs {
        let size = tx.size();
        let current = parts.last_mut().expect("one part");
        if !current.is_empty() && bytes + size > max_bytes {
            parts.push(vec![tx]);
            bytes = size;
        } else {
            current.push(tx);
            bytes += size;
        }
    }
    let last = parts.len() - 1;
    parts.into_iter().enumerate().map(|(i, part)| (part, i < last)).collect()
}

/// A connection ends when the node stops.
fn stopping(_: Stopped) -> String {
    "the node is stopping".into()
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
