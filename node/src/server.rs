//! Running a node: open it, serve the API, the wallet and the peer endpoint on one port, run the
//! miner when asked, and stop everything cleanly on shutdown.

use crate::node::{Node, NodeConfig, NodeError};
use crate::p2p::{Dialer, P2pHandle};
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Runs a node on `listener` until `shutdown` completes, or until its store fails: then it stops
/// the same way and returns [`NodeError::StorageFailed`] (the `ferro node` command exits
/// non-zero). Every task it starts is stopped and awaited before it returns.
pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let node = Node::open(config)?;
    serve(node, listener, shutdown).await
}

/// Serves an opened node; see [`run`].
pub async fn serve(
    node: Node,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    serve_on(node, listener, Dialer::tcp(), shutdown, None).await
}

/// [`serve`] on any listener, dialing peers with `dialer` (the simulator passes its network's),
/// handing the peer network's handle to `started` once it runs.
pub async fn serve_on<L>(
    node: Node,
    listener: L,
    dialer: Dialer,
    shutdown: impl Future<Output = ()> + Send + 'static,
    started: Option<tokio::sync::oneshot::Sender<P2pHandle>>,
) -> Result<(), NodeError>
where
    L: Listener<Addr = SocketAddr>,
    for<'a> SocketAddr: Connected<IncomingStream<'a, L>>,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let local = listener.local_addr().map_err(|e| NodeError::Task(e.to_string()))?;
    let tip = node.tip();
    tracing::info!(
        network = %node.network(),
        address = %local,
        height = tip.height,
        tip = %tip.hash,
        "node listening: wallet at http://{local}/, API at http://{local}/api"
    );

    let listen_url = (!local.ip().is_unspecified()).then(|| format!("ws://{local}/p2p"));
    let p2p_config = crate::p2p::P2pConfig {
        listen_url,
        discover: node.config().discover,
        dialer,
        ..crate::p2p::P2pConfig::default()
    };
    // The one place that joins the node and its peer network.
    let link = crate::p2p::NodeLink::new(node.clone());
    let running = crate::p2p::start(link, p2p_config, node.config().peers.clone(), stop_rx.clone()).await;
    let Ok((p2p, p2p_task)) = running else {
        let failure = node.watch_failure().borrow().clone().unwrap_or_else(|| "unknown".into());
        tracing::error!("stopped after a storage failure: {failure}");
        return Err(NodeError::StorageFailed(failure));
    };
    if let Some(started) = started {
        let _ = started.send(p2p.clone());
    }

    let miner = node
        .config()
        .mine_to
        .map(|address| tokio::spawn(node.clone().run_miner(address.hash, stop_rx.clone())));

    let app = crate::api::router(node.clone(), crate::api::PeerNetwork(Some(p2p)));
    let mut stop_for_server = stop_rx.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop_for_server.wait_for(|stop| *stop).await;
        });
    let server: JoinHandle<std::io::Result<()>> = tokio::spawn(async move { server.await });

    let mut failure = node.watch_failure();
    tokio::select! {
        biased;
        () = shutdown => tracing::info!("shutting down"),
        _ = failure.wait_for(Option::is_some) => {}
    }
    let failed = node.watch_failure().borrow().clone();
    let _ = stop_tx.send(true);
    if let Some(miner) = miner {
        let _ = miner.await;
    }
    let _ = p2p_task.await;
    let served = match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(NodeError::Task(format!("HTTP server: {e}"))),
        Err(e) => Err(NodeError::Task(e.to_string())),
    };
    if let Some(e) = failed {
        // The store cannot be trusted to write either: keep what it holds as it is.
        tracing::error!("stopped after a storage failure: {e}");
        return Err(NodeError::StorageFailed(e));
    }
    // Nothing adds transactions any more: keep the pending ones for the next start.
    let saved = {
        let node = node.clone();
        crate::env::blocking(move || node.save_mempool()).await
    };
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not save the pending transactions"),
        Err(e) => tracing::error!(error = %e, "could not save the pending transactions"),
    }
    served
}

/// A node running inside this process, for tests and tools: started on its own port, stopped
/// by `shutdown`.
#[derive(Debug)]
pub struct RunningNode {
    pub node: Node,
    pub addr: SocketAddr,
    /// Its peer network.
    pub p2p: P2pHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), NodeError>>>,
}

impl RunningNode {
    /// Opens and serves a node on `config.listen` (port 0 picks a free port).
    pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
        let listener = TcpListener::bind(config.listen).await.map_err(|e| NodeError::Task(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| NodeError::Task(e.to_string()))?;
        let node = Node::open(config)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started, p2p) = tokio::sync::oneshot::channel();
        let mut task = tokio::spawn(serve_on(
            node.clone(),
            listener,
            Dialer::tcp(),
            async move {
                let _ = stopped.await;
            },
            Some(started),
        ));
        let p2p = tokio::select! {
            biased;
            p2p = p2p => p2p.map_err(|_| NodeError::Task("the peer network did not start".into()))?,
            ended = &mut task => {
                return Err(ended.map_err(|e| NodeError::Task(e.to_string()))?.err().unwrap_or_else(|| {
                    NodeError::Task("the node stopped before its peer network started".into())
                }))
            }
        };
        Ok(RunningNode { node, addr, p2p, stop: Some(stop), task: Some(task) })
    }

    /// `http://ADDR`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR/p2p`
    pub fn p2p_url(&self) -> String {
        format!("ws://{}/p2p", self.addr)
    }

    /// Stops the node and waits until every task has ended.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| NodeError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
