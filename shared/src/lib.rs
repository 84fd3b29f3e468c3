//! `ferro-shared`: Ferrocoin's types, canonical encoding, hashing, keys, addresses, consensus
//! rules and wallet logic. Pure: no I/O, no async, no global RNG (callers pass one), so it builds
//! for the node natively and for the browser wallet on `wasm32-unknown-unknown`.
//!
//! | module | holds |
//! | --- | --- |
//! | [`encode`] | the canonical byte encoding of everything hashed or signed |
//! | [`hash`] | SHA-256, `BlockHash`, `Txid`, `PubkeyHash`, Merkle root |
//! | [`amount`] | `Amount` in base units, decimal coin strings |
//! | [`keys`] | secp256k1 keys, low-S deterministic ECDSA |
//! | [`address`] | bech32m addresses per network |
//! | [`tx`], [`block`] | transactions, blocks, txid, signed message |
//! | [`filter`] | compact block filters (Golomb-coded sets of the key hashes a block touches) |
//! | [`pow`] | targets, compact bits, work |
//! | [`params`] | networks, parameters, genesis blocks |
//! | [`consensus`] | every validity rule as a pure function |
//! | [`api`] | JSON types of the HTTP API |
//! | [`p2p`] | the peer-to-peer message enum and its wire form |
//! | [`wallet`], [`keystore`], [`mnemonic`] | coin selection, signing, encrypted keys, backup words |
//! | [`light`] | a light client's checks: verified headers, filters, blocks and proofs, its own coins |

pub mod address;
pub mod amount;
pub mod api;
pub mod block;
pub mod consensus;
pub mod encode;
pub mod filter;
pub mod hash;
pub mod keys;
pub mod keystore;
pub mod light;
pub mod mnemonic;
pub mod p2p;
pub mod params;
pub mod pow;
pub mod tx;
pub mod wallet;

pub use address::Address;
pub use amount::Amount;
pub use block::{Block, BlockHeader};
pub use hash::{BlockHash, PubkeyHash, Txid};
pub use keys::{PublicKey, SecretKey, Signature};
pub use params::{Network, Params};
pub use tx::{OutPoint, Transaction, TxIn, TxOut};
