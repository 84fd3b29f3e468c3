//! Opens the vault with its password.

use super::context::{after_paint, use_wallet, WalletAction};
use super::input_value;
use std::rc::Rc;
use yew::prelude::*;
use zeroize::Zeroizing;

#[function_component]
pub fn UnlockForm() -> Html {
    let wallet = use_wallet();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let password = use_node_ref();

    let onsubmit = {
        let (wallet, error, busy, password) = (wallet.clone(), error.clone(), busy.clone(), password.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(vault) = wallet.vault.clone() else { return };
            if *busy {
                return;
            }
            let typed = Zeroizing::new(input_value(&password));
            if typed.is_empty() {
                return error.set(Some("Enter your password.".into()));
            }
            error.set(None);
            busy.set(true);
            let (wallet, error, busy) = (wallet.clone(), error.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                after_paint().await;
                let opened = vault.unlock(&typed);
                busy.set(false);
                match opened {
                    Ok(keys) => wallet.dispatch(WalletAction::Unlocked(Rc::new(keys))),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    let names = wallet.accounts().iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", ");
    html! {
        <form class="card wallet-flow" {onsubmit}>
            <h2>{ "Unlock your wallet" }</h2>
            <p class="hint">{ format!("Accounts in this browser: {names}.") }</p>
            <label>{ "Password" }
                <input ref={password} type="password" data-testid="unlock-password" autocomplete="current-password" />
            </label>
            if let Some(e) = &*error { <p class="error" data-testid="unlock-error">{ e.clone() }</p> }
            if *busy { <p class="hint" data-testid="wallet-busy">{ "Unlocking…" }</p> }
            <button type="submit" data-testid="unlock" disabled={*busy}>{ "Unlock" }</button>
        </form>
    }
}
