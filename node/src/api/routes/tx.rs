//! Transactions: `GET /api/transactions/{txid}`, `POST /api/transactions`,
//! `POST /api/transactions/batch`, `GET /api/mempool`.

use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::node::{Node, Origin};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use ferro_shared::api::{
    BatchResult, ErrorDetail, MempoolView, SubmitBatchRequest, SubmitBatchResponse, SubmitTxResponse, TxView,
    MAX_TX_BATCH,
};
use ferro_shared::{Transaction, Txid};

pub fn routes() -> Router<Node> {
    Router::new()
        .route("/transactions", axum::routing::post(submit))
        .route("/transactions/batch", axum::routing::post(submit_batch))
        .route("/transactions/{txid}", get(transaction))
        .route("/transactions/{txid}/proof", get(proof))
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

/// `GET /api/transactions/{txid}/proof`: the Merkle inclusion proof of a confirmed transaction;
/// 404 while it is pending or unknown.
async fn proof(
    State(node): State<Node>,
    txid: Result<Path<String>, PathRejection>,
) -> Result<Json<ferro_shared::api::InclusionProof>, ApiError> {
    let Path(txid) = txid?;
    let parsed: Txid =
        txid.parse().map_err(|e| ApiError::bad_request(format!("bad transaction id {txid:?}: {e}")))?;
    let proof = crate::env::blocking(move || node.inclusion_proof(&parsed))
        .await
        .map_err(|e| ApiError::internal("building a proof", &e))??;
    proof.map(Json).ok_or_else(|| ApiError::not_found(format!("transaction {parsed} is not in the chain")))
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

/// Admits up to [`MAX_TX_BATCH`] transactions in order, verifying their signatures on every core;
/// 200 with one result per transaction, each admitted or refused as `POST /api/transactions`
/// would. A batch too large is refused whole (400 `too_many`).
async fn submit_batch(
    State(node): State<Node>,
    Json(batch): Json<SubmitBatchRequest>,
) -> Result<Json<SubmitBatchResponse>, ApiError> {
    let count = batch.transactions.len();
    if count > MAX_TX_BATCH {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many",
            format!("{count} transactions in one batch; at most {MAX_TX_BATCH}"),
        ));
    }
    let txids: Vec<Txid> = batch.transactions.iter().map(Transaction::txid).collect();
    let results = node.submit_transactions(batch.transactions, Origin::Local).await?;
    let results = txids
        .into_iter()
        .zip(results)
        .map(|(txid, result)| BatchResult {
            txid,
            error: result.err().map(|e| {
                let e = ApiError::from(e);
                ErrorDetail { code: e.code.to_string(), message: e.message }
            }),
        })
        .collect();
    Ok(Json(SubmitBatchResponse { results }))
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

    #[tokio::test]
    async fn a_batch_is_admitted_in_order_with_one_answer_each() {
        use ferro_shared::api::{SubmitBatchRequest, SubmitBatchResponse, MAX_TX_BATCH};
        let t = TestNode::dev();
        let app = t.app();
        let (alice, bob, carol) = (key(1), key(2), key(3));
        mine_to(&app, &address_of(&alice), 1).await;
        // Alice has one coin: the first payment takes it, the second wants it too.
        let first = payment(&app, &alice, &address_of(&bob), 1_000_000_000).await;
        let rival = payment(&app, &alice, &address_of(&carol), 2_000_000_000).await;
        let mut forged = rival.clone();
        forged.outputs[0].amount = Amount::from_units(forged.outputs[0].amount.units() - 1);
        let batch =
            SubmitBatchRequest { transactions: vec![first.clone(), first.clone(), rival.clone(), forged] };
        let answer: SubmitBatchResponse = post_ok(&app, "/api/transactions/batch", &batch).await;
        let codes: Vec<Option<&str>> =
            answer.results.iter().map(|r| r.error.as_ref().map(|e| e.code.as_str())).collect();
        assert_eq!(codes, [None, Some("already_known"), Some("double_spend"), Some("invalid_signature")]);
        assert_eq!(answer.results[0].txid, first.txid());
        let pool: MempoolView = get_ok(&app, "/api/mempool").await;
        assert_eq!(pool.count, 1);

        let too_many = SubmitBatchRequest { transactions: vec![rival; MAX_TX_BATCH + 1] };
        let (status, body) = post_error(&app, "/api/transactions/batch", &too_many).await;
        assert_eq!((status.as_u16(), body.error.code.as_str()), (400, "too_many"));
        assert_eq!(get_ok::<MempoolView>(&app, "/api/mempool").await.count, 1, "nothing changed");
        let (status, body) =
            post_error(&app, "/api/transactions/batch", &serde_json::json!({"transactions": 5})).await;
        assert_eq!((status.as_u16(), body.error.code.as_str()), (400, "malformed"), "{}", body.error.message);
    }
}
