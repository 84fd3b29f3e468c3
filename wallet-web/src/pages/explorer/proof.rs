//! "Included in block N, verified against proof of work": a confirmed transaction's Merkle
//! inclusion proof, checked against headers the wallet verified itself (kept in IndexedDB and
//! brought up to the node's tip first), never against what the node says.

use crate::api::Api;
use crate::app::use_node;
use ferro_shared::api::TxView;
use ferro_shared::light::{check_inclusion, Applied, VerifiedHeaders};
use ferro_shared::Network;
use yew::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum Proven {
    Checking,
    Included { height: u64, confirmations: u64 },
    Failed { node: String, what: String },
    Unavailable(String),
}

#[derive(Properties, PartialEq)]
pub struct ProofProps {
    pub tx: TxView,
    pub network: Network,
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Brings the stored headers up to `api`'s tip, then checks the transaction's proof.
async fn prove(api: Api, tx: TxView, network: Network) -> Proven {
    let node = api.base().to_string();
    let failed = |what: String| Proven::Failed { node: node.clone(), what };
    let mut chain = VerifiedHeaders::restore(network, &crate::headers_db::load(network).await, now());
    let before = chain.height();
    for _ in 0..64 {
        let page = match api.headers_after(&chain.locator()).await {
            Ok(page) => page,
            Err(e) => return Proven::Unavailable(e.in_words()),
        };
        match chain.apply(&page, now()) {
            Ok(Applied::Extended { .. } | Applied::Reorganized { .. }) if page.len() >= 2_000 => continue,
            Ok(_) => break,
            Err(e) => return failed(e.to_string()),
        }
    }
    if chain.height() != before {
        let _ = crate::headers_db::save(network, chain.headers()).await;
    }
    let proof = match api.proof(&tx.txid.to_string()).await {
        Ok(proof) => proof,
        Err(e) => return Proven::Unavailable(e.in_words()),
    };
    let branch: Option<Vec<[u8; 32]>> =
        proof.branch.iter().map(|h| hex::decode(h).ok().and_then(|b| b.try_into().ok())).collect();
    let Some(branch) = branch else { return failed("a proof whose hashes are not 32 bytes of hex".into()) };
    match check_inclusion(&chain, proof.height, &tx.transaction, proof.position, proof.count, &branch) {
        Ok(()) => Proven::Included { height: proof.height, confirmations: chain.height() + 1 - proof.height },
        Err(e) => failed(e.to_string()),
    }
}

/// The verified inclusion line of a confirmed transaction's page.
#[function_component]
pub fn VerifiedInclusion(props: &ProofProps) -> Html {
    let node = use_node();
    let state = use_state(|| Proven::Checking);
    {
        let (state, api, tx, network) = (state.clone(), node.api.clone(), props.tx.clone(), props.network);
        use_effect_with((props.tx.txid, props.tx.block, node.tick), move |_| {
            wasm_bindgen_futures::spawn_local(async move { state.set(prove(api, tx, network).await) });
        });
    }
    match &*state {
        Proven::Checking => {
            html! { <p class="hint" data-testid="tx-proof">{ "Checking the inclusion proof…" }</p> }
        }
        Proven::Included { height, confirmations } => html! {
            <p class="ok" data-testid="tx-proof">{ format!(
                "Included in block {height}, verified against proof of work, {confirmations} confirmation{}",
                if *confirmations == 1 { "" } else { "s" }
            ) }</p>
        },
        Proven::Failed { node, what } => html! {
            <p class="error" data-testid="tx-proof">{ format!(
                "Not verified: the node at {node} served something that failed verification: {what}"
            ) }</p>
        },
        Proven::Unavailable(why) => html! {
            <p class="hint" data-testid="tx-proof">{ format!("Not verified yet: {why}") }</p>
        },
    }
}
