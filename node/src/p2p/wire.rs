//! Both kinds of WebSocket (inbound through axum, outbound through tokio-tungstenite) turned
//! into one stream of frames and one sink of bytes, so the peer logic is written once.

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite;

/// What a read from a peer's socket produced.
#[derive(Debug)]
pub enum Frame {
    /// A binary message: one protocol message.
    Data(Bytes),
    /// A control frame the socket handles itself.
    Skip,
    /// The peer closed the connection.
    Close,
    /// A text frame, which this protocol never uses.
    Text,
    /// The message exceeded the size limit.
    Oversized,
    /// The connection failed.
    Broken(String),
}

pub type FrameStream = std::pin::Pin<Box<dyn Stream<Item = Frame> + Send>>;
pub type FrameSink = std::pin::Pin<Box<dyn Sink<Bytes, Error = String> + Send>>;

fn classify(e: tungstenite::Error) -> Frame {
    match e {
        tungstenite::Error::Capacity(_) => Frame::Oversized,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => Frame::Close,
        other => Frame::Broken(other.to_string()),
    }
}

/// An inbound connection accepted by axum.
pub fn from_axum(socket: axum::extract::ws::WebSocket) -> (FrameSink, FrameStream) {
    use axum::extract::ws::Message;
    let (sink, stream) = socket.split();
    let stream = stream.map(|item| match item {
        Ok(Message::Binary(b)) => Frame::Data(b),
        Ok(Message::Text(_)) => Frame::Text,
        Ok(Message::Close(_)) => Frame::Close,
        Ok(Message::Ping(_) | Message::Pong(_)) => Frame::Skip,
        Err(e) => match e.into_inner().downcast::<tungstenite::Error>() {
            Ok(e) => classify(*e),
            Err(e) => Frame::Broken(e.to_string()),
        },
    });
    let sink = sink
        .sink_map_err(|e| e.to_string())
        .with(|bytes: Bytes| async move { Ok::<_, String>(Message::Binary(bytes)) });
    (Box::pin(sink), Box::pin(stream))
}

/// An outbound connection made with tokio-tungstenite.
pub fn from_tungstenite<S>(socket: tokio_tungstenite::WebSocketStream<S>) -> (FrameSink, FrameStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tungstenite::Message;
    let (sink, stream) = socket.split();
    let stream = stream.map(|item| match item {
        Ok(Message::Binary(b)) => Frame::Data(b),
        Ok(Message::Text(_)) => Frame::Text,
        Ok(Message::Close(_)) => Frame::Close,
        Ok(_) => Frame::Skip,
        Err(e) => classify(e),
    });
    let sink = sink
        .sink_map_err(|e| e.to_string())
        .with(|bytes: Bytes| async move { Ok::<_, String>(Message::Binary(bytes)) });
    (Box::pin(sink), Box::pin(stream))
}

/// The WebSocket limits both directions use: a message up to the protocol's maximum.
pub fn client_config() -> tungstenite::protocol::WebSocketConfig {
    let max = ferro_shared::p2p::MAX_MESSAGE_BYTES;
    tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(max)).max_frame_size(Some(max))
}
