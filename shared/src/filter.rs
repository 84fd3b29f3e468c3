//! Compact block filters: a Golomb-coded set (BIP158's construction and parameters, P = 19,
//! M = 784,931) of every public-key hash a block pays or spends from, so that a wallet can learn
//! which blocks touch its addresses without telling a node which addresses are its own.
//!
//! ```text
//!  block ──elements──▶ {recipient hashes of every output, sha256(pubkey) of every input}
//!        ──sort, dedup──▶ hash each with SipHash-2-4 keyed by the block's Merkle root
//!        ──map to [0, N·M)──▶ sort ──deltas──▶ Golomb-Rice code (P bits of remainder)
//!  filter bytes = N (u32, little-endian) ‖ the bit stream, most significant bit first
//! ```
//!
//! The key is the block's Merkle root, not its hash (BIP158's choice) because the filter is to
//! be committed in the header: the root is known before the header is, and no transaction's
//! author can predict it, so nobody can aim false matches at someone else's addresses.
//!
//! A false positive happens for about 1 in M queries per block; a filter costs about
//! (P + 1.5) bits, 2.6 bytes, per distinct key hash. Decoding is bounded: the element count is
//! checked against what the bit stream can hold before any work, and every read is checked.
//!
//! `siphasher` provides SipHash-2-4; the coding is written here (about a hundred lines):
//! the crates that implement BIP158 either pull in a whole Bitcoin library with a C dependency
//! that does not build for the browser, or decode an unchecked element count.

use crate::hash::{FilterHash, MerkleRoot, PubkeyHash};
use crate::tx::Transaction;
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// Bits of each value's remainder (BIP158).
pub const P: u8 = 19;
/// The inverse false-positive rate (BIP158): 784,931 ≈ 1.497 · 2^19.
pub const M: u64 = 784_931;
/// Most elements a filter may claim: far more than any block can hold (a 1 MB block has at most
/// 25,000 outputs), small enough that N · M fits easily in 64 bits.
pub const MAX_ELEMENTS: u32 = 1 << 20;

/// Why filter bytes could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("a filter starts with its 4-byte element count")]
    Truncated,
    #[error("a filter claims {0} elements, more than {MAX_ELEMENTS}")]
    TooManyElements(u32),
    #[error("the filter's bit stream ends before its {0} elements")]
    ShortStream(u32),
}

/// A block's filter as it is sent and committed: its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockFilter {
    bytes: Vec<u8>,
}

/// The key hashes a block's filter holds: every output's recipient and every input's key hash,
/// each once, in byte order.
pub fn block_elements(transactions: &[Transaction]) -> Vec<PubkeyHash> {
    let mut all: Vec<PubkeyHash> = transactions
        .iter()
        .flat_map(|tx| {
            let paid = tx.outputs.iter().map(|o| o.recipient);
            let spent = tx.inputs.iter().map(|i| i.pubkey.pubkey_hash());
            paid.chain(spent)
        })
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// SipHash-2-4 of `element`, keyed by the first 16 bytes of the Merkle root (two little-endian
/// `u64`s), mapped to `[0, n·M)` by a 64×64→128-bit multiply (BIP158's "fast range").
fn mapped(key: &MerkleRoot, n: u64, element: &PubkeyHash) -> u64 {
    let k0 = u64::from_le_bytes(key.0[0..8].try_into().expect("8 bytes"));
    let k1 = u64::from_le_bytes(key.0[8..16].try_into().expect("8 bytes"));
    let mut hasher = SipHasher24::new_with_keys(k0, k1);
    hasher.write(&element.0);
    ((u128::from(hasher.finish()) * u128::from(n * M)) >> 64) as u64
}

impl BlockFilter {
    /// The filter of a block with these transactions and this Merkle root.
    pub fn build(key: &MerkleRoot, transactions: &[Transaction]) -> BlockFilter {
        BlockFilter::of_elements(key, &block_elements(transactions))
    }

    /// The filter of a set of distinct elements (as [`block_elements`] returns them).
    pub fn of_elements(key: &MerkleRoot, elements: &[PubkeyHash]) -> BlockFilter {
        let n = elements.len() as u64;
        let mut values: Vec<u64> = elements.iter().map(|e| mapped(key, n, e)).collect();
        values.sort_unstable();
        let mut bytes = (elements.len() as u32).to_le_bytes().to_vec();
        let mut bits = BitWriter::new(&mut bytes);
        let mut last = 0;
        for value in values {
            let delta = value - last;
            last = value;
            for _ in 0..(delta >> P) {
                bits.push(true);
            }
            bits.push(false);
            for i in (0..P).rev() {
                bits.push((delta >> i) & 1 == 1);
            }
        }
        bits.finish();
        BlockFilter { bytes }
    }

    /// Takes filter bytes from elsewhere (a node), checking that they decode.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<BlockFilter, FilterError> {
        let filter = BlockFilter { bytes };
        filter.values()?;
        Ok(filter)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The double SHA-256 of the filter's bytes: what a header commits to.
    pub fn hash(&self) -> FilterHash {
        FilterHash(crate::hash::sha256d(&self.bytes))
    }

    /// The element count the filter claims.
    fn count(&self) -> Result<u32, FilterError> {
        let head: [u8; 4] = self.bytes.get(..4).ok_or(FilterError::Truncated)?.try_into().expect("4 bytes");
        let n = u32::from_le_bytes(head);
        if n > MAX_ELEMENTS {
            return Err(FilterError::TooManyElements(n));
        }
        // Every element takes at least P + 1 bits.
        if u64::from(n) * (u64::from(P) + 1) > (self.bytes.len() as u64 - 4) * 8 {
            return Err(FilterError::ShortStream(n));
        }
        Ok(n)
    }

    /// The sorted mapped values the filter holds.
    fn values(&self) -> Result<Vec<u64>, FilterError> {
        let n = self.count()?;
        let mut bits = BitReader { bytes: &self.bytes[4..], at: 0 };
        let mut out = Vec::with_capacity(n as usize);
        let mut value = 0u64;
        for _ in 0..n {
            let mut quotient = 0u64;
            while bits.next().ok_or(FilterError::ShortStream(n))? {
                quotient += 1;
            }
            let mut remainder = 0u64;
            for _ in 0..P {
                remainder = (remainder << 1) | u64::from(bits.next().ok_or(FilterError::ShortStream(n))?);
            }
            value = value.saturating_add((quotient << P) | remainder);
            out.push(value);
        }
        Ok(out)
    }

    /// Whether any of `queries` may be in the filter of the block with Merkle root `key`: always
    /// true when one is, and for about one query in M when none is.
    pub fn matches_any(&self, key: &MerkleRoot, queries: &[PubkeyHash]) -> Result<bool, FilterError> {
        let decoded = self.decode(key)?;
        Ok(queries.iter().any(|q| decoded.may_contain(q)))
    }

    /// The filter decoded once, for many queries.
    pub fn decode(&self, key: &MerkleRoot) -> Result<DecodedFilter, FilterError> {
        Ok(DecodedFilter { key: *key, values: self.values()? })
    }
}

/// A filter's values, decoded, with the key they were made with.
#[derive(Debug, Clone)]
pub struct DecodedFilter {
    key: MerkleRoot,
    values: Vec<u64>,
}

impl DecodedFilter {
    /// Always true for an element of the set, and for about one other element in M.
    pub fn may_contain(&self, element: &PubkeyHash) -> bool {
        let n = self.values.len() as u64;
        n > 0 && self.values.binary_search(&mapped(&self.key, n, element)).is_ok()
    }
}

/// Appends bits to a byte vector, most significant bit first; the last byte is padded with 0s.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    byte: u8,
    used: u8,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter { out, byte: 0, used: 0 }
    }

    fn push(&mut self, bit: bool) {
        self.byte = (self.byte << 1) | u8::from(bit);
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.byte);
            (self.byte, self.used) = (0, 0);
        }
    }

    fn finish(self) {
        if self.used > 0 {
            self.out.push(self.byte << (8 - self.used));
        }
    }
}

/// Reads bits most significant first; `None` past the end.
struct BitReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BitReader<'_> {
    fn next(&mut self) -> Option<bool> {
        let byte = self.bytes.get(self.at / 8)?;
        let bit = (byte >> (7 - self.at % 8)) & 1 == 1;
        self.at += 1;
        Some(bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u32) -> PubkeyHash {
        PubkeyHash(crate::hash::sha256(&n.to_le_bytes()))
    }

    fn key() -> MerkleRoot {
        MerkleRoot([0x5a; 32])
    }

    #[test]
    fn every_element_matches() {
        let elements: Vec<PubkeyHash> = {
            let mut v: Vec<_> = (0..500).map(hash).collect();
            v.sort_unstable();
            v
        };
        let filter = BlockFilter::of_elements(&key(), &elements);
        for e in &elements {
            assert!(filter.matches_any(&key(), &[*e]).unwrap());
        }
        // About (P + 1.5) bits each.
        let per_element = (filter.as_bytes().len() - 4) as f64 * 8.0 / 500.0;
        assert!((20.0..21.5).contains(&per_element), "{per_element} bits per element");
    }

    #[test]
    fn others_rarely_match() {
        let elements: Vec<PubkeyHash> = (0..1_000).map(hash).collect();
        let filter = BlockFilter::of_elements(&key(), &elements);
        let decoded = filter.decode(&key()).unwrap();
        let false_positives = (1_000..101_000).filter(|n| decoded.may_contain(&hash(*n))).count();
        // Expected 100,000 / 784,931 ≈ 0.13.
        assert!(false_positives <= 3, "{false_positives} false positives in 100,000 queries");
        // Another key gives another filter: the key is part of what is matched.
        assert!(!elements.iter().all(|e| filter.matches_any(&MerkleRoot([1; 32]), &[*e]).unwrap()));
    }

    #[test]
    fn empty_filter() {
        let filter = BlockFilter::of_elements(&key(), &[]);
        assert_eq!(filter.as_bytes(), &[0, 0, 0, 0]);
        assert!(!filter.matches_any(&key(), &[hash(1)]).unwrap());
    }

    #[test]
    fn hostile_bytes_are_refused_before_any_work() {
        let cases: &[(&str, Vec<u8>, FilterError)] = &[
            ("no count", vec![1, 0], FilterError::Truncated),
            ("absurd count", u32::MAX.to_le_bytes().to_vec(), FilterError::TooManyElements(u32::MAX)),
            ("count without bits", vec![10, 0, 0, 0, 0xff], FilterError::ShortStream(10)),
            // Enough bytes for the count check, but all ones: the unary part never ends.
            ("endless quotient", [vec![1, 0, 0, 0], vec![0xff; 3]].concat(), FilterError::ShortStream(1)),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(BlockFilter::from_bytes(bytes.clone()).unwrap_err(), *want, "{name}");
        }
    }

    #[test]
    fn round_trip_through_bytes() {
        let elements: Vec<PubkeyHash> = (0..50).map(hash).collect();
        let filter = BlockFilter::of_elements(&key(), &elements);
        let again = BlockFilter::from_bytes(filter.as_bytes().to_vec()).unwrap();
        assert_eq!(again, filter);
        assert_eq!(again.hash(), filter.hash());
    }
}
