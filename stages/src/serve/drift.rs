//! Drift while serving: the last records each data set was asked about are
//! compared, at a fixed interval, with the data its model was trained on, by
//! the same tests as `pipit stage drift` (its default rule); `/metrics`
//! shows the share of columns that drifted.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use super::State;
use crate::drift::{Raw, drift_share, records_to_table};
use crate::model::preprocess::Feature;

/// Fewer records than this in a window are not compared.
pub const MIN_RECORDS: usize = 30;
/// A reference is thinned to about this many rows (every k-th row), so
/// that a comparison takes a few milliseconds of a core that also answers
/// requests; a window of hundreds of records is not judged better against
/// more.
const REFERENCE_ROWS: usize = 5_000;

/// The latest records of each data set, at most `size` each.
pub struct Windows {
    size: usize,
    records: Mutex<BTreeMap<String, VecDeque<Map<String, Value>>>>,
}

impl Windows {
    /// Windows of `size` records.
    pub fn new(size: usize) -> Self {
        Self { size, records: Mutex::default() }
    }

    /// Adds the records a request to `dataset` was answered for, keeping
    /// only the model's `features` (a record may carry any other field).
    pub fn add<'a>(
        &self,
        dataset: &str,
        features: &[Feature],
        records: impl Iterator<Item = &'a Value>,
    ) {
        let kept: Vec<Map<String, Value>> = records
            .filter_map(Value::as_object)
            .map(|fields| {
                features
                    .iter()
                    .filter_map(|f| Some((f.name().to_owned(), fields.get(f.name())?.clone())))
                    .collect()
            })
            .collect();
        let mut all = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = all.entry(dataset.to_owned()).or_default();
        for record in kept {
            if window.len() == self.size {
                window.pop_front();
            }
            window.push_back(record);
        }
    }

    /// Returns a copy of `dataset`'s window, when it holds enough records.
    fn snapshot(&self, dataset: &str) -> Option<Vec<Map<String, Value>>> {
        let all = self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = all.get(dataset).filter(|w| w.len() >= MIN_RECORDS)?;
        Some(window.iter().cloned().collect())
    }
}

/// Where each data set's training data is: `--reference D=FILE`, else
/// `data/D/prepared/train.csv` beside pipeline.yaml (the demo's layout) when
/// it exists.
pub fn references(
    written: &[String],
    root: &Path,
    datasets: &[String],
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for reference in written {
        let Some((dataset, file)) = reference.split_once('=') else {
            anyhow::bail!("`--reference {reference}` is not DATASET=FILE");
        };
        if !Path::new(file).is_file() {
            anyhow::bail!("`--reference {reference}`: no such file `{file}`");
        }
        found.insert(dataset.to_owned(), PathBuf::from(file));
    }
    for dataset in datasets {
        let default = root.join("data").join(dataset).join("prepared/train.csv");
        if !found.contains_key(dataset) && default.is_file() {
            found.insert(dataset.clone(), default);
        }
    }
    Ok(found)
}

/// Reads each data set's reference (`references`: data set, file, target
/// column); one that cannot be read is said and left out.
pub fn load(
    references: Vec<(String, PathBuf, String)>,
    say: &(dyn Fn(&str) + Sync),
) -> Vec<Reference> {
    references
        .into_iter()
        .filter_map(|(dataset, file, target)| match crate::prepare::read::read(&file) {
            Ok(table) => Some(Reference { dataset, table: Arc::new(thinned(table)), target }),
            Err(error) => {
                say(&format!("warning: no drift for {dataset}: {error:#}"));
                None
            }
        })
        .collect()
}

/// Keeps every k-th row of `table`, k chosen to leave at most [`REFERENCE_ROWS`].
fn thinned(table: Raw) -> Raw {
    let rows = table.columns.first().map_or(0, Vec::len);
    let step = rows.div_ceil(REFERENCE_ROWS).max(1);
    if step == 1 {
        return table;
    }
    let columns = table
        .columns
        .into_iter()
        .map(|column| column.into_iter().step_by(step).collect())
        .collect();
    Raw { names: table.names, columns }
}

/// A data set's training data.
pub struct Reference {
    /// The data set.
    pub dataset: String,
    table: Arc<Raw>,
    target: String,
}

/// Compares every `every` each data set's window with its reference, forever.
pub async fn monitor(state: &State, references: &[Reference], every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        for reference in references {
            let Some(window) = state.windows.snapshot(&reference.dataset) else {
                continue;
            };
            let records = window.len();
            let (table, ignore) = (Arc::clone(&reference.table), vec![reference.target.clone()]);
            let judged = tokio::task::spawn_blocking(move || {
                drift_share(&table, &records_to_table(window.iter()), &ignore)
            })
            .await;
            if let Ok(Some((share, drifted))) = judged {
                state.metrics.drift(&reference.dataset, share, drifted.len(), records);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_reference_is_thinned_evenly() {
        let column: Vec<Option<String>> = (0..12_000).map(|i| Some(i.to_string())).collect();
        let table = thinned(Raw { names: vec!["x".into()], columns: vec![column] });
        assert_eq!(table.columns[0].len(), 4_000);
        assert_eq!(table.columns[0][1].as_deref(), Some("3"), "every third row");
        let small = thinned(Raw { names: vec!["x".into()], columns: vec![vec![None; 10]] });
        assert_eq!(small.columns[0].len(), 10);
    }
}
