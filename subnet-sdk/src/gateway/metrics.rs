//! The gateway's Prometheus metrics, rendered in the text exposition format 0.0.4.
//!
//! Six families, all prefixed `subforge_gateway_`: requests and their latency by route, retries
//! by route, requests forwarded to each miner with their outcome and latency, and the number of
//! miners known. Every label set is bounded, so a scrape stays small however long the gateway
//! runs: routes are the gateway's own static paths, statuses beyond a per-route (and per-miner)
//! cap fold into `other`, and uids are at most 65,536.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket bounds in seconds: 1 ms (a refusal or a cached answer) up to 30 s (a long
/// completion), roughly tripling.
pub const DURATION_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];

/// Distinct status labels per route; later statuses count as `status="other"`.
pub const MAX_STATUSES_PER_ROUTE: usize = 32;

/// Distinct failure statuses per miner; later ones count as `outcome="other"`. Miners choose
/// their statuses, so this bounds what a miner can add to a scrape.
pub const MAX_STATUSES_PER_MINER: usize = 16;

const PREFIX: &str = "subforge_gateway_";

/// How a request to one miner ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinerOutcome {
    /// The miner answered.
    Answered,
    /// The miner failed with this status (what the gateway saw: an HTTP status, or whatever
    /// code the caller uses for a transport failure).
    Failed(u16),
}

/// A `status` or `outcome` label value. The order is the render order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    Answered,
    Status(u16),
    Other,
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Answered => f.write_str("answered"),
            Self::Status(status) => write!(f, "{status}"),
            Self::Other => f.write_str("other"),
        }
    }
}

/// Counts by label, holding at most `cap` distinct statuses.
#[derive(Debug, Default)]
struct Counts(BTreeMap<Label, u64>);

impl Counts {
    fn add(&mut self, label: Label, cap: usize) {
        let label = match label {
            Label::Status(_) if !self.0.contains_key(&label) && self.statuses() >= cap => {
                Label::Other
            }
            label => label,
        };
        let count = self.0.entry(label).or_insert(0);
        *count = count.saturating_add(1);
    }

    fn statuses(&self) -> usize {
        self.0
            .keys()
            .filter(|l| matches!(l, Label::Status(_)))
            .count()
    }
}

/// A histogram over [`DURATION_BUCKETS`]; each slot counts its own bucket only, and rendering
/// makes them cumulative. The last slot is `+Inf`.
#[derive(Debug)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: [0; DURATION_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        // Bounds are inclusive (`le`): exactly 1 ms lands in the 0.001 bucket.
        let slot = DURATION_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[slot] = self.buckets[slot].saturating_add(1);
        self.sum += secs;
        self.count = self.count.saturating_add(1);
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines; `labels` is `name="value",` pairs
    /// (each followed by a comma), or empty.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        for (le, count) in DURATION_BUCKETS.iter().zip(self.buckets) {
            cumulative = cumulative.saturating_add(count);
            let _ = writeln!(
                out,
                "{PREFIX}{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{PREFIX}{name}_bucket{{{labels}le=\"+Inf\"}} {}",
            self.count
        );
        let labels = labels.trim_end_matches(',');
        let _ = writeln!(out, "{PREFIX}{name}_sum{{{labels}}} {}", float(self.sum));
        let _ = writeln!(out, "{PREFIX}{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct RouteStats {
    statuses: Counts,
    duration: Histogram,
}

#[derive(Debug, Default)]
struct MinerStats {
    outcomes: Counts,
    duration: Histogram,
}

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<&'static str, RouteStats>,
    retries: BTreeMap<&'static str, u64>,
    miners: BTreeMap<u16, MinerStats>,
}

/// The gateway's metrics: recorded from any thread, rendered for a Prometheus scrape.
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
    miners_known: AtomicU64,
}

impl Metrics {
    /// Metrics with nothing recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one request the gateway answered on `route` with `status` after `elapsed`.
    pub fn record_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let mut state = self.state();
        let stats = state.routes.entry(route).or_default();
        stats
            .statuses
            .add(Label::Status(status), MAX_STATUSES_PER_ROUTE);
        stats.duration.observe(elapsed);
    }

    /// Records one request forwarded to miner `uid`, how it ended and how long it took.
    pub fn record_miner(&self, uid: u16, outcome: MinerOutcome, elapsed: Duration) {
        let label = match outcome {
            MinerOutcome::Answered => Label::Answered,
            MinerOutcome::Failed(status) => Label::Status(status),
        };
        let mut state = self.state();
        let stats = state.miners.entry(uid).or_default();
        stats.outcomes.add(label, MAX_STATUSES_PER_MINER);
        stats.duration.observe(elapsed);
    }

    /// Records that a request on `route` was sent to another miner after one failed.
    pub fn record_retry(&self, route: &'static str) {
        let mut state = self.state();
        let count = state.retries.entry(route).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Sets how many miners the gateway knows of (the metagraph's serving miners).
    pub fn set_miners_known(&self, n: usize) {
        self.miners_known
            .store(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Everything recorded, in the Prometheus text format 0.0.4 (see [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let state = self.state();
        let mut out = String::new();

        header(
            &mut out,
            "requests_total",
            "Requests answered by the gateway, by route and HTTP status.",
            "counter",
        );
        for (route, stats) in &state.routes {
            let route = escape(route);
            for (status, count) in &stats.statuses.0 {
                let _ = writeln!(
                    out,
                    "{PREFIX}requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }

        header(
            &mut out,
            "request_duration_seconds",
            "Time the gateway spent on a request, by route.",
            "histogram",
        );
        for (route, stats) in &state.routes {
            let labels = format!("route=\"{}\",", escape(route));
            stats
                .duration
                .render(&mut out, "request_duration_seconds", &labels);
        }

        header(
            &mut out,
            "retries_total",
            "Requests sent to another miner after one failed, by route.",
            "counter",
        );
        for (route, count) in &state.retries {
            let _ = writeln!(
                out,
                "{PREFIX}retries_total{{route=\"{}\"}} {count}",
                escape(route)
            );
        }

        header(
            &mut out,
            "miner_requests_total",
            "Requests forwarded to miners, by uid and outcome (answered, or the failure status).",
            "counter",
        );
        for (uid, stats) in &state.miners {
            for (outcome, count) in &stats.outcomes.0 {
                let _ = writeln!(
                    out,
                    "{PREFIX}miner_requests_total{{uid=\"{uid}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }

        header(
            &mut out,
            "miner_duration_seconds",
            "Time a miner took to answer or fail, by uid.",
            "histogram",
        );
        for (uid, stats) in &state.miners {
            let labels = format!("uid=\"{uid}\",");
            stats
                .duration
                .render(&mut out, "miner_duration_seconds", &labels);
        }

        header(&mut out, "miners", "Miners the gateway knows of.", "gauge");
        let _ = writeln!(
            out,
            "{PREFIX}miners {}",
            self.miners_known.load(Ordering::Relaxed)
        );
        out
    }
}

/// The `# HELP` and `# TYPE` lines of a family; `help` is a constant without `\` or newlines,
/// so it needs no escaping.
fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {PREFIX}{name} {help}");
    let _ = writeln!(out, "# TYPE {PREFIX}{name} {kind}");
}

/// A label value escaped as the format requires: backslash, double quote and line feed.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as Prometheus parses it (Rust writes infinity as `inf`).
fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "/v1/chat/completions";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn renders_a_small_scenario_exactly() {
        let metrics = Metrics::new();
        metrics.record_request(CHAT, 200, ms(250));
        metrics.record_request(CHAT, 502, ms(30_000));
        metrics.record_request(CHAT, 200, ms(2_000));
        metrics.record_retry(CHAT);
        metrics.record_miner(7, MinerOutcome::Answered, ms(500));
        metrics.record_miner(7, MinerOutcome::Failed(500), Duration::from_micros(62_500));
        metrics.set_miners_known(3);
        let expected = r#"# HELP subforge_gateway_requests_total Requests answered by the gateway, by route and HTTP status.
# TYPE subforge_gateway_requests_total counter
subforge_gateway_requests_total{route="/v1/chat/completions",status="200"} 2
subforge_gateway_requests_total{route="/v1/chat/completions",status="502"} 1
# HELP subforge_gateway_request_duration_seconds Time the gateway spent on a request, by route.
# TYPE subforge_gateway_request_duration_seconds histogram
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.001"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.0025"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.005"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.01"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.025"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.05"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.1"} 0
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.25"} 1
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.5"} 1
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="1"} 1
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="2.5"} 2
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="5"} 2
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="10"} 2
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="20"} 2
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="30"} 3
subforge_gateway_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"} 3
subforge_gateway_request_duration_seconds_sum{route="/v1/chat/completions"} 32.25
subforge_gateway_request_duration_seconds_count{route="/v1/chat/completions"} 3
# HELP subforge_gateway_retries_total Requests sent to another miner after one failed, by route.
# TYPE subforge_gateway_retries_total counter
subforge_gateway_retries_total{route="/v1/chat/completions"} 1
# HELP subforge_gateway_miner_requests_total Requests forwarded to miners, by uid and outcome (answered, or the failure status).
# TYPE subforge_gateway_miner_requests_total counter
subforge_gateway_miner_requests_total{uid="7",outcome="answered"} 1
subforge_gateway_miner_requests_total{uid="7",outcome="500"} 1
# HELP subforge_gateway_miner_duration_seconds Time a miner took to answer or fail, by uid.
# TYPE subforge_gateway_miner_duration_seconds histogram
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.001"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.0025"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.005"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.01"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.025"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.05"} 0
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.1"} 1
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.25"} 1
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="0.5"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="1"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="2.5"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="5"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="10"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="20"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="30"} 2
subforge_gateway_miner_duration_seconds_bucket{uid="7",le="+Inf"} 2
subforge_gateway_miner_duration_seconds_sum{uid="7"} 0.5625
subforge_gateway_miner_duration_seconds_count{uid="7"} 2
# HELP subforge_gateway_miners Miners the gateway knows of.
# TYPE subforge_gateway_miners gauge
subforge_gateway_miners 3
"#;
        assert_eq!(metrics.render(), expected);
    }

    #[test]
    fn nothing_recorded_renders_every_family_header() {
        let text = Metrics::new().render();
        let headers: Vec<_> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE subforge_gateway_"))
            .collect();
        assert_eq!(
            headers,
            [
                "requests_total counter",
                "request_duration_seconds histogram",
                "retries_total counter",
                "miner_requests_total counter",
                "miner_duration_seconds histogram",
                "miners gauge",
            ]
        );
        assert_eq!(
            lines(&text, "subforge_gateway_"),
            ["subforge_gateway_miners 0"]
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.record_request("/a\"b\\c\nd", 200, ms(1));
        metrics.record_retry("/a\"b\\c\nd");
        let text = metrics.render();
        assert_eq!(
            lines(&text, "subforge_gateway_requests_total"),
            [r#"subforge_gateway_requests_total{route="/a\"b\\c\nd",status="200"} 1"#]
        );
        assert_eq!(
            lines(&text, "subforge_gateway_retries_total"),
            [r#"subforge_gateway_retries_total{route="/a\"b\\c\nd"} 1"#]
        );
        assert_eq!(
            lines(&text, "subforge_gateway_request_duration_seconds_count"),
            [r#"subforge_gateway_request_duration_seconds_count{route="/a\"b\\c\nd"} 1"#]
        );
        assert_eq!(escape("plain/path"), "plain/path");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let metrics = Metrics::new();
        // On a bound (1 ms, 30 s), between bounds, past the last bound, and zero.
        for elapsed in [
            ms(1),
            ms(3),
            ms(30_000),
            ms(30_001),
            Duration::ZERO,
            ms(600_000),
        ] {
            metrics.record_miner(1, MinerOutcome::Answered, elapsed);
        }
        let text = metrics.render();
        let counts: Vec<(&str, u64)> =
            lines(&text, "subforge_gateway_miner_duration_seconds_bucket")
                .iter()
                .map(|l| {
                    let le = l.split("le=\"").nth(1).unwrap().split('"').next().unwrap();
                    (le, l.rsplit(' ').next().unwrap().parse().unwrap())
                })
                .collect();
        assert_eq!(
            counts,
            [
                ("0.001", 2),
                ("0.0025", 2),
                ("0.005", 3),
                ("0.01", 3),
                ("0.025", 3),
                ("0.05", 3),
                ("0.1", 3),
                ("0.25", 3),
                ("0.5", 3),
                ("1", 3),
                ("2.5", 3),
                ("5", 3),
                ("10", 3),
                ("20", 3),
                ("30", 4),
                ("+Inf", 6),
            ]
        );
        assert_eq!(
            lines(&text, "subforge_gateway_miner_duration_seconds_count"),
            ["subforge_gateway_miner_duration_seconds_count{uid=\"1\"} 6"]
        );
    }

    #[test]
    fn statuses_past_the_route_cap_fold_into_other() {
        let metrics = Metrics::new();
        for status in 100..140u16 {
            metrics.record_request(CHAT, status, ms(1));
        }
        // A status seen before the cap keeps its own label; a new one goes to `other`.
        metrics.record_request(CHAT, 100, ms(1));
        metrics.record_request(CHAT, 599, ms(1));
        // Another route has its own allowance.
        metrics.record_request("/v1/models", 200, ms(1));
        let text = metrics.render();
        let chat = lines(&text, "subforge_gateway_requests_total{route=\"/v1/chat");
        assert_eq!(chat.len(), MAX_STATUSES_PER_ROUTE + 1);
        assert_eq!(
            chat[0],
            "subforge_gateway_requests_total{route=\"/v1/chat/completions\",status=\"100\"} 2"
        );
        assert_eq!(
            chat[MAX_STATUSES_PER_ROUTE - 1],
            "subforge_gateway_requests_total{route=\"/v1/chat/completions\",status=\"131\"} 1"
        );
        assert_eq!(
            chat[MAX_STATUSES_PER_ROUTE],
            "subforge_gateway_requests_total{route=\"/v1/chat/completions\",status=\"other\"} 9"
        );
        assert_eq!(
            lines(&text, "subforge_gateway_requests_total{route=\"/v1/models"),
            ["subforge_gateway_requests_total{route=\"/v1/models\",status=\"200\"} 1"]
        );
        // Every request is still in the latency histogram.
        assert_eq!(
            lines(
                &text,
                "subforge_gateway_request_duration_seconds_count{route=\"/v1/chat"
            ),
            ["subforge_gateway_request_duration_seconds_count{route=\"/v1/chat/completions\"} 42"]
        );
    }

    #[test]
    fn miner_failure_statuses_past_the_cap_fold_into_other() {
        let metrics = Metrics::new();
        for status in 0..20u16 {
            metrics.record_miner(65_535, MinerOutcome::Failed(status), ms(1));
        }
        for _ in 0..3 {
            metrics.record_miner(65_535, MinerOutcome::Answered, ms(1));
        }
        let text = metrics.render();
        let outcomes = lines(&text, "subforge_gateway_miner_requests_total");
        assert_eq!(outcomes.len(), 1 + MAX_STATUSES_PER_MINER + 1);
        assert_eq!(
            outcomes[0],
            "subforge_gateway_miner_requests_total{uid=\"65535\",outcome=\"answered\"} 3"
        );
        assert_eq!(
            outcomes[1],
            "subforge_gateway_miner_requests_total{uid=\"65535\",outcome=\"0\"} 1"
        );
        assert_eq!(
            outcomes[MAX_STATUSES_PER_MINER + 1],
            "subforge_gateway_miner_requests_total{uid=\"65535\",outcome=\"other\"} 4"
        );
    }

    #[test]
    fn the_miners_gauge_is_set_not_added() {
        let metrics = Metrics::new();
        metrics.set_miners_known(12);
        metrics.set_miners_known(5);
        assert_eq!(
            lines(&metrics.render(), "subforge_gateway_miners"),
            ["subforge_gateway_miners 5"]
        );
    }

    #[test]
    fn sample_values_use_prometheus_spellings() {
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(0.5625), "0.5625");
        assert_eq!(float(3.0), "3");
    }
}
