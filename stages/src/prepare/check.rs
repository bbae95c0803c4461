//! The checks of `prepare` and the report that a failed one produces.

use std::fmt::Write;

use super::clean::{Cleaned, Kind};
use super::rules::Rules;

/// A failed check.
struct Problem {
    column: String,
    rule: String,
    count: usize,
    samples: Vec<String>,
}

/// Fails when a required column or the target is missing.
pub fn schema(names: &[String], target: &str, rules: &Rules) -> anyhow::Result<()> {
    let missing: Vec<&str> = std::iter::once(target)
        .chain(rules.required.iter().map(String::as_str))
        .filter(|column| !names.iter().any(|n| n == column))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "data check failed: missing column{} {} (the file has {})",
        if missing.len() > 1 { "s" } else { "" },
        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )
}

/// Fails, with a report of every problem, when a column breaks a rule.
pub fn quality(
    columns: &[Cleaned],
    target: &str,
    classification: bool,
    rules: &Rules,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for column in columns {
        let rows = column.numbers.len().max(column.labels.len()).max(1);
        let limit = rules.missing_limit(&column.name);
        let missing = column.missing + column.wrong.0;
        if missing as f64 / rows as f64 > limit {
            problems.push(Problem {
                column: column.name.clone(),
                rule: format!(
                    "missing values {:.1}% > limit {:.1}%",
                    100.0 * missing as f64 / rows as f64,
                    100.0 * limit
                ),
                count: missing,
                samples: Vec::new(),
            });
        }
        if column.kind == Kind::Numeric && column.wrong.0 as f64 / rows as f64 > rules.wrong_type {
            problems.push(Problem {
                column: column.name.clone(),
                rule: format!(
                    "values that are not numbers > limit {:.1}%",
                    100.0 * rules.wrong_type
                ),
                count: column.wrong.0,
                samples: column.wrong.1.clone(),
            });
        }
        if let Some(&(low, high)) = rules.bounds.get(&column.name) {
            let outside: Vec<f64> = column
                .numbers
                .iter()
                .flatten()
                .copied()
                .filter(|v| *v < low || *v > high)
                .collect();
            if !outside.is_empty() {
                problems.push(Problem {
                    column: column.name.clone(),
                    rule: format!("values outside [{low}, {high}]"),
                    count: outside.len(),
                    samples: outside.iter().take(5).map(ToString::to_string).collect(),
                });
            }
        }
        if column.name == target && classification {
            let mut classes: Vec<&str> =
                column.labels.iter().flatten().map(String::as_str).collect();
            classes.sort_unstable();
            classes.dedup();
            if classes.len() < 2 {
                problems.push(Problem {
                    column: column.name.clone(),
                    rule: "a classification target needs at least two classes".into(),
                    count: classes.len(),
                    samples: classes.iter().map(|c| (*c).to_owned()).collect(),
                });
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "data check failed: {} problem{}",
        problems.len(),
        if problems.len() > 1 { "s" } else { "" }
    );
    for problem in &problems {
        let _ = write!(
            report,
            "\n  column `{}`: {} ({} rows)",
            problem.column, problem.rule, problem.count
        );
        if !problem.samples.is_empty() {
            let samples: Vec<String> = problem.samples.iter().map(|s| format!("{s:?}")).collect();
            let _ = write!(report, ", e.g. {}", samples.join(", "));
        }
    }
    anyhow::bail!(report)
}
