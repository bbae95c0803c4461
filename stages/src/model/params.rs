//! Model hyperparameters: `--param key=value` and `--params-file FILE[:KEY]`
//! (JSON, or YAML such as params.yaml with a dotted key), checked against the
//! names and values each model accepts, with scikit-learn's defaults.

use std::collections::BTreeMap;

use serde_json::Value;

use super::estimator::Kind;

/// Validated hyperparameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hyperparameters(pub BTreeMap<String, Value>);

/// The hyperparameters each model accepts.
pub fn accepted(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Logistic => &["c", "max_iter", "class_weight", "threshold"],
        Kind::Linear => &[],
        Kind::Ridge => &["alpha"],
        Kind::Tree => &[
            "max_depth",
            "min_samples_leaf",
            "min_samples_split",
            "max_leaf_nodes",
            "class_weight",
            "threshold",
            "missing",
        ],
        Kind::Forest => &[
            "n_trees",
            "max_depth",
            "min_samples_leaf",
            "max_features",
            "bootstrap",
            "max_leaf_nodes",
            "class_weight",
            "threshold",
            "missing",
        ],
        Kind::Gbm => &[
            "class_weight",
            "threshold",
            "missing",
            "max_leaf_nodes",
            "max_features",
            "early_stopping",
            "validation_fraction",
            "n_iter_no_change",
            "n_trees",
            "learning_rate",
            "max_depth",
            "min_samples_leaf",
            "subsample",
            "l2_regularization",
            "loss",
        ],
    }
}

/// The losses gbm regression boosts (`loss`); classification boosts log loss.
pub const LOSSES: [&str; 2] = ["squared", "absolute"];

/// Checks that `kind` takes hyperparameter `key` and that `value` is one it
/// can have; the error says what would be.
pub fn check(kind: Kind, key: &str, value: &Value) -> anyhow::Result<()> {
    let valid = accepted(kind);
    if !valid.contains(&key) {
        let list = if valid.is_empty() { "none".to_owned() } else { valid.join(", ") };
        anyhow::bail!("`{}` has no hyperparameter `{key}` (it takes: {list})", kind.name());
    }
    let number = value.as_f64().filter(|v| v.is_finite());
    let whole = number.filter(|v| v.fract() == 0.0);
    let (fits, wanted) = match key {
        "c" | "learning_rate" => (number.is_some_and(|v| v > 0.0), "a number above 0".to_owned()),
        "alpha" | "l2_regularization" => {
            (number.is_some_and(|v| v >= 0.0), "a number, 0 or more".to_owned())
        }
        "max_iter" | "n_trees" | "min_samples_leaf" => {
            (whole.is_some_and(|v| v >= 1.0), "a whole number, 1 or more".to_owned())
        }
        "max_leaf_nodes" => (
            value.is_null() || whole.is_some_and(|v| v >= 2.0),
            "a whole number, 2 or more, or null for no limit".to_owned(),
        ),
        "early_stopping" => (
            value.is_boolean() || value.as_str() == Some("auto"),
            "`auto` (on past 10,000 training rows without class weights), true or false".to_owned(),
        ),
        "validation_fraction" => {
            (number.is_some_and(|v| v > 0.0 && v < 1.0), "a share in (0, 1)".to_owned())
        }
        "n_iter_no_change" => {
            (whole.is_some_and(|v| v >= 1.0), "a whole number, 1 or more".to_owned())
        }
        "min_samples_split" => {
            (whole.is_some_and(|v| v >= 2.0), "a whole number, 2 or more".to_owned())
        }
        "max_depth" => (
            value.is_null() || whole.is_some_and(|v| v >= 1.0),
            "a whole number, 1 or more, or null for no limit".to_owned(),
        ),
        "max_features" => (
            number.is_some_and(|v| v > 0.0 && (v <= 1.0 || v.fract() == 0.0)),
            "a share of the features in (0, 1] or a whole count".to_owned(),
        ),
        "subsample" => {
            (number.is_some_and(|v| v > 0.0 && v <= 1.0), "a share in (0, 1]".to_owned())
        }
        "bootstrap" => (value.is_boolean(), "true or false".to_owned()),
        "threshold" => (
            value.as_str() == Some("auto") || number.is_some_and(|v| v > 0.0 && v < 1.0),
            "`auto` (chosen to maximise F1 on out-of-fold predictions) or a probability in \
             (0, 1)"
                .to_owned(),
        ),
        "class_weight" => (
            value.as_str() == Some("balanced")
                || value.as_object().is_some_and(|m| {
                    m.values().all(|w| w.as_f64().is_some_and(|w| w.is_finite() && w >= 0.0))
                }),
            "`balanced` or a map of class → weight (0 or more)".to_owned(),
        ),
        "missing" => (
            matches!(value.as_str(), Some("impute" | "learn")),
            "`impute` (the training median or most frequent category) or `learn` (each split \
             learns which side missing values go)"
                .to_owned(),
        ),
        "loss" => (
            value.as_str().is_some_and(|v| LOSSES.contains(&v)),
            format!("one of {}", LOSSES.join(", ")),
        ),
        _ => (true, String::new()),
    };
    if !fits {
        anyhow::bail!("`{}` hyperparameter `{key}` must be {wanted}, not `{value}`", kind.name());
    }
    Ok(())
}

impl Hyperparameters {
    /// Collects the params of files (a later file wins) and of `key=value`
    /// flags (flags win over files).
    pub fn collect(kind: Kind, files: &[String], flags: &[String]) -> anyhow::Result<Self> {
        let mut params = BTreeMap::new();
        for spec in files {
            params.extend(read_file(spec)?);
        }
        for flag in flags {
            let (key, value) = flag
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--param `{flag}` is not key=value"))?;
            let value = serde_json::from_str(value.trim())
                .unwrap_or_else(|_| Value::String(value.trim().to_owned()));
            params.insert(key.trim().to_owned(), value);
        }
        for (key, value) in &params {
            check(kind, key, value)?;
        }
        Ok(Self(params))
    }

    /// Returns a float param, or `default`.
    pub fn float(&self, key: &str, default: f64) -> f64 {
        self.0.get(key).and_then(Value::as_f64).unwrap_or(default)
    }

    /// Returns an integer param, or `default`.
    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.0
            .get(key)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
            .unwrap_or(default)
    }
}

/// Reads `FILE[:KEY]`: a JSON or YAML mapping, or the mapping under a dotted key.
fn read_file(spec: &str) -> anyhow::Result<BTreeMap<String, Value>> {
    let node = crate::keyed::read(spec)?;
    match node {
        Value::Object(map) => Ok(map.into_iter().collect()),
        Value::Null => Ok(BTreeMap::new()),
        _ => anyhow::bail!("the params in `{spec}` must be a mapping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_by_what_each_hyperparameter_means() {
        for (kind, key, value) in [
            (Kind::Gbm, "n_trees", json!(200)),
            (Kind::Gbm, "learning_rate", json!(0.05)),
            (Kind::Gbm, "loss", json!("absolute")),
            (Kind::Forest, "max_depth", Value::Null),
            (Kind::Forest, "max_features", json!(0.3)),
            (Kind::Forest, "max_features", json!(4)),
            (Kind::Forest, "bootstrap", json!(false)),
            (Kind::Ridge, "alpha", json!(0)),
            (Kind::Gbm, "l2_regularization", json!(1.5)),
            (Kind::Gbm, "missing", json!("learn")),
            (Kind::Forest, "missing", json!("impute")),
        ] {
            check(kind, key, &value).unwrap();
        }
        for (kind, key, value, message) in [
            (Kind::Gbm, "learning_rate", json!("fast"), "a number above 0, not `\"fast\"`"),
            (Kind::Gbm, "n_trees", json!(2.5), "a whole number, 1 or more"),
            (Kind::Gbm, "n_trees", json!(0), "a whole number, 1 or more"),
            (Kind::Gbm, "loss", json!("huber"), "one of squared, absolute"),
            (Kind::Gbm, "subsample", json!(1.5), "a share in (0, 1]"),
            (Kind::Tree, "min_samples_split", json!(1), "2 or more"),
            (Kind::Forest, "max_features", json!(2.5), "a whole count"),
            (Kind::Forest, "bootstrap", json!("no"), "true or false"),
            (Kind::Logistic, "c", json!(0), "a number above 0"),
            (Kind::Gbm, "l2_regularization", json!(-1), "a number, 0 or more"),
            (Kind::Tree, "loss", json!("squared"), "`tree` has no hyperparameter `loss`"),
            (Kind::Gbm, "missing", json!("drop"), "`impute` (the training median"),
            (Kind::Logistic, "missing", json!("learn"), "`logistic` has no hyperparameter"),
        ] {
            let error = check(kind, key, &value).unwrap_err().to_string();
            assert!(error.contains(message), "{key} = {value}: {error}");
        }
    }
}
