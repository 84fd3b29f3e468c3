//! Tests across the whole router: bad input to every endpoint, unknown routes, metrics.

use super::testkit::*;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Request, StatusCode};
use ferro_shared::api::{StatusResponse, SubmitTxResponse};
use ferro_shared::tx::{TxIn, TxOut, TX_VERSION};
use ferro_shared::wallet::build_payment;
use ferro_shared::{Amount, Network, OutPoint, SecretKey, Transaction, Txid};
use serde_json::json;

/// A one-input, one-output transaction paying all of `coin` to `key`'s own address: no fee.
fn spend_all(key: &SecretKey, coin: OutPoint, amount: Amount) -> Transaction {
    let pubkey = key.public_key();
    let mut tx = Transaction {
        version: TX_VERSION,
        coinbase_height: None,
        inputs: vec![TxIn { prevout: coin, pubkey, signature: key.sign_digest(&[0; 32]) }],
        outputs: vec![TxOut { recipient: pubkey.pubkey_hash(), amount }],
    };
    let spent = [TxOut { recipient: pubkey.pubkey_hash(), amount }];
    tx.inputs[0].signature = key.sign_digest(&tx.sighash(&Network::Dev.genesis_hash(), &spent).unwrap());
    tx
}

fn raw_post(uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(uri);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    request.body(body.into()).unwrap()
}

/// Every bad request answers 4xx with its code and leaves the node as it was.
///
/// ```text
///  genesis ── 1 ── 2      both pay alice; mempool: `paid` (alice → bob, spends coin A)
/// ```
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let t = TestNode::dev();
    let app = t.app();
    let (alice, bob) = (key(1), key(2));
    mine_to(&app, &address_of(&alice), 2).await;
    let coins = spendables(&app, &alice).await;
    let paid = build_payment(&alice, Network::Dev, &coins, &address_of(&bob), Amount::from_units(1_000), 1)
        .unwrap()
        .tx;
    let other = coins.iter().find(|c| c.outpoint != paid.inputs[0].prevout).unwrap();
    let _: SubmitTxResponse = post_ok(&app, "/api/transactions", &paid).await;

    let double_spend =
        build_payment(&alice, Network::Dev, &coins, &address_of(&bob), Amount::from_units(2_000), 1)
            .unwrap()
            .tx;
    assert_eq!(double_spend.inputs[0].prevout, paid.inputs[0].prevout);
    // A bad signature on a payment that is otherwise acceptable (it spends the other coin).
    let mut bad_signature =
        build_payment(&alice, Network::Dev, &[*other], &address_of(&bob), Amount::from_units(2_000), 1)
            .unwrap()
            .tx;
    bad_signature.inputs[0].signature = alice.sign_digest(&[7; 32]);
    // A double spend whose signature is bad too: refused as the double spend it is, before any
    // signature is verified (a conflict is nobody's fault; verifying would be work for nothing).
    let mut conflicting_bad_signature = double_spend.clone();
    conflicting_bad_signature.inputs[0].signature = alice.sign_digest(&[7; 32]);
    let no_fee = spend_all(&alice, other.outpoint, other.amount);
    let mut no_fee_bad_signature = no_fee.clone();
    no_fee_bad_signature.inputs[0].signature = alice.sign_digest(&[7; 32]);
    let unknown_coin =
        spend_all(&alice, OutPoint { txid: Txid([9; 32]), vout: 0 }, Amount::from_units(1_000));
    let stolen = spend_all(&bob, other.outpoint, other.amount);
    let max = t.node.config().max_body_bytes;
    let huge_tx = vec![b' '; max + 1];
    let huge_mine = format!(r#"{{"address":"{}","blocks":1}}"#, "q".repeat(max));
    let alice_address = address_of(&alice).to_string();
    let ok_address = alice_address.as_str();
    let json = Some("application/json");

    let before: StatusResponse = get_ok(&app, "/api/status").await;
    assert_eq!((before.height, before.mempool, before.mempool_min_fee_rate), (2, 1, 1));

    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        // POST /api/transactions
        (
            "truncated JSON",
            raw_post("/api/transactions", json, r#"{"version":"#),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        ("not JSON", raw_post("/api/transactions", json, "version=1"), StatusCode::BAD_REQUEST, "malformed"),
        (
            "wrong types",
            post_request("/api/transactions", &json!({"version": "one", "inputs": [], "outputs": []})),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "missing fields",
            post_request("/api/transactions", &json!({"version": 1})),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "no content type",
            raw_post("/api/transactions", None, serde_json::to_vec(&paid).unwrap()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "form content type",
            raw_post("/api/transactions", Some("application/x-www-form-urlencoded"), "a=b"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversized",
            raw_post("/api/transactions", json, huge_tx),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "invalid signature",
            post_request("/api/transactions", &bad_signature),
            StatusCode::BAD_REQUEST,
            "invalid_signature",
        ),
        (
            "double spend with a bad signature",
            post_request("/api/transactions", &conflicting_bad_signature),
            StatusCode::CONFLICT,
            "double_spend",
        ),
        (
            "double spend",
            post_request("/api/transactions", &double_spend),
            StatusCode::CONFLICT,
            "double_spend",
        ),
        ("already known", post_request("/api/transactions", &paid), StatusCode::CONFLICT, "already_known"),
        ("no fee", post_request("/api/transactions", &no_fee), StatusCode::BAD_REQUEST, "insufficient_fee"),
        (
            "no fee and a bad signature: the fee is checked first",
            post_request("/api/transactions", &no_fee_bad_signature),
            StatusCode::BAD_REQUEST,
            "insufficient_fee",
        ),
        (
            "unknown coin",
            post_request("/api/transactions", &unknown_coin),
            StatusCode::BAD_REQUEST,
            "unknown_input",
        ),
        (
            "someone else's coin",
            post_request("/api/transactions", &stolen),
            StatusCode::BAD_REQUEST,
            "key_mismatch",
        ),
        // GET /api/transactions/{txid}
        ("txid not hex", get("/api/transactions/xyz"), StatusCode::BAD_REQUEST, "bad_request"),
        (
            "unknown txid",
            get(&format!("/api/transactions/{}", Txid([9; 32]))),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        // GET /api/addresses/{address}
        (
            "unknown address format",
            get("/api/addresses/1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
            StatusCode::BAD_REQUEST,
            "invalid_address",
        ),
        // GET /api/blocks...
        ("bad block id", get("/api/blocks/12ab"), StatusCode::BAD_REQUEST, "bad_request"),
        ("block above the tip", get("/api/blocks/3"), StatusCode::NOT_FOUND, "not_found"),
        ("bad page", get("/api/blocks?limit=many"), StatusCode::BAD_REQUEST, "bad_request"),
        // POST /api/mine
        (
            "mine zero blocks",
            post_request("/api/mine", &json!({"address": ok_address, "blocks": 0})),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "mine too many",
            post_request("/api/mine", &json!({"address": ok_address, "blocks": 101})),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "mine negative",
            post_request("/api/mine", &json!({"address": ok_address, "blocks": -1})),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "mine to nowhere",
            post_request("/api/mine", &json!({"address": "fdev1nope", "blocks": 1})),
            StatusCode::BAD_REQUEST,
            "invalid_address",
        ),
        (
            "mine without address",
            post_request("/api/mine", &json!({"blocks": 1})),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "mine oversized",
            raw_post("/api/mine", json, huge_mine),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        // POST /api/peers
        (
            "peer url wrong type",
            post_request("/api/peers", &json!({"url": 8081})),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "peer url not ws",
            post_request("/api/peers", &json!({"url": "ftp://x/p2p"})),
            StatusCode::BAD_REQUEST,
            "invalid_url",
        ),
        // Routing
        ("unknown API route", get("/api/nothing/here"), StatusCode::NOT_FOUND, "not_found"),
        ("bare /api", get("/api"), StatusCode::NOT_FOUND, "not_found"),
        (
            "wrong method",
            raw_post("/api/status", json, "{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (name, request, status, code) in cases {
        let (got, body) = error_of(&app, request).await;
        assert_eq!((got, body.error.code.as_str()), (status, code), "{name}: {}", body.error.message);
        assert!(!body.error.message.is_empty(), "{name}");
        let after: StatusResponse = get_ok(&app, "/api/status").await;
        assert_eq!(
            (after.height, after.tip, after.mempool, after.mempool_bytes),
            (before.height, before.tip, before.mempool, before.mempool_bytes),
            "{name} changed the node"
        );
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn json_errors_say_where() {
    let t = TestNode::dev();
    let app = t.app();
    let (_, syntax) =
        error_of(&app, raw_post("/api/mine", Some("application/json"), "{\"address\": }")).await;
    assert!(syntax.error.message.contains("line 1 column"), "{}", syntax.error.message);
    let (_, types) = post_error(&app, "/api/mine", &json!({"address": "x", "blocks": "two"})).await;
    assert!(types.error.message.contains("blocks"), "{}", types.error.message);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let t = TestNode::dev();
    let app = t.app();
    mine_to(&app, &address_of(&key(1)), 1).await;
    let (status, headers, body) = send(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("ferro_height 1"), "{text}");
    assert!(text.contains("ferro_mempool_min_fee_rate 1"), "{text}");
}

/// A wallet served from another origin can read and submit (issue: choosing another node in
/// the wallet's settings failed with "Failed to fetch"); the endpoints that change the node
/// stay closed to other origins, even on loopback.
#[tokio::test]
async fn other_origins_may_read_and_submit_but_not_administer() {
    use axum::http::header::{ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN};
    const ORIGIN: &str = "http://127.0.0.1:9999";
    let preflight = |uri: &str, method: &str| {
        Request::options(uri)
            .header("origin", ORIGIN)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let from_origin = |method: &str, uri: &str| {
        Request::builder().method(method).uri(uri).header("origin", ORIGIN).body(Body::empty()).unwrap()
    };
    for network in [Network::Dev, Network::Test] {
        let t = TestNode::new(network, |c| c.mine_api = true);
        let app = t.app();
        let mine_open = network == Network::Dev;
        let cases: Vec<(&str, Request<Body>, bool)> = vec![
            ("GET status", from_origin("GET", "/api/status"), true),
            ("GET blocks", from_origin("GET", "/api/blocks?limit=5"), true),
            ("GET an unknown block (the error too)", from_origin("GET", "/api/blocks/999"), true),
            ("preflight of a submission", preflight("/api/transactions", "POST"), true),
            ("preflight of a batch", preflight("/api/transactions/batch", "POST"), true),
            ("preflight of dialing a peer", preflight("/api/peers", "POST"), false),
            ("preflight of mining", preflight("/api/mine", "POST"), mine_open),
            ("preflight of a DELETE", preflight("/api/transactions", "DELETE"), false),
            ("GET metrics", from_origin("GET", "/metrics"), false),
            ("GET peers: their addresses", from_origin("GET", "/api/peers"), false),
        ];
        for (name, request, allowed) in cases {
            let (status, headers, body) = send(&app, request).await;
            let allow = headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(
                allow.as_deref(),
                allowed.then_some(ORIGIN),
                "{network} {name}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if allowed && name.starts_with("preflight") {
                let methods = headers.get(ACCESS_CONTROL_ALLOW_METHODS).unwrap().to_str().unwrap();
                assert!(methods.contains("POST"), "{network} {name}: {methods}");
            }
        }
    }
}

/// What CORS cannot stop: a page's form post (a "simple" request, sent without asking), a
/// DNS-rebinding page (same-origin with the name it rebinds), and a page opening the peer
/// socket. None of them may change the node, even from loopback.
#[tokio::test]
async fn web_pages_cannot_change_the_node() {
    let t = TestNode::new(Network::Test, |c| c.mine_api = true);
    let app = t.app();
    let peer = serde_json::to_vec(&json!({"url": "ws://127.0.0.1:1/p2p"})).unwrap();
    let miner = ferro_shared::Address::from_public_key(Network::Test, &key(1).public_key());
    let mine = serde_json::to_vec(&json!({"address": miner.to_string(), "blocks": 1})).unwrap();
    let request = |uri: &str, body: &[u8], headers: &[(&str, &str)]| {
        let mut r = Request::post(uri);
        for (name, value) in headers {
            r = r.header(*name, *value);
        }
        r.body(Body::from(body.to_vec())).unwrap()
    };
    let json_from = |host: &'static str, origin: Option<&'static str>| {
        let mut h = vec![("content-type", "application/json"), ("host", host)];
        if let Some(origin) = origin {
            h.push(("origin", origin));
        }
        h
    };
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "a form post from another site",
            request(
                "/api/peers",
                &peer,
                &[("content-type", "text/plain"), ("origin", "http://evil.example")],
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "a body that is not declared JSON (what a form post without an Origin would be)",
            request("/api/peers", &peer, &[("content-type", "text/plain"), ("host", "127.0.0.1:8080")]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a JSON post from another site's page",
            request("/api/peers", &peer, &json_from("127.0.0.1:8080", Some("http://evil.example"))),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "DNS rebinding: same origin, rebound name",
            request(
                "/api/peers",
                &peer,
                &json_from("rebind.example:8080", Some("http://rebind.example:8080")),
            ),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "mining from another site's page",
            request("/api/mine", &mine, &json_from("127.0.0.1:8080", Some("http://evil.example"))),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "mining through a rebound name",
            request("/api/mine", &mine, &json_from("rebind.example:8080", None)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (name, req, status, code) in cases {
        let (got, body) = error_of(&app, req).await;
        assert_eq!((got, body.error.code.as_str()), (status, code), "{name}: {}", body.error.message);
    }
    let status: StatusResponse = get_ok(&app, "/api/status").await;
    assert_eq!(status.height, 0, "nothing was mined");

    // The node's own wallet page, and curl on loopback, still may.
    let own = request("/api/mine", &mine, &json_from("127.0.0.1:8080", Some("http://127.0.0.1:8080")));
    assert_eq!(send(&app, own).await.0, StatusCode::OK);
    let curl = request("/api/mine", &mine, &json_from("localhost:8080", None));
    assert_eq!(send(&app, curl).await.0, StatusCode::OK);

    // A page may not open the peer socket.
    let socket = Request::get("/p2p")
        .header("origin", "http://evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(Body::empty())
        .unwrap();
    let (got, body) = error_of(&app, socket).await;
    assert_eq!((got, body.error.code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
}
