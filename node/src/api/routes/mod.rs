//! The JSON routes under `/api`, one module per subject.

mod address;
mod chain;
mod mine;
mod peers;
mod tx;

use super::error::ApiError;
use super::extract::Caller;
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
/// with `allow_remote_admin`.
fn require_admin(node: &Node, caller: Caller) -> Result<(), ApiError> {
    if caller.is_loopback() || node.config().allow_remote_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("this endpoint answers only callers on the node's own machine (loopback)"))
    }
}
