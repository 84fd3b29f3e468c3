//! Helpers for the API's tests: a real node on a temporary folder, and requests through the
//! router with `oneshot`, as if from a given address.

use crate::node::{Node, NodeConfig};
use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use ferro_shared::api::{AddressView, ErrorBody, MineResponse};
use ferro_shared::wallet::{build_payment, Spendable};
use ferro_shared::{Address, Amount, Network, SecretKey, Transaction};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use tempfile::TempDir;
use tower::ServiceExt;

/// A node with its data and an empty wallet folder in a temporary directory.
pub struct TestNode {
    pub node: Node,
    dir: TempDir,
}

impl TestNode {
    pub fn dev() -> TestNode {
        TestNode::new(Network::Dev, |_| {})
    }

    pub fn new(network: Network, configure: impl FnOnce(&mut NodeConfig)) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::new(network, dir.path().join("data"));
        config.web_dir = dir.path().join("web");
        std::fs::create_dir_all(&config.web_dir).unwrap();
        configure(&mut config);
        TestNode { node: Node::open(config).unwrap(), dir }
    }

    pub fn web_dir(&self) -> PathBuf {
        self.dir.path().join("web")
    }

    /// The router, as seen from loopback.
    pub fn app(&self) -> Router {
        self.app_from(SocketAddr::from(([127, 0, 0, 1], 50_000)))
    }

    /// The router, as seen from `caller`.
    pub fn app_from(&self, caller: SocketAddr) -> Router {
        super::router(self.node.clone(), super::PeerNetwork::default()).layer(MockConnectInfo(caller))
    }
}

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).unwrap()
}

pub fn address_of(key: &SecretKey) -> Address {
    Address::from_public_key(Network::Dev, &key.public_key())
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
}

pub fn post_request(uri: &str, body: &impl Serialize) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// GET `uri`, expecting 200 and a `T`.
pub async fn get_ok<T: DeserializeOwned>(app: &Router, uri: &str) -> T {
    let (status, _, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// POST `body` as JSON to `uri`, expecting 200 and a `T`.
pub async fn post_ok<T: DeserializeOwned>(app: &Router, uri: &str, body: &impl Serialize) -> T {
    let (status, _, body) = send(app, post_request(uri, body)).await;
    assert_eq!(status, StatusCode::OK, "POST {uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Sends `request`, expecting an error in the API's shape.
pub async fn error_of(app: &Router, request: Request<Body>) -> (StatusCode, ErrorBody) {
    let (status, _, body) = send(app, request).await;
    let error = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{status}: not an ErrorBody ({e}): {}", String::from_utf8_lossy(&body)));
    (status, error)
}

pub async fn get_error(app: &Router, uri: &str) -> (StatusCode, ErrorBody) {
    error_of(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn post_error(app: &Router, uri: &str, body: &impl Serialize) -> (StatusCode, ErrorBody) {
    error_of(app, post_request(uri, body)).await
}

/// Mines `blocks` blocks to `to` through `POST /api/mine`.
pub async fn mine_to(app: &Router, to: &Address, blocks: u32) -> MineResponse {
    post_ok(app, "/api/mine", &serde_json::json!({"address": to.to_string(), "blocks": blocks})).await
}

/// What `key` can spend, according to `GET /api/addresses/...`.
pub async fn spendables(app: &Router, key: &SecretKey) -> Vec<Spendable> {
    let view: AddressView = get_ok(app, &format!("/api/addresses/{}", address_of(key))).await;
    view.utxos.iter().map(|u| Spendable { outpoint: u.outpoint, amount: u.amount }).collect()
}

/// A signed payment of `units` from `key` to `to` at 1 unit per byte, not yet posted.
pub async fn payment(app: &Router, key: &SecretKey, to: &Address, units: u64) -> Transaction {
    let coins = spendables(app, key).await;
    build_payment(key, Network::Dev, &coins, to, Amount::from_units(units), 1).unwrap().tx
}
