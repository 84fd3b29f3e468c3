//! One node, driven over HTTP like a user's wallet would.

use ferro_shared::api::TxState;
use ferro_shared::{Amount, Network};
use ferro_tests::{TestNode, TestWallet};

const REWARD: u64 = 50 * 100_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_send_mine_then_restart() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let alice = TestWallet::new(Network::Dev, 1);
    let bob = TestWallet::new(Network::Dev, 2);
    let miner = TestWallet::new(Network::Dev, 3);

    node.mine(&alice.address, 2).await?;
    assert_eq!(node.address(&alice.address).await?.balance, Amount::from_units(2 * REWARD));

    // Two payments in a row: the second spends the first one's unconfirmed change.
    let first = alice.pay(&node, &bob.address, Amount::parse_coins("1.5")?, 2).await?;
    let first_id = node.submit(&first.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let second = alice.pay(&node, &bob.address, Amount::parse_coins("60")?, 2).await?;
    let second_id = node.submit(&second.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(node.transaction(&first_id).await?.status, TxState::Pending);
    let bob_view = node.address(&bob.address).await?;
    assert_eq!(bob_view.balance, Amount::ZERO);
    assert_eq!(bob_view.pending, Amount::parse_coins("61.5")?);

    let mined = node.mine(&miner.address, 1).await?;
    assert_eq!(mined.blocks[0].tx_count, 3, "both payments are in the block");
    let fees = first.fee.checked_add(second.fee)?;
    assert_eq!(mined.blocks[0].reward, Amount::from_units(REWARD).checked_add(fees)?);

    let alice_view = node.address(&alice.address).await?;
    let spent = Amount::parse_coins("61.5")?.checked_add(fees)?;
    assert_eq!(alice_view.balance, Amount::from_units(2 * REWARD).checked_sub(spent)?);
    assert_eq!(alice_view.balance, alice_view.pending);
    assert_eq!(node.address(&bob.address).await?.balance, Amount::parse_coins("61.5")?);
    assert_eq!(node.address(&miner.address).await?.balance, Amount::from_units(REWARD).checked_add(fees)?);
    let confirmed = node.transaction(&second_id).await?;
    assert_eq!(confirmed.status, TxState::Confirmed);
    assert_eq!(confirmed.confirmations, 1);
    assert_eq!(confirmed.fee, Some(second.fee));

    // Everything is still there after a restart on the same data directory.
    let status = node.status().await?;
    let node = node.restart().await?;
    let after = node.status().await?;
    assert_eq!((after.height, after.tip), (status.height, status.tip));
    assert_eq!(node.address(&alice.address).await?, alice_view);
    assert_eq!(node.address(&bob.address).await?.balance, Amount::parse_coins("61.5")?);
    assert_eq!(node.transaction(&second_id).await?.status, TxState::Confirmed);
    // And it keeps working.
    node.mine(&miner.address, 1).await?;
    assert_eq!(node.height().await?, status.height + 1);

    // Payments still waiting for a block when the node stops are waiting after it starts again,
    // child after parent, and then get mined.
    let third = bob.pay(&node, &alice.address, Amount::parse_coins("10")?, 2).await?;
    let third_id = node.submit(&third.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let fourth = bob.pay(&node, &alice.address, Amount::parse_coins("20")?, 2).await?;
    let fourth_id = node.submit(&fourth.tx).await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let pending = node.mempool().await?;
    let node = node.restart().await?;
    let restored = node.mempool().await?;
    assert_eq!((restored.count, restored.bytes), (2, pending.bytes));
    assert_eq!(node.transaction(&fourth_id).await?.status, TxState::Pending);
    assert_eq!(
        node.address(&alice.address).await?.pending,
        alice_view.balance.checked_add(Amount::parse_coins("30")?)?
    );
    let mined = node.mine(&miner.address, 1).await?;
    assert_eq!(mined.blocks[0].tx_count, 3, "both restored payments are in the block");
    assert_eq!(node.transaction(&third_id).await?.status, TxState::Confirmed);
    assert_eq!(node.mempool().await?.count, 0);
    Ok(())
}
