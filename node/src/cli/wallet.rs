//! `ferro wallet …`: create, restore and use a wallet file against a node's HTTP API.
//!
//! Secrets come from the environment or a prompt: the password from `FERRO_WALLET_PASSWORD`
//! (else a hidden prompt, asked twice when a wallet is created), the backup words of `restore`
//! from `FERRO_WALLET_MNEMONIC` (else a line on stdin). The key is decrypted only by `send`, and
//! only in memory. Commands that print an address or a txid print it alone on the last line of
//! stdout, for scripts.

use super::client::{NodeClient, DEFAULT_NODE_URL};
use super::wallet_file::{WalletFile, WalletFileError};
use super::NetworkArg;
use clap::{Args, Subcommand};
use ferro_shared::address::AddressError;
use ferro_shared::amount::AmountError;
use ferro_shared::api::UtxoView;
use ferro_shared::keystore::KdfParams;
use ferro_shared::mnemonic::{Mnemonic, MnemonicError};
use ferro_shared::wallet::{build_payment, Spendable, WalletError};
use ferro_shared::{Address, Amount, Network, Params};
use rand_core::OsRng;
use std::future::Future;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable that holds the wallet password.
pub const PASSWORD_ENV: &str = "FERRO_WALLET_PASSWORD";
/// The environment variable that holds the backup words for `ferro wallet restore`.
pub const MNEMONIC_ENV: &str = "FERRO_WALLET_MNEMONIC";

/// `ferro wallet` and its subcommands.
#[derive(Debug, Args)]
#[command(
    after_help = "The password comes from FERRO_WALLET_PASSWORD or a prompt; the node from --node or FERRO_NODE."
)]
pub struct WalletArgs {
    #[command(subcommand)]
    pub command: WalletCommand,
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a wallet file with new backup words, and show the words once.
    New(CreateArgs),
    /// Create a wallet file from backup words (FERRO_WALLET_MNEMONIC or a line on stdin).
    Restore(CreateArgs),
    /// Print the wallet's address (needs no password).
    Address(FileArg),
    /// Print the confirmed and the pending balance.
    Balance(QueryArgs),
    /// Pay coins to an address.
    Send(SendArgs),
    /// List the wallet's transactions, newest first.
    History(QueryArgs),
}

#[derive(Debug, Clone, Args)]
pub struct FileArg {
    /// The wallet file.
    #[arg(long = "wallet", value_name = "FILE")]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct NodeUrlArg {
    /// The node's HTTP address.
    #[arg(long = "node", value_name = "URL", env = "FERRO_NODE", default_value = DEFAULT_NODE_URL)]
    pub url: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The network the wallet's addresses belong to.
    #[arg(long, value_enum, default_value_t)]
    pub network: NetworkArg,
}

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[command(flatten)]
    pub node: NodeUrlArg,
    /// Believe the node's account of the wallet instead of verifying it (by default the wallet
    /// checks every header's proof of work and finds its coins in blocks checked against them).
    #[arg(long)]
    pub unverified: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The recipient's address, of the wallet's network.
    #[arg(long, value_name = "ADDRESS")]
    pub to: String,
    /// How many coins to send, like 1.5 or 0.00000001.
    #[arg(long, value_name = "COINS", value_parser = parse_amount)]
    pub amount: Amount,
    /// Fee rate in base units per byte [default: twice the network's minimum relay fee rate].
    #[arg(long, value_name = "R")]
    pub fee_rate: Option<u64>,
    #[command(flatten)]
    pub node: NodeUrlArg,
}

fn parse_amount(s: &str) -> Result<Amount, AmountError> {
    Amount::parse_coins(s)
}

/// The fee rate `send` uses without `--fee-rate`: twice the network's minimum relay fee rate,
/// enough to be relayed and mined without overpaying much.
pub fn default_fee_rate(network: Network) -> u64 {
    network.params().min_relay_fee_rate.saturating_mul(2)
}

/// Why a wallet command failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletCmdError {
    #[error(transparent)]
    File(#[from] WalletFileError),
    #[error(transparent)]
    Node(#[from] super::client::ClientError),
    #[error(transparent)]
    Payment(#[from] WalletError),
    #[error("--to {value}: {source}")]
    Recipient { value: String, source: AddressError },
    #[error("the node at {url} is on the {node} network, but the wallet is on {wallet}")]
    NetworkMismatch { url: String, node: Network, wallet: Network },
    #[error(transparent)]
    Mnemonic(#[from] MnemonicError),
    #[error("no backup words given")]
    NoMnemonic,
    #[error("cannot read the {what}: {source} (set {env} to pass it without a terminal)")]
    Input { what: &'static str, env: &'static str, source: io::Error },
    #[error("{0} is not valid UTF-8")]
    NotUnicode(&'static str),
    #[error("the password must not be empty")]
    EmptyPassword,
    #[error("the passwords do not match")]
    PasswordMismatch,
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Verify(#[from] super::verify::VerifyError),
}

/// Runs a wallet command.
pub fn run(args: WalletArgs) -> Result<(), WalletCmdError> {
    match args.command {
        WalletCommand::New(args) => new_wallet(&args),
        WalletCommand::Restore(args) => restore_wallet(&args),
        WalletCommand::Address(file) => {
            println!("{}", WalletFile::load(&file.path)?.address);
            Ok(())
        }
        WalletCommand::Balance(args) => balance(&args),
        WalletCommand::Send(args) => send(&args),
        WalletCommand::History(args) => history(&args),
    }
}

fn new_wallet(args: &CreateArgs) -> Result<(), WalletCmdError> {
    refuse_existing(&args.file.path)?;
    let password = new_password()?;
    let mnemonic = Mnemonic::generate(&mut OsRng);
    let file = write_wallet(args, &mnemonic, &password)?;
    println!("Write down these 24 words, in order, and keep them offline. They are the only way to");
    println!("restore this wallet if the file or its password is lost, and anyone who sees them can");
    println!("spend its coins. They will not be shown again.");
    println!();
    let words: Vec<&str> = mnemonic.phrase().split(' ').collect();
    for (row, chunk) in words.chunks(4).enumerate() {
        let line: Vec<String> =
            chunk.iter().enumerate().map(|(i, w)| format!("{:>2}. {w:<10}", row * 4 + i + 1)).collect();
        println!("  {}", line.join("  ").trim_end());
    }
    println!();
    print_created(&args.file.path, &file);
    Ok(())
}

fn restore_wallet(args: &CreateArgs) -> Result<(), WalletCmdError> {
    refuse_existing(&args.file.path)?;
    let mnemonic = read_mnemonic()?;
    let password = new_password()?;
    let file = write_wallet(args, &mnemonic, &password)?;
    print_created(&args.file.path, &file);
    Ok(())
}

fn write_wallet(
    args: &CreateArgs,
    mnemonic: &Mnemonic,
    password: &str,
) -> Result<WalletFile, WalletCmdError> {
    let file = WalletFile::seal(mnemonic, args.network.into(), password, KdfParams::DEFAULT, &mut OsRng)?;
    file.create_new(&args.file.path)?;
    Ok(file)
}

fn print_created(path: &Path, file: &WalletFile) {
    println!("Wallet written to {} ({} network). Its address:", path.display(), file.network);
    println!("{}", file.address);
}

/// Fails early, before any prompt, when the file exists; creating it checks again atomically.
fn refuse_existing(path: &Path) -> Result<(), WalletFileError> {
    if path.exists() {
        return Err(WalletFileError::AlreadyExists { path: path.to_path_buf() });
    }
    Ok(())
}

fn balance(args: &QueryArgs) -> Result<(), WalletCmdError> {
    let file = WalletFile::load(&args.file.path)?;
    let client = NodeClient::new(&args.node.url)?;
    let view = block_on(client.address(&file.address))??;
    println!("address: {}", file.address);
    if args.unverified {
        println!("balance: {} (as the node reports it, not verified)", view.balance);
    } else {
        let sync = block_on(super::verify::verify(&client, file.network, &[file.address.hash]))??;
        let tip = sync.headers().tip();
        println!("balance: {}", sync.scanner().balance());
        println!(
            "verified to block {} ({}, time {}) against proof of work: {} headers, {} filters, {} blocks checked",
            tip.height,
            sync.headers().tip_hash(),
            tip.time,
            sync.headers().height(),
            sync.filters_checked,
            sync.blocks_fetched
        );
        if sync.scanner().balance() != view.balance {
            println!(
                "warning: the node reports a balance of {}, which is not what its chain shows",
                view.balance
            );
        }
    }
    println!("pending: {} (in the node's mempool, not verified)", view.pending);
    Ok(())
}

fn history(args: &QueryArgs) -> Result<(), WalletCmdError> {
    let file = WalletFile::load(&args.file.path)?;
    let client = NodeClient::new(&args.node.url)?;
    let view = block_on(client.address(&file.address))??;
    let mut rows: Vec<(String, String, Amount, Amount)> = Vec::new();
    if args.unverified {
        for entry in &view.history {
            let height = entry.height.map_or_else(|| "pending".to_string(), |h| h.to_string());
            rows.push((entry.txid.to_string(), height, entry.received, entry.sent));
        }
    } else {
        let sync = block_on(super::verify::verify(&client, file.network, &[file.address.hash]))??;
        for entry in view.history.iter().filter(|e| e.height.is_none()) {
            rows.push((entry.txid.to_string(), "pending*".into(), entry.received, entry.sent));
        }
        for entry in sync.scanner().history().iter().rev() {
            rows.push((entry.txid.to_string(), entry.height.to_string(), entry.received, entry.sent));
        }
        println!(
            "verified to block {} against proof of work; * pending, not verified",
            sync.headers().height()
        );
    }
    if rows.is_empty() {
        println!("no transactions yet");
        return Ok(());
    }
    println!("{:<64}  {:>8}  {:>17}  {:>17}", "txid", "height", "received (FRC)", "sent (FRC)");
    for (txid, height, received, sent) in rows {
        println!("{txid}  {height:>8}  {:>17}  {:>17}", received.to_coin_string(), sent.to_coin_string());
    }
    Ok(())
}

fn send(args: &SendArgs) -> Result<(), WalletCmdError> {
    let file = WalletFile::load(&args.file.path)?;
    let network = file.network;
    let to = Address::parse(args.to.trim(), network)
        .map_err(|source| WalletCmdError::Recipient { value: args.to.clone(), source })?;
    let fee_rate = args.fee_rate.unwrap_or_else(|| default_fee_rate(network));
    let min = network.params().min_relay_fee_rate;
    if fee_rate < min {
        return Err(WalletError::FeeRateTooLow { rate: fee_rate, min }.into());
    }
    if args.amount == Amount::ZERO {
        return Err(WalletError::ZeroAmount.into());
    }
    let client = NodeClient::new(&args.node.url)?;
    let key = {
        let password = password()?;
        file.unlock(&password)?
    };

    block_on(async {
        let status = client.status().await?;
        if status.network != network {
            return Err(WalletCmdError::NetworkMismatch {
                url: client.url().to_string(),
                node: status.network,
                wallet: network,
            });
        }
        let view = client.address(&file.address).await?;
        let coins = spendable(&view.utxos, status.height + 1, network.params());
        if coins.immature > Amount::ZERO {
            eprintln!("note: {} of mining rewards cannot be spent until they mature", coins.immature);
        }
        let built = build_payment(&key, network, &coins.spendable, &to, args.amount, fee_rate)?;
        let txid = client.submit_transaction(&built.tx).await?.txid;
        println!("sent {} to {to}", args.amount);
        println!("fee: {} for {} bytes", built.fee, built.tx.size());
        if built.change > Amount::ZERO {
            println!("change: {} back to {}", built.change, file.address);
        }
        println!("{txid}");
        Ok(())
    })?
}

/// Unspent outputs split into those a transaction in the next block may spend and the total of
/// coinbase outputs still maturing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Coins {
    spendable: Vec<Spendable>,
    immature: Amount,
}

/// Applies the coinbase maturity rule for a spend in block `next_height`.
fn spendable(utxos: &[UtxoView], next_height: u64, params: &Params) -> Coins {
    let mut coins = Coins { spendable: Vec::with_capacity(utxos.len()), immature: Amount::ZERO };
    for utxo in utxos {
        // As in consensus: spendable from height `created + maturity + 1` on.
        let mature = !utxo.coinbase
            || params.coinbase_maturity == 0
            || utxo.height.is_some_and(|h| next_height > h.saturating_add(params.coinbase_maturity));
        if mature {
            coins.spendable.push(Spendable { outpoint: utxo.outpoint, amount: utxo.amount });
        } else {
            coins.immature = coins.immature.checked_add(utxo.amount).unwrap_or(coins.immature);
        }
    }
    coins
}

fn block_on<F: Future>(future: F) -> Result<F::Output, WalletCmdError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(WalletCmdError::Runtime)?;
    Ok(runtime.block_on(future))
}

/// The password from the environment, or asked once.
fn password() -> Result<Zeroizing<String>, WalletCmdError> {
    if let Some(password) = password_from_env()? {
        return Ok(password);
    }
    let password = prompt_password("Wallet password: ")?;
    if password.is_empty() {
        return Err(WalletCmdError::EmptyPassword);
    }
    Ok(password)
}

/// A password for a new wallet file: from the environment, or asked twice.
fn new_password() -> Result<Zeroizing<String>, WalletCmdError> {
    if let Some(password) = password_from_env()? {
        return Ok(password);
    }
    let password = prompt_password("New wallet password: ")?;
    if password.is_empty() {
        return Err(WalletCmdError::EmptyPassword);
    }
    let again = prompt_password("Repeat the password: ")?;
    if again != password {
        return Err(WalletCmdError::PasswordMismatch);
    }
    Ok(password)
}

fn password_from_env() -> Result<Option<Zeroizing<String>>, WalletCmdError> {
    match std::env::var(PASSWORD_ENV) {
        Ok(p) if p.is_empty() => Err(WalletCmdError::EmptyPassword),
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(WalletCmdError::NotUnicode(PASSWORD_ENV)),
    }
}

fn prompt_password(prompt: &str) -> Result<Zeroizing<String>, WalletCmdError> {
    rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|source| WalletCmdError::Input {
        what: "password",
        env: PASSWORD_ENV,
        source,
    })
}

/// Backup words from the environment, or one line of stdin.
fn read_mnemonic() -> Result<Mnemonic, WalletCmdError> {
    let phrase = match std::env::var(MNEMONIC_ENV) {
        Ok(p) => Zeroizing::new(p),
        Err(std::env::VarError::NotUnicode(_)) => return Err(WalletCmdError::NotUnicode(MNEMONIC_ENV)),
        Err(std::env::VarError::NotPresent) => {
            let input = |source| WalletCmdError::Input { what: "backup words", env: MNEMONIC_ENV, source };
            eprint!("Backup words (24, separated by spaces): ");
            io::stderr().flush().map_err(input)?;
            let mut line = Zeroizing::new(String::new());
            io::stdin().lock().read_line(&mut line).map_err(input)?;
            line
        }
    };
    if phrase.trim().is_empty() {
        return Err(WalletCmdError::NoMnemonic);
    }
    Ok(Mnemonic::parse(&phrase)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use ferro_shared::{OutPoint, Txid};

    fn parse(args: &[&str]) -> Result<WalletCommand, clap::Error> {
        let cli = Cli::try_parse_from(["ferro", "wallet"].iter().chain(args))?;
        match cli.command {
            Command::Wallet(w) => Ok(w.command),
            other => panic!("not a wallet command: {other:?}"),
        }
    }

    #[test]
    fn send_flags() {
        let WalletCommand::Send(send) = parse(&[
            "send",
            "--wallet",
            "w.json",
            "--to",
            "fdev1x",
            "--amount",
            "1.5",
            "--node",
            "http://n:1",
        ])
        .unwrap() else {
            panic!("not send")
        };
        assert_eq!(send.file.path, PathBuf::from("w.json"));
        assert_eq!(send.amount, Amount::from_units(150_000_000));
        assert_eq!(send.fee_rate, None);
        assert_eq!(send.node.url, "http://n:1");
        let err = parse(&["send", "--wallet", "w", "--to", "x", "--amount", "1,5"]).unwrap_err();
        assert!(err.to_string().contains("an amount is written like"), "{err}");
    }

    #[test]
    fn node_url_defaults_to_localhost() {
        // FERRO_NODE may be set in the environment running the tests; only check without it.
        if std::env::var_os("FERRO_NODE").is_some() {
            return;
        }
        let WalletCommand::Balance(q) = parse(&["balance", "--wallet", "w"]).unwrap() else {
            panic!("not balance")
        };
        assert_eq!(q.node.url, DEFAULT_NODE_URL);
    }

    #[test]
    fn default_fee_rate_is_twice_the_minimum() {
        for n in Network::ALL {
            assert_eq!(default_fee_rate(n), 2 * n.params().min_relay_fee_rate);
        }
    }

    #[test]
    fn immature_coinbase_outputs_are_held_back() {
        let utxo = |n: u8, amount: u64, height: Option<u64>, coinbase: bool| UtxoView {
            outpoint: OutPoint { txid: Txid([n; 32]), vout: 0 },
            amount: Amount::from_units(amount),
            height,
            coinbase,
        };
        let utxos = [
            utxo(1, 10, Some(5), true),   // test: matures at 5 + 10 + 1 = 16
            utxo(2, 20, Some(1), true),   // test: matures at 12
            utxo(3, 40, Some(15), false), // never held back
            utxo(4, 80, None, false),     // pending change
        ];
        struct Case {
            name: &'static str,
            network: Network,
            next_height: u64,
            want_spendable: &'static [u8],
            want_immature: u64,
        }
        let cases = [
            Case {
                name: "dev has no maturity",
                network: Network::Dev,
                next_height: 6,
                want_spendable: &[1, 2, 3, 4],
                want_immature: 0,
            },
            Case {
                name: "test, one mature",
                network: Network::Test,
                next_height: 12,
                want_spendable: &[2, 3, 4],
                want_immature: 10,
            },
            Case {
                name: "test, just before",
                network: Network::Test,
                next_height: 15,
                want_spendable: &[2, 3, 4],
                want_immature: 10,
            },
            Case {
                name: "test, all mature",
                network: Network::Test,
                next_height: 16,
                want_spendable: &[1, 2, 3, 4],
                want_immature: 0,
            },
            Case {
                name: "test, none mature",
                network: Network::Test,
                next_height: 11,
                want_spendable: &[3, 4],
                want_immature: 30,
            },
        ];
        for c in cases {
            let coins = spendable(&utxos, c.next_height, c.network.params());
            let got: Vec<u8> = coins.spendable.iter().map(|s| s.outpoint.txid.0[0]).collect();
            assert_eq!(got, c.want_spendable, "{}", c.name);
            assert_eq!(coins.immature, Amount::from_units(c.want_immature), "{}", c.name);
        }
    }
}
