//! The block-filter rule against a hostile relay: which key hashes a filter holds, and that no
//! copy of a block altered in transit can get the block condemned through its filter.

use ferro_shared::block::HEADER_SIZE;
use ferro_shared::consensus::block::check_block_body;
use ferro_shared::encode::{from_bytes, to_bytes};
use ferro_shared::filter::{block_elements, BlockFilter};
use ferro_shared::hash::{PubkeyHash, Txid};
use ferro_shared::{Amount, Block, Network, OutPoint, SecretKey, Transaction, TxIn, TxOut};

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

fn spend(k: &SecretKey, from: u8) -> TxIn {
    TxIn {
        prevout: OutPoint { txid: Txid([from; 32]), vout: 0 },
        pubkey: k.public_key(),
        signature: k.sign_digest(&[from; 32]),
    }
}

/// ```text
///  coinbase  → A
///  tx1 (K)   → B, A        A paid twice in the block
///  tx2 (K)   → B           K spends twice; its key hash is paid by nobody
/// ```
pub fn block() -> Block {
    let (a, b) = (PubkeyHash([0xaa; 32]), PubkeyHash([0xbb; 32]));
    let k = key(9);
    let pay = |r: PubkeyHash| TxOut { recipient: r, amount: Amount::from_units(5) };
    let tx = |from: u8, outs: Vec<TxOut>| Transaction {
        version: 1,
        coinbase_height: None,
        inputs: vec![spend(&k, from)],
        outputs: outs,
    };
    let mut block = Block {
        header: Network::Dev.genesis_block().header,
        transactions: vec![
            Transaction::coinbase(0, vec![pay(a)]),
            tx(1, vec![pay(b), pay(a)]),
            tx(2, vec![pay(b)]),
        ],
    };
    block.commit_transactions();
    block
}

/// The element set is consensus: every output's recipient and every input's key hash, each
/// once. (`filter.block` in docs/protocol.md §18 pins the bytes of this block's filter.)
#[test]
fn filter_of_a_block_holds_input_key_hashes_once_each() {
    let block = block();
    let k = key(9).public_key().pubkey_hash();
    let mut want = vec![PubkeyHash([0xaa; 32]), PubkeyHash([0xbb; 32]), k];
    want.sort_unstable();
    assert_eq!(block_elements(&block.transactions), want);
    let filter = block.compute_filter();
    assert_eq!(&filter.as_bytes()[..4], &3u32.to_le_bytes(), "N counts distinct key hashes");
    assert_eq!(filter, BlockFilter::of_elements(&block.header.merkle_root, &want));
    assert!(filter.matches_any(&block.header.merkle_root, &[k]).unwrap(), "a spender finds its spend");
    let doc = include_str!("../../docs/protocol.md");
    for line in [
        format!("filter.block.key_hash_of_key_09 = {}", k.to_hex()),
        format!("filter.block.merkle_root = {}", block.header.merkle_root.to_hex()),
        format!("filter.block = {}", hex::encode(filter.as_bytes())),
    ] {
        assert!(doc.lines().any(|l| l == line), "docs/protocol.md lacks the line `{line}`");
    }
}

/// Every one-byte change of a valid block's body (each position, four masks) that
/// still decodes either fails as a body mutation (the copy is refused, the hash is not
/// condemned) or is no change at all: a relaying peer cannot get a valid block condemned
/// through the filter rule, and `BadFilterHash` never fires for a copy altered in transit.
#[test]
fn no_body_mutation_reaches_the_filter_rule() {
    let block = block();
    let params = Network::Dev.params();
    check_block_body(&block, params).expect("the block is well formed");
    let bytes = to_bytes(&block);
    let (mut decoded, mut tried) = (0, 0);
    for at in HEADER_SIZE..bytes.len() {
        for mask in [0x01u8, 0x02, 0x80, 0xff] {
            let mut copy = bytes.clone();
            copy[at] ^= mask;
            tried += 1;
            let Ok(altered) = from_bytes::<Block>(&copy) else { continue };
            decoded += 1;
            match check_block_body(&altered, params) {
                Ok(_) => assert_eq!(altered, block, "byte {at} ^ {mask:#x} changed the block yet passed"),
                Err(e) => assert!(e.is_body_mutation(), "byte {at} ^ {mask:#x}: {e} condemns a valid block"),
            }
        }
    }
    assert!(decoded > tried / 2, "{decoded} of {tried} decoded: the test would prove little");
}
