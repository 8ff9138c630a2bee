//! Latency histograms, error counts, live progress and the final report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// One client's record; merged at the end.
pub struct Recorder {
    pub sends: Histogram<u64>,
    pub pulls: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Recorder {
    pub fn new() -> Self {
        let histogram = || Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        Self {
            sends: histogram(),
            pulls: histogram(),
            errors: BTreeMap::new(),
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        self.sends.add(other.sends).expect("same bounds");
        self.pulls.add(other.pulls).expect("same bounds");
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }
}

/// Counters the progress line reads while the clients run.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub errors: AtomicU64,
}

/// Prints one line a second until the returned handle is aborted.
pub fn show_progress(progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut last = 0;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let done = progress.done.load(Ordering::Relaxed);
            eprintln!(
                "  {:>4}s  {:>9} requests  {:>7}/s  {} errors",
                started.elapsed().as_secs(),
                done,
                done - last,
                progress.errors.load(Ordering::Relaxed)
            );
            last = done;
        }
    })
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// (percentile, ms) along the latency curve, for the plots.
    pub curve_ms: Vec<(f64, f64)>,
}

/// The percentiles of a latency curve (as scripts/wrk/common.lua reports them too).
const CURVE: [f64; 11] = [
    50.0, 75.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.75, 99.9, 99.95, 99.99,
];

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            curve_ms: CURVE
                .iter()
                .map(|&p| (p, ms(h.value_at_quantile(p / 100.0))))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub label: String,
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub throughput: f64,
    pub send_throughput: f64,
    pub pull_throughput: f64,
    pub sends: Latency,
    pub pulls: Latency,
    pub errors: BTreeMap<String, u64>,
    pub integrity: Option<crate::verify::Verdict>,
}

impl Summary {
    pub fn new(label: String, clients: usize, elapsed: Duration, record: &Recorder) -> Self {
        let seconds = elapsed.as_secs_f64();
        let errors: u64 = record.errors.values().sum();
        let requests = record.sends.len() + record.pulls.len() + errors;
        Self {
            label,
            clients,
            seconds,
            requests,
            throughput: requests as f64 / seconds,
            send_throughput: record.sends.len() as f64 / seconds,
            pull_throughput: record.pulls.len() as f64 / seconds,
            sends: Latency::of(&record.sends),
            pulls: Latency::of(&record.pulls),
            errors: record.errors.clone(),
            integrity: None,
        }
    }

    pub fn print(&self) {
        println!("== {} ==", self.label);
        println!(
            "{} clients, {:.1} s, {} requests, {:.0} req/s ({:.0} sends/s, {:.0} pulls/s)",
            self.clients,
            self.seconds,
            self.requests,
            self.throughput,
            self.send_throughput,
            self.pull_throughput
        );
        for (name, l) in [("send", &self.sends), ("pull", &self.pulls)] {
            if l.count > 0 {
                println!(
                    "{name:>5} latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  ({} ok)",
                    l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
                );
            }
        }
        if self.errors.is_empty() {
            println!("errors: none");
        } else {
            println!("errors: {:?}", self.errors);
        }
        if let Some(verdict) = &self.integrity {
            verdict.print();
        }
    }
}
