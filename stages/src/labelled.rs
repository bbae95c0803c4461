//! Labelled data as the model stages read it: each row's feature cells and
//! its target, the classes of a classification target, and targets encoded
//! as numbers (class indices or values). A target that does not fit the task
//! (text for regression, a missing or infinite value) is an error naming the
//! file, the row and what to do, as is an infinite feature value: either would
//! otherwise turn every metric into NaN.

use std::path::{Path, PathBuf};

use crate::model::Task;
use crate::model::preprocess::Cell;
use crate::prepare::read::read;

/// Rows read for training: feature cells per row and the target cells.
pub struct Labelled {
    /// The file they were read from.
    pub path: PathBuf,
    /// The target column's name.
    pub target_name: String,
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
            anyhow::bail!(
                "`{}` has no column `{target}`{}",
                path.display(),
                crate::names::did_you_mean(target, &raw.names)
            );
        };
        let count = raw.columns.first().map_or(0, Vec::len);
        let features: Vec<String> = raw.names.iter().filter(|n| *n != target).cloned().collect();
        let cell = |text: &Option<String>, row: usize, column: &str| match text.as_deref() {
            None => Ok(Cell::Missing),
            Some(t) => match t.trim().parse::<f64>() {
                Ok(x) if !x.is_finite() => anyhow::bail!(
                    "`{}` row {}: `{column}` holds `{t}`, which is not a finite number; replace \
                     it or empty the cell (`pipit stage prepare` reports such values)",
                    path.display(),
                    row + 1
                ),
                Ok(x) => Ok(Cell::Number(x)),
                Err(_) => Ok(Cell::Text(t.trim().to_owned())),
            },
        };
        let records = (0..count)
            .map(|row| {
                raw.columns
                    .iter()
                    .zip(&raw.names)
                    .enumerate()
                    .filter(|(i, _)| *i != index)
                    .map(|(_, (c, name))| cell(&c[row], row, name))
                    .collect()
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            target_name: target.to_owned(),
            features,
            records,
            target: raw.columns[index].clone(),
        })
    }

    /// Takes the column `name` out of the features and returns it as each
    /// row's sample weight: a number, 0 or more, in every row.
    pub fn take_weights(&mut self, name: &str) -> anyhow::Result<Vec<f64>> {
        let Some(index) = self.features.iter().position(|n| n == name) else {
            anyhow::bail!(
                "`{}` has no weight column `{name}`{}",
                self.path.display(),
                crate::names::did_you_mean(name, &self.features)
            );
        };
        self.features.remove(index);
        let mut weights = Vec::with_capacity(self.records.len());
        for (row, record) in self.records.iter_mut().enumerate() {
            match record.remove(index) {
                Cell::Number(w) if w >= 0.0 => weights.push(w),
                cell => anyhow::bail!(
                    "`{}` row {}: the weight column `{name}` holds {}; a weight is a number, \
                     0 or more, in every row",
                    self.path.display(),
                    row + 1,
                    match cell {
                        Cell::Missing => "nothing".to_owned(),
                        Cell::Number(w) => format!("`{w}`"),
                        Cell::Text(t) => format!("`{t}`"),
                    }
                ),
            }
        }
        if weights.iter().all(|&w| w == 0.0) {
            anyhow::bail!(
                "the weight column `{name}` of `{}` is 0 in every row",
                self.path.display()
            );
        }
        Ok(weights)
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
    pub fn classes(&self, task: Task) -> anyhow::Result<Vec<String>> {
        if task == Task::Regression {
            return Ok(Vec::new());
        }
        let mut classes: Vec<String> =
            self.target.iter().flatten().map(|c| c.trim().to_owned()).collect();
        classes.sort();
        classes.dedup();
        self.refuse_continuous(&classes)?;
        if classes.len() < 2 {
            let found: Vec<String> = classes.iter().map(|c| format!("`{c}`")).collect();
            anyhow::bail!(
                "the target `{}` has {} in `{}`: a classifier needs at least two classes; is \
                 --target the column to predict?",
                self.target_name,
                if found.is_empty() {
                    "no value".to_owned()
                } else {
                    format!("one class ({})", found[0])
                },
                self.path.display()
            );
        }
        Ok(classes)
    }

    /// Fails when the `classes` of a classification target look like the
    /// values of a continuous one: many distinct numbers, not all whole.
    fn refuse_continuous(&self, classes: &[String]) -> anyhow::Result<()> {
        let numbers: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok()).collect();
        let Some(numbers) = numbers else { return Ok(()) };
        if numbers.len() > 20 && numbers.iter().any(|x| x.fract() != 0.0) {
            let example = classes.iter().find(|c| c.contains('.')).unwrap_or(&classes[0]);
            anyhow::bail!(
                "the target `{}` in `{}` looks continuous ({} distinct numbers, such as `{example}`), \
                 but --task is classification: use --task regression",
                self.target_name,
                self.path.display(),
                numbers.len()
            );
        }
        Ok(())
    }

    /// Returns the targets as numbers: values, or indices into `classes`
    /// (learnt from the training data).
    pub fn encoded(&self, task: Task, classes: &[String]) -> anyhow::Result<Vec<f64>> {
        let (shown, name) = (self.path.display(), &self.target_name);
        self.target
            .iter()
            .enumerate()
            .map(|(row, value)| {
                let row = row + 1;
                let Some(text) = value.as_deref().map(str::trim) else {
                    anyhow::bail!(
                        "`{shown}` row {row} has no value of the target `{name}`: train and test \
                         on rows that have one (`pipit stage prepare` keeps only those)"
                    );
                };
                match task {
                    Task::Regression => match text.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        Ok(_) => anyhow::bail!(
                            "`{shown}` row {row}: the target `{name}` holds `{text}`, which is not \
                             a finite number; replace it or drop the row"
                        ),
                        Err(_) => anyhow::bail!(
                            "`{shown}` row {row}: the target `{name}` holds `{text}`, which is not \
                             a number, but --task is regression; if `{name}` holds classes, use \
                             --task classification"
                        ),
                    },
                    Task::Classification => {
                        classes.iter().position(|c| c == text).map(|i| i as f64).ok_or_else(|| {
                            anyhow::anyhow!(
                                "`{shown}` row {row}: class `{text}` of the target `{name}` is not \
                                 in the training data{}",
                                regression_hint(name, classes)
                            )
                        })
                    }
                }
            })
            .collect()
    }
}

/// Returns a hint when a classification target looks like a quantity: every
/// class a number, and many of them.
fn regression_hint(name: &str, classes: &[String]) -> String {
    let numbers = classes.iter().filter(|c| c.parse::<f64>().is_ok()).count();
    if numbers == classes.len() && numbers > 20 {
        format!(
            "; `{name}` holds {numbers} different numbers there: if it is a quantity, use --task \
             regression"
        )
    } else {
        String::new()
    }
}
