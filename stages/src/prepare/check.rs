//! The checks of `prepare` and the report that a failed one produces.

use std::fmt::Write;
use std::path::Path;

use super::clean::{Cleaned, Kind, Stray};
use super::rules::Rules;

/// A failed check.
struct Problem {
    column: String,
    rule: String,
    count: usize,
    /// Offending values, with the row holding each when it is known.
    samples: Vec<(String, Option<usize>)>,
}

impl Problem {
    /// Returns a problem with the cells of `stray` as samples.
    fn stray(column: &Cleaned, rule: String, stray: &Stray) -> Self {
        Self {
            column: column.name.clone(),
            rule,
            count: stray.count,
            samples: stray.samples.iter().map(|(text, row)| (text.clone(), Some(*row))).collect(),
        }
    }
}

/// Fails when a required column or the target is missing, or when the rules
/// (read from `rules_file`) drop the target.
pub fn schema(
    names: &[String],
    target: &str,
    rules: &Rules,
    rules_file: Option<&Path>,
) -> anyhow::Result<()> {
    if rules.drop.iter().any(|column| column == target) {
        let file = rules_file.map_or_else(String::new, |f| format!(" in `{}`", f.display()));
        anyhow::bail!(
            "the rules{file} drop the target `{target}` (in `drop`): nothing would be left to \
             predict; remove it from `drop`, or choose another --target"
        );
    }
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
        missing
            .iter()
            .map(|m| format!("`{m}`{}", crate::names::did_you_mean(m, names)))
            .collect::<Vec<_>>()
            .join(", "),
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
        let missing = column.missing + column.wrong.count;
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
        let wrong = column.wrong.count as f64 / rows as f64;
        if column.kind == Kind::Numeric && wrong > rules.wrong_type {
            let rule =
                format!("values that are not numbers > limit {:.1}%", 100.0 * rules.wrong_type);
            problems.push(Problem::stray(column, rule, &column.wrong));
        }
        if column.infinite.count > 0 {
            let rule = "values that are not finite numbers (`inf`, or beyond ±1.8e308)".to_owned();
            problems.push(Problem::stray(column, rule, &column.infinite));
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
                    samples: outside.iter().take(5).map(|v| (v.to_string(), None)).collect(),
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
                    samples: classes.iter().map(|c| ((*c).to_owned(), None)).collect(),
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
            let samples: Vec<String> = problem
                .samples
                .iter()
                .map(|(text, row)| match row {
                    Some(row) => format!("\"{text}\" (row {})", row + 1),
                    None => format!("\"{text}\""),
                })
                .collect();
            let _ = write!(report, ", e.g. {}", samples.join(", "));
        }
    }
    for (rule, help) in HELP {
        if problems.iter().any(|p| p.rule.starts_with(rule)) {
            let _ = write!(report, "\n{help}");
        }
    }
    anyhow::bail!(report)
}

/// What to do about a failed rule, printed once under the report when a
/// problem's rule starts with the first text. Rows count from 1, the first
/// after the header.
const HELP: [(&str, &str); 2] = [
    (
        "values that are not numbers",
        "help: fix or empty those cells; if such a column is a category, say so in the rules \
         (`types: {column: categorical}`), or allow more with `wrong_type`",
    ),
    (
        "values that are not finite numbers",
        "help: an infinite value is usually a division by zero upstream; replace those cells \
         with numbers, or empty them to make them missing values",
    ),
];
