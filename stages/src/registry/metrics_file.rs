//! The metrics file `register` is given, and why it is believed. It must name
//! the model it was measured on by the model file's BLAKE3 (`pipit stage
//! train` writes it under `"model"`), and its gate verdict must follow from
//! the numbers written beside it. Otherwise a hand-edited file, or one copied
//! from another model, would decide what the registry accepts.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::Gate;
use crate::metrics::key_metric;
use crate::model::Task;

/// A metrics file as `pipit stage train` writes it.
pub struct MetricsFile {
    /// Where it was read from.
    path: PathBuf,
    /// The model's metrics (without the baseline, the gate and the model).
    pub metrics: Map<String, Value>,
    /// The baseline's kind and metrics.
    pub baseline: Value,
    /// The gate's verdict as written.
    pub gate: Gate,
    /// The kind of model it was measured on, when written.
    kind: Option<String>,
    /// The BLAKE3 of the model file it was measured on, when written.
    model_blake3: Option<String>,
}

impl MetricsFile {
    /// Reads a metrics file; fails when it is not JSON or has no gate verdict.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Self::parse(path, &fs_err::read_to_string(path)?)
    }

    /// Parses the text of a metrics file read from `path` (named in errors).
    fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let mut metrics: Map<String, Value> = serde_json::from_str(text)
            .with_context(|| format!("`{}` is not a metrics JSON file", path.display()))?;
        let gate: Gate = metrics
            .remove("gate")
            .and_then(|g| serde_json::from_value(g).ok())
            .with_context(|| {
                format!(
                    "`{}` has no gate verdict; write it with `pipit stage train`",
                    path.display()
                )
            })?;
        let baseline = metrics.remove("baseline").unwrap_or(Value::Null);
        let model = metrics.remove("model").unwrap_or(Value::Null);
        let text_of = |key: &str| model[key].as_str().map(str::to_owned);
        Ok(Self {
            path: path.to_path_buf(),
            kind: text_of("kind"),
            model_blake3: text_of("blake3"),
            metrics,
            baseline,
            gate,
        })
    }

    /// Fails unless the file belongs to `model`, a `kind` model for `task`
    /// whose BLAKE3 is `digest`, and holds a verdict that follows from its numbers.
    pub fn check(&self, kind: &str, task: Task, digest: &str, model: &Path) -> anyhow::Result<()> {
        self.check_kind(kind, model)?;
        self.check_model(digest, model)?;
        self.check_verdict(task)
    }

    /// Fails when the file was written for another kind of model than `kind`,
    /// the kind of `model` (named in the error).
    fn check_kind(&self, kind: &str, model: &Path) -> anyhow::Result<()> {
        match &self.kind {
            Some(written) if written != kind => bail!(
                "`{}` holds the metrics of a {written} model, but `{}` is a {kind} model",
                self.path.display(),
                model.display(),
            ),
            _ => Ok(()),
        }
    }

    /// Fails unless the file names `model`, whose BLAKE3 is `digest`.
    fn check_model(&self, digest: &str, model: &Path) -> anyhow::Result<()> {
        let (shown, model) = (self.path.display(), model.display());
        match &self.model_blake3 {
            None => bail!(
                "`{shown}` does not say which model it measured (it has no `model.blake3`), so it \
                 cannot vouch for `{model}`: train the model again with `pipit stage train`, \
                 which writes it"
            ),
            Some(written) if written != digest => bail!(
                "`{shown}` holds the metrics of another model: it names the model file with \
                 BLAKE3 `{}…`, but `{model}` has `{}…`; register a model with the metrics \
                 `pipit stage train` wrote beside it",
                short(written),
                short(digest)
            ),
            Some(_) => Ok(()),
        }
    }

    /// Fails unless the gate's verdict follows from the numbers written
    /// beside it, for a model of `task`: the key metric's value and the
    /// baseline's against the threshold, decided as `train` decides.
    fn check_verdict(&self, task: Task) -> anyhow::Result<()> {
        let (shown, gate) = (self.path.display(), &self.gate);
        let Ok((metric, lower_is_better)) = key_metric(task, Some(&gate.metric), "") else {
            bail!(
                "`{shown}` gates on `{}`, which is not a metric of a {} model",
                gate.metric,
                task_name(task)
            );
        };
        let value = self.metrics.get(metric).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let baseline = self.baseline["metrics"][metric].as_f64().unwrap_or(f64::NAN);
        let wrong = if !same(gate.value, value) {
            format!("the gate's {metric} is {}, but the metrics' is {}", gate.value, value)
        } else if !same(gate.baseline, baseline) {
            format!(
                "the gate's baseline {metric} is {}, but the baseline's metrics give {}",
                gate.baseline, baseline
            )
        } else if gate.lower_is_better != lower_is_better {
            format!(
                "it says {} {metric} is better",
                if gate.lower_is_better { "lower" } else { "higher" }
            )
        } else {
            let decided = Gate::decide(metric, value, gate.threshold, baseline, lower_is_better);
            if decided.accepted == gate.accepted {
                return Ok(());
            }
            let (written, follows) =
                if gate.accepted { ("accepted", "reject it") } else { ("rejected", "accept it") };
            format!(
                "it says the model was {written}, but its numbers {follows}: {}",
                decided.reason()
            )
        };
        bail!(
            "`{shown}` does not hold a verdict the gate gave: {wrong}; train the model again with \
             `pipit stage train`, which writes its metrics and verdict together"
        )
    }
}

/// Returns true when two written numbers are the same (NaN, written as
/// null, equals NaN).
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// Returns the first 16 hex digits of a BLAKE3, as `pipit model show` prints it.
fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Returns the metrics train writes for an F1 of `f1` against a baseline of 0.2.
    fn written(f1: f64, threshold: f64) -> Value {
        let gate = Gate::decide("f1", f1, threshold, 0.2, false);
        json!({
            "accuracy": 0.8,
            "f1": f1,
            "baseline": {"kind": "majority class", "metrics": {"f1": 0.2}},
            "gate": gate,
            "model": {"kind": "tree", "blake3": "ab".repeat(32)},
        })
    }

    fn check(value: &Value) -> anyhow::Result<()> {
        let file = MetricsFile::parse(Path::new("m.json"), &value.to_string())?;
        file.check_model(&"ab".repeat(32), Path::new("m.model"))?;
        file.check_verdict(Task::Classification)
    }

    fn error(value: &Value) -> String {
        check(value).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn metrics_as_train_writes_them_pass() {
        check(&written(0.7, 0.5)).unwrap();
        check(&written(0.3, 0.5)).unwrap();
    }

    #[test]
    fn a_verdict_that_does_not_follow_from_the_numbers_is_refused() {
        let mut forged = written(0.3, 0.5);
        forged["gate"]["accepted"] = json!(true);
        let message = error(&forged);
        assert!(message.contains("it says the model was accepted, but its numbers reject it: f1 0.3000 < threshold 0.5000"), "{message}");
        let mut value = written(0.3, 0.5);
        value["gate"]["value"] = json!(0.9);
        assert!(error(&value).contains("the gate's f1 is 0.9, but the metrics' is 0.3"));
        let mut baseline = written(0.7, 0.5);
        baseline["gate"]["baseline"] = json!(0.1);
        assert!(
            error(&baseline)
                .contains("the gate's baseline f1 is 0.1, but the baseline's metrics give 0.2")
        );
        let mut flipped = written(0.3, 0.5);
        flipped["gate"]["lower_is_better"] = json!(true);
        flipped["gate"]["accepted"] = json!(true);
        assert!(error(&flipped).contains("it says lower f1 is better"));
        let mut other = written(0.7, 0.5);
        other["gate"]["metric"] = json!("r2");
        assert!(
            error(&other)
                .contains("gates on `r2`, which is not a metric of a classification model")
        );
    }

    #[test]
    fn metrics_of_another_model_or_of_none_are_refused() {
        let mut other = written(0.7, 0.5);
        other["model"]["blake3"] = json!("cd".repeat(32));
        let message = error(&other);
        assert!(message.contains("`m.json` holds the metrics of another model"), "{message}");
        assert!(
            message.contains("BLAKE3 `cdcdcdcdcdcdcdcd…`, but `m.model` has `abababababababab…`"),
            "{message}"
        );
        let mut unnamed = written(0.7, 0.5);
        unnamed["model"] = json!({"kind": "tree"});
        assert!(error(&unnamed).contains("it has no `model.blake3`"));
    }
}
