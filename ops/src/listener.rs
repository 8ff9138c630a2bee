//! Where a server listens: on a socket it was handed, or on one it binds.

use std::io;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex, PoisonError};

use listenfd::ListenFd;
use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel queues before the server accepts them (capped by
/// `net.core.somaxconn`): thousands of clients that connect at once, as long polls do after a
/// restart, must not find the queue full (std's `bind` queues 128).
const BACKLOG: u32 = 4096;

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
    match inherited {
        Some(listener) => {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        }
        None => bind(addr)
            .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))),
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As std's `bind` does: a restarted server binds while old connections are in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_thousand_clients_connect_at_once_before_any_is_accepted() {
        let listener = listen("127.0.0.1:0".parse().unwrap(), Socket::Api).unwrap();
        let addr = listener.local_addr().unwrap();
        // Nothing accepts: every connection waits in the kernel's queue, which std's 128
        // would overflow (the client's handshake then stalls until the timeout).
        let clients: Vec<TcpStream> = (0..1000)
            .map(|n| {
                TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    .unwrap_or_else(|err| panic!("client {n} could not connect: {err}"))
            })
            .collect();
        assert_eq!(clients.len(), 1000);
    }
}
