//! `pipit stage train`: fit a model on prepared data, score it on the test
//! split against a baseline (majority class / mean), and give the deployment
//! gate's verdict.

use crate::number::Fixed;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use crate::labelled::Labelled;
use crate::metrics;
use crate::model::params::Hyperparameters;
use crate::model::preprocess::Preprocessor;
use crate::model::weights::row_weights;
use crate::model::{Kind, Task, TrainedModel, argmax, fit, importances_json, save};
use crate::registry::Gate;
use crate::threshold::{Chosen, Fitting};

/// What a model is fitted on, as `train` and `tune` both take it.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Training rows (CSV or Parquet)
    #[arg(long)]
    pub train: PathBuf,
    /// The column to predict
    #[arg(long)]
    pub target: String,
    /// Classification or regression
    #[arg(long, value_enum)]
    pub task: Task,
    /// The model
    #[arg(long, value_enum)]
    pub model: Kind,
    /// A column of sample weights (numbers, 0 or more): taken out of the
    /// features, each row counts its weight in the fit (times its class's
    /// weight under the `class_weight` hyperparameter)
    #[arg(long, value_name = "COLUMN")]
    pub weight_column: Option<String>,
}

/// Arguments of `pipit stage train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    fit: FitArgs,
    /// Test rows
    #[arg(long)]
    test: PathBuf,
    /// A hyperparameter, `key=value` (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Hyperparameters from a JSON file, or a YAML file with a dotted key
    /// (`params.yaml:train.forest`); repeatable, a later file winning
    #[arg(long, value_name = "FILE[:KEY]")]
    params_file: Vec<String>,
    /// Seed (for models with randomness)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The gate's key metric: f1, accuracy, precision, recall, roc_auc or pr_auc
    /// (classification); r2, rmse or mae (regression) [default: f1 or r2]
    #[arg(long, value_name = "METRIC")]
    gate_metric: Option<String>,
    /// The value the key metric must reach (at most, for rmse and mae)
    /// [default: 0.5 for f1, 0.6 for r2]
    #[arg(long, value_name = "VALUE")]
    gate_threshold: Option<f64>,
    /// Where to write the model
    #[arg(long)]
    model_out: PathBuf,
    /// Where to write the metrics (JSON)
    #[arg(long)]
    metrics_out: PathBuf,
    /// A folder to write plots files into, for `pipit plots`: the confusion
    /// matrix and (two classes) the ROC and precision–recall curves, or
    /// predicted against actual values (regression)
    #[arg(long, value_name = "DIR")]
    plots_dir: Option<PathBuf>,
}

/// Runs `pipit stage train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<String> {
    let gate_metric = gate_metric(args)?;
    let params = Hyperparameters::collect(args.fit.model, &args.params_file, &args.params)?;
    let mut train = Labelled::read(&args.fit.train, &args.fit.target)?;
    let mut test = Labelled::read(&args.test, &args.fit.target)?;
    let (sample_weights, test_weights) = match &args.fit.weight_column {
        Some(column) => (Some(train.take_weights(column)?), Some(test.take_weights(column)?)),
        None => (None, None),
    };
    if train.features != test.features {
        anyhow::bail!(
            "`{}` and `{}` have different columns",
            args.fit.train.display(),
            args.test.display()
        );
    }
    let all: Vec<usize> = (0..train.records.len()).collect();
    let preprocessor = Preprocessor::fit(&train.columns(&all), args.fit.model.encoding(&params));
    refuse_constant(args.fit.model, &preprocessor, &args.fit.train)?;
    let classes = train.classes(args.fit.task)?;
    let (y_train, y_test) =
        (train.encoded(args.fit.task, &classes)?, test.encoded(args.fit.task, &classes)?);
    let x_train = preprocessor.matrix(&train.records);
    let weights = row_weights(&params, &classes, &y_train, sample_weights.as_deref())?;
    let started = std::time::Instant::now();
    let estimator = fit(
        args.fit.model,
        &params,
        &x_train,
        &y_train,
        (!classes.is_empty()).then_some(classes.len()),
        args.seed,
        weights.as_deref(),
    )?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let chosen = match params.0.get("threshold") {
        None => None,
        Some(_) if classes.len() != 2 => anyhow::bail!(
            "`threshold` is for two classes; the target `{}` has {}",
            args.fit.target,
            if classes.is_empty() {
                "none (a regression)".to_owned()
            } else {
                classes.len().to_string()
            }
        ),
        Some(Value::String(_)) => {
            let fitting = Fitting {
                kind: args.fit.model,
                params: &params,
                seed: args.seed,
                weights: weights.as_deref(),
            };
            Some(crate::threshold::choose(&fitting, &train, &y_train)?)
        }
        Some(value) => value.as_f64().map(|value| Chosen {
            value,
            precision: f64::NAN,
            recall: f64::NAN,
            f1: f64::NAN,
            chosen_by: "given".to_owned(),
        }),
    };
    let model = TrainedModel {
        kind: args.fit.model,
        task: args.fit.task,
        target: args.fit.target.clone(),
        classes: classes.clone(),
        params: params.0.clone().into_iter().collect(),
        preprocessor,
        estimator,
        data: Some(json!({"train": file_hash(&args.fit.train)?, "test": file_hash(&args.test)?})),
        threshold: chosen.as_ref().map(|c| c.value),
    };
    let (predicted, probabilities) = model.predict(&test.records)?;
    let mut report = score(
        args,
        gate_metric,
        &classes,
        &y_train,
        (&y_test, test_weights.as_deref()),
        &predicted,
        probabilities.as_deref(),
    )?;
    if let Some(chosen) = &chosen {
        report["threshold"] = threshold_report(chosen);
    }
    if let Some(dir) = &args.plots_dir {
        let scored = crate::curves::Scored {
            classes: &classes,
            truth: &y_test,
            predicted: &predicted,
            probabilities: probabilities.as_deref(),
            weights: test_weights.as_deref(),
        };
        crate::curves::write(dir, &scored)?;
    }
    // What the model looks at: split gains, or coefficients on standardised inputs.
    report["importances"] = importances_json(&model.importances());
    // The metrics name the model they measured, so that `pipit model register`
    // can refuse metrics that belong to another model.
    report["model"]["blake3"] = save(&model, &args.model_out)?.into();
    if let Some(parent) = args.metrics_out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&args.metrics_out, serde_json::to_string_pretty(&report)? + "\n")?;
    let gate = &report["gate"];
    Ok(format!(
        "trained {} on {} in {}: {} = {:.4} (baseline {:.4}), gate {}",
        args.fit.model.name(),
        args.fit.train.display(),
        duration(fit_seconds),
        gate["metric"].as_str().unwrap_or_default(),
        Fixed(gate["value"].as_f64().unwrap_or(f64::NAN)),
        Fixed(gate["baseline"].as_f64().unwrap_or(f64::NAN)),
        if gate["accepted"] == true { "accepted" } else { "rejected" }
    ))
}

/// Fails, naming them, when `data` has columns that are constant and `kind`
/// is a least-squares model: it standardises its inputs and cannot scale one
/// that never varies (smartcore: "Cannot rescale constant column 0"; linfa:
/// "Matrix is non-invertible").
pub fn refuse_constant(kind: Kind, preprocessor: &Preprocessor, data: &Path) -> anyhow::Result<()> {
    if !matches!(kind, Kind::Linear | Kind::Ridge) {
        return Ok(());
    }
    let constant: Vec<String> = preprocessor
        .constant()
        .iter()
        .map(|(name, value)| format!("`{name}` (always `{value}`)"))
        .collect();
    if constant.is_empty() {
        return Ok(());
    }
    let (s, is) = if constant.len() == 1 { ("", "is") } else { ("s", "are") };
    anyhow::bail!(
        "column{s} {} of `{}` {is} constant: `{}` standardises its inputs and cannot scale a \
         column that never varies; drop {}, or use `tree`, `forest` or `gbm`",
        constant.join(", "),
        data.display(),
        kind.name(),
        if constant.len() == 1 {
            "it (it tells the model nothing)"
        } else {
            "them (they tell the model nothing)"
        }
    )
}

/// Returns the metrics JSON's `threshold`: the value, how it was chosen and,
/// for `auto`, the out-of-fold precision, recall and F1 there.
fn threshold_report(chosen: &Chosen) -> Value {
    let finite = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    json!({
        "value": chosen.value,
        "chosen_by": chosen.chosen_by,
        "out_of_fold": {
            "precision": finite(chosen.precision),
            "recall": finite(chosen.recall),
            "f1": finite(chosen.f1),
        },
    })
}

fn file_hash(path: &Path) -> anyhow::Result<String> {
    Ok(blake3::hash(&fs_err::read(path)?).to_hex().to_string())
}

/// Returns a fit time as a person reads it: `12.3 ms`, `4.56 s`.
fn duration(seconds: f64) -> String {
    if seconds < 1.0 { format!("{:.1} ms", seconds * 1000.0) } else { format!("{seconds:.2} s") }
}

/// Returns the gate's key metric and whether lower is better.
fn gate_metric(args: &TrainArgs) -> anyhow::Result<(&'static str, bool)> {
    metrics::key_metric(args.fit.task, args.gate_metric.as_deref(), "--gate-metric")
}

/// Returns why the gate's metric `key` has no value on the test rows.
fn undefined(args: &TrainArgs, key: &str, classes: &[String]) -> String {
    let (test, target) = (args.test.display(), &args.fit.target);
    match args.fit.task {
        // Targets are finite (`Labelled::encoded`), so only the predictions can be at fault.
        Task::Regression => format!(
            "the gate's metric `{key}` is not a finite number on `{test}`: the model's \
             predictions are not finite; check the training data's features for huge values"
        ),
        Task::Classification if key == "pr_auc" && classes.len() > 2 => format!(
            "the gate's metric `pr_auc` is defined for two classes, but the target `{target}` \
             has {}: gate on `f1`, `accuracy` or `roc_auc`",
            classes.len()
        ),
        Task::Classification => format!(
            "the gate's metric `{key}` is not defined on `{test}`: it needs test rows of every \
             class of the target `{target}`, and they lack some; split the data with `pipit \
             stage prepare`, which puts every class in both sets, or gate on another metric"
        ),
    }
}

/// Returns the metrics JSON: the metrics, the baseline's and the gate's verdict.
fn score(
    args: &TrainArgs,
    (key, lower_is_better): (&str, bool),
    classes: &[String],
    y_train: &[f64],
    (y_test, test_weights): (&[f64], Option<&[f64]>),
    predicted: &[f64],
    probabilities: Option<&[Vec<f64>]>,
) -> anyhow::Result<Value> {
    let (mut report, baseline_metrics, baseline) = match args.fit.task {
        Task::Regression => {
            let mean = y_train.iter().sum::<f64>() / y_train.len().max(1) as f64;
            let constant = vec![mean; y_test.len()];
            let baseline = metrics::regression_report(y_test, &constant, test_weights);
            let report = metrics::regression_report(y_test, predicted, test_weights);
            (report, baseline.clone(), json!({"kind": "mean", "metrics": baseline}))
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
            let baseline = metrics::classification_report(
                classes,
                &truth,
                &vec![majority; truth.len()],
                Some(&constant_probabilities),
                test_weights,
            );
            let report = metrics::classification_report(
                classes,
                &truth,
                &labels,
                probabilities,
                test_weights,
            );
            (
                report,
                baseline.clone(),
                json!({"kind": "majority class", "class": classes[majority], "metrics": baseline}),
            )
        }
    };
    let Some(value) = report[key].as_f64() else {
        anyhow::bail!(undefined(args, key, classes));
    };
    let baseline_value = baseline_metrics[key].as_f64().unwrap_or(f64::NAN);
    let threshold = match (args.gate_threshold, key) {
        (Some(threshold), _) => threshold,
        (None, "r2") => 0.6,
        (None, "f1") => 0.5,
        (None, _) => anyhow::bail!("--gate-metric {key} needs a --gate-threshold"),
    };
    let gate = Gate::decide(key, value, threshold, baseline_value, lower_is_better);
    let object = report.as_object_mut().expect("metrics are an object");
    object.insert("baseline".into(), baseline);
    object.insert("gate".into(), serde_json::to_value(gate)?);
    object.insert("model".into(), json!({"kind": args.fit.model}));
    Ok(report)
}
