//! `im-load ceiling`: the database's own throughput for the same work, issued directly with
//! sqlx at the same concurrency, with no RPC and no HTTP in between. Sends are single-row
//! autocommit inserts into the messages table; pulls are the store's own page read.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use anyhow::Context;
use im_domain::PageRequest;
use rpc_server::clock::SystemClock;
use rpc_server::store::{Store, StoreOptions};
use sqlx::mysql::MySqlPoolOptions;

use crate::cli::{CeilingArgs, Workload};
use crate::stats::{Progress, Recorder, Summary, show_progress};

pub async fn run(args: CeilingArgs) -> anyhow::Result<bool> {
    let bounds = args.bounds;
    let clients = bounds.clients.max(1);
    let pool_size = u32::try_from(clients).unwrap_or(u32::MAX).min(500);
    // Creates the database and the schema, exactly as the rpc-server does.
    let options = StoreOptions {
        pool_size,
        commit_lanes: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(
        &args.database_url,
        &options,
        Arc::new(SystemClock),
        Arc::new(()),
    )
    .await
    .context("cannot open the ceiling database")?;
    let pool = MySqlPoolOptions::new()
        .max_connections(pool_size)
        .connect(&args.database_url)
        .await?;
    let run = fastrand::u32(..);
    let rooms: Arc<Vec<String>> = Arc::new(
        (0..bounds.rooms.max(1))
            .map(|i| format!("c{run:x}r{i}a:c{run:x}r{i}b"))
            .collect(),
    );
    let next_time = Arc::new(AtomicI64::new(1));
    if bounds.workload == Workload::Pull {
        for room in rooms.iter() {
            for n in 0..bounds.seed_per_room {
                insert(
                    &pool,
                    room,
                    next_time.fetch_add(1, Ordering::Relaxed),
                    &format!("seed {n}"),
                )
                .await?;
            }
        }
    }

    let progress = Arc::new(Progress::default());
    let printer = show_progress(progress.clone());
    let budget = Arc::new(AtomicI64::new(
        i64::try_from(bounds.requests).unwrap_or(i64::MAX),
    ));
    let pull_percent = match bounds.workload {
        Workload::Send => 0,
        Workload::Pull => 100,
        Workload::Mix => bounds.pull_percent.min(100),
    };
    let started = Instant::now();
    let deadline = started + bounds.duration;
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let (pool, store, rooms) = (pool.clone(), store.clone(), rooms.clone());
            let (budget, progress, next_time) =
                (budget.clone(), progress.clone(), next_time.clone());
            tokio::spawn(async move {
                let mut record = Recorder::new();
                let mut rng = fastrand::Rng::with_seed(id as u64);
                while Instant::now() < deadline && budget.fetch_sub(1, Ordering::Relaxed) > 0 {
                    let room = &rooms[rng.usize(..rooms.len())];
                    let op_started = Instant::now();
                    let ok = if rng.u8(..100) < pull_percent {
                        let req = PageRequest::parse(room, 0, 20, true).expect("valid room");
                        let ok = store.read_page(&req).await.is_ok();
                        if ok {
                            let _ = record.pulls.record(op_started.elapsed().as_micros() as u64);
                        }
                        ok
                    } else {
                        let send_time = next_time.fetch_add(1, Ordering::Relaxed);
                        let ok = insert(&pool, room, send_time, "ceiling").await.is_ok();
                        if ok {
                            let _ = record.sends.record(op_started.elapsed().as_micros() as u64);
                        }
                        ok
                    };
                    progress.done.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        progress.errors.fetch_add(1, Ordering::Relaxed);
                        *record.errors.entry("database".to_owned()).or_default() += 1;
                    }
                }
                record
            })
        })
        .collect();
    let mut record = Recorder::new();
    for task in tasks {
        record.merge(task.await?);
    }
    let elapsed = started.elapsed();
    printer.abort();
    let summary = Summary::new(
        crate::run::describe(&bounds, "database ceiling (sqlx, direct)"),
        clients,
        elapsed,
        &record,
    );
    summary.print();
    if let Some(path) = &bounds.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(summary.errors.is_empty())
}

/// One autocommit single-row insert: the floor of what storing a message costs.
async fn insert(
    pool: &sqlx::MySqlPool,
    room: &str,
    send_time: i64,
    text: &str,
) -> Result<(), sqlx::Error> {
    let sender = room.split(':').next().unwrap_or_default();
    sqlx::query("INSERT INTO messages (room, send_time, sender, text) VALUES (?, ?, ?, ?)")
        .bind(room)
        .bind(send_time)
        .bind(sender)
        .bind(text)
        .execute(pool)
        .await
        .map(|_| ())
}
