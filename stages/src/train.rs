//! `pipit stage train`: fit a model on prepared data, score it on the test
//! split against a baseline (majority class / mean), and give the deployment
//! gate's verdict.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use crate::metrics;
use crate::model::params::Hyperparameters;
use crate::model::preprocess::{Cell, Preprocessor};
use crate::model::{Kind, Task, TrainedModel, argmax, fit, save};
use crate::prepare::read::read;

/// Arguments of `pipit stage train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training rows (CSV or Parquet)
    #[arg(long)]
    train: PathBuf,
    /// Test rows
    #[arg(long)]
    test: PathBuf,
    /// The column to predict
    #[arg(long)]
    target: String,
    /// Classification or regression
    #[arg(long, value_enum)]
    task: Task,
    /// The model
    #[arg(long, value_enum)]
    model: Kind,
    /// A hyperparameter, `key=value` (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Hyperparameters from a JSON file, or a YAML file with a dotted key (`params.yaml:train.forest`)
    #[arg(long, value_name = "FILE[:KEY]")]
    params_file: Option<String>,
    /// Seed (for models with randomness)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The key metric the gate needs to reach (F1 or R²) [default: 0.5 F1, 0.6 R²]
    #[arg(long)]
    gate_threshold: Option<f64>,
    /// Where to write the model
    #[arg(long)]
    model_out: PathBuf,
    /// Where to write the metrics (JSON)
    #[arg(long)]
    metrics_out: PathBuf,
}

/// A split read for training: feature cells per row and the target cells.
struct Rows {
    features: Vec<String>,
    records: Vec<Vec<Cell>>,
    target: Vec<Option<String>>,
}

fn rows(path: &Path, target: &str) -> anyhow::Result<Rows> {
    let raw = read(path)?;
    let Some(index) = raw.names.iter().position(|n| n == target) else {
        anyhow::bail!("`{}` has no column `{target}`", path.display());
    };
    let count = raw.columns.first().map_or(0, Vec::len);
    let features: Vec<String> = raw.names.iter().filter(|n| *n != target).cloned().collect();
    let cell = |text: &Option<String>| match text.as_deref().map(str::trim) {
        None | Some("") => Cell::Missing,
        Some(t) => t.parse::<f64>().map_or_else(|_| Cell::Text(t.to_owned()), Cell::Number),
    };
    let records = (0..count)
        .map(|row| {
            raw.columns
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, c)| cell(&c[row]))
                .collect()
        })
        .collect();
    Ok(Rows { features, records, target: raw.columns[index].clone() })
}

/// Runs `pipit stage train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<String> {
    let params = Hyperparameters::collect(args.model, args.params_file.as_deref(), &args.params)?;
    let train = rows(&args.train, &args.target)?;
    let test = rows(&args.test, &args.target)?;
    if train.features != test.features {
        anyhow::bail!(
            "`{}` and `{}` have different columns",
            args.train.display(),
            args.test.display()
        );
    }
    let columns: Vec<(String, Vec<Cell>)> = train
        .features
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), train.records.iter().map(|r| r[i].clone()).collect()))
        .collect();
    let preprocessor = Preprocessor::fit(&columns, args.model.standardises());
    let classes: Vec<String> = match args.task {
        Task::Classification => {
            let mut classes: Vec<String> =
                train.target.iter().flatten().map(|c| c.trim().to_owned()).collect();
            classes.sort();
            classes.dedup();
            if classes.len() < 2 {
                anyhow::bail!(
                    "the target `{}` has fewer than two classes in `{}`",
                    args.target,
                    args.train.display()
                );
            }
            classes
        }
        Task::Regression => Vec::new(),
    };
    let encode_target = |values: &[Option<String>]| -> anyhow::Result<Vec<f64>> {
        values
            .iter()
            .map(|v| {
                let text = v.as_deref().map(str::trim).unwrap_or_default();
                match args.task {
                    Task::Regression => text
                        .parse::<f64>()
                        .map_err(|_| anyhow::anyhow!("target value `{text}` is not a number")),
                    Task::Classification => {
                        classes.iter().position(|c| c == text).map(|i| i as f64).ok_or_else(|| {
                            anyhow::anyhow!("target class `{text}` is not in the training data")
                        })
                    }
                }
            })
            .collect()
    };
    let (y_train, y_test) = (encode_target(&train.target)?, encode_target(&test.target)?);
    let x_train = preprocessor.matrix(&train.records);
    let started = std::time::Instant::now();
    let estimator = fit(
        args.model,
        &params,
        &x_train,
        &y_train,
        (!classes.is_empty()).then_some(classes.len()),
        args.seed,
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let model = TrainedModel {
        kind: args.model,
        task: args.task,
        target: args.target.clone(),
        classes: classes.clone(),
        params: params.0.clone().into_iter().collect(),
        preprocessor,
        estimator,
    };
    let (predicted, probabilities) = model.predict(&test.records)?;
    let report = score(args, &classes, &y_train, &y_test, &predicted, probabilities.as_deref());
    save(&model, &args.model_out)?;
    if let Some(parent) = args.metrics_out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&args.metrics_out, serde_json::to_string_pretty(&report)? + "\n")?;
    let gate = &report["gate"];
    Ok(format!(
        "trained {} on {} in {}: {} = {:.4} (baseline {:.4}), gate {}",
        args.model.name(),
        args.train.display(),
        duration(fit_seconds),
        gate["metric"].as_str().unwrap_or_default(),
        gate["value"].as_f64().unwrap_or(f64::NAN),
        gate["baseline"].as_f64().unwrap_or(f64::NAN),
        if gate["accepted"] == true { "accepted" } else { "rejected" }
    ))
}

/// Returns a fit time as a person reads it: `12.3 ms`, `4.56 s`.
fn duration(seconds: f64) -> String {
    if seconds < 1.0 { format!("{:.1} ms", seconds * 1000.0) } else { format!("{seconds:.2} s") }
}

/// Returns the metrics JSON: the metrics, the baseline's and the gate's verdict.
fn score(
    args: &TrainArgs,
    classes: &[String],
    y_train: &[f64],
    y_test: &[f64],
    predicted: &[f64],
    probabilities: Option<&[Vec<f64>]>,
) -> Value {
    let (mut report, key, value, baseline_value, baseline) = match args.task {
        Task::Regression => {
            let mean = y_train.iter().sum::<f64>() / y_train.len().max(1) as f64;
            let constant = vec![mean; y_test.len()];
            let baseline = regression(y_test, &constant);
            let report = regression(y_test, predicted);
            let (value, base) = (
                report["r2"].as_f64().unwrap_or(f64::NAN),
                baseline["r2"].as_f64().unwrap_or(f64::NAN),
            );
            (report, "r2", value, base, json!({"kind": "mean", "metrics": baseline}))
        }
        Task::Classification => {
            let truth: Vec<usize> = y_test.iter().map(|&v| v as usize).collect();
            let labels: Vec<usize> = predicted.iter().map(|&v| v as usize).collect();
            let mut counts = vec![0usize; classes.len()];
            for &v in y_train {
                counts[v as usize] += 1;
            }
            let majority = argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
            let share: Vec<f64> =
                counts.iter().map(|&c| c as f64 / y_train.len().max(1) as f64).collect();
            let constant_probabilities = vec![share; truth.len()];
            let baseline = classification(
                classes,
                &truth,
                &vec![majority; truth.len()],
                Some(&constant_probabilities),
            );
            let report = classification(classes, &truth, &labels, probabilities);
            let (value, base) = (
                report["f1"].as_f64().unwrap_or(f64::NAN),
                baseline["f1"].as_f64().unwrap_or(f64::NAN),
            );
            (
                report,
                "f1",
                value,
                base,
                json!({"kind": "majority class", "class": classes[majority], "metrics": baseline}),
            )
        }
    };
    let threshold =
        args.gate_threshold.unwrap_or(if args.task == Task::Regression { 0.6 } else { 0.5 });
    let accepted = value >= threshold && value > baseline_value;
    let object = report.as_object_mut().expect("metrics are an object");
    object.insert("baseline".into(), baseline);
    object.insert(
        "gate".into(),
        json!({"metric": key, "value": value, "threshold": threshold, "baseline": baseline_value, "accepted": accepted}),
    );
    object.insert("model".into(), json!({"kind": args.model}));
    report
}

fn regression(truth: &[f64], predicted: &[f64]) -> Value {
    json!({
        "r2": metrics::r2(truth, predicted),
        "rmse": metrics::rmse(truth, predicted),
        "mae": metrics::mae(truth, predicted),
    })
}

fn classification(
    classes: &[String],
    truth: &[usize],
    predicted: &[usize],
    probabilities: Option<&[Vec<f64>]>,
) -> Value {
    let matrix = metrics::confusion(truth, predicted, classes.len());
    let (precision, recall, f1) = metrics::precision_recall_f1(&matrix);
    let (roc_auc, pr_auc) = match probabilities {
        Some(p) if classes.len() == 2 => {
            let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
            let scores: Vec<f64> = p.iter().map(|row| row.get(1).copied().unwrap_or(0.0)).collect();
            (metrics::roc_auc(&positive, &scores), metrics::average_precision(&positive, &scores))
        }
        Some(p) => (metrics::roc_auc_ovr(truth, p, classes.len()), None),
        None => (None, None),
    };
    json!({
        "accuracy": metrics::accuracy(truth, predicted),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "classes": classes,
        "confusion_matrix": matrix,
    })
}
