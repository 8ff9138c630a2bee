//! Where a server listens: on a socket it was handed, or on one it binds.

use std::io;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex, PoisonError};

use listenfd::ListenFd;
use tokio::net::TcpListener;

/// Which of the handed-over sockets a server's listener is.
#[derive(Clone, Copy, Debug)]
pub enum Socket {
    /// The API (HTTP or Thrift): the first.
    Api = 0,
    /// The rpc-server's admin endpoints: the second.
    Admin = 1,
}

/// The listening socket handed over as `LISTEN_FDS` (systemd's socket activation: a unit, or
/// a test harness that must know the address before the server starts without racing it for
/// a port), else a fresh one bound to `addr`.
pub fn listen(addr: SocketAddr, socket: Socket) -> io::Result<TcpListener> {
    // Read once: reading clears the variables.
    static HANDED_OVER: LazyLock<Mutex<ListenFd>> =
        LazyLock::new(|| Mutex::new(ListenFd::from_env()));
    let inherited = HANDED_OVER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take_tcp_listener(socket as usize)?;
    let listener = match inherited {
        Some(listener) => listener,
        None => std::net::TcpListener::bind(addr)
            .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))?,
    };
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}
