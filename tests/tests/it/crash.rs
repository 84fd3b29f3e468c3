//! A node process killed with SIGKILL while it mines and accepts transactions comes back
//! consistent, and loses nothing it had confirmed.

use anyhow::{bail, Result};
use ferro_shared::api::{AddressView, BlockSummary, StatusResponse};
use ferro_shared::wallet::{build_payment, Spendable};
use ferro_shared::{Address, Amount, Network};
use ferro_tests::{ferro_binary, TestWallet};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const REWARD: u64 = 50 * 100_000_000;

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn spawn(data_dir: &Path, mine_to: &Address) -> Result<Process> {
        let port = free_port()?;
        let child = Command::new(ferro_binary()?)
            .args(["node", "--network", "dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--web-dir")
            .arg(data_dir.join("no-wallet"))
            .args(["--mine-to", &mine_to.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Process { child, url: format!("http://127.0.0.1:{port}") })
    }

    fn kill(mut self) -> Result<()> {
        self.child.kill()?; // SIGKILL on unix
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Result<T> {
    let response = client.get(url).send().await?;
    if !response.status().is_success() {
        bail!("GET {url}: {}", response.status());
    }
    Ok(response.json().await?)
}

async fn wait_ready(client: &reqwest::Client, url: &str) -> Result<StatusResponse> {
    for _ in 0..600 {
        if let Ok(status) = get::<StatusResponse>(client, &format!("{url}/api/status")).await {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("node at {url} did not come up")
}

/// Every active block hash by height.
async fn chain(client: &reqwest::Client, url: &str) -> Result<BTreeMap<u64, String>> {
    let mut out = BTreeMap::new();
    let mut from = 0;
    loop {
        let page: Vec<BlockSummary> = get(client, &format!("{url}/api/blocks?from={from}&limit=500")).await?;
        if page.is_empty() {
            return Ok(out);
        }
        for b in &page {
            out.insert(b.height, b.hash.to_string());
        }
        from = page.last().map(|b| b.height + 1).unwrap_or(from);
    }
}

/// Keeps mining bursts and payments going until the process dies under it.
async fn load(client: reqwest::Client, url: String, alice: TestWallet, bob: Address) {
    loop {
        let _ = client
            .post(format!("{url}/api/mine"))
            .json(&serde_json::json!({"address": alice.address.to_string(), "blocks": 5}))
            .send()
            .await;
        let Ok(view) = get::<AddressView>(&client, &format!("{url}/api/addresses/{}", alice.address)).await
        else {
            continue;
        };
        let coins: Vec<Spendable> =
            view.utxos.iter().map(|u| Spendable { outpoint: u.outpoint, amount: u.amount }).collect();
        if let Ok(built) = build_payment(&alice.key, Network::Dev, &coins, &bob, Amount::ONE_COIN, 2) {
            let _ = client.post(format!("{url}/api/transactions")).json(&built.tx).send().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_mining_and_submitting_loses_nothing() -> Result<()> {
    let dir = tempfile::TempDir::new()?;
    let alice = TestWallet::new(Network::Dev, 11);
    let bob = TestWallet::new(Network::Dev, 12);
    let client = reqwest::Client::new();
    let mut confirmed: BTreeMap<u64, String> = BTreeMap::new();

    for round in 0..4u64 {
        let process = Process::spawn(dir.path(), &alice.address)?;
        wait_ready(&client, &process.url).await?;
        // The restarted node keeps mining (--mine-to), so read a snapshot between two status
        // reads at the same height.
        let snapshot = loop {
            let before: StatusResponse = get(&client, &format!("{}/api/status", process.url)).await?;
            let now = chain(&client, &process.url).await?;
            let a: AddressView =
                get(&client, &format!("{}/api/addresses/{}", process.url, alice.address)).await?;
            let b: AddressView =
                get(&client, &format!("{}/api/addresses/{}", process.url, bob.address)).await?;
            let after: StatusResponse = get(&client, &format!("{}/api/status", process.url)).await?;
            if before.tip == after.tip {
                break (after, now, a, b);
            }
        };
        let (status, now, a, b) = snapshot;

        // What was confirmed before the last kill is all still there, at the same heights.
        for (height, hash) in &confirmed {
            assert_eq!(now.get(height), Some(hash), "round {round}: block at height {height} was lost");
        }
        assert_eq!(status.height as usize + 1, now.len(), "round {round}: active chain has no gaps");

        // The coin set agrees with the chain: every coin ever created went to Alice (rewards,
        // fees, change) or Bob, so together they hold exactly the subsidies.
        let total = a.balance.checked_add(b.balance)?;
        assert_eq!(total, Amount::from_units(status.height * REWARD), "round {round}: money supply");
        let utxo_sum = Amount::sum(a.utxos.iter().filter(|u| u.height.is_some()).map(|u| u.amount))?;
        let spent_by_pool = a.balance.checked_sub(utxo_sum)?;
        assert!(spent_by_pool <= a.balance, "round {round}");

        // Load it, then kill it at an arbitrary moment.
        let load = tokio::spawn(load(client.clone(), process.url.clone(), alice.clone(), bob.address));
        tokio::time::sleep(Duration::from_millis(400 + 250 * round)).await;
        confirmed = chain(&client, &process.url).await?;
        tokio::time::sleep(Duration::from_millis(50 * round)).await;
        process.kill()?;
        load.abort();
        assert!(confirmed.len() > 1, "round {round}: the node mined under load");
    }
    Ok(())
}
