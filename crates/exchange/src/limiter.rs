//! Client rate limits and quotas, counted across nodes. Each limit has one counter per window in
//! the store; a node claims a lease of calls from it (`domain::exchange::quota::lease_size`) and
//! spends the lease locally, so the store is written once per lease instead of once per call.
//! Across all nodes no window admits more than its limit; a client may be refused a little early
//! (by the leases other nodes still hold). When a call passes one limit and fails another, the
//! first limit's call is spent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cqs_domain::exchange::quota::{Window, granted, lease_size};
use cqs_store::Store;
use cqs_store::exchange::ClientLimit;

#[derive(Debug, Clone, Copy)]
struct Lease {
    window_start: DateTime<Utc>,
    left: i64,
    /// The shared counter had nothing more to give in this window.
    spent: bool,
}

/// A refusal: which window ran out and how long until the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub window: Window,
    pub retry_after_secs: u64,
}

pub struct Limiter {
    store: Arc<dyn Store>,
    leases: Mutex<HashMap<String, Lease>>,
}

impl Limiter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, leases: Mutex::new(HashMap::new()) }
    }

    fn take_local(&self, key: &str, ws: DateTime<Utc>) -> Option<bool> {
        let mut map = self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lease = map.get_mut(key).filter(|l| l.window_start == ws)?;
        if lease.left > 0 {
            lease.left -= 1;
            Some(true)
        } else if lease.spent {
            Some(false)
        } else {
            None
        }
    }

    /// Admits one call under every limit in `limits`, or says which one refused it.
    pub async fn admit(
        &self,
        limits: &[&ClientLimit],
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refused>, cqs_store::StoreError> {
        for limit in limits {
            let ws = limit.window.start(now);
            let key = limit.key();
            let refused = || Refused {
                window: limit.window,
                retry_after_secs: (limit.window.next_start(now) - now).num_seconds().max(1) as u64,
            };
            match self.take_local(&key, ws) {
                Some(true) => continue,
                Some(false) => return Ok(Err(refused())),
                None => {}
            }
            let want = lease_size(limit.max_requests);
            let after = self.store.claim_quota(&key, ws, want).await?;
            let got = granted(after, want, limit.max_requests);
            let mut map = self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.len() > 10_000 {
                map.retain(|_, l| l.window_start >= ws);
            }
            let lease = map.entry(key).or_insert(Lease { window_start: ws, left: 0, spent: false });
            if lease.window_start != ws {
                *lease = Lease { window_start: ws, left: 0, spent: false };
            }
            lease.left += got;
            lease.spent |= got < want;
            if lease.left == 0 {
                return Ok(Err(refused()));
            }
            lease.left -= 1;
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqs_domain::exchange::ClientId;

    #[tokio::test]
    async fn two_nodes_share_a_limit() {
        let (nodes, _dir) = cqs_store::testing::sqlite_nodes(2).await;
        let limit = ClientLimit {
            client: ClientId::parse("VN-LH/GOV/000.00.31.H99/mot-cua").unwrap(),
            service: None,
            window: Window::Minute,
            max_requests: 45,
        };
        let (a, b) = (Limiter::new(nodes[0].clone()), Limiter::new(nodes[1].clone()));
        let now: DateTime<Utc> = "2026-03-05T03:00:10Z".parse().unwrap();
        let mut admitted = 0;
        for i in 0..100 {
            let l = if i % 2 == 0 { &a } else { &b };
            if l.admit(&[&limit], now).await.unwrap().is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 45, "leases of 2 from one counter: exactly the limit, across both nodes");
        let refused = a.admit(&[&limit], now).await.unwrap().unwrap_err();
        assert_eq!((refused.window, refused.retry_after_secs), (Window::Minute, 50));
        let next: DateTime<Utc> = "2026-03-05T03:01:00Z".parse().unwrap();
        assert!(a.admit(&[&limit], next).await.unwrap().is_ok(), "the next minute starts afresh");
    }
}
