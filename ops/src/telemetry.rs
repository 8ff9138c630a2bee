use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Latency buckets, in seconds, from half a millisecond to five seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Buckets of the histograms that count things rather than time them (sends per group commit).
const SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Handle on the process-wide metrics recorder, to render `/metrics`.
#[derive(Clone)]
pub struct Telemetry {
    pub metrics: PrometheusHandle,
}

/// Without `RUST_LOG`: `info`, but volo's load balancer only at `error`: it logs every failed
/// attempt at `warn` with the whole call context (kilobytes a line), and the http-server logs
/// each failed call once itself.
const DEFAULT_LOG_FILTER: &str = "info,volo::loadbalance=error";

/// Logs to stderr (`RUST_LOG` picks the level, [`DEFAULT_LOG_FILTER`] otherwise) and installs
/// the Prometheus recorder. Call once, at the start of `main`, inside the runtime.
pub fn init() -> Telemetry {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let metrics = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_size".into()), SIZE_BUCKETS))
        .expect("static buckets are valid")
        .install_recorder()
        .expect("the metrics recorder is installed once");
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Telemetry { metrics }
}
