//! The node's transport on the simulated network: axum serves on a turmoil listener, and the
//! peer layer dials over turmoil's TCP. Everything above the byte stream (HTTP, the WebSocket
//! upgrade, frames) is the real code.

use ferro_node::p2p::Dialer;
use std::net::SocketAddr;
use std::time::Duration;

/// The port every simulated node listens on.
pub const PORT: u16 = 8080;

/// A turmoil listener as axum's: it accepts on every address and reports `advertised` (the
/// host's own address), so the node tells its peers where to reach it.
pub struct Listener {
    inner: turmoil::net::TcpListener,
    advertised: SocketAddr,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("advertised", &self.advertised).finish()
    }
}

impl Listener {
    /// Binds [`PORT`] on the current host, whose address is `ip`.
    pub async fn bind(ip: std::net::IpAddr) -> std::io::Result<Self> {
        let inner = turmoil::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, PORT)).await?;
        Ok(Listener { inner, advertised: SocketAddr::new(ip, PORT) })
    }
}

impl axum::serve::Listener for Listener {
    type Io = turmoil::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok(accepted) => return accepted,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.advertised)
    }
}

/// Dials `ws://HOST:PORT/p2p` over the simulated network.
pub fn dialer() -> Dialer {
    Dialer::over(|authority: String| async move {
        let stream = turmoil::net::TcpStream::connect(authority.as_str()).await?;
        let remote = stream.peer_addr()?;
        Ok((stream, remote))
    })
}
