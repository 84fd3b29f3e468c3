//! Blocks and block headers.

use crate::encode::{decode_seq, encode_seq, seq_len, Decode, DecodeError, Encode, Reader};
use crate::filter::BlockFilter;
use crate::hash::{merkle_root, sha256d, BlockHash, FilterHash, MerkleRoot, Txid};
use crate::pow::CompactTarget;
use crate::tx::Transaction;
use serde::{Deserialize, Serialize};

/// The only block version the rules accept.
pub const BLOCK_VERSION: u32 = 1;
/// Encoded size of a header: 4 + 8 + 32 + 32 + 32 + 8 + 4 + 8.
pub const HEADER_SIZE: usize = 128;
/// Offset of the nonce in the encoded header (the last 8 bytes), so a miner can hash the first
/// 64-byte SHA-256 block once and reuse that midstate for every nonce.
pub const NONCE_OFFSET: usize = 120;
/// The smallest possible encoded transaction (for bounding decoders).
pub const MIN_TX_SIZE: usize = 4 + 1 + 4 + 4;
/// Encoded size of the coinbase a miner builds: version, height (`Some(u64)`: 9 bytes), no
/// inputs, one output.
pub const MINER_COINBASE_SIZE: usize = 4 + 9 + 4 + 4 + crate::tx::OUTPUT_SIZE;
/// What a block spends besides its non-coinbase transactions: the header, the transaction
/// count and the miner's coinbase.
pub const BLOCK_RESERVED_BYTES: usize = HEADER_SIZE + 4 + MINER_COINBASE_SIZE;

/// A block header. Its hash, the double SHA-256 of its 128 canonical bytes, is the block's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockHeader {
    pub version: u32,
    pub height: u64,
    pub prev: BlockHash,
    pub merkle_root: MerkleRoot,
    /// Commits to the block's filter ([`BlockFilter`]), keyed by `merkle_root`.
    pub filter_hash: FilterHash,
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub bits: CompactTarget,
    pub nonce: u64,
}

impl BlockHeader {
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256d(&self.to_array()))
    }

    /// The canonical 128 bytes.
    pub fn to_array(&self) -> [u8; HEADER_SIZE] {
        let mut out = Vec::with_capacity(HEADER_SIZE);
        self.encode(&mut out);
        out.try_into().expect("header encodes to HEADER_SIZE bytes")
    }
}

/// A block: a header and its transactions, the first of which is the coinbase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<Transaction>,
}

impl Block {
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    pub fn txids(&self) -> Vec<Txid> {
        self.transactions.iter().map(Transaction::txid).collect()
    }

    /// The Merkle root of this block's transactions as they are now.
    pub fn compute_merkle_root(&self) -> MerkleRoot {
        merkle_root(&self.txids())
    }

    /// The filter of this block's transactions as they are now, keyed by the header's Merkle
    /// root (which [`crate::consensus::block::check_block_body`] checks first).
    pub fn compute_filter(&self) -> BlockFilter {
        BlockFilter::build(&self.header.merkle_root, &self.transactions)
    }

    /// Sets the header's Merkle root and filter hash from the transactions: what a block
    /// template needs before its proof of work is searched.
    pub fn commit_transactions(&mut self) {
        self.header.merkle_root = self.compute_merkle_root();
        self.header.filter_hash = self.compute_filter().hash();
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.encoded_len()
    }
}

impl Encode for BlockHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.height.encode(out);
        self.prev.encode(out);
        self.merkle_root.encode(out);
        self.filter_hash.encode(out);
        self.time.encode(out);
        self.bits.encode(out);
        self.nonce.encode(out);
    }
    fn encoded_len(&self) -> usize {
        HEADER_SIZE
    }
}

impl Decode for BlockHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            version: u32::decode(r)?,
            height: u64::decode(r)?,
            prev: BlockHash::decode(r)?,
            merkle_root: MerkleRoot::decode(r)?,
            filter_hash: FilterHash::decode(r)?,
            time: u64::decode(r)?,
            bits: CompactTarget::decode(r)?,
            nonce: u64::decode(r)?,
        })
    }
}

impl Encode for Block {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        encode_seq(&self.transactions, out);
    }
    fn encoded_len(&self) -> usize {
        HEADER_SIZE + seq_len(&self.transactions)
    }
}

impl Decode for Block {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block { header: BlockHeader::decode(r)?, transactions: decode_seq(r, MIN_TX_SIZE)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{from_bytes, to_bytes};
    use crate::tx::tests::arb_tx;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn block_round_trips(header in arb_header(), txs in prop::collection::vec(arb_tx(), 0..3)) {
            let block = Block { header, transactions: txs };
            let bytes = to_bytes(&block);
            prop_assert_eq!(bytes.len(), block.size());
            prop_assert_eq!(from_bytes::<Block>(&bytes).unwrap(), block.clone());
            let json = serde_json::to_string(&block).unwrap();
            prop_assert_eq!(serde_json::from_str::<Block>(&json).unwrap(), block);
        }

        #[test]
        fn nonce_is_the_header_tail(header in arb_header()) {
            let bytes = header.to_array();
            prop_assert_eq!(&bytes[NONCE_OFFSET..], &header.nonce.to_le_bytes());
        }
    }
}
