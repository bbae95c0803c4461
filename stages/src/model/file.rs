//! The model file: a header line `{"format": "pipit-model", "version": 1,
//! "blake3": …}` and, after it, the model as JSON. The checksum covers the
//! model's bytes exactly as written, so a truncated or edited file is refused
//! with a message that says so. [`digest`] names a whole model file: the
//! metrics `train` writes beside it and the registry's entries record it.

use std::path::Path;

use serde_json::{Value, json};

use super::TrainedModel;

const FORMAT: &str = "pipit-model";
const VERSION: u64 = 2;

/// Returns the BLAKE3 of a whole model file's bytes, in hex.
pub fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Writes `model` to `path`; returns the file's [`digest`].
pub fn save(model: &TrainedModel, path: &Path) -> anyhow::Result<String> {
    let body = serde_json::to_vec(model)?;
    let header = json!({"format": FORMAT, "version": VERSION, "blake3": digest(&body)});
    let mut bytes = serde_json::to_vec(&header)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, &bytes)?;
    Ok(digest(&bytes))
}

/// Reads a model written by [`save`].
pub fn load(path: &Path) -> anyhow::Result<TrainedModel> {
    parse(&fs_err::read(path)?, path)
}

/// Parses the bytes of a model file read from `path` (named in errors).
pub fn parse(bytes: &[u8], path: &Path) -> anyhow::Result<TrainedModel> {
    let shown = path.display();
    let foreign = || anyhow::anyhow!("`{shown}` is not a pipit model file");
    let split = bytes.iter().position(|&b| b == b'\n').ok_or_else(foreign)?;
    let (header, body) = (&bytes[..split], &bytes[split + 1..]);
    let header: Value = serde_json::from_slice(header).map_err(|_| foreign())?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(foreign());
    }
    let version = header.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != VERSION {
        anyhow::bail!(
            "`{shown}` is a pipit model of format {version}; this pipit reads format {VERSION}"
        );
    }
    if header.get("blake3").and_then(Value::as_str) != Some(digest(body).as_str()) {
        anyhow::bail!("`{shown}` is corrupted: its checksum does not match its contents");
    }
    serde_json::from_slice(body).map_err(|e| anyhow::anyhow!("`{shown}` is corrupted: {e}"))
}
