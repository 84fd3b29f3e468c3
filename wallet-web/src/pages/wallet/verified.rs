//! The account as the wallet verified it itself: headers checked by the consensus rules (kept in
//! IndexedDB), the block filters checked against them, the blocks whose filter matches the
//! account checked against them, and the balance and history computed from those blocks
//! (`ferro_shared::light`). Runs again whenever the node reports a new tip.
//!
//! Besides the wallet's own node, the other nodes listed in the settings
//! ([`OTHER_NODES_KEY`]) serve headers too: the chain with the most work among them wins, and a
//! node on another chain is named. Filters and blocks come from the first node whose answer
//! verifies.

use crate::api::Api;
use crate::app::use_node;
use ferro_shared::api::HistoryEntry;
use ferro_shared::light::{LightSync, Need};
use ferro_shared::{Address, Amount, Network};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use yew::prelude::*;

/// Where verification stands, for the page to show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verified {
    /// The verified header chain's height and its tip's time (Unix seconds).
    pub height: u64,
    pub tip_time: u64,
    /// Blocks whose filters were checked (and, when they matched, the blocks themselves).
    pub scanned: u64,
    /// The node's height, as its status says: how far there is to go.
    pub target: u64,
    /// The wallet's coins are verified up to the verified tip.
    pub done: bool,
    pub balance: Amount,
    /// Confirmed history from verified blocks, newest first.
    pub history: Vec<HistoryEntry>,
    /// Per node (its URL): what it served that failed verification, or how its chain differs
    /// from the verified one.
    pub warnings: Vec<(String, String)>,
}

impl Verified {
    fn of(sync: &LightSync, target: u64, warnings: Vec<(String, String)>) -> Self {
        let scanner = sync.scanner();
        let history = scanner
            .history()
            .iter()
            .rev()
            .map(|e| HistoryEntry {
                txid: e.txid,
                height: Some(e.height),
                time: Some(e.time),
                received: e.received,
                sent: e.sent,
            })
            .collect();
        Verified {
            height: sync.headers().height(),
            tip_time: sync.headers().tip().time,
            scanned: scanner.height(),
            target,
            // What was verified stays verified when a node later serves a lie: the lie is
            // refused and named, nothing of it is taken.
            done: sync.is_done(),
            balance: scanner.balance(),
            history,
            warnings,
        }
    }

    /// Progress of the first verification, from 0 to 1.
    pub fn progress(&self) -> f64 {
        let of = self.target.max(self.height).max(1) as f64;
        ((self.height as f64 + self.scanned as f64) / (2.0 * of)).clamp(0.0, 1.0)
    }
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Verifies `address`'s account on `network` against the node, again on every node event.
#[hook]
pub fn use_verified(address: Address, network: Network) -> Verified {
    let node = use_node();
    let state = use_state(Verified::default);
    let sync: Rc<RefCell<Option<(Address, LightSync)>>> = use_memo((), |_| RefCell::new(None));
    // One run at a time; a trigger during a run makes it go round once more.
    let running: Rc<Cell<bool>> = use_memo((), |_| Cell::new(false));
    let again: Rc<Cell<bool>> = use_memo((), |_| Cell::new(false));
    let target = node.status.as_ref().map_or(0, |s| s.height);
    let shown = (*state).clone();
    use_effect_with((address, node.api.clone(), node.tick, target), move |(address, api, _, target)| {
        let (address, api, target) = (*address, api.clone(), *target);
        if running.get() {
            again.set(true);
        } else {
            running.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                loop {
                    again.set(false);
                    run(&api, address, network, target, &sync, &state).await;
                    if !again.get() {
                        break;
                    }
                }
                running.set(false);
            });
        }
    });
    shown
}

/// Where the settings keep the other nodes' URLs.
pub const OTHER_NODES_KEY: &str = "ferro.other-nodes";

/// The other nodes to check against, as the settings keep them.
pub fn other_nodes(own: &Api) -> Vec<Api> {
    use gloo_storage::{LocalStorage, Storage};
    let urls: Vec<String> = LocalStorage::get(OTHER_NODES_KEY).unwrap_or_default();
    urls.iter().filter(|u| u.as_str() != own.base()).map(|u| Api::new(u)).collect()
}

/// Drives the light client until it is done or no node can take it further, publishing
/// progress.
async fn run(
    api: &Api,
    address: Address,
    network: Network,
    target: u64,
    sync: &Rc<RefCell<Option<(Address, LightSync)>>>,
    state: &UseStateHandle<Verified>,
) {
    let fresh = sync.borrow().as_ref().is_none_or(|(a, s)| *a != address || s.headers().network() != network);
    if fresh {
        let stored = crate::headers_db::load(network).await;
        *sync.borrow_mut() = Some((address, LightSync::new(network, &stored, [address.hash], now())));
    } else if let Some((_, s)) = sync.borrow_mut().as_mut() {
        s.tip_moved();
    }
    let nodes: Vec<Api> = std::iter::once(api.clone()).chain(other_nodes(api)).collect();
    let mut warnings: Vec<(String, String)> = Vec::new();
    let mut headers_changed = false;
    let publish = |warnings: &[(String, String)]| {
        if let Some((_, s)) = sync.borrow().as_ref() {
            state.set(Verified::of(s, target, warnings.to_vec()));
        }
    };
    loop {
        let need = match sync.borrow().as_ref() {
            Some((_, s)) => s.next(),
            None => return,
        };
        if !matches!(need, Need::Headers { .. }) && headers_changed {
            headers_changed = false;
            let headers =
                sync.borrow().as_ref().map(|(_, s)| s.headers().headers().to_vec()).unwrap_or_default();
            let _ = crate::headers_db::save(network, &headers).await;
        }
        match need {
            Need::Done => break,
            // Every node's headers: the most work among them wins.
            Need::Headers { .. } => {
                let mut more = false;
                for node in &nodes {
                    let locator = match sync.borrow().as_ref() {
                        Some((_, s)) => s.headers().locator(),
                        None => return,
                    };
                    // A node that does not answer is not lying; the others may still answer.
                    if let Ok(headers) = node.headers_after(&locator).await {
                        more |= headers.len() >= ferro_shared::api::MAX_HEADERS_PER_PAGE as usize;
                        headers_changed |= !headers.is_empty();
                        if let Err(what) = apply(sync, |s| s.on_headers(&headers, now()).map(|_| ())) {
                            warn(&mut warnings, node, what);
                        }
                    }
                }
                if more {
                    if let Some((_, s)) = sync.borrow_mut().as_mut() {
                        s.tip_moved();
                    }
                }
            }
            // Filters and blocks from the first node whose answer verifies.
            Need::Filters { from } => {
                let mut served = false;
                for node in &nodes {
                    match node.filters(from).await {
                        Ok(filters) if filters.is_empty() => {
                            warn(&mut warnings, node, format!("has no filter for block {from}"))
                        }
                        Ok(filters) => match apply(sync, |s| s.on_filters(filters)) {
                            Ok(()) => {
                                served = true;
                                break;
                            }
                            Err(what) => warn(&mut warnings, node, what),
                        },
                        Err(_) => {}
                    }
                }
                if !served {
                    publish(&warnings);
                    return;
                }
            }
            Need::Block { height, .. } => {
                let mut served = false;
                for node in &nodes {
                    if let Ok(block) = node.raw_block(height).await {
                        match apply(sync, |s| s.on_block(height, &block)) {
                            Ok(()) => {
                                served = true;
                                break;
                            }
                            Err(what) => warn(&mut warnings, node, what),
                        }
                    }
                }
                if !served {
                    publish(&warnings);
                    return;
                }
            }
        }
        publish(&warnings);
    }
    // Verified to the tip: name every node whose own tip is off the verified chain.
    let verified = sync.borrow().as_ref().map(|(_, s)| (s.headers().clone(), s.headers().height()));
    if let Some((headers, height)) = verified {
        for node in &nodes {
            let Ok(status) = node.status().await else { continue };
            let on_chain = headers.hash(status.height) == Some(status.tip);
            if !on_chain && status.height <= height {
                warn(&mut warnings, node, format!(
                    "is on another chain: its tip (block {} {}) is not on the chain with the most work (block {height} {})",
                    status.height,
                    status.tip,
                    headers.tip_hash()
                ));
            }
        }
    }
    publish(&warnings);
}

/// Adds what `node` did to `warnings`, once.
fn warn(warnings: &mut Vec<(String, String)>, node: &Api, what: String) {
    if !warnings.iter().any(|(n, w)| n == node.base() && *w == what) {
        warnings.push((node.base().to_string(), what));
    }
}

/// Applies an answer; `Err` says what failed verification.
fn apply(
    sync: &Rc<RefCell<Option<(Address, LightSync)>>>,
    step: impl FnOnce(&mut LightSync) -> Result<(), ferro_shared::light::LightError>,
) -> Result<(), String> {
    match sync.borrow_mut().as_mut() {
        Some((_, s)) => step(s).map_err(|e| format!("served something that failed verification: {e}")),
        None => Ok(()),
    }
}
