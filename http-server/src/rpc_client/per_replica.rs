//! What the client keeps for each replica it calls: a batcher for each kind of call, what the
//! replica was found to know, and whether it is passed over as unreachable (`ejection`) or as
//! stopping (`leaving`). It is made at the first call and goes when discovery reports the
//! replica added again, changed or gone (a replica replaced by another release is learned anew;
//! calls under way keep what they hold).
//!
//! One attempt at a replica: sends and pulls join that replica's batches, calls that may wait
//! its waiting calls; a replica that does not know those methods (a Kitex server, an older
//! release) gets each call alone, and a call that meets "unknown method" where the methods
//! worked before (a replica rolled back) is made alone at once, within the same attempt: nothing
//! ran, and its caller never sees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use im_idl::{ImServiceClient, PullRequest, SendRequest};
use volo::net::Address;

use super::awaits::{self, Awaited, Awaits};
use super::batcher::Batcher;
use super::ejection::Ejection;
use super::exchanges::{Batches, Singles, Unknown};
use super::leaving::Leaving;
use super::request::{Reply, Request};
use super::retry::Failed;

pub(super) struct PerReplica {
    /// Carry the batches and the single calls, addressed per call. Each has connections of its
    /// own: a server that does not know a batch method closes the connection once it has said
    /// so (Kitex does), and the single call made at once in its place must not pick it up.
    batch_client: ImServiceClient,
    single_client: ImServiceClient,
    /// Exchanges of a kind under way to one replica (0: every call alone, waiting calls too).
    exchanges: usize,
    /// Single calls under way to one replica, calls that may wait aside.
    calls: usize,
    replicas: Mutex<HashMap<Address, Arc<Replica>>>,
    /// The replicas heard stopping.
    pub(super) leaving: Arc<Leaving>,
}

impl PerReplica {
    pub(super) fn new(
        [batch_client, single_client]: [ImServiceClient; 2],
        leaving: Arc<Leaving>,
        exchanges: usize,
        calls: usize,
    ) -> Self {
        Self {
            batch_client,
            single_client,
            exchanges,
            calls,
            replicas: Mutex::default(),
            leaving,
        }
    }

    /// `replica`'s state, made when new.
    pub(super) fn get(&self, replica: &Address) -> Arc<Replica> {
        let mut replicas = self.replicas.lock().unwrap_or_else(PoisonError::into_inner);
        let made = replicas
            .entry(replica.clone())
            .or_insert_with(|| Arc::new(Replica::new(self, replica)));
        made.clone()
    }

    /// Discovery reported `replica` added, changed or gone: what the client keeps of it goes.
    pub(super) fn forget(&self, replica: &Address) {
        let mut replicas = self.replicas.lock().unwrap_or_else(PoisonError::into_inner);
        replicas.remove(replica);
        self.leaving.forget(replica);
    }

    #[cfg(test)]
    pub(super) fn kept(&self) -> usize {
        self.replicas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

pub(super) struct Replica {
    pub(super) ejection: Arc<Ejection>,
    batch: bool,
    sends: Arc<Batcher<Batches<SendRequest>>>,
    pulls: Arc<Batcher<Batches<PullRequest>>>,
    /// `SendBatch` and `PullBatch`.
    batches_unknown: Arc<Unknown>,
    awaits: Arc<Batcher<Awaits>>,
    awaits_unknown: Arc<Unknown>,
    singles: Arc<Batcher<Singles>>,
}

impl Replica {
    fn new(of: &PerReplica, replica: &Address) -> Self {
        let (client, replica) = (&of.batch_client, replica.clone());
        let batches_unknown = Arc::new(Unknown::default());
        let awaits_unknown = Arc::new(Unknown::default());
        let leaving = &of.leaving;
        let sends = Batches::new(
            client.clone(),
            replica.clone(),
            batches_unknown.clone(),
            leaving.clone(),
        );
        let pulls = Batches::new(
            client.clone(),
            replica.clone(),
            batches_unknown.clone(),
            leaving.clone(),
        );
        Self {
            ejection: Arc::new(Ejection::new(replica.to_string())),
            batch: of.exchanges > 0,
            sends: Batcher::new(sends, of.exchanges),
            pulls: Batcher::new(pulls, of.exchanges),
            awaits: Batcher::new(
                Awaits::new(client.clone(), replica.clone(), awaits_unknown.clone()),
                awaits::CALLS,
            ),
            batches_unknown,
            awaits_unknown,
            singles: Batcher::new(
                Singles::new(of.single_client.clone(), replica, leaving.clone()),
                of.calls,
            ),
        }
    }

    /// One attempt at this replica, answered by `deadline`; `wait` is how long a read may wait
    /// there for something new.
    pub(super) async fn call(
        &self,
        request: Request,
        wait: Duration,
        deadline: Instant,
    ) -> Result<Reply, Failed> {
        let waits = !wait.is_zero();
        let batched = match &request {
            _ if !self.batch => None,
            Request::Send(send) if !self.batches_unknown.one_by_one() => Some(
                self.sends
                    .call(send.clone(), deadline)
                    .await
                    .map(Reply::Send),
            ),
            Request::Pull(pull) if !waits && !self.batches_unknown.one_by_one() => Some(
                self.pulls
                    .call(pull.clone(), deadline)
                    .await
                    .map(Reply::Pull),
            ),
            Request::Pull(pull) if waits && !self.awaits_unknown.one_by_one() => Some(
                self.awaits
                    .call(Awaited::Pull(pull.clone()), deadline)
                    .await,
            ),
            Request::Chats(chats) if waits && !self.awaits_unknown.one_by_one() => Some(
                self.awaits
                    .call(Awaited::Chats(chats.clone()), deadline)
                    .await,
            ),
            _ => None,
        };
        match batched {
            Some(Err(Failed::NoBatches)) | None => {}
            Some(answered) => return answered,
        }
        if waits {
            // It holds its connection idle for long: bounded by the cap on waiting calls
            // instead, or a few hundred of them would stall every other call. Boxed: the
            // client's call is kilobytes, which every waiting call would carry otherwise.
            Box::pin(self.singles.exchange().call(request, deadline)).await
        } else {
            self.singles.call(request, deadline).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replica_that_discovery_drops_leaves_nothing_behind() {
        let client = || im_idl::ImServiceClientBuilder::new("im-rpc").build();
        let per_replica = PerReplica::new([client(), client()], Arc::default(), 2, 8);
        let (a, b) = (
            Address::from("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap()),
            Address::from("127.0.0.1:2".parse::<std::net::SocketAddr>().unwrap()),
        );
        let kept_a = per_replica.get(&a);
        per_replica.get(&b);
        assert!(Arc::ptr_eq(&kept_a, &per_replica.get(&a)), "made once");
        per_replica.forget(&a);
        assert_eq!(per_replica.kept(), 1);
        assert!(!Arc::ptr_eq(&kept_a, &per_replica.get(&a)), "learned anew");
    }
}
