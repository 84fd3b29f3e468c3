//! One hook for every explorer page: fetch an API answer for a key, fetch it again when the
//! page says so (a node event, a timer), and never let a late answer for an old key land.

use crate::api::{Api, ApiError};
use crate::app::use_node;
use crate::pages::stale::stale_note;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use yew::prelude::*;

/// What a page knows about one API answer. Neither value nor error: still loading. Both: the
/// last good answer (fetched at `as_of`, ms since the Unix epoch), and why the latest refresh
/// failed.
pub struct Fetched<T> {
    pub value: Option<Rc<T>>,
    pub error: Option<ApiError>,
    pub as_of: Option<f64>,
}

struct Slot<K, T> {
    key: Option<(Api, K)>,
    value: Option<Rc<T>>,
    error: Option<ApiError>,
    as_of: Option<f64>,
}

impl<K: PartialEq, T> Reducible for Slot<K, T> {
    type Action = ((Api, K), Result<T, ApiError>, f64);

    fn reduce(self: Rc<Self>, (key, result, at): Self::Action) -> Rc<Self> {
        let same_key = self.key.as_ref() == Some(&key);
        let (value, error, as_of) = match result {
            Ok(value) => (Some(Rc::new(value)), None, Some(at)),
            // A failed refresh keeps what the page showed; a failed first load shows nothing.
            Err(e) if same_key => (self.value.clone(), Some(e), self.as_of),
            Err(e) => (None, Some(e), None),
        };
        Rc::new(Slot { key: Some(key), value, error, as_of })
    }
}

/// Calls `fetch(api, key)` on the current node, again whenever `key`, the node or `refresh`
/// changes. A new key shows as loading until its answer arrives; a new `refresh` keeps the
/// old answer on screen meanwhile.
#[hook]
pub fn use_fetch<K, R, T, F, Fut>(key: K, refresh: R, fetch: F) -> Fetched<T>
where
    K: PartialEq + Clone + 'static,
    R: PartialEq + 'static,
    T: 'static,
    F: FnOnce(Api, K) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let api = use_node().api;
    let slot = use_reducer(|| Slot::<K, T> { key: None, value: None, error: None, as_of: None });
    {
        let dispatch = slot.dispatcher();
        use_effect_with((api.clone(), key.clone(), refresh), move |(api, key, _)| {
            let alive = Rc::new(Cell::new(true));
            let running = alive.clone();
            let (api, key) = (api.clone(), key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = fetch(api.clone(), key.clone()).await;
                if running.get() {
                    dispatch.dispatch(((api, key), result, js_sys::Date::now()));
                }
            });
            move || alive.set(false)
        });
    }
    if slot.key.as_ref().is_some_and(|(a, k)| *a == api && *k == key) {
        Fetched { value: slot.value.clone(), error: slot.error.clone(), as_of: slot.as_of }
    } else {
        Fetched { value: None, error: None, as_of: None }
    }
}

/// The answer drawn by `view`, with a loading line before it arrives and the error in words;
/// an answer kept after a failed refresh says from when it is.
pub fn view_fetched<T>(fetched: &Fetched<T>, what: &str, view: impl FnOnce(&T) -> Html) -> Html {
    let error = fetched.error.as_ref().map(|e| match (&fetched.value, fetched.as_of) {
        (Some(_), Some(at)) => stale_note(at, e),
        _ => html! { <p class="error" data-testid="error">{ e.in_words() }</p> },
    });
    let body = match (&fetched.value, &fetched.error) {
        (Some(value), _) => view(value),
        (None, Some(_)) => Html::default(),
        (None, None) => html! { <p class="hint" data-testid="loading">{ format!("Loading {what}…") }</p> },
    };
    html! { <>{ error }{ body }</> }
}
