//! Model hyperparameters: `--param key=value` and `--params-file FILE[:KEY]`
//! (JSON, or YAML such as params.yaml with a dotted key), checked against the
//! names each model accepts, with scikit-learn's defaults.

use std::collections::BTreeMap;

use serde_json::Value;

use super::estimator::Kind;

/// Validated hyperparameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hyperparameters(pub BTreeMap<String, Value>);

/// The hyperparameters each model accepts.
pub fn accepted(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Logistic => &["c", "max_iter"],
        Kind::Linear => &[],
        Kind::Ridge => &["alpha"],
        Kind::Tree => &["max_depth", "min_samples_leaf", "min_samples_split"],
        Kind::Forest => &["n_trees", "max_depth", "min_samples_leaf", "max_features", "bootstrap"],
        Kind::Gbm => &["n_trees", "learning_rate", "max_depth", "min_samples_leaf", "subsample"],
    }
}

impl Hyperparameters {
    /// Collects the params of a file and of `key=value` flags (flags win).
    pub fn collect(kind: Kind, file: Option<&str>, flags: &[String]) -> anyhow::Result<Self> {
        let mut params = BTreeMap::new();
        if let Some(spec) = file {
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
        let valid = accepted(kind);
        for key in params.keys() {
            if !valid.contains(&key.as_str()) {
                let list = if valid.is_empty() { "none".to_owned() } else { valid.join(", ") };
                anyhow::bail!("`{}` has no hyperparameter `{key}` (it takes: {list})", kind.name());
            }
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
