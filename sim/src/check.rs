//! The invariants a run must keep: during the run (every node within its memory bounds, no
//! honest node penalized) and once the network has settled (one most-work tip, one coin set,
//! supply equal to the subsidies, no confirmed payment lost).

use crate::host::{short, short_txid, Host, Shared, MEMPOOL_BYTES, NETWORK};
use ferro_node::chain::MAX_SIDE_BYTES;
use ferro_node::p2p::MAX_SYNC_BUFFERED_BYTES;
use ferro_node::Node;
use ferro_shared::consensus::block_subsidy;
use ferro_shared::Amount;
use std::net::IpAddr;
use std::rc::Rc;

fn running(hosts: &[Rc<Host>]) -> Vec<(String, Node)> {
    hosts.iter().filter_map(|h| h.node.borrow().clone().map(|n| (h.name.clone(), n))).collect()
}

/// Each node's accounted memory is within its bound: the pool, blocks kept off the active
/// chain, blocks held by the download.
pub fn bounds(hosts: &[Rc<Host>]) -> Result<(), String> {
    for (name, node) in running(hosts) {
        let m = node.metrics();
        let pool = m.mempool_memory_bytes.get() as usize;
        if pool > MEMPOOL_BYTES {
            return Err(format!("{name}'s pool takes {pool} bytes, over its bound of {MEMPOOL_BYTES}"));
        }
        let side = m.side_chain_bytes.get() as u64;
        if side > MAX_SIDE_BYTES {
            return Err(format!("{name} keeps {side} bytes off its active chain, over {MAX_SIDE_BYTES}"));
        }
        let held = m.p2p_sync_buffered_bytes.get() as usize;
        if held > MAX_SYNC_BUFFERED_BYTES {
            return Err(format!("{name}'s download holds {held} bytes, over {MAX_SYNC_BUFFERED_BYTES}"));
        }
    }
    Ok(())
}

/// No honest node penalizes another honest node (hostile hosts it may, and should); returns
/// how many penalties hostile hosts got among those the nodes remember.
pub fn no_penalties(hosts: &[Rc<Host>]) -> Result<u64, String> {
    let honest: Vec<(IpAddr, &str)> =
        hosts.iter().filter_map(|h| Some((h.ip.get()?, h.name.as_str()))).collect();
    let mut hostile = 0;
    for host in hosts {
        let Some(p2p) = host.p2p.borrow().clone() else { continue };
        for penalty in p2p.recent_penalties() {
            match honest.iter().find(|(ip, _)| *ip == penalty.remote.ip()) {
                Some((_, name)) => {
                    return Err(format!("{} penalized honest {name} for {}", host.name, penalty.offence));
                }
                None => hostile += 1,
            }
        }
    }
    Ok(hostile)
}

/// Marks the payments some node now holds in its active chain, and those confirmed before that
/// no running node holds in its chain any more (a reorganization undid them).
pub fn track_confirmations(hosts: &[Rc<Host>], shared: &Shared) {
    let nodes = running(hosts);
    let mut newly = Vec::new();
    for (txid, payment) in shared.payments.borrow_mut().iter_mut() {
        let holder = nodes.iter().find(|(_, n)| n.store().tx_location(txid).ok().flatten().is_some());
        match (payment.confirmed, holder) {
            (false, Some((name, _))) => {
                payment.confirmed = true;
                newly.push(format!("payment {} confirmed ({name} has it in its chain)", short_txid(txid)));
            }
            (true, None) if !payment.reorganized && nodes.len() == hosts.len() => {
                payment.reorganized = true;
                newly.push(format!("payment {} left every chain in a reorganization", short_txid(txid)));
            }
            _ => {}
        }
    }
    for line in newly {
        shared.record(line);
    }
}

/// Every node runs and has the same tip, the one with the most work among them; `Err` lists
/// the tips.
pub fn one_tip(hosts: &[Rc<Host>]) -> Result<(), String> {
    let nodes = running(hosts);
    let tips: Vec<_> = nodes.iter().map(|(name, n)| (name, n.tip())).collect();
    let best = tips.iter().map(|(_, t)| t.work).max();
    let all_up = nodes.len() == hosts.len();
    if all_up && tips.iter().all(|(_, t)| Some(t.work) == best && t.hash == tips[0].1.hash) {
        return Ok(());
    }
    Err(tips
        .iter()
        .map(|(name, t)| format!("{name}={}:{}", t.height, short(&t.hash)))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The payments that were confirmed once and are not in the chain of the first running node now,
/// though every coin they spend is unspent there: each described, with the nodes whose pool
/// holds it. A reorganization gives such a payment back to the pools of the nodes that undo its
/// block, and they relay it, so miners confirm it again.
pub fn unconfirmed_payments(hosts: &[Rc<Host>], shared: &Shared) -> Result<Vec<String>, String> {
    let nodes = running(hosts);
    let (_, first) = nodes.first().ok_or("no node runs")?;
    let store = first.store();
    let mut out = Vec::new();
    for (txid, payment) in shared.payments.borrow().iter().filter(|(_, p)| p.confirmed) {
        if store.tx_location(txid).map_err(|e| e.to_string())?.is_some() {
            continue;
        }
        let mut unspent = true;
        for input in &payment.inputs {
            unspent &= store.coin(input).map_err(|e| e.to_string())?.is_some();
        }
        if !unspent {
            continue;
        }
        let pools: Vec<&str> =
            nodes.iter().filter(|(_, n)| n.pool_contains(txid)).map(|(name, _)| name.as_str()).collect();
        let about = format!(
            "payment {} (n{} pays {} to n{}) was confirmed, and ",
            short_txid(txid),
            payment.from,
            payment.amount,
            payment.to
        );
        out.push(if pools.is_empty() {
            format!(
                "{about}now is neither in the chain nor in any pool, though every coin it spends is unspent"
            )
        } else {
            format!(
                "{about}is not in the chain again once the network settled, though every coin it spends is \
                 unspent (only in the pool of {})",
                pools.join(", ")
            )
        });
    }
    Ok(out)
}

/// The checks once the network agrees on one tip and every payment a reorganization undid is
/// confirmed again (or displaced).
pub fn at_end(hosts: &[Rc<Host>], shared: &Shared) -> Result<(), String> {
    let nodes = running(hosts);
    let (first_name, first) = nodes.first().ok_or("no node runs")?;
    // One coin set.
    let summary = |name: &str, node: &Node| {
        node.store().coin_set_summary().map_err(|e| format!("{name} cannot read its coin set: {e}"))
    };
    let expected = summary(first_name, first)?;
    for (name, node) in &nodes[1..] {
        let got = summary(name, node)?;
        if got != expected {
            return Err(format!(
                "{name}'s coin set ({} coins, {}) differs from {first_name}'s ({} coins, {}) on the same tip",
                got.coins, got.total, expected.coins, expected.total
            ));
        }
    }
    // Supply: every block's subsidy and nothing else (fees move coins, they make none).
    let tip = first.tip();
    let params = NETWORK.params();
    let mut subsidies = Amount::ZERO;
    for height in 1..=tip.height {
        subsidies = subsidies.checked_add(block_subsidy(params, height)).map_err(|e| e.to_string())?;
    }
    if expected.total != subsidies {
        return Err(format!(
            "the coin set holds {} at height {}, but the subsidies come to {subsidies}",
            expected.total, tip.height
        ));
    }
    // No confirmed payment lost: each is in the chain, or one of its coins is gone (spent by a
    // conflicting transaction, or never confirmed on the winning branch).
    if let Some(lost) = unconfirmed_payments(hosts, shared)?.first() {
        return Err(lost.clone());
    }
    shared.record(format!(
        "checked: one tip {} at height {}, one coin set ({} coins, {}) equal to the subsidies, no confirmed payment lost",
        short(&tip.hash),
        tip.height,
        expected.coins,
        expected.total
    ));
    Ok(())
}
