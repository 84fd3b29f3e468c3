//! A harness for end-to-end tests: real nodes in this process, each on its own port (0) and its
//! own temporary data directory, spoken to over HTTP like any client would.

use anyhow::{bail, Context, Result};
use ferro_node::server::RunningNode;
use ferro_node::NodeConfig;
use ferro_shared::api::{
    AddressView, BlockView, ErrorBody, MineResponse, StatusResponse, SubmitTxResponse, TxView,
};
use ferro_shared::wallet::{build_payment, BuiltTransaction, Spendable};
use ferro_shared::{Address, Amount, Network, SecretKey, Transaction, Txid};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// The `ferro` binary next to the running test binary (`target/<profile>/ferro`), for tests that
/// run the node or the wallet as a separate process.
pub fn ferro_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(Path::parent).context("test binary has no profile directory")?;
    let bin = profile_dir.join(format!("ferro{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        bail!("{} is missing: build it first with `cargo build -p ferro-node --bin ferro`", bin.display());
    }
    Ok(bin)
}

/// How long a test waits for something that should happen in milliseconds.
pub const WAIT: Duration = Duration::from_secs(20);

/// An HTTP error answer from a node.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub body: ErrorBody,
}

/// A node in this process.
#[derive(Debug)]
pub struct TestNode {
    pub running: RunningNode,
    pub data_dir: PathBuf,
    _dir: Option<TempDir>,
    pub client: reqwest::Client,
}

impl TestNode {
    /// A fresh dev node.
    pub async fn start() -> Result<TestNode> {
        Self::start_with(Network::Dev, |_| {}).await
    }

    /// A fresh node with its configuration adjusted by `tweak`.
    pub async fn start_with(network: Network, tweak: impl FnOnce(&mut NodeConfig)) -> Result<TestNode> {
        let dir = TempDir::new()?;
        let mut node = Self::start_in(dir.path(), network, tweak).await?;
        node._dir = Some(dir);
        Ok(node)
    }

    /// A node on an existing data directory (kept by the caller).
    pub async fn start_in(
        data_dir: &Path,
        network: Network,
        tweak: impl FnOnce(&mut NodeConfig),
    ) -> Result<TestNode> {
        let mut config = NodeConfig::new(network, data_dir.to_path_buf());
        config.listen = "127.0.0.1:0".parse()?;
        config.web_dir = data_dir.join("no-wallet-here");
        tweak(&mut config);
        let running = RunningNode::start(config).await?;
        Ok(TestNode { running, data_dir: data_dir.to_path_buf(), _dir: None, client: reqwest::Client::new() })
    }

    /// Stops the node and starts it again on the same data directory.
    pub async fn restart(self) -> Result<TestNode> {
        self.stop().await?.start().await
    }

    /// Stops the node, keeping its data directory for a later start.
    pub async fn stop(mut self) -> Result<StoppedNode> {
        let dir = self._dir.take();
        let network = self.running.node.network();
        let data_dir = self.data_dir.clone();
        let discover = self.running.node.config().discover;
        self.running.shutdown().await?;
        Ok(StoppedNode { data_dir, network, discover, dir })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn p2p_url(&self) -> String {
        self.running.p2p_url()
    }

    pub fn network(&self) -> Network {
        self.running.node.network()
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.client.get(format!("{}{path}", self.url())).send().await?;
        decode(response).await.map_err(|e| anyhow::anyhow!("GET {path}: {e:?}"))
    }

    /// POSTs JSON and returns the decoded answer or the node's error.
    pub async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<std::result::Result<T, ApiFailure>> {
        let response = self.client.post(format!("{}{path}", self.url())).json(body).send().await?;
        Ok(decode(response).await)
    }

    pub async fn status(&self) -> Result<StatusResponse> {
        self.get("/api/status").await
    }

    pub async fn height(&self) -> Result<u64> {
        Ok(self.status().await?.height)
    }

    pub async fn block(&self, id: &str) -> Result<BlockView> {
        self.get(&format!("/api/blocks/{id}")).await
    }

    pub async fn transaction(&self, txid: &Txid) -> Result<TxView> {
        self.get(&format!("/api/transactions/{txid}")).await
    }

    pub async fn address(&self, address: &Address) -> Result<AddressView> {
        self.get(&format!("/api/addresses/{address}")).await
    }

    pub async fn mine(&self, to: &Address, blocks: u32) -> Result<MineResponse> {
        match self
            .post("/api/mine", &serde_json::json!({"address": to.to_string(), "blocks": blocks}))
            .await?
        {
            Ok(r) => Ok(r),
            Err(e) => bail!("mine failed: {e:?}"),
        }
    }

    pub async fn submit(&self, tx: &Transaction) -> Result<std::result::Result<Txid, ApiFailure>> {
        Ok(self.post::<_, SubmitTxResponse>("/api/transactions", tx).await?.map(|r| r.txid))
    }

    /// Asks this node to dial `other` and waits for the handshake.
    pub async fn connect(&self, other: &TestNode) -> Result<()> {
        match self
            .post::<_, Vec<ferro_shared::api::PeerView>>(
                "/api/peers",
                &serde_json::json!({"url": other.p2p_url()}),
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) => bail!("connecting {} to {}: {e:?}", self.url(), other.url()),
        }
    }

    pub async fn peers(&self) -> Result<Vec<ferro_shared::api::PeerView>> {
        self.get("/api/peers").await
    }

    pub async fn mempool(&self) -> Result<ferro_shared::api::MempoolView> {
        self.get("/api/mempool").await
    }

    /// Waits until this node's tip is `hash`.
    pub async fn wait_for_tip(&self, hash: &ferro_shared::BlockHash) -> Result<()> {
        let what = format!("{} has tip {hash}", self.url());
        wait_until(&what, || async { Ok(self.status().await?.tip == *hash) }).await
    }

    /// Waits until `txid` is in this node's mempool.
    pub async fn wait_for_mempool_tx(&self, txid: &Txid) -> Result<()> {
        let what = format!("{} has {txid} in its mempool", self.url());
        wait_until(&what, || async { Ok(self.mempool().await?.transactions.iter().any(|e| e.txid == *txid)) })
            .await
    }

    /// Polls `check` until it holds or `WAIT` passes.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        wait_until(what, &mut check).await
    }
}

/// A node that was stopped; its data directory is kept.
#[derive(Debug)]
pub struct StoppedNode {
    data_dir: PathBuf,
    network: Network,
    discover: bool,
    dir: Option<TempDir>,
}

impl StoppedNode {
    /// Starts it again on the same data directory (on a new port).
    pub async fn start(self) -> Result<TestNode> {
        let discover = self.discover;
        let mut node = TestNode::start_in(&self.data_dir, self.network, |c| c.discover = discover).await?;
        node._dir = self.dir;
        Ok(node)
    }
}

/// Polls `check` every 20 ms until it holds or `WAIT` passes.
pub async fn wait_until<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {WAIT:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn decode<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> std::result::Result<T, ApiFailure> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| failure(status, "transport", &e.to_string()))?;
    if (200..300).contains(&status) {
        serde_json::from_slice(&bytes).map_err(|e| failure(status, "undecodable", &e.to_string()))
    } else {
        Err(ApiFailure {
            status,
            body: serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| failure(status, "not_json", &String::from_utf8_lossy(&bytes)).body),
        })
    }
}

fn failure(status: u16, code: &str, message: &str) -> ApiFailure {
    ApiFailure {
        status,
        body: ErrorBody {
            error: ferro_shared::api::ErrorDetail { code: code.into(), message: message.into() },
        },
    }
}

/// A key and its address, building payments like a wallet does.
#[derive(Debug, Clone)]
pub struct TestWallet {
    pub key: SecretKey,
    pub address: Address,
}

impl TestWallet {
    pub fn new(network: Network, seed: u8) -> Self {
        let key = SecretKey::from_bytes(&[seed; 32]).expect("seed makes a valid key");
        let address = Address::from_public_key(network, &key.public_key());
        TestWallet { key, address }
    }

    /// Builds and signs a payment from what `node` says this wallet can spend.
    pub async fn pay(
        &self,
        node: &TestNode,
        to: &Address,
        amount: Amount,
        fee_rate: u64,
    ) -> Result<BuiltTransaction> {
        let view = node.address(&self.address).await?;
        let coins: Vec<Spendable> =
            view.utxos.iter().map(|u| Spendable { outpoint: u.outpoint, amount: u.amount }).collect();
        build_payment(&self.key, self.address.network, &coins, to, amount, fee_rate)
            .context("building a payment")
    }
}

/// A test double for a dishonest node: it forwards every request to a real node, but in the
/// answers to `GET /api/addresses/{a}` it reports every coin as worth `num / den` of its value.
#[derive(Debug)]
pub struct LyingNode {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Lie {
    upstream: String,
    client: reqwest::Client,
    num: u64,
    den: u64,
    tamper: Tamper,
}

/// What else a [`LyingNode`] alters, beyond the values of the wallet's coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Nothing else.
    Nothing,
    /// Every block filter it passes on has one byte changed.
    Filters,
    /// The first header of every page it passes on claims other difficulty bits than the rules
    /// require.
    Headers,
}

impl LyingNode {
    /// Starts the proxy in front of the node at `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, num: u64, den: u64) -> Result<LyingNode> {
        LyingNode::start_tampering(upstream, num, den, Tamper::Nothing).await
    }

    /// [`LyingNode::start`], altering `tamper` too.
    pub async fn start_tampering(upstream: &str, num: u64, den: u64, tamper: Tamper) -> Result<LyingNode> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let lie = std::sync::Arc::new(Lie {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            num,
            den,
            tamper,
        });
        let app = axum::Router::new().fallback(forward).with_state(lie);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LyingNode { url, task })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for LyingNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    axum::extract::State(lie): axum::extract::State<std::sync::Arc<Lie>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::{header::CONTENT_TYPE, StatusCode};
    use axum::response::IntoResponse;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let sent = lie
        .client
        .request(method, format!("{}{path}", lie.upstream))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = response.status();
    let mut bytes = response.bytes().await.unwrap_or_default().to_vec();
    if uri.path().starts_with("/api/addresses/") && status.is_success() {
        if let Ok(mut view) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            let scale = |v: &mut serde_json::Value| {
                if let Some(units) = v.as_u64() {
                    *v = (units * lie.num / lie.den).into();
                }
            };
            if let Some(utxos) = view.get_mut("utxos").and_then(|u| u.as_array_mut()) {
                for utxo in utxos {
                    if let Some(amount) = utxo.get_mut("amount") {
                        scale(amount);
                    }
                }
            }
            for field in ["balance", "pending"] {
                if let Some(v) = view.get_mut(field) {
                    scale(v);
                }
            }
            bytes = serde_json::to_vec(&view).unwrap_or(bytes);
        }
    }
    if status.is_success() {
        bytes = tamper(lie.tamper, uri.path(), bytes);
    }
    (status, [(CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Alters filters or headers in an answer, as `tamper` says.
fn tamper(tamper: Tamper, path: &str, bytes: Vec<u8>) -> Vec<u8> {
    let Ok(mut view) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return bytes };
    // Flips the hex digit before `at_end_of` (or the last) of a hex string.
    let flip = |v: &mut serde_json::Value, at_end_of: usize| {
        if let Some(text) = v.as_str().filter(|t| !t.is_empty()) {
            let mut chars: Vec<char> = text.chars().collect();
            let at = chars.len().min(at_end_of) - 1;
            chars[at] = if chars[at] == '0' { '1' } else { '0' };
            *v = chars.into_iter().collect::<String>().into();
        }
    };
    match tamper {
        Tamper::Filters if path == "/api/filters" => {
            for filter in view.as_array_mut().into_iter().flatten() {
                if let Some(bytes) = filter.get_mut("filter") {
                    flip(bytes, usize::MAX);
                }
            }
        }
        // The first header's bits: bytes 116..120 of its 128, hex digits 232..240.
        Tamper::Headers if path == "/api/headers" => {
            if let Some(headers) = view.get_mut("headers") {
                flip(headers, 240);
            }
        }
        _ => return bytes,
    }
    serde_json::to_vec(&view).unwrap_or(bytes)
}
