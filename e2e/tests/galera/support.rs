//! What the Galera cluster tests share: replicas with an http-server each, a careful client
//! that resends with its id, a load of such clients, a follower, and the exactly-once check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_testkit::{Galera, ServerProcess, eventually, start_http_server, start_rpc_server_with};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// Shared rooms, so that sends through different nodes meet on the same rows; each is sent to
/// by its first member.
pub const ROOMS: [&str; 4] = ["u0:u1", "u1:u2", "u2:u3", "u3:u0"];

pub const PATIENCE: Duration = Duration::from_secs(60);

/// An rpc-server given the cluster's nodes in `order`, and an http-server in front of it alone,
/// so that a test knows which node each call goes through.
pub struct Replica {
    rpc: ServerProcess,
    http: ServerProcess,
}

impl Replica {
    pub fn start(cluster: &Galera, order: &[usize]) -> Self {
        let urls = cluster.database_urls("im", order);
        let rpc = start_rpc_server_with(&urls, &[("ETCD_ENDPOINTS", String::new())]);
        let http = start_http_server(vec![rpc.addr], &[]);
        Self { rpc, http }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.http.addr)
    }

    pub async fn ready(&self, client: &Client) -> bool {
        let url = format!("http://{}/readyz", self.rpc.admin);
        let status = client.get(url).send().await.map(|resp| resp.status());
        status.is_ok_and(|status| status == StatusCode::OK)
    }

    /// The database node this replica's /metrics says it uses, and how often it moved.
    pub async fn node_in_use(&self, client: &Client) -> (Option<String>, f64) {
        let url = format!("http://{}/metrics", self.rpc.admin);
        let text = match client.get(url).send().await {
            Ok(resp) => resp.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let node = text
            .lines()
            .find(|l| l.starts_with("im_db_node_active{") && l.ends_with(" 1"))
            .and_then(|l| l.split('"').nth(1))
            .map(str::to_owned);
        let moves = text
            .lines()
            .find_map(|l| l.strip_prefix("im_db_node_moves_total "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        (node, moves)
    }
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// One send with an id; `None` when the answer says to try again (503, or 502/504, which a
/// send with an id may always resend). Any other failure, a 500 above all, fails the test.
pub async fn send_once(client: &Client, base: &str, room: &str, id: &str) -> Option<i64> {
    let sender = room.split(':').next().unwrap();
    let body = json!({ "chat": room, "sender": sender, "text": id, "client_msg_id": id });
    let resp = client
        .post(format!("{base}/api/send"))
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = resp.status();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    match status {
        StatusCode::OK => Some(answer["message"]["send_time"].as_i64().unwrap()),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
            None
        }
        other => panic!("send {id}: {other} {answer}"),
    }
}

/// Sends as a careful client does: again with the same id after every failure, until stored.
pub async fn send_until_stored(client: &Client, base: &str, room: &str, id: &str) -> i64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(send_time) = send_once(client, base, room, id).await {
            return send_time;
        }
        assert!(Instant::now() < deadline, "{id} was never stored");
        // A client's pause before resending, not a wait for anything.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One forward page of `room` from `cursor`; `None` on "try again", a 500 fails the test.
pub async fn pull(
    client: &Client,
    base: &str,
    room: &str,
    cursor: i64,
    wait_ms: u64,
) -> Option<Value> {
    let url = format!("{base}/api/pull?chat={room}&cursor={cursor}&limit=100&wait_ms={wait_ms}");
    let resp = client.get(url).send().await.ok()?;
    let status = resp.status();
    let page: Value = resp.json().await.unwrap_or(Value::Null);
    match status {
        StatusCode::OK => Some(page),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => None,
        other => panic!("pull {room}: {other} {page}"),
    }
}

/// Every message of `room`, paging forward with the cursor. A page answered "retry later" (a
/// node that has just rejoined may still refuse for a moment) is asked again.
pub async fn read_room(client: &Client, base: &str, room: &str) -> Vec<Value> {
    let (mut cursor, mut all) = (0, Vec::new());
    loop {
        let deadline = Instant::now() + PATIENCE;
        let page = loop {
            if let Some(page) = pull(client, base, room, cursor, 0).await {
                break page;
            }
            assert!(Instant::now() < deadline, "no page of {room} from {base}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        all.extend(page["messages"].as_array().unwrap().iter().cloned());
        if page["has_more"] != json!(true) {
            return all;
        }
        cursor = page["next_cursor"].as_i64().unwrap();
    }
}

/// Acknowledged ids and the send_time each was answered with.
pub type Acked = HashMap<String, i64>;

/// Every acknowledged id is stored exactly once, at the time it was answered with, and nothing
/// else is stored.
pub async fn assert_exactly_once(client: &Client, base: &str, acked: &Acked) {
    let mut stored: Acked = HashMap::new();
    for room in ROOMS {
        for msg in read_room(client, base, room).await {
            let id = msg["client_msg_id"].as_str().unwrap().to_owned();
            let again = stored.insert(id.clone(), msg["send_time"].as_i64().unwrap());
            assert!(again.is_none(), "{id} is stored twice");
        }
    }
    assert_eq!(stored.len(), acked.len(), "stored and acknowledged differ");
    assert_eq!(&stored, acked);
}

/// Writers that send with ids through `bases` in turn over the shared rooms until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acked>>,
    writers: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(client: &Client, bases: Vec<String>, writers: usize, tag: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Acked::new()));
        let writers = (0..writers)
            .map(|w| {
                let (client, bases, tag) = (client.clone(), bases.clone(), tag.to_owned());
                let (stop, acked) = (stop.clone(), acked.clone());
                tokio::spawn(async move {
                    for k in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!("{tag}-{w}-{k}");
                        let (room, base) = (ROOMS[(w + k) % 4], &bases[(w + k) % bases.len()]);
                        let send_time = send_until_stored(&client, base, room, &id).await;
                        acked.lock().unwrap().insert(id, send_time);
                    }
                })
            })
            .collect();
        Self {
            stop,
            acked,
            writers,
        }
    }

    pub fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    pub async fn until_acked(&self, more: usize) {
        let target = self.acked() + more;
        eventually("sends acknowledged", PATIENCE, || async {
            self.acked() >= target
        })
        .await;
    }

    pub async fn finish(self) -> Acked {
        self.stop.store(true, Ordering::Relaxed);
        for writer in self.writers {
            writer.await.unwrap();
        }
        Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap()
    }
}

/// Follows `room` with long polls from cursor 0 until `stop` is set and it has caught up;
/// answers every message it was handed, in order.
pub fn follow(
    client: &Client,
    base: String,
    room: &'static str,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<Value>> {
    let client = client.clone();
    tokio::spawn(async move {
        let (mut cursor, mut seen) = (0, Vec::new());
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            let Some(page) = pull(&client, &base, room, cursor, 1000).await else {
                continue;
            };
            let messages = page["messages"].as_array().unwrap();
            seen.extend(messages.iter().cloned());
            cursor = page["next_cursor"].as_i64().unwrap();
            if stopping && messages.is_empty() {
                return seen;
            }
        }
    })
}
