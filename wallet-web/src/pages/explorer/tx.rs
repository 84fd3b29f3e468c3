//! One transaction: where it stands, what it paid, and its inputs and outputs.

use super::fetch::{use_fetch, view_fetched};
use super::parts::{block_link, fact, height_link, view_inputs, view_outputs};
use super::problem::tx_problem;
use crate::app::use_node;
use crate::logic::format::{bytes, fee_rate};
use ferro_shared::api::{TxState, TxView};
use ferro_shared::Network;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TxProps {
    pub txid: String,
}

#[function_component]
pub fn TxPage(props: &TxProps) -> Html {
    let node = use_node();
    let network = node.status.as_ref().map(|s| s.network);
    // Refetched on every event, so a pending transaction turns confirmed while the page is open.
    let tx =
        use_fetch(props.txid.clone(), node.tick, |api, txid| async move { api.transaction(&txid).await });
    let body = match (&tx.value, &tx.error) {
        (None, Some(e)) => tx_problem(&props.txid, e),
        _ => view_fetched(&tx, "the transaction", |t: &TxView| view_tx(t, network)),
    };
    html! { <div class="explorer">{ body }</div> }
}

fn view_tx(t: &TxView, network: Option<Network>) -> Html {
    let coinbase = t.transaction.is_coinbase();
    let status = match t.status {
        TxState::Pending => {
            html! { <span class="badge pending" data-testid="tx-status">{ "pending" }</span> }
        }
        TxState::Confirmed => {
            html! { <span class="badge confirmed" data-testid="tx-status">{ "confirmed" }</span> }
        }
    };
    let block = match (t.block, t.block_height) {
        (Some(hash), Some(height)) => {
            html! { <>{ height_link(height) }{ " · " }{ block_link(&hash, true) }</> }
        }
        (Some(hash), None) => block_link(&hash, true),
        _ => html! { <span class="hint">{ "not in a block yet" }</span> },
    };
    let fee = match t.fee {
        Some(fee) => {
            html! { <>{ fee.to_string() }<span class="hint">{ format!(" ({} units/byte)", fee_rate(fee, t.size)) }</span></> }
        }
        None if coinbase => html! { <span class="hint">{ "none: a coinbase creates coins" }</span> },
        None => html! { <span class="hint">{ "unknown" }</span> },
    };
    let total = t.transaction.output_total().map_or_else(|| "overflow".to_string(), |a| a.to_string());
    html! {
        <>
            <section class="card">
                <h2>
                    if coinbase { { "Coinbase transaction " } } else { { "Transaction " } }
                    { status }
                </h2>
                <p><code data-testid="tx-id">{ t.txid.to_hex() }</code></p>
                if let (TxState::Confirmed, Some(network)) = (t.status, network) {
                    <super::proof::VerifiedInclusion tx={t.clone()} {network} />
                }
                <table class="facts">
                    <tbody>
                        { fact("Confirmations", html! { <span data-testid="tx-confirmations">{ t.confirmations }</span> }) }
                        { fact("Block", block) }
                        { fact("Fee", fee) }
                        { fact("Size", html! { bytes(t.size) }) }
                        { fact("Total out", html! { total }) }
                        { fact("Version", html! { t.transaction.version }) }
                    </tbody>
                </table>
            </section>
            <section class="card">
                <div class="grid explorer-inout">
                    <div>
                        <h3>{ format!("Inputs ({})", t.transaction.inputs.len()) }</h3>
                        { view_inputs(&t.transaction, network) }
                    </div>
                    <div>
                        <h3>{ format!("Outputs ({})", t.transaction.outputs.len()) }</h3>
                        { view_outputs(&t.transaction, network) }
                    </div>
                </div>
            </section>
        </>
    }
}
