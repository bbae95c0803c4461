//! What `/metrics` shows, in Prometheus' text format: requests by endpoint
//! and status, a latency histogram per endpoint, predictions by class (or a
//! histogram of predicted values) per served model, each served model's
//! version, and the server's uptime.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

/// A histogram with fixed buckets.
#[derive(Clone, Debug, Default)]
struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Self { bounds: bounds.to_vec(), counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    fn observe(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if let Some(i) = self.bounds.iter().position(|&b| value <= b) {
            self.counts[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with `labels`.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// A served model as the metrics name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModelKey {
    /// Its data set.
    pub dataset: String,
    /// Its version.
    pub version: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    classes: BTreeMap<(ModelKey, String), u64>,
    values: BTreeMap<ModelKey, Histogram>,
    model_latency: BTreeMap<ModelKey, Histogram>,
    drift: BTreeMap<String, Drift>,
}

/// A gauge of the last drift comparisons: its name, help, and value.
type Gauge = (&'static str, &'static str, fn(&Drift) -> f64);

/// The last drift comparison of a data set.
#[derive(Clone, Copy, Debug)]
struct Drift {
    share: f64,
    columns: usize,
    records: usize,
}

/// The server's counters.
pub struct Metrics {
    started: Instant,
    inner: Mutex<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self { started: Instant::now(), inner: Mutex::new(Inner::default()) }
    }
}

impl Metrics {
    /// Counts a request to `endpoint` answered with `status` after `took`.
    pub fn request(&self, endpoint: &'static str, status: u16, took: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *inner.requests.entry((endpoint, status)).or_default() += 1;
        inner
            .latency
            .entry(endpoint)
            .or_insert_with(|| Histogram::new(&LATENCY_BUCKETS))
            .observe(took.as_secs_f64());
    }

    /// Records how long `model` took to check and predict one request.
    pub fn predicted(&self, model: &ModelKey, took: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner
            .model_latency
            .entry(model.clone())
            .or_insert_with(|| Histogram::new(&LATENCY_BUCKETS))
            .observe(took.as_secs_f64());
    }

    /// Records the last drift comparison of `dataset`: the share and number
    /// of columns that drifted, over a window of `records`.
    pub fn drift(&self, dataset: &str, share: f64, columns: usize, records: usize) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.drift.insert(dataset.to_owned(), Drift { share, columns, records });
    }

    /// Counts predicted classes of a classifier.
    pub fn classes<'a>(&self, model: &ModelKey, classes: impl Iterator<Item = &'a str>) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for class in classes {
            *inner.classes.entry((model.clone(), class.to_owned())).or_default() += 1;
        }
    }

    /// Records predicted values of a regressor.
    pub fn values(&self, model: &ModelKey, values: &[f64]) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let histogram =
            inner.values.entry(model.clone()).or_insert_with(|| Histogram::new(&VALUE_BUCKETS));
        for &value in values {
            histogram.observe(value);
        }
    }

    /// Returns the Prometheus text of every metric; `served` are the models
    /// being served now.
    pub fn render(&self, served: &[ModelKey], lost_log_lines: u64) -> String {
        let inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP pipit_requests_total Requests answered, by endpoint and HTTP status.\n",
        );
        out.push_str("# TYPE pipit_requests_total counter\n");
        for ((endpoint, status), count) in &inner.requests {
            let _ = writeln!(
                out,
                "pipit_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP pipit_request_duration_seconds Time from request to answer, by endpoint.\n",
        );
        out.push_str("# TYPE pipit_request_duration_seconds histogram\n");
        for (endpoint, histogram) in &inner.latency {
            let labels = format!("endpoint=\"{endpoint}\"");
            histogram.render(&mut out, "pipit_request_duration_seconds", &labels);
        }
        out.push_str(
            "# HELP pipit_prediction_duration_seconds Time a model took to check and predict a request.\n",
        );
        out.push_str("# TYPE pipit_prediction_duration_seconds histogram\n");
        for (model, histogram) in &inner.model_latency {
            let labels =
                format!("dataset=\"{}\",version=\"{}\"", escape(&model.dataset), model.version);
            histogram.render(&mut out, "pipit_prediction_duration_seconds", &labels);
        }
        out.push_str("# HELP pipit_predictions_total Records predicted, by model and class.\n");
        out.push_str("# TYPE pipit_predictions_total counter\n");
        for ((model, class), count) in &inner.classes {
            let _ = writeln!(
                out,
                "pipit_predictions_total{{dataset=\"{}\",version=\"{}\",class=\"{}\"}} {count}",
                escape(&model.dataset),
                model.version,
                escape(class)
            );
        }
        out.push_str("# HELP pipit_predicted_value Values predicted by regression models.\n");
        out.push_str("# TYPE pipit_predicted_value histogram\n");
        for (model, histogram) in &inner.values {
            let labels =
                format!("dataset=\"{}\",version=\"{}\"", escape(&model.dataset), model.version);
            histogram.render(&mut out, "pipit_predicted_value", &labels);
        }
        out.push_str("# HELP pipit_model_served Models served now (1), by data set and version.\n");
        out.push_str("# TYPE pipit_model_served gauge\n");
        for model in served {
            let _ = writeln!(
                out,
                "pipit_model_served{{dataset=\"{}\",version=\"{}\"}} 1",
                escape(&model.dataset),
                model.version
            );
        }
        let gauges: [Gauge; 3] = [
            (
                "pipit_drift_share",
                "Share of columns that drifted in the last window of records, against the training data.",
                |d| d.share,
            ),
            ("pipit_drifted_columns", "Columns that drifted in the last window.", |d| {
                d.columns as f64
            }),
            ("pipit_drift_window_records", "Records in the last window compared.", |d| {
                d.records as f64
            }),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (dataset, drift) in &inner.drift {
                let _ = writeln!(out, "{name}{{dataset=\"{}\"}} {}", escape(dataset), value(drift));
            }
        }
        out.push_str(
            "# HELP pipit_log_lost_records_total Predictions the log could not hold (a full disk).\n",
        );
        out.push_str("# TYPE pipit_log_lost_records_total counter\n");
        let _ = writeln!(out, "pipit_log_lost_records_total {lost_log_lines}");
        out.push_str("# HELP pipit_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE pipit_uptime_seconds gauge\n");
        let _ = writeln!(out, "pipit_uptime_seconds {}", self.started.elapsed().as_secs_f64());
        out
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Upper bounds of the predicted-value buckets of a regressor: wide enough
/// for any target's scale, from thousandths to millions, either sign.
pub const VALUE_BUCKETS: [f64; 21] = [
    -1e6, -1e4, -1e3, -100.0, -10.0, -1.0, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0,
    1e3, 1e4, 1e5, 1e6, 1e9,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let metrics = Metrics::default();
        metrics.request("/predict", 200, Duration::from_micros(300));
        metrics.request("/predict", 200, Duration::from_millis(3));
        metrics.request("/predict", 422, Duration::from_micros(50));
        let model = ModelKey { dataset: "churn".into(), version: 3 };
        metrics.classes(&model, ["Yes", "No", "No"].into_iter());
        let text = metrics.render(std::slice::from_ref(&model), 0);
        assert!(text.contains("pipit_requests_total{endpoint=\"/predict\",status=\"200\"} 2\n"));
        assert!(text.contains("pipit_requests_total{endpoint=\"/predict\",status=\"422\"} 1\n"));
        assert!(text.contains(
            "pipit_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"0.0005\"} 2\n"
        ));
        assert!(text.contains(
            "pipit_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"+Inf\"} 3\n"
        ));
        assert!(
            text.contains(
                "pipit_predictions_total{dataset=\"churn\",version=\"3\",class=\"No\"} 2\n"
            )
        );
        assert!(text.contains("pipit_model_served{dataset=\"churn\",version=\"3\"} 1\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
