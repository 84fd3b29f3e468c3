//! Which node the wallet talks to.

use crate::app::use_node;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component]
pub fn SettingsPage() -> Html {
    let node = use_node();
    let input = use_node_ref();
    let onsubmit = {
        let set_node = node.set_node.clone();
        let input = input.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(el) = input.cast::<HtmlInputElement>() {
                set_node.emit(el.value());
            }
        })
    };
    let reset = {
        let set_node = node.set_node.clone();
        Callback::from(move |_| set_node.emit(String::new()))
    };
    html! {
        <section class="card">
            <h2>{ "Node" }</h2>
            <p>{ "The wallet talks to: " }<code data-testid="node-url">{ node.api.base().to_string() }</code></p>
            if let Some(e) = &node.error { <p class="error" data-testid="node-error">{ e.in_words() }</p> }
            <form {onsubmit}>
                <label>{ "Another node's address" }
                    <input ref={input} type="url" data-testid="node-url-input" placeholder="http://host:port" />
                </label>
                <button type="submit" data-testid="node-use">{ "Use this node" }</button>
                <button type="button" class="secondary" data-testid="node-reset" onclick={reset}>{ "Use the node that served this page" }</button>
            </form>
            <p class="hint">{ "Your keys stay in this browser whichever node you use: only signed transactions are sent." }</p>
        </section>
    }
}
