//! An account restored from its 24 backup words.

use super::context::use_wallet;
use super::create::{save_account, FlowProps};
use super::{input_value, network_or_error, textarea_value};
use crate::app::use_node;
use crate::logic::forms;
use yew::prelude::*;
use zeroize::Zeroizing;

#[function_component]
pub fn RestoreFlow(props: &FlowProps) -> Html {
    let wallet = use_wallet();
    let node = use_node();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let name = use_node_ref();
    let words = use_node_ref();
    let password = use_node_ref();
    let repeat = use_node_ref();

    let onsubmit = {
        let (wallet, error, busy) = (wallet.clone(), error.clone(), busy.clone());
        let (name, words, password, repeat) = (name.clone(), words.clone(), password.clone(), repeat.clone());
        let network = node.status.as_ref().map(|s| s.network);
        let (with_password, on_done) = (props.with_password, props.on_done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let checked = (|| -> Result<_, String> {
                let name =
                    forms::account_name(&input_value(&name), wallet.accounts()).map_err(|e| e.to_string())?;
                let mnemonic = forms::backup_words(&Zeroizing::new(textarea_value(&words)))
                    .map_err(|e| e.to_string())?;
                let password = if with_password {
                    let (p, r) = (Zeroizing::new(input_value(&password)), input_value(&repeat));
                    forms::new_password(&p, &r).map_err(|e| e.to_string())?;
                    Some(p)
                } else {
                    None
                };
                Ok((name, network_or_error(network)?, mnemonic, password))
            })();
            let (name, network, mnemonic, password) = match checked {
                Ok(ok) => ok,
                Err(e) => return error.set(Some(e)),
            };
            error.set(None);
            busy.set(true);
            let (wallet, error, busy, on_done) =
                (wallet.clone(), error.clone(), busy.clone(), on_done.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let pw = password.as_ref().map(|p| p.as_str());
                let saved = save_account(&wallet, &name, network, &mnemonic, pw).await;
                busy.set(false);
                match saved {
                    Ok(()) => on_done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let cancel = props.on_cancel.clone().map(|cb| {
        html! { <button type="button" class="secondary" onclick={move |_| cb.emit(())}>{ "Cancel" }</button> }
    });
    html! {
        <form class="card wallet-flow" {onsubmit}>
            <h2>{ "Restore an account from its backup words" }</h2>
            <label>{ "Account name" }
                <input ref={name} data-testid="restore-name" placeholder="A name for this account" autocomplete="off" />
            </label>
            <label>{ "The 24 backup words, in order, separated by spaces" }
                <textarea ref={words} data-testid="restore-words" rows="4" autocomplete="off" autocapitalize="off" spellcheck="false" />
            </label>
            if props.with_password {
                <label>{ "New password for this browser (at least 8 characters)" }
                    <input ref={password} type="password" data-testid="restore-password" autocomplete="new-password" />
                </label>
                <label>{ "Password again" }
                    <input ref={repeat} type="password" data-testid="restore-password-repeat" autocomplete="new-password" />
                </label>
            }
            if let Some(e) = &*error { <p class="error" data-testid="restore-error">{ e.clone() }</p> }
            if *busy { <p class="hint" data-testid="wallet-busy">{ "Encrypting your wallet…" }</p> }
            <button type="submit" data-testid="restore-account" disabled={*busy}>{ "Restore account" }</button>
            { cancel }
        </form>
    }
}
