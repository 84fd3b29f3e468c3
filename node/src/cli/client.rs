//! A small client of the node's HTTP API, as the command-line wallet uses it. Requests and
//! answers are the shared [`ferro_shared::api`] types; a node's error body becomes
//! [`ClientError::Api`] with its code and message.

use ferro_shared::api::{AddressView, ErrorBody, FilterView, HeadersView, StatusResponse, SubmitTxResponse};
use ferro_shared::block::{BlockHeader, HEADER_SIZE};
use ferro_shared::encode::from_bytes;
use ferro_shared::hash::BlockHash;
use ferro_shared::{Address, Block, Transaction};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where the wallet looks for a node unless told otherwise (`--node`, `FERRO_NODE`).
pub const DEFAULT_NODE_URL: &str = "http://127.0.0.1:8080";

/// Why a request to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid node URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the node at {url}: {reason} (is a node running there? choose one with --node or FERRO_NODE)")]
    Unreachable { url: String, reason: String },
    #[error("the node refused: {message} (code {code}, HTTP {status})")]
    Api { status: u16, code: String, message: String },
    #[error("unexpected answer from the node at {url}: {reason}")]
    BadResponse { url: String, reason: String },
}

/// A node's API at a base URL such as `http://127.0.0.1:8080`.
#[derive(Debug, Clone)]
pub struct NodeClient {
    /// The URL as given, for messages.
    shown: String,
    /// The URL with a trailing slash, so that relative paths join under it.
    base: Url,
    http: reqwest::Client,
}

impl NodeClient {
    pub fn new(url: &str) -> Result<NodeClient, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl { url: url.to_string(), reason: reason.to_string() };
        let mut base = Url::parse(url.trim())
            .map_err(|e| bad(&format!("{e}; expected a URL like {DEFAULT_NODE_URL}")))?;
        match base.scheme() {
            "http" => {}
            "https" => return Err(bad("this build speaks plain http:// only")),
            _ => return Err(bad(&format!("expected an http:// URL like {DEFAULT_NODE_URL}"))),
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("a node URL has no query or fragment"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| bad(&error_chain(&e)))?;
        Ok(NodeClient { shown: url.trim().trim_end_matches('/').to_string(), base, http })
    }

    /// The base URL as the user gave it.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// `GET /api/status`.
    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        self.get("api/status").await
    }

    /// `GET /api/addresses/{address}`: balance, spendable outputs and history.
    pub async fn address(&self, address: &Address) -> Result<AddressView, ClientError> {
        self.get(&format!("api/addresses/{address}")).await
    }

    /// `GET /api/headers?locator=...`: the headers after the first locator hash the node shares.
    pub async fn headers_after(&self, locator: &[BlockHash]) -> Result<Vec<BlockHeader>, ClientError> {
        let hashes: Vec<String> = locator.iter().map(|h| h.to_string()).collect();
        let path = format!("api/headers?locator={}", hashes.join(","));
        let view: HeadersView = self.get(&path).await?;
        let bad = |reason: String| ClientError::BadResponse { url: format!("{}/{path}", self.shown), reason };
        let bytes = hex::decode(&view.headers).map_err(|e| bad(format!("headers that are not hex: {e}")))?;
        if bytes.len() % HEADER_SIZE != 0 {
            return Err(bad(format!("{} bytes of headers, not a multiple of {HEADER_SIZE}", bytes.len())));
        }
        bytes
            .chunks(HEADER_SIZE)
            .map(|h| {
                from_bytes::<BlockHeader>(h).map_err(|e| bad(format!("a header that does not decode: {e}")))
            })
            .collect()
    }

    /// `GET /api/filters?from=H`: filters of the active chain from height `H` up.
    pub async fn filters(&self, from: u64) -> Result<Vec<(u64, BlockHash, Vec<u8>)>, ClientError> {
        let path = format!("api/filters?from={from}");
        let views: Vec<FilterView> = self.get(&path).await?;
        views
            .into_iter()
            .map(|v| {
                let bytes = hex::decode(&v.filter).map_err(|e| ClientError::BadResponse {
                    url: format!("{}/{path}", self.shown),
                    reason: format!("a filter that is not hex: {e}"),
                })?;
                Ok((v.height, v.hash, bytes))
            })
            .collect()
    }

    /// `GET /api/blocks/{height}/raw`: a block's canonical bytes, decoded.
    pub async fn raw_block(&self, height: u64) -> Result<Block, ClientError> {
        let url = self.join(&format!("api/blocks/{height}/raw"))?;
        let response = self.http.get(url.clone()).send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return decode_body::<Block>(&url, status, &body);
        }
        from_bytes(&body).map_err(|e| ClientError::BadResponse {
            url: url.to_string(),
            reason: format!("a block that does not decode: {e}"),
        })
    }

    /// `POST /api/transactions` with the transaction as the JSON body.
    pub async fn submit_transaction(&self, tx: &Transaction) -> Result<SubmitTxResponse, ClientError> {
        let url = self.join("api/transactions")?;
        let response = self.http.post(url.clone()).json(tx).send().await.map_err(|e| self.unreachable(&e))?;
        self.decode(&url, response).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = self.join(path)?;
        let response = self.http.get(url.clone()).send().await.map_err(|e| self.unreachable(&e))?;
        self.decode(&url, response).await
    }

    fn join(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path)
            .map_err(|e| ClientError::BadUrl { url: self.shown.clone(), reason: e.to_string() })
    }

    fn unreachable(&self, e: &reqwest::Error) -> ClientError {
        let reason = if e.is_timeout() { "the request timed out".to_string() } else { root_cause(e) };
        ClientError::Unreachable { url: self.shown.clone(), reason }
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        url: &Url,
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        decode_body(url, status, &body)
    }
}

/// Turns an answer into `T`, or into the node's error.
fn decode_body<T: DeserializeOwned>(url: &Url, status: StatusCode, body: &[u8]) -> Result<T, ClientError> {
    let bad = |reason: String| ClientError::BadResponse { url: url.to_string(), reason };
    if status.is_success() {
        return serde_json::from_slice(body).map_err(|e| bad(format!("HTTP {status} with a body that {e}")));
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => {
            Err(ClientError::Api { status: status.as_u16(), code: error.code, message: error.message })
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text.trim().chars().take(200).collect();
            Err(bad(if snippet.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {snippet}")
            }))
        }
    }
}

/// The innermost cause of an error, like "Connection refused (os error 111)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferro_shared::api::SubmitTxResponse;
    use ferro_shared::Txid;

    #[test]
    fn urls_join_under_the_base() {
        for (given, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/status"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/status"),
            (" http://node.example:9000/ferro ", "http://node.example:9000/ferro/api/status"),
        ] {
            let client = NodeClient::new(given).unwrap();
            assert_eq!(client.join("api/status").unwrap().as_str(), want, "{given}");
            assert!(!client.url().ends_with('/'));
        }
    }

    #[test]
    fn bad_urls_are_refused() {
        for (given, want) in [
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("localhost:8080", "http://"),
            ("localhost", "relative URL"),
            ("https://example.com", "plain http"),
            ("http://x/?a=1", "no query"),
        ] {
            let err = NodeClient::new(given).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{given}: {err}");
            assert!(err.to_string().contains(want), "{given}: {err}");
        }
    }

    #[test]
    fn answers_decode() {
        let url = Url::parse("http://n/api/transactions").unwrap();
        let ok = serde_json::to_vec(&SubmitTxResponse { txid: Txid([7; 32]) }).unwrap();
        let got: SubmitTxResponse = decode_body(&url, StatusCode::OK, &ok).unwrap();
        assert_eq!(got.txid, Txid([7; 32]));

        let refused = br#"{"error":{"code":"double_spend","message":"an input is already spent"}}"#;
        let err = decode_body::<SubmitTxResponse>(&url, StatusCode::CONFLICT, refused).unwrap_err();
        assert!(
            matches!(&err, ClientError::Api { status: 409, code, .. } if code == "double_spend"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the node refused: an input is already spent (code double_spend, HTTP 409)"
        );

        let err = decode_body::<SubmitTxResponse>(&url, StatusCode::NOT_FOUND, b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected answer from the node at http://n/api/transactions: HTTP 404 Not Found"
        );
        let err = decode_body::<SubmitTxResponse>(&url, StatusCode::OK, b"{}").unwrap_err();
        assert!(matches!(err, ClientError::BadResponse { .. }), "{err}");
    }

    #[tokio::test]
    async fn unreachable_node_is_named() {
        // Bind and drop a listener to find a port where nothing listens.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = NodeClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = client.status().await.unwrap_err();
        assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains(&format!("http://127.0.0.1:{port}")), "{err}");
    }
}
