//! Whether this replica can serve: its database answers, and has disk for sends. One task
//! checks it every [`CHECK_INTERVAL`]; `/readyz`, the `im_ready` gauge and the etcd
//! registration all follow that one answer. A replica that loses its database leaves etcd, so
//! the http-servers move its rooms to replicas that can serve them, and registers again once
//! the database is back.

use std::sync::Arc;
use std::time::Duration;

use im_ops::ReadinessCheck;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use volo_etcd_registry::Registration;

use crate::store::Store;

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A check that takes longer than this counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Consecutive failed checks before the replica counts as not ready: one slow answer under
/// load must not take it out of the fleet.
const FAILURES_TO_UNREADY: u32 = 3;

/// Starts a registration in etcd; called again after every loss of the database.
pub type Register = Box<dyn Fn() -> Registration + Send + Sync>;

/// The watching task. [`Readiness::stop`] ends it and leaves etcd.
pub struct Readiness {
    state: watch::Receiver<Result<Option<String>, String>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Readiness {
    /// Starts watching; the replica starts ready, since its store just opened. `register` is
    /// `None` without a registry.
    pub fn start(store: Store, register: Option<Register>) -> Self {
        let (publish, state) = watch::channel(Ok(schema_note(&store)));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(watch_database(store, register, publish, stopped));
        Self { state, stop, task }
    }

    /// The answer of `/readyz`.
    pub fn check(&self) -> ReadinessCheck {
        let state = self.state.clone();
        Arc::new(move || {
            let now = state.borrow().clone();
            Box::pin(async move { now })
        })
    }

    /// Stops watching and deregisters, for a graceful shutdown.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn watch_database(
    store: Store,
    register: Option<Register>,
    publish: watch::Sender<Result<Option<String>, String>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut registration = register.as_ref().map(|register| register());
    let mut failures = 0;
    let mut tick = tokio::time::interval(CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        let out_of_space = store.out_of_space();
        metrics::gauge!("im_db_out_of_space").set(if out_of_space.is_some() { 1.0 } else { 0.0 });
        // A stop does not wait for a ping: the replica deregisters at once.
        let ping = tokio::select! {
            _ = &mut stopped => break,
            ping = tokio::time::timeout(CHECK_TIMEOUT, store.ping()) => ping,
        };
        let answer = match ping {
            Ok(Ok(())) => match out_of_space {
                Some(said) => Err(format!("the database is out of disk: sends fail ({said})")),
                None => Ok(schema_note(&store)),
            },
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("the database did not answer in time".to_owned()),
        };
        failures = if answer.is_ok() { 0 } else { failures + 1 };
        let was_ready = publish.borrow().is_ok();
        let now_ready = answer.is_ok() || (was_ready && failures < FAILURES_TO_UNREADY);
        match (was_ready, now_ready) {
            (false, true) => {
                tracing::info!("database reachable again: ready");
                registration = register.as_ref().map(|register| register());
            }
            (true, false) => {
                tracing::warn!(reason = ?answer, "database unreachable: not ready, leaving etcd");
                if let Some(registration) = registration.take() {
                    registration.deregister().await;
                }
            }
            _ => {}
        }
        if now_ready != was_ready || !now_ready {
            let _ = publish.send_replace(if now_ready {
                Ok(schema_note(&store))
            } else {
                answer
            });
        }
        metrics::gauge!("im_ready").set(if publish.borrow().is_ok() { 1.0 } else { 0.0 });
    }
    if let Some(registration) = registration {
        registration.deregister().await;
    }
}

/// Said while ready: a schema that a later release migrated, which this one serves (a rollback).
fn schema_note(store: &Store) -> Option<String> {
    let ahead = store.schema_ahead();
    (!ahead.is_empty()).then(|| {
        format!(
            "the database schema is newer than this build: migrations {ahead:?} were applied by a \
             later release (served as a rollback; upgrade again when you can)"
        )
    })
}
