//! The `ferro` command line.
//!
//! ```text
//! ferro node   [--network dev|test] [--data-dir DIR] [--listen ADDR:PORT] [--peer URL]...
//!              [--mine-to ADDRESS] [--web-dir DIR] [--mine-api on|off] [--allow-remote-admin]
//! ferro wallet new|restore  --wallet FILE [--network dev|test]
//! ferro wallet address      --wallet FILE
//! ferro wallet balance      --wallet FILE [--node URL]
//! ferro wallet history      --wallet FILE [--node URL]
//! ferro wallet send         --wallet FILE --to ADDRESS --amount COINS [--fee-rate R] [--node URL]
//! ```
//!
//! | module | holds |
//! | --- | --- |
//! | [`node_cmd`] | `ferro node`: logging, the listener, signals, [`crate::server::run`] |
//! | [`wallet`] | `ferro wallet …`: prompts, output, coin selection through `ferro_shared::wallet` |
//! | [`wallet_file`] | the encrypted wallet file |
//! | [`client`] | the HTTP client of the node's API |
//!
//! Errors are typed per module; `main` prints the one-line message and exits with status 1
//! (clap's usage errors exit with 2).

pub mod client;
pub mod node_cmd;
pub mod verify;
pub mod wallet;
pub mod wallet_file;

use clap::{Parser, Subcommand, ValueEnum};
use ferro_shared::Network;

/// Ferrocoin: a node and a command-line wallet.
#[derive(Debug, Parser)]
#[command(name = "ferro", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: chain, mempool, miner, HTTP API, browser wallet and peer endpoint on one port.
    Node(node_cmd::NodeArgs),
    /// Create or use a wallet file; the keys never leave it unencrypted.
    Wallet(wallet::WalletArgs),
}

/// A network name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum NetworkArg {
    /// Local development: blocks mined on demand.
    #[default]
    Dev,
    /// The shared test network.
    Test,
}

impl From<NetworkArg> for Network {
    fn from(arg: NetworkArg) -> Network {
        match arg {
            NetworkArg::Dev => Network::Dev,
            NetworkArg::Test => Network::Test,
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Node(#[from] node_cmd::NodeCmdError),
    #[error(transparent)]
    Wallet(#[from] wallet::WalletCmdError),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Node(args) => node_cmd::run(args)?,
        Command::Wallet(args) => wallet::run(args)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn network_names() {
        let cli =
            Cli::try_parse_from(["ferro", "wallet", "new", "--wallet", "w", "--network", "test"]).unwrap();
        let Command::Wallet(args) = cli.command else { panic!("not a wallet command") };
        let wallet::WalletCommand::New(create) = args.command else { panic!("not new") };
        assert_eq!(Network::from(create.network), Network::Test);
        assert!(Cli::try_parse_from(["ferro", "node", "--network", "main"]).is_err());
    }
}
