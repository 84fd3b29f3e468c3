//! Data from the node that stays current: fetched again on every node event (the context's
//! `tick`), when the key changes, and when the page asks (`refresh`).

use crate::api::{Api, ApiError};
use crate::app::use_node;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use yew::prelude::*;

/// The latest answer for a key, and the error of the latest attempt if it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Live<T> {
    /// The newest good answer for the current key (kept when a later refetch fails).
    pub value: Option<T>,
    pub error: Option<ApiError>,
    /// When `value` was fetched (ms since the Unix epoch, the browser's clock).
    pub as_of: Option<f64>,
}

/// Fetches `fetch(api, key)` now and again on every node event; answers for an older key or an
/// older request are dropped.
#[hook]
pub fn use_live<K, T, F, Fut>(key: Option<K>, refresh: u64, fetch: F) -> Live<T>
where
    K: PartialEq + Clone + 'static,
    T: Clone + 'static,
    F: Fn(Api, K) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let node = use_node();
    // Answers are kept per node and key: another node's answer is never shown as this one's.
    let key = key.map(|k| (node.api.clone(), k));
    let state = use_state(|| None::<((Api, K), Option<(T, f64)>, Option<ApiError>)>);
    // Numbers the requests, so that only the newest one's answer is kept.
    let latest: Rc<Cell<u64>> = use_memo((), |_| Cell::new(0u64));
    {
        let state = state.clone();
        let height = node.status.as_ref().map(|s| s.height);
        let counter = latest.clone();
        use_effect_with((key.clone(), node.tick, height, refresh), move |(key, ..)| {
            let request = counter.get() + 1;
            counter.set(request);
            if let Some(key) = key.clone() {
                let future = fetch(key.0.clone(), key.1.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let result = future.await;
                    if counter.get() != request {
                        return;
                    }
                    let previous = (*state).clone().filter(|(k, ..)| *k == key).and_then(|(_, v, _)| v);
                    match result {
                        Ok(value) => state.set(Some((key, Some((value, js_sys::Date::now())), None))),
                        Err(e) => state.set(Some((key, previous, Some(e)))),
                    }
                });
            }
        });
    }
    match (*state).clone() {
        Some((k, value, error)) if Some(&k) == key.as_ref() => {
            let (value, as_of) = value.map_or((None, None), |(v, at)| (Some(v), Some(at)));
            Live { value, error, as_of }
        }
        _ => Live { value: None, error: None, as_of: None },
    }
}
