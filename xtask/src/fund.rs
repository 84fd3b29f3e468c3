//! Money for the benchmarks: a bench key, blocks built and submitted straight to a node (no
//! mempool, no HTTP), coins made by fan-out transactions, and one-input one-output spends signed
//! in parallel.
//!
//! ```text
//!   coinbase blocks ──▶ fan-out txs (1 input, FANOUT outputs) ──▶ coins ──▶ sign_spends (rayon)
//! ```

use anyhow::{bail, Context, Result};
use ferro_node::chain::BlockOutcome;
use ferro_node::{miner, Node, Origin};
use ferro_shared::tx::TX_VERSION;
use ferro_shared::wallet::{tx_size, Spendable};
use ferro_shared::{
    Amount, Block, Network, OutPoint, PubkeyHash, PublicKey, SecretKey, Signature, Transaction, TxIn, TxOut,
};
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// Outputs per fan-out transaction (about 200 kB each, four fit in a block).
const FANOUT: usize = 5_000;
/// Fan-out transactions per block.
const FANOUTS_PER_BLOCK: usize = 4;

/// The key every benchmark pays from and to.
#[derive(Debug, Clone)]
pub struct BenchKey {
    pub key: SecretKey,
    pub pubkey: PublicKey,
    pub pkh: PubkeyHash,
    /// A signature to fill inputs with before the real one is computed.
    placeholder: Signature,
}

impl BenchKey {
    pub fn new(seed: u8) -> Self {
        let key = SecretKey::from_bytes(&[seed; 32]).expect("a repeated nonzero byte is a valid key");
        let pubkey = key.public_key();
        let placeholder = key.sign_digest(&[0; 32]);
        BenchKey { pkh: pubkey.pubkey_hash(), pubkey, key, placeholder }
    }

    /// A signed transaction spending `coins` (all owned by this key) into `outputs`.
    pub fn sign(&self, network: Network, coins: &[Spendable], outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: TX_VERSION,
            coinbase_height: None,
            inputs: coins
                .iter()
                .map(|c| TxIn { prevout: c.outpoint, pubkey: self.pubkey, signature: self.placeholder })
                .collect(),
            outputs,
        };
        let spent: Vec<TxOut> =
            coins.iter().map(|c| TxOut { recipient: self.pkh, amount: c.amount }).collect();
        let digest = tx.sighash(&network.genesis_hash(), &spent).expect("one coin per input");
        let signature = self.key.sign_digest(&digest);
        for input in &mut tx.inputs {
            input.signature = signature;
        }
        tx
    }
}

/// The fee of a transaction of `size` bytes at the network's lowest relay fee rate.
fn min_fee(network: Network, size: usize) -> Amount {
    Amount::from_units(network.params().min_relay_fee_rate * size as u64)
}

/// A block on `node`'s tip holding `txs` (each with the fee it pays) with a coinbase paying `to`,
/// with a nonce that meets its target; not submitted.
pub async fn build_block(node: &Node, to: PubkeyHash, txs: Vec<(Transaction, Amount)>) -> Result<Block> {
    let header = node.block_template(to).header;
    let params = node.network().params();
    let mut block =
        miner::build_template(params, header.height, header.prev, header.bits, header.time, to, txs);
    tokio::task::spawn_blocking(move || {
        miner::mine_block(&mut block, &AtomicBool::new(false)).then_some(block)
    })
    .await?
    .context("the block's target cannot be met")
}

/// Submits `block` to `node`; fails unless it becomes the new tip.
pub async fn submit_block(node: &Node, block: Block) -> Result<()> {
    match node.submit_block(block, Origin::Local).await? {
        BlockOutcome::NewTip { .. } => Ok(()),
        other => bail!("a bench block did not become the tip: {other:?}"),
    }
}

/// [`build_block`], then [`submit_block`].
pub async fn mine_block_with(node: &Node, to: PubkeyHash, txs: Vec<(Transaction, Amount)>) -> Result<Block> {
    let block = build_block(node, to, txs).await?;
    submit_block(node, block.clone()).await?;
    Ok(block)
}

/// Creates `count` coins owned by `key` on `node`'s chain: one coinbase block per fan-out
/// transaction, then blocks of fan-out transactions.
pub async fn fund(node: &Node, key: &BenchKey, count: usize) -> Result<Vec<Spendable>> {
    let network = node.network();
    let mut coinbases = Vec::new();
    for _ in 0..count.div_ceil(FANOUT) {
        let block = mine_block_with(node, key.pkh, vec![]).await?;
        let coinbase = &block.transactions[0];
        coinbases.push(Spendable {
            outpoint: OutPoint { txid: coinbase.txid(), vout: 0 },
            amount: coinbase.outputs[0].amount,
        });
    }
    let mut remaining = count;
    let fanouts: Vec<(Transaction, Amount)> = coinbases
        .iter()
        .map(|coin| {
            let outputs = remaining.min(FANOUT);
            remaining -= outputs;
            let fee = min_fee(network, tx_size(1, outputs));
            let each = (coin.amount.units() - fee.units()) / outputs as u64;
            let out = TxOut { recipient: key.pkh, amount: Amount::from_units(each) };
            let tx = key.sign(network, &[*coin], vec![out; outputs]);
            let paid = Amount::from_units(coin.amount.units() - each * outputs as u64);
            (tx, paid)
        })
        .collect();
    let mut coins = Vec::with_capacity(count);
    for (tx, _) in &fanouts {
        let txid = tx.txid();
        coins.extend(tx.outputs.iter().enumerate().map(|(vout, out)| Spendable {
            outpoint: OutPoint { txid, vout: vout as u32 },
            amount: out.amount,
        }));
    }
    for chunk in fanouts.chunks(FANOUTS_PER_BLOCK) {
        mine_block_with(node, key.pkh, chunk.to_vec()).await?;
    }
    Ok(coins)
}

/// Signs a one-input one-output spend of each coin, paying `to` the coin less the minimum fee.
/// Runs on every core.
pub fn sign_spends(
    key: &BenchKey,
    network: Network,
    coins: &[Spendable],
    to: PubkeyHash,
) -> Vec<(Transaction, Amount)> {
    let fee = min_fee(network, tx_size(1, 1));
    coins
        .par_iter()
        .map(|coin| {
            let out = TxOut { recipient: to, amount: Amount::from_units(coin.amount.units() - fee.units()) };
            (key.sign(network, &[*coin], vec![out]), fee)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::consensus::verify_tx_signatures;

    #[test]
    fn spends_are_signed_and_pay_the_minimum_fee() {
        let key = BenchKey::new(3);
        let coin = Spendable {
            outpoint: OutPoint { txid: ferro_shared::Txid([7; 32]), vout: 2 },
            amount: Amount::from_units(10_000),
        };
        let spends = sign_spends(&key, Network::Dev, &[coin], key.pkh);
        let (tx, fee) = &spends[0];
        let spent = [TxOut { recipient: key.pkh, amount: coin.amount }];
        verify_tx_signatures(tx, &Network::Dev.genesis_hash(), &spent).unwrap();
        assert_eq!(fee.units(), tx.size() as u64);
        assert_eq!(tx.outputs[0].amount.units() + fee.units(), 10_000);
    }
}
