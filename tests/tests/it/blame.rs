//! Fair blame between honest nodes: what a real network does (a burst of transactions, a fork
//! deeper than one sync batch) never gets an honest peer penalized, and nothing is lost.

use anyhow::Result;
use ferro_shared::tx::{OutPoint, TxIn, TX_VERSION};
use ferro_shared::{Amount, Network, Transaction, TxOut};
use ferro_tests::{TestNode, TestWallet};
use std::time::Duration;

fn id_of(node: &TestNode) -> String {
    format!("{:016x}", node.running.p2p.node_id())
}

fn penalties(node: &TestNode, offence: &str) -> u64 {
    let text = node.running.node.metrics().render();
    let needle = format!("ferro_p2p_penalties_total{{offence=\"{offence}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&needle)).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// A node that sees more work on a branch that forked more than one sync batch (250 blocks)
/// back cannot take it yet (headers-first sync will), but the blocks it asked for are not
/// charged as low-work blocks: two honest nodes meeting after a long partition do not ban each
/// other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_peer_on_a_deep_fork_is_not_banned() -> Result<()> {
    let a = TestNode::start().await?;
    let b = TestNode::start().await?;
    let (wa, wb) = (TestWallet::new(Network::Dev, 61), TestWallet::new(Network::Dev, 62));
    for (node, wallet, blocks) in [(&a, &wa, 260u32), (&b, &wb, 270)] {
        let mut left = blocks;
        while left > 0 {
            let n = left.min(100);
            node.mine(&wallet.address, n).await?;
            left -= n;
        }
    }
    a.connect(&b).await?;
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (low_work, peers) = (penalties(&a, "low_work"), a.peers().await?);
    let again = a.connect(&b).await;
    assert!(
        again.is_ok() && low_work == 0,
        "the honest peer was charged {low_work} times for low work and is gone ({} peers); \
         dialing it again: {again:?}",
        peers.len()
    );
    Ok(())
}

/// Flooding is 5,000 messages in a second. 2 × 6,000 valid transactions submitted to an honest
/// node (one exchange's payouts) are announced in a few full messages, not one message each:
/// its peers do not take it for a flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_node_relaying_a_burst_of_transactions_is_not_banned() -> Result<()> {
    let honest = TestNode::start().await?;
    let peer = TestNode::start().await?;
    peer.connect(&honest).await?;
    let net = Network::Dev;
    let alice = TestWallet::new(net, 71);
    let own = alice.key.public_key().pubkey_hash();
    let genesis = net.genesis_hash();
    // Six coinbases to alice (dev coinbases mature at once), each fanned out to 2,000 coins.
    honest.mine(&alice.address, 6).await?;
    let utxos = honest.address(&alice.address).await?.utxos;
    let mut fanouts = Vec::new();
    for coin in utxos.iter().take(6) {
        let each = Amount::from_units((coin.amount.units() - 200_000) / 2_000);
        let outputs = vec![TxOut { recipient: own, amount: each }; 2_000];
        fanouts.push(sign(&alice, vec![(coin.outpoint, coin.amount)], outputs, &genesis));
    }
    for tx in &fanouts {
        honest.submit(tx).await?.map_err(|e| anyhow::anyhow!("fan-out refused: {e:?}"))?;
    }
    honest.mine(&alice.address, 1).await?;
    let mut spends = Vec::new();
    for fan in &fanouts {
        let txid = fan.txid();
        for (vout, out) in fan.outputs.iter().enumerate() {
            let prevout = OutPoint { txid, vout: vout as u32 };
            let pay = TxOut { recipient: own, amount: Amount::from_units(out.amount.units() - 1_000) };
            spends.push(sign(&alice, vec![(prevout, out.amount)], vec![pay], &genesis));
        }
    }
    let node = honest.running.node.clone();
    for burst in spends.chunks(6_000) {
        // In slices, so the relay keeps up with the node's event channel (4,096).
        for slice in burst.chunks(1_000) {
            let results = node.submit_transactions(slice.to_vec(), ferro_node::node::Origin::Local).await?;
            assert!(results.iter().all(Result::is_ok));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let flooding = penalties(&peer, "flooding");
    let peers = peer.peers().await?;
    assert!(
        flooding == 0 && peers.iter().any(|p| p.id == id_of(&honest)),
        "the peer charged the honest node {flooding} times for flooding; its peers now: {peers:?}"
    );
    Ok(())
}

/// 1,000 transactions accepted by one node all reach its peer: announcements are batched, and
/// those beyond the receiver's request slots wait for a slot instead of being dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_announcements_is_not_lost() -> Result<()> {
    let honest = TestNode::start().await?;
    let peer = TestNode::start().await?;
    peer.connect(&honest).await?;
    let net = Network::Dev;
    let alice = TestWallet::new(net, 72);
    let own = alice.key.public_key().pubkey_hash();
    let genesis = net.genesis_hash();
    honest.mine(&alice.address, 1).await?;
    let coin = honest.address(&alice.address).await?.utxos[0];
    let each = Amount::from_units((coin.amount.units() - 200_000) / 1_000);
    let fan = sign(
        &alice,
        vec![(coin.outpoint, coin.amount)],
        vec![TxOut { recipient: own, amount: each }; 1_000],
        &genesis,
    );
    honest.submit(&fan).await?.map_err(|e| anyhow::anyhow!("fan-out refused: {e:?}"))?;
    let mined = honest.mine(&alice.address, 1).await?.blocks[0].hash;
    peer.wait_for_tip(&mined).await?;
    let spends: Vec<Transaction> = (0..1_000u32)
        .map(|vout| {
            let prevout = OutPoint { txid: fan.txid(), vout };
            let pay = TxOut { recipient: own, amount: Amount::from_units(each.units() - 1_000) };
            sign(&alice, vec![(prevout, each)], vec![pay], &genesis)
        })
        .collect();
    let results = honest.running.node.submit_transactions(spends, ferro_node::node::Origin::Local).await?;
    assert!(results.iter().all(Result::is_ok));
    let reached = ferro_tests::wait_until("all 1,000 reach the peer", || async {
        Ok(peer.mempool().await?.count == 1_000)
    })
    .await;
    let count = peer.mempool().await?.count;
    assert!(reached.is_ok(), "only {count} of 1,000 transactions reached the peer");
    Ok(())
}

fn sign(
    wallet: &TestWallet,
    coins: Vec<(OutPoint, Amount)>,
    outputs: Vec<TxOut>,
    genesis: &ferro_shared::BlockHash,
) -> Transaction {
    let pubkey = wallet.key.public_key();
    let own = pubkey.pubkey_hash();
    let placeholder = ferro_shared::keys::Signature::placeholder();
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: coins.iter().map(|(o, _)| TxIn { prevout: *o, pubkey, signature: placeholder }).collect(),
        outputs,
    };
    let spent: Vec<TxOut> = coins.iter().map(|(_, a)| TxOut { recipient: own, amount: *a }).collect();
    let sig = wallet.key.sign_digest(&tx.sighash(genesis, &spent).expect("one coin per input"));
    for input in &mut tx.inputs {
        input.signature = sig;
    }
    tx
}
