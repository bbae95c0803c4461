//! `pipit model list` and `pipit model show`: the registry as a table, or one
//! entry in detail, as text or JSON. They only read the registry.

use crate::number::Fixed;
use std::fmt::Write as _;

use clap::Args;
use serde_json::Value;

use super::{Entry, Place, Registry, find, verdict};
use crate::model;

/// Arguments of `pipit model list`
#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Only this data set's models
    #[arg(long)]
    dataset: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Arguments of `pipit model show`
#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// The version (`3` or `v3`)
    #[arg(value_name = "VERSION")]
    number: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs `pipit model list`.
pub(super) fn list(dir: &Place, args: &ListArgs) -> anyhow::Result<String> {
    let registry = Registry::open(dir);
    let current = registry.current()?;
    let entries: Vec<Entry> = registry
        .entries()?
        .into_iter()
        .filter(|e| args.dataset.as_ref().is_none_or(|d| *d == e.dataset))
        .collect();
    let is_current = |e: &Entry| current.get(&e.dataset) == Some(&e.version);
    if args.json {
        let items: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut value = serde_json::to_value(e).unwrap_or(Value::Null);
                value["current"] = Value::Bool(is_current(e));
                value
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&items)?);
    }
    if entries.is_empty() {
        return Ok(match &args.dataset {
            Some(d) => format!("no {d} models in `{}`", dir.shown.display()),
            None => format!("no models in `{}`", dir.shown.display()),
        });
    }
    // Fits 80 columns: the status says `current` for the current model (an
    // accepted one), the date is the day (`model show` has the time).
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                format!("v{}", e.version),
                e.dataset.clone(),
                kind_and_source(e),
                format!("{} {:.4}", e.gate.metric, Fixed(e.gate.value)),
                format!("{:.4}", Fixed(e.gate.baseline)),
                if is_current(e) { "current".to_owned() } else { e.status.name().to_owned() },
                e.time.get(..10).unwrap_or(&e.time).to_owned(),
            ]
        })
        .collect();
    let header = ["VERSION", "DATASET", "MODEL", "METRIC", "BASELINE", "STATUS", "REGISTERED"];
    Ok(table(&header, &rows))
}

/// Returns the model's kind, and the name of the file it was registered
/// from when that says more (`gbm (tuned)` for `models/churn/tuned.model`).
fn kind_and_source(entry: &Entry) -> String {
    let stem = std::path::Path::new(&entry.source)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A file named after a model kind (`linear.model` for ridge) says nothing more.
    let kinds = ["linear", "ridge", "logistic", "softmax", "tree", "forest", "gbm"];
    if stem.is_empty() || kinds.contains(&stem.as_str()) {
        entry.model.clone()
    } else {
        format!("{} ({stem})", entry.model)
    }
}

/// Lays out rows in left-aligned columns two spaces apart.
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ");
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(rows.iter().map(|row| line(row.iter().map(String::as_str).collect())));
    lines.join("\n")
}

/// Runs `pipit model show`.
pub(super) fn show(dir: &Place, args: &ShowArgs) -> anyhow::Result<String> {
    let registry = Registry::open(dir);
    let entry = find(&registry, &args.number)?;
    let current = registry.current()?.get(&entry.dataset) == Some(&entry.version);
    // The model file is read for what it looks at; a missing or damaged one is
    // named by `promote` and `serve`, not here.
    let importances =
        model::load(&registry.model_path(entry.version)).ok().map(|m| m.importances());
    if args.json {
        let mut value = serde_json::to_value(&entry)?;
        value["current"] = Value::Bool(current);
        if let Some(importances) = &importances {
            value["importances"] = model::importances_json(importances);
        }
        return Ok(serde_json::to_string_pretty(&value)?);
    }
    let mut out = String::new();
    let task = match entry.task {
        model::Task::Classification => "classification",
        model::Task::Regression => "regression",
    };
    let _ = writeln!(out, "v{} · {} · {} ({task})", entry.version, entry.dataset, entry.model);
    let _ = writeln!(out, "registered  {}", entry.time);
    let _ =
        writeln!(out, "status      {}{}", verdict(&entry), if current { ", current" } else { "" });
    let _ = writeln!(out, "target      {}", entry.target);
    let params = if entry.params.is_empty() {
        "defaults".to_owned()
    } else {
        entry.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(out, "params      {params}");
    let _ = writeln!(out, "metrics");
    for (name, value) in &entry.metrics {
        if let Some(number) = value.as_f64() {
            let _ = writeln!(out, "  {name:<10}{:.4}", Fixed(number));
        }
    }
    let importances = importances.unwrap_or_default();
    if !importances.is_empty() {
        let _ = writeln!(out, "importances");
        for (feature, share) in importances.iter().take(10) {
            let _ = writeln!(out, "  {feature:<24} {:.4}", Fixed(*share));
        }
        if importances.len() > 10 {
            let _ = writeln!(out, "  … {} more (`--json` lists them)", importances.len() - 10);
        }
    }
    let _ = writeln!(
        out,
        "model       {} (blake3 {})",
        registry.shown_model_path(entry.version).display(),
        &entry.model_blake3[..16]
    );
    let _ = write!(out, "from        {}", entry.source);
    Ok(out)
}
