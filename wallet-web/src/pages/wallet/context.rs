//! The wallet context: the stored vault, the keys while unlocked, the selected account and the
//! last payment's receipt. Every wallet page reads it through [`use_wallet`].
//!
//! The keys live in an `Rc<Unlocked>` held by this context only; locking drops it, which wipes
//! them. Nothing here is ever logged or sent to the node.

use crate::logic::vault::{AccountInfo, Unlocked, VaultFile};
use ferro_shared::{Address, Amount, Txid};
use gloo_storage::{LocalStorage, Storage};
use std::rc::Rc;
use yew::prelude::*;

/// Where the vault is stored (JSON of [`VaultFile`]).
pub const VAULT_KEY: &str = "ferro.vault";
/// Where the selected account's address is stored (a JSON string).
pub const SELECTED_KEY: &str = "ferro.selected";

/// What the last payment looked like when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub txid: Txid,
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
    pub fee: Amount,
}

/// The wallet as every page sees it.
#[derive(Default)]
pub struct WalletState {
    /// `None` until the first account is made.
    pub vault: Option<VaultFile>,
    /// Why the stored vault could not be read, if it could not.
    pub load_error: Option<String>,
    /// The opened vault; `None` while locked.
    pub keys: Option<Rc<Unlocked>>,
    selected: Option<Address>,
    pub receipt: Option<Receipt>,
}

impl PartialEq for WalletState {
    fn eq(&self, other: &Self) -> bool {
        let same_keys = match (&self.keys, &other.keys) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_keys
            && self.vault == other.vault
            && self.load_error == other.load_error
            && self.selected == other.selected
            && self.receipt == other.receipt
    }
}

impl WalletState {
    /// Reads the vault and the selection from the browser's storage.
    fn load() -> Self {
        let raw = LocalStorage::raw().get_item(VAULT_KEY).ok().flatten();
        let (vault, load_error) = match raw.map(|json| VaultFile::from_json(&json)) {
            None => (None, None),
            Some(Ok(v)) => (Some(v), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        let selected =
            LocalStorage::get::<String>(SELECTED_KEY).ok().and_then(|s| Address::parse_any(&s).ok());
        WalletState { vault, load_error, keys: None, selected, receipt: None }
    }

    pub fn accounts(&self) -> &[AccountInfo] {
        self.vault.as_ref().map(|v| v.accounts.as_slice()).unwrap_or_default()
    }

    /// The selected account, or the first one when the stored choice is gone.
    pub fn selected(&self) -> Option<&AccountInfo> {
        let accounts = self.accounts();
        accounts.iter().find(|a| Some(a.address) == self.selected).or(accounts.first())
    }

    pub fn is_unlocked(&self) -> bool {
        self.keys.is_some()
    }
}

/// Changes to the wallet.
pub enum WalletAction {
    /// The vault was created or grew, and is stored; it is open, and `select` is selected.
    Saved {
        vault: VaultFile,
        keys: Rc<Unlocked>,
        select: Address,
    },
    Unlocked(Rc<Unlocked>),
    /// Forgets the keys.
    Lock,
    Select(Address),
    Sent(Receipt),
    DismissReceipt,
}

impl Reducible for WalletState {
    type Action = WalletAction;

    fn reduce(self: Rc<Self>, action: WalletAction) -> Rc<Self> {
        let mut next = WalletState {
            vault: self.vault.clone(),
            load_error: self.load_error.clone(),
            keys: self.keys.clone(),
            selected: self.selected,
            receipt: self.receipt.clone(),
        };
        match action {
            WalletAction::Saved { vault, keys, select } => {
                next.vault = Some(vault);
                next.load_error = None;
                next.keys = Some(keys);
                next.selected = Some(select);
            }
            WalletAction::Unlocked(keys) => next.keys = Some(keys),
            WalletAction::Lock => {
                next.keys = None;
                next.receipt = None;
            }
            WalletAction::Select(address) => next.selected = Some(address),
            WalletAction::Sent(receipt) => next.receipt = Some(receipt),
            WalletAction::DismissReceipt => next.receipt = None,
        }
        Rc::new(next)
    }
}

/// Stores the vault; the caller dispatches [`WalletAction::Saved`] only when this succeeds.
pub fn store_vault(vault: &VaultFile) -> Result<(), String> {
    LocalStorage::raw().set_item(VAULT_KEY, &vault.to_json()).map_err(|_| {
        "The browser refused to store the wallet (is its storage full or disabled?).".to_string()
    })
}

/// Lets the browser paint (a "working…" message) before a long computation such as Argon2
/// blocks the page's only thread.
pub async fn after_paint() {
    gloo_timers::future::sleep(std::time::Duration::from_millis(40)).await;
}

#[derive(Properties, PartialEq)]
pub struct WalletProviderProps {
    pub children: Html,
}

/// Holds the wallet for the whole app.
#[function_component]
pub fn WalletProvider(props: &WalletProviderProps) -> Html {
    let wallet = use_reducer(WalletState::load);
    let selected = wallet.selected().map(|a| a.address);
    use_effect_with(selected, |selected| {
        if let Some(address) = selected {
            let _ = LocalStorage::set(SELECTED_KEY, address.to_string());
        }
    });
    html! {
        <ContextProvider<UseReducerHandle<WalletState>> context={wallet}>
            { props.children.clone() }
        </ContextProvider<UseReducerHandle<WalletState>>>
    }
}

/// The wallet context; every page is inside [`WalletProvider`].
#[hook]
pub fn use_wallet() -> UseReducerHandle<WalletState> {
    use_context::<UseReducerHandle<WalletState>>().expect("pages render inside WalletProvider")
}
