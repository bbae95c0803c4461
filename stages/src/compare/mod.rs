//! `pipit stage compare`: every model's metrics side by side per data set,
//! the best model per data set by its key metric (the gate's; never a model
//! whose key metric is undefined, or 0 when higher is better), and tuned
//! against untuned models of the same kind with the gain in percent, as JSON,
//! Markdown (for a CI summary) and an HTML page with bar charts.
//!
//! A metrics file is named `<dataset>-<name>.json` (as the demo writes
//! `metrics/train/housing-forest.json`); the name `tuned` marks a tuned model.

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
    /// Metrics files written by `pipit stage train`: paths or globs (repeatable)
    #[arg(long = "metrics", required = true, value_name = "GLOB")]
    metrics: Vec<String>,
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
    /// Whether the gate accepted it.
    pub accepted: bool,
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
    let datasets = compare(&files)?;
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

/// One metrics file as read.
struct Read {
    entry: Entry,
    key_metric: String,
    lower_is_better: bool,
    baseline: Option<Baseline>,
}

fn read(file: &Path, name: String) -> anyhow::Result<Read> {
    let text = fs_err::read_to_string(file)?;
    let report: Map<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a metrics JSON file", file.display()))?;
    let Some(gate) = report.get("gate").and_then(Value::as_object) else {
        bail!("`{}` has no gate verdict; write it with `pipit stage train`", file.display());
    };
    let key_metric = gate.get("metric").and_then(Value::as_str).unwrap_or("value").to_owned();
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
        value: gate.get("value").and_then(Value::as_f64).unwrap_or(f64::NAN),
        accepted: gate.get("accepted").and_then(Value::as_bool).unwrap_or(false),
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
    let lower_is_better = gate.get("lower_is_better").and_then(Value::as_bool).unwrap_or(false);
    Ok(Read { entry, key_metric, lower_is_better, baseline })
}

/// Reads and compares the metrics files, by data set.
pub fn compare(files: &[PathBuf]) -> anyhow::Result<BTreeMap<String, Dataset>> {
    let mut groups: BTreeMap<String, Vec<Read>> = BTreeMap::new();
    for file in files {
        let (dataset, name) = names(file)?;
        groups.entry(dataset).or_default().push(read(file, name)?);
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

/// Returns the data set and model names from `<dataset>-<name>.json`.
fn names(file: &Path) -> anyhow::Result<(String, String)> {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match stem.split_once('-') {
        Some((dataset, name)) if !dataset.is_empty() && !name.is_empty() => {
            Ok((dataset.to_owned(), name.to_owned()))
        }
        _ => bail!(
            "`{}` is not named `<dataset>-<model>.json`, so its data set is unknown",
            file.display()
        ),
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
