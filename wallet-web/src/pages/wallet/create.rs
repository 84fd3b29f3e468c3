//! A new account: name (and the vault password for the first account) → 24 new words shown
//! once → the user types back one word → the account is sealed into the vault and selected.

use super::context::{after_paint, store_vault, use_wallet, WalletAction, WalletState};
use super::guard::{confirm_leave, use_leave_guard};
use super::{input_value, network_or_error};
use crate::app::use_node;
use crate::logic::forms;
use crate::logic::vault;
use ferro_shared::keystore::KdfParams;
use ferro_shared::mnemonic::Mnemonic;
use ferro_shared::Network;
use rand_core::OsRng;
use std::rc::Rc;
use yew::prelude::*;
use zeroize::Zeroizing;

#[derive(Properties, PartialEq)]
pub struct FlowProps {
    /// Ask for the vault's password: only when there is no vault yet.
    pub with_password: bool,
    /// Called once the account is stored.
    #[prop_or_default]
    pub on_done: Callback<()>,
    /// Shows a "Cancel" button when set.
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
}

/// What the words belong to until they are checked.
struct Pending {
    name: String,
    network: Network,
    mnemonic: Mnemonic,
    /// The new vault's password (first account only).
    password: Option<Zeroizing<String>>,
}

enum Stage {
    Form,
    Words(Rc<Pending>),
    Check(Rc<Pending>, usize),
}

/// Stores an account made from `mnemonic`: a new vault for the first account (`password` is
/// given), or the open vault sealed again with one more. Waits for a paint first, since Argon2
/// then blocks the page (about 0.2 s in a release build of the wallet).
pub async fn save_account(
    wallet: &UseReducerHandle<WalletState>,
    name: &str,
    network: Network,
    mnemonic: &Mnemonic,
    password: Option<&str>,
) -> Result<(), String> {
    after_paint().await;
    let (file, keys) = match (password, &wallet.keys) {
        (Some(pw), _) => vault::create(name, network, mnemonic, pw, KdfParams::DEFAULT, &mut OsRng),
        (None, Some(keys)) => keys.with_account(name, network, mnemonic, &mut OsRng),
        (None, None) => return Err("The wallet was locked meanwhile. Unlock it and try again.".into()),
    }
    .map_err(|e| e.to_string())?;
    store_vault(wallet.vault.as_ref(), &file)?;
    let select = keys.accounts().last().expect("the new account is last").info.address;
    wallet.dispatch(WalletAction::Saved { vault: file, keys: Rc::new(keys), select });
    Ok(())
}

/// What leaving the backup words would lose.
const LEAVE_WORDS: &str = "Leave without saving this account? Its backup words will be discarded, and \
     new ones will be made if you start again.";

/// Asks before the page is left, for as long as it is shown.
#[function_component]
fn LeaveGuard() -> Html {
    use_leave_guard(LEAVE_WORDS);
    html! {}
}

#[function_component]
pub fn CreateFlow(props: &FlowProps) -> Html {
    let wallet = use_wallet();
    let node = use_node();
    let stage = use_state(|| Stage::Form);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let name = use_node_ref();
    let password = use_node_ref();
    let repeat = use_node_ref();
    let answer = use_node_ref();

    // Once the words are shown, leaving loses them: ask first.
    let holds_words = !matches!(*stage, Stage::Form);
    let cancel = props.on_cancel.clone().map(|cb| {
        let onclick = move |_| {
            if !holds_words || confirm_leave(LEAVE_WORDS) {
                cb.emit(())
            }
        };
        html! { <button type="button" class="secondary" data-testid="create-cancel" {onclick}>{ "Cancel" }</button> }
    });
    let guard = holds_words.then(|| html! { <LeaveGuard /> });

    match &*stage {
        Stage::Form => {
            let onsubmit = {
                let (stage, error, wallet) = (stage.clone(), error.clone(), wallet.clone());
                let (name, password, repeat) = (name.clone(), password.clone(), repeat.clone());
                let network = node.status.as_ref().map(|s| s.network);
                let with_password = props.with_password;
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    let checked = (|| -> Result<Pending, String> {
                        let name = forms::account_name(&input_value(&name), wallet.accounts())
                            .map_err(|e| e.to_string())?;
                        let password = if with_password {
                            let (p, r) = (Zeroizing::new(input_value(&password)), input_value(&repeat));
                            forms::new_password(&p, &r).map_err(|e| e.to_string())?;
                            Some(p)
                        } else {
                            None
                        };
                        let network = network_or_error(network)?;
                        Ok(Pending { name, network, mnemonic: Mnemonic::generate(&mut OsRng), password })
                    })();
                    match checked {
                        Ok(pending) => {
                            error.set(None);
                            stage.set(Stage::Words(Rc::new(pending)));
                        }
                        Err(e) => error.set(Some(e)),
                    }
                })
            };
            html! {
                <form class="card wallet-flow" {onsubmit}>
                    <h2>{ if props.with_password { "Create your wallet" } else { "Add an account" } }</h2>
                    <label>{ "Account name" }
                        <input ref={name} data-testid="account-name" placeholder="A name for this account" autocomplete="off" />
                    </label>
                    if props.with_password {
                        <label>{ "Password (at least 8 characters)" }
                            <input ref={password} type="password" data-testid="new-password" autocomplete="new-password" />
                        </label>
                        <label>{ "Password again" }
                            <input ref={repeat} type="password" data-testid="new-password-repeat" autocomplete="new-password" />
                        </label>
                        <p class="hint">{ "The password encrypts your keys in this browser. It cannot be recovered: your backup words can." }</p>
                    }
                    if let Some(e) = &*error { <p class="error" data-testid="create-error">{ e.clone() }</p> }
                    <button type="submit" data-testid="create-account">{ "Create account" }</button>
                    { cancel }
                </form>
            }
        }
        Stage::Words(pending) => {
            let saved = {
                let (stage, pending) = (stage.clone(), pending.clone());
                Callback::from(move |_| {
                    stage.set(Stage::Check(pending.clone(), forms::pick_check_index(&mut OsRng)))
                })
            };
            let words = pending.mnemonic.phrase().split(' ').enumerate().map(|(i, w)| {
                html! { <>{ if i > 0 { " " } else { "" } }<li>{ w.to_string() }</li></> }
            });
            html! {
                <section class="card wallet-flow">
                    <h2>{ format!("Backup words for \u{201c}{}\u{201d}", pending.name) }</h2>
                    <p class="warning">
                        { "Write these 24 words down on paper, in this order, and keep them safe. They are the only way to \
                           restore this account if this browser forgets it or you forget your password. Anyone who \
                           sees them can spend your coins. They are shown only this once." }
                    </p>
                    { guard }
                    <ol class="mnemonic" data-testid="mnemonic">{ for words }</ol>
                    <button type="button" data-testid="mnemonic-saved" onclick={saved}>{ "I wrote them down" }</button>
                    { cancel }
                </section>
            }
        }
        Stage::Check(pending, index) => {
            let index = *index;
            let onsubmit = {
                let (pending, error, busy, answer) =
                    (pending.clone(), error.clone(), busy.clone(), answer.clone());
                let (wallet, on_done) = (wallet.clone(), props.on_done.clone());
                Callback::from(move |e: SubmitEvent| {
                    e.prevent_default();
                    if *busy {
                        return;
                    }
                    if let Err(e) = forms::check_word(pending.mnemonic.phrase(), index, &input_value(&answer))
                    {
                        return error.set(Some(e.to_string()));
                    }
                    error.set(None);
                    busy.set(true);
                    let (pending, wallet, busy, error, on_done) =
                        (pending.clone(), wallet.clone(), busy.clone(), error.clone(), on_done.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let password = pending.password.as_ref().map(|p| p.as_str());
                        let saved = save_account(
                            &wallet,
                            &pending.name,
                            pending.network,
                            &pending.mnemonic,
                            password,
                        )
                        .await;
                        busy.set(false);
                        match saved {
                            Ok(()) => on_done.emit(()),
                            Err(e) => error.set(Some(e)),
                        }
                    });
                })
            };
            let again = {
                let (stage, pending, error) = (stage.clone(), pending.clone(), error.clone());
                Callback::from(move |_| {
                    error.set(None);
                    stage.set(Stage::Words(pending.clone()))
                })
            };
            html! {
                <form class="card wallet-flow" {onsubmit}>
                    { guard }
                    <h2>{ "Check your backup" }</h2>
                    <label>
                        { "Type word #" }<span data-testid="mnemonic-check-index">{ index }</span>{ " of your backup" }
                        <input ref={answer} data-testid="mnemonic-check-input" autocomplete="off" autocapitalize="off" spellcheck="false" />
                    </label>
                    if let Some(e) = &*error { <p class="error" data-testid="mnemonic-check-error">{ e.clone() }</p> }
                    if *busy { <p class="hint" data-testid="wallet-busy">{ "Encrypting your wallet…" }</p> }
                    <button type="submit" data-testid="mnemonic-check-submit" disabled={*busy}>{ "Check and save" }</button>
                    <button type="button" class="secondary" data-testid="mnemonic-show-again" onclick={again} disabled={*busy}>{ "Show the words again" }</button>
                    { cancel }
                </form>
            }
        }
    }
}
