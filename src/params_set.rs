//! Changing values of a YAML params file in place (`exp run -S key=value`):
//! the text of the value is replaced where it is written, so the rest of the
//! file, its comments and its layout (block or flow mappings), stays as it was.

use std::path::Path;

use crate::pipeline::SourceFile;
use crate::pipeline::yaml::{self, Value};

/// Returns `text` (the params file `name`) with the value at the dotted
/// `key` replaced by `value`, written as YAML: as it is when it reads as a
/// plain scalar (a number, `true`, a word), quoted otherwise. The key must
/// exist and hold a scalar.
pub fn set(text: &str, name: &str, key: &str, value: &str) -> Result<String, String> {
    let file = SourceFile::new(name, Path::new(name).to_path_buf(), text.to_owned());
    let document =
        yaml::parse(&file).map_err(|e| format!("`{name}` is not valid YAML: {}", e.message))?;
    let mut node = &document;
    let mut walked = String::new();
    for part in key.split('.') {
        let Value::Map(entries) = &node.value else {
            return Err(format!("`{walked}` in `{name}` is not a mapping, so it has no `{part}`"));
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
        node = match entries.iter().find(|(k, _)| k.name == part) {
            Some((_, child)) => child,
            None => {
                let keys: Vec<String> =
                    entries.iter().map(|(k, _)| format!("`{}`", k.name)).collect();
                return Err(format!(
                    "`{name}` has no `{walked}` (`-S` changes values that are there; {} has {})",
                    if walked.contains('.') { "its mapping" } else { "the file" },
                    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
                ));
            }
        };
    }
    if matches!(node.value, Value::Map(_) | Value::List(_)) {
        return Err(format!(
            "`{key}` in `{name}` is {}; `-S` sets a single value",
            node.type_name()
        ));
    }
    let span = node.span;
    if span.len == 0 || span.offset + span.len > text.len() {
        return Err(format!("`{key}` in `{name}` has no value written to replace"));
    }
    let mut changed = String::with_capacity(text.len() + value.len());
    changed.push_str(&text[..span.offset]);
    changed.push_str(&written(value));
    changed.push_str(&text[span.offset + span.len..]);
    // Only the key may differ: a value reached through an anchor or a merge
    // (`<<: *base`) is written once for several keys.
    let flat = |text: &str| -> Option<crate::metrics::Flat> {
        let tree: serde_json::Value = serde_saphyr::from_str(text).ok()?;
        let mut flat = crate::metrics::Flat::new();
        crate::metrics::flatten("", &tree, &mut flat);
        Some(flat)
    };
    let (before, after) = (flat(text), flat(&changed));
    let others_changed = match (&before, &after) {
        (Some(before), Some(after)) => {
            before.len() != after.len()
                || before.iter().any(|(k, v)| k != key && after.get(k) != Some(v))
        }
        _ => true,
    };
    if others_changed {
        return Err(format!(
            "`{key}` in `{name}` is written where other values share it (a YAML anchor or \
             merge): change it there by hand"
        ));
    }
    Ok(changed)
}

/// Returns `value` as YAML text: plain when YAML reads it back as it is
/// meant (a number, a boolean, a simple word), else double-quoted.
fn written(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| c.is_alphanumeric() || "._-+/".contains(c))
        && !value.starts_with(['-', '.'])
        || value.parse::<f64>().is_ok();
    if plain { value.to_owned() } else { serde_json::to_string(value).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &str = "# the demo's params\nseed: 42\ntrain:\n  lr: 0.1  # learning rate\n  tree: {max_depth: 8, min_samples_leaf: 5}\n  name: \"gbm\"\n";

    #[test]
    fn a_value_is_replaced_where_it_is_written_and_nothing_else_moves() {
        let lr = set(PARAMS, "params.yaml", "train.lr", "0.25").unwrap();
        assert_eq!(lr, PARAMS.replace("lr: 0.1 ", "lr: 0.25 "));
        let depth = set(PARAMS, "params.yaml", "train.tree.max_depth", "12").unwrap();
        assert_eq!(depth, PARAMS.replace("max_depth: 8,", "max_depth: 12,"));
        let seed = set(PARAMS, "params.yaml", "seed", "7").unwrap();
        assert_eq!(seed, PARAMS.replace("seed: 42", "seed: 7"));
        let name = set(PARAMS, "params.yaml", "train.name", "lgbm fast").unwrap();
        assert!(name.contains("name: \"lgbm fast\"\n"), "{name}");
    }

    #[test]
    fn a_value_shared_through_an_anchor_is_refused() {
        let anchored = "base: &base\n  lr: 0.1\ntrain:\n  <<: *base\n  depth: 3\n";
        let error = set(anchored, "params.yaml", "train.lr", "0.5");
        assert!(error.unwrap_err().contains("a YAML anchor or merge"));
        let plain = set(anchored, "params.yaml", "train.depth", "4").unwrap();
        assert!(plain.contains("depth: 4"), "{plain}");
    }

    #[test]
    fn missing_keys_and_mappings_are_refused_with_what_is_there() {
        let error = set(PARAMS, "params.yaml", "train.depth", "3").unwrap_err();
        assert_eq!(
            error,
            "`params.yaml` has no `train.depth` (`-S` changes values that are there; its mapping has `lr`, `tree`, `name`)"
        );
        let error = set(PARAMS, "params.yaml", "train.tree", "3").unwrap_err();
        assert!(error.contains("is a mapping; `-S` sets a single value"), "{error}");
        let error = set(PARAMS, "params.yaml", "seed.x", "3").unwrap_err();
        assert!(error.contains("`seed` in `params.yaml` is not a mapping"), "{error}");
    }
}
