//! Micro-benchmarks of the hot paths in `ferro-shared`: the work a node repeats for every
//! transaction and block, and the raw primitives it is built from.
//!
//! ```text
//! cargo bench -p ferro-shared --bench hot_paths             # ~1 min
//! cargo bench -p ferro-shared --bench hot_paths -- --quick  # ~30 s, rougher
//! cargo bench -p ferro-shared --bench hot_paths -- block    # only names containing "block"
//! ```
//!
//! | group | what a node does with it |
//! | --- | --- |
//! | `ecdsa` | verify: one per input admitted or connected; sign: the wallet, per payment |
//! | `tx` | txid and sighash of a 1-in-2-out payment: once per admission |
//! | `hash` | sha256d of a 128-byte header (mining, header checks); Merkle root of 1,000 txids |
//! | `block` | a 500-transaction block: body checks, coin checks, connect (signatures), codec |
//!
//! The block's transactions each spend one coin to two outputs, like a wallet payment.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferro_shared::address::Address;
use ferro_shared::block::{Block, BlockHeader, BLOCK_VERSION, HEADER_SIZE};
use ferro_shared::consensus::{
    block_subsidy, check_block_body, check_header, connect_block, connect_block_coins, Coin, HeaderContext,
};
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::hash::{merkle_root, sha256d, MerkleRoot};
use ferro_shared::pow::Target;
use ferro_shared::tx::TX_VERSION;
use ferro_shared::wallet::{build_payment, Spendable};
use ferro_shared::{
    Amount, BlockHash, Network, OutPoint, PubkeyHash, SecretKey, Transaction, TxIn, TxOut, Txid,
};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

const NETWORK: Network = Network::Dev;
/// Transactions in the benchmark block, besides the coinbase.
const BLOCK_TXS: usize = 500;
/// Txids in the Merkle benchmark.
const MERKLE_LEAVES: usize = 1_000;

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).expect("a valid secret key")
}

/// What each benchmark payment spends: 100,000 units.
const PAYMENT_INPUT: u64 = 100_000;

/// A signed payment spending `prevout` (a coin of `PAYMENT_INPUT` owned by `from`) to `to` with
/// change back to `from`.
fn payment(from: &SecretKey, prevout: OutPoint, to: PubkeyHash, genesis: &BlockHash) -> Transaction {
    let pubkey = from.public_key();
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: vec![TxIn { prevout, pubkey, signature: from.sign_digest(&[0; 32]) }],
        outputs: vec![
            TxOut { recipient: to, amount: Amount::from_units(60_000) },
            TxOut { recipient: pubkey.pubkey_hash(), amount: Amount::from_units(39_000) },
        ],
    };
    let spent = [TxOut { recipient: pubkey.pubkey_hash(), amount: Amount::from_units(PAYMENT_INPUT) }];
    tx.inputs[0].signature = from.sign_digest(&tx.sighash(genesis, &spent).expect("one coin per input"));
    tx
}

/// A mined block at height 1 on the dev network holding `BLOCK_TXS` payments, each spending one
/// of the coins returned with it (100,000 units each, so each pays a 1,000-unit fee).
fn block_fixture() -> (Block, HashMap<OutPoint, Coin>) {
    let genesis = NETWORK.genesis_block();
    let alice = key(1);
    let bob = key(2).public_key().pubkey_hash();
    let mut coins = HashMap::new();
    let mut txs = Vec::with_capacity(BLOCK_TXS + 1);
    let fees = 1_000 * BLOCK_TXS as u64;
    let reward = block_subsidy(NETWORK.params(), 1).units() + fees;
    txs.push(Transaction::coinbase(1, vec![TxOut { recipient: bob, amount: Amount::from_units(reward) }]));
    for i in 0..BLOCK_TXS {
        let mut txid = [0xc0; 32];
        txid[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let prevout = OutPoint { txid: Txid(txid), vout: 0 };
        let output =
            TxOut { recipient: alice.public_key().pubkey_hash(), amount: Amount::from_units(PAYMENT_INPUT) };
        coins.insert(prevout, Coin { output, height: 0, is_coinbase: false });
        txs.push(payment(&alice, prevout, bob, &genesis.hash()));
    }
    let mut block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            height: 1,
            prev: genesis.hash(),
            merkle_root: MerkleRoot::ZERO,
            filter_hash: Default::default(),
            time: genesis.header.time + 60,
            bits: NETWORK.params().pow_limit,
            nonce: 0,
        },
        transactions: txs,
    };
    block.commit_transactions();
    let target = Target::from_compact(block.header.bits).expect("the dev target is valid");
    while !target.is_met_by(&block.hash()) {
        block.header.nonce += 1;
    }
    (block, coins)
}

fn ecdsa(c: &mut Criterion) {
    let k = key(7);
    let pk = k.public_key();
    let digest = sha256d(b"a transaction's signed message");
    let sig = k.sign_digest(&digest);
    pk.verify_digest(&digest, &sig).expect("the fixture signature verifies");

    let mut g = c.benchmark_group("ecdsa");
    g.throughput(Throughput::Elements(1));
    // From the key's 33 bytes (decompressing it first), as a transaction's input is verified...
    g.bench_function("verify_digest", |b| b.iter(|| black_box(&pk).verify_digest(black_box(&digest), &sig)));
    // ...and with the point ready: the bare verify, the floor the node-level ratios divide by.
    let verifier = pk.verifier().expect("a valid key");
    g.bench_function("verify_decompressed", |b| {
        b.iter(|| black_box(&verifier).verify_digest(black_box(&digest), &sig))
    });
    g.bench_function("decompress_key", |b| b.iter(|| black_box(&pk).verifier()));
    g.bench_function("sign_digest", |b| b.iter(|| black_box(&k).sign_digest(black_box(&digest))));
    g.finish();
}

fn tx(c: &mut Criterion) {
    let genesis = NETWORK.genesis_hash();
    let tx = payment(&key(1), OutPoint { txid: Txid([3; 32]), vout: 1 }, PubkeyHash([9; 32]), &genesis);
    let to = Address::new(NETWORK, PubkeyHash([9; 32]));
    let wallet_key = key(5);
    let coins: Vec<Spendable> = (0..4u8)
        .map(|i| Spendable {
            outpoint: OutPoint { txid: Txid([i + 1; 32]), vout: 0 },
            amount: Amount::from_units(50_000 - 10_000 * u64::from(i)),
        })
        .collect();

    let mut g = c.benchmark_group("tx");
    g.throughput(Throughput::Elements(1));
    g.bench_function("txid_1in_2out", |b| b.iter(|| black_box(&tx).txid()));
    let spent =
        [TxOut { recipient: key(1).public_key().pubkey_hash(), amount: Amount::from_units(PAYMENT_INPUT) }];
    g.bench_function("sighash_1in_2out", |b| b.iter(|| black_box(&tx).sighash(&genesis, &spent)));
    // The wallet's send: select, sign (a placeholder and the real signature), check locally
    // (which verifies every input). Two inputs here.
    g.bench_function("build_payment_2in", |b| {
        b.iter(|| {
            build_payment(&wallet_key, NETWORK, black_box(&coins), &to, Amount::from_units(60_000), 1)
                .expect("the fixture pays")
        })
    });
    g.finish();
}

fn hash(c: &mut Criterion) {
    let header = NETWORK.genesis_block().header;
    let bytes: [u8; HEADER_SIZE] = header.to_array();
    let txids: Vec<Txid> = (0..MERKLE_LEAVES as u64).map(|i| Txid(sha256d(&i.to_le_bytes()))).collect();

    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sha256d_header_bytes", |b| b.iter(|| sha256d(black_box(&bytes))));
    // The same through the header type: encoding the 128 bytes, then hashing them.
    g.bench_function("header_hash", |b| b.iter(|| black_box(&header).hash()));
    g.throughput(Throughput::Elements(MERKLE_LEAVES as u64));
    g.bench_function("merkle_root_1000", |b| b.iter(|| merkle_root(black_box(&txids))));
    g.finish();
}

fn block(c: &mut Criterion) {
    let (block, coins) = block_fixture();
    let params = NETWORK.params();
    let genesis = NETWORK.genesis_hash();
    let txids = check_block_body(&block, params).expect("the fixture block is valid");
    connect_block(&block, &txids, &coins, params, &genesis).expect("the fixture block connects");
    let ctx = HeaderContext {
        height: 1,
        expected_bits: params.pow_limit,
        median_time_past: block.header.time - 1,
        parent_time: block.header.time - 1,
        now: block.header.time,
    };
    check_header(&block.header, &ctx, params).expect("the header is valid");
    let bytes = to_bytes(&block);

    let mut g = c.benchmark_group("block");
    // Throughput in transactions (not counting the coinbase).
    g.throughput(Throughput::Elements(BLOCK_TXS as u64));
    g.sample_size(20);
    g.bench_function("check_block_body_500", |b| b.iter(|| check_block_body(black_box(&block), params)));
    g.bench_function("connect_block_coins_500", |b| {
        b.iter(|| connect_block_coins(black_box(&block), &txids, &coins, params))
    });
    g.bench_function("connect_block_500", |b| {
        b.iter(|| connect_block(black_box(&block), &txids, &coins, params, &genesis))
    });
    g.bench_function("check_and_connect_500", |b| {
        b.iter(|| {
            let txids = check_block_body(black_box(&block), params).expect("valid");
            connect_block(&block, &txids, &coins, params, &genesis)
        })
    });
    g.bench_function("encode_500", |b| b.iter(|| to_bytes(black_box(&block))));
    // Decoding parses every public key, which decompresses a curve point.
    g.bench_function("decode_500", |b| b.iter(|| from_bytes::<Block>(black_box(&bytes))));
    g.finish();
}

/// What a block's filter costs: to build (a miner's template, a validating node's rule 9) and
/// to check (a light client: hash it against the header, decode it, look up its own keys).
///
/// The block: 500 payments, each spent by one of 250 keys and paying two recipients of its own,
/// so the filter holds about 1,250 distinct key hashes (signatures are not checked here).
fn filter(c: &mut Criterion) {
    let (mut block, _) = block_fixture();
    for (i, tx) in block.transactions.iter_mut().enumerate().filter(|(_, tx)| !tx.is_coinbase()) {
        let k = key((i % 250) as u8 + 1);
        tx.inputs[0].pubkey = k.public_key();
        for (j, out) in tx.outputs.iter_mut().enumerate() {
            let mut recipient = [0u8; 32];
            recipient[..8].copy_from_slice(&((i * 2 + j) as u64).to_le_bytes());
            out.recipient = PubkeyHash(recipient);
        }
    }
    block.commit_transactions();
    let built = block.compute_filter();
    let root = block.header.merkle_root;
    let mine: Vec<PubkeyHash> = (0..20u8).map(|i| key(100 + i).public_key().pubkey_hash()).collect();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("build_block_500", |b| b.iter(|| black_box(&block).compute_filter()));
    g.bench_function("hash_block_500", |b| b.iter(|| black_box(&built).hash()));
    g.bench_function("check_20_keys_block_500", |b| {
        b.iter(|| {
            assert_eq!(black_box(&built).hash(), block.header.filter_hash);
            built.matches_any(&root, black_box(&mine)).expect("decodes")
        })
    });
    g.finish();
}

fn config() -> Criterion {
    // A full run (all groups) in about a minute on 2 cores; `-- --quick` in about half that.
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = ecdsa, tx, hash, block, filter
}
criterion_main!(benches);
