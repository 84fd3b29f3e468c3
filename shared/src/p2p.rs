//! The peer-to-peer wire protocol: one typed, versioned message enum, sent as binary WebSocket
//! frames.
//!
//! A frame is the postcard encoding of a [`Message`]. Blocks and transactions inside it are
//! carried as their canonical bytes (the same bytes that are hashed), so a peer receives exactly
//! what it validates, and a chain costs about its own size to download. Decoding happens once, at
//! the boundary, into typed values; anything that fails to decode or exceeds
//! [`MAX_MESSAGE_BYTES`] is a protocol violation.

use crate::block::{Block, BlockHeader};
use crate::encode::{from_bytes, to_bytes};
use crate::filter::BlockFilter;
use crate::hash::{BlockHash, Txid};
use crate::keys::{PublicKey, Signature};
use crate::params::Network;
use crate::pow::Work;
use crate::tx::Transaction;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The protocol version this build speaks: 2 since signatures commit to the coins spent
/// (`docs/protocol.md`, "Changes from version 1"); 3 since hashes, keys, signatures and work
/// travel in frames as their fixed bytes, not as hex text.
pub const PROTOCOL_VERSION: u32 = 3;
/// The oldest version it still accepts. Version 1 nodes sign and verify another message, so
/// every transaction of one is invalid to the other; version 2 frames spell hashes in hex, so
/// neither side could read the other's messages after the hello.
pub const MIN_PROTOCOL_VERSION: u32 = 3;
/// The largest frame a peer may send: room for the largest block with headroom.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Most blocks in one `Blocks` answer, and most hashes or ids in one message.
pub const MAX_BLOCKS_PER_MESSAGE: usize = 500;
pub const MAX_ITEMS_PER_MESSAGE: usize = 5_000;
/// Most listen addresses in one `Addrs` message.
pub const MAX_ADDRS_PER_MESSAGE: usize = 100;
/// Most headers in one `Headers` answer: 2,000 × 128 bytes = 256 KiB.
pub const MAX_HEADERS_PER_MESSAGE: usize = 2_000;
/// Most filters in one `Filters` answer, and the bytes of filters past which an answer stops
/// (at least one filter is always sent; one filter of a full block is under 100 KB).
pub const MAX_FILTERS_PER_MESSAGE: usize = 1_000;
pub const FILTER_ANSWER_BYTES: usize = 1024 * 1024;
/// Most hashes in a locator.
pub const MAX_LOCATOR_HASHES: usize = 200;

/// The first message on every connection, from both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    pub network: Network,
    pub genesis: BlockHash,
    pub height: u64,
    pub tip: BlockHash,
    pub work: Work,
    /// Where this node accepts peers, e.g. `ws://127.0.0.1:8080/p2p`.
    pub listen_url: Option<String>,
    /// The node's identity: a public key it proves it holds ([`Message::Auth`]). A node that
    /// reaches itself, or a peer already connected, is dropped.
    pub node_key: PublicKey,
    /// A fresh random challenge: the other side signs it in its [`Message::Auth`].
    pub nonce: [u8; 32],
    pub agent: String,
}

impl Hello {
    /// A short form of the node key, for logs and the API.
    pub fn node_id(&self) -> u64 {
        node_id(&self.node_key)
    }
}

/// The first 8 bytes of `sha256(node key)`, as a number.
pub fn node_id(key: &PublicKey) -> u64 {
    let digest = crate::hash::sha256(key.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Domain tag of the handshake's proof of identity.
pub const AUTH_TAG: &[u8] = b"FERROCOIN/P2P/AUTH/V1";

/// What a node signs to prove it holds `signer`'s key to the node holding `verifier`, which
/// sent `nonce` in its hello: `sha256d(AUTH_TAG || genesis || nonce || signer || verifier)`.
/// Naming the verifier means a signature obtained on one connection is worthless on another.
pub fn auth_digest(
    genesis: &BlockHash,
    nonce: &[u8; 32],
    signer: &PublicKey,
    verifier: &PublicKey,
) -> [u8; 32] {
    let mut message = Vec::with_capacity(AUTH_TAG.len() + 32 + 32 + 33 + 33);
    message.extend_from_slice(AUTH_TAG);
    message.extend_from_slice(genesis.as_bytes());
    message.extend_from_slice(nonce);
    message.extend_from_slice(signer.as_bytes());
    message.extend_from_slice(verifier.as_bytes());
    crate::hash::sha256d(&message)
}

/// A peer-to-peer message. Requests carry an `id` that their answer repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Hello(Hello),
    Ping(u64),
    Pong(u64),
    /// Asks for listen addresses of other nodes.
    GetAddrs,
    /// Listen addresses of nodes the sender knows.
    Addrs(Vec<String>),
    /// New transactions the sender has, by id.
    InvTxs(Vec<Txid>),
    /// New blocks the sender has, by hash, with the height of the sender's tip.
    InvBlocks {
        hashes: Vec<BlockHash>,
        tip_height: u64,
    },
    GetTxs {
        id: u64,
        txids: Vec<Txid>,
    },
    /// Answer to `GetTxs`, in as many parts as its size needs: `more` says another part with
    /// the same `id` follows. Each distinct pending transaction asked for is sent once.
    Txs {
        id: u64,
        txs: Vec<WireTx>,
        more: bool,
    },
    GetBlocks {
        id: u64,
        hashes: Vec<BlockHash>,
    },
    /// Active-chain blocks after the first locator hash the receiver shares, oldest first.
    GetBlocksAfter {
        id: u64,
        locator: Vec<BlockHash>,
        limit: u32,
    },
    /// Answer to `GetBlocks` or `GetBlocksAfter`; `tip_height` is the sender's.
    Blocks {
        id: u64,
        blocks: Vec<WireBlock>,
        tip_height: u64,
    },
    /// A block pushed whole, unrequested, right after it was mined.
    NewBlock(WireBlock),
    /// Active-chain headers after the first locator hash the receiver shares, oldest first.
    GetHeaders {
        id: u64,
        locator: Vec<BlockHash>,
        limit: u32,
    },
    /// Answer to `GetHeaders`: at most [`MAX_HEADERS_PER_MESSAGE`]; `tip_height` is the sender's.
    Headers {
        id: u64,
        headers: Vec<WireHeader>,
        tip_height: u64,
    },
    /// The filters of the active chain's blocks from height `from` up.
    GetFilters {
        id: u64,
        from: u64,
        limit: u32,
    },
    /// Answer to `GetFilters`: each block's hash and filter, oldest first, at most
    /// [`MAX_FILTERS_PER_MESSAGE`] and about [`FILTER_ANSWER_BYTES`].
    Filters {
        id: u64,
        filters: Vec<(BlockHash, WireFilter)>,
    },
    /// The second message of a handshake: a signature of [`auth_digest`] by the sender's node
    /// key over the other side's nonce. The dialing side sends it first; the accepting side
    /// only after it has checked the dialer's.
    Auth(Signature),
}

/// Why a frame is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("undecodable message: {0}")]
    Malformed(String),
    #[error("message carries {count} items, more than the limit of {max}")]
    TooManyItems { count: usize, max: usize },
}

impl Message {
    /// The frame bytes of this message.
    pub fn to_frame(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("every message serializes")
    }

    /// Parses a frame, enforcing size and item limits.
    pub fn from_frame(frame: &[u8]) -> Result<Message, WireError> {
        if frame.len() > MAX_MESSAGE_BYTES {
            return Err(WireError::TooLarge(frame.len()));
        }
        let (message, rest): (Message, _) =
            postcard::take_from_bytes(frame).map_err(|e| WireError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(WireError::Malformed(format!("{} trailing bytes", rest.len())));
        }
        let (count, max) = match &message {
            Message::Addrs(a) => (a.len(), MAX_ADDRS_PER_MESSAGE),
            Message::InvTxs(t) | Message::GetTxs { txids: t, .. } => (t.len(), MAX_ITEMS_PER_MESSAGE),
            Message::InvBlocks { hashes, .. } | Message::GetBlocks { hashes, .. } => {
                (hashes.len(), MAX_ITEMS_PER_MESSAGE)
            }
            Message::GetBlocksAfter { locator, .. } | Message::GetHeaders { locator, .. } => {
                (locator.len(), MAX_LOCATOR_HASHES)
            }
            Message::Headers { headers, .. } => (headers.len(), MAX_HEADERS_PER_MESSAGE),
            Message::Filters { filters, .. } => (filters.len(), MAX_FILTERS_PER_MESSAGE),
            Message::Txs { txs, .. } => (txs.len(), MAX_ITEMS_PER_MESSAGE),
            Message::Blocks { blocks, .. } => (blocks.len(), MAX_BLOCKS_PER_MESSAGE),
            _ => (0, 0),
        };
        if count > max {
            return Err(WireError::TooManyItems { count, max });
        }
        // postcard reads integers written in more bytes than they need (`ff 00` for 127): a
        // frame must be the one encoding of its message, so such frames are refused.
        if message.to_frame() != frame {
            return Err(WireError::Malformed("not in canonical form".into()));
        }
        Ok(message)
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::GetAddrs => "get_addrs",
            Message::Addrs(_) => "addrs",
            Message::InvTxs(_) => "inv_txs",
            Message::InvBlocks { .. } => "inv_blocks",
            Message::GetTxs { .. } => "get_txs",
            Message::Txs { .. } => "txs",
            Message::GetBlocks { .. } => "get_blocks",
            Message::GetBlocksAfter { .. } => "get_blocks_after",
            Message::Blocks { .. } => "blocks",
            Message::NewBlock(_) => "new_block",
            Message::Auth(_) => "auth",
            Message::GetHeaders { .. } => "get_headers",
            Message::Headers { .. } => "headers",
            Message::GetFilters { .. } => "get_filters",
            Message::Filters { .. } => "filters",
        }
    }
}

/// A `Blocks` answer built from blocks' canonical bytes as a store holds them, without decoding
/// and re-encoding them: [`BlocksFrame::to_frame`] gives the same frame as
/// `Message::Blocks { .. }.to_frame()` with the decoded blocks.
#[derive(Debug, Clone, Copy)]
pub struct BlocksFrame<'a> {
    pub id: u64,
    /// Each block's canonical encoding.
    pub blocks: &'a [Vec<u8>],
    pub tip_height: u64,
}

/// `Message::Blocks`'s position in [`Message`]: the tag postcard writes for it.
const BLOCKS_VARIANT: u32 = 11;

impl BlocksFrame<'_> {
    pub fn to_frame(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a blocks answer serializes")
    }
}

impl Serialize for BlocksFrame<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStructVariant};
        struct Raw<'a>(&'a [Vec<u8>]);
        impl Serialize for Raw<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for block in self.0 {
                    seq.serialize_element(&serde_bytes_ref(block))?;
                }
                seq.end()
            }
        }
        let mut v = s.serialize_struct_variant("Message", BLOCKS_VARIANT, "Blocks", 3)?;
        v.serialize_field("id", &self.id)?;
        v.serialize_field("blocks", &Raw(self.blocks))?;
        v.serialize_field("tip_height", &self.tip_height)?;
        v.end()
    }
}

/// Serializes a byte slice as bytes (as [`WireBlock`] does), not as a sequence of numbers.
fn serde_bytes_ref(bytes: &[u8]) -> impl Serialize + '_ {
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    Bytes(bytes)
}

macro_rules! canonical_wire {
    ($(#[$meta:meta])* $name:ident, $inner:ty, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub $inner);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&to_bytes(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("the canonical bytes of a ", $what))
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<$name, E> {
                        from_bytes(v).map($name).map_err(|e| E::custom(format_args!(concat!("bad ", $what, ": {}"), e)))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
    };
}

canonical_wire!(
    /// A block on the wire: its canonical bytes.
    WireBlock,
    Block,
    "block"
);
canonical_wire!(
    /// A block header on the wire: its 128 canonical bytes.
    WireHeader,
    BlockHeader,
    "header"
);
canonical_wire!(
    /// A transaction on the wire: its canonical bytes.
    WireTx,
    Transaction,
    "transaction"
);

/// A block filter on the wire: its bytes, checked to decode ([`BlockFilter::from_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFilter(pub BlockFilter);

impl Serialize for WireFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_bytes())
    }
}

impl<'de> Deserialize<'de> for WireFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = WireFilter;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("the bytes of a block filter")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<WireFilter, E> {
                BlockFilter::from_bytes(v.to_vec())
                    .map(WireFilter)
                    .map_err(|e| E::custom(format_args!("bad filter: {e}")))
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Encode;

    fn hello() -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            network: Network::Dev,
            genesis: Network::Dev.genesis_hash(),
            height: 7,
            tip: BlockHash([1; 32]),
            work: Work::ZERO,
            listen_url: Some("ws://127.0.0.1:8080/p2p".into()),
            node_key: crate::keys::SecretKey::from_bytes(&[5; 32]).unwrap().public_key(),
            nonce: [6; 32],
            agent: "ferro/0.1.0".into(),
        }
    }

    #[test]
    fn messages_round_trip() {
        let genesis = Network::Dev.genesis_block().clone();
        let cases = vec![
            Message::Hello(hello()),
            Message::Ping(9),
            Message::GetAddrs,
            Message::Addrs(vec!["ws://a/p2p".into()]),
            Message::InvTxs(vec![Txid([3; 32])]),
            Message::InvBlocks { hashes: vec![BlockHash([4; 32])], tip_height: 3 },
            Message::GetBlocksAfter { id: 1, locator: vec![BlockHash([5; 32])], limit: 10 },
            Message::Blocks { id: 1, blocks: vec![WireBlock(genesis.clone())], tip_height: 0 },
            Message::NewBlock(WireBlock(genesis.clone())),
            Message::Auth(crate::keys::SecretKey::from_bytes(&[5; 32]).unwrap().sign_digest(&[1; 32])),
            Message::GetHeaders { id: 2, locator: vec![genesis.hash()], limit: 2_000 },
            Message::Headers { id: 2, headers: vec![WireHeader(genesis.header)], tip_height: 0 },
            Message::GetFilters { id: 3, from: 0, limit: 10 },
            Message::Filters { id: 3, filters: vec![(genesis.hash(), WireFilter(genesis.compute_filter()))] },
        ];
        for m in cases {
            assert_eq!(Message::from_frame(&m.to_frame()).unwrap(), m, "{}", m.kind());
        }
    }

    #[test]
    fn a_proof_of_identity_is_good_for_one_challenge_and_one_verifier() {
        use crate::keys::SecretKey;
        let genesis = Network::Dev.genesis_hash();
        let (signer, a, b) = (SecretKey::from_bytes(&[1; 32]).unwrap(), key(2), key(3));
        let digest = auth_digest(&genesis, &[9; 32], &signer.public_key(), &a);
        let proof = signer.sign_digest(&digest);
        assert!(signer.public_key().verify_digest(&digest, &proof).is_ok());
        for other in [
            auth_digest(&genesis, &[9; 32], &signer.public_key(), &b),
            auth_digest(&genesis, &[8; 32], &signer.public_key(), &a),
            auth_digest(&Network::Test.genesis_hash(), &[9; 32], &signer.public_key(), &a),
        ] {
            assert!(signer.public_key().verify_digest(&other, &proof).is_err());
        }

        fn key(seed: u8) -> PublicKey {
            SecretKey::from_bytes(&[seed; 32]).unwrap().public_key()
        }
    }

    #[test]
    fn blocks_frame_from_stored_bytes_is_the_blocks_message() {
        use crate::params::Network;
        let blocks: Vec<Block> =
            [Network::Dev, Network::Test].iter().map(|n| n.genesis_block().clone()).collect();
        let stored: Vec<Vec<u8>> = blocks.iter().map(to_bytes).collect();
        let message = Message::Blocks {
            id: 300,
            blocks: blocks.into_iter().map(WireBlock).collect(),
            tip_height: 70_000,
        };
        let frame = BlocksFrame { id: 300, blocks: &stored, tip_height: 70_000 }.to_frame();
        assert_eq!(frame, message.to_frame());
        assert_eq!(Message::from_frame(&frame).unwrap(), message);
        let empty = BlocksFrame { id: 1, blocks: &[], tip_height: 0 }.to_frame();
        assert_eq!(empty, Message::Blocks { id: 1, blocks: vec![], tip_height: 0 }.to_frame());
    }

    #[test]
    fn blocks_cost_about_their_canonical_size() {
        let genesis = Network::Dev.genesis_block().clone();
        let frame = Message::NewBlock(WireBlock(genesis.clone())).to_frame();
        assert!(frame.len() <= genesis.encoded_len() + 4, "{} vs {}", frame.len(), genesis.encoded_len());
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(matches!(Message::from_frame(&[0xff, 0xff, 0xff]), Err(WireError::Malformed(_))));
        assert!(matches!(Message::from_frame(&vec![0; MAX_MESSAGE_BYTES + 1]), Err(WireError::TooLarge(_))));
        let many = Message::InvTxs(vec![Txid([0; 32]); MAX_ITEMS_PER_MESSAGE + 1]);
        assert!(matches!(Message::from_frame(&many.to_frame()), Err(WireError::TooManyItems { .. })));
        // A block whose canonical bytes claim four billion transactions is a decode error.
        let genesis = Network::Dev.genesis_block().clone();
        let mut frame = Message::NewBlock(WireBlock(genesis.clone())).to_frame();
        let tx_count_at = frame.len() - genesis.encoded_len() + crate::block::HEADER_SIZE;
        frame[tx_count_at..tx_count_at + 4].copy_from_slice(&[0xff; 4]);
        assert!(matches!(Message::from_frame(&frame), Err(WireError::Malformed(_))));
        // A filter whose count its bits cannot hold is a decode error.
        let good = BlockFilter::build(&Default::default(), &[]).as_bytes().to_vec();
        let frame =
            postcard::to_allocvec(&(16u32, 3u64, 1u8, BlockHash::ZERO, serde_bytes_ref(&good))).unwrap();
        assert!(matches!(Message::from_frame(&frame), Ok(Message::Filters { id: 3, .. })));
        let mut bad = good;
        bad[0] = 9;
        let frame =
            postcard::to_allocvec(&(16u32, 3u64, 1u8, BlockHash::ZERO, serde_bytes_ref(&bad))).unwrap();
        assert!(matches!(Message::from_frame(&frame), Err(WireError::Malformed(_))), "{frame:?}");
        // Headers travel as their canonical bytes.
        let genesis = Network::Test.genesis_block();
        let headers =
            Message::Headers { id: 1, headers: vec![WireHeader(genesis.header); 10], tip_height: 0 };
        assert!(headers.to_frame().len() <= 10 * (crate::block::HEADER_SIZE + 2) + 8);
        // Trailing bytes after a message are refused.
        let mut frame = Message::Ping(1).to_frame();
        frame.push(0);
        assert!(matches!(Message::from_frame(&frame), Err(WireError::Malformed(_))));
    }

    /// Found by fuzzing (`fuzz/`, target `p2p_message`): an integer written in more bytes than
    /// it needs decoded to the same message as its canonical frame.
    #[test]
    fn an_overlong_integer_is_refused() {
        assert_eq!(Message::from_frame(&[1, 127]), Ok(Message::Ping(127)));
        assert!(matches!(Message::from_frame(&[1, 0xff, 0x00]), Err(WireError::Malformed(_))));
        assert!(matches!(Message::from_frame(&[1, 0x80, 0x80, 0x00]), Err(WireError::Malformed(_))));
    }

    mod properties {
        use super::*;
        use crate::hash::{FilterHash, MerkleRoot, PubkeyHash};
        use crate::keys::SecretKey;
        use crate::pow::CompactTarget;
        use crate::tx::tests::arb_tx;
        use proptest::prelude::*;

        fn hash() -> impl Strategy<Value = BlockHash> {
            any::<[u8; 32]>().prop_map(BlockHash)
        }

        fn txid() -> impl Strategy<Value = Txid> {
            any::<[u8; 32]>().prop_map(Txid)
        }

        fn header() -> impl Strategy<Value = BlockHeader> {
            (any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<u64>(), any::<u32>(), any::<u64>())
                .prop_map(|(height, prev, root, time, bits, nonce)| BlockHeader {
                    version: crate::block::BLOCK_VERSION,
                    height,
                    prev: BlockHash(prev),
                    merkle_root: MerkleRoot(root),
                    filter_hash: FilterHash([0; 32]),
                    time,
                    bits: CompactTarget(bits),
                    nonce,
                })
        }

        fn block() -> impl Strategy<Value = Block> {
            (header(), prop::collection::vec(arb_tx(), 0..3))
                .prop_map(|(header, transactions)| Block { header, transactions })
        }

        fn filter() -> impl Strategy<Value = WireFilter> {
            (any::<[u8; 32]>(), prop::collection::vec(any::<[u8; 32]>(), 0..20)).prop_map(
                |(key, elements)| {
                    let elements: Vec<PubkeyHash> = elements.into_iter().map(PubkeyHash).collect();
                    WireFilter(BlockFilter::of_elements(&MerkleRoot(key), &elements))
                },
            )
        }

        fn hello() -> impl Strategy<Value = Hello> {
            (
                any::<u32>(),
                any::<u64>(),
                hash(),
                any::<[u8; 32]>(),
                1u8..=0xfe,
                any::<[u8; 32]>(),
                ".{0,20}",
                proptest::option::of("[a-z:/0-9.]{0,40}"),
            )
                .prop_map(|(version, height, tip, work, k, nonce, agent, listen_url)| Hello {
                    version,
                    network: Network::Dev,
                    genesis: Network::Dev.genesis_hash(),
                    height,
                    tip,
                    work: Work::from_be_bytes(work),
                    listen_url,
                    node_key: SecretKey::from_bytes(&[k; 32]).unwrap().public_key(),
                    nonce,
                    agent,
                })
        }

        fn message() -> impl Strategy<Value = Message> {
            let ids = || prop::collection::vec(txid(), 0..5);
            let hashes = || prop::collection::vec(hash(), 0..5);
            prop_oneof![
                hello().prop_map(Message::Hello),
                any::<u64>().prop_map(Message::Ping),
                any::<u64>().prop_map(Message::Pong),
                Just(Message::GetAddrs),
                prop::collection::vec("[a-z:/0-9.]{0,30}", 0..5).prop_map(Message::Addrs),
                ids().prop_map(Message::InvTxs),
                (hashes(), any::<u64>())
                    .prop_map(|(hashes, tip_height)| Message::InvBlocks { hashes, tip_height }),
                (any::<u64>(), ids()).prop_map(|(id, txids)| Message::GetTxs { id, txids }),
                (any::<u64>(), prop::collection::vec(arb_tx().prop_map(WireTx), 0..3), any::<bool>())
                    .prop_map(|(id, txs, more)| Message::Txs { id, txs, more }),
                (any::<u64>(), hashes()).prop_map(|(id, hashes)| Message::GetBlocks { id, hashes }),
                (any::<u64>(), hashes(), any::<u32>())
                    .prop_map(|(id, locator, limit)| Message::GetBlocksAfter { id, locator, limit }),
                (any::<u64>(), prop::collection::vec(block().prop_map(WireBlock), 0..3), any::<u64>())
                    .prop_map(|(id, blocks, tip_height)| Message::Blocks { id, blocks, tip_height }),
                block().prop_map(|b| Message::NewBlock(WireBlock(b))),
                (any::<u64>(), hashes(), any::<u32>()).prop_map(|(id, locator, limit)| Message::GetHeaders {
                    id,
                    locator,
                    limit
                }),
                (any::<u64>(), prop::collection::vec(header().prop_map(WireHeader), 0..5), any::<u64>())
                    .prop_map(|(id, headers, tip_height)| Message::Headers { id, headers, tip_height }),
                (any::<u64>(), any::<u64>(), any::<u32>())
                    .prop_map(|(id, from, limit)| Message::GetFilters { id, from, limit }),
                (any::<u64>(), prop::collection::vec((hash(), filter()), 0..3))
                    .prop_map(|(id, filters)| Message::Filters { id, filters }),
                (1u8..=0xfe, any::<[u8; 32]>()).prop_map(|(k, d)| Message::Auth(
                    SecretKey::from_bytes(&[k; 32]).unwrap().sign_digest(&d)
                )),
            ]
        }

        proptest! {
            /// Every message survives its frame, and its frame is the only one that gives it.
            #[test]
            fn every_message_round_trips(m in message()) {
                let frame = m.to_frame();
                let back = Message::from_frame(&frame).unwrap();
                prop_assert_eq!(&back, &m);
                prop_assert_eq!(back.to_frame(), frame);
            }

            /// Whatever bytes arrive: an error, or a message whose frame is those very bytes.
            #[test]
            fn any_frame_that_decodes_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
                if let Ok(m) = Message::from_frame(&bytes) {
                    prop_assert_eq!(m.to_frame(), bytes);
                }
            }

            /// A valid frame altered in one byte: an error, or a canonical message.
            #[test]
            fn a_frame_altered_in_one_byte_is_refused_or_canonical(
                m in message(), at in any::<prop::sample::Index>(), byte in any::<u8>()
            ) {
                let mut frame = m.to_frame();
                let i = at.index(frame.len());
                frame[i] = byte;
                if let Ok(m) = Message::from_frame(&frame) {
                    prop_assert_eq!(m.to_frame(), frame);
                }
            }
        }
    }
}
