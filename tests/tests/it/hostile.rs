//! A hostile peer, played by a raw WebSocket client: every kind of bad input gets it
//! disconnected (or banned), and the node keeps serving its honest peers.

use anyhow::{bail, Result};
use ferro_shared::block::BLOCK_VERSION;
use ferro_shared::consensus::block_subsidy;
use ferro_shared::p2p::{auth_digest, Hello, Message, WireBlock, WireTx, PROTOCOL_VERSION};
use ferro_shared::pow::Work;
use ferro_shared::{Block, BlockHeader, Network, SecretKey, Transaction, TxOut};
use ferro_tests::{TestNode, TestWallet};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) fn hello(network: Network, listen_url: Option<String>) -> Hello {
    let nonce = ferro_shared::hash::sha256(&rand_id().to_le_bytes());
    Hello {
        version: PROTOCOL_VERSION,
        network,
        genesis: network.genesis_hash(),
        height: 0,
        tip: network.genesis_hash(),
        work: Work::ZERO,
        listen_url,
        node_key: identity(&nonce).public_key(),
        nonce,
        agent: "hostile/1".into(),
    }
}

/// Different on every call: the time and a counter.
fn rand_id() -> u128 {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(7);
    nanos ^ (u128::from(n) << 64)
}

/// The node key of a test peer whose hello carries `nonce`: derived from it, so that a hello
/// is all a test needs to complete its handshake.
fn identity(nonce: &[u8; 32]) -> SecretKey {
    SecretKey::from_bytes(&ferro_shared::hash::sha256(nonce)).expect("a hash is a valid secret key")
}

pub(crate) async fn open(node: &TestNode) -> Result<Socket> {
    let (socket, _) = tokio_tungstenite::connect_async(node.p2p_url()).await?;
    Ok(socket)
}

pub(crate) async fn send(socket: &mut Socket, message: &Message) -> Result<()> {
    socket.send(Ws::Binary(message.to_frame().into())).await?;
    Ok(())
}

/// Completes a handshake as the dialing side (hello, then proof of identity, then the node's
/// proof, which is checked) and returns the node's hello.
pub(crate) async fn handshake(socket: &mut Socket, ours: Hello) -> Result<Hello> {
    send(socket, &Message::Hello(ours.clone())).await?;
    let theirs = match next(socket).await? {
        Message::Hello(h) => h,
        other => bail!("expected hello, got {}", other.kind()),
    };
    let digest = auth_digest(&ours.genesis, &theirs.nonce, &ours.node_key, &theirs.node_key);
    send(socket, &Message::Auth(identity(&ours.nonce).sign_digest(&digest))).await?;
    match next(socket).await? {
        Message::Auth(proof) => {
            let digest = auth_digest(&ours.genesis, &ours.nonce, &theirs.node_key, &ours.node_key);
            theirs.node_key.verify_digest(&digest, &proof)?;
        }
        other => bail!("expected auth, got {}", other.kind()),
    }
    Ok(theirs)
}

/// The answer to request `id` (blocks, headers or filters), skipping what else the node sends.
pub(crate) async fn answer(socket: &mut Socket, id: u64) -> Result<Message> {
    loop {
        match next(socket).await? {
            m @ (Message::Blocks { id: got, .. }
            | Message::Headers { id: got, .. }
            | Message::Filters { id: got, .. })
                if got == id =>
            {
                return Ok(m)
            }
            _ => continue,
        }
    }
}

pub(crate) async fn next(socket: &mut Socket) -> Result<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await? {
            Some(Ok(Ws::Binary(b))) => return Ok(Message::from_frame(&b)?),
            Some(Ok(_)) => continue,
            other => bail!("connection ended during the handshake: {other:?}"),
        }
    }
}

/// Reads until the node closes the connection; fails if it stays open.
pub(crate) async fn expect_disconnect(socket: &mut Socket, what: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => bail!("{what}: the node kept the connection open"),
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Ws::Close(_)))) => return Ok(()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

fn block_with_bad_proof_of_work(network: Network) -> Block {
    let genesis = network.genesis_block();
    let params = network.params();
    let coinbase = Transaction::coinbase(
        1,
        vec![TxOut { recipient: Default::default(), amount: block_subsidy(params, 1) }],
    );
    let mut block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            height: 1,
            prev: genesis.hash(),
            merkle_root: Default::default(),
            filter_hash: Default::default(),
            time: genesis.header.time + 1,
            bits: params.pow_limit,
            nonce: 0,
        },
        transactions: vec![coinbase],
    };
    block.commit_transactions();
    let target = ferro_shared::pow::Target::from_compact(block.header.bits).expect("valid");
    while target.is_met_by(&block.hash()) {
        block.header.nonce += 1;
    }
    block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_cut_off_and_honest_ones_served() -> Result<()> {
    let node = TestNode::start().await?;
    let honest = TestNode::start().await?;
    honest.connect(&node).await?;
    let net = Network::Dev;

    // Garbage instead of a hello.
    let mut s = open(&node).await?;
    s.send(Ws::Binary(vec![0xde, 0xad, 0xbe, 0xef].into())).await?;
    expect_disconnect(&mut s, "garbage before hello").await?;

    // Garbage after a good hello.
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    s.send(Ws::Binary(vec![0xff; 64].into())).await?;
    expect_disconnect(&mut s, "garbage after hello").await?;

    // A text frame.
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    s.send(Ws::Text("{\"type\":\"hello\"}".into())).await?;
    expect_disconnect(&mut s, "text frame").await?;

    // An oversized frame.
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    let _ = s.send(Ws::Binary(vec![0u8; 5 * 1024 * 1024].into())).await;
    expect_disconnect(&mut s, "oversized frame").await?;

    // A peer of another network (the test network's genesis).
    let mut s = open(&node).await?;
    send(&mut s, &Message::Hello(hello(Network::Test, None))).await?;
    expect_disconnect(&mut s, "wrong genesis").await?;
    let mut forged = hello(net, None);
    forged.genesis = Network::Test.genesis_hash();
    let mut s = open(&node).await?;
    send(&mut s, &Message::Hello(forged)).await?;
    expect_disconnect(&mut s, "right network name, wrong genesis").await?;
    // A version 1 peer: its transaction signatures do not commit to the coins they spend, so
    // nothing it relays could be valid here, nor the other way round.
    let mut old = hello(net, None);
    old.version = 1;
    let mut s = open(&node).await?;
    send(&mut s, &Message::Hello(old)).await?;
    expect_disconnect(&mut s, "protocol version 1").await?;

    // A block with bad proof of work: the peer is banned (on loopback, by its node key), so the
    // same node coming back is refused at its handshake.
    let liar = hello(net, Some("ws://127.0.0.1:9/p2p".to_string()));
    let mut s = open(&node).await?;
    handshake(&mut s, liar.clone()).await?;
    send(&mut s, &Message::NewBlock(WireBlock(block_with_bad_proof_of_work(net)))).await?;
    expect_disconnect(&mut s, "bad proof of work").await?;
    let mut s = open(&node).await?;
    let _ = handshake(&mut s, liar.clone()).await;
    expect_disconnect(&mut s, "banned peer returning").await?;
    // The ban outlives a restart of the node (on a new port: the honest peer is told where).
    let node = node.restart().await?;
    honest.connect(&node).await?;
    let mut s = open(&node).await?;
    let _ = handshake(&mut s, liar).await;
    expect_disconnect(&mut s, "banned peer returning after a restart").await?;

    // An invalid transaction (a signature over other outputs), pushed as an answer nobody asked
    // for, and again as a proper answer to the node's request.
    let alice = TestWallet::new(net, 31);
    node.mine(&alice.address, 1).await?;
    let mut bad =
        alice.pay(&node, &TestWallet::new(net, 32).address, ferro_shared::Amount::ONE_COIN, 2).await?.tx;
    bad.outputs[0].amount = ferro_shared::Amount::from_units(bad.outputs[0].amount.units() + 1);
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::InvTxs(vec![bad.txid()])).await?;
    let request_id = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.next()).await? {
            Some(Ok(Ws::Binary(b))) => {
                if let Message::GetTxs { id, txids } = Message::from_frame(&b)? {
                    assert_eq!(txids, vec![bad.txid()]);
                    break id;
                }
            }
            Some(Ok(_)) => continue,
            other => bail!("no request for the announced transaction: {other:?}"),
        }
    };
    send(&mut s, &Message::Txs { id: request_id, txs: vec![WireTx(bad.clone())], more: false }).await?;
    expect_disconnect(&mut s, "invalid transaction").await?;

    // The node is unharmed: it answers, kept its honest peer, and relays to it.
    assert_eq!(node.height().await?, 1);
    assert_eq!(node.mempool().await?.count, 0);
    let peers = node.peers().await?;
    assert_eq!(peers.len(), 1, "only the honest peer remains: {peers:?}");
    let b = node.mine(&alice.address, 1).await?.blocks[0].hash;
    honest.wait_for_tip(&b).await?;
    Ok(())
}

/// A mined block on `parent` (dev network: the difficulty never changes), its time `salt`
/// seconds after now so siblings differ.
fn cheap_block_on(parent: &BlockHeader, parent_hash: ferro_shared::BlockHash, salt: u64) -> Block {
    let params = Network::Dev.params();
    let height = parent.height + 1;
    let coinbase = Transaction::coinbase(
        height,
        vec![TxOut { recipient: Default::default(), amount: block_subsidy(params, height) }],
    );
    let now = ferro_node::node::unix_now();
    let mut block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            height,
            prev: parent_hash,
            merkle_root: Default::default(),
            filter_hash: Default::default(),
            time: (parent.time + 1).max(now + salt),
            bits: params.pow_limit,
            nonce: 0,
        },
        transactions: vec![coinbase],
    };
    block.commit_transactions();
    let target = ferro_shared::pow::Target::from_compact(block.header.bits).expect("valid");
    while !target.is_met_by(&block.hash()) {
        block.header.nonce += 1;
    }
    block
}

/// Stored blocks off the active chain: how many, and their bytes, counted in the store.
fn stored_side_blocks(node: &TestNode) -> Result<(usize, u64)> {
    let store = node.running.node.store();
    let active: std::collections::HashSet<_> = store.load_active()?.into_iter().collect();
    let mut count = 0;
    let mut bytes = 0;
    for (hash, _) in store.load_index()? {
        if !active.contains(&hash) {
            count += 1;
            bytes += store.block_bytes(&hash)?.map_or(0, |b| b.len() as u64);
        }
    }
    Ok((count, bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheap_forks_from_genesis_and_deep_are_neither_stored_nor_relayed() -> Result<()> {
    // G - 1 - ... - 10*           the node's chain, also its honest peer's
    // |\ 1' - 2' - 3'   (×n)      cheap forks from genesis
    // |        \ 6' - 7' - 8' (×n) and from deep in the chain: each less work than the tip
    // |                   \ 10''  one competing tip (equal work): stored, within the bound
    let node = TestNode::start().await?;
    let honest = TestNode::start().await?;
    honest.connect(&node).await?;
    let net = Network::Dev;
    let alice = TestWallet::new(net, 41);
    let mined = node.mine(&alice.address, 10).await?;
    honest.wait_for_tip(&mined.blocks[9].hash).await?;

    let store = node.running.node.store().clone();
    let header_at = |height: u64| -> Result<(BlockHeader, ferro_shared::BlockHash)> {
        let hash = store.hash_at(height)?.ok_or_else(|| anyhow::anyhow!("no block at {height}"))?;
        Ok((store.block(&hash)?.expect("stored").header, hash))
    };
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    let mut forks = Vec::new();
    let mut salt = 0;
    for round in 0..20 {
        let (mut parent, mut parent_hash) = header_at(if round % 2 == 0 { 0 } else { 5 })?;
        for _ in 0..3 {
            salt += 1;
            let block = cheap_block_on(&parent, parent_hash, salt);
            (parent, parent_hash) = (block.header, block.hash());
            forks.push(parent_hash);
            send(&mut s, &Message::NewBlock(WireBlock(block))).await?;
        }
    }
    // Then a competing tip, sent last: once it is stored, everything before it was handled.
    let (parent, parent_hash) = header_at(9)?;
    let sibling = cheap_block_on(&parent, parent_hash, 1_000);
    send(&mut s, &Message::NewBlock(WireBlock(sibling.clone()))).await?;
    let sibling_hash = sibling.hash();
    ferro_tests::wait_until("the competing tip is stored", || {
        let store = store.clone();
        async move { Ok(store.block(&sibling_hash)?.is_some()) }
    })
    .await?;

    for hash in &forks {
        assert!(store.block(hash)?.is_none(), "a cheap fork block {hash} was stored");
    }
    let side = stored_side_blocks(&node)?;
    assert_eq!(side, (1, sibling.size() as u64), "only the competing tip is stored off the active chain");
    assert!(side.1 <= ferro_node::chain::MAX_SIDE_BYTES);
    assert_eq!(node.running.node.metrics().side_chain_bytes.get() as u64, side.1);
    assert_eq!(node.height().await?, 10);
    assert_eq!(node.status().await?.tip, mined.blocks[9].hash, "the first seen stays the tip");

    // Past 16 in ten minutes, each costs the sender 10 points: 10 more and it is cut off.
    for _ in 0..10 {
        salt += 1;
        let (parent, parent_hash) = header_at(0)?;
        let block = cheap_block_on(&parent, parent_hash, salt);
        forks.push(block.hash());
        let _ = send(&mut s, &Message::NewBlock(WireBlock(block))).await;
    }
    expect_disconnect(&mut s, "a stream of cheap forks").await?;
    assert_eq!(stored_side_blocks(&node)?, side, "still nothing more stored");

    // Honest relay goes on, and none of the cheap forks reached the honest peer.
    let next = node.mine(&alice.address, 1).await?.blocks[0].hash;
    honest.wait_for_tip(&next).await?;
    for hash in &forks {
        assert!(honest.running.node.store().block(hash)?.is_none(), "{hash} was relayed");
    }
    Ok(())
}

/// One small request naming the same pending transaction 5,000 times gets it once, not 5,000
/// copies (a 100 kB transaction would make that half a gigabyte of answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_repeating_one_txid_gets_one_copy() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    let (alice, bob) = (TestWallet::new(net, 1), TestWallet::new(net, 2));
    node.mine(&alice.address, 1).await?;
    let paid = alice.pay(&node, &bob.address, ferro_shared::Amount::ONE_COIN, 1).await?;
    let txid = node.submit(&paid.tx).await?.map_err(|e| anyhow::anyhow!("refused: {e:?}"))?;

    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::GetTxs { id: 7, txids: vec![txid; 5_000] }).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut copies = 0;
    loop {
        match tokio::time::timeout_at(deadline, s.next()).await? {
            Some(Ok(Ws::Binary(b))) => {
                if let Message::Txs { id: 7, txs, more } = Message::from_frame(&b)? {
                    copies += txs.iter().filter(|WireTx(tx)| tx.txid() == txid).count();
                    if !more {
                        break;
                    }
                }
            }
            Some(Ok(_)) => continue,
            other => bail!("connection ended before the answer: {other:?}"),
        }
    }
    assert_eq!(copies, 1);
    Ok(())
}

/// A stranger cannot connect as another node: it would have to sign the node's challenge with
/// that node's key. So it can neither take an honest node's place nor lock it out as a
/// duplicate, which a claimed id alone could.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_connect_as_another_node() -> Result<()> {
    let node = TestNode::start().await?;
    let honest = TestNode::start().await?;
    let net = Network::Dev;
    // The honest node's key, as anyone can learn it from its hello.
    let mut probe = open(&honest).await?;
    let honest_key = handshake(&mut probe, hello(net, None)).await?.node_key;
    drop(probe);

    // Claim it, and prove it with another key: refused before anything else is served.
    let mut squatter = open(&node).await?;
    let mut claim = hello(net, None);
    let own_key = claim.node_key;
    claim.node_key = honest_key;
    send(&mut squatter, &Message::Hello(claim.clone())).await?;
    let theirs = match next(&mut squatter).await? {
        Message::Hello(h) => h,
        other => bail!("expected hello, got {}", other.kind()),
    };
    let digest = auth_digest(&claim.genesis, &theirs.nonce, &claim.node_key, &theirs.node_key);
    send(&mut squatter, &Message::Auth(identity(&claim.nonce).sign_digest(&digest))).await?;
    expect_disconnect(&mut squatter, "a claimed identity").await?;
    assert_ne!(own_key, honest_key);

    // The honest node connects as itself.
    honest.connect(&node).await?;
    let id = format!("{:016x}", ferro_shared::p2p::node_id(&honest_key));
    node.wait_until("the honest node is a peer", || async {
        Ok(node.peers().await?.iter().any(|p| p.id == id))
    })
    .await?;
    Ok(())
}

/// Callers that send a hello and then nothing hold a handshake slot each, for at most the
/// handshake timeout, and there are only so many (two per inbound slot): beyond them, a
/// connection is dropped at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_handshakes_are_bounded() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    let mut sockets = vec![];
    for _ in 0..80 {
        let mut s = open(&node).await?;
        send(&mut s, &Message::Hello(hello(net, None))).await?;
        sockets.push(s);
    }
    // Those beyond the slots are closed right away; the others wait for their proof (for the
    // 10 s handshake timeout, longer than this look).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let closed = futures_util::future::join_all(sockets.iter_mut().map(|s| async move {
        loop {
            match tokio::time::timeout_at(deadline, s.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Ws::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }))
    .await;
    let dropped = closed.into_iter().filter(|c| *c).count();
    assert_eq!(dropped, 80 - 64, "2 × 32 inbound slots");
    Ok(())
}

/// A node with no room refuses a caller before proving itself, so the caller's connect fails
/// instead of reporting a connection that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_caller_is_told_so() -> Result<()> {
    let node = TestNode::start().await?;
    let honest = TestNode::start().await?;
    let net = Network::Dev;
    let mut held = vec![];
    for _ in 0..32 {
        let mut s = open(&node).await?;
        handshake(&mut s, hello(net, None)).await?;
        held.push(s);
    }
    assert!(honest.connect(&node).await.is_err(), "connect reported success with every slot taken");
    drop(held);
    node.wait_until("slots free", || async { Ok(node.peers().await?.is_empty()) }).await?;
    honest.connect(&node).await?;
    Ok(())
}

/// Headers-first sync from several peers: a peer that serves its headers and then sits on the
/// blocks it was asked for holds up the download window; once another peer can bring them, it
/// is dropped and the node gets its chain from the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stalls_the_block_download_is_replaced() -> Result<()> {
    let net = Network::Dev;
    let a = TestNode::start().await?;
    let tip = a.mine(&TestWallet::new(net, 91).address, 40).await?.blocks[39].hash;
    // The staller takes A's headers, as any peer could.
    let mut from_a = open(&a).await?;
    handshake(&mut from_a, hello(net, None)).await?;
    let locator = vec![net.genesis_hash()];
    send(&mut from_a, &Message::GetHeaders { id: 1, locator, limit: 2000 }).await?;
    let Message::Headers { headers, .. } = answer(&mut from_a, 1).await? else { unreachable!() };
    assert_eq!(headers.len(), 40);

    // B meets the staller first: it is asked for headers, then for every block.
    let b = TestNode::start().await?;
    let mut staller = open(&b).await?;
    let mut claim = hello(net, None);
    claim.height = 40;
    claim.work = Work::from_be_bytes([0xff; 32]);
    handshake(&mut staller, claim).await?;
    let mut asked_blocks = 0;
    while asked_blocks == 0 {
        match next(&mut staller).await? {
            Message::GetHeaders { id, .. } => {
                let answer = Message::Headers { id, headers: headers.clone(), tip_height: 40 };
                send(&mut staller, &answer).await?;
            }
            Message::GetBlocks { hashes, .. } => asked_blocks += hashes.len(),
            _ => continue,
        }
    }
    // A honest peer comes along: within the stall timeout (5 s) the staller is dropped and the
    // chain comes from A.
    b.connect(&a).await?;
    b.wait_for_tip(&tip).await?;
    expect_disconnect(&mut staller, "a peer that stalls the download").await?;
    assert_eq!(b.height().await?, 40);
    Ok(())
}

/// A request whose answer is small but whose look-ups are many (500 hashes of blocks the node
/// does not have) costs its asker from its budget: a stranger repeating it is served at the
/// budget's rate, not as fast as it can send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_of_what_the_node_lacks_are_charged_to_the_asker() -> Result<()> {
    let node = TestNode::start().await?;
    let mut s = open(&node).await?;
    handshake(&mut s, hello(Network::Dev, None)).await?;
    // 300 requests of 500 look-ups each: 150,000 look-ups, far beyond a burst of the budget.
    const REQUESTS: u64 = 300;
    let started = std::time::Instant::now();
    for id in 1..=REQUESTS {
        let hashes = (0..500u64)
            .map(|i| {
                ferro_shared::BlockHash::from_bytes(ferro_shared::hash::sha256(
                    &(id * 1_000 + i).to_le_bytes(),
                ))
            })
            .collect();
        send(&mut s, &Message::GetBlocks { id, hashes }).await?;
    }
    // Requests are answered in order: the last answer comes last.
    match answer(&mut s, REQUESTS).await? {
        Message::Blocks { blocks, .. } => assert!(blocks.is_empty()),
        other => bail!("expected blocks, got {}", other.kind()),
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(4), "150,000 look-ups served in {elapsed:?}");
    Ok(())
}
