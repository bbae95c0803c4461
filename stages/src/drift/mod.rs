//! `pipit stage drift`: per-column drift between reference data (what a model
//! was trained on) and current data (what it sees now), with the statistics
//! of [`measures`] and a verdict per column by a selectable rule; the data
//! set drifts when the share of drifted columns reaches a threshold.
//!
//! A column the current data lacks (or has no value in) counts as drifted: the
//! model would see none of it. A column only the current data has is named in
//! the summary and in drift.json's `missing_columns`, but not compared. Both
//! are findings of the report rather than errors, so that the columns both
//! sides share are still judged (see [`columns`]).
//!
//! A column with a different value in nearly every row (an ID) is left out
//! and named in `identifier_columns` (see [`identifiers`]).
//!
//! Rules (`--rule`):
//! - `pvalue`: KS (numeric) or chi² (categorical) p-value below 0.05;
//! - `psi`: PSI at least 0.2;
//! - `evidently` (default), as Evidently 0.7 chooses a test: with at most
//!   1,000 reference rows, KS for numeric columns with more than 5 unique
//!   values (p ≤ 0.05), a two-proportion Z-test for two-valued columns, and
//!   chi² goodness of fit for other categorical or low-cardinality columns
//!   (p < 0.05); with more, the Wasserstein distance normalised by the
//!   reference's standard deviation (≥ 0.1) for numeric columns with more
//!   than 5 unique values, Jensen–Shannon (≥ 0.1) for the others.

mod columns;
mod identifiers;
mod kolmogorov;
mod log;
pub mod measures;
mod report;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::atomic::write_atomic;
pub use crate::prepare::read::Raw;
use columns::{Missing, Side};
pub use log::records_to_table;

/// Arguments of `pipit stage drift`
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The reference data (CSV or Parquet), e.g. the training split
    #[arg(long)]
    reference: PathBuf,
    /// The current data (CSV or Parquet), or the serving log `logs/predictions.jsonl`
    #[arg(long)]
    current: PathBuf,
    /// With a prediction log: only its last N records
    #[arg(long, value_name = "N")]
    last: Option<usize>,
    /// How a column is judged to drift
    #[arg(long, value_enum, default_value_t = Rule::Evidently)]
    rule: Rule,
    /// The share of drifted columns at which the data set drifts
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Columns to leave out (repeatable or comma-separated), e.g. the target and identifiers
    #[arg(long = "ignore", value_name = "COLUMN", value_delimiter = ',')]
    ignore: Vec<String>,
    /// Where to write the result (JSON)
    #[arg(long)]
    out: PathBuf,
    /// Also write a self-contained HTML report
    #[arg(long)]
    html: Option<PathBuf>,
}

/// How a column's drift is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Rule {
    /// KS or chi² p-value below 0.05
    Pvalue,
    /// PSI of 0.2 or more
    Psi,
    /// The test Evidently 0.7 picks by sample size and column type
    Evidently,
}

/// One column's values in both samples, missing cells left out.
enum Column {
    Numeric(Vec<f64>, Vec<f64>),
    Categorical(Vec<String>, Vec<String>),
}

/// Counts per category of the sorted union of both samples.
fn category_counts(reference: &[String], current: &[String]) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let categories: Vec<String> =
        reference.iter().chain(current).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let count = |values: &[String]| {
        let mut counts = vec![0.0; categories.len()];
        for v in values {
            if let Ok(i) = categories.binary_search(v) {
                counts[i] += 1.0;
            }
        }
        counts
    };
    let (r, c) = (count(reference), count(current));
    (categories, r, c)
}

fn unique_numbers(values: impl Iterator<Item = f64>) -> usize {
    let mut all: Vec<f64> = values.collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    all.len()
}

/// Returns the column's statistics and verdict under `rule`.
fn judge(column: &Column, rule: Rule) -> Map<String, Value> {
    let mut out = Map::new();
    let (test, score, threshold, drifted) = match column {
        Column::Numeric(reference, current) => {
            let (ks_stat, ks_pvalue) = measures::ks_2samp(reference, current);
            let (ref_bins, cur_bins) = measures::decile_counts(reference, current);
            let psi = measures::psi_of_counts(&ref_bins, &cur_bins);
            let wasserstein = measures::wasserstein(reference, current);
            let jensen_shannon = measures::jensen_shannon(&ref_bins, &cur_bins);
            out.insert("type".into(), json!("numeric"));
            out.insert("ks_stat".into(), json!(ks_stat));
            out.insert("ks_pvalue".into(), json!(ks_pvalue));
            out.insert("psi".into(), json!(psi));
            out.insert("wasserstein".into(), json!(wasserstein));
            out.insert("jensen_shannon".into(), json!(jensen_shannon));
            match rule {
                Rule::Pvalue => ("ks", ks_pvalue, 0.05, ks_pvalue < 0.05),
                Rule::Psi => ("psi", psi, 0.2, psi >= 0.2),
                Rule::Evidently => evidently_numeric(reference, current, ks_pvalue, wasserstein),
            }
        }
        Column::Categorical(reference, current) => {
            let (_, ref_counts, cur_counts) = category_counts(reference, current);
            let (chi2_stat, chi2_pvalue) = measures::chi2_contingency(&ref_counts, &cur_counts);
            let psi = measures::psi_of_counts(&ref_counts, &cur_counts);
            let jensen_shannon = measures::jensen_shannon(&ref_counts, &cur_counts);
            out.insert("type".into(), json!("categorical"));
            out.insert("chi2_stat".into(), json!(chi2_stat));
            out.insert("chi2_pvalue".into(), json!(chi2_pvalue));
            out.insert("psi".into(), json!(psi));
            out.insert("jensen_shannon".into(), json!(jensen_shannon));
            match rule {
                Rule::Pvalue => ("chi2", chi2_pvalue, 0.05, chi2_pvalue < 0.05),
                Rule::Psi => ("psi", psi, 0.2, psi >= 0.2),
                Rule::Evidently => {
                    evidently_categorical(reference, current, &ref_counts, &cur_counts)
                }
            }
        }
    };
    let (n_ref, n_cur) = match column {
        Column::Numeric(r, c) => (r.len(), c.len()),
        Column::Categorical(r, c) => (r.len(), c.len()),
    };
    out.insert("test".into(), json!(test));
    out.insert("score".into(), json!(score));
    out.insert("threshold".into(), json!(threshold));
    out.insert("drifted".into(), json!(drifted));
    out.insert("reference_rows".into(), json!(n_ref));
    out.insert("current_rows".into(), json!(n_cur));
    out
}

/// Evidently's choice for a numeric column.
fn evidently_numeric(
    reference: &[f64],
    current: &[f64],
    ks_pvalue: f64,
    wasserstein: f64,
) -> (&'static str, f64, f64, bool) {
    let unique = unique_numbers(reference.iter().chain(current).copied());
    if unique > 5 {
        if reference.len() <= 1000 {
            return ("ks", ks_pvalue, 0.05, ks_pvalue <= 0.05);
        }
        let (_, std) = crate::statistics::mean_std(reference);
        let normed = wasserstein / std.max(0.001);
        return ("wasserstein_normed", normed, 0.1, normed >= 0.1);
    }
    // A low-cardinality number is judged as a category.
    let as_text = |values: &[f64]| values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>();
    let (r, c) = (as_text(reference), as_text(current));
    let (_, ref_counts, cur_counts) = category_counts(&r, &c);
    evidently_categorical(&r, &c, &ref_counts, &cur_counts)
}

/// Evidently's choice for a categorical (or low-cardinality) column.
fn evidently_categorical(
    reference: &[String],
    current: &[String],
    ref_counts: &[f64],
    cur_counts: &[f64],
) -> (&'static str, f64, f64, bool) {
    let unique = ref_counts.len();
    if reference.len() > 1000 {
        let js = measures::jensen_shannon(ref_counts, cur_counts);
        return ("jensen_shannon", js, 0.1, js >= 0.1);
    }
    if unique > 2 {
        let k = current.len() as f64 / reference.len() as f64;
        let expected: Vec<f64> = ref_counts.iter().map(|c| c * k).collect();
        let (_, p) = measures::chisquare(cur_counts, &expected);
        return ("chisquare", p, 0.05, p < 0.05);
    }
    if unique < 2 {
        return ("z", 1.0, 0.05, false);
    }
    // Two values: the share of rows holding the larger one.
    let p = measures::z_test(
        ref_counts[1],
        reference.len() as f64,
        cur_counts[1],
        current.len() as f64,
    );
    ("z", p, 0.05, p < 0.05)
}

/// Runs `pipit stage drift`.
pub fn run(args: &DriftArgs) -> anyhow::Result<String> {
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!("--threshold must be between 0 and 1");
    }
    let paired = columns::pair(args)?;
    let Verdict { judged, compared, share } = judge_all(&paired, args.rule);
    let drifted: Vec<&str> =
        judged.iter().filter(|(_, j)| j["drifted"] == true).map(|(n, _)| n.as_str()).collect();
    let dataset_drift = share >= args.threshold;
    let rule = match args.rule {
        Rule::Pvalue => "pvalue",
        Rule::Psi => "psi",
        Rule::Evidently => "evidently",
    };
    let missing_from = |side: Side| {
        paired.missing.iter().filter(|m| m.side == side).map(|m| m.name.clone()).collect::<Vec<_>>()
    };
    let report = json!({
        "rule": rule,
        "threshold": args.threshold,
        "drift_share": share,
        "dataset_drift": dataset_drift,
        "drifted_columns": drifted,
        "missing_columns": {
            "reference": missing_from(Side::Reference),
            "current": missing_from(Side::Current),
        },
        "identifier_columns": paired.identifiers,
        "columns": judged.iter().map(|(n, j)| (n.clone(), Value::Object(j.clone()))).collect::<Map<String, Value>>(),
    });
    write_atomic(&args.out, (serde_json::to_string_pretty(&report)? + "\n").as_bytes())?;
    if let Some(path) = &args.html {
        let title = format!("{} against {}", args.current.display(), args.reference.display());
        let html = report::html(&title, &report, &paired, &judged[..compared]);
        write_atomic(path, html.as_bytes())?;
    }
    Ok(format!(
        "drift ({rule}): {} of {} columns drifted ({:.0} %){}{}{}{}",
        drifted.len(),
        judged.len(),
        share * 100.0,
        if drifted.is_empty() { String::new() } else { format!(": {}", drifted.join(", ")) },
        if dataset_drift { "; the data set drifted" } else { "; no data set drift" },
        left_out(&paired.identifiers),
        warning(&paired.missing)
    ))
}

/// Every column judged, and the share that drifted.
struct Verdict {
    /// Each column's statistics and verdict: the compared ones first, then
    /// those the current data lacks.
    judged: Vec<(String, Map<String, Value>)>,
    /// How many of them were compared.
    compared: usize,
    /// The share of columns that drifted.
    share: f64,
}

fn judge_all(paired: &columns::Paired, rule: Rule) -> Verdict {
    // Columns are independent: judge them in parallel (the order is kept).
    let mut judged: Vec<(String, Map<String, Value>)> =
        paired.both.par_iter().map(|(name, column)| (name.clone(), judge(column, rule))).collect();
    let compared = judged.len();
    // A column the current data lacks has changed beyond any test: it counts as
    // drifted. One the reference lacks has nothing to be compared with.
    for missing in paired.missing.iter().filter(|m| m.side == Side::Current) {
        judged.push((missing.name.clone(), vanished(missing)));
    }
    let drifted = judged.iter().filter(|(_, j)| j["drifted"] == true).count();
    let share = if judged.is_empty() { 0.0 } else { drifted as f64 / judged.len() as f64 };
    Verdict { judged, compared, share }
}

/// Returns the share of `reference`'s columns (but `ignore`) that drifted in
/// `current` under the default rule, and the drifted columns' names; `None`
/// when the two share no column.
pub fn drift_share(
    reference: &Raw,
    current: &Raw,
    ignore: &[String],
) -> Option<(f64, Vec<String>)> {
    let paired = columns::pair_tables(reference, current, ignore);
    if paired.both.is_empty() {
        return None;
    }
    let verdict = judge_all(&paired, Rule::Evidently);
    let drifted = verdict
        .judged
        .iter()
        .filter(|(_, j)| j["drifted"] == true)
        .map(|(n, _)| n.clone())
        .collect();
    Some((verdict.share, drifted))
}

/// Returns drift.json's entry for a column the current data lacks.
fn vanished(missing: &Missing) -> Map<String, Value> {
    let entry = json!({
        "test": "missing",
        "missing_from": "current",
        "drifted": true,
        "reference_rows": missing.rows,
        "current_rows": 0,
    });
    entry.as_object().cloned().unwrap_or_default()
}

/// Returns what the summary says of identifier columns, if any.
fn left_out(identifiers: &[String]) -> String {
    match identifiers {
        [] => String::new(),
        [one] => format!("; left out `{one}`, which identifies rows (a different value in each)"),
        many => format!(
            "; left out {}, which identify rows (a different value in each)",
            many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Returns the summary's warning about columns one side lacks, if any.
fn warning(missing: &[Missing]) -> String {
    if missing.is_empty() {
        return String::new();
    }
    let findings: Vec<String> = missing
        .iter()
        .map(|m| match m.side {
            Side::Current => format!("{} (counted as drifted)", m.describe()),
            Side::Reference => format!("{} (not compared)", m.describe()),
        })
        .collect();
    format!("; warning: {}", findings.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(shift: f64, rows: usize) -> Column {
        let reference: Vec<f64> = (0..rows).map(|i| (i % 97) as f64).collect();
        let current: Vec<f64> = reference.iter().map(|v| v + shift).collect();
        Column::Numeric(reference, current)
    }

    #[test]
    fn each_rule_picks_its_test_and_threshold() {
        let same = judge(&numeric(0.0, 500), Rule::Evidently);
        assert_eq!((same["test"].as_str(), same["drifted"].as_bool()), (Some("ks"), Some(false)));
        let moved = judge(&numeric(30.0, 500), Rule::Evidently);
        assert_eq!(moved["drifted"], true);
        // Past 1,000 reference rows, Evidently switches to the normalised Wasserstein distance.
        let large = judge(&numeric(30.0, 2000), Rule::Evidently);
        assert_eq!(large["test"], "wasserstein_normed");
        assert_eq!(large["drifted"], true);
        let psi = judge(&numeric(30.0, 500), Rule::Psi);
        assert_eq!((psi["test"].as_str(), psi["threshold"].as_f64()), (Some("psi"), Some(0.2)));
        let pvalue = judge(&numeric(0.0, 500), Rule::Pvalue);
        assert_eq!(pvalue["test"], "ks");
        assert_eq!(pvalue["ks_pvalue"], 1.0);
        let text = |n: usize, k: usize| (0..n).map(|i| format!("c{}", i % k)).collect::<Vec<_>>();
        let binary = Column::Categorical(text(400, 2), text(300, 2));
        assert_eq!(judge(&binary, Rule::Evidently)["test"], "z");
        let several = Column::Categorical(text(400, 4), text(300, 3));
        let judged = judge(&several, Rule::Evidently);
        assert_eq!(judged["test"], "chisquare");
        assert_eq!(judged["drifted"], true, "a category vanished: {judged:?}");
        let many = Column::Categorical(text(1500, 4), text(300, 4));
        assert_eq!(judge(&many, Rule::Evidently)["test"], "jensen_shannon");
        let judged = judge(&binary, Rule::Pvalue);
        for key in ["type", "chi2_stat", "chi2_pvalue", "psi", "jensen_shannon", "test", "drifted"]
        {
            assert!(judged.contains_key(key), "{key} missing from {judged:?}");
        }
    }
}
