//! The JSON routes under `/api`, one module per subject.

mod address;
mod chain;
mod mine;
mod peers;
mod tx;

use super::error::ApiError;
use super::extract::{Caller, Site};
use crate::node::Node;
use axum::Router;

pub use mine::MAX_BLOCKS_PER_REQUEST;

/// Every JSON route, relative to `/api`.
pub fn routes() -> Router<Node> {
    Router::new()
        .merge(chain::routes())
        .merge(tx::routes())
        .merge(address::routes())
        .merge(mine::routes())
        .merge(peers::routes())
}

/// Endpoints that change the node answer only callers on loopback, unless the node was started
/// with `allow_remote_admin`; and never a web page of another site, nor (without
/// `allow_remote_admin`) a request addressed to a host name a page could have rebound.
fn require_admin(node: &Node, caller: Caller, site: &Site) -> Result<(), ApiError> {
    let remote_ok = node.config().allow_remote_admin;
    if !caller.is_loopback() && !remote_ok {
        return Err(ApiError::forbidden(
            "this endpoint answers only callers on the node's own machine (loopback)",
        ));
    }
    match site.foreign() {
        Some(why) if !remote_ok || site.origin.is_some() => {
            Err(ApiError::forbidden(format!("this endpoint changes the node, and {why}")))
        }
        _ => Ok(()),
    }
}
