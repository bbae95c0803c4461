//! Cleaning one column: deciding whether it is numeric or categorical, turning
//! wrong-typed cells into missing values (and remembering them for the
//! report), and folding the many spellings of a category into one.
//!
//! A column is numeric when the rules say so (`types`, or `bounds` for it) or
//! when at least `numeric_share` of its values are numbers (the majority, by
//! default). So a numeric column with stray text stays numeric and its stray
//! cells are counted for the checks, instead of the whole column quietly
//! becoming a category. `inf` and numbers beyond ±1.8e308 (`1e400`) parse,
//! but as no finite number: they are counted apart, never kept.

use std::collections::BTreeMap;

use super::rules::Rules;

/// Whether a column holds numbers or categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Numbers.
    Numeric,
    /// Categories (text).
    Categorical,
}

/// A cleaned column.
#[derive(Clone, Debug)]
pub struct Cleaned {
    /// Its name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: Kind,
    /// The numbers (numeric columns).
    pub numbers: Vec<Option<f64>>,
    /// The categories (categorical columns).
    pub labels: Vec<Option<String>>,
    /// How many cells were missing in the file.
    pub missing: usize,
    /// Cells of a numeric column that were not numbers.
    pub wrong: Stray,
    /// Cells of a numeric column that were numbers, but not finite ones.
    pub infinite: Stray,
    /// How many category cells were respelled to their canonical form.
    pub respelled: usize,
}

/// Cells of a column that break its type: how many, and the first few
/// distinct values with the row (0-based, among the data rows) of each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stray {
    /// How many cells.
    pub count: usize,
    /// Up to five distinct values and the first row holding each.
    pub samples: Vec<(String, usize)>,
}

impl Stray {
    /// Counts the cell `text` at `row`.
    fn add(&mut self, text: &str, row: usize) {
        self.count += 1;
        if self.samples.len() < 5 && !self.samples.iter().any(|(seen, _)| seen == text) {
            self.samples.push((text.to_owned(), row));
        }
    }
}

/// Returns the key under which spellings of one category meet: lower case,
/// `-` and `_` as spaces, runs of spaces as one.
fn key(text: &str) -> String {
    let spaced: String =
        text.to_lowercase().chars().map(|c| if c == '-' || c == '_' { ' ' } else { c }).collect();
    spaced.split_whitespace().map(synonym).collect::<Vec<_>>().join(" ")
}

/// Known synonyms of single words: digits spelled out, British spellings.
fn synonym(word: &str) -> &str {
    match word {
        "1" => "one",
        "2" => "two",
        "3" => "three",
        "fibre" => "fiber",
        "centre" => "center",
        "colour" => "color",
        other => other,
    }
}

/// Cleans one column; `kind` forces its type (the target's).
pub fn clean(name: &str, cells: &[Option<String>], rules: &Rules, kind: Option<Kind>) -> Cleaned {
    let trimmed: Vec<Option<&str>> =
        cells.iter().map(|c| c.as_deref().map(str::trim).filter(|t| !t.is_empty())).collect();
    let present = trimmed.iter().flatten().count();
    let missing = trimmed.len() - present;
    let parsed: Vec<Option<f64>> =
        trimmed.iter().map(|c| c.and_then(|t| t.parse::<f64>().ok())).collect();
    let kind = kind.unwrap_or_else(|| {
        let numeric = parsed.iter().flatten().count();
        rules.kind(name).unwrap_or(
            if present > 0 && numeric as f64 >= rules.numeric_share * present as f64 {
                Kind::Numeric
            } else {
                Kind::Categorical
            },
        )
    });
    let mut cleaned = Cleaned {
        name: name.to_owned(),
        kind,
        numbers: Vec::new(),
        labels: Vec::new(),
        missing,
        wrong: Stray::default(),
        infinite: Stray::default(),
        respelled: 0,
    };
    match kind {
        Kind::Numeric => {
            for (row, (cell, number)) in trimmed.iter().zip(&parsed).enumerate() {
                match (cell, number) {
                    (Some(text), None) => cleaned.wrong.add(text, row),
                    (Some(text), Some(x)) if !x.is_finite() => cleaned.infinite.add(text, row),
                    _ => {}
                }
            }
            cleaned.numbers = parsed.into_iter().map(|x| x.filter(|x| x.is_finite())).collect();
        }
        Kind::Categorical => {
            let synonyms: BTreeMap<String, String> = rules
                .synonyms
                .get(name)
                .map(|map| {
                    map.iter()
                        .map(|(variant, canonical)| (key(variant), canonical.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let mut spellings: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
            for text in trimmed.iter().flatten() {
                *spellings.entry(key(text)).or_default().entry(text).or_default() += 1;
            }
            let canonical: BTreeMap<String, String> = spellings
                .iter()
                .map(|(k, forms)| {
                    let best = forms
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(f, _)| *f);
                    let chosen = synonyms
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| best.unwrap_or_default().to_owned());
                    (k.clone(), chosen)
                })
                .collect();
            cleaned.labels = trimmed
                .iter()
                .zip(cells)
                .map(|(text, raw)| {
                    let text = (*text)?;
                    let label =
                        canonical.get(&key(text)).cloned().unwrap_or_else(|| text.to_owned());
                    if raw.as_deref() != Some(label.as_str()) {
                        cleaned.respelled += 1;
                    }
                    Some(label)
                })
                .collect();
        }
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| (!v.is_empty()).then(|| (*v).to_owned())).collect()
    }

    #[test]
    fn numbers_with_a_stray_word_stay_numeric() {
        let values: Vec<&str> = std::iter::repeat_n("1.5", 99).chain(["unknown"]).collect();
        let column = clean("x", &cells(&values), &Rules::default(), None);
        assert_eq!(column.kind, Kind::Numeric);
        assert_eq!(column.wrong, Stray { count: 1, samples: vec![("unknown".to_owned(), 99)] });
        assert_eq!(column.numbers[99], None);
    }

    #[test]
    fn numbers_with_more_stray_words_stay_numeric_so_that_the_checks_see_them() {
        let values = ["1", "2", "abc", "3", "abc", "4", "x"];
        let column = clean("x", &cells(&values), &Rules::default(), None);
        assert_eq!(column.kind, Kind::Numeric);
        let samples = vec![("abc".to_owned(), 2), ("x".to_owned(), 6)];
        assert_eq!(column.wrong, Stray { count: 3, samples });
        let column = clean("x", &cells(&["a", "b", "1"]), &Rules::default(), None);
        assert_eq!(column.kind, Kind::Categorical, "a minority of numbers is a category");
    }

    #[test]
    fn infinite_numbers_are_counted_apart_and_never_kept() {
        let column =
            clean("x", &cells(&["1.5", "inf", "-inf", "1e400", "2"]), &Rules::default(), None);
        assert_eq!(column.kind, Kind::Numeric);
        assert_eq!(column.infinite.count, 3);
        assert_eq!(column.infinite.samples[2], ("1e400".to_owned(), 3));
        assert_eq!(column.numbers, [Some(1.5), None, None, None, Some(2.0)]);
        assert_eq!(column.wrong.count, 0);
    }

    #[test]
    fn the_rules_decide_a_type_before_the_values_do() {
        let mut rules = Rules::default();
        rules.types.insert("code".into(), Kind::Categorical);
        rules.bounds.insert("age".into(), (0.0, 120.0));
        assert_eq!(clean("code", &cells(&["1", "2", "3"]), &rules, None).kind, Kind::Categorical);
        let age = clean("age", &cells(&["young", "old", "30"]), &rules, None);
        assert_eq!((age.kind, age.wrong.count), (Kind::Numeric, 2));
    }

    #[test]
    fn spellings_fold_into_the_most_common_one() {
        let column = clean(
            "Contract",
            &cells(&[
                "Month-to-month",
                "Month-to-month",
                "month to month ",
                "Two year",
                "",
                "MONTH_TO_MONTH",
            ]),
            &Rules::default(),
            None,
        );
        assert_eq!(column.kind, Kind::Categorical);
        assert_eq!(column.labels[2].as_deref(), Some("Month-to-month"));
        assert_eq!(column.labels[5].as_deref(), Some("Month-to-month"));
        assert_eq!((column.missing, column.respelled), (1, 2));
        let column = clean(
            "c",
            &cells(&["Two year", "Two year", "2 year", "Fibre optic", "Fiber optic"]),
            &Rules::default(),
            None,
        );
        assert_eq!(column.labels[2].as_deref(), Some("Two year"));
        assert_eq!(column.labels[3].as_deref(), Some("Fiber optic"));
    }

    #[test]
    fn synonyms_from_the_rules_apply() {
        let mut rules = Rules::default();
        rules.synonyms.insert("Contract".into(), [("2 year".into(), "Two year".into())].into());
        let column = clean("Contract", &cells(&["Two year", "2 year"]), &rules, None);
        assert_eq!(column.labels[1].as_deref(), Some("Two year"));
    }
}
