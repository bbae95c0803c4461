//! Pairing the columns of the reference and the current data. A column with
//! values on both sides is compared; a column that one side lacks (or holds no
//! value in) is kept as a finding, named with the side that lacks it, never
//! dropped without a word. Only files that share no column at all are an error.

use anyhow::bail;

use super::{Column, DriftArgs, log};
use crate::prepare::read::{Raw, read};

/// Which data a column is missing from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The reference data (what the model learnt from).
    Reference,
    /// The current data (what it sees now).
    Current,
}

impl Side {
    /// Returns the word drift.json uses.
    pub fn name(self) -> &'static str {
        match self {
            Side::Reference => "reference",
            Side::Current => "current",
        }
    }
}

/// A column that one side lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Missing {
    /// Its name.
    pub name: String,
    /// The side that lacks it.
    pub side: Side,
    /// True when the side has the column but no value in it.
    pub empty: bool,
    /// How many values the other side has.
    pub rows: usize,
}

/// Both files' columns, paired.
pub struct Paired {
    /// Columns with values on both sides, in reference order.
    pub both: Vec<(String, Column)>,
    /// Columns one side lacks: the reference's first, then the current's.
    pub missing: Vec<Missing>,
    /// Columns left out because they identify rows (see [`super::identifiers`]).
    pub identifiers: Vec<String>,
}

/// Reads both files and pairs their columns, leaving out `--ignore`d ones.
pub fn pair(args: &DriftArgs) -> anyhow::Result<Paired> {
    let reference = read(&args.reference)?;
    let current = if args.current.extension().is_some_and(|e| e == "jsonl") {
        log::read(&args.current, args.last)?
    } else {
        if args.last.is_some() {
            bail!("--last needs a prediction log (`.jsonl`) as --current");
        }
        read(&args.current)?
    };
    let paired = pair_tables(&reference, &current, &args.ignore);
    if paired.both.is_empty() {
        let absent: Vec<&str> = paired
            .missing
            .iter()
            .filter(|m| m.side == Side::Current && !m.empty)
            .map(|m| m.name.as_str())
            .collect();
        if absent.is_empty() {
            bail!("no columns to compare");
        }
        bail!(
            "`{}` has no column {} of `{}`: the two files share no column to compare",
            args.current.display(),
            absent.join(", "),
            args.reference.display()
        );
    }
    Ok(paired)
}

/// Pairs the columns of two tables by name.
pub fn pair_tables(reference: &Raw, current: &Raw, ignore: &[String]) -> Paired {
    let mut paired = Paired { both: Vec::new(), missing: Vec::new(), identifiers: Vec::new() };
    for (index, name) in reference.names.iter().enumerate() {
        if ignore.contains(name) {
            continue;
        }
        let r = present(&reference.columns[index]);
        let Some(other) = current.names.iter().position(|n| n == name) else {
            paired.missing.push(Missing::new(name, Side::Current, false, r.len()));
            continue;
        };
        let c = present(&current.columns[other]);
        match (r.is_empty(), c.is_empty()) {
            (false, false) => {
                let column = column(&r, &c);
                if super::identifiers::is_identifier(&column) {
                    paired.identifiers.push(name.clone());
                } else {
                    paired.both.push((name.clone(), column));
                }
            }
            (true, _) => paired.missing.push(Missing::new(name, Side::Reference, true, c.len())),
            (false, true) => paired.missing.push(Missing::new(name, Side::Current, true, r.len())),
        }
    }
    for (index, name) in current.names.iter().enumerate() {
        if !ignore.contains(name) && !reference.names.contains(name) {
            let rows = present(&current.columns[index]).len();
            paired.missing.push(Missing::new(name, Side::Reference, false, rows));
        }
    }
    paired
}

impl Missing {
    fn new(name: &str, side: Side, empty: bool, rows: usize) -> Self {
        Self { name: name.to_owned(), side, empty, rows }
    }

    /// Returns what the finding says: "`x` is not in the current data".
    pub fn describe(&self) -> String {
        format!("`{}` {}", self.name, self.what())
    }

    /// Returns what is wrong with the column: "is not in the current data".
    pub fn what(&self) -> String {
        let side = self.side.name();
        if self.empty {
            format!("has no values in the {side} data")
        } else {
            format!("is not in the {side} data")
        }
    }
}

/// Returns a column's values, missing cells left out.
fn present(column: &[Option<String>]) -> Vec<&str> {
    column.iter().flatten().map(|s| s.trim()).filter(|s| !s.is_empty()).collect()
}

/// Returns the values of both sides as numbers when all are, else as categories.
fn column(reference: &[&str], current: &[&str]) -> Column {
    let numbers =
        |values: &[&str]| values.iter().map(|v| v.parse::<f64>().ok()).collect::<Option<Vec<_>>>();
    let text = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
    match (numbers(reference), numbers(current)) {
        (Some(r), Some(c)) => Column::Numeric(r, c),
        _ => Column::Categorical(text(reference), text(current)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(names: &[&str], rows: &[&[&str]]) -> Raw {
        let columns = (0..names.len())
            .map(|i| rows.iter().map(|r| (!r[i].is_empty()).then(|| r[i].to_owned())).collect())
            .collect();
        Raw { names: names.iter().map(|n| (*n).to_owned()).collect(), columns }
    }

    #[test]
    fn a_column_one_side_lacks_is_named_with_that_side() {
        let reference =
            table(&["a", "b", "c", "target"], &[&["1", "x", "5", "y"], &["2", "y", "", "n"]]);
        let current = table(&["a", "c", "new"], &[&["3", "", "7"]]);
        let paired = pair_tables(&reference, &current, &["target".to_owned()]);
        let names: Vec<&str> = paired.both.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a"]);
        assert_eq!(
            paired.missing,
            [
                Missing::new("b", Side::Current, false, 2),
                Missing::new("c", Side::Current, true, 1),
                Missing::new("new", Side::Reference, false, 1),
            ]
        );
        assert_eq!(paired.missing[0].describe(), "`b` is not in the current data");
        assert_eq!(paired.missing[1].describe(), "`c` has no values in the current data");
        assert_eq!(paired.missing[2].describe(), "`new` is not in the reference data");
    }
}
