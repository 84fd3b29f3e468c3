//! Consensus rules as pure functions. Every failure is a typed error variant.
//!
//! ```text
//!  header ──check_header──▶ (PoW, bits, time incl. the time-warp bound, height)
//!  block  ──check_block_body──▶ (size, coinbase, Merkle root, tx shapes)  → txids
//!         ──connect_block──▶ (inputs exist, signatures, fees, subsidy)    → BlockUndo
//!  tx     ──check_tx_shape──▶ ──check_tx_inputs──▶ fee
//! ```

pub mod block;
pub mod chain;
pub mod headers;
pub mod tx;

pub use block::{
    check_block_body, check_header, connect_block, connect_block_coins, earliest_block_time,
    epoch_start_earliest_time, BlockError, BlockUndo, HeaderContext,
};
pub use chain::{block_subsidy, median_time_past, next_bits, retarget_anchor_height};
pub use headers::{HeaderError, HeaderTail};
pub use tx::{
    check_tx_coins, check_tx_inputs, check_tx_shape, spent_outputs, verify_tx_signatures, Coin, CoinView,
    TxError,
};

#[cfg(test)]
pub(crate) mod tests {
    //! A small world for rule tests: Alice owns one 100-unit coin; blocks go on top of genesis.
    use super::*;
    use crate::amount::Amount;
    use crate::block::{Block, BlockHeader, BLOCK_VERSION};
    use crate::hash::{BlockHash, PubkeyHash, Txid};
    use crate::keys::SecretKey;
    use crate::params::{Network, Params};
    use crate::pow::Target;
    use crate::tx::{OutPoint, Transaction, TxIn, TxOut, TX_VERSION};
    use std::collections::HashMap;

    pub(crate) struct Fixture {
        pub network: Network,
        pub alice: SecretKey,
        pub bob: SecretKey,
        pub coins: HashMap<OutPoint, Coin>,
        outpoints: Vec<OutPoint>,
    }

    impl Fixture {
        pub fn new() -> Self {
            Self::with_network(Network::Dev)
        }

        pub fn with_network(network: Network) -> Self {
            let mut f = Fixture {
                network,
                alice: SecretKey::from_bytes(&[1; 32]).unwrap(),
                bob: SecretKey::from_bytes(&[2; 32]).unwrap(),
                coins: HashMap::new(),
                outpoints: vec![],
            };
            f.add_coin(Amount::from_units(100), 0, false);
            f
        }

        pub fn params(&self) -> &'static Params {
            self.network.params()
        }

        pub fn genesis(&self) -> BlockHash {
            self.network.genesis_hash()
        }

        pub fn alice_hash(&self) -> PubkeyHash {
            self.alice.public_key().pubkey_hash()
        }

        pub fn bob_hash(&self) -> PubkeyHash {
            self.bob.public_key().pubkey_hash()
        }

        pub fn coin_out(&self, i: usize) -> OutPoint {
            self.outpoints[i]
        }

        /// Gives Alice a coin created at `height`.
        pub fn add_coin(&mut self, amount: Amount, height: u64, is_coinbase: bool) -> OutPoint {
            let outpoint = OutPoint { txid: Txid([0xc0 + self.outpoints.len() as u8; 32]), vout: 7 };
            let output = TxOut { recipient: self.alice_hash(), amount };
            self.coins.insert(outpoint, Coin { output, height, is_coinbase });
            self.outpoints.push(outpoint);
            outpoint
        }

        /// A transaction spending `inputs` (Alice's) to `outputs`, signed by Alice for the
        /// coins as the fixture holds them (a coin it does not hold: as Alice's 1 unit).
        pub fn spend(&self, inputs: &[OutPoint], outputs: &[(PubkeyHash, u64)]) -> Transaction {
            let own = TxOut { recipient: self.alice_hash(), amount: Amount::from_units(1) };
            let spent: Vec<TxOut> =
                inputs.iter().map(|i| self.coins.get(i).map_or(own, |c| c.output)).collect();
            self.spend_with(inputs, outputs, &spent)
        }

        /// A transaction spending `inputs` (Alice's) to `outputs`, signed by Alice believing
        /// the coins spent are `spent`.
        pub fn spend_with(
            &self,
            inputs: &[OutPoint],
            outputs: &[(PubkeyHash, u64)],
            spent: &[TxOut],
        ) -> Transaction {
            let pubkey = self.alice.public_key();
            let placeholder = self.alice.sign_digest(&[0; 32]);
            let mut tx = Transaction {
                version: TX_VERSION,
                coinbase_height: None,
                inputs: inputs
                    .iter()
                    .map(|&prevout| TxIn { prevout, pubkey, signature: placeholder })
                    .collect(),
                outputs: outputs
                    .iter()
                    .map(|&(recipient, units)| TxOut { recipient, amount: Amount::from_units(units) })
                    .collect(),
            };
            let sig = self.alice.sign_digest(&tx.sighash(&self.genesis(), spent).unwrap());
            for input in &mut tx.inputs {
                input.signature = sig;
            }
            tx
        }

        /// Checks a spend for inclusion at height 10.
        pub fn check(&self, tx: &Transaction) -> Result<Amount, TxError> {
            check_tx_inputs(tx, &self.coins, 10, self.params(), &self.genesis())
        }

        /// A block at height 1 with a coinbase claiming subsidy + `fees`, then `txs`, mined.
        pub fn block(&self, txs: Vec<Transaction>, fees: u64) -> Block {
            let reward = block_subsidy(self.params(), 1).units() + fees;
            let coinbase = Transaction::coinbase(
                1,
                vec![TxOut { recipient: self.bob_hash(), amount: Amount::from_units(reward) }],
            );
            let mut all = vec![coinbase];
            all.extend(txs);
            self.block_raw(all)
        }

        /// A block at height 1 holding exactly `txs`, mined.
        pub fn block_raw(&self, txs: Vec<Transaction>) -> Block {
            let genesis = self.network.genesis_block();
            let mut block = Block {
                header: BlockHeader {
                    version: BLOCK_VERSION,
                    height: 1,
                    prev: genesis.hash(),
                    merkle_root: crate::hash::MerkleRoot::ZERO,
                    filter_hash: Default::default(),
                    time: genesis.header.time + 60,
                    bits: self.params().pow_limit,
                    nonce: 0,
                },
                transactions: txs,
            };
            block.commit_transactions();
            let target = Target::from_compact(block.header.bits).unwrap();
            while !target.is_met_by(&block.hash()) {
                block.header.nonce += 1;
            }
            block
        }
    }
}
