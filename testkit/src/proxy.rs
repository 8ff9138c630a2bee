use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What the link through a [`Proxy`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Bytes pass, each way after `delay`.
    Open { delay: Duration },
    /// Connections are closed, new ones refused.
    Cut,
    /// Bytes are held, as a link that drops every packet holds them: nothing is closed or
    /// refused, nothing arrives; what was held goes on once the link is open again.
    Blackhole,
}

/// A TCP proxy on loopback in front of a real server, to cut, blackhole or slow the link to
/// that server without touching it (the server stays up for every other test), or to lose the
/// answer to a MySQL COMMIT.
pub struct Proxy {
    pub addr: SocketAddr,
    link: Arc<watch::Sender<Link>>,
    cut_after_commit: Arc<AtomicBool>,
}

impl Proxy {
    /// Starts forwarding to `target` (on the calling tokio runtime).
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a proxy");
        let addr = listener.local_addr().expect("proxy address");
        let link = Arc::new(
            watch::channel(Link::Open {
                delay: Duration::ZERO,
            })
            .0,
        );
        let cut_after_commit = Arc::new(AtomicBool::new(false));
        let (state, cut) = (link.clone(), cut_after_commit.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *state.borrow() == Link::Cut {
                    continue; // dropped: the connection is refused by closing it
                }
                tokio::spawn(forward(client, target, state.subscribe(), cut.clone()));
            }
        });
        Self {
            addr,
            link,
            cut_after_commit,
        }
    }

    /// Closes every forwarded connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.link.send_replace(Link::Cut);
    }

    /// Holds every byte, both ways, until [`Proxy::restore`]: a link that drops packets.
    pub fn blackhole(&self) {
        self.link.send_replace(Link::Blackhole);
    }

    /// Delays every byte by `delay` each way, as a slow link does (throughput is kept).
    pub fn delay(&self, delay: Duration) {
        self.link.send_replace(Link::Open { delay });
    }

    /// An open link with no delay.
    pub fn restore(&self) {
        self.delay(Duration::ZERO);
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
    link: watch::Receiver<Link>,
    cut_after_commit: Arc<AtomicBool>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let muted = Arc::new(AtomicBool::new(false));
    let upstream = Commits::Watch {
        lose_answer: cut_after_commit,
        muted: muted.clone(),
    };
    let mut cut = link.clone();
    tokio::select! {
        _ = one_way(from_client, to_server, link.clone(), upstream) => {}
        _ = one_way(from_server, to_client, link, Commits::AnswerLost(muted)) => {}
        _ = cut.wait_for(|link| *link == Link::Cut) => {}
    }
}

/// How a direction takes part in losing a COMMIT's answer.
enum Commits {
    /// The upstream: a COMMIT seen while `lose_answer` is set mutes the downstream.
    Watch {
        lose_answer: Arc<AtomicBool>,
        muted: Arc<AtomicBool>,
    },
    /// The downstream: once muted, the next bytes (MySQL answers one statement at a time: the
    /// COMMIT's answer, so the server committed) end the connection instead of passing.
    AnswerLost(Arc<AtomicBool>),
}

/// Copies `from` to `to` through the link: each chunk read waits out the link's delay, and
/// while the link is blackholed, before it is written. Reading goes on meanwhile, so a slow
/// link keeps its throughput.
async fn one_way(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    link: watch::Receiver<Link>,
    commits: Commits,
) {
    let (chunks, mut arriving) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let mut link_at_read = link.clone();
    let read = async move {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            match &commits {
                Commits::Watch { lose_answer, muted } => {
                    let commit = buf[..n]
                        .windows(COMMIT_QUERY.len())
                        .any(|w| w == COMMIT_QUERY);
                    if commit && lose_answer.swap(false, Ordering::SeqCst) {
                        muted.store(true, Ordering::SeqCst);
                    }
                }
                Commits::AnswerLost(muted) if muted.load(Ordering::SeqCst) => return,
                Commits::AnswerLost(_) => {}
            }
            let delay = match *link_at_read.borrow_and_update() {
                Link::Open { delay } => delay,
                Link::Cut | Link::Blackhole => Duration::ZERO,
            };
            if chunks
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                return;
            }
        }
    };
    let mut link_at_write = link;
    let write = async move {
        while let Some((due, chunk)) = arriving.recv().await {
            tokio::time::sleep_until(due).await;
            if link_at_write
                .wait_for(|link| *link != Link::Blackhole)
                .await
                .is_err()
                || to.write_all(&chunk).await.is_err()
            {
                return;
            }
        }
    };
    // The reading ends first at the end of the stream; what it read is still written.
    tokio::join!(read, write);
}
