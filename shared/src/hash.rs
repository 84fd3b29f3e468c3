//! SHA-256 based hashes and the hash newtypes (`BlockHash`, `Txid`, `PubkeyHash`).

use crate::encode::{Decode, DecodeError, Encode, Reader};
use sha2::{Digest, Sha256};

/// Single SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Double SHA-256: `SHA256(SHA256(data))`.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    sha256(&sha256(data))
}

/// Why a hex hash could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    #[error("a hash is 64 hex characters, got {0}")]
    BadLength(usize),
    #[error("a hash is written in hex digits only")]
    NotHex,
}

pub(crate) fn parse_hex32(s: &str) -> Result<[u8; 32], HashParseError> {
    if s.len() != 64 {
        return Err(HashParseError::BadLength(s.len()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::NotHex)?;
    Ok(out)
}

macro_rules! hash_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub const ZERO: $name = $name([0u8; 32]);

            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl core::str::FromStr for $name {
            type Err = HashParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex32(s).map($name)
            }
        }

        /// Hex in the JSON API; the 32 bytes as they are on the P2P wire.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_hex())
                } else {
                    crate::encode::fixed::serialize(&self.0, s)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                } else {
                    crate::encode::fixed::deserialize::<D, 32>(d).map($name)
                }
            }
        }

        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
            fn encoded_len(&self) -> usize {
                32
            }
        }

        impl Decode for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.array().map($name)
            }
        }
    };
}

hash_newtype!(
    /// The identity of a block: double SHA-256 of its header's canonical bytes. Read as a
    /// big-endian 256-bit number, it must not exceed the block's target.
    BlockHash
);
hash_newtype!(
    /// The identity of a transaction: double SHA-256 of its canonical bytes, signatures included.
    Txid
);
hash_newtype!(
    /// A Merkle root over a block's txids.
    MerkleRoot
);
hash_newtype!(
    /// SHA-256 of a compressed public key; what an address commits to.
    PubkeyHash
);
hash_newtype!(
    /// Double SHA-256 of a block filter's bytes ([`crate::filter::BlockFilter`]); every header
    /// commits to its block's.
    FilterHash
);

/// The Merkle root of a list of txids.
///
/// Leaves are the txids. Each level pairs neighbours and hashes `sha256d(0x01 || left || right)`;
/// an odd last node is carried up unchanged (never duplicated), so two different lists of txids
/// cannot share a root by repeating a tail. The root of one txid is that txid; of none, zero.
pub fn merkle_root(txids: &[Txid]) -> MerkleRoot {
    if txids.is_empty() {
        return MerkleRoot::ZERO;
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.0).collect();
    while level.len() > 1 {
        level = next_level(&level);
    }
    MerkleRoot(level[0])
}

/// One level up the Merkle tree: neighbours paired and hashed, an odd last node carried up.
fn next_level(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => inner_node(l, r),
            [single] => *single,
            _ => unreachable!("chunks of two"),
        })
        .collect()
}

/// `sha256d(0x01 || left || right)`.
fn inner_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256d(&buf)
}

/// The hashes that lead from the txid at `position` of `txids` to their Merkle root (see
/// [`merkle_root`]), lowest level first: the sibling at each level where the node has one (an
/// odd last node is carried up and has none). `None` when `position` is out of range.
pub fn merkle_branch(txids: &[Txid], position: usize) -> Option<Vec<[u8; 32]>> {
    if position >= txids.len() {
        return None;
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.0).collect();
    let mut index = position;
    let mut branch = Vec::new();
    while level.len() > 1 {
        if let Some(sibling) = level.get(index ^ 1) {
            branch.push(*sibling);
        }
        level = next_level(&level);
        index /= 2;
    }
    Some(branch)
}

/// The Merkle root a block of `count` transactions has if `txid` is its transaction at
/// `position` and `branch` is that transaction's branch ([`merkle_branch`]). `None` when the
/// branch does not fit the tree's shape (too few or too many hashes, or `position` not below
/// `count`). The root still has to be compared with a header's.
pub fn merkle_root_from_branch(
    txid: &Txid,
    position: u64,
    count: u64,
    branch: &[[u8; 32]],
) -> Option<MerkleRoot> {
    if position >= count {
        return None;
    }
    let (mut index, mut len, mut node) = (position, count, txid.0);
    let mut siblings = branch.iter();
    while len > 1 {
        if index ^ 1 < len {
            let sibling = siblings.next()?;
            node = if index % 2 == 0 { inner_node(&node, sibling) } else { inner_node(sibling, &node) };
        }
        index /= 2;
        len = len.div_ceil(2);
    }
    siblings.next().is_none().then_some(MerkleRoot(node))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of docs/protocol.md, "Inclusion proofs".
    #[test]
    fn the_documented_proof_vector() {
        let (a, b, c) = (Txid([0xaa; 32]), Txid([0xbb; 32]), Txid([0xcc; 32]));
        let mut buf = vec![0x01];
        buf.extend_from_slice(&a.0);
        buf.extend_from_slice(&b.0);
        let n_ab = sha256d(&buf);
        assert_eq!(merkle_branch(&[a, b, c], 2), Some(vec![n_ab]));
        assert_eq!(merkle_branch(&[a, b, c], 0), Some(vec![b.0, c.0]));
        assert_eq!(merkle_root_from_branch(&c, 2, 3, &[n_ab]), Some(merkle_root(&[a, b, c])));
    }

    #[test]
    fn every_branch_leads_to_the_root_and_only_its_own_position_does() {
        for count in 1..=19usize {
            let txids: Vec<Txid> = (0..count).map(|i| Txid(sha256(&(i as u64).to_le_bytes()))).collect();
            let root = merkle_root(&txids);
            for (position, txid) in txids.iter().enumerate() {
                let branch = merkle_branch(&txids, position).unwrap();
                let (p, n) = (position as u64, count as u64);
                assert_eq!(merkle_root_from_branch(txid, p, n, &branch), Some(root), "{count} {position}");
                // Another transaction or position, or a branch a hash short or long, does not
                // lead to the root. (A count that gives the path the same shape does: what a
                // branch proves is that the txid is a leaf under the root.)
                let other = Txid([0xee; 32]);
                assert_ne!(merkle_root_from_branch(&other, p, n, &branch), Some(root));
                if count > 1 {
                    let moved = (p + 1) % n;
                    assert_ne!(
                        merkle_root_from_branch(txid, moved, n, &branch),
                        Some(root),
                        "{count} {position}"
                    );
                }
                if let Some((_, shorter)) = branch.split_last() {
                    assert_ne!(merkle_root_from_branch(txid, p, n, shorter), Some(root));
                }
                let mut longer = branch.clone();
                longer.push([0; 32]);
                assert_eq!(merkle_root_from_branch(txid, p, n, &longer), None);
            }
            assert_eq!(merkle_branch(&txids, count), None);
            assert_eq!(merkle_root_from_branch(&txids[0], count as u64, count as u64, &[]), None);
        }
    }

    #[test]
    fn sha256d_of_empty_input() {
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }

    #[test]
    fn hash_hex_round_trip_and_errors() {
        let h = BlockHash([0xab; 32]);
        assert_eq!(h.to_string().parse::<BlockHash>().unwrap(), h);
        assert_eq!("ab".parse::<BlockHash>(), Err(HashParseError::BadLength(2)));
        assert_eq!("zz".repeat(32).parse::<BlockHash>(), Err(HashParseError::NotHex));
    }

    #[test]
    fn merkle_root_shapes() {
        let a = Txid([1; 32]);
        let b = Txid([2; 32]);
        let c = Txid([3; 32]);
        assert_eq!(merkle_root(&[]), MerkleRoot::ZERO);
        assert_eq!(merkle_root(&[a]), MerkleRoot(a.0));
        let mut buf = vec![1u8];
        buf.extend_from_slice(&a.0);
        buf.extend_from_slice(&b.0);
        let ab = sha256d(&buf);
        assert_eq!(merkle_root(&[a, b]), MerkleRoot(ab));
        //      root
        //     /    \
        //   ab      c     (c carried up, not duplicated)
        let mut buf = vec![1u8];
        buf.extend_from_slice(&ab);
        buf.extend_from_slice(&c.0);
        assert_eq!(merkle_root(&[a, b, c]), MerkleRoot(sha256d(&buf)));
        assert_ne!(merkle_root(&[a, b, c]), merkle_root(&[a, b, c, c]));
    }
}
