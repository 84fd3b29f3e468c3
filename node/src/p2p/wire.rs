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

/// An open outbound connection: its two halves and the address it reached.
pub type Dialed = (FrameSink, FrameStream, std::net::SocketAddr);

/// How the node opens a connection to a peer's URL: over the operating system's TCP
/// ([`Dialer::tcp`]), or over the simulator's network. Cheap to clone.
#[derive(Clone)]
pub struct Dialer(
    std::sync::Arc<
        dyn Fn(String) -> futures_util::future::BoxFuture<'static, Result<Dialed, String>> + Send + Sync,
    >,
);

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dialer")
    }
}

impl Default for Dialer {
    fn default() -> Self {
        Dialer::tcp()
    }
}

impl Dialer {
    /// WebSocket over the operating system's TCP (no TLS: `ws://` only).
    pub fn tcp() -> Self {
        Dialer::from_fn(|url| {
            Box::pin(async move {
                let (socket, _) =
                    tokio_tungstenite::connect_async_with_config(url.as_str(), Some(client_config()), false)
                        .await
                        .map_err(|e| e.to_string())?;
                let remote = match socket.get_ref() {
                    tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.peer_addr().ok(),
                    _ => None,
                };
                let remote = remote.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
                let (sink, stream) = from_tungstenite(socket);
                Ok((sink, stream, remote))
            })
        })
    }

    /// WebSocket over a stream `connect` opens to `host:port` (the URL's), with the same limits
    /// as [`Dialer::tcp`].
    pub fn over<S, F, Fut>(connect: F) -> Self
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::io::Result<(S, std::net::SocketAddr)>> + Send + 'static,
    {
        let connect = std::sync::Arc::new(connect);
        Dialer::from_fn(move |url| {
            let connect = connect.clone();
            Box::pin(async move {
                let request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())
                    .map_err(|e| e.to_string())?;
                let authority = request
                    .uri()
                    .authority()
                    .map(|a| a.as_str().to_string())
                    .ok_or_else(|| format!("{url} names no host"))?;
                let (io, remote) = connect(authority).await.map_err(|e| e.to_string())?;
                let (socket, _) =
                    tokio_tungstenite::client_async_with_config(request, io, Some(client_config()))
                        .await
                        .map_err(|e| e.to_string())?;
                let (sink, stream) = from_tungstenite(socket);
                Ok((sink, stream, remote))
            })
        })
    }

    fn from_fn(
        dial: impl Fn(String) -> futures_util::future::BoxFuture<'static, Result<Dialed, String>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Dialer(std::sync::Arc::new(dial))
    }

    /// Opens a connection to `url`.
    pub async fn dial(&self, url: String) -> Result<Dialed, String> {
        (self.0)(url).await
    }
}

/// Bytes a WebSocket reads from its stream at a time. tungstenite zeroes this much of its
/// buffer before every read (128 KiB by default): with many peers, mostly sending small
/// messages, that zeroing was the biggest cost of reading, and the buffer the biggest part of
/// an idle connection's memory.
pub const READ_BUFFER_BYTES: usize = 16 * 1024;

/// The WebSocket limits both directions use: a message up to the protocol's maximum, read
/// [`READ_BUFFER_BYTES`] at a time.
pub fn client_config() -> tungstenite::protocol::WebSocketConfig {
    let max = ferro_shared::p2p::MAX_MESSAGE_BYTES;
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .read_buffer_size(READ_BUFFER_BYTES)
}
