use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy on loopback in front of a real server, to make that server unreachable and
/// reachable again without touching it (the server stays up for every other test), or to lose
/// the answer to a MySQL COMMIT.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<watch::Sender<bool>>,
    cut_after_commit: Arc<AtomicBool>,
}

impl Proxy {
    /// Starts forwarding to `target` (on the calling tokio runtime).
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(watch::channel(true).0);
        let cut_after_commit = Arc::new(AtomicBool::new(false));
        let (state, cut) = (open.clone(), cut_after_commit.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !*state.borrow() {
                    continue; // dropped: the connection is refused by closing it
                }
                tokio::spawn(forward(client, target, state.subscribe(), cut.clone()));
            }
        });
        Self {
            addr,
            open,
            cut_after_commit,
        }
    }

    /// Closes every forwarded connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }

    /// The next MySQL `COMMIT` reaches the server, which commits, but its connection is closed
    /// before the answer reaches the client: the client cannot know whether it committed.
    pub fn lose_next_commit_answer(&self) {
        self.cut_after_commit.store(true, Ordering::SeqCst);
    }
}

/// A COM_QUERY packet's command byte followed by the statement.
const COMMIT_QUERY: &[u8] = b"\x03COMMIT";

async fn forward(
    client: TcpStream,
    target: SocketAddr,
    mut open: watch::Receiver<bool>,
    cut_after_commit: Arc<AtomicBool>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let muted = AtomicBool::new(false);
    let upstream = async {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = from_client.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            let commit = buf[..n]
                .windows(COMMIT_QUERY.len())
                .any(|w| w == COMMIT_QUERY);
            if commit && cut_after_commit.swap(false, Ordering::SeqCst) {
                muted.store(true, Ordering::SeqCst);
                let _ = to_server.write_all(&buf[..n]).await;
                // The server's answer ends the forwarding (downstream): it has committed.
                std::future::pending::<()>().await;
            }
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = from_server.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            // MySQL answers one statement at a time, so what comes once muted answers the
            // COMMIT: it committed, and the client never learns it.
            if muted.load(Ordering::SeqCst) || to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = open.wait_for(|open| !open) => {}
    }
}
