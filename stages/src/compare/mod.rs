//! `pipit stage compare`: every model's metrics side by side per data set,
//! the best model per data set by its key metric (the gate's; never a model
//! whose key metric is undefined, or 0 when higher is better), and tuned
//! against untuned models of the same kind with the gain in percent, as JSON,
//! Markdown (for a CI summary) and an HTML page with bar charts.
//!
//! A metrics file named `<dataset>-<name>.json` (as the demo writes
//! `metrics/train/housing-forest.json`) is grouped by its data set; the name
//! `tuned` marks a tuned model. Any other metrics file a script writes (JSON,
//! YAML, or a CSV/TSV with a header and one row; nested keys flattened to
//! `a.b`) is compared too, in the group `all` under its path: with no gate
//! verdict in it, `--metric` names the metric that ranks the models.

mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::atomic::write_atomic;

/// Arguments of `pipit stage compare`
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Metrics files: paths or globs (repeatable); those `pipit stage train`
    /// writes, or any JSON, YAML or one-row CSV/TSV
    #[arg(long = "metrics", required = true, value_name = "GLOB")]
    metrics: Vec<String>,
    /// The metric that ranks the models (default: each file's gate metric;
    /// needed for files with no gate verdict)
    #[arg(long, value_name = "NAME")]
    metric: Option<String>,
    /// The metric is an error: lower is better (inferred for rmse, mae,
    /// mse, loss, log_loss, brier and error)
    #[arg(long)]
    lower_is_better: bool,
    /// Where to write the comparison (JSON)
    #[arg(long)]
    out: PathBuf,
    /// Also write a Markdown table
    #[arg(long)]
    md: Option<PathBuf>,
    /// Also write an HTML page with bar charts
    #[arg(long)]
    html: Option<PathBuf>,
}

/// One model's metrics.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// The name from the file (`forest`, `tuned`).
    pub name: String,
    /// The model kind (`forest`, `gbm`).
    pub kind: String,
    /// The metrics file.
    pub file: String,
    /// The key metric's value.
    pub value: f64,
    /// Whether the gate accepted it (`None`: the file has no gate verdict).
    pub accepted: Option<bool>,
    /// Every numeric metric.
    pub metrics: BTreeMap<String, f64>,
    /// Each input column's share of the model's importance, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub importances: Vec<(String, f64)>,
}

/// The constant predictor every model must beat.
#[derive(Clone, Debug, Serialize)]
pub struct Baseline {
    /// What it predicts: `mean` or `majority class`.
    pub kind: String,
    /// Its key metric.
    pub value: f64,
}

/// A tuned model against the untuned model of the same kind.
#[derive(Clone, Debug, Serialize)]
pub struct Tuning {
    /// The untuned model's name.
    pub baseline: String,
    /// Its key metric.
    pub baseline_value: f64,
    /// The tuned model's key metric.
    pub tuned_value: f64,
    /// The improvement in percent (positive is better, for any metric direction).
    pub gain_percent: f64,
}

/// One data set's comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Dataset {
    /// The key metric (the gate's).
    pub key_metric: String,
    /// True for error metrics.
    pub lower_is_better: bool,
    /// The constant baseline's key metric.
    pub baseline: Option<Baseline>,
    /// The models, best first.
    pub models: Vec<Entry>,
    /// The best model's name: none when no model has a usable key metric.
    pub best: Option<String>,
    /// Tuned against untuned, when there is a tuned model.
    pub tuning: Option<Tuning>,
}

/// Runs `pipit stage compare`.
pub fn run(args: &CompareArgs) -> anyhow::Result<String> {
    let files = expand(&args.metrics)?;
    let ranking = args.metric.as_deref().map(|metric| Ranking {
        metric: metric.to_owned(),
        lower_is_better: args.lower_is_better || is_error(metric),
    });
    let datasets = compare(&files, ranking.as_ref())?;
    let json = serde_json::to_string_pretty(&serde_json::json!({ "datasets": datasets }))? + "\n";
    write_atomic(&args.out, json.as_bytes())?;
    if let Some(md) = &args.md {
        write_atomic(md, render::markdown(&datasets).as_bytes())?;
    }
    if let Some(html) = &args.html {
        write_atomic(html, render::html(&datasets).as_bytes())?;
    }
    let best: Vec<String> = datasets
        .iter()
        .map(|(name, d)| match d.best_entry() {
            Some(best) => format!("{name}: {} ({} {:.4})", best.name, d.key_metric, best.value),
            None => format!("{name}: none (no model has a usable {})", d.key_metric),
        })
        .collect();
    Ok(format!("compared {} models; best per data set: {}", files.len(), best.join(", ")))
}

/// Expands globs (sorted, each must match something) and plain paths.
fn expand(patterns: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for pattern in patterns {
        let matched: Vec<PathBuf> = glob::glob(pattern)
            .with_context(|| format!("`{pattern}` is not a valid glob"))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if matched.is_empty() {
            bail!("no metrics files match `{pattern}`");
        }
        files.extend(matched);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The metric `--metric` ranks by, and its direction.
pub struct Ranking {
    pub metric: String,
    pub lower_is_better: bool,
}

/// Whether a metric named so is an error, lower being better.
fn is_error(metric: &str) -> bool {
    let last = metric.rsplit(['.', '/', ':']).next().unwrap_or(metric);
    ["rmse", "mae", "mse", "loss", "log_loss", "brier", "error"].contains(&last)
        || last.ends_with("_loss")
        || last.ends_with("_error")
}

/// One metrics file as read.
struct Read {
    entry: Entry,
    key_metric: String,
    lower_is_better: bool,
    baseline: Option<Baseline>,
}

/// Reads a metrics file as an object: JSON, YAML, or a CSV/TSV with a header
/// and one row (by its extension).
fn object(file: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = fs_err::read_to_string(file)?;
    let shown = file.display();
    let extension =
        file.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let value: Value = match extension.as_str() {
        "yaml" | "yml" => serde_saphyr::from_str(&text)
            .with_context(|| format!("`{shown}` is not a metrics YAML file"))?,
        "csv" | "tsv" => {
            let separator = if extension == "csv" { ',' } else { '\t' };
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let (Some(header), Some(row), None) = (lines.next(), lines.next(), lines.next()) else {
                bail!("`{shown}` is not a metrics file: a header and one row");
            };
            let cells = |line: &str| -> Vec<String> {
                line.split(separator).map(|c| c.trim().trim_matches('"').to_owned()).collect()
            };
            let object: Map<String, Value> = cells(header)
                .into_iter()
                .zip(cells(row))
                .map(|(k, v)| {
                    (k, v.parse::<f64>().map_or(Value::String(v), |n| serde_json::json!(n)))
                })
                .collect();
            Value::Object(object)
        }
        _ => serde_json::from_str(&text)
            .with_context(|| format!("`{shown}` is not a metrics JSON file"))?,
    };
    match value {
        Value::Object(object) => Ok(object),
        _ => bail!("`{shown}` is not a metrics file: it holds no mapping of metrics"),
    }
}

/// Adds the numbers of `value` under `prefix` to `metrics`, nested keys
/// joined with `.` (lists left out: a series is not a metric).
fn numbers(prefix: &str, value: &Value, metrics: &mut BTreeMap<String, f64>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                numbers(&key, value, metrics);
            }
        }
        value => {
            if let Some(number) = value.as_f64() {
                metrics.insert(prefix.to_owned(), number);
            }
        }
    }
}

/// Reads a metrics file: its group (a data set) and what it says.
fn read(file: &Path, ranking: Option<&Ranking>) -> anyhow::Result<(String, Read)> {
    let report = object(file)?;
    let gated = report.get("gate").is_some_and(Value::is_object);
    let (dataset, name) = names(file, gated);
    read_report(file, report, name, ranking).map(|read| (dataset, read))
}

fn read_report(
    file: &Path,
    report: Map<String, Value>,
    name: String,
    ranking: Option<&Ranking>,
) -> anyhow::Result<Read> {
    let Some(gate) = report.get("gate").and_then(Value::as_object) else {
        let Some(ranking) = ranking else {
            bail!(
                "`{}` has no gate verdict (`pipit stage train` writes one): say which metric \
                 ranks the models with `--metric NAME`",
                file.display()
            );
        };
        let mut metrics = BTreeMap::new();
        numbers("", &Value::Object(report), &mut metrics);
        let entry = Entry {
            name,
            kind: "model".to_owned(),
            file: file.display().to_string(),
            value: metrics.get(&ranking.metric).copied().unwrap_or(f64::NAN),
            accepted: None,
            metrics,
            importances: Vec::new(),
        };
        let (key_metric, lower_is_better) = (ranking.metric.clone(), ranking.lower_is_better);
        return Ok(Read { entry, key_metric, lower_is_better, baseline: None });
    };
    let key_metric = match ranking {
        Some(ranking) => ranking.metric.clone(),
        None => gate.get("metric").and_then(Value::as_str).unwrap_or("value").to_owned(),
    };
    let baseline = report.get("baseline").and_then(|b| {
        let value = b["metrics"][key_metric.as_str()].as_f64()?;
        Some(Baseline { kind: b["kind"].as_str().unwrap_or("baseline").to_owned(), value })
    });
    let mut metrics: BTreeMap<String, f64> =
        report.iter().filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f))).collect();
    if let Some(threshold) = report.get("threshold").and_then(|t| t["value"].as_f64()) {
        metrics.insert("threshold".into(), threshold);
    }
    let entry = Entry {
        name,
        kind: report["model"]["kind"].as_str().unwrap_or("model").to_owned(),
        file: file.display().to_string(),
        value: f64::NAN,
        accepted: Some(gate.get("accepted").and_then(Value::as_bool).unwrap_or(false)),
        metrics,
        importances: report
            .get("importances")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|i| {
                        Some((i["feature"].as_str()?.to_owned(), i["importance"].as_f64()?))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut entry = entry;
    let (lower_is_better, value) = match ranking {
        Some(ranking) => (ranking.lower_is_better, entry.metrics.get(&ranking.metric).copied()),
        None => (
            gate.get("lower_is_better").and_then(Value::as_bool).unwrap_or(false),
            gate.get("value").and_then(Value::as_f64),
        ),
    };
    entry.value = value.unwrap_or(f64::NAN);
    Ok(Read { entry, key_metric, lower_is_better, baseline })
}

/// Reads and compares the metrics files, by data set.
pub fn compare(
    files: &[PathBuf],
    ranking: Option<&Ranking>,
) -> anyhow::Result<BTreeMap<String, Dataset>> {
    let mut groups: BTreeMap<String, Vec<Read>> = BTreeMap::new();
    for file in files {
        let (dataset, read) = read(file, ranking)?;
        groups.entry(dataset).or_default().push(read);
    }
    let mut datasets = BTreeMap::new();
    for (dataset, group) in groups {
        let first = &group[0];
        if let Some(other) = group.iter().find(|r| r.key_metric != first.key_metric) {
            bail!(
                "the {dataset} models are gated on different metrics ({} and {}): compare like with like",
                first.key_metric,
                other.key_metric
            );
        }
        let (key_metric, lower_is_better) = (first.key_metric.clone(), first.lower_is_better);
        let baseline = first.baseline.clone();
        let mut models: Vec<Entry> = group.into_iter().map(|r| r.entry).collect();
        models.sort_by(|a, b| {
            let order = a.value.total_cmp(&b.value);
            let order = if lower_is_better { order } else { order.reverse() };
            // NaN (a metric the model has none of) sorts last.
            a.value.is_nan().cmp(&b.value.is_nan()).then(order).then(a.name.cmp(&b.name))
        });
        let tuning = tuning(&models, lower_is_better);
        // Models are sorted best first: the first whose key metric means something.
        let best = models
            .iter()
            .find(|m| m.value.is_finite() && (lower_is_better || m.value > 0.0))
            .map(|m| m.name.clone());
        datasets.insert(
            dataset,
            Dataset { key_metric, lower_is_better, baseline, models, best, tuning },
        );
    }
    Ok(datasets)
}

impl Dataset {
    /// Returns the best model, if any.
    pub fn best_entry(&self) -> Option<&Entry> {
        self.models.iter().find(|m| Some(&m.name) == self.best.as_ref())
    }
}

/// Returns the data set and model names of a file `stage train` wrote
/// (`gated`) from `<dataset>-<name>.json`; any other file is in the group
/// `all`, named by its path without its extension.
fn names(file: &Path, gated: bool) -> (String, String) {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match stem.split_once('-').filter(|_| gated) {
        Some((dataset, name)) if !dataset.is_empty() && !name.is_empty() => {
            (dataset.to_owned(), name.to_owned())
        }
        _ => ("all".to_owned(), file.with_extension("").display().to_string()),
    }
}

/// Compares the `tuned` model with the untuned model of the same kind.
fn tuning(models: &[Entry], lower_is_better: bool) -> Option<Tuning> {
    let tuned = models.iter().find(|m| m.name == "tuned")?;
    let untuned = models.iter().find(|m| m.name != "tuned" && m.kind == tuned.kind)?;
    let change =
        if lower_is_better { untuned.value - tuned.value } else { tuned.value - untuned.value };
    Some(Tuning {
        baseline: untuned.name.clone(),
        baseline_value: untuned.value,
        tuned_value: tuned.value,
        gain_percent: 100.0 * change / untuned.value.abs().max(f64::EPSILON),
    })
}

/// Returns how people write a model kind: "Random Forest".
pub fn display(kind: &str) -> &str {
    match kind {
        "linear" => "Linear Regression",
        "ridge" => "Ridge Regression",
        "logistic" => "Logistic Regression",
        "tree" => "Decision Tree",
        "forest" => "Random Forest",
        "gbm" => "Gradient Boosting",
        other => other,
    }
}

/// Returns how people write a metric: "R²".
pub fn metric_name(metric: &str) -> &str {
    match metric {
        "r2" => "R²",
        "rmse" => "RMSE",
        "mae" => "MAE",
        "f1" => "F1",
        "roc_auc" => "ROC-AUC",
        "pr_auc" => "PR-AUC",
        "accuracy" => "Accuracy",
        "precision" => "Precision",
        "recall" => "Recall",
        "threshold" => "Threshold",
        "log_loss" => "Log-loss",
        "brier" => "Brier",
        other => other,
    }
}
