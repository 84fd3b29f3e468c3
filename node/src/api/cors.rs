//! Which API calls a page from another origin may make (CORS).
//!
//! A wallet served by one node, or by any other site, may use this node for everything a wallet
//! needs: the reads under `/api` and submitting transactions. Left out: `GET /api/peers`, which
//! names the addresses of the node's peers (inbound ones included), no business of a page the
//! user happens to visit. The event stream (`/api/events`) is a WebSocket, which browsers open
//! across origins without asking; it carries only public chain and mempool events.
//!
//! Endpoints that change the node (`POST /api/peers`, and `POST /api/mine` where it is not open
//! to anyone) answer no cross-origin call. CORS alone does not protect them: a browser sends a
//! "simple" request (a form post) without asking first, and a DNS-rebinding page is same-origin
//! with the name it rebinds. What does: their JSON bodies require `Content-Type:
//! application/json`, which no simple request carries (415 before anything happens), and
//! `require_admin` refuses requests whose `Origin` is another site or whose `Host` is a name
//! other than `localhost` or an IP address ([`super::Site`]). `/p2p` refuses any request with an
//! `Origin`: web pages do not peer.
//!
//! No credentials are involved (the API has no cookies), so the answer allows any origin.

use axum::http::header::{ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may remember a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Whether a page from another origin may call `method path` (the path as the node sees it,
/// `/api/...`). `mine_open` is whether this node mines for anyone who asks (the dev network).
pub fn cross_origin_allowed(method: &Method, path: &str, mine_open: bool) -> bool {
    let Some(route) = path.strip_prefix("/api/") else {
        return false;
    };
    match *method {
        Method::GET | Method::HEAD => route != "peers",
        Method::POST => {
            matches!(route, "transactions" | "transactions/batch") || (route == "mine" && mine_open)
        }
        _ => false,
    }
}

/// The layer that answers preflights and marks allowed answers for the browser.
pub fn layer(mine_open: bool) -> CorsLayer {
    let allow = AllowOrigin::predicate(move |_origin: &HeaderValue, request: &Parts| {
        // A preflight names the method the page wants to use in a header of its own.
        let method = if request.method == Method::OPTIONS {
            match request.headers.get(ACCESS_CONTROL_REQUEST_METHOD).and_then(|m| m.to_str().ok()) {
                Some(m) => Method::from_bytes(m.as_bytes()).unwrap_or(Method::OPTIONS),
                None => return false,
            }
        } else {
            request.method.clone()
        };
        cross_origin_allowed(&method, request.uri.path(), mine_open)
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        .allow_headers([CONTENT_TYPE])
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_other_origins_may_call() {
        let cases: &[(&str, Method, &str, bool, bool)] = &[
            ("status", Method::GET, "/api/status", false, true),
            ("a block", Method::GET, "/api/blocks/12", false, true),
            ("an address", Method::GET, "/api/addresses/fdev1xyz", false, true),
            ("peers list: names other nodes' addresses", Method::GET, "/api/peers", true, false),
            ("submit", Method::POST, "/api/transactions", false, true),
            ("submit a batch", Method::POST, "/api/transactions/batch", false, true),
            ("dial a peer", Method::POST, "/api/peers", true, false),
            ("mine, closed", Method::POST, "/api/mine", false, false),
            ("mine, open to anyone", Method::POST, "/api/mine", true, true),
            ("delete", Method::DELETE, "/api/transactions", true, false),
            ("metrics", Method::GET, "/metrics", true, false),
            ("wallet files", Method::GET, "/index.html", true, false),
            ("peer socket", Method::GET, "/p2p", true, false),
            ("prefix lookalike", Method::GET, "/apix/status", true, false),
        ];
        for (name, method, path, mine_open, want) in cases {
            assert_eq!(cross_origin_allowed(method, path, *mine_open), *want, "{name}");
        }
    }
}
