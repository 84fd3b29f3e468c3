//! `ferro node`: turns the flags into a [`NodeConfig`], sets up logging, binds the listener and
//! runs [`server::run`] until Ctrl-C or SIGTERM.

use super::NetworkArg;
use crate::node::{NodeConfig, NodeError};
use crate::server;
use clap::{Args, ValueEnum};
use ferro_shared::address::AddressError;
use ferro_shared::{Address, Network};
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

/// `ferro node` flags.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The network to join.
    #[arg(long, value_enum, default_value_t)]
    pub network: NetworkArg,
    /// Where the chain is stored [default: ./data/<network>].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address and port of the HTTP API, the browser wallet and the peer endpoint.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A peer to connect to at start, like ws://127.0.0.1:8081/p2p; repeat for more.
    #[arg(long = "peer", value_name = "URL")]
    pub peers: Vec<String>,
    /// Mine continuously, paying the rewards to this address (of the node's network).
    #[arg(long, value_name = "ADDRESS")]
    pub mine_to: Option<String>,
    /// Folder of the built browser wallet, served at /.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub web_dir: PathBuf,
    /// Whether POST /api/mine is available [default: on for dev, off for test].
    #[arg(long, value_enum, value_name = "on|off")]
    pub mine_api: Option<Switch>,
    /// Let callers outside loopback use the endpoints that change the node (mine, add peers).
    #[arg(long)]
    pub allow_remote_admin: bool,
    /// Dial only the --peer addresses and those added through the API, not addresses that
    /// peers gossip.
    #[arg(long)]
    pub no_discover: bool,
    /// Memory for pending transactions; the lowest fee rates are evicted beyond it.
    #[arg(long, value_name = "MiB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub mempool_mb: u32,
    /// Memory the database may use to cache its file's pages.
    #[arg(long, value_name = "MiB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_cache_mb: u32,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Why the node did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeCmdError {
    #[error("--mine-to {value}: {source}")]
    MineTo { value: String, source: AddressError },
    #[error("cannot listen on {addr}: the port is already in use (is another node running? choose another with --listen)")]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl NodeArgs {
    /// The node configuration these flags describe.
    pub fn config(&self) -> Result<NodeConfig, NodeCmdError> {
        let network = Network::from(self.network);
        let data_dir = self.data_dir.clone().unwrap_or_else(|| PathBuf::from("data").join(network.name()));
        let mut config = NodeConfig::new(network, data_dir);
        config.listen = self.listen;
        config.peers = self.peers.clone();
        config.mine_to = self
            .mine_to
            .as_deref()
            .map(|s| {
                Address::parse(s.trim(), network)
                    .map_err(|source| NodeCmdError::MineTo { value: s.to_string(), source })
            })
            .transpose()?;
        config.web_dir = self.web_dir.clone();
        if let Some(switch) = self.mine_api {
            config.mine_api = switch == Switch::On;
        }
        config.allow_remote_admin = self.allow_remote_admin;
        config.discover = !self.no_discover;
        config.mempool_max_memory = self.mempool_mb as usize * 1024 * 1024;
        config.db_cache_bytes = self.db_cache_mb as usize * 1024 * 1024;
        Ok(config)
    }
}

/// Runs a node until Ctrl-C or SIGTERM.
pub fn run(args: NodeArgs) -> Result<(), NodeCmdError> {
    let mut config = args.config()?;
    init_logging();
    if !config.web_dir.is_dir() {
        tracing::warn!(
            web_dir = %config.web_dir.display(),
            "the browser wallet folder does not exist; build the wallet or pass --web-dir"
        );
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(NodeCmdError::Runtime)?;
    runtime.block_on(async move {
        let listener = bind(config.listen).await?;
        // With port 0 the system picks the port; record the real one.
        config.listen =
            listener.local_addr().map_err(|source| NodeCmdError::Bind { addr: config.listen, source })?;
        server::run(config, listener, shutdown_signal()).await?;
        Ok(())
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeCmdError> {
    TcpListener::bind(addr).await.map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => NodeCmdError::AddrInUse { addr },
        _ => NodeCmdError::Bind { addr, source },
    })
}

/// Human-readable logs on stderr, colored on a terminal; `RUST_LOG` filters them (default `info`).
fn init_logging() {
    let filter = EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).from_env_lossy();
    // Fails only if a subscriber is already set, which then keeps logging.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

/// Completes on Ctrl-C, or on SIGTERM on unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use ferro_shared::PubkeyHash;

    fn parse(args: &[&str]) -> Result<NodeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["ferro", "node"].iter().chain(args))?;
        match cli.command {
            Command::Node(args) => Ok(args),
            other => panic!("not a node command: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let config = parse(&[]).unwrap().config().unwrap();
        assert_eq!(config.network, Network::Dev);
        assert_eq!(config.data_dir, PathBuf::from("data/dev"));
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.web_dir, PathBuf::from("dist"));
        assert!(config.peers.is_empty());
        assert_eq!(config.mine_to, None);
        assert!(config.mine_api);
        assert!(!config.allow_remote_admin);
        assert!(config.discover);
        assert_eq!(config.mempool_max_memory, 64 << 20);
        assert_eq!(config.db_cache_bytes, crate::chain::DEFAULT_CACHE_BYTES);

        let test = parse(&["--network", "test"]).unwrap().config().unwrap();
        assert_eq!(test.data_dir, PathBuf::from("data/test"));
        assert!(!test.mine_api);
    }

    #[test]
    fn every_flag() {
        let to = Address::new(Network::Test, PubkeyHash([3; 32])).to_string();
        let config = parse(&[
            "--network",
            "test",
            "--data-dir",
            "/tmp/x",
            "--listen",
            "0.0.0.0:9000",
            "--peer",
            "ws://a:1/p2p",
            "--peer",
            "ws://b:2/p2p",
            "--mine-to",
            &to,
            "--web-dir",
            "web",
            "--mine-api",
            "on",
            "--allow-remote-admin",
            "--no-discover",
            "--mempool-mb",
            "300",
            "--db-cache-mb",
            "16",
        ])
        .unwrap()
        .config()
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.peers, ["ws://a:1/p2p", "ws://b:2/p2p"]);
        assert_eq!(config.mine_to.map(|a| a.to_string()), Some(to));
        assert_eq!(config.web_dir, PathBuf::from("web"));
        assert!(config.mine_api);
        assert!(config.allow_remote_admin);
        assert!(!config.discover);
        assert_eq!(config.mempool_max_memory, 300 << 20);
        assert_eq!(config.db_cache_bytes, 16 << 20);
        assert!(!parse(&["--mine-api", "off"]).unwrap().config().unwrap().mine_api);
    }

    #[test]
    fn mine_to_must_be_an_address_of_the_network() {
        let test_addr = Address::new(Network::Test, PubkeyHash([3; 32])).to_string();
        let err = parse(&["--mine-to", &test_addr]).unwrap().config().unwrap_err();
        assert!(err.to_string().contains("address is for the test network"), "{err}");
        let err = parse(&["--mine-to", "fdev1typo"]).unwrap().config().unwrap_err();
        assert!(err.to_string().starts_with("--mine-to fdev1typo: "), "{err}");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert!(parse(&["--listen", "localhost"]).is_err());
        assert!(parse(&["--mine-api", "maybe"]).is_err());
        assert!(parse(&["--mempool-mb", "0"]).is_err());
        assert!(parse(&["--db-cache-mb", "lots"]).is_err());
    }

    #[tokio::test]
    async fn taken_port_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = bind(addr).await.unwrap_err();
        assert!(matches!(err, NodeCmdError::AddrInUse { .. }), "{err}");
        let shown = err.to_string();
        assert!(shown.contains("already in use") && shown.contains(&addr.to_string()), "{shown}");
    }
}
