//! The serving prediction log as drift's current data: `logs/predictions.jsonl`
//! holds one JSON object per prediction, whose `input` is the raw record
//! (DESIGN.md, "Registry, gate, serving"); the last `N` records become a table.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use crate::prepare::read::{Raw, present};

/// Reads the `input` records of the last `last` lines (all when `None`).
pub fn read(path: &Path, last: Option<usize>) -> anyhow::Result<Raw> {
    let text = fs_err::read_to_string(path)?;
    // A last line without its newline is a record the server was still
    // writing (or a crash cut short): not a record yet.
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let lines: Vec<&str> = complete.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = last.map_or(0, |n| lines.len().saturating_sub(n));
    let mut inputs = Vec::with_capacity(lines.len() - start);
    for (offset, line) in lines[start..].iter().enumerate() {
        let number = start + offset + 1;
        let entry: Value = serde_json::from_str(line)
            .with_context(|| format!("`{}` line {number} is not JSON", path.display()))?;
        let Some(Value::Object(input)) = entry.get("input").cloned() else {
            bail!("`{}` line {number} has no `input` record", path.display());
        };
        inputs.push(input);
    }
    let raw = records_to_table(inputs.iter());
    if raw.names.is_empty() {
        bail!("`{}` has no predictions to compare", path.display());
    }
    Ok(raw)
}

/// Turns JSON records (a served model's inputs) into a table: a column per
/// field any record has, text cells as the files' readers give them.
pub fn records_to_table<'a>(records: impl Iterator<Item = &'a Map<String, Value>>) -> Raw {
    let mut raw = Raw { names: Vec::new(), columns: Vec::new() };
    for (row, input) in records.enumerate() {
        for (name, value) in input {
            let column = match raw.names.iter().position(|n| n == name) {
                Some(column) => column,
                None => {
                    raw.names.push(name.clone());
                    raw.columns.push(vec![None; row]);
                    raw.names.len() - 1
                }
            };
            let cell = match value {
                Value::Null => None,
                Value::String(text) => present(Some(text)),
                other => Some(other.to_string()),
            };
            raw.columns[column].push(cell);
        }
        for column in &mut raw.columns {
            column.resize(row + 1, None);
        }
    }
    raw
}
