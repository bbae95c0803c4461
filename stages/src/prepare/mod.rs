//! `pipit stage prepare`: what a careful data scientist does before training.
//! Schema and type checks, missing-rate limits, bounds, duplicate rows removed,
//! categories folded to one spelling, a stratified train/test split, outliers
//! capped at bounds learnt on the training split only, and `stats.json`.
//!
//! A check that fails stops the stage with a report naming the column, the
//! rule, the offending count and sample values; nothing is written then.

mod check;
mod clean;
mod layout;
pub mod read;
mod rules;
mod split;
mod stats;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{Map, json};

use crate::random::{Random, Stream};
use crate::statistics::quantile;
use crate::table::{Table, Values, write};
use clean::{Cleaned, Kind};
use rules::Rules;

/// Arguments of `pipit stage prepare`
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// The raw data (CSV, or Parquet for `.parquet`)
    #[arg(long)]
    data: PathBuf,
    /// The column to predict
    #[arg(long)]
    target: String,
    /// Classification (split stratified by class) or regression
    #[arg(long, value_enum)]
    task: Task,
    /// Folder for train.csv, test.csv and stats.json
    #[arg(long)]
    out_dir: PathBuf,
    /// Share of rows held out for testing
    #[arg(long, default_value_t = 0.2)]
    test_size: f64,
    /// Seed of the split
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Data-quality rules (YAML) overriding the defaults
    #[arg(long)]
    rules: Option<PathBuf>,
}

/// What is predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// A class.
    Classification,
    /// A number.
    Regression,
}

/// Runs `pipit stage prepare`.
pub fn run(args: &PrepareArgs) -> anyhow::Result<String> {
    if !(args.test_size > 0.0 && args.test_size < 1.0) {
        anyhow::bail!("--test-size must be between 0 and 1, not {}", args.test_size);
    }
    let rules = match &args.rules {
        Some(path) => Rules::read(path)?,
        None => Rules::default(),
    };
    let raw = read::read(&args.data)?;
    check::schema(&raw.names, &args.target, &rules, args.rules.as_deref())?;
    let target_kind =
        if args.task == Task::Classification { Kind::Categorical } else { Kind::Numeric };
    let mut dropped = Vec::new();
    let columns: Vec<Cleaned> = raw
        .names
        .iter()
        .zip(&raw.columns)
        .filter(|(name, _)| !rules.drop.contains(name))
        .map(|(name, cells)| {
            clean::clean(name, cells, &rules, (name == &args.target).then_some(target_kind))
        })
        .filter(|column| {
            let identifier = column.name != args.target && is_identifier(column);
            if identifier {
                dropped.push(column.name.clone());
            }
            !identifier
        })
        .collect();
    check::quality(&columns, &args.target, args.task == Task::Classification, &rules)?;
    let (rows, with_target) = kept_rows(&columns, &args.target);
    let total = raw.columns.first().map_or(0, Vec::len);
    let target = columns.iter().find(|c| c.name == args.target).expect("checked by `schema`");
    let classes: Option<Vec<String>> = (args.task == Task::Classification)
        .then(|| rows.iter().map(|&r| target.labels[r].clone().unwrap_or_default()).collect());
    let mut random = Random::new(args.seed, Stream::Data);
    let (train, test) = split::split(classes.as_deref(), rows.len(), args.test_size, &mut random);
    split::check(classes.as_deref(), (&train, &test), args.test_size, &args.target)?;
    let (train, test): (Vec<usize>, Vec<usize>) =
        (train.into_iter().map(|i| rows[i]).collect(), test.into_iter().map(|i| rows[i]).collect());
    let mut columns = columns;
    let caps = cap_outliers(&mut columns, &args.target, &train, rules.iqr_factor);
    let summary = json!({
        "target": args.target,
        "task": if args.task == Task::Classification { "classification" } else { "regression" },
        "rows": {
            "raw": total,
            "missing_target": total - with_target,
            "duplicates_removed": with_target - rows.len(),
            "train": train.len(),
            "test": test.len(),
        },
        "dropped_identifiers": dropped,
        "respelled": columns.iter().filter(|c| c.respelled > 0).map(|c| (c.name.clone(), json!(c.respelled))).collect::<Map<_, _>>(),
        "not_numbers": columns.iter().filter(|c| c.wrong.count > 0).map(|c| (c.name.clone(), json!(c.wrong.count))).collect::<Map<_, _>>(),
        "columns": columns.iter().zip(&caps).map(|(c, cap)| (c.name.clone(), stats::column(c, &train, *cap))).collect::<Map<_, _>>(),
    });
    write_outputs(&args.out_dir, &columns, &train, &test, &summary)?;
    Ok(format!(
        "prepared {}: {} train and {} test rows in {}{}",
        args.data.display(),
        train.len(),
        test.len(),
        args.out_dir.display(),
        made_missing(&columns)
    ))
}

/// Returns, for the summary line, the cells of numeric columns that were not
/// numbers and became missing values within the `wrong_type` limit, so that
/// even a tolerated stray cell is seen.
fn made_missing(columns: &[Cleaned]) -> String {
    let stray: Vec<String> = columns
        .iter()
        .filter(|c| c.wrong.count > 0)
        .map(|c| {
            let samples: Vec<String> =
                c.wrong.samples.iter().map(|(text, _)| format!("`{text}`")).collect();
            format!("{} in `{}` (e.g. {})", c.wrong.count, c.name, samples.join(", "))
        })
        .collect();
    if stray.is_empty() {
        return String::new();
    }
    format!("; made cells that were not numbers missing: {}", stray.join(", "))
}

/// Returns true for a text column whose values are (almost) all different, an ID: it
/// tells a model nothing and would only make it memorise rows.
fn is_identifier(column: &Cleaned) -> bool {
    if column.kind != Kind::Categorical || column.labels.len() < 20 {
        return false;
    }
    let present: Vec<&String> = column.labels.iter().flatten().collect();
    let distinct: HashSet<&String> = present.iter().copied().collect();
    distinct.len() * 100 >= present.len() * 95 && present.len() * 10 >= column.labels.len() * 9
}

/// Returns the rows to keep (the target present, the first of identical rows)
/// and how many rows had a target.
fn kept_rows(columns: &[Cleaned], target: &str) -> (Vec<usize>, usize) {
    let count = columns.first().map_or(0, |c| c.numbers.len().max(c.labels.len()));
    let target = columns.iter().find(|c| c.name == target);
    let with_target: Vec<usize> =
        (0..count).filter(|&row| target.is_some_and(|t| cell(t, row).is_some())).collect();
    let mut seen = HashSet::new();
    let kept = with_target
        .iter()
        .copied()
        .filter(|&row| seen.insert(columns.iter().map(|c| cell(c, row)).collect::<Vec<_>>()))
        .collect();
    (kept, with_target.len())
}

/// Returns a cell as text, for comparing rows.
fn cell(column: &Cleaned, row: usize) -> Option<String> {
    match column.kind {
        Kind::Numeric => column.numbers[row].map(|x| x.to_string()),
        Kind::Categorical => column.labels[row].clone(),
    }
}

/// Caps every numeric feature at quartile ∓ `factor` × IQR of the train rows.
fn cap_outliers(
    columns: &mut [Cleaned],
    target: &str,
    train: &[usize],
    factor: f64,
) -> Vec<Option<(f64, f64)>> {
    columns
        .iter_mut()
        .map(|column| {
            if column.kind != Kind::Numeric || column.name == target {
                return None;
            }
            let mut values: Vec<f64> = train.iter().filter_map(|&r| column.numbers[r]).collect();
            values.sort_by(f64::total_cmp);
            if values.is_empty() {
                return None;
            }
            let (q1, q3) = (quantile(&values, 0.25), quantile(&values, 0.75));
            if q3 <= q1 {
                return None; // a binary or near-constant column has no spread to cap by
            }
            let bounds = (q1 - factor * (q3 - q1), q3 + factor * (q3 - q1));
            for value in column.numbers.iter_mut().flatten() {
                *value = value.clamp(bounds.0, bounds.1);
            }
            Some(bounds)
        })
        .collect()
}

/// Returns true when every number is a whole number (written without `.0`).
fn integral(numbers: &[Option<f64>]) -> bool {
    numbers.iter().flatten().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
}

/// Writes train.csv, test.csv and stats.json into a fresh folder and moves it
/// into place, so that a failure leaves no partial output.
fn write_outputs(
    out_dir: &Path,
    columns: &[Cleaned],
    train: &[usize],
    test: &[usize],
    summary: &serde_json::Value,
) -> anyhow::Result<()> {
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prepared".into());
    let staging = out_dir.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    if staging.exists() {
        fs_err::remove_dir_all(&staging)?;
    }
    fs_err::create_dir_all(&staging)?;
    for (file, rows) in [("train.csv", train), ("test.csv", test)] {
        let mut table = Table::default();
        for column in columns {
            let values = match column.kind {
                Kind::Numeric if integral(&column.numbers) => {
                    Values::Int(rows.iter().map(|&r| column.numbers[r].map(|x| x as i64)).collect())
                }
                Kind::Numeric => Values::Float(rows.iter().map(|&r| column.numbers[r]).collect()),
                Kind::Categorical => {
                    Values::Text(rows.iter().map(|&r| column.labels[r].clone()).collect())
                }
            };
            table.push(&column.name, values);
        }
        write(&mut table.to_frame()?, &staging.join(file))?;
    }
    fs_err::write(staging.join("stats.json"), serde_json::to_string_pretty(summary)? + "\n")?;
    if out_dir.exists() {
        fs_err::remove_dir_all(out_dir)?;
    }
    fs_err::rename(&staging, out_dir)?;
    Ok(())
}
