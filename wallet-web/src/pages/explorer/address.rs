//! One address: its balance, what it can spend, and its history.

use super::fetch::{use_fetch, view_fetched};
use super::parts::{ago_cell, height_link, tx_link};
use super::problem::{address_problem, problem};
use crate::app::use_node;
use crate::logic::format::net_amount;
use crate::logic::messages::address_error;
use ferro_shared::api::AddressView;
use ferro_shared::Address;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AddressProps {
    pub address: String,
}

#[function_component]
pub fn AddressPage(props: &AddressProps) -> Html {
    let node = use_node();
    // The node checks the address; an invalid one shows the node's own explanation.
    let view = use_fetch(props.address.clone(), node.tick, |api, a| async move { api.address(&a).await });
    // Checked here too, so that a mistyped address is explained in the wallet's own words.
    let network = node.status.as_ref().map(|s| s.network);
    let typo = match network {
        Some(n) => Address::parse(&props.address, n).err(),
        None => Address::parse_any(&props.address).err(),
    };
    if let Some(e) = typo {
        return html! { <div class="explorer">{ problem("Not an address", address_error(&e)) }</div> };
    }
    if let (None, Some(e)) = (&view.value, &view.error) {
        return html! { <div class="explorer">{ address_problem(e) }</div> };
    }
    html! {
        <div class="explorer">
            <section class="card">
                <h2>{ "Address" }</h2>
                <p><code data-testid="address">{ props.address.clone() }</code></p>
                { view_fetched(&view, "the address", view_summary) }
            </section>
            if let Some(v) = &view.value { { view_details(v) } }
        </div>
    }
}

fn view_summary(v: &AddressView) -> Html {
    html! {
        <div class="grid">
            <div><div class="hint">{ "Balance" }</div><div class="big" data-testid="address-balance">{ v.balance.to_string() }</div></div>
            <div><div class="hint">{ "Once pending transactions confirm" }</div><div class="big" data-testid="address-pending">{ v.pending.to_string() }</div></div>
        </div>
    }
}

fn view_details(v: &AddressView) -> Html {
    html! {
        <>
            <section class="card">
                <h3>{ format!("Unspent outputs ({})", v.utxos.len()) }</h3>
                if v.utxos.is_empty() {
                    <p class="hint">{ "None." }</p>
                } else {
                    <table class="stack" data-testid="address-utxos">
                        <thead><tr><th>{ "Output" }</th><th>{ "Amount" }</th><th>{ "Block" }</th></tr></thead>
                        <tbody>
                            { for v.utxos.iter().map(|u| html! {
                                <tr data-testid="utxo-row">
                                    <td>{ tx_link(&u.outpoint.txid, true) }{ format!(":{}", u.outpoint.vout) }</td>
                                    <td>{ u.amount.to_string() }</td>
                                    <td data-label="block">
                                        { u.height.map_or_else(|| html! { <span class="hint">{ "pending" }</span> }, height_link) }
                                        if u.coinbase { <span class="badge coinbase">{ "coinbase" }</span> }
                                    </td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            </section>
            <section class="card">
                <h3>{ "History" }</h3>
                if v.history.is_empty() {
                    <p class="hint">{ "No transactions yet." }</p>
                } else {
                    <table class="stack" data-testid="address-history">
                        <thead><tr>
                            <th>{ "Transaction" }</th><th>{ "Block" }</th><th>{ "Time" }</th>
                            <th>{ "Received" }</th><th>{ "Sent" }</th><th>{ "Net" }</th>
                        </tr></thead>
                        <tbody>
                            { for v.history.iter().map(|h| html! {
                                <tr data-testid="history-row">
                                    <td>{ tx_link(&h.txid, true) }</td>
                                    <td data-label="Block">{ h.height.map_or_else(|| html! { <span class="badge pending">{ "pending" }</span> }, height_link) }</td>
                                    <td>{ h.time.map_or_else(Html::default, ago_cell) }</td>
                                    <td data-label="Received">{ h.received.to_string() }</td>
                                    <td data-label="Sent">{ h.sent.to_string() }</td>
                                    <td data-label="Net">{ net_amount(h.received, h.sent) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    if v.history.len() >= 100 { <p class="hint">{ "The node lists the newest 100 transactions." }</p> }
                }
            </section>
        </>
    }
}
