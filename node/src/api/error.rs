//! The one error type of the HTTP API. Every failure answers
//! `{"error": {"code": "...", "message": "..."}}` ([`ErrorBody`]) with a 4xx or 5xx status.
//!
//! Codes are stable and machine-readable; messages are for a person. Failures of the node's own
//! machinery (storage, tasks) are logged here and answer only `internal`, never their details.

use crate::chain::StoreError;
use crate::mempool::MempoolError;
use crate::node::{MineError, NodeError, SubmitTxError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferro_shared::address::AddressError;
use ferro_shared::api::{ErrorBody, ErrorDetail};

/// An API failure: a status, a stable code and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// 400 `bad_request`: a path or query parameter that makes no sense.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 403 `forbidden`: an endpoint that changes the node, called from outside loopback.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 `internal`. The details go to the log, not to the caller.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node failed to answer; see its log")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal("reading the chain store failed", &e)
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        ApiError::internal("the node failed", &e)
    }
}

impl From<AddressError> for ApiError {
    fn from(e: AddressError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_address", e.to_string())
    }
}

impl From<MempoolError> for ApiError {
    fn from(e: MempoolError) -> Self {
        let status = match e {
            MempoolError::AlreadyKnown(_) | MempoolError::Conflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<SubmitTxError> for ApiError {
    fn from(e: SubmitTxError) -> Self {
        match e {
            SubmitTxError::Rejected(e) => e.into(),
            SubmitTxError::Node(e) => e.into(),
        }
    }
}

impl From<MineError> for ApiError {
    fn from(e: MineError) -> Self {
        match e {
            MineError::Stopped => ApiError::unavailable("the node is shutting down"),
            // The node built the block itself, so a refusal is the node's fault, not the caller's.
            MineError::Refused(_) => ApiError::internal("mining failed", &e),
            MineError::Node(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the body does not have the expected fields and types: {}", source_text(&e)),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with the header `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large")
            }
            other => ApiError::new(other.status(), "bad_request", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(format!("bad query string: {}", source_text(&r)))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

impl From<WebSocketUpgradeRejection> for ApiError {
    fn from(r: WebSocketUpgradeRejection) -> Self {
        let code =
            if r.status() == StatusCode::UPGRADE_REQUIRED { "upgrade_required" } else { "bad_request" };
        ApiError::new(r.status(), code, format!("{} (this endpoint is a WebSocket)", r.body_text()))
    }
}

/// The innermost cause of a rejection: serde's own words, without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn renders_the_shared_error_body() {
        let response = ApiError::not_found("no such block").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error, ErrorDetail { code: "not_found".into(), message: "no such block".into() });
    }

    #[test]
    fn internal_errors_hide_their_details() {
        let e = ApiError::from(StoreError::Corrupt("table coins row 7".into()));
        assert_eq!((e.status, e.code), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert!(!e.message.contains("coins"), "{}", e.message);
    }

    #[test]
    fn mempool_rejections_keep_their_codes() {
        let txid = ferro_shared::Txid([1; 32]);
        let known = ApiError::from(MempoolError::AlreadyKnown(txid));
        assert_eq!((known.status, known.code), (StatusCode::CONFLICT, "already_known"));
        let low = ApiError::from(MempoolError::FeeTooLow { rate: 0, min: 1 });
        assert_eq!((low.status, low.code), (StatusCode::BAD_REQUEST, "insufficient_fee"));
    }
}
