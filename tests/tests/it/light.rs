//! A light client, played by a raw WebSocket peer: it downloads headers and block filters from a
//! real node, checks every header's proof of work and every filter against the header that
//! commits to it, and finds exactly the blocks that pay its address.

use crate::hostile::{answer, handshake, hello, open, send};
use anyhow::{bail, ensure, Result};
use ferro_shared::p2p::{Message, WireFilter, WireHeader};
use ferro_shared::pow::Target;
use ferro_shared::{BlockHeader, Network};
use ferro_tests::{TestNode, TestWallet};
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_client_finds_its_payments_from_headers_and_filters() -> Result<()> {
    let node = TestNode::start().await?;
    let net = Network::Dev;
    let (alice, bob) = (TestWallet::new(net, 1), TestWallet::new(net, 2));
    node.mine(&bob.address, 2).await?; // 1, 2
    node.mine(&alice.address, 1).await?; // 3
    node.mine(&bob.address, 1).await?; // 4
    let paid = alice.pay(&node, &bob.address, ferro_shared::Amount::ONE_COIN, 1).await?;
    ensure!(node.submit(&paid.tx).await?.is_ok(), "payment refused");
    node.mine(&bob.address, 1).await?; // 5: alice spends (and takes change)
    node.mine(&bob.address, 1).await?; // 6

    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;

    // Headers from genesis, each checked: linkage, proof of work.
    let genesis = net.genesis_block().header;
    send(&mut s, &Message::GetHeaders { id: 1, locator: vec![genesis.hash()], limit: u32::MAX }).await?;
    let Message::Headers { headers, tip_height, .. } = answer(&mut s, 1).await? else { unreachable!() };
    ensure!(tip_height == 6 && headers.len() == 6, "{} headers, tip {tip_height}", headers.len());
    let mut chain: Vec<BlockHeader> = vec![genesis];
    for WireHeader(h) in headers {
        let parent = chain.last().expect("genesis");
        ensure!(
            h.prev == parent.hash() && h.height == parent.height + 1,
            "header {} does not link",
            h.height
        );
        ensure!(Target::from_compact(h.bits)?.is_met_by(&h.hash()), "header {} lacks its work", h.height);
        chain.push(h);
    }

    // Filters of blocks 1..=6, each checked against its header before it is believed.
    send(&mut s, &Message::GetFilters { id: 2, from: 1, limit: 100 }).await?;
    let Message::Filters { filters, .. } = answer(&mut s, 2).await? else { unreachable!() };
    ensure!(filters.len() == 6, "{} filters", filters.len());
    let mut touching = Vec::new();
    for (hash, WireFilter(filter)) in filters {
        let header = chain.iter().find(|h| h.hash() == hash).expect("a filter of a known block");
        ensure!(
            filter.hash() == header.filter_hash,
            "filter of block {} is not the committed one",
            header.height
        );
        if filter.matches_any(&header.merkle_root, &[alice.address.hash])? {
            touching.push(header.height);
        }
    }
    // Block 3 pays alice; block 5 spends her coin. A false match is a 1-in-784,931 event.
    assert_eq!(touching, vec![3, 5]);

    // A locator the node does not know starts from genesis.
    send(&mut s, &Message::GetHeaders { id: 3, locator: vec![ferro_shared::BlockHash([9; 32])], limit: 2 })
        .await?;
    let Message::Headers { headers, .. } = answer(&mut s, 3).await? else { unreachable!() };
    assert_eq!(headers.iter().map(|WireHeader(h)| h.height).collect::<Vec<_>>(), vec![1, 2]);
    Ok(())
}

/// A light client that sends 3,000 filter requests before reading any answer gets all 3,000:
/// while its queue is full the node stops serving it instead of dropping answers it waits for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelining_client_gets_every_answer() -> Result<()> {
    use futures_util::SinkExt;
    let node = TestNode::start().await?;
    let net = Network::Dev;
    for _ in 0..3 {
        node.mine(&TestWallet::new(net, 2).address, 100).await?;
    }
    let mut s = open(&node).await?;
    handshake(&mut s, hello(net, None)).await?;
    let (mut sink, mut stream) = s.split();
    const REQUESTS: u64 = 3_000;
    for id in 0..REQUESTS {
        let frame = Message::GetFilters { id: 100 + id, from: 0, limit: 1_000 }.to_frame();
        sink.feed(Ws::Binary(frame.into())).await?;
    }
    sink.flush().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut answered = 0;
    while answered < REQUESTS {
        match tokio::time::timeout_at(deadline, stream.next()).await? {
            Some(Ok(Ws::Binary(b))) => {
                if let Message::Filters { filters, .. } = Message::from_frame(&b)? {
                    ensure!(filters.len() == 301, "{} filters", filters.len());
                    answered += 1;
                }
            }
            Some(Ok(_)) => continue,
            other => bail!("connection ended after {answered} answers: {other:?}"),
        }
    }
    Ok(())
}
