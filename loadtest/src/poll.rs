//! `im-load poll`: receivers follow rooms with pulls (long polls by default, or a short-poll
//! loop), or follow their own inboxes and pull the rooms that changed (`--inbox`), while senders
//! send. Reports the delivery latency from a send's acknowledgement to its receipt, and checks
//! that every receiver got every message of each room it follows exactly once, in order: what
//! the room holds at the end, walked page by page.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::watch;

use crate::api::Api;
use crate::cli::PollArgs;
use crate::inbox::{follow_inbox, inbox_rooms};
use crate::received::{Acks, Finishing, Phase, Received};
use crate::run::{Room, rooms};
use crate::stats::Latency;
use crate::tokens::Tokens;
use crate::verify::walk;

#[derive(Debug, Serialize)]
pub struct PollSummary {
    pub label: String,
    pub receivers: usize,
    pub senders: usize,
    pub seconds: f64,
    pub sent: usize,
    pub send_errors: usize,
    pub delivered: u64,
    pub pull_errors: u64,
    /// Every error by what it was: `send <kind>` and `pull <kind>`.
    pub error_kinds: BTreeMap<String, u64>,
    pub delivery: Latency,
    pub violations: Vec<String>,
}

pub async fn run(args: PollArgs) -> anyhow::Result<bool> {
    let apis: Vec<Api> = if args.thrift.is_empty() {
        vec![Api::http(&args.http, Tokens::new(&args.token)?)?]
    } else {
        args.thrift
            .iter()
            .map(|addr| Api::thrift(addr))
            .collect::<anyhow::Result<_>>()?
    };
    let via = if args.thrift.is_empty() {
        "http"
    } else {
        "thrift"
    };
    let mode = match (args.inbox, args.short_poll) {
        (true, _) => format!("following inboxes (wait_ms {})", args.wait_ms),
        (false, Some(every)) => format!("short poll every {} ms", every.as_millis()),
        (false, None) => format!("long poll (wait_ms {})", args.wait_ms),
    };
    let label = format!(
        "{via}, {} receivers, {mode}, {} senders every {} ms, {} rooms",
        args.receivers,
        args.senders,
        args.think.as_millis(),
        args.rooms
    );
    let (rooms, members) = if args.inbox {
        inbox_rooms(args.receivers, args.rooms)
    } else {
        (rooms(args.rooms), Vec::new())
    };
    let acks: Acks = Arc::default();
    let (done, finishing) = watch::channel(None::<Arc<HashMap<usize, usize>>>);

    let started = Instant::now();
    let receivers: Vec<_> = (0..args.receivers)
        .map(|i| {
            let api = apis[i % apis.len()].clone();
            let (rooms, acks, finishing) = (rooms.clone(), acks.clone(), finishing.clone());
            match members.get(i) {
                Some(member) => tokio::spawn(follow_inbox(
                    api,
                    rooms,
                    member.clone(),
                    acks,
                    finishing,
                    args.wait_ms,
                )),
                None => tokio::spawn(receive(
                    api,
                    rooms,
                    i % args.rooms.max(1),
                    acks,
                    finishing,
                    args.wait_ms,
                    args.short_poll,
                )),
            }
        })
        .collect();
    let deadline = started + args.duration;
    let senders: Vec<_> = (0..args.senders)
        .map(|id| {
            tokio::spawn(send(
                apis[id % apis.len()].clone(),
                rooms.clone(),
                id,
                acks.clone(),
                deadline,
                args.think,
            ))
        })
        .collect();
    let mut acked_per_room: HashMap<usize, usize> = HashMap::new();
    let mut error_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for sender in senders {
        let (acked, errors) = sender.await?;
        for (room, n) in acked {
            *acked_per_room.entry(room).or_default() += n;
        }
        for kind in errors {
            *error_kinds.entry(format!("send {kind}")).or_default() += 1;
        }
    }
    let send_errors = error_kinds.values().sum::<u64>() as usize;
    let sent = acked_per_room.values().sum();
    done.send_replace(Some(Arc::new(acked_per_room)));
    let mut received = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        received.push(receiver.await?);
    }
    let seconds = started.elapsed().as_secs_f64();

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let (mut delivered, mut pull_errors) = (0, 0);
    for r in &received {
        latency.add(&r.latency).context("same bounds")?;
        delivered += r.rooms.values().map(|got| got.len() as u64).sum::<u64>();
        for (kind, n) in &r.errors {
            pull_errors += n;
            *error_kinds.entry(format!("pull {kind}")).or_default() += n;
        }
    }
    let violations = check(&apis[0], &rooms, &received).await;
    let summary = PollSummary {
        label,
        receivers: args.receivers,
        senders: args.senders,
        seconds,
        sent,
        send_errors,
        delivered,
        pull_errors,
        error_kinds,
        delivery: Latency::of(&latency),
        violations,
    };
    print(&summary);
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(summary.violations.is_empty())
}

/// One sender: a message into a random room every `think`, until `deadline`; returns the
/// acknowledged sends per room and the failures.
async fn send(
    api: Api,
    rooms: Arc<Vec<Room>>,
    id: usize,
    acks: Acks,
    deadline: Instant,
    think: Duration,
) -> (HashMap<usize, usize>, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(id as u64);
    let (mut acked, mut errors) = (HashMap::new(), Vec::new());
    let mut seq = 0;
    while Instant::now() < deadline {
        let room = rng.usize(..rooms.len());
        seq += 1;
        let text = format!("p{id}-{seq}");
        let chat = &rooms[room].chat;
        match api
            .send(chat, &rooms[room].members[0], &text, Some(&text))
            .await
        {
            Ok(_) => {
                acks.lock().expect("acks lock").insert(text, Instant::now());
                *acked.entry(room).or_default() += 1;
            }
            Err(kind) => errors.push(kind),
        }
        tokio::time::sleep(think).await;
    }
    (acked, errors)
}

/// One receiver: follows its room with `next_cursor` until the senders are done and it has
/// every message they sent there (or the catch-up time passed).
async fn receive(
    api: Api,
    rooms: Arc<Vec<Room>>,
    room: usize,
    acks: Acks,
    mut finishing: Finishing,
    wait_ms: i32,
    short_poll: Option<Duration>,
) -> Received {
    let chat = &rooms[room].chat;
    let mut received = Received::new([room]);
    let mut cursor = 0;
    let mut catch_up_until = None;
    loop {
        let phase = received.phase(&finishing, &mut catch_up_until);
        if phase == Phase::Done {
            break;
        }
        let sending = phase == Phase::Sending;
        let wait = if short_poll.is_none() && sending {
            wait_ms
        } else {
            0
        };
        let pulled = tokio::select! {
            pulled = api.pull(chat, cursor, 100, false, wait) => pulled,
            // The senders finished while this pull waits: look again without waiting.
            _ = finishing.changed(), if sending => continue,
        };
        match pulled {
            Ok(page) => {
                let empty = page.messages.is_empty();
                received.take(&acks, room, page.messages);
                cursor = page.next_cursor;
                if let (Some(every), true) = (short_poll, empty) {
                    tokio::time::sleep(every).await;
                }
            }
            Err(kind) => {
                received.failed(kind);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    received
}

/// Every receiver got exactly what each room it follows holds, in order.
async fn check(api: &Api, rooms: &[Room], received: &[Received]) -> Vec<String> {
    let mut violations = Vec::new();
    let mut stored: HashMap<usize, Vec<(i64, String)>> = HashMap::new();
    for &room in received.iter().flat_map(|r| r.rooms.keys()) {
        if let std::collections::hash_map::Entry::Vacant(slot) = stored.entry(room) {
            match walk(api, &rooms[room].chat, false).await {
                Ok(all) => {
                    slot.insert(all);
                }
                Err(err) => {
                    violations.push(format!("{}: cannot walk the room: {err}", rooms[room].chat))
                }
            }
        }
    }
    for (room, got) in received.iter().flat_map(|r| &r.rooms) {
        let Some(all) = stored.get(room) else {
            continue;
        };
        if got != all {
            violations.push(format!(
                "{}: a receiver got {} messages, the room holds {} (missed, repeated or out of order)",
                rooms[*room].chat,
                got.len(),
                all.len()
            ));
        }
    }
    violations
}

fn print(summary: &PollSummary) {
    let d = &summary.delivery;
    println!("== {} ==", summary.label);
    println!(
        "{:.1} s, {} messages sent ({} send errors), {} deliveries ({} pull errors)",
        summary.seconds, summary.sent, summary.send_errors, summary.delivered, summary.pull_errors
    );
    if !summary.error_kinds.is_empty() {
        let kinds: Vec<String> = (summary.error_kinds.iter())
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        println!("errors by kind: {}", kinds.join(", "));
    }
    println!(
        "delivery latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        d.p50_ms, d.p90_ms, d.p99_ms, d.p999_ms, d.max_ms
    );
    if summary.violations.is_empty() {
        println!("every receiver got every message of each room it follows once, in order: PASS");
    } else {
        println!("FAIL:");
        for violation in summary.violations.iter().take(20) {
            println!("  {violation}");
        }
    }
}
