//! `pipit metrics show`: the metrics files the stages declare (`metrics:`
//! outs), or the files named, one row each with their keys flattened
//! (`a.b.c`), as a table, Markdown, CSV or JSON. `pipit metrics diff`: the
//! declared files' values at two git revisions (or the workspace), with the
//! change.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pipit::metrics::{self, Flat};
use pipit::revision::{Revision, WORKSPACE};

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
    /// Compare the declared metrics at two git revisions, or a revision and the workspace
    Diff(DiffArgs),
}

/// Arguments of `pipit metrics diff` and `pipit params diff`
#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    /// The old side: a git revision [default: HEAD]
    pub a_rev: Option<String>,
    /// The new side: a git revision, or `workspace` [default: workspace]
    pub b_rev: Option<String>,
    /// Show unchanged values too
    #[arg(long)]
    pub all: bool,
    /// Print JSON
    #[arg(long, conflicts_with = "md")]
    pub json: bool,
    /// Print a Markdown table
    #[arg(long)]
    pub md: bool,
    /// The most decimals a number shows
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub precision: usize,
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
        MetricsCommand::Diff(args) => diff(&args, printer),
    }
}

/// Reads the metrics files `paths` as revision `rev` (or the workspace) has
/// them; `None` for a file it does not have.
fn at_revision(
    files: &pipit::workspace::Workspace,
    rev: &str,
    paths: &[String],
) -> anyhow::Result<Vec<Option<Flat>>> {
    let contents = Revision::new(files, rev).read(paths)?;
    let parse = |(path, bytes): (&String, Option<Vec<u8>>)| {
        bytes.map(|bytes| metrics::parse(&String::from_utf8_lossy(&bytes), path)).transpose()
    };
    paths.iter().zip(contents).map(parse).collect()
}

/// One value on both sides of a diff.
pub(super) struct Change {
    path: String,
    key: String,
    old: Option<serde_json::Value>,
    new: Option<serde_json::Value>,
}

impl Change {
    fn changed(&self) -> bool {
        match (&self.old, &self.new) {
            (Some(a), Some(b)) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x != y,
                _ => a != b,
            },
            (a, b) => a.is_some() != b.is_some(),
        }
    }

    /// The new value minus the old, when both are numbers.
    fn delta(&self) -> Option<f64> {
        Some(self.new.as_ref()?.as_f64()? - self.old.as_ref()?.as_f64()?)
    }

    /// The change relative to the old value, in percent.
    fn percent(&self) -> Option<f64> {
        let old = self.old.as_ref()?.as_f64()?;
        let delta = self.delta()?;
        (old != 0.0).then(|| 100.0 * delta / old.abs())
    }
}

fn diff(args: &DiffArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let root = &loaded.pipeline.root;
    let (a, b) = revisions(root, args.a_rev.as_deref(), args.b_rev.as_deref())?;
    let files = workspace::open_files(root)?;
    let mut changes: Vec<Change> = Vec::new();
    // The files either side declares: a metrics file renamed or dropped
    // since a revision is compared too.
    let mut paths = loaded.pipeline.metrics_files();
    for rev in [&a, &b] {
        if let Some(then) = Revision::new(&files, rev).pipeline(&loaded.pipeline)? {
            for path in then.metrics_files() {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
    }
    let (old, new) = (at_revision(&files, &a, &paths)?, at_revision(&files, &b, &paths)?);
    for ((path, old), new) in paths.iter().zip(old).zip(new) {
        changes.extend(compare(path, &old.unwrap_or_default(), &new.unwrap_or_default(), args.all));
    }
    let view = DiffView { json: args.json, md: args.md, precision: args.precision, what: "metric" };
    print_changes(&changes, (&a, &b), view, printer)
}

/// Returns the two sides of a diff (`HEAD` and the workspace unless given),
/// each checked to be a revision of the repository or `workspace`.
pub(super) fn revisions(
    root: &Path,
    a: Option<&str>,
    b: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let (a, b) = (a.unwrap_or("HEAD").to_owned(), b.unwrap_or(WORKSPACE).to_owned());
    for rev in [&a, &b] {
        if rev != WORKSPACE {
            pipit::git::verify(root, rev)?;
        }
    }
    Ok((a, b))
}

/// Returns the values of `path` that differ between `old` and `new` (all of
/// them with `all`), in the order they first appear.
pub(super) fn compare(path: &str, old: &Flat, new: &Flat, all: bool) -> Vec<Change> {
    let mut keys: Vec<&String> = old.keys().collect();
    keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
    keys.into_iter()
        .map(|key| Change {
            path: path.to_owned(),
            key: key.clone(),
            old: old.get(key).cloned(),
            new: new.get(key).cloned(),
        })
        .filter(|change| all || change.changed())
        .collect()
}

/// How a diff is printed.
pub(super) struct DiffView {
    pub json: bool,
    pub md: bool,
    pub precision: usize,
    /// What a row is: `metric` or `param`.
    pub what: &'static str,
}

/// Prints `changes` between revisions `a` and `b`: a table (Markdown with
/// `md`) or JSON; a note when nothing changed.
pub(super) fn print_changes(
    changes: &[Change],
    (a, b): (&str, &str),
    view: DiffView,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let precision = view.precision;
    let value = |v: &Option<serde_json::Value>| {
        v.as_ref().map_or_else(|| "-".to_owned(), |v| metrics::shown(v, precision))
    };
    let delta = |c: &Change| match (c.delta(), c.percent()) {
        (Some(d), Some(p)) => format!("{} ({p:+.1} %)", signed(d, precision)),
        (Some(d), None) => signed(d, precision),
        _ if c.changed() => "changed".to_owned(),
        _ => "-".to_owned(),
    };
    if view.json {
        let list: Vec<serde_json::Value> = changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "path": c.path, view.what: c.key, "old": c.old, "new": c.new,
                    "change": c.delta(), "percent": c.percent(),
                })
            })
            .collect();
        printer.out(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
        return Ok(Outcome::Success);
    }
    if changes.is_empty() {
        printer.note(&format!("no {} changed between {a} and {b}", view.what));
        return Ok(Outcome::Success);
    }
    let title = if view.what == "param" { "Param" } else { "Metric" };
    let header = ["Path", title, a, b, "Change"].map(str::to_owned).to_vec();
    let mut lines = vec![header];
    let mut last_path = "";
    for change in changes {
        let path = if change.path == last_path { String::new() } else { change.path.clone() };
        last_path = &change.path;
        lines.push(vec![
            path,
            change.key.clone(),
            value(&change.old),
            value(&change.new),
            delta(change),
        ]);
    }
    let text = if view.md {
        markdown_lines(&lines, 2)
    } else {
        let clip = |line: &Vec<String>| -> Vec<String> {
            line.iter()
                .enumerate()
                .map(|(i, c)| if i == 2 || i == 3 { clipped(c) } else { c.clone() })
                .collect()
        };
        aligned(&lines.iter().map(clip).collect::<Vec<_>>())
    };
    printer.out(&text)?;
    Ok(Outcome::Success)
}

/// Returns `value` with its sign, at most `precision` decimals.
fn signed(value: f64, precision: usize) -> String {
    let text = metrics::shown(&serde_json::json!(value), precision);
    if text.starts_with('-') || text == "0" { text } else { format!("+{text}") }
}

fn show(args: &ShowArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    // (shown path, file, whether it was named rather than declared)
    let files: Vec<(String, PathBuf, bool)> = if args.targets.is_empty() {
        let Some(loaded) = workspace::load(printer)? else {
            return Ok(Outcome::Invalid);
        };
        let root: &Path = &loaded.pipeline.root;
        let paths = loaded.pipeline.metrics_files();
        if paths.is_empty() {
            printer.note("no metrics: no stage lists `metrics:` outs (name files to show them)");
            return Ok(Outcome::Success);
        }
        paths.into_iter().map(|p| (p.clone(), root.join(&p), false)).collect()
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

/// The most characters a text value takes in a terminal table (a hash shows
/// its first ones and `…`); Markdown, CSV and JSON keep it whole.
const TEXT_WIDTH: usize = 16;

/// Returns `cell` cut to [`TEXT_WIDTH`] characters.
fn clipped(cell: &str) -> String {
    if cell.chars().count() <= TEXT_WIDTH {
        return cell.to_owned();
    }
    let kept: String = cell.chars().take(TEXT_WIDTH - 1).collect();
    format!("{kept}…")
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
    lines.extend(cells(rows, &keys, precision).into_iter().map(|line| {
        let mut cells = line.into_iter();
        let path = cells.next().unwrap_or_default();
        std::iter::once(path).chain(cells.map(|c| clipped(&c))).collect()
    }));
    let wide = aligned(&lines);
    if wide.lines().all(|line| line.chars().count() <= width) {
        return wide;
    }
    let mut long = vec![vec!["Path".to_owned(), "Metric".to_owned(), "Value".to_owned()]];
    for (path, flat) in rows {
        for (i, (key, value)) in flat.iter().enumerate() {
            let path = if i == 0 { path.clone() } else { String::new() };
            long.push(vec![path, key.clone(), clipped(&metrics::shown(value, precision))]);
        }
    }
    aligned(&long)
}

/// A Markdown table: a row per file, a column per key.
fn markdown(rows: &[(String, Flat)], precision: usize) -> String {
    let keys = columns(rows);
    let header: Vec<String> =
        std::iter::once("Path".to_owned()).chain(keys.iter().map(|k| (*k).to_owned())).collect();
    let mut lines = vec![header];
    lines.extend(cells(rows, &keys, precision));
    markdown_lines(&lines, 1)
}

/// Returns `lines` (the first a header) as a Markdown table, its first
/// `left` columns aligned left and the rest (values) right.
pub(super) fn markdown_lines(lines: &[Vec<String>], left: usize) -> String {
    let row = |line: &Vec<String>| {
        let cells: Vec<String> = line.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let Some((header, body)) = lines.split_first() else {
        return String::new();
    };
    let rule: String = (0..header.len()).map(|c| if c < left { "---|" } else { "---:|" }).collect();
    let mut text = format!("{}|{rule}\n", row(header));
    body.iter().for_each(|line| text.push_str(&row(line)));
    text
}

/// CSV: a header (`path` and the keys), then a row per file.
fn csv(rows: &[(String, Flat)], precision: usize) -> String {
    let keys = columns(rows);
    let header: Vec<String> =
        std::iter::once("path".to_owned()).chain(keys.iter().map(|k| (*k).to_owned())).collect();
    let mut lines = vec![header];
    lines.extend(cells(rows, &keys, precision));
    csv_lines(&lines)
}

/// Returns `lines` as CSV, cells quoted where they need it.
pub(super) fn csv_lines(lines: &[Vec<String>]) -> String {
    let quote = |cell: &String| {
        if cell.contains([',', '"', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.clone()
        }
    };
    lines
        .iter()
        .map(|line| format!("{}\n", line.iter().map(quote).collect::<Vec<_>>().join(",")))
        .collect()
}
