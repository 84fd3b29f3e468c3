//! One account: address with copy button and QR code, balances, history, and on the dev network
//! a button that mines a block paying this account.

use super::live::use_live;
use super::verified::use_verified;
use crate::app::{use_node, Route};
use crate::logic::account::{address_qr_svg, coins, where_confirmed, HistoryLine};
use crate::logic::format::utc_time;
use crate::logic::vault::AccountInfo;
use crate::pages::stale::stale_note;
use ferro_shared::api::AddressView;
use ferro_shared::api::HistoryEntry;
use ferro_shared::{Address, Network};
use wasm_bindgen::JsValue;
use yew::prelude::*;
use yew_router::prelude::Link;

#[derive(Properties, PartialEq)]
pub struct AccountProps {
    pub account: AccountInfo,
}

#[function_component]
pub fn AccountView(props: &AccountProps) -> Html {
    let node = use_node();
    let account = &props.account;
    let refresh = use_state(|| 0u64);
    let live = use_live(Some(account.address), *refresh, |api, address: Address| async move {
        api.address(&address.to_string()).await
    });
    let verified = use_verified(account.address, account.network);
    let qr = use_memo(account.address, |a| AttrValue::from(address_qr_svg(a)));
    let node_network = node.status.as_ref().map(|s| s.network);

    let balance = |f: fn(&AddressView) -> ferro_shared::Amount| match &live.value {
        Some(view) => coins(f(view)),
        None => "…".to_string(),
    };
    let reported = live.value.as_ref().map(|v| v.history.clone()).unwrap_or_default();
    // Once verified: the node's pending entries (unverified by nature), then the verified ones.
    // Confirmed entries the node reports that the verified chain does not hold are shown apart.
    let (history, unproven): (Vec<(HistoryEntry, Proof)>, Vec<HistoryEntry>) = if verified.done {
        let pending = reported.iter().filter(|e| e.height.is_none()).map(|e| (*e, Proof::Pending));
        let proven = verified.history.iter().map(|e| (*e, Proof::Verified));
        let unproven = reported
            .iter()
            .filter(|e| e.height.is_some() && !verified.history.iter().any(|v| v.txid == e.txid))
            .cloned()
            .collect();
        (pending.chain(proven).collect(), unproven)
    } else {
        let lines = reported
            .iter()
            .map(|e| (*e, if e.height.is_none() { Proof::Pending } else { Proof::Unverified }));
        (lines.collect(), vec![])
    };
    let verify_status = if verified.done {
        html! {
            <p class="verify-status ok" data-testid="verify-status">{ format!(
                "Verified to block {} ({}) against proof of work", verified.height, utc_time(verified.tip_time)
            ) }</p>
        }
    } else {
        html! {
            <p class="verify-status" data-testid="verify-status">
                { format!("Verifying the chain: {} headers, {} blocks scanned. Shown until then: the node's figures, unverified.", verified.height, verified.scanned) }
                <progress data-testid="verify-progress" max="1" value={verified.progress().to_string()} />
            </p>
        }
    };
    let verify_warning = (!verified.warnings.is_empty()).then(|| html! {
        <div data-testid="verify-warning">
            { for verified.warnings.iter().map(|(node, what)| html! {
                <p class="error">{ format!("The node at {node} {what}. None of it is shown as verified.") }</p>
            }) }
        </div>
    });
    let mismatch = live.value.as_ref().filter(|v| verified.done && v.balance != verified.balance).map(|v| {
        html! {
            <p class="error" data-testid="verify-mismatch">{ format!(
                "The node at {} reports a balance of {}, which its own verified chain does not show.",
                node.api.base(), coins(v.balance)
            ) }</p>
        }
    });
    let unproven_warning = (!unproven.is_empty()).then(|| html! {
        <p class="error" data-testid="verify-unproven">{ format!(
            "The node at {} reports {} confirmed transaction(s) that the verified chain does not hold: {}. They are not counted.",
            node.api.base(), unproven.len(),
            unproven.iter().map(|e| short(&e.txid.to_string())).collect::<Vec<_>>().join(", ")
        ) }</p>
    });
    // One message for one cause: the node being down explains a failed refresh too.
    let problem = node.error.clone().or_else(|| live.error.clone());
    let stale = problem.as_ref().zip(live.as_of).filter(|_| live.value.is_some());
    let notice = match (&problem, stale) {
        (_, Some((e, at))) => stale_note(at, e),
        (Some(e), None) => html! { <p class="error" data-testid="account-error">{ e.in_words() }</p> },
        (None, None) => html! {},
    };
    html! {
        <>
            <section class="card account">
                <div class="account-head">
                    <div class="account-id">
                        <h2 data-testid="account-name-display">{ account.name.clone() }</h2>
                        <p class="hint">{ format!("{} network", account.network) }</p>
                        if node_network.is_some_and(|n| n != account.network) {
                            <p class="error">{ format!(
                                "This account belongs to the {} network, but the node runs another network.",
                                account.network
                            ) }</p>
                        }
                        <div class="address-line">
                            <code data-testid="address">{ account.address.to_string() }</code>
                            <CopyButton text={account.address.to_string()} />
                        </div>
                    </div>
                    <div class="qr" data-testid="qr" title="Scan to pay this account">
                        { Html::from_html_unchecked((*qr).clone()) }
                    </div>
                </div>
                { verify_status }
                { verify_warning.unwrap_or_default() }
                { mismatch.unwrap_or_default() }
                { unproven_warning.unwrap_or_default() }
                <div class={classes!("balances", stale.is_some().then_some("stale"))}>
                    <div>
                        <div class="hint">{ "Balance" }</div>
                        if verified.done {
                            <div class="big" data-testid="balance">{ coins(verified.balance) }</div>
                            <span class="badge verified" data-testid="balance-badge">{ "verified" }</span>
                        } else {
                            <div class="big" data-testid="balance">{ balance(|v| v.balance) }</div>
                            <span class="badge unverified" data-testid="balance-badge">{ "unverified" }</span>
                        }
                    </div>
                    <div>
                        <div class="hint">{ "After pending transactions (unverified)" }</div>
                        <div class="pending-amount" data-testid="pending-balance">{ balance(|v| v.pending) }</div>
                    </div>
                </div>
                { notice }
                if node_network == Some(Network::Dev) {
                    <MineButton address={account.address} on_mined={Callback::from(move |_| refresh.set(*refresh + 1))} />
                }
            </section>
            <section class="card">
                <h3>{ "History" }</h3>
                <table class={classes!("history", "stack", stale.is_some().then_some("stale"))} data-testid="history">
                    <tbody>
                        if history.is_empty() {
                            <tr><td class="hint">{ if live.value.is_some() { "No transactions yet." } else { "Loading…" } }</td></tr>
                        }
                        { for history.iter().map(|(entry, proof)| {
                            let line = HistoryLine::of(entry);
                            let txid = entry.txid.to_string();
                            html! {
                                <tr data-testid="history-row" class={classes!("history-row", line.label())}>
                                    <td class="direction">{ line.label() }</td>
                                    <td class="amount">{ line.signed() }</td>
                                    <td class={classes!(entry.height.is_none().then_some("pending"))}>{ where_confirmed(entry.height) }</td>
                                    <td><span class={classes!("badge", proof.class())} data-testid="history-badge">{ proof.label() }</span></td>
                                    <td class="mono txid">
                                        <Link<Route> to={Route::Tx { txid: txid.clone() }}>{ short(&txid) }</Link<Route>>
                                    </td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </section>
        </>
    }
}

/// How far a history line is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// In a block the wallet verified.
    Verified,
    /// Confirmed, the node says; not verified yet.
    Unverified,
    /// In a mempool: neither confirmed nor verifiable.
    Pending,
}

impl Proof {
    fn label(self) -> &'static str {
        match self {
            Proof::Verified => "verified",
            Proof::Unverified => "unverified",
            Proof::Pending => "unconfirmed, unverified",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Proof::Verified => "verified",
            Proof::Unverified | Proof::Pending => "unverified",
        }
    }
}

/// `0123abcd…89ef`.
fn short(id: &str) -> String {
    if id.len() > 16 {
        format!("{}…{}", &id[..8], &id[id.len() - 8..])
    } else {
        id.to_string()
    }
}

#[derive(Properties, PartialEq)]
struct CopyProps {
    text: String,
}

/// Copies to the clipboard, where the browser allows it.
#[function_component]
fn CopyButton(props: &CopyProps) -> Html {
    let note = use_state(|| None::<&'static str>);
    let onclick = {
        let (text, note) = (props.text.clone(), note.clone());
        Callback::from(move |_| {
            let Some(window) = web_sys::window() else { return };
            let clipboard = window.navigator().clipboard();
            if !window.is_secure_context() || JsValue::from(clipboard.clone()).is_undefined() {
                return note
                    .set(Some("This browser does not allow copying here: select the address instead."));
            }
            let promise = clipboard.write_text(&text);
            let note = note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                note.set(Some(if copied { "Copied" } else { "Could not copy: select the address instead." }));
            });
        })
    };
    html! {
        <>
            <button type="button" class="secondary" data-testid="copy-address" {onclick}>{ "Copy" }</button>
            if let Some(n) = *note { <span class="hint" data-testid="copy-note">{ n }</span> }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct MineProps {
    address: Address,
    on_mined: Callback<()>,
}

/// Asks the dev node to mine one block paying this account.
#[function_component]
fn MineButton(props: &MineProps) -> Html {
    let node = use_node();
    let busy = use_state(|| false);
    let result = use_state(|| None::<Result<u64, String>>);
    let onclick = {
        let (api, busy, result) = (node.api.clone(), busy.clone(), result.clone());
        let (address, on_mined) = (props.address, props.on_mined.clone());
        Callback::from(move |_| {
            if *busy {
                return;
            }
            busy.set(true);
            result.set(None);
            let (api, busy, result, on_mined) = (api.clone(), busy.clone(), result.clone(), on_mined.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mined = api.mine(&address.to_string(), 1).await;
                busy.set(false);
                match mined {
                    Ok(r) => match r.blocks.last() {
                        Some(block) => result.set(Some(Ok(block.height))),
                        None => result.set(Some(Err("The node mined no block.".into()))),
                    },
                    Err(e) => result.set(Some(Err(e.in_words()))),
                }
                on_mined.emit(());
            });
        })
    };
    html! {
        <div class="mine">
            <button type="button" data-testid="mine" {onclick} disabled={*busy}>
                { if *busy { "Mining…" } else { "Mine a block to this account" } }
            </button>
            { match &*result {
                Some(Ok(height)) => html! { <span class="ok" data-testid="mine-result">{ format!("Mined block {height}") }</span> },
                Some(Err(e)) => html! { <span class="error" data-testid="mine-error">{ e.clone() }</span> },
                None => html! {},
            } }
            <p class="hint">{ "Dev network only: new coins can be spent at once." }</p>
        </div>
    }
}
