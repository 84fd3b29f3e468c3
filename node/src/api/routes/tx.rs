//! Transactions: `GET /api/transactions/{txid}`, `POST /api/transactions`, `GET /api/mempool`.

use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::node::{Node, Origin};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use ferro_shared::api::{MempoolView, SubmitTxResponse, TxView};
use ferro_shared::{Transaction, Txid};

pub fn routes() -> Router<Node> {
    Router::new()
        .route("/transactions", axum::routing::post(submit))
        .route("/transactions/{txid}", get(transaction))
        .route("/mempool", get(mempool))
}

async fn transaction(
    State(node): State<Node>,
    txid: Result<Path<String>, PathRejection>,
) -> Result<Json<TxView>, ApiError> {
    let Path(txid) = txid?;
    let parsed: Txid =
        txid.parse().map_err(|e| ApiError::bad_request(format!("bad transaction id {txid:?}: {e}")))?;
    match node.transaction(&parsed)? {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::not_found(format!("no transaction {parsed} in the chain or the mempool"))),
    }
}

/// Admits a signed transaction to the mempool. Rejections answer the mempool's code:
/// 409 for `already_known` and `double_spend`, 400 for the rest.
async fn submit(
    State(node): State<Node>,
    Json(tx): Json<Transaction>,
) -> Result<Json<SubmitTxResponse>, ApiError> {
    let accepted = node.submit_transaction(tx, Origin::Local).await?;
    Ok(Json(SubmitTxResponse { txid: accepted.txid }))
}

async fn mempool(State(node): State<Node>) -> Json<MempoolView> {
    Json(node.mempool_view())
}

#[cfg(test)]
mod tests {
    use crate::api::testkit::*;
    use ferro_shared::api::{AddressView, MempoolView, SubmitTxResponse, TxState, TxView};
    use ferro_shared::Amount;

    #[tokio::test]
    async fn a_posted_payment_is_pending_until_mined() {
        let t = TestNode::dev();
        let app = t.app();
        let (alice, bob) = (key(1), key(2));
        mine_to(&app, &address_of(&alice), 1).await;

        let tx = payment(&app, &alice, &address_of(&bob), 1_000_000_000).await;
        let answer: SubmitTxResponse = post_ok(&app, "/api/transactions", &tx).await;
        assert_eq!(answer.txid, tx.txid());

        let view: TxView = get_ok(&app, &format!("/api/transactions/{}", tx.txid())).await;
        assert_eq!((view.status, view.confirmations, view.block), (TxState::Pending, 0, None));
        assert_eq!(view.transaction, tx);
        let fee = view.fee.expect("a payment has a fee");
        assert!(fee > Amount::ZERO);

        let to_bob: AddressView = get_ok(&app, &format!("/api/addresses/{}", address_of(&bob))).await;
        assert_eq!((to_bob.balance, to_bob.pending), (Amount::ZERO, Amount::from_units(1_000_000_000)));
        assert_eq!(to_bob.utxos.len(), 1);
        assert_eq!(to_bob.utxos[0].height, None);
        let from_alice: AddressView = get_ok(&app, &format!("/api/addresses/{}", address_of(&alice))).await;
        assert_eq!(from_alice.balance, Amount::from_units(5_000_000_000));
        assert_eq!(from_alice.pending.units(), 5_000_000_000 - 1_000_000_000 - fee.units());

        let pool: MempoolView = get_ok(&app, "/api/mempool").await;
        assert_eq!(pool.count, 1);
        assert_eq!(pool.transactions[0].txid, tx.txid());

        mine_to(&app, &address_of(&alice), 1).await;
        let view: TxView = get_ok(&app, &format!("/api/transactions/{}", tx.txid())).await;
        assert_eq!((view.status, view.confirmations, view.block_height), (TxState::Confirmed, 1, Some(2)));
        let to_bob: AddressView = get_ok(&app, &format!("/api/addresses/{}", address_of(&bob))).await;
        assert_eq!(to_bob.balance, Amount::from_units(1_000_000_000));
    }
}
