//! The wallet pages: accounts, balances, history, mining on the dev network, and sending.
//!
//! | file | holds |
//! | --- | --- |
//! | `context` | [`WalletProvider`]: the vault, the keys while unlocked, the selection, the last receipt |
//! | `live` | data from the node, fetched again on every node event |
//! | `verified` | the account as the wallet verified it itself: headers, filters, blocks |
//! | `home` | [`WalletHome`]: first account, unlock, account bar |
//! | `create`, `restore`, `unlock` | the forms that make or open the vault |
//! | `account` | one account: address, QR code, balances, history, mine button |
//! | `guard` | asking before leaving the backup words |
//! | `send` | [`SendPage`]: the payment form and its receipt |
//!
//! The checks and the vault itself are in [`crate::logic`], where they are tested natively.

mod account;
mod context;
mod create;
mod guard;
mod home;
mod live;
mod restore;
mod send;
mod unlock;
mod verified;

pub use context::{use_wallet, Receipt, WalletProvider, WalletState};
pub use home::WalletHome;
pub use send::SendPage;
pub use verified::OTHER_NODES_KEY;

use ferro_shared::Network;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::NodeRef;

/// The current text of an `<input>`.
fn input_value(input: &NodeRef) -> String {
    input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()
}

/// The current text of a `<textarea>`.
fn textarea_value(input: &NodeRef) -> String {
    input.cast::<HtmlTextAreaElement>().map(|i| i.value()).unwrap_or_default()
}

/// The node's network, which new accounts' addresses are made for.
fn network_or_error(network: Option<Network>) -> Result<Network, String> {
    network.ok_or_else(|| {
        "The node has not answered yet, so the wallet does not know which network to make the address for. \
         Check the node, then try again."
            .to_string()
    })
}
