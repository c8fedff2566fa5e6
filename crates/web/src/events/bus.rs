//! The event bus interface, the event envelope every subscriber receives, and the in-process bus
//! of a single node.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqs_store::OutboxEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::consumers::{Consumer, topic_matches};
use crate::jobs::lease::Stop;

/// One event as subscribers see it: the outbox row without its local row number. `event_id` is
/// unique (NATS de-duplicates on it, consumers claim it); `payload` depends on the topic and
/// never carries personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Uuid,
    /// `dossier.submitted`, `dossier.<action>`, `dossier.due_soon`, `dossier.overdue` ...
    pub topic: String,
    /// The dossier (or other aggregate) the event is about.
    pub aggregate_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

impl From<OutboxEvent> for Event {
    fn from(e: OutboxEvent) -> Self {
        Self {
            event_id: e.event_id,
            topic: e.topic,
            aggregate_id: e.aggregate_id,
            created_at: e.created_at,
            payload: e.payload,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    #[error("consumer {consumer} failed: {reason}")]
    Consumer { consumer: &'static str, reason: String },
}

/// Where the relay publishes.
#[async_trait::async_trait]
pub trait Bus: Send + Sync {
    /// `in-process` or `nats`, for readiness output and metrics.
    fn kind(&self) -> &'static str;
    /// Returns once every event is safe with the bus: handled by each local consumer
    /// (in-process), or stored by the server (JetStream). An error means some may not be, and
    /// the relay publishes them all again later.
    async fn publish(&self, events: &[Event]) -> Result<(), BusError>;
    /// Starts the tasks that feed `consumers` from the bus, if it needs any (the in-process bus
    /// calls its consumers while publishing).
    fn run_consumers(&self, consumers: Vec<Arc<dyn Consumer>>, stop: Stop) -> Vec<tokio::task::JoinHandle<()>>;
    /// Events the named consumer has not handled yet, where the bus keeps count.
    async fn consumer_lag(&self, name: &str) -> Result<Option<u64>, BusError>;
    /// Whether the bus can take events now (for `/readyz`).
    async fn ping(&self) -> Result<(), BusError>;
}

/// The bus of a single node: events go straight to its consumers, then to in-node listeners.
pub struct InProcessBus {
    consumers: Vec<Arc<dyn Consumer>>,
    listeners: tokio::sync::broadcast::Sender<Event>,
}

impl InProcessBus {
    pub fn new(consumers: Vec<Arc<dyn Consumer>>) -> Self {
        Self { consumers, listeners: tokio::sync::broadcast::channel(1024).0 }
    }

    /// Events as they are published on this node (a listener that falls behind loses the
    /// oldest; anything that must not lose events is a [`Consumer`]).
    pub fn listen(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.listeners.subscribe()
    }
}

#[async_trait::async_trait]
impl Bus for InProcessBus {
    fn kind(&self) -> &'static str {
        "in-process"
    }

    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        for c in &self.consumers {
            let mine: Vec<Event> = events.iter().filter(|e| topic_matches(c.topics(), &e.topic)).cloned().collect();
            if !mine.is_empty() {
                c.handle(&mine).await.map_err(|reason| BusError::Consumer { consumer: c.name(), reason })?;
            }
        }
        for e in events {
            // No listener is not an error.
            let _ = self.listeners.send(e.clone());
        }
        Ok(())
    }

    fn run_consumers(&self, _: Vec<Arc<dyn Consumer>>, _: Stop) -> Vec<tokio::task::JoinHandle<()>> {
        Vec::new()
    }

    async fn consumer_lag(&self, _: &str) -> Result<Option<u64>, BusError> {
        // The relay hands events to the consumers itself: their lag is the outbox backlog.
        Ok(None)
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}
