//! A node whose store fails: it never takes a coin it could not read for a missing one, and it
//! stops.

use crate::chain::{BlockOutcome, Store};
use crate::node::{unix_now, NodeError, Origin, SubmitBlockError, SubmitTxError};
use crate::testing::FailingBackend;
use crate::{miner, Node, NodeConfig};
use ferro_shared::tx::{TxIn, TX_VERSION};
use ferro_shared::{Block, Network, OutPoint, PubkeyHash, SecretKey, Transaction, TxOut};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub(crate) fn key() -> SecretKey {
    SecretKey::from_bytes(&[7; 32]).unwrap()
}

/// A node on `backend` with `blocks` mined to [`key`].
pub(crate) async fn node_on(backend: &FailingBackend, blocks: u32) -> Node {
    let node = reopen(backend);
    node.mine_blocks(key().public_key().pubkey_hash(), blocks).await.unwrap();
    node
}

/// Spends the coinbase of the block at `height` back to [`key`], paying a fee.
pub(crate) fn spend_coinbase(node: &Node, height: u64) -> Transaction {
    let hash = node.state().chain.hash_at(height).unwrap();
    let block = node.store().block(&hash).unwrap().unwrap();
    let spent = block.transactions[0].outputs[0];
    let key = key();
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: vec![TxIn {
            prevout: OutPoint { txid: block.transactions[0].txid(), vout: 0 },
            pubkey: key.public_key(),
            signature: key.sign_digest(&[0; 32]),
        }],
        outputs: vec![TxOut {
            recipient: spent.recipient,
            amount: spent.amount.checked_sub(ferro_shared::Amount::from_units(10_000)).unwrap(),
        }],
    };
    let digest = tx.sighash(&Network::Dev.genesis_hash(), &[spent]).unwrap();
    tx.inputs[0].signature = key.sign_digest(&digest);
    tx
}

fn mined(node: &Node, to: PubkeyHash) -> Block {
    let mut block = node.block_template(to);
    assert!(miner::mine_block(&mut block, &AtomicBool::new(false)));
    block
}

#[tokio::test]
async fn a_failing_read_is_not_a_missing_coin() {
    let backend = FailingBackend::new();
    let node = node_on(&backend, 3).await;
    let pkh = key().public_key().pubkey_hash();
    // A valid block spending block 1's coinbase (through the mempool, into the template), and a
    // valid transaction spending block 2's.
    node.submit_transaction(spend_coinbase(&node, 1), Origin::Local).await.unwrap();
    let block = mined(&node, pkh);
    assert_eq!(block.transactions.len(), 2);
    let tx = spend_coinbase(&node, 2);
    let tip = node.tip();

    // Coins that cannot be decoded: a block spending one is not invalid, and its sender is not
    // at fault.
    let coin = |tx: &Transaction| tx.inputs[0].prevout;
    let spent_by_block = coin(&block.transactions[1]);
    let saved_block_coin = node.store().replace_coin_bytes(&spent_by_block, &[0xff; 3]);
    let saved_tx_coin = node.store().replace_coin_bytes(&coin(&tx), &[0xff; 3]);
    let error = node.state().chain.process_block(block.clone(), unix_now()).unwrap_err();
    assert!(error.storage_failure().is_some(), "{error}");
    assert!(!error.is_peer_fault(), "no peer is penalized for our disk");
    assert!(!node.state().chain.is_known_invalid(&block.hash()), "not marked invalid");

    // The transaction: a storage error, not `unknown_input`, and not the sender's fault.
    match node.submit_transaction(tx.clone(), Origin::Peer(1)).await {
        Err(SubmitTxError::Node(NodeError::Store(_))) => {}
        Err(SubmitTxError::Rejected(e)) => {
            panic!("refused as {} ({e}); bad transaction: {}", e.code(), e.is_bad_transaction())
        }
        other => panic!("expected a storage error, got {other:?}"),
    }
    // The node now stops: nothing more is judged.
    assert!(node.watch_failure().borrow().is_some());
    match node.submit_block(block.clone(), Origin::Peer(1)).await {
        Err(SubmitBlockError::Node(NodeError::StorageFailed(_))) => {}
        other => panic!("expected the node to refuse work, got {other:?}"),
    }
    assert!(!node.state().chain.is_known_invalid(&block.hash()));
    assert_eq!(node.tip(), tip);
    node.store().replace_coin_bytes(&spent_by_block, &saved_block_coin);
    node.store().replace_coin_bytes(&coin(&tx), &saved_tx_coin);

    // A disk that cannot be read at all (redb then wants a restart): nothing judged either.
    drop(node);
    let node = reopen(&backend);
    backend.fail_reads(true);
    let error = node.state().chain.process_block(block.clone(), unix_now()).unwrap_err();
    assert!(error.storage_failure().is_some(), "{error}");
    assert!(!node.state().chain.is_known_invalid(&block.hash()));

    // After a restart on a healthy disk both are valid.
    drop(node);
    backend.heal();
    let node = reopen(&backend);
    assert!(matches!(node.submit_block(block, Origin::Local).await, Ok(BlockOutcome::NewTip { .. })));
    node.submit_transaction(tx, Origin::Local).await.unwrap();
}

fn reopen(backend: &FailingBackend) -> Node {
    let store = Store::open_with_backend(backend.clone(), Network::Dev).unwrap();
    Node::open_with_store(NodeConfig::new(Network::Dev, std::env::temp_dir()), store).unwrap()
}

#[tokio::test]
async fn a_node_whose_storage_fails_stops() {
    let backend = FailingBackend::new();
    let node = node_on(&backend, 1).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Never asked to shut down: only the failure can end it.
    let serving = tokio::spawn(crate::server::serve(node.clone(), listener, std::future::pending()));
    let block = mined(&node, key().public_key().pubkey_hash());
    backend.fail_writes_after(0);
    let error = node.submit_block(block, Origin::Local).await.unwrap_err();
    // Whichever write comes first fails: this block's, or the peer layer's at start.
    let storage = match &error {
        SubmitBlockError::Rejected(e) => e.storage_failure().is_some(),
        SubmitBlockError::Node(e) => matches!(e, NodeError::Store(_) | NodeError::StorageFailed(_)),
    };
    assert!(storage, "{error}");
    let served =
        tokio::time::timeout(Duration::from_secs(10), serving).await.expect("the node stopped").unwrap();
    assert!(matches!(served, Err(NodeError::StorageFailed(_))), "{served:?}");
}
