//! The model file: `{"format": "pipit-model", "version": 1, "blake3": …,
//! "model": …}`. The checksum covers the model's JSON, so a truncated or edited
//! file is refused with a message that says so.

use std::path::Path;

use serde_json::{Value, json};

use super::TrainedModel;

const FORMAT: &str = "pipit-model";
const VERSION: u64 = 1;

/// Writes `model` to `path`.
pub fn save(model: &TrainedModel, path: &Path) -> anyhow::Result<()> {
    let body = serde_json::to_value(model)?;
    let text = serde_json::to_string(&body)?;
    let file = json!({"format": FORMAT, "version": VERSION, "blake3": blake3::hash(text.as_bytes()).to_hex().to_string(), "model": body});
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, serde_json::to_vec(&file)?)?;
    Ok(())
}

/// Reads a model written by [`save`].
pub fn load(path: &Path) -> anyhow::Result<TrainedModel> {
    let bytes = fs_err::read(path)?;
    let shown = path.display();
    let file: Value = serde_json::from_slice(&bytes)
        .map_err(|_| anyhow::anyhow!("`{shown}` is not a pipit model file"))?;
    if file.get("format").and_then(Value::as_str) != Some(FORMAT) {
        anyhow::bail!("`{shown}` is not a pipit model file");
    }
    let version = file.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != VERSION {
        anyhow::bail!(
            "`{shown}` is a pipit model of format {version}; this pipit reads format {VERSION}"
        );
    }
    let body = file.get("model").cloned().unwrap_or(Value::Null);
    let text = serde_json::to_string(&body)?;
    if file.get("blake3").and_then(Value::as_str)
        != Some(blake3::hash(text.as_bytes()).to_hex().as_str())
    {
        anyhow::bail!("`{shown}` is corrupted: its checksum does not match its contents");
    }
    serde_json::from_value(body).map_err(|e| anyhow::anyhow!("`{shown}` is corrupted: {e}"))
}
