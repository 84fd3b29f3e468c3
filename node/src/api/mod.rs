//! The node's HTTP interface: the JSON API under `/api`, its event stream, Prometheus metrics,
//! and the browser wallet's files at every other path.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /api/status` | `StatusResponse` |
//! | `GET /api/blocks?from=H&limit=N` | `Vec<BlockSummary>` |
//! | `GET /api/blocks/{hash or height}` | `BlockView` |
//! | `GET /api/filters?from=H&limit=N` | `Vec<FilterView>`: block filters, ≤ 1,000 and ~1 MiB |
//! | `GET /api/headers?from=H&limit=N` | `HeadersView`: active-chain headers, ≤ 2,000 |
//! | `GET /api/transactions/{txid}` | `TxView` (mempool or chain) |
//! | `POST /api/transactions` (a `Transaction`) | `SubmitTxResponse` |
//! | `POST /api/transactions/batch` (`SubmitBatchRequest`) | `SubmitBatchResponse` |
//! | `GET /api/addresses/{address}` | `AddressView` |
//! | `GET /api/mempool` | `MempoolView` |
//! | `POST /api/mine` (`MineRequest`) | `MineResponse`; see [`routes`] for who may |
//! | `GET /api/peers`, `POST /api/peers` (`AddPeerRequest`) | `Vec<PeerView>`; for now 503 `unavailable` |
//! | `GET /api/events` (WebSocket) | `Event` JSON text messages |
//! | `GET /metrics` | Prometheus text |
//! | anything else | the wallet ([`web`]) |
//!
//! Pages from other origins may read everything under `/api` and submit transactions
//! ([`cors`]); endpoints that change the node answer them no CORS headers.
//!
//! The types are in `ferro_shared::api`; amounts are in base units. Every failure answers
//! `ErrorBody` (`{"error": {"code", "message"}}`) with a 4xx or 5xx status ([`ApiError`]):
//!
//! | code | status | when |
//! | --- | --- | --- |
//! | `malformed` | 400 | the body is not JSON, or not the expected fields and types |
//! | `unsupported_media_type` | 415 | a body without `Content-Type: application/json` |
//! | `too_large` | 413 | a body over `NodeConfig::max_body_bytes` |
//! | `bad_request` | 400 | a bad path or query parameter (block id, txid, `blocks` to mine) |
//! | `invalid_address` | 400 | an address that does not parse or belongs to another network |
//! | `invalid_url` | 400 | a peer URL that is not `ws(s)://host/path` |
//! | `not_found` | 404 | no such block, transaction, or `/api` route |
//! | `method_not_allowed` | 405 | a known `/api` route with another method |
//! | `upgrade_required` | 426 | `/api/events` without a WebSocket upgrade (or 400 `bad_request`) |
//! | `forbidden` | 403 | an admin endpoint called from outside loopback |
//! | `mining_disabled` | 403 | `POST /api/mine` with `mine_api` off |
//! | `already_known`, `double_spend` | 409 | the mempool has the transaction, or one spending the same coin |
//! | other `MempoolError::code()`s | 400 | `invalid_signature` (also: signed over other coin values or owners than this node records), `insufficient_fee` (below the current minimum fee rate), `too_large_for_block`, `nonstandard_size`, `unknown_input`, ... |
//! | `unavailable` | 503 | not possible now (adding peers; the node is stopping) |
//! | `internal` | 500 | the node failed; details only in its log |

mod cors;
mod error;
mod events;
mod extract;
mod routes;
mod web;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use error::ApiError;
pub use extract::{Caller, Json, Site};
pub use routes::MAX_BLOCKS_PER_REQUEST;

use crate::node::Node;
use crate::p2p::{P2pHandle, PeerStats};
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// The node's HTTP routes. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// endpoints that change the node look at the caller's address.
/// The peer network, for the routes that use it (`/p2p`, `/api/peers`, the status's peer
/// figures); `None` where the node runs without one.
#[derive(Debug, Clone, Default)]
pub struct PeerNetwork(pub Option<P2pHandle>);

impl PeerNetwork {
    pub fn stats(&self) -> PeerStats {
        self.0.as_ref().map(P2pHandle::stats).unwrap_or_default()
    }

    pub fn handle(&self) -> Result<&P2pHandle, ApiError> {
        self.0.as_ref().ok_or_else(|| ApiError::unavailable("the peer network is not running"))
    }
}

pub fn router(node: Node, peers: PeerNetwork) -> Router {
    let mine_open = node.config().mine_api && node.network() == ferro_shared::Network::Dev;
    let api = routes::routes()
        .merge(events::routes())
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(node.config().max_body_bytes));
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(metrics))
        .route("/p2p", get(p2p_socket))
        .fallback_service(web::service(&node.config().web_dir))
        .with_state(node)
        .layer(axum::Extension(peers))
        .layer(cors::layer(mine_open))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}

async fn api_not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("no API route {}", uri.path()))
}

async fn method_not_allowed(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take this method", uri.path()),
    )
}

/// `GET /p2p`: a peer's WebSocket, handed to the peer network.
async fn p2p_socket(
    axum::Extension(peers): axum::Extension<PeerNetwork>,
    caller: extract::Caller,
    site: extract::Site,
    upgrade: Result<
        axum::extract::ws::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
) -> axum::response::Response {
    // Browsers send an Origin with every WebSocket they open, peers do not: a web page the
    // user visits may not join the network as a peer of the user's node.
    if site.origin.is_some() {
        return ApiError::forbidden("/p2p is for peers, not for web pages").into_response();
    }
    let p2p = match peers.handle() {
        Ok(p2p) => p2p.clone(),
        Err(e) => return e.into_response(),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                "/p2p is the peer-to-peer WebSocket endpoint",
            )
            .into_response()
        }
    };
    let remote = caller.0.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    upgrade
        .max_message_size(crate::p2p::MAX_WS_MESSAGE)
        .max_frame_size(crate::p2p::MAX_WS_MESSAGE)
        .read_buffer_size(crate::p2p::READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move { p2p.accept(socket, remote).await })
}

/// `GET /metrics`: the Prometheus text exposition.
async fn metrics(State(node): State<Node>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], node.metrics().render())
}
