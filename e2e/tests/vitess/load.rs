//! Load for the tests that change the keyspace under the service: writers that send with ids
//! until stored, a follower of a member's inbox and one of a room with waiting pulls, and the
//! script step that changes the keyspace meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use im_testkit::eventually;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{PATIENCE, Stack, env};

/// Four writers sending with ids over `rooms` through both replicas in turn.
pub struct Writers {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<HashMap<String, i64>>>,
}

impl Writers {
    pub fn start(stack: &Arc<Stack>, rooms: &Arc<Vec<String>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let tasks = (0..4)
            .map(|w| {
                let (stack, rooms) = (stack.clone(), rooms.clone());
                let (stop, count) = (stop.clone(), count.clone());
                tokio::spawn(async move {
                    let mut acked = HashMap::new();
                    let mut k = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let room = &rooms[(w + k) % rooms.len()];
                        let id = format!("{w}-{k}");
                        let sender = room.split(':').next().unwrap();
                        let stored = stack.send(w + k, room, sender, &id).await;
                        acked.insert(id, stored["send_time"].as_i64().unwrap());
                        count.fetch_add(1, Ordering::Relaxed);
                        k += 1;
                    }
                    acked
                })
            })
            .collect();
        Self { stop, count, tasks }
    }

    /// Waits until `more` sends more than now were acknowledged.
    pub async fn acked_by(&self, more: usize) {
        let target = self.count.load(Ordering::Relaxed) + more;
        eventually("sends acknowledged", PATIENCE, || async {
            self.count.load(Ordering::Relaxed) >= target
        })
        .await;
    }

    /// Stops the writers, sends once more to every room (each must be served), and checks that
    /// exactly what was acknowledged is stored, at its send_time. Returns how many that was.
    pub async fn finish_exactly_once(self, stack: &Stack, rooms: &[String]) -> usize {
        for (r, room) in rooms.iter().enumerate() {
            let sender = room.split(':').next().unwrap();
            stack.send(r, room, sender, "after").await;
        }
        self.stop.store(true, Ordering::Relaxed);
        let mut acked: HashMap<String, i64> = HashMap::new();
        for task in self.tasks {
            acked.extend(task.await.unwrap());
        }
        let mut stored: HashMap<String, i64> = HashMap::new();
        for (r, room) in rooms.iter().enumerate() {
            for message in stack.messages(r, room, false).await {
                // Without an id: a message of a writer without ids.
                let Some(id) = message["client_msg_id"].as_str().map(str::to_owned) else {
                    continue;
                };
                if id == "after" {
                    continue;
                }
                let again = stored.insert(id.clone(), message["send_time"].as_i64().unwrap());
                assert!(again.is_none(), "{id} is stored twice");
            }
        }
        assert_eq!(
            stored, acked,
            "exactly what was acknowledged, at its send_time"
        );
        stored.len()
    }
}

/// A writer sending without ids over `rooms`, each text new: an answer of 503 means that it
/// was not stored (any answer but 200 and 503 fails the test, a 502 "outcome unknown" too).
pub struct WithoutIds {
    stop: Arc<AtomicBool>,
    task: JoinHandle<(HashMap<String, i64>, Vec<String>)>,
}

impl WithoutIds {
    pub fn start(stack: &Arc<Stack>, rooms: &[String]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (stack, rooms, halt) = (stack.clone(), rooms.to_vec(), stop.clone());
        let task = tokio::spawn(async move {
            let (mut acked, mut refused) = (HashMap::new(), Vec::new());
            let mut k = 0;
            while !halt.load(Ordering::Relaxed) {
                let room = &rooms[k % rooms.len()];
                let text = format!("no id {k}");
                let body = json!({ "chat": room, "sender": room.split(':').next(), "text": text });
                let url = format!("{}/api/send", stack.base(k));
                let resp = stack.client.post(url).json(&body).send().await.unwrap();
                let status = resp.status();
                let answer: Value = resp.json().await.unwrap_or(Value::Null);
                match status {
                    StatusCode::OK => {
                        acked.insert(text, answer["message"]["send_time"].as_i64().unwrap());
                    }
                    StatusCode::SERVICE_UNAVAILABLE => refused.push(text),
                    other => panic!("send {text}: {other} {answer}"),
                }
                k += 1;
            }
            (acked, refused)
        });
        Self { stop, task }
    }

    /// Stops the writer and checks that what it was told is stored is, once, at its
    /// send_time, and that nothing refused is.
    pub async fn finish_stored_once(self, stack: &Stack, rooms: &[String]) {
        self.stop.store(true, Ordering::Relaxed);
        let (acked, refused) = self.task.await.unwrap();
        let mut stored: HashMap<String, i64> = HashMap::new();
        for (r, room) in rooms.iter().enumerate() {
            for message in stack.messages(r, room, false).await {
                let text = message["text"].as_str().unwrap();
                if message["client_msg_id"].is_null() {
                    let again =
                        stored.insert(text.to_owned(), message["send_time"].as_i64().unwrap());
                    assert!(again.is_none(), "{text} is stored twice");
                }
            }
        }
        assert!(
            refused.iter().all(|text| !stored.contains_key(text)),
            "a refused send was stored"
        );
        assert_eq!(stored, acked, "what was answered stored, at its send_time");
    }
}

/// Runs the shell step that the environment variable `name` holds.
pub async fn run_script(name: &str) {
    let script = env(name);
    let status = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "{script}");
}

/// Lists `member`'s inbox forward with the cursor, a small page at a time, alternating the
/// replicas, until `done` is set and it has caught up; returns the newest send_time it was
/// told of for each room.
pub fn follow_inbox(
    stack: &Arc<Stack>,
    member: &str,
    done: &Arc<AtomicBool>,
) -> JoinHandle<HashMap<String, i64>> {
    let (stack, member, done) = (stack.clone(), member.to_owned(), done.clone());
    tokio::spawn(async move {
        let (mut cursor, mut seen) = (0, HashMap::new());
        for listing in 0.. {
            let finishing = done.load(Ordering::Relaxed);
            let path = format!("/api/chats?member={member}&cursor={cursor}&limit=5");
            let page = stack.get(listing, &path).await;
            for entry in page["chats"].as_array().unwrap() {
                let room = entry["chat"].as_str().unwrap().to_owned();
                seen.insert(room, entry["last_message"]["send_time"].as_i64().unwrap());
            }
            cursor = page["next_cursor"].as_i64().unwrap();
            if finishing && page["has_more"] != json!(true) {
                break;
            }
        }
        seen
    })
}

/// Follows `room` with waiting pulls through both replicas in turn until `done` is set and it
/// has caught up; returns every message it was handed, in order.
pub fn follow_room(
    stack: &Arc<Stack>,
    room: &str,
    done: &Arc<AtomicBool>,
) -> JoinHandle<Vec<Value>> {
    let (stack, room, done) = (stack.clone(), room.to_owned(), done.clone());
    tokio::spawn(async move {
        let (mut cursor, mut seen) = (0, Vec::new());
        for pull in 0.. {
            let finishing = done.load(Ordering::Relaxed);
            let path = format!("/api/pull?chat={room}&cursor={cursor}&limit=100&wait_ms=1000");
            let page = stack.get(pull, &path).await;
            let messages = page["messages"].as_array().unwrap();
            seen.extend(messages.iter().cloned());
            cursor = page["next_cursor"].as_i64().unwrap();
            if finishing && messages.is_empty() {
                break;
            }
        }
        seen
    })
}
