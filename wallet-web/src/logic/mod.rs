//! Wallet logic with no browser in it, so it is tested natively.
