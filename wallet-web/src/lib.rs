//! The Ferrocoin browser wallet and block explorer.
//!
//! Keys are made from the browser's secure random source, kept in `localStorage` only after
//! encryption with the user's password (Argon2id + XChaCha20-Poly1305, `ferro_shared::keystore`),
//! and used to sign transactions here, in wasm, with `ferro_shared::wallet`. Only signed
//! transactions, addresses and mining requests go to the node.
//!
//! | module | holds |
//! | --- | --- |
//! | [`api`] | the node's HTTP API and event stream |
//! | [`app`] | routes, layout, the node context |
//! | [`bench`] | the in-browser signing benchmark, called from `window.wasmBindings` |
//! | [`logic`] | pure wallet logic: vault, forms, messages (tested natively) |
//! | [`pages`] | wallet and explorer pages |

// Yew component properties and reducer states carry `Html` and callbacks; printing them has no use.
#![allow(missing_debug_implementations)]

pub mod api;
pub mod app;
pub mod bench;
pub mod headers_db;
pub mod logic;
pub mod pages;
