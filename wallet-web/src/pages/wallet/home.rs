//! The wallet's front page: first account, unlock, or the selected account with the account bar.

use super::account::AccountView;
use super::context::{use_wallet, WalletAction};
use super::create::CreateFlow;
use super::restore::RestoreFlow;
use ferro_shared::Address;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[function_component]
pub fn WalletHome() -> Html {
    let wallet = use_wallet();
    let body = if let Some(e) = &wallet.load_error {
        html! { <UnreadableVault error={e.clone()} /> }
    } else if wallet.vault.is_none() {
        html! { <FirstAccount /> }
    } else if !wallet.is_unlocked() {
        html! { <super::unlock::UnlockForm /> }
    } else {
        html! { <OpenWallet /> }
    };
    html! { <div class="wallet">{ body }</div> }
}

#[derive(Properties, PartialEq)]
struct UnreadableProps {
    error: String,
}

/// The stored vault cannot be read: say so, and offer to set it aside (kept, not deleted) so the
/// accounts can be restored from their backup words.
#[function_component]
fn UnreadableVault(props: &UnreadableProps) -> Html {
    let wallet = use_wallet();
    let failed = use_state(|| None::<String>);
    let set_aside = {
        let (wallet, failed) = (wallet.clone(), failed.clone());
        Callback::from(move |_| match super::context::set_aside_unreadable_vault() {
            Ok(_) => wallet.dispatch(WalletAction::Reload),
            Err(e) => failed.set(Some(e)),
        })
    };
    html! {
        <section class="card">
            <h2>{ "This browser's wallet cannot be read" }</h2>
            <p class="error" data-testid="vault-error">{ props.error.clone() }</p>
            <p>
                { "Your coins are safe on the chain: the backup words of each account bring it back. \
                   Setting this copy aside keeps it in the browser's storage, under a name of its own, \
                   and lets you restore your accounts from their words or make new ones." }
            </p>
            <button type="button" data-testid="vault-set-aside" onclick={set_aside}>
                { "Set this copy aside and start again" }
            </button>
            if let Some(e) = &*failed {
                <p class="error" data-testid="vault-set-aside-error">{ e.clone() }</p>
            }
        </section>
    }
}

/// No vault yet: create an account or restore one, choosing the vault's password.
#[function_component]
fn FirstAccount() -> Html {
    let restore = use_state(|| false);
    let toggle = {
        let restore = restore.clone();
        Callback::from(move |_| restore.set(!*restore))
    };
    html! {
        <>
            <section class="card intro">
                <p>{ "Your keys are made and kept in this browser, encrypted with your password. The node only sees \
                      signed transactions." }</p>
                if *restore {
                    <button type="button" class="secondary" data-testid="show-create" onclick={toggle}>{ "Create a new account instead" }</button>
                } else {
                    <button type="button" class="secondary" data-testid="show-restore" onclick={toggle}>{ "I have backup words: restore" }</button>
                }
            </section>
            if *restore { <RestoreFlow with_password={true} /> } else { <CreateFlow with_password={true} /> }
        </>
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    View,
    Create,
    Restore,
}

/// A callback that switches to `to`, whatever the event.
fn switch_to<E: 'static>(mode: &UseStateHandle<Mode>, to: Mode) -> Callback<E> {
    let mode = mode.clone();
    Callback::from(move |_| mode.set(to))
}

/// Unlocked: the account bar, then the selected account or an add-account flow.
#[function_component]
fn OpenWallet() -> Html {
    let wallet = use_wallet();
    let mode = use_state(|| Mode::View);
    let Some(selected) = wallet.selected().cloned() else {
        return html! {};
    };
    let onchange = {
        let wallet = wallet.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Ok(address) = Address::parse_any(&value) {
                wallet.dispatch(WalletAction::Select(address));
            }
        })
    };
    let lock = {
        let wallet = wallet.clone();
        Callback::from(move |_| wallet.dispatch(WalletAction::Lock))
    };
    let body = match *mode {
        Mode::View => html! { <AccountView account={selected.clone()} /> },
        Mode::Create => {
            html! { <CreateFlow with_password={false} on_done={switch_to(&mode, Mode::View)} on_cancel={switch_to(&mode, Mode::View)} /> }
        }
        Mode::Restore => {
            html! { <RestoreFlow with_password={false} on_done={switch_to(&mode, Mode::View)} on_cancel={switch_to(&mode, Mode::View)} /> }
        }
    };
    html! {
        <>
            <section class="card account-bar">
                <label class="account-select">{ "Account" }
                    <select data-testid="account-select" {onchange} disabled={*mode != Mode::View}>
                        { for wallet.accounts().iter().map(|a| html! {
                            <option value={a.address.to_string()} selected={a.address == selected.address}>{ a.name.clone() }</option>
                        }) }
                    </select>
                </label>
                <div class="account-actions">
                    <button type="button" class="secondary" data-testid="add-account" onclick={switch_to(&mode, Mode::Create)}>{ "New account" }</button>
                    <button type="button" class="secondary" data-testid="add-restore" onclick={switch_to(&mode, Mode::Restore)}>{ "Restore account" }</button>
                    <button type="button" data-testid="lock" onclick={lock}>{ "Lock" }</button>
                </div>
            </section>
            { body }
        </>
    }
}
