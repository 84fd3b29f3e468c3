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

/// Where a browser says a request comes from: the `Host` it addressed, and for a request a web
/// page makes, the page's `Origin`. Programs (curl, the CLI wallet, peers) usually send no
/// `Origin`.
#[derive(Debug, Clone, Default)]
pub struct Site {
    pub host: Option<String>,
    pub origin: Option<String>,
}

impl Site {
    /// Why a request may not change the node even though it arrives over loopback, if it may
    /// not: a page of another site sent it (its `Origin` names another host than the one it
    /// addressed), or it addressed the node by a name other than `localhost` or an IP address,
    /// which is how a DNS-rebinding page reaches a node on the visitor's machine.
    pub fn foreign(&self) -> Option<&'static str> {
        if let Some(origin) = &self.origin {
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            if authority.is_none() || authority != self.host.as_deref() {
                return Some("it was sent by a web page of another site");
            }
        }
        match self.host.as_deref() {
            Some(host) if !is_local_name(host) => {
                Some("it addresses the node by a name other than localhost or an IP address")
            }
            _ => None,
        }
    }
}

/// `localhost` or an IP address, with or without a port: names a page cannot rebind.
fn is_local_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

impl<S: Send + Sync> FromRequestParts<S> for Site {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Site { host: header(axum::http::header::HOST), origin: header(axum::http::header::ORIGIN) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_sites() {
        let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
            ("curl on loopback", Some("127.0.0.1:8080"), None, false),
            ("localhost", Some("localhost:8080"), None, false),
            ("ipv6 literal", Some("[::1]:8080"), None, false),
            ("no host at all", None, None, false),
            ("the node's own wallet", Some("127.0.0.1:8080"), Some("http://127.0.0.1:8080"), false),
            ("another site's page", Some("127.0.0.1:8080"), Some("http://evil.example"), true),
            ("another port's page", Some("127.0.0.1:8080"), Some("http://127.0.0.1:9999"), true),
            ("an opaque origin", Some("127.0.0.1:8080"), Some("null"), true),
            ("DNS rebinding", Some("rebind.example:8080"), Some("http://rebind.example:8080"), true),
            ("a host name, no origin", Some("node.example:8080"), None, true),
        ];
        for (name, host, origin, foreign) in cases {
            let site = Site { host: host.map(str::to_string), origin: origin.map(str::to_string) };
            assert_eq!(site.foreign().is_some(), *foreign, "{name}");
        }
    }

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
