//! Chain-state tests on a real store. Diagrams: `G` is genesis, primes mark a competing branch,
//! `*` the expected tip.

use super::*;
use ferro_shared::block::BLOCK_VERSION;
use ferro_shared::consensus::block_subsidy;
use ferro_shared::keys::SecretKey;
use ferro_shared::tx::{OutPoint, TxIn, TxOut, TX_VERSION};
use ferro_shared::{Amount, BlockHeader, Transaction};
use std::collections::HashSet;
use tempfile::TempDir;

struct TestChain {
    chain: Chain,
    dir: TempDir,
    key: SecretKey,
}

const NOW: u64 = 1_800_000_000;

impl TestChain {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(&dir.path().join("chain.redb"), Network::Dev).unwrap();
        let chain = Chain::open(store, Network::Dev).unwrap();
        TestChain { chain, dir, key: SecretKey::from_bytes(&[7; 32]).unwrap() }
    }

    fn reopen(self) -> Self {
        let TestChain { chain, dir, key } = self;
        drop(chain);
        let store = Store::open(&dir.path().join("chain.redb"), Network::Dev).unwrap();
        TestChain { chain: Chain::open(store, Network::Dev).unwrap(), dir, key }
    }

    fn genesis(&self) -> BlockHash {
        Network::Dev.genesis_hash()
    }

    fn pkh(&self) -> PubkeyHash {
        self.key.public_key().pubkey_hash()
    }

    /// A mined block on `parent` holding `txs`; `salt` makes sibling blocks differ.
    fn block_on(&self, parent: BlockHash, txs: Vec<Transaction>, salt: u64) -> Block {
        let p = self.chain.record(&parent).unwrap().header;
        self.block_after(parent, p, txs, salt)
    }

    /// [`TestChain::block_on`] for a parent that need not be stored (the dev network's
    /// difficulty never changes, so the parent's target is the child's).
    fn block_after(&self, parent: BlockHash, p: BlockHeader, txs: Vec<Transaction>, salt: u64) -> Block {
        let height = p.height + 1;
        // Siblings pay slightly different rewards, so their coinbase txids differ too.
        let reward = Amount::from_units(block_subsidy(Network::Dev.params(), height).units() - salt);
        let coinbase = Transaction::coinbase(height, vec![TxOut { recipient: self.pkh(), amount: reward }]);
        let mut transactions = vec![coinbase];
        transactions.extend(txs);
        let mut block = Block {
            header: BlockHeader {
                version: BLOCK_VERSION,
                height,
                prev: parent,
                merkle_root: Default::default(),
                filter_hash: Default::default(),
                time: p.time + 1 + salt,
                bits: if self.chain.contains(&parent) { self.chain.required_bits(&parent) } else { p.bits },
                nonce: 0,
            },
            transactions,
        };
        block.commit_transactions();
        mine(&mut block);
        block
    }

    fn add(&mut self, block: &Block) -> Result<BlockOutcome, ChainError> {
        self.chain.process_block(block.clone(), NOW)
    }

    /// `n` blocks on `parent`, one on another, built without adding them.
    fn branch(&self, parent: BlockHash, n: usize, salt: u64) -> Vec<Block> {
        let mut out: Vec<Block> = vec![];
        for _ in 0..n {
            let b = match out.last() {
                None => self.block_on(parent, vec![], salt),
                Some(prev) => self.block_after(prev.hash(), prev.header, vec![], salt),
            };
            out.push(b);
        }
        out
    }

    /// Adds a run of blocks as a sync batch that does not extend the tip is added: one by one,
    /// each credited with the work the blocks after it prove.
    fn add_run(&mut self, blocks: &[Block]) -> Vec<Result<BlockOutcome, ChainError>> {
        let credits = run_credits(blocks);
        blocks
            .iter()
            .zip(credits)
            .map(|(b, credit)| self.chain.process_block_in_run(b.clone(), NOW, &|_| false, credit))
            .collect()
    }

    /// Stored blocks off the active chain, counted in the store itself, and their bytes.
    fn stored_side_blocks(&self) -> (usize, u64) {
        let store = self.chain.store();
        let active: HashSet<BlockHash> = store.load_active().unwrap().into_iter().collect();
        let side: Vec<BlockHash> =
            store.load_index().unwrap().into_iter().map(|(h, _)| h).filter(|h| !active.contains(h)).collect();
        let bytes = side.iter().map(|h| store.block_bytes(h).unwrap().unwrap().len() as u64).sum();
        (side.len(), bytes)
    }

    /// Builds and adds a chain of `n` blocks on `parent`; returns their hashes.
    fn extend(&mut self, parent: BlockHash, n: usize, salt: u64) -> Vec<BlockHash> {
        let mut out = vec![];
        let mut cur = parent;
        for _ in 0..n {
            let b = self.block_on(cur, vec![], salt);
            self.add(&b).unwrap();
            cur = b.hash();
            out.push(cur);
        }
        out
    }

    /// A transaction spending `outpoint` (owned by the test key) to `to`, paying `fee`.
    fn spend(&self, outpoint: OutPoint, value: Amount, to: PubkeyHash, fee: u64) -> Transaction {
        let pubkey = self.key.public_key();
        let mut tx = Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: vec![TxIn { prevout: outpoint, pubkey, signature: self.key.sign_digest(&[0; 32]) }],
            outputs: vec![TxOut { recipient: to, amount: Amount::from_units(value.units() - fee) }],
        };
        let spent = [TxOut { recipient: pubkey.pubkey_hash(), amount: value }];
        let digest = tx.sighash(&Network::Dev.genesis_hash(), &spent).unwrap();
        tx.inputs[0].signature = self.key.sign_digest(&digest);
        tx
    }

    fn coinbase_outpoint(&self, hash: &BlockHash) -> OutPoint {
        let block = self.chain.store().block(hash).unwrap().unwrap();
        OutPoint { txid: block.transactions[0].txid(), vout: 0 }
    }

    fn has_coin(&self, outpoint: &OutPoint) -> bool {
        self.chain.store().coin(outpoint).unwrap().is_some()
    }
}

fn mine(block: &mut Block) {
    let target = Target::from_compact(block.header.bits).unwrap();
    while !target.is_met_by(&block.hash()) {
        block.header.nonce += 1;
    }
}

#[test]
fn fresh_chain_starts_at_genesis() {
    let t = TestChain::new();
    assert_eq!(t.chain.tip().hash, t.genesis());
    assert_eq!(t.chain.height(), 0);
    assert_eq!(t.chain.locator(), vec![t.genesis()]);
}

#[test]
fn extend_connects_coins() {
    // G - 1 - 2 - 3*
    let mut t = TestChain::new();
    let hashes = t.extend(t.genesis(), 3, 0);
    assert_eq!(t.chain.tip().hash, hashes[2]);
    assert_eq!(t.chain.height(), 3);
    for h in &hashes {
        assert!(t.has_coin(&t.coinbase_outpoint(h)));
    }
    let utxos = t.chain.store().address_utxos(&t.pkh()).unwrap();
    assert_eq!(utxos.len(), 3);
    assert_eq!(t.chain.store().address_history(&t.pkh(), 10).unwrap().len(), 3);
}

#[test]
fn equal_work_side_chain_does_not_move_the_tip() {
    // G - 1 - 2*
    //       \ 2'
    let mut t = TestChain::new();
    let main = t.extend(t.genesis(), 2, 0);
    let side = t.block_on(main[0], vec![], 5);
    assert_eq!(t.add(&side).unwrap(), BlockOutcome::SideChain { hash: side.hash(), height: 2 });
    assert_eq!(t.chain.tip().hash, main[1]);
    assert!(!t.has_coin(&OutPoint { txid: side.transactions[0].txid(), vout: 0 }));
    assert_eq!(t.add(&side).unwrap(), BlockOutcome::AlreadyKnown);
}

#[test]
fn reorganizations_follow_the_most_work() {
    struct Case {
        name: &'static str,
        main_len: usize,
        fork_at: usize,
        side_len: usize,
        depth: usize,
    }
    let cases = [
        // G - 1 - 2
        //       \ 2' - 3'*
        Case { name: "depth 1", main_len: 2, fork_at: 1, side_len: 2, depth: 1 },
        // G - 1 - 2 - 3 - 4
        //       \ 2' - 3' - 4' - 5'*
        Case { name: "depth 3", main_len: 4, fork_at: 1, side_len: 4, depth: 3 },
        // G - 1
        //  \ 1' - 2'*          (fork at genesis)
        Case { name: "from genesis", main_len: 1, fork_at: 0, side_len: 2, depth: 1 },
    ];
    for c in cases {
        let mut t = TestChain::new();
        let main = t.extend(t.genesis(), c.main_len, 0);
        let fork = if c.fork_at == 0 { t.genesis() } else { main[c.fork_at - 1] };
        // As a sync batch brings it: the blocks short of the tip's work are kept for the work
        // the ones after them prove.
        let blocks = t.branch(fork, c.side_len, 7);
        let side: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
        let last = t.add_run(&blocks).into_iter().map(Result::unwrap).last();
        match last.unwrap() {
            BlockOutcome::NewTip { tip, connected, disconnected } => {
                assert_eq!(tip.hash, *side.last().unwrap(), "{}", c.name);
                assert_eq!(disconnected.len(), c.depth, "{}", c.name);
                assert_eq!(connected.len(), c.side_len, "{}", c.name);
                assert_eq!(disconnected[0].hash(), *main.last().unwrap(), "{}: tip first", c.name);
            }
            other => panic!("{}: expected a new tip, got {other:?}", c.name),
        }
        for h in &main[c.fork_at..] {
            assert!(!t.chain.is_active(h), "{}", c.name);
            assert!(!t.has_coin(&t.coinbase_outpoint(h)), "{}: losing coinbase is gone", c.name);
        }
        for h in &side {
            assert!(t.chain.is_active(h), "{}", c.name);
            assert!(t.has_coin(&t.coinbase_outpoint(h)), "{}", c.name);
        }
        let expected_coins = c.fork_at + c.side_len;
        assert_eq!(t.chain.store().address_utxos(&t.pkh()).unwrap().len(), expected_coins, "{}", c.name);
        assert_eq!(
            t.chain.store().address_history(&t.pkh(), 100).unwrap().len(),
            expected_coins,
            "{}",
            c.name
        );
        // And it all survives a restart.
        let tip = t.chain.tip();
        let t = t.reopen();
        assert_eq!(t.chain.tip(), tip, "{}", c.name);
    }
}

#[test]
fn reorg_unspends_coins_of_the_losing_branch() {
    // G - 1 - 2(spends 1's coinbase)
    //       \ 2' - 3'*
    let mut t = TestChain::new();
    let one = t.extend(t.genesis(), 1, 0)[0];
    let cb = t.coinbase_outpoint(&one);
    let value = t.chain.store().coin(&cb).unwrap().unwrap().output.amount;
    let bob = PubkeyHash([0xb0; 32]);
    let spend = t.spend(cb, value, bob, 1_000);
    let two = t.block_on(one, vec![spend.clone()], 0);
    t.add(&two).unwrap();
    assert!(!t.has_coin(&cb));
    assert!(t.chain.store().tx_location(&spend.txid()).unwrap().is_some());
    assert_eq!(t.chain.store().address_utxos(&bob).unwrap().len(), 1);

    let side = t.extend(one, 2, 9);
    assert_eq!(t.chain.tip().hash, side[1]);
    assert!(t.has_coin(&cb), "the spent coin is back");
    assert!(t.chain.store().tx_location(&spend.txid()).unwrap().is_none());
    assert!(t.chain.store().address_utxos(&bob).unwrap().is_empty());
    assert!(t.chain.store().address_history(&bob, 10).unwrap().is_empty());
}

#[test]
fn invalid_block_in_a_side_chain_leaves_the_active_chain_alone() {
    // G - 1 - 2*
    //       \ 2' - 3'(spends a coin that does not exist) - 4'
    let mut t = TestChain::new();
    let main = t.extend(t.genesis(), 2, 0);
    let utxos_before = t.chain.store().address_utxos(&t.pkh()).unwrap();
    let two_side = t.block_on(main[0], vec![], 3);
    t.add(&two_side).unwrap();
    let bogus = OutPoint { txid: Txid([0x99; 32]), vout: 0 };
    let bad_tx = t.spend(bogus, Amount::ONE_COIN, t.pkh(), 0);
    let three_side = t.block_on(two_side.hash(), vec![bad_tx], 3);
    let err = t.add(&three_side).unwrap_err();
    assert!(
        matches!(err, ChainError::Invalid { error: BlockError::InvalidTransaction { .. }, .. }),
        "{err:?}"
    );
    assert!(err.is_peer_fault());
    assert_eq!(t.chain.tip().hash, main[1]);
    assert_eq!(t.chain.store().address_utxos(&t.pkh()).unwrap(), utxos_before);
    assert!(!t.chain.contains(&three_side.hash()));
    // A child of the invalid block is refused at once.
    let mut four = t.block_on(two_side.hash(), vec![], 4);
    four.header.prev = three_side.hash();
    assert!(matches!(t.add(&four), Err(ChainError::KnownInvalid(_))));
    // After a restart the invalid branch is not in the store.
    let t = t.reopen();
    assert!(!t.chain.contains(&three_side.hash()));
    assert_eq!(t.chain.tip().hash, main[1]);
}

#[test]
fn header_failures_are_typed_and_remembered() {
    let mut t = TestChain::new();
    let mut bad_pow = t.block_on(t.genesis(), vec![], 0);
    let target = Target::from_compact(bad_pow.header.bits).unwrap();
    while target.is_met_by(&bad_pow.hash()) {
        bad_pow.header.nonce += 1;
    }
    assert!(matches!(
        t.add(&bad_pow),
        Err(ChainError::Invalid { error: BlockError::InsufficientProofOfWork(_), .. })
    ));
    assert!(matches!(t.add(&bad_pow), Err(ChainError::KnownInvalid(_))));

    let mut harder = t.block_on(t.genesis(), vec![], 1);
    harder.header.bits = CompactTarget(0x1f00_ffff);
    mine(&mut harder);
    assert!(matches!(
        t.add(&harder),
        Err(ChainError::Invalid { error: BlockError::BadDifficulty { .. }, .. })
    ));

    let orphan_parent = BlockHash([0x55; 32]);
    let mut orphan = t.block_on(t.genesis(), vec![], 2);
    orphan.header.prev = orphan_parent;
    let err = t.add(&orphan).unwrap_err();
    assert!(matches!(err, ChainError::UnknownParent { parent, .. } if parent == orphan_parent));
    assert!(!err.is_peer_fault());

    let mut future = t.block_on(t.genesis(), vec![], 0);
    future.header.time = NOW + 3 * 60 * 60;
    mine(&mut future);
    let err = t.add(&future).unwrap_err();
    assert!(matches!(err, ChainError::Invalid { error: BlockError::TimeTooNew { .. }, .. }));
    assert!(!err.is_peer_fault(), "a clock difference is not misbehaviour");
    assert_eq!(t.chain.height(), 0);
}

#[test]
fn body_mutation_does_not_condemn_the_hash() {
    let mut t = TestChain::new();
    let good = t.block_on(t.genesis(), vec![], 0);
    let mut mutated = good.clone();
    mutated.transactions[0].outputs[0].amount = Amount::ONE_UNIT;
    assert!(matches!(t.add(&mutated), Err(ChainError::Invalid { error: BlockError::BadMerkleRoot, .. })));
    assert!(matches!(t.add(&good), Ok(BlockOutcome::NewTip { .. })));
}

#[test]
fn locator_and_catch_up() {
    let mut t = TestChain::new();
    let hashes = t.extend(t.genesis(), 30, 0);
    let locator = t.chain.locator();
    assert_eq!(locator[0], hashes[29]);
    assert_eq!(*locator.last().unwrap(), t.genesis());
    assert!(locator.len() < 20);
    // A peer that has the first 10 blocks gets the next ones.
    let peer_locator = vec![hashes[9], hashes[5], t.genesis()];
    assert_eq!(t.chain.hashes_after_locator(&peer_locator, 5), hashes[10..15].to_vec());
    // A peer on an unknown fork starts from genesis.
    assert_eq!(t.chain.hashes_after_locator(&[BlockHash([1; 32])], 2), hashes[..2].to_vec());
}

#[test]
fn store_of_another_network_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("chain.redb");
    drop(Store::open(&path, Network::Dev).unwrap());
    assert!(matches!(Store::open(&path, Network::Test), Err(StoreError::WrongNetwork { .. })));
}

#[test]
fn store_of_an_earlier_genesis_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, Network::Dev).unwrap();
    // The chain of a build whose genesis block was another (as before headers grew).
    let txn = store.begin_write().unwrap();
    txn.open_table(crate::chain::store::ACTIVE).unwrap().insert(0, [7u8; 32].as_slice()).unwrap();
    txn.commit().unwrap();
    drop(store);
    let refused = Store::open(&path, Network::Dev);
    assert!(matches!(&refused, Err(StoreError::OtherGenesis { found, .. }) if *found == BlockHash([7; 32])));
    assert!(refused.unwrap_err().to_string().contains("another --data-dir"));
}

#[test]
fn store_kept_under_older_rules_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, Network::Dev).unwrap();
    // A store written under version 1 of the rules has no rules entry.
    let txn = store.begin_write().unwrap();
    txn.open_table(crate::chain::store::META).unwrap().remove("rules").unwrap();
    txn.commit().unwrap();
    drop(store);
    let refused = Store::open(&path, Network::Dev);
    assert!(matches!(refused, Err(StoreError::OldRules { found: 1 })), "{refused:?}");
    assert!(refused.unwrap_err().to_string().contains("another --data-dir"));
    // A store of these rules opens again and again.
    let fresh = dir.path().join("fresh.redb");
    drop(Store::open(&fresh, Network::Dev).unwrap());
    assert!(Store::open(&fresh, Network::Dev).is_ok());
}

/// A run of blocks built on the tip, one on another, without adding them.
fn run_on(t: &TestChain, n: usize) -> Vec<Block> {
    // Build on a scratch chain sharing the same genesis, so `t` stays untouched.
    let mut scratch = TestChain::new();
    let mut cur = t.chain.tip().hash;
    assert_eq!(cur, scratch.genesis(), "runs are built from genesis in these tests");
    let mut out = vec![];
    for _ in 0..n {
        let b = scratch.block_on(cur, vec![], 0);
        scratch.add(&b).unwrap();
        cur = b.hash();
        out.push(b);
    }
    out
}

#[test]
fn a_run_connects_in_one_go_like_block_by_block() {
    // G - 1 - 2 - 3 - 4 - 5*   (one transaction)
    let mut batch = TestChain::new();
    let run = run_on(&batch, 5);
    let outcome = batch.chain.extend_with(&run, NOW, &|_| false).expect("the run extends the tip");
    assert_eq!(outcome.connected, 5);
    assert!(outcome.failure.is_none());
    let mut single = TestChain::new();
    for b in &run {
        single.add(b).unwrap();
    }
    assert_eq!(batch.chain.tip(), single.chain.tip());
    assert_eq!(
        batch.chain.store().address_utxos(&batch.pkh()).unwrap(),
        single.chain.store().address_utxos(&single.pkh()).unwrap()
    );
    let tip = batch.chain.tip();
    let batch = batch.reopen();
    assert_eq!(batch.chain.tip(), tip, "the run was committed");
}

#[test]
fn a_run_stops_at_its_first_invalid_block() {
    // G - 1 - 2 - 3(bad signature) - 4     → tip 2, block 3 condemned, 4 never considered
    let mut t = TestChain::new();
    let mut run = run_on(&t, 2);
    let two = run[1].hash();
    let cb = OutPoint { txid: run[0].transactions[0].txid(), vout: 0 };
    let value = run[0].transactions[0].outputs[0].amount;
    let mut bad_tx = t.spend(cb, value, PubkeyHash([1; 32]), 10);
    bad_tx.inputs[0].signature = t.key.sign_digest(&[3; 32]);
    // Block 3 must be mined on block 2 with the chain that holds it; build it by hand.
    let mut scratch = TestChain::new();
    for b in &run {
        scratch.add(b).unwrap();
    }
    let three = scratch.block_on(two, vec![bad_tx], 0);
    let mut four = scratch.block_on(two, vec![], 1);
    four.header.prev = three.hash();
    mine(&mut four);
    run.push(three.clone());
    run.push(four);
    let outcome = t.chain.extend_with(&run, NOW, &|_| false).expect("the run extends the tip");
    assert_eq!(outcome.connected, 2);
    assert!(matches!(
        outcome.failure,
        Some(ChainError::Invalid { error: BlockError::InvalidTransaction { .. }, .. })
    ));
    assert_eq!(t.chain.tip().hash, two);
    assert!(t.chain.is_known_invalid(&three.hash()));
    assert!(t.has_coin(&cb), "the bad spend changed nothing");
    let t = t.reopen();
    assert!(t.chain.is_known_invalid(&three.hash()), "remembered across a restart");
}

#[test]
fn a_run_that_does_not_extend_the_tip_is_left_to_the_caller() {
    let mut t = TestChain::new();
    let run = run_on(&t, 3);
    assert!(t.chain.extend_with(&run[1..], NOW, &|_| false).is_none(), "does not start on the tip");
    let scrambled = vec![run[0].clone(), run[2].clone()];
    assert!(t.chain.extend_with(&scrambled, NOW, &|_| false).is_none(), "not a chain");
    assert!(t.chain.extend_with(&[], NOW, &|_| false).is_none());
    assert_eq!(t.chain.height(), 0);
}

#[test]
fn signatures_verified_before_are_not_verified_again() {
    // G - 1 - 2 (spends 1's coinbase with a signature that does not verify), on two chains.
    let mut t = TestChain::new();
    let one = t.extend(t.genesis(), 1, 0)[0];
    let mut bad = t.spend(t.coinbase_outpoint(&one), Amount::ONE_COIN, t.pkh(), 1_000);
    bad.inputs[0].signature = t.key.sign_digest(&[1; 32]);
    let block = t.block_on(one, vec![bad.clone()], 0);
    let mut other = TestChain::new();
    other.add(&t.chain.store().block(&one).unwrap().unwrap()).unwrap();

    // On its own, the block is refused for that signature...
    let err = other.add(&block).unwrap_err();
    assert!(
        matches!(err, ChainError::Invalid { error: BlockError::InvalidTransaction { index: 1, .. }, .. }),
        "{err:?}"
    );
    // ...but a transaction vouched for (as the mempool's are) is not verified again.
    let vouched = |txid: &Txid| *txid == bad.txid();
    let outcome = t.chain.process_block_with(block, NOW, &vouched).unwrap();
    assert!(matches!(outcome, BlockOutcome::NewTip { .. }));
}

#[test]
fn saved_mempool_is_taken_back_once_in_order() {
    let t = TestChain::new();
    let one = t.block_on(t.genesis(), vec![], 0);
    let a = t.spend(OutPoint { txid: one.transactions[0].txid(), vout: 0 }, Amount::ONE_COIN, t.pkh(), 10);
    let b = t.spend(OutPoint { txid: a.txid(), vout: 0 }, a.outputs[0].amount, t.pkh(), 10);
    let store = t.chain.store();
    store.save_mempool(&[(7, &a), (9, &b)]).unwrap();
    store.save_mempool(&[(7, &a), (9, &b)]).unwrap(); // replaces, does not add
    assert_eq!(store.take_mempool().unwrap(), (vec![(7, a.clone()), (9, b)], 0));
    assert!(store.take_mempool().unwrap().0.is_empty(), "taken once");

    // An entry that cannot be read is skipped and counted; the others come back.
    store.save_mempool(&[(7, &a)]).unwrap();
    let txn = store.begin_write().unwrap();
    txn.open_table(super::store::MEMPOOL).unwrap().insert(1, [1u8, 2, 3].as_slice()).unwrap();
    txn.commit().unwrap();
    assert_eq!(store.take_mempool().unwrap(), (vec![(7, a)], 1));
}

/// A block naming `parent`, which need not be known (only its parent link matters here).
fn child_of(t: &TestChain, parent: BlockHash, salt: u64) -> Block {
    let mut b = t.block_on(t.genesis(), vec![], salt);
    b.header.prev = parent;
    b
}

#[test]
fn invalid_blocks_are_invalid_for_good_with_their_descendants() {
    // G - 1 - 2 - 3 - 4*                          active
    //      \ 2' - 3'(spends a coin that does not exist) - 4' - 5'
    //                  \ 4''
    // 2', 3', 4', 4'' are stored as side blocks (no more work than the tip). 5' gives the branch
    // more work: connecting it finds 3' invalid. 3' and everything built on it (4', 4'', 5')
    // are invalid for good; 2' is not.
    let mut t = TestChain::new();
    let main = t.extend(t.genesis(), 4, 0);
    let two = t.block_on(main[0], vec![], 3);
    let bogus = OutPoint { txid: Txid([0x99; 32]), vout: 0 };
    let spend = t.spend(bogus, Amount::ONE_COIN, t.pkh(), 0);
    let three = t.block_after(two.hash(), two.header, vec![spend], 3);
    let four = t.block_after(three.hash(), three.header, vec![], 3);
    let four_other = t.block_after(three.hash(), three.header, vec![], 5);
    // 2' and 3' come in one batch with 4', which brings their branch to the tip's work.
    for outcome in t.add_run(&[two.clone(), three.clone(), four.clone()]) {
        assert!(matches!(outcome, Ok(BlockOutcome::SideChain { .. })), "{outcome:?}");
    }
    assert!(matches!(t.add(&four_other), Ok(BlockOutcome::SideChain { .. })));
    let five = t.block_on(four.hash(), vec![], 3);
    let err = t.add(&five).unwrap_err();
    assert!(matches!(&err, ChainError::Invalid { hash, .. } if *hash == three.hash()), "{err:?}");
    assert_eq!(t.chain.tip().hash, main[3]);

    let check = |t: &mut TestChain, when: &str| {
        for (name, bad) in [("3'", &three), ("4'", &four), ("4''", &four_other), ("5'", &five)] {
            assert!(t.chain.is_known_invalid(&bad.hash()), "{when}: {name} is known invalid");
            assert!(!t.chain.contains(&bad.hash()), "{when}: {name} is not kept");
            // Its child is refused at once: no validation, no reorganization attempt.
            let child = child_of(t, bad.hash(), 11);
            let refused = t.add(&child);
            assert!(
                matches!(refused, Err(ChainError::KnownInvalid(h)) if h == child.hash()),
                "{when}: child of {name}"
            );
            assert!(refused.unwrap_err().is_peer_fault());
            assert_eq!(t.chain.tip().hash, main[3], "{when}");
        }
        assert!(t.chain.contains(&two.hash()), "{when}: 2' is valid and stays");
        assert!(!t.chain.is_known_invalid(&two.hash()), "{when}");
    };
    check(&mut t, "at once");
    let mut t = t.reopen();
    check(&mut t, "after a restart");
    // 2' can still grow into the best chain.
    let side = t.branch(two.hash(), 3, 8);
    assert!(t.add_run(&side).iter().all(Result::is_ok));
    assert_eq!(t.chain.tip().hash, side[2].hash());
}

#[test]
fn only_blocks_with_the_required_proof_of_work_are_remembered_across_restarts() {
    // G - 1*
    //   \ 1'(hash above its target)     remembered until the node stops: free to make
    //   \ 1''(time not after the median) invalid for good
    let mut t = TestChain::new();
    t.extend(t.genesis(), 1, 0);
    let mut bad_pow = t.block_on(t.genesis(), vec![], 1);
    let target = Target::from_compact(bad_pow.header.bits).unwrap();
    while target.is_met_by(&bad_pow.hash()) {
        bad_pow.header.nonce += 1;
    }
    let mut too_old = t.block_on(t.genesis(), vec![], 2);
    too_old.header.time = Network::Dev.genesis_block().header.time;
    mine(&mut too_old);
    assert!(matches!(
        t.add(&bad_pow),
        Err(ChainError::Invalid { error: BlockError::InsufficientProofOfWork(_), .. })
    ));
    assert!(matches!(t.add(&too_old), Err(ChainError::Invalid { error: BlockError::TimeTooOld { .. }, .. })));
    for parent in [&bad_pow, &too_old] {
        assert!(matches!(t.add(&child_of(&t, parent.hash(), 3)), Err(ChainError::KnownInvalid(_))));
    }
    let mut t = t.reopen();
    assert!(!t.chain.is_known_invalid(&bad_pow.hash()));
    assert!(matches!(t.add(&child_of(&t, bad_pow.hash(), 3)), Err(ChainError::UnknownParent { .. })));
    assert!(t.chain.is_known_invalid(&too_old.hash()));
    assert!(matches!(t.add(&child_of(&t, too_old.hash(), 3)), Err(ChainError::KnownInvalid(_))));
}

#[test]
fn an_invalid_block_on_a_branch_with_less_work_costs_no_write() {
    // G - 1 - 2*
    //   \ 1'(time not after the median)     less work than the tip: refused unread, not recorded
    // Judging it first would let a peer have the node record one invalid block for the price of
    // a child of genesis, as many times as it likes.
    let mut t = TestChain::new();
    t.extend(t.genesis(), 2, 0);
    let mut too_old = t.block_on(t.genesis(), vec![], 2);
    too_old.header.time = Network::Dev.genesis_block().header.time;
    mine(&mut too_old);
    assert!(matches!(t.add(&too_old), Err(ChainError::LowWork { .. })));
    assert!(!t.chain.is_known_invalid(&too_old.hash()));
    let t = t.reopen();
    assert!(!t.chain.is_known_invalid(&too_old.hash()), "nothing was written about it");
}

/// What a restart sees of the chain: tip, active chain, block index, invalid blocks, and the
/// coins, history and transaction locations of `pkh` and `txids`.
fn stored_state(store: &Store, pkh: &PubkeyHash, txids: &[Txid]) -> String {
    let mut index = store.load_index().unwrap();
    index.sort_by_key(|(h, _)| *h.as_bytes());
    let locations: Vec<_> = txids.iter().map(|t| store.tx_location(t).unwrap()).collect();
    format!(
        "{:?}",
        (
            store.tip().unwrap(),
            store.load_active().unwrap(),
            index,
            store.load_invalid().unwrap(),
            store.address_utxos(pkh).unwrap(),
            store.address_history(pkh, 1000).unwrap(),
            locations,
        )
    )
}

#[test]
fn a_failing_write_leaves_the_store_as_it_was() {
    // G - 1 - 2 - 3 | 4 - 5 - 6      4 spends 1's coinbase; writing 4 (or 4..6) fails part way.
    let mut twin = TestChain::new();
    let base = twin.extend(twin.genesis(), 3, 0);
    let coin = twin.coinbase_outpoint(&base[0]);
    let value = twin.chain.store().coin(&coin).unwrap().unwrap().output.amount;
    let payee = SecretKey::from_bytes(&[9; 32]).unwrap().public_key().pubkey_hash();
    let mut run = vec![twin.block_on(base[2], vec![twin.spend(coin, value, payee, 10)], 0)];
    twin.add(&run[0]).unwrap();
    for _ in 0..2 {
        let next = twin.block_on(run.last().unwrap().hash(), vec![], 0);
        twin.add(&next).unwrap();
        run.push(next);
    }
    let blocks = |hashes: &[BlockHash]| -> Vec<Block> {
        hashes.iter().map(|h| twin.chain.store().block(h).unwrap().unwrap()).collect()
    };
    let txids: Vec<Txid> =
        blocks(&base).iter().chain(&run).flat_map(|b| b.transactions.iter()).map(|t| t.txid()).collect();

    let backend = crate::testing::FailingBackend::new();
    let open = || {
        Chain::open(Store::open_with_backend(backend.clone(), Network::Dev).unwrap(), Network::Dev).unwrap()
    };
    let mut chain = open();
    for block in blocks(&base) {
        chain.process_block(block, NOW).unwrap();
    }
    let pkh = twin.pkh();
    let before = stored_state(chain.store(), &pkh, &txids);

    struct Case {
        /// Connect the run as a sync batch (else block 4 alone).
        batch: bool,
        /// Writes to the disk that succeed before they start failing (connecting the run takes
        /// about 50).
        allowed: i64,
    }
    let cases = [0, 1, 2, 5, 10, 20, 30, 40, 50]
        .map(|allowed| Case { batch: true, allowed })
        .into_iter()
        .chain([0, 1, 2, 5, 10].map(|allowed| Case { batch: false, allowed }));
    for c in cases {
        let name = format!("batch {}, {} writes allowed", c.batch, c.allowed);
        let name = name.as_str();
        backend.fail_writes_after(c.allowed);
        let error = if c.batch {
            let outcome = chain.extend_with(&run, NOW, &|_| false).expect("the run extends the tip");
            assert_eq!(outcome.connected, 0, "{}", name);
            outcome.failure.expect("a failure")
        } else {
            chain.process_block(run[0].clone(), NOW).unwrap_err()
        };
        assert!(error.storage_failure().is_some(), "{}: {error}", name);
        assert!(!error.is_peer_fault(), "{}", name);
        assert_eq!(chain.tip().hash, base[2], "{}: the tip in memory did not move", name);
        assert!(run.iter().all(|b| !chain.is_known_invalid(&b.hash())), "{}", name);
        // Restart on what the failed write left.
        drop(chain);
        backend.heal();
        chain = open();
        assert_eq!(stored_state(chain.store(), &pkh, &txids), before, "{}", name);
    }

    let outcome = chain.extend_with(&run, NOW, &|_| false).unwrap();
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert_eq!(chain.tip().hash, run[2].hash());
    assert!(chain.store().coin(&coin).unwrap().is_none());
    assert_eq!(stored_state(chain.store(), &pkh, &txids), stored_state(twin.chain.store(), &pkh, &txids));
}

#[test]
fn a_storage_failure_mid_batch_commits_nothing() {
    // G - 1 - 2 | 3 - 4 - 5      4 spends 1's coinbase, which the store cannot decode.
    let mut twin = TestChain::new();
    let base = twin.extend(twin.genesis(), 2, 0);
    let coin = twin.coinbase_outpoint(&base[0]);
    let value = twin.chain.store().coin(&coin).unwrap().unwrap().output.amount;
    let mut run = vec![twin.block_on(base[1], vec![], 0)];
    twin.add(&run[0]).unwrap();
    run.push(twin.block_on(run[0].hash(), vec![twin.spend(coin, value, twin.pkh(), 10)], 0));
    twin.add(&run[1]).unwrap();
    run.push(twin.block_on(run[1].hash(), vec![], 0));

    let mut t = TestChain::new();
    assert_eq!(t.extend(t.genesis(), 2, 0), base);
    let txids: Vec<Txid> = run.iter().flat_map(|b| b.transactions.iter()).map(|t| t.txid()).collect();
    let before = stored_state(t.chain.store(), &t.pkh(), &txids);
    let saved = t.chain.store().replace_coin_bytes(&coin, &[0xff; 3]);

    let outcome = t.chain.extend_with(&run, NOW, &|_| false).expect("the run extends the tip");
    let failure = outcome.failure.expect("a failure");
    assert!(failure.storage_failure().is_some(), "{failure}");
    assert_eq!(outcome.connected, 0, "block 3 is not kept either");
    assert_eq!(t.chain.tip().hash, base[1]);
    assert!(run.iter().all(|b| !t.chain.is_known_invalid(&b.hash())));

    t.chain.store().replace_coin_bytes(&coin, &saved);
    let mut t = t.reopen();
    assert_eq!(stored_state(t.chain.store(), &t.pkh(), &txids), before);
    let outcome = t.chain.extend_with(&run, NOW, &|_| false).unwrap();
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert_eq!(t.chain.tip().hash, run[2].hash());
}

#[test]
fn branches_with_less_work_than_the_tip_are_not_stored() {
    // G - 1 - 2 - 3 - 4*
    // |\ 1'                      from genesis: less work, refused
    // |         \ 3'             from deep in the chain: less work, refused
    // |             \ 4'         a competing tip: equal work, stored, the first seen stays
    //  \ 1'' - 2'' - 3''          a batch that stays short of the tip: nothing stored
    //  \ 1° - 2° - 3° - 4° - 5°*  a batch that ends with more work: stored and reorganized to
    enum Expect {
        Refused,
        Stored,
        NewTip,
    }
    struct Case {
        name: &'static str,
        /// Height of the fork point on the active chain.
        fork: usize,
        len: usize,
        expect: Expect,
    }
    let cases = [
        Case { name: "one block from genesis", fork: 0, len: 1, expect: Expect::Refused },
        Case { name: "one block from deep in the chain", fork: 2, len: 1, expect: Expect::Refused },
        Case { name: "equal-work sibling of the tip", fork: 3, len: 1, expect: Expect::Stored },
        Case { name: "batch from genesis, short", fork: 0, len: 3, expect: Expect::Refused },
        Case { name: "batch from genesis with more work", fork: 0, len: 5, expect: Expect::NewTip },
    ];
    for c in cases {
        let mut t = TestChain::new();
        let main = t.extend(t.genesis(), 4, 0);
        let fork = if c.fork == 0 { t.genesis() } else { main[c.fork - 1] };
        let blocks = t.branch(fork, c.len, 9);
        let outcomes = t.add_run(&blocks);
        let last = outcomes.last().unwrap();
        match c.expect {
            Expect::Refused => {
                assert!(
                    matches!(outcomes[0], Err(ChainError::LowWork { hash }) if hash == blocks[0].hash()),
                    "{}: {outcomes:?}",
                    c.name
                );
                assert!(!outcomes[0].as_ref().unwrap_err().is_peer_fault(), "{}", c.name);
                assert_eq!(t.chain.tip().hash, main[3], "{}", c.name);
                assert_eq!(t.stored_side_blocks(), (0, 0), "{}: nothing stored", c.name);
                assert_eq!(t.chain.side_bytes(), 0, "{}", c.name);
                assert!(blocks.iter().all(|b| !t.chain.contains(&b.hash())), "{}", c.name);
            }
            Expect::Stored => {
                assert!(matches!(last, Ok(BlockOutcome::SideChain { .. })), "{}: {last:?}", c.name);
                assert_eq!(t.chain.tip().hash, main[3], "{}: the first seen stays", c.name);
                assert!(t.chain.is_worth_relaying(&blocks[0].hash()), "{}", c.name);
                let stored = t.stored_side_blocks();
                assert_eq!(stored, (1, blocks[0].size() as u64), "{}", c.name);
                assert_eq!(t.chain.side_bytes(), stored.1, "{}", c.name);
            }
            Expect::NewTip => {
                assert!(matches!(last, Ok(BlockOutcome::NewTip { .. })), "{}: {last:?}", c.name);
                assert_eq!(t.chain.tip().hash, blocks.last().unwrap().hash(), "{}", c.name);
                // The blocks reorganized out are the side blocks now.
                let stored = t.stored_side_blocks();
                assert_eq!(stored.0, 4, "{}", c.name);
                assert_eq!(t.chain.side_bytes(), stored.1, "{}", c.name);
            }
        }
    }
}

#[test]
fn a_run_is_credited_only_with_work_its_headers_prove() {
    // G - 1 - 2 - 3 - 4: credits 3, 2, 1, 0 blocks of work; a header missing its own target
    // or a broken link ends the credit of the blocks before it.
    let t = TestChain::new();
    let blocks = t.branch(t.genesis(), 4, 0);
    let one = Target::from_compact(blocks[0].header.bits).unwrap().work();
    let times = |n: usize| (0..n).fold(Work::ZERO, |w, _| w.saturating_add(&one));
    assert_eq!(run_credits(&blocks), vec![times(3), times(2), times(1), Work::ZERO]);
    let mut unmined = blocks.clone();
    let target = Target::from_compact(unmined[2].header.bits).unwrap();
    while target.is_met_by(&unmined[2].hash()) {
        unmined[2].header.nonce += 1;
    }
    // Its new hash also breaks the link from block 4.
    assert_eq!(run_credits(&unmined), vec![times(1), Work::ZERO, Work::ZERO, Work::ZERO]);
    let broken = vec![blocks[0].clone(), blocks[2].clone(), blocks[3].clone()];
    assert_eq!(run_credits(&broken), vec![Work::ZERO, times(1), Work::ZERO]);
}

#[test]
fn side_blocks_stay_within_their_byte_bound_across_restarts() {
    // G - 1 - 2 - 3 - 4 - 5 - 6 - 7
    //              \   \   \   \ 4', 5', 6', 7'   competing tips, each equal to the tip when it came
    //               \ 4° - 5° - 6° - 7° - 8°*    a batch with more work, taken over
    // With room for 5 blocks, the store never holds more side blocks than that, the ones with
    // the least work go first (the blocks of the batch being brought in last), and nothing of
    // the active chain is touched.
    let mut t = TestChain::new();
    let size = t.block_on(t.genesis(), vec![], 0).size() as u64;
    let limit = 5 * size + size / 2;
    t.chain.side_limit = limit;
    let mut main = t.extend(t.genesis(), 3, 0);
    for salt in 1..=4 {
        // Each a sibling of the tip, then the tip moves on.
        let sibling = t.block_on(main[main.len() - 2], vec![], salt);
        assert!(matches!(t.add(&sibling), Ok(BlockOutcome::SideChain { .. })));
        assert!(t.chain.side_bytes() <= limit, "after sibling {salt}");
        let next = t.block_on(*main.last().unwrap(), vec![], 0);
        t.add(&next).unwrap();
        main.push(next.hash());
        assert!(matches!(t.add(&sibling), Ok(BlockOutcome::AlreadyKnown) | Err(ChainError::LowWork { .. })));
    }
    // The batch takes over: the blocks it disconnects are side blocks now, and some go.
    let deep = t.branch(main[2], 5, 21);
    let outcomes = t.add_run(&deep);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(t.chain.tip().hash, deep.last().unwrap().hash());
    let (count, bytes) = t.stored_side_blocks();
    assert!(bytes <= limit, "{count} side blocks of {bytes} bytes, limit {limit}");
    assert_eq!(t.chain.side_bytes(), bytes);
    assert!(count <= 5);
    assert!(deep.iter().all(|b| t.chain.is_active(&b.hash())), "the active chain is whole");

    let tip = t.chain.tip();
    let mut t = t.reopen();
    assert_eq!(t.chain.tip(), tip);
    assert_eq!(t.chain.side_bytes(), bytes, "counted again from the store at open");
    assert_eq!(t.stored_side_blocks(), (count, bytes));
    // The chain still grows on its tip.
    t.extend(tip.hash, 2, 0);
}

#[test]
fn the_node_key_is_made_once_and_kept() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, Network::Dev).unwrap();
    assert_eq!(store.node_secret([1; 32]).unwrap(), [1; 32]);
    assert_eq!(store.node_secret([2; 32]).unwrap(), [1; 32]);
    drop(store);
    let store = Store::open(&path, Network::Dev).unwrap();
    assert_eq!(store.node_secret([3; 32]).unwrap(), [1; 32], "kept across restarts");
}

#[test]
fn headers_are_checked_against_the_chain_they_build_on() {
    let mut t = TestChain::new();
    let ours = t.branch(t.genesis(), 3, 0);
    for b in &ours {
        t.add(b).unwrap();
    }
    // A branch off block 1 that goes two past our tip: the known header is skipped.
    let theirs = t.branch(ours[0].hash(), 4, 1);
    let mut run: Vec<BlockHeader> = vec![ours[0].header];
    run.extend(theirs.iter().map(|b| b.header));
    let checked = t.chain.check_headers(&run, NOW).unwrap();
    assert_eq!(checked.fork, ours[0].hash());
    assert_eq!(
        checked.new.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        theirs.iter().map(Block::hash).collect::<Vec<_>>()
    );
    assert_eq!(checked.tail.height(), 5);
    assert!(checked.tail.work() > t.chain.tip().work, "five blocks of work beat three");
    // Its work is what connecting the blocks gives.
    for r in t.add_run(&theirs) {
        r.unwrap();
    }
    assert_eq!(t.chain.tip().work, checked.tail.work());

    // Headers on a block nobody has.
    let stranger = t.branch(t.genesis(), 2, 2);
    let orphans = vec![stranger[1].header];
    assert!(matches!(t.chain.check_headers(&orphans, NOW), Err(HeadersRefused::Unconnected { .. })));
    // A header claiming an easier target than the chain requires.
    let mut easy = t.branch(t.chain.tip().hash, 1, 3)[0].header;
    easy.bits = CompactTarget(easy.bits.0 + 1);
    assert!(matches!(
        t.chain.check_headers(&[easy], NOW),
        Err(HeadersRefused::Invalid(HeaderError::Invalid { error: BlockError::BadDifficulty { .. }, .. }))
    ));
    assert_eq!(t.chain.check_headers(&[], NOW).unwrap_err(), HeadersRefused::Empty);
}

/// Fork choice against a reference model: random block trees arrive in random orders, with
/// restarts in between. The model: a block whose parent is not stored is refused; one whose
/// branch has more work than the tip becomes the tip; as much work, stored beside it (the
/// first seen stays active); less, refused. After each arrival the node's tip must be the
/// model's, and its coins exactly the coinbases of the model's active chain.
mod fork_choice_model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A tree of `n` blocks: block `i`'s parent is genesis or a block before it.
    fn trees() -> impl Strategy<Value = (Vec<Option<usize>>, Vec<usize>, Vec<bool>)> {
        (2usize..24).prop_flat_map(|n| {
            let parents =
                (0..n)
                    .map(|i| {
                        if i == 0 {
                            Just(None).boxed()
                        } else {
                            proptest::option::weighted(0.9, 0..i).boxed()
                        }
                    })
                    .collect::<Vec<_>>();
            let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            let restarts = proptest::collection::vec(proptest::bool::weighted(0.15), n);
            (parents, order, restarts)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn the_tip_is_the_first_seen_of_the_most_work((parents, order, restarts) in trees()) {
            let mut t = TestChain::new();
            let genesis = t.genesis();
            // Build every block up front (each on its parent), salted by its index.
            let mut blocks: Vec<Block> = Vec::with_capacity(parents.len());
            for (i, parent) in parents.iter().enumerate() {
                let (hash, header) = match parent {
                    None => (genesis, Network::Dev.genesis_block().header),
                    Some(p) => (blocks[*p].hash(), blocks[*p].header),
                };
                blocks.push(t.block_after(hash, header, vec![], i as u64 + 1));
            }
            // The model: stored blocks with their heights (every dev block has the same work),
            // and the tip.
            let mut stored: HashMap<BlockHash, u64> = HashMap::from([(genesis, 0)]);
            let mut tip = genesis;
            for (step, &i) in order.iter().enumerate() {
                let block = &blocks[i];
                let result = t.add(block);
                let parent = block.header.prev;
                match stored.get(&parent).copied() {
                    None => prop_assert!(matches!(result, Err(ChainError::UnknownParent { .. })), "{result:?}"),
                    Some(h) => {
                        let height = h + 1;
                        let tip_height = stored[&tip];
                        if height > tip_height {
                            prop_assert!(matches!(result, Ok(BlockOutcome::NewTip { .. })), "{result:?}");
                            stored.insert(block.hash(), height);
                            tip = block.hash();
                        } else if height == tip_height {
                            prop_assert!(matches!(result, Ok(BlockOutcome::SideChain { .. })), "{result:?}");
                            stored.insert(block.hash(), height);
                        } else {
                            prop_assert!(matches!(result, Err(ChainError::LowWork { .. })), "{result:?}");
                        }
                    }
                }
                if restarts[step] {
                    t = t.reopen();
                }
                prop_assert_eq!(t.chain.tip().hash, tip);
                // Coins: the coinbases of the active chain, nothing else.
                let mut expected = HashSet::new();
                let mut cur = tip;
                while cur != genesis {
                    let b = blocks.iter().find(|b| b.hash() == cur).expect("a block of the tree");
                    expected.insert(OutPoint { txid: b.transactions[0].txid(), vout: 0 });
                    cur = b.header.prev;
                }
                let coins: HashSet<OutPoint> =
                    t.chain.store().address_utxos(&t.pkh()).unwrap().into_iter().map(|(o, _)| o).collect();
                prop_assert_eq!(coins, expected);
            }
        }
    }
}
