//! The Ferrocoin node: chain store, mempool, miner, HTTP API and peer-to-peer network, and the
//! command-line wallet.

pub mod chain;
pub mod env;
pub mod mempool;
pub mod metrics;
pub mod miner;
pub mod node;
pub mod p2p;
pub mod views;

pub use node::{Node, NodeConfig, NodeEvent, Origin};
pub mod api;
pub mod cli;
pub mod server;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
pub(crate) mod testing;
