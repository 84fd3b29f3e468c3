//! The Ferrocoin node: chain store, mempool, miner, HTTP API and peer-to-peer network, and the
//! command-line wallet.

pub mod chain;
pub mod mempool;
pub mod miner;
