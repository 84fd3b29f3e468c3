//! Explorer pages (being written).
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct IdProps {
    #[prop_or_default]
    pub id: String,
    #[prop_or_default]
    pub txid: String,
    #[prop_or_default]
    pub address: String,
}

#[function_component]
pub fn ExplorerHome() -> Html {
    html! {}
}
#[function_component]
pub fn BlockPage(_props: &IdProps) -> Html {
    html! {}
}
#[function_component]
pub fn TxPage(_props: &IdProps) -> Html {
    html! {}
}
#[function_component]
pub fn AddressPage(_props: &IdProps) -> Html {
    html! {}
}
#[function_component]
pub fn MempoolPage() -> Html {
    html! {}
}
#[function_component]
pub fn PeersPage() -> Html {
    html! {}
}
