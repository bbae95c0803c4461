//! Labelled data as the model stages read it: each row's feature cells and
//! its target, the classes of a classification target, and targets encoded
//! as numbers (class indices or values).

use std::path::Path;

use crate::model::Task;
use crate::model::preprocess::Cell;
use crate::prepare::read::read;

/// Rows read for training: feature cells per row and the target cells.
pub struct Labelled {
    /// The feature columns, in file order.
    pub features: Vec<String>,
    /// Each row's feature cells.
    pub records: Vec<Vec<Cell>>,
    /// Each row's target cell.
    pub target: Vec<Option<String>>,
}

impl Labelled {
    /// Reads a CSV or Parquet file with a `target` column.
    pub fn read(path: &Path, target: &str) -> anyhow::Result<Self> {
        let raw = read(path)?;
        let Some(index) = raw.names.iter().position(|n| n == target) else {
            anyhow::bail!("`{}` has no column `{target}`", path.display());
        };
        let count = raw.columns.first().map_or(0, Vec::len);
        let features: Vec<String> = raw.names.iter().filter(|n| *n != target).cloned().collect();
        let cell = |text: &Option<String>| match text.as_deref().map(str::trim) {
            None | Some("") => Cell::Missing,
            Some(t) => t.parse::<f64>().map_or_else(|_| Cell::Text(t.to_owned()), Cell::Number),
        };
        let records = (0..count)
            .map(|row| {
                raw.columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != index)
                    .map(|(_, c)| cell(&c[row]))
                    .collect()
            })
            .collect();
        Ok(Self { features, records, target: raw.columns[index].clone() })
    }

    /// Returns the feature columns of `rows` (indices into the records), as
    /// preprocessing learns from them.
    pub fn columns(&self, rows: &[usize]) -> Vec<(String, Vec<Cell>)> {
        self.features
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (name.clone(), rows.iter().map(|&r| self.records[r][i].clone()).collect())
            })
            .collect()
    }

    /// Returns the sorted classes of a classification target (none for
    /// regression); fewer than two is an error.
    pub fn classes(&self, task: Task, describe: &str) -> anyhow::Result<Vec<String>> {
        if task == Task::Regression {
            return Ok(Vec::new());
        }
        let mut classes: Vec<String> =
            self.target.iter().flatten().map(|c| c.trim().to_owned()).collect();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            anyhow::bail!("the target has fewer than two classes in {describe}");
        }
        Ok(classes)
    }

    /// Returns the targets as numbers: values, or indices into `classes`.
    pub fn encoded(&self, task: Task, classes: &[String]) -> anyhow::Result<Vec<f64>> {
        self.target
            .iter()
            .map(|v| {
                let text = v.as_deref().map(str::trim).unwrap_or_default();
                match task {
                    Task::Regression => text
                        .parse::<f64>()
                        .map_err(|_| anyhow::anyhow!("target value `{text}` is not a number")),
                    Task::Classification => {
                        classes.iter().position(|c| c == text).map(|i| i as f64).ok_or_else(|| {
                            anyhow::anyhow!("target class `{text}` is not in the training data")
                        })
                    }
                }
            })
            .collect()
    }
}
