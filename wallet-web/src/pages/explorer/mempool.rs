//! Transactions waiting for a block.

use super::fetch::{use_fetch, view_fetched};
use super::parts::{ago_cell, tx_link};
use crate::app::use_node;
use crate::logic::format::{bytes, noun_for};
use ferro_shared::api::MempoolView;
use yew::prelude::*;

#[function_component]
pub fn MempoolPage() -> Html {
    let node = use_node();
    // Every event changes the mempool: a new transaction enters it, a new block empties it.
    let mempool = use_fetch((), node.tick, |api, ()| async move { api.mempool().await });
    html! {
        <div class="explorer">
            <section class="card">
                <h2>{ "Mempool" }</h2>
                { view_fetched(&mempool, "the mempool", view_mempool) }
            </section>
        </div>
    }
}

fn view_mempool(m: &MempoolView) -> Html {
    html! {
        <>
            <p>
                <span class="big" data-testid="mempool-count">{ m.count }</span>
                { format!(" {} waiting, {}", noun_for(m.count as u64, "transaction"), bytes(m.bytes)) }
            </p>
            if m.transactions.is_empty() {
                <p class="hint">{ "The mempool is empty." }</p>
            } else {
                <table class="compact" data-testid="mempool-entries">
                    <thead><tr>
                        <th>{ "Transaction" }</th><th class="wide-only">{ "Size" }</th><th>{ "Fee" }</th>
                        <th class="wide-only">{ "Fee rate" }</th><th>{ "Waiting" }</th>
                    </tr></thead>
                    <tbody>
                        { for m.transactions.iter().map(|e| html! {
                            <tr data-testid="mempool-row" key={e.txid.to_hex()}>
                                <td>{ tx_link(&e.txid, true) }</td>
                                <td class="wide-only">{ bytes(e.size) }</td>
                                <td>{ e.fee.to_string() }</td>
                                <td class="wide-only">{ format!("{} units/byte", e.fee_rate) }</td>
                                <td>{ ago_cell(e.time) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                if m.transactions.len() < m.count {
                    <p class="hint">{ format!("The {} with the highest fee rates.", m.transactions.len()) }</p>
                }
            }
        </>
    }
}
