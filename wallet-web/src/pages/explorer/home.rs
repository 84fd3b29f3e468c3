//! The explorer's front page: the tip, sync and peers, search, the chart and recent blocks.

use super::chart::view_chart;
use super::fetch::{use_fetch, view_fetched};
use super::parts::{ago_cell, block_link, height_link, time_cell};
use crate::api::{Api, ApiError};
use crate::app::{use_node, Route};
use crate::logic::format::{bytes, difficulty, noun_for, percent, plural, thousands};
use crate::logic::search::{classify, Query};
use crate::pages::stale::stale_note;
use ferro_shared::api::{BlockSummary, StatusResponse};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

/// Blocks the chart covers.
const CHART_BLOCKS: u32 = 100;
/// Blocks the recent-blocks table lists.
const RECENT_BLOCKS: usize = 20;

#[function_component]
pub fn ExplorerHome() -> Html {
    let node = use_node();
    // One request feeds both the chart and the table; refetched on every node event.
    let blocks = use_fetch((), node.tick, |api, ()| async move { api.blocks(None, CHART_BLOCKS).await });
    let network = node.status.as_ref().map(|s| s.network);
    let tip = match (&node.status, &node.error) {
        (Some(status), error) => view_tip(status, error.as_ref().zip(node.last_seen)),
        (None, Some(e)) => html! { <p class="error" data-testid="error">{ e.in_words() }</p> },
        (None, None) => html! { <p class="hint">{ "Connecting to the node…" }</p> },
    };
    html! {
        <div class="explorer">
            <section class="card">
                <h2>{ "Explorer" }</h2>
                <SearchBox />
            </section>
            <section class="card">
                <h3>{ "Chain tip" }</h3>
                { tip }
            </section>
            <section class="card">
                <h3>{ "Recent blocks" }</h3>
                { view_fetched(&blocks, "recent blocks", |list: &Vec<BlockSummary>| view_recent(list)) }
            </section>
            <section class="card">
                <h3>{ "Block times and difficulty" }</h3>
                <p class="hint">{ format!("The last {CHART_BLOCKS} blocks of the active chain; hover for details.") }</p>
                { view_fetched(&blocks, "the chart", |list: &Vec<BlockSummary>| view_chart(list, network)) }
            </section>
        </div>
    }
}

/// The node's status; `stale` is why it may be out of date and when the node last answered.
fn view_tip(s: &StatusResponse, stale: Option<(&ApiError, f64)>) -> Html {
    let sync = if s.sync.syncing {
        html! {
            <>
                { format!("Syncing: {} (height {} of {})", percent(s.sync.progress), s.height, s.sync.best_peer_height) }
                <progress max="1" value={s.sync.progress.to_string()}></progress>
            </>
        }
    } else {
        html! { "In sync" }
    };
    html! {
        <>
            if let Some((e, at)) = stale { { stale_note(at, e) } }
            <div class="grid explorer-tip">
                <div><div class="hint">{ "Height" }</div><div class="big" data-testid="tip-height">{ height_link(s.height) }</div></div>
                <div><div class="hint">{ "Difficulty" }</div><div class="big">{ difficulty(s.difficulty) }</div></div>
                <div><div class="hint">{ "Network" }</div><div class="big">{ s.network.name() }</div></div>
            </div>
            <table class="facts">
                <tbody>
                    <tr><th>{ "Tip" }</th><td data-testid="tip-hash">{ block_link(&s.tip, false) }</td></tr>
                    <tr><th>{ "Time" }</th><td>{ time_cell(s.tip_time) }</td></tr>
                    <tr><th>{ "Sync" }</th><td data-testid="sync-progress">{ sync }</td></tr>
                    <tr><th>{ "Peers" }</th><td>
                        <span data-testid="peer-count">{ s.peers }</span>{ format!(" {} ", noun_for(s.peers as u64, "peer")) }
                        <Link<Route> to={Route::Peers}>{ "show peers" }</Link<Route>>
                    </td></tr>
                    <tr><th>{ "Mempool" }</th><td>
                        <span data-testid="home-mempool-count">{ plural(s.mempool, "transaction") }</span>
                        { format!(", {} ", bytes(s.mempool_bytes)) }
                        <Link<Route> to={Route::Mempool}>{ "show mempool" }</Link<Route>>
                    </td></tr>
                </tbody>
            </table>
        </>
    }
}

fn view_recent(list: &[BlockSummary]) -> Html {
    html! {
        <table class="compact" data-testid="recent-blocks">
            <thead><tr>
                <th>{ "Height" }</th><th>{ "Hash" }</th><th>{ "Time" }</th>
                <th class="wide-only">{ "Transactions" }</th><th class="wide-only">{ "Size" }</th><th class="wide-only">{ "Reward" }</th>
            </tr></thead>
            <tbody>
                { for list.iter().rev().take(RECENT_BLOCKS).map(|b| html! {
                    <tr data-testid="block-row" key={b.hash.to_hex()}>
                        <td>{ height_link(b.height) }</td>
                        <td>{ block_link(&b.hash, true) }</td>
                        <td>{ ago_cell(b.time) }</td>
                        <td class="wide-only">{ thousands(b.tx_count as u64) }</td>
                        <td class="wide-only">{ bytes(b.size) }</td>
                        <td class="wide-only">{ b.reward.to_string() }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

/// Where a 64-hex search leads: a block if the node has one with that hash, else a
/// transaction, else an error in words.
async fn resolve_hash(api: &Api, hash: String) -> Result<Route, String> {
    match api.block(&hash).await {
        Ok(_) => return Ok(Route::Block { id: hash }),
        Err(e) if e.code() != Some("not_found") => return Err(e.in_words()),
        Err(_) => {}
    }
    match api.transaction(&hash).await {
        Ok(_) => Ok(Route::Tx { txid: hash }),
        Err(e) if e.code() == Some("not_found") => {
            Err(format!("The node knows no block and no transaction with the hash {hash}."))
        }
        Err(e) => Err(e.in_words()),
    }
}

#[function_component]
pub fn SearchBox() -> Html {
    let api = use_node().api;
    let navigator = use_navigator();
    let input = use_node_ref();
    let message = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (input, message, busy) = (input.clone(), message.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (Some(el), Some(navigator)) = (input.cast::<HtmlInputElement>(), navigator.clone()) else {
                return;
            };
            message.set(None);
            match classify(&el.value()) {
                Query::Height(h) => navigator.push(&Route::Block { id: h.to_string() }),
                Query::Address(address) => navigator.push(&Route::Address { address }),
                Query::Hash(hash) => {
                    busy.set(true);
                    let (api, message, busy) = (api.clone(), message.clone(), busy.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let found = resolve_hash(&api, hash).await;
                        busy.set(false);
                        match found {
                            Ok(route) => navigator.push(&route),
                            Err(e) => message.set(Some(e)),
                        }
                    });
                }
                Query::Empty => {
                    message.set(Some("Type a block height, a block hash, a txid or an address.".into()))
                }
                Query::Unknown => {
                    message.set(Some("That is not a block height, a 64-digit hex hash or an address.".into()))
                }
            }
        })
    };
    html! {
        <form class="explorer-search" {onsubmit}>
            <input ref={input} type="search" data-testid="search-input" aria-label="Search"
                placeholder="Block height, block hash, txid or address" />
            <button type="submit" data-testid="search-submit" disabled={*busy}>
                { if *busy { "Searching…" } else { "Search" } }
            </button>
            if let Some(m) = &*message { <p class="error" data-testid="search-error">{ m }</p> }
        </form>
    }
}
