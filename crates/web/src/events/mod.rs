//! Events: how state changes leave the store. Every change writes an outbox row in its own
//! transaction; the relay (one node at a time, under a job lease) publishes pending rows to the
//! bus and marks them published; consumers subscribe to the bus.
//!
//! The bus is in-process by default (the relay hands each batch to the node's consumers before
//! marking it published) and NATS JetStream when configured (the relay returns once the server
//! has stored each message; consumers are durable JetStream consumers shared by the nodes).
//! Either way delivery is at least once, so every consumer is idempotent: the subjects, payloads
//! and guarantees are in `docs/events.md`.

pub mod applicant_notices;
pub mod bus;
pub mod consumers;
pub mod nats;
pub mod relay;

pub use bus::{Bus, BusError, Event, InProcessBus};
pub use consumers::{Consumer, DossierStateCounts, topic_matches};
pub use nats::{NatsBus, NatsSettings};
pub use relay::{RELAY_JOB, relay_pending};
