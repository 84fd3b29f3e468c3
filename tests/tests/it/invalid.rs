//! Bitcoin Core's hostile-peer cases (`p2p_invalid_messages.py`, `p2p_invalid_locator.py`,
//! `p2p_invalid_block.py`) as they map onto this protocol, each played by a raw WebSocket peer
//! against a real node that keeps serving an honest peer meanwhile.

use crate::hostile::{answer, expect_disconnect, handshake, hello, next, open, send};
use anyhow::{bail, ensure, Result};
use ferro_shared::hash::Txid;
use ferro_shared::p2p::{Message, WireBlock, WireHeader, MAX_HEADERS_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE};
use ferro_shared::{BlockHash, Network};
use ferro_tests::{TestNode, TestWallet};

/// p2p_invalid_locator: a locator of only unknown hashes is answered from genesis, a limit far
/// beyond the maximum is capped, and a locator longer than allowed is a protocol violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_locators_get_bounded_answers_or_a_disconnect() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    node.mine(&TestWallet::new(net, 1).address, 5).await?;
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    let unknown: Vec<BlockHash> = (0..200u8).map(|i| BlockHash([i; 32])).collect();
    send(&mut s, &Message::GetHeaders { id: 1, locator: unknown.clone(), limit: u32::MAX }).await?;
    let Message::Headers { headers, .. } = answer(&mut s, 1).await? else { bail!("not headers") };
    ensure!(headers.len() == 5 && headers.len() <= MAX_HEADERS_PER_MESSAGE, "{} headers", headers.len());
    let WireHeader(first) = &headers[0];
    ensure!(first.height == 1, "answered from genesis");
    send(&mut s, &Message::GetBlocksAfter { id: 2, locator: unknown.clone(), limit: u32::MAX }).await?;
    let Message::Blocks { blocks, .. } = answer(&mut s, 2).await? else { bail!("not blocks") };
    ensure!(blocks.len() == 5, "{} blocks", blocks.len());
    // One hash too many.
    let mut long = unknown;
    long.push(BlockHash([255; 32]));
    send(&mut s, &Message::GetHeaders { id: 3, locator: long, limit: 10 }).await?;
    expect_disconnect(&mut s, "a locator of 201 hashes").await?;
    // The node still serves an honest peer.
    let honest = TestNode::start().await?;
    honest.connect(&node).await?;
    honest.wait_until("synced", || async { Ok(honest.height().await? == 5) }).await?;
    Ok(())
}

/// p2p_invalid_messages: more items than a message may carry is a violation, caught when the
/// frame is decoded, before any of them is looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_items_in_one_message_end_the_connection() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::InvTxs(vec![Txid([1; 32]); MAX_ITEMS_PER_MESSAGE + 1])).await?;
    expect_disconnect(&mut s, "5,001 ids").await?;
    // Counted where an operator looks.
    node.wait_until("the metrics count it", || async {
        let text = node.running.node.metrics().render();
        Ok(text.contains(r#"ferro_p2p_disconnects_total{reason="penalized"} 1"#)
            && text.contains(r#"ferro_p2p_penalties_total{offence="violation"} 1"#))
    })
    .await?;
    // At the limit it is fine.
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::InvTxs(vec![Txid([1; 32]); MAX_ITEMS_PER_MESSAGE])).await?;
    send(&mut s, &Message::GetHeaders { id: 9, locator: vec![], limit: 1 }).await?;
    ensure!(matches!(answer(&mut s, 9).await?, Message::Headers { .. }), "still served");
    Ok(())
}

/// p2p_invalid_block: a copy of a valid block with its body altered (an extra transaction, so
/// the Merkle root no longer matches) gets its sender banned, but does not condemn the block:
/// the real one, from an honest peer, is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malleated_copy_does_not_condemn_the_real_block() -> Result<()> {
    let node = TestNode::start().await?;
    let miner = TestNode::start().await?;
    let net = Network::Dev;
    let mined = miner.mine(&TestWallet::new(net, 1).address, 1).await?.blocks[0].hash;
    let real = miner.running.node.store().block(&mined)?.expect("mined block stored");
    let mut altered = real.clone();
    altered.transactions.push(altered.transactions[0].clone());
    ensure!(altered.hash() == real.hash(), "same header, same hash");

    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::NewBlock(WireBlock(altered))).await?;
    expect_disconnect(&mut s, "a malleated block").await?;
    ensure!(node.height().await? == 0, "the altered copy was not taken");

    miner.connect(&node).await?;
    node.wait_for_tip(&mined).await?;
    Ok(())
}

/// p2p_invalid_tx: a transaction spending the same coin twice, sent in answer to the node's
/// own request, bans its sender; nothing of it reaches the pool, and an honest peer is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_duplicate_inputs_bans_its_sender() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    let alice = TestWallet::new(net, 41);
    node.mine(&alice.address, 1).await?;
    let mut tx =
        alice.pay(&node, &TestWallet::new(net, 42).address, ferro_shared::Amount::ONE_COIN, 2).await?.tx;
    tx.inputs.push(tx.inputs[0].clone());
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    send(&mut s, &Message::InvTxs(vec![tx.txid()])).await?;
    let id = loop {
        if let Message::GetTxs { id, .. } = next(&mut s).await? {
            break id;
        }
    };
    send(&mut s, &Message::Txs { id, txs: vec![ferro_shared::p2p::WireTx(tx)], more: false }).await?;
    expect_disconnect(&mut s, "duplicate inputs").await?;
    ensure!(node.mempool().await?.count == 0, "nothing reached the pool");
    let honest = TestNode::start().await?;
    honest.connect(&node).await?;
    honest.wait_until("synced", || async { Ok(honest.height().await? == 1) }).await?;
    Ok(())
}
