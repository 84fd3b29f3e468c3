//! Extractors whose failures answer in the API's error shape ([`ApiError`]) instead of axum's
//! plain-text rejections, and the caller's address for endpoints that change the node.

use super::error::ApiError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;

/// A JSON body or answer. As an extractor it requires `Content-Type: application/json`, a body
/// within the node's limit (`DefaultBodyLimit`) and the expected shape; see
/// `From<JsonRejection> for ApiError` for the codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Who sent the request: the socket address when the server provides it
/// (`into_make_service_with_connect_info`, or `MockConnectInfo` in tests). Never fails; an
/// unknown caller is treated as remote.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Option<SocketAddr>);

impl Caller {
    /// Whether the request came over the loopback interface (IPv4-mapped IPv6 included).
    pub fn is_loopback(&self) -> bool {
        self.0.is_some_and(|addr| addr.ip().to_canonical().is_loopback())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let info = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        Ok(Caller(info.map(|ConnectInfo(addr)| addr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_callers() {
        let cases = [
            ("ipv4 loopback", Some("127.0.0.1:5000"), true),
            ("ipv6 loopback", Some("[::1]:5000"), true),
            ("ipv4-mapped loopback", Some("[::ffff:127.0.0.1]:5000"), true),
            ("lan address", Some("192.168.1.20:5000"), false),
            ("unknown caller", None, false),
        ];
        for (name, addr, loopback) in cases {
            let caller = Caller(addr.map(|a| a.parse().unwrap()));
            assert_eq!(caller.is_loopback(), loopback, "{name}");
        }
    }
}
