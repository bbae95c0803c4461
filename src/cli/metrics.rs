//! `pipit metrics show`: the metrics files the stages declare (`metrics:`
//! outs), or the files named, one row each with their keys flattened
//! (`a.b.c`), as a table, Markdown, CSV or JSON.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pipit::metrics::{self, Flat};
use pipit::pipeline::OutKind;

use super::{Outcome, Printer, printer, workspace};

/// Arguments of `pipit metrics`
#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(subcommand)]
    command: MetricsCommand,
}

#[derive(Debug, Subcommand)]
enum MetricsCommand {
    /// Show the metrics files the stages declare (`metrics:` outs), or those named
    Show(ShowArgs),
}

/// Arguments of `pipit metrics show`
#[derive(Debug, Args)]
struct ShowArgs {
    /// Metrics files to show instead of the declared ones (JSON, YAML, TOML,
    /// or a CSV/TSV with a header and one row)
    targets: Vec<PathBuf>,
    /// Print JSON: each file's metrics under its path, keys flattened
    #[arg(long, conflicts_with_all = ["md", "csv"])]
    json: bool,
    /// Print a Markdown table
    #[arg(long, conflicts_with = "csv")]
    md: bool,
    /// Print CSV: a header, then a row per file
    #[arg(long)]
    csv: bool,
    /// The most decimals a number shows
    #[arg(long, value_name = "N", default_value_t = 5)]
    precision: usize,
}

/// Runs `pipit metrics`.
pub fn run(args: MetricsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    match args.command {
        MetricsCommand::Show(args) => show(&args, printer),
    }
}

fn show(args: &ShowArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    // (shown path, file, whether it was named rather than declared)
    let files: Vec<(String, PathBuf, bool)> = if args.targets.is_empty() {
        let Some(loaded) = workspace::load(printer)? else {
            return Ok(Outcome::Invalid);
        };
        let pipeline = &loaded.pipeline;
        let mut declared: Vec<(String, PathBuf, bool)> = Vec::new();
        for out in pipeline.stages.iter().flat_map(|s| &s.outs) {
            let shown = out.path.to_string();
            if out.kind == OutKind::Metric && !declared.iter().any(|d| d.0 == shown) {
                declared.push((shown, pipeline.root.join(out.path.as_str()), false));
            }
        }
        if declared.is_empty() {
            printer.note("no metrics: no stage lists `metrics:` outs (name files to show them)");
            return Ok(Outcome::Success);
        }
        declared
    } else {
        args.targets.iter().map(|t| (t.display().to_string(), t.clone(), true)).collect()
    };
    let mut rows: Vec<(String, Flat)> = Vec::new();
    let mut failed = false;
    for (shown, path, named) in files {
        if !path.exists() && !named {
            printer.note(&format!("`{shown}` is not there yet: its stage has not run"));
            continue;
        }
        match metrics::read(&path, &shown) {
            Ok(flat) => rows.push((shown, flat)),
            Err(error) => {
                printer.note(&format!("error: {error:#}"));
                failed = true;
            }
        }
    }
    let text = if args.json {
        let object: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(path, flat)| (path.clone(), serde_json::to_value(flat).unwrap_or_default()))
            .collect();
        format!("{}\n", serde_json::to_string_pretty(&object)?)
    } else if args.md {
        markdown(&rows, args.precision)
    } else if args.csv {
        csv(&rows, args.precision)
    } else {
        table(&rows, args.precision, printer::terminal_width())
    };
    printer.out(&text)?;
    Ok(if failed { Outcome::Failure } else { Outcome::Success })
}

/// Returns every key of `rows`, in the order they first appear.
fn columns(rows: &[(String, Flat)]) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for key in rows.iter().flat_map(|(_, flat)| flat.keys()) {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    keys
}

/// Returns the cells of a row per file: its path, then its value of each
/// key (`-` where it has none).
fn cells(rows: &[(String, Flat)], keys: &[&str], precision: usize) -> Vec<Vec<String>> {
    rows.iter()
        .map(|(path, flat)| {
            let values = keys.iter().map(|k| {
                flat.get(*k).map_or_else(|| "-".to_owned(), |v| metrics::shown(v, precision))
            });
            std::iter::once(path.clone()).chain(values).collect()
        })
        .collect()
}

/// Lays out `lines` (the first a header) in columns two spaces apart.
fn aligned(lines: &[Vec<String>]) -> String {
    let count = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|c| {
            lines.iter().filter_map(|l| l.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in lines {
        let mut out = String::new();
        for (c, cell) in line.iter().enumerate() {
            if c + 1 == line.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    }
    text
}

/// A row per file and a column per key, as `dvc metrics show` prints them;
/// when that is wider than `width`, a line per file and key instead.
fn table(rows: &[(String, Flat)], precision: usize, width: usize) -> String {
    let keys = columns(rows);
    let header: Vec<String> =
        std::iter::once("Path".to_owned()).chain(keys.iter().map(|k| (*k).to_owned())).collect();
    let mut lines = vec![header];
    lines.extend(cells(rows, &keys, precision));
    let wide = aligned(&lines);
    if wide.lines().all(|line| line.chars().count() <= width) {
        return wide;
    }
    let mut long = vec![vec!["Path".to_owned(), "Metric".to_owned(), "Value".to_owned()]];
    for (path, flat) in rows {
        for (i, (key, value)) in flat.iter().enumerate() {
            let path = if i == 0 { path.clone() } else { String::new() };
            long.push(vec![path, key.clone(), metrics::shown(value, precision)]);
        }
    }
    aligned(&long)
}

/// A Markdown table: a row per file, a column per key.
fn markdown(rows: &[(String, Flat)], precision: usize) -> String {
    let keys = columns(rows);
    let escape = |cell: &str| cell.replace('|', "\\|");
    let mut text = format!(
        "| Path | {} |\n|---|{}\n",
        keys.iter().map(|k| escape(k)).collect::<Vec<_>>().join(" | "),
        "---:|".repeat(keys.len())
    );
    for line in cells(rows, &keys, precision) {
        let line: Vec<String> = line.iter().map(|c| escape(c)).collect();
        text.push_str(&format!("| {} |\n", line.join(" | ")));
    }
    text
}

/// CSV: a header (`path` and the keys), then a row per file.
fn csv(rows: &[(String, Flat)], precision: usize) -> String {
    let keys = columns(rows);
    let quote = |cell: &str| {
        if cell.contains([',', '"', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_owned()
        }
    };
    let header: Vec<String> =
        std::iter::once("path".to_owned()).chain(keys.iter().map(|k| quote(k))).collect();
    let mut text = format!("{}\n", header.join(","));
    for line in cells(rows, &keys, precision) {
        let line: Vec<String> = line.iter().map(|c| quote(c)).collect();
        text.push_str(&format!("{}\n", line.join(",")));
    }
    text
}
