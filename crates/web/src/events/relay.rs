//! The outbox relay: publishes pending outbox rows to the bus in order of their row number and
//! marks them published. It runs on one node at a time under the [`RELAY_JOB`] lease; if that
//! node dies between publishing and marking, the next holder publishes the same events again
//! (NATS drops the copies by message id; consumers ignore what they have handled).

use cqs_store::{Store, StoreError};

use super::bus::{Bus, BusError, Event};
use crate::Clock;

/// The relay's job lease.
pub const RELAY_JOB: &str = "outbox-relay";
/// Events published per round trip.
const BATCH: i64 = 256;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Publishes everything pending, batch by batch, until nothing is; returns how many events.
pub async fn relay_pending(store: &dyn Store, bus: &dyn Bus, clock: &Clock) -> Result<usize, RelayError> {
    let mut published = 0;
    loop {
        let pending = store.pending_events(BATCH).await?;
        if pending.is_empty() {
            return Ok(published);
        }
        let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
        let events: Vec<Event> = pending.into_iter().map(Event::from).collect();
        bus.publish(&events).await?;
        store.mark_published(&ids, clock.now()).await?;
        published += events.len();
        metrics::counter!("cqs_events_published_total").increment(events.len() as u64);
        if (ids.len() as i64) < BATCH {
            return Ok(published);
        }
    }
}
