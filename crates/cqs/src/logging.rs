//! Logs and traces. Logs go to standard error, as text for people or JSON for collectors (one
//! object per line, with the fields of the spans it happened in, so every line written while a
//! request is served carries its `request_id` and route template). What is logged is chosen in
//! the code, never a request body, a path or a header: no personal data, codes or keys.
//!
//! With `otlp_endpoint` set, spans are also sent over OTLP/HTTP (protobuf) to an OpenTelemetry
//! collector, batched on the SDK's own thread. The batch thread has no Tokio runtime, so its
//! HTTP requests are handed to the server's runtime ([`OnRuntime`]), which keeps us on the hyper
//! client the server already has instead of a second HTTP stack.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// What is logged when `CQS_LOG` does not say.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// Keeps the trace exporter alive; dropping it sends the spans still buffered.
#[must_use]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("OpenTelemetry: spans not all sent at shutdown: {e}");
        }
    }
}

/// The log lines, as text or JSON, written to `writer`.
pub fn fmt_layer<W>(json: bool, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    if json { layer.json().with_current_span(true).with_span_list(false).boxed() } else { layer.boxed() }
}

/// An HTTP client for the exporter that runs each request on a Tokio runtime.
#[derive(Debug, Clone)]
pub struct OnRuntime {
    client: opentelemetry_http::hyper::HyperClient,
    runtime: tokio::runtime::Handle,
}

impl OnRuntime {
    /// Must be called inside the runtime the requests will run on.
    pub fn current(timeout: Duration) -> Self {
        Self {
            client: opentelemetry_http::hyper::HyperClient::with_default_connector(timeout, None),
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: axum::http::Request<axum::body::Bytes>,
    ) -> Result<axum::http::Response<axum::body::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        self.runtime.spawn(async move { client.send_bytes(request).await }).await?
    }
}

/// A tracer provider exporting to the collector at `endpoint` (`http://host:4318`), naming
/// this process `service.name = cqs` and `service.instance.id = <host>:<pid>`. Call inside the
/// Tokio runtime.
pub fn otlp_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(Duration::from_secs(10))
        .with_http_client(OnRuntime::current(Duration::from_secs(10)))
        .build()
        .map_err(|e| anyhow::anyhow!("không tạo được bộ xuất OpenTelemetry: {e}"))?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("cqs")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            format!("{}:{}", host.trim(), std::process::id()),
        ))
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// The subscriber `cqs` logs through: the filter, the log lines, and spans to OTLP if
/// `provider` is given.
pub fn subscriber<W>(
    filter: EnvFilter,
    json: bool,
    writer: W,
    provider: Option<&SdkTracerProvider>,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let otel = provider.map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("cqs")));
    Registry::default().with(fmt_layer(json, writer)).with(otel).with(filter)
}

/// Installs logging (and tracing, when configured) for the process.
pub fn init(json: bool, otlp_endpoint: &str) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_env("CQS_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let provider = if otlp_endpoint.is_empty() { None } else { Some(otlp_provider(otlp_endpoint)?) };
    subscriber(filter, json, std::io::stderr, provider.as_ref()).init();
    if !otlp_endpoint.is_empty() {
        tracing::info!(endpoint = otlp_endpoint, "traces are sent over OTLP");
    }
    Ok(Telemetry { provider })
}
