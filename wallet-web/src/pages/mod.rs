//! Pages of the wallet and the explorer.

pub mod explorer;
pub mod settings;
pub mod stale;
pub mod wallet;
