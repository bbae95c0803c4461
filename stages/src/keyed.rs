//! `FILE[:KEY]` arguments: a JSON or YAML document, or the part of it under
//! a dotted key (`params.yaml:tune.space.gbm`), as `--params-file` and
//! `--space` take them.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// Reads `FILE[:KEY]`: the whole document, or the value under the dotted key.
pub fn read(spec: &str) -> anyhow::Result<Value> {
    let (file, key) = match spec.rsplit_once(':') {
        Some((file, key)) if Path::new(file).is_file() => (file, Some(key)),
        _ => (spec, None),
    };
    let text = fs_err::read_to_string(file)?;
    let document: Value = if file.ends_with(".json") {
        serde_json::from_str(&text).with_context(|| format!("`{file}` is not valid JSON"))?
    } else {
        serde_saphyr::from_str(&text)
            .map_err(|e| anyhow::anyhow!("`{file}` is not valid YAML: {}", e.without_snippet()))?
    };
    let mut node = &document;
    for part in key.into_iter().flat_map(|k| k.split('.')) {
        node = node
            .get(part)
            .with_context(|| format!("`{file}` has no key `{}`", key.unwrap_or_default()))?;
    }
    Ok(node.clone())
}
