//! The browser wallet: static files from `NodeConfig::web_dir`, as built by Trunk.
//!
//! - Files are served with their MIME type (`.wasm` as `application/wasm`) and compressed
//!   (gzip, brotli) by the layer in [`super::router`].
//! - Trunk's hashed asset names (`app-<16 hex>.js`, `app-<16 hex>_bg.wasm`) never change
//!   content, so they are cached for a year; everything else (`index.html` above all) is
//!   revalidated on every load (`no-cache`), so a rebuilt wallet shows at once.
//! - Any other path loads `index.html`, so the wallet's own routes (`/blocks/5`) work on reload.
//! - Without a built wallet, a small built-in page says how to build one: never a bare 404.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Serves the wallet in `web_dir`; meant as the app's fallback, after `/api` and `/metrics`.
pub fn service(web_dir: &Path) -> Router {
    let index = web_dir.join("index.html");
    let app_shell = tower::service_fn(move |request: Request| {
        let index = index.clone();
        async move { Ok::<_, Infallible>(app_shell(index, request).await) }
    });
    Router::new()
        .fallback_service(ServeDir::new(web_dir).fallback(app_shell))
        .layer(middleware::from_fn(cache_control))
}

/// `index.html` for any path that is not a file, or the built-in page when there is none.
async fn app_shell(index: PathBuf, request: Request) -> Response {
    let built = tokio::fs::metadata(&index).await.is_ok_and(|m| m.is_file());
    let mut response = if built {
        match ServeFile::new(&index).oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    } else {
        (StatusCode::OK, Html(NOT_BUILT_PAGE)).into_response()
    };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    response
}

/// Adds `Cache-Control` to what the wallet service answers, unless already set.
async fn cache_control(request: Request, next: Next) -> Response {
    let hashed = request.uri().path().rsplit('/').next().is_some_and(is_hashed_asset);
    let mut response = next.run(request).await;
    if response.status().is_success() && !response.headers().contains_key(CACHE_CONTROL) {
        let is_html = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let value = if hashed && !is_html { IMMUTABLE } else { NO_CACHE };
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// Whether a file name carries Trunk's content hash: `-` then 16 hex digits, then `.` or `_`
/// (`app-0123456789abcdef.js`, `app-0123456789abcdef_bg.wasm`, `style-0123456789abcdef.css`).
fn is_hashed_asset(name: &str) -> bool {
    name.match_indices('-').any(|(i, _)| {
        let rest = &name.as_bytes()[i + 1..];
        rest.len() > 16 && rest[..16].iter().all(u8::is_ascii_hexdigit) && matches!(rest[16], b'.' | b'_')
    })
}

const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferrocoin node</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.5}code{background:#eee;padding:0 .3em}</style>
</head>
<body>
<h1>Ferrocoin node</h1>
<p>The node is running, but the browser wallet is not built, so there is nothing to show here yet.</p>
<p>To build it, run <code>trunk build --release</code> at the repository root, then reload this page;
or start the node with the run command from the README, which builds the wallet first.</p>
<p>Meanwhile the node answers at <a href="/api/status">/api/status</a> (JSON API) and
<a href="/metrics">/metrics</a> (Prometheus).</p>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;
    use crate::api::testkit::*;
    use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
    use axum::http::{Request, StatusCode};

    #[test]
    fn hashed_asset_names() {
        let cases = [
            ("trunk js", "ferro-wallet-web-0123456789abcdef.js", true),
            ("trunk wasm", "ferro-wallet-web-0123456789abcdef_bg.wasm", true),
            ("trunk css", "style-a1b2c3d4e5f60718.css", true),
            ("index", "index.html", false),
            ("no hash", "ferro-wallet-web.js", false),
            ("short hash", "app-0123456789abcde.js", false),
            ("not hex", "app-0123456789abcdeg.js", false),
            ("hash without extension", "app-0123456789abcdef", false),
        ];
        for (name, file, hashed) in cases {
            assert_eq!(is_hashed_asset(file), hashed, "{name}");
        }
    }

    #[tokio::test]
    async fn without_a_wallet_the_root_explains_how_to_build_it() {
        let t = TestNode::dev(); // web_dir: an empty folder
        for path in ["/", "/blocks/5"] {
            let (status, headers, body) =
                send(&t.app(), Request::get(path).body(Default::default()).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
            let page = String::from_utf8(body.to_vec()).unwrap();
            assert!(page.contains("<title>Ferrocoin node</title>"), "{page}");
            assert!(page.contains("trunk build --release"), "{page}");
            assert!(page.contains(r#"href="/api/status""#) && page.contains(r#"href="/metrics""#));
        }
    }

    #[tokio::test]
    async fn client_routes_load_the_wallet() {
        let t = TestNode::dev();
        std::fs::write(t.web_dir().join("index.html"), "<html>the wallet</html>").unwrap();
        for path in ["/", "/blocks/5", "/index.html"] {
            let (status, headers, body) =
                send(&t.app(), Request::get(path).body(Default::default()).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(&body[..], b"<html>the wallet</html>", "{path}");
            assert_eq!(headers[CACHE_CONTROL], "no-cache", "{path}");
        }
        // A hashed name that does not exist gets the page, which must not be cached for a year.
        let missing = Request::get("/gone-0123456789abcdef.js").body(Default::default()).unwrap();
        let (status, headers, _) = send(&t.app(), missing).await;
        assert_eq!((status, &headers[CACHE_CONTROL]), (StatusCode::OK, &"no-cache".parse().unwrap()));
    }

    #[tokio::test]
    async fn hashed_assets_are_typed_cached_and_compressed() {
        let t = TestNode::dev();
        let wasm = "ferro-wallet-web-0123456789abcdef_bg.wasm";
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.resize(4096, 0);
        std::fs::write(t.web_dir().join(wasm), &module).unwrap();
        std::fs::write(t.web_dir().join("style.css"), "body { color: black; }\n".repeat(20)).unwrap();

        let (status, headers, body) =
            send(&t.app(), Request::get(format!("/{wasm}")).body(Default::default()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(body.to_vec(), module);

        let gzip = Request::get(format!("/{wasm}"))
            .header("accept-encoding", "gzip")
            .body(Default::default())
            .unwrap();
        let (_, headers, body) = send(&t.app(), gzip).await;
        assert_eq!(headers[CONTENT_ENCODING], "gzip");
        assert!(body.len() < module.len());
        let br = Request::get("/style.css").header("accept-encoding", "br").body(Default::default()).unwrap();
        let (_, headers, _) = send(&t.app(), br).await;
        assert_eq!(headers[CONTENT_ENCODING], "br");
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
    }
}
