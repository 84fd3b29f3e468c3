//! Pages for what the explorer cannot show: a block, transaction or address that does not exist
//! or is not written right, or a node that does not answer. Each says what is wrong in words a
//! person understands, and offers the search box and a way back.

use super::home::SearchBox;
use crate::api::ApiError;
use crate::app::Route;
use crate::logic::search::{classify, Query};
use yew::prelude::*;
use yew_router::prelude::*;

/// A page that explains why there is nothing to show.
pub fn problem(title: &str, words: String) -> Html {
    html! {
        <section class="card problem" data-testid="problem">
            <h2 data-testid="problem-title">{ title.to_string() }</h2>
            <p data-testid="problem-words">{ words }</p>
            <SearchBox />
            <p class="problem-back">
                <Link<Route> to={Route::Explorer}>{ "← Back to the explorer" }</Link<Route>>
                { " · " }
                <Link<Route> to={Route::Wallet}>{ "the wallet" }</Link<Route>>
            </p>
        </section>
    }
}

/// The problem page for an error that is not about the thing asked for.
fn other(error: &ApiError, what: &str) -> Html {
    let title = match error {
        ApiError::Network(_) => "The node cannot be reached".to_string(),
        ApiError::Refused => "The node refuses this page".to_string(),
        ApiError::Unreadable(_) => "The node's answer cannot be read".to_string(),
        ApiError::Node { .. } => format!("The node could not show this {what}"),
    };
    problem(&title, error.in_words())
}

/// Why block `id` (a height or a hash, as typed in the URL) cannot be shown; `tip` is the
/// node's height when known.
pub fn block_problem(id: &str, error: &ApiError, tip: Option<u64>) -> Html {
    match (error.code(), classify(id)) {
        (Some("not_found"), Query::Height(h)) => problem(
            "No such block",
            match tip {
                Some(tip) => {
                    format!("There is no block at height {h} yet: this node's chain ends at height {tip}.")
                }
                None => format!("There is no block at height {h} on this node's chain."),
            },
        ),
        (Some("not_found"), _) => problem(
            "No such block",
            "This node knows no block with this hash. It may be on a branch the node never saw, \
             or it may not exist."
                .into(),
        ),
        (Some("bad_request"), _) => problem(
            "Not a block",
            format!(
                "\u{201c}{id}\u{201d} is not a block height or a block hash. A height is a number \
                 like 12; a hash is 64 hexadecimal characters (0\u{2013}9, a\u{2013}f)."
            ),
        ),
        _ => other(error, "block"),
    }
}

/// Why transaction `txid` (as typed in the URL) cannot be shown.
pub fn tx_problem(txid: &str, error: &ApiError) -> Html {
    match error.code() {
        Some("not_found") => problem(
            "No such transaction",
            "This node knows no transaction with this id, in its chain or among its pending \
             transactions. It may not have reached this node yet, or it was never sent."
                .into(),
        ),
        Some("bad_request") => problem(
            "Not a transaction id",
            format!(
                "\u{201c}{txid}\u{201d} is not a transaction id: a transaction id is 64 \
                 hexadecimal characters (0\u{2013}9, a\u{2013}f)."
            ),
        ),
        _ => other(error, "transaction"),
    }
}

/// Why an address the node refused cannot be shown.
pub fn address_problem(error: &ApiError) -> Html {
    match error.code() {
        Some("invalid_address") => problem("Not an address", error.in_words()),
        _ => other(error, "address"),
    }
}
