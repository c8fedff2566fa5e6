//! The event bus on NATS JetStream. One stream (default `CQS`) holds every event under
//! `<prefix>.<topic>` (default prefix `cqs`, e.g. `cqs.dossier.submitted`). Each message carries
//! `Nats-Msg-Id: <event_id>`, so the server drops a second copy that a relay publishes again
//! after a crash within the stream's duplicate window. Consumers are durable pull consumers:
//! every node pulls from the same one, so each event goes to one node of each consumer, and an
//! event not acknowledged in time is delivered again.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures_util::StreamExt;

use super::bus::{Bus, BusError, Event};
use super::consumers::Consumer;
use crate::jobs::lease::{Stop, stopping, until_stopped};

/// How long the server remembers message ids for de-duplication. It must be longer than the
/// time a relay's work can stay unrecorded: a job lease plus one batch (30 s by default).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a consumer has to acknowledge an event before it is delivered again.
pub const ACK_WAIT: Duration = Duration::from_secs(30);
/// Events pulled per batch.
const BATCH: usize = 256;

/// Where to find NATS and what to call things there.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// `nats://host:4222` (several separated by commas; `nats://user:password@host` to sign in,
    /// `tls://` for TLS).
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
    /// How long the stream keeps events (also how far back a new subscriber can start).
    pub max_age: Duration,
    /// Name the connection shows in the server's monitoring.
    pub client_name: String,
}

#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: stream::Stream,
    prefix: String,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

impl NatsBus {
    /// Connects and makes sure the stream exists (an operator may create it beforehand, for
    /// example with replicas on a NATS cluster; an existing stream is used as it is).
    pub async fn connect(s: &NatsSettings) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name(&s.client_name)
            .connection_timeout(Duration::from_secs(5))
            .connect(s.url.as_str())
            .await
            .map_err(unavailable)?;
        let js = jetstream::new(client.clone());
        let stream = js
            .get_or_create_stream(stream::Config {
                name: s.stream.clone(),
                subjects: vec![format!("{}.>", s.subject_prefix)],
                storage: stream::StorageType::File,
                max_age: s.max_age,
                duplicate_window: DUPLICATE_WINDOW.min(s.max_age),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        Ok(Self { client, js, stream, prefix: s.subject_prefix.clone() })
    }

    /// The subject of a topic (or a topic pattern).
    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    /// Runs `consumer` on its durable JetStream consumer until `stop` turns true.
    fn spawn_consumer(&self, consumer: Arc<dyn Consumer>, mut stop: Stop) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            while !stopping(&stop) {
                match bus.consume(consumer.as_ref(), &stop).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(consumer = consumer.name(), error = %e, "event consumer stopped; restarting");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = until_stopped(&mut stop) => {}
                        }
                    }
                }
            }
        })
    }

    async fn consume(&self, consumer: &dyn Consumer, stop: &Stop) -> Result<(), BusError> {
        let pull = self
            .stream
            .get_or_create_consumer(
                consumer.name(),
                pull::Config {
                    durable_name: Some(consumer.name().to_owned()),
                    filter_subject: self.subject(consumer.topics()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    ..Default::default()
                },
            )
            .await
            .map_err(unavailable)?;
        while !stopping(stop) {
            let mut batch = pull
                .batch()
                .max_messages(BATCH)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .map_err(unavailable)?;
            let mut messages = Vec::new();
            let mut events = Vec::new();
            while let Some(m) = batch.next().await {
                let m = m.map_err(unavailable)?;
                match serde_json::from_slice::<Event>(&m.payload) {
                    Ok(e) => {
                        events.push(e);
                        messages.push(m);
                    }
                    Err(e) => {
                        // Not ours to read (another producer on the subjects, or a newer format):
                        // dropped for this consumer rather than redelivered forever.
                        tracing::warn!(consumer = consumer.name(), subject = %m.subject, error = %e, "unreadable event skipped");
                        m.ack_with(jetstream::AckKind::Term).await.map_err(unavailable)?;
                    }
                }
            }
            if events.is_empty() {
                continue;
            }
            match consumer.handle(&events).await {
                Ok(()) => {
                    for m in &messages {
                        m.ack().await.map_err(unavailable)?;
                    }
                }
                Err(reason) => {
                    tracing::warn!(
                        consumer = consumer.name(),
                        reason,
                        "events not handled; they will be delivered again"
                    );
                    for m in &messages {
                        m.ack_with(jetstream::AckKind::Nak(Some(Duration::from_secs(2)))).await.map_err(unavailable)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Bus for NatsBus {
    fn kind(&self) -> &'static str {
        "nats"
    }

    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        // Send everything, then wait for the acknowledgements: one round trip per batch.
        let mut acks = Vec::with_capacity(events.len());
        for e in events {
            let body = serde_json::to_vec(e).map_err(unavailable)?;
            let msg =
                jetstream::message::PublishMessage::build().payload(body.into()).message_id(e.event_id.to_string());
            acks.push(self.js.send_publish(self.subject(&e.topic), msg).await.map_err(unavailable)?);
        }
        for ack in acks {
            ack.await.map_err(unavailable)?;
        }
        Ok(())
    }

    fn run_consumers(&self, consumers: Vec<Arc<dyn Consumer>>, stop: Stop) -> Vec<tokio::task::JoinHandle<()>> {
        consumers.into_iter().map(|c| self.spawn_consumer(c, stop.clone())).collect()
    }

    async fn consumer_lag(&self, name: &str) -> Result<Option<u64>, BusError> {
        let info = self.stream.consumer_info(name).await.map_err(unavailable)?;
        Ok(Some(info.num_pending + info.num_ack_pending as u64))
    }

    async fn ping(&self) -> Result<(), BusError> {
        tokio::time::timeout(Duration::from_secs(2), self.client.flush())
            .await
            .map_err(|_| BusError::Unavailable("NATS did not answer in 2 s".into()))?
            .map_err(unavailable)
    }
}
