//! What the API's layers (`middleware`) and its routes share: the route names, the limits, the
//! permits, and the one extension that carries them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::access::Access;
use crate::rpc_client::RpcClient;

/// The routes that get their own label in the request metrics.
pub const ROUTES: [&str; 10] = [
    "/",
    "/ping",
    "/api/send",
    "/api/pull",
    "/api/chats",
    "/api/access",
    "/api/demo/token",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// Bounds on the API requests in progress.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Most requests in progress at once; beyond it, 503 at once.
    pub max_in_flight: usize,
    /// The longest a request body may take to arrive; then 408.
    pub body_timeout: Duration,
    /// Most pulls and inbox listings waiting for a change at once (they do not count as in
    /// progress); beyond it, 503 at once.
    pub max_waiting_pulls: usize,
    /// `wait_ms` of a pull or a listing is clamped to this.
    pub max_wait: Duration,
}

/// What the API's routes share, as one extension.
pub struct Api {
    pub rpc: RpcClient,
    pub access: Access,
    pub limits: ApiLimits,
    /// Requests in progress.
    pub in_flight: Permits,
    /// Pulls and listings waiting for a change.
    pub waiting: Permits,
}

impl Api {
    pub fn new(rpc: RpcClient, access: Access, limits: ApiLimits) -> Self {
        Self {
            rpc,
            access,
            limits,
            in_flight: Permits::new(limits.max_in_flight),
            waiting: Permits::new(limits.max_waiting_pulls),
        }
    }
}

/// A bounded number of permits, taken without waiting: a call that finds none is refused.
#[derive(Clone)]
pub struct Permits(Arc<Semaphore>);

impl Permits {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }
}
