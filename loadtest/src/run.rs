//! `im-load run`: clients in a closed loop against the API, then the integrity check.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use crate::api::Api;
use crate::cli::{Bounds, RunArgs, Workload};
use crate::stats::{Progress, Recorder, Summary, show_progress};
use crate::tokens::Tokens;
use crate::verify::{RoomLedger, verify};

/// A room of this run: member names carry the run id, so no earlier run's messages are in it.
pub(crate) struct Room {
    pub chat: String,
    pub members: [String; 2],
}

pub(crate) fn rooms(count: usize) -> Arc<Vec<Room>> {
    let run = fastrand::u32(..);
    Arc::new(
        (0..count.max(1))
            .map(|i| {
                let members = [format!("u{run:x}r{i}a"), format!("u{run:x}r{i}b")];
                Room {
                    chat: format!("{}:{}", members[0], members[1]),
                    members,
                }
            })
            .collect(),
    )
}

pub fn describe(bounds: &Bounds, via: &str) -> String {
    let workload = match bounds.workload {
        Workload::Send => "send only".to_owned(),
        Workload::Pull => "pull only".to_owned(),
        Workload::Mix => format!(
            "{}% pull / {}% send",
            bounds.pull_percent,
            100 - bounds.pull_percent.min(100)
        ),
    };
    let rooms = if bounds.rooms <= 1 {
        "one hot room".to_owned()
    } else {
        format!("{} rooms", bounds.rooms)
    };
    let think = if bounds.think.is_zero() {
        String::new()
    } else {
        format!(", {} ms think time", bounds.think.as_millis())
    };
    format!(
        "{via}, {workload}, {rooms}, {} clients{think}",
        bounds.clients
    )
}

/// Whether the workload sends at all.
fn bounds_sends(bounds: &Bounds) -> bool {
    bounds.workload != Workload::Pull
}

pub async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let (api, via) = match &args.thrift {
        Some(addr) => (Api::thrift(addr)?, "thrift"),
        None => (Api::http(&args.http, Tokens::new(&args.token)?)?, "http"),
    };
    let via = match (args.no_ids, bounds_sends(&args.bounds)) {
        (false, true) => format!("{via} with client_msg_ids"),
        _ => via.to_owned(),
    };
    let bounds = args.bounds;
    let rooms = rooms(bounds.rooms);
    let mut ledgers: HashMap<String, RoomLedger> = HashMap::new();
    if bounds.workload == Workload::Pull {
        eprintln!(
            "seeding {} messages into each of {} rooms",
            bounds.seed_per_room,
            rooms.len()
        );
        seed(&api, &rooms, bounds.seed_per_room, &mut ledgers).await;
    }

    let progress = Arc::new(Progress::default());
    let printer = show_progress(progress.clone());
    let budget = Arc::new(AtomicI64::new(
        i64::try_from(bounds.requests).unwrap_or(i64::MAX),
    ));
    let started = Instant::now();
    let deadline = started + bounds.duration;
    let clients: Vec<_> = (0..bounds.clients)
        .map(|id| {
            let client = Client {
                id,
                api: api.clone(),
                rooms: rooms.clone(),
                pull_percent: match bounds.workload {
                    Workload::Send => 0,
                    Workload::Pull => 100,
                    Workload::Mix => bounds.pull_percent.min(100),
                },
                progress: progress.clone(),
                budget: budget.clone(),
                think: bounds.think,
                ids: !args.no_ids,
            };
            tokio::spawn(client.run(deadline))
        })
        .collect();
    let mut record = Recorder::new();
    for client in clients {
        let (client_record, client_ledgers) = client.await?;
        record.merge(client_record);
        for (chat, ledger) in client_ledgers {
            let merged = ledgers.entry(chat).or_default();
            merged.acked.extend(ledger.acked);
            merged.failed.extend(ledger.failed);
        }
    }
    let elapsed = started.elapsed();
    printer.abort();

    let mut summary = Summary::new(describe(&bounds, &via), bounds.clients, elapsed, &record);
    eprintln!("verifying {} rooms", ledgers.len());
    let verdict = verify(&api, &ledgers).await;
    let passed = verdict.passed();
    summary.integrity = Some(verdict);
    summary.print();
    if let Some(path) = &bounds.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(passed)
}

async fn seed(
    api: &Api,
    rooms: &[Room],
    per_room: usize,
    ledgers: &mut HashMap<String, RoomLedger>,
) {
    for (i, room) in rooms.iter().enumerate() {
        let ledger = ledgers.entry(room.chat.clone()).or_default();
        for n in 0..per_room {
            let text = format!("seed {i}-{n}");
            match api
                .send(&room.chat, &room.members[n % 2], &text, None)
                .await
            {
                Ok(send_time) => ledger.acked.insert(text, send_time),
                Err(_) => {
                    ledger.failed.push(text);
                    None
                }
            };
        }
    }
}

struct Client {
    id: usize,
    api: Api,
    rooms: Arc<Vec<Room>>,
    pull_percent: u8,
    progress: Arc<Progress>,
    budget: Arc<AtomicI64>,
    think: std::time::Duration,
    /// Send with client_msg_ids, retrying failed sends with them.
    ids: bool,
}

/// Tries of one send with a client_msg_id: the first and up to two retries.
const TRIES_WITH_ID: usize = 3;

impl Client {
    /// One send; with ids, retried with the same id while it fails (safe: stored once).
    async fn send(&self, chat: &str, sender: &str, text: &str) -> Result<i64, String> {
        if !self.ids {
            return self.api.send(chat, sender, text, None).await;
        }
        let mut result = Err(String::new());
        for _ in 0..TRIES_WITH_ID {
            result = self.api.send(chat, sender, text, Some(text)).await;
            if result.is_ok() {
                break;
            }
        }
        result
    }

    async fn run(self, deadline: Instant) -> (Recorder, HashMap<String, RoomLedger>) {
        let mut record = Recorder::new();
        let mut ledgers: HashMap<String, RoomLedger> = HashMap::new();
        let mut rng = fastrand::Rng::with_seed(self.id as u64);
        let mut seq = 0u64;
        while Instant::now() < deadline && self.budget.fetch_sub(1, Ordering::Relaxed) > 0 {
            let room = &self.rooms[rng.usize(..self.rooms.len())];
            let started = Instant::now();
            let outcome = if rng.u8(..100) < self.pull_percent {
                let result = self.api.pull(&room.chat, 0, 20, true, 0).await.map(|_| ());
                if result.is_ok() {
                    let _ = record.pulls.record(micros(started));
                }
                result
            } else {
                seq += 1;
                let text = format!("c{}-{seq}", self.id);
                let sender = &room.members[rng.usize(..2)];
                let ledger = ledgers.entry(room.chat.clone()).or_default();
                match self.send(&room.chat, sender, &text).await {
                    Ok(send_time) => {
                        let _ = record.sends.record(micros(started));
                        ledger.acked.insert(text, send_time);
                        Ok(())
                    }
                    Err(err) => {
                        ledger.failed.push(text);
                        Err(err)
                    }
                }
            };
            self.progress.done.fetch_add(1, Ordering::Relaxed);
            if let Err(kind) = outcome {
                self.progress.errors.fetch_add(1, Ordering::Relaxed);
                *record.errors.entry(kind).or_default() += 1;
            }
            if !self.think.is_zero() {
                tokio::time::sleep(self.think).await;
            }
        }
        (record, ledgers)
    }
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}
