//! The chain: `GET /api/status`, `GET /api/blocks?from=H&limit=N`, `GET /api/blocks/{id}`,
//! `GET /api/filters?from=H&limit=N` (block filters, see `ferro_shared::filter`),
//! `GET /api/headers?from=H&limit=N` or `?locator=HASH,...` (headers, which commit to the
//! filters), `GET /api/blocks/{id}/raw` (a block's canonical bytes, for a light client to check
//! against a header).

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
        .route("/blocks/{id}/raw", get(raw_block))
        .route("/filters", get(filters))
        .route("/headers", get(headers))
}

async fn headers(
    State(node): State<Node>,
    query: Result<Query<HeadersQuery>, QueryRejection>,
) -> Result<Json<HeadersView>, ApiError> {
    let Query(query) = query?;
    node.headers(&query).map(Json).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /api/blocks/{id}/raw`: the block's canonical bytes (`application/octet-stream`).
async fn raw_block(
    State(node): State<Node>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let Path(id) = id?;
    let parsed: BlockId =
        id.parse().map_err(|e| ApiError::bad_request(format!("bad block id {id:?}: {e}")))?;
    let bytes = crate::env::blocking(move || node.block_bytes(parsed))
        .await
        .map_err(|e| ApiError::internal("reading a block", &e))??;
    match bytes {
        Some(bytes) => {
            Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
        }
        None => Err(ApiError::not_found(format!("no block {id}"))),
    }
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

    /// A light client on the API alone: headers after its locator, checked by the rules; the
    /// filters checked against them; the matching blocks' bytes checked against them; the
    /// wallet's coins computed from those blocks equal what the node reports; and a payment's
    /// inclusion proof leads to a verified header.
    #[tokio::test]
    async fn a_light_client_verifies_everything_it_uses() {
        use ferro_shared::api::{AddressView, FilterView, HeadersView, InclusionProof, SubmitTxResponse};
        use ferro_shared::block::{BlockHeader, HEADER_SIZE};
        use ferro_shared::encode::from_bytes;
        use ferro_shared::light::{check_block, check_filter, check_inclusion, Scanner, VerifiedHeaders};
        let t = TestNode::dev();
        let app = t.app();
        let (alice, bob) = (address_of(&key(1)), address_of(&key(2)));
        mine_to(&app, &alice, 3).await;
        let pay = payment(&app, &key(1), &bob, 7_000).await;
        let _: SubmitTxResponse = post_ok(&app, "/api/transactions", &pay).await;
        mine_to(&app, &address_of(&key(3)), 2).await;

        let net = Network::Dev;
        let mut chain = VerifiedHeaders::new(net);
        let locator: Vec<String> = chain.locator().iter().map(|h| h.to_string()).collect();
        let page: HeadersView = get_ok(&app, &format!("/api/headers?locator={}", locator.join(","))).await;
        assert_eq!((page.from, page.count, page.tip_height), (1, 5, 5));
        let headers: Vec<BlockHeader> = hex::decode(&page.headers)
            .unwrap()
            .chunks(HEADER_SIZE)
            .map(|h| from_bytes::<BlockHeader>(h).unwrap())
            .collect();
        let now = ferro_shared::params::Network::Dev.params().genesis_time + 10 * 365 * 86_400;
        chain.apply(&headers, now).unwrap();
        assert_eq!(chain.height(), 5);
        // From the tip's locator: nothing new.
        let tip_locator: Vec<String> = chain.locator().iter().map(|h| h.to_string()).collect();
        let none: HeadersView =
            get_ok(&app, &format!("/api/headers?locator={}", tip_locator.join(","))).await;
        assert_eq!((none.from, none.count), (6, 0));

        for (name, who) in [("alice", &alice), ("bob", &bob)] {
            let mut scanner = Scanner::new([who.hash], net.genesis_hash());
            let filters: Vec<FilterView> = get_ok(&app, "/api/filters?from=1&limit=10").await;
            for view in filters {
                let filter =
                    check_filter(&chain, view.height, &view.hash, hex::decode(&view.filter).unwrap())
                        .unwrap();
                let header = chain.header(view.height).unwrap();
                if !filter.matches_any(&header.merkle_root, &scanner.watched()).unwrap() {
                    scanner.skip(view.height, view.hash).unwrap();
                    continue;
                }
                let (status, _, bytes) = send(
                    &app,
                    axum::http::Request::get(format!("/api/blocks/{}/raw", view.height))
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
                let block: ferro_shared::Block = from_bytes(&bytes).unwrap();
                check_block(&chain, view.height, &block).unwrap();
                scanner.apply(view.height, &block).unwrap();
            }
            let reported: AddressView = get_ok(&app, &format!("/api/addresses/{who}")).await;
            assert_eq!(scanner.balance(), reported.balance, "{name}");
        }

        let proof: InclusionProof = get_ok(&app, &format!("/api/transactions/{}/proof", pay.txid())).await;
        assert_eq!((proof.height, proof.position, proof.count), (4, 1, 2));
        let branch: Vec<[u8; 32]> =
            proof.branch.iter().map(|h| hex::decode(h).unwrap().try_into().unwrap()).collect();
        check_inclusion(&chain, proof.height, &pay, proof.position, proof.count, &branch).unwrap();
        // Refusals: neither or both of from and locator, a bad hash, a pending or unknown txid,
        // a block that is not there.
        for uri in ["/api/headers", "/api/headers?from=1&locator=00", "/api/headers?locator=zz"] {
            let (status, _) = get_error(&app, uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        }
        let long = vec![net.genesis_hash().to_string(); 65].join(",");
        assert_eq!(get_error(&app, &format!("/api/headers?locator={long}")).await.0, StatusCode::BAD_REQUEST);
        let unknown = ferro_shared::hash::Txid([9; 32]);
        assert_eq!(
            get_error(&app, &format!("/api/transactions/{unknown}/proof")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get_error(&app, "/api/blocks/99/raw").await.0, StatusCode::NOT_FOUND);
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
