//! A light client's verification: what a wallet checks itself instead of believing a node.
//!
//! ```text
//!  headers (any node) ──▶ VerifiedHeaders: linkage, proof of work, the difficulty it computes,
//!                         MTP, future limit, cumulative work; the most-work chain wins
//!  filter  (any node) ──▶ check_filter: its hash is the one the verified header commits to
//!                         └─▶ matches the wallet's key hashes?
//!  block   (any node) ──▶ check_block: its header is the verified one, its transactions
//!                         give the header's Merkle root
//!                         └─▶ Scanner: the wallet's coins and history, block by block,
//!                             undone on a reorganization
//!  proof   (any node) ──▶ check_inclusion: a transaction's Merkle branch leads to a verified
//!                         header's root
//! ```
//! A node can refuse to answer; it cannot make a wallet show a payment that is not in the
//! most-work chain the wallet knows, or hide one that is.

pub mod headers;
pub mod scan;
pub mod sync;

pub use headers::{Applied, VerifiedHeaders};
pub use scan::{check_block, check_filter, check_inclusion, Scanner, VerifiedCoin, VerifiedEntry};
pub use sync::{LightSync, Need};

use crate::hash::BlockHash;

/// Why something a node served was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    #[error("the headers do not connect to any verified header")]
    Unconnected,
    #[error("the headers are not in order: {0}")]
    Unlinked(String),
    #[error("header at height {height} is invalid: {reason}")]
    InvalidHeader { height: u64, reason: String },
    #[error("the headers belong to another network")]
    OtherNetwork,
    #[error("no verified header at height {0}")]
    UnknownHeight(u64),
    #[error("the filter of block {height} does not match the hash its header commits to")]
    FilterMismatch { height: u64 },
    #[error("the filter of block {height} cannot be read: {reason}")]
    BadFilter { height: u64, reason: String },
    #[error("block {height} is not the verified block {expected}")]
    WrongBlock { height: u64, expected: BlockHash },
    #[error("the transactions of block {height} do not give its header's Merkle root")]
    MerkleMismatch { height: u64 },
    #[error("the inclusion proof does not lead to the Merkle root of block {height}")]
    BadProof { height: u64 },
    #[error("blocks must be scanned in order: expected height {expected}, got {got}")]
    OutOfOrder { expected: u64, got: u64 },
}
