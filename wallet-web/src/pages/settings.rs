//! Which node the wallet talks to, and which others it checks that node against.

use crate::app::use_node;
use crate::logic::nodes::parse_node_list;
use crate::pages::wallet::OTHER_NODES_KEY;
use gloo_storage::{LocalStorage, Storage};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
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
            <OtherNodes />
        </section>
    }
}

/// The other nodes the wallet verifies against: headers from all of them (the chain with the
/// most work wins), filters and blocks from the first whose answer verifies.
#[function_component]
fn OtherNodes() -> Html {
    let node = use_node();
    let area = use_node_ref();
    let saved = use_state(|| LocalStorage::get::<Vec<String>>(OTHER_NODES_KEY).unwrap_or_default());
    let message = use_state(|| None::<Result<String, String>>);
    let onsubmit = {
        let (area, saved, message, own) =
            (area.clone(), saved.clone(), message.clone(), node.api.base().to_string());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = area.cast::<HtmlTextAreaElement>().map(|a| a.value()).unwrap_or_default();
            match parse_node_list(&text, &own) {
                Ok(list) => match LocalStorage::set(OTHER_NODES_KEY, &list) {
                    Ok(()) => {
                        message.set(Some(Ok(format!("Checking against {} other node(s).", list.len()))));
                        saved.set(list);
                    }
                    Err(e) => message.set(Some(Err(e.to_string()))),
                },
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        })
    };
    html! {
        <form {onsubmit} class="other-nodes">
            <label>{ "Also verify against these nodes (one address per line)" }
                <textarea ref={area} data-testid="other-nodes-input" rows="3"
                    placeholder="http://host:port" value={saved.join("\n")} />
            </label>
            <button type="submit" data-testid="other-nodes-save">{ "Save" }</button>
            { match &*message {
                Some(Ok(m)) => html! { <p class="ok" data-testid="other-nodes-result">{ m.clone() }</p> },
                Some(Err(e)) => html! { <p class="error" data-testid="other-nodes-error">{ e.clone() }</p> },
                None => html! {},
            } }
            <p class="hint">{ "Headers come from every node: the chain with the most work wins, and a node that serves something that fails verification, or follows another chain, is named on the account page." }</p>
        </form>
    }
}
