//! One block: its header, place in the chain, and transactions.

use super::fetch::{use_fetch, view_fetched};
use super::parts::{block_link, fact, time_cell, tx_link, view_inputs, view_outputs};
use super::problem::block_problem;
use crate::app::{use_node, Route};
use crate::logic::chart::difficulty;
use crate::logic::format::{bytes, difficulty as fmt_difficulty};
use ferro_shared::api::BlockView;
use ferro_shared::{BlockHash, Network};
use yew::prelude::*;
use yew_router::prelude::*;

#[derive(Properties, PartialEq)]
pub struct BlockProps {
    /// A block hash or a height of the active chain.
    pub id: String,
}

#[function_component]
pub fn BlockPage(props: &BlockProps) -> Html {
    let node = use_node();
    let network = node.status.as_ref().map(|s| s.network);
    // Refetched on every event: confirmations grow, and a height may point elsewhere after a reorg.
    let block = use_fetch(props.id.clone(), node.tick, |api, id| async move { api.block(&id).await });
    let tip = node.status.as_ref().map(|s| s.height);
    let body = match (&block.value, &block.error) {
        (None, Some(e)) => block_problem(&props.id, e, tip),
        _ => view_fetched(&block, "the block", |b: &BlockView| view_block(b, network)),
    };
    html! { <div class="explorer">{ body }</div> }
}

fn view_block(b: &BlockView, network: Option<Network>) -> Html {
    let s = &b.summary;
    let prev = if s.prev == BlockHash::ZERO {
        html! { <span class="hint">{ "none: this is the genesis block" }</span> }
    } else {
        block_link(&s.prev, false)
    };
    let bits = match network.and_then(|n| difficulty(n.params().pow_limit, s.bits)) {
        Some(d) => format!("{:#010x} (difficulty {})", s.bits.0, fmt_difficulty(d)),
        None => format!("{:#010x}", s.bits.0),
    };
    let active = if b.in_active_chain {
        html! { <span class="ok">{ "yes" }</span> }
    } else {
        html! { <span class="error">{ "no: this block is on a side branch" }</span> }
    };
    html! {
        <>
            <section class="card">
                <nav class="explorer-pager">
                    if s.height > 0 {
                        <Link<Route> to={Route::Block { id: (s.height - 1).to_string() }}>{ format!("← block {}", s.height - 1) }</Link<Route>>
                    }
                    <Link<Route> to={Route::Explorer}>{ "explorer" }</Link<Route>>
                    // More than one confirmation: the active chain goes on past this block.
                    if b.confirmations > 1 {
                        <Link<Route> to={Route::Block { id: (s.height + 1).to_string() }}>{ format!("block {} →", s.height + 1) }</Link<Route>>
                    }
                </nav>
                <h2>{ "Block " }<span data-testid="block-height">{ s.height }</span></h2>
                <table class="facts">
                    <tbody>
                        { fact("Hash", html! { <code data-testid="block-hash">{ s.hash.to_hex() }</code> }) }
                        { fact("Previous block", prev) }
                        { fact("Time", time_cell(s.time)) }
                        { fact("Target bits", html! { bits }) }
                        { fact("Nonce", html! { s.nonce }) }
                        { fact("Size", html! { bytes(s.size) }) }
                        { fact("Reward", html! { s.reward.to_string() }) }
                        { fact("Confirmations", html! { <span data-testid="block-confirmations">{ b.confirmations }</span> }) }
                        { fact("In the active chain", active) }
                        { fact("Merkle root", html! { <code>{ s.merkle_root.to_hex() }</code> }) }
                        { fact("Filter hash", html! { <code>{ s.filter_hash.to_hex() }</code> }) }
                    </tbody>
                </table>
            </section>
            <section class="card">
                <h3>{ format!("Transactions ({})", b.transactions.len()) }</h3>
                <table class="explorer-txs stack" data-testid="block-transactions">
                    <thead><tr><th>{ "Transaction" }</th><th>{ "From" }</th><th>{ "To" }</th><th>{ "Fee" }</th></tr></thead>
                    <tbody>
                        { for b.transactions.iter().map(|tx| html! {
                            <tr data-testid="block-tx" key={tx.txid.to_hex()}>
                                <td>{ tx_link(&tx.txid, true) }<div class="hint">{ bytes(tx.size) }</div></td>
                                <td data-label="From">{ view_inputs(&tx.transaction, network) }</td>
                                <td data-label="To">{ view_outputs(&tx.transaction, network) }</td>
                                <td data-label="Fee">{ tx.fee.map_or_else(|| "none".to_string(), |f| f.to_string()) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </section>
        </>
    }
}
