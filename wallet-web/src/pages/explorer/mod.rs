//! The block explorer: the chain's tip and recent blocks, blocks, transactions, addresses, the
//! mempool and the node's peers, read from the node's HTTP API and kept live by its events.
//!
//! ```text
//!  use_node().tick ──► use_fetch(key, refresh, |api, key| api.…) ──► Fetched { value, error }
//!  (node events)         (fetch.rs: one hook for every page)            │
//!                                                                       ▼
//!                                 view_fetched: "Loading…", the error in words, or the page
//! ```
//!
//! | file | holds |
//! | --- | --- |
//! | `home.rs` | [`ExplorerHome`]: tip, sync, search, recent blocks |
//! | `chart.rs` | the SVG chart of block times and difficulty |
//! | `block.rs`, `tx.rs`, `address.rs` | [`BlockPage`], [`TxPage`], [`AddressPage`] |
//! | `mempool.rs`, `peers.rs` | [`MempoolPage`], [`PeersPage`] |
//! | `fetch.rs`, `parts.rs` | the fetch hook, shared links and tables |
//! | `proof.rs` | a confirmed transaction's inclusion, verified against the wallet's own headers |
//!
//! Formatting, search classification and chart geometry are pure and tested in
//! [`crate::logic::format`], [`crate::logic::search`] and [`crate::logic::chart`].

mod address;
mod block;
mod chart;
mod fetch;
mod home;
mod mempool;
mod parts;
mod peers;
mod problem;
mod proof;
mod tx;

pub use address::{AddressPage, AddressProps};
pub use block::{BlockPage, BlockProps};
pub use home::ExplorerHome;
pub use mempool::MempoolPage;
pub use peers::PeersPage;
pub use problem::problem;
pub use tx::{TxPage, TxProps};
