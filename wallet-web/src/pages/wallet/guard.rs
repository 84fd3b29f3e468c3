//! Asking before leaving a page that holds something shown only once (new backup words): a
//! reload or closing the tab gets the browser's own question, a click on a link inside the app
//! gets ours.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Whether the user agrees to leave; `message` says what would be lost.
pub fn confirm_leave(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(true)
}

/// While the calling component is mounted, asks before the page is left.
#[hook]
pub fn use_leave_guard(message: &'static str) {
    use_effect_with((), move |_| {
        let window = web_sys::window().expect("the wallet runs in a browser window");
        let unload = EventListener::new_with_options(
            &window,
            "beforeunload",
            EventListenerOptions::enable_prevent_default(),
            |event| {
                event.prevent_default();
                if let Some(e) = event.dyn_ref::<web_sys::BeforeUnloadEvent>() {
                    e.set_return_value(" ");
                }
            },
        );
        // Capture phase on the document: runs before the router's own link handler.
        let options = EventListenerOptions { phase: EventListenerPhase::Capture, passive: false };
        let document = window.document().expect("a browser window has a document");
        let clicks = EventListener::new_with_options(&document, "click", options, move |event| {
            let link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("a[href]").ok().flatten());
            if link.is_some() && !confirm_leave(message) {
                event.prevent_default();
                event.stop_immediate_propagation();
            }
        });
        move || {
            drop(unload);
            drop(clicks);
        }
    });
}
