//! The node's HTTP API, as the browser sees it, and its event stream.

use crate::logic::messages;
use ferro_shared::api::{
    AddressView, BlockSummary, BlockView, ErrorBody, Event, FilterView, HeadersView, InclusionProof,
    MempoolView, MineRequest, MineResponse, PeerView, StatusResponse, SubmitTxResponse, TxView,
};
use ferro_shared::block::HEADER_SIZE;
use ferro_shared::encode::from_bytes;
use ferro_shared::hash::BlockHash;
use ferro_shared::{Block, BlockHeader, Transaction};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use std::rc::Rc;

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The node answered with an error body.
    #[error("{message}")]
    Node { status: u16, code: String, message: String },
    /// Nothing answered at the node's address.
    #[error("cannot reach the node: {0}")]
    Network(String),
    /// Something answers at the node's address, but the browser does not let this page read
    /// it: the node does not allow pages from this page's origin (no CORS headers).
    #[error("the browser refused to let this page read the node's answers")]
    Refused,
    /// An answer that is not the node's API (a proxy's error page, another program).
    #[error("the answer is not a Ferrocoin node's: {0}")]
    Unreadable(String),
}

impl ApiError {
    /// The node's error code, if it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Node { code, .. } => Some(code),
            ApiError::Network(_) | ApiError::Refused | ApiError::Unreadable(_) => None,
        }
    }

    /// The error in words a person understands ([`messages`]).
    pub fn in_words(&self) -> String {
        match self {
            ApiError::Node { code, message, .. } => messages::node_error(Some(code), message),
            ApiError::Network(_) => messages::UNREACHABLE.to_string(),
            ApiError::Refused => messages::REFUSED.to_string(),
            ApiError::Unreadable(detail) => messages::unreadable(detail),
        }
    }

    /// Whether the node gave no API answer at all (down, refused by the browser, or not a
    /// node): everything shown from it may be out of date.
    pub fn is_connection(&self) -> bool {
        !matches!(self, ApiError::Node { .. })
    }
}

/// A client for one node, named by its base URL (like `http://127.0.0.1:8080`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    base: Rc<str>,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Api { base: Rc::from(base.trim_end_matches('/')) }
    }

    /// The page's own origin: the node that served the wallet.
    pub fn page_origin() -> String {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request that got no answer: tells a node that is down from one that answers but is
    /// refused by the browser. A `no-cors` request may reach another origin; its answer is
    /// opaque to the page, but that there is one shows that something listens there. The page's
    /// own node is never refused by the browser: its failures mean it is not answering (a proxy
    /// in front of it may still answer the probe).
    async fn failed(&self, error: gloo_net::Error) -> ApiError {
        if *self.base == Self::page_origin() {
            return ApiError::Network(error.to_string());
        }
        let probe = Request::get(&self.url("/api/status")).mode(web_sys::RequestMode::NoCors).send().await;
        match probe {
            Ok(_) => ApiError::Refused,
            Err(_) => ApiError::Network(error.to_string()),
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        response: Result<Response, gloo_net::Error>,
    ) -> Result<T, ApiError> {
        let response = match response {
            Ok(response) => response,
            Err(e) => return Err(self.failed(e).await),
        };
        if response.ok() {
            return response.json().await.map_err(|e| ApiError::Unreadable(e.to_string()));
        }
        let status = response.status();
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiError::Node { status, code: body.error.code, message: body.error.message }),
            Err(_) => Err(ApiError::Unreadable(format!("HTTP {status}"))),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.read(Request::get(&self.url(path)).send().await).await
    }

    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let request =
            Request::post(&self.url(path)).json(body).map_err(|e| ApiError::Unreadable(e.to_string()))?;
        self.read(request.send().await).await
    }

    pub async fn status(&self) -> Result<StatusResponse, ApiError> {
        self.get("/api/status").await
    }

    /// Blocks of the active chain: from `from` upward, or the newest `limit`.
    pub async fn blocks(&self, from: Option<u64>, limit: u32) -> Result<Vec<BlockSummary>, ApiError> {
        match from {
            Some(from) => self.get(&format!("/api/blocks?from={from}&limit={limit}")).await,
            None => self.get(&format!("/api/blocks?limit={limit}")).await,
        }
    }

    /// A block by hash or height.
    pub async fn block(&self, id: &str) -> Result<BlockView, ApiError> {
        self.get(&format!("/api/blocks/{id}")).await
    }

    pub async fn transaction(&self, txid: &str) -> Result<TxView, ApiError> {
        self.get(&format!("/api/transactions/{txid}")).await
    }

    pub async fn address(&self, address: &str) -> Result<AddressView, ApiError> {
        self.get(&format!("/api/addresses/{address}")).await
    }

    pub async fn mempool(&self) -> Result<MempoolView, ApiError> {
        self.get("/api/mempool").await
    }

    pub async fn peers(&self) -> Result<Vec<PeerView>, ApiError> {
        self.get("/api/peers").await
    }

    /// Posts a signed transaction. The body holds signatures and public keys, never secrets.
    pub async fn submit(&self, tx: &Transaction) -> Result<SubmitTxResponse, ApiError> {
        self.post("/api/transactions", tx).await
    }

    /// Headers after the first hash of `locator` the node's chain holds, decoded (not verified).
    pub async fn headers_after(&self, locator: &[BlockHash]) -> Result<Vec<BlockHeader>, ApiError> {
        let hashes: Vec<String> = locator.iter().map(|h| h.to_string()).collect();
        let view: HeadersView = self.get(&format!("/api/headers?locator={}", hashes.join(","))).await?;
        let bytes = hex::decode(&view.headers).map_err(|e| ApiError::Unreadable(format!("headers: {e}")))?;
        if bytes.len() % HEADER_SIZE != 0 {
            return Err(ApiError::Unreadable(format!("{} bytes of headers", bytes.len())));
        }
        bytes
            .chunks(HEADER_SIZE)
            .map(|h| from_bytes::<BlockHeader>(h).map_err(|e| ApiError::Unreadable(format!("a header: {e}"))))
            .collect()
    }

    /// Block filters from height `from` up: height, block hash, filter bytes (not verified).
    pub async fn filters(&self, from: u64) -> Result<Vec<(u64, BlockHash, Vec<u8>)>, ApiError> {
        let views: Vec<FilterView> = self.get(&format!("/api/filters?from={from}")).await?;
        views
            .into_iter()
            .map(|v| {
                let bytes =
                    hex::decode(&v.filter).map_err(|e| ApiError::Unreadable(format!("a filter: {e}")))?;
                Ok((v.height, v.hash, bytes))
            })
            .collect()
    }

    /// The block at `height` of the node's chain, from its canonical bytes (not verified).
    pub async fn raw_block(&self, height: u64) -> Result<Block, ApiError> {
        let response = match Request::get(&self.url(&format!("/api/blocks/{height}/raw"))).send().await {
            Ok(response) => response,
            Err(e) => return Err(self.failed(e).await),
        };
        if !response.ok() {
            let status = response.status();
            return match response.json::<ErrorBody>().await {
                Ok(body) => {
                    Err(ApiError::Node { status, code: body.error.code, message: body.error.message })
                }
                Err(_) => Err(ApiError::Unreadable(format!("HTTP {status}"))),
            };
        }
        let bytes = response.binary().await.map_err(|e| ApiError::Unreadable(e.to_string()))?;
        from_bytes(&bytes).map_err(|e| ApiError::Unreadable(format!("a block: {e}")))
    }

    /// A confirmed transaction's inclusion proof (not verified).
    pub async fn proof(&self, txid: &str) -> Result<InclusionProof, ApiError> {
        self.get(&format!("/api/transactions/{txid}/proof")).await
    }

    pub async fn mine(&self, address: &str, blocks: u32) -> Result<MineResponse, ApiError> {
        self.post("/api/mine", &MineRequest { address: address.to_string(), blocks }).await
    }

    /// `ws://…/api/events` (or `wss://`).
    pub fn events_url(&self) -> String {
        let base = self.base.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        format!("{base}/api/events")
    }
}

/// Opens the node's event stream and calls `on_event` for each event until the stream ends.
pub async fn follow_events(api: Api, mut on_event: impl FnMut(Event)) -> Result<(), ApiError> {
    use futures_util::StreamExt;
    use gloo_net::websocket::{futures::WebSocket, Message};
    let mut socket = WebSocket::open(&api.events_url()).map_err(|e| ApiError::Network(e.to_string()))?;
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                if let Ok(event) = serde_json::from_str::<Event>(&text) {
                    on_event(event);
                }
            }
            Ok(Message::Bytes(_)) => {}
            Err(e) => return Err(ApiError::Network(e.to_string())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_urls_follow_the_scheme() {
        assert_eq!(Api::new("http://127.0.0.1:8080/").events_url(), "ws://127.0.0.1:8080/api/events");
        assert_eq!(Api::new("https://node.example").events_url(), "wss://node.example/api/events");
    }
}
