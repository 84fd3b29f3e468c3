//! What a page shows when the node stops answering: the last known values, and from when.

use crate::api::ApiError;
use yew::prelude::*;

/// Says that what follows is what the node answered at `at`, and why it could not be
/// refreshed since.
pub fn stale_note(at: f64, error: &ApiError) -> Html {
    html! {
        <p class="stale-note" data-testid="stale-note">
            { format!("Last known at {}. ", clock_time(at)) }{ error.in_words() }
        </p>
    }
}

/// `14:03:27`: a time of day on the browser's clock, in its time zone.
pub fn clock_time(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}:{:02}", date.get_hours(), date.get_minutes(), date.get_seconds())
}
