//! A node under attack: a real `ferro` process V sits between two honest nodes (H1 → V → H2),
//! and hostile peers, played by raw WebSocket clients in this process, connect to V:
//!
//! - a *slow reader* asks for large answers (blocks, filters) and never reads them;
//! - a *request flooder* asks for headers, filters and blocks as fast as it may (below the
//!   flood limit) and reads every answer;
//! - an *address gossiper* sends 100 addresses ten times a second, some malformed (it is
//!   banned and comes back with a new key), most valid but unreachable;
//! - an *invalid-signature flooder* announces a transaction, serves it with a signature that does
//!   not verify (spending a real coin, so V must verify it), is banned, and comes back with a
//!   new key.
//!
//! Honest propagation (a transaction and a block from H1 to H2 through V) is timed with no
//! attacker and again under attack; V's resident memory and CPU time are read from `/proc`.

use crate::fund::{self, BenchKey};
use crate::harness::{start_node, wait_for_tip};
use crate::memory::FerroProcess;
use crate::propagation::median;
use anyhow::{bail, Context, Result};
use ferro_node::server::RunningNode;
use ferro_node::{Node, NodeEvent, Origin};
use ferro_shared::p2p::{auth_digest, Hello, Message, WireTx, PROTOCOL_VERSION};
use ferro_shared::pow::Work;
use ferro_shared::{Network, SecretKey, Transaction};
use futures_util::{SinkExt, StreamExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ITEM_TIMEOUT: Duration = Duration::from_secs(30);
/// Payments mined into V's chain (in four blocks) so that its answers are large.
const FILLER_TXS: usize = 2_000;

/// The kinds of attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SlowReader,
    RequestFlooder,
    AddrGossiper,
    InvalidSignatures,
}

impl Kind {
    pub const ALL: [Kind; 4] =
        [Kind::SlowReader, Kind::RequestFlooder, Kind::AddrGossiper, Kind::InvalidSignatures];
}

/// One phase's figures: quiet or under attack.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// Median milliseconds from H1 to H2 through V.
    pub tx_ms: f64,
    pub block_ms: f64,
    /// V's resident memory: at the end of the quiet phase; the most seen under attack.
    pub rss_mb: f64,
    /// V's CPU seconds over the phase's wall seconds.
    pub cpu_share: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// Attackers of each kind.
    pub per_kind: usize,
    pub quiet: Phase,
    pub attacked: Phase,
    /// What the attackers got through: connections made, messages sent.
    pub connections: u64,
    pub messages: u64,
}

impl Report {
    pub fn hostile_peers(&self) -> usize {
        self.per_kind * Kind::ALL.len()
    }

    pub fn rss_growth_per_peer_mb(&self) -> f64 {
        (self.attacked.rss_mb - self.quiet.rss_mb).max(0.0) / self.hostile_peers() as f64
    }

    pub fn tx_ratio(&self) -> f64 {
        self.attacked.tx_ms / self.quiet.tx_ms
    }

    pub fn block_ratio(&self) -> f64 {
        self.attacked.block_ms / self.quiet.block_ms
    }

    /// V's CPU share under attack less the quiet share, per hostile peer.
    pub fn cpu_per_peer(&self) -> f64 {
        (self.attacked.cpu_share - self.quiet.cpu_share).max(0.0) / self.hostile_peers() as f64
    }
}

/// What the attackers share: where V is, coins to make invalid spends of, the stop flag and
/// counters.
struct Arena {
    url: String,
    bad_txs: Vec<Transaction>,
    stop: AtomicBool,
    connections: AtomicU64,
    /// Handshakes completed by each kind, in the order of [`Kind::ALL`].
    connections_by_kind: [AtomicU64; 4],
    messages: AtomicU64,
    next_key: AtomicU64,
}

pub async fn run(ferro: &Path, per_kind: usize, reps: usize, warmup: Duration) -> Result<Report> {
    let (h1, _d1) = start_node(|_| {}).await?;
    let (h2, _d2) = start_node(|_| {}).await?;
    let dir = TempDir::new()?;
    let mut v = FerroProcess::start(ferro, &dir.path().join("data"), &[]).await?;
    let v_p2p = format!("{}/p2p", v.url.replacen("http", "ws", 1));
    for h in [&h1, &h2] {
        h.p2p.connect(&v_p2p).await.map_err(|e| anyhow::anyhow!("connecting to V: {e}"))?;
    }
    // Coins for honest payments (two per repetition and phase), for the bad spends, and for
    // blocks of payments that make V's answers large.
    let key = BenchKey::new(5);
    let coins = fund::fund(&h1.node, &key, 4 * reps + 64 + FILLER_TXS).await?;
    caught_up(&h1, &v, &h2).await?;
    let tip = h1.node.tip().hash;
    v.wait_until(|s| s.tip == tip).await?;
    let mut spends = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || fund::sign_spends(&key, Network::Dev, &coins, key.pkh)).await?
    };
    let filler = spends.split_off(4 * reps + 64);
    for block in filler.chunks(FILLER_TXS / 4) {
        fund::mine_block_with(&h1.node, key.pkh, block.to_vec()).await?;
    }
    caught_up(&h1, &v, &h2).await?;
    let bad = spends.split_off(4 * reps);
    // Each bad spend carries another's signature: well formed, spends a real coin, fails to
    // verify.
    let bad_txs: Vec<Transaction> = bad
        .iter()
        .zip(bad.iter().cycle().skip(1))
        .map(|((tx, _), (other, _))| {
            let mut tx = tx.clone();
            tx.inputs[0].signature = other.inputs[0].signature;
            tx
        })
        .collect();
    let mut honest = spends.into_iter().map(|(tx, _)| tx);

    eprintln!("  hostile: quiet, {reps} transactions and {reps} blocks from H1 to H2 through V");
    let cpu_before = v.cpu_secs()?;
    let started = Instant::now();
    let mut quiet = phase(&h1, &h2, &mut honest, reps, &key).await?;
    quiet.cpu_share = (v.cpu_secs()? - cpu_before) / started.elapsed().as_secs_f64();
    quiet.rss_mb = crate::memory::rss_kb(v.pid())? as f64 / 1024.0;
    eprintln!(
        "    tx {:.1} ms, block {:.1} ms, V RSS {:.1} MiB, V CPU {:.0}%",
        quiet.tx_ms,
        quiet.block_ms,
        quiet.rss_mb,
        quiet.cpu_share * 100.0
    );

    let arena = Arc::new(Arena {
        url: v_p2p.clone(),
        bad_txs,
        stop: AtomicBool::new(false),
        connections: AtomicU64::new(0),
        connections_by_kind: Default::default(),
        messages: AtomicU64::new(0),
        next_key: AtomicU64::new(1),
    });
    let mut attackers = vec![];
    for kind in Kind::ALL {
        for _ in 0..per_kind {
            attackers.push(tokio::spawn(attack(arena.clone(), kind)));
        }
    }
    eprintln!(
        "  hostile: {} attackers ({per_kind} of each kind) on V for {warmup:?}, then the same again",
        attackers.len()
    );
    let cpu_before = v.cpu_secs()?;
    let started = Instant::now();
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (pid, peak, arena) = (v.pid(), peak.clone(), arena.clone());
        tokio::spawn(async move {
            while !arena.stop.load(Ordering::Relaxed) {
                if let Ok(kb) = crate::memory::rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // Long enough for slow readers to fill their queues and be cut off, and come back.
    tokio::time::sleep(warmup).await;
    let timed = phase(&h1, &h2, &mut honest, reps, &key).await;
    let cpu_share = (v.cpu_secs()? - cpu_before) / started.elapsed().as_secs_f64();
    arena.stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    for a in attackers {
        let _ = a.await;
    }
    let mut attacked = timed?;
    attacked.cpu_share = cpu_share;
    attacked.rss_mb = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    eprintln!(
        "    tx {:.1} ms, block {:.1} ms, V RSS at most {:.1} MiB, V CPU {:.0}%; {} connections, {} messages",
        attacked.tx_ms,
        attacked.block_ms,
        attacked.rss_mb,
        attacked.cpu_share * 100.0,
        arena.connections.load(Ordering::Relaxed),
        arena.messages.load(Ordering::Relaxed)
    );
    // An attack that never got past the handshake measured nothing: that is a failure, not a
    // quiet figure.
    for (kind, count) in Kind::ALL.iter().zip(&arena.connections_by_kind) {
        if count.load(Ordering::Relaxed) == 0 {
            bail!("no {kind:?} attacker completed a handshake with V");
        }
    }
    let report = Report {
        per_kind,
        quiet,
        attacked,
        connections: arena.connections.load(Ordering::Relaxed),
        messages: arena.messages.load(Ordering::Relaxed),
    };
    // V must still be up and serving.
    v.status().await.context("V stopped answering")?;
    v.stop().await?;
    h1.shutdown().await?;
    h2.shutdown().await?;
    Ok(report)
}

/// Waits until H2 has H1's tip; says where each node stands if it does not.
async fn caught_up(h1: &RunningNode, v: &FerroProcess, h2: &RunningNode) -> Result<()> {
    let tip = h1.node.tip();
    if wait_for_tip(&h2.node, tip.hash, ITEM_TIMEOUT).await.is_ok() {
        return Ok(());
    }
    let v_height =
        v.status().await.map(|s| s.height.to_string()).unwrap_or_else(|e| format!("unknown ({e})"));
    bail!(
        "H2 did not reach H1's tip within {ITEM_TIMEOUT:?}: H1 at {}, V at {v_height}, H2 at {} (peers: H1 {}, H2 {})",
        tip.height,
        h2.node.tip().height,
        h1.p2p.stats().peers,
        h2.p2p.stats().peers
    )
}

/// Times `reps` transactions, then `reps` blocks, from H1 to H2 through V.
async fn phase(
    h1: &RunningNode,
    h2: &RunningNode,
    honest: &mut impl Iterator<Item = Transaction>,
    reps: usize,
    key: &BenchKey,
) -> Result<Phase> {
    let mut tx_ms = vec![];
    for _ in 0..reps {
        let tx = honest.next().context("out of honest payments")?;
        tx_ms.push(time_tx(&h1.node, &h2.node, tx).await?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut block_ms = vec![];
    for _ in 0..reps {
        let payment = honest.next().context("out of honest payments")?;
        let fee = payment.size() as u64;
        let t0 = Instant::now();
        let paid = vec![(payment, ferro_shared::Amount::from_units(fee))];
        let block = fund::mine_block_with(&h1.node, key.pkh, paid).await?;
        wait_for_tip(&h2.node, block.hash(), ITEM_TIMEOUT).await?;
        block_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Phase { tx_ms: median(&tx_ms), block_ms: median(&block_ms), ..Phase::default() })
}

async fn time_tx(from: &Node, to: &Node, tx: Transaction) -> Result<f64> {
    let txid = tx.txid();
    let mut events = to.subscribe();
    let t0 = Instant::now();
    from.submit_transaction(tx, Origin::Local).await?;
    let deadline = tokio::time::Instant::now() + ITEM_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => bail!("a transaction did not cross V within {ITEM_TIMEOUT:?}"),
            Ok(Ok(NodeEvent::Tx { txid: t, .. })) if t == txid => return Ok(t0.elapsed().as_secs_f64() * 1e3),
            Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) => bail!("H2 stopped"),
        }
    }
}

/// One attacker: connects, does its worst until cut off, and comes back with a new key, until
/// told to stop.
async fn attack(arena: Arc<Arena>, kind: Kind) {
    while !arena.stop.load(Ordering::Relaxed) {
        let seed = arena.next_key.fetch_add(1, Ordering::Relaxed);
        match connect(&arena, seed).await {
            Ok(socket) => {
                arena.connections.fetch_add(1, Ordering::Relaxed);
                let index = Kind::ALL.iter().position(|k| *k == kind).expect("a kind");
                arena.connections_by_kind[index].fetch_add(1, Ordering::Relaxed);
                let _ = match kind {
                    Kind::SlowReader => slow_reader(&arena, socket).await,
                    Kind::RequestFlooder => request_flooder(&arena, socket).await,
                    Kind::AddrGossiper => addr_gossiper(&arena, socket, seed).await,
                    Kind::InvalidSignatures => invalid_signatures(&arena, socket, seed).await,
                };
            }
            // Refused (banned keys are fresh, so: full, or too many handshakes): try again soon.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn secret(seed: u64) -> SecretKey {
    let mut bytes = ferro_shared::hash::sha256(&seed.to_le_bytes());
    bytes[0] = 0x42;
    SecretKey::from_bytes(&bytes).expect("a valid secret key")
}

async fn send(arena: &Arena, socket: &mut Socket, message: &Message) -> Result<()> {
    socket.send(Ws::Binary(message.to_frame().into())).await?;
    arena.messages.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn next(socket: &mut Socket) -> Result<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await? {
            Some(Ok(Ws::Binary(b))) => return Ok(Message::from_frame(&b)?),
            Some(Ok(_)) => continue,
            other => bail!("connection ended: {other:?}"),
        }
    }
}

/// Dials V and completes a handshake under a key made from `seed`.
async fn connect(arena: &Arena, seed: u64) -> Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(&arena.url).await?;
    let key = secret(seed);
    let nonce = ferro_shared::hash::sha256(&(seed ^ 0xdead_beef).to_le_bytes());
    let network = Network::Dev;
    let ours = Hello {
        version: PROTOCOL_VERSION,
        network,
        genesis: network.genesis_hash(),
        height: 0,
        tip: network.genesis_hash(),
        work: Work::ZERO,
        listen_url: None,
        node_key: key.public_key(),
        nonce,
        agent: "hostile/1".into(),
    };
    send(arena, &mut socket, &Message::Hello(ours.clone())).await?;
    let theirs = match next(&mut socket).await? {
        Message::Hello(h) => h,
        other => bail!("expected hello, got {}", other.kind()),
    };
    let digest = auth_digest(&ours.genesis, &theirs.nonce, &ours.node_key, &theirs.node_key);
    send(arena, &mut socket, &Message::Auth(key.sign_digest(&digest))).await?;
    match next(&mut socket).await? {
        Message::Auth(_) => Ok(socket),
        other => bail!("expected auth, got {}", other.kind()),
    }
}

/// Asks for the largest answers V gives and never reads.
async fn slow_reader(arena: &Arena, mut socket: Socket) -> Result<()> {
    let genesis = Network::Dev.genesis_hash();
    let mut id = 1;
    while !arena.stop.load(Ordering::Relaxed) {
        id += 1;
        let m = if id % 2 == 0 {
            Message::GetBlocksAfter { id, locator: vec![genesis], limit: 500 }
        } else {
            Message::GetFilters { id, from: 0, limit: 1000 }
        };
        // A write that does not go through in time means V cut us off (or its buffers are
        // full): either way, the next connection.
        tokio::time::timeout(Duration::from_secs(5), send(arena, &mut socket, &m)).await??;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Requests as fast as the flood limit allows (about 2,000 a second), reading every answer.
async fn request_flooder(arena: &Arena, socket: Socket) -> Result<()> {
    let (mut sink, mut stream) = socket.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let genesis = Network::Dev.genesis_hash();
    let mut id = 1u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while !arena.stop.load(Ordering::Relaxed) && !reader.is_finished() {
        tick.tick().await;
        for _ in 0..20 {
            id += 1;
            let m = match id % 3 {
                0 => Message::GetHeaders { id, locator: vec![genesis], limit: 2000 },
                1 => Message::GetFilters { id, from: 0, limit: 1000 },
                _ => Message::GetBlocksAfter { id, locator: vec![genesis], limit: 500 },
            };
            sink.send(Ws::Binary(m.to_frame().into())).await?;
            arena.messages.fetch_add(1, Ordering::Relaxed);
        }
    }
    reader.abort();
    Ok(())
}

/// 100 addresses every 100 ms: mostly valid and unreachable, one in ten batches malformed.
async fn addr_gossiper(arena: &Arena, mut socket: Socket, seed: u64) -> Result<()> {
    let mut round = 0u64;
    while !arena.stop.load(Ordering::Relaxed) {
        round += 1;
        let urls: Vec<String> = (0..100u64)
            .map(|i| {
                let n = seed.wrapping_mul(1_000_003).wrapping_add(round * 100 + i);
                if round % 10 == 0 {
                    format!("http://junk {n}/?x=1")
                } else {
                    format!(
                        "ws://10.{}.{}.{}:{}/p2p",
                        (n >> 16) % 256,
                        (n >> 8) % 256,
                        n % 256,
                        1024 + n % 60_000
                    )
                }
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(5), send(arena, &mut socket, &Message::Addrs(urls)))
            .await??;
        // Drain what V sends, so this attacker is not also a slow reader.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), socket.next()).await {}
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Announces a transaction and serves it with a signature that does not verify.
async fn invalid_signatures(arena: &Arena, mut socket: Socket, seed: u64) -> Result<()> {
    let tx = arena.bad_txs[seed as usize % arena.bad_txs.len()].clone();
    send(arena, &mut socket, &Message::InvTxs(vec![tx.txid()])).await?;
    loop {
        match next(&mut socket).await? {
            Message::GetTxs { id, .. } => {
                send(arena, &mut socket, &Message::Txs { id, txs: vec![WireTx(tx)], more: false }).await?;
                break;
            }
            _ => continue,
        }
    }
    // Banned: read until V closes.
    while next(&mut socket).await.is_ok() {}
    Ok(())
}
