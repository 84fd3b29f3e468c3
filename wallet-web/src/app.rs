//! Routes, layout, and the node context every page reads: which node, its status, and a tick
//! that advances on every event the node pushes (new tip, new transaction).

use crate::api::{follow_events, Api, ApiError};
use crate::pages;
use ferro_shared::api::{Event, StatusResponse};
use gloo_storage::{LocalStorage, Storage};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use yew::prelude::*;
use yew_router::prelude::*;

/// Every page has a real URL, so a reload lands where the user was.
#[derive(Clone, Routable, PartialEq, Debug)]
pub enum Route {
    #[at("/")]
    Wallet,
    #[at("/send")]
    Send,
    #[at("/settings")]
    Settings,
    #[at("/explorer")]
    Explorer,
    #[at("/blocks/:id")]
    Block { id: String },
    #[at("/tx/:txid")]
    Tx { txid: String },
    #[at("/address/:address")]
    Address { address: String },
    #[at("/mempool")]
    Mempool,
    #[at("/peers")]
    Peers,
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Wallet => html! { <pages::wallet::WalletHome /> },
        Route::Send => html! { <pages::wallet::SendPage /> },
        Route::Settings => html! { <pages::settings::SettingsPage /> },
        Route::Explorer => html! { <pages::explorer::ExplorerHome /> },
        Route::Block { id } => html! { <pages::explorer::BlockPage {id} /> },
        Route::Tx { txid } => html! { <pages::explorer::TxPage {txid} /> },
        Route::Address { address } => html! { <pages::explorer::AddressPage {address} /> },
        Route::Mempool => html! { <pages::explorer::MempoolPage /> },
        Route::Peers => html! { <pages::explorer::PeersPage /> },
        Route::NotFound => pages::explorer::problem(
            "No such page",
            "The wallet has no page at this address. Search the chain, or go back.".into(),
        ),
    }
}

/// Where the wallet remembers a node the user chose instead of the page's own.
const NODE_KEY: &str = "ferro.node";

/// What every page knows about the node.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeCtx {
    pub api: Api,
    /// The latest status, `None` until the node first answers.
    pub status: Option<StatusResponse>,
    /// Advances on every event from the node; pages refetch when it changes.
    pub tick: u64,
    pub last_event: Option<Event>,
    /// Set while the node cannot be reached (or the browser refuses it).
    pub error: Option<ApiError>,
    /// When the node last answered (milliseconds since the Unix epoch, the browser's clock):
    /// what pages show while `error` is set dates from then.
    pub last_seen: Option<f64>,
    /// Points the wallet at another node (an empty string means the page's own).
    pub set_node: Callback<String>,
}

#[derive(Clone, PartialEq, Default)]
struct Live {
    status: Option<StatusResponse>,
    tick: u64,
    last_event: Option<Event>,
    error: Option<ApiError>,
    last_seen: Option<f64>,
}

enum LiveAction {
    /// Another node was chosen: nothing known of the previous one applies.
    Reset,
    /// The node answered its status at this time.
    Status(StatusResponse, f64),
    /// The node pushed events (`Some`: the newest of them), or its event stream was opened
    /// again (`None`): pages fetch what they show again.
    Changed(Option<Event>),
    Down(ApiError),
}

impl Reducible for Live {
    type Action = LiveAction;
    fn reduce(self: Rc<Self>, action: LiveAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            LiveAction::Reset => return Rc::new(Live { tick: self.tick + 1, ..Live::default() }),
            LiveAction::Status(s, at) => {
                // Back after being unreachable: every page fetches again now, instead of at
                // the next event the node happens to send.
                if next.error.is_some() {
                    next.tick += 1;
                }
                next.status = Some(s);
                next.error = None;
                next.last_seen = Some(at);
            }
            LiveAction::Changed(e) => {
                next.tick += 1;
                if e.is_some() {
                    next.last_event = e;
                }
            }
            LiveAction::Down(e) => next.error = Some(e),
        }
        Rc::new(next)
    }
}

fn initial_node() -> String {
    LocalStorage::get::<String>(NODE_KEY).ok().filter(|s| !s.is_empty()).unwrap_or_else(Api::page_origin)
}

#[derive(Properties, PartialEq)]
pub struct ProviderProps {
    pub children: Html,
}

/// How often pushed events are passed on to the pages, at most: a node that pushes thousands
/// of events a second makes the wallet refetch a few times a second, not thousands.
const EVENT_BATCH: Duration = Duration::from_millis(250);
/// How long to wait before opening a closed event stream again.
const RECONNECT: Duration = Duration::from_secs(2);

/// Follows one node until dropped: its status, its event stream (opened again 2 s after it
/// closes, with a status request that says whether the node is still there), and the pages'
/// refetches, batched ([`EVENT_BATCH`]) with one status request at a time.
async fn follow_node(api: Api, live: UseReducerDispatcher<Live>) {
    use futures_util::future::{select, Either};
    let mut first = true;
    loop {
        match api.status().await {
            Ok(status) => {
                live.dispatch(LiveAction::Status(status, js_sys::Date::now()));
                // Events may have been missed while the stream was closed.
                if !first {
                    live.dispatch(LiveAction::Changed(None));
                }
            }
            Err(e) => live.dispatch(LiveAction::Down(e)),
        }
        first = false;
        let newest: Rc<RefCell<Option<Event>>> = Rc::default();
        let stream = {
            let newest = newest.clone();
            follow_events(api.clone(), move |event| *newest.borrow_mut() = Some(event))
        };
        let batches = async {
            loop {
                gloo_timers::future::sleep(EVENT_BATCH).await;
                let Some(event) = newest.borrow_mut().take() else { continue };
                live.dispatch(LiveAction::Changed(Some(event)));
                // Height, mempool size and peers all move with events.
                if let Ok(status) = api.status().await {
                    live.dispatch(LiveAction::Status(status, js_sys::Date::now()));
                }
            }
        };
        // The stream ends when the node goes away; the next status request says why.
        let _: Either<_, ((), _)> = select(Box::pin(stream), Box::pin(batches)).await;
        gloo_timers::future::sleep(RECONNECT).await;
    }
}

/// Follows the chosen node: fetches its status, listens to its events, reconnects when the
/// connection drops.
#[function_component]
pub fn NodeProvider(props: &ProviderProps) -> Html {
    let base = use_state(initial_node);
    let live = use_reducer(Live::default);
    let api = Api::new(&base);

    {
        let live = live.dispatcher();
        use_effect_with(api.clone(), move |api| {
            live.dispatch(LiveAction::Reset);
            // Dropping the task closes its event stream and cancels its requests.
            let (task, stop) = futures_util::future::abortable(follow_node(api.clone(), live));
            wasm_bindgen_futures::spawn_local(async move {
                let _ = task.await;
            });
            move || stop.abort()
        });
    }

    let set_node = {
        let base = base.clone();
        Callback::from(move |url: String| {
            let url = url.trim().trim_end_matches('/').to_string();
            if url.is_empty() {
                LocalStorage::delete(NODE_KEY);
                base.set(Api::page_origin());
            } else {
                let _ = LocalStorage::set(NODE_KEY, &url);
                base.set(url);
            }
        })
    };
    let ctx = NodeCtx {
        api,
        status: live.status.clone(),
        tick: live.tick,
        last_event: live.last_event.clone(),
        error: live.error.clone(),
        last_seen: live.last_seen,
        set_node,
    };
    html! {
        <ContextProvider<NodeCtx> context={ctx}>
            { props.children.clone() }
        </ContextProvider<NodeCtx>>
    }
}

/// The node context; every page is inside the provider.
#[hook]
pub fn use_node() -> NodeCtx {
    use_context::<NodeCtx>().expect("pages render inside NodeProvider")
}

#[function_component]
fn Header() -> Html {
    let node = use_node();
    let status = match (&node.status, &node.error) {
        (_, Some(ApiError::Refused)) => html! {
            <span class="badge bad" data-testid="node-status" title={ApiError::Refused.in_words()}>{ "node refuses this page" }</span>
        },
        (_, Some(e)) => {
            html! { <span class="badge bad" data-testid="node-status" title={e.in_words()}>{ "node unreachable" }</span> }
        }
        (Some(s), None) => html! {
            <span class="badge" data-testid="node-status">
                { format!("{} · height {} · {}", s.network, s.height, crate::logic::format::plural(s.peers, "peer")) }
                if s.sync.syncing { { format!(" · syncing {:.0}%", s.sync.progress * 100.0) } }
            </span>
        },
        (None, None) => html! { <span class="badge">{ "connecting…" }</span> },
    };
    html! {
        <header class="top">
            <Link<Route> to={Route::Wallet} classes="brand">{ "Ferrocoin" }</Link<Route>>
            <nav>
                <Link<Route> to={Route::Wallet}>{ "Wallet" }</Link<Route>>
                <Link<Route> to={Route::Send}>{ "Send" }</Link<Route>>
                <Link<Route> to={Route::Explorer}>{ "Explorer" }</Link<Route>>
                <Link<Route> to={Route::Settings}>{ "Node" }</Link<Route>>
            </nav>
            { status }
        </header>
    }
}

#[function_component]
pub fn App() -> Html {
    html! {
        <BrowserRouter>
            <NodeProvider>
                <pages::wallet::WalletProvider>
                    <Header />
                    <main>
                        <Switch<Route> render={switch} />
                    </main>
                </pages::wallet::WalletProvider>
            </NodeProvider>
        </BrowserRouter>
    }
}
