//! The command-line wallet against a real node: create and restore wallets, send, check
//! balances, and clear failures for a wrong password or too little money.

use anyhow::{bail, Context, Result};
use ferro_shared::api::TxState;
use ferro_shared::{Address, Amount, Network, Txid};
use ferro_tests::{ferro_binary, LyingNode, TestNode};

use std::process::Output;

const PASSWORD: &str = "correct horse battery staple";
const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                      abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                      abandon art";

/// Runs `ferro` on a blocking thread (the node under test lives in this process's runtime).
async fn ferro(args: &[&str], envs: &[(&str, &str)]) -> Result<Output> {
    let bin = ferro_binary()?;
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let envs: Vec<(String, String)> = envs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Ok(tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(&args)
            .env_remove("FERRO_WALLET_PASSWORD")
            .env_remove("FERRO_WALLET_MNEMONIC")
            .envs(envs)
            .stdin(std::process::Stdio::null())
            .output()
    })
    .await??)
}

fn last_line(output: &Output) -> Result<String> {
    if !output.status.success() {
        bail!("ferro failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8(output.stdout.clone())?;
    Ok(stdout.lines().last().context("no output")?.trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_wallet_sends_between_two_accounts() -> Result<()> {
    let node = TestNode::start().await?;
    let dir = tempfile::TempDir::new()?;
    let alice_file = dir.path().join("alice.json");
    let bob_file = dir.path().join("bob.json");
    let alice_path = alice_file.to_str().context("utf-8 path")?;
    let bob_path = bob_file.to_str().context("utf-8 path")?;
    let url = node.url();
    let pw = [("FERRO_WALLET_PASSWORD", PASSWORD)];

    let out = ferro(&["wallet", "new", "--wallet", alice_path], &pw).await?;
    let alice = Address::parse(&last_line(&out)?, Network::Dev)?;
    let words = String::from_utf8(out.stdout.clone())?;
    assert!(words.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_lowercase())).count() >= 24);
    let saved = std::fs::read_to_string(&alice_file)?;
    assert!(!saved.contains(words.lines().find(|l| l.contains("1.")).unwrap_or("none").trim()));

    let out = ferro(
        &["wallet", "restore", "--wallet", bob_path],
        &[("FERRO_WALLET_PASSWORD", PASSWORD), ("FERRO_WALLET_MNEMONIC", PHRASE)],
    )
    .await?;
    let bob = Address::parse(&last_line(&out)?, Network::Dev)?;
    let again = ferro(&["wallet", "address", "--wallet", bob_path], &[]).await?;
    assert_eq!(last_line(&again)?, bob.to_string());

    node.mine(&alice, 2).await?;
    let out = ferro(
        &[
            "wallet",
            "send",
            "--wallet",
            alice_path,
            "--to",
            &bob.to_string(),
            "--amount",
            "1.5",
            "--node",
            &url,
        ],
        &pw,
    )
    .await?;
    let txid: Txid = last_line(&out)?.parse()?;
    assert_eq!(node.transaction(&txid).await?.status, TxState::Pending);
    node.mine(&alice, 1).await?;
    assert_eq!(node.address(&bob).await?.balance, Amount::parse_coins("1.5")?);
    let out = ferro(&["wallet", "balance", "--wallet", bob_path, "--node", &url], &[]).await?;
    assert!(String::from_utf8(out.stdout)?.contains("balance: 1.5 FRC"));

    // Failures are clear and change nothing.
    let before = node.status().await?;
    let out = ferro(
        &[
            "wallet",
            "send",
            "--wallet",
            alice_path,
            "--to",
            &bob.to_string(),
            "--amount",
            "1",
            "--node",
            &url,
        ],
        &[("FERRO_WALLET_PASSWORD", "not the password")],
    )
    .await?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    let out = ferro(
        &[
            "wallet",
            "send",
            "--wallet",
            bob_path,
            "--to",
            &alice.to_string(),
            "--amount",
            "5",
            "--node",
            &url,
        ],
        &pw,
    )
    .await?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("insufficient funds"), "{out:?}");
    let after = node.status().await?;
    assert_eq!((after.height, after.mempool), (before.height, before.mempool));
    Ok(())
}

/// A node that lies to the wallet about what its coins are worth cannot make it pay a fee it
/// did not show: the wallet signs the values it was told, the honest node behind the liar
/// verifies against the values it records, and the send fails with an error that says so.
/// (Before signatures committed to the spent coins' values, the deflating liar's transaction was
/// accepted and paid half of every coin spent as an unseen fee.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_lied_to_about_coin_values_pays_nothing() -> Result<()> {
    let node = TestNode::start().await?;
    let dir = tempfile::TempDir::new()?;
    let alice_file = dir.path().join("alice.json");
    let alice_path = alice_file.to_str().context("utf-8 path")?;
    let pw = [("FERRO_WALLET_PASSWORD", PASSWORD)];
    let alice = Address::parse(
        &last_line(&ferro(&["wallet", "new", "--wallet", alice_path], &pw).await?)?,
        Network::Dev,
    )?;
    let bob =
        Address::parse("fdev1sz5lnx2hk2d0yqecqd70qcmqh325ytjmhgqr9w6pxeyccfu20kcse2ucmp", Network::Dev)?;
    node.mine(&alice, 2).await?;
    let before = node.address(&alice).await?;
    let status = node.status().await?;
    assert_eq!(status.mempool, 0);

    let bob_text = bob.to_string();
    let send_ten = |node_url: &str| {
        let args = [
            "wallet", "send", "--wallet", alice_path, "--to", &bob_text, "--amount", "10", "--node", node_url,
        ]
        .map(str::to_string);
        async move { ferro(&args.iter().map(String::as_str).collect::<Vec<_>>(), &pw).await }
    };

    // (name, num, den): a liar that halves every coin (the wallet would leave the other half
    // as fee), and one that doubles them.
    for (name, num, den) in [("deflating", 1, 2), ("inflating", 2, 1)] {
        let liar = LyingNode::start(&node.url(), num, den).await?;
        // Believed, the liar lies; verified, the wallet shows the truth and says the node differs.
        let args = ["wallet", "balance", "--unverified", "--wallet", alice_path, "--node", liar.url()];
        let trusting = String::from_utf8(ferro(&args, &[]).await?.stdout)?;
        assert!(
            !trusting.contains(&format!("balance: {} ", before.balance)),
            "{name}: the liar lies: {trusting}"
        );
        let shown = ferro(&["wallet", "balance", "--wallet", alice_path, "--node", liar.url()], &[]).await?;
        let shown = String::from_utf8(shown.stdout)?;
        assert!(
            shown.contains(&format!("balance: {}\n", before.balance))
                && shown.contains("warning: the node reports"),
            "{name}: verification sees through the liar: {shown}"
        );

        let out = send_ten(liar.url()).await?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{name}: the send must fail: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains("does not verify against the coins this transaction spends")
                && stderr.contains("invalid_signature"),
            "{name}: {stderr}"
        );
        let after = node.status().await?;
        assert_eq!((after.height, after.mempool), (status.height, 0), "{name}: nothing entered the mempool");
        assert_eq!(node.address(&alice).await?.balance, before.balance, "{name}: nothing was paid");
    }

    // Told the truth, the same wallet sends.
    let out = send_ten(&node.url()).await?;
    let txid: Txid = last_line(&out)?.parse()?;
    assert_eq!(node.transaction(&txid).await?.status, TxState::Pending);
    Ok(())
}

/// A node that alters block filters or headers cannot pass them off: the command-line wallet
/// checks each against proof of work and the header's commitment, refuses to show a balance,
/// and names the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_refuses_filters_and_headers_that_fail_verification() -> Result<()> {
    use ferro_tests::Tamper;
    let node = TestNode::start().await?;
    let dir = tempfile::TempDir::new()?;
    let alice_file = dir.path().join("alice.json");
    let alice_path = alice_file.to_str().context("utf-8 path")?;
    let pw = [("FERRO_WALLET_PASSWORD", PASSWORD)];
    let alice = Address::parse(
        &last_line(&ferro(&["wallet", "new", "--wallet", alice_path], &pw).await?)?,
        Network::Dev,
    )?;
    node.mine(&alice, 3).await?;
    let honest = ferro(&["wallet", "balance", "--wallet", alice_path, "--node", &node.url()], &[]).await?;
    let honest = String::from_utf8(honest.stdout)?;
    assert!(honest.contains("balance: 150 FRC\n") && honest.contains("verified to block 3"), "{honest}");
    for (tamper, what) in [(Tamper::Filters, "filter of block 1"), (Tamper::Headers, "header at height 1")] {
        let liar = LyingNode::start_tampering(&node.url(), 1, 1, tamper).await?;
        let out = ferro(&["wallet", "balance", "--wallet", alice_path, "--node", liar.url()], &[]).await?;
        let (stdout, stderr) = (String::from_utf8(out.stdout)?, String::from_utf8(out.stderr)?);
        assert!(!out.status.success(), "{tamper:?}: {stdout}");
        assert!(!stdout.contains("balance: 150"), "{tamper:?}: no balance shown: {stdout}");
        assert!(
            stderr.contains(&format!("the node at {} served something that failed verification", liar.url()))
                && stderr.contains(what),
            "{tamper:?}: {stderr}"
        );
    }
    Ok(())
}
