//! End-to-end tests with real nodes: one integration binary keeps link time down.

mod blame;
mod cli;
mod crash;
mod hostile;
mod invalid;
mod light;
mod network;
mod single_node;
