//! The miner: block templates and the proof-of-work nonce search.
//!
//! A header is 128 bytes and its nonce is the last 8 (`NONCE_OFFSET`), so the first 64-byte
//! SHA-256 block never changes while nonces are tried. [`HeaderHasher`] compresses it once and
//! then spends three compressions per nonce instead of the four of a plain `sha256d`:
//!
//! ```text
//!   header[0..64]   ──compress(IV)──▶ midstate                       (once per header)
//!   header[64..128] ──compress(midstate)──▶ state                    (per nonce)
//!   pad(128 bytes)  ──compress(state)──▶ digest1                     (per nonce)
//!   digest1 ‖ pad(32 bytes) ──compress(IV)──▶ block hash             (per nonce)
//! ```
//!
//! Everything here is synchronous and CPU-bound: callers run [`mine_block`] on a blocking thread
//! and stop it through an `AtomicBool`.

use ferro_shared::block::{Block, BlockHeader, BLOCK_VERSION, HEADER_SIZE, NONCE_OFFSET};
use ferro_shared::consensus::chain::block_subsidy;
use ferro_shared::hash::{BlockHash, FilterHash, MerkleRoot, PubkeyHash};
use ferro_shared::pow::{CompactTarget, Target};
use ferro_shared::{Amount, Params, Transaction, TxOut};
use sha2::compress256;
use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How many hashes `search_nonce` tries between looks at the stop flag.
const STOP_CHECK_INTERVAL: u64 = 4096;
/// Nonces per `search_nonce` call in `mine_block`.
const MINE_CHUNK: u64 = 1 << 20;

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// One 64-byte SHA-256 message block, as `compress256` takes it.
type Block64 = GenericArray<u8, U64>;

/// The padding block of a 128-byte message (a whole number of 64-byte blocks): `0x80`, zeros,
/// and the message length in bits (1024) as a big-endian u64.
fn header_padding_block() -> Block64 {
    const _: () = assert!(HEADER_SIZE == 128, "the padding below is that of a 128-byte message");
    let mut block = [0u8; 64];
    block[0] = 0x80;
    block[56..].copy_from_slice(&((HEADER_SIZE as u64) * 8).to_be_bytes());
    block.into()
}

/// The only block of a 32-byte message: the digest (filled in per nonce), `0x80`, zeros, and the
/// length in bits (256).
fn digest_block_template() -> Block64 {
    let mut block = [0u8; 64];
    block[32] = 0x80;
    block[56..].copy_from_slice(&256u64.to_be_bytes());
    block.into()
}

/// Writes a SHA-256 state as its 32-byte big-endian digest.
fn write_state(state: &[u32; 8], out: &mut [u8]) {
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

/// Hashes one header for many nonces fast.
///
/// Holds the SHA-256 midstate after the first 64 header bytes, the second message block with the
/// rest of the header, and the padding block of a 128-byte message. Each nonce then costs two
/// compressions to finish the first SHA-256 and one for the second SHA-256 over its digest.
#[derive(Debug, Clone)]
pub struct HeaderHasher {
    midstate: [u32; 8],
    tail: Block64,
    padding: Block64,
}

/// Per-search working buffers, so the hot loop only rewrites the nonce and the digest.
struct Scratch {
    tail: Block64,
    digest: Block64,
}

impl HeaderHasher {
    pub fn new(header: &BlockHeader) -> Self {
        let bytes = header.to_array();
        let mut midstate = SHA256_IV;
        compress256(&mut midstate, &[*Block64::from_slice(&bytes[..64])]);
        let tail = *Block64::from_slice(&bytes[64..]);
        HeaderHasher { midstate, tail, padding: header_padding_block() }
    }

    /// The hash of the header this hasher was made from, with `nonce` in place of its own.
    /// Equal to `BlockHeader { nonce, ..header }.hash()`.
    pub fn hash_with_nonce(&self, nonce: u64) -> BlockHash {
        BlockHash(self.hash_into(&mut self.scratch(), nonce))
    }

    fn scratch(&self) -> Scratch {
        Scratch { tail: self.tail, digest: digest_block_template() }
    }

    fn hash_into(&self, s: &mut Scratch, nonce: u64) -> [u8; 32] {
        s.tail[NONCE_OFFSET - 64..HEADER_SIZE - 64].copy_from_slice(&nonce.to_le_bytes());
        let mut state = self.midstate;
        compress256(&mut state, core::slice::from_ref(&s.tail));
        compress256(&mut state, core::slice::from_ref(&self.padding));
        write_state(&state, &mut s.digest[..32]);
        let mut state = SHA256_IV;
        compress256(&mut state, core::slice::from_ref(&s.digest));
        let mut hash = [0u8; 32];
        write_state(&state, &mut hash);
        hash
    }
}

/// Searches nonces `start, start + 1, …` (wrapping) for at most `max_tries`, and returns the
/// first whose header hash meets `target`. Returns `None` when the tries run out or when `stop`
/// is set (looked at every few thousand hashes, and before the first).
pub fn search_nonce(
    header: &BlockHeader,
    target: &Target,
    start: u64,
    max_tries: u64,
    stop: &AtomicBool,
) -> Option<u64> {
    let hasher = HeaderHasher::new(header);
    let mut scratch = hasher.scratch();
    // A hash meets the target iff, read as a big-endian number, it is <= the target: comparing
    // the big-endian bytes lexicographically is the same thing.
    let target = target.to_be_bytes();
    let mut tried = 0u64;
    while tried < max_tries {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let batch = (max_tries - tried).min(STOP_CHECK_INTERVAL);
        for i in tried..tried + batch {
            let nonce = start.wrapping_add(i);
            if hasher.hash_into(&mut scratch, nonce) <= target {
                return Some(nonce);
            }
        }
        tried += batch;
    }
    None
}

/// A block template for height `next_height`: a coinbase paying `reward_to` the subsidy plus the
/// fees of `txs`, then the transactions of `txs` in the given order. The header has
/// `BLOCK_VERSION`, the given parent, height, bits and time, the Merkle root of these
/// transactions, and nonce 0.
///
/// Each entry of `txs` is a transaction and the fee it pays. The caller (the mempool) vouches
/// for the fees; their sum saturates rather than overflow, which a block of valid transactions
/// (each under `MAX_MONEY`) can never reach.
pub fn build_template(
    params: &Params,
    next_height: u64,
    prev: BlockHash,
    bits: CompactTarget,
    time: u64,
    reward_to: PubkeyHash,
    txs: Vec<(Transaction, Amount)>,
) -> Block {
    let fees = txs.iter().fold(0u64, |sum, (_, fee)| sum.saturating_add(fee.units()));
    let reward = Amount::from_units(block_subsidy(params, next_height).units().saturating_add(fees));
    let coinbase = Transaction::coinbase(next_height, vec![TxOut { recipient: reward_to, amount: reward }]);
    let mut transactions = Vec::with_capacity(txs.len() + 1);
    transactions.push(coinbase);
    transactions.extend(txs.into_iter().map(|(tx, _)| tx));
    let header = BlockHeader {
        version: BLOCK_VERSION,
        height: next_height,
        prev,
        merkle_root: MerkleRoot::ZERO,
        filter_hash: FilterHash::ZERO,
        time,
        bits,
        nonce: 0,
    };
    let mut block = Block { header, transactions };
    block.commit_transactions();
    block
}

/// Mines `block` in place on the calling thread until its hash meets the target of its bits.
///
/// Nonces are searched in chunks from the header's current nonce; when the nonce space runs out
/// the header's time goes up by one second and the search starts again from nonce 0. Returns
/// `true` with the solving nonce (and possibly a later time) in the header, or `false` if `stop`
/// was set first or the header's bits are not a valid target (no hash could ever meet it).
pub fn mine_block(block: &mut Block, stop: &AtomicBool) -> bool {
    mine_header(&mut block.header, stop, MINE_CHUNK, u64::MAX)
}

/// [`mine_block`] with the chunk size and the nonces per time value (`0..nonce_space`) as
/// parameters, so tests can run out of nonces.
fn mine_header(header: &mut BlockHeader, stop: &AtomicBool, chunk: u64, nonce_space: u64) -> bool {
    let Ok(target) = Target::from_compact(header.bits) else {
        return false;
    };
    let mut start = header.nonce.min(nonce_space);
    loop {
        let tries = chunk.min(nonce_space - start);
        if let Some(nonce) = search_nonce(header, &target, start, tries, stop) {
            header.nonce = nonce;
            return true;
        }
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        start += tries;
        if start >= nonce_space {
            header.time = header.time.saturating_add(1);
            start = 0;
        }
    }
}

/// Measures the hashes per second `search_nonce` achieves on the calling thread over about
/// `duration`, searching against a target no hash meets.
pub fn measure_hash_rate(duration: Duration) -> f64 {
    const BATCH: u64 = 1 << 14;
    let header = BlockHeader {
        version: BLOCK_VERSION,
        height: 1,
        prev: BlockHash([0x11; 32]),
        merkle_root: MerkleRoot([0x22; 32]),
        filter_hash: FilterHash([0x33; 32]),
        time: 1_767_225_600,
        bits: CompactTarget(0x1d00_ffff),
        nonce: 0,
    };
    // Only the all-zero hash meets a zero target.
    let impossible = Target::from_be_bytes([0; 32]);
    let never = AtomicBool::new(false);
    let started = Instant::now();
    let mut hashes = 0u64;
    loop {
        // A solution here would be a 2^-256 event; count it as the full batch anyway.
        let _ = search_nonce(&header, &impossible, hashes, BATCH, &never);
        hashes += BATCH;
        let elapsed = started.elapsed();
        if elapsed >= duration {
            return hashes as f64 / elapsed.as_secs_f64();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::consensus::block::{check_block_body, check_header, HeaderContext};
    use ferro_shared::{Network, OutPoint, SecretKey, TxIn, Txid};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn arb_header() -> impl Strategy<Value = BlockHeader> {
        (
            any::<u32>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
        )
            .prop_map(|(version, height, prev, mr, fh, time, bits, nonce)| BlockHeader {
                version,
                height,
                prev: BlockHash(prev),
                merkle_root: MerkleRoot(mr),
                filter_hash: FilterHash(fh),
                time,
                bits: CompactTarget(bits),
                nonce,
            })
    }

    fn header(bits: CompactTarget) -> BlockHeader {
        BlockHeader {
            version: BLOCK_VERSION,
            height: 7,
            prev: BlockHash([0xab; 32]),
            merkle_root: MerkleRoot([0xcd; 32]),
            filter_hash: FilterHash([0xef; 32]),
            time: 1_767_225_700,
            bits,
            nonce: 0,
        }
    }

    fn target(bits: CompactTarget) -> Target {
        Target::from_compact(bits).unwrap()
    }

    /// A non-coinbase transaction with a well-formed shape (signature not valid for any coin).
    fn spend(seed: u8, amount: u64) -> Transaction {
        let key = SecretKey::from_bytes(&[seed; 32]).unwrap();
        Transaction {
            version: ferro_shared::tx::TX_VERSION,
            coinbase_height: None,
            inputs: vec![TxIn {
                prevout: OutPoint { txid: Txid([seed; 32]), vout: 0 },
                pubkey: key.public_key(),
                signature: key.sign_digest(&[seed; 32]),
            }],
            outputs: vec![TxOut { recipient: PubkeyHash([seed; 32]), amount: Amount::from_units(amount) }],
        }
    }

    proptest! {
        #[test]
        fn hasher_matches_header_hash(h in arb_header(), nonces in prop::collection::vec(any::<u64>(), 1..8)) {
            let hasher = HeaderHasher::new(&h);
            prop_assert_eq!(hasher.hash_with_nonce(h.nonce), h.hash());
            for nonce in nonces {
                prop_assert_eq!(hasher.hash_with_nonce(nonce), BlockHeader { nonce, ..h }.hash());
            }
        }
    }

    #[test]
    fn hasher_edge_nonces() {
        let h = header(CompactTarget(0x1d00_ffff));
        let hasher = HeaderHasher::new(&h);
        for nonce in [0, 1, 0xff, 0x100, u64::MAX - 1, u64::MAX] {
            assert_eq!(hasher.hash_with_nonce(nonce), BlockHeader { nonce, ..h }.hash(), "nonce {nonce}");
        }
        // The padding of a 128-byte message, spelled out: 0x80, zeros, 1024 bits.
        let padding = header_padding_block();
        assert_eq!(padding[0], 0x80);
        assert!(padding[1..56].iter().all(|&b| b == 0));
        assert_eq!(&padding[56..], &[0, 0, 0, 0, 0, 0, 0x04, 0x00]);
    }

    #[test]
    fn search_finds_a_nonce_meeting_the_dev_target() {
        let bits = Network::Dev.params().pow_limit;
        let h = header(bits);
        let t = target(bits);
        let stop = AtomicBool::new(false);
        for start in [0, 1000, u64::MAX - 3] {
            let nonce = search_nonce(&h, &t, start, 1000, &stop).expect("dev target is met every other hash");
            let found = BlockHeader { nonce, ..h };
            assert!(t.is_met_by(&found.hash()));
            // It is the first such nonce from `start`.
            let mut n = start;
            while n != nonce {
                assert!(!t.is_met_by(&BlockHeader { nonce: n, ..h }.hash()), "nonce {n} skipped");
                n = n.wrapping_add(1);
            }
        }
    }

    #[test]
    fn search_agrees_with_target_comparison_at_the_boundary() {
        // A target equal to a known hash: that nonce meets it exactly, lower nonces' hashes
        // (almost surely) do not.
        let h = header(CompactTarget(0x1d00_ffff));
        let wanted = 5;
        let exact = Target::from_be_bytes(BlockHeader { nonce: wanted, ..h }.hash().0);
        let stop = AtomicBool::new(false);
        let found = search_nonce(&h, &exact, 0, 100, &stop).unwrap();
        assert!(found <= wanted);
        assert!(exact.is_met_by(&BlockHeader { nonce: found, ..h }.hash()));
    }

    #[test]
    fn max_tries_is_respected() {
        let impossible = target(CompactTarget(0x0300_0001));
        let h = header(CompactTarget(0x0300_0001));
        let stop = AtomicBool::new(false);
        assert_eq!(search_nonce(&h, &impossible, 0, 0, &stop), None);
        assert_eq!(search_nonce(&h, &impossible, 0, 10_000, &stop), None);
        // One try at the dev target: found only if that very nonce meets it.
        let bits = Network::Dev.params().pow_limit;
        let (h, t) = (header(bits), target(bits));
        for nonce in 0..32 {
            let meets = t.is_met_by(&BlockHeader { nonce, ..h }.hash());
            assert_eq!(search_nonce(&h, &t, nonce, 1, &stop), meets.then_some(nonce));
        }
    }

    #[test]
    fn stop_flag_ends_the_search() {
        let impossible = target(CompactTarget(0x0300_0001));
        let h = header(CompactTarget(0x0300_0001));
        let stop = AtomicBool::new(true);
        assert_eq!(search_nonce(&h, &impossible, 0, u64::MAX, &stop), None);

        let stop = Arc::new(AtomicBool::new(false));
        let searcher = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || search_nonce(&h, &impossible, 0, u64::MAX, &stop))
        };
        std::thread::sleep(Duration::from_millis(50));
        let stopped_at = Instant::now();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(searcher.join().unwrap(), None);
        assert!(stopped_at.elapsed() < Duration::from_secs(1), "took {:?} to stop", stopped_at.elapsed());
    }

    #[test]
    fn template_pays_subsidy_plus_fees() {
        let params = Network::Dev.params();
        let reward_to = PubkeyHash([0x42; 32]);
        let txs = vec![(spend(1, 1000), Amount::from_units(300)), (spend(2, 5000), Amount::from_units(25))];
        let expected_txids: Vec<Txid> = txs.iter().map(|(tx, _)| tx.txid()).collect();
        let prev = BlockHash([9; 32]);
        let block = build_template(params, 12, prev, params.pow_limit, 1_767_226_000, reward_to, txs);

        let h = &block.header;
        assert_eq!(
            (h.version, h.height, h.prev, h.bits, h.time, h.nonce),
            (BLOCK_VERSION, 12, prev, params.pow_limit, 1_767_226_000, 0)
        );
        assert_eq!(block.transactions.len(), 3);
        let coinbase = &block.transactions[0];
        assert_eq!(coinbase.coinbase_height, Some(12));
        assert!(coinbase.inputs.is_empty());
        let subsidy = block_subsidy(params, 12);
        assert_eq!(
            coinbase.outputs,
            vec![TxOut {
                recipient: reward_to,
                amount: subsidy.checked_add(Amount::from_units(325)).unwrap()
            }]
        );
        assert_eq!(block.txids()[1..], expected_txids[..], "transactions kept in order");
        assert_eq!(h.merkle_root, block.compute_merkle_root());
        assert_eq!(check_block_body(&block, params).unwrap(), block.txids());
    }

    #[test]
    fn template_without_transactions_and_after_a_halving() {
        let params = Network::Test.params();
        let height = params.halving_interval;
        let block =
            build_template(params, height, BlockHash::ZERO, params.pow_limit, 5, PubkeyHash::ZERO, vec![]);
        assert_eq!(block.transactions.len(), 1);
        assert_eq!(block.transactions[0].outputs[0].amount, Amount::from_coins(25).unwrap());
        assert_eq!(block.header.merkle_root, MerkleRoot(block.transactions[0].txid().0));
    }

    fn mine_and_check(network: Network) {
        let params = network.params();
        let time = params.genesis_time + 100;
        let mut block = build_template(
            params,
            1,
            network.genesis_hash(),
            params.pow_limit,
            time,
            PubkeyHash([7; 32]),
            vec![],
        );
        let stop = AtomicBool::new(false);
        assert!(mine_block(&mut block, &stop));
        assert!(target(params.pow_limit).is_met_by(&block.hash()));
        let ctx = HeaderContext {
            height: 1,
            expected_bits: params.pow_limit,
            median_time_past: params.genesis_time,
            parent_time: params.genesis_time,
            now: time,
        };
        check_header(&block.header, &ctx, params).unwrap();
        check_block_body(&block, params).unwrap();
    }

    #[test]
    fn mines_on_the_dev_network() {
        mine_and_check(Network::Dev);
    }

    #[test]
    fn mines_on_the_test_network() {
        mine_and_check(Network::Test);
    }

    #[test]
    fn mining_bumps_time_when_nonces_run_out() {
        // Four nonces per second at ~1/65536 odds: solving needs many time bumps.
        let bits = Network::Test.params().pow_limit;
        let mut h = header(bits);
        let stop = AtomicBool::new(false);
        assert!(mine_header(&mut h, &stop, 3, 4));
        assert!(h.nonce < 4);
        assert!(h.time > header(bits).time);
        assert!(target(bits).is_met_by(&h.hash()));
    }

    #[test]
    fn mining_stops_and_rejects_invalid_bits() {
        let mut block = Block { header: header(CompactTarget(0x0300_0001)), transactions: vec![] };
        let stop = AtomicBool::new(true);
        assert!(!mine_block(&mut block, &stop));
        assert_eq!(block.header.time, header(CompactTarget(0x0300_0001)).time);

        let stop = AtomicBool::new(false);
        for bits in [0x1d00_0000, 0x0480_0001, 0x2200_ffff] {
            let mut block = Block { header: header(CompactTarget(bits)), transactions: vec![] };
            assert!(!mine_block(&mut block, &stop), "bits {bits:#x}");
        }
    }

    #[test]
    fn hash_rate_is_positive() {
        assert!(measure_hash_rate(Duration::from_millis(20)) > 0.0);
    }
}
