//! A deterministic simulation of a Ferrocoin network (`cargo xtask sim`): real nodes (their
//! store, mempool, chain, peer layer and HTTP server) on turmoil's simulated hosts and links, in
//! one thread under one seed. See `docs/testing.md`.

pub mod check;
pub mod disk;
pub mod host;
pub mod hostile;
pub mod log;
pub mod net;
pub mod rng;
pub mod scenario;
pub mod world;

pub use scenario::{Report, Scenario};
pub use world::run;
