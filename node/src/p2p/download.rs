//! Headers-first sync as a plain state machine, owned by the manager: headers are fetched from
//! one peer at a time in batches and checked (proof of work, difficulty, times, cumulative work)
//! before any block is asked for; then the blocks of the best checked header chain are fetched
//! from every peer that has them, within a moving window, and handed to the node in order.
//!
//! ```text
//!   peer joins / announces more ─▶ GetHeaders ─▶ Headers ─▶ CheckHeaders ─▶ HeadersChecked
//!                                       ▲                                      │ more work than
//!                                       └──────── full batch: ask for more ────┤ the best known
//!                                                                              ▼
//!   run: [next to import ............ window (WINDOW blocks) ....]  headers beyond
//!         │ arrived, in order              │ waiting → GetBlocks to the peer with the
//!         ▼                                │ fewest requests; stalls the window → dropped
//!      Import ─▶ Imported ─▶ the window moves on
//! ```
//!
//! Bounded: one run of at most [`MAX_RUN_HEADERS`] headers; at most [`WINDOW`] blocks asked for
//! or held; at most [`MAX_BUFFERED_BYTES`] of blocks held waiting for their turn; at most
//! [`MAX_REQUESTS_PER_PEER`] requests per peer, each of at most [`CHUNK`] blocks.

use super::session::{Ending, Offence};
use super::verdict::{self, Charge};
use crate::chain::{ChainError, CheckedHeaders, HeadersRefused};
use ferro_shared::block::BlockHeader;
use ferro_shared::consensus::HeaderTail;
use ferro_shared::hash::BlockHash;
use ferro_shared::p2p::MAX_HEADERS_PER_MESSAGE;
use ferro_shared::pow::{Target, Work};
use ferro_shared::Block;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Ids of the requests this machine makes have this bit set: a session passes answers that
/// carry such an id to the manager instead of judging them itself.
pub const SYNC_ID_BIT: u64 = 1 << 63;
/// Blocks from the next to import on, that may be asked for or held at once.
pub const WINDOW: usize = 1024;
/// Blocks per request.
pub const CHUNK: usize = 16;
/// Requests of ours a peer may have unanswered at once.
pub const MAX_REQUESTS_PER_PEER: usize = 4;
/// Bytes of blocks held while they wait for the ones before them, or on their way (each
/// request counted at [`ANSWER_BYTES`] until its answer comes).
pub const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;
/// The most an answer can weigh, whatever its blocks claim: one message.
pub const ANSWER_BYTES: usize = ferro_shared::p2p::MAX_MESSAGE_BYTES;
/// Headers of the run kept ahead of the chain (128 bytes and a hash each: about 8 MiB).
pub const MAX_RUN_HEADERS: usize = 50_000;
/// Blocks per import, at most, and bytes.
pub const IMPORT_BLOCKS: usize = 250;
pub const IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Timers of the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A peer that holds up the window's first block this long, while another could serve it,
    /// is dropped.
    pub stall: Duration,
    /// Any request unanswered this long means the peer stalls.
    pub request: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing { stall: Duration::from_secs(5), request: Duration::from_secs(60) }
    }
}

/// An input to the download.
#[derive(Debug)]
pub enum Input {
    /// A peer finished its handshake, claiming a chain of `work` up to `height`; `outbound`
    /// when this node dialed it.
    Joined {
        peer: u64,
        height: u64,
        work: Work,
        outbound: bool,
    },
    Left {
        peer: u64,
    },
    /// A peer showed a chain this node lacks (an announcement that does not connect, a block on
    /// an unknown parent), or a greater height.
    Behind {
        peer: u64,
        height: u64,
    },
    /// Our chain moved: its tip's work and height.
    Tip {
        work: Work,
        height: u64,
    },
    /// A peer's answer to a header request of ours.
    Headers {
        peer: u64,
        id: u64,
        headers: Vec<BlockHeader>,
        tip_height: u64,
    },
    /// The verdict on headers handed out with [`Effect::CheckHeaders`].
    Checked {
        peer: u64,
        result: Result<CheckedHeaders, HeadersRefused>,
        full: bool,
    },
    /// A peer's answer to a block request of ours.
    Blocks {
        peer: u64,
        id: u64,
        blocks: Vec<Block>,
    },
    /// The node's verdict on blocks handed out with [`Effect::Import`].
    Imported {
        result: Result<(), ChainError>,
    },
    Tick,
}

/// What the download wants done.
#[derive(Debug)]
pub enum Effect {
    /// Ask `peer` for headers after a locator of our chain, preceded by `from` when given.
    GetHeaders {
        peer: u64,
        id: u64,
        from: Option<BlockHash>,
    },
    /// Ask `peer` for these blocks.
    GetBlocks {
        peer: u64,
        id: u64,
        hashes: Vec<BlockHash>,
    },
    /// Check headers: on top of `after` when given (the run's end), against the chain otherwise.
    /// The verdict comes back as [`Input::Checked`].
    CheckHeaders {
        peer: u64,
        headers: Vec<BlockHeader>,
        after: Option<HeaderTail>,
        full: bool,
    },
    /// Hand blocks, in chain order, to the node; `proven_after` is the work of the checked
    /// headers after them. The verdict comes back as [`Input::Imported`].
    Import {
        blocks: Vec<Block>,
        from: u64,
        proven_after: Work,
    },
    Penalize {
        peer: u64,
        offence: Offence,
        reason: String,
    },
    Disconnect {
        peer: u64,
        ending: Ending,
        reason: String,
    },
}

#[derive(Debug)]
struct PeerSync {
    height: u64,
    /// What its hello claimed (nothing checks it until its headers come).
    work: Work,
    /// This node dialed it: a stranger cannot choose to be one of those, so they are asked for
    /// headers first (a stranger that claims much and answers nothing costs a request timeout).
    outbound: bool,
    requests: usize,
    /// It answered a block request of this run with none of the blocks.
    lacks: bool,
    /// Its headers were asked for and brought nothing better while it was at this height: not
    /// asked again until it shows more.
    done_at: Option<u64>,
}

#[derive(Debug)]
enum Slot {
    Waiting,
    Requested(u64),
    Arrived { block: Box<Block>, size: usize, from: u64 },
    Importing,
}

#[derive(Debug)]
struct Entry {
    hash: BlockHash,
    height: u64,
    work: Work,
    slot: Slot,
}

/// The best checked header chain beyond ours, and where its blocks are.
#[derive(Debug)]
struct Run {
    number: u64,
    /// Blocks not yet imported, in chain order.
    entries: VecDeque<Entry>,
    /// The end of the run: what further headers are checked against.
    tail: HeaderTail,
    /// Bytes of blocks held in `Arrived`.
    buffered: usize,
}

#[cfg(test)]
impl Entry {
    fn slot_is_waiting(&self) -> bool {
        matches!(self.slot, Slot::Waiting)
    }
}

impl Run {
    fn position(&self, hash: &BlockHash) -> Option<usize> {
        self.entries.iter().position(|e| e.hash == *hash)
    }
}

#[derive(Debug)]
struct BlockRequest {
    peer: u64,
    hashes: Vec<BlockHash>,
    sent: Instant,
}

#[derive(Debug)]
struct HeaderRequest {
    peer: u64,
    id: u64,
    sent: Instant,
    /// Whether the locator began at the run's end.
    from_run: bool,
}

/// The download's state.
#[derive(Debug)]
pub struct Download {
    timing: Timing,
    our_work: Work,
    our_height: u64,
    peers: BTreeMap<u64, PeerSync>,
    headers: Option<HeaderRequest>,
    /// Headers are being checked: no other header request until the verdict.
    checking: bool,
    /// The next header request to this peer starts from our chain, not from the run's end.
    restart_from_chain: BTreeSet<u64>,
    run: Option<Run>,
    blocks: BTreeMap<u64, BlockRequest>,
    /// The sender of the blocks handed to the node, while they are being imported, and the
    /// run they belong to.
    importing: Option<(u64, u64)>,
    /// Runs made so far: each has its number, so a verdict on an import of one that was
    /// replaced meanwhile is not taken for the new one's.
    runs: u64,
    next_id: u64,
}

impl Download {
    pub fn new(timing: Timing, our_work: Work, our_height: u64) -> Self {
        Download {
            timing,
            our_work,
            our_height,
            peers: BTreeMap::new(),
            headers: None,
            checking: false,
            restart_from_chain: BTreeSet::new(),
            run: None,
            blocks: BTreeMap::new(),
            importing: None,
            runs: 0,
            next_id: SYNC_ID_BIT,
        }
    }

    /// Blocks held waiting for the ones before them, in bytes.
    pub fn buffered_bytes(&self) -> usize {
        self.run.as_ref().map_or(0, |r| r.buffered)
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut effects = vec![];
        match input {
            Input::Joined { peer, height, work, outbound } => {
                let p = PeerSync { height, work, outbound, requests: 0, lacks: false, done_at: None };
                self.peers.insert(peer, p);
            }
            Input::Left { peer } => effects.extend(self.left(peer)),
            Input::Behind { peer, height } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.height = p.height.max(height);
                    // It showed something we lack: ask it, even at a height it had before.
                    p.done_at = None;
                }
            }
            Input::Tip { work, height } => {
                self.our_work = work;
                self.our_height = height;
                if self.run.as_ref().is_some_and(|r| r.tail.work() <= work && self.importing.is_none()) {
                    self.drop_run();
                }
            }
            Input::Headers { peer, id, headers, tip_height } => {
                effects.extend(self.on_headers(peer, id, headers, tip_height))
            }
            Input::Checked { peer, result, full } => effects.extend(self.on_checked(peer, result, full)),
            Input::Blocks { peer, id, blocks } => effects.extend(self.on_blocks(peer, id, blocks)),
            Input::Imported { result } => effects.extend(self.on_imported(result)),
            Input::Tick => effects.extend(self.on_tick(now)),
        }
        effects.extend(self.import());
        effects.extend(self.request_headers(now));
        effects.extend(self.request_blocks(now));
        effects
    }

    fn best_work(&self) -> Work {
        self.run.as_ref().map_or(self.our_work, |r| r.tail.work().max(self.our_work))
    }

    fn best_height(&self) -> u64 {
        self.run.as_ref().map_or(self.our_height, |r| r.tail.height().max(self.our_height))
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = SYNC_ID_BIT | (self.next_id + 1);
        id
    }

    fn left(&mut self, peer: u64) -> Vec<Effect> {
        self.peers.remove(&peer);
        self.restart_from_chain.remove(&peer);
        if self.headers.as_ref().is_some_and(|h| h.peer == peer) {
            self.headers = None;
        }
        let ids: Vec<u64> = self.blocks.iter().filter(|(_, r)| r.peer == peer).map(|(id, _)| *id).collect();
        for id in ids {
            self.release(id);
        }
        vec![]
    }

    /// Forgets request `id`: its blocks not yet arrived wait again.
    fn release(&mut self, id: u64) -> Option<BlockRequest> {
        let request = self.blocks.remove(&id)?;
        if let Some(p) = self.peers.get_mut(&request.peer) {
            p.requests = p.requests.saturating_sub(1);
        }
        if let Some(run) = &mut self.run {
            for e in run.entries.iter_mut() {
                if matches!(e.slot, Slot::Requested(r) if r == id) {
                    e.slot = Slot::Waiting;
                }
            }
        }
        Some(request)
    }

    fn drop_run(&mut self) {
        self.run = None;
        let ids: Vec<u64> = self.blocks.keys().copied().collect();
        for id in ids {
            // Answers to them are still expected: keep counting them against their peers,
            // but nothing waits for their blocks.
            if let Some(r) = self.blocks.get_mut(&id) {
                r.hashes.clear();
            }
        }
        for p in self.peers.values_mut() {
            p.lacks = false;
        }
    }

    /// Asks the peer claiming the most for headers, when no header request is out.
    fn request_headers(&mut self, now: Instant) -> Vec<Effect> {
        if self.headers.is_some() || self.checking {
            return vec![];
        }
        let run_full = self.run.as_ref().is_some_and(|r| r.entries.len() >= MAX_RUN_HEADERS);
        if run_full {
            return vec![];
        }
        let (best_work, best_height) = (self.best_work(), self.best_height());
        let candidate = self
            .peers
            .iter()
            .filter(|(_, p)| p.done_at.is_none_or(|h| p.height > h))
            .filter(|(_, p)| p.work > best_work || p.height > best_height)
            .max_by_key(|(id, p)| (p.outbound, p.work, p.height, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id);
        let Some(peer) = candidate else { return vec![] };
        let id = self.next_id();
        let from_run = self.run.is_some() && !self.restart_from_chain.remove(&peer);
        let from = if from_run { self.run.as_ref().map(|r| r.tail.tip()) } else { None };
        self.headers = Some(HeaderRequest { peer, id, sent: now, from_run });
        vec![Effect::GetHeaders { peer, id, from }]
    }

    fn on_headers(&mut self, peer: u64, id: u64, headers: Vec<BlockHeader>, tip_height: u64) -> Vec<Effect> {
        let Some(request) = self.headers.take_if(|r| r.peer == peer && r.id == id) else {
            return vec![unrequested(peer, "headers")];
        };
        if let Some(p) = self.peers.get_mut(&peer) {
            p.height = p.height.max(tip_height);
        }
        if headers.is_empty() {
            // Nothing after our locator: it has no more than we know of.
            self.done(peer);
            return vec![];
        }
        let full = headers.len() >= MAX_HEADERS_PER_MESSAGE;
        let after = match (&self.run, request.from_run) {
            (Some(run), true) if headers[0].prev == run.tail.tip() => Some(run.tail.clone()),
            _ => None,
        };
        self.checking = true;
        vec![Effect::CheckHeaders { peer, headers, after, full }]
    }

    fn done(&mut self, peer: u64) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.done_at = Some(p.height);
            // Its claim is spent: from now on only a greater height makes it a candidate.
            p.work = Work::ZERO;
        }
    }

    fn on_checked(
        &mut self,
        peer: u64,
        result: Result<CheckedHeaders, HeadersRefused>,
        full: bool,
    ) -> Vec<Effect> {
        self.checking = false;
        let checked = match result {
            Ok(checked) => checked,
            Err(HeadersRefused::Unconnected { .. } | HeadersRefused::Empty) => {
                // Headers that follow neither our chain nor the run: the peer may have moved
                // to another branch since we asked. Ask again from our chain alone; a peer that
                // answers that way too breaks the protocol.
                if self.restart_from_chain.insert(peer) {
                    return vec![];
                }
                self.restart_from_chain.remove(&peer);
                self.done(peer);
                return vec![unrequested(peer, "headers that connect to nothing it was shown")];
            }
            Err(HeadersRefused::KnownInvalid(hash)) => {
                self.done(peer);
                let reason = format!("sent headers on known-invalid block {hash}");
                return ban(peer, Offence::InvalidBlock, reason);
            }
            Err(HeadersRefused::Invalid(error)) => {
                self.done(peer);
                return match verdict::for_headers(&error) {
                    Charge::Ban(reason) => ban(peer, Offence::InvalidBlock, reason),
                    Charge::Nothing | Charge::Sync | Charge::LowWork => vec![],
                };
            }
        };
        let extends_run =
            !checked.new.is_empty() && self.run.as_ref().is_some_and(|r| checked.fork == r.tail.tip());
        let better = checked.tail.work() > self.best_work();
        let end_height = checked.tail.height();
        // A new best header chain (or the start of one that may become the best: headers come
        // in batches, and a long branch shows its work only at the end). Never one of headers
        // we have: its end would be where the next header requests start, and the blocks of
        // our own chain after it would be fetched again.
        let starts_run = !checked.new.is_empty() && (better || (full && self.run.is_none()));
        // Whether the answer moved the run on: only then is the peer asked for more. A full
        // answer that does not (headers we have, or a branch beside the run with less work)
        // would otherwise be asked for again and again, and no other peer would be asked.
        let adopted = extends_run || starts_run;
        if extends_run {
            let run = self.run.as_mut().expect("extends the run");
            append(run, &checked);
            run.tail = checked.tail;
        } else if starts_run {
            self.drop_run();
            self.runs += 1;
            let mut run =
                Run { number: self.runs, entries: VecDeque::new(), tail: checked.tail.clone(), buffered: 0 };
            append(&mut run, &checked);
            self.run = Some(run);
        }
        if !full || !adopted {
            // It sent all it has after what it was shown, or nothing we take.
            self.done(peer);
        } else if let Some(p) = self.peers.get_mut(&peer) {
            // More where these came from: keep asking this peer.
            p.done_at = None;
            p.height = p.height.max(end_height + 1);
        }
        if self
            .run
            .as_ref()
            .is_some_and(|r| r.entries.len() >= MAX_RUN_HEADERS && r.tail.work() <= self.our_work)
        {
            // A branch this long that still has less work than ours is not worth holding.
            self.drop_run();
            self.done(peer);
        }
        vec![]
    }

    /// Blocks of the run worth fetching: only once its headers show more work than our chain.
    fn fetching(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.tail.work() > self.our_work)
    }

    fn request_blocks(&mut self, now: Instant) -> Vec<Effect> {
        if !self.fetching() {
            return vec![];
        }
        let mut effects = vec![];
        loop {
            let run = self.run.as_ref().expect("fetching");
            // The first waiting blocks in the window.
            let chunk: Vec<usize> = run
                .entries
                .iter()
                .take(WINDOW)
                .enumerate()
                .filter(|(_, e)| matches!(e.slot, Slot::Waiting))
                .map(|(i, _)| i)
                .take(CHUNK)
                .collect();
            let Some(&last) = chunk.last() else { break };
            // Room for the answer, counting those on their way at their largest: except for the
            // next block to import, which nothing else can free room for.
            let next = run.entries.iter().position(|e| matches!(e.slot, Slot::Waiting | Slot::Requested(_)));
            let on_their_way = self.blocks.values().filter(|r| !r.hashes.is_empty()).count();
            if next != Some(chunk[0]) && run.buffered + (on_their_way + 1) * ANSWER_BYTES > MAX_BUFFERED_BYTES
            {
                break;
            }
            let need_height = run.entries[last].height;
            let peer = self
                .peers
                .iter()
                .filter(|(_, p)| !p.lacks && p.requests < MAX_REQUESTS_PER_PEER && p.height >= need_height)
                .min_by_key(|(id, p)| (p.requests, **id))
                .map(|(id, _)| *id);
            let Some(peer) = peer else { break };
            let id = self.next_id();
            let run = self.run.as_mut().expect("fetching");
            let hashes: Vec<BlockHash> = chunk
                .iter()
                .map(|&i| {
                    run.entries[i].slot = Slot::Requested(id);
                    run.entries[i].hash
                })
                .collect();
            self.peers.get_mut(&peer).expect("chosen").requests += 1;
            self.blocks.insert(id, BlockRequest { peer, hashes: hashes.clone(), sent: now });
            effects.push(Effect::GetBlocks { peer, id, hashes });
        }
        effects
    }

    fn on_blocks(&mut self, peer: u64, id: u64, blocks: Vec<Block>) -> Vec<Effect> {
        if self.blocks.get(&id).is_none_or(|r| r.peer != peer) {
            return vec![unrequested(peer, "blocks")];
        }
        let request = self.release(id).expect("checked");
        let asked: BTreeSet<BlockHash> = request.hashes.iter().copied().collect();
        let mut effects = vec![];
        let mut got = 0;
        for block in blocks {
            let hash = block.hash();
            if !asked.contains(&hash) {
                // Dropped runs clear their requests' hashes: an answer to one is expected and
                // is not the peer's fault.
                if !request.hashes.is_empty() {
                    effects.push(unrequested(peer, "blocks"));
                    break;
                }
                continue;
            }
            got += 1;
            let Some(run) = &mut self.run else { continue };
            let Some(i) = run.position(&hash) else { continue };
            if matches!(run.entries[i].slot, Slot::Waiting) {
                let size = block.size();
                run.buffered += size;
                run.entries[i].slot = Slot::Arrived { block: Box::new(block), size, from: peer };
            }
        }
        if got == 0 && !request.hashes.is_empty() {
            // It has none of them: not on this branch (or not yet).
            if let Some(p) = self.peers.get_mut(&peer) {
                p.lacks = true;
            }
        }
        effects
    }

    /// Hands the next blocks to the node, when they have arrived and no import is under way.
    fn import(&mut self) -> Vec<Effect> {
        if self.importing.is_some() {
            return vec![];
        }
        let Some(run) = &mut self.run else { return vec![] };
        let mut blocks = vec![];
        let mut bytes = 0;
        let mut sender = None;
        for e in run.entries.iter_mut() {
            let Slot::Arrived { size, from, .. } = e.slot else { break };
            if sender.is_some_and(|s| s != from) || blocks.len() >= IMPORT_BLOCKS {
                break;
            }
            if bytes + size > IMPORT_BYTES && !blocks.is_empty() {
                break;
            }
            sender = Some(from);
            bytes += size;
            let Slot::Arrived { block, .. } = std::mem::replace(&mut e.slot, Slot::Importing) else {
                unreachable!("matched above")
            };
            blocks.push(*block);
        }
        if blocks.is_empty() {
            return vec![];
        }
        run.buffered -= bytes;
        let rest = run.entries.iter().skip(blocks.len()).fold(Work::ZERO, |w, e| w.saturating_add(&e.work));
        let from = sender.expect("one block at least");
        self.importing = Some((from, run.number));
        vec![Effect::Import { blocks, from, proven_after: rest }]
    }

    fn on_imported(&mut self, result: Result<(), ChainError>) -> Vec<Effect> {
        let Some((sender, number)) = self.importing.take() else { return vec![] };
        let charge = match &result {
            Ok(()) => vec![],
            Err(error) => match verdict::for_block(error) {
                Charge::Ban(reason) => ban(sender, Offence::InvalidBlock, reason),
                Charge::Nothing | Charge::Sync | Charge::LowWork => vec![],
            },
        };
        // The run those blocks came from was replaced meanwhile: the verdict is its sender's,
        // and says nothing of the new run.
        let Some(run) = self.run.as_mut().filter(|r| r.number == number) else { return charge };
        match result {
            Ok(()) => {
                while let Some(Entry { slot: Slot::Importing, .. }) = run.entries.front() {
                    run.entries.pop_front();
                }
                if run.entries.is_empty() && run.tail.work() <= self.our_work {
                    self.run = None;
                }
            }
            // A body that does not match its header (a copy altered, or stuffed, in transit):
            // the header chain is not at fault. Its sender is banned; the blocks are asked for
            // again from the others (those already connected are skipped on import).
            Err(ChainError::Invalid { error, .. }) if error.is_body_mutation() => {
                for e in run.entries.iter_mut().filter(|e| matches!(e.slot, Slot::Importing)) {
                    e.slot = Slot::Waiting;
                }
            }
            // The run is broken at this block: whatever follows it builds on it.
            Err(_) => self.drop_run(),
        }
        charge
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = vec![];
        let mut stalled: BTreeSet<u64> = BTreeSet::new();
        if let Some(h) = &self.headers {
            if now.duration_since(h.sent) > self.timing.request {
                stalled.insert(h.peer);
            }
        }
        for r in self.blocks.values() {
            if now.duration_since(r.sent) > self.timing.request {
                stalled.insert(r.peer);
            }
        }
        // The window's first block, held up by one peer while another could bring it.
        if let Some(Entry { slot: Slot::Requested(id), .. }) =
            self.run.as_ref().and_then(|r| r.entries.front())
        {
            if let Some(r) = self.blocks.get(id) {
                let others =
                    self.peers.iter().any(|(p, s)| *p != r.peer && !s.lacks && s.height > self.our_height);
                if others && now.duration_since(r.sent) > self.timing.stall {
                    stalled.insert(r.peer);
                }
            }
        }
        for peer in stalled {
            self.left(peer);
            effects.push(Effect::Disconnect {
                peer,
                ending: Ending::Stalled,
                reason: "stalled the block download".into(),
            });
        }
        effects
    }
}

fn append(run: &mut Run, checked: &CheckedHeaders) {
    for (hash, header) in &checked.new {
        let work = Target::from_compact(header.bits).map(|t| t.work()).unwrap_or(Work::ZERO);
        run.entries.push_back(Entry { hash: *hash, height: header.height, work, slot: Slot::Waiting });
    }
}

fn ban(peer: u64, offence: Offence, reason: String) -> Vec<Effect> {
    vec![
        Effect::Penalize { peer, offence, reason: reason.clone() },
        Effect::Disconnect { peer, ending: Ending::Penalized, reason },
    ]
}

fn unrequested(peer: u64, what: &str) -> Effect {
    Effect::Penalize { peer, offence: Offence::Unrequested, reason: format!("sent unrequested {what}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::consensus::{BlockError, HeaderError};
    use ferro_shared::Network;

    const NET: Network = Network::Dev;

    /// `n` linked headers on `parent` (at `height`), told apart by `salt`. Not mined: the
    /// download never checks rules itself, the node does.
    fn headers(parent: &BlockHeader, n: usize, salt: u64) -> Vec<BlockHeader> {
        let mut out: Vec<BlockHeader> = vec![];
        for i in 0..n {
            let prev = out.last().unwrap_or(parent);
            out.push(BlockHeader {
                prev: prev.hash(),
                height: prev.height + 1,
                nonce: salt * 1_000_000 + i as u64,
                ..*prev
            });
        }
        out
    }

    fn one_work() -> Work {
        Target::from_compact(NET.genesis_block().header.bits).unwrap().work()
    }

    fn work(blocks: u64) -> Work {
        (0..blocks).fold(Work::ZERO, |w, _| w.saturating_add(&one_work()))
    }

    /// The node's verdict on `new` headers building on `base` (whose chain has `base_blocks`
    /// blocks of work).
    fn checked(base: &[BlockHeader], new: &[BlockHeader]) -> CheckedHeaders {
        let mut all = base.to_vec();
        all.extend_from_slice(new);
        let tail = HeaderTail::new(NET.params(), all.clone(), work(all.len() as u64)).unwrap();
        CheckedHeaders {
            fork: base.last().unwrap().hash(),
            new: new.iter().map(|h| (h.hash(), *h)).collect(),
            tail,
        }
    }

    fn block(header: &BlockHeader) -> Block {
        Block { header: *header, transactions: vec![] }
    }

    fn genesis() -> BlockHeader {
        NET.genesis_block().header
    }

    /// A download on a chain of genesis alone.
    fn fresh() -> Download {
        Download::new(Timing::default(), work(1), 0)
    }

    fn header_request(effects: &[Effect]) -> (u64, u64, Option<BlockHash>) {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::GetHeaders { peer, id, from } => Some((*peer, *id, *from)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no header request in {effects:?}"))
    }

    fn block_requests(effects: &[Effect]) -> Vec<(u64, u64, Vec<BlockHash>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::GetBlocks { peer, id, hashes } => Some((*peer, *id, hashes.clone())),
                _ => None,
            })
            .collect()
    }

    fn imports(effects: &[Effect]) -> Vec<(Vec<u64>, u64)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Import { blocks, from, .. } => {
                    Some((blocks.iter().map(|b| b.header.height).collect(), *from))
                }
                _ => None,
            })
            .collect()
    }

    fn penalized(effects: &[Effect]) -> Vec<(u64, Offence)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Penalize { peer, offence, .. } => Some((*peer, *offence)),
                _ => None,
            })
            .collect()
    }

    fn dropped(effects: &[Effect]) -> Vec<(u64, Ending)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Disconnect { peer, ending, .. } => Some((*peer, *ending)),
                _ => None,
            })
            .collect()
    }

    /// A download that checked `n` headers from peer 1 (and has peers `others` at the same
    /// height): the chain they make, and the block requests that went out.
    fn synced_headers(n: usize, others: &[u64], t0: Instant) -> (Download, Vec<BlockHeader>, Vec<Effect>) {
        let mut d = fresh();
        let chain = headers(&genesis(), n, 1);
        let mut joined = vec![];
        for &peer in std::iter::once(&1).chain(others) {
            joined.extend(d.handle(
                Input::Joined { peer, height: n as u64, work: work(n as u64 + 1), outbound: true },
                t0,
            ));
        }
        let (peer, id, _) = header_request(&joined);
        let answer = d.handle(Input::Headers { peer, id, headers: chain.clone(), tip_height: n as u64 }, t0);
        assert!(matches!(&answer[..], [Effect::CheckHeaders { after: None, .. }]), "{answer:?}");
        let effects =
            d.handle(Input::Checked { peer, result: Ok(checked(&[genesis()], &chain)), full: false }, t0);
        (d, chain, effects)
    }

    #[test]
    fn headers_come_first_and_are_checked_before_any_block_is_asked_for() {
        let t0 = Instant::now();
        let mut d = fresh();
        // A peer claiming no more than we have is not asked.
        assert!(d.handle(Input::Joined { peer: 9, height: 0, work: work(1), outbound: true }, t0).is_empty());
        let effects = d.handle(Input::Joined { peer: 1, height: 3, work: work(4), outbound: true }, t0);
        let (peer, id, from) = header_request(&effects);
        assert_eq!((peer, from), (1, None));
        assert_ne!(id & SYNC_ID_BIT, 0, "answers find their way to the download");
        assert!(block_requests(&effects).is_empty());
        // One header request at a time.
        assert!(d.handle(Input::Joined { peer: 2, height: 3, work: work(4), outbound: true }, t0).is_empty());

        let chain = headers(&genesis(), 3, 1);
        let effects = d.handle(Input::Headers { peer: 1, id, headers: chain.clone(), tip_height: 3 }, t0);
        assert!(block_requests(&effects).is_empty(), "not before the headers are checked");
        let effects =
            d.handle(Input::Checked { peer: 1, result: Ok(checked(&[genesis()], &chain)), full: false }, t0);
        let requests = block_requests(&effects);
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].2, chain.iter().map(BlockHeader::hash).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_batch_of_headers_asks_for_the_next_from_the_end_of_the_run() {
        let t0 = Instant::now();
        let mut d = fresh();
        let joined =
            d.handle(Input::Joined { peer: 1, height: 5_000, work: work(5_001), outbound: true }, t0);
        let (_, id, _) = header_request(&joined);
        let chain = headers(&genesis(), MAX_HEADERS_PER_MESSAGE, 1);
        d.handle(Input::Headers { peer: 1, id, headers: chain.clone(), tip_height: 5_000 }, t0);
        let effects =
            d.handle(Input::Checked { peer: 1, result: Ok(checked(&[genesis()], &chain)), full: true }, t0);
        let (peer, id, from) = header_request(&effects);
        assert_eq!((peer, from), (1, Some(chain.last().unwrap().hash())));
        // The next batch is checked on top of the run's end, with no chain state.
        let next = headers(chain.last().unwrap(), 10, 1);
        let effects = d.handle(Input::Headers { peer: 1, id, headers: next.clone(), tip_height: 5_000 }, t0);
        let Some(Effect::CheckHeaders { after: Some(tail), .. }) = effects.first() else {
            panic!("{effects:?}")
        };
        assert_eq!(tail.tip(), chain.last().unwrap().hash());
    }

    #[test]
    fn blocks_come_from_every_peer_in_parallel_within_the_window() {
        let t0 = Instant::now();
        let (_, _, effects) = synced_headers(3_000, &[2, 3, 4], t0);
        let requests = block_requests(&effects);
        let peers: BTreeSet<u64> = requests.iter().map(|r| r.0).collect();
        assert_eq!(peers, BTreeSet::from([1, 2, 3, 4]), "every peer gets a share");
        assert_eq!(requests.len(), 4 * MAX_REQUESTS_PER_PEER);
        assert!(requests.iter().all(|r| r.2.len() == CHUNK));
        let asked: BTreeSet<BlockHash> = requests.iter().flat_map(|r| r.2.iter().copied()).collect();
        assert_eq!(asked.len(), 4 * MAX_REQUESTS_PER_PEER * CHUNK, "no block asked for twice");
        // With many peers, never more than the window, nor more answers than the buffer holds.
        let many: Vec<u64> = (2..200).collect();
        let (_, _, effects) = synced_headers(3_000, &many, t0);
        let asked: usize = block_requests(&effects).iter().map(|r| r.2.len()).sum();
        assert_eq!(asked, (MAX_BUFFERED_BYTES / ANSWER_BYTES * CHUNK).min(WINDOW));
    }

    #[test]
    fn blocks_are_imported_in_order_whoever_brings_them() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(40, &[2], t0);
        let requests = block_requests(&effects);
        // The second chunk arrives first: held, nothing imported.
        let second = requests.iter().find(|r| r.2[0] == chain[CHUNK].hash()).unwrap();
        let blocks = second.2.iter().map(|h| block(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        let effects = d.handle(Input::Blocks { peer: second.0, id: second.1, blocks }, t0);
        assert!(imports(&effects).is_empty());
        assert!(d.buffered_bytes() > 0);
        // The first arrives: its blocks go to the node, then (after the verdict) the second's.
        let first = requests.iter().find(|r| r.2[0] == chain[0].hash()).unwrap();
        let blocks = first.2.iter().map(|h| block(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        let effects = d.handle(Input::Blocks { peer: first.0, id: first.1, blocks }, t0);
        let got = imports(&effects);
        assert_eq!(got, vec![((1..=CHUNK as u64).collect(), first.0)]);
        let effects = d.handle(Input::Imported { result: Ok(()) }, t0);
        assert_eq!(imports(&effects), vec![((CHUNK as u64 + 1..=2 * CHUNK as u64).collect(), second.0)]);
    }

    #[test]
    fn a_peer_that_stalls_the_window_is_dropped_and_its_blocks_go_to_another() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(100, &[2], t0);
        let requests = block_requests(&effects);
        let first = requests.iter().find(|r| r.2[0] == chain[0].hash()).unwrap().clone();
        let staller = first.0;
        // Within the stall timeout: nothing happens.
        assert!(dropped(&d.handle(Input::Tick, t0 + Duration::from_secs(1))).is_empty());
        let later = t0 + Timing::default().stall + Duration::from_secs(1);
        let effects = d.handle(Input::Tick, later);
        assert_eq!(dropped(&effects), vec![(staller, Ending::Stalled)]);
        let reassigned = block_requests(&effects);
        assert!(reassigned.iter().all(|r| r.0 != staller));
        assert!(reassigned.iter().any(|r| r.2.contains(&chain[0].hash())), "{reassigned:?}");
        // A late answer from it is unrequested now.
        let effects = d.handle(Input::Blocks { peer: staller, id: first.1, blocks: vec![] }, later);
        assert_eq!(penalized(&effects), vec![(staller, Offence::Unrequested)]);
    }

    #[test]
    fn a_lone_slow_peer_is_given_the_request_timeout() {
        let t0 = Instant::now();
        let (mut d, _, _) = synced_headers(100, &[], t0);
        assert!(dropped(&d.handle(Input::Tick, t0 + Duration::from_secs(30))).is_empty());
        let late = t0 + Timing::default().request + Duration::from_secs(1);
        assert_eq!(dropped(&d.handle(Input::Tick, late)), vec![(1, Ending::Stalled)]);
    }

    #[test]
    fn a_branch_with_less_work_is_never_downloaded() {
        let t0 = Instant::now();
        // Our chain: 10 blocks. The peer's: a 5-block branch off genesis.
        let mut d = Download::new(Timing::default(), work(11), 10);
        let joined = d.handle(Input::Joined { peer: 1, height: 12, work: work(13), outbound: true }, t0);
        let (_, id, _) = header_request(&joined);
        let branch = headers(&genesis(), 5, 2);
        d.handle(Input::Headers { peer: 1, id, headers: branch.clone(), tip_height: 12 }, t0);
        let effects =
            d.handle(Input::Checked { peer: 1, result: Ok(checked(&[genesis()], &branch)), full: false }, t0);
        assert!(block_requests(&effects).is_empty());
        assert!(penalized(&effects).is_empty(), "an honest peer on another branch");
        // Not asked again until it shows more.
        assert!(d.handle(Input::Tick, t0).is_empty());
        let effects = d.handle(Input::Behind { peer: 1, height: 13 }, t0);
        header_request(&effects);
    }

    #[test]
    fn bad_answers_are_charged_to_their_sender() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(40, &[2], t0);
        // Headers nobody asked for.
        let effects2 = d.handle(
            Input::Headers { peer: 2, id: SYNC_ID_BIT | 999, headers: chain.clone(), tip_height: 40 },
            t0,
        );
        assert_eq!(penalized(&effects2), vec![(2, Offence::Unrequested)]);
        // Blocks under someone else's request.
        let requests = block_requests(&effects);
        let of_1 = requests.iter().find(|r| r.0 == 1).unwrap();
        let effects2 = d.handle(Input::Blocks { peer: 2, id: of_1.1, blocks: vec![] }, t0);
        assert_eq!(penalized(&effects2), vec![(2, Offence::Unrequested)]);
        // A block it was not asked for, under its own request.
        let of_2 = requests.iter().find(|r| r.0 == 2).unwrap();
        let stray = block(&headers(&genesis(), 1, 7)[0]);
        let effects2 = d.handle(Input::Blocks { peer: 2, id: of_2.1, blocks: vec![stray] }, t0);
        assert_eq!(penalized(&effects2), vec![(2, Offence::Unrequested)]);
    }

    #[test]
    fn an_invalid_block_bans_who_sent_it_and_drops_the_run() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(20, &[2], t0);
        let r = block_requests(&effects).into_iter().find(|r| r.2[0] == chain[0].hash()).unwrap();
        let blocks = r.2.iter().map(|h| block(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        d.handle(Input::Blocks { peer: r.0, id: r.1, blocks }, t0);
        let error =
            ChainError::Invalid { hash: chain[0].hash(), error: BlockError::ExtraCoinbase { index: 1 } };
        let effects = d.handle(Input::Imported { result: Err(error) }, t0);
        assert_eq!(penalized(&effects), vec![(r.0, Offence::InvalidBlock)]);
        assert_eq!(dropped(&effects), vec![(r.0, Ending::Penalized)]);
        assert!(d.run.is_none(), "the header chain builds on an invalid block");
    }

    /// A body that does not match its header bans its sender, and its blocks come from another
    /// peer: the headers are not at fault, and what else was fetched is kept.
    #[test]
    fn a_stuffed_body_bans_its_sender_and_keeps_the_run() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(40, &[2], t0);
        let requests = block_requests(&effects);
        let first = requests.iter().find(|r| r.2[0] == chain[0].hash()).unwrap();
        let blocks = first.2.iter().map(|h| block(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        let imported = d.handle(Input::Blocks { peer: first.0, id: first.1, blocks }, t0);
        assert_eq!(imports(&imported).len(), 1);
        let error = ChainError::Invalid { hash: chain[0].hash(), error: BlockError::BadMerkleRoot };
        let effects = d.handle(Input::Imported { result: Err(error) }, t0);
        assert_eq!(penalized(&effects), vec![(first.0, Offence::InvalidBlock)]);
        let run = d.run.as_ref().expect("the run stays");
        assert_eq!(run.entries.len(), 40);
        assert!(matches!(run.entries[0].slot, Slot::Waiting | Slot::Requested(_)));
        // Once the sender is gone, the blocks go to the other peer.
        let effects = d.handle(Input::Left { peer: first.0 }, t0);
        let other = if first.0 == 1 { 2 } else { 1 };
        let again = block_requests(&effects);
        assert!(
            again.iter().any(|r| r.0 == other && r.2.contains(&chain[0].hash())) || {
                // Peer `other` may be at its request limit: then they wait for a free slot.
                d.run.as_ref().unwrap().entries[0].slot_is_waiting()
            }
        );
    }

    /// A stranger that dialed in cannot make itself the one asked for headers by claiming
    /// more: peers this node dialed come first.
    #[test]
    fn peers_this_node_dialed_are_asked_for_headers_first() {
        let t0 = Instant::now();
        let mut d = fresh();
        let joined =
            d.handle(Input::Joined { peer: 1, height: 1 << 40, work: work(1 << 20), outbound: false }, t0);
        // Alone, it is asked.
        assert_eq!(header_request(&joined).0, 1);
        // It never answers; the timeout drops it, and meanwhile a peer we dialed joins.
        d.handle(Input::Joined { peer: 2, height: 10, work: work(11), outbound: true }, t0);
        let late = t0 + Timing::default().request + Duration::from_secs(1);
        let effects = d.handle(Input::Tick, late);
        assert_eq!(dropped(&effects), vec![(1, Ending::Stalled)]);
        assert_eq!(header_request(&effects).0, 2);
        // It comes back claiming even more: the dialed peer keeps the request.
        let effects =
            d.handle(Input::Joined { peer: 3, height: 1 << 41, work: work(1 << 21), outbound: false }, late);
        assert!(effects.iter().all(|e| !matches!(e, Effect::GetHeaders { .. })), "one request at a time");
        let id2 = d.headers.as_ref().unwrap().id;
        let chain = headers(&genesis(), 10, 1);
        d.handle(Input::Headers { peer: 2, id: id2, headers: chain.clone(), tip_height: 10 }, late);
        let effects = d
            .handle(Input::Checked { peer: 2, result: Ok(checked(&[genesis()], &chain)), full: false }, late);
        // Peer 2 is done; only now is the stranger asked.
        assert_eq!(header_request(&effects).0, 3);
    }

    /// A verdict on an import from a run that was replaced meanwhile is its sender's alone.
    #[test]
    fn a_verdict_on_a_replaced_run_does_not_touch_the_new_one() {
        let t0 = Instant::now();
        let (mut d, chain, effects) = synced_headers(20, &[], t0);
        let r = &block_requests(&effects)[0];
        let blocks = r.2.iter().map(|h| block(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        d.handle(Input::Blocks { peer: r.0, id: r.1, blocks }, t0);
        // A better run arrives from peer 3 while the import is under way.
        let better = headers(&genesis(), 30, 9);
        let mut joined = d.handle(Input::Joined { peer: 3, height: 30, work: work(31), outbound: true }, t0);
        joined.extend(d.handle(Input::Tick, t0));
        let (peer, id, _) = header_request(&joined);
        assert_eq!(peer, 3);
        d.handle(Input::Headers { peer: 3, id, headers: better.clone(), tip_height: 30 }, t0);
        d.handle(Input::Checked { peer: 3, result: Ok(checked(&[genesis()], &better)), full: false }, t0);
        assert_eq!(d.run.as_ref().unwrap().entries.len(), 30);
        let error =
            ChainError::Invalid { hash: chain[0].hash(), error: BlockError::ExtraCoinbase { index: 1 } };
        let effects = d.handle(Input::Imported { result: Err(error) }, t0);
        assert_eq!(penalized(&effects), vec![(1, Offence::InvalidBlock)]);
        assert_eq!(d.run.as_ref().map(|r| r.entries.len()), Some(30), "the new run stays whole");
    }

    #[test]
    fn headers_that_break_the_rules_ban_and_a_clock_ahead_does_not() {
        let t0 = Instant::now();
        let chain = headers(&genesis(), 3, 1);
        let invalid = |error| Err(HeadersRefused::Invalid(HeaderError::Invalid { index: 0, error }));
        let cases: Vec<(Result<CheckedHeaders, HeadersRefused>, bool)> = vec![
            (invalid(BlockError::InsufficientProofOfWork(chain[0].hash())), true),
            (Err(HeadersRefused::Invalid(HeaderError::Unlinked { index: 1 })), true),
            (Err(HeadersRefused::KnownInvalid(chain[0].hash())), true),
            (invalid(BlockError::TimeTooNew { time: 2, max: 1 }), false),
        ];
        for (result, bans) in cases {
            let mut d = fresh();
            let joined = d.handle(Input::Joined { peer: 1, height: 3, work: work(4), outbound: true }, t0);
            let (_, id, _) = header_request(&joined);
            d.handle(Input::Headers { peer: 1, id, headers: chain.clone(), tip_height: 3 }, t0);
            let effects = d.handle(Input::Checked { peer: 1, result, full: false }, t0);
            assert_eq!(!penalized(&effects).is_empty(), bans, "{effects:?}");
            assert!(block_requests(&effects).is_empty());
        }
    }

    #[test]
    fn headers_that_connect_to_nothing_are_asked_again_from_our_chain_then_charged() {
        let t0 = Instant::now();
        let mut d = fresh();
        let joined = d.handle(Input::Joined { peer: 1, height: 3, work: work(4), outbound: true }, t0);
        let unconnected = || Err(HeadersRefused::Unconnected { parent: BlockHash([5; 32]) });
        let chain = headers(&genesis(), 3, 1);
        let (_, id, _) = header_request(&joined);
        d.handle(Input::Headers { peer: 1, id, headers: chain.clone(), tip_height: 3 }, t0);
        let effects = d.handle(Input::Checked { peer: 1, result: unconnected(), full: false }, t0);
        assert!(penalized(&effects).is_empty());
        let (_, id, from) = header_request(&effects);
        assert_eq!(from, None);
        d.handle(Input::Headers { peer: 1, id, headers: chain, tip_height: 3 }, t0);
        let effects = d.handle(Input::Checked { peer: 1, result: unconnected(), full: false }, t0);
        assert_eq!(penalized(&effects), vec![(1, Offence::Unrequested)]);
    }

    #[test]
    fn a_peer_that_leaves_hands_its_blocks_back() {
        let t0 = Instant::now();
        let (mut d, _, effects) = synced_headers(200, &[2], t0);
        let of_2: BTreeSet<BlockHash> =
            block_requests(&effects).iter().filter(|r| r.0 == 2).flat_map(|r| r.2.clone()).collect();
        let effects = d.handle(Input::Left { peer: 2 }, t0);
        // Peer 1 is at its request limit: they wait; once it answers one, they go to it.
        assert!(block_requests(&effects).is_empty());
        assert!(d.blocks.values().all(|r| r.peer == 1));
        let waiting = d
            .run
            .as_ref()
            .unwrap()
            .entries
            .iter()
            .filter(|e| of_2.contains(&e.hash))
            .all(|e| matches!(e.slot, Slot::Waiting));
        assert!(waiting);
    }

    /// A peer that keeps answering with a full batch that brings nothing (headers we have, or
    /// a branch with less work beside the run) must not hold the one header request forever.
    #[test]
    fn a_full_batch_that_brings_nothing_does_not_keep_the_header_requests() {
        let t0 = Instant::now();
        let ours = headers(&genesis(), MAX_HEADERS_PER_MESSAGE, 1);
        let branch = headers(&genesis(), MAX_HEADERS_PER_MESSAGE, 2);
        let all_known = CheckedHeaders {
            fork: ours.last().unwrap().hash(),
            new: vec![],
            tail: HeaderTail::new(NET.params(), ours.clone(), work(ours.len() as u64 + 1)).unwrap(),
        };
        let cases: Vec<(&str, Vec<BlockHeader>, CheckedHeaders)> = vec![
            ("headers we have", ours.clone(), all_known),
            ("a lesser branch", branch.clone(), checked(&[genesis()], &branch)),
        ];
        for (name, answer, verdict) in cases {
            // Our chain is `ours` and a little more; peer 1 claims a huge chain, peer 2 a bit more.
            let height = ours.len() as u64 + 10;
            let mut d = Download::new(Timing::default(), work(height + 1), height);
            let mut effects =
                d.handle(Input::Joined { peer: 1, height: 1 << 40, work: work(1 << 20), outbound: true }, t0);
            effects.extend(d.handle(
                Input::Joined { peer: 2, height: height + 5, work: work(height + 6), outbound: true },
                t0,
            ));
            let mut asked_2 = false;
            for _ in 0..4 {
                let (peer, id, _) = header_request(&effects);
                if peer == 2 {
                    asked_2 = true;
                    break;
                }
                d.handle(Input::Headers { peer, id, headers: answer.clone(), tip_height: 1 << 40 }, t0);
                let result = Ok(verdict.clone());
                effects = d.handle(Input::Checked { peer, result, full: true }, t0);
                if verdict.new.is_empty() {
                    assert!(d.run.is_none(), "{name}: headers we have start no run");
                }
            }
            assert!(asked_2, "{name}: peer 1 keeps the header requests with answers that bring nothing");
        }
    }

    /// The block of `header` with its body stuffed to about a sixteenth of the largest message
    /// (its hash is the header's, whatever the body).
    fn heavy(header: &BlockHeader) -> Block {
        use ferro_shared::hash::PubkeyHash;
        use ferro_shared::tx::{Transaction, TxOut};
        use ferro_shared::Amount;
        let out = TxOut { recipient: PubkeyHash([7; 32]), amount: Amount::ZERO };
        let n = (ferro_shared::p2p::MAX_MESSAGE_BYTES / CHUNK - 1024) / 40;
        let stuffing =
            Transaction { version: 1, coinbase_height: Some(1), inputs: vec![], outputs: vec![out; n] };
        Block { header: *header, transactions: vec![stuffing] }
    }

    /// Answers every block request in `effects` and those that follow, but the one asking for
    /// the window's first block, with heavy blocks; returns that one.
    fn fill_the_buffer(
        d: &mut Download,
        chain: &[BlockHeader],
        effects: &[Effect],
        t0: Instant,
    ) -> (u64, u64, Vec<BlockHash>) {
        let by_hash: BTreeMap<BlockHash, &BlockHeader> = chain.iter().map(|h| (h.hash(), h)).collect();
        let mut pending = block_requests(effects);
        let mut front = None;
        while let Some(r) = pending.pop() {
            if r.2[0] == chain[0].hash() {
                front = Some(r);
                continue;
            }
            let blocks = r.2.iter().map(|h| heavy(by_hash[h])).collect();
            let effects = d.handle(Input::Blocks { peer: r.0, id: r.1, blocks }, t0);
            pending.extend(block_requests(&effects));
        }
        front.expect("the window's first block was asked for")
    }

    /// Blocks on their way count against the byte bound: a peer can stuff the bodies of the
    /// blocks it was asked for up to the message limit.
    #[test]
    fn blocks_held_stay_within_the_byte_bound_whatever_the_answers_weigh() {
        let t0 = Instant::now();
        let peers: Vec<u64> = (2..80).collect();
        let (mut d, chain, effects) = synced_headers(3_000, &peers, t0);
        // Nothing is imported while the first block is held: what is held only grows.
        fill_the_buffer(&mut d, &chain, &effects, t0);
        assert!(
            d.buffered_bytes() <= MAX_BUFFERED_BYTES,
            "{} bytes held, more than {MAX_BUFFERED_BYTES}",
            d.buffered_bytes()
        );
    }

    /// With the buffer full, the window's first block, left out of an answer, is asked for
    /// again: nothing else frees room, and the stall timer looks only at a requested block.
    #[test]
    fn the_next_block_to_import_is_asked_for_again_whatever_is_held() {
        let t0 = Instant::now();
        let peers: Vec<u64> = (2..80).collect();
        let (mut d, chain, effects) = synced_headers(3_000, &peers, t0);
        let (peer, id, hashes) = fill_the_buffer(&mut d, &chain, &effects, t0);
        let blocks =
            hashes[1..].iter().map(|h| heavy(chain.iter().find(|c| c.hash() == *h).unwrap())).collect();
        let effects = d.handle(Input::Blocks { peer, id, blocks }, t0);
        let again = block_requests(&effects);
        assert!(again.iter().any(|r| r.2.contains(&chain[0].hash())), "not asked again: {again:?}");
    }
}
