//! Sending coins: fields checked as they are typed, the fee shown as the payment is built, a
//! review of what will leave the account, and only then the signed transaction posted and
//! followed to its confirmation.
//!
//! ```text
//!  to ──Address::parse──┐
//!  amount ─parse_coins──┼─► build_payment(key, utxos) ─► fee, change ─► "Review payment"
//!  fee rate ────────────┘        (locally, in wasm)                        │ (Enter lands here)
//!                                                                          ▼
//!                          review: recipient, amount, fee, total, fee warning, own address
//!                                                                          │ "Sign and send"
//!                                                                          ▼
//!                                                            api.submit(tx) ─► receipt
//! ```

use super::context::{use_wallet, Receipt, WalletAction};
use super::live::use_live;
use crate::app::{use_node, Route};
use crate::logic::account::{coins, spendable};
use crate::logic::format::noun_for;
use crate::logic::forms::{self, FieldError, DEFAULT_FEE_RATE};
use crate::logic::messages;
use crate::logic::payment::{fee_percent, fee_warning, own_recipient, send_all_amount};
use ferro_shared::api::{TxState, TxView};
use ferro_shared::wallet::{build_payment, BuiltTransaction};
use ferro_shared::{Address, Amount, Txid};
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::Link;

#[function_component]
pub fn SendPage() -> Html {
    let wallet = use_wallet();
    let receipt = wallet.receipt.clone().map(|r| html! { <ReceiptView receipt={r} /> });
    let body = match (&wallet.keys, wallet.selected()) {
        (Some(_), Some(_)) => html! { <SendForm /> },
        // Unlocking here keeps the user on this page.
        (None, Some(_)) => html! {
            <>
                <p class="hint card" data-testid="send-locked">{ "Unlock your wallet to send: its keys sign the payment in this browser." }</p>
                <super::unlock::UnlockForm />
            </>
        },
        _ => html! {
            <section class="card" data-testid="send-locked">
                <h2>{ "Send coins" }</h2>
                <p>{ "Make or restore an account first." }</p>
                <Link<Route> to={Route::Wallet}>{ "Go to the wallet" }</Link<Route>>
            </section>
        },
    };
    html! { <div class="wallet send">{ receipt }{ body }</div> }
}

/// A field's text, updated as the user types.
fn field(state: &UseStateHandle<String>, clear: &UseStateHandle<Option<String>>) -> Callback<InputEvent> {
    let (state, clear) = (state.clone(), clear.clone());
    Callback::from(move |e: InputEvent| {
        state.set(e.target_unchecked_into::<HtmlInputElement>().value());
        clear.set(None);
    })
}

/// A payment built and signed in this browser, waiting for the user's go-ahead.
#[derive(Debug, Clone, PartialEq)]
struct Review {
    built: BuiltTransaction,
    to: Address,
    amount: Amount,
}

#[function_component]
fn SendForm() -> Html {
    let wallet = use_wallet();
    let node = use_node();
    let to = use_state(String::new);
    let amount = use_state(String::new);
    let rate = use_state(|| DEFAULT_FEE_RATE.to_string());
    let submit_error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let refresh = use_state(|| 0u64);
    let review = use_state(|| None::<Review>);

    let account = wallet.selected().cloned().expect("SendForm renders with an account");
    let live = use_live(Some(account.address), *refresh, |api, address: Address| async move {
        api.address(&address.to_string()).await
    });
    let network = node.status.as_ref().map(|s| s.network);
    let tip = node.status.as_ref().map(|s| s.height);

    let to_checked = network.map(|n| forms::recipient(&to, n));
    let amount_checked = forms::amount(&amount);
    let rate_checked = forms::fee_rate(&rate, account.network);
    let available = live.value.as_ref().zip(tip).map(|(v, tip)| spendable(&v.utxos, tip, account.network));

    // The payment as it would be sent, built (and signed) locally so the fee is known first.
    let preview: Rc<Option<Result<BuiltTransaction, String>>> = {
        let keys = wallet.keys.clone();
        let inputs = (
            to_checked.clone().and_then(Result::ok),
            amount_checked.clone().ok(),
            rate_checked.clone().ok(),
            available.clone(),
            account.clone(),
            network,
        );
        use_memo(inputs, move |(to, amount, rate, available, account, network)| {
            let (Some(to), Some(amount), Some(rate), Some(available)) = (to, amount, rate, available) else {
                return None;
            };
            if *network != Some(account.network) {
                return Some(Err(format!(
                    "This account belongs to the {} network, but the node runs another network.",
                    account.network
                )));
            }
            let key = keys.as_ref()?.account(&account.address)?.key().clone();
            Some(
                build_payment(&key, account.network, available, to, *amount, *rate)
                    .map_err(|e| messages::wallet_error(&e)),
            )
        })
    };
    // One message for one cause: a node that cannot be reached explains missing coins too.
    let problem =
        node.error.as_ref().map(|e| e.in_words()).or_else(|| live.error.as_ref().map(|e| e.in_words()));

    let onsubmit = {
        let (preview, submit_error, review) = (preview.clone(), submit_error.clone(), review.clone());
        let first_problem = [
            to_checked.clone().unwrap_or(Err(FieldError::AddressEmpty)).err(),
            amount_checked.clone().err(),
            rate_checked.clone().err(),
        ]
        .into_iter()
        .flatten()
        .next();
        let problem = problem.clone();
        let (to, amount) = (to_checked.clone().and_then(Result::ok), amount_checked.clone().ok());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(problem) = &problem {
                return submit_error.set(Some(problem.clone()));
            }
            if let Some(problem) = &first_problem {
                return submit_error.set(Some(problem.to_string()));
            }
            match (&*preview, to, amount) {
                (Some(Ok(built)), Some(to), Some(amount)) => {
                    submit_error.set(None);
                    review.set(Some(Review { built: built.clone(), to, amount }));
                }
                (Some(Err(e)), ..) => submit_error.set(Some(e.clone())),
                _ => submit_error
                    .set(Some("The account's coins are still loading. Try again in a moment.".into())),
            }
        })
    };

    let send_all = {
        let (amount_field, submit_error) = (amount.clone(), submit_error.clone());
        let (available, rate) = (available.clone(), rate_checked.clone());
        let problem = problem.clone();
        Callback::from(move |_: MouseEvent| {
            let result = match (&available, &rate, &problem) {
                (_, _, Some(problem)) => Err(problem.clone()),
                (_, Err(e), _) => Err(e.to_string()),
                (None, ..) => Err("The account's coins are still loading. Try again in a moment.".into()),
                (Some(available), Ok(rate), _) => {
                    send_all_amount(available, *rate).map_err(|e| messages::wallet_error(&e))
                }
            };
            match result {
                Ok(max) => {
                    amount_field.set(max.to_coin_string());
                    submit_error.set(None);
                }
                Err(e) => submit_error.set(Some(e)),
            }
        })
    };

    // Why the last "Sign and send" did not finish, while the review stays open.
    let review_error = use_state(|| None::<String>);
    let confirm = {
        let (review, submit_error, busy, refresh) =
            (review.clone(), submit_error.clone(), busy.clone(), refresh.clone());
        let (to_field, amount_field, review_error) = (to.clone(), amount.clone(), review_error.clone());
        let (api, wallet) = (node.api.clone(), wallet.clone());
        let from = account.address;
        Callback::from(move |_: MouseEvent| {
            let Some(Review { built, to, amount }) = (*review).clone() else { return };
            if *busy {
                return;
            }
            busy.set(true);
            review_error.set(None);
            let (api, wallet, busy, submit_error, refresh, review) = (
                api.clone(),
                wallet.clone(),
                busy.clone(),
                submit_error.clone(),
                refresh.clone(),
                review.clone(),
            );
            let (to_field, amount_field, review_error) =
                (to_field.clone(), amount_field.clone(), review_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let sent = match api.submit(&built.tx).await {
                    // Sent before, and the answer was lost: this is the same payment.
                    Err(e) if e.code() == Some("already_known") => Ok(built.tx.txid()),
                    other => other.map(|r| r.txid),
                };
                busy.set(false);
                match sent {
                    Ok(txid) => {
                        review.set(None);
                        let receipt = Receipt { txid, from, to, amount, fee: built.fee };
                        wallet.dispatch(WalletAction::Sent(receipt));
                        to_field.set(String::new());
                        amount_field.set(String::new());
                        refresh.set(*refresh + 1);
                    }
                    // No answer: the node may have the payment. Posting this same signed payment
                    // again cannot pay twice; building a new one could.
                    Err(e) if e.is_connection() => review_error.set(Some(format!(
                        "{} The payment may or may not have reached the node. \u{201c}Sign and \
                         send\u{201d} again posts this same payment, which cannot be paid twice; going \
                         back and building a new one could pay twice.",
                        e.in_words()
                    ))),
                    Err(e) => {
                        review.set(None);
                        submit_error.set(Some(e.in_words()));
                    }
                }
            });
        })
    };
    let back = {
        let (review, review_error) = (review.clone(), review_error.clone());
        Callback::from(move |_: MouseEvent| {
            review_error.set(None);
            review.set(None)
        })
    };

    if let Some(r) = &*review {
        let error = (*review_error).clone();
        return html! { <ReviewCard review={r.clone()} account={account.clone()} busy={*busy} {error} {confirm} {back} /> };
    }

    let to_check = match &to_checked {
        _ if to.trim().is_empty() => html! {},
        None => {
            html! { <p class="hint" data-testid="send-to-check">{ "Waiting for the node to tell its network…" }</p> }
        }
        Some(Ok(address)) => match own_recipient(address, &account.address, wallet.accounts()) {
            Some(notice) => html! { <p class="notice" data-testid="send-to-check">{ notice }</p> },
            None => html! { <p class="ok" data-testid="send-to-check">{ "valid address" }</p> },
        },
        Some(Err(e)) => html! { <p class="error" data-testid="send-to-check">{ e.to_string() }</p> },
    };
    let amount_error = match &amount_checked {
        Err(e) if !amount.trim().is_empty() => {
            html! { <p class="error" data-testid="send-amount-error">{ e.to_string() }</p> }
        }
        _ => html! {},
    };
    let rate_error = match &rate_checked {
        Err(e) => html! { <p class="error" data-testid="send-fee-rate-error">{ e.to_string() }</p> },
        Ok(_) => html! {},
    };
    let (summary, preview_error) = match &*preview {
        Some(Ok(built)) => (
            html! {
                <dl class="send-summary">
                    <dt>{ "Fee" }</dt><dd data-testid="send-fee">{ coins(built.fee) }</dd>
                    <dt>{ "Change back to you" }</dt><dd data-testid="send-change">{ coins(built.change) }</dd>
                    <dt>{ "Total leaving the account" }</dt>
                    <dd data-testid="send-total">{ coins(amount_checked.clone().ok().and_then(|a| a.checked_add(built.fee).ok()).unwrap_or(Amount::ZERO)) }</dd>
                </dl>
            },
            None,
        ),
        Some(Err(e)) => (html! {}, Some(e.clone())),
        None => (html! {}, None),
    };
    // The node's trouble first; then what the user tried; then what the payment as typed lacks.
    let error = problem.clone().or_else(|| (*submit_error).clone()).or(preview_error);
    let spendable_now = live.value.as_ref().map(|v| coins(v.pending)).unwrap_or_else(|| "…".into());

    html! {
        <form class="card send-form" {onsubmit}>
            <h2>{ format!("Send from \u{201c}{}\u{201d}", account.name) }</h2>
            <p class="hint">{ "Balance after pending transactions: " }<span data-testid="send-available">{ spendable_now }</span></p>
            <label>{ "Recipient address" }
                <input data-testid="send-to" value={(*to).clone()} oninput={field(&to, &submit_error)}
                    placeholder="fdev1…" autocomplete="off" spellcheck="false" />
            </label>
            { to_check }
            <label>{ "Amount (FRC)" }
                <span class="with-button">
                    <input data-testid="send-amount" value={(*amount).clone()} oninput={field(&amount, &submit_error)}
                        inputmode="decimal" autocomplete="off" />
                    <button type="button" class="secondary" data-testid="send-all" onclick={send_all}>{ "Send all" }</button>
                </span>
            </label>
            { amount_error }
            <label>{ "Fee rate (units per byte)" }
                <input data-testid="send-fee-rate" value={(*rate).clone()} oninput={field(&rate, &submit_error)}
                    inputmode="numeric" autocomplete="off" />
            </label>
            { rate_error }
            { summary }
            if let Some(e) = error { <p class="error" data-testid="send-error">{ e }</p> }
            <button type="submit" data-testid="send-review">{ "Review payment" }</button>
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct ReviewProps {
    review: Review,
    account: crate::logic::vault::AccountInfo,
    busy: bool,
    /// Why the last attempt to send did not finish.
    error: Option<String>,
    confirm: Callback<MouseEvent>,
    back: Callback<MouseEvent>,
}

/// What will leave the account, for a last look before anything is sent. Nothing has left the
/// browser yet; "Sign and send" posts the signed transaction.
#[function_component]
fn ReviewCard(props: &ReviewProps) -> Html {
    let wallet = use_wallet();
    let Review { built, to, amount } = &props.review;
    let total = amount.checked_add(built.fee).unwrap_or(Amount::ZERO);
    let percent = fee_percent(*amount, built.fee);
    let warning = fee_warning(*amount, built.fee);
    let own = own_recipient(to, &props.account.address, wallet.accounts());
    html! {
        <section class="card review" data-testid="review">
            <h2>{ "Review the payment" }</h2>
            <dl class="send-summary">
                <dt>{ "From" }</dt><dd>{ props.account.name.clone() }</dd>
                <dt>{ "To" }</dt><dd class="mono" data-testid="review-to">{ to.to_string() }</dd>
                <dt>{ "Amount" }</dt><dd data-testid="review-amount">{ coins(*amount) }</dd>
                <dt>{ "Fee" }</dt>
                <dd data-testid="review-fee">
                    { coins(built.fee) }
                    <span class="hint">{ if built.fee > *amount { " (more than the amount)".to_string() } else if percent == 0 { " (under 1% of the amount)".to_string() } else { format!(" ({percent}% of the amount)") } }</span>
                </dd>
                <dt>{ "Total leaving the account" }</dt><dd data-testid="review-total">{ coins(total) }</dd>
                if built.change > Amount::ZERO {
                    <dt>{ "Change back to you" }</dt><dd>{ coins(built.change) }</dd>
                }
            </dl>
            if let Some(w) = warning { <p class="warning" data-testid="review-fee-warning">{ w }</p> }
            if let Some(n) = own { <p class="notice" data-testid="review-own-address">{ n }</p> }
            if let Some(e) = &props.error { <p class="error" data-testid="review-error">{ e.clone() }</p> }
            <div class="actions">
                <button type="button" class="secondary" data-testid="review-back" onclick={props.back.clone()} disabled={props.busy}>{ "Back" }</button>
                <button type="button" data-testid="send-submit" onclick={props.confirm.clone()} disabled={props.busy}>
                    { if props.busy { "Sending…" } else { "Sign and send" } }
                </button>
            </div>
            <p class="hint">{ "Nothing has been sent yet. A payment cannot be taken back once it is sent." }</p>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ReceiptProps {
    receipt: Receipt,
}

/// The last payment, followed until it is confirmed.
#[function_component]
fn ReceiptView(props: &ReceiptProps) -> Html {
    let wallet = use_wallet();
    let r = &props.receipt;
    let live =
        use_live(Some(r.txid), 0, |api, txid: Txid| async move { api.transaction(&txid.to_string()).await });
    let (status, confirmations) = match &live.value {
        Some(TxView { status: TxState::Confirmed, confirmations, .. }) => ("confirmed", *confirmations),
        _ => ("pending", 0),
    };
    let dismiss = Callback::from(move |_| wallet.dispatch(WalletAction::DismissReceipt));
    let txid = r.txid.to_string();
    html! {
        <section class={classes!("card", "receipt", status)} data-testid="receipt">
            <h2>{ "Payment sent" }</h2>
            <dl>
                <dt>{ "Transaction" }</dt>
                <dd class="mono"><Link<Route> to={Route::Tx { txid: txid.clone() }}><span data-testid="receipt-txid">{ txid }</span></Link<Route>></dd>
                <dt>{ "From" }</dt><dd class="mono" data-testid="receipt-from">{ r.from.to_string() }</dd>
                <dt>{ "To" }</dt><dd class="mono" data-testid="receipt-to">{ r.to.to_string() }</dd>
                <dt>{ "Amount" }</dt><dd data-testid="receipt-amount">{ coins(r.amount) }</dd>
                <dt>{ "Fee" }</dt><dd data-testid="receipt-fee">{ coins(r.fee) }</dd>
                <dt>{ "Status" }</dt>
                <dd>
                    <span class="status" data-testid="receipt-status">{ status }</span>
                    { " · " }<span data-testid="receipt-confirmations">{ confirmations }</span>{ format!(" {}", noun_for(confirmations, "confirmation")) }
                </dd>
            </dl>
            <button type="button" class="secondary" data-testid="receipt-dismiss" onclick={dismiss}>{ "Dismiss" }</button>
        </section>
    }
}
