//! What a model does to a raw record before its estimator sees it, learnt on
//! the training rows only and saved inside the model: median / most-frequent
//! imputation (or, for tree models that learn where missing values go, NaN
//! and no indicator), one-hot encoding of categories, and (for linear
//! models) standardisation. It also keeps the input schema, so that serving can
//! validate a record and needs nothing but the record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::statistics::{mean_std, quantile};

/// One raw input column as the model learnt it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Feature {
    /// A number: missing values become `median`; `mean`/`scale` standardise.
    Numeric { name: String, median: f64, mean: f64, scale: f64, min: f64, max: f64 },
    /// A category: one indicator per category seen in training; missing values
    /// become `mode`; an unseen category sets no indicator.
    Categorical { name: String, categories: Vec<String>, mode: String },
}

/// A raw cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// Nothing.
    Missing,
}

/// What becomes of a missing value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// A number takes the training median, a category its mode.
    #[default]
    Impute,
    /// A number stays missing (NaN), for a tree to learn which way it goes;
    /// a category sets none of its indicators.
    Learn,
}

/// How a model wants its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// Whether numbers are standardised.
    pub standardise: bool,
    /// What becomes of missing values.
    pub missing: Missing,
}

/// The learnt preprocessing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// The input columns, in order.
    pub features: Vec<Feature>,
    /// Whether numbers are standardised.
    pub standardise: bool,
    /// What becomes of missing values (models saved before 2026-12-03 impute).
    #[serde(default)]
    pub missing: Missing,
}

impl Feature {
    /// Returns the column's name.
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric { name, .. } | Feature::Categorical { name, .. } => name,
        }
    }
}

impl Preprocessor {
    /// Learns the preprocessing of `columns` (name, cells of the train rows).
    pub fn fit(columns: &[(String, Vec<Cell>)], encoding: Encoding) -> Self {
        let features = columns
            .iter()
            .map(|(name, cells)| {
                let numbers: Vec<f64> = cells
                    .iter()
                    .filter_map(|c| if let Cell::Number(x) = c { Some(*x) } else { None })
                    .collect();
                let texts = cells.iter().filter(|c| matches!(c, Cell::Text(_))).count();
                if texts == 0 { numeric(name, numbers) } else { categorical(name, cells) }
            })
            .collect();
        Self { features, standardise: encoding.standardise, missing: encoding.missing }
    }

    /// Returns the columns that hold one value in every training row (after
    /// imputation), with that value: they tell a model nothing.
    pub fn constant(&self) -> Vec<(&str, String)> {
        self.features
            .iter()
            .filter_map(|feature| match feature {
                Feature::Numeric { name, min, max, .. } if min == max => {
                    Some((name.as_str(), min.to_string()))
                }
                Feature::Categorical { name, categories, mode } if categories.len() <= 1 => {
                    Some((name.as_str(), mode.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Returns, for each model input after encoding, the index of the
    /// feature it comes from (a category's indicators share their column's).
    pub fn owners(&self) -> Vec<usize> {
        self.features
            .iter()
            .enumerate()
            .flat_map(|(index, f)| {
                let width = match f {
                    Feature::Numeric { .. } => 1,
                    Feature::Categorical { categories, .. } => categories.len(),
                };
                std::iter::repeat_n(index, width)
            })
            .collect()
    }

    /// Returns the number of model inputs after encoding.
    pub fn width(&self) -> usize {
        self.features
            .iter()
            .map(|f| match f {
                Feature::Numeric { .. } => 1,
                Feature::Categorical { categories, .. } => categories.len(),
            })
            .sum()
    }

    /// Encodes raw records (cells in feature order) into a matrix of inputs.
    pub fn matrix(&self, records: &[Vec<Cell>]) -> ndarray::Array2<f64> {
        let width = self.width();
        let mut values = Vec::with_capacity(records.len() * width);
        for record in records {
            self.encode(record, &mut values);
        }
        ndarray::Array2::from_shape_vec((records.len(), width), values)
            .unwrap_or_else(|_| ndarray::Array2::zeros((0, width)))
    }

    /// Encodes one record (cells in feature order) into model inputs.
    pub fn encode(&self, record: &[Cell], out: &mut Vec<f64>) {
        for (feature, cell) in self.features.iter().zip(record) {
            match feature {
                Feature::Numeric { median, mean, scale, .. } => {
                    let absent = match self.missing {
                        Missing::Impute => *median,
                        Missing::Learn => f64::NAN,
                    };
                    let value = match cell {
                        Cell::Number(x) => *x,
                        Cell::Text(t) => t.trim().parse().unwrap_or(absent),
                        Cell::Missing => absent,
                    };
                    out.push(if self.standardise { (value - mean) / scale } else { value });
                }
                Feature::Categorical { categories, mode, .. } => {
                    let text = match cell {
                        Cell::Text(t) => t.clone(),
                        Cell::Number(x) => x.to_string(),
                        Cell::Missing if self.missing == Missing::Learn => {
                            out.extend(std::iter::repeat_n(0.0, categories.len()));
                            continue;
                        }
                        Cell::Missing => mode.clone(),
                    };
                    out.extend(categories.iter().map(|c| f64::from(u8::from(*c == text))));
                }
            }
        }
    }
}

fn numeric(name: &str, mut numbers: Vec<f64>) -> Feature {
    numbers.sort_by(f64::total_cmp);
    let median = if numbers.is_empty() { 0.0 } else { quantile(&numbers, 0.5) };
    let (mean, std) = mean_std(&numbers);
    Feature::Numeric {
        name: name.to_owned(),
        median,
        mean,
        scale: if std > 0.0 { std } else { 1.0 },
        min: numbers.first().copied().unwrap_or(0.0),
        max: numbers.last().copied().unwrap_or(0.0),
    }
}

fn categorical(name: &str, cells: &[Cell]) -> Feature {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for cell in cells {
        match cell {
            Cell::Text(t) => *counts.entry(t.clone()).or_default() += 1,
            Cell::Number(x) => *counts.entry(x.to_string()).or_default() += 1,
            Cell::Missing => {}
        }
    }
    let mode = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(c, _)| c.clone())
        .unwrap_or_default();
    Feature::Categorical { name: name.to_owned(), categories: counts.into_keys().collect(), mode }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPUTE_STANDARDISED: Encoding = Encoding { standardise: true, missing: Missing::Impute };

    #[test]
    fn imputes_encodes_and_standardises_from_training_only() {
        let columns = vec![
            (
                "size".to_owned(),
                vec![Cell::Number(1.0), Cell::Number(3.0), Cell::Missing, Cell::Number(5.0)],
            ),
            (
                "colour".to_owned(),
                vec![
                    Cell::Text("red".into()),
                    Cell::Text("blue".into()),
                    Cell::Text("red".into()),
                    Cell::Missing,
                ],
            ),
        ];
        let pre = Preprocessor::fit(&columns, IMPUTE_STANDARDISED);
        assert_eq!(pre.width(), 3);
        let mut out = Vec::new();
        pre.encode(&[Cell::Missing, Cell::Text("green".into())], &mut out);
        // Median 3 = mean 3 → 0; unseen colour → no indicator.
        assert_eq!(out, [0.0, 0.0, 0.0]);
        out.clear();
        pre.encode(&[Cell::Number(5.0), Cell::Missing], &mut out);
        let scale = (8.0f64 / 3.0).sqrt();
        assert_eq!(out, [2.0 / scale, 0.0, 1.0], "missing colour → mode `red`");
        assert!(pre.constant().is_empty());
    }

    #[test]
    fn constant_columns_are_found_with_their_value() {
        let columns = vec![
            ("one".to_owned(), vec![Cell::Number(1.0), Cell::Missing, Cell::Number(1.0)]),
            ("x".to_owned(), vec![Cell::Number(1.0), Cell::Number(2.0), Cell::Number(3.0)]),
            ("kind".to_owned(), vec![Cell::Text("a".into()), Cell::Missing, Cell::Missing]),
        ];
        let pre = Preprocessor::fit(&columns, IMPUTE_STANDARDISED);
        assert_eq!(pre.constant(), [("one", "1".to_owned()), ("kind", "a".to_owned())]);
    }

    #[test]
    fn learning_missing_values_leaves_them_missing() {
        let columns = vec![
            ("size".to_owned(), vec![Cell::Number(1.0), Cell::Missing, Cell::Number(5.0)]),
            (
                "colour".to_owned(),
                vec![Cell::Text("red".into()), Cell::Missing, Cell::Text("blue".into())],
            ),
        ];
        let learn = Encoding { standardise: false, missing: Missing::Learn };
        let pre = Preprocessor::fit(&columns, learn);
        let mut out = Vec::new();
        pre.encode(&[Cell::Missing, Cell::Missing], &mut out);
        assert!(out[0].is_nan());
        assert_eq!(out[1..], [0.0, 0.0], "a missing colour sets no indicator");
        out.clear();
        pre.encode(&[Cell::Text("n/a".into()), Cell::Text("red".into())], &mut out);
        assert!(out[0].is_nan(), "text in a number column is missing too");
        assert_eq!(out[1..], [0.0, 1.0]);
    }
}
