//! What a peer is charged for what it sent: one exhaustive verdict per error, with no wildcard,
//! so a new error variant does not compile until it is classified here.
//!
//! The rule: a peer is charged only for what no honest node sends. A block or transaction that
//! fails for a reason that depends on when it arrived (its parent not here yet, a coin not yet
//! known or already spent, a clock ahead of ours, a policy limit another node may set
//! differently) is a race or a difference of opinion, never a fault.

use super::link::ChainError;
use crate::mempool::MempoolError;
use ferro_shared::consensus::block::BlockError;
use ferro_shared::consensus::tx::TxError;
use ferro_shared::consensus::HeaderError;

/// What to do about a peer after the node judged something it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Nothing: accepted, or a race an honest peer can lose.
    Nothing,
    /// The block's parent is missing here: ask the peer for its chain.
    Sync,
    /// A block on a branch with less work than our tip: free once in a while, charged when
    /// frequent (see `Session`).
    LowWork,
    /// No honest node sends this: disconnect and ban.
    Ban(String),
}

/// The charge for a block the node refused.
pub fn for_block(error: &ChainError) -> Charge {
    match error {
        ChainError::UnknownParent { .. } => Charge::Sync,
        ChainError::LowWork { .. } => Charge::LowWork,
        ChainError::KnownInvalid(hash) => Charge::Ban(format!("sent a block on known-invalid block {hash}")),
        // Our storage failed: nothing was judged.
        ChainError::Store(_) => Charge::Nothing,
        ChainError::Invalid { hash, error } => match block_fault(error) {
            true => Charge::Ban(format!("sent invalid block {hash}: {error}")),
            false => Charge::Nothing,
        },
    }
}

/// What a peer is charged for headers that fail the header rules.
pub fn for_headers(error: &HeaderError) -> Charge {
    match error {
        HeaderError::Unlinked { index } => Charge::Ban(format!("sent headers that do not link at {index}")),
        HeaderError::Invalid { index, error } => match block_fault(error) {
            true => Charge::Ban(format!("sent an invalid header (number {index} of its answer): {error}")),
            false => Charge::Nothing,
        },
    }
}

/// Whether sending a block that fails with `error` is the sender's fault.
fn block_fault(error: &BlockError) -> bool {
    match error {
        // Our clock may be behind the sender's: the same block may be valid in a minute.
        BlockError::TimeTooNew { .. } => false,
        // A body altered in transit is still the relayer's doing: honest nodes pass blocks on
        // as they received and checked them.
        BlockError::BadMerkleRoot
        | BlockError::TooLarge { .. }
        | BlockError::NoTransactions
        | BlockError::UnsupportedVersion(_)
        | BlockError::BadHeight { .. }
        | BlockError::BadDifficulty { .. }
        | BlockError::InvalidTarget(_)
        | BlockError::InsufficientProofOfWork(_)
        | BlockError::TimeTooOld { .. }
        | BlockError::TimeWarp { .. }
        | BlockError::FirstNotCoinbase
        | BlockError::ExtraCoinbase { .. }
        | BlockError::BadCoinbaseHeight { .. }
        | BlockError::BadFilterHash { .. }
        | BlockError::DuplicateTransaction(_)
        | BlockError::InvalidTransaction { .. }
        | BlockError::CoinbaseTooLarge { .. } => true,
    }
}

/// The charge for a transaction the mempool refused.
pub fn for_transaction(error: &MempoolError) -> Charge {
    match error {
        MempoolError::Coinbase => Charge::Ban("sent a coinbase as a loose transaction".into()),
        MempoolError::Invalid(e) => match tx_fault(e) {
            true => Charge::Ban(format!("sent an invalid transaction: {e}")),
            false => Charge::Nothing,
        },
        MempoolError::AlreadyKnown(_)
        | MempoolError::Conflict { .. }
        | MempoolError::FeeTooLow { .. }
        | MempoolError::Full { .. }
        // Policy, not consensus: a peer with other limits relays them in good faith.
        | MempoolError::TooLargeForBlock { .. }
        | MempoolError::NonStandardSize { .. } => Charge::Nothing,
    }
}

/// Whether sending a transaction that fails with `error` is the sender's fault.
fn tx_fault(error: &TxError) -> bool {
    match error {
        // The sender may know a block we do not have yet, or have missed one that spent it.
        TxError::UnknownInput(_) | TxError::ImmatureCoinbase { .. } => false,
        // Everything else is fixed by the transaction and the coins its outpoints name.
        TxError::UnsupportedVersion(_)
        | TxError::TooLarge { .. }
        | TxError::NoInputs
        | TxError::NoOutputs
        | TxError::ZeroOutput { .. }
        | TxError::OutputsOverflow
        | TxError::DuplicateInput(_)
        | TxError::CoinbaseWithInputs
        | TxError::UnexpectedCoinbase
        | TxError::KeyMismatch { .. }
        | TxError::InvalidSignature { .. }
        | TxError::SpentCountMismatch { .. }
        | TxError::InputsBelowOutputs { .. }
        | TxError::InputsOverflow => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::hash::{BlockHash, Txid};
    use ferro_shared::tx::OutPoint;

    #[test]
    fn races_are_free_and_faults_are_banned() {
        let hash = BlockHash([1; 32]);
        let invalid = |error| ChainError::Invalid { hash, error };
        let outpoint = OutPoint { txid: Txid([2; 32]), vout: 0 };
        let cases: Vec<(Charge, Charge)> = vec![
            (for_block(&ChainError::UnknownParent { hash, parent: hash }), Charge::Sync),
            (for_block(&ChainError::LowWork { hash }), Charge::LowWork),
            (for_block(&invalid(BlockError::TimeTooNew { time: 9, max: 8 })), Charge::Nothing),
            (
                for_block(&ChainError::Store(crate::chain::StoreError::Corrupt("disk".into()))),
                Charge::Nothing,
            ),
            (for_transaction(&MempoolError::Invalid(TxError::UnknownInput(outpoint))), Charge::Nothing),
            (for_transaction(&MempoolError::AlreadyKnown(Txid([3; 32]))), Charge::Nothing),
            (for_transaction(&MempoolError::NonStandardSize { size: 2, max: 1 }), Charge::Nothing),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
        for banned in [
            for_block(&ChainError::KnownInvalid(hash)),
            for_block(&invalid(BlockError::BadMerkleRoot)),
            for_block(&invalid(BlockError::InsufficientProofOfWork(hash))),
            for_transaction(&MempoolError::Coinbase),
            for_transaction(&MempoolError::Invalid(TxError::DuplicateInput(outpoint))),
        ] {
            assert!(matches!(banned, Charge::Ban(_)), "{banned:?}");
        }
    }
}
