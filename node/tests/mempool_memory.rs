//! The mempool's memory limit counts what its entries really take on the heap: an allocator
//! that counts bytes measures the pool as it fills, and the pool's own figure must agree.

use ferro_node::mempool::Mempool;
use ferro_shared::consensus::Coin;
use ferro_shared::tx::{TxIn, TX_VERSION};
use ferro_shared::{
    Amount, Network, OutPoint, PubkeyHash, PublicKey, SecretKey, Signature, Transaction, TxOut, Txid,
};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::collections::HashMap;
use std::sync::OnceLock;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const COINS: u32 = 20_000;
const VALUE: u64 = 1_000_000;

fn pkh(n: u32) -> PubkeyHash {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&n.to_le_bytes());
    PubkeyHash(bytes)
}

/// Coins owned by one key, as the chain's coin set.
fn chain(owner: PubkeyHash) -> HashMap<OutPoint, Coin> {
    let output = TxOut { recipient: owner, amount: Amount::from_units(VALUE) };
    (0..COINS).map(|i| (coin(i), Coin { output, height: 1, is_coinbase: false })).collect()
}

fn key() -> PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    *KEY.get_or_init(|| SecretKey::from_bytes(&[1; 32]).unwrap().public_key())
}

fn spend(inputs: &[OutPoint], outputs: &[(PubkeyHash, u64)]) -> Transaction {
    // The pool does not verify signatures (its caller does): any well-formed one will do.
    let key = key();
    Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: inputs
            .iter()
            .map(|&prevout| TxIn { prevout, pubkey: key, signature: Signature::placeholder() })
            .collect(),
        outputs: outputs
            .iter()
            .map(|&(recipient, units)| TxOut { recipient, amount: Amount::from_units(units) })
            .collect(),
    }
}

fn coin(i: u32) -> OutPoint {
    OutPoint { txid: Txid([0xc0; 32]), vout: i }
}

fn owner() -> PubkeyHash {
    key().pubkey_hash()
}

fn check(name: &str, build: impl FnOnce() -> Vec<Transaction>) {
    let coins = chain(owner());
    let region = Region::new(GLOBAL);
    let txs = build();
    let count = txs.len();
    let mut pool = Mempool::new(Network::Dev.params(), usize::MAX);
    for tx in txs {
        pool.accept(tx, &coins, 10, 1_000).expect("accepted");
    }
    let change = region.change();
    // Bytes asked for, plus the allocator's own 16 bytes per live allocation (glibc's chunk
    // header and rounding, about).
    let live_allocations = change.allocations as i64 - change.deallocations as i64;
    let grown = change.bytes_allocated as i64 - change.bytes_deallocated as i64 + 16 * live_allocations;
    let reported = pool.memory() as i64;
    println!(
        "{name}: {count} txs, heap {grown} B ({} per tx), reported {reported} ({} per tx), encoded {} per tx",
        grown / count as i64,
        reported / count as i64,
        pool.bytes() / count
    );
    let ratio = reported as f64 / grown as f64;
    assert!((0.8..=1.25).contains(&ratio), "{name}: reported / measured = {ratio:.2}");
}

#[test]
fn reported_memory_follows_the_heap() {
    // The shapes that stress different indexes: one hot address, many addresses, long chains
    // of unconfirmed parents and children.
    check("payments back to the payer", || {
        (0..COINS).map(|i| spend(&[coin(i)], &[(owner(), VALUE - 1_000)])).collect()
    });
    check("two new addresses each", || {
        (0..COINS)
            .map(|i| spend(&[coin(i)], &[(pkh(2 * i), VALUE / 2), (pkh(2 * i + 1), VALUE / 2 - 1_000)]))
            .collect()
    });
    check("chains of 20", || {
        let mut txs = Vec::new();
        for c in 0..COINS / 20 {
            let mut prev = coin(c);
            let mut value = VALUE;
            for _ in 0..20 {
                value -= 1_000;
                let tx = spend(&[prev], &[(owner(), value)]);
                prev = OutPoint { txid: tx.txid(), vout: 0 };
                txs.push(tx);
            }
        }
        txs
    });
    check("three inputs, one key", || {
        (0..COINS / 3)
            .map(|i| spend(&[coin(3 * i), coin(3 * i + 1), coin(3 * i + 2)], &[(pkh(i), 3 * VALUE - 2_000)]))
            .collect()
    });
}
