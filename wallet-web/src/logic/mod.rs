//! Wallet logic with no browser in it, so it is tested natively.

pub mod chart;
pub mod format;
pub mod search;

pub mod account;
pub mod forms;
pub mod messages;
pub mod nodes;
pub mod payment;
pub mod vault;
