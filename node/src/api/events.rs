//! `GET /api/events`: a WebSocket that pushes [`Event`]s as JSON text messages: `tip` when the
//! active chain moves, `tx` when a transaction enters the mempool.
//!
//! ```text
//!  node.subscribe() ──▶ send task ──Event JSON──▶ client
//!  client ──▶ receive task (drains; ends on close)
//!  whichever task ends first aborts the other
//! ```
//! The subscription is taken before the upgrade answers, so nothing that happens after the
//! client sees `101 Switching Protocols` is missed. A client too slow to keep up skips the
//! events it missed. The tasks hold no node handle, so they never keep a stopped node alive:
//! when the node goes away the stream closes with "going away".

use super::error::ApiError;
use crate::node::{Node, NodeEvent};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ferro_shared::api::Event;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

pub fn routes() -> Router<Node> {
    Router::new().route("/events", get(events))
}

async fn events(
    State(node): State<Node>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade?;
    let events = node.subscribe();
    Ok(upgrade.on_upgrade(move |socket| stream_events(socket, events)))
}

/// The API event for a node event, if the API shows it.
fn api_event(event: &NodeEvent) -> Option<Event> {
    match event {
        NodeEvent::Tip { tip, reorg_depth } => {
            Some(Event::Tip { hash: tip.hash, height: tip.height, time: tip.time, reorg_depth: *reorg_depth })
        }
        NodeEvent::Tx { txid, size, fee, .. } => Some(Event::Tx { txid: *txid, size: *size, fee: *fee }),
        NodeEvent::Block { .. } => None,
    }
}

async fn stream_events(socket: WebSocket, mut events: broadcast::Receiver<NodeEvent>) {
    let (mut sink, mut stream) = socket.split();

    let mut send = tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "event stream client lagged; skipping");
                    continue;
                }
                Err(RecvError::Closed) => {
                    let frame = CloseFrame { code: close_code::AWAY, reason: "the node is stopping".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
            };
            let Some(event) = api_event(&event) else { continue };
            let text = match serde_json::to_string(&event) {
                Ok(text) => text,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode an API event");
                    continue;
                }
            };
            if sink.send(Message::Text(text.into())).await.is_err() {
                return; // the client is gone
            }
        }
    });

    // Clients send nothing we act on. Reading on after a close frame lets the WebSocket answer
    // it, so the stream ends only once the closing handshake is done.
    let mut receive = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });

    tokio::select! {
        _ = &mut send => receive.abort(),
        _ = &mut receive => send.abort(),
    }
}

#[cfg(test)]
mod tests {
    use crate::api::testkit::*;
    use ferro_shared::api::Event;
    use futures_util::{SinkExt, StreamExt};
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::Message;

    async fn next_event<S>(ws: &mut S) -> Event
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .expect("an event within 30 s")
                .expect("the stream is open")
                .expect("a message");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).expect("an Event");
            }
        }
    }

    #[tokio::test]
    async fn pushes_tips_and_transactions() {
        let t = TestNode::dev();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = crate::api::router(t.node.clone(), crate::api::PeerNetwork::default());
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
        });

        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/events")).await.unwrap();
        let (alice, bob) = (key(1), key(2));
        t.node.mine_blocks(address_of(&alice).hash, 1).await.unwrap();
        match next_event(&mut ws).await {
            Event::Tip { height, hash, reorg_depth, .. } => {
                assert_eq!((height, reorg_depth), (1, 0));
                assert_eq!(hash, t.node.tip().hash);
            }
            other => panic!("expected a tip, got {other:?}"),
        }

        let tx = payment(&t.app(), &alice, &address_of(&bob), 1_000).await;
        t.node.submit_transaction(tx.clone(), crate::node::Origin::Local).await.unwrap();
        match next_event(&mut ws).await {
            Event::Tx { txid, size, .. } => assert_eq!((txid, size), (tx.txid(), tx.size())),
            other => panic!("expected a transaction, got {other:?}"),
        }

        // A clean close: the server answers the close frame, then the stream ends.
        ws.send(Message::Close(None)).await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = ws.next().await {
                if message.is_close() {
                    return true;
                }
            }
            false
        })
        .await
        .expect("the server closes within 10 s");
        assert!(closed, "the server answered with a close frame");
        server.abort();
    }

    #[tokio::test]
    async fn a_plain_get_is_told_to_upgrade() {
        let t = TestNode::dev();
        let (status, body) = get_error(&t.app(), "/api/events").await;
        assert!(status.is_client_error(), "{status}");
        assert!(body.error.message.contains("WebSocket"), "{}", body.error.message);
    }
}
