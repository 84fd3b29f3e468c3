//! The account as the wallet verified it itself: headers checked by the consensus rules (kept in
//! IndexedDB), the block filters checked against them, the blocks whose filter matches the
//! account checked against them, and the balance and history computed from those blocks
//! (`ferro_shared::light`). Runs again whenever the node reports a new tip.

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
    /// The node that served something that failed verification, and what failed.
    pub failure: Option<(String, String)>,
}

impl Verified {
    fn of(sync: &LightSync, target: u64, failure: Option<(String, String)>) -> Self {
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
            failure,
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

/// Drives the light client until it is done or something fails, publishing progress.
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
    let node = api.base().to_string();
    let mut headers_changed = false;
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
        let outcome: Result<(), (String, bool)> = match need {
            Need::Done => break,
            Need::Headers { locator } => match api.headers_after(&locator).await {
                Ok(headers) => apply(sync, |s| s.on_headers(&headers, now()).map(|_| ())).inspect(|()| {
                    headers_changed |= !headers.is_empty();
                }),
                Err(e) => Err((e.in_words(), false)),
            },
            Need::Filters { from } => match api.filters(from).await {
                Ok(filters) if filters.is_empty() => Err((format!("no filter for block {from}"), true)),
                Ok(filters) => apply(sync, |s| s.on_filters(filters)),
                Err(e) => Err((e.in_words(), false)),
            },
            Need::Block { height, .. } => match api.raw_block(height).await {
                Ok(block) => apply(sync, |s| s.on_block(height, &block)),
                Err(e) => Err((e.in_words(), false)),
            },
        };
        let view = |failure| sync.borrow().as_ref().map(|(_, s)| Verified::of(s, target, failure));
        match outcome {
            Ok(()) => {
                if let Some(v) = view(None) {
                    state.set(v);
                }
            }
            // The node failed to answer: try again on the next event, showing what is verified.
            Err((_, false)) => return,
            Err((what, true)) => {
                if let Some(v) = view(Some((node.clone(), what))) {
                    state.set(v);
                }
                return;
            }
        }
    }
    if let Some((_, s)) = sync.borrow().as_ref() {
        state.set(Verified::of(s, target, None));
    }
}

/// Applies an answer; a verification failure is the node's fault (`true`).
fn apply(
    sync: &Rc<RefCell<Option<(Address, LightSync)>>>,
    step: impl FnOnce(&mut LightSync) -> Result<(), ferro_shared::light::LightError>,
) -> Result<(), (String, bool)> {
    match sync.borrow_mut().as_mut() {
        Some((_, s)) => step(s).map_err(|e| (e.to_string(), true)),
        None => Ok(()),
    }
}
