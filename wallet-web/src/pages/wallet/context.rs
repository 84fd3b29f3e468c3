//! The wallet context: the stored vault, the keys while unlocked, the selected account and the
//! last payment's receipt. Every wallet page reads it through [`use_wallet`].
//!
//! The keys live in an `Rc<Unlocked>` held by this context only; locking drops it, which wipes
//! them. Nothing here is ever logged or sent to the node.

use crate::logic::vault::{may_replace, AccountInfo, Unlocked, VaultFile};
use ferro_shared::{Address, Amount, Txid};
use gloo_storage::{LocalStorage, Storage};
use std::rc::Rc;
use wasm_bindgen::JsCast;
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
    /// The stored vault changed (another tab wrote it, or this one set it aside): read it again.
    /// The keys are forgotten: they may no longer match the stored accounts.
    Reload,
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
            WalletAction::Reload => {
                let stored = WalletState::load();
                if stored.vault == self.vault && stored.load_error == self.load_error {
                    return self;
                }
                next = stored;
            }
        }
        Rc::new(next)
    }
}

/// Stores the vault over `known` (the vault this page read, `None` if it had none); the caller
/// dispatches [`WalletAction::Saved`] only when this succeeds. Refuses when the browser holds
/// another vault by now (written from another tab), which storing would lose.
pub fn store_vault(known: Option<&VaultFile>, vault: &VaultFile) -> Result<(), String> {
    let storage = LocalStorage::raw();
    let stored = storage.get_item(VAULT_KEY).ok().flatten();
    may_replace(stored.as_deref(), known).map_err(|e| e.to_string())?;
    storage.set_item(VAULT_KEY, &vault.to_json()).map_err(|_| {
        "The browser refused to store the wallet (is its storage full or disabled?).".to_string()
    })
}

/// Moves a vault that cannot be read out of the way, to a key of its own, so a new one can be
/// made or restored; nothing is deleted. Returns the key it is kept under.
pub fn set_aside_unreadable_vault() -> Result<String, String> {
    let storage = LocalStorage::raw();
    let refused = |_| "The browser refused to change its storage (is it full or disabled?).".to_string();
    let Some(raw) = storage.get_item(VAULT_KEY).map_err(refused)? else {
        return Err("There is no stored wallet to set aside any more.".into());
    };
    let key = format!("{VAULT_KEY}.unreadable.{}", js_sys::Date::now() as u64);
    storage.set_item(&key, &raw).map_err(refused)?;
    storage.remove_item(VAULT_KEY).map_err(refused)?;
    Ok(key)
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
    {
        // Another tab of this wallet stored a vault: follow it rather than overwrite it later.
        let wallet = wallet.clone();
        use_effect_with((), move |_| {
            let listener = gloo_events::EventListener::new(&window(), "storage", move |event| {
                let key = event.dyn_ref::<web_sys::StorageEvent>().and_then(|e| e.key());
                // A `None` key means the whole storage was cleared.
                if key.as_deref().is_none_or(|k| k == VAULT_KEY) {
                    wallet.dispatch(WalletAction::Reload);
                }
            });
            move || drop(listener)
        });
    }
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

fn window() -> web_sys::Window {
    web_sys::window().expect("the wallet runs in a browser window")
}

/// The wallet context; every page is inside [`WalletProvider`].
#[hook]
pub fn use_wallet() -> UseReducerHandle<WalletState> {
    use_context::<UseReducerHandle<WalletState>>().expect("pages render inside WalletProvider")
}
