//! A registered model loaded to predict: the current one of a data set, or a
//! given version, its file checked against the BLAKE3 its entry records, so
//! that a damaged or swapped model file is never served.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Entry, Place, Registry, Status};
use crate::model::{TrainedModel, digest, parse};

/// A registered model, loaded.
pub struct Served {
    /// Its version.
    pub version: u64,
    /// Its registry entry.
    pub entry: Entry,
    /// The model.
    pub model: TrainedModel,
}

impl Served {
    /// Loads the current model of `dataset` from the registry at `dir`.
    pub fn current(dir: &Path, dataset: &str) -> anyhow::Result<Self> {
        let current = Registry::open(&Place::at(dir)).current()?;
        let Some(&version) = current.get(dataset) else {
            anyhow::bail!(no_current_model(dir, dataset, &current));
        };
        Self::version(dir, dataset, version)
    }

    /// Loads version `version` of `dataset`, which must be accepted.
    pub fn version(dir: &Path, dataset: &str, version: u64) -> anyhow::Result<Self> {
        let registry = Registry::open(&Place::at(dir));
        let entry = registry
            .entries()?
            .into_iter()
            .find(|e| e.version == version)
            .ok_or_else(|| anyhow::anyhow!("`{}` has no model v{version}", dir.display()))?;
        if entry.dataset != dataset {
            anyhow::bail!("model v{version} serves `{}`, not `{dataset}`", entry.dataset);
        }
        if entry.status != Status::Accepted {
            anyhow::bail!(
                "model v{version} of `{dataset}` was rejected by the gate: it is never served"
            );
        }
        let path = registry.model_path(version);
        let bytes = fs_err::read(&path)?;
        if digest(&bytes) != entry.model_blake3 {
            anyhow::bail!(
                "`{}` is not the model registered as v{version} (its BLAKE3 differs): not served",
                path.display()
            );
        }
        let model = parse(&bytes, &path)?;
        Ok(Self { version, entry, model })
    }
}

/// Says that `dataset` has no current model in the registry at `dir`, whose
/// `current` versions are these, and how to make one.
pub fn no_current_model(dir: &Path, dataset: &str, current: &BTreeMap<String, u64>) -> String {
    let known: Vec<&str> = current.keys().map(String::as_str).collect();
    let hint = if known.is_empty() {
        String::new()
    } else {
        format!(" (data sets with one: {})", known.join(", "))
    };
    format!(
        "no current model for `{dataset}` in `{}`{hint}: register one with `pipit model \
         register --dataset {dataset} …` (or run `pipit repro`), or make one current with \
         `pipit model promote VERSION`",
        dir.display()
    )
}
