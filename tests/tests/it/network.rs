//! Networks of real nodes in this process: relay, sync, reorganization across nodes, discovery.

use anyhow::Result;
use ferro_node::Origin;
use ferro_shared::{Amount, Network};
use ferro_tests::{wait_until, TestNode, TestWallet};

async fn nodes(n: usize, discover: bool) -> Result<Vec<TestNode>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(TestNode::start_with(Network::Dev, |c| c.discover = discover).await?);
    }
    Ok(out)
}

fn miner() -> TestWallet {
    TestWallet::new(Network::Dev, 77)
}

/// Seed case 1: two nodes up and connected; a block mined on either appears on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case1_blocks_mined_on_either_of_two_nodes_reach_both() -> Result<()> {
    let n = nodes(2, true).await?;
    n[0].connect(&n[1]).await?;
    let b = n[0].mine(&miner().address, 1).await?.blocks[0].hash;
    n[1].wait_for_tip(&b).await?;
    let b = n[1].mine(&miner().address, 1).await?.blocks[0].hash;
    n[0].wait_for_tip(&b).await?;
    assert_eq!(n[0].height().await?, 2);
    Ok(())
}

/// Peer heights follow pushed blocks both ways: node 1 mines three blocks one at a time and
/// pushes each to node 2; node 2 lists node 1 at height 3, and node 1 lists node 2 at height 3
/// (not at 0, the height node 2 had when they met).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_heights_follow_pushed_blocks() -> Result<()> {
    let n = nodes(2, false).await?;
    n[1].connect(&n[0]).await?;
    for _ in 0..3 {
        let tip = n[0].mine(&miner().address, 1).await?.blocks[0].hash;
        n[1].wait_for_tip(&tip).await?;
    }
    for (viewer, name) in [(&n[1], "node 2 to see node 1"), (&n[0], "node 1 to see node 2")] {
        viewer
            .wait_until(&format!("{name} at height 3"), || async {
                Ok(viewer.peers().await?.iter().any(|p| p.best_height == 3))
            })
            .await?;
    }
    Ok(())
}

/// Seed case 2: node 1 mines three blocks alone; node 2 starts later and is connected; node 2
/// syncs to node 1; then node 2 mines and node 1 follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case2_late_node_syncs_then_leads() -> Result<()> {
    let one = TestNode::start().await?;
    let tip = one.mine(&miner().address, 3).await?.blocks[2].hash;
    let two = TestNode::start().await?;
    two.connect(&one).await?;
    two.wait_for_tip(&tip).await?;
    assert_eq!(two.height().await?, 3);
    // Node 1 sees how far the node syncing from it got.
    one.wait_until("node 1 to see node 2 at height 3", || async {
        Ok(one.peers().await?.iter().any(|p| p.best_height == 3))
    })
    .await?;
    let b = two.mine(&miner().address, 1).await?.blocks[0].hash;
    one.wait_for_tip(&b).await?;
    Ok(())
}

/// Seed case 3: nodes 2 and 3 connected to 1; a block mined on 1 reaches both; a node that was
/// down while blocks were mined catches up when it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case3_star_and_a_returning_node() -> Result<()> {
    let n = nodes(3, false).await?;
    n[1].connect(&n[0]).await?;
    n[2].connect(&n[0]).await?;
    let b = n[0].mine(&miner().address, 1).await?.blocks[0].hash;
    n[1].wait_for_tip(&b).await?;
    n[2].wait_for_tip(&b).await?;

    let mut n = n;
    let three = n.pop().expect("three nodes");
    let data = three.data_dir.clone();
    let stopped = three.stop().await?;
    let tip = n[0].mine(&miner().address, 2).await?.blocks[1].hash;
    n[1].wait_for_tip(&tip).await?;
    // Back on the same data directory: it remembers node 1 and dials it by itself.
    let back = stopped.start().await?;
    assert_eq!(back.data_dir, data);
    back.wait_for_tip(&tip).await?;
    assert_eq!(back.height().await?, 3);
    Ok(())
}

/// Seed case 4: a line 1–2–3; a block mined on 1 reaches 3 through 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case4_block_crosses_a_line() -> Result<()> {
    let n = nodes(3, false).await?;
    n[0].connect(&n[1]).await?;
    n[1].connect(&n[2]).await?;
    let b = n[0].mine(&miner().address, 1).await?.blocks[0].hash;
    n[2].wait_for_tip(&b).await?;
    // Without discovery, 1 and 3 never met: the block went through 2.
    let listen_urls: Vec<_> = n[2].peers().await?.into_iter().filter_map(|p| p.listen_url).collect();
    assert_eq!(listen_urls, vec![n[1].p2p_url()]);
    Ok(())
}

/// A–B and B–C connected: A learns of C from B and connects to it without being told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_introduces_peers() -> Result<()> {
    let n = nodes(3, true).await?;
    n[0].connect(&n[1]).await?;
    n[1].connect(&n[2]).await?;
    let c = n[2].p2p_url();
    wait_until("A is connected to C", || async {
        Ok(n[0].peers().await?.iter().any(|p| p.listen_url.as_deref() == Some(c.as_str())))
    })
    .await?;
    Ok(())
}

/// A transaction submitted to any node of five reaches every mempool; a block mined anywhere
/// reaches every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_share_transactions_and_blocks() -> Result<()> {
    let n = nodes(5, false).await?;
    for i in 0..4 {
        n[i].connect(&n[i + 1]).await?;
    }
    let alice = TestWallet::new(Network::Dev, 5);
    let bob = TestWallet::new(Network::Dev, 6);
    let funded = n[2].mine(&alice.address, 2).await?.blocks[1].hash;
    for node in &n {
        node.wait_for_tip(&funded).await?;
    }
    let payment = alice.pay(&n[4], &bob.address, Amount::ONE_COIN, 2).await?;
    let txid = n[4].submit(&payment.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for node in &n {
        node.wait_for_mempool_tx(&txid).await?;
    }
    let block = n[0].mine(&miner().address, 1).await?.blocks[0].clone();
    assert_eq!(block.tx_count, 2);
    for node in &n {
        node.wait_for_tip(&block.hash).await?;
        wait_until("the mempool empties", || async { Ok(node.mempool().await?.count == 0) }).await?;
        assert_eq!(node.address(&bob.address).await?.balance, Amount::ONE_COIN);
    }
    Ok(())
}

/// Two groups mine apart, the second more; once connected every node follows the heaviest chain,
/// and a payment only the losing side had confirmed returns to the mempool and gets mined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_heals_to_the_heaviest_chain() -> Result<()> {
    let n = nodes(4, false).await?;
    let (a, b, c, d) = (&n[0], &n[1], &n[2], &n[3]);
    a.connect(b).await?;
    c.connect(d).await?;
    // A shared history: blocks mined on A, handed to C as a peer would.
    let alice = TestWallet::new(Network::Dev, 21);
    let bob = TestWallet::new(Network::Dev, 22);
    let funding = a.mine(&alice.address, 2).await?;
    for summary in &funding.blocks {
        let block = a.running.node.store().block(&summary.hash)?.expect("stored");
        c.running.node.submit_block(block, Origin::Local).await?;
    }
    let shared = funding.blocks[1].hash;
    for node in [b, c, d] {
        node.wait_for_tip(&shared).await?;
    }

    // Group A–B confirms a payment in one block; group C–D mines three empty blocks.
    let payment = alice.pay(a, &bob.address, Amount::parse_coins("2.5")?, 2).await?;
    let txid = a.submit(&payment.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    b.wait_for_mempool_tx(&txid).await?;
    let losing = a.mine(&miner().address, 1).await?.blocks[0].hash;
    b.wait_for_tip(&losing).await?;
    assert_eq!(b.address(&bob.address).await?.balance, Amount::parse_coins("2.5")?);
    let winning = c.mine(&miner().address, 3).await?.blocks[2].hash;
    d.wait_for_tip(&winning).await?;

    // Heal the partition.
    b.connect(c).await?;
    for node in &n {
        node.wait_for_tip(&winning).await?;
    }
    // The payment is pending again everywhere, and the next block confirms it.
    for node in &n {
        node.wait_for_mempool_tx(&txid).await?;
        assert_eq!(node.address(&bob.address).await?.balance, Amount::ZERO);
    }
    let confirming = d.mine(&miner().address, 1).await?.blocks[0].clone();
    assert_eq!(confirming.tx_count, 2);
    for node in &n {
        node.wait_for_tip(&confirming.hash).await?;
        assert_eq!(node.address(&bob.address).await?.balance, Amount::parse_coins("2.5")?);
    }
    Ok(())
}

/// A node that joins after a payment was made still learns about it, and mines it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_receives_pending_transactions() -> Result<()> {
    let one = TestNode::start().await?;
    let alice = TestWallet::new(Network::Dev, 41);
    let bob = TestWallet::new(Network::Dev, 42);
    one.mine(&alice.address, 1).await?;
    let payment = alice.pay(&one, &bob.address, Amount::ONE_COIN, 2).await?;
    let txid = one.submit(&payment.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let two = TestNode::start().await?;
    two.connect(&one).await?;
    two.wait_for_mempool_tx(&txid).await?;
    let block = two.mine(&miner().address, 1).await?.blocks[0].clone();
    assert_eq!(block.tx_count, 2);
    one.wait_for_tip(&block.hash).await?;
    assert_eq!(one.address(&bob.address).await?.balance, Amount::ONE_COIN);
    Ok(())
}

/// A branch that forks deeper than its lead: its first blocks have less work than the tip, and
/// are kept only because the rest of the sync batch proves the work they lack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorganization_deeper_than_its_lead_arrives_by_sync() -> Result<()> {
    // G - 1 - 2 - 3 - 4          A, alone
    //  \ 1° - 2° - 3° - 4° - 5°*  C, alone; then they meet
    let n = nodes(2, false).await?;
    let (a, c) = (&n[0], &n[1]);
    let losing = a.mine(&miner().address, 4).await?.blocks;
    let winning = c.mine(&TestWallet::new(Network::Dev, 78).address, 5).await?.blocks;
    a.connect(c).await?;
    a.wait_for_tip(&winning[4].hash).await?;
    // A keeps the blocks it left, within the bound.
    let store = a.running.node.store();
    let mut bytes = 0;
    for block in &losing {
        bytes += store.block_bytes(&block.hash)?.expect("kept as a side block").len() as i64;
    }
    assert_eq!(a.running.node.metrics().side_chain_bytes.get(), bytes);
    assert_eq!(c.height().await?, 5, "C did not move");
    Ok(())
}

/// `--no-discover`: a node dials only the peers it was told to. A peer that connected to it is
/// neither remembered nor dialed back once it leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_does_not_discover_does_not_remember_who_called() -> Result<()> {
    let quiet = TestNode::start_with(Network::Dev, |c| c.discover = false).await?;
    let caller = TestNode::start().await?;
    caller.connect(&quiet).await?;
    quiet.wait_until("the caller is a peer", || async { Ok(quiet.peers().await?.len() == 1) }).await?;
    let caller_url = caller.p2p_url();
    caller.stop().await?;
    quiet.wait_until("the caller is gone", || async { Ok(quiet.peers().await?.is_empty()) }).await?;
    // Its dialer looks every second: give it a few chances to dial back.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let remembered: Vec<String> =
        quiet.running.node.store().peers()?.into_iter().map(|(url, _)| url).collect();
    assert!(!remembered.contains(&caller_url), "remembered {remembered:?}");
    Ok(())
}
