//! The node's peer connections.

use super::fetch::{use_fetch, view_fetched};
use crate::api::ApiError;
use crate::app::use_node;
use crate::logic::format::duration;
use ferro_shared::api::{Direction, PeerView};
use gloo_timers::callback::Interval;
use yew::prelude::*;

/// Why a node used from another site's page lists no peers.
const PRIVATE: &str = "This node shows its peers' addresses only to the wallet it serves itself. \
     Open that node's own explorer to see them.";

/// How often the list refreshes without a node event (peers come and go silently).
const REFRESH_MS: u32 = 5_000;

#[function_component]
pub fn PeersPage() -> Html {
    let node = use_node();
    let beat = use_state(|| 0u64);
    {
        let beat = beat.clone();
        use_effect_with((), move |_| {
            let mut count = 0;
            let timer = Interval::new(REFRESH_MS, move || {
                count += 1;
                beat.set(count);
            });
            move || drop(timer)
        });
    }
    let peers = use_fetch((), (node.tick, *beat), |api, ()| async move { api.peers().await });
    html! {
        <div class="explorer">
            <section class="card">
                <h2>{ "Peers" }</h2>
                if matches!(peers.error, Some(ApiError::Refused)) && node.error.is_none() {
                    // The node answers this page everything else: it keeps only its peers to itself.
                    <p class="hint" data-testid="peers-private">{ PRIVATE }</p>
                } else {
                    { view_fetched(&peers, "the peers", |list: &Vec<PeerView>| view_peers(list)) }
                }
            </section>
        </div>
    }
}

fn view_peers(list: &[PeerView]) -> Html {
    if list.is_empty() {
        return html! { <p class="hint" data-testid="peer-count">{ "The node has no peers." }</p> };
    }
    html! {
        <>
            <p><span data-testid="peer-count">{ list.len() }</span>{ if list.len() == 1 { " connection" } else { " connections" } }</p>
            <table class="stack" data-testid="peers">
                <thead><tr>
                    <th>{ "Direction" }</th><th>{ "Address" }</th><th>{ "Listens on" }</th>
                    <th>{ "Best height" }</th><th>{ "Connected for" }</th>
                </tr></thead>
                <tbody>
                    { for list.iter().map(|p| html! {
                        <tr data-testid="peer-row" key={p.id.clone()} title={format!("node id {}", p.id)}>
                            <td>{ match p.direction { Direction::Inbound => "inbound", Direction::Outbound => "outbound" } }</td>
                            <td><code>{ p.address.clone() }</code></td>
                            <td data-label="listens on">{ p.listen_url.clone().map_or_else(|| html! { <span class="hint">{ "—" }</span> }, |u| html! { <code>{ u }</code> }) }</td>
                            <td data-label="best height" data-testid="peer-best-height">{ p.best_height }</td>
                            <td data-label="connected for">{ duration(p.connected_secs) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </>
    }
}
