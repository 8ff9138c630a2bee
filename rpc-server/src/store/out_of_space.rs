//! Sends the database refused lately for want of disk: the replica is not ready while they
//! go on (`/readyz` says why), and ready again once a send is stored or none failed so for a
//! while. Reads go on meanwhile: they need no space.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::StoreError;
use super::error::out_of_space;

/// How long after the last send refused for want of disk the replica counts as out of disk.
const REMEMBERED: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(super) struct OutOfSpace(Mutex<Option<(Instant, String)>>);

impl OutOfSpace {
    /// Notes what a send came to.
    pub(super) fn note<T>(&self, result: &Result<T, StoreError>) {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(_) => *last = None,
            Err(err) if out_of_space(err) => *last = Some((Instant::now(), err.to_string())),
            Err(_) => {}
        }
    }

    /// What the database last said, while sends fail for want of disk.
    pub(super) fn lately(&self) -> Option<String> {
        let last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, said) = last.as_ref()?;
        (at.elapsed() < REMEMBERED).then(|| said.clone())
    }
}
