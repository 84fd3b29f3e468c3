//! Networks and their consensus parameters, including each network's hard-coded genesis block.

use crate::amount::{Amount, UNITS_PER_COIN};
use crate::block::{Block, BlockHeader, BLOCK_VERSION};
use crate::hash::{BlockHash, PubkeyHash};
use crate::pow::CompactTarget;
use crate::tx::{Transaction, TxOut};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A Ferrocoin network. Nodes and addresses of different networks never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Local development: minimal difficulty, blocks mined on demand, coinbase spendable at once.
    Dev,
    /// A shared test network: time-based difficulty toward 10-second blocks.
    Test,
}

/// Consensus and policy parameters of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub network: Network,
    /// Human-readable prefix of addresses (bech32m HRP).
    pub address_prefix: &'static str,
    /// The easiest target allowed, and the genesis block's target.
    pub pow_limit: CompactTarget,
    /// Desired seconds between blocks.
    pub target_block_secs: u64,
    /// Blocks per difficulty epoch; `None` keeps the difficulty at `pow_limit` forever.
    pub retarget_interval: Option<u64>,
    /// The most one retarget may change the target, in either direction.
    pub max_retarget_factor: u64,
    /// Blocks a coinbase output must wait before it is spent (0 = at once, in the next block).
    pub coinbase_maturity: u64,
    pub initial_subsidy: Amount,
    pub halving_interval: u64,
    /// Maximum encoded block size in bytes (also bounds a single transaction).
    pub max_block_bytes: usize,
    /// How far a block's time may be ahead of the validating node's clock.
    pub max_future_block_secs: u64,
    /// A block's time must exceed the median time of this many previous blocks.
    pub median_time_span: usize,
    /// The first block of a difficulty epoch may not be more than this many seconds earlier
    /// than its parent (the time-warp rule of the Great Consensus Cleanup, BIP54). It bounds
    /// what timestamps at epoch boundaries can gain a retarget to this much per epoch, instead
    /// of an unbounded, growing amount.
    pub timewarp_grace_secs: u64,
    /// Policy: the lowest fee rate (units per byte) a node relays or mines.
    pub min_relay_fee_rate: u64,
    pub genesis_time: u64,
    pub genesis_nonce: u64,
}

const DEV: Params = Params {
    network: Network::Dev,
    address_prefix: "fdev",
    pow_limit: CompactTarget(0x207f_ffff),
    target_block_secs: 1,
    retarget_interval: None,
    max_retarget_factor: 4,
    coinbase_maturity: 0,
    initial_subsidy: Amount::from_units(50 * UNITS_PER_COIN),
    halving_interval: 210_000,
    max_block_bytes: 1_000_000,
    max_future_block_secs: 2 * 60 * 60,
    median_time_span: 11,
    // No retarget on dev: the rule never applies. BIP54's value, for the record.
    timewarp_grace_secs: 7_200,
    min_relay_fee_rate: 1,
    genesis_time: 1_767_225_600,
    genesis_nonce: 0,
};

const TEST: Params = Params {
    network: Network::Test,
    address_prefix: "ftest",
    pow_limit: CompactTarget(0x1f00_ffff),
    target_block_secs: 10,
    retarget_interval: Some(20),
    max_retarget_factor: 4,
    coinbase_maturity: 10,
    initial_subsidy: Amount::from_units(50 * UNITS_PER_COIN),
    halving_interval: 210_000,
    max_block_bytes: 1_000_000,
    max_future_block_secs: 2 * 60 * 60,
    median_time_span: 11,
    // An epoch is expected to last (20 - 1) * 10 = 190 s: BIP54's 7200 s would let timestamps
    // make every retarget the easiest allowed. Two block intervals keep the gain per epoch small.
    timewarp_grace_secs: 20,
    min_relay_fee_rate: 1,
    genesis_time: 1_767_225_600,
    genesis_nonce: 15_733,
};

impl Network {
    pub const ALL: [Network; 2] = [Network::Dev, Network::Test];

    pub fn params(self) -> &'static Params {
        match self {
            Network::Dev => &DEV,
            Network::Test => &TEST,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Network::Dev => "dev",
            Network::Test => "test",
        }
    }

    /// The network's genesis block, identical on every machine.
    pub fn genesis_block(self) -> &'static Block {
        static DEV_GENESIS: OnceLock<Block> = OnceLock::new();
        static TEST_GENESIS: OnceLock<Block> = OnceLock::new();
        let cell = match self {
            Network::Dev => &DEV_GENESIS,
            Network::Test => &TEST_GENESIS,
        };
        cell.get_or_init(|| build_genesis(self.params()))
    }

    pub fn genesis_hash(self) -> BlockHash {
        self.genesis_block().hash()
    }
}

/// The genesis block: one coinbase paying the initial subsidy to the all-zero key hash, which no
/// key can spend. Its outputs are not part of the spendable coin set.
fn build_genesis(p: &Params) -> Block {
    let coinbase =
        Transaction::coinbase(0, vec![TxOut { recipient: PubkeyHash::ZERO, amount: p.initial_subsidy }]);
    let mut block = Block {
        header: BlockHeader {
            version: BLOCK_VERSION,
            height: 0,
            prev: BlockHash::ZERO,
            merkle_root: Default::default(),
            filter_hash: Default::default(),
            time: p.genesis_time,
            bits: p.pow_limit,
            nonce: p.genesis_nonce,
        },
        transactions: vec![coinbase],
    };
    block.commit_transactions();
    block
}

impl core::fmt::Display for Network {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A network name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: expected dev or test")]
pub struct UnknownNetwork(pub String);

impl core::str::FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Network::ALL.into_iter().find(|n| n.name() == s).ok_or_else(|| UnknownNetwork(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::Target;

    #[test]
    fn genesis_blocks_meet_their_targets() {
        for n in Network::ALL {
            let g = n.genesis_block();
            let target = Target::from_compact(g.header.bits).unwrap();
            assert!(target.is_met_by(&g.hash()), "{n} genesis nonce does not meet its target");
            assert_eq!(g.header.merkle_root, g.compute_merkle_root());
            assert_eq!(g.header.filter_hash, g.compute_filter().hash());
        }
        assert_ne!(Network::Dev.genesis_hash(), Network::Test.genesis_hash());
    }

    #[test]
    fn network_names_parse() {
        assert_eq!("dev".parse::<Network>(), Ok(Network::Dev));
        assert_eq!("test".parse::<Network>(), Ok(Network::Test));
        assert!("main".parse::<Network>().is_err());
    }
}
