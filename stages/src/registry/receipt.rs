//! A registration's receipt: a small JSON file naming the version each model
//! file was registered as. A pipeline stage that registers models declares it
//! as its out (kept inside the registry, so that losing the registry loses
//! the receipt and the stage registers again).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{Entry, Status};
use crate::atomic::write_atomic;

/// What one model file was registered as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Registered {
    dataset: String,
    version: u64,
    status: Status,
    model_blake3: String,
}

/// Records in the receipt at `path` that the model file `model` is `entry`,
/// keeping what the receipt says of other model files.
pub fn record(path: &Path, model: &Path, entry: &Entry) -> anyhow::Result<()> {
    let mut registered: BTreeMap<String, Registered> = match fs_err::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "`{}` is not a registration receipt; delete it or name another file",
                path.display()
            )
        })?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(error) => return Err(error.into()),
    };
    registered.insert(
        model.display().to_string(),
        Registered {
            dataset: entry.dataset.clone(),
            version: entry.version,
            status: entry.status,
            model_blake3: entry.model_blake3.clone(),
        },
    );
    let mut text = serde_json::to_string_pretty(&registered)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write the receipt `{}`", path.display()))
}
