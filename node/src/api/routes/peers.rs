//! Peers: `GET /api/peers` lists the connections, `POST /api/peers {"url": "ws://host:port/p2p"}`
//! asks the node to dial one (loopback callers only, unless `allow_remote_admin`).

use super::require_admin;
use crate::api::error::ApiError;
use crate::api::extract::{Caller, Json, Site};
use crate::api::PeerNetwork;
use crate::node::Node;
use axum::extract::State;
use axum::routing::get;
use axum::Extension;
use axum::Router;
use ferro_shared::api::{AddPeerRequest, PeerView};

pub fn routes() -> Router<Node> {
    Router::new().route("/peers", get(peers).post(add_peer))
}

async fn peers(Extension(peers): Extension<PeerNetwork>) -> Json<Vec<PeerView>> {
    match &peers.0 {
        Some(p2p) => Json(p2p.peers().await),
        None => Json(Vec::new()),
    }
}

/// Dials the peer and answers once the handshake is done, with the peer list.
async fn add_peer(
    State(node): State<Node>,
    Extension(peers): Extension<PeerNetwork>,
    caller: Caller,
    site: Site,
    body: Result<Json<AddPeerRequest>, ApiError>,
) -> Result<Json<Vec<PeerView>>, ApiError> {
    require_admin(&node, caller, &site)?;
    let Json(request) = body?;
    validate_peer_url(&request.url)?;
    let p2p = peers.handle()?;
    p2p.connect(&request.url)
        .await
        .map_err(|reason| ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "peer_unreachable", reason))?;
    Ok(Json(p2p.peers().await))
}

/// A peer URL is `ws://` or `wss://`, names a host, and a path (the peer endpoint, like `/p2p`).
fn validate_peer_url(url: &str) -> Result<reqwest::Url, ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_url",
            format!("bad peer URL {url:?}: {why} (expected like ws://127.0.0.1:8081/p2p)"),
        )
    };
    crate::p2p::check_peer_url(url).map_err(|why| invalid(&why.to_string()))
}

#[cfg(test)]
mod tests {
    use super::validate_peer_url;
    use crate::api::testkit::*;
    use axum::http::StatusCode;
    use ferro_shared::api::PeerView;
    use serde_json::json;

    #[test]
    fn peer_urls() {
        let cases = [
            ("plain", "ws://127.0.0.1:8081/p2p", true),
            ("tls", "wss://node.example.org/p2p", true),
            ("http scheme", "http://127.0.0.1:8081/p2p", false),
            ("no path", "ws://127.0.0.1:8081", false),
            ("no host", "ws:///p2p", false),
            ("credentials", "ws://user:pw@127.0.0.1/p2p", false),
            ("not a url", "127.0.0.1:8081", false),
        ];
        for (name, url, ok) in cases {
            assert_eq!(validate_peer_url(url).is_ok(), ok, "{name}");
        }
    }

    #[tokio::test]
    async fn no_peers_without_a_peer_network() {
        let t = TestNode::dev();
        let peers: Vec<PeerView> = get_ok(&t.app(), "/api/peers").await;
        assert!(peers.is_empty());
    }

    #[tokio::test]
    async fn adding_a_peer() {
        let t = TestNode::dev();
        let cases = [
            (
                "no peer network in this router-only node",
                json!({"url": "ws://127.0.0.1:8081/p2p"}),
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            ("bad url", json!({"url": "http://x/p2p"}), StatusCode::BAD_REQUEST, "invalid_url"),
            ("no url", json!({}), StatusCode::BAD_REQUEST, "malformed"),
        ];
        for (name, body, status, code) in cases {
            let (got, error) = post_error(&t.app(), "/api/peers", &body).await;
            assert_eq!((got, error.error.code.as_str()), (status, code), "{name}: {}", error.error.message);
        }
        let remote = t.app_from(([198, 51, 100, 7], 9).into());
        let (got, error) =
            post_error(&remote, "/api/peers", &json!({"url": "ws://127.0.0.1:8081/p2p"})).await;
        assert_eq!((got, error.error.code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    }
}
