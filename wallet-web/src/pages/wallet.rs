//! Wallet pages (being written).
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub children: Html,
}

#[function_component]
pub fn WalletProvider(props: &Props) -> Html {
    props.children.clone()
}

#[function_component]
pub fn WalletHome() -> Html {
    html! {}
}

#[function_component]
pub fn SendPage() -> Html {
    html! {}
}
