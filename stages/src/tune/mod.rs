//! `pipit stage tune`: hyperparameter search with k-fold cross-validation.
//! A TPE sampler (Optuna's definition, see [`tpe`]) or a random one proposes
//! hyperparameters from a search space in params.yaml; each fold is a step,
//! and a median pruner stops a trial whose best running CV score falls below
//! the median of earlier trials at that step (Optuna's `MedianPruner`: no
//! pruning before 5 trials have finished). Trials are proposed in rounds of
//! [`ROUND`], each from the trials of earlier rounds, and a round's trials run
//! in parallel: the result does not depend on `-j`.

pub(crate) mod folds;
mod space;
mod tpe;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::atomic::write_atomic;
use crate::labelled::Labelled;
use crate::metrics;
use crate::model::params::{self, Hyperparameters, accepted};
use crate::model::preprocess::Preprocessor;
use crate::model::weights::row_weights;
use crate::model::{Kind, Model, Task, fit};
use crate::random::Random;
use crate::statistics::median;
use crate::train::FitArgs;
use folds::Fold;
use space::Dimension;

/// Trials proposed together, from the trials of earlier rounds.
pub const ROUND: usize = 4;

/// Trials that finish before the pruner starts judging (Optuna's default).
const PRUNER_STARTUP: usize = 5;

/// Arguments of `pipit stage tune`
#[derive(Debug, Args)]
pub struct TuneArgs {
    // The training rows (the folds are cut from them), target, task and model.
    #[command(flatten)]
    fit: FitArgs,
    /// How many trials
    #[arg(long, default_value_t = 50)]
    trials: usize,
    /// Cross-validation folds (stratified for classification)
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed (folds, sampling and models)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The search space [default: params.yaml:tune.space.<model>]
    #[arg(long, value_name = "FILE[:KEY]")]
    space: Option<String>,
    /// Fixed hyperparameters every trial uses, as `train` reads them
    /// (`params.yaml:imbalance.credit`); repeatable. They are written with the
    /// best ones, so that `train --params-file` gets both
    #[arg(long, value_name = "FILE[:KEY]")]
    params_file: Vec<String>,
    /// A fixed hyperparameter, `key=value` (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// How to propose hyperparameters
    #[arg(long, value_enum, default_value_t = Sampler::Tpe)]
    sampler: Sampler,
    /// Random trials before TPE starts (Optuna's `n_startup_trials`)
    #[arg(long, default_value_t = 10)]
    startup_trials: usize,
    /// Whether hopeless trials are stopped early
    #[arg(long, value_enum, default_value_t = Pruner::Median)]
    pruner: Pruner,
    /// The metric to optimise [default: f1 or r2]
    #[arg(long)]
    metric: Option<String>,
    /// Trials run at once [default: the number of cores]
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Where to write the best hyperparameters (JSON that `train --params-file` reads)
    #[arg(long)]
    out: PathBuf,
    /// Where to write every trial (JSON lines)
    #[arg(long)]
    trials_out: Option<PathBuf>,
}

/// How hyperparameters are proposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Sampler {
    /// Tree-structured Parzen Estimator, after random start-up trials
    Tpe,
    /// Uniformly at random
    Random,
}

/// Whether trials are pruned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Pruner {
    /// Stop a trial whose running score is worse than the median at that fold
    Median,
    /// Run every fold of every trial
    None,
}

/// A finished trial.
#[derive(Clone, Debug)]
struct Trial {
    number: usize,
    /// Internal values, one per dimension.
    internal: Vec<f64>,
    params: Map<String, Value>,
    fold_scores: Vec<f64>,
    /// The running mean after each fold.
    running: Vec<f64>,
    pruned: bool,
    seconds: f64,
}

impl Trial {
    fn value(&self) -> f64 {
        self.running.last().copied().unwrap_or(f64::NAN)
    }
}

/// What every trial shares.
struct Study {
    args_model: Kind,
    task: Task,
    classes: Vec<String>,
    folds: Vec<Fold>,
    metric: &'static str,
    lower_is_better: bool,
    seed: u64,
    pruner: Pruner,
    /// Hyperparameters every trial uses besides the searched ones.
    fixed: Hyperparameters,
}

impl Study {
    /// Returns true when `a` is a better score than `b` (NaN is never better).
    fn better(&self, a: f64, b: f64) -> bool {
        if self.lower_is_better { a < b } else { a > b }
    }

    /// Scores a fitted fold: the key metric on the fold's test rows.
    fn score(&self, fold: &Fold, params: &Hyperparameters) -> anyhow::Result<f64> {
        let classes = (!self.classes.is_empty()).then_some(self.classes.len());
        let weights = row_weights(params, &self.classes, &fold.y_train, fold.w_train.as_deref())?;
        let estimator = fit(
            self.args_model,
            params,
            &fold.x_train,
            &fold.y_train,
            classes,
            self.seed,
            weights.as_deref(),
        )?;
        let predicted = estimator.predict(&fold.x_test)?;
        let report = match self.task {
            Task::Regression => {
                metrics::regression_report(&fold.y_test, &predicted, fold.w_test.as_deref())
            }
            Task::Classification => {
                let probabilities = estimator.predict_proba(&fold.x_test)?;
                let truth: Vec<usize> = fold.y_test.iter().map(|&v| v as usize).collect();
                let labels: Vec<usize> = predicted.iter().map(|&v| v as usize).collect();
                metrics::classification_report(
                    &self.classes,
                    &truth,
                    &labels,
                    probabilities.as_deref(),
                    fold.w_test.as_deref(),
                )
            }
        };
        Ok(report[self.metric].as_f64().unwrap_or(f64::NAN))
    }

    /// Runs one trial fold by fold, pruned against the finished `history`.
    fn run(
        &self,
        number: usize,
        internal: Vec<f64>,
        dimensions: &[Dimension],
        history: &[Trial],
    ) -> anyhow::Result<Trial> {
        let started = Instant::now();
        let params: Map<String, Value> = dimensions
            .iter()
            .zip(&internal)
            .map(|(d, &v)| (d.name.clone(), d.range.value(v)))
            .collect();
        let mut hyperparameters = self.fixed.clone();
        hyperparameters.0.extend(params.clone());
        let completed: Vec<&Trial> = history.iter().filter(|t| !t.pruned).collect();
        let mut trial = Trial {
            number,
            internal,
            params,
            fold_scores: vec![],
            running: vec![],
            pruned: false,
            seconds: 0.0,
        };
        for fold in &self.folds {
            trial.fold_scores.push(self.score(fold, &hyperparameters)?);
            let mean = trial.fold_scores.iter().sum::<f64>() / trial.fold_scores.len() as f64;
            trial.running.push(mean);
            if self.pruner == Pruner::Median
                && median_prunes(&trial.running, &completed, self.lower_is_better)
            {
                trial.pruned = true;
                break;
            }
        }
        trial.seconds = started.elapsed().as_secs_f64();
        Ok(trial)
    }
}

/// Returns true when a trial with these running scores (one per fold so far)
/// should stop (Optuna's `MedianPruner`): once [`PRUNER_STARTUP`] trials have
/// completed, when even its best running score is worse than the median of
/// theirs at its latest step.
fn median_prunes(running: &[f64], completed: &[&Trial], lower_is_better: bool) -> bool {
    let Some(step) = running.len().checked_sub(1) else {
        return false;
    };
    if completed.len() < PRUNER_STARTUP {
        return false;
    }
    let mut at_step: Vec<f64> = completed
        .iter()
        .filter_map(|t| t.running.get(step).copied())
        .filter(|v| !v.is_nan())
        .collect();
    if at_step.is_empty() {
        return false;
    }
    let median = median(&mut at_step);
    let scores = running.iter().copied().filter(|v| !v.is_nan());
    let best = if lower_is_better { scores.reduce(f64::min) } else { scores.reduce(f64::max) };
    match best {
        None => true,
        Some(best) if lower_is_better => best > median,
        Some(best) => best < median,
    }
}

/// Proposes the internal values of trial `number` from the `history` of
/// earlier rounds and the trials already proposed in this round (`pending`),
/// which count as bad ones (Optuna's "constant liar"), so that a round's
/// proposals spread out instead of landing on the same spot.
fn propose(
    sampler: Sampler,
    startup: usize,
    (seed, lower_is_better): (u64, bool),
    dimensions: &[Dimension],
    (history, pending): (&[Trial], &[Trial]),
    number: usize,
) -> Vec<f64> {
    let mut random = Random::task(seed, number as u64);
    if sampler == Sampler::Random || history.len() < startup.max(1) {
        return dimensions.iter().map(|d| d.range.random(&mut random)).collect();
    }
    // Completed trials best first, then pruned ones (further folds first), then pending ones.
    let mut ranked: Vec<&Trial> = history.iter().chain(pending).collect();
    ranked.sort_by(|a, b| {
        a.pruned
            .cmp(&b.pruned)
            .then(b.running.len().cmp(&a.running.len()))
            .then_with(|| {
                let (x, y) = (a.value(), b.value());
                let order = x.is_nan().cmp(&y.is_nan());
                let by_value = if lower_is_better { x.total_cmp(&y) } else { y.total_cmp(&x) };
                order.then(by_value)
            })
            .then(a.number.cmp(&b.number))
    });
    // Pending trials are never good ones and do not count towards gamma.
    let below_count = tpe::gamma(history.len());
    let (mut below, mut above) = (ranked[..below_count].to_vec(), ranked[below_count..].to_vec());
    below.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let good: Vec<f64> = below.iter().map(|t| t.internal[i]).collect();
            let bad: Vec<f64> = above.iter().map(|t| t.internal[i]).collect();
            tpe::suggest(&d.range, &good, &bad, &mut random)
        })
        .collect()
}

/// Proposes a round of trials one after the other, each seeing the ones
/// before it as pending.
fn propose_round(
    sampler: Sampler,
    startup: usize,
    direction: (u64, bool),
    dimensions: &[Dimension],
    history: &[Trial],
    numbers: std::ops::Range<usize>,
) -> Vec<(usize, Vec<f64>)> {
    let mut pending: Vec<Trial> = Vec::new();
    for number in numbers {
        let internal =
            propose(sampler, startup, direction, dimensions, (history, &pending), number);
        pending.push(Trial {
            number,
            internal,
            params: Map::new(),
            fold_scores: Vec::new(),
            running: Vec::new(),
            pruned: true,
            seconds: 0.0,
        });
    }
    pending.into_iter().map(|t| (t.number, t.internal)).collect()
}

/// Runs `pipit stage tune`.
pub fn run(args: &TuneArgs) -> anyhow::Result<String> {
    let started = Instant::now();
    let (metric, lower_is_better) =
        metrics::key_metric(args.fit.task, args.metric.as_deref(), "--metric")?;
    let spec = args
        .space
        .clone()
        .unwrap_or_else(|| format!("params.yaml:tune.space.{}", args.fit.model.name()));
    let dimensions = space::read(&spec)?;
    let fixed = Hyperparameters::collect(args.fit.model, &args.params_file, &args.params)?;
    let valid = accepted(args.fit.model);
    for dimension in &dimensions {
        if !valid.contains(&dimension.name.as_str()) {
            let list = if valid.is_empty() { "none".to_owned() } else { valid.join(", ") };
            bail!(
                "the search space has `{}`, which `{}` does not take (it takes: {list})",
                dimension.name,
                args.fit.model.name()
            );
        }
        if dimension.name == "missing" {
            bail!(
                "the search space has `missing`, which changes how the folds are encoded: fix it \
                 for the whole study with `--param missing=learn` instead"
            );
        }
        // Every value the range can give must be one the model takes.
        for value in dimension.range.extremes() {
            params::check(args.fit.model, &dimension.name, &value)
                .with_context(|| format!("in the search space `{spec}`"))?;
        }
    }
    if args.folds < 2 {
        bail!("--folds must be at least 2");
    }
    if args.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let mut data = Labelled::read(&args.fit.train, &args.fit.target)?;
    let sample_weights = match &args.fit.weight_column {
        Some(column) => Some(data.take_weights(column)?),
        None => None,
    };
    let classes = data.classes(args.fit.task)?;
    let y = data.encoded(args.fit.task, &classes)?;
    if data.records.len() < args.folds {
        bail!(
            "`{}` has {} rows, fewer than --folds {}",
            args.fit.train.display(),
            data.records.len(),
            args.folds
        );
    }
    if matches!(args.fit.model, Kind::Linear | Kind::Ridge) {
        let all: Vec<usize> = (0..data.records.len()).collect();
        let preprocessor = Preprocessor::fit(&data.columns(&all), args.fit.model.encoding(&fixed));
        crate::train::refuse_constant(args.fit.model, &preprocessor, &args.fit.train)?;
    }
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let stratify = (args.fit.task == Task::Classification).then_some(labels.as_slice());
    let split = folds::folds(data.records.len(), args.folds, stratify, args.seed);
    // Each fold's matrices, prepared once for every trial; the held-out rows'
    // sample weights count in its score.
    let folds: Vec<Fold> = split
        .iter()
        .map(|test_rows| {
            let source = (&data, y.as_slice(), sample_weights.as_deref());
            Fold::cut(source, test_rows, args.fit.model.encoding(&fixed))
        })
        .collect();
    let study = Study {
        args_model: args.fit.model,
        task: args.fit.task,
        classes,
        folds,
        metric,
        lower_is_better,
        seed: args.seed,
        pruner: args.pruner,
        fixed,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the worker threads")?;
    let mut history: Vec<Trial> = Vec::with_capacity(args.trials);
    while history.len() < args.trials {
        let numbers = history.len()..(history.len() + ROUND).min(args.trials);
        let direction = (study.seed, study.lower_is_better);
        let proposals = propose_round(
            args.sampler,
            args.startup_trials,
            direction,
            &dimensions,
            &history,
            numbers,
        );
        let finished: Vec<anyhow::Result<Trial>> = pool.install(|| {
            proposals
                .into_par_iter()
                .map(|(number, internal)| study.run(number, internal, &dimensions, &history))
                .collect()
        });
        for trial in finished {
            history.push(trial?);
        }
    }
    let best = history
        .iter()
        .filter(|t| !t.pruned && !t.value().is_nan())
        .reduce(|best, t| if study.better(t.value(), best.value()) { t } else { best })
        .with_context(|| format!("no trial finished with a {metric} score"))?;
    let mut written: Map<String, Value> = study.fixed.0.clone().into_iter().collect();
    written.extend(best.params.clone());
    write_atomic(&args.out, (serde_json::to_string_pretty(&written)? + "\n").as_bytes())?;
    if let Some(path) = &args.trials_out {
        let mut lines = String::new();
        for trial in &history {
            let line = json!({
                "number": trial.number,
                "params": trial.params,
                "fold_scores": trial.fold_scores,
                "value": trial.value(),
                "state": if trial.pruned { "pruned" } else { "complete" },
                "duration_seconds": (trial.seconds * 1000.0).round() / 1000.0,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        write_atomic(path, lines.as_bytes())?;
    }
    if let Some(path) = std::env::var_os(RUN_RECORDS) {
        append_run_records(std::path::Path::new(&path), &history, metric)?;
    }
    let pruned = history.iter().filter(|t| t.pruned).count();
    Ok(format!(
        "tuned {} on {}: best {metric} {:.4} (trial {} of {}, {pruned} pruned) in {:.1} s",
        args.fit.model.name(),
        args.fit.train.display(),
        best.value(),
        best.number,
        history.len(),
        started.elapsed().as_secs_f64()
    ))
}

/// The file pipit names for a stage's own records in its runs history.
const RUN_RECORDS: &str = "PIPIT_RUN_RECORDS";

/// Appends one record per trial to the runs history's file for this stage:
/// its hyperparameters, its cross-validated score (and each fold's), how long
/// it took, and whether it was pruned (as MLflow logs each trial as a run).
fn append_run_records(
    path: &std::path::Path,
    history: &[Trial],
    metric: &str,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut lines = String::new();
    for trial in history {
        let mut metrics = Map::new();
        let value = trial.value();
        metrics
            .insert(metric.to_owned(), if value.is_finite() { json!(value) } else { Value::Null });
        metrics.insert("folds".into(), json!(trial.fold_scores.len()));
        let record = json!({
            "name": format!("trial {}", trial.number),
            "params": trial.params,
            "metrics": metrics,
            "seconds": (trial.seconds * 1000.0).round() / 1000.0,
            "outcome": if trial.pruned { "pruned" } else { "success" },
        });
        lines.push_str(&record.to_string());
        lines.push('\n');
    }
    let mut file = fs_err::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(lines.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::space::Range;
    use super::*;

    /// Minimises `f` over `dimensions` with `trials` trials in rounds, as the
    /// stage does; returns the best value.
    fn minimise(
        sampler: Sampler,
        dimensions: &[Dimension],
        f: impl Fn(&[f64]) -> f64,
        seed: u64,
    ) -> f64 {
        let mut history: Vec<Trial> = Vec::new();
        while history.len() < 40 {
            let numbers = history.len()..history.len() + ROUND;
            let round: Vec<Trial> =
                propose_round(sampler, 10, (seed, true), dimensions, &history, numbers)
                    .into_iter()
                    .map(|(number, internal)| {
                        let values: Vec<f64> = dimensions
                            .iter()
                            .zip(&internal)
                            .map(|(d, &v)| d.range.value(v).as_f64().unwrap())
                            .collect();
                        let value = f(&values);
                        Trial {
                            number,
                            internal,
                            params: Map::new(),
                            fold_scores: vec![value],
                            running: vec![value],
                            pruned: false,
                            seconds: 0.0,
                        }
                    })
                    .collect();
            history.extend(round);
        }
        history.iter().map(Trial::value).fold(f64::INFINITY, f64::min)
    }

    fn float(name: &str, low: f64, high: f64) -> Dimension {
        let range = Range::Number { low, high, step: None, log: false, integer: false };
        Dimension { name: name.into(), range }
    }

    fn finished(number: usize, running: &[f64]) -> Trial {
        Trial {
            number,
            internal: vec![],
            params: Map::new(),
            fold_scores: running.to_vec(),
            running: running.to_vec(),
            pruned: false,
            seconds: 0.0,
        }
    }

    #[test]
    fn the_median_pruner_stops_a_clearly_worse_trial_after_its_start_up() {
        let firsts = [0.80, 0.81, 0.82, 0.83, 0.84];
        let done: Vec<Trial> =
            firsts.iter().enumerate().map(|(n, &v)| finished(n, &[v, 0.82, 0.83])).collect();
        let all: Vec<&Trial> = done.iter().collect();
        // Maximising: the median at step 0 is 0.82.
        assert!(median_prunes(&[0.5], &all, false));
        assert!(!median_prunes(&[0.9], &all, false));
        assert!(!median_prunes(&[0.82], &all, false), "the median itself goes on");
        assert!(median_prunes(&[f64::NAN, f64::NAN], &all, false));
        // The trial's best running score so far counts, not its latest one.
        assert!(!median_prunes(&[0.84, 0.80], &all, false));
        assert!(median_prunes(&[0.81, 0.80], &all, false));
        // Minimising, the other way round.
        assert!(median_prunes(&[0.9], &all, true) && !median_prunes(&[0.5], &all, true));
        // Fewer than five finished trials: nothing is pruned.
        assert!(!median_prunes(&[0.0], &all[..4], false));
    }

    #[test]
    fn tpe_finds_optima_faster_than_random_search() {
        let one = [float("x", -10.0, 10.0)];
        let two = [float("x", -5.0, 5.0), float("y", -5.0, 5.0)];
        let parabola = |v: &[f64]| (v[0] - 2.0).powi(2);
        let bowl = |v: &[f64]| (v[0] - 1.0).powi(2) + 3.0 * (v[1] + 3.0).powi(2);
        for (dimensions, f) in [(&one[..], &parabola as &dyn Fn(&[f64]) -> f64), (&two[..], &bowl)]
        {
            let mean = |sampler| {
                (0..30).map(|seed| minimise(sampler, dimensions, f, seed)).sum::<f64>() / 30.0
            };
            let (tpe, random) = (mean(Sampler::Tpe), mean(Sampler::Random));
            assert!(tpe < random / 2.0, "TPE {tpe} against random {random}");
        }
    }
}
