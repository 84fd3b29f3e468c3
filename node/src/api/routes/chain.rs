//! The chain: `GET /api/status`, `GET /api/blocks?from=H&limit=N`, `GET /api/blocks/{id}`,
//! `GET /api/filters?from=H&limit=N` (block filters, see `ferro_shared::filter`),
//! `GET /api/headers?from=H&limit=N` (headers, which commit to the filters).

use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::api::PeerNetwork;
use crate::node::Node;
use crate::views::BlockId;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use ferro_shared::api::{
    BlockSummary, BlockView, BlocksQuery, FilterView, FiltersQuery, HeadersQuery, HeadersView, StatusResponse,
};

pub fn routes() -> Router<Node> {
    Router::new()
        .route("/status", get(status))
        .route("/blocks", get(blocks))
        .route("/blocks/{id}", get(block))
        .route("/filters", get(filters))
        .route("/headers", get(headers))
}

async fn headers(
    State(node): State<Node>,
    query: Result<Query<HeadersQuery>, QueryRejection>,
) -> Result<Json<HeadersView>, ApiError> {
    let Query(query) = query?;
    Ok(Json(node.headers(&query)))
}

async fn filters(
    State(node): State<Node>,
    query: Result<Query<FiltersQuery>, QueryRejection>,
) -> Result<Json<Vec<FilterView>>, ApiError> {
    let Query(query) = query?;
    // Up to 8 MiB of blocks read and decoded: on the blocking pool, not an async worker.
    let filters = crate::env::blocking(move || node.filters(&query))
        .await
        .map_err(|e| ApiError::internal("building filters", &e))??;
    Ok(Json(filters))
}

async fn status(State(node): State<Node>, Extension(peers): Extension<PeerNetwork>) -> Json<StatusResponse> {
    let stats = peers.stats();
    Json(node.status(stats.peers, stats.best_height))
}

async fn blocks(
    State(node): State<Node>,
    query: Result<Query<BlocksQuery>, QueryRejection>,
) -> Result<Json<Vec<BlockSummary>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(node.blocks(&query)?))
}

async fn block(
    State(node): State<Node>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<BlockView>, ApiError> {
    let Path(id) = id?;
    let parsed: BlockId =
        id.parse().map_err(|e| ApiError::bad_request(format!("bad block id {id:?}: {e}")))?;
    match node.block(parsed)? {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::not_found(format!("no block {id}"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::api::testkit::*;
    use axum::http::StatusCode;
    use ferro_shared::api::{AddressView, BlockSummary, BlockView, MineResponse, StatusResponse};
    use ferro_shared::{Amount, Network};

    /// ```text
    ///  genesis ── 1 ── 2 ── 3      1 and 2 pay alice, 3 pays bob
    /// ```
    #[tokio::test]
    async fn filters_name_the_key_hashes_each_block_pays() {
        use ferro_shared::api::{FilterView, HeadersView};
        use ferro_shared::block::{BlockHeader, HEADER_SIZE};
        use ferro_shared::encode::from_bytes;
        use ferro_shared::filter::BlockFilter;
        use ferro_shared::hash::{sha256d, FilterHash};
        let t = TestNode::dev();
        let app = t.app();
        let (alice, bob, carol) = (address_of(&key(1)), address_of(&key(2)), address_of(&key(3)));
        mine_to(&app, &alice, 2).await;
        mine_to(&app, &bob, 1).await;
        let page: Vec<FilterView> = get_ok(&app, "/api/filters?from=1&limit=10").await;
        assert_eq!(page.iter().map(|f| f.height).collect::<Vec<_>>(), vec![1, 2, 3]);
        // Each filter is the one its header commits to, and the headers link up.
        let headers: HeadersView = get_ok(&app, "/api/headers?from=0").await;
        assert_eq!((headers.from, headers.count, headers.tip_height), (0, 4, 3));
        let bytes = hex::decode(&headers.headers).unwrap();
        let headers: Vec<BlockHeader> =
            bytes.chunks(HEADER_SIZE).map(|h| from_bytes::<BlockHeader>(h).unwrap()).collect();
        assert_eq!(headers[0], Network::Dev.genesis_block().header);
        for pair in headers.windows(2) {
            assert_eq!(pair[1].prev, pair[0].hash());
        }
        for view in &page {
            let header = &headers[view.height as usize];
            assert_eq!(view.hash, header.hash());
            let bytes = hex::decode(&view.filter).unwrap();
            assert_eq!(header.filter_hash, FilterHash(sha256d(&bytes)), "block {}", view.height);
        }
        let one: HeadersView = get_ok(&app, "/api/headers?from=3&limit=5").await;
        assert_eq!((one.count, one.headers.len()), (1, 2 * HEADER_SIZE));
        let none: HeadersView = get_ok(&app, "/api/headers?from=99").await;
        assert_eq!((none.count, none.headers.as_str()), (0, ""));
        for view in &page {
            let block: BlockView = get_ok(&app, &format!("/api/blocks/{}", view.height)).await;
            assert_eq!(view.hash, block.summary.hash);
            let filter = BlockFilter::from_bytes(hex::decode(&view.filter).unwrap()).unwrap();
            // Keyed by the Merkle root of the header the client checked.
            let decoded = filter.decode(&headers[view.height as usize].merkle_root).unwrap();
            let paid = if view.height < 3 { &alice } else { &bob };
            assert!(decoded.may_contain(&paid.hash), "block {} pays {paid}", view.height);
            assert!(!decoded.may_contain(&carol.hash), "block {} does not pay carol", view.height);
        }
        let two: Vec<FilterView> = get_ok(&app, "/api/filters?from=0&limit=2").await;
        assert_eq!(two.iter().map(|f| f.height).collect::<Vec<_>>(), vec![0, 1]);
        let beyond: Vec<FilterView> = get_ok(&app, "/api/filters?from=9").await;
        assert!(beyond.is_empty());
        let (status, body) = get_error(&app, "/api/filters").await;
        assert_eq!((status, body.error.code.as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    }

    #[tokio::test]
    async fn status_of_a_fresh_node() {
        let t = TestNode::dev();
        let status: StatusResponse = get_ok(&t.app(), "/api/status").await;
        assert_eq!(status.network, Network::Dev);
        assert_eq!(status.height, 0);
        assert_eq!(status.genesis, Network::Dev.genesis_hash());
        assert_eq!(status.tip, status.genesis);
        assert_eq!(status.mempool, 0);
    }

    /// ```text
    ///  genesis ── 1 ── 2      both mined to `address` through POST /api/mine
    /// ```
    #[tokio::test]
    async fn mined_blocks_are_visible_by_height_hash_and_address() {
        let t = TestNode::dev();
        let app = t.app();
        let address = address_of(&key(1)).to_string();
        let mined: MineResponse =
            post_ok(&app, "/api/mine", &serde_json::json!({"address": address, "blocks": 2})).await;
        assert_eq!(mined.blocks.iter().map(|b| b.height).collect::<Vec<_>>(), [1, 2]);

        let all: Vec<BlockSummary> = get_ok(&app, "/api/blocks").await;
        assert_eq!(all.iter().map(|b| b.height).collect::<Vec<_>>(), [0, 1, 2]);
        let page: Vec<BlockSummary> = get_ok(&app, "/api/blocks?from=1&limit=1").await;
        assert_eq!(page, [mined.blocks[0].clone()]);

        let by_height: BlockView = get_ok(&app, "/api/blocks/2").await;
        assert_eq!(by_height.summary, mined.blocks[1]);
        assert_eq!((by_height.confirmations, by_height.in_active_chain), (1, true));
        assert_eq!(by_height.summary.reward, Amount::from_units(5_000_000_000));
        let by_hash: BlockView = get_ok(&app, &format!("/api/blocks/{}", mined.blocks[0].hash)).await;
        assert_eq!(by_hash.summary.height, 1);
        assert_eq!(by_hash.confirmations, 2);

        let view: AddressView = get_ok(&app, &format!("/api/addresses/{address}")).await;
        assert_eq!(view.balance, Amount::from_units(10_000_000_000));
        assert_eq!(view.pending, Amount::from_units(10_000_000_000));
        assert_eq!(view.utxos.len(), 2);
        assert_eq!(view.history.len(), 2);
    }

    #[tokio::test]
    async fn missing_and_malformed_block_ids() {
        let t = TestNode::dev();
        let app = t.app();
        let unknown_hash = format!("/api/blocks/{}", "ab".repeat(32));
        let not_hex = format!("/api/blocks/{}", "zz".repeat(32));
        let cases = [
            ("height above the tip", "/api/blocks/7", StatusCode::NOT_FOUND, "not_found"),
            ("unknown hash", unknown_hash.as_str(), StatusCode::NOT_FOUND, "not_found"),
            ("words", "/api/blocks/tip", StatusCode::BAD_REQUEST, "bad_request"),
            ("negative height", "/api/blocks/-1", StatusCode::BAD_REQUEST, "bad_request"),
            ("64 chars, not hex", not_hex.as_str(), StatusCode::BAD_REQUEST, "bad_request"),
            ("bad query", "/api/blocks?from=abc", StatusCode::BAD_REQUEST, "bad_request"),
        ];
        for (name, uri, status, code) in cases {
            let (got, body) = get_error(&app, uri).await;
            assert_eq!((got, body.error.code.as_str()), (status, code), "{name}: {}", body.error.message);
        }
    }
}
