//! `POST /api/mine {"address": "...", "blocks": N}`: mines N blocks (1 to 100) on the node,
//! paying `address`, and answers them oldest first.
//!
//! Available only when `NodeConfig::mine_api` is on (default: the dev network only), otherwise
//! 403 `mining_disabled`. On the dev network anyone may call it (the browser wallet does, to
//! fund itself); on other networks the caller must be on loopback unless
//! `NodeConfig::allow_remote_admin` is on, otherwise 403 `forbidden`.

use super::require_admin;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Site};
use crate::node::Node;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use ferro_shared::api::{BlockSummary, MineRequest, MineResponse};
use ferro_shared::{Address, Network};

/// Most blocks one request mines.
pub const MAX_BLOCKS_PER_REQUEST: u32 = 100;

pub fn routes() -> Router<Node> {
    Router::new().route("/mine", post(mine))
}

async fn mine(
    State(node): State<Node>,
    caller: Caller,
    site: Site,
    body: Result<Json<MineRequest>, ApiError>,
) -> Result<Json<MineResponse>, ApiError> {
    if !node.config().mine_api {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mining_disabled",
            "mining through the API is turned off on this node",
        ));
    }
    if node.network() != Network::Dev {
        require_admin(&node, caller, &site)?;
    }
    let Json(request) = body?;
    if !(1..=MAX_BLOCKS_PER_REQUEST).contains(&request.blocks) {
        return Err(ApiError::bad_request(format!(
            "blocks must be from 1 to {MAX_BLOCKS_PER_REQUEST}, not {}",
            request.blocks
        )));
    }
    let to = Address::parse(&request.address, node.network())?;
    let blocks = node.mine_blocks(to.hash, request.blocks).await?;
    Ok(Json(MineResponse { blocks: blocks.iter().map(BlockSummary::of).collect() }))
}

#[cfg(test)]
mod tests {
    use crate::api::testkit::*;
    use crate::node::NodeConfig;
    use axum::http::StatusCode;
    use ferro_shared::api::{MineResponse, StatusResponse};
    use ferro_shared::{Address, Network};
    use serde_json::json;
    use std::net::SocketAddr;

    const REMOTE: ([u8; 4], u16) = ([203, 0, 113, 5], 40_000);

    fn test_address() -> String {
        Address::from_public_key(Network::Test, &key(1).public_key()).to_string()
    }

    #[tokio::test]
    async fn mining_is_off_by_default_outside_dev() {
        let t = TestNode::new(Network::Test, |_| {});
        for from in [SocketAddr::from(REMOTE), SocketAddr::from(([127, 0, 0, 1], 1))] {
            let (status, body) =
                post_error(&t.app_from(from), "/api/mine", &json!({"address": test_address()})).await;
            assert_eq!((status, body.error.code.as_str()), (StatusCode::FORBIDDEN, "mining_disabled"));
        }
    }

    #[tokio::test]
    async fn mining_outside_dev_needs_loopback_or_remote_admin() {
        let enabled = |c: &mut NodeConfig| c.mine_api = true;
        let t = TestNode::new(Network::Test, enabled);
        // Zero blocks: a request that passed the access check answers 400, and mines nothing.
        let zero = json!({"address": test_address(), "blocks": 0});
        let (status, body) = post_error(&t.app_from(REMOTE.into()), "/api/mine", &zero).await;
        assert_eq!((status, body.error.code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        let (status, _) = post_error(&t.app(), "/api/mine", &zero).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let open = TestNode::new(Network::Test, |c| {
            c.mine_api = true;
            c.allow_remote_admin = true;
        });
        let (status, _) = post_error(&open.app_from(REMOTE.into()), "/api/mine", &zero).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let status: StatusResponse = get_ok(&t.app(), "/api/status").await;
        assert_eq!(status.height, 0);
    }

    #[tokio::test]
    async fn anyone_may_mine_on_dev() {
        let t = TestNode::dev();
        let request = json!({"address": address_of(&key(1)).to_string()});
        let mined: MineResponse = post_ok(&t.app_from(REMOTE.into()), "/api/mine", &request).await;
        assert_eq!(mined.blocks.len(), 1);
        assert_eq!(mined.blocks[0].height, 1);
    }
}
