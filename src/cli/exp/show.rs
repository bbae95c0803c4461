//! `pipit exp show`: the runs history (see [`pipit::runs`]) as a table, one
//! row per run and its params and metrics as columns, like `dvc exp show`
//! and MLflow's runs table; it fits the terminal and marks the best run by
//! the column it is sorted by.

use clap::{Args, ValueEnum};
use indexmap::IndexMap;
use pipit::metrics;
use pipit::runs::{Cell, Kind, Record};
use rayon::prelude::*;
use unicode_width::UnicodeWidthStr;

use crate::cli::{Outcome, Printer, printer, workspace};

/// Which way `--sort-by` sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortOrder {
    /// Largest first: the best is the highest (accuracy, F1, R²)
    Desc,
    /// Smallest first: the best is the lowest (a loss, an error)
    Asc,
}

/// Arguments of `pipit exp show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Sort by this metric or param (its full name, or the end of one that
    /// names a single column) and mark the best run
    #[arg(long, value_name = "COLUMN")]
    sort_by: Option<String>,
    /// Which way to sort
    #[arg(long, value_enum, default_value = "desc", requires = "sort_by")]
    sort_order: SortOrder,
    /// Show at most N runs (the newest, or the best with --sort-by)
    #[arg(short = 'n', long, value_name = "N")]
    limit: Option<usize>,
    /// Params and metrics to show, by name or glob (`train.*`, `*:f1`)
    /// [default: those that differ between the runs shown]
    #[arg(long, value_name = "PATTERN", value_delimiter = ',', num_args = 1..)]
    columns: Vec<String>,
    /// Include the runs stages recorded themselves (a tuner's trials)
    #[arg(long)]
    trials: bool,
    /// Print the runs as JSON records
    #[arg(long, conflicts_with_all = ["md", "csv"])]
    json: bool,
    /// Print a Markdown table (every chosen column)
    #[arg(long, conflicts_with = "csv")]
    md: bool,
    /// Print CSV (every chosen column)
    #[arg(long)]
    csv: bool,
    /// The most decimals a number shows
    #[arg(long, value_name = "N", default_value_t = 4)]
    precision: usize,
}

/// Runs `pipit exp show`.
pub fn run(args: ShowArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (_, root) = workspace::current_root()?;
    let dot_cache = root.join(pipit::workspace::DOT_CACHE);
    let history = pipit::runs::read(&dot_cache)?;
    if history.unreadable > 0 {
        printer.note(&format!(
            "warning: {} line(s) of `{}` are not run records (torn by a crash, or edited); left out",
            history.unreadable,
            pipit::runs::log_path(&dot_cache).strip_prefix(&root).unwrap_or(&dot_cache).display()
        ));
    }
    let mut runs: Vec<Record> =
        history.records.into_iter().filter(|r| args.trials || r.kind != Kind::Trial).collect();
    if runs.is_empty() {
        printer.note("no runs yet: every `pipit repro` that runs a stage records one");
        return Ok(Outcome::Success);
    }
    runs.reverse();
    let sort = match &args.sort_by {
        Some(wanted) => Some(sort_column(&runs, wanted)?),
        None => None,
    };
    if let Some(column) = &sort {
        let value = |r: &Record| column.of(r).as_ref().and_then(Cell::as_f64);
        let mut order: Vec<(Option<f64>, usize)> =
            runs.par_iter().map(value).enumerate().map(|(i, v)| (v, i)).collect();
        order.sort_by(|(a, _), (b, _)| match (a, b) {
            (Some(x), Some(y)) if args.sort_order == SortOrder::Asc => x.total_cmp(y),
            (Some(x), Some(y)) => y.total_cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let mut slots: Vec<Option<Record>> = runs.into_iter().map(Some).collect();
        runs = order.into_iter().filter_map(|(_, i)| slots[i].take()).collect();
    }
    if let Some(limit) = args.limit {
        runs.truncate(limit);
    }
    if args.json {
        printer.out(&format!("{}\n", serde_json::to_string_pretty(&runs)?))?;
        return Ok(Outcome::Success);
    }
    let mut columns = chosen_columns(&runs, &args.columns);
    if let Some(sorted) = &sort {
        columns.retain(|c| c != sorted);
        columns.insert(0, sorted.clone());
    }
    let best = sort.as_ref().and_then(|c| runs.first().filter(|r| c.of(r).is_some()));
    let mut table = Table::new(&runs, &columns, best.map(|r| r.id.as_str()), args.precision);
    // The column sorted by is always shown.
    table.kept = usize::from(sort.is_some() && !columns.is_empty());
    if args.md {
        printer.out(&table.markdown())?;
    } else if args.csv {
        printer.out(&table.csv())?;
    } else {
        let (text, left_out) = table.fitted(printer::terminal_width());
        printer.out(&text)?;
        if left_out > 0 {
            printer.note(&format!(
                "{left_out} more column{} than fit: choose with --columns, or see all with --md, --csv or --json",
                if left_out == 1 { "" } else { "s" }
            ));
        }
    }
    // Ten thousand runs take a while to free; the process is ending anyway.
    std::mem::forget(runs);
    Ok(Outcome::Success)
}

/// A param or metric column.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    metric: bool,
    key: String,
    /// Where the key usually is in a run's map: runs of one pipeline list
    /// the same keys in the same order, so a look there mostly saves hashing.
    hint: usize,
}

impl Column {
    /// The params or the metrics of `record`, whichever this column is of.
    fn values<'r>(&self, record: &'r Record) -> &'r pipit::runs::Values {
        if self.metric { &record.metrics } else { &record.params }
    }

    /// Where the column is in `record`'s values.
    fn position(&self, record: &Record) -> Option<usize> {
        let keys = self.values(record).keys();
        match keys.get(self.hint) {
            Some(key) if *key == self.key => Some(self.hint),
            _ => keys.iter().position(|k| *k == self.key),
        }
    }

    fn of(&self, record: &Record) -> Option<Cell> {
        self.position(record).and_then(|i| self.values(record).value_at(i))
    }
}

/// Every column the runs have, params first (a run's few changed params
/// say what it tried; the metrics, often many, fill what is left), each in
/// the order first met.
fn all_columns(runs: &[Record]) -> Vec<Column> {
    let mut params: IndexMap<&str, usize> = IndexMap::new();
    let mut metrics: IndexMap<&str, usize> = IndexMap::new();
    let mut last: Option<&Record> = None;
    for run in runs {
        // Most runs have the keys the one before had: skip hashing them again.
        let same =
            |a: &Record| a.params.same_keys(&run.params) && a.metrics.same_keys(&run.metrics);
        if last.is_some_and(same) {
            continue;
        }
        for (values, found) in [(&run.params, &mut params), (&run.metrics, &mut metrics)] {
            for (index, key) in values.keys().iter().enumerate() {
                found.entry(key.as_str()).or_insert(index);
            }
        }
        last = Some(run);
    }
    let column =
        |metric| move |(key, hint): (&str, usize)| Column { metric, key: key.to_owned(), hint };
    params.into_iter().map(column(false)).chain(metrics.into_iter().map(column(true))).collect()
}

/// Returns the column `wanted` names: exactly, or as the end of exactly one.
fn sort_column(runs: &[Record], wanted: &str) -> anyhow::Result<Column> {
    let columns = all_columns(runs);
    if let Some(exact) = columns.iter().find(|c| c.key == wanted) {
        return Ok(exact.clone());
    }
    let ends = |c: &&Column| {
        c.key.strip_suffix(wanted).is_some_and(|rest| rest.ends_with([':', '.', '/']))
    };
    let matching: Vec<&Column> = columns.iter().filter(ends).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => anyhow::bail!("no run has a param or metric `{wanted}`"),
        many => anyhow::bail!(
            "`{wanted}` names {} columns; say which: {}",
            many.len(),
            many.iter().take(6).map(|c| format!("`{}`", c.key)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The columns to show: those `patterns` match, or every column whose
/// value differs between the runs.
fn chosen_columns(runs: &[Record], patterns: &[String]) -> Vec<Column> {
    let columns = all_columns(runs);
    if !patterns.is_empty() {
        let globs: Vec<glob::Pattern> =
            patterns.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect();
        return columns
            .into_iter()
            .filter(|c| patterns.contains(&c.key) || globs.iter().any(|g| g.matches(&c.key)))
            .collect();
    }
    let Some((first, rest)) = runs.split_first() else { return Vec::new() };
    let at_first: Vec<Option<usize>> = columns.iter().map(|c| c.position(first)).collect();
    // Run by run (each one's values are read in order, once), which columns
    // have a value other than the first run's.
    let differs = |chunk: &[Record]| {
        let mut differs = vec![false; columns.len()];
        let mut undecided: Vec<usize> = (0..columns.len()).collect();
        for run in chunk {
            // Runs mostly share their params: compare them all at once.
            let same_params = run.params.same_as(&first.params);
            undecided.retain(|&i| {
                let column = &columns[i];
                if !column.metric && same_params {
                    return true;
                }
                let (mine, theirs) = (column.values(first), column.values(run));
                // A run with the first run's keys has the value at the same place.
                let at = if theirs.same_keys(mine) { at_first[i] } else { column.position(run) };
                differs[i] = match (at_first[i], at) {
                    (Some(a), Some(b)) => !mine.same_value(a, theirs, b),
                    (None, None) => false,
                    _ => true,
                };
                !differs[i]
            });
        }
        differs
    };
    let differs = rest.par_chunks(512).map(differs).reduce(
        || vec![false; columns.len()],
        |a, b| a.into_iter().zip(b).map(|(x, y)| x || y).collect(),
    );
    columns.into_iter().zip(differs).filter_map(|(c, differs)| differs.then_some(c)).collect()
}

/// The last column's header.
const DURATION: &str = "duration";

/// The runs table: the columns that describe each run, then the chosen
/// params and metrics (formatted only when drawn), then the duration.
struct Table<'r> {
    runs: &'r [Record],
    /// Columns that describe the run: header and cells.
    described: Vec<(String, Vec<String>)>,
    /// Params and metrics, with their headers.
    values: Vec<(String, &'r Column)>,
    precision: usize,
    /// How many of `values` are shown however narrow the terminal.
    kept: usize,
}

impl<'r> Table<'r> {
    fn new(
        runs: &'r [Record],
        columns: &'r [Column],
        best: Option<&str>,
        precision: usize,
    ) -> Self {
        let year = |r: &Record| r.time.get(..4).map(str::to_owned);
        let same_year = runs.iter().all(|r| year(r) == runs.first().and_then(year));
        let column = |header: &str, cell: &(dyn Fn(&Record) -> String + Sync)| {
            (header.to_owned(), runs.par_iter().map(cell).collect::<Vec<_>>())
        };
        let mut described = vec![
            column("", &|run| if Some(run.id.as_str()) == best { "best" } else { "" }.to_owned()),
            column("run", &|run| match (&run.name, &run.stage) {
                (Some(name), Some(stage)) => format!("{stage} {name}"),
                (Some(name), None) => name.clone(),
                (None, _) => run.id.chars().take(8).collect(),
            }),
            column("time", &|run| shown_time(&run.time, same_year)),
            column("rev", &|run| {
                run.rev.as_deref().map_or("-".to_owned(), |rev| {
                    let short: String = rev.chars().take(7).collect();
                    format!("{short}{}", if run.dirty { "*" } else { "" })
                })
            }),
        ];
        if runs.iter().any(|r| r.outcome != "success") {
            described.push(column("outcome", &|run| run.outcome.clone()));
        }
        let values = columns.iter().map(|c| (short_name(c, columns), c)).collect();
        Table { runs, described, values, precision, kept: 0 }
    }

    /// The cells of value column `index`, or of the duration past the last.
    fn cells(&self, index: usize) -> (String, Vec<String>) {
        match self.values.get(index) {
            Some((header, column)) => {
                let shown = |run: &Record| {
                    column.of(run).map_or_else(
                        || "-".to_owned(),
                        |v| metrics::shown(&v.to_value(), self.precision),
                    )
                };
                (header.clone(), self.runs.par_iter().map(shown).collect())
            }
            None => (DURATION.to_owned(), self.runs.iter().map(|r| duration(r.seconds)).collect()),
        }
    }

    /// Every column, header first, as rows of cells; and how many describe
    /// the run (aligned left).
    fn lines(&self) -> (Vec<Vec<String>>, usize) {
        let mut columns = self.described.clone();
        columns.extend((0..=self.values.len()).map(|i| self.cells(i)));
        (transpose(&columns), self.described.len())
    }

    /// The table as wide as fits `width`: the run's own columns, then as many
    /// params and metrics as fit (each formatted only when tried); also how
    /// many were left out.
    fn fitted(&self, width: usize) -> (String, usize) {
        let widest = |(header, cells): &(String, Vec<String>)| {
            cells.iter().map(|c| width_of(c)).chain([width_of(header)]).max().unwrap_or(0)
        };
        let mut described: Vec<&(String, Vec<String>)> = self.described.iter().collect();
        // The first column (the best mark) is empty unless a run is marked.
        if described[0].1.iter().all(String::is_empty) {
            described.remove(0);
        }
        let mut used: usize = described.iter().map(|c| widest(c) + 2).sum();
        let mut values: Vec<(String, Vec<String>)> = Vec::new();
        let mut left_out = 0;
        for index in 0..=self.values.len() {
            // Past a few characters nothing more fits: stop formatting.
            if index >= self.kept && used + 4 > width {
                left_out += self.values.len() + 1 - index;
                break;
            }
            // Nor does a column whose header is wider than what is left.
            let header = self.values.get(index).map_or(DURATION, |(header, _)| header.as_str());
            if index >= self.kept && used + width_of(header) > width {
                left_out += 1;
                continue;
            }
            let column = self.cells(index);
            let needed = widest(&column) + 2;
            if index >= self.kept && used + needed > width + 2 {
                left_out += 1;
                continue;
            }
            used += needed;
            values.push(column);
        }
        let mut columns: Vec<(String, Vec<String>)> = described.into_iter().cloned().collect();
        let left = columns.len();
        columns.extend(values);
        let widths: Vec<usize> = columns.iter().map(widest).collect();
        let rows = self.runs.len();
        let mut text = String::with_capacity((rows + 1) * (used + 1));
        for row in 0..=rows {
            let start = text.len();
            for (i, (header, cells)) in columns.iter().enumerate() {
                let cell = if row == 0 { header } else { &cells[row - 1] };
                let pad = widths[i].saturating_sub(width_of(cell));
                if i > 0 {
                    text.push_str("  ");
                }
                if i >= left {
                    text.extend(std::iter::repeat_n(' ', pad));
                }
                text.push_str(cell);
                if i < left {
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let end = text[start..].trim_end().len();
            text.truncate(start + end);
            text.push('\n');
        }
        (text, left_out)
    }

    fn markdown(&self) -> String {
        let (lines, left) = self.lines();
        crate::cli::metrics::markdown_lines(&lines, left)
    }

    fn csv(&self) -> String {
        let (mut lines, _) = self.lines();
        lines[0][0] = "best".to_owned();
        crate::cli::metrics::csv_lines(&lines)
    }
}

/// How many columns of a terminal `text` takes.
fn width_of(text: &str) -> usize {
    if text.is_ascii() { text.len() } else { text.width() }
}

/// Turns columns (a header and cells each) into lines, the header first.
fn transpose(columns: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    let rows = columns.first().map_or(0, |c| c.1.len());
    let mut lines = vec![columns.iter().map(|c| c.0.clone()).collect::<Vec<_>>()];
    lines.extend((0..rows).map(|r| columns.iter().map(|c| c.1[r].clone()).collect()));
    lines
}

/// A record's time as the table shows it: `2026-12-02 08:01`, without the
/// year when every run shown is of the same one.
fn shown_time(time: &str, same_year: bool) -> String {
    let minutes: String = time.replace('T', " ").chars().take(16).collect();
    if same_year && minutes.is_ascii() && minutes.len() == 16 {
        minutes[5..].to_owned()
    } else {
        minutes
    }
}

/// A duration as a person reads it: `0.4s`, `12s`, `3m05s`, `2h10m`.
fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if seconds < 10.0 {
        format!("{seconds:.1}s")
    } else if whole < 60 {
        format!("{whole}s")
    } else if whole < 3600 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h{:02}m", whole / 3600, whole % 3600 / 60)
    }
}

/// A column's header: a metric as `file:key` without its folders when no
/// other column shares that name.
fn short_name(column: &Column, all: &[Column]) -> String {
    if !column.metric {
        return column.key.clone();
    }
    let short = |key: &str| -> String {
        match key.split_once(':') {
            Some((path, name)) => {
                let file = path.rsplit('/').next().unwrap_or(path);
                format!("{file}:{name}")
            }
            None => key.to_owned(),
        }
    };
    let mine = short(&column.key);
    let clashes = all.iter().filter(|c| c.metric && short(&c.key) == mine).count() > 1;
    if clashes { column.key.clone() } else { mine }
}
