//! Small views the explorer pages share: links to blocks, transactions and addresses, fact
//! tables, a transaction's inputs and outputs.

use crate::app::Route;
use crate::logic::format::{ago, short_hash, utc_time};
use ferro_shared::{Address, BlockHash, Network, Transaction, Txid};
use yew::prelude::*;
use yew_router::prelude::*;

/// Seconds since the Unix epoch by the browser's clock (0 outside a browser).
pub fn now_secs() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| ((p.time_origin() + p.now()) / 1000.0) as u64)
        .unwrap_or(0)
}

pub fn block_link(hash: &BlockHash, short: bool) -> Html {
    let hex = hash.to_hex();
    let text = if short { short_hash(&hex) } else { hex.clone() };
    html! { <Link<Route> to={Route::Block { id: hex }} classes={link_class(short)}>{ text }</Link<Route>> }
}

/// Shortened hashes never wrap; full ones may break anywhere.
fn link_class(short: bool) -> Classes {
    if short {
        classes!("mono", "short")
    } else {
        classes!("mono")
    }
}

pub fn height_link(height: u64) -> Html {
    html! { <Link<Route> to={Route::Block { id: height.to_string() }}>{ height }</Link<Route>> }
}

pub fn tx_link(txid: &Txid, short: bool) -> Html {
    let hex = txid.to_hex();
    let text = if short { short_hash(&hex) } else { hex.clone() };
    html! { <Link<Route> to={Route::Tx { txid: hex }} classes={link_class(short)}>{ text }</Link<Route>> }
}

pub fn address_link(address: &Address) -> Html {
    let text = address.to_string();
    html! { <Link<Route> to={Route::Address { address: text.clone() }} classes="mono">{ text }</Link<Route>> }
}

/// A time as UTC and how long ago.
pub fn time_cell(secs: u64) -> Html {
    html! { <span>{ utc_time(secs) }<span class="hint">{ format!(" ({})", ago(now_secs(), secs)) }</span></span> }
}

/// How long ago, with the UTC time on hover: for tables.
pub fn ago_cell(secs: u64) -> Html {
    html! { <span title={utc_time(secs)}>{ ago(now_secs(), secs) }</span> }
}

/// One row of a two-column fact table.
pub fn fact(label: &str, value: Html) -> Html {
    html! { <tr><th>{ label }</th><td>{ value }</td></tr> }
}

/// Who spent each input and what each output pays whom. Addresses need the network, which is
/// known once the node's status has arrived; until then the raw key hashes show.
pub fn view_inputs(tx: &Transaction, network: Option<Network>) -> Html {
    if let Some(height) = tx.coinbase_height {
        return html! {
            <ul class="explorer-io"><li><span class="badge coinbase">{ "coinbase" }</span>{ format!(" new coins of block {height}") }</li></ul>
        };
    }
    html! {
        <ul class="explorer-io">
            { for tx.inputs.iter().map(|input| {
                let spender = match network {
                    Some(n) => address_link(&Address::from_public_key(n, &input.pubkey)),
                    None => html! { <span class="mono">{ input.pubkey.pubkey_hash().to_string() }</span> },
                };
                html! {
                    <li>
                        { spender }
                        <span class="hint">{ " spends " }{ tx_link(&input.prevout.txid, true) }{ format!(":{}", input.prevout.vout) }</span>
                    </li>
                }
            }) }
        </ul>
    }
}

pub fn view_outputs(tx: &Transaction, network: Option<Network>) -> Html {
    html! {
        <ul class="explorer-io">
            { for tx.outputs.iter().enumerate().map(|(vout, output)| {
                let recipient = match network {
                    Some(n) => address_link(&Address::new(n, output.recipient)),
                    None => html! { <span class="mono">{ output.recipient.to_string() }</span> },
                };
                html! {
                    <li>
                        <span class="hint">{ format!("#{vout} ") }</span>
                        { recipient }
                        <span class="amount">{ output.amount.to_string() }</span>
                    </li>
                }
            }) }
        </ul>
    }
}
