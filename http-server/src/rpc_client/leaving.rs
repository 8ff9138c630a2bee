//! Replicas that said they are leaving. While it drains, a stopping replica answers every call
//! with TTHeader's `crrst` ("close this connection after the reply") and then exits. Etcd says
//! the same, but its word can come late (a slow lease revoke, a watch that lags); a call made
//! over a pooled connection just as the replica exits is cut, and a send without an id is then
//! of unknown outcome. So a replica heard saying `crrst` is passed over for a while, like an
//! ejected one: its rooms go to the next replica on the ring, and it is still tried when no
//! other is left. A send without an id that chose it before it was heard leaving, and is
//! still waiting for an exchange there, is kept back as the exchange leaves and goes to the
//! next replica too (`retry::Withheld`); one that chose it knowingly, as the last left, goes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use volo::Service;
use volo::context::Context;
use volo::layer::Layer;
use volo::net::Address;
use volo_thrift::context::ClientContext;

/// How long after its last `crrst` a replica is passed over: longer than a drain's last reply
/// takes to reach its exit; a replica started anew at the address gets calls again after it.
const PASSED_OVER_FOR: Duration = Duration::from_secs(3);

/// The replicas heard leaving: since when, and until when each is passed over.
#[derive(Default)]
pub(super) struct Leaving {
    marks: Mutex<HashMap<Address, Mark>>,
    /// How many marks there are, so that attempts skip the lock while there is none (nearly
    /// always).
    count: AtomicUsize,
}

#[derive(Clone, Copy)]
struct Mark {
    since: Instant,
    until: Instant,
}

impl Leaving {
    fn lock(&self) -> MutexGuard<'_, HashMap<Address, Mark>> {
        self.marks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn recount(&self, marks: &HashMap<Address, Mark>) {
        self.count.store(marks.len(), Ordering::Relaxed);
    }

    pub(super) fn heard(&self, replica: Address, now: Instant) {
        let mut leaving = self.lock();
        // Replicas long gone are never looked up again.
        leaving.retain(|_, mark| mark.until > now);
        let since = leaving.get(&replica).map_or(now, |mark| mark.since);
        let until = now + PASSED_OVER_FOR;
        let before = leaving.insert(replica.clone(), Mark { since, until });
        self.recount(&leaving);
        drop(leaving);
        if before.is_none() {
            tracing::info!(%replica, "replica leaving (crrst): passed over");
            metrics::counter!("im_rpc_client_leaving_heard_total", "replica" => replica.to_string())
                .increment(1);
        }
    }

    /// Whether calls pass `replica` over now.
    pub(super) fn is_leaving(&self, replica: &Address, now: Instant) -> bool {
        self.heard_since(replica, now).is_some()
    }

    /// Whether `replica`, passed over now, was first heard leaving after `chosen` (so a call
    /// that chose it then did not know).
    pub(super) fn heard_after(&self, replica: &Address, chosen: Instant, now: Instant) -> bool {
        self.heard_since(replica, now)
            .is_some_and(|since| since > chosen)
    }

    /// Since when `replica` is heard leaving, if calls pass it over now.
    fn heard_since(&self, replica: &Address, now: Instant) -> Option<Instant> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut leaving = self.lock();
        match leaving.get(replica) {
            Some(mark) if now < mark.until => Some(mark.since),
            Some(_) => {
                leaving.remove(replica);
                self.recount(&leaving);
                None
            }
            None => None,
        }
    }

    /// Discovery reported `replica` added, changed or gone: a new process, if any, is not leaving.
    pub(super) fn forget(&self, replica: &Address) {
        let mut leaving = self.lock();
        leaving.remove(replica);
        self.recount(&leaving);
    }
}

/// Notes each replica whose answer came with `crrst`.
#[derive(Clone)]
pub(super) struct LeavingLayer(pub(super) Arc<Leaving>);

impl<S> Layer<S> for LeavingLayer {
    type Service = NoteLeaving<S>;

    fn layer(self, inner: S) -> Self::Service {
        NoteLeaving {
            inner,
            leaving: self.0,
        }
    }
}

#[derive(Clone)]
pub(super) struct NoteLeaving<S> {
    inner: S,
    leaving: Arc<Leaving>,
}

impl<S, Req> Service<ClientContext, Req> for NoteLeaving<S>
where
    S: Service<ClientContext, Req> + Send + Sync,
    Req: Send,
{
    type Response = S::Response;
    type Error = S::Error;

    async fn call(&self, cx: &mut ClientContext, req: Req) -> Result<S::Response, S::Error> {
        // The address the call was sent to, as chosen (an answer's headers may rename it).
        let replica = cx.rpc_info().callee().address();
        let answer = self.inner.call(cx, req).await;
        // A connection stays reusable after an answer unless the answer said `crrst`.
        if answer.is_ok()
            && !cx.transport.should_reuse
            && let Some(replica) = replica
        {
            self.leaving.heard(replica, Instant::now());
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_heard_leaving_is_passed_over_for_a_while_or_until_discovery_says_otherwise() {
        let leaving = Leaving::default();
        let (a, b): (Address, Address) = (
            "127.0.0.1:1"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
            "127.0.0.1:2"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        );
        let now = Instant::now();
        leaving.heard(a.clone(), now);
        assert!(leaving.is_leaving(&a, now + PASSED_OVER_FOR / 2));
        assert!(!leaving.is_leaving(&b, now));
        assert!(!leaving.is_leaving(&a, now + PASSED_OVER_FOR));

        leaving.heard(a.clone(), now);
        leaving.forget(&a);
        assert!(!leaving.is_leaving(&a, now));

        // Heard again while passed over, it is still heard since the first time.
        let later = now + PASSED_OVER_FOR / 2;
        leaving.heard(b.clone(), now);
        leaving.heard(b.clone(), later);
        assert!(leaving.heard_after(&b, now - Duration::from_millis(1), later));
        assert!(!leaving.heard_after(&b, now, later));
    }
}
